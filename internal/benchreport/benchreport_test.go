package benchreport

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const sampleDefault = `goos: linux
goarch: amd64
pkg: github.com/aspect-rt/aspect-runtime/bench
cpu: Intel(R) Xeon(R) CPU @ 2.20GHz   
BenchmarkNop/wasmtime/runtime-2         	 1000000	       120.0 ns/op
BenchmarkNop/wasmtime/runtime-2         	 1000000	       100.0 ns/op	       0 B/op	       0 allocs/op
BenchmarkNop/wasmtime/runtime-2         	 1000000	       110.0 ns/op
BenchmarkNop/wasmtime/baseline-2        	  500000	      2400 ns/op
BenchmarkNop/wasmtime/baseline-2        	  500000	      2600 ns/op
BenchmarkEcho64B/wasmtime/runtime-2     	  500000	       400.0 ns/op	 160.00 MB/s
BenchmarkEcho64B/wasmtime/baseline-2    	  100000	      4000 ns/op	  16.00 MB/s
BenchmarkPooledGreet/wasmtime/pool-2    	   50000	     25000 ns/op
BenchmarkReset/wasmtime/reset-2         	   50000	     10000 ns/op
BenchmarkReset/wasmtime/reinstantiate-2 	   50000	     20000 ns/op
BenchmarkIdleMemory/wasmtime/pool-2     	    1000	      9999 ns/op	   81920 B/instance	    2048 heapB/instance
BenchmarkThroughput/wasmtime/interleaved-2	      25	   8000000 ns/op	         0 1g-waited-%	         1.000 2g-waited-%	      5000 baseline-1g-ns/call	      2500 baseline-2g-ns/call	         2.000 baseline-scaling	         2.000 ideal-scaling	      1300 pool-1g-ns/call	       700.0 pool-2g-ns/call	         1.857 pool-scaling	        25.00 rounds
BenchmarkMeteredMix/wasmtime/metered-2  	    1000	    120000 ns/op	    400006 gas/op
BenchmarkMeteredMix/wasmtime/unmetered-2	    1000	    100000 ns/op
--- FAIL: BenchmarkStruct/wasmtime/runtime
    bench_test.go:1: boom
PASS
ok  	github.com/aspect-rt/aspect-runtime/bench	12.3s
pkg: github.com/aspect-rt/aspect-runtime/engines/wasmtime
BenchmarkAdd/adapter-2                  	 5000000	       150.0 ns/op
BenchmarkAdd/c-unchecked-per-cgo-call-2 	10000000	        60.0 ns/op
pkg: github.com/aspect-rt/aspect-runtime/runtime
BenchmarkColdStartGo/wasmtime/compile-2  	      10	  50000000 ns/op
BenchmarkColdStartGo/wasmtime/disk-cache-2	     100	   1000000 ns/op
`

const sampleWasmerFailed = `# github.com/aspect-rt/aspect-runtime/engines/wasmer
engines/wasmer/engine.go:10:2: undefined: foo
FAIL	github.com/aspect-rt/aspect-runtime/bench [build failed]
`

func sampleReport(t *testing.T) *Report {
	t.Helper()
	def, err := Parse(strings.NewReader(sampleDefault), "default")
	require.NoError(t, err)
	wasmer, err := Parse(strings.NewReader(sampleWasmerFailed), "wasmer")
	require.NoError(t, err)
	return &Report{
		Builds:  map[string]*Build{"default": def, "wasmer": wasmer},
		Machine: Machine{CPU: "Test CPU", Cores: 2, MemTotal: 24 << 30, GoVersion: "go1.26", OSArch: "linux/amd64"},
		Meta:    Meta{Elapsed: 9 * time.Minute, Invocation: "make bench"},
	}
}

func TestParse(t *testing.T) {
	b, err := Parse(strings.NewReader(sampleDefault), "default")
	require.NoError(t, err)
	assert.Equal(t, "Intel(R) Xeon(R) CPU @ 2.20GHz", b.CPU)
	assert.False(t, b.BuildFailed)

	nop := b.Lookup("bench", "BenchmarkNop/wasmtime/runtime")
	require.NotNil(t, nop, "the -GOMAXPROCS suffix is stripped")
	assert.Equal(t, []float64{120, 100, 110}, nop.Samples["ns/op"])
	assert.Equal(t, []float64{0}, nop.Samples["allocs/op"])

	echo := b.Lookup("bench", "BenchmarkEcho64B/wasmtime/runtime")
	require.NotNil(t, echo)
	assert.Equal(t, []float64{160}, echo.Samples["MB/s"])

	mem := b.Lookup("bench", "BenchmarkIdleMemory/wasmtime/pool")
	require.NotNil(t, mem)
	assert.Equal(t, []float64{81920}, mem.Samples["B/instance"])
	assert.Equal(t, []float64{2048}, mem.Samples["heapB/instance"])

	add := b.Lookup("engines/wasmtime", "BenchmarkAdd/c-unchecked-per-cgo-call")
	require.NotNil(t, add, "results are keyed by package")
	assert.Nil(t, b.Lookup("bench", "BenchmarkAdd/c-unchecked-per-cgo-call"))

	assert.Contains(t, b.Failures, "--- FAIL: BenchmarkStruct/wasmtime/runtime")
	assert.NotContains(t, strings.Join(b.Failures, "\n"), "ok  \t")

	failed, err := Parse(strings.NewReader(sampleWasmerFailed), "wasmer")
	require.NoError(t, err)
	assert.True(t, failed.BuildFailed)
	assert.Empty(t, failed.Results)
}

func TestParseIgnoresNonResults(t *testing.T) {
	b, err := Parse(strings.NewReader("BenchmarkLoneName-2\n    x_test.go:3: log line\nBenchmarkBad-2 x 1 ns/op\nBenchmarkOdd-2 10 5 ns/op extra\n"), "x")
	require.NoError(t, err)
	assert.Empty(t, b.Results)
}

