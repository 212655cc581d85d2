package metering

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
)

// dirtyTestModule exports store(addr, v) (i32.store offset=8), fill(d, v, n)
// and a memory of 5 pages (80 4 KiB pages).
func dirtyTestModule() []byte {
	w := &wmod{}
	w.memory(5)
	t2 := w.typ([]byte{i32, i32}, nil)
	t3 := w.typ([]byte{i32, i32, i32}, nil)
	st := w.fn(t2, nil, lget(0), lget(1), op(0x36), memarg(2, 8))
	fill := w.fn(t3, nil, lget(0), lget(1), lget(2), misc(11), u32(0))
	w.export("store", 0, st)
	w.export("fill", 0, fill)
	return w.bytes()
}

func TestTrackDirtyPages(t *testing.T) {
	ctx := context.Background()
	res, err := TrackDirtyPages(dirtyTestModule())
	require.NoError(t, err)
	require.Len(t, res.Words, DirtyWords)
	require.Equal(t, 2, res.Stores)
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	mod, err := rt.Instantiate(ctx, res.Module)
	require.NoError(t, err)
	words := func() (bm [DirtyWords]uint64) {
		for i, name := range res.Words {
			bm[i] = mod.ExportedGlobal(name).Get()
		}
		return bm
	}
	require.Zero(t, words(), "the bitmap starts cleared")
	require.Equal(t, uint64(DirtyNoPage), mod.ExportedGlobal(res.Last).Get())

	_, err = mod.ExportedFunction("store").Call(ctx, 5<<12-8+4096, 1) // offset 8: page 6
	require.NoError(t, err)
	var want [DirtyWords]uint64
	want[0] = 1 << 6
	require.Equal(t, want, words())
	require.Equal(t, uint64(1), mod.ExportedGlobal(res.Summary).Get())
	// Last: page 6, no page before it.
	require.Equal(t, uint64(0xffffffff_00000006), mod.ExportedGlobal(res.Last).Get())

	_, err = mod.ExportedFunction("fill").Call(ctx, 63<<12+4095, 7, 4098) // pages 63..65
	require.NoError(t, err)
	want[0] |= 1 << 63
	want[1] |= 1<<0 | 1<<1
	require.Equal(t, want, words())
	require.Equal(t, uint64(3), mod.ExportedGlobal(res.Summary).Get())

	_, err = mod.ExportedFunction("store").Call(ctx, 5<<16, 1) // out of bounds: traps
	require.Error(t, err)
	_, err = mod.ExportedFunction("fill").Call(ctx, 0, 0, 5<<16) // every page
	require.NoError(t, err)
	// Pages 0..79, and 80, where the trapping store would have written.
	want = [DirtyWords]uint64{^uint64(0), 1<<17 - 1}
	require.Equal(t, want, words())
}

