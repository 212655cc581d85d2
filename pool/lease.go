package pool

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync/atomic"
	"unsafe"

	"github.com/aspect-rt/aspect-runtime/internal/exclusive"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

// Lease is a runtime taken from the pool. Give it back with PutBack, once.
// A lease that becomes unreachable without PutBack (its Runtime too, which
// keeps it reachable) is closed by the garbage collector and counted in
// Stats.Leaked, so a forgotten lease does not hold its instance forever; do
// not rely on it.
//
// A lease is the one allocation of a lease by Runtime or RuntimeFor (64
// bytes, its handle and the lease's binding included): what a keep-state pooled call costs the
// garbage collector beyond the call itself.
type Lease struct {
	// Runtime is this lease's handle on the instance (see
	// runtime.Runtime.Handle): after PutBack every operation on it fails
	// with runtime.ErrClosed, so it can never reach the instance's next
	// user. Closing it is PutBack's job.
	Runtime *runtime.Runtime

	// inst is the leased instance, set before the lease is handed out.
	// Of two PutBacks at once only the one whose cell.Release wins puts
	// it back.
	inst *instance
	// cell holds the handle Runtime was (the field is the caller's):
	// the lease and its handle are one allocation, released by PutBack.
	// The handle carries the lease's registry (HandleCell.OpenBound), so
	// that a lease binds and unbinds nothing in the instance: between the
	// lease's calls the instance references none of its functions.
	cell runtime.HandleCell
}

// Key returns the key of the leased instance: its engine, code, registry
// shape (and registry, with WithRegistryIdentity).
func (l *Lease) Key() Key { return l.inst.st.ke.key }

// LeaseOption configures one lease: a call of Pool.Runtime, RuntimeFor, Do
// or DoFor.
type LeaseOption func(*leaseConfig)

type leaseConfig struct {
	forceClear bool
	preRun     string
	preRunFunc func(context.Context, *runtime.Runtime) error
}

// ForceClearCache closes the idle instances of the key and builds a fresh one.
func ForceClearCache() LeaseOption { return func(c *leaseConfig) { c.forceClear = true } }

// PreRun calls the guest export name (no arguments) before the instance is
// handed out, to clear state left by the previous lease. If it fails, the
// instance is discarded and Runtime returns the error.
func PreRun(name string) LeaseOption { return func(c *leaseConfig) { c.preRun = name } }

// PreRunFunc calls fn before the instance is handed out, after PreRun's
// export. If it fails or panics (the panic is recovered into a
// *runtime.PanicError), the instance is discarded and Runtime returns the
// error.
func PreRunFunc(fn func(ctx context.Context, rt *runtime.Runtime) error) LeaseOption {
	return func(c *leaseConfig) { c.preRunFunc = fn }
}

// Runtime leases an instance of code on engine (the default engine if
// empty, as runtime.New) with reg's host functions, reusing an idle one
// for the same key when there is one. The pool remembers code by the
// slice's identity, so passing the same slice again costs no more for 3 MB
// of code than for 3 KB: do not modify code after passing it.
func (p *Pool) Runtime(ctx context.Context, engine string, code []byte, reg *runtime.HostAPIRegistry, opts ...LeaseOption) (*Lease, error) {
	if engine == "" {
		engine = runtime.DefaultEngine()
	}
	ce := p.codeFor(code)
	return p.lease(ctx, engine, ce, nil, &ce.last, reg, opts)
}

// codeFor returns the entry of code: the code of the last lease is found
// without a lookup in byID (which boxes and hashes its codeID).
func (p *Pool) codeFor(code []byte) *codeEntry {
	ce := p.lastCode.Load()
	if ce == nil || unsafe.SliceData(ce.code) != unsafe.SliceData(code) || len(ce.code) != len(code) {
		ce = p.codeEntry(code)
		p.lastCode.Store(ce)
	}
	return ce
}

// RuntimeFor leases an instance of mod, a module the caller compiled and
// keeps (the pool's WithRuntimeOptions apply to its instances, not to its
// compilation), with reg's host functions. It is Runtime without any
// lookup of the code. mod must stay open while the pool has instances of
// it: once it is closed, RuntimeFor fails with runtime.ErrClosed when no
// idle instance is left, and Pool.Close does not close it.
func (p *Pool) RuntimeFor(ctx context.Context, mod *runtime.Module, reg *runtime.HostAPIRegistry, opts ...LeaseOption) (*Lease, error) {
	if mod == nil {
		return nil, fmt.Errorf("%w: RuntimeFor needs a module", runtime.ErrInvalidArgument)
	}
	return p.lease(ctx, mod.Engine(), nil, mod, &p.moduleFor(mod).last, reg, opts)
}

