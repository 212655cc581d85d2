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

// instrumentations are the variants of a module compared by the
// benchmarks: uninstrumented, with the limits only, and metered.
var instrumentations = []struct {
	name string
	cfg  *metering.Config
}{
	{"plain", nil},
	{"limitsOnly", &metering.Config{LimitsOnly: true}},
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
// (callsModule, benchCalls calls per op), on every linked engine:
// uninstrumented, with Config.LimitsOnly and metered. The interleaved
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