func TestSummarize(t *testing.T) {
	st, ok := Summarize([]float64{120, 100, 110, 130, 90})
	require.True(t, ok)
	assert.Equal(t, 5, st.N)
	assert.InDelta(t, 110, st.Median, 1e-9)
	assert.InDelta(t, 90, st.Min, 1e-9)
	assert.InDelta(t, 130, st.Max, 1e-9)
	assert.InDelta(t, 94, st.P10, 1e-9)
	assert.InDelta(t, 126, st.P90, 1e-9)
	assert.InDelta(t, 16/110.0*100, st.Spread, 1e-9)

	st, ok = Summarize([]float64{4, 1, 3, 2})
	require.True(t, ok)
	assert.InDelta(t, 2.5, st.Median, 1e-9, "even count: mean of the middle two")

	_, ok = Summarize(nil)
	assert.False(t, ok)
	assert.Equal(t, "110 ns ±18%", FormatStats(Stats{N: 5, Median: 110, Spread: 18.2}, "ns/op"))
	assert.Equal(t, "25.0 µs", FormatStats(Stats{N: 1, Median: 25000}, "ns/op"))
}

func TestFormatValue(t *testing.T) {
	assert.Equal(t, "812 ns", FormatValue(812, "ns/op"))
	assert.Equal(t, "1.50 µs", FormatValue(1500, "ns/op"))
	assert.Equal(t, "12.3 ms", FormatValue(12.34e6, "ns/op"))
	assert.Equal(t, "2.00 s", FormatValue(2e9, "ns/op"))
	assert.Equal(t, "80.0 KiB", FormatValue(81920, "B/instance"))
	assert.Equal(t, "33.3 k/s", FormatValue(33333, "calls/s"))
	assert.Equal(t, "400006 gas", FormatValue(400006, "gas/op"))
	assert.Equal(t, "2.10 µs", FormatValue(2100, "pool-2g-ns/call"))
	assert.Equal(t, "1.9x", FormatValue(1.9, "pool-scaling"))
	assert.Equal(t, "2x", FormatValue(2, "ideal-scaling"))
	assert.Equal(t, "45.0%", FormatValue(45, "2g-waited-%"))
	assert.Equal(t, "30", FormatValue(30, "rounds"))
	assert.Equal(t, "0.21x", FormatRatio(0.2105))
	assert.Equal(t, "12.5x", FormatRatio(12.5))
}

func outcome(t *testing.T, rep *Report, issue int, engine, text string) Outcome {
	t.Helper()
	for _, o := range rep.Outcomes() {
		if o.Issue == issue && o.Engine == engine && strings.Contains(o.Text, text) {
			return o
		}
	}
	t.Fatalf("no target #%d %s %q", issue, engine, text)
	return Outcome{}
}

func TestTargets(t *testing.T) {
	rep := sampleReport(t)

	o := outcome(t, rep, 3, "wasmtime", "within 3x")
	assert.Equal(t, Pass, o.Status)
	assert.InDelta(t, 2.5, o.Ratio, 1e-9)

	o = outcome(t, rep, 3, "wasmtime", "5x faster")
	assert.Equal(t, Pass, o.Status, "4000 / 400 = 10x")
	assert.InDelta(t, 10, o.Ratio, 1e-9)

	o = outcome(t, rep, 5, "wasmtime", "20 µs")
	assert.Equal(t, Fail, o.Status)
	assert.InDelta(t, 1.25, o.Ratio, 1e-9)
	assert.Equal(t, "25% over the limit", o.Miss)

	o = outcome(t, rep, 5, "wasmtime", "quarter")
	assert.Equal(t, Fail, o.Status)
	assert.InDelta(t, 0.5, o.Ratio, 1e-9)
	assert.Equal(t, "2x the limit", o.Miss)

	o = outcome(t, rep, 5, "wasmtime", "disk-cache")
	assert.Equal(t, Pass, o.Status)
	assert.InDelta(t, 50, o.Ratio, 1e-9)

	o = outcome(t, rep, 7, "wasmtime", "1.3x")
	assert.Equal(t, Pass, o.Status)
	assert.InDelta(t, 1.2, o.Ratio, 1e-9)

	o = outcome(t, rep, 5, "wazero", "20 µs")
	assert.Equal(t, NotMeasured, o.Status, "wazero's build was not run")
	assert.Equal(t, "wazero: not run", o.Why)

	o = outcome(t, rep, 4, "wasmer", "add")
	assert.Equal(t, NotMeasured, o.Status)
	assert.Equal(t, "wasmer: not built", o.Why)

	o = outcome(t, rep, 7, "", "2 MB")
	assert.Equal(t, NotMeasured, o.Status, "no metering benchmark in the input: never invented")
	assert.Contains(t, o.Why, "BenchmarkInstrumentGo")

	o = outcome(t, rep, 8, "", "15 minutes")
	assert.Equal(t, Pass, o.Status)
	assert.InDelta(t, 0.6, o.Ratio, 1e-9)
}

func TestTrimZeros(t *testing.T) {
	assert.Equal(t, "1 µs", trimZeros("1.00 µs"))
	assert.Equal(t, "10 ns", trimZeros("10.0 ns"))
	assert.Equal(t, "100 ms", trimZeros("100 ms"))
	assert.Equal(t, "1.5 s", trimZeros("1.50 s"))
}

func TestMissBy(t *testing.T) {
	assert.Equal(t, "10% over the limit", missBy(1.1, AtMost, 1))
	assert.Equal(t, "4.08x the limit", missBy(1.02, AtMost, 0.25))
	assert.Equal(t, "2x short: 5x measured, 10x needed", missBy(5, AtLeast, 10))
	assert.Equal(t, "0.5% over the limit", missBy(1.005, AtMost, 1))
}

func TestEngineStatus(t *testing.T) {
	rep := sampleReport(t)
	assert.Equal(t, "", rep.EngineStatus("wasmtime"))
	assert.Equal(t, "not run", rep.EngineStatus("wazero"))
	assert.Equal(t, "not built", rep.EngineStatus("wasmer"))
}

func TestParseMeta(t *testing.T) {
	m, err := ParseMeta(strings.NewReader(`invocation make bench BENCH_COUNT=5
start 1700000000 7.10 6.00 5.00 3/400 123
build default 1700000001 7.20 6.10 5.10 2/400 124
cmd default go test -run '^$' -bench /wasmtime ./bench
cmd default go test -run '^$' -bench Add ./engines/wasmtime
note other engineers' tests were running
end 1700000540 2.00 3.00 4.00 1/400 125
`))
	require.NoError(t, err)
	assert.Equal(t, 540*time.Second, m.Elapsed)
	assert.Equal(t, "make bench BENCH_COUNT=5", m.Invocation)
	assert.Equal(t, []string{"go test -run '^$' -bench /wasmtime ./bench", "go test -run '^$' -bench Add ./engines/wasmtime"}, m.Commands["default"])
	require.Len(t, m.Load, 3)
	assert.Equal(t, LoadSample{When: "default", Load1: 7.2, Load5: 6.1, Load15: 5.1}, m.Load[1])
	assert.Equal(t, []string{"other engineers' tests were running"}, m.Notes)

	_, err = ParseMeta(strings.NewReader("start soon\n"))
	assert.Error(t, err)
}

