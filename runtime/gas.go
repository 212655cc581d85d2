package runtime

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"

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
}

// Error implements error.
func (e *GasError) Error() string {
	return fmt.Sprintf("%v in %s (gas used %d, left %d)", e.Err, e.Func, e.Used, e.Left)
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
// WithMetering is also what makes calls interruptible on engines that cannot
// stop a running guest themselves (wazero, wasmer: their
// engine.Capabilities report Interrupt false): when a call's context has a
// deadline or can be cancelled, the runtime sets the instrumented interrupt
// flag (metering.InterruptExport) as soon as the context ends, and the guest
// stops at its next function entry or loop header with an *InterruptError
// (ErrInterrupted and the context's error). wasmtime interrupts every call
// natively, metered or not. On wazero and wasmer a call of an unmetered
// module cannot be interrupted: it runs to completion (a context already
// done is still refused before the guest is entered).
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

// gasState is the per-instance metering state.
type gasState struct {
	counter, depth engine.Global
	// interrupt is the instrumented interrupt flag, used on engines without
	// native interruption (nil on the others). It is zero between calls.
	interrupt engine.Global
	// intr is the interrupter armed for the call in progress, or nil.
	intr *interrupter
}

// interrupter sets an instance's interrupt flag when a call's context ends.
// It runs from the context's AfterFunc goroutine while the guest runs: the
// flag is the only thing of the instance it touches (Global.Set may be
// called concurrently with a running call, see engine.Global).
type interrupter struct {
	flag  engine.Global
	cause error // the context's cause, written before fired is set
	fired atomic.Bool
	done  chan struct{} // closed once the flag is set
	stop  func() bool
}

func (i *interrupter) run(ctx context.Context) {
	i.cause = context.Cause(ctx)
	if i.cause == nil {
		i.cause = context.Canceled
	}
	i.fired.Store(true)
	i.flag.Set(1)
	close(i.done)
}

// arm makes the end of ctx interrupt the call about to start.
func (g *gasState) arm(ctx context.Context) {
	i := &interrupter{flag: g.interrupt, done: make(chan struct{})}
	i.stop = context.AfterFunc(ctx, func() { i.run(ctx) })
	g.intr = i
}

// disarm stops the call's interrupter. If it already ran, disarm waits for
// it to finish and clears the flag, so that the flag is zero before the next
// call and every later access to the instance's globals happens after the
// interrupter's write.
func (g *gasState) disarm() {
	i := g.intr
	if i == nil {
		return
	}
	g.intr = nil
	if !i.stop() {
		<-i.done
		g.interrupt.Set(0)
	}
}

// interrupted returns the error of a call stopped by its interrupter through
// the out-of-gas path, or nil if the guest ran out of gas.
func (g *gasState) interrupted(fn string) error {
	if g == nil || g.intr == nil || !g.intr.fired.Load() {
		return nil
	}
	return &InterruptError{Func: fn, Cause: g.intr.cause}
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
	default:
		return engine.HostFunc{}, false, nil
	}
	if len(imp.Type.Params) != 0 || len(imp.Type.Results) != 0 {
		return engine.HostFunc{}, false, fmt.Errorf("%s.%s must be () -> ()", imp.Module, imp.Name)
	}
	return engine.HostFunc{Module: imp.Module, Name: imp.Name, Type: imp.Type,
		Call: func(ctx context.Context, caller engine.Caller, stack []uint64) error {
			if target == ErrOutOfGas {
				// The interrupt flag leads to the out-of-gas path too.
				if err := r.gas.interrupted(r.curFunc); err != nil {
					return r.fail(err)
				}
			}
			return r.fail(&GasError{Err: target})
		}}, true, nil
}

// beginMetered sets the instance's counters for a call limited by ctx's
// meter, arms the interrupt flag if the engine needs it and ctx can end, and
// returns a function that records the result.
func (r *Runtime) beginMetered(ctx context.Context) func(err error) error {
	g := r.gas
	if g.interrupt != nil && ctx.Done() != nil {
		g.arm(ctx)
	}
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
	return func(err error) error {
		g.disarm()
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
