//go:build cgo && !wazero && !wasmer

package wasmtime

// #include "shim.h"
import "C"

import (
	"errors"
	"unsafe"
)

// rawCall is the benchmarks' baseline: wasmtime_func_call_unchecked on a
// preallocated C buffer, with no conversion, context or error handling
// around it. It lives outside the _test files because they cannot use cgo.
type rawCall struct {
	f    *wtFunction
	vals *C.wasmtime_val_raw_t
	n    int
}

func newRawCall(f *wtFunction) *rawCall {
	n := max(f.slots, 1)
	return &rawCall{
		f:    f,
		vals: (*C.wasmtime_val_raw_t)(C.calloc(C.size_t(n), C.sizeof_wasmtime_val_raw_t)),
		n:    n,
	}
}

// set stores v as the raw 64-bit value i.
func (r *rawCall) set(i int, v uint64) {
	*(*uint64)(unsafe.Add(unsafe.Pointer(r.vals), i*16)) = v
}

// get returns the raw 64-bit value i.
func (r *rawCall) get(i int) uint64 {
	return *(*uint64)(unsafe.Add(unsafe.Pointer(r.vals), i*16))
}

var errRawCall = errors.New("wasmtime: raw call failed")

// call makes one cgo call straight to wasmtime_func_call_unchecked.
func (r *rawCall) call() error {
	st := C.aspect_wt_call_raw(r.f.in.cctx, r.f.fn, r.vals, C.size_t(r.n))
	if st.err != nil || st.trap != nil {
		takeMessage(st)
		return errRawCall
	}
	return nil
}

// loop calls the function iterations times from a C loop, re-setting the
// first two params (as i32) before each call.
func (r *rawCall) loop(iterations int) error {
	st := C.aspect_wt_call_raw_loop(r.f.in.cctx, r.f.fn, r.vals, C.size_t(r.n), C.int64_t(iterations))
	if st.err != nil || st.trap != nil {
		takeMessage(st)
		return errRawCall
	}
	return nil
}

func (r *rawCall) free() {
	C.free(unsafe.Pointer(r.vals))
	r.vals = nil
}