func TestMachineParsing(t *testing.T) {
	model, n := parseCPUInfo("processor\t: 0\nmodel name\t: Test CPU 3000\n\nprocessor\t: 1\nmodel name\t: Test CPU 3000\n", 8)
	assert.Equal(t, "Test CPU 3000", model)
	assert.Equal(t, 2, n)
	assert.Equal(t, uint64(24<<30), parseMemInfo("MemTotal:       25165824 kB\nMemFree: 1 kB\n"))
}

func TestWriteReport(t *testing.T) {
	rep := sampleReport(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "BENCHMARKS.md")
	require.NoError(t, rep.WriteCharts(filepath.Join(dir, "docs", "bench"), out))
	if keep := os.Getenv("BENCHREPORT_KEEP"); keep != "" {
		t.Cleanup(func() { _ = os.CopyFS(keep, os.DirFS(dir)) })
	}
	var buf bytes.Buffer
	require.NoError(t, rep.Write(&buf))
	md := buf.String()

	assert.Contains(t, md, "| CPU | Test CPU; `go test` reports \"Intel(R) Xeon(R) CPU @ 2.20GHz\" |")
	assert.Contains(t, md, "| **wasmer** | **not built** |")
	assert.Contains(t, md, "| library: `runtime` API | 110 ns ±7% | not run | not built |")
	assert.Contains(t, md, "| **runtime / baseline** | **0.044x** | — | — |")
	assert.Contains(t, md, "**FAIL** — 25% over the limit")
	assert.Contains(t, md, "not measured yet: wasmer: not built")
	assert.Contains(t, md, "--- FAIL: BenchmarkStruct/wasmtime/runtime")
	assert.Contains(t, md, "![Library figures, engines side by side](docs/bench/engines.png)")

	for _, c := range rep.Charts {
		info, err := os.Stat(filepath.Join(dir, filepath.FromSlash(c.Path)))
		require.NoError(t, err, c.Path)
		assert.Greater(t, info.Size(), int64(1000), c.Path)
	}
}

// sampleWazeroPeers is a wazero build's output with the peers' packages
// (bench/peers) after the suite's.
const sampleWazeroPeers = `pkg: github.com/aspect-rt/aspect-runtime/bench
BenchmarkEcho64B/wazero/runtime-2               	 1000	       300.0 ns/op
BenchmarkEcho64B/wazero/baseline-2              	 1000	       250.0 ns/op
BenchmarkHostCallback/wazero/runtime-2          	 1000	      1000 ns/op
BenchmarkHostCallback/wazero/baseline-2         	 1000	       500.0 ns/op
BenchmarkPooledGreet/wazero/pool-2              	 1000	      2500 ns/op
BenchmarkPooledGreet/wazero/pool-keep-state-2   	 1000	      1500 ns/op
BenchmarkPooledGreet/wazero/pool-keep-state-call-2   	 1000	      1400 ns/op
BenchmarkPooledGoGreet/wazero/pool-2            	 1000	     30000 ns/op
BenchmarkPooledGoGreet/wazero/pool-warmup-2     	 1000	     12000 ns/op
BenchmarkPooledGoGreet/wazero/warm-2            	 1000	      5000 ns/op
BenchmarkThroughput/wazero/interleaved-2        	      30	   7000000 ns/op	         0.5000 1g-waited-%	         2.000 2g-waited-%	       300.0 baseline-1g-ns/call	       214.0 baseline-2g-ns/call	         1.400 baseline-scaling	         2.000 ideal-scaling	      4000 pool-1g-ns/call	      2100 pool-2g-ns/call	         1.900 pool-scaling	        30.00 rounds
BenchmarkThroughput/wazero/interleaved-2        	      30	   7000000 ns/op	         0 1g-waited-%	         1.000 2g-waited-%	       300.0 baseline-1g-ns/call	       200.0 baseline-2g-ns/call	         1.500 baseline-scaling	         2.000 ideal-scaling	      4000 pool-1g-ns/call	      2000 pool-2g-ns/call	         2.000 pool-scaling	        30.00 rounds
BenchmarkThroughput/wazero/interleaved-2        	      29	   7100000 ns/op	         0 1g-waited-%	         3.000 2g-waited-%	       320.0 baseline-1g-ns/call	       200.0 baseline-2g-ns/call	         1.600 baseline-scaling	         2.000 ideal-scaling	      4100 pool-1g-ns/call	      2000 pool-2g-ns/call	         2.040 pool-scaling	        29.00 rounds
pkg: github.com/aspect-rt/aspect-runtime/bench/peers/wapc
BenchmarkEcho64B/wazero/wapc-2                  	 1000	       400.0 ns/op
BenchmarkHostCallback/wazero/wapc-2             	 1000	       600.0 ns/op
BenchmarkPooledGreet/wazero/wapc-pool-2         	 1000	       700.0 ns/op
pkg: github.com/aspect-rt/aspect-runtime/bench/peers/extism
BenchmarkEcho64B/wazero/extism-2                	  100	     40000 ns/op
BenchmarkHostCallback/wazero/extism-2           	  100	     45000 ns/op
`

