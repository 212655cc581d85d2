//go:build cgo && !wazero && !wasmer

package wasmtime

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"

	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// TestCacheLineSizes: the objects every call reads or writes are whole
// cache lines (see cacheLine). A field added to one of them must shrink
// its padding.
func TestCacheLineSizes(t *testing.T) {
	for name, size := range map[string]uintptr{
		"wtInstance": unsafe.Sizeof(wtInstance{}),
		"wtFunction": unsafe.Sizeof(wtFunction{}),
		"wtGlobal":   unsafe.Sizeof(wtGlobal{}),
		"hostEntry":  unsafe.Sizeof(hostEntry{}),
		"frames":     unsafe.Sizeof([8]frame{}),
	} {
		assert.Zero(t, size%cacheLine, "%s is %d bytes, not a multiple of %d", name, size, cacheLine)
	}
}

// TestCacheLineAllocations: each function's C call block (its params and
// results are written at every call) starts a cache line and fills whole
// lines, so two instances' blocks never share one.
func TestCacheLineAllocations(t *testing.T) {
	e := openEngine(t)
	m := compile(t, e, hostWAT, engine.CompileConfig{})
	for range 4 {
		in := instantiate(t, m, hostFuncs(nil, nil, nil, nil, nil))
		f := fn(t, in, "call_double").(*wtFunction)
		assert.Zero(t, uintptr(unsafe.Pointer(f.block))%cacheLine, "call block at %p does not start a line", f.block)
		r := newRawCall(f)
		assert.Zero(t, uintptr(unsafe.Pointer(r.block))%cacheLine, "raw call block at %p does not start a line", r.block)
		r.free()
	}
}
