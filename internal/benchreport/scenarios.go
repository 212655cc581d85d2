package benchreport

import (
	"fmt"
	"strings"
)

// throughputBench is the benchmark every row of the throughput table reads
// (one metric each).
const throughputBench = "BenchmarkThroughput/{engine}/interleaved"

// Engines are the report's columns, in order.
var Engines = []string{"wasmtime", "wazero", "wasmer"}

// HomeBuild is the build whose figures stand for each engine: wasmtime in
// the default build, wazero in the cgo-free -tags wazero build, wasmer in
// the -tags wasmer build. (wazero is linked into every build; make bench
// runs it only in its own.)
var HomeBuild = map[string]string{"wasmtime": "default", "wazero": "wazero", "wasmer": "wasmer"}

// Builds are the three engine builds in the order make bench runs them.
var Builds = []string{"default", "wazero", "wasmer"}

// Row is one line of a scenario table: a benchmark figure per engine.
type Row struct {
	// Label is the row's heading.
	Label string
	// Variant is the last element of the suite's benchmark name
	// (Benchmark<Scenario>/<engine>/<variant>).
	Variant string
	// Unit overrides the scenario's unit for this row.
	Unit string
	// Pkg and Name locate a benchmark outside the suite's scheme; "{engine}"
	// in Name is replaced by the column's engine.
	Pkg, Name string
	// Only restricts the row to one engine; other columns show a dash.
	Only string
	// Library marks the figure charted as the library's for the scenario.
	Library bool
	// Baseline marks the hand-written baseline the library is charted
	// against.
	Baseline bool
	// Ceiling is the unit of the same benchmark's figure that bounds this
	// row's (e.g. ideal-scaling for a scaling): a median above it by more
	// than CeilingTolerance is marked as noise.
	Ceiling string
}

// Ratio is a computed row: the median of Num's row divided by Den's.
type Ratio struct {
	Label    string
	Num, Den string // Row.Variant values
}

// Scenario is one table of the report.
type Scenario struct {
	// Bench is the top-level benchmark name, e.g. "BenchmarkNop".
	Bench string
	// Pkg is the package of its benchmarks (default "bench").
	Pkg   string
	Title string
	What  string
	// Unit is the unit of the rows (default "ns/op").
	Unit   string
	Rows   []Row
	Ratios []Ratio
	// Short is the scenario's name on chart axes.
	Short string
	// EngineIndependent makes the table one column of figures measured
	// once, not per engine (e.g. metering's code growth, which no engine
	// runs); its rows are looked up in any build.
	EngineIndependent bool
}

// Locate returns the package and benchmark name of row r for engine e.
func (s Scenario) Locate(r Row, e string) (pkg, name string) {
	pkg = s.Pkg
	if r.Pkg != "" {
		pkg = r.Pkg
	}
	if pkg == "" {
		pkg = "bench"
	}
	if r.Name != "" {
		return pkg, strings.ReplaceAll(r.Name, "{engine}", e)
	}
	return pkg, s.Bench + "/" + e + "/" + r.Variant
}

// UnitOf returns the unit of row r.
func (s Scenario) UnitOf(r Row) string {
	switch {
	case r.Unit != "":
		return r.Unit
	case s.Unit != "":
		return s.Unit
	}
	return "ns/op"
}

// Row returns the row of variant v.
func (s Scenario) Row(v string) (Row, bool) {
	for _, r := range s.Rows {
		if r.Variant == v {
			return r, true
		}
	}
	return Row{}, false
}

// Labels of the variants shared by most scenarios.
const (
	runtimeLabel  = "library: `runtime` API"
	adapterLabel  = "library: engine adapter (SPI)"
	baselineLabel = "hand-written, engine's own Go API"
)

// The peers: other Go plugin libraries doing the same work with guests
// written in their own protocol (bench/peers). Their rows are extra rows of
// the matching scenarios; each runs on the engines it has (Extism: wazero
// only).
const (
	wapcPkg     = "bench/peers/wapc"
	extismPkg   = "bench/peers/extism"
	wapcLabel   = "peer: wapc-go v0.7.0"
	extismLabel = "peer: Extism Go SDK v1.7.1"
)

