package runtime

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aspect-rt/aspect-runtime/abi"
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
//
// Limit, Left, Used and Charge count the guest's gas, what the
// instrumented code and the host functions' gas rules charge. With
// WithGasRatio, NodeLimit, NodeUsed and NodeLeft report the same budget in
// the node's unit.
//
// What a call is billed when it fails, identically on every engine:
//
//   - A failure at a point the code and the budget alone determine is
//     billed the gas charged before it; a charge that does not fit is not
//     spent. That is out of gas in the guest (Left is then less than the
//     cost of the block that did not fit), in a host function's GasRule or
//     in Meter.Charge (Left keeps all the gas the charge did not fit in,
//     however much), the call-depth limit, a host function's error or panic, an abort and an
//     ABI error (in a host function's arguments or in the call's result).
//   - A trap is billed the whole budget (Left is 0): the gas counter is
//     only a bound of the gas used when the guest traps. So is an
//     interruption (the call's context ended: where the guest stopped
//     depends on timing) and a failure of the engine itself (ErrEngine).
//   - An error caught before the guest runs (a missing export, a bad
//     argument, ErrNotMetered, a context already done) costs nothing.
//
// WithConsumeAllOnFailure bills every failed call its whole budget
// instead. A GasError reports the same figures as the meter.
type Meter struct {
	mu     sync.Mutex
	limit  uint64
	left   uint64
	active *gasState // the instance's gas while a call runs

	ratio      uint64 // guest gas per node gas unit, at least 1
	consumeAll bool   // see WithConsumeAllOnFailure
}

// MeterOption configures a Meter (see NewMeter).
type MeterOption func(*Meter)

// WithGasRatio makes the meter convert between the node's gas unit and the
// guest's: one node unit is ratio guest gas (Artela: 1 EVM gas = 1000 wasm
// gas), and NewMeter's limit is in node units, so the guest's budget is
// limit×ratio. NodeUsed rounds up, NodeLeft down: NodeUsed =
// ⌈Used/ratio⌉, NodeLeft = ⌊Left/ratio⌋, and NodeUsed + NodeLeft =
// NodeLimit always, so a node never bills less than the guest used. A
// ratio of 0 or 1 converts nothing.
func WithGasRatio(ratio uint64) MeterOption {
	return func(m *Meter) { m.ratio = max(ratio, 1) }
}

// WithConsumeAllOnFailure bills every call that fails once its guest has
// started (any error of Call, CallInto, CallAs or CallWasm other than
// those caught before the guest runs, see Meter) its whole budget: Left is
// 0 after it, whatever the failure (Artela's rule). Without it, only traps,
// interruptions and engine failures are billed the whole budget.
func WithConsumeAllOnFailure() MeterOption {
	return func(m *Meter) { m.consumeAll = true }
}

// NewMeter returns a meter with limit gas: guest gas, or node units with
// WithGasRatio. The guest's budget is at most math.MaxInt64 gas (the
// instrumented counter is a signed 64-bit integer): a larger limit is
// lowered to the largest one within it (for a ratio r, ⌊math.MaxInt64/r⌋
// node units), which Limit and NodeLimit then report.
func NewMeter(limit uint64, opts ...MeterOption) *Meter {
	m := &Meter{ratio: 1}
	for _, opt := range opts {
		opt(m)
	}
	limit = min(limit, math.MaxInt64/m.ratio)
	m.limit = limit * m.ratio
	m.left = m.limit
	return m
}

// Limit returns the meter's initial budget, in guest gas.
func (m *Meter) Limit() uint64 { return m.limit }

// Left returns the gas not yet used; inside a host function, what the
// current call has left.
func (m *Meter) Left() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.leftLocked()
}

func (m *Meter) leftLocked() uint64 {
	if m.active != nil {
		return m.active.left()
	}
	return m.left
}

// Used returns the gas used so far.
func (m *Meter) Used() uint64 { return m.limit - m.Left() }

// Ratio returns the guest gas per node unit (see WithGasRatio); 1 without
// a ratio.
func (m *Meter) Ratio() uint64 { return m.ratio }

