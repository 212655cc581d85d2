package runtime

import (
	"unsafe"

	"github.com/aspect-rt/aspect-runtime/internal/cacheline"
	"github.com/aspect-rt/aspect-runtime/metering"
)

// cacheLine is the cache-line size the objects a call reads or writes
// every time are padded to (see package cacheline for why).
const cacheLine = cacheline.Size

// newCoreRuntime allocates the Runtime value of a new instance, on a cache
// line of its own (see cacheLine): every host call reads it.
func newCoreRuntime(s *runtimeState) *Runtime {
	p := &runtimeLines{Runtime: Runtime{runtimeState: s}}
	return &p.Runtime
}

// newSnapshot allocates a snapshot on cache lines of its own (see
// cacheLine): every Reset reads it.
func newSnapshot() *snapshot {
	return &new(snapshotLines).snapshot
}

// The xxxLines types hold an object on cache lines of its own: their
// padding is derived from the object's size, and comes first because a
// zero-size last field would add padding of its own.

// runtimeLines is a Runtime on a cache line of its own.
type runtimeLines struct {
	_ [(cacheLine - unsafe.Sizeof(Runtime{})%cacheLine) % cacheLine]byte
	Runtime
}

// snapshotLines is a snapshot on cache lines of its own.
type snapshotLines struct {
	_ [(cacheLine - unsafe.Sizeof(snapshot{})%cacheLine) % cacheLine]byte
	snapshot
}

// newDirtyState allocates the dirty-page state of a runtime on cache lines
// of its own (see cacheLine): every call that writes guest memory writes
// its host bitmap, and every Reset reads and writes it.
func newDirtyState(plan *metering.DirtyResult) *dirtyState {
	p := &dirtyStateLines{dirtyState: dirtyState{plan: plan, resetGlobals: plan.ResetGlobals}}
	return &p.dirtyState
}

// dirtyStateLines is a dirtyState on cache lines of its own.
type dirtyStateLines struct {
	_ [(cacheLine - unsafe.Sizeof(dirtyState{})%cacheLine) % cacheLine]byte
	dirtyState
}

// newDirtyCaller allocates the caller a host function of a runtime that
// tracks dirty pages sees, on cache lines of its own (see cacheLine): every
// call of the function writes it.
func newDirtyCaller(d *dirtyState) *dirtyCaller {
	p := &dirtyCallerLines{dirtyCaller: dirtyCaller{mem: dirtyMemory{d: d}}}
	return &p.dirtyCaller
}

// dirtyCallerLines is a dirtyCaller on cache lines of its own.
type dirtyCallerLines struct {
	_ [(cacheLine - unsafe.Sizeof(dirtyCaller{})%cacheLine) % cacheLine]byte
	dirtyCaller
}