// peerRows are the rows of wapc-go's variant wapc and Extism's variant
// extism, with what label adds to their labels.
func peerRows(wapc, extism, label string) []Row {
	return []Row{
		{Label: wapcLabel + label, Variant: wapc, Pkg: wapcPkg},
		{Label: extismLabel + label, Variant: extism, Pkg: extismPkg, Only: "wazero"},
	}
}

// peerRatios compare the library's variant num with the peers' rows.
func peerRatios(num, label string) []Ratio {
	return []Ratio{
		{Label: label + " / wapc-go", Num: num, Den: "wapc"},
		{Label: label + " / Extism", Num: num, Den: "extism"},
	}
}

func libraryRows(adapter bool) []Row {
	rows := []Row{{Label: runtimeLabel, Variant: "runtime", Library: true}}
	if adapter {
		rows = append(rows, Row{Label: adapterLabel, Variant: "adapter"})
	}
	return append(rows, Row{Label: baselineLabel, Variant: "baseline", Baseline: true})
}

func echoScenario(bench, size string) Scenario {
	return Scenario{
		Bench: bench, Title: "String echo, " + size, Short: "echo " + size,
		What: "`echo(String)` of " + size + " through `wat/raw.wasm`'s zero-copy echo: encode, allocate in the guest, write, call, bounds-check, decode into a Go string (the guest heap is reset every 64 MiB, untimed).",
		Rows: libraryRows(true),
		Ratios: []Ratio{
			{Label: "runtime / baseline", Num: "runtime", Den: "baseline"},
			{Label: "adapter / baseline", Num: "adapter", Den: "baseline"},
		},
	}
}

// peerEchoScenario is echoScenario with the peers' echo of the same size
// (bench/peers: a guest that answers its payload where the host wrote it).
func peerEchoScenario(bench, size string) Scenario {
	s := echoScenario(bench, size)
	s.What += " Peers: wapc-go's `Instance.Invoke(ctx, \"echo\", payload)` (on wazero it returns a view of the guest's memory, not a copy) and Extism's `Plugin.Call(\"echo\", payload)` (the output is the input block: `output_set(input_offset(), input_length())`), each on one warm instance."
	s.Rows = append(s.Rows, peerRows("wapc", "extism", "")...)
	s.Ratios = append(s.Ratios, peerRatios("runtime", "runtime")...)
	return s
}

