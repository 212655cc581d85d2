package runtime

import (
	"fmt"
	"strings"

	"github.com/aspect-rt/aspect-runtime/internal/wasmbin"
	"github.com/aspect-rt/aspect-runtime/metering"
)

// preparation records what prepare did to a module's code before it was
// compiled, for the instances created from it.
type preparation struct {
	// snapshot is set when instances can be reset by restoring memory and
	// globals (see snapshot.go); nil means Reset re-instantiates.
	snapshot *snapshotPlan
	// gas is the instrumentation result when the module is metered.
	gas *metering.Result
	// limits is the safety-only instrumentation result of an unmetered
	// module (metering.Config.LimitsOnly), unless WithTrustedCode.
	limits *metering.Result
	// start: the module exports metering.StartExport, its start function,
	// which every instance calls first (see metering.Normalize).
	start bool
}

// prepare rewrites code before compilation: gas metering when configured,
// then the rewrite that makes snapshots possible. The result is what the
// engine compiles (and what the disk cache is keyed by). nativeInterrupt is
// the engine's Capabilities().Interrupt: without it, code gets yield
// checkpoints (metering.Config.YieldInterval), metered or not (unless
// WithTrustedCode), which cost time but no gas.
func prepare(code []byte, cfg config, nativeInterrupt bool) ([]byte, *preparation, error) {
	prep := &preparation{}
	// The profile (WithProfile, validate.DefaultProfile) first: its limits
	// refuse compile-time bombs before any other pass or engine sees them.
	if err := cfg.validate(code); err != nil {
		return nil, nil, err
	}
	// What some engine cannot handle safely is refused, or normalized,
	// before any engine sees it, the same way on every engine: a start
	// section becomes an export the runtime calls after instantiation (see
	// metering.Normalize), v128 values at the host boundary are refused,
	// and memories are capped below 4 GiB.
	norm, err := metering.Normalize(code)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrCompile, err)
	}
	code, prep.start = norm.Module, norm.Start
	if err := wasmbin.CheckBoundaryTypes(code); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrCompile, err)
	}
	code, err = wasmbin.ClampMemoryMax(code, cfg.memoryLimit())
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrCompile, err)
	}
	switch {
	case cfg.metering != nil:
		mc := *cfg.metering
		if !nativeInterrupt && mc.YieldInterval == 0 {
			mc.YieldInterval = DefaultYieldInterval
		}
		if mc.MaxTableElements == 0 {
			mc.MaxTableElements = cfg.tableLimit()
		}
		if prep.gas, err = metering.Instrument(code, mc); err != nil {
			return nil, nil, fmt.Errorf("%w: metering: %w", ErrCompile, err)
		}
		code = prep.gas.Module
	case !cfg.trusted:
		// Unmetered, the same limits hold, without gas: the call-depth and
		// stack limits (deep recursion fails with ErrCallDepth on every
		// engine, before any native stack could overflow, which wasmer
		// does not survive) and the table limit; and, on an engine that
		// cannot interrupt a guest itself, yield checkpoints counting
		// instructions, so that a deadline stops any guest there too and,
		// on wazero, the guest returns to Go regularly (a guest Go cannot
		// preempt would hold up every stop-the-world of the GC).
		//
		// Every call restarts the countdown (RestartCountdown): the guest
		// returned to Go when the last call ended, so a call need not pay
		// for the instructions of earlier calls with a yield (a host call
		// from the guest: about one per 8 calls of as/greet.wasm's greet).
		lc := metering.Config{LimitsOnly: true, MaxTableElements: cfg.tableLimit()}
		if !nativeInterrupt {
			lc.YieldInterval = DefaultYieldInterval
			lc.RestartCountdown = true
		}
		if prep.limits, err = metering.Instrument(code, lc); err != nil {
			return nil, nil, fmt.Errorf("%w: %w", ErrCompile, err)
		}
		code = prep.limits.Module
	}
	if code, prep.snapshot, err = prepareSnapshot(code, cfg.dirtyPages); err != nil {
		return nil, nil, err
	}
	return code, prep, nil
}

// injected reports whether the export name was added by prepare (and so is
// not one of the module's own exports).
func (p *preparation) injected(name string) bool {
	if p == nil {
		return false
	}
	for _, g := range []*metering.Result{p.gas, p.limits} {
		if g == nil {
			continue
		}
		switch name {
		case g.GasCounter, g.CallDepth, g.YieldCountdown:
			if name != "" {
				return true
			}
		}
	}
	if p.start && name == metering.StartExport {
		return true
	}
	if p.snapshot != nil && (name == metering.MemoryExport || strings.HasPrefix(name, metering.GlobalExportPrefix)) {
		return true
	}
	if p.snapshot != nil && p.snapshot.dirty != nil && strings.HasPrefix(name, metering.DirtyExportPrefix) {
		return true
	}
	return false
}
