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
	require.Equal(t, uint64(6), mod.ExportedGlobal(res.Last).Get())

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
