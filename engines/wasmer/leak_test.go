//go:build wasmer && cgo

package wasmer

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// rss returns the resident set size of the process, 0 if unknown.
func rss() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

// TestInstantiateCloseNoLeak checks that Close releases every C object of
// an instance: its store, host functions and their environments, export
// vector, function descriptors, and the traps of its calls.
func TestInstantiateCloseNoLeak(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	e := openEngine(t)
	m := compile(t, e, hostWAT, engine.CompileConfig{})
	raw := compile(t, e, rawWAT, engine.CompileConfig{})
	host := hostFuncs(func(_ context.Context, _ engine.Caller, s []uint64) error { s[0]++; return nil },
		func(context.Context, engine.Caller, []uint64) error { return assert.AnError }, nil, nil, nil)
	cycle := func() {
		in, err := m.Instantiate(bg, host, engine.InstanceConfig{})
		require.NoError(t, err)
		stack := []uint64{1}
		require.NoError(t, in.Function("call_double").Call(bg, stack))
		require.ErrorIs(t, in.Function("call_fail").Call(bg, stack), assert.AnError)
		require.True(t, in.Memory().Write(0, []byte("x")))
		require.NoError(t, in.Close(bg))

		rin, err := raw.Instantiate(bg, nil, engine.InstanceConfig{})
		require.NoError(t, err)
		require.NotNil(t, rin.Global("g_i64"))
		require.NoError(t, rin.Close(bg))
	}
	for range 500 {
		cycle()
	}
	before := rss()
	for range 5000 {
		cycle()
	}
	after := rss()
	t.Logf("RSS before %d MiB, after %d MiB", before>>20, after>>20)
	if before > 0 {
		assert.Less(t, after, before+64<<20, "RSS grew by more than 64 MiB over 10,000 instances")
	}
}

// TestHostCallNoLeak checks the adapter's fix of wasmer 2.0's leak of the
// param and result vectors of every host call (see host_callback in
// shim.c): without it, this test's 400,000 calls leak about 60 MiB.
func TestHostCallNoLeak(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	e := openEngine(t)
	in := instantiate(t, compile(t, e, hostWAT, engine.CompileConfig{}), hostFuncs(
		func(_ context.Context, _ engine.Caller, s []uint64) error { s[0]++; return nil }, nil, nil,
		func(_ context.Context, _ engine.Caller, s []uint64) error { return nil }, nil))
	double, mixed := in.Function("call_double"), in.Function("call_mixed")
	stack := make([]uint64, 5)
	calls := func(n int) {
		for range n {
			require.NoError(t, double.Call(bg, stack))
			require.NoError(t, mixed.Call(bg, stack))
		}
	}
	calls(20000)
	before := rss()
	calls(200000)
	after := rss()
	t.Logf("RSS before %d MiB, after %d MiB", before>>20, after>>20)
	if before > 0 {
		assert.Less(t, after, before+16<<20, "RSS grew by more than 16 MiB over 400,000 host calls")
	}
}
