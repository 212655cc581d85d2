package wazero

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// wazero raises traps as *wasmruntime.Error values, an internal package, and
// returns them wrapped as "wasm error: <message>\nwasm stack trace: ...",
// except a stack overflow in the compiler, which it returns unwrapped. The
// values are not reachable from outside wazero, so a trap is recognized by
// the type of a link in the error chain and classified by its exact message.

const wasmRuntimeErrorPkg = "github.com/tetratelabs/wazero/internal/wasmruntime"

// trapCodes maps the messages of wazero's wasmruntime errors to trap codes.
// Traps missing here are TrapUnknown.
var trapCodes = map[string]engine.TrapCode{
	"unreachable":                   engine.TrapUnreachable,
	"integer divide by zero":        engine.TrapIntegerDivideByZero,
	"integer overflow":              engine.TrapIntegerOverflow,
	"invalid conversion to integer": engine.TrapInvalidConversion,
	"out of bounds memory access":   engine.TrapOutOfBoundsMemory,
	// Both an index past the table and an uninitialized element.
	"invalid table access":        engine.TrapOutOfBoundsTable,
	"indirect call type mismatch": engine.TrapIndirectCallTypeMismatch,
	"null reference":              engine.TrapNullReference,
	"stack overflow":              engine.TrapStackOverflow,
	"unaligned atomic":            engine.TrapUnalignedAtomic,
}

// callError converts an error from wazero's CallWithStack or
// InstantiateModule: a host function's error is returned as is, a trap as a
// *engine.Trap, anything else unchanged.
func callError(err error) error {
	if cerr, ok := guestError(err); ok {
		return cerr
	}
	return err
}

// instantiateError converts an error from InstantiateModule: a trap or host
// error from a start function as callError does, anything else wrapped.
func instantiateError(err error) error {
	if cerr, ok := guestError(err); ok {
		return cerr
	}
	if strings.HasPrefix(err.Error(), "wazero: ") {
		return err
	}
	return fmt.Errorf("wazero: instantiate: %w", err)
}

// guestError returns the host function's error or the trap that err
// carries, if any.
func guestError(err error) (error, bool) {
	var he *hostError
	if errors.As(err, &he) {
		return he.err, true
	}
	if code, ok := trapCode(err); ok {
		return &engine.Trap{Code: code, Message: err.Error()}, true
	}
	return nil, false
}

// trapCode reports whether err is a trap, and which.
func trapCode(err error) (engine.TrapCode, bool) {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if t := reflect.TypeOf(e); t.Kind() == reflect.Pointer &&
			t.Elem().Name() == "Error" && t.Elem().PkgPath() == wasmRuntimeErrorPkg {
			return trapCodes[e.Error()], true // TrapUnknown if missing
		}
	}
	// Should the error type move, recognize wazero's message format.
	msg := err.Error()
	if i := strings.Index(msg, "wasm error: "); i >= 0 {
		msg = msg[i+len("wasm error: "):]
		if j := strings.IndexByte(msg, '\n'); j >= 0 {
			msg = msg[:j]
		}
		return trapCodes[msg], true
	}
	return engine.TrapUnknown, false
}
