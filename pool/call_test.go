package pool_test

import (
	"context"
	"fmt"
	goruntime "runtime"
	"testing"
	"weak"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/pool"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

// TestCall: Call leases, calls and puts back, reusing the instance (its
// state kept with WithKeepState); a lease's registry is the call's; a
// faulted instance is reset before the next call; a failing call still
// puts the instance back; CallFor does the same for a compiled module; a
// closed pool refuses.
func TestCall(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		ctx := context.Background()
		p := pool.New(2, pool.WithKeepState())
		for want := int64(1); want <= 2; want++ {
			out, err := p.Call(ctx, engine, echoWasm, nil, "counter")
			require.NoError(t, err)
			assert.Equal(t, want, out)
		}
		s := p.Stats()
		assert.Equal(t, uint64(1), s.Misses)
		assert.Equal(t, uint64(1), s.Hits)
		assert.Equal(t, 1, s.Idle)
		assert.Equal(t, 0, s.Live)

		for _, id := range []string{"a", "b"} {
			out, err := p.Call(ctx, engine, greetWasm, requestRegistry(t, id), "greet", "x")
			require.NoError(t, err)
			assert.Equal(t, id+" greets x", out)
		}

		// A fault is reset on put back.
		_, err := p.Call(ctx, engine, echoWasm, nil, "fail", "x")
		require.ErrorIs(t, err, runtime.ErrAbort)
		out, err := p.Call(ctx, engine, echoWasm, nil, "counter")
		require.NoError(t, err)
		assert.Equal(t, int64(1), out, "the faulted instance was reset")

		_, err = p.Call(ctx, engine, echoWasm, nil, "noSuchExport")
		require.Error(t, err)
		s = p.Stats()
		assert.Equal(t, 0, s.Live, "every call put its instance back")
		assert.Equal(t, uint64(2), s.Misses, "one instance of each code: registries of one shape share instances")

		m, err := runtime.CompileWithEngine(ctx, engine, echoWasm)
		require.NoError(t, err)
		defer m.Close(ctx)
		for want := int64(1); want <= 2; want++ {
			out, err := p.CallFor(ctx, m, nil, "counter")
			require.NoError(t, err)
			assert.Equal(t, want, out, "CallFor reuses its instance")
		}
		_, err = p.CallFor(ctx, nil, nil, "counter")
		require.ErrorIs(t, err, runtime.ErrInvalidArgument)

		require.NoError(t, p.Close(ctx))
		_, err = p.Call(ctx, engine, echoWasm, nil, "counter")
		require.ErrorIs(t, err, pool.ErrClosed)
	})
}

// TestCallDropsTheBinding: after Call, the idle instance keeps no
// reference to the call's registry, and the next call sees its own.
func TestCallDropsTheBinding(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		ctx := context.Background()
		p := pool.New(2, pool.WithKeepState())
		defer p.Close(ctx)
		var wr weak.Pointer[runtime.HostAPIRegistry]
		func() {
			reg := requestRegistry(t, "gone")
			wr = weak.Make(reg)
			_, err := p.Call(ctx, engine, greetWasm, reg, "greet", "x")
			require.NoError(t, err)
		}()
		collected := false
		for range 20 {
			goruntime.GC()
			if wr.Value() == nil {
				collected = true
				break
			}
		}
		assert.True(t, collected, "the idle instance still references the registry of its last call")
		out, err := p.Call(ctx, engine, greetWasm, requestRegistry(t, "next"), "greet", "y")
		require.NoError(t, err)
		assert.Equal(t, "next greets y", out)
		assert.Equal(t, uint64(1), p.Stats().Hits)
	})
}

// TestCallFreshRegistryPerCallConcurrently: TestDoFreshRegistryPerCallConcurrently
// through Call.
func TestCallFreshRegistryPerCallConcurrently(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		for _, keep := range []bool{false, true} {
			t.Run(fmt.Sprintf("keepState=%v", keep), func(t *testing.T) {
				ctx := context.Background()
				const workers, calls = 8, 1000
				var opts []pool.Option
				if keep {
					opts = append(opts, pool.WithKeepState())
				}
				p := pool.New(workers, opts...)
				defer p.Close(ctx)
				concurrently(t, workers, func(w int) error {
					for i := range calls / workers {
						id := fmt.Sprintf("w%d-%d", w, i)
						got, err := p.Call(ctx, engine, greetWasm, requestRegistry(t, id), "greet", "x")
						if want := id + " greets x"; err != nil || got != want {
							return fmt.Errorf("call %s: got %q (%v), want %q", id, got, err, want)
						}
					}
					return nil
				})
				s := p.Stats()
				assert.Equal(t, uint64(calls), s.Hits+s.Misses)
				assert.LessOrEqual(t, s.Misses, uint64(workers), "no more instantiations than concurrent calls")
				assert.Equal(t, 0, s.Live)
				assert.Equal(t, uint64(0), s.Discards)
			})
		}
	})
}

// TestCallAllocations: Call allocates no more than the same call on a warm
// runtime: the pool adds no allocation.
func TestCallAllocations(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		ctx := context.Background()
		reg := greetRegistry(t)
		p := pool.New(2, pool.WithKeepState())
		defer p.Close(ctx)
		_, err := p.Call(ctx, engine, greetWasm, reg, "greet", "world") // compile and instantiate
		require.NoError(t, err)
		rt, err := runtime.NewWithEngine(ctx, engine, greetWasm, reg)
		require.NoError(t, err)
		defer rt.Close(ctx)
		warm := testing.AllocsPerRun(100, func() {
			if _, err := rt.Call(ctx, "greet", "world"); err != nil {
				t.Fatal(err)
			}
		})
		pooled := testing.AllocsPerRun(100, func() {
			if _, err := p.Call(ctx, engine, greetWasm, reg, "greet", "world"); err != nil {
				t.Fatal(err)
			}
		})
		assert.Equal(t, warm, pooled, "allocations per Call (a warm call's: %v)", warm)
		assert.Equal(t, uint64(1), p.Stats().Misses)
	})
}
