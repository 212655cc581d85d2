package validate

import (
	"fmt"
	"slices"
	"strings"
)

// Feature is a set of WebAssembly proposals beyond the MVP (WebAssembly
// 1.0 as first released). Combine them with |.
type Feature uint32

// The proposals a profile may allow: those of WebAssembly 2.0 that the
// library supports, and extended constant expressions, which the runtime
// folds before any engine sees them (metering.Normalize). Every other
// proposal (SIMD, threads, exceptions, tail calls, function references,
// GC, memory64, multi-memory, custom page sizes, wide arithmetic) is
// refused by every profile, with Rule RuleFeature and the proposal's name
// in ValidationError.Feature.
const (
	// SignExtension: i32.extend8_s … i64.extend32_s.
	SignExtension Feature = 1 << iota
	// NonTrappingFloatToInt: the saturating truncations (0xfc 0-7).
	NonTrappingFloatToInt
	// MultiValue: functions with several results, blocks with parameters
	// or several results (a type index as block type).
	MultiValue
	// BulkMemory: memory.init/copy/fill, data.drop, table.init/copy,
	// elem.drop, passive segments, the data count section.
	BulkMemory
	// ReferenceTypes: funcref and externref values (parameters, results,
	// locals, globals, block types), externref tables, several tables,
	// ref.null/is_null/func, typed select, table.get/set/size/grow/fill.
	ReferenceTypes
	// MutableGlobals: importing or exporting a mutable global.
	MutableGlobals
	// ExtendedConst: i32/i64 add, sub and mul, and global.get of a global
	// the module defines, in constant expressions (a WebAssembly 3.0
	// proposal; the runtime folds them into constants).
	ExtendedConst
)

// MVP is WebAssembly 1.0 as first released: no proposal.
const MVP Feature = 0

// WASM2 is the WebAssembly 2.0 proposals the library supports: sign
// extension, non-trapping float-to-int, multi-value, bulk memory,
// reference types and mutable globals (2.0 also has SIMD, which no
// profile allows: the instrumentation does not support it).
const WASM2 = SignExtension | NonTrappingFloatToInt | MultiValue | BulkMemory | ReferenceTypes | MutableGlobals

var featureNames = []struct {
	f    Feature
	name string
}{
	{SignExtension, "sign-extension"},
	{NonTrappingFloatToInt, "nontrapping-float-to-int"},
	{MultiValue, "multi-value"},
	{BulkMemory, "bulk-memory"},
	{ReferenceTypes, "reference-types"},
	{MutableGlobals, "mutable-globals"},
	{ExtendedConst, "extended-const"},
}

// String names the proposals in f, joined by "+": "sign-extension",
// "nontrapping-float-to-int", "multi-value", "bulk-memory",
// "reference-types", "mutable-globals", "extended-const"; "mvp" for none.
func (f Feature) String() string {
	if f == 0 {
		return "mvp"
	}
	var names []string
	for _, n := range featureNames {
		if f&n.f != 0 {
			names = append(names, n.name)
			f &^= n.f
		}
	}
	if f != 0 {
		names = append(names, fmt.Sprintf("0x%x", uint32(f)))
	}
	return strings.Join(names, "+")
}

// featureByName maps a proposal's name (as in Feature.String and
// metering's feature names) to its Feature, 0 if none.
func featureByName(name string) Feature {
	for _, n := range featureNames {
		if n.name == name {
			return n.f
		}
	}
	return 0
}

// ValType is a WebAssembly value type, by its binary encoding.
type ValType byte

// Value types.
const (
	I32       ValType = 0x7f
	I64       ValType = 0x7e
	F32       ValType = 0x7d
	F64       ValType = 0x7c
	FuncRef   ValType = 0x70
	ExternRef ValType = 0x6f
)

// String returns the type's text-format name, e.g. "i32".
func (t ValType) String() string {
	switch t {
	case I32:
		return "i32"
	case I64:
		return "i64"
	case F32:
		return "f32"
	case F64:
		return "f64"
	case FuncRef:
		return "funcref"
	case ExternRef:
		return "externref"
	}
	return fmt.Sprintf("type 0x%02x", byte(t))
}

