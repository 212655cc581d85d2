// Package runtime runs aspects — WebAssembly guest modules — on the engine of
// your choice behind one engine-neutral API.
//
// A [Runtime] is one instance of a guest module. [Runtime.Call] encodes Go
// arguments with the ABI codec (package abi), passes them to an exported
// guest function and decodes its result; guests call Go functions registered
// in a [HostAPIRegistry]. Errors are typed and engine-neutral: every engine
// reports the same error kinds for the same failure.
//
//	reg := runtime.NewHostAPIRegistry()
//	_ = reg.AddAPI("index", "test", "hello", func(s string) string { return "greet to " + s })
//	rt, err := runtime.New(ctx, wasm, reg)
//	...
//	defer rt.Close(ctx)
//	out, err := runtime.CallAs[string](ctx, rt, "greet", "world")
//
// Engines are linked by build tags; [DefaultEngine] and [Engines] tell which.
package runtime

import (
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/aspect-rt/aspect-runtime/metering"
	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// StartFunction is the export the runtime calls once per instance, before the
// first call, if the module has it: AssemblyScript's start code exported
// with `--exportStart __aspect_start__`.
const StartFunction = "__aspect_start__"

// AllocateFunction is the guest export the runtime calls to obtain memory for
// arguments and host results: allocate(size i32) -> i32.
const AllocateFunction = "allocate"

// Runtime is one instance of a guest module. Calls are serialized: a Runtime
// may be shared between goroutines but runs one call at a time (use the pool
// package for parallelism). A host function that calls back into the
// Runtime running it, with the context it was given (or one derived from
// it), gets ErrReentrant instead of a deadlock.
type Runtime struct {
	// runtimeState is the instance's state; nil on a handle, which
	// reaches its instance's through lent (see Handle), so that a handle
	// is two words.
	*runtimeState
	lent *handle
}

// Module is a compiled guest module. Compile once, instantiate many times;
// a Module is safe for concurrent use.
type Module struct {
	engineName string
	mod        engine.Module
	hash       [32]byte
	imports    []engine.Import
	exports    map[string]engine.Export // every export of the compiled code
	// userExports are the exports of the module as given, in order.
	userExports []engine.Export
	cfg         config
	prep        *preparation // what prepare did to the code
	// nativeInterrupt is the engine's Capabilities().Interrupt: calls stop
	// on their own when their context ends. Without it, a metered module's
	// calls are stopped at the instrumented yield checkpoints (gas.go).
	nativeInterrupt bool
	// snapshots is set by the first Reset of any of the module's instances:
	// from then on, new instances record their post-start state for Reset
	// (a copy of the memory, which on a fresh instance costs more than
	// instantiating: every page is faulted in), see Runtime.Reset.
	snapshots atomic.Bool
	// snapMem is the post-start memory of the first instance snapshotted,
	// shared read-only by the snapshots of every instance whose post-start
	// memory is the same (see sharedMemory).
	snapMu  sync.Mutex
	snapMem []byte

	mu     sync.Mutex
	closed bool // Close was called: no new instances
	refs   int  // live instances; the engine module is released at 0 once closed
	freed  bool // the engine module was released
}

// Compile compiles code on the default engine.
func Compile(ctx context.Context, code []byte, opts ...Option) (*Module, error) {
	return CompileWithEngine(ctx, DefaultEngine(), code, opts...)
}

// CompileWithEngine compiles code on the named engine (see Engines).
func CompileWithEngine(ctx context.Context, engineName string, code []byte, opts ...Option) (m *Module, err error) {
	if ctx == nil {
		return nil, errNilContext
	}
	cfg := newConfig(opts)
	if cfg.metering != nil || !cfg.trusted {
		cfg.providers = append(cfg.providers[:len(cfg.providers):len(cfg.providers)], meteringProvider)
	}
	eng, err := openEngine(engineName, engine.Config{})
	if err != nil {
		return nil, err
	}
	if _, ok := eng.(engine.Serializer); !ok && cfg.cacheDir != "" {
		// The engine keeps its own cache in the directory.
		if eng, err = openEngine(engineName, engine.Config{CacheDir: cfg.cacheDir}); err != nil {
			return nil, err
		}
	}
	defer func() {
		if r := recover(); r != nil {
			m, err = nil, fmt.Errorf("%w: engine %s panicked: %v", ErrCompile, engineName, r)
		}
	}()
	prepared, prep, err := prepare(code, cfg, eng.Capabilities().Interrupt)
	if err != nil {
		return nil, err
	}
	mod, err := compileCached(ctx, eng, engineName, prepared, engine.CompileConfig{MemoryLimitPages: cfg.memoryLimit()}, cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCompile, err)
	}
	m = &Module{
		engineName: engineName,
		mod:        mod,
		hash:       sha256.Sum256(code),
		imports:    mod.Imports(),
		exports:    map[string]engine.Export{},
		cfg:        cfg,
		prep:       prep,

		nativeInterrupt: eng.Capabilities().Interrupt,
	}
	for _, e := range mod.Exports() {
		m.exports[e.Name] = e
		if !prep.injected(e.Name) {
			m.userExports = append(m.userExports, e)
		}
	}
	return m, nil
}

