//go:build cgo && !wazero && !wasmer

package wasmtime

// #include "shim.h"
import "C"

import (
	"errors"
	"unsafe"
)

// rawCall is the benchmarks' baseline: wasmtime_func_call_unchecked on a
// raw value buffer in C memory, with no conversion, context or error
// handling around it. It lives outside the _test files because they cannot
// use cgo.
type rawCall struct {
	block *C.aspect_wt_call_block
	vals  unsafe.Pointer // block's stack as 16-byte raw values
	n     int
}

func newRawCall(f *wtFunction) *rawCall {
	n := max(f.slots, 1)
	// A block with room for 2n 8-byte values holds n raw values.
	var fn C.wasmtime_func_t = f.block.fn
	b := C.aspect_wt_call_block_new(f.in.cctx, &fn, C.size_t(2*n), 0, cacheLine)
	return &rawCall{block: b, vals: unsafe.Pointer(b.stack), n: n}
}

// set stores v as raw value i.
func (r *rawCall) set(i int, v uint64) {
	*(*uint64)(unsafe.Add(r.vals, i*16)) = v
}

// get returns raw value i.
func (r *rawCall) get(i int) uint64 {
	return *(*uint64)(unsafe.Add(r.vals, i*16))
}

var errRawCall = errors.New("wasmtime: raw call failed")

func (r *rawCall) ptr() C.uintptr_t { return C.uintptr_t(uintptr(unsafe.Pointer(r.block))) }

// call makes one cgo call straight to wasmtime_func_call_unchecked.
func (r *rawCall) call() error {
	st := C.aspect_wt_call_raw(r.ptr(), C.size_t(r.n))
	if st.err != nil || st.trap != nil {
		takeMessage(st)
		return errRawCall
	}
	return nil
}

// loop calls the function iterations times from a C loop, re-setting the
// first two params (as i32) before each call; it needs two raw values.
func (r *rawCall) loop(iterations int) error {
	if r.n < 2 {
		return errRawCall
	}
	st := C.aspect_wt_call_raw_loop(r.ptr(), C.size_t(r.n), C.int64_t(iterations))
	if st.err != nil || st.trap != nil {
		takeMessage(st)
		return errRawCall
	}
	return nil
}

func (r *rawCall) free() {
	C.free(unsafe.Pointer(r.block))
	r.block, r.vals = nil, nil
}