func TestPeersAndIssue14(t *testing.T) {
	wz, err := Parse(strings.NewReader(sampleWazeroPeers), "wazero")
	require.NoError(t, err)
	require.NotNil(t, wz.Lookup("bench/peers/wapc", "BenchmarkHostCallback/wazero/wapc"), "peer packages are keyed by their path under the module")
	rep := &Report{Builds: map[string]*Build{"wazero": wz}, Machine: Machine{Cores: 2}}

	for _, c := range []struct {
		engine, text string
		status       Status
		ratio        float64
	}{
		{"wazero", "host callback faster than wapc-go on wazero", Fail, 1000.0 / 600},
		{"wazero", "host callback faster than Extism", Pass, 1000.0 / 45000},
		{"wazero", "host callback within 1.5x", Fail, 2},
		{"wazero", "64-byte string echo faster than wapc-go on wazero", Pass, 0.75},
		{"wazero", "64-byte string echo faster than Extism", Pass, 300.0 / 40000},
		{"wazero", "64-byte string echo within 1.5x", Pass, 1.2},
		{"wazero", "faster than wapc-go's pool", Fail, 1400.0 / 700}, // Pool.Call's figure
		{"wazero", "pooled call (keep state) within 2x", Pass, 1.5},
		{"wazero", "reset on put back (the default) within 3x", Pass, 2.5},
		{"wazero", "3 MB Go guest", Fail, 6},
		{"wazero", "snapshot after one warm-up call", Pass, 2.4},
		{"wazero", "2 goroutines at least 1.6x", Pass, 2},
		{"wazero", "at least the hand-written baseline's", Pass, 2 / 1.5},
	} {
		o := outcome(t, rep, 14, c.engine, c.text)
		assert.Equal(t, c.status, o.Status, c.text)
		assert.InDelta(t, c.ratio, o.Ratio, 1e-9, c.text)
	}
	o := outcome(t, rep, 14, "wasmtime", "host callback faster than wapc-go's wasmtime engine")
	assert.Equal(t, NotMeasured, o.Status)
	assert.Equal(t, "wasmtime: not run", o.Why)

	// A run without the hand-written side (no baseline for the engine in
	// its build) leaves the comparison not measured.
	thr := wz.Lookup("bench", "BenchmarkThroughput/wazero/interleaved")
	require.NotNil(t, thr)
	baseScaling := thr.Samples["baseline-scaling"]
	delete(thr.Samples, "baseline-scaling")
	o = outcome(t, rep, 14, "wazero", "at least the hand-written baseline's")
	assert.Equal(t, NotMeasured, o.Status)
	assert.Equal(t, "BenchmarkThroughput/wazero/interleaved reported no baseline-scaling", o.Why)
	thr.Samples["baseline-scaling"] = baseScaling

	var buf bytes.Buffer
	require.NoError(t, rep.Write(&buf))
	md := buf.String()
	assert.Contains(t, md, "| peer: wapc-go v0.7.0 | not run | 600 ns | not run |")
	assert.Contains(t, md, "| peer: Extism Go SDK v1.7.1 | — | 45.0 µs | — |", "Extism runs on wazero only")
	assert.Contains(t, md, "| **runtime / wapc-go** | — | **1.67x** | — |")
	assert.Contains(t, md, "| **pool, WithKeepState / wapc-go pool** | — | **2.14x** | — |")
	assert.Contains(t, md, "| **pool / warm call** | — | **2.5x** | — |")
	assert.Contains(t, md, "| library: pool, reset to a warmed-up snapshot (`WithWarmup`) | not run | 12.0 µs | not run |")
	assert.Contains(t, md, "| **pool, WithWarmup / warm call** | — | **2.4x** | — |")
	assert.Contains(t, md, "| **pool scaling, 1 → 2 goroutines** | not run | 2x ±3% | not run |")
	assert.Contains(t, md, "| **pool scaling / hand-written scaling** | — | **1.33x** | — |")
	assert.Contains(t, md, "| pool scaling 2x / 1x | 2x (2-goroutine / 1-goroutine throughput) | ≥ 1.6x | **PASS** |")
	assert.Contains(t, md, "| pool scaling 2x / hand-written scaling 1.5x | 1.33x (pool scaling / hand-written scaling) | ≥ 1x | **PASS** |")
	assert.Contains(t, md, "### Pooled greet on a 3 MB Go guest")
}

// sampleIssue15 is the output of the benchmarks issue 15's figures come
// from, in the format go test writes custom metrics (b.ReportMetric):
// metering's code growth (default build only) and a wazero build's metered
// compute and compile times.
const sampleIssue15Default = `pkg: github.com/aspect-rt/aspect-runtime/metering
BenchmarkCodeGrowth/corpus-2         	       2	 129534314 ns/op	         1.700 x-code	         1.900 x-code-yield	133623440 B/op	   50400 allocs/op
BenchmarkCodeGrowth/corpus-2         	       2	 138364710 ns/op	         1.600 x-code	         1.800 x-code-yield	133623264 B/op	   50397 allocs/op
BenchmarkCodeGrowth/corpus-2         	       2	 136284724 ns/op	         1.800 x-code	         2.000 x-code-yield	133623192 B/op	   50397 allocs/op
BenchmarkCodeGrowth/as-echo-2        	      20	   5000000 ns/op	         1.750 x-code	         1.810 x-code-yield	    1000 B/op	      10 allocs/op
BenchmarkCodeGrowth/go-echo-2        	       5	  90000000 ns/op	         1.400 x-code	         1.500 x-code-yield	    1000 B/op	      10 allocs/op
`

