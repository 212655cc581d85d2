package runtime

import (
	"bytes"
	"context"
	"fmt"
	"math/bits"
	goruntime "runtime"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/metering"
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

// BenchmarkGreetAfterReset splits the first greet of the Go guest after a
// reset from the reset (only the greet is timed, greet-ns), to tell the
// Go runtime's lazy first-call work from what the dirty-page tracking adds
// to it: "tracked" (code with the tracking, Runtime.Reset), "untracked"
// (code without it, reset by writing back only the pages a greet of a
// tracked instance dirtied, and the globals: a Runtime.Reset of untracked
// code compares the whole 3 MB memory, which leaves the caches colder
// than a tracked reset does and so overstates the greet after it), and
// "warm-tracked" and "warm-untracked" (a greet on an instance never
// reset). untracked / warm-untracked is the lazy work's own cost, close to
// its gas (23,940 against 21,891 since the guest library warms the Go
// allocator at start, 45,548 before); tracked / untracked what the
// tracking adds to it. Compare them as ratios within one run.
func BenchmarkGreetAfterReset(b *testing.B) {
	ctx := context.Background()
	code := fixtures.MustBytes("go/echo.wasm")
	opts := []Option{WithWASI(wasi.Config{})}
	for _, eng := range Engines() {
		modules := map[bool]*Module{}
		for _, tracked := range []bool{false, true} {
			m, err := CompileWithEngine(ctx, eng, code, withTracking(tracked, opts)...)
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close(ctx)
			modules[tracked] = m
		}
		pages := greetDirtyPages(b, modules[true], opts)
		for _, mode := range []string{"tracked", "untracked", "warm-tracked", "warm-untracked"} {
			b.Run(eng+"/"+mode, func(b *testing.B) {
				tracked := strings.HasSuffix(mode, "-tracked") || mode == "tracked"
				reset := !strings.HasPrefix(mode, "warm")
				rt, err := modules[tracked].Instantiate(ctx, nil, opts...)
				if err != nil {
					b.Fatal(err)
				}
				defer rt.Close(ctx)
				if err := rt.Reset(ctx); err != nil { // turns snapshots on
					b.Fatal(err)
				}
				greet := func() {
					if _, err := rt.Call(ctx, "greet", "world"); err != nil {
						b.Fatal(err)
					}
				}
				restore := func() {
					if tracked {
						if err := rt.Reset(ctx); err != nil {
							b.Fatal(err)
						}
						return
					}
					restorePages(b, rt, pages)
				}
				if reset {
					// The untracked restore must be exact, or the next
					// greet is not a first one.
					greet()
					restore()
					if cur, _ := rt.mem.Read(0, rt.mem.Size()); !bytes.Equal(cur, rt.snap.mem) {
						b.Fatal("the memory differs from the snapshot after the restore")
					}
				} else {
					greet()
				}
				var timed time.Duration
				for b.Loop() {
					t0 := time.Now()
					greet()
					timed += time.Since(t0)
					if reset {
						restore()
					}
				}
				b.ReportMetric(float64(timed)/float64(b.N), "greet-ns")
			})
		}
	}
}

// greetDirtyPages returns the 4 KiB pages one greet of an instance of m
// (code with dirty-page tracking) dirties after a reset, as the bitmaps
// record them.
func greetDirtyPages(b *testing.B, m *Module, opts []Option) []int {
	ctx := context.Background()
	rt, err := m.Instantiate(ctx, nil, opts...)
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close(ctx)
	if err := rt.Reset(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := rt.Call(ctx, "greet", "world"); err != nil {
		b.Fatal(err)
	}
	d := rt.dirty
	if d == nil || d.words[0] == nil {
		b.Fatal("no dirty-page bitmap")
	}
	var pages []int
	size := int(rt.mem.Size())
	for w := range metering.DirtyWords {
		word := d.words[w].Get() | d.host[w]
		for ; word != 0; word &= word - 1 {
			for q := w*64 + bits.TrailingZeros64(word); q<<metering.DirtyPageShift < size; q += metering.DirtyBits {
				pages = append(pages, q)
			}
		}
	}
	return pages
}

// restorePages writes the snapshot's pages back into rt's memory (and the
// straddle bytes after each), and its globals and WASI descriptors.
func restorePages(b *testing.B, rt *Runtime, pages []int) {
	s := rt.snap
	for _, q := range pages {
		start := q << metering.DirtyPageShift
		end := min(start+1<<metering.DirtyPageShift+straddle, len(s.mem))
		if !rt.mem.Write(uint32(start), s.mem[start:end]) {
			b.Fatal("write failed")
		}
	}
	for i, g := range s.globals {
		g.Set(s.values[i])
	}
	if s.wasi != nil {
		rt.wasi.host.RestoreDescriptors(s.wasi)
	}
}