// moduleFor returns the cache of mod: the module of the last lease is
// found without a lookup in byModule.
func (p *Pool) moduleFor(mod *runtime.Module) *moduleCache {
	mc := p.lastModule.Load()
	if mc == nil || mc.mod != mod {
		v, ok := p.byModule.Load(mod)
		if !ok {
			if p.byModuleCount.Add(1) > int64(4*p.maxModules) {
				p.byModule.Clear()
				p.byModuleCount.Store(1)
			}
			v, _ = p.byModule.LoadOrStore(mod, &moduleCache{mod: mod})
		}
		mc = v.(*moduleCache)
		p.lastModule.Store(mc)
	}
	return mc
}

// lastEntry returns the entry last holds (the entry of the code's last
// lease) if it has the key of a lease by reg (of the given shape) on
// engine, else nil.
func (p *Pool) lastEntry(last *atomic.Pointer[keyEntry], engine string, shape runtime.RegistryShape, reg *runtime.HostAPIRegistry) *keyEntry {
	if ke := last.Load(); ke != nil && ke.key.Engine == engine && ke.key.Shape == shape && (!p.regIdentity || ke.key.Registry == reg) {
		return ke
	}
	return nil
}

// entryFor returns the key entry for a lease of the code of ce (or of mod,
// for RuntimeFor) on engine with reg: last's, the entry of the code's last
// lease, when it has the same key (then nothing is looked up, and no Key
// is built), else the one in keys. The entry may be dead: lockShard
// replaces it.
func (p *Pool) entryFor(engine string, ce *codeEntry, mod *runtime.Module, last *atomic.Pointer[keyEntry], reg *runtime.HostAPIRegistry) *keyEntry {
	shape := reg.Shape()
	if ke := p.lastEntry(last, engine, shape, reg); ke != nil {
		return ke
	}
	k := Key{Engine: engine, Shape: shape, mod: mod}
	if mod != nil {
		k.CodeHash = mod.Hash()
	} else {
		k.CodeHash = ce.hash
	}
	if p.regIdentity {
		k.Registry = reg
	}
	ke := p.entry(k)
	last.Store(ke)
	return ke
}

func (p *Pool) lease(ctx context.Context, engine string, ce *codeEntry, mod *runtime.Module, last *atomic.Pointer[keyEntry], reg *runtime.HostAPIRegistry, opts []LeaseOption) (*Lease, error) {
	var lc leaseConfig
	if len(opts) > 0 {
		lc = newLeaseConfig(opts) // escapes: not on a lease without options
	}
	in, err := p.instanceFor(ctx, engine, ce, mod, last, reg, lc.forceClear)
	if err != nil {
		return nil, err
	}
	l := &Lease{inst: in}
	p.share(in)
	if l.Runtime, err = l.cell.OpenBound(in.st.rt, reg); err != nil {
		// Cannot happen: the key includes the shape.
		p.discardLeased(ctx, in)
		return nil, err
	}
	if lc.preRun != "" || lc.preRunFunc != nil {
		if err := p.preRun(ctx, l.Runtime, lc); err != nil {
			l.cell.Revoke()
			p.discardLeased(ctx, in)
			return nil, err
		}
	}
	return l, nil
}

// instanceFor leases an instance of the key for a lease of any kind: from
// the slot of the caller's shard without a lock (takeSlot) unless
// forceClear asks for a fresh one, else through leaseInstance.
func (p *Pool) instanceFor(ctx context.Context, engine string, ce *codeEntry, mod *runtime.Module, last *atomic.Pointer[keyEntry], reg *runtime.HostAPIRegistry, forceClear bool) (*instance, error) {
	if !forceClear {
		if in := p.takeSlot(last, engine, reg); in != nil {
			return in, nil
		}
	}
	return p.leaseInstance(ctx, engine, ce, mod, last, reg, forceClear)
}

// leaseInstance takes an idle instance of the key (or creates one, with
// reg bound for its start code, then unbound), which goes back to the
// shard of the calling goroutine (in.shard). The caller binds reg to the handle it lends
// (HandleCell.OpenBound).
func (p *Pool) leaseInstance(ctx context.Context, engine string, ce *codeEntry, mod *runtime.Module, last *atomic.Pointer[keyEntry], reg *runtime.HostAPIRegistry, forceClear bool) (in *instance, err error) {
	if p.closed.Load() {
		return nil, ErrClosed
	}
	home := p.shard()
	ke, in, cleared := p.take(p.entryFor(engine, ce, mod, last, reg), last, home, forceClear)
	for _, c := range cleared {
		p.discards.Add(1)
		p.closeInstance(ctx, c)
	}
	if in == nil {
		var code []byte
		if ce != nil {
			code = ce.code
		}
		if in, err = p.instantiate(ctx, ke, code, reg); err != nil {
			p.uncount(ke)
			return nil, err
		}
		// Pooled instances are bound to no registry: their users' handles
		// carry theirs.
		_ = in.st.rt.Unbind()
		// Its runtime never leaves the pool: until a lease lends a handle
		// on it (share), the pool's leases, one at a time, are all its
		// users, and its calls need not lock it.
		exclusive.Set(in.st.rt, true)
		in.exclusive = true
	}
	in.shard = int32(home)
	return in, nil
}

