package runtime

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/metering"
	"github.com/aspect-rt/aspect-runtime/wasi"
)

// warmCounter is a warm-up that calls as/echo.wasm's counter n times.
func warmCounter(n int, runs *atomic.Int32) Option {
	return WithWarmup(func(ctx context.Context, r *Runtime) error {
		if runs != nil {
			runs.Add(1)
		}
		for i := 1; i <= n; i++ {
			got, err := CallAs[int64](ctx, r, "counter")
			if err != nil {
				return err
			}
			if got != int64(i) {
				return errors.New("counter out of step")
			}
		}
		return nil
	})
}

// The state a warm-up leaves is the instance's start state: Reset restores
// it, whether it restores the snapshot or re-instantiates; without a
// warm-up, Reset restores the state after start, as before.
func TestWarmupStateSurvivesReset(t *testing.T) {
	ctx := context.Background()
	for _, eng := range Engines() {
		for _, c := range []struct {
			name string
			opts []Option
		}{
			{"plain", nil},
			{"dirty-pages", []Option{WithDirtyPageTracking()}},
			{"metered", []Option{WithMetering(metering.Config{})}},
		} {
			t.Run(eng+"/"+c.name, func(t *testing.T) {
				var runs atomic.Int32
				rt, err := NewWithEngine(ctx, eng, fixtures.MustBytes("as/echo.wasm"), nil, append(c.opts, warmCounter(5, &runs))...)
				require.NoError(t, err)
				defer rt.Close(ctx)
				require.Equal(t, int32(1), runs.Load())
				require.Equal(t, int64(6), counter(t, rt), "the warm-up's calls are kept")

				require.False(t, reset(t, rt), "the first Reset re-instantiates")
				require.Equal(t, int32(2), runs.Load(), "the new instance is warmed up")
				require.NotNil(t, rt.snap, "the fixture is restorable")
				for want := int64(6); want <= 8; want++ {
					require.Equal(t, want, counter(t, rt))
				}
				require.True(t, reset(t, rt), "Reset restored the snapshot")
				require.Equal(t, int32(2), runs.Load(), "a restored snapshot needs no warm-up")
				require.Equal(t, int64(6), counter(t, rt), "the snapshot is the post-warm-up state")

				// After a guest fault too.
				_, err = rt.Call(ctx, "fail", "boom")
				require.ErrorIs(t, err, ErrAbort)
				require.True(t, reset(t, rt))
				require.Equal(t, int64(6), counter(t, rt))
			})
		}
		t.Run(eng+"/default", func(t *testing.T) {
			rt, err := NewWithEngine(ctx, eng, fixtures.MustBytes("as/echo.wasm"), nil)
			require.NoError(t, err)
			defer rt.Close(ctx)
			require.Equal(t, int64(1), counter(t, rt))
			require.False(t, reset(t, rt))
			require.Equal(t, int64(1), counter(t, rt))
			require.Equal(t, int64(2), counter(t, rt))
			require.True(t, reset(t, rt))
			require.Equal(t, int64(1), counter(t, rt))
		})
	}
}

// Instances warmed up alike share one copy of their post-warm-up memory,
// Go guests included; WithWarmup given to Instantiate applies to that
// instance only, and WithWarmup(nil) turns the module's off.
func TestWarmupSharedSnapshotAndPerInstance(t *testing.T) {
	ctx := context.Background()
	for _, eng := range Engines() {
		t.Run(eng, func(t *testing.T) {
			greet := WithWarmup(func(ctx context.Context, r *Runtime) error {
				out, err := CallAs[string](ctx, r, "greet", "warm-up")
				if err == nil && out != "hello, warm-up" {
					err = errors.New("greet returned " + out)
				}
				return err
			})
			// Deterministic: the clock stands still, random bytes are zeros.
			det := wasi.Config{Clock: wasi.NewFakeClock(time.Unix(0, 0)), Random: zeroReader{}}
			m, err := CompileWithEngine(ctx, eng, fixtures.MustBytes("go/echo.wasm"), WithWASI(det), WithDirtyPageTracking(), greet)
			require.NoError(t, err)
			defer m.Close(ctx)
			a, err := m.Instantiate(ctx, nil)
			require.NoError(t, err)
			defer a.Close(ctx)
			require.NoError(t, a.Reset(ctx)) // snapshots from now on
			b, err := m.Instantiate(ctx, nil)
			require.NoError(t, err)
			defer b.Close(ctx)
			require.NotNil(t, a.snap)
			require.NotNil(t, b.snap)
			assert.True(t, a.snap.shared && b.snap.shared, "the warmed-up memories are shared")

			c, err := m.Instantiate(ctx, nil, WithWarmup(nil))
			require.NoError(t, err)
			defer c.Close(ctx)
			require.NotNil(t, c.snap)
			assert.False(t, c.snap.shared, "an instance without warm-up differs")

			for _, rt := range []*Runtime{a, b, c} {
				out, err := CallAs[string](ctx, rt, "greet", "world")
				require.NoError(t, err)
				require.Equal(t, "hello, world", out)
				require.True(t, reset(t, rt))
			}
		})
	}
}

