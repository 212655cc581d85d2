package runtime

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/metering"
	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// BenchmarkCompileMeteredGo and BenchmarkCompileMeteredAS measure what
// metering costs at compile time: on every linked engine, compiling a
// guest as is ("original") and instrumented as runtime.WithMetering
// instruments it ("metered": metering.Instrument with default costs, and
// yield checkpoints every DefaultYieldInterval gas on an engine without
// native interruption). The instrumentation itself is done once, outside
// the timed loop. "interleaved" compiles both in every iteration, so that
// load on a shared machine affects them alike, and reports the median time
// of each and metered/original, the figure issue 15 bounds (at most 1.3x
// for the Go guest).
func BenchmarkCompileMeteredGo(b *testing.B) {
	benchCompileMetered(b, fixtures.MustBytes("go/echo.wasm"))
}

// BenchmarkCompileMeteredAS: see BenchmarkCompileMeteredGo, for the 19 KB
// AssemblyScript echo.
func BenchmarkCompileMeteredAS(b *testing.B) {
	benchCompileMetered(b, fixtures.MustBytes("as/echo.wasm"))
}

func benchCompileMetered(b *testing.B, code []byte) {
	ctx := context.Background()
	for _, name := range Engines() {
		drv, _ := engine.Lookup(name)
		eng, err := drv.Open(engine.Config{})
		if err != nil {
			b.Fatal(err)
		}
		cfg := metering.Config{}
		if !eng.Capabilities().Interrupt {
			cfg.YieldInterval = DefaultYieldInterval
		}
		eng.Close(ctx)
		res, err := metering.Instrument(code, cfg)
		if err != nil {
			b.Fatal(err)
		}
		// compile compiles wasm on a fresh engine (no cache of any kind)
		// and returns how long Compile took.
		compile := func(b *testing.B, wasm []byte) time.Duration {
			eng, err := drv.Open(engine.Config{})
			if err != nil {
				b.Fatal(err)
			}
			defer eng.Close(ctx)
			start := time.Now()
			m, err := eng.Compile(ctx, wasm, engine.CompileConfig{})
			d := time.Since(start)
			if err != nil {
				b.Fatal(err)
			}
			m.Close(ctx)
			return d
		}
		b.Run(name+"/original", func(b *testing.B) {
			b.SetBytes(int64(len(code)))
			for b.Loop() {
				compile(b, code)
			}
		})
		b.Run(name+"/metered", func(b *testing.B) {
			b.SetBytes(int64(len(res.Module)))
			for b.Loop() {
				compile(b, res.Module)
			}
		})
		b.Run(name+"/interleaved", func(b *testing.B) {
			var to, tm []float64
			for b.Loop() {
				to = append(to, float64(compile(b, code)))
				tm = append(tm, float64(compile(b, res.Module)))
			}
			mo, mm := medianOf(to), medianOf(tm)
			b.ReportMetric(mo, "original-ns/compile")
			b.ReportMetric(mm, "metered-ns/compile")
			b.ReportMetric(mm/mo, "metered/original")
		})
	}
}

func medianOf(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}
