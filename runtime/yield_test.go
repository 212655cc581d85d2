package runtime_test

import (
	"context"
	"fmt"
	goruntime "runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/metering"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

// TestUnmeteredDeadline: a deadline stops an unmetered guest's long loop
// on every engine (wasmtime natively, wazero and wasmer at the yield
// checkpoints every unmetered module gets there), promptly, even while
// another goroutine collects garbage (on wazero a guest Go cannot preempt
// would hold up the collector's stop-the-world, and with it the whole
// process); the instance works after. (The loop ends after some 20 s, so
// that without the checkpoints the test fails instead of hanging; the
// isolated conformance cases deadline/unmetered-loop-with-gc and
// */loop/unmetered-deadline loop forever, in child processes.)
func TestUnmeteredDeadline(t *testing.T) {
	for _, eng := range runtime.Engines() {
		t.Run(eng, func(t *testing.T) {
			rt, err := runtime.NewWithEngine(context.Background(), eng, fixtures.MustBytes("wat/raw.wasm"), nil)
			require.NoError(t, err)
			defer rt.Close(context.Background())
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			gcDone := make(chan struct{})
			go func() {
				defer close(gcDone)
				for ctx.Err() == nil {
					goruntime.GC()
					time.Sleep(time.Millisecond)
				}
			}()
			start := time.Now()
			_, err = rt.CallWasm(ctx, "sum_to", 1<<36)
			elapsed := time.Since(start)
			<-gcDone
			require.ErrorIs(t, err, runtime.ErrInterrupted)
			require.ErrorIs(t, err, context.DeadlineExceeded)
			var ie *runtime.InterruptError
			require.ErrorAs(t, err, &ie)
			assert.Equal(t, "sum_to", ie.Func)
			assert.Less(t, elapsed, 5*time.Second)

			// The checkpoints change no result.
			out, err := rt.CallWasm(context.Background(), "sum_to", 100000)
			require.NoError(t, err)
			assert.Equal(t, []uint64{100000 * 100001 / 2}, out)
		})
	}
}

// TestUnmeteredExportsWithCheckpoints: the countdown the checkpoints use
// is not one of the module's exports.
func TestUnmeteredExportsWithCheckpoints(t *testing.T) {
	ctx := context.Background()
	for _, eng := range runtime.Engines() {
		t.Run(fmt.Sprint(eng), func(t *testing.T) {
			m, err := runtime.CompileWithEngine(ctx, eng, fixtures.MustBytes("wat/raw.wasm"))
			require.NoError(t, err)
			defer m.Close(ctx)
			for _, e := range m.Exports() {
				assert.NotEqual(t, metering.YieldCountdownExport, e.Name)
				assert.NotEqual(t, metering.CallDepthExport, e.Name)
			}
		})
	}
}
