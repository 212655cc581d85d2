package guest_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/metering"
	"github.com/aspect-rt/aspect-runtime/runtime"
	"github.com/aspect-rt/aspect-runtime/wasi"
)

// TestFirstCallAfterStartIsWarm: the guest library warms the Go runtime up
// at start (guest/warm.go), so that the first call of an instance, which
// is every call of a pool that resets its instances on put back, costs
// about what a later call of the same export costs. Measured in gas (the
// same on every engine), on the conformance fixture go/echo.wasm: the
// first call may only allocate the arena map's table (about 2.1k gas).
// Before, the first greet("world") took 45,548 gas and the next ones
// 21,891: the Go allocator fetched a span for each size class on its first
// use.
func TestFirstCallAfterStartIsWarm(t *testing.T) {
	ctx := context.Background()
	mod, err := runtime.CompileWithEngine(ctx, runtime.DefaultEngine(), fixtures.MustBytes("go/echo.wasm"),
		runtime.WithMetering(metering.Config{}))
	require.NoError(t, err)
	t.Cleanup(func() { _ = mod.Close(ctx) })
	// The arguments and results are byte slices of up to 256 bytes, the
	// size classes warmed at start.
	for _, c := range []struct {
		name, fn string
		args     []any
	}{
		{"greet", "greet", []any{"world"}},
		{"greet-200-bytes", "greet", []any{strings.Repeat("x", 200)}},
		{"concat", "concat", []any{"ab", "cd"}},
		{"echoI64", "echoI64", []any{int64(-5)}},
		{"echoBytes", "echoBytes", []any{[]byte("0123456789abcdef0123456789")}},
		{"answer", "answer", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			rt, err := mod.Instantiate(ctx, nil, runtime.WithWASI(wasi.Config{
				Clock:  wasi.NewFakeClock(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)),
				Random: rand.NewChaCha8([32]byte{}),
			}))
			require.NoError(t, err)
			defer func() { require.NoError(t, rt.Close(ctx)) }()
			var gas [4]uint64
			for i := range gas {
				m := runtime.NewMeter(1 << 40)
				_, err := rt.Call(runtime.WithMeter(ctx, m), c.fn, c.args...)
				require.NoError(t, err)
				gas[i] = m.Used()
			}
			t.Logf("gas of the first calls: %v", gas)
			later := slices.Max(gas[1:])
			require.LessOrEqual(t, gas[0], later+2500,
				"the first call costs at most the arena map's table more than a later one (%d against at most %d gas)", gas[0], later)
		})
	}
}
