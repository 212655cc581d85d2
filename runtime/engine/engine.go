// Package engine is the service-provider interface (SPI) between the
// engine-neutral runtime and the WebAssembly engines that execute guests.
//
// An engine adapter (wasmtime, wazero, wasmer) implements [Engine],
// [Module], [Instance], [Function] and [Memory] over raw wasm values and
// registers itself from its package's init function with [Register], the
// way database/sql drivers do. Everything typed (the ABI codec, host API
// reflection, error normalization) lives above this package, so that every
// engine behaves the same by construction. Adapters stay thin: they compile,
// instantiate with raw host functions, call exports with raw values, give
// bounds-checked access to linear memory, map traps to [TrapCode]s, and
// close what they create.
//
// Users of the library rarely need this package: they use package runtime.
package engine

import (
	"context"
	"fmt"
	"sort"
	"sync"
)

// ValueType is a WebAssembly value type, encoded as in the binary format.
type ValueType byte

// The numeric value types. Reference and vector types never cross the SPI.
const (
	I32 ValueType = 0x7f
	I64 ValueType = 0x7e
	F32 ValueType = 0x7d
	F64 ValueType = 0x7c
)

// String returns the type's name in the text format, e.g. "i32".
func (t ValueType) String() string {
	switch t {
	case I32:
		return "i32"
	case I64:
		return "i64"
	case F32:
		return "f32"
	case F64:
		return "f64"
	}
	return fmt.Sprintf("valuetype(%#x)", byte(t))
}

// FuncType is a function signature.
type FuncType struct {
	Params  []ValueType
	Results []ValueType
}

// Equal reports whether t and o have the same params and results.
func (t FuncType) Equal(o FuncType) bool {
	if len(t.Params) != len(o.Params) || len(t.Results) != len(o.Results) {
		return false
	}
	for i := range t.Params {
		if t.Params[i] != o.Params[i] {
			return false
		}
	}
	for i := range t.Results {
		if t.Results[i] != o.Results[i] {
			return false
		}
	}
	return true
}

// String formats t as "(i32, i32) -> (i32)".
func (t FuncType) String() string {
	s := "("
	for i, p := range t.Params {
		if i > 0 {
			s += ", "
		}
		s += p.String()
	}
	s += ") -> ("
	for i, r := range t.Results {
		if i > 0 {
			s += ", "
		}
		s += r.String()
	}
	return s + ")"
}

// ExternKind is the kind of an import or export.
type ExternKind byte

// Extern kinds, encoded as in the binary format.
const (
	ExternFunc   ExternKind = 0
	ExternTable  ExternKind = 1
	ExternMemory ExternKind = 2
	ExternGlobal ExternKind = 3
)

// String returns "func", "table", "memory" or "global".
func (k ExternKind) String() string {
	switch k {
	case ExternFunc:
		return "func"
	case ExternTable:
		return "table"
	case ExternMemory:
		return "memory"
	case ExternGlobal:
		return "global"
	}
	return fmt.Sprintf("externkind(%d)", byte(k))
}

// Import describes one import of a compiled module. Type is set for
// functions only.
type Import struct {
	Module string
	Name   string
	Kind   ExternKind
	Type   FuncType
}

// Export describes one export of a compiled module. Type is set for
// functions only.
type Export struct {
	Name string
	Kind ExternKind
	Type FuncType
}

// Capabilities states what an engine enforces natively. The runtime and the
// conformance suite use it to pick a mechanism or to report, by name, what an
// engine cannot do; nothing is silently skipped.
type Capabilities struct {
	// Interrupt: Function.Call stops a running guest when its context is
	// cancelled or its deadline passes, returning a Trap with TrapInterrupted.
	// Without it, the runtime stops calls itself, at the yield checkpoints
	// the metering instrumentation adds (a host call at a function entry or
	// loop header every so much gas, or, for an unmetered module, every so
	// many instructions); only a module compiled with WithTrustedCode, which
	// gets no instrumentation, then cannot be interrupted once the guest
	// runs.
	Interrupt bool
	// MemoryLimit: CompileConfig.MemoryLimitPages is enforced; memory.grow past
	// the limit returns -1 inside the guest.
	MemoryLimit bool
}

// Config configures an engine when it is opened.
type Config struct {
	// CacheDir, if set, is a directory the engine may use to persist
	// compiled code across processes. Engines that implement Serializer
	// leave it to the runtime; others (wazero) use it for their own cache and
	// must never trust a file they did not verify.
	CacheDir string
}

// Serializer is implemented by engines whose compiled modules can be saved
// and loaded. The runtime stores the bytes with a checksum and loads them
// only for the same engine name and Version, so Deserialize only ever sees
// bytes Serialize produced.
type Serializer interface {
	// Version identifies the engine build; serialized code is valid only for
	// the same Version.
	Version() string
	// Serialize returns the compiled code of m.
	Serialize(m Module) ([]byte, error)
	// Deserialize recreates a module from Serialize's bytes.
	Deserialize(ctx context.Context, data []byte, cfg CompileConfig) (Module, error)
}

// CompileConfig configures compilation of one module.
type CompileConfig struct {
	// MemoryLimitPages caps every memory of the module's instances, in 64 KiB
	// pages. Zero means the engine's default (65536 pages, 4 GiB). Honoured
	// only where Capabilities.MemoryLimit is true.
	MemoryLimitPages uint32
}

