package pool

import (
	"container/list"
	"context"
	"crypto/sha256"
	"hash/maphash"
	"sync/atomic"
	"unsafe"

	"github.com/aspect-rt/aspect-runtime/runtime"
)

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
	mod  *runtime.Module
	last atomic.Pointer[keyEntry]
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