// Engine returns the name of the engine the module was compiled for.
func (m *Module) Engine() string { return m.engineName }

// Hash returns the SHA-256 of the module's bytes.
func (m *Module) Hash() [32]byte { return m.hash }

// Imports lists the module's imports.
func (m *Module) Imports() []engine.Import { return m.imports }

// Exports lists the module's exports, without those the runtime added to
// the code it compiled (gas counters, snapshot exports, ...).
func (m *Module) Exports() []engine.Export {
	return slices.Clone(m.userExports)
}

// Close releases the compiled code. Instantiate fails with ErrClosed
// afterwards; runtimes already instantiated from m keep working, and the
// code is released when the last of them is closed. Close is idempotent.
func (m *Module) Close(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	return m.freeLocked(ctx)
}

// freeLocked releases the engine module once m is closed and no instance is
// left. m.mu is held.
func (m *Module) freeLocked(ctx context.Context) error {
	if !m.closed || m.refs > 0 || m.freed {
		return nil
	}
	m.freed = true
	return m.mod.Close(ctx)
}

// acquire counts a new instance of m; it fails once m is closed.
func (m *Module) acquire() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	m.refs++
	return nil
}

// release uncounts an instance of m, closing m too if closeModule is set.
func (m *Module) release(ctx context.Context, closeModule bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.refs--
	if closeModule {
		m.closed = true
	}
	return m.freeLocked(ctx)
}

// New compiles code on the default engine and instantiates it with the host
// functions of reg (which may be nil). Closing the Runtime closes the module.
func New(ctx context.Context, code []byte, reg *HostAPIRegistry, opts ...Option) (*Runtime, error) {
	return NewWithEngine(ctx, DefaultEngine(), code, reg, opts...)
}

// NewWithEngine is New on the named engine (see Engines).
func NewWithEngine(ctx context.Context, engineName string, code []byte, reg *HostAPIRegistry, opts ...Option) (*Runtime, error) {
	m, err := CompileWithEngine(ctx, engineName, code, opts...)
	if err != nil {
		return nil, err
	}
	rt, err := m.Instantiate(ctx, reg, opts...)
	if err != nil {
		_ = m.Close(ctx)
		return nil, err
	}
	rt.ownsModule = true
	return rt, nil
}

