//go:build cgo && !wazero && !wasmer

package wasmtime

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

func TestSerialize(t *testing.T) {
	e1, e2 := openEngine(t), openEngine(t)
	ser1, ser2 := e1.(engine.Serializer), e2.(engine.Serializer)
	assert.Equal(t, ser1.Version(), ser2.Version())
	assert.Contains(t, ser1.Version(), PinnedVersion)

	src := `(module
	  (memory (export "memory") 1 8)
	  (global (export "g") (mut i32) (i32.const 5))
	  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))`
	m := compile(t, e1, src, engine.CompileConfig{})
	data, err := ser1.Serialize(m)
	require.NoError(t, err)

	// Another engine with the same configuration loads it.
	m2, err := ser2.Deserialize(bg, data, engine.CompileConfig{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, m2.Close(bg)) })
	assert.Equal(t, m.Exports(), m2.Exports())
	assert.Equal(t, m.Imports(), m2.Imports())
	in := instantiate(t, m2, nil)
	stack := []uint64{40, 2}
	require.NoError(t, fn(t, in, "add").Call(bg, stack))
	assert.Equal(t, uint64(42), stack[0])
	assert.Equal(t, uint64(5), in.(*wtInstance).Global("g").Get())

	// A round trip keeps what Serialize needs.
	again, err := ser2.Serialize(m2)
	require.NoError(t, err)
	assert.Equal(t, len(data), len(again))

	// The memory limit is checked as Compile checks it.
	_, err = ser2.Deserialize(bg, data, engine.CompileConfig{MemoryLimitPages: 4})
	require.ErrorContains(t, err, "max 8 pages over limit of 4 pages")
	m3, err := ser2.Deserialize(bg, data, engine.CompileConfig{MemoryLimitPages: 8})
	require.NoError(t, err)
	require.NoError(t, m3.Close(bg))

	// Bytes that are not ours are refused before wasmtime sees them.
	for _, bad := range [][]byte{nil, []byte("junk"), data[:10], append([]byte("XWTMOD1\x00"), data[8:]...), data[:len(serialMagic)+4+17]} {
		_, err := ser2.Deserialize(bg, bad, engine.CompileConfig{})
		require.Error(t, err)
	}

	// Foreign and closed modules.
	_, err = ser2.Serialize(m)
	require.ErrorContains(t, err, "not a module of this engine")
	m4 := compile(t, e1, src, engine.CompileConfig{})
	require.NoError(t, m4.Close(bg))
	_, err = ser1.Serialize(m4)
	require.ErrorIs(t, err, errModuleClosed)
}

func TestGlobals(t *testing.T) {
	e := openEngine(t)
	m := compile(t, e, `(module
	  (global $a (export "a") (mut i32) (i32.const -1))
	  (global (export "b") (mut i64) (i64.const -2))
	  (global (export "c") (mut f32) (f32.const 1.5))
	  (global (export "d") (mut f64) (f64.const -2.25))
	  (global (export "k") i32 (i32.const 7))
	  (global (export "r") (mut funcref) (ref.null func))
	  (func (export "get_a") (result i32) (global.get $a)))`, engine.CompileConfig{})
	in := instantiate(t, m, nil).(*wtInstance)

	a := in.Global("a")
	require.NotNil(t, a)
	assert.Equal(t, engine.I32, a.Type())
	assert.Equal(t, uint64(0xffff_ffff), a.Get(), "i32 zero-extended")
	a.Set(0xdead_beef_0000_0009)
	assert.Equal(t, uint64(9), a.Get())
	stack := []uint64{0}
	require.NoError(t, fn(t, in, "get_a").Call(bg, stack))
	assert.Equal(t, uint64(9), stack[0], "the guest sees Set")
	assert.Same(t, a.(*wtGlobal), in.Global("a").(*wtGlobal))

	b := in.Global("b")
	assert.Equal(t, engine.I64, b.Type())
	assert.Equal(t, uint64(0xffff_ffff_ffff_fffe), b.Get())
	b.Set(1 << 40)
	assert.Equal(t, uint64(1<<40), b.Get())

	c := in.Global("c")
	assert.Equal(t, engine.F32, c.Type())
	assert.Equal(t, uint64(0x3fc00000), c.Get())
	c.Set(0x40000000)
	assert.Equal(t, uint64(0x40000000), c.Get())

	d := in.Global("d")
	assert.Equal(t, engine.F64, d.Type())
	assert.Equal(t, uint64(0xc002000000000000), d.Get())

	k := in.Global("k")
	k.Set(99)
	assert.Equal(t, uint64(7), k.Get(), "immutable")

	r := in.Global("r")
	require.NotNil(t, r)
	assert.Equal(t, uint64(0), r.Get())
	r.Set(5) // ignored

	assert.Nil(t, in.Global("nope"))
	assert.Nil(t, in.Global("get_a"))

	require.NoError(t, in.Close(bg))
	assert.Nil(t, in.Global("a"))
	assert.Equal(t, uint64(0), a.Get())
	a.Set(1)
}