// InstanceConfig configures one instantiation.
type InstanceConfig struct{}

// Engine compiles modules. Implementations are safe for concurrent use.
type Engine interface {
	// Name returns the name the engine registered under.
	Name() string
	// Capabilities states what the engine enforces natively.
	Capabilities() Capabilities
	// Compile validates and compiles a binary module. The returned error
	// describes malformed or invalid bytes; the runtime wraps it.
	Compile(ctx context.Context, wasm []byte, cfg CompileConfig) (Module, error)
	// Close releases the engine. Modules must be closed first.
	Close(ctx context.Context) error
}

// Module is a compiled module. Implementations are safe for concurrent use:
// many instances may be created from one module, also concurrently.
type Module interface {
	// Imports lists the module's imports in declaration order.
	Imports() []Import
	// Exports lists the module's exports in declaration order.
	Exports() []Export
	// Instantiate creates an instance. host holds one entry for every function
	// import of the module (the runtime resolves and type-checks them before
	// calling; adapters may rely on it); the module must import nothing else.
	// Start sections run during instantiation; no other export is called.
	Instantiate(ctx context.Context, host []HostFunc, cfg InstanceConfig) (Instance, error)
	// Close releases the compiled code. Instances must be closed first.
	Close(ctx context.Context) error
}

// HostFunc is a Go function a guest imports as Module.Name.
type HostFunc struct {
	Module string
	Name   string
	Type   FuncType
	// Call runs the function. stack holds the params as raw values (see
	// [Function.Call] for the encoding) and has room for
	// max(len(Params), len(Results)) values; Call writes the results into
	// stack[:len(Results)]. A non-nil error aborts the guest: the pending
	// Function.Call returns an error for which errors.Is(err, thatError) holds.
	// Call must not panic (the runtime recovers host panics itself).
	Call func(ctx context.Context, caller Caller, stack []uint64) error
}

// Caller is the instance that called a host function, seen from inside the
// call. It is valid only until the host function returns.
type Caller interface {
	// Memory returns the caller's exported memory "memory", or nil.
	Memory() Memory
	// Function returns the caller's exported function name, or nil. Calling it
	// re-enters the guest (for example to call its allocator).
	Function(name string) Function
}

// Instance is an instantiated module. An instance is not safe for concurrent
// use: the runtime serializes calls into it.
type Instance interface {
	// Function returns the exported function name, or nil if there is no
	// exported function of that name. The result may be cached by the caller
	// for the instance's lifetime.
	Function(name string) Function
	// Memory returns the exported memory "memory", or nil.
	Memory() Memory
	// Global returns the exported global name, or nil.
	Global(name string) Global
	// Close releases the instance deterministically. It is idempotent.
	Close(ctx context.Context) error
}

// Global is an exported global of one instance. Values use the raw encoding
// of Function.Call. The runtime uses globals it injected itself (the gas and
// call-depth counters, the yield threshold) and the module's own mutable
// globals (to restore an instance's state without re-instantiating it).
type Global interface {
	// Type returns the global's value type.
	Type() ValueType
	// Get returns the current value.
	Get() uint64
	// Set changes the value. It does nothing on an immutable global.
	Set(v uint64)
}

// Function is an exported function of one instance.
type Function interface {
	// Type returns the function's signature.
	Type() FuncType
	// Call calls the function. stack holds the params and must have room for
	// max(len(Params), len(Results)) values; on success the results are in
	// stack[:len(Results)]. Values are raw: i32 as uint64(uint32(x)), i64 as
	// uint64(x), f32 as uint64(math.Float32bits(x)), f64 as
	// math.Float64bits(x). A trap returns a *Trap; a host function's error
	// returns an error wrapping it.
	Call(ctx context.Context, stack []uint64) error
}

// Memory is a linear memory with bounds-checked access. Slices returned by
// Read alias the memory: they are valid until the guest runs again or the
// memory grows, and callers copy what they keep.
type Memory interface {
	// Size returns the current size in bytes.
	Size() uint32
	// Read returns length bytes at offset, or false if any is out of range.
	Read(offset, length uint32) ([]byte, bool)
	// Write copies data to offset, or returns false (writing nothing) if any
	// byte would be out of range.
	Write(offset uint32, data []byte) bool
}

// Driver opens engines of one kind.
type Driver interface {
	// Open creates an engine.
	Open(cfg Config) (Engine, error)
}

var (
	driversMu sync.RWMutex
	drivers   = map[string]Driver{}
)

// Register makes a driver available under name. It is called from the init
// function of an engine package and panics if name is registered twice or
// driver is nil, as database/sql.Register does.
func Register(name string, driver Driver) {
	driversMu.Lock()
	defer driversMu.Unlock()
	if driver == nil {
		panic("engine: Register driver is nil")
	}
	if _, dup := drivers[name]; dup {
		panic("engine: Register called twice for driver " + name)
	}
	drivers[name] = driver
}

// Drivers returns the names of the registered drivers, sorted.
func Drivers() []string {
	driversMu.RLock()
	defer driversMu.RUnlock()
	names := make([]string, 0, len(drivers))
	for n := range drivers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Lookup returns the driver registered under name.
func Lookup(name string) (Driver, bool) {
	driversMu.RLock()
	defer driversMu.RUnlock()
	d, ok := drivers[name]
	return d, ok
}