// Instantiate creates a Runtime: a fresh instance of m whose imports are
// resolved against reg (which may be nil), with its start code run.
func (m *Module) Instantiate(ctx context.Context, reg *HostAPIRegistry, opts ...Option) (rt *Runtime, err error) {
	if ctx == nil {
		return nil, errNilContext
	}
	if err := m.acquire(); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = m.release(ctx, false)
		}
	}()
	cfg := m.cfg
	for _, o := range opts {
		o(&cfg)
	}
	rt = newCoreRuntime(&runtimeState{module: m, cfg: cfg, exports: map[string]*export{}})
	if rt.host, err = rt.resolveImports(reg); err != nil {
		return nil, err
	}
	// Locked as a Reset re-instantiating it is: a warm-up (WithWarmup)
	// reaching it through its context then gets ErrReentrant.
	rt.mu.Lock()
	err = rt.instantiate(ctx)
	rt.mu.Unlock()
	if err != nil {
		return nil, err
	}
	cfg.logger.DebugContext(ctx, "aspect instance created", "engine", m.engineName, "hash", fmt.Sprintf("%x", m.hash[:8]))
	return rt, nil
}

// instantiate creates the engine instance and runs its start code.
func (r *Runtime) instantiate(ctx context.Context) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: engine %s panicked during instantiation: %v", ErrEngine, r.module.engineName, p)
		}
	}()
	r.pending = nil
	inst, err := r.module.mod.Instantiate(ctx, r.host, engine.InstanceConfig{})
	if err != nil {
		if ge := r.guestError(ctx, "instantiate", err); ge != err {
			return ge
		}
		return fmt.Errorf("%w: instantiate: %w", ErrEngine, err)
	}
	r.inst, r.mem = inst, inst.Memory()
	r.depth = nil
	if l := r.module.prep.limits; l != nil {
		if r.depth = inst.Global(l.CallDepth); r.depth == nil {
			_ = inst.Close(ctx)
			r.inst, r.mem = nil, nil
			return fmt.Errorf("%w: instantiate: the instrumented module lacks its call-depth counter", ErrEngine)
		}
	}
	if g := r.module.prep.gas; g != nil {
		r.gas = &gasState{counter: inst.Global(g.GasCounter), depth: inst.Global(g.CallDepth), interval: uint64(g.YieldInterval)}
		if r.gas.counter == nil || r.gas.depth == nil {
			_ = inst.Close(ctx)
			r.inst, r.mem = nil, nil
			return fmt.Errorf("%w: instantiate: the instrumented module lacks its gas counters", ErrEngine)
		}
	}
	clear(r.exports)
	r.lastName, r.lastExport = "", nil
	r.alloc, r.allocOK = nil, false
	r.setFault(nil)
	if r.gas != nil && MeterFrom(ctx) == nil {
		budget := r.cfg.startGas
		if budget == 0 {
			budget = DefaultStartGas
		}
		ctx = WithMeter(ctx, NewMeter(budget))
	}
	// The module's start function first (as instantiation would have run
	// it), then a WASI reactor's _initialize, then StartFunction.
	starts := make([]string, 0, 2+len(r.cfg.initExports))
	if r.module.prep.start {
		starts = append(starts, metering.StartExport)
	}
	starts = append(append(starts, r.cfg.initExports...), StartFunction)
	// WithStartTimeout's deadline, set once for the start code and the
	// warm-up together.
	timed := false
	var cancel context.CancelFunc
	defer func() {
		if cancel != nil {
			cancel()
		}
	}()
	startDeadline := func() {
		if timed {
			return
		}
		timed = true
		if d := r.cfg.startTimeout; d > 0 {
			if _, ok := ctx.Deadline(); !ok {
				ctx, cancel = context.WithTimeout(ctx, d)
			}
		}
	}
	for _, name := range starts {
		e, ok := r.module.exports[name]
		if !ok || e.Kind != engine.ExternFunc || len(e.Type.Params) != 0 || len(e.Type.Results) != 0 {
			continue
		}
		startDeadline()
		if _, err := r.call(ctx, name, nil); err != nil {
			_ = inst.Close(ctx)
			r.inst, r.mem = nil, nil
			return err
		}
	}
	if r.cfg.warmup != nil {
		startDeadline()
		if err := r.warmUp(ctx); err != nil {
			if r.inst != nil {
				_ = r.inst.Close(ctx)
			}
			r.inst, r.mem, r.snap = nil, nil, nil
			return err
		}
	}
	if r.module.snapshots.Load() {
		r.takeSnapshot()
	}
	return nil
}