// Scenarios are the report's tables, in order.
var Scenarios = []Scenario{
	{
		Bench: "BenchmarkNop", Title: "Empty export call", Short: "empty call",
		What: "`nop()` of `wat/raw.wasm`: `Runtime.Call(ctx, \"nop\")`, the SPI's `Function.Call`, the engine's own call.",
		Rows: libraryRows(true),
		Ratios: []Ratio{
			{Label: "runtime / baseline", Num: "runtime", Den: "baseline"},
			{Label: "adapter / baseline", Num: "adapter", Den: "baseline"},
		},
	},
	{
		Bench: "BenchmarkAdd", Title: "add(i32, i32)", Short: "add(i32,i32)",
		What: "`add(i32, i32) -> i32` of `wat/raw.wasm` with raw values (no ABI). The wasmtime C API row is `engines/wasmtime`'s `wasmtime_func_call_unchecked`, one cgo call per op (issue 3's reference).",
		Rows: []Row{
			{Label: adapterLabel, Variant: "adapter", Library: true},
			{Label: baselineLabel, Variant: "baseline", Baseline: true},
			{Label: "wasmtime C API, unchecked call", Variant: "c-unchecked", Pkg: "engines/wasmtime", Name: "BenchmarkAdd/c-unchecked-per-cgo-call", Only: "wasmtime"},
		},
		Ratios: []Ratio{
			{Label: "adapter / baseline", Num: "adapter", Den: "baseline"},
			{Label: "adapter / C API", Num: "adapter", Den: "c-unchecked"},
		},
	},
	peerEchoScenario("BenchmarkEcho64B", "64 B"),
	echoScenario("BenchmarkEcho4KiB", "4 KiB"),
	peerEchoScenario("BenchmarkEcho64KiB", "64 KiB"),
	echoScenario("BenchmarkEcho1MiB", "1 MiB"),
	{
		Bench: "BenchmarkStruct", Title: "Struct round trip", Short: "struct",
		What: "A struct (string, int32, list of strings, map) echoed by `wat/raw.wasm` and decoded into a Go struct: `runtime.CallAs`, or `abi.Append` + engine calls + `abi.Unmarshal` by hand.",
		Rows: libraryRows(false),
		Ratios: []Ratio{
			{Label: "runtime / baseline", Num: "runtime", Den: "baseline"},
		},
	},
	{
		Bench: "BenchmarkHostCallback", Title: "Guest → host callback round trip", Short: "host callback",
		What: "`greet(String)` of `wat/greet.wasm` on a warm instance: the hand-written guest passes its argument to the host's `test.hello`, which reads it and allocates its answer in the guest, and answers the host's answer (the guest heap is reset every 512 calls, untimed). The library's row with `as/greet.wasm` is the same greet compiled from AssemblyScript, which converts the string to UTF-16 and back and runs AssemblyScript's allocator. Peers: a hand-written guest in their protocol that calls the host function once with the payload (string in, string out) and answers the host's answer: wapc-go's `Invoke(ctx, \"greet\", payload)` (`__host_call` to `test.hello`) and Extism's `Plugin.Call(\"greet\", payload)` (the host function `hello` of `extism:host/user`).",
		Rows: append([]Row{
			{Label: runtimeLabel, Variant: "runtime", Library: true},
			{Label: runtimeLabel + ", `as/greet.wasm`", Variant: "runtime-as"},
			{Label: baselineLabel, Variant: "baseline", Baseline: true},
		}, peerRows("wapc", "extism", "")...),
		Ratios: append([]Ratio{{Label: "runtime / baseline", Num: "runtime", Den: "baseline"}}, peerRatios("runtime", "runtime")...),
	},
	{
		Bench: "BenchmarkInstantiate", Title: "Instantiate from a cached compiled module", Short: "instantiate",
		What: "A new instance of `as/greet.wasm` from a compiled module, host imports resolved and start code (`__aspect_start__`) run, then closed: `Module.Instantiate` + `Close`; and the same with one `greet` call before the close, beside the peers' instantiate + greet + close (wapc-go: `Module.Instantiate` + `Invoke` + `Instance.Close`, its wasmtime engine keeping every instance in the module's store, so the benchmark takes a new module every 1000 instances, untimed; Extism: `CompiledPlugin.Instance` + `Call` + `Close`).",
		Rows: []Row{
			{Label: runtimeLabel, Variant: "runtime", Library: true},
			{Label: baselineLabel, Variant: "baseline", Baseline: true},
			{Label: "library: instantiate + greet + close", Variant: "runtime-call"},
			{Label: wapcLabel + ", instantiate + greet + close", Variant: "wapc-call", Pkg: wapcPkg},
			{Label: extismLabel + ", instantiate + greet + close", Variant: "extism-call", Pkg: extismPkg, Only: "wazero"},
		},
		Ratios: []Ratio{
			{Label: "runtime / baseline", Num: "runtime", Den: "baseline"},
			{Label: "instantiate + greet + close / wapc-go", Num: "runtime-call", Den: "wapc-call"},
			{Label: "instantiate + greet + close / Extism", Num: "runtime-call", Den: "extism-call"},
		},
	},
	{
		Bench: "BenchmarkPooledGreet", Title: "Pooled greet with a host callback", Short: "pooled greet",
		What: "Lease + `greet(\"world\")` of `wat/greet.wasm` (one host callback; the host callback scenario's guest) + put back through `pool.Pool` (default policy: reset on put back; or `WithKeepState`; `Runtime` + `Call` + `PutBack`, or the same in one `Pool.Call`, which hands out no lease), a fresh runtime per call (compile + instantiate + call + close), and the hand-written greet on one warm instance. The warm call row is the library's `Runtime.Call` of the host callback table. Peers: wapc-go's `wapc.Pool` (`Get` + `Invoke` + `Return`; it never resets an instance, like `WithKeepState`), and Extism, which has no pool: one plugin kept and called again.",
		Rows: []Row{
			{Label: "library: pool (reset on put back)", Variant: "pool", Library: true},
			{Label: "library: pool, WithKeepState", Variant: "pool-keep-state"},
			{Label: "library: pool, WithKeepState, in one `Pool.Call`", Variant: "pool-keep-state-call"},
			{Label: "library: fresh runtime per call", Variant: "fresh-runtime"},
			{Label: baselineLabel + ", warm instance", Variant: "baseline", Baseline: true},
			{Label: "library: warm call (`Runtime.Call`, host callback table)", Variant: "warm", Name: "BenchmarkHostCallback/{engine}/runtime"},
			{Label: wapcLabel + ", pool (no reset)", Variant: "wapc-pool", Pkg: wapcPkg},
			{Label: extismLabel + ", plugin kept (no pool)", Variant: "extism", Pkg: extismPkg, Only: "wazero"},
		},
		Ratios: []Ratio{
			{Label: "pool / baseline", Num: "pool", Den: "baseline"},
			{Label: "fresh runtime / pool", Num: "fresh-runtime", Den: "pool"},
			{Label: "pool / warm call", Num: "pool", Den: "warm"},
			{Label: "pool, WithKeepState / warm call", Num: "pool-keep-state", Den: "warm"},
			{Label: "pool, WithKeepState / wapc-go pool", Num: "pool-keep-state", Den: "wapc-pool"},
			{Label: "`Pool.Call`, WithKeepState / wapc-go pool", Num: "pool-keep-state-call", Den: "wapc-pool"},
			{Label: "pool, WithKeepState / Extism", Num: "pool-keep-state", Den: "extism"},
		},
	},
	{
		Bench: "BenchmarkPooledGoGreet", Title: "Pooled greet on a 3 MB Go guest", Short: "pooled Go greet",
		What: "Lease + `greet(\"world\")` + put back of `go/echo.wasm` (a 3 MB Go-built WASI reactor with megabytes of memory) through `pool.Pool`, with reset on put back (the default) or `WithKeepState`, or with reset on put back to a snapshot taken after one warm-up `greet` (`runtime.WithWarmup` in the pool's runtime options: the Go runtime's lazy first-call work is then done once per instance, not after every reset), and the same `greet` on one warm instance (`Runtime.Call`): what a pooled call costs beyond a call for a real module.",
		Rows: []Row{
			{Label: "library: pool (reset on put back)", Variant: "pool", Library: true},
			{Label: "library: pool, WithKeepState", Variant: "pool-keep-state"},
			{Label: "library: pool, reset to a warmed-up snapshot (`WithWarmup`)", Variant: "pool-warmup"},
			{Label: "library: warm instance", Variant: "warm", Baseline: true},
		},
		Ratios: []Ratio{
			{Label: "pool / warm call", Num: "pool", Den: "warm"},
			{Label: "pool, WithKeepState / warm call", Num: "pool-keep-state", Den: "warm"},
			{Label: "pool, WithWarmup / warm call", Num: "pool-warmup", Den: "warm"},
		},
	},
	{
		Bench: "BenchmarkReset", Title: "Pool reset vs re-instantiate", Short: "reset",
		What: "`Runtime.Reset` of a started `as/greet.wasm` instance vs `Module.Instantiate` + `Close` of a new one. The pool's reset after a call is the difference between the two pool rows of the pooled greet table.",
		Rows: []Row{
			{Label: "library: Runtime.Reset", Variant: "reset", Library: true},
			{Label: "library: Module.Instantiate + Close", Variant: "reinstantiate", Baseline: true},
		},
		Ratios: []Ratio{{Label: "reset / re-instantiate", Num: "reset", Den: "reinstantiate"}},
	},
	{
		Bench: "BenchmarkMetered", Title: "Metered vs unmetered compute", Short: "metered compute",
		What: "`sum_to(100000)` of `wat/raw.wasm` (a loop of 100000 iterations) as is and instrumented by package `metering` (what `runtime.WithMetering` compiles), called through the SPI (`sum_to` takes an i64, which an ABI call cannot pass) with the gas counter set before every call.",
		Rows: []Row{
			{Label: "metered (package metering)", Variant: "metered", Library: true},
			{Label: "unmetered", Variant: "unmetered", Baseline: true},
			{Label: "gas per call", Variant: "metered", Unit: "gas/op"},
		},
		Ratios: []Ratio{{Label: "metered / unmetered", Num: "metered", Den: "unmetered"}},
	},
	meteredScenario("BenchmarkMeteredSum", "worst case", "metered sum (runtime)",
		"`sum_to_abi(100000)` of `wat/compute.wasm` (a loop of about one machine cycle per iteration, ABI-encoded Int64 in and out) through `Runtime.Call`, as is and with `runtime.WithMetering` and a `Meter` per call (on wazero and wasmer the module also has yield checkpoints), and with a context deadline too. "+
			"A loop that tight runs up to 1.5x faster or slower depending on where its ~40 bytes of machine code land relative to 64-byte cache lines and 32-byte fetch windows, and metering moves it, so one placement (the `sum_to_abi` rows) measures placement luck as much as metering. "+
			fmt.Sprintf("The placement rows (variant `placements`, the figures issue 15's targets use) run the same loop at %d placements (exports `sum_to_abi_p0` … `sum_to_abi_p%d`, the loop after different amounts of straight-line code run once per call), unmetered, metered and metered with a deadline, interleaved in every round so that load on a shared machine hits them alike: per placement, the median time per call of each side and metered / unmetered (the ratio of the medians); over the placements, the geometric means of the times and of the ratios.", meteredSumPlacements, meteredSumPlacements-1),
		"`sum_to_abi` (one placement): ", sumPlacementRows()...),
	meteredScenario("BenchmarkMeteredMix", "typical", "metered mix (runtime)",
		"`mix_abi(20000)` of `wat/compute.wasm` (a xorshift64* loop: shifts, xors, a multiplication and a rotation per round) through `Runtime.Call`, as is, metered, and metered with a context deadline.", ""),
	{
		Bench: "BenchmarkThroughput", Title: "Throughput through the pool, 1 and 2 goroutines", Short: "pooled greet, 1 goroutine",
		What: "How pooled throughput scales from one goroutine to two, beside the hand-written baseline's own scaling. One benchmark measures all four sides in interleaved rounds of fixed work (the same number of `greet` calls each, about 2 ms from one goroutine), so that load on a shared machine hits them alike: pooled greet from 1 and from 2 goroutines sharing one pool, and greet by hand from 1 and from 2 goroutines on an instance each, in alternating order (pool 1, pool 2, baseline 1, baseline 2, then the reverse), with a GC before every round and the 2-goroutine clock started only once both goroutines run. Each run (one per `-count`) reports the median over its rounds (at least 21) of the wall time per call of each side, and of each round's scaling: 1-goroutine over 2-goroutine time per call, so 2x is perfect scaling and nothing can honestly exceed the ideal row, min(2, GOMAXPROCS, CPUs): a figure above it means the 1-goroutine rounds were slowed by something the 2-goroutine rounds escaped (such as other work on the other core competing for the shared cache and memory, which the run-queue delay below does not show), and a scaling target resting on it is reported as implausible, not judged. The waiting rows say how much of the goroutines' thread time went to waiting for a CPU (`/proc/thread-self/schedstat`, Linux): near 0 when the run had its cores to itself; when other work took them, the scalings understate what the code does. The quiet rows take only the rounds whose 1- and 2-goroutine halves both waited under 2% of their thread time (reported when a run has at least 3): what the code does when the machine lets it, beside the figure of every round, which the targets use.",
		Rows: []Row{
			{Label: "library: pool, 1 goroutine (wall time per call)", Variant: "pool", Name: throughputBench, Unit: "pool-1g-ns/call", Library: true},
			{Label: "library: pool, 2 goroutines (wall time per call)", Variant: "pool-2g", Name: throughputBench, Unit: "pool-2g-ns/call"},
			{Label: baselineLabel + ", one instance, 1 goroutine", Variant: "baseline", Name: throughputBench, Unit: "baseline-1g-ns/call", Baseline: true},
			{Label: baselineLabel + ", an instance each, 2 goroutines", Variant: "baseline-2g", Name: throughputBench, Unit: "baseline-2g-ns/call"},
			{Label: "**pool scaling, 1 → 2 goroutines**", Variant: "pool-scaling", Name: throughputBench, Unit: "pool-scaling", Ceiling: "ideal-scaling"},
			{Label: "**hand-written scaling, 1 → 2 goroutines**", Variant: "baseline-scaling", Name: throughputBench, Unit: "baseline-scaling", Ceiling: "ideal-scaling"},
			{Label: "pool scaling, quiet rounds only", Variant: "pool-quiet-scaling", Name: throughputBench, Unit: "pool-quiet-scaling", Ceiling: "ideal-scaling"},
			{Label: "hand-written scaling, quiet rounds only", Variant: "baseline-quiet-scaling", Name: throughputBench, Unit: "baseline-quiet-scaling", Ceiling: "ideal-scaling"},
			{Label: "ideal scaling: min(2, GOMAXPROCS, CPUs)", Variant: "ideal-scaling", Name: throughputBench, Unit: "ideal-scaling"},
			{Label: "threads waiting for a CPU, 1-goroutine rounds", Variant: "1g-waited", Name: throughputBench, Unit: "1g-waited-%"},
			{Label: "threads waiting for a CPU, 2-goroutine rounds", Variant: "2g-waited", Name: throughputBench, Unit: "2g-waited-%"},
			{Label: "rounds per run", Variant: "rounds", Name: throughputBench, Unit: "rounds"},
			{Label: "quiet rounds per run, pool", Variant: "pool-quiet-rounds", Name: throughputBench, Unit: "pool-quiet-rounds"},
			{Label: "quiet rounds per run, hand-written", Variant: "baseline-quiet-rounds", Name: throughputBench, Unit: "baseline-quiet-rounds"},
		},
		Ratios: []Ratio{
			{Label: "pool / baseline, 1 goroutine", Num: "pool", Den: "baseline"},
			{Label: "pool / baseline, 2 goroutines", Num: "pool-2g", Den: "baseline-2g"},
			{Label: "pool scaling / hand-written scaling", Num: "pool-scaling", Den: "baseline-scaling"},
			{Label: "same, quiet rounds only", Num: "pool-quiet-scaling", Den: "baseline-quiet-scaling"},
		},
	},
	{
		Bench: "BenchmarkIdleMemory", Title: "Memory per idle pooled instance", Short: "idle instance memory", Unit: "B/instance",
		What: "Growth of the process's resident set (and of the live Go heap) per idle `as/greet.wasm` instance, over 100 instances kept idle by a pool or created by hand, measured after a GC.",
		Rows: []Row{
			{Label: "library: idle in a pool, RSS", Variant: "pool", Library: true},
			{Label: "hand-written instance, RSS", Variant: "baseline", Baseline: true},
			{Label: "library: idle in a pool, Go heap", Variant: "pool", Unit: "heapB/instance"},
			{Label: "hand-written instance, Go heap", Variant: "baseline", Unit: "heapB/instance"},
		},
		Ratios: []Ratio{{Label: "pool / hand-written (RSS)", Num: "pool", Den: "baseline"}},
	},
	coldStartScenario("BenchmarkColdStartGo", "a 3 MB module", "cold start (3 MB)",
		"What a new process pays to get a compiled `go/echo.wasm` (a 3 MB Go-built module; package runtime's benchmark): a fresh engine, then compiling, or loading from a warm `WithCacheDir` cache (entries verified by their SHA-256): the engine's work on the code as given. The `CompileWithEngine` row is what a new process pays through the library with default options: before the cache lookup the runtime prepares the code (validation, the limits instrumentation, the snapshot rewrite), which the cache does not keep."),
	coldStartScenario("BenchmarkColdStartAS", "a 19 KB module", "cold start (19 KB)",
		"The same for `as/echo.wasm` (19 KB of AssemblyScript): what remains is the fixed cost of a load (on wazero: validating the module, copying the code into fresh executable memory, mprotect)."),
	codeGrowthScenario,
	compileMeteredScenario,
}

