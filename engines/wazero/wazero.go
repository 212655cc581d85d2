// Package wazero is the engine adapter for wazero, a WebAssembly runtime
// written in pure Go (no cgo).
//
// Importing the package registers the driver "wazero" with package engine:
//
//	import _ "github.com/aspect-rt/aspect-runtime/engines/wazero"
//
// The adapter uses wazero's compiler where the platform supports it (amd64
// and arm64) and its interpreter elsewhere, with the WebAssembly 2.0 core
// features (api.CoreFeaturesV2). Compiled code is shared through one
// wazero.CompilationCache per engine.
//
// Each compiled module owns one wazero.Runtime. The host functions a module
// imports are instantiated once per module as trampolines that dispatch to
// the host functions of the calling instance, so that instantiating a module
// does not recompile anything.
//
// The adapter cannot interrupt a running guest: Capabilities reports
// Interrupt false (an already cancelled context is still refused before the
// guest is entered). wazero's own WithCloseOnContextDone starts a goroutine
// per call, leaves compiled code for Go at every loop iteration and closes
// the instance it interrupts, so it stays off; the runtime instead stops
// every module, metered or not, at the yield checkpoints of the metering
// instrumentation (host calls every so much gas, or for an unmetered module
// every so many instructions' worth of function entries and loop
// iterations). Those also matter for another reason: Go cannot preempt a
// goroutine running wazero's compiled code, so a guest that never calls the
// host holds up every stop-the-world of the garbage collector — and with it
// the whole process — until it returns; with the checkpoints a guest
// returns to Go at least every runtime.DefaultYieldInterval units. Only a
// module compiled with runtime.WithTrustedCode has none.
package wazero

import (
	"context"
	"errors"
	"fmt"
	"sync"

	wz "github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/aspect-rt/aspect-runtime/internal/wasmbin"
	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// Name is the name the driver registers under.
const Name = "wazero"

// newRuntimeConfig picks the compiler where supported; tests swap in the
// interpreter to cover the platforms that use it.
var newRuntimeConfig = wz.NewRuntimeConfig

// maxPages is the largest memory, in 64 KiB pages, a 32-bit memory can have.
const maxPages = wasmbin.MaxPages

func init() {
	engine.Register(Name, driver{})
}

// driver opens wazero engines.
type driver struct{}

// Open implements engine.Driver. With cfg.CacheDir, compiled code persists
// under CacheDir/wazero-VERSION-ARCH-OS, each entry verified when it is read
// (filecache.go). Open does not touch the directory: each compilation does,
// so that one that cannot be used is reported (through the runtime's
// logger) at every compilation, and used as soon as it can be.
func (driver) Open(cfg engine.Config) (engine.Engine, error) {
	if cfg.CacheDir == "" {
		return &wazeroEngine{cache: wz.NewCompilationCache()}, nil
	}
	e := &wazeroEngine{disk: newDiskCache(cfg.CacheDir)}
	e.cache, e.diskInstalled = installVerifiedCache(e.disk)
	if !e.diskInstalled {
		e.cache = wz.NewCompilationCache()
	}
	return e, nil
}

// wazeroEngine implements engine.Engine.
type wazeroEngine struct {
	disk          *verifiedCache // nil without a cache directory
	diskInstalled bool           // disk is wazero's file cache

	mu      sync.Mutex
	cache   wz.CompilationCache
	retired []wz.CompilationCache // replaced by renewCache, closed with the engine
	closed  bool
}

// Name implements engine.Engine.
func (e *wazeroEngine) Name() string { return Name }

// Capabilities implements engine.Engine.
func (e *wazeroEngine) Capabilities() engine.Capabilities {
	return engine.Capabilities{Interrupt: false, MemoryLimit: true}
}

// Compile implements engine.Engine.
func (e *wazeroEngine) Compile(ctx context.Context, wasm []byte, cfg engine.CompileConfig) (_ engine.Module, err error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if cfg.MemoryLimitPages > maxPages {
		return nil, fmt.Errorf("wazero: memory limit %d pages exceeds %d", cfg.MemoryLimitPages, maxPages)
	}
	e.mu.Lock()
	closed := e.closed
	e.mu.Unlock()
	if closed {
		return nil, errors.New("wazero: engine closed")
	}

	newRuntime := func() wz.Runtime {
		e.mu.Lock()
		cache := e.cache
		e.mu.Unlock()
		rc := newRuntimeConfig().
			WithCoreFeatures(api.CoreFeaturesV2).
			WithCompilationCache(cache).
			WithCloseOnContextDone(false)
		if cfg.MemoryLimitPages != 0 {
			rc = rc.WithMemoryLimitPages(cfg.MemoryLimitPages)
		}
		return wz.NewRuntimeWithConfig(ctx, rc)
	}

	var r wz.Runtime
	var cm wz.CompiledModule
	defer func() {
		// wazero is not expected to panic on malformed input, but a panic
		// must not escape the adapter.
		if p := recover(); p != nil {
			err = fmt.Errorf("wazero: compile: panic: %v", p)
		}
		if err != nil && r != nil {
			_ = r.Close(ctx)
		}
		if err != nil && cm != nil {
			_ = cm.Close(ctx)
		}
	}()
	r, cm, err = e.compileCached(ctx, newRuntime, wasm)
	if err != nil {
		return nil, fmt.Errorf("wazero: compile: %w", err)
	}
	m, err := newModule(r, cm, wasm)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// Close implements engine.Engine. It releases the compilation cache.
func (e *wazeroEngine) Close(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	for _, c := range e.retired {
		_ = c.Close(ctx)
	}
	return e.cache.Close(ctx)
}
