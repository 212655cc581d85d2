//go:build wasmer && cgo

// Package wasmer is the wasmer engine adapter: it implements the
// engine-neutral SPI of package runtime/engine over wasmer's C API and
// registers itself as "wasmer" when linked in (runtime/link_wasmer.go does
// that for builds with -tags wasmer).
//
// # Linking
//
// github.com/wasmerio/wasmer-go (PinnedVersion) is imported only for what it
// links: libwasmer.so (wasmer WasmerVersion), found at run time through an
// absolute RUNPATH into the Go module cache, and its linker flags. The
// adapter calls the C API directly through a small shim (shim.c), so a call
// into the guest crosses the cgo boundary once, without wasmer-go's per-call
// conversions through interface values. The C headers under include/ are a
// verbatim copy of the ones wasmer-go ships, kept identical by a test. To run
// a binary on a machine without that module cache, ship libwasmer.so beside
// it (make build-wasmer; see the README).
//
// Build constraints: every file needs cgo and the wasmer build tag, and the
// wasmtime adapter is excluded by that tag. wasmtime and wasmer must never be
// linked into one binary: libwasmtime.a's static wasm_* symbols would
// silently take the place of libwasmer's. As a last line of defence, Open
// runs an identity check (identity.go) and refuses to open an engine unless
// the C API functions the shim calls are wasmer's.
//
// # Ownership
//
// Every C object is owned by exactly one Go object and deleted by its Close
// (idempotent); nothing is freed by a finalizer, so a garbage collection can
// never free a C object under a running call. Each module owns a wasm
// engine of its own, a wasm store in it and its compiled code; each
// instance owns its wasm instance, a store in its module's engine, its
// export vector, its host functions and their environments. Close an
// engine's modules before the engine, and a module's instances before the
// module. (wasmer reference-counts engines, stores and compiled code, so an
// instance that outlives its module's handles keeps working; the adapter
// relies on that only in generation.go.)
//
// # Leaks in wasmer 2.0.0
//
// The library leaks in four places; the adapter avoids each, and the leak
// tests (leak_test.go) keep the resident set size flat within 2 MiB over
// 2,000 compile + close and 50,000 instantiate + close cycles:
//
//   - Compiled code is freed only with the wasm engine that compiled it,
//     never with its module: about 37 KB per compile of a 19 KB
//     AssemblyScript module. Hence a wasm engine per module
//     (newModuleStore), deleted by the module's Close; Deserialize does
//     the same.
//   - The destructors of import, export and function types free the
//     objects but not the vectors inside them (names, param and result
//     types): about 110 bytes per function type the adapter reads. The
//     shim frees those vectors first (aspect_wr_importtype_vec_delete and
//     friends in shim.c).
//   - The param and result vectors of every host call; the shim frees them
//     (see host_callback in shim.c).
//   - Each instantiation registers a record per function in the engine's
//     funcref registry, which never shrinks: about 270 bytes per cycle of
//     TestInstantiateCloseNoLeak. A module moves to a fresh engine every
//     so many instantiations (generation.go).
//
// The engine implements engine.Serializer (serialize.go): compiled modules
// can be cached on disk by the runtime.
//
// # What wasmer cannot do
//
// wasmer's C API has no way to interrupt a running guest: Capabilities
// reports Interrupt false (an already cancelled context is still refused
// before the guest is entered). The runtime stops metered modules at the
// yield checkpoints of the metering instrumentation (host calls every so
// much gas). The memory limit is enforced by writing it
// into the module as the maximum of its memories before compiling
// (limits.go), so memory.grow past it returns -1 by the WebAssembly
// semantics of a declared maximum: Capabilities reports MemoryLimit true.
//
// # Traps
//
// wasmer reports traps as messages only; trap.go maps them to trap codes.
// A failing host function raises a trap with a fixed message and leaves its
// Go error on the instance, where the pending Function.Call picks it up, so
// that errors.Is holds for the host's own error.
package wasmer

// #cgo CFLAGS: -I${SRCDIR}/include -I${SRCDIR}/../../internal/cacheline -fPIC
// #cgo LDFLAGS: -ldl
// #include "shim.h"
import "C"

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"unsafe"

	"github.com/aspect-rt/aspect-runtime/runtime/engine"

	// Linked for libwasmer.so and its linker flags only; the adapter uses
	// the C API directly.
	_ "github.com/wasmerio/wasmer-go/wasmer"
)

// Name is the name the adapter registers under.
const Name = "wasmer"

// PinnedVersion is the wasmer-go module version whose C headers are copied
// under include/. The adapter must be built against exactly it.
const PinnedVersion = "v1.0.4"

// WasmerVersion is the version of the libwasmer that PinnedVersion ships, as
// its wasmer_version() reports it. (Its headers, generated before the
// release, say 2.0.0-rc2; the major, minor and patch numbers agree.)
const WasmerVersion = "2.0.0"

// headerVersion is the version include/wasmer.h describes.
const headerVersion = C.WASMER_VERSION

