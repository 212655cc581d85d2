package benchreport

import (
	"fmt"
	"math"
	"strings"

	"golang.org/x/perf/benchmath"
)

// Ref is one side of a target's ratio: the median of a benchmark figure, or
// a constant (an absolute limit).
type Ref struct {
	// Pkg, Name and Unit locate the figure (Unit defaults to ns/op).
	Pkg, Name, Unit string
	// Engine selects the build the figure is taken from (its HomeBuild
	// first); empty for engine-independent benchmarks.
	Engine string
	// Const is used instead of a benchmark when Name is empty.
	Const float64
	// Label names the figure in the report.
	Label string
	// Meta names a figure of the run itself instead of a benchmark:
	// "elapsed" (the seconds make bench took).
	Meta string
	// Ceiling, when set, is the most the figure can physically be (e.g. a
	// 1 → 2 goroutine scaling: 2x, or less with fewer CPUs). A median above
	// it by more than CeilingTolerance is noise, and the target is not
	// judged (Implausible); one above it by less counts as the ceiling.
	Ceiling *Ref
}

// CeilingTolerance is how far above its Ref.Ceiling a median may be and
// still count (as the ceiling) rather than make a target Implausible: the
// run-to-run noise of a ratio of two medians on a shared machine.
const CeilingTolerance = 0.05

// Caveat is a condition of the run that makes a target's figures less
// telling, noted beside its outcome when Ref's median is above Above.
type Caveat struct {
	Ref   Ref
	Above float64
	// Text is the note, a format with one %s verb for the figure.
	Text string
}

// Op is a target's comparison.
type Op string

// The comparisons: the measured ratio must be at most, or at least, the
// limit.
const (
	AtMost  Op = "≤"
	AtLeast Op = "≥"
)

// Target is one performance target of an issue, as a ratio Num / Den
// compared with Limit.
type Target struct {
	// Issue is the issue number stating the target.
	Issue int
	// Text is the target as the issue states it.
	Text string
	// Engine is the engine it applies to ("" for none in particular).
	Engine   string
	Num, Den Ref
	Op       Op
	Limit    float64
	// RatioName says what the ratio is, e.g. "adapter / C API".
	RatioName string
	// Caveats are noted beside the outcome when they apply.
	Caveats []Caveat
	// Parity is for a target comparing two figures of the same kind with a
	// limit of 1 ("at least the baseline's"): a miss the runs cannot tell
	// from noise passes at parity. The -count runs of Num and Den (each
	// capped at its Ceiling, as its median is) are compared with the
	// Mann-Whitney U test, as benchstat compares benchmarks; the miss
	// counts only when they differ at ParityAlpha. With too few runs to
	// show any difference at that level, a miss fails.
	Parity bool
}

// ParityAlpha is the significance level of a Target's Parity test:
// benchstat's default.
const ParityAlpha = 0.05

// Status is the outcome of a target.
type Status string

// Outcomes of a target.
const (
	Pass        Status = "PASS"
	Fail        Status = "FAIL"
	NotMeasured Status = "not measured yet"
	// Implausible: a figure is beyond what the machine can physically do
	// (see Ref.Ceiling), so the run's noise, not the code, decided it.
	Implausible Status = "implausible"
)

// Outcome is an evaluated target.
type Outcome struct {
	Target
	Status Status
	// Num and Den are the medians used (when measured).
	NumValue, DenValue float64
	Ratio              float64
	// Miss says by how much a failed target is missed.
	Miss string
	// Why says why a target is not measured, or implausible.
	Why string
	// Parity, when a target passed at parity (see Target.Parity), is the
	// comparison of its runs, e.g. "p=0.191 n=10".
	Parity string
	// Notes are the caveats that apply, and figures counted as their
	// ceiling.
	Notes []string
}

func bench(engine, name string) Ref {
	return Ref{Pkg: "bench", Name: name, Engine: engine}
}

// peer is the figure of a peer's benchmark (package bench/peers/...).
func peer(pkg, engine, name, label string) Ref {
	return Ref{Pkg: pkg, Name: name, Engine: engine, Label: label}
}

