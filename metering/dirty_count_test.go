package metering

import (
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/aspect-rt/aspect-runtime/abi"
)

// TestDirtyChecksGoGreet counts, on wazero, the inline page checks and the
// calls of the mark helper one greet of the Go guest runs (the first after
// _initialize, as after a Reset, and a warm one), with the stores grouped
// (the default) and each store checking its own page, and logs them with
// the static counts: the measurement behind the grouping. It checks that
// grouping runs fewer checks, marks the same pages, and leaves greet's
// result unchanged.
func TestDirtyChecksGoGreet(t *testing.T) {
	ctx := context.Background()
	code, err := os.ReadFile("../conformance/fixtures/go/echo.wasm")
	require.NoError(t, err)
	norm, err := Normalize(code)
	require.NoError(t, err)
	arg, err := abi.Marshal("world")
	require.NoError(t, err)

	type counts struct{ checks, marks [2]uint64 }
	variants := []dirtyOptions{
		{count: true},                 // the default
		{count: true, noGroups: true}, // every store checks its page
	}
	bitmaps := make([][2][DirtyWords]uint64, len(variants))
	got := make([]counts, len(variants))
	for v, opt := range variants {
		res, err := trackDirtyPages(norm.Module, opt)
		require.NoError(t, err)
		t.Logf("%+v: %d stores checked, %d covered; code %d bytes (original %d)",
			opt, res.Stores, res.Covered, len(res.Module), len(norm.Module))
		rt := wazero.NewRuntime(ctx)
		defer rt.Close(ctx)
		wasi_snapshot_preview1.MustInstantiate(ctx, rt)
		_, err = rt.NewHostModuleBuilder("env").NewFunctionBuilder().
			WithFunc(func(context.Context, int32, int32, int32, int32) {}).Export("abort").Instantiate(ctx)
		require.NoError(t, err)
		mod, err := rt.InstantiateWithConfig(ctx, res.Module, wazero.NewModuleConfig().WithStartFunctions("_initialize"))
		require.NoError(t, err)
		g := func(name string) api.Global { return mod.ExportedGlobal(DirtyExportPrefix + name) }
		for call := range 2 {
			for _, name := range append(res.Words, res.Summary) {
				mod.ExportedGlobal(name).(api.MutableGlobal).Set(0)
			}
			g("last").(api.MutableGlobal).Set(DirtyNoPage)
			g("checks").(api.MutableGlobal).Set(0)
			g("marks").(api.MutableGlobal).Set(0)
			out, err := mod.ExportedFunction("allocate").Call(ctx, uint64(len(arg)))
			require.NoError(t, err)
			require.True(t, mod.Memory().Write(uint32(out[0]), arg))
			out, err = mod.ExportedFunction("greet").Call(ctx, out[0])
			require.NoError(t, err)
			b, err := abi.ReadValue(mod.Memory(), uint32(out[0]))
			require.NoError(t, err)
			s, err := abi.DecodeString(b)
			require.NoError(t, err)
			require.Equal(t, "hello, world", s)
			got[v].checks[call], got[v].marks[call] = g("checks").Get(), g("marks").Get()
			for i, name := range res.Words {
				bitmaps[v][call][i] = mod.ExportedGlobal(name).Get()
			}
		}
		for call, what := range []string{"first", "warm"} {
			t.Logf("%+v: %s greet: %d checks, %d mark calls", opt, what, got[v].checks[call], got[v].marks[call])
		}
	}
	for call := range 2 {
		require.Less(t, got[0].checks[call], got[1].checks[call], "grouping runs fewer checks")
	}
	for v := range variants {
		require.Equal(t, bitmaps[len(variants)-1], bitmaps[v], "%+v marks the same pages", variants[v])
	}
}
