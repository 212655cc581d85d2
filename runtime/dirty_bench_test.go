package runtime

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/wasi"
)

// withTracking returns opts, with WithDirtyPageTracking if on.
func withTracking(on bool, opts []Option) []Option {
	if on {
		return append(append([]Option(nil), opts...), WithDirtyPageTracking())
	}
	return opts
}

// resetBench is one guest call the Reset benchmarks make.
type resetBench struct {
	name, fixture, method string
	arg                   any
	opts                  []Option
}

var resetBenches = []resetBench{
	{"go-greet", "go/echo.wasm", "greet", "world", []Option{WithWASI(wasi.Config{})}},
	{"as-echo64", "as/echo.wasm", "echo", strings.Repeat("x", 64), nil},
}

// BenchmarkReset measures a call followed by Reset, with the dirty pages
// tracked (tracked) or the whole memory compared (full), against the same
// call on a warm instance (warm, warm-untracked: the cost tracking adds to
// calls), for the Go guest (3 MB) and AssemblyScript, on every engine.
// Compare them as ratios within one run; cpu-ns/op is the process's CPU
// time per op (user + system), which a loaded machine disturbs less than
// the wall time.
func BenchmarkReset(b *testing.B) {
	ctx := context.Background()
	modules := map[string]*Module{}
	defer func() {
		for _, m := range modules {
			m.Close(ctx)
		}
	}()
	for _, eng := range Engines() {
		for _, c := range resetBenches {
			for _, mode := range []string{"warm", "warm-untracked", "tracked", "full"} {
				b.Run(eng+"/"+c.name+"/"+mode, func(b *testing.B) {
					tracked := mode == "warm" || mode == "tracked"
					key := fmt.Sprint(eng, c.fixture, tracked)
					m := modules[key]
					if m == nil {
						var err error
						m, err = CompileWithEngine(ctx, eng, fixtures.MustBytes(c.fixture), withTracking(tracked, c.opts)...)
						if err != nil {
							b.Fatal(err)
						}
						modules[key] = m
					}
					rt, err := m.Instantiate(ctx, nil, c.opts...)
					if err != nil {
						b.Fatal(err)
					}
					defer rt.Close(ctx)
					reset := mode == "tracked" || mode == "full"
					if reset {
						// The first Reset turns snapshots on.
						if err := rt.Reset(ctx); err != nil {
							b.Fatal(err)
						}
						if rt.snap == nil {
							b.Fatal("no snapshot")
						}
						if tracked != (rt.dirty != nil) {
							b.Fatalf("%s: dirty tracking %v", mode, rt.dirty != nil)
						}
					}
					cpu0 := cpuTime()
					for b.Loop() {
						if _, err := rt.Call(ctx, c.method, c.arg); err != nil {
							b.Fatal(err)
						}
						if reset {
							if err := rt.Reset(ctx); err != nil {
								b.Fatal(err)
							}
						}
					}
					b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
				})
			}
		}
	}
}

// cpuTime returns the CPU time the process used so far (ns).
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