// issue14 are the targets of issue 14: the hot paths (host callback, small
// echo, pooled calls) ahead of the other Go plugin libraries and near the
// engine's floor, and a pool that scales.
func issue14(all []string) []Target {
	var ts []Target
	for _, sc := range []struct{ bench, what string }{
		{"BenchmarkHostCallback", "host callback"},
		{"BenchmarkEcho64B", "64-byte string echo"},
	} {
		lib := Ref{Pkg: "bench", Name: sc.bench + "/wazero/runtime", Engine: "wazero", Label: "library"}
		ts = append(ts,
			Target{
				Issue: 14, Engine: "wazero", Text: sc.what + " faster than wapc-go on wazero",
				Num: lib, Den: peer("bench/peers/wapc", "wazero", sc.bench+"/wazero/wapc", "wapc-go"),
				Op: AtMost, Limit: 1, RatioName: "library / wapc-go",
			},
			Target{
				Issue: 14, Engine: "wazero", Text: sc.what + " faster than Extism",
				Num: lib, Den: peer("bench/peers/extism", "wazero", sc.bench+"/wazero/extism", "Extism"),
				Op: AtMost, Limit: 1, RatioName: "library / Extism",
			},
			Target{
				Issue: 14, Engine: "wazero", Text: sc.what + " within 1.5x of the hand-written wazero baseline",
				Num: lib, Den: Ref{Pkg: "bench", Name: sc.bench + "/wazero/baseline", Engine: "wazero", Label: "hand-written"},
				Op: AtMost, Limit: 1.5, RatioName: "library / hand-written",
			},
		)
		for _, e := range []string{"wasmtime", "wasmer"} {
			ts = append(ts, Target{
				Issue: 14, Engine: e, Text: sc.what + " faster than wapc-go's " + e + " engine",
				Num: Ref{Pkg: "bench", Name: sc.bench + "/" + e + "/runtime", Engine: e, Label: "library"},
				Den: peer("bench/peers/wapc", e, sc.bench+"/"+e+"/wapc", "wapc-go"),
				Op:  AtMost, Limit: 1, RatioName: "library / wapc-go",
			})
		}
	}
	ts = append(ts, perEngine(all, func(e string) Target {
		return Target{
			// wapc-go's pool call is Get + Invoke + Return: the library's
			// pooled call in one is Pool.Call (no lease handed out); the
			// Runtime + PutBack figure is in the pooled greet table and in
			// the target below.
			Issue: 14, Engine: e, Text: "pooled call (keep state, `Pool.Call`) faster than wapc-go's pool",
			Num: Ref{Pkg: "bench", Name: "BenchmarkPooledGreet/" + e + "/pool-keep-state-call", Engine: e, Label: "Pool.Call, keep state"},
			Den: peer("bench/peers/wapc", e, "BenchmarkPooledGreet/"+e+"/wapc-pool", "wapc-go pool"),
			Op:  AtMost, Limit: 1, RatioName: "library pool / wapc-go pool",
		}
	})...)
	warmCall := func(e string) Ref {
		return Ref{Pkg: "bench", Name: "BenchmarkHostCallback/" + e + "/runtime", Engine: e, Label: "warm call"}
	}
	// goGreet is a variant of the Go guest's pooled greet benchmark.
	goGreet := func(e, variant, label string) Ref {
		return Ref{Pkg: "bench", Name: "BenchmarkPooledGoGreet/" + e + "/" + variant, Engine: e, Label: label}
	}
	ts = append(ts, perEngine(all, func(e string) Target {
		return Target{
			Issue: 14, Engine: e, Text: "pooled call (keep state) within 2x of a call on a warm instance",
			Num: Ref{Pkg: "bench", Name: "BenchmarkPooledGreet/" + e + "/pool-keep-state", Engine: e, Label: "pool, keep state"},
			Den: warmCall(e),
			Op:  AtMost, Limit: 2, RatioName: "pooled / warm call",
		}
	})...)
	ts = append(ts, perEngine(all, func(e string) Target {
		return Target{
			Issue: 14, Engine: e, Text: "pooled call with reset on put back (the default) within 3x of a call on a warm instance",
			Num: Ref{Pkg: "bench", Name: "BenchmarkPooledGreet/" + e + "/pool", Engine: e, Label: "pool"},
			Den: warmCall(e),
			Op:  AtMost, Limit: 3, RatioName: "pooled / warm call",
		}
	})...)
	ts = append(ts, perEngine(all, func(e string) Target {
		return Target{
			Issue: 14, Engine: e, Text: "pooled `greet` of the 3 MB Go guest (reset on put back) within 3x of a call on a warm instance",
			Num: goGreet(e, "pool", "pool"),
			Den: goGreet(e, "warm", "warm call"),
			Op:  AtMost, Limit: 3, RatioName: "pooled / warm call",
		}
	})...)
	ts = append(ts, perEngine(all, func(e string) Target {
		return Target{
			Issue: 14, Engine: e, Text: "pooled `greet` of the Go guest with reset on put back, snapshot after one warm-up call (`WithWarmup`), within 3x of a warm call",
			Num: goGreet(e, "pool-warmup", "pool, warm-up"),
			Den: goGreet(e, "warm", "warm call"),
			Op:  AtMost, Limit: 3, RatioName: "pooled / warm call",
		}
	})...)
	// Scaling: throughput from 2 goroutines over that from 1, the median of
	// the rounds of BenchmarkThroughput (1- and 2-goroutine rounds
	// interleaved, pool and hand-written alike), at most ideal-scaling.
	interleaved := func(e, unit, label string) Ref {
		return Ref{Pkg: "bench", Name: "BenchmarkThroughput/" + e + "/interleaved", Unit: unit, Engine: e, Label: label}
	}
	scaling := func(e, variant, label string) Ref {
		r := interleaved(e, variant+"-scaling", label)
		ceiling := interleaved(e, "ideal-scaling", "")
		r.Ceiling = &ceiling
		return r
	}
	busy := func(e string) []Caveat {
		return []Caveat{{
			Ref: interleaved(e, "2g-waited-%", ""), Above: 10,
			Text: "in the 2-goroutine rounds the goroutines' threads waited for a CPU %s of the time (median): other work shared the cores, so the scalings are understated (the throughput table's quiet rows leave such rounds out)",
		}}
	}
	ts = append(ts, perEngine(all, func(e string) Target {
		return Target{
			Issue: 14, Engine: e, Text: "pool throughput with 2 goroutines at least 1.6x that of 1",
			Num: scaling(e, "pool", "pool scaling"),
			Den: Ref{Const: 1, Label: "1x"},
			Op:  AtLeast, Limit: 1.6, RatioName: "2-goroutine / 1-goroutine throughput",
			Caveats: busy(e),
		}
	})...)
	ts = append(ts, perEngine(all, func(e string) Target {
		return Target{
			Issue: 14, Engine: e, Text: "pool throughput scaling (1 → 2 goroutines) at least the hand-written baseline's",
			Num: scaling(e, "pool", "pool scaling"),
			Den: scaling(e, "baseline", "hand-written scaling"),
			Op:  AtLeast, Limit: 1, RatioName: "pool scaling / hand-written scaling",
			Caveats: busy(e),
			// Both sides are usually within 1-2% of the ideal 2x, where
			// the runs' noise, not the code, decides which is ahead.
			Parity: true,
		}
	})...)
	return ts
}

