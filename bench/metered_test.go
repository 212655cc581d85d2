package bench

import (
	"context"
	"fmt"
	"math"
	"math/bits"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/metering"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

// Metered compute through the runtime: wat/compute.wasm's ABI exports
// (an encoded Int64 in, an encoded Int64 out), called with Runtime.Call on
// the module as is (unmetered) and instrumented with runtime.WithMetering
// (metered: every call limited by the Meter of its context; on engines
// without native interruption the module also has yield checkpoints).
// metered-deadline adds a deadline to the context, which the checkpoints
// (wazero, wasmer) or the engine (wasmtime) watch.
//
//	BenchmarkMeteredSum   sum_to_abi(100000): a loop of about one machine
//	                      cycle per iteration, the worst case for metering;
//	                      and placements: the same loop at sumPlacements
//	                      places in the code (sum_to_abi_p0 …), unmetered,
//	                      metered and metered with a deadline in interleaved
//	                      rounds, reporting per placement metered over
//	                      unmetered and their geometric mean (issue 15's
//	                      figure)
//	BenchmarkMeteredMix   mix_abi(20000): a xorshift64* loop (shifts, xors,
//	                      a multiplication, a rotation per round), a more
//	                      typical compute kernel

var computeWasm = fixtures.MustBytes("wat/compute.wasm")

// mixN is the argument of mix_abi in BenchmarkMeteredMix.
const mixN = 20000

// mixRef is mix_abi(n) computed in Go.
func mixRef(n int64) int64 {
	x, acc := uint64(0x9e3779b97f4a7c15), uint64(0)
	for ; n > 0; n-- {
		x ^= x >> 12
		x ^= x << 25
		x ^= x >> 27
		acc = bits.RotateLeft64(acc, 5) + x*0x2545f4914f6cdd1d
	}
	return int64(acc)
}

// sumPlacements is the number of copies of sum_to_abi in wat/compute.wasm
// (sum_to_abi_p0 … sum_to_abi_p7): the same loop, each after a different
// amount of straight-line code (run once per call), so that the loop's
// machine code starts at a different offset within a 64-byte cache line.
const sumPlacements = 8

// BenchmarkMeteredSum measures metering's worst case, a loop of about one
// machine cycle per iteration, on every engine. Its single-placement
// variants (unmetered, metered, metered-deadline) call sum_to_abi. A loop
// that tight runs up to 1.5x faster or slower depending on where its ~40
// bytes of machine code land relative to cache lines and 32-byte fetch
// windows, which metering moves (it changes the code before the loop and
// the loop itself), so one placement measures placement luck as much as
// metering. placements runs the loop at sumPlacements placements instead,
// unmetered, metered and metered with a deadline, all interleaved in every
// round (so that load on a shared machine hits them alike): per placement
// it reports the median time per call of each (pN-unmetered-ns/call, …)
// and metered / unmetered (pN-metered/unmetered, pN-deadline/unmetered, the
// medians' ratio), and over the placements the geometric means of the
// times and of the ratios (metered/unmetered, deadline/unmetered: the
// figures issue 15 bounds).
func BenchmarkMeteredSum(b *testing.B) {
	forEachEngine(b, func(b *testing.B, eng string) {
		benchMeteredABI(b, eng, "sum_to_abi", sumN, sumN*(sumN+1)/2)
		b.Run("placements", func(b *testing.B) { benchSumPlacements(b, eng) })
	})
}

// BenchmarkMeteredMix: mix_abi(mixN) unmetered, metered and metered with a
// deadline on every engine.
func BenchmarkMeteredMix(b *testing.B) {
	forEachEngine(b, func(b *testing.B, eng string) {
		benchMeteredABI(b, eng, "mix_abi", mixN, mixRef(mixN))
	})
}

// sumPlacement is the export of sum_to_abi's loop at placement p.
func sumPlacement(p int) string { return fmt.Sprintf("sum_to_abi_p%d", p) }

// benchSumPlacements is BenchmarkMeteredSum's placements variant on eng.
func benchSumPlacements(b *testing.B, eng string) {
	const n, want = sumN, sumN * (sumN + 1) / 2
	deadline, cancel := context.WithTimeout(runtime.WithMeter(bg, runtime.NewMeter(math.MaxUint64)), time.Hour)
	defer cancel()
	sides := []struct {
		name string
		ctx  context.Context
		rt   *runtime.Runtime
	}{
		{"unmetered", bg, newComputeRuntime(b, eng, false)},
		{"metered", runtime.WithMeter(bg, runtime.NewMeter(math.MaxUint64)), newComputeRuntime(b, eng, true)},
		{"deadline", deadline, newComputeRuntime(b, eng, true)},
	}
	call := func(s, p int) {
		got, err := runtime.CallAs[int64](sides[s].ctx, sides[s].rt, sumPlacement(p), n)
		if err == nil && got != want {
			err = fmt.Errorf("%s(%d) = %d, want %d", sumPlacement(p), n, got, want)
		}
		if err != nil {
			b.Fatalf("%s: %v", sides[s].name, err)
		}
	}
	// ts[s][p] are the times of side s's calls at placement p, in ns.
	ts := make([][][]float64, len(sides))
	for s := range sides {
		ts[s] = make([][]float64, sumPlacements)
		for p := range sumPlacements {
			call(s, p)
		}
	}
	round := 0
	for b.Loop() {
		// Every round calls every side at every placement once, the sides
		// in forward order in even rounds and in reverse in odd ones.
		for p := range sumPlacements {
			for i := range sides {
				s := i
				if round%2 == 1 {
					s = len(sides) - 1 - i
				}
				t0 := time.Now()
				call(s, p)
				ts[s][p] = append(ts[s][p], float64(time.Since(t0).Nanoseconds()))
			}
		}
		round++
	}
	logT := make([]float64, len(sides))
	logR := make([]float64, len(sides))
	for p := range sumPlacements {
		base := median(ts[0][p])
		for s := range sides {
			med := median(ts[s][p])
			logT[s] += math.Log(med)
			b.ReportMetric(med, fmt.Sprintf("p%d-%s-ns/call", p, sides[s].name))
			if s > 0 {
				r := med / base
				logR[s] += math.Log(r)
				b.ReportMetric(r, fmt.Sprintf("p%d-%s/unmetered", p, sides[s].name))
			}
		}
	}
	for s := range sides {
		b.ReportMetric(math.Exp(logT[s]/sumPlacements), sides[s].name+"-ns/call")
		if s > 0 {
			b.ReportMetric(math.Exp(logR[s]/sumPlacements), sides[s].name+"/unmetered")
		}
	}
}

// newComputeRuntime instantiates wat/compute.wasm on eng, metered or not.
func newComputeRuntime(tb testing.TB, eng string, metered bool) *runtime.Runtime {
	tb.Helper()
	var opts []runtime.Option
	if metered {
		opts = append(opts, runtime.WithMetering(metering.Config{}))
	}
	rt, err := runtime.NewWithEngine(bg, eng, computeWasm, nil, opts...)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = rt.Close(bg) })
	return rt
}

