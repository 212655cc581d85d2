package pool_test

import (
	"context"
	"errors"
	"fmt"
	goruntime "runtime"
	"testing"
	"time"
	"weak"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/pool"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

// requestRegistry is a registry built per request: its host function
// closes over the request's id.
func requestRegistry(t testing.TB, id string) *runtime.HostAPIRegistry {
	reg := runtime.NewHostAPIRegistry()
	require.NoError(t, reg.AddAPI("index", "test", "hello", func(s string) string { return id + " greets " + s }))
	return reg
}

// TestRegistryPerLeaseReusesInstances: 10 leases with 10 registries of the
// same functions reuse one instance (identity keys gave Hits:0 Misses:10
// Evictions:6 here), and each lease calls its own registry's function.
func TestRegistryPerLeaseReusesInstances(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		ctx := context.Background()
		p := pool.New(4)
		defer p.Close(ctx)
		for i := range 10 {
			id := fmt.Sprintf("req%d", i)
			l, err := p.Runtime(ctx, engine, greetWasm, requestRegistry(t, id))
			require.NoError(t, err)
			out, err := runtime.CallAs[string](ctx, l.Runtime, "greet", "x")
			require.NoError(t, err)
			require.Equal(t, id+" greets x", out)
			p.PutBack(l)
		}
		s := p.Stats()
		assert.Equal(t, uint64(9), s.Hits)
		assert.Equal(t, uint64(1), s.Misses)
		assert.Equal(t, uint64(0), s.Evictions)
		assert.Equal(t, 1, s.Idle)
	})
}

// TestFreshRegistryPerLeaseConcurrently: 8 goroutines x 125 leases, each
// with a fresh registry of the same shape: no more instances are created
// than leases run at once, and every call sees its own lease's function,
// also from PreRunFunc and across several calls of the lease.
func TestFreshRegistryPerLeaseConcurrently(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		for _, keep := range []bool{false, true} {
			t.Run(fmt.Sprintf("keepState=%v", keep), func(t *testing.T) {
				ctx := context.Background()
				var opts []pool.Option
				if keep {
					opts = append(opts, pool.WithKeepState())
				}
				const workers, leases = 8, 1000
				p := pool.New(workers, opts...)
				defer p.Close(ctx)
				concurrently(t, workers, func(w int) error {
					for i := range leases / workers {
						id := fmt.Sprintf("w%d-%d", w, i)
						check := func(rt *runtime.Runtime, arg string) error {
							got, err := runtime.CallAs[string](ctx, rt, "greet", arg)
							if want := id + " greets " + arg; err != nil || got != want {
								return fmt.Errorf("lease %s: got %q (%v), want %q", id, got, err, want)
							}
							return nil
						}
						l, err := p.Runtime(ctx, engine, greetWasm, requestRegistry(t, id),
							pool.PreRunFunc(func(ctx context.Context, rt *runtime.Runtime) error { return check(rt, "pre") }))
						if err != nil {
							return err
						}
						for _, arg := range []string{"a", "b"} {
							if err := check(l.Runtime, arg); err != nil {
								return err
							}
						}
						p.PutBack(l)
					}
					return nil
				})
				s := p.Stats()
				assert.Equal(t, uint64(leases), s.Hits+s.Misses)
				assert.LessOrEqual(t, s.Misses, uint64(workers), "no more instantiations than concurrent leases")
				assert.Equal(t, uint64(0), s.Evictions)
				assert.Equal(t, uint64(0), s.Discards)
				assert.Equal(t, 0, s.Live)
				assert.Equal(t, uint64(1), s.Compiles)
			})
		}
	})
}

// TestPutBackDropsTheBinding: an idle instance keeps no reference to the
// registry of the lease that put it back (its functions may hold a whole
// request), and a guest calling a host function of an instance whose lease
// ended does not reach it.
func TestPutBackDropsTheBinding(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		ctx := context.Background()
		p := pool.New(2, pool.WithKeepState())
		defer p.Close(ctx)
		var wr weak.Pointer[runtime.HostAPIRegistry]
		func() {
			reg := requestRegistry(t, "gone")
			wr = weak.Make(reg)
			l, err := p.Runtime(ctx, engine, greetWasm, reg)
			require.NoError(t, err)
			_, err = l.Runtime.Call(ctx, "greet", "x")
			require.NoError(t, err)
			p.PutBack(l)
		}()
		collected := false
		for range 20 {
			goruntime.GC()
			if wr.Value() == nil {
				collected = true
				break
			}
		}
		assert.True(t, collected, "the idle instance still references the registry of its last lease")
		assert.Equal(t, 1, p.Stats().Idle)

		l, err := p.Runtime(ctx, engine, greetWasm, requestRegistry(t, "next"))
		require.NoError(t, err)
		defer p.PutBack(l)
		out, err := runtime.CallAs[string](ctx, l.Runtime, "greet", "y")
		require.NoError(t, err)
		assert.Equal(t, "next greets y", out)
		assert.Equal(t, uint64(1), p.Stats().Hits)
	})
}

