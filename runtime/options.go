package runtime

import (
	"context"
	"log/slog"
	"time"

	"github.com/aspect-rt/aspect-runtime/metering"
	"github.com/aspect-rt/aspect-runtime/runtime/engine"
	"github.com/aspect-rt/aspect-runtime/validate"
)

// Option configures a Runtime or Module.
type Option func(*config)

type config struct {
	logger           *slog.Logger
	memoryLimitPages uint32
	cacheDir         string
	metering         *metering.Config
	startGas         uint64        // see WithStartGas; 0 means DefaultStartGas
	startTimeout     time.Duration // see WithStartTimeout
	tableLimitElems  uint32        // see WithTableLimit; 0 means DefaultTableLimit
	trusted          bool          // see WithTrustedCode
	dirtyPages       bool          // see WithDirtyPageTracking
	validation       validation    // see WithProfile, WithLimits (validate.go)
	// providers satisfy imports outside the host API registry (WASI, the
	// gas-metering imports); tried in order before the registry.
	providers []importProvider
	// initExports are called once per instance after instantiation, before
	// StartFunction (e.g. a WASI reactor's _initialize).
	initExports []string
	// warmup runs after the start code, before the post-start snapshot
	// (see WithWarmup, warmup.go); nil for none.
	warmup func(ctx context.Context, r *Runtime) error
}

// importProvider returns the host function for imp, or ok == false if imp is
// not its to provide. A non-nil error rejects the import (e.g. a known name
// with the wrong signature).
type importProvider func(rt *Runtime, imp engine.Import) (fn engine.HostFunc, ok bool, err error)

