package pool_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	goruntime "runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/pool"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

var (
	echoWasm  = fixtures.MustBytes("as/echo.wasm")
	greetWasm = fixtures.MustBytes("as/greet.wasm")
)

func greetRegistry(t testing.TB) *runtime.HostAPIRegistry {
	reg := runtime.NewHostAPIRegistry()
	require.NoError(t, reg.AddAPI("index", "test", "hello", func(s string) string { return "greet to " + s }))
	return reg
}

func forEachEngine(t *testing.T, fn func(t *testing.T, engine string)) {
	for _, e := range runtime.Engines() {
		t.Run(e, func(t *testing.T) { fn(t, e) })
	}
}

func counter(t *testing.T, l *pool.Lease) int64 {
	t.Helper()
	n, err := runtime.CallAs[int64](context.Background(), l.Runtime, "counter")
	require.NoError(t, err)
	return n
}

func TestHitMissAndCompileOnce(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		ctx := context.Background()
		p := pool.New(4)
		defer p.Close(ctx)
		reg := greetRegistry(t)
		for i := 0; i < 5; i++ {
			l, err := p.Runtime(ctx, engine, greetWasm, reg)
			require.NoError(t, err)
			out, err := l.Runtime.Call(ctx, "greet", "pool")
			require.NoError(t, err)
			require.Equal(t, "greet to pool", out)
			p.PutBack(l)
		}
		s := p.Stats()
		assert.Equal(t, uint64(1), s.Misses)
		assert.Equal(t, uint64(4), s.Hits)
		assert.Equal(t, uint64(1), s.Compiles)
		assert.Equal(t, 0, s.Live)
		assert.Equal(t, 1, s.Idle)

		// Another registry of the same shape is the same key.
		l, err := p.Runtime(ctx, engine, greetWasm, greetRegistry(t))
		require.NoError(t, err)
		assert.Equal(t, reg.Shape(), l.Key().Shape)
		assert.Nil(t, l.Key().Registry)
		p.PutBack(l)
		s = p.Stats()
		assert.Equal(t, uint64(1), s.Misses)
		assert.Equal(t, uint64(5), s.Hits)

		// With WithRegistryIdentity, another registry is another key, but
		// the compiled module is shared.
		pi := pool.New(4, pool.WithRegistryIdentity())
		defer pi.Close(ctx)
		for _, r := range []*runtime.HostAPIRegistry{reg, reg, greetRegistry(t)} {
			l, err := pi.Runtime(ctx, engine, greetWasm, r)
			require.NoError(t, err)
			assert.Same(t, r, l.Key().Registry)
			pi.PutBack(l)
		}
		s = pi.Stats()
		assert.Equal(t, uint64(2), s.Misses)
		assert.Equal(t, uint64(1), s.Hits)
		assert.Equal(t, uint64(1), s.Compiles, "instantiating from the cache must not recompile")
	})
}

func TestStateIsResetBetweenLeases(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		ctx := context.Background()
		p := pool.New(2)
		defer p.Close(ctx)
		for i := 0; i < 5; i++ {
			l, err := p.Runtime(ctx, engine, echoWasm, nil)
			require.NoError(t, err)
			require.Equal(t, int64(1), counter(t, l), "lease %d sees state from an earlier lease", i)
			require.Equal(t, int64(2), counter(t, l), "state persists within a lease")
			p.PutBack(l)
		}
		assert.Equal(t, uint64(1), p.Stats().Misses, "the same instance was reused, reset each time")
	})
}

func TestKeepStateAndFaultedInstanceIsNeverReusedDirty(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		ctx := context.Background()
		p := pool.New(2, pool.WithKeepState())
		defer p.Close(ctx)

		l, err := p.Runtime(ctx, engine, echoWasm, nil)
		require.NoError(t, err)
		counter(t, l)
		counter(t, l)
		p.PutBack(l)

		l, err = p.Runtime(ctx, engine, echoWasm, nil)
		require.NoError(t, err)
		require.Equal(t, int64(3), counter(t, l), "WithKeepState keeps state across leases")
		_, err = l.Runtime.Call(ctx, "fail", "boom")
		require.ErrorIs(t, err, runtime.ErrAbort)
		require.Error(t, l.Runtime.Fault())
		p.PutBack(l)

		l, err = p.Runtime(ctx, engine, echoWasm, nil)
		require.NoError(t, err)
		assert.NoError(t, l.Runtime.Fault())
		assert.Equal(t, int64(1), counter(t, l), "a faulted instance must come back reset")
		p.PutBack(l)
		assert.Equal(t, uint64(1), p.Stats().Resets)
	})
}