// issue15 are the targets of issue 15: what metering costs. The code
// section it instruments grows by a bounded factor (with and without yield
// checkpoints), metered compute stays close to unmetered on every engine
// (with and without a context deadline; the worst-case loop measured at
// several placements of its code), and compiling the instrumented Go guest
// costs little more than compiling the original.
func issue15(all []string) []Target {
	var ts []Target
	for _, g := range []struct {
		name, what string
		limit      float64
	}{
		{"corpus", "median over the corpus", 1.8},
		{"as-echo", "`as/echo.wasm`", 1.8},
		{"go-echo", "`go/echo.wasm`", 1.5},
	} {
		for _, y := range []struct{ unit, what string }{
			{"x-code", "without yield checkpoints"},
			{"x-code-yield", "with yield checkpoints"},
		} {
			ts = append(ts, Target{
				Issue: 15, Text: fmt.Sprintf("code section growth of metering, %s, %s, at most %.2gx", g.what, y.what, g.limit),
				Num: Ref{Pkg: "metering", Name: "BenchmarkCodeGrowth/" + g.name, Unit: y.unit, Label: "instrumented"},
				Den: Ref{Const: 1, Label: "original"},
				Op:  AtMost, Limit: g.limit, RatioName: "instrumented / original code",
			})
		}
	}
	// The worst-case loop: metered / unmetered of BenchmarkMeteredSum's
	// placements variant, the geometric mean over the loop's placements of
	// the ratio of the medians at each (interleaved rounds), so that where
	// the loop's machine code lands, which metering moves, averages out.
	for _, v := range []struct{ unit, label, what string }{
		{"metered/unmetered", "metered / unmetered", "metered compute"},
		{"deadline/unmetered", "metered with a deadline / unmetered", "metered compute with a context deadline"},
	} {
		ts = append(ts, perEngine(all, func(e string) Target {
			return Target{
				Issue: 15, Engine: e,
				Text: fmt.Sprintf("%s (worst case: `sum_to_abi`'s loop, geometric mean over %d loop placements) at most 1.3x slower than unmetered", v.what, meteredSumPlacements),
				Num:  Ref{Pkg: "bench", Name: strings.ReplaceAll(meteredSumBench, "{engine}", e), Unit: v.unit, Engine: e, Label: v.label},
				Den:  Ref{Const: 1, Label: "1x"},
				Op:   AtMost, Limit: 1.3, RatioName: v.label + ", geometric mean over placements",
			}
		})...)
	}
	ts = append(ts, perEngine(all, func(e string) Target {
		return Target{
			Issue: 15, Engine: e, Text: "compiling the instrumented Go guest (3 MB) at most 1.3x compiling the original",
			Num: Ref{Pkg: "runtime", Name: "BenchmarkCompileMeteredGo/" + e + "/interleaved", Unit: "metered/original", Engine: e, Label: "instrumented / original compile"},
			Den: Ref{Const: 1, Label: "1x"},
			Op:  AtMost, Limit: 1.3, RatioName: "instrumented / original compile time",
		}
	})...)
	return ts
}

