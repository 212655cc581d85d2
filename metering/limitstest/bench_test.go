package limitstest

import (
	"context"
	"fmt"
	"math"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/metering"
	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// benchCalls is the number of calls of the small function per call of
// callsModule's export.
const benchCalls = 100000

// benchYieldInterval is the yield interval of the limitsYield variant:
// the runtime's default (runtime.DefaultYieldInterval).
const benchYieldInterval = 1 << 16

// instrumentations are the variants of a module compared by the
// benchmarks: uninstrumented, with the limits only, with the limits and
// yield checkpoints (as the runtime instruments unmetered modules for
// wazero and wasmer; the host's aspect.yield returns at once), and
// metered.
var instrumentations = []struct {
	name string
	cfg  *metering.Config
}{
	{"plain", nil},
	{"limitsOnly", &metering.Config{LimitsOnly: true}},
	{"limitsYield", &metering.Config{LimitsOnly: true, YieldInterval: benchYieldInterval}},
	{"metered", &metering.Config{}},
}

// prepared instantiates wasm on e, instrumented with cfg unless it is nil,
// and returns its export name, called with arg, ready for benchmarking.
func prepared(b *testing.B, e engine.Engine, wasm []byte, cfg *metering.Config, name string) func(arg uint64) uint64 {
	if cfg != nil {
		res, err := metering.Instrument(wasm, *cfg)
		require.NoError(b, err)
		wasm = res.Module
	}
	in := instantiate(b, compile(b, e, wasm))
	f := in.inst.Function(name)
	require.NotNil(b, f)
	stack := make([]uint64, 1)
	ctx := context.Background()
	return func(arg uint64) uint64 {
		if in.depth != nil {
			in.depth.Set(0)
		}
		if in.gas != nil {
			in.gas.Set(math.MaxInt64)
		}
		stack[0] = arg
		if err := f.Call(ctx, stack); err != nil {
			b.Fatal(err)
		}
		return stack[0]
	}
}

// BenchmarkLimitsOnlyCalls measures what the call-depth and stack check
// costs where it costs most, a loop of calls of a tiny function
// (callsModule, benchCalls calls per op), on every linked engine, in each
// variant of instrumentations. The interleaved
// variant alternates the three in every iteration, so that load on a
// shared machine affects them alike, and reports the median ns per inner
// call of each and the ratios to the uninstrumented module.
func BenchmarkLimitsOnlyCalls(b *testing.B) {
	benchVariants(b, callsModule(), "calls", benchCalls, benchCalls)
}

// BenchmarkLimitsOnlyRecursion is BenchmarkLimitsOnlyCalls on recursion of
// depth 500 with 10 values live across each call (recursionModule(10,
// inLocals)).
func BenchmarkLimitsOnlyRecursion(b *testing.B) {
	benchVariants(b, recursionModule(10, inLocals), "run", 500, 501)
}

func benchVariants(b *testing.B, wasm []byte, name string, arg uint64, callsPerOp float64) {
	for _, eng := range engines(b) {
		b.Run(eng, func(b *testing.B) {
			e := openEngine(b, eng)
			fs := make([]func(uint64) uint64, len(instrumentations))
			for i, v := range instrumentations {
				fs[i] = prepared(b, e, wasm, v.cfg, name)
			}
			want := fs[0](arg)
			for i, v := range instrumentations {
				b.Run(v.name, func(b *testing.B) {
					for b.Loop() {
						if got := fs[i](arg); got != want {
							b.Fatalf("got %d, want %d", got, want)
						}
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/callsPerOp, "ns/call")
				})
			}
			b.Run("interleaved", func(b *testing.B) {
				ts := make([][]float64, len(fs))
				for b.Loop() {
					for i, f := range fs {
						t0 := time.Now()
						f(arg)
						ts[i] = append(ts[i], float64(time.Since(t0).Nanoseconds())/callsPerOp)
					}
				}
				med := make([]float64, len(ts))
				for i := range ts {
					sort.Float64s(ts[i])
					med[i] = ts[i][len(ts[i])/2]
					b.ReportMetric(med[i], instrumentations[i].name+"-ns/call")
				}
				for i := 1; i < len(med); i++ {
					b.ReportMetric(med[i]/med[0], instrumentations[i].name+"/plain")
				}
			})
		})
	}
}

// TestInstrumentedSizes logs the size of the conformance fixtures and of
// the benchmark modules instrumented each way (go test -v -run
// InstrumentedSizes), the code-size side of the LimitsOnly overhead.
func TestInstrumentedSizes(t *testing.T) {
	files := map[string][]byte{"calls": callsModule(), "recursion-10": recursionModule(10, inLocals)}
	for _, f := range []string{"as/echo.wasm", "go/echo.wasm"} {
		b, err := os.ReadFile("../../conformance/fixtures/" + f)
		require.NoError(t, err)
		files[f] = b
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		wasm := files[n]
		line := fmt.Sprintf("%-14s plain %8d", n, len(wasm))
		for _, v := range instrumentations[1:] {
			res, err := metering.Instrument(wasm, *v.cfg)
			require.NoError(t, err)
			line += fmt.Sprintf("  %s %8d (+%.1f%%)", v.name, len(res.Module), 100*float64(len(res.Module)-len(wasm))/float64(len(wasm)))
		}
		t.Log(line)
	}
}

// loopPads is the number of placements of the loop's code that
// BenchmarkLimitsOnlyLoop runs (the pad argument of loopModule and
// mixModule).
const loopPads = 16

// BenchmarkLimitsOnlyLoop measures the checkpoints where they cost most, in
// loops, on every linked engine, in each variant of instrumentations:
// "sum", a loop of about one machine cycle per iteration (loopModule's
// sum_to, 100,000 iterations per op), and "mix", a xorshift64* loop of a
// few cycles (mixModule, 20,000 rounds per op). A loop that tight runs up
// to twice as fast or slow depending on where its code lands, which the
// instrumentation moves, so each variant runs at loopPads placements,
// interleaved: the benchmark reports, per variant, the geometric mean over
// the placements of the ratio of its median time per iteration to the
// uninstrumented module's at the same placement, and the smallest and
// largest such ratio.
func BenchmarkLimitsOnlyLoop(b *testing.B) {
	plainMix := func(n uint64) uint64 {
		x, acc := uint64(0x9e3779b97f4a7c15), uint64(0)
		for ; n > 0; n-- {
			x ^= x >> 12
			x ^= x << 25
			x ^= x >> 27
			acc = acc<<5 | acc>>59
			acc += x * 0x2545f4914f6cdd1d
		}
		return acc
	}
	for _, c := range []struct {
		name   string
		module func(pad int) []byte
		export string
		n      uint64
		want   uint64
	}{
		{"sum", loopModule, "sum_to", 100000, 100000 * 100001 / 2},
		{"mix", mixModule, "mix", 20000, plainMix(20000)},
	} {
		for _, eng := range engines(b) {
			b.Run(c.name+"/"+eng, func(b *testing.B) {
				benchLoop(b, eng, c.module, c.export, c.n, c.want)
			})
		}
	}
}

func benchLoop(b *testing.B, eng string, module func(pad int) []byte, export string, n, want uint64) {
	e := openEngine(b, eng)
	fs := make([][]func(uint64) uint64, len(instrumentations))
	for i, v := range instrumentations {
		for pad := range loopPads {
			fs[i] = append(fs[i], prepared(b, e, module(pad), v.cfg, export))
		}
	}
	ts := make([][][]float64, len(instrumentations))
	for i := range ts {
		ts[i] = make([][]float64, loopPads)
	}
	for b.Loop() {
		for pad := range loopPads {
			for i := range instrumentations {
				t0 := time.Now()
				if got := fs[i][pad](n); got != want {
					b.Fatalf("%s: %s(%d) = %d, want %d", instrumentations[i].name, export, n, got, want)
				}
				ts[i][pad] = append(ts[i][pad], float64(time.Since(t0).Nanoseconds())/float64(n))
			}
		}
	}
	median := func(v []float64) float64 {
		sort.Float64s(v)
		return v[len(v)/2]
	}
	base := make([]float64, loopPads)
	for pad := range loopPads {
		base[pad] = median(ts[0][pad])
	}
	b.ReportMetric(median(append([]float64(nil), base...)), "plain-ns/iter")
	for i := 1; i < len(instrumentations); i++ {
		logSum, lo, hi := 0.0, math.Inf(1), 0.0
		for pad := range loopPads {
			r := median(ts[i][pad]) / base[pad]
			logSum += math.Log(r)
			lo, hi = min(lo, r), max(hi, r)
		}
		name := instrumentations[i].name
		b.ReportMetric(math.Exp(logSum/loopPads), name+"/plain")
		b.ReportMetric(lo, name+"/plain-min")
		b.ReportMetric(hi, name+"/plain-max")
	}
}
