package metering

import (
	"math"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero/api"
)

const sumToN = 100000

func benchCompute(b *testing.B, wasm []byte, name string, arg, want uint64) {
	run := func(b *testing.B, fn api.Function, gas api.MutableGlobal) {
		ctx := b.Context()
		for b.Loop() {
			if gas != nil {
				gas.Set(math.MaxInt64)
			}
			out, err := fn.Call(ctx, arg)
			if err != nil || out[0] != want {
				b.Fatal(out, err)
			}
		}
	}
	b.Run("unmetered", func(b *testing.B) {
		e := newEnv(b)
		run(b, e.instantiate(b, wasm).ExportedFunction(name), nil)
	})
	b.Run("metered", func(b *testing.B) {
		res, err := Instrument(wasm, Config{})
		require.NoError(b, err)
		e := newEnv(b)
		m := e.metered(b, res)
		run(b, m.mod.ExportedFunction(name), m.gas)
	})
	// interleaved alternates both calls in each iteration, so that load
	// changes on a shared machine affect both alike, and reports the median
	// time of each and their ratio.
	b.Run("interleaved", func(b *testing.B) {
		res, err := Instrument(wasm, Config{})
		require.NoError(b, err)
		e := newEnv(b)
		plain := e.instantiate(b, wasm).ExportedFunction(name)
		m := e.metered(b, res)
		fn := m.mod.ExportedFunction(name)
		ctx := b.Context()
		var tu, tm []float64
		for b.Loop() {
			t0 := time.Now()
			out, err := plain.Call(ctx, arg)
			t1 := time.Now()
			m.gas.Set(math.MaxInt64)
			t2 := time.Now()
			out2, err2 := fn.Call(ctx, arg)
			t3 := time.Now()
			if err != nil || err2 != nil || out[0] != want || out2[0] != want {
				b.Fatal(out, err, out2, err2)
			}
			tu = append(tu, float64(t1.Sub(t0)))
			tm = append(tm, float64(t3.Sub(t2)))
		}
		sort.Float64s(tu)
		sort.Float64s(tm)
		mu, mm := tu[len(tu)/2], tm[len(tm)/2]
		b.ReportMetric(mu, "unmetered-ns/call")
		b.ReportMetric(mm, "metered-ns/call")
		b.ReportMetric(mm/mu, "ratio")
	})
}

// BenchmarkSumTo compares raw.wasm's sum_to (a compute loop of sumToN
// iterations per op, about one machine cycle per iteration unmetered)
// unmetered and metered, on wazero.
func BenchmarkSumTo(b *testing.B) {
	raw := readFile(b, "../conformance/fixtures/wat/raw.wasm")
	benchCompute(b, raw, "sum_to", sumToN, sumToN*(sumToN+1)/2)
}

// BenchmarkHash compares a heavier compute loop (hashModule: an FNV-style
// hash over a memory buffer with a nested loop and a helper call per outer
// iteration) unmetered and metered.
func BenchmarkHash(b *testing.B) {
	wasm := hashModule()
	want := hashRef(hashRounds)
	benchCompute(b, wasm, "hash", hashRounds, want)
}

// BenchmarkInstrumentGo measures instrumenting a Go-built wasip1 module
// (about 2 MB).
func BenchmarkInstrumentGo(b *testing.B) {
	wasm := goModule(b)
	b.SetBytes(int64(len(wasm)))
	for b.Loop() {
		if _, err := Instrument(wasm, Config{}); err != nil {
			b.Fatal(err)
		}
	}
}
