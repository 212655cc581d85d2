//go:build wasmer && cgo

package wasmer

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/engines/wasmer/internal/cmalloc"
	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// The leak tests. Each runs a loop in a child process (the test binary
// re-executed with -test.run selecting the one test), so that nothing else
// the package's tests do disturbs the child's resident set size: a warm-up,
// a measurement, the loop, another measurement. Before each measurement the
// child collects garbage and returns the free Go heap to the operating
// system (debug.FreeOSMemory) and trims the C heap (malloc_trim), so that
// what remains is what is still allocated. The child runs with a single
// malloc arena (MALLOC_ARENA_MAX=1): otherwise every thread that happens to
// make a cgo call gets an arena of its own, whose free but fragmented pages
// raise the resident set size by a few MiB over the first 50,000 cycles
// before it levels off, while the C heap in use stays flat. The parent fails
// the test unless the two measurements are within maxRSSGrowth of each
// other; it logs the C and Go heap in use too, which tell a leak (the C
// heap grows) from allocator noise.

// maxRSSGrowth is how far the resident set size may move over a loop.
const maxRSSGrowth = 2 << 20

const (
	// leakChildEnv names the test a child process runs the loop of.
	leakChildEnv = "ASPECT_WASMER_LEAK_CHILD"
	// leakMarker starts the line on which a child reports its measurements.
	leakMarker = "ASPECT-WASMER-LEAK "
	// leakChildTimeout bounds a child process.
	leakChildTimeout = 10 * time.Minute
)

// LeakLoop is a loop whose memory must stay flat (see CheckFlat). It is
// exported for the tests of package wasmer_test, which drive the adapter
// through the runtime.
type LeakLoop struct {
	// Warmup and Cycles are how many cycles run before the first
	// measurement and between the two.
	Warmup, Cycles int
	// Setup runs in the child process and returns one cycle. It may
	// register cleanups with t; they run after the measurements.
	Setup func(t *testing.T) (cycle func())
}

// leakSample is one measurement in the child, in bytes.
type leakSample struct {
	rss, cHeap, goHeap uint64
}

// rss returns the resident set size of the process, 0 if unknown.
func rss() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

// settle frees what can be freed and measures.
func settle() leakSample {
	var ms runtime.MemStats
	for range 2 {
		runtime.GC()
		debug.FreeOSMemory()
		cmalloc.Trim()
	}
	runtime.ReadMemStats(&ms)
	c, _ := cmalloc.InUse()
	return leakSample{rss: rss(), cHeap: c, goHeap: ms.HeapInuse}
}

// CheckFlat runs l in a child process and fails t unless the resident set
// size after l.Cycles cycles is within maxRSSGrowth of the one after
// l.Warmup cycles. In the child process (the same test, re-executed), it
// runs the loop and reports the measurements instead.
func CheckFlat(t *testing.T, l LeakLoop) {
	t.Helper()
	if os.Getenv(leakChildEnv) == t.Name() {
		runLeakChild(t, l)
		return
	}
	if testing.Short() {
		t.Skip("slow: runs a loop of thousands of cycles in a child process")
	}
	if rss() == 0 {
		t.Skip("no /proc/self/statm: cannot measure the resident set size")
	}
	var run []string
	for _, part := range strings.Split(t.Name(), "/") {
		run = append(run, "^"+regexp.QuoteMeta(part)+"$")
	}
	cmd := exec.Command(os.Args[0],
		"-test.run="+strings.Join(run, "/"),
		"-test.count=1",
		"-test.timeout="+leakChildTimeout.String(),
	)
	cmd.Env = append(os.Environ(), leakChildEnv+"="+t.Name(), "MALLOC_ARENA_MAX=1")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the child process failed: %v\n%s", err, out)
	}
	before, after, ok := parseLeakReport(string(out))
	if !ok {
		t.Fatalf("the child process reported no measurements:\n%s", out)
	}
	mib := func(b uint64) float64 { return float64(b) / (1 << 20) }
	growth := float64(after.rss) - float64(before.rss)
	t.Logf("%d cycles in %s: RSS %.2f -> %.2f MiB (%+.2f MiB); C heap in use %.2f -> %.2f MiB; Go heap in use %.2f -> %.2f MiB",
		l.Cycles, time.Since(start).Round(time.Millisecond), mib(before.rss), mib(after.rss), growth/(1<<20),
		mib(before.cHeap), mib(after.cHeap), mib(before.goHeap), mib(after.goHeap))
	assert.LessOrEqual(t, math.Abs(growth), float64(maxRSSGrowth),
		"RSS moved by %+.2f MiB over %d cycles, more than %d MiB", growth/(1<<20), l.Cycles, maxRSSGrowth>>20)
}

// runLeakChild runs the loop and prints the measurements on stdout.
func runLeakChild(t *testing.T, l LeakLoop) {
	cycle := l.Setup(t)
	for range l.Warmup {
		cycle()
	}
	before := settle()
	for range l.Cycles {
		cycle()
	}
	after := settle()
	fmt.Printf("%s%d %d %d %d %d %d\n", leakMarker,
		before.rss, after.rss, before.cHeap, after.cHeap, before.goHeap, after.goHeap)
}

// parseLeakReport finds the child's measurements in its output.
func parseLeakReport(out string) (before, after leakSample, ok bool) {
	s := bufio.NewScanner(strings.NewReader(out))
	for s.Scan() {
		line, found := strings.CutPrefix(s.Text(), leakMarker)
		if !found {
			continue
		}
		var v [6]uint64
		if n, err := fmt.Sscan(line, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]); n != 6 || err != nil {
			return before, after, false
		}
		return leakSample{v[0], v[2], v[4]}, leakSample{v[1], v[3], v[5]}, true
	}
	return before, after, false
}

