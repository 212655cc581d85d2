package bench

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

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
// (runtime.WithWarmup): work a Go guest does lazily on its first call is
// otherwise redone after every reset (for greet, since the guest library
// warms the Go allocator up at start, only the arena map's table: 23,940
// gas against 21,891 on a warm instance; 45,548 before).

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

// BenchmarkPooledGoGreetParts splits a pooled greet of go/echo.wasm (reset
// on put back) into its parts, each timed (wall) within one op. "tracked"
// (code with dirty-page tracking, as the pool compiles it): greet-ns (a
// greet after a reset), reset-ns (Runtime.Reset after it) and lease-ns (a
// lease and its put back from a keep-state pool: what the pool adds beyond
// the reset). "untracked": greet-ns of code without the tracking, after a
// reset (a whole-memory compare, untimed, which leaves the caches colder
// than a tracked reset does, so it overstates the greet). "tracked-warm"
// and "untracked-warm": greet-ns on a warm instance, never reset; their
// difference is what the tracking adds to a call.
func BenchmarkPooledGoGreetParts(b *testing.B) {
	forEachEngine(b, func(b *testing.B, eng string) {
		for _, variant := range []string{"tracked", "untracked", "tracked-warm", "untracked-warm"} {
			b.Run(variant, func(b *testing.B) {
				opts := goGreetOpts()
				if strings.HasPrefix(variant, "tracked") {
					opts = append(opts, runtime.WithDirtyPageTracking())
				}
				reset := !strings.HasSuffix(variant, "-warm")
				rt, err := runtime.NewWithEngine(bg, eng, goEchoWasm, nil, opts...)
				if err != nil {
					b.Fatal(err)
				}
				defer rt.Close(bg)
				p := goPool(eng, "pool-keep-state")
				warm(b, func() error { return pooledGoGreet(p, eng) })
				for range 3 {
					if err := rt.Reset(bg); err != nil {
						b.Fatal(err)
					}
					warm(b, func() error { return goGreet(rt) })
				}
				if err := rt.Reset(bg); err != nil {
					b.Fatal(err)
				}
				var greet, resetting, lease time.Duration
				for b.Loop() {
					t0 := time.Now()
					if err := goGreet(rt); err != nil {
						b.Fatal(err)
					}
					t1 := time.Now()
					if reset {
						if err := rt.Reset(bg); err != nil {
							b.Fatal(err)
						}
					}
					t2 := time.Now()
					if variant == "tracked" {
						l, err := p.Runtime(bg, eng, goEchoWasm, nil)
						if err != nil {
							b.Fatal(err)
						}
						p.PutBack(l)
					}
					t3 := time.Now()
					greet += t1.Sub(t0)
					resetting += t2.Sub(t1)
					lease += t3.Sub(t2)
				}
				n := float64(b.N)
				b.ReportMetric(float64(greet)/n, "greet-ns")
				if variant == "tracked" {
					b.ReportMetric(float64(resetting)/n, "reset-ns")
					b.ReportMetric(float64(lease)/n, "lease-ns")
				}
			})
		}
	})
}
