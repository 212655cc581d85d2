package pool_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/pool"
	"github.com/aspect-rt/aspect-runtime/runtime"
	"github.com/aspect-rt/aspect-runtime/wasi"
)

func benchEngines(b *testing.B, fn func(b *testing.B, engine string)) {
	for _, e := range runtime.Engines() {
		b.Run(e, func(b *testing.B) { fn(b, e) })
	}
}

// BenchmarkPooledGreet: lease + greet (one guest->host callback) + put back,
// with the default policy (the instance is reset on every put back).
func BenchmarkPooledGreet(b *testing.B) {
	benchEngines(b, func(b *testing.B, engine string) {
		ctx := context.Background()
		p := pool.New(4)
		defer p.Close(ctx)
		reg := greetRegistry(b)
		if err := leaseGreet(ctx, p, engine, greetWasm, reg); err != nil { // compile, untimed
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if err := leaseGreet(ctx, p, engine, greetWasm, reg); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkPooledGreetKeepState: as above, instances keep their state.
func BenchmarkPooledGreetKeepState(b *testing.B) {
	benchKeepState(b, func(ctx context.Context, p *pool.Pool, engine string, reg *runtime.HostAPIRegistry, i int64) error {
		return leaseGreetN(ctx, p, engine, greetWasm, reg, i)
	})
}

// BenchmarkPooledGreetDo: BenchmarkPooledGreetKeepState through Do.
func BenchmarkPooledGreetDo(b *testing.B) {
	benchKeepState(b, func(ctx context.Context, p *pool.Pool, engine string, reg *runtime.HostAPIRegistry, i int64) error {
		return p.Do(ctx, engine, greetWasm, reg, func(rt *runtime.Runtime) error {
			_, err := rt.Call(ctx, "greet", "world")
			if err == nil && i%keepStateResetEvery == 0 {
				err = rt.Reset(ctx)
			}
			return err
		})
	})
}

// BenchmarkPooledGreetCall: BenchmarkPooledGreetKeepState through Call.
func BenchmarkPooledGreetCall(b *testing.B) {
	benchKeepState(b, func(ctx context.Context, p *pool.Pool, engine string, reg *runtime.HostAPIRegistry, i int64) error {
		if i%keepStateResetEvery == 0 {
			if err := p.Do(ctx, engine, greetWasm, reg, func(rt *runtime.Runtime) error { return rt.Reset(ctx) }); err != nil {
				return err
			}
		}
		out, err := p.Call(ctx, engine, greetWasm, reg, "greet", "world")
		if err == nil && out != "greet to world" {
			err = fmt.Errorf("greet returned %v", out)
		}
		return err
	})
}

// benchKeepState times call(ctx, p, engine, reg, i), the i-th pooled greet
// (from 1), on a keep-state pool whose module is compiled untimed first.
func benchKeepState(b *testing.B, call func(ctx context.Context, p *pool.Pool, engine string, reg *runtime.HostAPIRegistry, i int64) error) {
	benchEngines(b, func(b *testing.B, engine string) {
		ctx := context.Background()
		p := pool.New(4, pool.WithKeepState())
		defer p.Close(ctx)
		reg := greetRegistry(b)
		if err := leaseGreet(ctx, p, engine, greetWasm, reg); err != nil { // compile, untimed
			b.Fatal(err)
		}
		b.ReportAllocs()
		cpu := processCPU()
		var i int64
		for b.Loop() {
			i++
			if err := call(ctx, p, engine, reg, i); err != nil {
				b.Fatal(err)
			}
		}
		reportCPU(b, cpu)
	})
}

// BenchmarkWarmGreet: greet on one warm instance, without a pool: what
// BenchmarkPooledGreetKeepState adds the pool's cost to.
func BenchmarkWarmGreet(b *testing.B) {
	benchEngines(b, func(b *testing.B, engine string) {
		ctx := context.Background()
		rt := greetRuntime(b, engine)
		if _, err := rt.Call(ctx, "greet", "world"); err != nil { // untimed
			b.Fatal(err)
		}
		b.ReportAllocs()
		cpu := processCPU()
		var i int64
		for b.Loop() {
			i++
			if _, err := rt.Call(ctx, "greet", "world"); err != nil {
				b.Fatal(err)
			}
			if i%keepStateResetEvery == 0 {
				if err := rt.Reset(ctx); err != nil {
					b.Fatal(err)
				}
			}
		}
		reportCPU(b, cpu)
	})
}

// BenchmarkPooledCallOverhead: what Pool.Call (keep state) adds to a call
// on a warm instance, measured in one run so that a shared machine's noise
// hits both alike: each op is a block of overheadBlock greets on a warm
// runtime then as many through Pool.Call, timed apart. It reports the
// medians over the blocks of warm-ns and call-ns per greet and of
// overhead-ns, their difference block by block (ns/op is the block pair).
func BenchmarkPooledCallOverhead(b *testing.B) {
	benchEngines(b, func(b *testing.B, engine string) {
		ctx := context.Background()
		rt := greetRuntime(b, engine)
		p := pool.New(4, pool.WithKeepState())
		defer p.Close(ctx)
		reg := greetRegistry(b)
		warmCall := func() error {
			out, err := rt.Call(ctx, "greet", "world")
			if err == nil && out != "greet to world" {
				err = fmt.Errorf("greet returned %v", out)
			}
			return err
		}
		poolCall := func() error {
			out, err := p.Call(ctx, engine, greetWasm, reg, "greet", "world")
			if err == nil && out != "greet to world" {
				err = fmt.Errorf("greet returned %v", out)
			}
			return err
		}
		// Compile, instantiate and warm up both, untimed.
		for range overheadBlock {
			if err := errors.Join(warmCall(), poolCall()); err != nil {
				b.Fatal(err)
			}
		}
		block := func(call func() error) float64 {
			start := time.Now()
			for range overheadBlock {
				if err := call(); err != nil {
					b.Fatal(err)
				}
			}
			return float64(time.Since(start).Nanoseconds()) / overheadBlock
		}
		var warm, pooled, over []float64
		n := 0
		for b.Loop() {
			// Start the guests' heaps over now and then (see
			// keepStateResetEvery), outside the timed blocks.
			if n += overheadBlock; n >= keepStateResetEvery {
				n = 0
				err := p.Do(ctx, engine, greetWasm, reg, func(rt *runtime.Runtime) error { return rt.Reset(ctx) })
				if err = errors.Join(err, rt.Reset(ctx)); err != nil {
					b.Fatal(err)
				}
			}
			w, c := block(warmCall), block(poolCall)
			warm, pooled, over = append(warm, w), append(pooled, c), append(over, c-w)
		}
		b.ReportMetric(median(warm), "warm-ns")
		b.ReportMetric(median(pooled), "call-ns")
		b.ReportMetric(median(over), "overhead-ns")
	})
}

// overheadBlock is the greets per block of BenchmarkPooledCallOverhead.
const overheadBlock = 256

// median returns the median of v, which it sorts.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	return v[len(v)/2]
}

// greetRuntime is a runtime of the greet fixture on engine, outside any
// pool, closed when b ends.
func greetRuntime(b *testing.B, engine string) *runtime.Runtime {
	ctx := context.Background()
	rt, err := runtime.NewWithEngine(ctx, engine, greetWasm, greetRegistry(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = rt.Close(ctx) })
	return rt
}

// reportCPU reports cpu-ns/op, the process's CPU time (user + system) per
// op since cpu, which other processes on a loaded machine disturb less
// than the wall time (the garbage collector's work on other threads is
// counted too).
func reportCPU(b *testing.B, cpu int64) {
	if b.N > 0 && cpu > 0 {
		b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
	}
}

// BenchmarkFreshRuntimePerCall: compile + instantiate + greet + close, the
// cost without a pool.
func BenchmarkFreshRuntimePerCall(b *testing.B) {
	benchEngines(b, func(b *testing.B, engine string) {
		ctx := context.Background()
		reg := greetRegistry(b)
		for b.Loop() {
			rt, err := runtime.NewWithEngine(ctx, engine, greetWasm, reg)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := rt.Call(ctx, "greet", "world"); err != nil {
				b.Fatal(err)
			}
			rt.Close(ctx)
		}
	})
}

// BenchmarkReset restores a started instance of the greet fixture.
func BenchmarkReset(b *testing.B) {
	benchEngines(b, func(b *testing.B, engine string) {
		ctx := context.Background()
		rt := greetRuntime(b, engine)
		for b.Loop() {
			if err := rt.Reset(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkReinstantiate creates and closes an instance from a compiled
// module: what Reset must beat.
func BenchmarkReinstantiate(b *testing.B) {
	benchEngines(b, func(b *testing.B, engine string) {
		ctx := context.Background()
		m, err := runtime.CompileWithEngine(ctx, engine, greetWasm)
		if err != nil {
			b.Fatal(err)
		}
		defer m.Close(ctx)
		reg := greetRegistry(b)
		for b.Loop() {
			rt, err := m.Instantiate(ctx, reg)
			if err != nil {
				b.Fatal(err)
			}
			rt.Close(ctx)
		}
	})
}

// leaseGreet is one pooled call: lease, greet, put back.
func leaseGreet(ctx context.Context, p *pool.Pool, engine string, code []byte, reg *runtime.HostAPIRegistry) error {
	return leaseGreetN(ctx, p, engine, code, reg, 1)
}

// keepStateResetEvery: the AssemblyScript guests' heap is never freed, so
// an instance that keeps its state traps (out of memory) after about
// 500,000 greets; benchmarks that keep state reset the instance once every
// keepStateResetEvery calls, which adds well under 1 ns to a call.
const keepStateResetEvery = 1 << 16

// leaseGreetN is leaseGreet as the i-th call of a benchmark: the instance
// is reset before put back once every keepStateResetEvery calls.
func leaseGreetN(ctx context.Context, p *pool.Pool, engine string, code []byte, reg *runtime.HostAPIRegistry, i int64) error {
	l, err := p.Runtime(ctx, engine, code, reg)
	if err != nil {
		return err
	}
	_, err = l.Runtime.Call(ctx, "greet", "world")
	if err == nil && i%keepStateResetEvery == 0 {
		err = l.Runtime.Reset(ctx)
	}
	p.PutBack(l)
	return err
}

// BenchmarkPoolScaling: pooled greet (lease + one host callback + put
// back) from g goroutines sharing one pool, keeping state or resetting on
// put back. ns/op is wall time per call: the pool scales when g2's ns/op
// is about half g1's (calls/s is reported too).
func BenchmarkPoolScaling(b *testing.B) {
	benchEngines(b, func(b *testing.B, engine string) {
		for _, keep := range []bool{true, false} {
			name := "reset"
			var opts []pool.Option
			if keep {
				name = "keep"
				opts = append(opts, pool.WithKeepState())
			}
			b.Run(name, func(b *testing.B) {
				for _, g := range []int{1, 2} {
					b.Run(fmt.Sprintf("g%d", g), func(b *testing.B) {
						ctx := context.Background()
						p := pool.New(2*g, opts...)
						defer p.Close(ctx)
						reg := greetRegistry(b)
						// g idle instances, untimed.
						var ls []*pool.Lease
						for range g {
							l, err := p.Runtime(ctx, engine, greetWasm, reg)
							if err != nil {
								b.Fatal(err)
							}
							ls = append(ls, l)
						}
						for _, l := range ls {
							p.PutBack(l)
						}
						b.ReportAllocs()
						runParallel(b, g, func(i int64) error { return leaseGreetN(ctx, p, engine, greetWasm, reg, i) })
					})
				}
			})
		}
	})
}

// runParallel runs b.N calls of fn spread over g goroutines and reports
// calls/s.
func runParallel(b *testing.B, g int, fn func(i int64) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for range g {
		wg.Go(func() {
			for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
				if err := fn(i); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}

// BenchmarkPooledGreetFreshRegistry: a pooled greet with a registry built
// for the lease (a closure over the request), as a node serves requests.
// The registry's construction is part of the cost.
func BenchmarkPooledGreetFreshRegistry(b *testing.B) {
	benchEngines(b, func(b *testing.B, engine string) {
		ctx := context.Background()
		p := pool.New(4, pool.WithKeepState())
		defer p.Close(ctx)
		if err := leaseGreet(ctx, p, engine, greetWasm, greetRegistry(b)); err != nil { // compile, untimed
			b.Fatal(err)
		}
		b.ReportAllocs()
		var i int64
		for b.Loop() {
			i++
			if err := leaseGreetN(ctx, p, engine, greetWasm, greetRegistry(b), i); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkPooledGoGreet: pooled greet on the 3 MB Go guest go/echo.wasm,
// keeping state (the lease itself: its cost must not depend on the code's
// size) and resetting on put back, next to the same call on a warm
// instance.
func BenchmarkPooledGoGreet(b *testing.B) {
	code := fixtures.MustBytes("go/echo.wasm")
	wasiOpt := pool.WithRuntimeOptions(runtime.WithWASI(wasi.Config{}))
	benchEngines(b, func(b *testing.B, engine string) {
		ctx := context.Background()
		b.Run("keep", func(b *testing.B) {
			p := pool.New(2, pool.WithKeepState(), wasiOpt)
			defer p.Close(ctx)
			if err := leaseGreet(ctx, p, engine, code, nil); err != nil { // compile, untimed
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := leaseGreet(ctx, p, engine, code, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("reset", func(b *testing.B) {
			p := pool.New(2, wasiOpt)
			defer p.Close(ctx)
			if err := leaseGreet(ctx, p, engine, code, nil); err != nil { // compile, untimed
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := leaseGreet(ctx, p, engine, code, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("warm", func(b *testing.B) {
			rt, err := runtime.NewWithEngine(ctx, engine, code, nil, runtime.WithWASI(wasi.Config{}))
			if err != nil {
				b.Fatal(err)
			}
			defer rt.Close(ctx)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := rt.Call(ctx, "greet", "world"); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// BenchmarkLease: lease + put back with no call, keeping state: what the
// pool itself adds to a pooled call, through Runtime (code) and RuntimeFor
// (a compiled module).
func BenchmarkLease(b *testing.B) {
	benchEngines(b, func(b *testing.B, engine string) {
		ctx := context.Background()
		reg := greetRegistry(b)
		b.Run("code", func(b *testing.B) {
			p := pool.New(4, pool.WithKeepState())
			defer p.Close(ctx)
			if err := leaseGreet(ctx, p, engine, greetWasm, reg); err != nil { // compile, untimed
				b.Fatal(err)
			}
			b.ReportAllocs()
			cpu := processCPU()
			for b.Loop() {
				l, err := p.Runtime(ctx, engine, greetWasm, reg)
				if err != nil {
					b.Fatal(err)
				}
				p.PutBack(l)
			}
			reportCPU(b, cpu)
		})
		b.Run("do", func(b *testing.B) {
			p := pool.New(4, pool.WithKeepState())
			defer p.Close(ctx)
			if err := leaseGreet(ctx, p, engine, greetWasm, reg); err != nil { // compile, untimed
				b.Fatal(err)
			}
			b.ReportAllocs()
			nop := func(*runtime.Runtime) error { return nil }
			cpu := processCPU()
			for b.Loop() {
				if err := p.Do(ctx, engine, greetWasm, reg, nop); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu)
		})
		b.Run("module", func(b *testing.B) {
			m, err := runtime.CompileWithEngine(ctx, engine, greetWasm)
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close(ctx)
			p := pool.New(4, pool.WithKeepState())
			defer p.Close(ctx)
			b.ReportAllocs()
			cpu := processCPU()
			for b.Loop() {
				l, err := p.RuntimeFor(ctx, m, reg)
				if err != nil {
					b.Fatal(err)
				}
				p.PutBack(l)
			}
			reportCPU(b, cpu)
		})
	})
}
