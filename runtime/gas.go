package runtime

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/aspect-rt/aspect-runtime/metering"
	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// ErrOutOfGas: the call used up its gas (see Meter). The guest stopped at
// the same instruction, with the same gas used, on every engine.
var ErrOutOfGas = errors.New("aspect: out of gas")

// ErrCallDepth: the guest nested more calls than the metering configuration
// allows (metering.Config.MaxCallDepth). The limit is the same on every
// engine, unlike the engines' own stack limits.
var ErrCallDepth = errors.New("aspect: call depth exceeded")

// GasError reports a call stopped by metering. It matches ErrOutOfGas or
// ErrCallDepth.
type GasError struct {
	Func string
	Err  error // ErrOutOfGas or ErrCallDepth
	// Used and Left are the call's gas accounting when it stopped.
	Used, Left uint64

	unmetered bool   // raised in an unmetered call: no gas figures
	detail    string // what limit was hit, when not the metering's own
}

// Error implements error.
func (e *GasError) Error() string {
	msg := fmt.Sprintf("%v in %s", e.Err, e.Func)
	if e.detail != "" {
		msg += ": " + e.detail
	}
	if e.unmetered {
		return msg
	}
	return fmt.Sprintf("%s (gas used %d, left %d)", msg, e.Used, e.Left)
}

// Unwrap returns ErrOutOfGas or ErrCallDepth.
func (e *GasError) Unwrap() error { return e.Err }

// WithMetering instruments the module for deterministic gas metering (see
// package metering: a gas counter charged per basic block, a call-depth
// limit, an optional memory cap and determinism profile). The instrumented
// code is what the engine compiles and what the disk cache stores. Calls are
// then limited by the Meter in their context; a call without a Meter is
// metered with an effectively unlimited budget (math.MaxInt64), so it still
// counts but never runs out.
//
// On engines that cannot stop a running guest themselves (wazero, wasmer:
// their engine.Capabilities report Interrupt false) the module gets yield
// checkpoints (metering.Config.YieldInterval, DefaultYieldInterval unless
// set): every so much gas, at a function entry or loop header, the guest
// calls the host, which stops it with an *InterruptError (ErrInterrupted
// and the context's error) once the call's context is done. The
// checkpoints cost no gas. Without WithMetering a module gets checkpoints
// too on those engines, counting instructions instead of gas (unless
// WithTrustedCode), so that a deadline stops every call on every engine.
// wasmtime interrupts every call natively, metered or not, and its modules
// get no checkpoints.
//
// An interrupted call is billed its whole budget, like a trap: where it
// stopped depends on timing, not on the code.
func WithMetering(cfg metering.Config) Option {
	return func(c *config) {
		mc := cfg
		if mc.InitialGas == 0 {
			// The start section runs before any call can set the counter.
			mc.InitialGas = math.MaxInt64
		}
		c.metering = &mc
	}
}

// Meter is the gas budget of the calls made with its context (see
// WithMeter). A meter may be shared by several calls in sequence: each call
// spends from what the previous ones left. It is not for concurrent calls.
type Meter struct {
	mu     sync.Mutex
	limit  uint64
	left   uint64
	active engine.Global // the gas counter while a call runs
}

// NewMeter returns a meter with limit gas.
func NewMeter(limit uint64) *Meter {
	return &Meter{limit: limit, left: min(limit, math.MaxInt64)}
}

// Limit returns the meter's initial budget.
func (m *Meter) Limit() uint64 { return m.limit }

// Left returns the gas not yet used; inside a host function, what the
// current call has left.
func (m *Meter) Left() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.active != nil {
		return m.active.Get()
	}
	return m.left
}

// Used returns the gas used so far.
func (m *Meter) Used() uint64 { return m.limit - m.Left() }

// Charge spends n gas, from a host function during a call (or between
// calls). If less than n is left it spends nothing and returns an error
// matching ErrOutOfGas; a host function returning it stops the guest.
func (m *Meter) Charge(n uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	left := m.left
	if m.active != nil {
		left = m.active.Get()
	}
	if n > left {
		return &GasError{Func: "host", Err: ErrOutOfGas, Used: m.limit - left, Left: left}
	}
	left -= n
	if m.active != nil {
		m.active.Set(left)
	} else {
		m.left = left
	}
	return nil
}

type meterKey struct{}

// WithMeter returns a context whose calls are limited and accounted by m.
func WithMeter(ctx context.Context, m *Meter) context.Context {
	return context.WithValue(ctx, meterKey{}, m)
}

// MeterFrom returns the meter of ctx, or nil. Host functions use it to read
// and charge the gas of the call in progress.
func MeterFrom(ctx context.Context) *Meter {
	m, _ := ctx.Value(meterKey{}).(*Meter)
	return m
}

// GasRule is the gas a host function costs when a metered guest calls it,
// charged before the function runs: Fixed, plus PerByte for every byte of
// its arguments' encodings.
type GasRule struct {
	Fixed   uint64
	PerByte uint64
}

// WithGasRule sets the gas rule of a host function (see AddAPI).
func WithGasRule(rule GasRule) APIOption {
	return func(a *hostAPI) { a.gas = rule }
}