// zeroReader reads zeros.
type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

var errWarm = errors.New("warm-up refused")

// A warm-up that fails, panics or leaves the instance faulted fails the
// instantiation with a *WarmupError; so does the Reset that re-creates the
// instance, after which the runtime reports ErrClosed until a Reset
// succeeds.
func TestWarmupFailure(t *testing.T) {
	ctx := context.Background()
	code := fixtures.MustBytes("as/echo.wasm")
	for _, eng := range Engines() {
		t.Run(eng, func(t *testing.T) {
			_, err := NewWithEngine(ctx, eng, code, nil, WithWarmup(func(context.Context, *Runtime) error { return errWarm }))
			require.ErrorIs(t, err, ErrWarmup)
			require.ErrorIs(t, err, errWarm)
			var we *WarmupError
			require.ErrorAs(t, err, &we)
			require.False(t, we.Panicked)
			require.Contains(t, err.Error(), "warm-up refused")

			_, err = NewWithEngine(ctx, eng, code, nil, WithWarmup(func(context.Context, *Runtime) error { panic("boom") }))
			require.ErrorIs(t, err, ErrWarmup)
			require.ErrorAs(t, err, &we)
			require.True(t, we.Panicked)
			require.Equal(t, "boom", we.Panic)
			require.NotEmpty(t, we.Stack)
			require.NotErrorIs(t, err, ErrHostPanic)

			_, err = NewWithEngine(ctx, eng, code, nil, WithWarmup(func(context.Context, *Runtime) error { panic(errWarm) }))
			require.ErrorIs(t, err, ErrWarmup)
			require.ErrorIs(t, err, errWarm)

			// A guest failure the warm-up ignores.
			_, err = NewWithEngine(ctx, eng, code, nil, WithWarmup(func(ctx context.Context, r *Runtime) error {
				_, _ = r.Call(ctx, "fail", "in warm-up")
				return nil
			}))
			require.ErrorIs(t, err, ErrWarmup)
			require.ErrorIs(t, err, ErrAbort)

			// A warm-up that fails on the second instance: the Reset that
			// re-instantiates fails; the runtime is closed until a Reset
			// succeeds.
			m, err := CompileWithEngine(ctx, eng, code)
			require.NoError(t, err)
			defer m.Close(ctx)
			var runs atomic.Int32
			rt, err := m.Instantiate(ctx, nil, WithWarmup(func(ctx context.Context, r *Runtime) error {
				if runs.Add(1) == 2 {
					return errWarm
				}
				_, err := r.Call(ctx, "counter")
				return err
			}))
			require.NoError(t, err)
			defer rt.Close(ctx)
			err = rt.Reset(ctx)
			require.ErrorIs(t, err, ErrWarmup)
			require.ErrorIs(t, err, errWarm)
			_, err = rt.Call(ctx, "counter")
			require.ErrorIs(t, err, ErrClosed)
			require.NoError(t, rt.Reset(ctx))
			require.Equal(t, int64(2), counter(t, rt))
		})
	}
}

// warmupChildEnv, set, makes TestWarmupReentrancy run its cases in the
// process itself; unset, the test runs them in a child process (a re-run
// of the test binary), so that a deadlock (a re-entrant call waiting for
// the runtime its warm-up holds) fails the test in minutes instead of
// hanging the package until go test's timeout.
const warmupChildEnv = "ASPECT_WARMUP_REENTRANCY_CHILD"