func newConfig(opts []Option) config {
	c := config{logger: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// WithLogger makes the runtime log to l (debug records for instantiation,
// warnings for recovered host panics). The default is silent.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}

// WithDirtyPageTracking compiles the module so that Reset restores only
// the memory pages the calls since the last reset wrote, instead of
// comparing the whole memory with its post-start snapshot: every store
// checks whether it writes a page it has not marked yet, the host marks
// what it writes (arguments, results, WASI), and Reset compares and
// writes back the marked pages only. A Reset then costs what the calls
// touched, not the size of the memory (a Go guest's 3 MiB: about 20 pages
// after a call), while every call pays the stores' checks (19-70% on
// the store-heavy guests measured; see BENCHMARKS.md). Use it where
// instances are reset after every use; the pool sets it unless
// pool.WithKeepState. It applies to modules Reset can restore (see Reset);
// gas and call-depth limits are unchanged by it.
func WithDirtyPageTracking() Option { return func(c *config) { c.dirtyPages = true } }

// DefaultMemoryLimitPages is the memory limit of a module compiled without
// WithMemoryLimitPages: 1024 pages of 64 KiB, 64 MiB — a Go guest starts
// at about 3 MiB, an AssemblyScript one at 64 KiB.
const DefaultMemoryLimitPages = 1024

// MaxMemoryLimitPages is the largest memory limit: 65,535 pages, just under
// 4 GiB (a memory of exactly 4 GiB does not work on every engine). Pass it
// to WithMemoryLimitPages to lift the default limit.
const MaxMemoryLimitPages = 65535

// WithMemoryLimitPages caps the guest's linear memory at pages of 64 KiB
// (DefaultMemoryLimitPages when not given; at most MaxMemoryLimitPages,
// which larger values mean). memory.grow past the limit returns -1 in the
// guest, and a module whose memory's declared minimum is over it fails to
// compile with ErrCompile; a declared maximum over it is lowered to it. It
// applies when the module is compiled, the same on every engine.
func WithMemoryLimitPages(pages uint32) Option {
	return func(c *config) { c.memoryLimitPages = pages }
}

// memoryLimit is the effective memory limit in pages.
func (c *config) memoryLimit() uint32 {
	switch {
	case c.memoryLimitPages == 0:
		return DefaultMemoryLimitPages
	case c.memoryLimitPages > MaxMemoryLimitPages:
		return MaxMemoryLimitPages
	}
	return c.memoryLimitPages
}

// DefaultTableLimit is the table limit of a module compiled without
// WithTableLimit: 1 M elements per table.
const DefaultTableLimit = 1 << 20

// WithTableLimit caps every table of the guest at elements entries
// (DefaultTableLimit when not given): table.grow past it returns -1 in the
// guest, on every engine, metered or not, and a module whose table starts
// above it fails to compile with ErrCompile. It applies when the module is
// compiled.
func WithTableLimit(elements uint32) Option {
	return func(c *config) { c.tableLimitElems = elements }
}

func (c *config) tableLimit() uint32 {
	if c.tableLimitElems == 0 {
		return DefaultTableLimit
	}
	return c.tableLimitElems
}

// WithTrustedCode compiles an unmetered module as it is, without the
// instrumentation that protects the host from hostile code: the call-depth
// and stack limits (metering.DefaultMaxCallDepth activations,
// metering.DefaultMaxStackSlots value slots: deep recursion fails with
// ErrCallDepth on every engine), the table limit, the yield checkpoints
// that let a deadline stop the guest on wazero and wasmer, and the default
// validation profile (unless WithProfile). Calls are then as fast as the
// engine makes them, deep recursion ends with each engine's own stack
// overflow (a trap on wasmtime and wazero; wasmer 2.0 may crash the
// process), table.grow is bounded only by the engine, and on wazero and
// wasmer a running call cannot be interrupted (on wazero a guest that never
// returns also blocks the garbage collector, and with it the process).
// Modules using features the instrumenter does not support (SIMD) need it.
// Use it only for code you trust. It has no effect with WithMetering.
func WithTrustedCode() Option {
	return func(c *config) { c.trusted = true }
}

// WithProfile makes Compile and New (and so the pool) check the module
// against p (package validate) before anything else, instead of
// validate.DefaultProfile. A module that does not satisfy it fails with
// an error matching ErrCompile and validate.ErrValidation, a
// *validate.ValidationError saying which rule it broke and where. The
// check never involves the engine, so every engine refuses the same
// modules for the same reason. It applies with WithTrustedCode too
// (which, without it, applies no profile: trusted code may use what no
// profile allows, such as SIMD).
//
// To restrict a guest's imports to what a runtime provides, set
// p.RestrictImports and p.Imports from HostAPIRegistry.Imports (which
// includes env.abort) and, with WithWASI, WASIImports.
func WithProfile(p validate.Profile) Option {
	return func(c *config) {
		c.validation.profile = &p
	}
}

// WithLimits replaces the structural limits of the profile Compile and New
// apply (validate.DefaultProfile, or WithProfile's): pass
// validate.DefaultLimits() with fields changed to loosen or tighten them,
// a zero field for no limit.
//
// Without WithLimits or WithProfile, the default profile's limits are
// validate.DefaultLimits() with the memory and table limits of the runtime:
// its initial memory limit is the memory limit (WithMemoryLimitPages) and
// its table size limit the table limit (WithTableLimit), so those options
// alone decide what memory and tables a module may start with. With
// WithTrustedCode and without WithProfile no profile applies, and so no
// limit.
func WithLimits(l validate.Limits) Option {
	return func(c *config) {
		c.validation.limits = &l
	}
}

// WithWarmup pre-initializes every instance, as Wizer does a module: after
// an instance's start code has run, and before its post-start state is
// recorded, the runtime calls fn with the new instance, and fn makes the
// calls that bring it to the state its calls should start from. That
// post-warm-up state is the instance's start state: Reset restores it
// (not the state before fn), and a pool given the option through
// pool.WithRuntimeOptions hands out warmed instances, including those it
// creates anew. A guest may do work lazily on its first call — a Go guest
// built with package guest, for instance, fills the codec's per-type
// caches on the first call of each type (its echo of an any value: 442k
// gas first, 181k later): a fn that makes one call keeps that work out of
// every call after a Reset.
//
// fn runs as part of start: its calls are metered like the start code,
// against ctx's Meter or else the start code's own budget (WithStartGas,
// shared by the start code and fn), and bounded by WithStartTimeout's
// deadline, provided fn makes them with the ctx it is given. fn must be
// deterministic, the same calls with the same arguments and nothing read
// from a clock or random source, so that every instance reaches the same
// state: instances whose state is equal share one copy of it for Reset.
//
// r is the instance for the time of fn: Call, CallInto, CallAs, CallWasm,
// Bind and Unbind work on it (serialized, as on any Runtime); Reset and
// Close fail with ErrReentrant, as does any operation through ctx on the
// Runtime being instantiated (a Reset re-instantiating it holds it); once
// fn has returned, every operation on r fails with ErrClosed. If fn returns
// an error, panics, or leaves the instance faulted (see Runtime.Fault), the
// instantiation (New, Module.Instantiate, or the Reset that re-creates the
// instance) fails with a *WarmupError matching ErrWarmup and fn's error.
//
// Given to Compile, it applies to every instance of the module; given to
// Module.Instantiate, to that instance (WithWarmup(nil) for none).
func WithWarmup(fn func(ctx context.Context, r *Runtime) error) Option {
	return func(c *config) { c.warmup = fn }
}
