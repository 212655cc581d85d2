package runtime

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// Sentinel errors. Every error the runtime returns matches one of them with
// errors.Is; the typed errors below carry the details and also match the
// underlying cause (the host's own error, an abi error, the context's error).
var (
	// ErrUnknownEngine: no engine of that name is linked into the binary.
	ErrUnknownEngine = errors.New("aspect: unknown engine")
	// ErrCompile: the module bytes are malformed or invalid.
	ErrCompile = errors.New("aspect: invalid module")
	// ErrLink: an import of the module cannot be satisfied (see LinkError).
	ErrLink = errors.New("aspect: unresolved import")
	// ErrMissingExport: the module exports no function of that name.
	ErrMissingExport = errors.New("aspect: missing export")
	// ErrSignature: an export does not follow the ABI's pointer convention.
	ErrSignature = errors.New("aspect: unsupported export signature")
	// ErrArgCount: the number of arguments does not match the export.
	ErrArgCount = errors.New("aspect: wrong argument count")
	// ErrInvalidArgument: an argument cannot be encoded (see ArgumentError).
	ErrInvalidArgument = errors.New("aspect: invalid argument")
	// ErrTrap: the guest trapped (see TrapError for the engine-neutral code).
	ErrTrap = errors.New("aspect: guest trapped")
	// ErrAbort: the guest called env.abort (see AbortError).
	ErrAbort = errors.New("aspect: guest aborted")
	// ErrHost: a host function returned an error (see HostError).
	ErrHost = errors.New("aspect: host function failed")
	// ErrHostPanic: a host function panicked; the panic was recovered.
	ErrHostPanic = errors.New("aspect: host function panicked")
	// ErrABI: the guest broke the ABI: a bad pointer, length, tag or value.
	ErrABI = errors.New("aspect: ABI violation")
	// ErrAllocate: the guest's allocate export is missing, trapped or
	// returned memory outside its linear memory.
	ErrAllocate = errors.New("aspect: guest allocation failed")
	// ErrInterrupted: the call's context was cancelled or its deadline
	// passed while the guest ran. The error also matches the context's error.
	ErrInterrupted = errors.New("aspect: call interrupted")
	// ErrClosed: the runtime or module was closed.
	ErrClosed = errors.New("aspect: closed")
	// ErrInvalidAPI: a host function cannot be registered (see AddAPI).
	ErrInvalidAPI = errors.New("aspect: invalid host API")
	// ErrReentrant: a host function called back into the Runtime that is
	// running it (Call, CallWasm, Reset or Close), which would wait for
	// itself forever (see ReentrantError).
	ErrReentrant = errors.New("aspect: re-entrant call")
	// ErrEngine: the engine failed in a way that is not the guest's doing
	// (it panicked, or could not create an instance). The engine's own
	// error, when there is one, is in the chain.
	ErrEngine = errors.New("aspect: engine failure")
	// ErrNotMetered: a call's context carries a Meter but the module was
	// compiled without WithMetering, so the Meter could not bound it.
	ErrNotMetered = errors.New("aspect: module not metered")
	// ErrWarmup: the warm-up function of WithWarmup failed, panicked or
	// left the instance faulted, so the instance was not created (see
	// WarmupError).
	ErrWarmup = errors.New("aspect: warm-up failed")
)

// ReentrantError reports an operation on a Runtime from inside one of its
// own host functions. It matches ErrReentrant.
type ReentrantError struct {
	Op string // "Call", "CallWasm", "Reset" or "Close"
	// warmup: the operation was refused during the runtime's warm-up
	// (WithWarmup), not in a host function.
	warmup bool
}

// Error implements error.
func (e *ReentrantError) Error() string {
	if e.warmup {
		return "aspect: re-entrant call: " + e.Op + " of the runtime during its own warm-up (WithWarmup)"
	}
	return "aspect: re-entrant call: " + e.Op + " from a host function of the same runtime"
}

// Unwrap returns ErrReentrant.
func (e *ReentrantError) Unwrap() error { return ErrReentrant }

// TrapCode classifies a trap independently of the engine.
type TrapCode = engine.TrapCode

// Trap codes.
const (
	TrapUnknown                  = engine.TrapUnknown
	TrapUnreachable              = engine.TrapUnreachable
	TrapIntegerDivideByZero      = engine.TrapIntegerDivideByZero
	TrapIntegerOverflow          = engine.TrapIntegerOverflow
	TrapInvalidConversion        = engine.TrapInvalidConversion
	TrapOutOfBoundsMemory        = engine.TrapOutOfBoundsMemory
	TrapOutOfBoundsTable         = engine.TrapOutOfBoundsTable
	TrapIndirectCallTypeMismatch = engine.TrapIndirectCallTypeMismatch
	TrapNullReference            = engine.TrapNullReference
	TrapStackOverflow            = engine.TrapStackOverflow
	TrapUnalignedAtomic          = engine.TrapUnalignedAtomic
	TrapInterrupted              = engine.TrapInterrupted
	TrapMemoryLimit              = engine.TrapMemoryLimit
	TrapOutOfGas                 = engine.TrapOutOfGas
	TrapCallDepth                = engine.TrapCallDepth
)

// TrapError reports a guest trap. It matches ErrTrap.
type TrapError struct {
	Func string   // the export that was called
	Code TrapCode // engine-neutral classification
	// Err is the engine's *engine.Trap, for diagnostics; its message differs
	// between engines.
	Err error
}

