package enginefuzz

import (
	"fmt"
	"math"
)

// Report is what a runner prints, as JSON, for one module on one engine:
// the outcome of every call of every run.
type Report struct {
	Engine string `json:"engine"`
	// Skipped lists the function exports not called because a parameter
	// or result is not a number (funcref, externref).
	Skipped []string `json:"skipped,omitempty"`
	Runs    []Run    `json:"runs"`
}

// Run names. Each run is a fresh instance whose calls follow the plan in
// order, so that guest state carries over identically on every engine.
const (
	// RunUnmetered: the module as it is, no metering.
	RunUnmetered = "unmetered"
	// RunAmple: metered, budget AmpleGas per call, yield checkpoints only
	// where the runtime adds them (wazero, wasmer).
	RunAmple = "ample"
	// RunExact: each call's budget is the gas it used in RunAmple.
	RunExact = "exact"
	// RunExactMinus1: each call that succeeded in RunAmple, on an instance
	// that replayed the calls before it, with one gas less than it used:
	// it must run out of gas. One call per tested call.
	RunExactMinus1 = "exact-1"
	// RunSmall: budget SmallGas per call.
	RunSmall = "small"
	// YieldSuffix marks the runs with yield checkpoints forced on every
	// engine, every YieldInterval gas.
	YieldSuffix = "/yield"
)

// Error kinds that are not traps: a trap is "trap:" and the engine-neutral
// runtime.TrapCode's name, e.g. "trap:unreachable"; other errors are named
// after the runtime's sentinel they match (see cmd/runner).
const (
	KindOutOfGas     = "out_of_gas"
	KindCallDepth    = "call_depth"
	KindInterrupted  = "interrupted"
	KindUnclassified = "unclassified"
)

// Gas budgets and the forced yield interval.
const (
	AmpleGas = 1_000_000_000_000
	SmallGas = 100
	// YieldInterval is small, so that checkpoints fire inside the short,
	// hang-limited functions translate-to-fuzz makes.
	YieldInterval = 37
)

// Run is one instance's sequence of calls.
type Run struct {
	Name    string `json:"name"`
	Metered bool   `json:"metered"`
	// Setup is the error kind of compiling or instantiating the module (""
	// when it worked; then Calls follow).
	Setup       string `json:"setup,omitempty"`
	SetupDetail string `json:"setup_detail,omitempty"`
	Calls       []Call `json:"calls,omitempty"`
}

// Call is the outcome of one call.
type Call struct {
	Export string   `json:"export"`
	Args   []string `json:"args"`
	// Budget is the meter's limit (metered runs).
	Budget uint64 `json:"budget,omitempty"`
	// Results are the raw results, canonical (see FormatValue); nil on
	// error.
	Results []string `json:"results,omitempty"`
	// Error is the error kind (see KindOutOfGas), "" on success.
	Error string `json:"error,omitempty"`
	// Detail is the error's message, for people: engines word their
	// messages differently, so it is never compared.
	Detail string `json:"detail,omitempty"`
	// Gas is the meter after the call (metered runs).
	Gas *Gas `json:"gas,omitempty"`
	// Log is the hash of the values the module logged so far (see
	// LogHashExport), read after the call; "" if the module logs nothing.
	Log string `json:"log,omitempty"`
}

// Gas is a meter's accounting after a call.
type Gas struct {
	Used uint64 `json:"used"`
	Left uint64 `json:"left"`
}

// FormatValue returns the canonical, engine-neutral text of a raw value of
// type t (as exchanged by runtime.CallWasm): the type and the bits in hex,
// so that floats are compared by their bits (-0 is not +0). A NaN is
// written as "f32:nan" / "f64:nan" whatever its sign and payload: the
// specification lets engines choose both for the NaNs arithmetic produces.
// (Generated modules are also rewritten by binaryen's --denan, see
// WasmOptArgs, so that no NaN reaches integers or memory, where it could
// not be canonicalized.)
func FormatValue(t byte, raw uint64) string {
	switch t {
	case typeI32:
		return fmt.Sprintf("i32:0x%08x", uint32(raw))
	case typeI64:
		return fmt.Sprintf("i64:0x%016x", raw)
	case typeF32:
		if math.IsNaN(float64(math.Float32frombits(uint32(raw)))) {
			return "f32:nan"
		}
		return fmt.Sprintf("f32:0x%08x", uint32(raw))
	case typeF64:
		if math.IsNaN(math.Float64frombits(raw)) {
			return "f64:nan"
		}
		return fmt.Sprintf("f64:0x%016x", raw)
	}
	return fmt.Sprintf("%s:%#x", TypeName(t), raw)
}

// FormatValues formats raw values of the given types (see FormatValue).
func FormatValues(types []byte, raw []uint64) []string {
	out := make([]string, len(raw))
	for i, v := range raw {
		t := byte(0)
		if i < len(types) {
			t = types[i]
		}
		out[i] = FormatValue(t, v)
	}
	return out
}

// Args returns the arguments of call set of the export at position export:
// deterministic, drawn from values at the edges of each type (zero,
// one, minus one, extremes, infinities, subnormals; never a NaN, whose
// payload an engine may change) so that every engine gets the same.
func Args(params []byte, export, set int) []uint64 {
	out := make([]uint64, len(params))
	for i, t := range params {
		var pool []uint64
		switch t {
		case typeI32:
			pool = argsI32
		case typeI64:
			pool = argsI64
		case typeF32:
			pool = argsF32
		case typeF64:
			pool = argsF64
		default:
			continue
		}
		// A cheap mix of the three positions: different parameters and
		// sets get different values.
		h := uint64(export)*0x9e3779b97f4a7c15 + uint64(i)*0xbf58476d1ce4e5b9 + uint64(set)*0x94d049bb133111eb
		h ^= h >> 31
		out[i] = pool[h%uint64(len(pool))]
	}
	return out
}

var (
	argsI32 = []uint64{0, 1, 2, 7, 100, 255, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x12345678}
	argsI64 = []uint64{0, 1, 3, 1 << 32, 0x7fffffffffffffff, 0x8000000000000000, 0xffffffffffffffff, 0xfffffffffffffff0, 0x123456789abcdef0}
	argsF32 = []uint64{
		0, 0x80000000, // +0, -0
		uint64(math.Float32bits(1)), uint64(math.Float32bits(-1.5)), uint64(math.Float32bits(0.5)),
		uint64(math.Float32bits(65536)), uint64(math.Float32bits(2147483648)), uint64(math.Float32bits(-3e38)),
		0x7f800000, 0xff800000, // infinities
		1, // smallest subnormal
	}
	argsF64 = []uint64{
		0, 0x8000000000000000,
		math.Float64bits(1), math.Float64bits(-1.5), math.Float64bits(0.25),
		math.Float64bits(4294967296), math.Float64bits(9223372036854775808), math.Float64bits(-1.7e308),
		0x7ff0000000000000, 0xfff0000000000000,
		1,
	}
)