const sampleIssue15Wazero = `pkg: github.com/aspect-rt/aspect-runtime/bench
BenchmarkMeteredSum/wazero/unmetered-2                  	    3352	     50000 ns/op	      16 B/op	       2 allocs/op
BenchmarkMeteredSum/wazero/metered-2                    	    3433	     60000 ns/op	   1300094 gas/op	      64 B/op	       5 allocs/op
BenchmarkMeteredSum/wazero/metered-deadline-2           	    3464	     70000 ns/op	   1300094 gas/op	      64 B/op	       5 allocs/op
BenchmarkMeteredSum/wazero/placements-2                 	     100	   1200000 ns/op	60000 deadline-ns/call	1.4 deadline/unmetered	55000 metered-ns/call	1.25 metered/unmetered	1.3 p0-deadline/unmetered	1.1 p0-metered/unmetered	1.4 p1-deadline/unmetered	1.2 p1-metered/unmetered	1.5 p2-deadline/unmetered	1.3 p2-metered/unmetered	1.6 p3-deadline/unmetered	1.5 p3-metered/unmetered	1.2 p4-deadline/unmetered	1 p4-metered/unmetered	1.45 p5-deadline/unmetered	1.25 p5-metered/unmetered	1.35 p6-deadline/unmetered	1.15 p6-metered/unmetered	1.5 p7-deadline/unmetered	1.35 p7-metered/unmetered	45000 unmetered-ns/call	     512 B/op	      15 allocs/op
BenchmarkMeteredSum/wazero/placements-2                 	     100	   1200000 ns/op	60000 deadline-ns/call	1.35 deadline/unmetered	55000 metered-ns/call	1.2 metered/unmetered	1.3 p0-deadline/unmetered	1.05 p0-metered/unmetered	1.4 p1-deadline/unmetered	1.15 p1-metered/unmetered	1.5 p2-deadline/unmetered	1.25 p2-metered/unmetered	1.6 p3-deadline/unmetered	1.45 p3-metered/unmetered	1.2 p4-deadline/unmetered	0.95 p4-metered/unmetered	1.45 p5-deadline/unmetered	1.2 p5-metered/unmetered	1.35 p6-deadline/unmetered	1.1 p6-metered/unmetered	1.5 p7-deadline/unmetered	1.3 p7-metered/unmetered	45000 unmetered-ns/call	     512 B/op	      15 allocs/op
BenchmarkMeteredSum/wazero/placements-2                 	     100	   1200000 ns/op	60000 deadline-ns/call	1.45 deadline/unmetered	55000 metered-ns/call	1.3 metered/unmetered	1.3 p0-deadline/unmetered	1.15 p0-metered/unmetered	1.4 p1-deadline/unmetered	1.25 p1-metered/unmetered	1.5 p2-deadline/unmetered	1.35 p2-metered/unmetered	1.6 p3-deadline/unmetered	1.55 p3-metered/unmetered	1.2 p4-deadline/unmetered	1.05 p4-metered/unmetered	1.45 p5-deadline/unmetered	1.3 p5-metered/unmetered	1.35 p6-deadline/unmetered	1.2 p6-metered/unmetered	1.5 p7-deadline/unmetered	1.4 p7-metered/unmetered	45000 unmetered-ns/call	     512 B/op	      15 allocs/op
pkg: github.com/aspect-rt/aspect-runtime/runtime
BenchmarkCompileMeteredGo/wazero/interleaved-2         	       1	2182902323 ns/op	1200000000 metered-ns/compile	         1.200 metered/original	 1000000000 original-ns/compile	   18168 B/op	     332 allocs/op
BenchmarkCompileMeteredGo/wazero/interleaved-2         	       1	2129953341 ns/op	1300000000 metered-ns/compile	         1.250 metered/original	 1040000000 original-ns/compile	   18168 B/op	     332 allocs/op
BenchmarkCompileMeteredGo/wazero/interleaved-2         	       1	2126088772 ns/op	1400000000 metered-ns/compile	         1.400 metered/original	 1000000000 original-ns/compile	   18168 B/op	     332 allocs/op
BenchmarkCompileMeteredAS/wazero/interleaved-2         	       8	  26687377 ns/op	  16000000 metered-ns/compile	         2.000 metered/original	   8000000 original-ns/compile	   14988 B/op	     231 allocs/op
`

func sampleIssue15(t *testing.T) *Report {
	t.Helper()
	def, err := Parse(strings.NewReader(sampleIssue15Default), "default")
	require.NoError(t, err)
	wz, err := Parse(strings.NewReader(sampleIssue15Wazero), "wazero")
	require.NoError(t, err)
	return &Report{Builds: map[string]*Build{"default": def, "wazero": wz}, Machine: Machine{Cores: 2}}
}

func TestParseCustomMetrics(t *testing.T) {
	rep := sampleIssue15(t)
	g := rep.Builds["default"].Lookup("metering", "BenchmarkCodeGrowth/corpus")
	require.NotNil(t, g)
	assert.Equal(t, []float64{1.7, 1.6, 1.8}, g.Samples["x-code"])
	assert.Equal(t, []float64{1.9, 1.8, 2.0}, g.Samples["x-code-yield"])
	assert.Equal(t, []float64{50400, 50397, 50397}, g.Samples["allocs/op"])

	c := rep.Builds["wazero"].Lookup("runtime", "BenchmarkCompileMeteredGo/wazero/interleaved")
	require.NotNil(t, c)
	assert.Equal(t, []float64{1.2, 1.25, 1.4}, c.Samples["metered/original"])
	assert.Equal(t, []float64{1e9, 1.04e9, 1e9}, c.Samples["original-ns/compile"])
	assert.Equal(t, []float64{1.2e9, 1.3e9, 1.4e9}, c.Samples["metered-ns/compile"])

	assert.Equal(t, "1.25x", FormatValue(1.25, "metered/original"))
	assert.Equal(t, "1.25x", FormatValue(1.25, "metered/unmetered"), "BenchmarkMeteredSum's placements ratios")
	assert.Equal(t, "1.31x", FormatValue(1.3125, "p3-deadline/unmetered"))
	assert.Equal(t, "45.0 µs", FormatValue(45000, "unmetered-ns/call"))
	assert.Equal(t, "3.33x", FormatValue(3.33, "x-code"))
	assert.Equal(t, "3.81x", FormatValue(3.806, "x-code-yield"))
	assert.Equal(t, "1.35 s", FormatValue(1.35e9, "metered-ns/compile"))
	assert.Equal(t, "772 ms", FormatValue(772e6, "original-ns/compile"))
	assert.Equal(t, "1.50 widgets", FormatValue(1.5, "widgets"), "an unknown unit is shown as is")
}

func TestIssue15Targets(t *testing.T) {
	rep := sampleIssue15(t)
	for _, c := range []struct {
		engine, text string
		status       Status
		ratio        float64
	}{
		{"", "median over the corpus, without yield checkpoints", Pass, 1.7},
		{"", "median over the corpus, with yield checkpoints", Fail, 1.9},
		{"", "`as/echo.wasm`, without yield checkpoints", Pass, 1.75},
		{"", "`as/echo.wasm`, with yield checkpoints", Fail, 1.81},
		{"", "`go/echo.wasm`, without yield checkpoints", Pass, 1.4},
		{"", "`go/echo.wasm`, with yield checkpoints", Pass, 1.5},
		{"wazero", "metered compute (worst case", Pass, 1.25},
		{"wazero", "metered compute with a context deadline", Fail, 1.4},
		{"wazero", "instrumented Go guest", Pass, 1.25},
	} {
		o := outcome(t, rep, 15, c.engine, c.text)
		assert.Equal(t, c.status, o.Status, c.text)
		assert.InDelta(t, c.ratio, o.Ratio, 1e-9, c.text)
	}
	o := outcome(t, rep, 15, "", "`go/echo.wasm`, with yield checkpoints")
	assert.Equal(t, 1.5, o.Limit, "go/echo's bound is tighter than the corpus'")
	o = outcome(t, rep, 15, "wasmtime", "instrumented Go guest")
	assert.Equal(t, NotMeasured, o.Status)
	assert.Contains(t, o.Why, "BenchmarkCompileMeteredGo/wasmtime/interleaved")
	o = outcome(t, rep, 15, "wasmer", "metered compute with a context deadline")
	assert.Equal(t, NotMeasured, o.Status)
	assert.Equal(t, "wasmer: not run", o.Why)

	// The worst-case targets are the geometric means over the loop's
	// placements that BenchmarkMeteredSum's placements variant reports (the
	// median of its runs), not the single-placement sum_to_abi rows
	// (metered / unmetered 60 / 50 µs, 1.2x).
	o = outcome(t, rep, 15, "wazero", "metered compute (worst case")
	assert.Contains(t, o.Text, "geometric mean over 8 loop placements")
	assert.Equal(t, "BenchmarkMeteredSum/wazero/placements", o.Num.Name)
	assert.Equal(t, "metered/unmetered", o.Num.Unit)
	o = outcome(t, rep, 15, "wasmtime", "metered compute (worst case")
	assert.Equal(t, NotMeasured, o.Status)
	assert.Contains(t, o.Why, "BenchmarkMeteredSum/wasmtime/placements")

	// The code growth benchmark is engine-independent: one run of it
	// answers its targets, wherever it ran; without it they are not
	// measured, never estimated.
	delete(rep.Builds, "default")
	o = outcome(t, rep, 15, "", "median over the corpus, without yield checkpoints")
	assert.Equal(t, NotMeasured, o.Status)
	assert.Contains(t, o.Why, "BenchmarkCodeGrowth/corpus")
}