// Error implements error.
func (e *TrapError) Error() string {
	return fmt.Sprintf("aspect: %s: guest trapped: %s", e.Func, e.Code)
}

// Unwrap returns ErrTrap and the engine's error.
func (e *TrapError) Unwrap() []error { return []error{ErrTrap, e.Err} }

// InterruptError reports a call stopped because its context ended. It
// matches ErrInterrupted and the context's error (context.DeadlineExceeded or
// context.Canceled).
type InterruptError struct {
	Func  string
	Cause error // the context's error
}

// Error implements error.
func (e *InterruptError) Error() string {
	return fmt.Sprintf("aspect: %s: call interrupted: %v", e.Func, e.Cause)
}

// Unwrap returns ErrInterrupted and the context's error.
func (e *InterruptError) Unwrap() []error { return []error{ErrInterrupted, e.Cause} }

// AbortError reports a call of env.abort by the guest (AssemblyScript's
// abort, also raised by `throw`). It matches ErrAbort.
type AbortError struct {
	Func    string
	Message string // decoded from the guest; a placeholder if unreadable
	File    string
	Line    uint32
	Column  uint32
}

// Error implements error.
func (e *AbortError) Error() string {
	return fmt.Sprintf("aspect: %s: guest aborted: %s (%s:%d:%d)", e.Func, e.Message, e.File, e.Line, e.Column)
}

// Unwrap returns ErrAbort.
func (e *AbortError) Unwrap() error { return ErrAbort }

// HostError reports a failed host function. It matches ErrHost and the
// function's own error (errors.Is and errors.As reach it); a recovered panic
// also matches ErrHostPanic.
type HostError struct {
	Module, Namespace, Method string
	Err                       error
}

// Error implements error.
func (e *HostError) Error() string {
	return fmt.Sprintf("aspect: host function %s/%s.%s: %s", e.Module, e.Namespace, e.Method, inner(e.Err))
}

// Unwrap returns ErrHost and the host function's error.
func (e *HostError) Unwrap() []error { return []error{ErrHost, e.Err} }

// PanicError is a panic recovered from a host function. It matches
// ErrHostPanic.
type PanicError struct {
	Value any
	Stack []byte
}

// Error implements error.
func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// Unwrap returns ErrHostPanic, and the panic value if it is an error.
func (e *PanicError) Unwrap() []error {
	if err, ok := e.Value.(error); ok {
		return []error{ErrHostPanic, err}
	}
	return []error{ErrHostPanic}
}

// WarmupError reports a failed warm-up (see WithWarmup): the warm-up
// function returned Err, or panicked with Panic, or left the instance
// faulted with Err. It matches ErrWarmup and Err (or Panic, if that is an
// error).
type WarmupError struct {
	Err      error
	Panicked bool   // the warm-up function panicked
	Panic    any    // the panic value, if Panicked
	Stack    []byte // the panicking goroutine's stack, if Panicked
}

// Error implements error.
func (e *WarmupError) Error() string {
	if e.Panicked {
		return fmt.Sprintf("aspect: warm-up failed: the warm-up function panicked: %v", e.Panic)
	}
	return "aspect: warm-up failed: " + inner(e.Err)
}

// Unwrap returns ErrWarmup and the cause.
func (e *WarmupError) Unwrap() []error {
	if e.Panicked {
		if err, ok := e.Panic.(error); ok {
			return []error{ErrWarmup, err}
		}
		return []error{ErrWarmup}
	}
	return []error{ErrWarmup, e.Err}
}

// ABIError reports a guest that broke the ABI. It matches ErrABI and the
// abi package's error (abi.ErrOutOfBounds, abi.ErrMalformed, …), or
// ErrAllocate for allocator failures.
type ABIError struct {
	Func   string // the export called, or the host function involved
	Detail string
	Err    error
}

// Error implements error.
func (e *ABIError) Error() string {
	msg := "aspect: " + e.Func + ": ABI violation"
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.Err != nil {
		msg += ": " + inner(e.Err)
	}
	return msg
}

// Unwrap returns ErrABI and the cause.
func (e *ABIError) Unwrap() []error { return []error{ErrABI, e.Err} }

// LinkError reports an import the runtime cannot satisfy. It matches ErrLink.
type LinkError struct {
	Module, Name string
	Detail       string
}

// Error implements error.
func (e *LinkError) Error() string {
	return fmt.Sprintf("aspect: unresolved import %s.%s: %s", e.Module, e.Name, e.Detail)
}

// Unwrap returns ErrLink.
func (e *LinkError) Unwrap() error { return ErrLink }

// ArgumentError reports a call argument rejected before the guest ran. It
// matches ErrInvalidArgument and the abi package's error.
type ArgumentError struct {
	Func  string
	Index int
	Err   error
}

// Error implements error.
func (e *ArgumentError) Error() string {
	return fmt.Sprintf("aspect: %s: argument %d: %s", e.Func, e.Index, inner(e.Err))
}

// Unwrap returns ErrInvalidArgument and the cause.
func (e *ArgumentError) Unwrap() []error { return []error{ErrInvalidArgument, e.Err} }

// inner is the message of an error wrapped in one of the runtime's, without
// its own "aspect: " prefix, so that a message says it once.
func inner(err error) string {
	if err == nil {
		return "<nil>"
	}
	return strings.TrimPrefix(err.Error(), "aspect: ")
}
