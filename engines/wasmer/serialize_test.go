//go:build wasmer && cgo

package wasmer

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

func TestSerialize(t *testing.T) {
	e := openEngine(t)
	ser := e.(engine.Serializer)
	v := ser.Version()
	assert.True(t, strings.HasPrefix(v, "wasmer-go-"+PinnedVersion+"-wasmer-"+WasmerVersion+"-"), v)
	assert.Equal(t, v, ser.Version())

	cfg := engine.CompileConfig{MemoryLimitPages: 3}
	m := compileBytes(t, e, fixtures.MustBytes("wat/raw.wasm"), cfg)
	data, err := ser.Serialize(m)
	require.NoError(t, err)

	m2, err := ser.Deserialize(bg, data, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, m2.Close(bg)) })
	assert.Equal(t, m.Exports(), m2.Exports())
	assert.Equal(t, m.Imports(), m2.Imports())
	in := instantiate(t, m2, nil)
	stack := []uint64{40, 2}
	require.NoError(t, fn(t, in, "add").Call(bg, stack))
	assert.Equal(t, uint64(42), stack[0])
	// The memory limit came along with the code.
	stack[0] = 2
	require.NoError(t, fn(t, in, "grow").Call(bg, stack))
	assert.Equal(t, uint64(1), stack[0])
	stack[0] = 1
	require.NoError(t, fn(t, in, "grow").Call(bg, stack))
	assert.Equal(t, uint64(math.MaxUint32), stack[0])

	// Host functions and traps work on deserialized modules too.
	hm := compile(t, e, hostWAT, engine.CompileConfig{})
	hdata, err := ser.Serialize(hm)
	require.NoError(t, err)
	hm2, err := ser.Deserialize(bg, hdata, engine.CompileConfig{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, hm2.Close(bg)) })
	hin := instantiate(t, hm2, hostFuncs(func(_ context.Context, _ engine.Caller, s []uint64) error {
		s[0] *= 2
		return nil
	}, nil, nil, nil, nil))
	stack = []uint64{21}
	require.NoError(t, fn(t, hin, "call_double").Call(bg, stack))
	assert.Equal(t, uint64(42), stack[0])
	var trap *engine.Trap
	require.ErrorAs(t, fn(t, hin, "stack_overflow").Call(bg, nil), &trap)
	assert.Equal(t, engine.TrapStackOverflow, trap.Code)

	// Refused: another memory limit, not ours, another engine's module.
	_, err = ser.Deserialize(bg, data, engine.CompileConfig{MemoryLimitPages: 4})
	require.ErrorContains(t, err, "memory limit of 3 pages, not 4")
	_, err = ser.Deserialize(bg, []byte("garbage garbage garbage"), cfg)
	require.ErrorContains(t, err, "not a module serialized by this adapter")
	_, err = ser.Deserialize(bg, data[:len(serialMagic)+4], cfg)
	require.Error(t, err)
	other := openEngine(t).(engine.Serializer)
	_, err = other.Serialize(m)
	require.ErrorContains(t, err, "not a module of this engine")
	require.NoError(t, m2.Close(bg))
	_, err = ser.Serialize(m2)
	require.ErrorIs(t, err, errModuleClosed)
}