// benchMeteredABI runs export(n) on eng unmetered, metered and metered with a
// deadline, each a sub-benchmark of b.
func benchMeteredABI(b *testing.B, eng, export string, n, want int64) {
	run := func(b *testing.B, ctx context.Context, rt *runtime.Runtime, m *runtime.Meter) {
		call := func() error {
			got, err := runtime.CallAs[int64](ctx, rt, export, n)
			if err == nil && got != want {
				err = fmt.Errorf("%s(%d) = %d, want %d", export, n, got, want)
			}
			return err
		}
		warm(b, call)
		var before uint64
		if m != nil {
			before = m.Used()
		}
		for b.Loop() {
			if err := call(); err != nil {
				b.Fatal(err)
			}
		}
		if m != nil {
			b.ReportMetric(float64(m.Used()-before)/float64(b.N), "gas/op")
		}
	}
	b.Run("unmetered", func(b *testing.B) {
		run(b, bg, newComputeRuntime(b, eng, false), nil)
	})
	b.Run("metered", func(b *testing.B) {
		m := runtime.NewMeter(math.MaxUint64)
		run(b, runtime.WithMeter(bg, m), newComputeRuntime(b, eng, true), m)
	})
	b.Run("metered-deadline", func(b *testing.B) {
		m := runtime.NewMeter(math.MaxUint64)
		ctx, cancel := context.WithTimeout(runtime.WithMeter(bg, m), time.Hour)
		defer cancel()
		run(b, ctx, newComputeRuntime(b, eng, true), m)
	})
}

// TestMeteredCompute checks the MeteredSum and MeteredMix scenarios' setup
// on every engine: the same results metered or not (at every placement of
// sum_to_abi's loop too), the same gas on every engine.
func TestMeteredCompute(t *testing.T) {
	gas := map[string]uint64{}
	for _, eng := range runtime.Engines() {
		plain := newComputeRuntime(t, eng, false)
		metered := newComputeRuntime(t, eng, true)
		type computeCase struct {
			export  string
			n, want int64
		}
		cases := []computeCase{{"sum_to_abi", 1000, 1000 * 1001 / 2}, {"sum_to_abi", 0, 0}, {"mix_abi", 1000, mixRef(1000)}, {"mix_abi", 0, 0}}
		for p := range sumPlacements {
			cases = append(cases, computeCase{sumPlacement(p), 1000, 1000 * 1001 / 2}, computeCase{sumPlacement(p), -5, 0})
		}
		for _, c := range cases {
			got, err := runtime.CallAs[int64](bg, plain, c.export, c.n)
			require.NoError(t, err)
			require.Equal(t, c.want, got, "%s %s(%d)", eng, c.export, c.n)
			m := runtime.NewMeter(1 << 40)
			got, err = runtime.CallAs[int64](runtime.WithMeter(bg, m), metered, c.export, c.n)
			require.NoError(t, err)
			require.Equal(t, c.want, got, "%s metered %s(%d)", eng, c.export, c.n)
			key := fmt.Sprintf("%s(%d)", c.export, c.n)
			if prev, ok := gas[key]; ok {
				require.Equal(t, prev, m.Used(), "%s: gas of %s differs between engines", eng, key)
			}
			gas[key] = m.Used()
		}
	}
}
