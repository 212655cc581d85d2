package pool

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/aspect-rt/aspect-runtime/internal/cacheline"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

// keyEntry holds the idle instances of one key, in one shard per P: a
// goroutine leases from the shard of the P it runs on first, and the
// instance goes back to that shard, so two goroutines leasing at once each
// keep reusing the instance whose memory their core has in cache instead
// of trading instances (and the cache misses of their state) at every
// lease. A goroutine whose shard is empty takes an idle instance from
// another shard before creating one. (Until leases overlap, every lease
// uses shard 0: see Pool.spread.) A shard's most recently put back
// instance is leased and put back without a lock (keyShard.slot).
type keyEntry struct {
	key    Key
	shards []keyShard
	// dead: the entry was removed from Pool.keys; who finds it dead looks
	// the key up again. Written with every shard locked, read with one.
	dead bool
	// Every lease reads the entry (key, shards) from every core: it is on
	// cache lines of its own (128 bytes), which no object written by a
	// core shares (see cacheLine).
	_ [24]byte
}

// cacheLine is the cache-line size the pool's objects read or written by
// every lease (keyEntry, keyShard, instance, instState, shardToken) are
// padded to (see package cacheline for why; TestCacheLineSizes).
const cacheLine = cacheline.Size

// keyShard is one shard of a keyEntry, on cache lines of its own: 128
// bytes, so that the shards of an entry, one array, start each on a line.
type keyShard struct {
	mu sync.Mutex
	// idle is a stack: least recently put back first.
	idle []*instance
	// slot holds the shard's most recently put back idle instance, if
	// any, outside idle: a lease takes it with one Swap and a put back
	// stores into the empty slot with one CompareAndSwap, without mu (the
	// fast path of a pool whose instances are within its capacity). An
	// instance in the slot is newer than every one in idle: a put back
	// that finds the slot taken swaps itself in under mu and pushes the
	// older one onto idle. Whoever reads an instance's fields other than
	// through the slot takes it out first (flushSlot).
	slot atomic.Pointer[instance]
	// hits and resets count the leases served by an idle instance and the
	// resets on put back, without mu.
	hits, resets atomic.Uint64
	// misses and insts are guarded by mu: insts counts the key's
	// instances alive or being created (a miss counts one before it
	// instantiates, a failed instantiation and a close uncount it), in any
	// shard: only the sum over the shards is meaningful. A key whose sum
	// is 0 has no instance, idle or leased, and no slot holds one.
	misses uint64
	insts  int
	// n is the count of idle instances (idle and slot) for readers
	// without mu, kept while instances outnumber the capacity (see
	// Pool.noteIdle).
	n atomic.Int32
	_ [52]byte
}

// idleCount returns the idle instances of s: in idle and in the slot.
func (s *keyShard) idleCount() int {
	if s.slot.Load() != nil {
		return len(s.idle) + 1
	}
	return len(s.idle)
}

// flushSlot moves the instance in s's slot, if any, onto the top of idle,
// where it belongs (it is the most recently put back). s.mu is held.
func (s *keyShard) flushSlot() {
	if s.slot.Load() != nil {
		if in := s.slot.Swap(nil); in != nil {
			s.idle = append(s.idle, in)
		}
	}
}

// noteIdle records s.idleCount() in s.n after a change, s.mu held, when
// instances outnumber the capacity: only then can idle ones, and put
// backs count them from Pool.idleSum, the sum of the shards' counts (see
// idleOver). While instances are within the capacity the counts are left
// stale: resyncIdle sets them when instances come to outnumber it, before
// any put back relies on them.
func (p *Pool) noteIdle(s *keyShard) {
	if p.total.Load() > int64(p.capacity) {
		p.setIdle(s, s.idleCount())
	}
}

// setIdle sets s.n to n, s.mu held, keeping Pool.idleSum the sum of every
// shard's n.
func (p *Pool) setIdle(s *keyShard, n int) {
	if d := int64(n) - int64(s.n.Swap(int32(n))); d != 0 {
		p.idleSum.Add(d)
	}
}

// idleOver reports whether idle instances may outnumber the capacity, from
// the shards' counts, without a lock: false only when they do not. Called
// by a put back after its own noteIdle: of two put backs at once, one at
// least sees the other's count (atomics are sequentially consistent), so
// the last one to count sees every instance put back.
func (p *Pool) idleOver() bool { return p.idleSum.Load() > int64(p.capacity) }

