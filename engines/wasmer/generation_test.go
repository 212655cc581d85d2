//go:build wasmer && cgo

package wasmer

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// lowerRotation sets the rotation thresholds for the test.
func lowerRotation(t *testing.T, every, force int64) {
	t.Helper()
	oldEvery, oldForce := rotateEvery, rotateForce
	rotateEvery, rotateForce = every, force
	t.Cleanup(func() { rotateEvery, rotateForce = oldEvery, oldForce })
}

// wasmEngineOf returns the wasm engine m's instances are created in now.
func wasmEngineOf(m engine.Module) uintptr {
	wm := m.(*wrModule)
	wm.mu.RLock()
	defer wm.mu.RUnlock()
	wm.eng.mu.RLock()
	defer wm.eng.mu.RUnlock()
	return uintptr(unsafe.Pointer(wm.engineLocked()))
}

// doubling is hostWAT's host functions with double doubling its argument
// and fail failing.
func doubling() []engine.HostFunc {
	return hostFuncs(func(_ context.Context, _ engine.Caller, s []uint64) error {
		s[0] *= 2
		return nil
	}, func(context.Context, engine.Caller, []uint64) error { return assert.AnError }, nil, nil, nil)
}

// checkHostInstance checks that in (of hostWAT, with doubling) calls its
// host functions, reports their errors and its own traps, and has its
// memory.
func checkHostInstance(t *testing.T, in engine.Instance) {
	t.Helper()
	stack := []uint64{21}
	require.NoError(t, fn(t, in, "call_double").Call(bg, stack))
	assert.Equal(t, uint64(42), stack[0])
	require.ErrorIs(t, fn(t, in, "call_fail").Call(bg, stack), assert.AnError)
	var trap *engine.Trap
	require.ErrorAs(t, fn(t, in, "stack_overflow").Call(bg, nil), &trap)
	assert.Equal(t, engine.TrapStackOverflow, trap.Code)
	require.True(t, in.Memory().Write(100, []byte("gen")))
	b, ok := in.Memory().Read(100, 3)
	require.True(t, ok)
	assert.Equal(t, "gen", string(b))
}

// TestModuleMovesToNewEngine checks the workaround of generation.go: after
// rotateEvery instantiations with none of them alive, the module's
// instances are created in a new wasm engine, and work the same.
func TestModuleMovesToNewEngine(t *testing.T) {
	lowerRotation(t, 4, 1000)
	e := openEngine(t)
	m := compile(t, e, hostWAT, engine.CompileConfig{})
	first := wasmEngineOf(m)
	for range 4 {
		in, err := m.Instantiate(bg, doubling(), engine.InstanceConfig{})
		require.NoError(t, err)
		checkHostInstance(t, in)
		require.NoError(t, in.Close(bg))
	}
	assert.Equal(t, first, wasmEngineOf(m), "no instantiation has found the generation due yet")
	in := instantiate(t, m, doubling())
	second := wasmEngineOf(m)
	assert.NotEqual(t, first, second, "the fifth instantiation moves the module")
	checkHostInstance(t, in)
	assert.Equal(t, int64(1), m.(*wrModule).gen.created.Load())

	// The module keeps its description and stays serializable.
	ser := e.(engine.Serializer)
	data, err := ser.Serialize(m)
	require.NoError(t, err)
	m2, err := ser.Deserialize(bg, data, engine.CompileConfig{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, m2.Close(bg)) })
	assert.Equal(t, m.Exports(), m2.Exports())
	assert.Equal(t, m.Imports(), m2.Imports())
	checkHostInstance(t, instantiate(t, m2, doubling()))
}

// TestLiveInstancesKeepTheirEngine checks that a generation with a live
// instance moves only after rotateForce instantiations, and that the live
// instance, whose module, store and engine handles the module has deleted
// by then, still works, before and after the module is closed.
func TestLiveInstancesKeepTheirEngine(t *testing.T) {
	lowerRotation(t, 4, 16)
	e := openEngine(t)
	m, err := e.Compile(bg, wat(t, hostWAT), engine.CompileConfig{})
	require.NoError(t, err)
	first := wasmEngineOf(m)
	pinned, err := m.Instantiate(bg, doubling(), engine.InstanceConfig{})
	require.NoError(t, err)
	for range 15 {
		in, err := m.Instantiate(bg, doubling(), engine.InstanceConfig{})
		require.NoError(t, err)
		require.NoError(t, in.Close(bg))
	}
	assert.Equal(t, first, wasmEngineOf(m), "a live instance holds the generation until rotateForce")
	in, err := m.Instantiate(bg, doubling(), engine.InstanceConfig{})
	require.NoError(t, err)
	assert.NotEqual(t, first, wasmEngineOf(m), "rotateForce moves the module all the same")
	checkHostInstance(t, pinned)
	checkHostInstance(t, in)
	require.NoError(t, m.Close(bg))
	checkHostInstance(t, pinned)
	checkHostInstance(t, in)
	require.NoError(t, pinned.Close(bg))
	require.NoError(t, in.Close(bg))
	require.NoError(t, e.Close(bg))
}

// TestRotationConcurrent instantiates, calls and closes from several
// goroutines while the module moves to a new engine every few
// instantiations (run it with -race).
func TestRotationConcurrent(t *testing.T) {
	lowerRotation(t, 3, 10)
	e := openEngine(t)
	m := compile(t, e, hostWAT, engine.CompileConfig{})
	first := wasmEngineOf(m)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var keep engine.Instance // sometimes held across rotations
			for i := range 60 {
				k := uint64(g*1000 + i)
				in, err := m.Instantiate(bg, hostFuncs(func(_ context.Context, _ engine.Caller, s []uint64) error {
					s[0] += k
					return nil
				}, nil, nil, nil, nil), engine.InstanceConfig{})
				if err != nil {
					errs <- err
					return
				}
				stack := []uint64{1}
				err = in.Function("call_double").Call(bg, stack)
				if err == nil && stack[0] != k+1 {
					err = fmt.Errorf("instance %d saw %d", k, stack[0])
				}
				if err == nil && keep != nil {
					stack[0] = 2
					err = keep.Function("call_double").Call(bg, stack)
				}
				if i%7 == 0 {
					in, keep = keep, in
				}
				if in != nil {
					if cerr := in.Close(bg); err == nil {
						err = cerr
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
			if keep != nil {
				errs <- keep.Close(bg)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.NotEqual(t, first, wasmEngineOf(m))
}
