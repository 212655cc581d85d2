package runtime

import (
	"unsafe"

	"github.com/aspect-rt/aspect-runtime/internal/cacheline"
)

// cacheLine is the cache-line size the objects a call reads or writes
// every time are padded to (see package cacheline for why).
const cacheLine = cacheline.Size

// newCoreRuntime allocates the Runtime value of a new instance, on a cache
// line of its own (see cacheLine): every host call reads it.
func newCoreRuntime(s *runtimeState) *Runtime {
	p := &struct {
		Runtime
		_ [cacheLine - unsafe.Sizeof(Runtime{})]byte
	}{Runtime: Runtime{runtimeState: s}}
	return &p.Runtime
}

// newSnapshot allocates a snapshot on cache lines of its own (see
// cacheLine): every Reset reads it.
func newSnapshot() *snapshot {
	p := &struct {
		snapshot
		_ [(cacheLine - unsafe.Sizeof(snapshot{})%cacheLine) % cacheLine]byte
	}{}
	return &p.snapshot
}