// TestCompileCloseNoLeak checks that closing a module releases everything
// compiling it took: its compiled code (wasmer 2.0.0 frees code only with
// the engine that compiled it, so each module has an engine of its own),
// and the import and export types the adapter reads (whose names and
// function types wasmer's destructors leave allocated; see
// aspect_wr_importtype_vec_delete in shim.c). The two modules import and
// export every kind of extern and value type. Without the fixes, RSS grows
// by about 40 MiB over these 2,000 cycles.
func TestCompileCloseNoLeak(t *testing.T) {
	CheckFlat(t, LeakLoop{Warmup: 1500, Cycles: 2000, Setup: func(t *testing.T) func() {
		e := openEngine(t)
		codes := [][]byte{wat(t, hostWAT), wat(t, rawWAT), wat(t, importsWAT)}
		return func() {
			for _, code := range codes {
				m, err := e.Compile(bg, code, engine.CompileConfig{})
				require.NoError(t, err)
				require.NotEmpty(t, m.Exports())
				require.NoError(t, m.Close(bg))
			}
		}
	}})
}

// TestInstantiateCloseNoLeak checks that Close releases every C object of
// an instance (its store, host functions and their environments, export
// vector, function descriptors and their types, the traps of its calls),
// and that the module's engine does not keep a record of every instance
// ever made (the module moves to a new engine now and then; see
// generation.go). Without the fixes, RSS grows by about 15 MiB over these
// 50,000 cycles.
func TestInstantiateCloseNoLeak(t *testing.T) {
	CheckFlat(t, LeakLoop{Warmup: 5000, Cycles: 50000, Setup: func(t *testing.T) func() {
		e := openEngine(t)
		m := compile(t, e, hostWAT, engine.CompileConfig{})
		raw := compile(t, e, rawWAT, engine.CompileConfig{})
		host := hostFuncs(func(_ context.Context, _ engine.Caller, s []uint64) error { s[0]++; return nil },
			func(context.Context, engine.Caller, []uint64) error { return assert.AnError }, nil, nil, nil)
		return func() {
			in, err := m.Instantiate(bg, host, engine.InstanceConfig{})
			require.NoError(t, err)
			stack := []uint64{1}
			require.NoError(t, in.Function("call_double").Call(bg, stack))
			require.ErrorIs(t, in.Function("call_fail").Call(bg, stack), assert.AnError)
			require.True(t, in.Memory().Write(0, []byte("x")))
			require.NoError(t, in.Close(bg))

			rin, err := raw.Instantiate(bg, nil, engine.InstanceConfig{})
			require.NoError(t, err)
			require.NotNil(t, rin.Global("g_i64"))
			require.NoError(t, rin.Function("nop").Call(bg, nil))
			require.NoError(t, rin.Close(bg))
		}
	}})
}

// TestHostCallNoLeak checks the adapter's fix of wasmer 2.0's leak of the
// param and result vectors of every host call (see host_callback in
// shim.c), and that calls and traps on a long-lived instance leave nothing
// behind: without the fix, the 400,000 host calls leak about 60 MiB.
func TestHostCallNoLeak(t *testing.T) {
	CheckFlat(t, LeakLoop{Warmup: 20000, Cycles: 200000, Setup: func(t *testing.T) func() {
		e := openEngine(t)
		in := instantiate(t, compile(t, e, hostWAT, engine.CompileConfig{}), hostFuncs(
			func(_ context.Context, _ engine.Caller, s []uint64) error { s[0]++; return nil }, nil, nil,
			func(_ context.Context, _ engine.Caller, s []uint64) error { return nil }, nil))
		traps := instantiate(t, compile(t, e, trapsWAT, engine.CompileConfig{}), nil)
		double, mixed, unreachable := in.Function("call_double"), in.Function("call_mixed"), traps.Function("unreachable")
		stack := make([]uint64, 5)
		n := 0
		return func() {
			require.NoError(t, double.Call(bg, stack))
			require.NoError(t, mixed.Call(bg, stack))
			if n++; n%16 == 0 {
				var trap *engine.Trap
				require.ErrorAs(t, unreachable.Call(bg, nil), &trap)
			}
		}
	}})
}

// TestDeserializeCloseNoLeak: a module loaded from serialized code (the
// disk cache's path) releases its code on Close, as a compiled one does
// (it used to stay in the engine's shared wasm engine: +24 MiB over these
// 2,000 cycles).
func TestDeserializeCloseNoLeak(t *testing.T) {
	CheckFlat(t, LeakLoop{Warmup: 300, Cycles: 2000, Setup: func(t *testing.T) func() {
		e := openEngine(t)
		ser, ok := e.(engine.Serializer)
		require.True(t, ok)
		m, err := e.Compile(bg, fixtures.MustBytes("as/greet.wasm"), engine.CompileConfig{})
		require.NoError(t, err)
		data, err := ser.Serialize(m)
		require.NoError(t, err)
		require.NoError(t, m.Close(bg))
		return func() {
			m, err := ser.Deserialize(bg, data, engine.CompileConfig{})
			require.NoError(t, err)
			require.NotEmpty(t, m.Exports())
			require.NoError(t, m.Close(bg))
		}
	}})
}