// resyncIdle sets every shard's count when instances came to outnumber the
// capacity (noteIdle kept none while they did not), and evicts if idle
// ones do too. A put back that changed a shard before resyncIdle locked
// it is counted here; one that changed it after saw the new total and
// counted itself.
func (p *Pool) resyncIdle(ctx context.Context) {
	p.keys.Range(func(_, v any) bool {
		ke := v.(*keyEntry)
		for i := range ke.shards {
			s := &ke.shards[i]
			s.mu.Lock()
			p.setIdle(s, s.idleCount())
			s.mu.Unlock()
		}
		return true
	})
	if p.idleOver() {
		p.evict(ctx)
	}
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

// shardToken is the shard index a P gets from Pool.tokens: read by every
// lease, on a cache line of its own (an 8-byte token would be packed by
// the allocator's tiny allocator among the small allocations of whichever
// core made it).
type shardToken struct {
	i int
	_ [cacheLine - 8]byte
}

// shard returns the index of the calling goroutine's shard: sync.Pool
// keeps a token per P, so goroutines running on the same P get the same
// index (after a GC drops the tokens, new ones are dealt round robin).
// It is 0 until leases of one key overlapped (Pool.spread).
func (p *Pool) shard() int {
	if p.shards == 1 || !p.spread.Load() {
		return 0
	}
	t := p.tokens.Get().(*shardToken)
	i := t.i
	p.tokens.Put(t)
	return i
}

// entry returns the key's entry, creating it if needed.
func (p *Pool) entry(key Key) *keyEntry {
	if v, ok := p.keys.Load(key); ok {
		return v.(*keyEntry)
	}
	v, _ := p.keys.LoadOrStore(key, &keyEntry{key: key, shards: make([]keyShard, p.shards)})
	return v.(*keyEntry)
}

// lockShard returns ke, or the key's live entry if ke is dead (then
// remembered in last), with its shard i locked.
func (p *Pool) lockShard(ke *keyEntry, last *atomic.Pointer[keyEntry], i int) (*keyEntry, *keyShard) {
	for {
		s := &ke.shards[i]
		s.mu.Lock()
		if !ke.dead {
			return ke, s
		}
		s.mu.Unlock()
		ke = p.entry(ke.key)
		last.Store(ke)
	}
}

// retire drops ke from the pool's keys if it has nothing left: no
// instance, idle or leased. No shard of ke may be locked by the caller.
func (p *Pool) retire(ke *keyEntry) {
	ke.lockAll()
	defer ke.unlockAll()
	if ke.dead {
		return
	}
	var insts int
	var hits, misses, resets uint64
	for i := range ke.shards {
		s := &ke.shards[i]
		insts += s.insts
		hits, misses, resets = hits+s.hits.Load(), misses+s.misses, resets+s.resets.Load()
	}
	if insts > 0 {
		return
	}
	// No instance: no slot holds one, and no lease or put back can reach
	// the slots or counters of ke any more.
	ke.dead = true
	for i := range ke.shards {
		p.setIdle(&ke.shards[i], 0) // no idle instance, but the count may be stale
	}
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
		s.flushSlot()
		out = append(out, s.idle...)
		clear(s.idle)
		s.idle = s.idle[:0]
		p.setIdle(s, 0)
	}
	return out
}

// pop takes the most recently put back idle instance of s (the slot's,
// else the top of idle), counting a hit; nil if s has none. s.mu is held.
func (s *keyShard) pop() *instance {
	if s.slot.Load() != nil {
		if in := s.slot.Swap(nil); in != nil {
			s.hits.Add(1)
			return in
		}
	}
	n := len(s.idle)
	if n == 0 {
		return nil
	}
	in := s.idle[n-1]
	s.idle[n-1] = nil // the pool keeps no reference to a leased instance
	s.idle = s.idle[:n-1]
	s.hits.Add(1)
	return in
}

// takeSlot is the fast path of a lease without options: it takes the
// instance in the slot of the calling goroutine's shard of last's entry
// (the entry of the code's last lease), counting a hit, if that entry has
// the lease's key (as in entryFor) and the slot an instance, and returns
// it with its shard set. Otherwise it returns nil, having changed nothing:
// leaseInstance does the rest (take's other paths, instantiation). It is
// take's first step without the calls, locks and key lookups of the path
// that leads to it, which cost a pooled call more than the slot itself.
func (p *Pool) takeSlot(last *atomic.Pointer[keyEntry], engine string, reg *runtime.HostAPIRegistry) *instance {
	ke := p.lastEntry(last, engine, reg.Shape(), reg)
	if ke == nil || p.closed.Load() {
		return nil
	}
	home := p.shard()
	in := p.fromSlot(&ke.shards[home])
	if in != nil {
		in.shard = int32(home)
	}
	return in
}