// TestDirtyReset checks the reset function: it sets every mutable global
// of the module from its slot at the start of memory, writes the bitmap
// words there and clears the bitmap; a store to the page marked before the last one (which the mark
// helper skips) and one to a page that leaves it are both recorded.
func TestDirtyReset(t *testing.T) {
	ctx := context.Background()
	w := &wmod{}
	w.memory(5)
	gI32 := w.global(i32, true, i32c(7))
	w.global(i32, false, i32c(8)) // immutable: not a param
	gI64 := w.global(i64, true, cat(op(0x42), u32(9)))
	gF64 := w.global(f64, true, cat(op(0x44), make([]byte, 8)))
	st := w.fn(w.typ([]byte{i32, i32}, nil), nil, lget(0), lget(1), op(0x36), memarg(2, 0))
	w.export("store", 0, st)
	w.export("g32", 3, gI32)
	w.export("g64", 3, gI64)
	w.export("gf64", 3, gF64)
	w.export("memory", 2, 0)
	res, err := TrackDirtyPages(w.bytes())
	require.NoError(t, err)
	require.Equal(t, DirtyExportPrefix+"reset", res.Reset)
	require.Equal(t, 3, res.ResetGlobals)
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	mod, err := rt.Instantiate(ctx, res.Module)
	require.NoError(t, err)
	reset := mod.ExportedFunction(res.Reset)
	require.NotNil(t, reset)
	require.Empty(t, reset.Definition().ParamTypes())
	require.Empty(t, reset.Definition().ResultTypes())
	require.Equal(t, 8*DirtyWords, res.ResetScratch())
	mem := mod.ExportedMemory("memory")
	require.NotNil(t, mem)
	// call sets the slots to values, calls reset and returns the words
	// it wrote.
	call := func(values ...uint64) []uint64 {
		t.Helper()
		for i, v := range values {
			require.True(t, mem.WriteUint64Le(uint32(8*i), v))
		}
		_, err := reset.Call(ctx)
		require.NoError(t, err)
		out := make([]uint64, DirtyWords)
		for w := range out {
			var ok bool
			out[w], ok = mem.ReadUint64Le(uint32(8 * w))
			require.True(t, ok)
		}
		return out
	}

	for _, page := range []uint64{6, 7, 6, 70, 7, 6} {
		_, err = mod.ExportedFunction("store").Call(ctx, page<<12, 1)
		require.NoError(t, err)
	}
	out := call(0xfffffff0, 1<<40, 0x400921fb54442d18)
	var want [DirtyWords]uint64
	want[0] = 1<<6 | 1<<7
	want[1] = 1 << 6
	require.Equal(t, want[:], out)
	require.Equal(t, uint64(0xfffffff0), mod.ExportedGlobal("g32").Get())
	require.Equal(t, uint64(1<<40), mod.ExportedGlobal("g64").Get())
	require.Equal(t, uint64(0x400921fb54442d18), mod.ExportedGlobal("gf64").Get())
	for _, name := range res.Words {
		require.Zero(t, mod.ExportedGlobal(name).Get())
	}
	require.Zero(t, mod.ExportedGlobal(res.Summary).Get())
	require.Equal(t, uint64(DirtyNoPage), mod.ExportedGlobal(res.Last).Get())

	// Cleared, including the pages remembered: the same stores mark again.
	for _, page := range []uint64{7, 6} {
		_, err = mod.ExportedFunction("store").Call(ctx, page<<12, 1)
		require.NoError(t, err)
	}
	out = call(1, 2, 3)
	want = [DirtyWords]uint64{1<<6 | 1<<7}
	require.Equal(t, want[:], out)
	require.Equal(t, uint64(1), mod.ExportedGlobal("g32").Get())

	// A module with a mutable global of another type gets no reset
	// function.
	w = &wmod{}
	w.memory(1)
	w.global(0x6f, true, cat(op(0xd0), []byte{0x6f})) // externref
	res, err = TrackDirtyPages(w.bytes())
	require.NoError(t, err)
	require.Empty(t, res.Reset)
	_, err = rt.CompileModule(ctx, res.Module)
	require.NoError(t, err)
}

func TestTrackDirtyPagesModules(t *testing.T) {
	// No memory: nothing to track, the module is returned as given.
	w := &wmod{}
	w.fn(w.typ(nil, nil), nil)
	b := w.bytes()
	res, err := TrackDirtyPages(b)
	require.NoError(t, err)
	require.Nil(t, res.Words)
	require.Equal(t, b, res.Module)

	// The prefix is reserved.
	w = &wmod{}
	w.memory(1)
	g := w.global(i32, true, i32c(0))
	w.export(DirtyExportPrefix+"0", 3, g)
	_, err = TrackDirtyPages(w.bytes())
	require.True(t, errors.Is(err, ErrReservedName), "%v", err)

	// The fixtures rewrite into modules that compile and stay restorable.
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	for _, f := range []string{"as/echo.wasm", "go/echo.wasm"} {
		code, err := os.ReadFile("../conformance/fixtures/" + f)
		require.NoError(t, err)
		norm, err := Normalize(code)
		require.NoError(t, err)
		res, err := TrackDirtyPages(norm.Module)
		require.NoError(t, err, f)
		require.NotZero(t, res.Stores, f)
		cm, err := rt.CompileModule(ctx, res.Module)
		require.NoError(t, err, f)
		cm.Close(ctx)
		snap, err := PrepareSnapshot(res.Module)
		require.NoError(t, err, f)
		require.True(t, snap.Restorable, "%s: %s", f, snap.Reason)
	}
}
