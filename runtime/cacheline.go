package runtime

import "unsafe"

// cacheLine is the size of a cache line. The objects of a runtime that its
// calls read or write every time (the Runtime value itself, its host
// callers, its snapshot, its argument and result buffers) are whole cache
// lines: the Go allocator gives an object whose size class is a multiple
// of 64 bytes lines of its own, while a smaller or odd-sized one shares
// lines with its neighbours in the span. Those neighbours are another
// instance's objects (instances created one after the other fill the same
// spans) or the garbage of another core's calls (allocated into the free
// slots of a span after a GC): a line one core writes and another reads
// moves between them at every write, and two instances running on two
// cores slow each other down by whatever their calls touch of such lines
// (a pooled greet on wasmtime: up to 15% more CPU per call with 2
// goroutines than with 1, depending on where the allocator put them).
const cacheLine = 64

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