func perEngine(engines []string, f func(e string) Target) []Target {
	var ts []Target
	for _, e := range engines {
		ts = append(ts, f(e))
	}
	return ts
}

// Targets are the performance targets of issues 3 (wasmtime), 4 (wasmer),
// 5 (pool), 7 (gas metering), 8 (this report), 14 (host and pooled calls
// ahead of the peers) and 15 (metering's code growth, compute and compile
// overhead), in that order.
var Targets = func() []Target {
	all := []string{"wasmtime", "wazero", "wasmer"}
	ts := []Target{
		{
			Issue: 3, Engine: "wasmtime", Text: "adapter's raw export call within 3x of the C API's unchecked call",
			Num: Ref{Pkg: "engines/wasmtime", Name: "BenchmarkAdd/adapter", Engine: "wasmtime", Label: "adapter add"},
			Den: Ref{Pkg: "engines/wasmtime", Name: "BenchmarkAdd/c-unchecked-per-cgo-call", Engine: "wasmtime", Label: "wasmtime_func_call_unchecked"},
			Op:  AtMost, Limit: 3, RatioName: "adapter / C API",
		},
		{
			Issue: 3, Engine: "wasmtime", Text: "adapter's raw export call about 200 ns or better",
			Num: Ref{Pkg: "engines/wasmtime", Name: "BenchmarkAdd/adapter", Engine: "wasmtime", Label: "adapter add"},
			Den: Ref{Const: 200, Label: "200 ns"},
			Op:  AtMost, Limit: 1, RatioName: "adapter / 200 ns",
		},
		{
			Issue: 3, Engine: "wasmtime", Text: "64-byte string echo at least 5x faster than the hand-written wasmtime-go Func.Call version",
			Num: Ref{Pkg: "bench", Name: "BenchmarkEcho64B/wasmtime/baseline", Engine: "wasmtime", Label: "Func.Call by hand"},
			Den: Ref{Pkg: "bench", Name: "BenchmarkEcho64B/wasmtime/runtime", Engine: "wasmtime", Label: "runtime.Call"},
			Op:  AtLeast, Limit: 5, RatioName: "speed-up (hand-written / library)",
		},
		{
			Issue: 4, Engine: "wasmer", Text: "adapter within 1.25x of hand-written wasmer-go: add(i32, i32)",
			Num: bench("wasmer", "BenchmarkAdd/wasmer/adapter"),
			Den: bench("wasmer", "BenchmarkAdd/wasmer/baseline"),
			Op:  AtMost, Limit: 1.25, RatioName: "adapter / wasmer-go",
		},
		{
			Issue: 4, Engine: "wasmer", Text: "adapter within 1.25x of hand-written wasmer-go: 64-byte string echo",
			Num: bench("wasmer", "BenchmarkEcho64B/wasmer/adapter"),
			Den: bench("wasmer", "BenchmarkEcho64B/wasmer/baseline"),
			Op:  AtMost, Limit: 1.25, RatioName: "adapter / wasmer-go",
		},
	}
	for _, e := range []string{"wasmtime", "wazero"} {
		ts = append(ts, Target{
			Issue: 5, Engine: e, Text: "pooled greet call with a host callback at most 20 µs (the original system: about 1.35 ms)",
			Num: bench(e, "BenchmarkPooledGreet/"+e+"/pool"),
			Den: Ref{Const: 20000, Label: "20 µs"},
			Op:  AtMost, Limit: 1, RatioName: "pooled greet / 20 µs",
		})
	}
	ts = append(ts, perEngine(all, func(e string) Target {
		return Target{
			Issue: 5, Engine: e, Text: "reset at most a quarter of re-instantiation",
			Num: bench(e, "BenchmarkReset/"+e+"/reset"),
			Den: bench(e, "BenchmarkReset/"+e+"/reinstantiate"),
			Op:  AtMost, Limit: 0.25, RatioName: "reset / re-instantiate",
		}
	})...)
	ts = append(ts, perEngine(all, func(e string) Target {
		return Target{
			Issue: 5, Engine: e, Text: "disk-cache cold start at least 10x faster than compiling (3 MB Go module)",
			Num: Ref{Pkg: "runtime", Name: "BenchmarkColdStartGo/" + e + "/compile", Engine: e},
			Den: Ref{Pkg: "runtime", Name: "BenchmarkColdStartGo/" + e + "/disk-cache", Engine: e},
			Op:  AtLeast, Limit: 10, RatioName: "compile / disk cache",
		}
	})...)
	ts = append(ts, perEngine(all, func(e string) Target {
		return Target{
			Issue: 7, Engine: e, Text: "compute-heavy fixture at most 1.3x slower metered (mix_abi through the runtime)",
			Num: bench(e, "BenchmarkMeteredMix/"+e+"/metered"),
			Den: bench(e, "BenchmarkMeteredMix/"+e+"/unmetered"),
			Op:  AtMost, Limit: 1.3, RatioName: "metered / unmetered",
		}
	})...)
	ts = append(ts,
		Target{
			Issue: 7, Text: "instrumentation of a 2 MB module under 100 ms",
			Num: Ref{Pkg: "metering", Name: "BenchmarkInstrumentGo", Label: "instrumenting the Go guest"},
			Den: Ref{Const: 100e6, Label: "100 ms"},
			Op:  AtMost, Limit: 1, RatioName: "instrumentation / 100 ms",
		},
		Target{
			Issue: 8, Text: "`make bench` completes in under 15 minutes on this 2-core machine",
			Num: Ref{Meta: "elapsed", Label: "make bench"},
			Den: Ref{Const: 15 * 60, Label: "15 min"},
			Op:  AtMost, Limit: 1, RatioName: "elapsed / 15 min",
		},
	)
	ts = append(ts, issue14(all)...)
	return append(ts, issue15(all)...)
}()

