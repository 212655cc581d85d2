// Package pool hands out warm aspect runtimes.
//
// A Pool caches idle runtime instances by Key — engine, SHA-256 of the
// bytecode and identity of the host API registry — and compiles each module
// once per engine, sharing the compiled code between all its instances.
// Applications lease a runtime per request and put it back:
//
//	lease, err := p.Runtime(ctx, "wasmtime", code, reg)
//	if err != nil { ... }
//	defer p.PutBack(lease)
//	out, err := lease.Runtime.Call(ctx, "greet", "world")
//
// An instance is never handed out in a bad state: one whose last call
// faulted (trap, abort, host failure, interruption, ABI violation) is reset
// or discarded when it comes back, and by default every instance is reset to
// its freshly started state before reuse, so no state leaks from one lease
// to the next (see WithKeepState).
//
// Capacity bounds the idle instances across all keys; the least recently
// used is closed when it is exceeded. A Pool is safe for concurrent use.
package pool

import (
	"container/list"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	goruntime "runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/aspect-rt/aspect-runtime/runtime"
)

// ErrClosed is returned by Runtime after the pool was closed.
var ErrClosed = errors.New("pool: closed")

// Key identifies interchangeable instances.
type Key struct {
	Engine   string
	CodeHash [32]byte
	// Registry is compared by identity: the same code with another set of
	// host functions is another key.
	Registry *runtime.HostAPIRegistry
}

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

	rt      *runtime.Runtime // the instance itself
	revoke  func()
	pool    *Pool
	mod     *moduleEntry
	cleanup goruntime.Cleanup
	done    atomic.Bool
}

// Stats counts what the pool did.
type Stats struct {
	Hits      uint64 // leases served by an idle instance
	Misses    uint64 // leases that instantiated a new one
	Compiles  uint64 // modules compiled (once per engine and code)
	Resets    uint64 // instances reset to their started state on put back
	Evictions uint64 // idle instances closed to stay within capacity
	Discards  uint64 // instances closed because they could not be reset
	Leaked    uint64 // leases collected by the GC without PutBack
	Live      int    // instances leased out now
	Idle      int    // idle instances now
	Modules   int    // compiled modules cached now
}

// Option configures a Pool.
type Option func(*Pool)

// WithLogger makes the pool log to l. The default is silent.
func WithLogger(l *slog.Logger) Option { return func(p *Pool) { p.logger = l } }

// WithKeepState makes instances keep their guest state between leases: an
// instance is reset only after a fault. Use PreRun to clear state instead.
func WithKeepState() Option { return func(p *Pool) { p.keepState = true } }

// WithMaxModules bounds the compiled modules kept (default 64). A module is
// dropped, least recently used first, only when no instance of it is alive.
func WithMaxModules(n int) Option { return func(p *Pool) { p.maxModules = n } }

// WithRuntimeOptions passes options to every Compile and Instantiate.
func WithRuntimeOptions(opts ...runtime.Option) Option {
	return func(p *Pool) { p.rtOpts = append(p.rtOpts, opts...) }
}

// DefaultStartTimeout bounds the start code the pool runs when it creates
// or re-instantiates an instance in a context without a deadline (PutBack
// resets under context.Background): see runtime.WithStartTimeout. Pass
// runtime.WithStartTimeout in WithRuntimeOptions to change it.
const DefaultStartTimeout = 10 * time.Second

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

// Pool caches runtime instances. Create it with New.
type Pool struct {
	capacity   int
	maxModules int
	keepState  bool
	logger     *slog.Logger
	rtOpts     []runtime.Option
	seed       maphash.Seed

	mu      sync.Mutex
	closed  bool
	idle    map[Key]*list.List // of *idleEntry, most recent at the front
	lru     *list.List         // of *idleEntry, across keys, most recent at the front
	modules map[moduleKey]*moduleEntry
	modLRU  *list.List // of *moduleEntry
	stats   Stats
	byCode  map[uint64][]*codeEntry // fast code -> hash lookup

	// byID maps a codeID to its *codeEntry (see codeHash), byIDCount
	// bounds it.
	byID      sync.Map
	byIDCount atomic.Int64
}