func init() {
	engine.Register(Name, driver{})
}

// driver opens wasmer engines.
type driver struct{}

// Open creates a wasmer engine after checking, once per process, that the
// C API functions the adapter calls are wasmer's (see identity.go).
func (driver) Open(cfg engine.Config) (engine.Engine, error) {
	if err := checkIdentityOnce(); err != nil {
		return nil, err
	}
	return newEngine()
}

func newEngine() (*wrEngine, error) {
	ptr := C.wasm_engine_new()
	if ptr == nil {
		return nil, errors.New("wasmer: cannot create engine")
	}
	return &wrEngine{ptr: ptr}, nil
}

var (
	errEngineClosed   = errors.New("wasmer: engine is closed")
	errModuleClosed   = errors.New("wasmer: module is closed")
	errInstanceClosed = errors.New("wasmer: instance is closed")
)

// wrEngine is one wasmer engine (wasm_engine_t).
type wrEngine struct {
	// mu guards ptr: RLock while using it, Lock to delete it.
	mu  sync.RWMutex
	ptr *C.wasm_engine_t
}

// Name returns "wasmer".
func (e *wrEngine) Name() string { return Name }

// Capabilities reports the memory limit (enforced through the module's
// declared memory maximum) and no interruption (wasmer has no API for it).
func (e *wrEngine) Capabilities() engine.Capabilities {
	return engine.Capabilities{Interrupt: false, MemoryLimit: true}
}

// Compile validates and compiles wasm, with cfg.MemoryLimitPages written into
// the module as the maximum of its memories.
func (e *wrEngine) Compile(ctx context.Context, wasm []byte, cfg engine.CompileConfig) (engine.Module, error) {
	if ctx != nil {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	limited, limitErr := applyMemoryLimit(wasm, cfg.MemoryLimitPages)
	if limitErr != nil && !errors.Is(limitErr, errMalformed) {
		return nil, limitErr
	}

	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.ptr == nil {
		return nil, errEngineClosed
	}
	wasmEngine, store, err := newModuleStore()
	if err != nil {
		return nil, err
	}
	src := limited
	if limitErr != nil {
		// Our reader rejected the bytes: let wasmer say what is wrong.
		src = wasm
	}
	ptr, msg := compileIn(store, src)
	if ptr == nil {
		dropModuleStore(wasmEngine, store)
		return nil, fmt.Errorf("wasmer: compile: %s", msg)
	}
	if limitErr != nil {
		// wasmer accepts what our reader could not parse: the limit cannot
		// be applied, and must not be silently dropped.
		C.wasm_module_delete(ptr)
		dropModuleStore(wasmEngine, store)
		return nil, fmt.Errorf("wasmer: compile: cannot apply the memory limit: %w", limitErr)
	}
	m := &wrModule{eng: e, wasmEngine: wasmEngine, store: store, ptr: ptr, memLimit: cfg.MemoryLimitPages}
	m.describe()
	return m, nil
}

// newModuleStore creates the wasm engine of a new module and the store to
// compile or deserialize it in. Every module has an engine of its own:
// wasmer 2.0.0 frees compiled code only with the engine that compiled or
// deserialized it (see the package comment). Undo with dropModuleStore, or
// hand both to the module, whose Close deletes them.
func newModuleStore() (*C.wasm_engine_t, *C.wasm_store_t, error) {
	wasmEngine := C.wasm_engine_new()
	if wasmEngine == nil {
		return nil, nil, errors.New("wasmer: cannot create engine")
	}
	store := C.wasm_store_new(wasmEngine)
	if store == nil {
		C.wasm_engine_delete(wasmEngine)
		return nil, nil, errors.New("wasmer: cannot create store")
	}
	return wasmEngine, store, nil
}

// dropModuleStore deletes what newModuleStore created, for a module that
// could not be made.
func dropModuleStore(wasmEngine *C.wasm_engine_t, store *C.wasm_store_t) {
	C.wasm_store_delete(store)
	C.wasm_engine_delete(wasmEngine)
}

// compileIn compiles wasm in store, returning the module or wasmer's
// error message.
func compileIn(store *C.wasm_store_t, wasm []byte) (*C.wasm_module_t, string) {
	var data *C.uint8_t
	if len(wasm) > 0 {
		data = (*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(wasm)))
	}
	var errText C.aspect_wr_text
	ptr := C.aspect_wr_module_new(store, data, C.size_t(len(wasm)), &errText)
	msg := takeText(errText)
	if ptr == nil && msg == "" {
		msg = "invalid module"
	}
	return ptr, msg
}

// takeText copies and frees a C string from the shim.
func takeText(t C.aspect_wr_text) string {
	if t.data == nil {
		return ""
	}
	s := C.GoStringN(t.data, C.int(t.len))
	C.free(unsafe.Pointer(t.data))
	return s
}

// Close deletes the engine. It is idempotent.
func (e *wrEngine) Close(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ptr != nil {
		C.wasm_engine_delete(e.ptr)
		e.ptr = nil
	}
	return nil
}
