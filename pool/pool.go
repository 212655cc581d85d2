// Package pool hands out warm aspect runtimes.
//
// A Pool caches idle runtime instances by Key — engine, SHA-256 of the
// bytecode and shape of the host API registry — and compiles each module
// once per engine, sharing the compiled code between all its instances.
// Applications lease a runtime per request and put it back:
//
//	lease, err := p.Runtime(ctx, "wasmtime", code, reg)
//	if err != nil { ... }
//	defer p.PutBack(lease)
//	out, err := lease.Runtime.Call(ctx, "greet", "world")
//
// Instances are keyed by the registry's shape (runtime.RegistryShape), not
// its identity: a registry built per request, whose functions close over
// the request's state, reuses the warm instances of the registries of the
// same shape before it. Each lease binds its own registry's functions to
// its instance (runtime.Runtime.Bind) and the binding is dropped when it is
// put back, so two leases never see each other's functions.
// WithRegistryIdentity keys instances by the registry's identity instead.
//
// An instance is never handed out in a bad state: one whose last call
// faulted (trap, abort, host failure, interruption, ABI violation) is reset
// or discarded when it comes back, and by default every instance is reset to
// its freshly started state before reuse, so no state leaks from one lease
// to the next (see WithKeepState).
//
// A lease costs the same whatever the size of the code and its memory: the
// code passed to Runtime is found by the slice's identity (RuntimeFor takes
// a compiled Module and needs no lookup of the code at all), idle instances
// are kept per key, without a lock shared by all keys, and a lease neither
// hashes nor compares the code.
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
	// Shape is the shape of the lease's registry: the same code with
	// registries of the same shape shares instances, each lease binding
	// its own registry's functions.
	Shape runtime.RegistryShape
	// Registry is set only with WithRegistryIdentity, which keys instances
	// by the registry's identity too: the same code with another registry
	// is then another key.
	Registry *runtime.HostAPIRegistry

	// mod is the Module given to RuntimeFor (nil for the code the pool
	// compiles itself, with its own options).
	mod *runtime.Module
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

	inst *instance
	// handle is Runtime as the pool made it (the field is the caller's):
	// closing a handle only revokes it (see runtime.Runtime.Handle).
	handle *runtime.Runtime
	done   atomic.Bool
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
// Without it, the pool compiles modules with
// runtime.WithDirtyPageTracking, so that each reset costs the pages the
// lease wrote (compile the modules given to RuntimeFor with it too).
func WithKeepState() Option { return func(p *Pool) { p.keepState = true } }

// WithRegistryIdentity keys instances by the identity of the lease's
// registry, as well as its shape: an instance is then only ever leased
// with the registry it was instantiated with.
func WithRegistryIdentity() Option { return func(p *Pool) { p.regIdentity = true } }

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
	capacity    int
	maxModules  int
	keepState   bool
	regIdentity bool
	logger      *slog.Logger
	rtOpts      []runtime.Option
	seed        maphash.Seed

	closed atomic.Bool

	// keys maps a Key to its *keyEntry: the idle instances of the key and
	// its counters, in shards under locks of their own.
	keys sync.Map
	// shards is the number of shards of every key entry (GOMAXPROCS when
	// the pool was made); tokens hands each P the index of its shard.
	shards int
	tokens sync.Pool
	nextTk atomic.Uint32
	// idle counts the idle instances across keys. Capacity is enforced by
	// evict, under evictMu, only when idle exceeds it; clock numbers the
	// put backs (instance.used), which orders them for the LRU: a counter
	// rather than the time, which costs a clock read per put back.
	idle    atomic.Int64
	clock   atomic.Uint64
	evictMu sync.Mutex

	compiles, evictions, discards, leaked atomic.Uint64
	// retired holds the counters of key entries dropped from keys.
	retired struct{ hits, misses, resets atomic.Uint64 }

	// modMu guards the compiled modules (taken only to instantiate and to
	// close instances, not to lease an idle one).
	modMu   sync.Mutex
	modules map[moduleKey]*moduleEntry
	modLRU  *list.List // of *moduleEntry

	// codeMu guards byCode, the memo of code hashes by content.
	codeMu sync.Mutex
	byCode map[uint64][]*codeEntry
	// byID maps a codeID to its *codeEntry (see codeHash), byIDCount
	// bounds it.
	byID      sync.Map
	byIDCount atomic.Int64
	// byModule maps a *runtime.Module given to RuntimeFor to its
	// *moduleCache, byModuleCount bounds it.
	byModule      sync.Map
	byModuleCount atomic.Int64
}

