//go:build cgo && !wazero && !wasmer

// Package wasmtime is the wasmtime engine adapter: it implements the
// engine-neutral SPI of package runtime/engine over wasmtime's C API and
// registers itself as "wasmtime" when linked in (runtime/link_wasmtime.go
// does that for default builds).
//
// The adapter talks to the C API directly through a small shim (shim.c) so
// that a call into the guest crosses the cgo boundary once: exports are
// called with wasmtime_func_call_unchecked on a cached wasmtime_func_t, and
// host functions are wasmtime_func_new_unchecked callbacks into a single
// exported Go trampoline. github.com/bytecodealliance/wasmtime-go/v44 is
// imported only for what it links (libwasmtime.a); the C headers under
// include/ are a verbatim copy of the ones it ships, kept identical by a
// test.
//
// Build constraints: this package needs cgo and is excluded by the wazero
// and wasmer build tags. wasmtime and wasmer must never be linked into one
// binary (libwasmtime.a's static wasm_* symbols would override wasmer's), and
// -tags wazero is the cgo-free build.
//
// Each Instance owns its own wasmtime store; a store is never shared.
// Instances also offer Global(name) for exported globals, and the engine
// implements engine.Serializer (wasmtime module serialization) for the
// runtime's compiled-code cache. Memories never move (4 GiB reservation,
// memory_may_move off), so a memory's base pointer is cached and Read and
// Write within the known size make no cgo call.
// Interruption uses epoch interruption: while calls whose context can be
// cancelled run, one ticker goroutine per engine increments the engine's
// epoch every millisecond; every store's epoch deadline callback checks its
// own calls' contexts and either interrupts its guest or extends its
// deadline by a tick, so one call's cancellation never disturbs another's.
package wasmtime

// #cgo CFLAGS: -I${SRCDIR}/include -I${SRCDIR}/../../internal/cacheline
// #cgo windows CFLAGS: -DWASM_API_EXTERN= -DWASI_API_EXTERN=
// #include "shim.h"
import "C"

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/aspect-rt/aspect-runtime/internal/wasmbin"
	"github.com/aspect-rt/aspect-runtime/runtime/engine"

	// Linked for libwasmtime.a and its linker flags only; the adapter uses
	// the C API directly.
	_ "github.com/bytecodealliance/wasmtime-go/v44"
)

// Name is the name the adapter registers under.
const Name = "wasmtime"

// PinnedVersion is the wasmtime-go module version whose C headers are
// copied under include/. The adapter must be built against exactly it.
const PinnedVersion = "v44.0.0"

func init() {
	engine.Register(Name, driver{})
}

// driver opens wasmtime engines.
type driver struct{}

// Open creates a wasmtime engine with epoch interruption enabled.
func (driver) Open(cfg engine.Config) (engine.Engine, error) {
	ptr := C.aspect_wt_engine_new()
	if ptr == nil {
		return nil, errors.New("wasmtime: cannot create engine")
	}
	return &wtEngine{ptr: ptr, stop: make(chan struct{})}, nil
}

// epochTick is the period of the epoch ticker, and so the latency of an
// interruption.
const epochTick = time.Millisecond

// wtEngine is one wasmtime engine (wasm_engine_t) and its epoch ticker.
//
// Interruption: every store's epoch deadline is one tick ahead of the
// engine's epoch, and its deadline callback checks the contexts of the
// store's own active calls, interrupting the guest if one is done and
// extending the deadline by one tick otherwise. The engine's epoch advances
// only while calls whose context can be cancelled are running: such a call
// counts itself in active, and the first one starts the ticker goroutine
// (one per engine, not per call), which increments the epoch every
// epochTick and exits at the first tick with no such call left. A call with
// an uncancellable context (Done() == nil) costs nothing extra, and one with
// a cancellable context two atomic adds.
type wtEngine struct {
	// mu guards ptr: RLock while using it, Lock to delete it.
	mu  sync.RWMutex
	ptr *C.wasm_engine_t

	active  atomic.Int64 // running calls whose context can be cancelled
	ticking atomic.Bool  // the ticker goroutine runs
	ticker  sync.WaitGroup
	stop    chan struct{} // closed by Close
}

// watch counts a call whose context can be cancelled, starting the ticker if
// it is not running.
func (e *wtEngine) watch() {
	e.active.Add(1)
	if !e.ticking.Load() && e.ticking.CompareAndSwap(false, true) {
		e.mu.RLock()
		if e.ptr != nil {
			e.ticker.Add(1)
			go e.tick()
		} else {
			e.ticking.Store(false)
		}
		e.mu.RUnlock()
	}
}

// unwatch uncounts a call counted by watch.
func (e *wtEngine) unwatch() { e.active.Add(-1) }

// tick increments the epoch every epochTick while watched calls run.
func (e *wtEngine) tick() {
	defer e.ticker.Done()
	t := time.NewTicker(epochTick)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
		}
		if e.active.Load() == 0 {
			e.ticking.Store(false)
			// A call that started after the first Load may have seen
			// ticking still true: keep ticking for it unless another
			// ticker has been started meanwhile.
			if e.active.Load() == 0 || !e.ticking.CompareAndSwap(false, true) {
				return
			}
			continue
		}
		e.mu.RLock()
		if e.ptr != nil {
			C.wasmtime_engine_increment_epoch(e.ptr)
		}
		e.mu.RUnlock()
	}
}

var (
	errEngineClosed   = errors.New("wasmtime: engine is closed")
	errModuleClosed   = errors.New("wasmtime: module is closed")
	errInstanceClosed = errors.New("wasmtime: instance is closed")
)

// Name returns "wasmtime".
func (e *wtEngine) Name() string { return Name }

// Capabilities reports native interruption and memory limits.
func (e *wtEngine) Capabilities() engine.Capabilities {
	return engine.Capabilities{Interrupt: true, MemoryLimit: true}
}

// Compile validates and compiles wasm.
func (e *wtEngine) Compile(ctx context.Context, wasm []byte, cfg engine.CompileConfig) (engine.Module, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.ptr == nil {
		return nil, errEngineClosed
	}
	var ptr *C.wasmtime_module_t
	var data *C.uint8_t
	if len(wasm) > 0 {
		data = (*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(wasm)))
	}
	if werr := C.wasmtime_module_new(e.ptr, data, C.size_t(len(wasm)), &ptr); werr != nil {
		msg := takeMessage(C.aspect_wt_status{err: werr})
		return nil, fmt.Errorf("wasmtime: compile: %s", errorMessage(msg.text))
	}
	mems, err := checkMemoryLimit(wasm, cfg.MemoryLimitPages)
	if err != nil {
		C.wasmtime_module_delete(ptr)
		return nil, err
	}
	return e.newModule(ptr, mems, cfg), nil
}

// newModule wraps a compiled module.
func (e *wtEngine) newModule(ptr *C.wasmtime_module_t, mems []wasmbin.Memory, cfg engine.CompileConfig) *wtModule {
	m := &wtModule{eng: e, ptr: ptr, mems: mems, memLimit: -1}
	if cfg.MemoryLimitPages > 0 {
		m.memLimit = int64(cfg.MemoryLimitPages) * 65536
	}
	m.describe()
	return m
}

// Close deletes the engine. It is idempotent.
func (e *wtEngine) Close(ctx context.Context) error {
	e.mu.Lock()
	if e.ptr != nil {
		C.wasm_engine_delete(e.ptr)
		e.ptr = nil
		close(e.stop)
	}
	e.mu.Unlock()
	e.ticker.Wait()
	return nil
}
