package runtime

import (
	"context"
	"fmt"
	goruntime "runtime"
	"strings"
	"syscall"
	"testing"
	"unsafe"

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
			for _, mode := range []string{"warm", "warm-untracked", "tracked", "full", "tracked-split", "full-split"} {
				b.Run(eng+"/"+c.name+"/"+mode, func(b *testing.B) {
					tracked := mode == "warm" || mode == "tracked" || mode == "tracked-split"
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
					reset := mode != "warm" && mode != "warm-untracked"
					split := strings.HasSuffix(mode, "-split")
					if split {
						goruntime.LockOSThread()
						defer goruntime.UnlockOSThread()
					}
					var callCPU, resetCPU int64
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
					cpu0, thread0 := cpuTime(), threadCPU()
					for b.Loop() {
						if _, err := rt.Call(ctx, c.method, c.arg); err != nil {
							b.Fatal(err)
						}
						var t1 int64
						if split {
							t1 = threadCPU()
						}
						if reset {
							if err := rt.Reset(ctx); err != nil {
								b.Fatal(err)
							}
						}
						if split {
							resetCPU += threadCPU() - t1
						}
					}
					b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
					if split {
						callCPU = threadCPU() - thread0 - resetCPU
						b.ReportMetric(float64(callCPU)/float64(b.N), "call-cpu-ns/op")
						b.ReportMetric(float64(resetCPU)/float64(b.N), "reset-cpu-ns/op")
					}
				})
			}
		}
	}
}

// threadCPU returns the CPU time the calling thread used so far (ns).
func threadCPU() int64 {
	var ts syscall.Timespec
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 3 /* CLOCK_THREAD_CPUTIME_ID */, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		return 0
	}
	return ts.Nano()
}

// cpuTime returns the CPU time the process used so far (ns).
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