// FuncType is a function signature.
type FuncType struct {
	Params, Results []ValType
}

// String formats the signature as "(i32, i64) -> i32", "() -> ()".
func (t FuncType) String() string {
	return "(" + joinTypes(t.Params) + ") -> " + func() string {
		if len(t.Results) == 1 {
			return t.Results[0].String()
		}
		return "(" + joinTypes(t.Results) + ")"
	}()
}

func joinTypes(ts []ValType) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = t.String()
	}
	return strings.Join(s, ", ")
}

// Equal reports whether t and u are the same signature.
func (t FuncType) Equal(u FuncType) bool {
	return slices.Equal(t.Params, u.Params) && slices.Equal(t.Results, u.Results)
}

// Import is a function a guest may import: module and field name, and
// signature.
type Import struct {
	Module, Name string
	Type         FuncType
}

// Limits are a profile's structural limits. Zero means no limit (beyond
// the implementation limits every profile has: those engines agree on,
// see metering's README, e.g. 50,000 locals per function, 7,654,321 bytes
// per function body, 10⁶ functions).
type Limits struct {
	// CodeSize: bytes of the code section (every function body).
	CodeSize uint32
	// FunctionSize: bytes of one function body.
	FunctionSize uint32
	// Functions: functions, imported and defined.
	Functions uint32
	// Locals: locals of one function, its parameters included.
	Locals uint32
	// Globals: globals, imported and defined.
	Globals uint32
	// Nesting: control nesting depth, the blocks, loops and ifs open at
	// once in a function body (the body itself not counted).
	Nesting uint32
	// LoopNesting: loops open at once in a function body.
	LoopNesting uint32
	// BrTable: targets of one br_table, its default target included.
	BrTable uint32
	// TableSize: initial size (declared minimum) of each table, in
	// elements. Growth is bounded at run time (runtime.WithTableLimit).
	TableSize uint32
	// DataSize: bytes of all data segments together.
	DataSize uint32
	// MemoryInitial: initial size (declared minimum) of the memory, in
	// pages of 64 KiB.
	MemoryInitial uint32
	// MemoryMaximum: declared maximum of the memory, in pages (a memory
	// without a declared maximum passes; the runtime caps it with its
	// memory limit, runtime.WithMemoryLimitPages).
	MemoryMaximum uint32
}

// Default limits (see DefaultLimits and the README's table for what
// they refuse and what real guests need).
const (
	DefaultCodeSize      = 16 << 20
	DefaultFunctionSize  = 1 << 20
	DefaultFunctions     = 100_000
	DefaultLocals        = 50_000
	DefaultGlobals       = 10_000
	DefaultNesting       = 1024
	DefaultLoopNesting   = 32
	DefaultBrTable       = 4096
	DefaultTableSize     = 1 << 20
	DefaultDataSize      = 16 << 20
	DefaultMemoryInitial = 1024
)

// DefaultLimits returns the limits of every named profile: small enough
// that no module within them is a compile-time bomb of the kinds found
// (deeply nested loops or blocks, huge br_tables, millions of functions:
// refused in milliseconds), large enough for real guests (a 7.6 MB Go
// program using a dozen standard packages needs nesting 570, one loop
// level, br_table 1,145, 4,264 functions). The memory maximum is not
// limited.
func DefaultLimits() Limits {
	return Limits{
		CodeSize:      DefaultCodeSize,
		FunctionSize:  DefaultFunctionSize,
		Functions:     DefaultFunctions,
		Locals:        DefaultLocals,
		Globals:       DefaultGlobals,
		Nesting:       DefaultNesting,
		LoopNesting:   DefaultLoopNesting,
		BrTable:       DefaultBrTable,
		TableSize:     DefaultTableSize,
		DataSize:      DefaultDataSize,
		MemoryInitial: DefaultMemoryInitial,
	}
}