// TestRegistriesOfAnotherShapeAreAnotherKey: the same code with a registry
// of other functions (here another Go signature) gets instances of its own.
func TestRegistriesOfAnotherShapeAreAnotherKey(t *testing.T) {
	ctx := context.Background()
	p := pool.New(4)
	defer p.Close(ctx)
	other := runtime.NewHostAPIRegistry()
	require.NoError(t, other.AddAPI("index", "test", "hello", func(s string) (string, error) { return "other " + s, nil }))
	for _, reg := range []*runtime.HostAPIRegistry{requestRegistry(t, "a"), other, requestRegistry(t, "b"), other} {
		l, err := p.Runtime(ctx, "", greetWasm, reg)
		require.NoError(t, err)
		assert.Equal(t, reg.Shape(), l.Key().Shape)
		p.PutBack(l)
	}
	s := p.Stats()
	assert.Equal(t, uint64(2), s.Misses)
	assert.Equal(t, uint64(2), s.Hits)
	assert.Equal(t, 2, s.Idle)
}

// TestLostLeaseOfAReusedInstance: the leak guard is registered once per
// instance, when the pool creates it, so it must also reclaim an instance
// that was idle and leased again, and never count a lease put back.
func TestLostLeaseOfAReusedInstance(t *testing.T) {
	ctx := context.Background()
	p := pool.New(2)
	defer p.Close(ctx)
	for range 50 {
		l, err := p.Runtime(ctx, "", echoWasm, nil)
		require.NoError(t, err)
		counter(t, l)
		p.PutBack(l)
		goruntime.GC()
	}
	require.Equal(t, uint64(0), p.Stats().Leaked, "leases put back are not leaks")
	func() {
		l, err := p.Runtime(ctx, "", echoWasm, nil)
		require.NoError(t, err)
		counter(t, l)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for p.Stats().Leaked == 0 && time.Now().Before(deadline) {
		goruntime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	s := p.Stats()
	assert.Equal(t, uint64(1), s.Leaked)
	assert.Equal(t, 0, s.Live)
	assert.Equal(t, 0, s.Idle)
	assert.Equal(t, uint64(50), s.Hits, "the lost lease reused the idle instance")
	// The pool still works and builds a new instance.
	l, err := p.Runtime(ctx, "", echoWasm, nil)
	require.NoError(t, err)
	assert.Equal(t, int64(1), counter(t, l))
	p.PutBack(l)
	assert.Equal(t, uint64(2), p.Stats().Misses)
}

// TestRuntimeFor leases instances of a module the caller compiled: no code
// lookup, instances reused, the module left open by Pool.Close.
func TestRuntimeFor(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		ctx := context.Background()
		mod, err := runtime.CompileWithEngine(ctx, engine, greetWasm)
		require.NoError(t, err)
		defer mod.Close(ctx)
		p := pool.New(2)
		for i := range 3 {
			id := fmt.Sprint(i)
			l, err := p.RuntimeFor(ctx, mod, requestRegistry(t, id))
			require.NoError(t, err)
			assert.Equal(t, engine, l.Key().Engine)
			assert.Equal(t, mod.Hash(), l.Key().CodeHash)
			out, err := runtime.CallAs[string](ctx, l.Runtime, "greet", "m")
			require.NoError(t, err)
			assert.Equal(t, id+" greets m", out)
			p.PutBack(l)
		}
		s := p.Stats()
		assert.Equal(t, uint64(1), s.Misses)
		assert.Equal(t, uint64(2), s.Hits)
		assert.Equal(t, uint64(0), s.Compiles, "the pool compiled nothing")
		assert.Equal(t, 0, s.Modules)
		require.NoError(t, p.Close(ctx))
		// The module is still the caller's.
		rt, err := mod.Instantiate(ctx, requestRegistry(t, "after"))
		require.NoError(t, err)
		require.NoError(t, rt.Close(ctx))

		_, err = p.RuntimeFor(ctx, mod, nil)
		require.ErrorIs(t, err, pool.ErrClosed)
		_, err = pool.New(1).RuntimeFor(ctx, nil, nil)
		require.ErrorIs(t, err, runtime.ErrInvalidArgument)
	})
}

// TestRuntimeForClosedModule: a closed module is an error, not a panic.
func TestRuntimeForClosedModule(t *testing.T) {
	ctx := context.Background()
	mod, err := runtime.Compile(ctx, echoWasm)
	require.NoError(t, err)
	require.NoError(t, mod.Close(ctx))
	p := pool.New(1)
	defer p.Close(ctx)
	_, err = p.RuntimeFor(ctx, mod, nil)
	require.True(t, errors.Is(err, runtime.ErrClosed), "%v", err)
	assert.Equal(t, 0, p.Stats().Live)
}