// The tables of issue 15: what metering costs in code size and compile time.
var (
	codeGrowthScenario = Scenario{
		Bench: "BenchmarkCodeGrowth", Pkg: "metering", Title: "Code growth of metering instrumentation", Short: "code growth",
		What: "The size of the code section instrumented by package `metering` (default costs) over the original's: the median over the corpus (every conformance fixture the instrumenter accepts, the Go guest among them, and seeded random modules from binaryen's `wasm-opt -ttf`) and the AssemblyScript and Go echo fixtures alone; without yield checkpoints (what wasmtime compiles: it interrupts natively) and with them (wazero and wasmer). Engine-independent: measured once, in the default build.",
		Unit: "x-code", EngineIndependent: true,
		Rows: []Row{
			{Label: "corpus median, without yield checkpoints (wasmtime)", Variant: "corpus", Name: "BenchmarkCodeGrowth/corpus"},
			{Label: "corpus median, with yield checkpoints (wazero, wasmer)", Variant: "corpus-yield", Name: "BenchmarkCodeGrowth/corpus", Unit: "x-code-yield"},
			{Label: "`as/echo.wasm`, without yield checkpoints", Variant: "as-echo", Name: "BenchmarkCodeGrowth/as-echo"},
			{Label: "`as/echo.wasm`, with yield checkpoints", Variant: "as-echo-yield", Name: "BenchmarkCodeGrowth/as-echo", Unit: "x-code-yield"},
			{Label: "`go/echo.wasm`, without yield checkpoints", Variant: "go-echo", Name: "BenchmarkCodeGrowth/go-echo"},
			{Label: "`go/echo.wasm`, with yield checkpoints", Variant: "go-echo-yield", Name: "BenchmarkCodeGrowth/go-echo", Unit: "x-code-yield"},
		},
	}
	compileMeteredScenario = Scenario{
		Bench: "BenchmarkCompileMetered{Go,AS}", Pkg: "runtime", Title: "Compile time of the instrumented module vs the original", Short: "compile metered",
		What: "Compiling a guest on a fresh engine (no cache) as is and instrumented as `runtime.WithMetering` instruments it (default costs; yield checkpoints on wazero and wasmer, which have no native interruption), the two interleaved in every iteration so that load on a shared machine affects them alike: the median compile time of each, and instrumented / original (the median of the runs' ratios). The Go guest is `go/echo.wasm` (3 MB), the AssemblyScript guest `as/echo.wasm` (19 KB).",
		Unit: "metered/original",
		Rows: []Row{
			{Label: "Go guest: original", Variant: "go-original", Name: "BenchmarkCompileMeteredGo/{engine}/interleaved", Unit: "original-ns/compile"},
			{Label: "Go guest: instrumented", Variant: "go-metered", Name: "BenchmarkCompileMeteredGo/{engine}/interleaved", Unit: "metered-ns/compile"},
			{Label: "**Go guest: instrumented / original**", Variant: "go-ratio", Name: "BenchmarkCompileMeteredGo/{engine}/interleaved"},
			{Label: "AS guest: original", Variant: "as-original", Name: "BenchmarkCompileMeteredAS/{engine}/interleaved", Unit: "original-ns/compile"},
			{Label: "AS guest: instrumented", Variant: "as-metered", Name: "BenchmarkCompileMeteredAS/{engine}/interleaved", Unit: "metered-ns/compile"},
			{Label: "**AS guest: instrumented / original**", Variant: "as-ratio", Name: "BenchmarkCompileMeteredAS/{engine}/interleaved"},
		},
	}
)