type idleEntry struct {
	key     Key
	rt      *runtime.Runtime
	mod     *moduleEntry
	keyElem *list.Element
	lruElem *list.Element
	keyList *list.List
}

type moduleKey struct {
	engine string
	hash   [32]byte
}

type moduleEntry struct {
	key   moduleKey
	ready chan struct{} // closed when mod/err are set
	mod   *runtime.Module
	err   error
	refs  int // instances alive (idle or leased); guarded by Pool.mu
	elem  *list.Element
}

// codeEntry remembers the SHA-256 of code seen before, so a lease does not
// hash the whole module every time: a cheap maphash finds candidates and a
// byte comparison confirms them.
type codeEntry struct {
	code []byte
	hash [32]byte
}

// New returns a pool keeping at most capacity idle instances (at least 1).
func New(capacity int, opts ...Option) *Pool {
	p := &Pool{
		capacity:   max(capacity, 1),
		maxModules: 64,
		logger:     slog.New(slog.DiscardHandler),
		rtOpts:     []runtime.Option{runtime.WithStartTimeout(DefaultStartTimeout)},
		seed:       maphash.MakeSeed(),
		idle:       map[Key]*list.List{},
		lru:        list.New(),
		modules:    map[moduleKey]*moduleEntry{},
		modLRU:     list.New(),
		byCode:     map[uint64][]*codeEntry{},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

// codeID identifies a code slice by its backing array and length.
type codeID struct {
	data *byte
	n    int
}

// codeHash returns the SHA-256 of code, memoized: by the slice's identity
// first (the same slice passed again costs a map lookup, whatever its
// size), then by content.
func (p *Pool) codeHash(code []byte) [32]byte {
	id := codeID{unsafe.SliceData(code), len(code)}
	if e, ok := p.byID.Load(id); ok {
		return e.(*codeEntry).hash
	}
	h := p.codeHashByContent(code)
	// The entry keeps the slice itself, so that its array cannot be freed
	// and reused for other code under the same identity.
	if p.byIDCount.Add(1) > int64(4*p.maxModules) {
		p.byID.Clear()
		p.byIDCount.Store(1)
	}
	p.byID.Store(id, &codeEntry{code: code, hash: h})
	return h
}

// codeHashByContent returns the SHA-256 of code, memoized by content.
func (p *Pool) codeHashByContent(code []byte) [32]byte {
	fp := maphash.Bytes(p.seed, code)
	p.mu.Lock()
	for _, e := range p.byCode[fp] {
		if string(e.code) == string(code) {
			p.mu.Unlock()
			return e.hash
		}
	}
	p.mu.Unlock()
	h := sha256.Sum256(code)
	p.mu.Lock()
	if len(p.byCode) >= 4*p.maxModules {
		clear(p.byCode) // bounded memo: start over rather than grow
	}
	p.byCode[fp] = append(p.byCode[fp], &codeEntry{code: append([]byte(nil), code...), hash: h})
	p.mu.Unlock()
	return h
}

// Runtime leases an instance of code on engine (the default engine if
// empty, as runtime.New) with reg's host functions, reusing an idle one
// for the same key when there is one. The pool remembers code by the
// slice's identity: do not modify code after passing it.
func (p *Pool) Runtime(ctx context.Context, engine string, code []byte, reg *runtime.HostAPIRegistry, opts ...LeaseOption) (*Lease, error) {
	var lc leaseConfig
	for _, o := range opts {
		o(&lc)
	}
	if engine == "" {
		engine = runtime.DefaultEngine()
	}
	key := Key{Engine: engine, CodeHash: p.codeHash(code), Registry: reg}

	var rt *runtime.Runtime
	var mod *moduleEntry
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	if lc.forceClear {
		p.dropKeyLocked(ctx, key)
	}
	if l := p.idle[key]; l != nil && l.Len() > 0 {
		e := p.removeIdleLocked(l.Front().Value.(*idleEntry))
		rt, mod = e.rt, e.mod
		p.stats.Hits++
	} else {
		p.stats.Misses++
	}
	p.stats.Live++
	p.mu.Unlock()

	if rt == nil {
		var err error
		if rt, mod, err = p.instantiate(ctx, key, code, reg); err != nil {
			p.mu.Lock()
			p.stats.Live--
			p.mu.Unlock()
			return nil, err
		}
	}
	h, revoke := rt.Handle()
	if err := p.preRun(ctx, h, lc); err != nil {
		revoke()
		p.discard(ctx, rt, mod, true)
		return nil, err
	}
	l := &Lease{Key: key, Runtime: h, rt: rt, revoke: revoke, pool: p, mod: mod}
	l.cleanup = goruntime.AddCleanup(l, p.leaked, leakedLease{rt: rt, mod: mod})
	return l, nil
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

// instantiate creates a runtime for key from the cached compiled module.
func (p *Pool) instantiate(ctx context.Context, key Key, code []byte, reg *runtime.HostAPIRegistry) (*runtime.Runtime, *moduleEntry, error) {
	me, err := p.module(ctx, key, code)
	if err != nil {
		return nil, nil, err
	}
	rt, err := me.mod.Instantiate(ctx, reg, p.rtOpts...)
	if err != nil {
		p.release(ctx, me)
		return nil, nil, err
	}
	return rt, me, nil
}

// module returns the compiled module for key, compiling it once; the entry's
// reference count is incremented for the caller.
func (p *Pool) module(ctx context.Context, key Key, code []byte) (*moduleEntry, error) {
	mk := moduleKey{key.Engine, key.CodeHash}
	p.mu.Lock()
	me, ok := p.modules[mk]
	if !ok {
		me = &moduleEntry{key: mk, ready: make(chan struct{})}
		p.modules[mk] = me
		me.elem = p.modLRU.PushFront(me)
		p.stats.Compiles++
		me.refs++
		p.mu.Unlock()
		me.mod, me.err = runtime.CompileWithEngine(ctx, key.Engine, code, p.rtOpts...)
		close(me.ready)
		if me.err != nil {
			p.mu.Lock()
			if p.modules[mk] == me {
				delete(p.modules, mk)
				p.modLRU.Remove(me.elem)
			}
			me.refs--
			p.mu.Unlock()
			return nil, me.err
		}
		p.mu.Lock()
		p.trimModulesLocked(ctx)
		p.mu.Unlock()
		return me, nil
	}
	me.refs++
	p.modLRU.MoveToFront(me.elem)
	p.mu.Unlock()
	<-me.ready
	if me.err != nil {
		p.mu.Lock()
		me.refs--
		p.mu.Unlock()
		return nil, me.err
	}
	return me, nil
}

// release drops one reference to a module.
func (p *Pool) release(ctx context.Context, me *moduleEntry) {
	p.mu.Lock()
	me.refs--
	p.trimModulesLocked(ctx)
	p.mu.Unlock()
}

// trimModulesLocked closes unreferenced modules beyond maxModules, least
// recently used first.
func (p *Pool) trimModulesLocked(ctx context.Context) {
	for e := p.modLRU.Back(); e != nil && (p.closed || len(p.modules) > p.maxModules); {
		prev := e.Prev()
		me := e.Value.(*moduleEntry)
		if me.refs == 0 && isReady(me) {
			p.modLRU.Remove(e)
			delete(p.modules, me.key)
			if me.mod != nil {
				_ = me.mod.Close(ctx)
			}
		}
		e = prev
	}
	p.stats.Modules = len(p.modules)
}

func isReady(me *moduleEntry) bool {
	select {
	case <-me.ready:
		return true
	default:
		return false
	}
}

// PutBack returns a leased runtime to the pool. An instance that faulted is
// reset (or discarded if that fails); by default every instance is reset.
// PutBack is idempotent; the lease must not be used afterwards.
func (p *Pool) PutBack(l *Lease) {
	if l == nil || !l.done.CompareAndSwap(false, true) {
		return
	}
	l.cleanup.Stop()
	l.revoke()
	ctx := context.Background()
	rt := l.rt
	if rt.Fault() != nil || !p.keepState {
		if err := rt.Reset(ctx); err != nil {
			p.logger.Warn("pool: discarding an instance that could not be reset", "error", err)
			p.discard(ctx, rt, l.mod, true)
			return
		}
		p.mu.Lock()
		p.stats.Resets++
		p.mu.Unlock()
	}
	p.mu.Lock()
	p.stats.Live--
	if p.closed {
		p.mu.Unlock()
		p.closeRuntime(ctx, rt, l.mod)
		return
	}
	kl := p.idle[l.Key]
	if kl == nil {
		kl = list.New()
		p.idle[l.Key] = kl
	}
	e := &idleEntry{key: l.Key, rt: rt, mod: l.mod, keyList: kl}
	e.keyElem = kl.PushFront(e)
	e.lruElem = p.lru.PushFront(e)
	p.stats.Idle++
	var evicted []*idleEntry
	for p.lru.Len() > p.capacity {
		victim := p.removeIdleLocked(p.lru.Back().Value.(*idleEntry))
		evicted = append(evicted, victim)
		p.stats.Evictions++
	}
	p.mu.Unlock()
	for _, v := range evicted {
		p.closeRuntime(ctx, v.rt, v.mod)
	}
}

func (p *Pool) removeIdleLocked(e *idleEntry) *idleEntry {
	e.keyList.Remove(e.keyElem)
	p.lru.Remove(e.lruElem)
	if e.keyList.Len() == 0 {
		delete(p.idle, e.key)
	}
	p.stats.Idle--
	return e
}

func (p *Pool) dropKeyLocked(ctx context.Context, key Key) {
	l := p.idle[key]
	for l != nil && l.Len() > 0 {
		e := p.removeIdleLocked(l.Front().Value.(*idleEntry))
		p.stats.Discards++
		// Closing under the lock is fine: it does not call back into the pool.
		_ = e.rt.Close(ctx)
		e.mod.refs--
	}
}

// discard closes a leased runtime that will not come back.
func (p *Pool) discard(ctx context.Context, rt *runtime.Runtime, mod *moduleEntry, wasLive bool) {
	p.mu.Lock()
	p.stats.Discards++
	if wasLive {
		p.stats.Live--
	}
	p.mu.Unlock()
	p.closeRuntime(ctx, rt, mod)
}

func (p *Pool) closeRuntime(ctx context.Context, rt *runtime.Runtime, mod *moduleEntry) {
	if err := rt.Close(ctx); err != nil {
		p.logger.Warn("pool: closing an instance", "error", err)
	}
	p.release(ctx, mod)
}

type leakedLease struct {
	rt  *runtime.Runtime
	mod *moduleEntry
}

// leaked runs when a lease was garbage collected without PutBack.
func (p *Pool) leaked(l leakedLease) {
	p.logger.Warn("pool: a lease was garbage collected without PutBack; closing its instance")
	p.mu.Lock()
	p.stats.Leaked++
	p.stats.Live--
	p.mu.Unlock()
	p.closeRuntime(context.Background(), l.rt, l.mod)
}

// Stats returns a snapshot of the pool's counters.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	s.Modules = len(p.modules)
	return s
}

// Close closes every idle instance and compiled module. Leased instances are
// closed when they are put back, and their modules with them. Runtime fails with ErrClosed afterwards.
func (p *Pool) Close(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	var idle []*idleEntry
	for e := p.lru.Front(); e != nil; e = e.Next() {
		idle = append(idle, e.Value.(*idleEntry))
	}
	for _, e := range idle {
		p.removeIdleLocked(e)
	}
	p.mu.Unlock()
	var errs []error
	for _, e := range idle {
		errs = append(errs, e.rt.Close(ctx))
		p.release(ctx, e.mod)
	}
	p.mu.Lock()
	for k, me := range p.modules {
		if me.refs == 0 && me.mod != nil {
			errs = append(errs, me.mod.Close(ctx))
			delete(p.modules, k)
			p.modLRU.Remove(me.elem)
		}
	}
	p.mu.Unlock()
	return errors.Join(errs...)
}
