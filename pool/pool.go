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
// Do does the same in one call, for less: it allocates no Lease, only the
// handle fn gets, revoked when fn returns:
//
//	err := p.Do(ctx, "wasmtime", code, reg, func(rt *runtime.Runtime) error {
//		out, err = rt.Call(ctx, "greet", "world")
//		return err
//	})
//
// and Call makes one call for less still: no handle at all, so the pool
// allocates nothing, and the call needs no lock of the runtime (the lease
// is its lock):
//
//	out, err := p.Call(ctx, "wasmtime", code, reg, "greet", "world")
//
// Instances are keyed by the registry's shape (runtime.RegistryShape), not
// its identity: a registry built per request, whose functions close over
// the request's state, reuses the warm instances of the registries of the
// same shape before it. Each lease's handle carries its own registry's
// functions (runtime.HandleCell.OpenBound), and each Call gives its own to
// that call only (runtime.Runtime.CallWith): an idle instance is bound to
// no registry, so two leases never see each other's functions.
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
// are kept per key, without a lock shared by all keys (the most recently
// put back one of each key and P is leased and put back without a lock at
// all), and a lease neither hashes nor compares the code.
//
// Capacity bounds the idle instances across all keys; the least recently
// used is closed when it is exceeded. A Pool is safe for concurrent use.
package pool

import (
	"container/list"
	"context"
	"errors"
	"hash/maphash"
	"log/slog"
	goruntime "runtime"
	"sync"
	"sync/atomic"
	"time"

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
	// Until spread is set, every lease uses shard 0 and no token (a
	// token costs a sync.Pool Get and Put): it is set by the first lease
	// that finds another lease's instance in the way (see take), so a
	// pool used by one goroutine at a time never pays for the shards.
	shards int
	tokens sync.Pool
	nextTk atomic.Uint32
	spread atomic.Bool
	// total counts the instances alive, idle or leased: it changes when
	// one is created or closed, not when it is leased or put back. While
	// it is within the capacity, idle instances are too and put backs
	// need not count them (see evict).
	total   atomic.Int64
	evictMu sync.Mutex
	// clock orders the put backs for the LRU (instance.used): a counter
	// rather than the time, which costs a clock read per put back. It
	// advances at every instantiation and at every put back while
	// instances outnumber the capacity, the only time one can be evicted;
	// a put back within the capacity stamps its instance with the clock
	// without advancing it (no write shared by all cores per put back):
	// instances put back since the last instantiation are then equally
	// recent, and more recent than the others. idleSum is the sum of the
	// shards' counts of idle instances (keyShard.n), written only while
	// instances outnumber the capacity (see noteIdle). They are on cache
	// lines of their own, so that the fields every lease reads (shards,
	// tokens, closed, total...) do not move between cores with them.
	_       [64]byte
	clock   atomic.Uint64
	idleSum atomic.Int64
	_       [48]byte

	compiles, evictions, discards, leaked atomic.Uint64
	// retired holds the counters of key entries dropped from keys.
	retired struct{ hits, misses, resets atomic.Uint64 }

	// modMu guards the compiled modules (taken only to instantiate and to
	// close instances, not to lease an idle one).
	modMu   sync.Mutex
	modules map[moduleKey]*moduleEntry
	modLRU  *list.List // of *moduleEntry

	// lastCode is the code entry of the last lease by Runtime (see
	// codeEntry), lastModule the cache of the module of the last lease by
	// RuntimeFor (see byModule).
	lastCode   atomic.Pointer[codeEntry]
	lastModule atomic.Pointer[moduleCache]
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
	p.tokens.New = func() any { return &shardToken{i: int(p.nextTk.Add(1)-1) % p.shards} }
	if !p.keepState {
		// Every put back resets the instance: compile so that a reset
		// costs the pages the lease wrote, not the memory's size.
		p.rtOpts = append([]runtime.Option{runtime.WithDirtyPageTracking()}, p.rtOpts...)
	}
	return p
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
			insts, idle := 0, 0
			for i := range ke.shards {
				ks := &ke.shards[i]
				s.Hits += ks.hits.Load()
				s.Misses += ks.misses
				s.Resets += ks.resets.Load()
				insts += ks.insts
				idle += ks.idleCount()
			}
			// The slots change without the locks: a lease or put back
			// running now may be seen in one count and not the other.
			idle = min(idle, insts)
			s.Idle += idle
			s.Live += insts - idle
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
		return true
	})
	var errs []error
	for _, in := range idle {
		errs = append(errs, p.closeInstanceErr(ctx, in))
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