// NodeLimit returns the meter's initial budget in node units (Limit/Ratio).
func (m *Meter) NodeLimit() uint64 { return m.limit / m.ratio }

// NodeUsed returns the gas used so far in node units, rounded up:
// ⌈Used/Ratio⌉.
func (m *Meter) NodeUsed() uint64 { return m.NodeLimit() - m.NodeLeft() }

// NodeLeft returns the gas not yet used in node units, rounded down:
// ⌊Left/Ratio⌋.
func (m *Meter) NodeLeft() uint64 { return m.Left() / m.ratio }

// Charge spends n gas, from a host function during a call (or between
// calls). If less than n is left it spends nothing and returns an error
// matching ErrOutOfGas; a host function returning it stops the guest.
func (m *Meter) Charge(n uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	left := m.leftLocked()
	if n > left {
		return &GasError{Func: "host", Err: ErrOutOfGas, Used: m.limit - left, Left: left}
	}
	left -= n
	if m.active != nil {
		m.active.setLeft(left)
	} else {
		m.left = left
	}
	return nil
}

// consumeAllOnFailure bills a call that failed after its metered part
// ended (its result broke the ABI or did not decode) its whole budget, if
// ctx's meter says so (see WithConsumeAllOnFailure). It returns err.
func (r *Runtime) consumeAllOnFailure(ctx context.Context, err error) error {
	if m := MeterFrom(ctx); m != nil && m.consumeAll && r.gas != nil {
		m.mu.Lock()
		if m.active != nil {
			m.active.setLeft(0) // the meter pays for another call in progress
		} else {
			m.left = 0
		}
		m.mu.Unlock()
	}
	return err
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
// charged before the function runs (after its arguments are read and
// decoded): Fixed, plus PerByte for every byte of its arguments that Bytes
// counts. If the call's gas does not cover it, none of it is spent, the
// function does not run and the call fails with ErrOutOfGas (see Meter).
type GasRule struct {
	Fixed   uint64
	PerByte uint64
	// Bytes is what PerByte counts: each argument's whole encoding
	// (EncodedBytes, the default) or its payload (PayloadBytes).
	Bytes ByteBasis
}

// ByteBasis selects the bytes of a host function's arguments that
// GasRule.PerByte charges for.
type ByteBasis uint8

const (
	// EncodedBytes counts each argument's whole encoding, its
	// abi.HeaderSize-byte header (type tag and length) included: a 25-byte
	// string counts 31 bytes, an Int64 14, a List its own header and
	// everything inside it. The default.
	EncodedBytes ByteBasis = iota
	// PayloadBytes counts each argument's encoding without its own header,
	// what Artela charges: a 25-byte string counts 25 bytes, an Int64 8, a
	// List its count and its elements, their headers included (the
	// encoding's length minus abi.HeaderSize, per argument).
	PayloadBytes
)

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

// gasState is the per-instance metering state. With yield checkpoints
// (interval > 0) the gas left is split: at most interval in the guest's
// counter, the rest in reserve, which the guest's out_of_gas call draws
// from, interval at a time; each such call is a checkpoint (see
// metering.Config.YieldInterval).
type gasState struct {
	counter, depth engine.Global
	interval       uint64
	reserve        atomic.Uint64
}

// left returns the gas left: the counter and the reserve.
func (g *gasState) left() uint64 {
	return g.counter.Get() + g.reserve.Load()
}

// setLeft sets the gas left to n: at most interval of it in the counter
// with yield checkpoints, all of it without.
func (g *gasState) setLeft(n uint64) {
	c := n
	if g.interval > 0 {
		c = min(n, g.interval)
	}
	g.counter.Set(c)
	g.reserve.Store(n - c)
}

// refill moves gas from the reserve into the counter so that it covers a
// charge of need (an i64 the guest passes: never negative): interval gas,
// or more if the charge needs more. It reports false, moving nothing, if
// the counter and the reserve together cannot pay: out of gas.
func (g *gasState) refill(need uint64) bool {
	c, r := g.counter.Get(), g.reserve.Load()
	if int64(c) < 0 || r == 0 || c+r < need {
		return false
	}
	move := min(r, g.interval)
	if need > c {
		move = min(r, max(move, need-c))
	}
	g.counter.Set(c + move)
	g.reserve.Store(r - move)
	return true
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
	if target == ErrOutOfGas {
		if len(imp.Type.Params) != 1 || imp.Type.Params[0] != engine.I64 || len(imp.Type.Results) != 0 {
			return engine.HostFunc{}, false, fmt.Errorf("%s.%s must be (i64) -> ()", imp.Module, imp.Name)
		}
	} else if len(imp.Type.Params) != 0 || len(imp.Type.Results) != 0 {
		return engine.HostFunc{}, false, fmt.Errorf("%s.%s must be () -> ()", imp.Module, imp.Name)
	}
	if target == nil {
		// A yield checkpoint of an unmetered module (the countdown): stop
		// the guest if the call's context is done.
		return engine.HostFunc{Module: imp.Module, Name: imp.Name, Type: imp.Type,
			Call: func(ctx context.Context, caller engine.Caller, stack []uint64) error {
				return r.checkpoint(ctx)
			}}, true, nil
	}
	if target == ErrOutOfGas {
		// The counter cannot pay a charge of stack[0]: out of gas, unless
		// the reserve covers it (a yield checkpoint of a metered module).
		return engine.HostFunc{Module: imp.Module, Name: imp.Name, Type: imp.Type,
			Call: func(ctx context.Context, caller engine.Caller, stack []uint64) error {
				if r.gas != nil && r.gas.refill(stack[0]) {
					return r.checkpoint(ctx)
				}
				return r.fail(&GasError{Err: target, unmetered: r.gas == nil})
			}}, true, nil
	}
	return engine.HostFunc{Module: imp.Module, Name: imp.Name, Type: imp.Type,
		Call: func(ctx context.Context, caller engine.Caller, stack []uint64) error {
			return r.fail(&GasError{Err: target, unmetered: r.gas == nil})
		}}, true, nil
}

// checkpoint stops the guest at a yield checkpoint if the call's context
// is done.
func (r *Runtime) checkpoint(ctx context.Context) error {
	if ctx.Done() == nil || ctx.Err() == nil {
		return nil
	}
	return r.fail(&InterruptError{Func: r.curFunc, Cause: context.Cause(ctx)})
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
		m.active = g
		m.mu.Unlock()
	}
	g.depth.Set(0)
	// The first checkpoint comes after interval gas (never if the budget
	// is smaller: the call then ends sooner anyway).
	g.setLeft(budget)
	return func(err error) error {
		left := g.left()
		var te *TrapError
		switch {
		case err == nil:
		case m != nil && m.consumeAll:
			// WithConsumeAllOnFailure: every failure bills the whole budget.
			left = 0
		case errors.As(err, &te) || errors.Is(err, ErrInterrupted) || errors.Is(err, ErrEngine):
			// After a trap the counter is only a bound of the gas used (it
			// is synced at calls and block boundaries); the call is billed
			// its whole budget, identically on every engine. An interrupted
			// call too (where it stopped depends on timing), and one the
			// engine failed. (See Meter for every rule.)
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

// chargeHost charges a host function's gas rule to the running call:
// argBytes is the size of its nargs arguments' encodings (see GasRule).
func (r *Runtime) chargeHost(rule GasRule, argBytes uint64, nargs int) error {
	cost := rule.Fixed
	if rule.PerByte != 0 {
		if rule.Bytes == PayloadBytes {
			argBytes -= uint64(nargs) * abi.HeaderSize // each argument read has its header
		}
		if argBytes > (math.MaxUint64-cost)/rule.PerByte {
			cost = math.MaxUint64
		} else {
			cost += rule.PerByte * argBytes
		}
	}
	left := r.gas.left()
	if cost > left {
		return &GasError{Err: ErrOutOfGas}
	}
	r.gas.setLeft(left - cost)
	return nil
}