// fromSlot takes the instance in s's slot without a lock, counting a hit,
// or returns nil if the slot is empty. An entry with an instance in a
// slot is not dead (see retire).
func (p *Pool) fromSlot(s *keyShard) *instance {
	if s.slot.Load() == nil {
		return nil
	}
	in := s.slot.Swap(nil)
	if in == nil {
		return nil
	}
	s.hits.Add(1)
	if p.total.Load() > int64(p.capacity) {
		s.mu.Lock()
		p.noteIdle(s)
		s.mu.Unlock()
	}
	return in
}

// take leases an idle instance of ke's key: from the slot of shard home
// (the calling goroutine's) without a lock first, then from the rest of
// the shard, then from the others. Without one, it counts a miss, and an
// instance of the key in shard home, and returns nil.
func (p *Pool) take(ke *keyEntry, last *atomic.Pointer[keyEntry], home int, forceClear bool) (*keyEntry, *instance, []*instance) {
	var cleared []*instance
	if forceClear {
		// The key's live entry (ke may be dead), drained.
		var s *keyShard
		ke, s = p.lockShard(ke, last, home)
		s.mu.Unlock()
		cleared = p.drain(ke)
	} else if in := p.fromSlot(&ke.shards[home]); in != nil {
		return ke, in, nil
	}
	ke, s := p.lockShard(ke, last, home)
	if s.insts > 0 && !forceClear {
		// The slot was empty though the key has instances: leases of it
		// overlap (or another goroutine put one back elsewhere). From
		// now on, each P leases from its own shard first.
		p.spreadShards()
	}
	if in := s.pop(); in != nil {
		p.noteIdle(s)
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
			p.noteIdle(t)
			t.mu.Unlock()
			return ke, in, cleared
		}
		t.mu.Unlock()
	}
	// None seen: look again with every shard locked before counting a
	// miss, which instantiates. Without the locks, an instance put back
	// into a shard already looked at was missed, and a pool whose
	// instances were all idle or being put back instantiated one more.
	// (A put back into an empty slot takes no lock: one that lands in a
	// slot already looked at is missed still, but its instance was leased
	// when that slot was looked at.)
	for {
		ke.lockAll()
		if !ke.dead {
			break
		}
		ke.unlockAll()
		ke = p.entry(ke.key)
	}
	last.Store(ke)
	for j := range ke.shards {
		t := &ke.shards[(home+j)%len(ke.shards)]
		if in := t.pop(); in != nil {
			p.noteIdle(t)
			ke.unlockAll()
			return ke, in, cleared
		}
	}
	insts := 0
	for j := range ke.shards {
		insts += ke.shards[j].insts
	}
	if insts > 0 && !forceClear {
		p.spreadShards() // as above
	}
	s = &ke.shards[home]
	s.misses++
	s.insts++
	ke.unlockAll()
	return ke, nil, cleared
}

// spreadShards makes leases use the shard of their P (see Pool.spread).
func (p *Pool) spreadShards() {
	if p.shards > 1 && !p.spread.Load() {
		p.spread.Store(true)
	}
}

// uncount uncounts an instance of ke (closed, or whose instantiation
// failed), counted in any shard, and retires ke if it has nothing left.
func (p *Pool) uncount(ke *keyEntry) {
	s := &ke.shards[0]
	s.mu.Lock()
	s.insts--
	s.mu.Unlock()
	p.retire(ke)
}

// evict closes idle instances, least recently put back first, until the
// pool is within its capacity: the slow path, taken only when a put back
// finds more instances than the capacity (leased ones included). It counts
// the idle instances itself: there is no shared counter of them for every
// lease and put back to write.
func (p *Pool) evict(ctx context.Context) {
	p.evictMu.Lock()
	defer p.evictMu.Unlock()
	for {
		// oldestUsed is a copy: once its shard is unlocked, oldest may
		// be leased and put back (its used written) at any time.
		var oldest *instance
		var oldestUsed uint64
		var oldestShard *keyShard
		idle := 0
		p.keys.Range(func(_, v any) bool {
			ke := v.(*keyEntry)
			for i := range ke.shards {
				s := &ke.shards[i]
				s.mu.Lock()
				s.flushSlot() // its instance's used is read below
				idle += len(s.idle)
				if len(s.idle) > 0 && (oldest == nil || s.idle[0].used < oldestUsed) {
					oldest, oldestUsed, oldestShard = s.idle[0], s.idle[0].used, s
				}
				s.mu.Unlock()
			}
			return true
		})
		if idle <= p.capacity || oldest == nil {
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
		p.noteIdle(s)
		s.mu.Unlock()
		p.evictions.Add(1)
		p.closeInstance(ctx, victim)
	}
}