func TestTrappedInstanceComesBackClean(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		ctx := context.Background()
		p := pool.New(1, pool.WithKeepState())
		defer p.Close(ctx)
		traps := fixtures.MustBytes("wat/hostile.wasm")
		l, err := p.Runtime(ctx, engine, traps, nil)
		require.NoError(t, err)
		_, err = l.Runtime.Call(ctx, "tag_unknown")
		require.ErrorIs(t, err, runtime.ErrABI)
		p.PutBack(l)
		l, err = p.Runtime(ctx, engine, traps, nil)
		require.NoError(t, err)
		assert.NoError(t, l.Runtime.Fault())
		p.PutBack(l)
	})
}

func TestEvictionIsLRUAcrossKeys(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		ctx := context.Background()
		p := pool.New(2, pool.WithRegistryIdentity()) // three registries, three keys
		defer p.Close(ctx)
		regs := []*runtime.HostAPIRegistry{greetRegistry(t), greetRegistry(t), greetRegistry(t)}
		for _, reg := range regs {
			l, err := p.Runtime(ctx, engine, greetWasm, reg)
			require.NoError(t, err)
			p.PutBack(l)
		}
		s := p.Stats()
		assert.Equal(t, 2, s.Idle)
		assert.Equal(t, uint64(1), s.Evictions)
		// The first key was least recently used: it was evicted.
		l, err := p.Runtime(ctx, engine, greetWasm, regs[0])
		require.NoError(t, err)
		p.PutBack(l)
		assert.Equal(t, uint64(4), p.Stats().Misses)
		l, err = p.Runtime(ctx, engine, greetWasm, regs[2])
		require.NoError(t, err)
		p.PutBack(l)
		assert.Equal(t, uint64(1), p.Stats().Hits)
	})
}

// TestCapacityAfterABurst: more leases at once than the capacity create
// more instances; putting them back closes the surplus, least recently put
// back first, and the pool serves from the ones it kept.
func TestCapacityAfterABurst(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		ctx := context.Background()
		p := pool.New(2, pool.WithKeepState())
		defer p.Close(ctx)
		var ls []*pool.Lease
		for range 5 {
			l, err := p.Runtime(ctx, engine, echoWasm, nil)
			require.NoError(t, err)
			ls = append(ls, l)
		}
		for i, l := range ls {
			for range i { // the i-th instance counts i
				counter(t, l)
			}
			p.PutBack(l)
		}
		s := p.Stats()
		assert.Equal(t, 2, s.Idle)
		assert.Equal(t, 0, s.Live)
		assert.Equal(t, uint64(3), s.Evictions)
		assert.Equal(t, uint64(5), s.Misses)
		// The two put back last were kept: instances 3 and 4.
		var seen []int64
		for range 2 {
			l, err := p.Runtime(ctx, engine, echoWasm, nil)
			require.NoError(t, err)
			seen = append(seen, counter(t, l)-1)
			defer p.PutBack(l)
		}
		assert.ElementsMatch(t, []int64{3, 4}, seen)
		assert.Equal(t, uint64(5), p.Stats().Misses)
	})
}

