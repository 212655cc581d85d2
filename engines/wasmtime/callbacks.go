//go:build cgo && !wazero && !wasmer

package wasmtime

// This file holds the Go functions the C shim calls back; its preamble may
// only declare (cgo's rule for files with //export).

// #include "shim.h"
import "C"

import (
	"context"
	"fmt"
	"runtime/cgo"
	"unsafe"

	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// hostEntry is one host function of one instance; its cgo.Handle is the env
// pointer of the wasmtime function.
type hostEntry struct {
	in *wtInstance
	hf engine.HostFunc
	// slots is max(len(Params), len(Results)).
	slots    int
	nresults int
	// par32 marks the 32-bit params (i32, f32), whose raw upper half is
	// undefined and cleared before the Go function sees it.
	par32 []bool
	// Read at every host call: on cache lines of its own (see cacheLine).
	_ [56]byte
}

func newHostEntry(in *wtInstance, hf engine.HostFunc) *hostEntry {
	e := &hostEntry{
		in:       in,
		hf:       hf,
		slots:    max(len(hf.Type.Params), len(hf.Type.Results)),
		nresults: len(hf.Type.Results),
		par32:    make([]bool, len(hf.Type.Params), max(len(hf.Type.Params), cacheLine))[:len(hf.Type.Params)],
	}
	for i, t := range hf.Type.Params {
		e.par32[i] = t == engine.I32 || t == engine.F32
	}
	return e
}

// hostPanicError is the error of a host function that panicked.
type hostPanicError struct {
	module, name string
	value        any
}

func (e *hostPanicError) Error() string {
	return fmt.Sprintf("wasmtime: host function %s.%s panicked: %v", e.module, e.name, e.value)
}

// Unwrap returns the panic value if it is an error.
func (e *hostPanicError) Unwrap() error {
	err, _ := e.value.(error)
	return err
}

// call runs the Go function, turning a panic into an error.
func (e *hostEntry) call(ctx context.Context, stack []uint64) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &hostPanicError{module: e.hf.Module, name: e.hf.Name, value: r}
		}
	}()
	return e.hf.Call(ctx, &e.in.caller, stack)
}

// aspectWasmtimeHostCall runs the host function whose handle is env. raw is
// wasmtime's args-and-results buffer of n 16-byte raw values. The params are
// compacted in place into 8-byte stack slots (slot i lies within raw value
// i/2, already read), the Go function runs on that view, and its results are
// spread back to 16-byte raw values from the last to the first. It returns 1
// if the host function failed; the error is kept on the instance.
//
//export aspectWasmtimeHostCall
func aspectWasmtimeHostCall(env C.uintptr_t, raw unsafe.Pointer, n C.size_t) (failed C.int) {
	var e *hostEntry
	// A panic must not unwind into wasmtime's frames; the host function's
	// own panics are recovered by e.call.
	defer func() {
		if r := recover(); r != nil {
			if e != nil {
				e.in.hostErr = &hostPanicError{module: e.hf.Module, name: e.hf.Name, value: r}
			}
			failed = 1
		}
	}()
	e = cgo.Handle(env).Value().(*hostEntry)
	in := e.in
	in.memValid = false // the guest ran since the last look
	if int(n) < e.slots {
		in.hostErr = fmt.Errorf("wasmtime: host function %s.%s: %d raw values, need %d",
			e.hf.Module, e.hf.Name, int(n), e.slots)
		return 1
	}
	var stack []uint64
	if e.slots > 0 {
		stack = unsafe.Slice((*uint64)(raw), e.slots)
		for i, is32 := range e.par32 {
			v := *(*uint64)(unsafe.Add(raw, i*16))
			if is32 {
				v &= 0xffffffff
			}
			stack[i] = v
		}
	}
	err := e.call(in.currentContext(), stack)
	in.memValid = false // the host may have re-entered the guest
	if err != nil {
		in.hostErr = err
		return 1
	}
	for i := e.nresults - 1; i >= 0; i-- {
		*(*uint64)(unsafe.Add(raw, i*16)) = stack[i]
	}
	return 0
}

// aspectWasmtimeEpoch is the epoch deadline callback of the store whose
// instance handle is env; it returns 1 to interrupt the guest.
//
//export aspectWasmtimeEpoch
func aspectWasmtimeEpoch(env C.uintptr_t) (stop C.int) {
	defer func() {
		if recover() != nil {
			stop = 0
		}
	}()
	if cgo.Handle(env).Value().(*wtInstance).epochDeadline() {
		return 1
	}
	return 0
}

// message is the text and trap code of a wasmtime error or trap.
type message struct {
	text    string
	hasCode bool
	code    C.wasmtime_trap_code_t
}

// takeMessage deletes st's error or trap and returns its message.
func takeMessage(st C.aspect_wt_status) message {
	m := C.aspect_wt_take(st)
	out := message{hasCode: m.has_code != 0, code: m.code}
	if m.msg.data != nil {
		out.text = C.GoStringN((*C.char)(unsafe.Pointer(m.msg.data)), C.int(m.len))
		C.wasm_byte_vec_delete(&m.msg)
	}
	return out
}

// trapCode maps a wasmtime trap code to the SPI's.
func trapCode(c C.wasmtime_trap_code_t) engine.TrapCode {
	switch c {
	case C.WASMTIME_TRAP_CODE_STACK_OVERFLOW:
		return engine.TrapStackOverflow
	case C.WASMTIME_TRAP_CODE_MEMORY_OUT_OF_BOUNDS:
		return engine.TrapOutOfBoundsMemory
	case C.WASMTIME_TRAP_CODE_HEAP_MISALIGNED:
		return engine.TrapUnalignedAtomic
	case C.WASMTIME_TRAP_CODE_TABLE_OUT_OF_BOUNDS:
		return engine.TrapOutOfBoundsTable
	case C.WASMTIME_TRAP_CODE_INDIRECT_CALL_TO_NULL:
		// call_indirect of an uninitialized table element: wazero reports
		// it as an invalid table access and cannot tell it apart from an
		// index past the table, so both engines say out-of-bounds table.
		return engine.TrapOutOfBoundsTable
	case C.WASMTIME_TRAP_CODE_BAD_SIGNATURE:
		return engine.TrapIndirectCallTypeMismatch
	case C.WASMTIME_TRAP_CODE_INTEGER_OVERFLOW:
		return engine.TrapIntegerOverflow
	case C.WASMTIME_TRAP_CODE_INTEGER_DIVISION_BY_ZERO:
		return engine.TrapIntegerDivideByZero
	case C.WASMTIME_TRAP_CODE_BAD_CONVERSION_TO_INTEGER:
		return engine.TrapInvalidConversion
	case C.WASMTIME_TRAP_CODE_UNREACHABLE_CODE_REACHED:
		return engine.TrapUnreachable
	case C.WASMTIME_TRAP_CODE_INTERRUPT:
		return engine.TrapInterrupted
	case C.WASMTIME_TRAP_CODE_OUT_OF_FUEL:
		return engine.TrapOutOfGas
	case C.WASMTIME_TRAP_CODE_NULL_REFERENCE:
		return engine.TrapNullReference
	}
	return engine.TrapUnknown
}

// interruptedTrap is the trap of a call stopped because its context is done.
func interruptedTrap(err error) *engine.Trap {
	msg := "context done"
	if err != nil {
		msg = err.Error()
	}
	return &engine.Trap{Code: engine.TrapInterrupted, Message: msg}
}
