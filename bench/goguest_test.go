package bench

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/pool"
	"github.com/aspect-rt/aspect-runtime/runtime"
	"github.com/aspect-rt/aspect-runtime/wasi"
)

// The PooledGoGreet scenario: greet("world") of conformance/fixtures/go/
// echo.wasm, a 3 MB Go-built WASI reactor whose memory is megabytes, leased
// from a pool (reset on put back, or WithKeepState) and on one warm
// instance. What a pooled call costs beyond a call, for a real module.
// Variant "pool-warmup" resets on put back too, but its instances are
// warmed up by one greet before their post-start snapshot
// (runtime.WithWarmup): a Go guest does much of its runtime's work lazily
// on its first call, which a snapshot taken after start makes it redo after
// every reset.

var goEchoWasm = fixtures.MustBytes("go/echo.wasm")

const wantGoGreet = "hello, world"

// goGreetOpts are the runtime options of the Go guest: WASI (it imports
// wasi_snapshot_preview1 and exports _initialize).
func goGreetOpts() []runtime.Option { return []runtime.Option{runtime.WithWASI(wasi.Config{})} }

// goGreetState keeps the compiled Go guest, its warm instance and its
// pools across the -count runs of a benchmark process: compiling 3 MB
// takes seconds on some engines, once per engine is enough. They live as
// long as the benchmark process.
var goGreetState = struct {
	sync.Mutex
	warm  map[string]*runtime.Runtime
	pools map[string]*pool.Pool // engine + "/" + variant
}{warm: map[string]*runtime.Runtime{}, pools: map[string]*pool.Pool{}}

func goWarmRuntime(b *testing.B, eng string) *runtime.Runtime {
	goGreetState.Lock()
	defer goGreetState.Unlock()
	rt := goGreetState.warm[eng]
	if rt == nil {
		var err error
		if rt, err = runtime.NewWithEngine(bg, eng, goEchoWasm, nil, goGreetOpts()...); err != nil {
			b.Fatal(err)
		}
		goGreetState.warm[eng] = rt
	}
	return rt
}

func goPool(eng, variant string) *pool.Pool {
	goGreetState.Lock()
	defer goGreetState.Unlock()
	p := goGreetState.pools[eng+"/"+variant]
	if p == nil {
		rtOpts := goGreetOpts()
		if variant == "pool-warmup" {
			rtOpts = append(rtOpts, runtime.WithWarmup(goGreetWarmup))
		}
		opts := []pool.Option{pool.WithRuntimeOptions(rtOpts...)}
		if variant == "pool-keep-state" {
			opts = append(opts, pool.WithKeepState())
		}
		p = pool.New(4, opts...)
		goGreetState.pools[eng+"/"+variant] = p
	}
	return p
}

// goGreetWarmup warms an instance of the Go guest up with one greet (see
// runtime.WithWarmup).
func goGreetWarmup(ctx context.Context, rt *runtime.Runtime) error {
	return goGreetCtx(ctx, rt)
}

// goGreet calls greet("world") on rt and checks the answer.
func goGreet(rt *runtime.Runtime) error { return goGreetCtx(bg, rt) }

func goGreetCtx(ctx context.Context, rt *runtime.Runtime) error {
	out, err := rt.Call(ctx, "greet", "world")
	if err == nil && out != wantGoGreet {
		err = fmt.Errorf("greet returned %v, want %q", out, wantGoGreet)
	}
	return err
}

// pooledGoGreet is one pooled call of the Go guest: lease, greet, put back.
func pooledGoGreet(p *pool.Pool, eng string) error {
	l, err := p.Runtime(bg, eng, goEchoWasm, nil)
	if err != nil {
		return err
	}
	defer p.PutBack(l)
	return goGreet(l.Runtime)
}

// BenchmarkPooledGoGreet: lease + greet("world") + put back of
// go/echo.wasm through pool.Pool (reset on put back, the default, or
// WithKeepState, or reset on put back to a snapshot taken after one warm-up
// greet), and greet on one warm instance (Runtime.Call). The first
// lease of a pool (compile, instantiate) and the first call of the warm
// instance are untimed. Besides the wall time, each reports cpu-ns/op, the
// process's CPU time per op (user + system; 0 where it cannot be read),
// which other processes on a loaded machine disturb less.
func BenchmarkPooledGoGreet(b *testing.B) {
	forEachEngine(b, func(b *testing.B, eng string) {
		for _, variant := range []string{"pool", "pool-keep-state", "pool-warmup"} {
			b.Run(variant, func(b *testing.B) {
				p := goPool(eng, variant)
				warm(b, func() error { return pooledGoGreet(p, eng) })
				cpu := processCPU()
				for b.Loop() {
					if err := pooledGoGreet(p, eng); err != nil {
						b.Fatal(err)
					}
				}
				reportCPU(b, cpu)
			})
		}
		b.Run("warm", func(b *testing.B) {
			rt := goWarmRuntime(b, eng)
			warm(b, func() error { return goGreet(rt) })
			cpu := processCPU()
			for b.Loop() {
				if err := goGreet(rt); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu)
		})
	})
}

// reportCPU reports the process's CPU time per op since cpu (a
// processCPU reading taken before the loop) as cpu-ns/op.
func reportCPU(b *testing.B, cpu int64) {
	if b.N > 0 {
		b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
	}
}