// TestCapacityUnderConcurrentBursts: 4 goroutines leasing over 3 keys from
// a pool of capacity 2 keep more instances than the capacity most of the
// time; once every lease is back, no more than the capacity stay idle.
func TestCapacityUnderConcurrentBursts(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		ctx := context.Background()
		p := pool.New(2, pool.WithKeepState(), pool.WithRegistryIdentity())
		defer p.Close(ctx)
		regs := []*runtime.HostAPIRegistry{greetRegistry(t), greetRegistry(t), greetRegistry(t)}
		concurrently(t, 4, func(w int) error {
			var held []*pool.Lease
			for i := range 300 {
				l, err := p.Runtime(ctx, engine, greetWasm, regs[(w+i)%len(regs)])
				if err != nil {
					return err
				}
				held = append(held, l)
				if len(held) == 1+i%3 { // hold up to 3 at once, then give them back
					for _, l := range held {
						p.PutBack(l)
					}
					held = held[:0]
				}
			}
			for _, l := range held {
				p.PutBack(l)
			}
			return nil
		})
		s := p.Stats()
		assert.Equal(t, 0, s.Live)
		assert.LessOrEqual(t, s.Idle, 2)
		assert.Equal(t, uint64(1200), s.Hits+s.Misses)
	})
}

func TestForceClearCacheAndPreRun(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		ctx := context.Background()
		p := pool.New(2, pool.WithKeepState())
		defer p.Close(ctx)
		l, err := p.Runtime(ctx, engine, echoWasm, nil)
		require.NoError(t, err)
		counter(t, l)
		p.PutBack(l)

		l, err = p.Runtime(ctx, engine, echoWasm, nil, pool.ForceClearCache())
		require.NoError(t, err)
		assert.Equal(t, int64(1), counter(t, l), "ForceClearCache builds a fresh instance")
		p.PutBack(l)
		assert.Equal(t, uint64(1), p.Stats().Discards)

		var hooked int
		l, err = p.Runtime(ctx, engine, echoWasm, nil, pool.PreRun("counter"),
			pool.PreRunFunc(func(ctx context.Context, rt *runtime.Runtime) error { hooked++; return nil }))
		require.NoError(t, err)
		assert.Equal(t, int64(3), counter(t, l), "PreRun called the export once before handing out")
		assert.Equal(t, 1, hooked)
		p.PutBack(l)

		hookErr := errors.New("not today")
		_, err = p.Runtime(ctx, engine, echoWasm, nil, pool.PreRunFunc(func(context.Context, *runtime.Runtime) error { return hookErr }))
		require.ErrorIs(t, err, hookErr)
		_, err = p.Runtime(ctx, engine, echoWasm, nil, pool.PreRun("nope"))
		require.ErrorIs(t, err, runtime.ErrMissingExport)
		assert.Equal(t, 0, p.Stats().Live)
	})
}

// TestForceClearCacheAfterTheKeyWasRetired: ForceClearCache builds a fresh
// instance also when the code's last key entry was retired (its instances
// evicted) and the same code, passed as another slice, left an idle
// instance under a new entry since.
func TestForceClearCacheAfterTheKeyWasRetired(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		ctx := context.Background()
		p := pool.New(1, pool.WithKeepState())
		defer p.Close(ctx)
		same := bytes.Clone(echoWasm) // the same code, another slice
		l, err := p.Runtime(ctx, engine, echoWasm, nil)
		require.NoError(t, err)
		assert.Equal(t, int64(1), counter(t, l))
		p.PutBack(l)
		l, err = p.Runtime(ctx, engine, greetWasm, greetRegistry(t)) // evicts echo's instance
		require.NoError(t, err)
		p.PutBack(l)
		l, err = p.Runtime(ctx, engine, same, nil) // evicts greet's
		require.NoError(t, err)
		assert.Equal(t, int64(1), counter(t, l))
		assert.Equal(t, int64(2), counter(t, l))
		p.PutBack(l)
		require.Equal(t, 1, p.Stats().Idle)
		l, err = p.Runtime(ctx, engine, echoWasm, nil, pool.ForceClearCache())
		require.NoError(t, err)
		defer p.PutBack(l)
		assert.Equal(t, int64(1), counter(t, l), "ForceClearCache gave an instance used before")
	})
}