func TestIssue15Tables(t *testing.T) {
	rep := sampleIssue15(t)
	var buf bytes.Buffer
	require.NoError(t, rep.Write(&buf))
	md := buf.String()

	assert.Contains(t, md, "### Code growth of metering instrumentation\n\n`BenchmarkCodeGrowth` (package `metering`).")
	assert.Contains(t, md, "| | all engines |\n|---|---|\n| corpus median, without yield checkpoints (wasmtime) | 1.7x ±5% |\n")
	assert.Contains(t, md, "| corpus median, with yield checkpoints (wazero, wasmer) | 1.9x ±4% |\n")
	assert.Contains(t, md, "| `as/echo.wasm`, with yield checkpoints | 1.81x |\n")
	assert.Contains(t, md, "| `go/echo.wasm`, without yield checkpoints | 1.4x |\n")

	assert.Contains(t, md, "### Compile time of the instrumented module vs the original")
	assert.Contains(t, md, "| Go guest: original | missing | 1.00 s ±2% | not run |\n")
	assert.Contains(t, md, "| Go guest: instrumented | missing | 1.30 s ±6% | not run |\n")
	assert.Contains(t, md, "| **Go guest: instrumented / original** | missing | 1.25x ±6% | not run |\n")
	assert.Contains(t, md, "| AS guest: original | missing | 8.00 ms | not run |\n")
	assert.Contains(t, md, "| **AS guest: instrumented / original** | missing | 2x | not run |\n")

	assert.Contains(t, md, "| #15 | code section growth of metering, median over the corpus, with yield checkpoints, at most 1.8x | — | instrumented 1.9x / original | 1.9x (instrumented / original code) | ≤ 1.8x | **FAIL** — 6% over the limit |")
	assert.Contains(t, md, "| #15 | compiling the instrumented Go guest (3 MB) at most 1.3x compiling the original | wazero | instrumented / original compile 1.25x / 1x | 1.25x (instrumented / original compile time) | ≤ 1.3x | **PASS** |")
	assert.Contains(t, md, "| #15 | metered compute with a context deadline (worst case: `sum_to_abi`'s loop, geometric mean over 8 loop placements) at most 1.3x slower than unmetered | wazero | metered with a deadline / unmetered 1.4x / 1x | 1.4x (metered with a deadline / unmetered, geometric mean over placements) | ≤ 1.3x | **FAIL** — 8% over the limit |")
	assert.Contains(t, md, "| #15 | metered compute (worst case: `sum_to_abi`'s loop, geometric mean over 8 loop placements) at most 1.3x slower than unmetered | wazero | metered / unmetered 1.25x / 1x | 1.25x (metered / unmetered, geometric mean over placements) | ≤ 1.3x | **PASS** |")

	// The worst-case table: the single-placement rows (sum_to_abi), then
	// the placements' geometric means and each placement's ratios.
	assert.Contains(t, md, "| `sum_to_abi` (one placement): unmetered | missing | 50.0 µs | not run |\n")
	assert.Contains(t, md, "| placements: unmetered (geometric mean) | missing | 45.0 µs ±0% | not run |\n")
	assert.Contains(t, md, "| **placements: metered / unmetered, geometric mean over 8** | missing | 1.25x ±3% | not run |\n")
	assert.Contains(t, md, "| **placements: metered with a deadline / unmetered, geometric mean over 8** | missing | 1.4x ±3% | not run |\n")
	assert.Contains(t, md, "| placement 3: metered / unmetered | missing | 1.5x ±3% | not run |\n")
	assert.Contains(t, md, "| placement 7: metered with a deadline / unmetered | missing | 1.5x ±0% | not run |\n")
	assert.Contains(t, md, "| **`sum_to_abi` (one placement): metered / unmetered** | — | **1.2x** | — |\n")
	assert.Contains(t, md, "run the same loop at 8 placements (exports `sum_to_abi_p0` … `sum_to_abi_p7`")
}

