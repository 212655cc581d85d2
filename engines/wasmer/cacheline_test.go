//go:build wasmer && cgo

package wasmer

import (
	"context"
	"fmt"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// TestCacheLineSizes: the objects every call reads or writes are allocated
// on whole cache lines (see cacheLine), so that two instances running on
// two cores never share one.
func TestCacheLineSizes(t *testing.T) {
	for name, size := range map[string]uintptr{
		"instanceLines":  unsafe.Sizeof(instanceLines{}),
		"functionLines":  unsafe.Sizeof(functionLines{}),
		"memoryLines":    unsafe.Sizeof(memoryLines{}),
		"globalLines":    unsafe.Sizeof(globalLines{}),
		"hostEntryLines": unsafe.Sizeof(hostEntryLines{}),
		"frames":         uintptr(framesCap) * unsafe.Sizeof(context.Context(nil)),
		"stacks":         stacksCap * unsafe.Sizeof([]uint64(nil)),
	} {
		assert.Zero(t, size%cacheLine, "%s is %d bytes, not a multiple of %d", name, size, cacheLine)
	}
	// The padding is the least that makes whole lines.
	assert.Less(t, unsafe.Sizeof(instanceLines{})-unsafe.Sizeof(wrInstance{}), uintptr(cacheLine))
	assert.Less(t, unsafe.Sizeof(memoryLines{})-unsafe.Sizeof(wrMemory{}), uintptr(cacheLine))
}

// TestCacheLineAllocations: an instance's objects end on a cache line (the
// allocator starts them on one), and its C objects start on one.
func TestCacheLineAllocations(t *testing.T) {
	e := openEngine(t)
	in := instantiate(t, compile(t, e, hostWAT, engine.CompileConfig{}), hostFuncs(nil, nil, nil, nil, nil)).(*wrInstance)
	f := fn(t, in, "call_double").(*wrFunction)
	mem := in.memory()
	require.NotNil(t, mem)
	ends := func(name string, p unsafe.Pointer, size uintptr) {
		assert.Zero(t, (uintptr(p)+size)%cacheLine, "%s at %p, %d bytes, does not end a line", name, p, size)
	}
	ends("wrInstance", unsafe.Pointer(in), unsafe.Sizeof(*in))
	ends("wrFunction", unsafe.Pointer(f), unsafe.Sizeof(*f))
	ends("wrMemory", unsafe.Pointer(mem), unsafe.Sizeof(*mem))
	starts := func(name string, p unsafe.Pointer) {
		assert.Zero(t, uintptr(p)%cacheLine, "%s at %p does not start a line", name, p)
	}
	starts("function descriptor", unsafe.Pointer(f.desc))
	starts("host environments", unsafe.Pointer(in.envs))
	for i, env := range unsafe.Slice(in.envs, len(in.mod.imports)) {
		if env.nresults > 0 {
			starts(fmt.Sprintf("results of host function %d", i), unsafe.Pointer(env.results))
		}
	}
}
