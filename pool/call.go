package pool

import (
	"context"
	"fmt"

	"github.com/aspect-rt/aspect-runtime/runtime"
)

// Call leases a runtime of code on engine with reg's host functions, as
// Runtime does, calls the guest's method with args, as runtime.Runtime.Call
// does, and puts the runtime back, as PutBack does, also when the call
// panics (the panic goes on). It returns the call's result and error, or
// the lease's error.
//
// It is the cheapest pooled call: no handle reaches the caller, so the
// pool allocates nothing (no Lease, no handle: the call's own allocations
// are a warm call's) and gives reg's functions to the call only
// (runtime.Runtime.CallWith): the instance, unbound while idle, is never
// bound to reg. And no handle can reach an instance leased by Call (the
// handles lent by earlier leases are revoked), so its calls skip the
// runtime's lock: the pool's lease is their lock (see package
// internal/exclusive). For lease options or several calls per lease, use
// Do or Runtime.
func (p *Pool) Call(ctx context.Context, engine string, code []byte, reg *runtime.HostAPIRegistry, method string, args ...any) (any, error) {
	if engine == "" {
		engine = runtime.DefaultEngine()
	}
	ce := p.codeFor(code)
	in, err := p.instanceFor(ctx, engine, ce, nil, &ce.last, reg, false)
	if err != nil {
		return nil, err
	}
	return p.callOn(ctx, in, reg, method, args)
}

// CallFor is Call for a module the caller compiled, as RuntimeFor is
// Runtime.
func (p *Pool) CallFor(ctx context.Context, mod *runtime.Module, reg *runtime.HostAPIRegistry, method string, args ...any) (any, error) {
	if mod == nil {
		return nil, fmt.Errorf("%w: CallFor needs a module", runtime.ErrInvalidArgument)
	}
	in, err := p.instanceFor(ctx, mod.Engine(), nil, mod, &p.moduleFor(mod).last, reg, false)
	if err != nil {
		return nil, err
	}
	return p.callOn(ctx, in, reg, method, args)
}

// callOn makes Call's call on in, leased, and puts it back.
func (p *Pool) callOn(ctx context.Context, in *instance, reg *runtime.HostAPIRegistry, method string, args []any) (any, error) {
	if !in.exclusive {
		p.own(in)
	}
	// The instance's own runtime never reaches the caller, nor reg's
	// functions (runtime gives a host function no handle on its caller):
	// once the call returns, nothing can call the instance but the pool.
	// reg is the call's binding only (runtime.Runtime.CallWith): the
	// instance, unbound while idle, stays unbound.
	defer p.putBackCalled(in, reg)
	return in.st.rt.CallWith(ctx, reg, method, args...)
}

// putBackCalled puts back in, which a Call used with reg's functions.
func (p *Pool) putBackCalled(in *instance, reg *runtime.HostAPIRegistry) {
	p.putBack(in, int(in.shard), nil, reg)
}