// sampleThroughput is BenchmarkThroughput's output (three -count runs) of
// each build: a clean wazero run, a wasmtime run on a busy machine whose
// hand-written scaling comes out a little above the ideal 2x, and a wasmer
// run whose hand-written scaling is far above it.
var sampleThroughput = map[string]string{
	"default": `pkg: github.com/aspect-rt/aspect-runtime/bench
BenchmarkThroughput/wasmtime/interleaved-2	      20	   9000000 ns/op	         1.000 1g-waited-%	        40.00 2g-waited-%	      5000 baseline-1g-ns/call	      2451 baseline-2g-ns/call	         2.040 baseline-scaling	         1.960 baseline-quiet-scaling	         4.000 baseline-quiet-rounds	         2.000 ideal-scaling	      1300 pool-1g-ns/call	       722.0 pool-2g-ns/call	         1.800 pool-scaling	         1.940 pool-quiet-scaling	         4.000 pool-quiet-rounds	        20.00 rounds
BenchmarkThroughput/wasmtime/interleaved-2	      20	   9000000 ns/op	         2.000 1g-waited-%	        45.00 2g-waited-%	      5000 baseline-1g-ns/call	      2427 baseline-2g-ns/call	         2.060 baseline-scaling	         1.980 baseline-quiet-scaling	         5.000 baseline-quiet-rounds	         2.000 ideal-scaling	      1300 pool-1g-ns/call	       703.0 pool-2g-ns/call	         1.850 pool-scaling	         1.950 pool-quiet-scaling	         5.000 pool-quiet-rounds	        20.00 rounds
BenchmarkThroughput/wasmtime/interleaved-2	      20	   9000000 ns/op	         3.000 1g-waited-%	        50.00 2g-waited-%	      5000 baseline-1g-ns/call	      2404 baseline-2g-ns/call	         2.080 baseline-scaling	         2.000 baseline-quiet-scaling	         6.000 baseline-quiet-rounds	         2.000 ideal-scaling	      1300 pool-1g-ns/call	       684.0 pool-2g-ns/call	         1.900 pool-scaling	         1.960 pool-quiet-scaling	         6.000 pool-quiet-rounds	        20.00 rounds
`,
	"wazero": `pkg: github.com/aspect-rt/aspect-runtime/bench
BenchmarkThroughput/wazero/interleaved-2	      30	   7000000 ns/op	         0 1g-waited-%	         1.000 2g-waited-%	       270.0 baseline-1g-ns/call	       150.0 baseline-2g-ns/call	         1.800 baseline-scaling	         2.000 ideal-scaling	       840.0 pool-1g-ns/call	       467.0 pool-2g-ns/call	         1.800 pool-scaling	        30.00 rounds
BenchmarkThroughput/wazero/interleaved-2	      30	   7000000 ns/op	         0 1g-waited-%	         2.000 2g-waited-%	       270.0 baseline-1g-ns/call	       147.0 baseline-2g-ns/call	         1.840 baseline-scaling	         2.000 ideal-scaling	       840.0 pool-1g-ns/call	       474.0 pool-2g-ns/call	         1.770 pool-scaling	        30.00 rounds
BenchmarkThroughput/wazero/interleaved-2	      30	   7000000 ns/op	         0 1g-waited-%	         1.000 2g-waited-%	       270.0 baseline-1g-ns/call	       145.0 baseline-2g-ns/call	         1.860 baseline-scaling	         2.000 ideal-scaling	       840.0 pool-1g-ns/call	       480.0 pool-2g-ns/call	         1.750 pool-scaling	        30.00 rounds
`,
	"wasmer": `pkg: github.com/aspect-rt/aspect-runtime/bench
BenchmarkThroughput/wasmer/interleaved-2	      15	  14000000 ns/op	         0 1g-waited-%	         1.000 2g-waited-%	      3000 baseline-1g-ns/call	      1364 baseline-2g-ns/call	         2.200 baseline-scaling	         2.000 ideal-scaling	      2400 pool-1g-ns/call	      1263 pool-2g-ns/call	         1.900 pool-scaling	        15.00 rounds
BenchmarkThroughput/wasmer/interleaved-2	      15	  14000000 ns/op	         0 1g-waited-%	         1.000 2g-waited-%	      3000 baseline-1g-ns/call	      1304 baseline-2g-ns/call	         2.300 baseline-scaling	         2.000 ideal-scaling	      2400 pool-1g-ns/call	      1263 pool-2g-ns/call	         1.900 pool-scaling	        15.00 rounds
BenchmarkThroughput/wasmer/interleaved-2	      15	  14000000 ns/op	         0 1g-waited-%	         1.000 2g-waited-%	      3000 baseline-1g-ns/call	      1250 baseline-2g-ns/call	         2.400 baseline-scaling	         2.000 ideal-scaling	      2400 pool-1g-ns/call	      1263 pool-2g-ns/call	         1.900 pool-scaling	        15.00 rounds
`,
}

func TestThroughputScaling(t *testing.T) {
	rep := &Report{Builds: map[string]*Build{}, Machine: Machine{Cores: 2}}
	for name, out := range sampleThroughput {
		b, err := Parse(strings.NewReader(out), name)
		require.NoError(t, err)
		rep.Builds[name] = b
	}
	const (
		atLeast16 = "2 goroutines at least 1.6x"
		vsHand    = "at least the hand-written baseline's"
	)

	// The figures are the medians of the runs' metrics: the scaling is the
	// run's own (the median of its rounds' ratios), never recomputed from the
	// medians of the times.
	o := outcome(t, rep, 14, "wazero", atLeast16)
	assert.Equal(t, Pass, o.Status)
	assert.InDelta(t, 1.77, o.Ratio, 1e-9)
	assert.Empty(t, o.Notes)
	o = outcome(t, rep, 14, "wazero", vsHand)
	assert.Equal(t, Fail, o.Status)
	assert.InDelta(t, 1.77/1.84, o.Ratio, 1e-9)
	assert.Equal(t, "1.04x short: 0.962x measured, 1x needed", o.Miss)
	assert.Empty(t, o.Notes)

	// On a busy machine (the threads waited for a CPU 45% of the time in the
	// 2-goroutine rounds) the outcome carries a caveat, and a figure a little
	// above the ideal 2x (within the tolerance) counts as 2x.
	o = outcome(t, rep, 14, "wasmtime", atLeast16)
	assert.Equal(t, Pass, o.Status)
	assert.InDelta(t, 1.85, o.Ratio, 1e-9)
	require.Len(t, o.Notes, 1)
	assert.Contains(t, o.Notes[0], "waited for a CPU 45.0% of the time")
	o = outcome(t, rep, 14, "wasmtime", vsHand)
	assert.Equal(t, Fail, o.Status)
	assert.InDelta(t, 2, o.DenValue, 1e-9, "2.06x counts as the ideal 2x")
	assert.InDelta(t, 1.85/2, o.Ratio, 1e-9)
	require.Len(t, o.Notes, 2)
	assert.Equal(t, "hand-written scaling measured 2.06x, above the 2x the run's CPUs allow by less than 5%: counted as 2x", o.Notes[1])

	// A scaling far above what two goroutines can do on two CPUs is noise:
	// the target is not judged either way.
	o = outcome(t, rep, 14, "wasmer", atLeast16)
	assert.Equal(t, Pass, o.Status)
	assert.InDelta(t, 1.9, o.Ratio, 1e-9)
	o = outcome(t, rep, 14, "wasmer", vsHand)
	assert.Equal(t, Implausible, o.Status)
	assert.Equal(t, "hand-written scaling 2.3x is above the 2x the run's CPUs allow (by more than 5%): noise, not a measurement", o.Why)

	var buf bytes.Buffer
	require.NoError(t, rep.Write(&buf))
	md := buf.String()
	assert.Contains(t, md, ": 3 pass, 2 fail, 58 not measured yet, 1 implausible (")
	assert.Contains(t, md, "| pool scaling 1.9x / hand-written scaling 2.3x | 0.826x (pool scaling / hand-written scaling) | ≥ 1x | **IMPLAUSIBLE**, not judged — hand-written scaling 2.3x is above the 2x the run's CPUs allow (by more than 5%): noise, not a measurement |")
	assert.Contains(t, md, "| pool scaling 1.85x / hand-written scaling 2x | 0.925x (pool scaling / hand-written scaling) | ≥ 1x | **FAIL** — 1.08x short: 0.925x measured, 1x needed ⚠ in the 2-goroutine rounds the goroutines' threads waited for a CPU 45.0% of the time (median): other work shared the cores, so the scalings are understated (the throughput table's quiet rows leave such rounds out) ⚠ hand-written scaling measured 2.06x, above the 2x the run's CPUs allow by less than 5%: counted as 2x |")
	// The throughput table: the wall times per call, the scalings (the
	// implausible one marked), the ideal, the waiting, and their ratios.
	assert.Contains(t, md, "| library: pool, 1 goroutine (wall time per call) | 1.30 µs ±0% | 840 ns ±0% | 2.40 µs ±0% |")
	assert.Contains(t, md, "| library: pool, 2 goroutines (wall time per call) | 703 ns ±2% | 474 ns ±1% | 1.26 µs ±0% |")
	assert.Contains(t, md, "| **hand-written scaling, 1 → 2 goroutines** | 2.06x ±1% | 1.84x ±1% | 2.3x ±3% ⚠ above the 2x the CPUs allow: noise |")
	assert.Contains(t, md, "| threads waiting for a CPU, 2-goroutine rounds | 45.0% ±9% | 1.00% ±40% | 1.00% ±0% |")
	assert.Contains(t, md, "| **pool scaling / hand-written scaling** | **0.898x** | **0.962x** | **0.826x** |")
	// The busy wasmtime run's quiet rounds: what the code does when the
	// machine lets it; runs without enough quiet rounds report none.
	assert.Contains(t, md, "| pool scaling, quiet rounds only | 1.95x ±0% | missing | missing |")
	assert.Contains(t, md, "| hand-written scaling, quiet rounds only | 1.98x ±1% | missing | missing |")
	assert.Contains(t, md, "| quiet rounds per run, pool | 5 ±16% | missing | missing |")
	assert.Contains(t, md, "| **same, quiet rounds only** | **0.985x** | — | — |")
}

