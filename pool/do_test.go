package pool_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/pool"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

// TestDo: Do leases, calls fn and puts back; the runtime fn got fails with
// ErrClosed afterwards; fn's error is Do's; a panic in fn goes on after
// the instance was put back; lease options apply; a closed pool refuses.
func TestDo(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		ctx := context.Background()
		p := pool.New(2, pool.WithKeepState())
		var kept *runtime.Runtime
		for want := int64(1); want <= 2; want++ {
			require.NoError(t, p.Do(ctx, engine, echoWasm, nil, func(rt *runtime.Runtime) error {
				kept = rt
				n, err := runtime.CallAs[int64](ctx, rt, "counter")
				if err == nil && n != want {
					err = fmt.Errorf("counter %d, want %d", n, want)
				}
				return err
			}))
			_, err := kept.Call(ctx, "counter")
			require.ErrorIs(t, err, runtime.ErrClosed, "the runtime is revoked when fn returns")
		}
		s := p.Stats()
		assert.Equal(t, uint64(1), s.Misses)
		assert.Equal(t, uint64(1), s.Hits)
		assert.Equal(t, 1, s.Idle)
		assert.Equal(t, 0, s.Live)

		boom := errors.New("boom")
		require.ErrorIs(t, p.Do(ctx, engine, echoWasm, nil, func(*runtime.Runtime) error { return boom }), boom)
		assert.PanicsWithValue(t, "fn panics", func() {
			_ = p.Do(ctx, engine, echoWasm, nil, func(*runtime.Runtime) error { panic("fn panics") })
		})
		s = p.Stats()
		assert.Equal(t, 0, s.Live, "put back despite the panic")
		assert.Equal(t, 1, s.Idle)

		// A fault is reset on put back, as with PutBack.
		require.ErrorIs(t, p.Do(ctx, engine, echoWasm, nil, func(rt *runtime.Runtime) error {
			_, err := rt.Call(ctx, "fail", "x")
			return err
		}), runtime.ErrAbort)
		require.NoError(t, p.Do(ctx, engine, echoWasm, nil, func(rt *runtime.Runtime) error {
			n, err := runtime.CallAs[int64](ctx, rt, "counter")
			if err == nil && n != 1 {
				err = fmt.Errorf("counter %d after a fault, want 1", n)
			}
			return err
		}, pool.PreRunFunc(func(_ context.Context, rt *runtime.Runtime) error { return rt.Fault() })))

		m, err := runtime.CompileWithEngine(ctx, engine, echoWasm)
		require.NoError(t, err)
		defer m.Close(ctx)
		require.NoError(t, p.DoFor(ctx, m, nil, func(rt *runtime.Runtime) error {
			_, err := rt.Call(ctx, "counter")
			return err
		}))
		require.ErrorIs(t, p.DoFor(ctx, nil, nil, func(*runtime.Runtime) error { return nil }), runtime.ErrInvalidArgument)
		require.ErrorIs(t, p.Do(ctx, engine, echoWasm, nil, nil), runtime.ErrInvalidArgument)
		assert.Equal(t, 0, p.Stats().Live)

		require.NoError(t, p.Close(ctx))
		require.ErrorIs(t, p.Do(ctx, engine, echoWasm, nil, func(*runtime.Runtime) error { return nil }), pool.ErrClosed)
	})
}

// TestDoFreshRegistryPerCallConcurrently: TestFreshRegistryPerLeaseConcurrently
// through Do: 8 goroutines x 125 calls, each with a fresh registry of the
// same shape, create no more instances than calls run at once, and every
// call sees its own registry's function.
func TestDoFreshRegistryPerCallConcurrently(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		ctx := context.Background()
		const workers, calls = 8, 1000
		p := pool.New(workers, pool.WithKeepState())
		defer p.Close(ctx)
		concurrently(t, workers, func(w int) error {
			for i := range calls / workers {
				id := fmt.Sprintf("w%d-%d", w, i)
				err := p.Do(ctx, engine, greetWasm, requestRegistry(t, id), func(rt *runtime.Runtime) error {
					got, err := runtime.CallAs[string](ctx, rt, "greet", "x")
					if want := id + " greets x"; err != nil || got != want {
						return fmt.Errorf("call %s: got %q (%v), want %q", id, got, err, want)
					}
					return nil
				})
				if err != nil {
					return err
				}
			}
			return nil
		})
		s := p.Stats()
		assert.Equal(t, uint64(calls), s.Hits+s.Misses)
		assert.LessOrEqual(t, s.Misses, uint64(workers), "no more instantiations than concurrent calls")
		assert.Equal(t, 0, s.Live)
	})
}