func TestErrorsAreReturnedNotCached(t *testing.T) {
	ctx := context.Background()
	p := pool.New(2)
	defer p.Close(ctx)
	_, err := p.Runtime(ctx, runtime.DefaultEngine(), []byte("garbage"), nil)
	require.ErrorIs(t, err, runtime.ErrCompile)
	_, err = p.Runtime(ctx, runtime.DefaultEngine(), fixtures.MustBytes("as/hostcalls.wasm"), nil)
	require.ErrorIs(t, err, runtime.ErrLink)
	_, err = p.Runtime(ctx, "nope", echoWasm, nil)
	require.ErrorIs(t, err, runtime.ErrUnknownEngine)
	s := p.Stats()
	assert.Equal(t, 0, s.Live)
	assert.Equal(t, 0, s.Idle)
	require.NoError(t, p.Close(ctx))
	_, err = p.Runtime(ctx, runtime.DefaultEngine(), echoWasm, nil)
	require.ErrorIs(t, err, pool.ErrClosed)
}

func TestForgottenLeaseIsReclaimed(t *testing.T) {
	ctx := context.Background()
	p := pool.New(2)
	defer p.Close(ctx)
	func() {
		l, err := p.Runtime(ctx, runtime.DefaultEngine(), echoWasm, nil)
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
}

func TestPutBackIsIdempotent(t *testing.T) {
	ctx := context.Background()
	p := pool.New(2)
	defer p.Close(ctx)
	l, err := p.Runtime(ctx, runtime.DefaultEngine(), echoWasm, nil)
	require.NoError(t, err)
	p.PutBack(l)
	p.PutBack(l)
	p.PutBack(nil)
	s := p.Stats()
	assert.Equal(t, 1, s.Idle)
	assert.Equal(t, 0, s.Live)
}

// TestConcurrentLeases: 8 goroutines x 10,000 leases over several keys,
// every result checked, no instance leaked at the end.
func TestConcurrentLeases(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine string) {
		ctx := context.Background()
		p := pool.New(6, pool.WithKeepState())
		// Three registries of the same shape, each with its own function:
		// every call must see its own lease's.
		var regs []*runtime.HostAPIRegistry
		for i := range 3 {
			reg := runtime.NewHostAPIRegistry()
			require.NoError(t, reg.AddAPI("index", "test", "hello", func(s string) string { return fmt.Sprintf("greet %d to %s", i, s) }))
			regs = append(regs, reg)
		}
		const workers, leases = 8, 10_000
		concurrently(t, workers, func(w int) error {
			for i := 0; i < leases; i++ {
				ri := (w + i) % len(regs)
				reg := regs[ri]
				code, isEcho := greetWasm, i%7 == 0
				if isEcho {
					code, reg = echoWasm, nil
				}
				l, err := p.Runtime(ctx, engine, code, reg)
				if err != nil {
					return err
				}
				name := fmt.Sprintf("w%d-%d", w, i)
				if isEcho {
					if i%21 == 0 { // fault now and then: the instance must come back clean
						if _, err := l.Runtime.Call(ctx, "fail", name); !errors.Is(err, runtime.ErrAbort) {
							return fmt.Errorf("fail: %v", err)
						}
					}
					got, err := runtime.CallAs[string](ctx, l.Runtime, "greet", name)
					if err != nil || got != "hello, "+name {
						return fmt.Errorf("echo greet %s: %q, %v", name, got, err)
					}
				} else {
					got, err := runtime.CallAs[string](ctx, l.Runtime, "greet", name)
					if want := fmt.Sprintf("greet %d to %s", ri, name); err != nil || got != want {
						return fmt.Errorf("greet %s: %q, %v", name, got, err)
					}
				}
				p.PutBack(l)
			}
			return nil
		})
		s := p.Stats()
		assert.Equal(t, 0, s.Live, "every lease was put back")
		assert.LessOrEqual(t, s.Idle, 6)
		assert.Equal(t, uint64(workers*leases), s.Hits+s.Misses)
		assert.Equal(t, uint64(2), s.Compiles)
		require.NoError(t, p.Close(ctx))
		s = p.Stats()
		assert.Equal(t, 0, s.Idle)
		assert.Equal(t, 0, s.Modules, "closing the pool closes every module")
	})
}

// concurrently runs fn(w) for w in [0, n) on n goroutines, waits for them
// all and fails t with every error they returned.
func concurrently(t *testing.T, n int, fn func(w int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for w := range n {
		wg.Go(func() {
			if err := fn(w); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}