// throughputRuns renders BenchmarkThroughput runs of engine eng's build
// with the given pool and hand-written scalings, one run per pair.
func throughputRuns(eng string, pool, hand []float64) string {
	var b strings.Builder
	b.WriteString("pkg: github.com/aspect-rt/aspect-runtime/bench\n")
	for i := range pool {
		fmt.Fprintf(&b, "BenchmarkThroughput/%s/interleaved-2\t20\t9000000 ns/op\t0 1g-waited-%%\t0 2g-waited-%%\t%g baseline-scaling\t2.000 ideal-scaling\t%g pool-scaling\t21.00 rounds\n", eng, hand[i], pool[i])
	}
	return b.String()
}

// TestScalingParity: the pool's scaling passes the "at least the
// hand-written baseline's" target at parity when its runs cannot be told
// from the baseline's (both near the ideal 2x), and fails when they differ
// significantly or when there are too few runs to tell.
func TestScalingParity(t *testing.T) {
	const vsHand = "at least the hand-written baseline's"
	report := func(eng string, pool, hand []float64) *Report {
		b, err := Parse(strings.NewReader(throughputRuns(eng, pool, hand)), eng) // wazero's and wasmer's builds are named for them
		require.NoError(t, err)
		return &Report{Builds: map[string]*Build{b.Name: b}, Machine: Machine{Cores: 2}}
	}
	// The wasmer runs of a real make bench (06f5c76): the pool's median
	// 0.5% below the baseline's, well inside either side's spread.
	pool := []float64{1.950, 1.969, 1.953, 1.942, 1.945, 1.966, 1.973, 1.976, 1.977, 1.973}
	hand := []float64{1.974, 1.899, 1.948, 1.990, 1.976, 1.996, 1.980, 1.945, 1.995, 1.995}
	rep := report("wasmer", pool, hand)
	o := outcome(t, rep, 14, "wasmer", vsHand)
	assert.Less(t, o.Ratio, 1.0)
	assert.Equal(t, Pass, o.Status)
	assert.Regexp(t, `^p=0\.\d+ n=10$`, o.Parity)
	var buf bytes.Buffer
	require.NoError(t, rep.Write(&buf))
	assert.Contains(t, buf.String(), "| 0.995x (pool scaling / hand-written scaling) | ≥ 1x | **PASS** at parity: the runs do not differ (Mann-Whitney U test, "+o.Parity+", α 0.05) |")
	// The plain 1.6x target is not a comparison of two figures: no parity.
	assert.Empty(t, outcome(t, rep, 14, "wasmer", "2 goroutines at least 1.6x").Parity)

	// A pool that scales 3% worse in every run: a real difference.
	worse := make([]float64, len(hand))
	for i, h := range hand {
		worse[i] = h * 0.97
	}
	o = outcome(t, report("wazero", worse, hand), 14, "wazero", vsHand)
	assert.Equal(t, Fail, o.Status)
	assert.Empty(t, o.Parity)

	// Runs above the ideal count as the ideal, as the medians do: a
	// baseline at 2.02-2.1 is a baseline at 2x, and a pool just below 2x
	// in every run is significantly below it.
	over := []float64{2.02, 2.05, 2.1, 2.03, 2.06, 2.04, 2.08, 2.02, 2.07, 2.09}
	below := []float64{1.99, 1.98, 1.995, 1.97, 1.99, 1.985, 1.98, 1.998, 1.99, 1.99}
	o = outcome(t, report("wazero", below, over), 14, "wazero", vsHand)
	assert.Equal(t, Fail, o.Status)
	assert.InDelta(t, 2, o.DenValue, 1e-9)
	assert.Empty(t, o.Parity)

	// Three runs a side can never differ at α 0.05 (the U test's least p
	// is 0.1): too few to call parity, so the miss stands.
	o = outcome(t, report("wazero", pool[:3], hand[3:6]), 14, "wazero", vsHand)
	assert.Equal(t, Fail, o.Status)
	assert.Empty(t, o.Parity)
}
