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
//	                      cycle per iteration, the worst case for metering
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

func BenchmarkMeteredSum(b *testing.B) {
	benchMeteredABI(b, "sum_to_abi", sumN, sumN*(sumN+1)/2)
}

func BenchmarkMeteredMix(b *testing.B) {
	benchMeteredABI(b, "mix_abi", mixN, mixRef(mixN))
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

func benchMeteredABI(b *testing.B, export string, n, want int64) {
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
	forEachEngine(b, func(b *testing.B, eng string) {
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
	})
}

// TestMeteredCompute checks the MeteredSum and MeteredMix scenarios' setup
// on every engine: the same results metered or not, the same gas on every
// engine.
func TestMeteredCompute(t *testing.T) {
	gas := map[string]uint64{}
	for _, eng := range runtime.Engines() {
		plain := newComputeRuntime(t, eng, false)
		metered := newComputeRuntime(t, eng, true)
		for _, c := range []struct {
			export  string
			n, want int64
		}{{"sum_to_abi", 1000, 1000 * 1001 / 2}, {"sum_to_abi", 0, 0}, {"mix_abi", 1000, mixRef(1000)}, {"mix_abi", 0, 0}} {
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