// newLeaseConfig applies opts. Not inlined: its lc escapes (the options
// are unknown functions), and inlined it would allocate on every lease.
//
//go:noinline
func newLeaseConfig(opts []LeaseOption) leaseConfig {
	var lc leaseConfig
	for _, o := range opts {
		o(&lc)
	}
	return lc
}

func (p *Pool) preRun(ctx context.Context, rt *runtime.Runtime, lc leaseConfig) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("pool: pre-run hook: %w", &runtime.PanicError{Value: v, Stack: debug.Stack()})
		}
	}()
	if lc.preRun != "" {
		if _, err := rt.Call(ctx, lc.preRun); err != nil {
			return fmt.Errorf("pool: pre-run %q: %w", lc.preRun, err)
		}
	}
	if lc.preRunFunc != nil {
		if err := lc.preRunFunc(ctx, rt); err != nil {
			return fmt.Errorf("pool: pre-run hook: %w", err)
		}
	}
	return nil
}

// PutBack returns a leased runtime to the pool. An instance that faulted is
// reset (or discarded if that fails); by default every instance is reset.
// The reset runs with the lease's registry bound (start code that calls
// host functions calls the lease's), which the instance drops afterwards:
// an idle instance keeps no reference to the lease's functions. PutBack is
// idempotent; the lease must not be used afterwards.
func (p *Pool) PutBack(l *Lease) {
	if l == nil || !l.cell.Release() {
		return
	}
	in := l.inst
	p.putBack(in, int(in.shard), &l.cell, nil)
}

// putBack returns a leased instance, whose handle, cell's, is revoked, to
// shard i (see PutBack). A reset runs its start code with the lease's
// registry: the one the cell's handle is bound to last, or reg if the
// lease had no handle (cell nil, see Call).
func (p *Pool) putBack(in *instance, i int, cell *runtime.HandleCell, reg *runtime.HostAPIRegistry) {
	ctx := context.Background()
	rt, ke := in.st.rt, in.st.ke
	reset := !p.keepState || rt.Fault() != nil
	if reset {
		// The lease's registry for the start code a reset may run (a
		// registry of another shape cannot have been bound to the cell).
		if cell != nil {
			reg = cell.Registry()
		}
		_ = rt.Bind(reg)
		err := rt.Reset(ctx)
		_ = rt.Unbind()
		if err != nil {
			p.logger.Warn("pool: discarding an instance that could not be reset", "error", err)
			p.discardLeased(ctx, in)
			return
		}
	}
	if p.total.Load() > int64(p.capacity) {
		in.used = p.clock.Add(1)
	} else {
		in.used = p.clock.Load()
	}
	// The instance, counted in ke, keeps ke alive (not retired) while it
	// is idle too. It goes back to the shard it was leased from: the
	// shard of the P the lease was taken on, which is the P the caller
	// runs on unless it moved (a shard is only a preference).
	s := &ke.shards[i]
	if reset {
		s.resets.Add(1)
	}
	if s.slot.Load() == nil && s.slot.CompareAndSwap(nil, in) {
		// The fast path: into the empty slot, without a lock. Close,
		// which sets closed before it drains the slots, and this put
		// back, which stored into the slot before it reads closed, cannot
		// both miss the instance; whichever takes it out closes it.
		if p.closed.Load() {
			if x := s.slot.Swap(nil); x != nil {
				p.closeInstance(ctx, x)
			}
			return
		}
		// Likewise with an instantiation that took the instances over the
		// capacity (resyncIdle) and counts the idle ones.
		if p.total.Load() > int64(p.capacity) {
			s.mu.Lock()
			p.noteIdle(s)
			s.mu.Unlock()
			if p.idleOver() {
				p.evict(ctx)
			}
		}
		return
	}
	s.mu.Lock()
	if p.closed.Load() {
		s.mu.Unlock()
		p.closeInstance(ctx, in)
		return
	}
	// The slot is taken: in, the most recently put back, goes into it,
	// and the slot's instance onto idle.
	if old := s.slot.Swap(in); old != nil {
		s.idle = append(s.idle, old)
	}
	p.noteIdle(s)
	s.mu.Unlock()
	// Idle instances can outnumber the capacity only when instances do:
	// with no more instances than the capacity (the steady state), a put
	// back writes nothing shared by all keys; otherwise it counts the idle
	// ones from the shards' counts before it looks for one to evict.
	if p.total.Load() > int64(p.capacity) && p.idleOver() {
		p.evict(ctx)
	}
}
