//go:build !race

package metering

// The tests of whole Go commands: each instruments the 3 MB Go guest
// twice and runs it at 305 budgets, single-threaded. The race detector has
// nothing to find in them and makes them take minutes, so they are built
// without it only: make test runs them in its pure-Go build
// (CGO_ENABLED=0 go test -tags wazero ./...), as does go test ./metering.

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestIfChargesGoCommand runs a Go-built WASI command (fmt, sort,
// encoding/json: thousands of merged ifs, the way Go compiles its jumps)
// instrumented with and without the merged if charges, with the budget it
// needs and with budgets spread below it: the same output, gas used and
// point of running out every time.
func TestIfChargesGoCommand(t *testing.T) {
	wasm := goModule(t)
	mergeIfCharges = false
	sep, err := Instrument(wasm, Config{})
	mergeIfCharges = true
	require.NoError(t, err)
	merged := instrument(t, wasm, Config{})
	require.Less(t, len(merged.Module), len(sep.Module))
	sameAtBudgets(t, sep, merged)
}

// TestBrTableChargesGoCommand runs a Go-built WASI command (thousands of
// merged br_table charges: Go dispatches to the blocks of its functions
// with br_tables) instrumented with and without them, with the budget it
// needs and with budgets spread below it: the same output, gas used and
// point of running out every time.
func TestBrTableChargesGoCommand(t *testing.T) {
	wasm := goModule(t)
	mergeBrTableCharges = false
	sep, err := Instrument(wasm, Config{})
	mergeBrTableCharges = true
	require.NoError(t, err)
	merged := instrument(t, wasm, Config{})
	require.NotEqual(t, sep.Module, merged.Module)
	sameAtBudgets(t, sep, merged)
}

// sameAtBudgets runs the Go command instrumented as sep and as merged with
// the budget it needs and with budgets spread below it (see
// spreadBudgets): the same result, gas used, output and point of running
// out every time.
func sameAtBudgets(t *testing.T, sep, merged *Result) {
	ws, wm := newWASIEnv(t, sep), newWASIEnv(t, merged)
	full := ws.run(t, 1<<50)
	require.NoError(t, full.err)
	for _, gas := range spreadBudgets(full.used) {
		want, got := ws.run(t, gas), wm.run(t, gas)
		require.Equal(t, want.err == nil, got.err == nil, "gas %d", gas)
		if got.err != nil {
			require.ErrorIs(t, got.err, errOutOfGas, "gas %d", gas)
		}
		require.Equal(t, want.used, got.used, "gas %d", gas)
		require.Equal(t, want.stdout, got.stdout, "gas %d", gas)
	}
}

// spreadBudgets returns the budgets a test of a whole Go command runs it
// with: what it needs, just below, the smallest, and 149 pairs spread
// below what it needs.
func spreadBudgets(need int64) []int64 {
	budgets := []int64{need, need - 1, need - 2, 0, 1, 2, 3}
	for i := int64(1); i < 150; i++ {
		budgets = append(budgets, need*i/150, need*i/150+1)
	}
	return budgets
}
