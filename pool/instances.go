package pool

import (
	"context"
	goruntime "runtime"

	"github.com/aspect-rt/aspect-runtime/internal/exclusive"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

// instance is a pooled runtime. The pool references it only while it is
// idle: a leased instance is reachable only through its Lease, so a lease
// lost without PutBack makes it unreachable, and the cleanup registered
// once when the instance was created (not per lease) closes it.
type instance struct {
	st      *instState
	used    uint64 // Pool.clock at its last put back (see Pool.clock)
	cleanup goruntime.Cleanup
	// shard is the shard a leased instance goes back to, its lease's
	// home: set when it is leased, by the lease's taker.
	shard int32
	// exclusive: the instance's runtime is marked exclusive (see package
	// internal/exclusive): it takes no lock, which only Call's leases,
	// that lend no handle on it, allow. Set when the instance is created
	// and by a Call that leases it after a lease with a handle (own),
	// cleared by a lease that lends a handle (share).
	exclusive bool
	// Written by every lease and put back: on a cache line of its own
	// (see cacheLine).
	_ [27]byte
}

// instState is what closing an instance needs: the argument of its
// cleanup, which must not reference the instance.
type instState struct {
	rt  *runtime.Runtime
	mod *moduleEntry // nil for RuntimeFor's modules, which are the caller's
	ke  *keyEntry
	// Read by every lease and put back: on a cache line of its own (see
	// cacheLine).
	_ [40]byte
}

// instantiate creates an instance for ke's key, from the module the caller
// gave (RuntimeFor) or from the cached compiled module of code, and
// registers the cleanup that reclaims it if a lease of it is lost.
func (p *Pool) instantiate(ctx context.Context, ke *keyEntry, code []byte, reg *runtime.HostAPIRegistry) (*instance, error) {
	st := &instState{ke: ke}
	mod := ke.key.mod
	if mod == nil {
		me, err := p.module(ctx, ke.key, code)
		if err != nil {
			return nil, err
		}
		st.mod, mod = me, me.mod
	}
	rt, err := mod.Instantiate(ctx, reg, p.rtOpts...)
	if err != nil {
		p.release(ctx, st.mod)
		return nil, err
	}
	st.rt = rt
	p.clock.Add(1) // see Pool.clock
	if p.total.Add(1) > int64(p.capacity) {
		p.resyncIdle(ctx)
	}
	in := &instance{st: st}
	in.cleanup = goruntime.AddCleanup(in, p.leakedInstance, st)
	return in, nil
}

// share makes the runtime of in, leased, lock again as any runtime before
// the lease lends a handle on it (see instance.exclusive).
func (p *Pool) share(in *instance) {
	if in.exclusive {
		exclusive.Set(in.st.rt, false)
		in.exclusive = false
	}
}

// own marks the runtime of in, leased by Call, exclusive again after a
// lease lent a handle on it (see instance.exclusive): that handle, and
// every one made from it, is revoked, and own waits for a call through
// one that may still be running.
func (p *Pool) own(in *instance) {
	exclusive.Set(in.st.rt, true)
	in.exclusive = true
}

// discardLeased closes a leased instance that will not come back.
func (p *Pool) discardLeased(ctx context.Context, in *instance) {
	p.discards.Add(1)
	p.closeInstance(ctx, in)
}

// closeInstance closes an instance the pool holds (idle, or leased and
// given back), which its cleanup then need not.
func (p *Pool) closeInstance(ctx context.Context, in *instance) {
	if err := p.closeInstanceErr(ctx, in); err != nil {
		p.logger.Warn("pool: closing an instance", "error", err)
	}
}

// closeInstanceErr is closeInstance, returning the error of the close.
func (p *Pool) closeInstanceErr(ctx context.Context, in *instance) error {
	in.cleanup.Stop()
	return p.closeState(ctx, in.st)
}

// closeState closes the instance of st and uncounts it.
func (p *Pool) closeState(ctx context.Context, st *instState) error {
	err := st.rt.Close(ctx)
	p.total.Add(-1)
	p.release(ctx, st.mod)
	p.uncount(st.ke)
	return err
}

// leakedInstance runs when a leased instance became unreachable: its lease
// was garbage collected without PutBack.
func (p *Pool) leakedInstance(st *instState) {
	p.logger.Warn("pool: a lease was garbage collected without PutBack; closing its instance")
	p.leaked.Add(1)
	if err := p.closeState(context.Background(), st); err != nil {
		p.logger.Warn("pool: closing an instance", "error", err)
	}
}
