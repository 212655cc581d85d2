package pool

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/aspect-rt/aspect-runtime/runtime"
)

// Do leases a runtime of code on engine with reg's host functions, as
// Runtime does, calls fn with it and puts it back, as PutBack does, also
// when fn panics (the panic goes on). It returns fn's error, or the
// lease's. It is Runtime and PutBack for less: the pool needs no Lease, and
// allocates only the handle fn gets. fn must not keep rt: once fn returns,
// every operation on it fails with runtime.ErrClosed.
func (p *Pool) Do(ctx context.Context, engine string, code []byte, reg *runtime.HostAPIRegistry, fn func(rt *runtime.Runtime) error, opts ...LeaseOption) error {
	if engine == "" {
		engine = runtime.DefaultEngine()
	}
	ce := p.codeFor(code)
	return p.do(ctx, engine, ce, nil, &ce.last, reg, fn, opts)
}

// DoFor is Do for a module the caller compiled, as RuntimeFor is Runtime.
func (p *Pool) DoFor(ctx context.Context, mod *runtime.Module, reg *runtime.HostAPIRegistry, fn func(rt *runtime.Runtime) error, opts ...LeaseOption) error {
	if mod == nil {
		return fmt.Errorf("%w: DoFor needs a module", runtime.ErrInvalidArgument)
	}
	return p.do(ctx, mod.Engine(), nil, mod, &p.moduleFor(mod).last, reg, fn, opts)
}

func (p *Pool) do(ctx context.Context, engine string, ce *codeEntry, mod *runtime.Module, last *atomic.Pointer[keyEntry], reg *runtime.HostAPIRegistry, fn func(rt *runtime.Runtime) error, opts []LeaseOption) error {
	if fn == nil {
		return fmt.Errorf("%w: Do needs a function", runtime.ErrInvalidArgument)
	}
	var lc leaseConfig
	if len(opts) > 0 {
		lc = newLeaseConfig(opts)
	}
	in, err := p.instanceFor(ctx, engine, ce, mod, last, reg, lc.forceClear)
	if err != nil {
		return err
	}
	cell := new(runtime.HandleCell)
	p.share(in)
	h, err := cell.OpenBound(in.st.rt, reg)
	if err != nil {
		// Cannot happen: the key includes the shape.
		p.discardLeased(ctx, in)
		return err
	}
	if lc.preRun != "" || lc.preRunFunc != nil {
		if err := p.preRun(ctx, h, lc); err != nil {
			cell.Revoke()
			p.discardLeased(ctx, in)
			return err
		}
	}
	defer func() {
		cell.Revoke()
		p.putBack(in, int(in.shard), cell, nil)
	}()
	return fn(h)
}
