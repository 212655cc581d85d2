//go:build wasmer && cgo

package wasmer

// #include "shim.h"
import "C"

import (
	"sync/atomic"
	"unsafe"
)

// Module generations: a workaround for a leak inside wasmer 2.0.0.
//
// Every instantiation registers one funcref record (VMCallerCheckedAnyfunc)
// per function of the instance, imported and defined, in the
// FuncDataRegistry of the module's wasm engine. The registry deduplicates
// records but never removes one, and a record holds the address of the
// instance (or of the host function's context) it belongs to: once those
// addresses are freed and the allocator hands out others, every new
// instance adds records that live as long as the engine, without bound:
// about 45 bytes per instantiate + close cycle of a module with five host
// functions (measured over 200,000 cycles), 270 bytes per cycle of
// TestInstantiateCloseNoLeak (two instances, 26 functions between them, 5
// of them host functions).
//
// The registry is freed with its engine, so a module moves to a fresh wasm
// engine from time to time: after rotateEvery instantiations, at the next
// instantiation that finds no instance of the current generation alive (or
// after rotateForce instantiations in any case), it serializes its code and
// deserializes it into a new engine (0.4 ms for a 19 KB AssemblyScript
// module, 40 ms for a 3 MB Go module), and deletes its handles on the old
// engine, module and store. wasmer reference-counts what they point to:
// instances still alive keep the old engine, its code and its registry
// until the last of them is closed.

// The rotation thresholds (variables so that tests can lower them).
var (
	// rotateEvery is how many instantiations a generation serves before the
	// module moves to a new engine, as soon as none of them is alive.
	rotateEvery int64 = 1024
	// rotateForce is how many instantiations a generation serves before the
	// module moves to a new engine even while some of them are alive (which
	// keep the old engine, and a copy of the module's code, until closed).
	rotateForce int64 = 16 * 1024
)

// wrGen counts the instantiations and live instances of one generation of
// a module: its code in one wasm engine.
type wrGen struct {
	// created counts the instantiations attempted in this generation (a
	// failed one registers its funcrefs all the same).
	created atomic.Int64
	// live counts its instances not yet closed.
	live atomic.Int64
}

// due reports whether the module should move to a new engine.
func (g *wrGen) due() bool {
	n := g.created.Load()
	return n >= rotateForce || n >= rotateEvery && g.live.Load() == 0
}

// rotateIfDue moves m to a new generation if the current one is due.
func (m *wrModule) rotateIfDue() {
	m.mu.RLock()
	due := m.ptr != nil && m.gen.due()
	m.mu.RUnlock()
	if !due {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ptr != nil && m.gen.due() {
		m.rotateLocked()
	}
}

// rotateLocked moves m's code to a new wasm engine and starts a new
// generation. If that fails, m keeps its engine and tries again after
// another rotateEvery instantiations. m.mu is held.
func (m *wrModule) rotateLocked() {
	m.gen.created.Store(0) // if anything fails below, try again later
	var code C.wasm_byte_vec_t
	C.wasm_module_serialize(m.ptr, &code)
	if code.data == nil {
		return
	}
	defer C.wasm_byte_vec_delete(&code)
	wasmEngine, store, err := newModuleStore()
	if err != nil {
		return
	}
	var errText C.aspect_wr_text
	ptr := C.aspect_wr_module_deserialize(store, (*C.uint8_t)(unsafe.Pointer(code.data)), code.size, &errText)
	takeText(errText)
	if ptr == nil {
		dropModuleStore(wasmEngine, store)
		return
	}
	C.wasm_module_delete(m.ptr)
	C.wasm_store_delete(m.store)
	if m.wasmEngine != nil {
		C.wasm_engine_delete(m.wasmEngine)
	}
	m.wasmEngine, m.store, m.ptr = wasmEngine, store, ptr
	m.gen = &wrGen{}
}