// meteredScenario is a table of BenchmarkMeteredSum or BenchmarkMeteredMix:
// the rows of its unmetered, metered and metered-deadline variants (labels
// starting with prefix), then extra.
func meteredScenario(bench, kind, short, what, prefix string, extra ...Row) Scenario {
	return Scenario{
		Bench: bench, Title: "Metered vs unmetered compute through the runtime (" + kind + ")", Short: short, What: what,
		Rows: append([]Row{
			{Label: prefix + "metered (runtime.WithMetering)", Variant: "metered", Library: true},
			{Label: prefix + "unmetered", Variant: "unmetered", Baseline: true},
			{Label: prefix + "metered, with a deadline", Variant: "metered-deadline"},
			{Label: prefix + "gas per call", Variant: "metered", Unit: "gas/op"},
		}, extra...),
		Ratios: []Ratio{
			{Label: prefix + "metered / unmetered", Num: "metered", Den: "unmetered"},
			{Label: prefix + "metered with a deadline / unmetered", Num: "metered-deadline", Den: "unmetered"},
		},
	}
}

// coldStartScenario is a table of BenchmarkColdStartGo or BenchmarkColdStartAS.
func coldStartScenario(bench, of, short, what string) Scenario {
	return Scenario{
		Bench: bench, Pkg: "runtime", Title: "Cold start of " + of + ": compile vs disk cache", Short: short, What: what,
		Rows: []Row{
			{Label: "disk cache", Variant: "disk-cache", Library: true},
			{Label: "compile", Variant: "compile", Baseline: true},
			{Label: "library: `CompileWithEngine` on a warm `WithCacheDir` cache (preparing the code, then the load)", Variant: "runtime-disk-cache"},
		},
		Ratios: []Ratio{
			{Label: "compile / disk cache (speed-up)", Num: "compile", Den: "disk-cache"},
			{Label: "compile / `CompileWithEngine` on the warm cache", Num: "compile", Den: "runtime-disk-cache"},
		},
	}
}