// A warm-up cannot reset or close the runtime it warms up, nor wait for
// it: those fail with ErrReentrant, and its runtime is closed once it
// returns.
func TestWarmupReentrancy(t *testing.T) {
	if os.Getenv(warmupChildEnv) == "" {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestWarmupReentrancy$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), warmupChildEnv+"=1")
		out, err := cmd.CombinedOutput()
		require.NoError(t, ctx.Err(), "the re-entrancy cases did not finish (deadlock?):\n%s", out)
		require.NoError(t, err, "%s", out)
		for _, eng := range Engines() {
			require.Contains(t, string(out), "--- PASS: TestWarmupReentrancy/"+eng, "%s", out)
		}
		return
	}
	ctx := context.Background()
	code := fixtures.MustBytes("as/echo.wasm")
	for _, eng := range Engines() {
		t.Run(eng, func(t *testing.T) {
			var kept *Runtime
			var outer atomic.Pointer[Runtime]
			var errs []error
			rt, err := NewWithEngine(ctx, eng, code, nil, WithWarmup(func(ctx context.Context, r *Runtime) error {
				errs = errs[:0]
				errs = append(errs, r.Reset(ctx), r.Close(ctx))
				h, _ := r.Handle()
				_, herr := h.Call(ctx, "counter")
				errs = append(errs, herr, h.Reset(ctx))
				if o := outer.Load(); o != nil {
					// Re-instantiated by o.Reset, which holds o.
					_, oerr := o.Call(ctx, "counter")
					errs = append(errs, oerr, o.Reset(ctx), o.Close(ctx))
				}
				kept = r
				_, err := r.Call(ctx, "counter")
				return err
			}))
			require.NoError(t, err)
			defer rt.Close(ctx)
			require.Len(t, errs, 4)
			for i, e := range []error{errs[0], errs[1], errs[3]} {
				require.ErrorIs(t, e, ErrReentrant, i)
				require.Contains(t, e.Error(), "warm-up")
			}
			require.NoError(t, errs[2], "a handle of the warm-up's runtime calls")
			require.Equal(t, int64(3), counter(t, rt), "the warm-up's two calls were kept")

			_, err = kept.Call(ctx, "counter")
			require.ErrorIs(t, err, ErrClosed, "the warm-up's runtime ends with it")
			require.ErrorIs(t, kept.Reset(ctx), ErrClosed)
			require.NoError(t, kept.Close(ctx))

			outer.Store(rt)
			require.NoError(t, rt.Reset(ctx))
			require.Len(t, errs, 7)
			for _, e := range errs[4:] {
				require.ErrorIs(t, e, ErrReentrant)
			}
			require.Equal(t, int64(3), counter(t, rt))
		})
	}
}

// The warm-up is metered as start code: against the context's Meter, or
// the start budget.
func TestWarmupMetered(t *testing.T) {
	ctx := context.Background()
	code := fixtures.MustBytes("as/echo.wasm")
	for _, eng := range Engines() {
		t.Run(eng, func(t *testing.T) {
			m, err := CompileWithEngine(ctx, eng, code, WithMetering(metering.Config{}))
			require.NoError(t, err)
			defer m.Close(ctx)
			plain := NewMeter(1 << 40)
			rt, err := m.Instantiate(WithMeter(ctx, plain), nil)
			require.NoError(t, err)
			require.NoError(t, rt.Close(ctx))
			warmed := NewMeter(1 << 40)
			rt, err = m.Instantiate(WithMeter(ctx, warmed), nil, warmCounter(3, nil))
			require.NoError(t, err)
			require.NoError(t, rt.Close(ctx))
			require.Greater(t, warmed.Used(), plain.Used(), "the warm-up's calls are charged")

			// A start budget the start code fits in but not the warm-up.
			_, err = m.Instantiate(ctx, nil, WithStartGas(plain.Used()+1), warmCounter(3, nil))
			require.ErrorIs(t, err, ErrWarmup)
			require.ErrorIs(t, err, ErrOutOfGas)
		})
	}
}

// The warm-up runs under WithStartTimeout's deadline, as start code does:
// a warm-up that never ends fails the instantiation.
func TestWarmupStartTimeout(t *testing.T) {
	ctx := context.Background()
	for _, eng := range Engines() {
		t.Run(eng, func(t *testing.T) {
			_, err := NewWithEngine(ctx, eng, fixtures.MustBytes("wat/raw.wasm"), nil,
				WithStartTimeout(50*time.Millisecond),
				WithWarmup(func(ctx context.Context, r *Runtime) error {
					_, err := r.CallWasm(ctx, "loop_forever")
					return err
				}))
			require.ErrorIs(t, err, ErrWarmup)
			require.ErrorIs(t, err, ErrInterrupted)
			require.ErrorIs(t, err, context.DeadlineExceeded)
		})
	}
}

// A warm-up may use its runtime from other goroutines: their calls are
// serialized, the snapshot waits for the last one, and once the warm-up
// has returned they fail with ErrClosed.
func TestWarmupConcurrentUse(t *testing.T) {
	ctx := context.Background()
	for _, eng := range Engines() {
		t.Run(eng, func(t *testing.T) {
			var calls atomic.Int64
			done := make(chan error, 1)
			rt, err := NewWithEngine(ctx, eng, fixtures.MustBytes("as/echo.wasm"), nil, WithWarmup(func(ctx context.Context, r *Runtime) error {
				started := make(chan struct{})
				go func() {
					for i := 0; ; i++ {
						if i == 1 {
							close(started)
						}
						if _, err := r.Call(ctx, "counter"); err != nil {
							done <- err
							return
						}
						calls.Add(1)
					}
				}()
				<-started
				for range 10 {
					if _, err := r.Call(ctx, "counter"); err != nil {
						return err
					}
					calls.Add(1)
				}
				return nil
			}))
			require.NoError(t, err)
			defer rt.Close(ctx)
			require.ErrorIs(t, <-done, ErrClosed)
			n := calls.Load()
			require.Equal(t, n+1, counter(t, rt), "every call of the warm-up counted once, none after it")
		})
	}
}
