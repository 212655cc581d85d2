package pool

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync/atomic"

	"github.com/aspect-rt/aspect-runtime/runtime"
)

// Lease is a runtime taken from the pool. Give it back with PutBack, once.
// A lease that becomes unreachable without PutBack is closed by the garbage
// collector and counted in Stats.Leaked, so a forgotten lease does not hold
// its instance forever; do not rely on it.
type Lease struct {
	Key Key
	// Runtime is this lease's handle on the instance (see
	// runtime.Runtime.Handle): after PutBack every operation on it fails
	// with runtime.ErrClosed, so it can never reach the instance's next
	// user. Closing it is PutBack's job.
	Runtime *runtime.Runtime

	inst *instance
	// handle is Runtime as the pool made it (the field is the caller's):
	// closing a handle only revokes it (see runtime.Runtime.Handle).
	handle *runtime.Runtime
	done   atomic.Bool
}

// LeaseOption configures one call of Pool.Runtime.
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
	ce := p.codeEntry(code)
	return p.lease(ctx, p.key(engine, ce.hash, reg, nil), &ce.last, code, reg, opts)
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
	mc, ok := p.byModule.Load(mod)
	if !ok {
		if p.byModuleCount.Add(1) > int64(4*p.maxModules) {
			p.byModule.Clear()
			p.byModuleCount.Store(1)
		}
		mc, _ = p.byModule.LoadOrStore(mod, &moduleCache{})
	}
	return p.lease(ctx, p.key(mod.Engine(), mod.Hash(), reg, mod), &mc.(*moduleCache).last, nil, reg, opts)
}

func (p *Pool) key(engine string, hash [32]byte, reg *runtime.HostAPIRegistry, mod *runtime.Module) Key {
	k := Key{Engine: engine, CodeHash: hash, Shape: reg.Shape(), mod: mod}
	if p.regIdentity {
		k.Registry = reg
	}
	return k
}

func (p *Pool) lease(ctx context.Context, key Key, last *atomic.Pointer[keyEntry], code []byte, reg *runtime.HostAPIRegistry, opts []LeaseOption) (*Lease, error) {
	var lc leaseConfig
	if len(opts) > 0 {
		lc = newLeaseConfig(opts) // escapes: not on a lease without options
	}
	if p.closed.Load() {
		return nil, ErrClosed
	}
	ke, in, cleared := p.take(key, last, lc.forceClear)
	if taken := len(cleared) + boolInt(in != nil); taken > 0 {
		p.idle.Add(-int64(taken))
	}
	for _, c := range cleared {
		p.discards.Add(1)
		p.closeInstance(ctx, c)
	}

	if in == nil {
		var err error
		if in, err = p.instantiate(ctx, key, ke, code, reg); err != nil {
			p.unlive(ke)
			return nil, err
		}
	} else if err := in.st.rt.Bind(reg); err != nil {
		// Cannot happen: the key includes the shape.
		p.discardLeased(ctx, in)
		return nil, err
	}
	// Revoked by closing it: the revoke func Handle returns, unused, is
	// not even made (Handle is inlined), one allocation less per lease.
	h, _ := in.st.rt.Handle()
	if lc.preRun == "" && lc.preRunFunc == nil {
		return &Lease{Key: key, Runtime: h, inst: in, handle: h}, nil
	}
	if err := p.preRun(ctx, h, lc); err != nil {
		_ = h.Close(ctx)
		p.discardLeased(ctx, in)
		return nil, err
	}
	return &Lease{Key: key, Runtime: h, inst: in, handle: h}, nil
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

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
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
// The reset runs with the lease's registry still bound (start code that
// calls host functions calls the lease's); then the binding is dropped, so
// the idle instance keeps no reference to the lease's functions. PutBack is
// idempotent; the lease must not be used afterwards.
func (p *Pool) PutBack(l *Lease) {
	if l == nil || !l.done.CompareAndSwap(false, true) {
		return
	}
	in := l.inst
	l.inst = nil
	ctx := context.Background()
	_ = l.handle.Close(ctx)
	rt, ke := in.st.rt, in.st.ke
	reset := rt.Fault() != nil || !p.keepState
	if reset {
		if err := rt.Reset(ctx); err != nil {
			p.logger.Warn("pool: discarding an instance that could not be reset", "error", err)
			p.discardLeased(ctx, in)
			return
		}
	}
	_ = rt.Unbind()
	in.used = p.clock.Add(1)
	// The lease counted live keeps ke alive (not retired) until here.
	s := &ke.shards[p.shard()]
	s.mu.Lock()
	s.live--
	if reset {
		s.resets++
	}
	if p.closed.Load() {
		s.mu.Unlock()
		p.retire(ke)
		p.closeInstance(ctx, in)
		return
	}
	s.idle = append(s.idle, in)
	s.mu.Unlock()
	if p.idle.Add(1) > int64(p.capacity) {
		p.evict(ctx)
	}
}
