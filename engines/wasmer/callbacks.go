//go:build wasmer && cgo

package wasmer

// This file holds the Go function the C shim calls back; its preamble may
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

// hostEntry is one host function of one instance; its cgo.Handle is in the
// environment of the wasmer function.
type hostEntry struct {
	in *wrInstance
	hf engine.HostFunc
	// slots is max(len(Params), len(Results)).
	slots int
	// par32 marks the 32-bit params (i32, f32), whose raw upper half is
	// cleared before the Go function sees it.
	par32 []bool
	// resKinds are the wasm_valkind_t of the results.
	resKinds []C.wasm_valkind_t
	// stacks[d] is the value stack of the call at re-entrancy depth d: a
	// host function may be called again (guest -> host -> guest -> host)
	// before it returns.
	stacks [][]uint64
	depth  int
}

// stacksCap is the capacity of a host entry's stacks to start with: 8 slice
// headers are 192 bytes, lines of their own (see cacheLine); so is each
// stack, of at least 8 values.
const stacksCap = 8

func newHostEntry(in *wrInstance, hf engine.HostFunc) *hostEntry {
	np, nr := len(hf.Type.Params), len(hf.Type.Results)
	e := &(&hostEntryLines{hostEntry: hostEntry{
		in:    in,
		hf:    hf,
		slots: max(np, nr),
		// Read at every host call: lines of their own (see cacheLine).
		par32:    make([]bool, np, max(np, cacheLine))[:np],
		resKinds: make([]C.wasm_valkind_t, nr, max(nr, cacheLine))[:nr],
		stacks:   make([][]uint64, 0, stacksCap),
	}}).hostEntry
	for i, t := range hf.Type.Params {
		e.par32[i] = t == engine.I32 || t == engine.F32
	}
	for i, t := range hf.Type.Results {
		e.resKinds[i] = valKind(t)
	}
	return e
}

// hostPanicError is the error of a host function that panicked.
type hostPanicError struct {
	module, name string
	value        any
}

func (e *hostPanicError) Error() string {
	return fmt.Sprintf("wasmer: host function %s.%s panicked: %v", e.module, e.name, e.value)
}

// Unwrap returns the panic value if it is an error.
func (e *hostPanicError) Unwrap() error {
	err, _ := e.value.(error)
	return err
}

// call runs the Go function, turning a panic into an error: a Go panic must
// never unwind into wasmer's frames.
func (e *hostEntry) call(ctx context.Context, stack []uint64) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &hostPanicError{module: e.hf.Module, name: e.hf.Name, value: r}
		}
	}()
	return e.hf.Call(ctx, &e.in.caller, stack)
}

// valSize is the size of a wasm_val_t: the kind byte, padding, and the
// 8-byte value at valOf (checked by static assertions in shim.c).
const (
	valSize = 16
	valOf   = 8
)

// aspectWasmerHostCall runs the host function whose handle is env, with
// wasmer's params args[0:nargs] and results results[0:nresults]. It returns
// 1 if the host function failed; the error is kept on the instance and the
// shim raises a trap.
//
//export aspectWasmerHostCall
func aspectWasmerHostCall(env C.uintptr_t, args *C.wasm_val_t, nargs C.size_t, results *C.wasm_val_t, nresults C.size_t) (rc C.int) {
	e := cgo.Handle(env).Value().(*hostEntry)
	in := e.in
	defer func() {
		if r := recover(); r != nil { // a bug in this function; never unwind into C
			in.hostErr = fmt.Errorf("wasmer: host call %s.%s: %v", e.hf.Module, e.hf.Name, r)
			rc = 1
		}
	}()
	in.memValid = false // the guest ran since the last look
	if int(nargs) != len(e.par32) || int(nresults) != len(e.resKinds) {
		in.hostErr = fmt.Errorf("wasmer: host function %s.%s called with %d params and %d results, its type is %s",
			e.hf.Module, e.hf.Name, int(nargs), int(nresults), e.hf.Type)
		return 1
	}

	d := e.depth
	if d == len(e.stacks) {
		e.stacks = append(e.stacks, make([]uint64, e.slots, max(e.slots, cacheLine/8))) // lines of its own (see cacheLine)
	}
	stack := e.stacks[d]
	argp := unsafe.Pointer(args)
	for i, is32 := range e.par32 {
		v := *(*uint64)(unsafe.Add(argp, i*valSize+valOf))
		if is32 {
			v &= 0xffffffff
		}
		stack[i] = v
	}
	for i := len(e.par32); i < len(stack); i++ {
		stack[i] = 0
	}

	e.depth = d + 1
	err := e.call(in.currentContext(), stack)
	e.depth = d
	in.memValid = false // the host may have re-entered the guest
	if err != nil {
		in.hostErr = err
		return 1
	}
	resp := unsafe.Pointer(results)
	for i, k := range e.resKinds {
		*(*C.wasm_valkind_t)(unsafe.Add(resp, i*valSize)) = k
		*(*uint64)(unsafe.Add(resp, i*valSize+valOf)) = stack[i]
	}
	return 0
}