// keyEntry holds the idle instances of one key, in one shard per P: a
// goroutine puts an instance back in the shard of the P it runs on and
// leases from that shard first, so two goroutines leasing at once each
// keep reusing the instance whose memory their core has in cache instead
// of trading instances (and the cache misses of their state) at every
// lease. A goroutine whose shard is empty takes an idle instance from
// another shard before creating one.
type keyEntry struct {
	key    Key
	shards []keyShard
	// dead: the entry was removed from Pool.keys; who finds it dead looks
	// the key up again. Written with every shard locked, read with one.
	dead bool
}

// keyShard is one shard of a keyEntry, on cache lines of its own.
type keyShard struct {
	mu sync.Mutex
	// idle is a stack: least recently put back first.
	idle []*instance
	// Counters, guarded by mu. A lease may be counted live in one shard
	// and put back in another: only their sum over the shards is
	// meaningful.
	hits, misses, resets uint64
	live                 int
	_                    [64]byte
}

// lockAll locks every shard of ke, in order.
func (ke *keyEntry) lockAll() {
	for i := range ke.shards {
		ke.shards[i].mu.Lock()
	}
}

// unlockAll unlocks every shard of ke.
func (ke *keyEntry) unlockAll() {
	for i := range ke.shards {
		ke.shards[i].mu.Unlock()
	}
}

// shardToken is the shard index a P gets from Pool.tokens.
type shardToken struct{ i int }

// shard returns the index of the calling goroutine's shard: sync.Pool
// keeps a token per P, so goroutines running on the same P get the same
// index (after a GC drops the tokens, new ones are dealt round robin).
func (p *Pool) shard() int {
	if p.shards == 1 {
		return 0
	}
	t := p.tokens.Get().(*shardToken)
	i := t.i
	p.tokens.Put(t)
	return i
}

// instance is a pooled runtime. The pool references it only while it is
// idle: a leased instance is reachable only through its Lease, so a lease
// lost without PutBack makes it unreachable, and the cleanup registered
// once when the instance was created (not per lease) closes it.
type instance struct {
	st      *instState
	used    uint64 // Pool.clock at its last put back
	cleanup goruntime.Cleanup
}

// instState is what closing an instance needs: the argument of its
// cleanup, which must not reference the instance.
type instState struct {
	rt  *runtime.Runtime
	mod *moduleEntry // nil for RuntimeFor's modules, which are the caller's
	ke  *keyEntry
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
	refs  int // instances alive (idle or leased); guarded by Pool.modMu
	elem  *list.Element
}

// codeEntry remembers the SHA-256 of code seen before, so a lease does not
// hash the whole module every time: a cheap maphash finds candidates and a
// byte comparison confirms them.
type codeEntry struct {
	code []byte
	hash [32]byte
	// last is the key entry of the last lease of the code: found without
	// a lookup in Pool.keys (which would box and hash the Key) when the
	// next lease has the same key.
	last atomic.Pointer[keyEntry]
}

// moduleCache is codeEntry.last for the modules given to RuntimeFor.
type moduleCache struct {
	last atomic.Pointer[keyEntry]
}

// New returns a pool keeping at most capacity idle instances (at least 1).
func New(capacity int, opts ...Option) *Pool {
	p := &Pool{
		capacity:   max(capacity, 1),
		maxModules: 64,
		logger:     slog.New(slog.DiscardHandler),
		rtOpts:     []runtime.Option{runtime.WithStartTimeout(DefaultStartTimeout)},
		seed:       maphash.MakeSeed(),
		modules:    map[moduleKey]*moduleEntry{},
		modLRU:     list.New(),
		byCode:     map[uint64][]*codeEntry{},
	}
	for _, o := range opts {
		o(p)
	}
	p.shards = max(1, min(goruntime.GOMAXPROCS(0), 64))
	p.tokens.New = func() any { return &shardToken{int(p.nextTk.Add(1)-1) % p.shards} }
	if !p.keepState {
		// Every put back resets the instance: compile so that a reset
		// costs the pages the lease wrote, not the memory's size.
		p.rtOpts = append([]runtime.Option{runtime.WithDirtyPageTracking()}, p.rtOpts...)
	}
	return p
}

// codeID identifies a code slice by its backing array and length.
type codeID struct {
	data *byte
	n    int
}