// DefaultStartGas is the gas budget of a metered module's start code when
// the context that creates the instance carries no Meter (see
// WithStartGas): 50 times what the Go runtime's initialization of a Go
// guest uses (about 2.1 M).
const DefaultStartGas = 100_000_000

// WithStartGas sets the gas budget of a metered module's start code when the
// context of New, Instantiate or Reset carries no Meter. Start code is what
// runs when an instance is created, before any call: the module's start
// function, a WASI reactor's _initialize and StartFunction. It runs as calls
// in the context that creates the instance: its deadline stops it (on every
// engine, as for calls of a metered module), and a Meter in it pays for it;
// without a Meter it gets gas of its own, DefaultStartGas unless set here.
// Start code that runs out fails the instantiation with ErrOutOfGas.
func WithStartGas(gas uint64) Option {
	return func(c *config) { c.startGas = gas }
}

// WithStartTimeout gives start code (see WithStartGas) a deadline of d when
// the context that creates the instance has none. It stops start code on
// every engine, metered or not (with WithTrustedCode, on wasmtime only: a
// trusted guest on wazero or wasmer cannot be interrupted). Zero, the
// default, adds none; package pool sets one for the instances it resets.
func WithStartTimeout(d time.Duration) Option {
	return func(c *config) { c.startTimeout = d }
}

// DefaultYieldInterval is what runs between two yield checkpoints on an
// engine without native interruption (see WithMetering): gas for a metered
// module, instructions for an unmetered one (each instruction counts 1,
// as under metering's default costs; see metering.Config.YieldInterval).
// 65,536 instructions take from about 1 µs (a loop of one machine cycle
// per iteration) to a few hundred µs of compiled guest code (a few
// milliseconds on wazero's interpreter); a checkpoint, one host call, costs
// some 50-100 ns, and an interrupted call stops promptly.
const DefaultYieldInterval = 1 << 16

// gasState is the per-instance metering state.
type gasState struct {
	counter, depth engine.Global
	// yieldAt is the counter value below which the guest next calls
	// aspect.yield (metering.YieldAtExport); nil without checkpoints.
	yieldAt  engine.Global
	interval int64
}

// meteringProvider satisfies the imports metering injects.
func meteringProvider(r *Runtime, imp engine.Import) (engine.HostFunc, bool, error) {
	if imp.Module != metering.ImportModule {
		return engine.HostFunc{}, false, nil
	}
	var target error
	switch imp.Name {
	case metering.OutOfGasImport:
		target = ErrOutOfGas
	case metering.CallDepthExceededImport:
		target = ErrCallDepth
	case metering.YieldImport:
	default:
		return engine.HostFunc{}, false, nil
	}
	if len(imp.Type.Params) != 0 || len(imp.Type.Results) != 0 {
		return engine.HostFunc{}, false, fmt.Errorf("%s.%s must be () -> ()", imp.Module, imp.Name)
	}
	if target == nil {
		// A yield checkpoint, of a metered module or not (r.gas is nil
		// then): stop the guest if the call's context is done.
		return engine.HostFunc{Module: imp.Module, Name: imp.Name, Type: imp.Type,
			Call: func(ctx context.Context, caller engine.Caller, stack []uint64) error {
				if ctx.Done() == nil || ctx.Err() == nil {
					return nil
				}
				cause := context.Cause(ctx)
				return r.fail(&InterruptError{Func: r.curFunc, Cause: cause})
			}}, true, nil
	}
	return engine.HostFunc{Module: imp.Module, Name: imp.Name, Type: imp.Type,
		Call: func(ctx context.Context, caller engine.Caller, stack []uint64) error {
			return r.fail(&GasError{Err: target, unmetered: r.gas == nil})
		}}, true, nil
}

// beginMetered sets the instance's counters for a call limited by ctx's
// meter and returns a function that records the result.
func (r *Runtime) beginMetered(ctx context.Context) func(err error) error {
	g := r.gas
	m := MeterFrom(ctx)
	budget := uint64(math.MaxInt64)
	if m != nil {
		m.mu.Lock()
		budget = m.left
		m.active = g.counter
		m.mu.Unlock()
	}
	g.depth.Set(0)
	g.counter.Set(budget)
	if g.yieldAt != nil {
		// The first checkpoint comes after interval gas (never if the
		// budget is smaller: the call then ends sooner anyway).
		g.yieldAt.Set(uint64(int64(budget) - g.interval))
	}
	return func(err error) error {
		left := g.counter.Get()
		var te *TrapError
		if errors.As(err, &te) || errors.Is(err, ErrInterrupted) {
			// After a trap the counter is only a lower bound of the gas used
			// (it is synced at calls and block boundaries); the call is
			// billed its whole budget, identically on every engine. An
			// interrupted call too: where it stopped depends on timing.
			left = 0
		}
		if left > budget {
			left = 0
		}
		if m != nil {
			m.mu.Lock()
			m.left, m.active = left, nil
			m.mu.Unlock()
		}
		var ge *GasError
		if errors.As(err, &ge) {
			ge.Used, ge.Left = budget-left, left
		}
		return err
	}
}