// Profile is what a module must satisfy: the features it may use, whether
// it may have a start section, the imports it may have, the exports it
// must have and its structural limits. Start from a named profile
// (DefaultProfile, MVPProfile, WASM2Profile, DeterministicProfile,
// AspectProfile, or Named) and adjust it; the zero Profile allows only
// the MVP, no start section, and sets no limit.
type Profile struct {
	// Name names the profile in errors.
	Name string
	// Features are the proposals the module may use beyond the MVP.
	Features Feature
	// Deterministic refuses the float instructions whose NaN results have
	// unspecified bit patterns (metering's determinism profile: f32/f64
	// add, sub, mul, div, sqrt, min, max, ceil, floor, trunc, nearest,
	// f32.demote_f64, f64.promote_f32).
	Deterministic bool
	// AllowStart allows a start section.
	AllowStart bool
	// RestrictImports restricts imports to Imports: only function imports,
	// each listed with its exact signature.
	RestrictImports bool
	// Imports are the allowed imports, with RestrictImports (e.g.
	// runtime.HostAPIRegistry.Imports).
	Imports []Import
	// RequireMemory requires a memory exported as "memory".
	RequireMemory bool
	// RequireAllocate requires a function exported as "allocate" of type
	// (i32) -> i32, the guest ABI's allocator.
	RequireAllocate bool
	// Entries are functions the module must export with the guest ABI's
	// signature: i32 parameters (any number), one i32 result or none.
	Entries []string
	// Limits are the structural limits.
	Limits Limits
}

// Profile names, for Named.
const (
	NameDefault       = "default"
	NameMVP           = "mvp"
	NameWASM2         = "wasm2"
	NameDeterministic = "deterministic"
	NameAspect        = "aspect"
)

// DefaultProfile is what runtime.Compile and runtime.New apply: the
// WebAssembly 2.0 proposals the library supports and extended constant
// expressions (which the runtime folds), a start section allowed (the
// runtime calls it as an ordinary call), any imports and exports (the
// runtime checks them when it links and calls), and DefaultLimits.
func DefaultProfile() Profile {
	return Profile{Name: NameDefault, Features: WASM2 | ExtendedConst, AllowStart: true, Limits: DefaultLimits()}
}

// MVPProfile allows WebAssembly 1.0 as first released (no proposal), a
// start section, any imports and exports, with DefaultLimits.
func MVPProfile() Profile {
	return Profile{Name: NameMVP, Features: MVP, AllowStart: true, Limits: DefaultLimits()}
}

// WASM2Profile allows the WebAssembly 2.0 proposals the library supports
// (WASM2), a start section, any imports and exports, with DefaultLimits.
func WASM2Profile() Profile {
	return Profile{Name: NameWASM2, Features: WASM2, AllowStart: true, Limits: DefaultLimits()}
}

// DeterministicProfile is WASM2Profile without the float instructions
// that may produce NaNs of unspecified bit patterns, for replicated
// systems whose nodes must compute the same bits on every engine and CPU.
func DeterministicProfile() Profile {
	return Profile{Name: NameDeterministic, Features: WASM2, Deterministic: true, AllowStart: true, Limits: DefaultLimits()}
}

// AspectProfile is for guests of this runtime: WASM2 features, the guest
// ABI's exports required (a memory exported as "memory", "allocate" of
// type (i32) -> i32), no start section (a guest initializes itself in
// __aspect_start__ or a WASI reactor's _initialize, which the runtime
// calls with the caller's meter and deadline), DefaultLimits. Add entry
// points to Entries and a registry's imports to Imports (with
// RestrictImports) to check a deployment completely.
func AspectProfile() Profile {
	return Profile{Name: NameAspect, Features: WASM2, RequireMemory: true, RequireAllocate: true, Limits: DefaultLimits()}
}

var named = []func() Profile{DefaultProfile, MVPProfile, WASM2Profile, DeterministicProfile, AspectProfile}

// ProfileNames returns the names of the named profiles, the default first:
// default, mvp, wasm2, deterministic, aspect.
func ProfileNames() []string {
	names := make([]string, len(named))
	for i, p := range named {
		names[i] = p().Name
	}
	return names
}

// Named returns the named profile, or an error matching ErrUnknownProfile.
func Named(name string) (Profile, error) {
	for _, p := range named {
		if pr := p(); pr.Name == name {
			return pr, nil
		}
	}
	return Profile{}, fmt.Errorf("%w: %q (known: %s)", ErrUnknownProfile, name, strings.Join(ProfileNames(), ", "))
}
