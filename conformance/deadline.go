package conformance

import (
	"context"
	goruntime "runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/runtime"
)

// Deadlines and cancellation. A metered module's call stops when its
// context ends, on every engine: wasmtime interrupts natively, wazero and
// wasmer at the yield checkpoints of the metering instrumentation. The
// outcomes hold no timing, so they are identical on every engine.

// promptly bounds how long after its context ends an interrupted call may
// take to return (generously: the mechanism reacts within microseconds on
// wazero and wasmer and within a millisecond on wasmtime, but the machine
// may be loaded, and the tests run with -race).
const promptly = time.Second

// interruptCase runs loop_forever of wat/raw.wasm, metered, with a context
// made by ctxFor, and checks that it stops with ErrInterrupted and want,
// promptly, billed its whole budget, and that the instance works after.
// Garbage collections run meanwhile: Go cannot preempt wazero's compiled
// code, so a stop-the-world would wait for a guest that never returned to
// Go, and the context's timer would never fire.
func interruptCase(name string, want error, ctxFor func() (context.Context, context.CancelFunc)) Case {
	return Case{Name: "deadline/" + name, Run: func(t *testing.T, env *Env) string {
		rt := env.New(t, "wat/raw.wasm", nil, runtime.WithMetering(meteringConfig))
		var kinds []string
		for i := range 2 {
			ctx, cancel := ctxFor()
			const budget = 1 << 60 // not used up in a second on any engine
			m := runtime.NewMeter(budget)
			gcDone := make(chan struct{})
			go func() {
				defer close(gcDone)
				for ctx.Err() == nil {
					goruntime.GC()
					time.Sleep(time.Millisecond)
				}
			}()
			start := time.Now()
			_, err := rt.Call(runtime.WithMeter(ctx, m), "loop_forever")
			ended := ctx.Done() // closed by now
			cancel()
			<-gcDone
			elapsed := time.Since(start)
			require.ErrorIs(t, err, runtime.ErrInterrupted, "call %d", i)
			require.ErrorIs(t, err, want, "call %d", i)
			<-ended
			var ie *runtime.InterruptError
			require.ErrorAs(t, err, &ie)
			require.Equal(t, "loop_forever", ie.Func)
			require.Less(t, elapsed, 50*time.Millisecond+promptly, "call %d: the guest was not stopped promptly", i)
			require.Equal(t, uint64(budget), m.Used(), "an interrupted call is billed its whole budget")
			require.ErrorIs(t, rt.Fault(), runtime.ErrInterrupted)
			kinds = append(kinds, ErrorKind(err))

			// Without Reset, the next call runs (the flag was cleared) —
			// also with a context that can end.
			ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
			out, err := rt.Call(ctx, "echo", "still alive")
			cancel()
			require.NoError(t, err)
			require.Equal(t, "still alive", out)
			// And after Reset.
			require.NoError(t, rt.Reset(context.Background()))
			require.NoError(t, rt.Fault())
			out, err = rt.Call(context.Background(), "echo", "reset")
			require.NoError(t, err)
			require.Equal(t, "reset", out)
		}
		return strings.Join(kinds, " ")
	}}
}

func deadlineCases() []Case {
	return []Case{
		interruptCase("metered-loop-timeout", context.DeadlineExceeded, func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 50*time.Millisecond)
		}),
		interruptCase("metered-loop-cancel", context.Canceled, func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				time.Sleep(50 * time.Millisecond)
				cancel()
			}()
			return ctx, cancel
		}),
		{Name: "deadline/metered-call-within-deadline", Run: func(t *testing.T, env *Env) string {
			// A context that could end but does not: the call is metered as
			// usual, the same gas as without a deadline, and the flag stays
			// clear for the next calls.
			rt := env.New(t, "as/echo.wasm", nil, runtime.WithMetering(meteringConfig))
			var used []uint64
			for _, timeout := range []time.Duration{0, time.Minute, time.Minute, 0} {
				ctx, cancel := context.Background(), context.CancelFunc(func() {})
				if timeout > 0 {
					ctx, cancel = context.WithTimeout(ctx, timeout)
				}
				m := runtime.NewMeter(1_000_000)
				out, err := rt.Call(runtime.WithMeter(ctx, m), "greet", "world")
				cancel()
				require.NoError(t, err)
				require.Equal(t, "hello, world", out)
				used = append(used, m.Used())
			}
			for _, u := range used[1:] {
				require.Equal(t, used[0], u, "a deadline changes the gas of a call: %v", used)
			}
			return sprintf("%d", used[0])
		}},
		{Name: "deadline/already-ended", Run: func(t *testing.T, env *Env) string {
			// A context that ended before the call: refused before the guest
			// runs, metered or not.
			var kinds []string
			for _, opts := range [][]runtime.Option{nil, {runtime.WithMetering(meteringConfig)}} {
				rt := env.New(t, "wat/raw.wasm", nil, opts...)
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				_, err := rt.Call(ctx, "loop_forever")
				require.ErrorIs(t, err, runtime.ErrInterrupted)
				require.ErrorIs(t, err, context.Canceled)
				kinds = append(kinds, ErrorKind(err))
			}
			return strings.Join(kinds, " ")
		}},
	}
}