// meteredSumBench is the benchmark of the MeteredSum placement rows and of
// issue 15's worst-case targets.
const meteredSumBench = "BenchmarkMeteredSum/{engine}/placements"

// meteredSumPlacements is the number of placements of sum_to_abi's loop
// BenchmarkMeteredSum's placements variant runs (bench's sumPlacements: the
// exports sum_to_abi_p0 … sum_to_abi_p7 of wat/compute.wasm).
const meteredSumPlacements = 8

// sumPlacementRows are the MeteredSum table's rows of the placements
// variant: the geometric means over the placements, then each placement's
// ratios.
func sumPlacementRows() []Row {
	rows := []Row{
		{Label: "placements: unmetered (geometric mean)", Variant: "placements-unmetered", Name: meteredSumBench, Unit: "unmetered-ns/call"},
		{Label: "placements: metered (geometric mean)", Variant: "placements-metered", Name: meteredSumBench, Unit: "metered-ns/call"},
		{Label: "placements: metered, with a deadline (geometric mean)", Variant: "placements-deadline", Name: meteredSumBench, Unit: "deadline-ns/call"},
		{Label: "**placements: metered / unmetered, geometric mean over " + fmt.Sprint(meteredSumPlacements) + "**", Variant: "placements-ratio", Name: meteredSumBench, Unit: "metered/unmetered"},
		{Label: "**placements: metered with a deadline / unmetered, geometric mean over " + fmt.Sprint(meteredSumPlacements) + "**", Variant: "placements-deadline-ratio", Name: meteredSumBench, Unit: "deadline/unmetered"},
	}
	for p := range meteredSumPlacements {
		rows = append(rows, Row{Label: fmt.Sprintf("placement %d: metered / unmetered", p), Variant: fmt.Sprintf("p%d-ratio", p), Name: meteredSumBench, Unit: fmt.Sprintf("p%d-metered/unmetered", p)})
	}
	for p := range meteredSumPlacements {
		rows = append(rows, Row{Label: fmt.Sprintf("placement %d: metered with a deadline / unmetered", p), Variant: fmt.Sprintf("p%d-deadline-ratio", p), Name: meteredSumBench, Unit: fmt.Sprintf("p%d-deadline/unmetered", p)})
	}
	return rows
}