// Evaluate computes the outcome of t from the report's figures.
func (rep *Report) Evaluate(t Target) Outcome {
	o := Outcome{Target: t}
	num, whyN := rep.refValue(t.Num)
	den, whyD := rep.refValue(t.Den)
	switch {
	case whyN != "":
		o.Status, o.Why = NotMeasured, whyN
		return o
	case whyD != "":
		o.Status, o.Why = NotMeasured, whyD
		return o
	case den == 0:
		o.Status, o.Why = NotMeasured, "the reference figure is zero"
		return o
	}
	for _, c := range t.Caveats {
		if v, why := rep.refValue(c.Ref); why == "" && v > c.Above {
			o.Notes = append(o.Notes, fmt.Sprintf(c.Text, FormatValue(v, c.Ref.unit())))
		}
	}
	var implausible []string
	for _, side := range []struct {
		r Ref
		v *float64
	}{{t.Num, &num}, {t.Den, &den}} {
		if side.r.Ceiling == nil {
			continue
		}
		ceil, why := rep.refValue(*side.r.Ceiling)
		if why != "" || ceil <= 0 || *side.v <= ceil {
			continue
		}
		measured, limit := FormatValue(*side.v, side.r.unit()), FormatValue(ceil, side.r.Ceiling.unit())
		if *side.v > ceil*(1+CeilingTolerance) {
			implausible = append(implausible, fmt.Sprintf("%s %s is above the %s the run's CPUs allow (by more than %.0f%%): noise, not a measurement", side.r.Label, measured, limit, CeilingTolerance*100))
			continue
		}
		o.Notes = append(o.Notes, fmt.Sprintf("%s measured %s, above the %s the run's CPUs allow by less than %.0f%%: counted as %s", side.r.Label, measured, limit, CeilingTolerance*100, limit))
		*side.v = ceil
	}
	o.NumValue, o.DenValue, o.Ratio = num, den, num/den
	if len(implausible) > 0 {
		o.Status, o.Why = Implausible, strings.Join(implausible, "; ")
		return o
	}
	pass := o.Ratio <= t.Limit
	if t.Op == AtLeast {
		pass = o.Ratio >= t.Limit
	}
	if !pass && t.Parity {
		if cmp, ok := rep.compareRuns(t); ok && cmp.P > cmp.Alpha && len(cmp.Warnings) == 0 {
			pass, o.Parity = true, cmp.String()
		}
	}
	if pass {
		o.Status = Pass
		return o
	}
	o.Status = Fail
	o.Miss = missBy(o.Ratio, t.Op, t.Limit)
	return o
}

