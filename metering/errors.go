package metering

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error returned by [Instrument] matches exactly one of
// them with [errors.Is]; the typed errors below carry the details.
var (
	// ErrMalformed reports bytes that are not a WebAssembly binary module
	// (bad magic or version, truncated or over-long encodings, unknown
	// opcodes or section ids, sizes that do not add up, ...).
	ErrMalformed = errors.New("metering: malformed module")
	// ErrInvalid reports a well-formed module that does not validate (type
	// mismatch, index out of range, duplicate export, ...).
	ErrInvalid = errors.New("metering: invalid module")
	// ErrTooLarge reports a module that exceeds an implementation limit (the
	// limits engines agree on: 50000 locals per function, 1000 parameters,
	// 7654321 bytes per function body, ...).
	ErrTooLarge = errors.New("metering: module exceeds an implementation limit")
	// ErrReservedName reports a module that already uses one of the names the
	// instrumenter injects (the exports __gas_counter__, __call_depth__ and
	// __yield_countdown__, the imports aspect.out_of_gas,
	// aspect.call_depth_exceeded and aspect.yield) — for example
	// a module that is already instrumented — or, for PrepareSnapshot, an
	// export name it reserves (GlobalExportPrefix, MemoryExport).
	ErrReservedName = errors.New("metering: module uses a reserved name")
	// ErrUnsupportedFeature is matched by every *UnsupportedFeatureError.
	ErrUnsupportedFeature = errors.New("metering: unsupported WebAssembly feature")
	// ErrNondeterministic is matched by every *NondeterministicError.
	ErrNondeterministic = errors.New("metering: non-deterministic instruction")
	// ErrMemoryLimit is matched by every *MemoryLimitError.
	ErrMemoryLimit = errors.New("metering: initial memory exceeds the limit")
	// ErrTableLimit is matched by every *TableLimitError.
	ErrTableLimit = errors.New("metering: initial table size exceeds the limit")
	// ErrConfig reports an invalid [Config] (a cost out of range, ...).
	ErrConfig = errors.New("metering: invalid config")
)

// ModuleError describes why a module was rejected as malformed, invalid, too
// large or using a reserved name. Kind is one of [ErrMalformed],
// [ErrInvalid], [ErrTooLarge] or [ErrReservedName]; errors.Is(err, Kind)
// holds.
type ModuleError struct {
	Kind error
	// Offset is the byte offset in the input module where the problem was
	// found, or -1.
	Offset int
	// Func is the index of the function (in the original module's function
	// index space) whose body holds the problem, or -1.
	Func int
	// Reason is a human-readable explanation.
	Reason string
}

// Error implements the error interface.
func (e *ModuleError) Error() string {
	s := e.Kind.Error()
	if e.Offset >= 0 {
		s += fmt.Sprintf(" at offset %#x", e.Offset)
	}
	if e.Func >= 0 {
		s += fmt.Sprintf(" (func %d)", e.Func)
	}
	return s + ": " + e.Reason
}

// Unwrap returns Kind.
func (e *ModuleError) Unwrap() error { return e.Kind }

// UnsupportedFeatureError reports a module that uses a WebAssembly feature
// the instrumenter does not support, so it cannot be metered correctly.
// Feature is one of "simd", "threads", "exceptions", "tail-call",
// "function-references", "gc", "memory64", "multi-memory", "extended-const",
// "custom-page-sizes" or "wide-arithmetic".
type UnsupportedFeatureError struct {
	Feature string
	// Offset is the byte offset in the input module of the construct.
	Offset int
	// Detail names the construct, e.g. "opcode 0xfd 0x0c" or "shared memory".
	Detail string
}

// Error implements the error interface.
func (e *UnsupportedFeatureError) Error() string {
	return fmt.Sprintf("metering: unsupported WebAssembly feature %q at offset %#x: %s", e.Feature, e.Offset, e.Detail)
}

// Unwrap returns [ErrUnsupportedFeature].
func (e *UnsupportedFeatureError) Unwrap() error { return ErrUnsupportedFeature }

// NondeterministicError reports, when [Config.Deterministic] is set, an
// instruction whose result may differ between engines (a float operation
// that can produce a NaN with an unspecified bit pattern).
type NondeterministicError struct {
	// Instruction is the text-format name, e.g. "f64.add".
	Instruction string
	// Offset is the byte offset of the instruction in the input module.
	Offset int
	// Func is the index of the function (original index space).
	Func int
}

// Error implements the error interface.
func (e *NondeterministicError) Error() string {
	return fmt.Sprintf("metering: non-deterministic instruction %s at offset %#x (func %d)", e.Instruction, e.Offset, e.Func)
}

// Unwrap returns [ErrNondeterministic].
func (e *NondeterministicError) Unwrap() error { return ErrNondeterministic }

// MemoryLimitError reports a module whose initial memory (in 64 KiB pages) is
// larger than [Config.MaxMemoryPages].
type MemoryLimitError struct {
	Initial uint32
	Limit   uint32
}

// Error implements the error interface.
func (e *MemoryLimitError) Error() string {
	return fmt.Sprintf("metering: initial memory of %d pages exceeds the limit of %d pages", e.Initial, e.Limit)
}

// Unwrap returns [ErrMemoryLimit].
func (e *MemoryLimitError) Unwrap() error { return ErrMemoryLimit }

// TableLimitError reports a module with a table whose initial size (its
// declared minimum, in elements) is larger than [Config.MaxTableElements].
type TableLimitError struct {
	// Table is the table's index (imported tables first).
	Table   uint32
	Initial uint32
	Limit   uint32
}

// Error implements the error interface.
func (e *TableLimitError) Error() string {
	return fmt.Sprintf("metering: initial size of table %d, %d elements, exceeds the limit of %d elements", e.Table, e.Initial, e.Limit)
}

// Unwrap returns [ErrTableLimit].
func (e *TableLimitError) Unwrap() error { return ErrTableLimit }

func malformed(off int, format string, args ...any) error {
	return &ModuleError{Kind: ErrMalformed, Offset: off, Func: -1, Reason: fmt.Sprintf(format, args...)}
}

func invalid(off int, format string, args ...any) error {
	return &ModuleError{Kind: ErrInvalid, Offset: off, Func: -1, Reason: fmt.Sprintf(format, args...)}
}

func tooLarge(off int, format string, args ...any) error {
	return &ModuleError{Kind: ErrTooLarge, Offset: off, Func: -1, Reason: fmt.Sprintf(format, args...)}
}

func unsupported(off int, feature, format string, args ...any) error {
	return &UnsupportedFeatureError{Feature: feature, Offset: off, Detail: fmt.Sprintf(format, args...)}
}
