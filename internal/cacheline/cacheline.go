// Package cacheline holds the cache-line size the runtime, the pool and
// the engine adapters pad their per-call objects to.
//
// The objects a call or a lease reads or writes every time are whole cache
// lines: the Go allocator gives an object whose size class is a multiple
// of 64 bytes lines of its own, while a smaller or odd-sized one shares
// lines with its neighbours in the span — another instance's objects
// (instances created one after the other fill the same spans) or the
// garbage of another core's calls (allocated into the free slots of a span
// after a GC). A line one core writes and another reads moves between them
// at every write, and two instances running on two cores slow each other
// down by whatever their calls touch of such lines (a pooled greet on
// wasmtime: up to 15% more CPU per call with 2 goroutines than with 1,
// depending on where the allocator put them).
package cacheline

// Size is the size of a cache line in bytes.
const Size = 64