// codeEntry returns the entry of code, with its SHA-256, memoized: by the
// slice's identity first (the same slice passed again costs a map lookup,
// whatever its size), then by content.
func (p *Pool) codeEntry(code []byte) *codeEntry {
	id := codeID{unsafe.SliceData(code), len(code)}
	if e, ok := p.byID.Load(id); ok {
		return e.(*codeEntry)
	}
	h := p.codeHashByContent(code)
	// The entry keeps the slice itself, so that its array cannot be freed
	// and reused for other code under the same identity.
	if p.byIDCount.Add(1) > int64(4*p.maxModules) {
		p.byID.Clear()
		p.byIDCount.Store(1)
	}
	ce := &codeEntry{code: code, hash: h}
	p.byID.Store(id, ce)
	return ce
}

// codeHashByContent returns the SHA-256 of code, memoized by content.
func (p *Pool) codeHashByContent(code []byte) [32]byte {
	fp := maphash.Bytes(p.seed, code)
	p.codeMu.Lock()
	for _, e := range p.byCode[fp] {
		if string(e.code) == string(code) {
			p.codeMu.Unlock()
			return e.hash
		}
	}
	p.codeMu.Unlock()
	h := sha256.Sum256(code)
	p.codeMu.Lock()
	if len(p.byCode) >= 4*p.maxModules {
		clear(p.byCode) // bounded memo: start over rather than grow
	}
	p.byCode[fp] = append(p.byCode[fp], &codeEntry{code: append([]byte(nil), code...), hash: h})
	p.codeMu.Unlock()
	return h
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

// entry returns the key's entry, creating it if needed.
func (p *Pool) entry(key Key) *keyEntry {
	if v, ok := p.keys.Load(key); ok {
		return v.(*keyEntry)
	}
	v, _ := p.keys.LoadOrStore(key, &keyEntry{key: key, shards: make([]keyShard, p.shards)})
	return v.(*keyEntry)
}

// lockShard returns the key's live entry with its shard i locked: last's
// entry if it is the key's, else the one in keys (then remembered in last).
func (p *Pool) lockShard(key Key, last *atomic.Pointer[keyEntry], i int) (*keyEntry, *keyShard) {
	if ke := last.Load(); ke != nil && ke.key == key {
		s := &ke.shards[i]
		s.mu.Lock()
		if !ke.dead {
			return ke, s
		}
		s.mu.Unlock()
	}
	for {
		ke := p.entry(key)
		s := &ke.shards[i]
		s.mu.Lock()
		if !ke.dead {
			last.Store(ke)
			return ke, s
		}
		s.mu.Unlock()
	}
}

// retire drops ke from the pool's keys if it has nothing left: no idle
// instance and none leased. No shard of ke may be locked by the caller.
func (p *Pool) retire(ke *keyEntry) {
	ke.lockAll()
	defer ke.unlockAll()
	if ke.dead {
		return
	}
	var live int
	var hits, misses, resets uint64
	for i := range ke.shards {
		s := &ke.shards[i]
		if len(s.idle) > 0 {
			return
		}
		live += s.live
		hits, misses, resets = hits+s.hits, misses+s.misses, resets+s.resets
	}
	if live > 0 {
		return
	}
	ke.dead = true
	p.keys.CompareAndDelete(ke.key, ke)
	p.retired.hits.Add(hits)
	p.retired.misses.Add(misses)
	p.retired.resets.Add(resets)
}

// drain takes every idle instance of ke.
func (p *Pool) drain(ke *keyEntry) []*instance {
	ke.lockAll()
	defer ke.unlockAll()
	var out []*instance
	for i := range ke.shards {
		s := &ke.shards[i]
		out = append(out, s.idle...)
		clear(s.idle)
		s.idle = s.idle[:0]
	}
	return out
}

// pop takes the most recently put back idle instance of s, counting the
// lease in s; nil if s has none. s.mu is held.
func (s *keyShard) pop() *instance {
	n := len(s.idle)
	if n == 0 {
		return nil
	}
	in := s.idle[n-1]
	s.idle[n-1] = nil // the pool keeps no reference to a leased instance
	s.idle = s.idle[:n-1]
	s.hits++
	s.live++
	return in
}

// take leases an idle instance of key: from the calling goroutine's shard
// first, then from the others. Without one, it counts a miss and returns
// nil; the lease is counted live either way.
func (p *Pool) take(key Key, last *atomic.Pointer[keyEntry], forceClear bool) (*keyEntry, *instance, []*instance) {
	home := p.shard()
	ke, s := p.lockShard(key, last, home)
	var cleared []*instance
	if forceClear {
		s.mu.Unlock()
		cleared = p.drain(ke)
		ke, s = p.lockShard(key, last, home)
	}
	if in := s.pop(); in != nil {
		s.mu.Unlock()
		return ke, in, cleared
	}
	s.mu.Unlock()
	for j := 1; j < len(ke.shards); j++ {
		t := &ke.shards[(home+j)%len(ke.shards)]
		t.mu.Lock()
		if ke.dead {
			t.mu.Unlock()
			break
		}
		if in := t.pop(); in != nil {
			t.mu.Unlock()
			return ke, in, cleared
		}
		t.mu.Unlock()
	}
	// None seen: look again with every shard locked before counting a
	// miss, which instantiates. Without the locks, an instance put back
	// into a shard already looked at was missed, and a pool whose
	// instances were all idle or being put back instantiated one more.
	for {
		ke.lockAll()
		if !ke.dead {
			break
		}
		ke.unlockAll()
		ke = p.entry(key)
	}
	last.Store(ke)
	for j := range ke.shards {
		if in := ke.shards[(home+j)%len(ke.shards)].pop(); in != nil {
			ke.unlockAll()
			return ke, in, cleared
		}
	}
	s = &ke.shards[home]
	s.misses++
	s.live++
	ke.unlockAll()
	return ke, nil, cleared
}

// unlive uncounts a lease of ke that will not come back and retires ke if
// it has nothing left.
func (p *Pool) unlive(ke *keyEntry) {
	s := &ke.shards[p.shard()]
	s.mu.Lock()
	s.live--
	s.mu.Unlock()
	p.retire(ke)
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

// instantiate creates an instance for key, from the module the caller gave
// (RuntimeFor) or from the cached compiled module, and registers the
// cleanup that reclaims it if a lease of it is lost.
func (p *Pool) instantiate(ctx context.Context, key Key, ke *keyEntry, code []byte, reg *runtime.HostAPIRegistry) (*instance, error) {
	st := &instState{ke: ke}
	mod := key.mod
	if mod == nil {
		me, err := p.module(ctx, key, code)
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
	in := &instance{st: st}
	in.cleanup = goruntime.AddCleanup(in, p.leakedInstance, st)
	return in, nil
}

// module returns the compiled module for key, compiling it once; the entry's
// reference count is incremented for the caller.
func (p *Pool) module(ctx context.Context, key Key, code []byte) (*moduleEntry, error) {
	mk := moduleKey{key.Engine, key.CodeHash}
	p.modMu.Lock()
	me, ok := p.modules[mk]
	if !ok {
		me = &moduleEntry{key: mk, ready: make(chan struct{})}
		p.modules[mk] = me
		me.elem = p.modLRU.PushFront(me)
		p.compiles.Add(1)
		me.refs++
		p.modMu.Unlock()
		me.mod, me.err = runtime.CompileWithEngine(ctx, key.Engine, code, p.rtOpts...)
		close(me.ready)
		if me.err != nil {
			p.modMu.Lock()
			if p.modules[mk] == me {
				delete(p.modules, mk)
				p.modLRU.Remove(me.elem)
			}
			me.refs--
			p.modMu.Unlock()
			return nil, me.err
		}
		p.modMu.Lock()
		p.trimModulesLocked(ctx)
		p.modMu.Unlock()
		return me, nil
	}
	me.refs++
	p.modLRU.MoveToFront(me.elem)
	p.modMu.Unlock()
	<-me.ready
	if me.err != nil {
		p.modMu.Lock()
		me.refs--
		p.modMu.Unlock()
		return nil, me.err
	}
	return me, nil
}

// release drops one reference to a module (none for a nil one).
func (p *Pool) release(ctx context.Context, me *moduleEntry) {
	if me == nil {
		return
	}
	p.modMu.Lock()
	me.refs--
	p.trimModulesLocked(ctx)
	p.modMu.Unlock()
}

// trimModulesLocked closes unreferenced modules beyond maxModules, least
// recently used first (all of them once the pool is closed).
func (p *Pool) trimModulesLocked(ctx context.Context) {
	for e := p.modLRU.Back(); e != nil && (p.closed.Load() || len(p.modules) > p.maxModules); {
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

// evict closes idle instances, least recently put back first, until the
// pool is within its capacity: the slow path, taken only when a put back
// exceeds it.
func (p *Pool) evict(ctx context.Context) {
	p.evictMu.Lock()
	defer p.evictMu.Unlock()
	for p.idle.Load() > int64(p.capacity) {
		// oldestUsed is a copy: once its shard is unlocked, oldest may
		// be leased and put back (its used written) at any time.
		var oldest *instance
		var oldestUsed uint64
		var oldestKey *keyEntry
		var oldestShard *keyShard
		p.keys.Range(func(_, v any) bool {
			ke := v.(*keyEntry)
			for i := range ke.shards {
				s := &ke.shards[i]
				s.mu.Lock()
				if len(s.idle) > 0 && (oldest == nil || s.idle[0].used < oldestUsed) {
					oldest, oldestUsed, oldestKey, oldestShard = s.idle[0], s.idle[0].used, ke, s
				}
				s.mu.Unlock()
			}
			return true
		})
		if oldest == nil {
			return
		}
		s := oldestShard
		s.mu.Lock()
		if len(s.idle) == 0 || s.idle[0] != oldest {
			s.mu.Unlock()
			continue // leased or evicted meanwhile: look again
		}
		victim := s.idle[0]
		s.idle[0] = nil
		s.idle = s.idle[1:]
		s.mu.Unlock()
		p.retire(oldestKey)
		p.idle.Add(-1)
		p.evictions.Add(1)
		p.closeInstance(ctx, victim)
	}
}

// discardLeased closes a leased instance that will not come back.
func (p *Pool) discardLeased(ctx context.Context, in *instance) {
	p.discards.Add(1)
	p.unlive(in.st.ke)
	p.closeInstance(ctx, in)
}

// closeInstance closes an instance the pool holds (idle, or leased and
// given back), which its cleanup then need not.
func (p *Pool) closeInstance(ctx context.Context, in *instance) {
	in.cleanup.Stop()
	p.closeState(ctx, in.st)
}

func (p *Pool) closeState(ctx context.Context, st *instState) {
	if err := st.rt.Close(ctx); err != nil {
		p.logger.Warn("pool: closing an instance", "error", err)
	}
	p.release(ctx, st.mod)
}

// leakedInstance runs when a leased instance became unreachable: its lease
// was garbage collected without PutBack.
func (p *Pool) leakedInstance(st *instState) {
	p.logger.Warn("pool: a lease was garbage collected without PutBack; closing its instance")
	p.leaked.Add(1)
	p.unlive(st.ke)
	p.closeState(context.Background(), st)
}

// Stats returns a snapshot of the pool's counters.
func (p *Pool) Stats() Stats {
	s := Stats{
		Hits:      p.retired.hits.Load(),
		Misses:    p.retired.misses.Load(),
		Resets:    p.retired.resets.Load(),
		Compiles:  p.compiles.Load(),
		Evictions: p.evictions.Load(),
		Discards:  p.discards.Load(),
		Leaked:    p.leaked.Load(),
	}
	p.keys.Range(func(_, v any) bool {
		ke := v.(*keyEntry)
		ke.lockAll()
		if !ke.dead {
			for i := range ke.shards {
				ks := &ke.shards[i]
				s.Hits += ks.hits
				s.Misses += ks.misses
				s.Resets += ks.resets
				s.Live += ks.live
				s.Idle += len(ks.idle)
			}
		}
		ke.unlockAll()
		return true
	})
	p.modMu.Lock()
	s.Modules = len(p.modules)
	p.modMu.Unlock()
	return s
}

// Close closes every idle instance and compiled module. Leased instances are
// closed when they are put back, and their modules with them. Runtime fails with ErrClosed afterwards.
func (p *Pool) Close(ctx context.Context) error {
	if !p.closed.CompareAndSwap(false, true) {
		return nil
	}
	var idle []*instance
	p.keys.Range(func(_, v any) bool {
		ke := v.(*keyEntry)
		idle = append(idle, p.drain(ke)...)
		p.retire(ke)
		return true
	})
	p.idle.Add(-int64(len(idle)))
	var errs []error
	for _, in := range idle {
		in.cleanup.Stop()
		errs = append(errs, in.st.rt.Close(ctx))
		p.release(ctx, in.st.mod)
	}
	p.modMu.Lock()
	for k, me := range p.modules {
		if me.refs == 0 && me.mod != nil {
			errs = append(errs, me.mod.Close(ctx))
			delete(p.modules, k)
			p.modLRU.Remove(me.elem)
		}
	}
	p.modMu.Unlock()
	return errors.Join(errs...)
}
