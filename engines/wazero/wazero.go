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
// metered modules at the yield checkpoints of the metering instrumentation
// (host calls every so much gas). Those also matter for another reason:
// Go cannot preempt a goroutine running wazero's compiled code, so a guest
// that never calls the host holds up every stop-the-world of the garbage
// collector — and with it the whole process — until it returns; a metered
// guest returns to Go at least every runtime.DefaultYieldInterval gas.
package wazero

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
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
// under CacheDir/wazero-VERSION-GOARCH-GOOS, each entry verified by its
// SHA-256 when it is read (filecache.go); should that cache not install
// into wazero, in wazero's own file cache under CacheDir/wazero, guarded
// by a manifest (diskcache.go).
func (driver) Open(cfg engine.Config) (engine.Engine, error) {
	if cfg.CacheDir == "" {
		return &wazeroEngine{cache: wz.NewCompilationCache()}, nil
	}
	vdir := filepath.Join(cfg.CacheDir, "wazero-"+wazeroVersion()+"-"+goruntime.GOARCH+"-"+goruntime.GOOS)
	if cache, ok := installVerifiedCache(vdir); ok {
		if err := os.MkdirAll(vdir, 0o755); err != nil {
			return nil, fmt.Errorf("wazero: cache dir: %w", err)
		}
		return &wazeroEngine{cache: cache}, nil
	}
	dc, err := openDiskCache(filepath.Join(cfg.CacheDir, "wazero"))
	if err != nil {
		return nil, err
	}
	cache, err := wz.NewCompilationCacheWithDir(dc.dir)
	if err != nil {
		return nil, fmt.Errorf("wazero: cache dir: %w", err)
	}
	return &wazeroEngine{cache: cache, disk: dc}, nil
}

// wazeroEngine implements engine.Engine.
type wazeroEngine struct {
	cache wz.CompilationCache
	disk  *diskCache // nil without a cache directory

	mu     sync.Mutex
	closed bool
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

	rc := newRuntimeConfig().
		WithCoreFeatures(api.CoreFeaturesV2).
		WithCompilationCache(e.cache).
		WithCloseOnContextDone(false)
	if cfg.MemoryLimitPages != 0 {
		rc = rc.WithMemoryLimitPages(cfg.MemoryLimitPages)
	}

	var r wz.Runtime
	defer func() {
		// wazero is not expected to panic on malformed input, but a panic
		// must not escape the adapter.
		if p := recover(); p != nil {
			err = fmt.Errorf("wazero: compile: panic: %v", p)
		}
		if err != nil && r != nil {
			_ = r.Close(ctx)
		}
	}()
	r = wz.NewRuntimeWithConfig(ctx, rc)
	cm, err := r.CompileModule(ctx, wasm)
	if err != nil {
		return nil, fmt.Errorf("wazero: compile: %w", err)
	}
	if e.disk != nil {
		e.disk.record()
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
	return e.cache.Close(ctx)
}