// compareRuns compares the -count runs of t's Num and Den with the
// Mann-Whitney U test at ParityAlpha; ok is false when either has none.
func (rep *Report) compareRuns(t Target) (benchmath.Comparison, bool) {
	th := benchmath.Thresholds{CompareAlpha: ParityAlpha}
	var samples [2]*benchmath.Sample
	for i, r := range []Ref{t.Num, t.Den} {
		v, ok := rep.runs(r)
		if !ok {
			return benchmath.Comparison{}, false
		}
		samples[i] = benchmath.NewSample(v, &th)
	}
	return benchmath.AssumeNothing.Compare(samples[0], samples[1]), true
}

// runs returns the -count runs of r's figure, each capped at r's Ceiling
// (as refValue's median is), or ok == false when there are none.
func (rep *Report) runs(r Ref) ([]float64, bool) {
	if r.Name == "" {
		return nil, false
	}
	res, _ := rep.Find(r.Pkg, r.Name, r.Engine)
	if res == nil || len(res.Samples[r.unit()]) == 0 {
		return nil, false
	}
	v := append([]float64(nil), res.Samples[r.unit()]...)
	if r.Ceiling != nil {
		if ceil, why := rep.refValue(*r.Ceiling); why == "" && ceil > 0 {
			for i := range v {
				v[i] = min(v[i], ceil)
			}
		}
	}
	return v, true
}

// missBy says by how much ratio misses limit.
func missBy(ratio float64, op Op, limit float64) string {
	if op == AtLeast {
		if ratio <= 0 {
			return "no speed-up at all"
		}
		f := limit / ratio
		return fmt.Sprintf("%.3gx short: %.3gx measured, %.3gx needed", f, ratio, limit)
	}
	f := ratio / limit
	if f >= 2 {
		return fmt.Sprintf("%.3gx the limit", f)
	}
	pct := (f - 1) * 100
	if pct < 1 {
		return fmt.Sprintf("%.1f%% over the limit", pct)
	}
	return fmt.Sprintf("%.0f%% over the limit", math.Round(pct))
}

// unit returns the unit of r's figure: ns/op unless it says otherwise.
func (r Ref) unit() string {
	if r.Unit == "" {
		return "ns/op"
	}
	return r.Unit
}

// refValue returns the median of r, or why there is none.
func (rep *Report) refValue(r Ref) (float64, string) {
	switch {
	case r.Meta == "elapsed":
		if rep.Meta.Elapsed <= 0 {
			return 0, "the run's duration was not recorded"
		}
		return rep.Meta.Elapsed.Seconds(), ""
	case r.Name == "":
		return r.Const, ""
	}
	res, why := rep.Find(r.Pkg, r.Name, r.Engine)
	if res == nil {
		return 0, why
	}
	st, ok := res.Stats(r.unit())
	if !ok {
		return 0, fmt.Sprintf("%s reported no %s", r.Name, r.unit())
	}
	return st.Median, ""
}
