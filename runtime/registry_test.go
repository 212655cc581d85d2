package runtime_test

import (
	"context"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/abi"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

func TestAddAPIAcceptsSupportedShapes(t *testing.T) {
	reg := runtime.NewHostAPIRegistry()
	type point struct{ X, Y int32 }
	for i, fn := range []any{
		func() {},
		func() error { return nil },
		func(s string) string { return s },
		func(ctx context.Context, a int64, b []byte) (map[string]point, error) { return nil, nil },
		func(p *point, l []any, m map[int8]bool) any { return nil },
		func(abi.Struct, float32, float64, bool, uint, int) {},
	} {
		require.NoError(t, reg.AddAPI("index", "ns", string(rune('a'+i)), fn))
	}
	assert.Equal(t, []string{"index/ns.a", "index/ns.b", "index/ns.c", "index/ns.d", "index/ns.e", "index/ns.f"}, reg.APIs())
}

func TestAddAPIRejectsUnsupportedShapes(t *testing.T) {
	for name, tc := range map[string]struct {
		module, ns, method string
		fn                 any
	}{
		"not a func":        {"m", "n", "f", 42},
		"nil func":          {"m", "n", "f", (func())(nil)},
		"variadic":          {"m", "n", "f", func(...string) {}},
		"context not first": {"m", "n", "f", func(string, context.Context) {}},
		"chan param":        {"m", "n", "f", func(chan int) {}},
		"func param":        {"m", "n", "f", func(func()) {}},
		"complex result":    {"m", "n", "f", func() complex128 { return 0 }},
		"float map keys":    {"m", "n", "f", func(map[float64]int) {}},
		"three results":     {"m", "n", "f", func() (int, int, error) { return 0, 0, nil }},
		"second not error":  {"m", "n", "f", func() (int, int) { return 0, 0 }},
		"struct with chan":  {"m", "n", "f", func(struct{ C chan int }) {}},
		"empty module":      {"", "n", "f", func() {}},
		"empty namespace":   {"m", "", "f", func() {}},
		"empty method":      {"m", "n", "", func() {}},
		"dotted namespace":  {"m", "a.b", "f", func() {}},
	} {
		t.Run(name, func(t *testing.T) {
			err := runtime.NewHostAPIRegistry().AddAPI(tc.module, tc.ns, tc.method, tc.fn)
			require.ErrorIs(t, err, runtime.ErrInvalidAPI)
		})
	}
}

func TestAddAPIRejectsDuplicates(t *testing.T) {
	reg := runtime.NewHostAPIRegistry()
	require.NoError(t, reg.AddAPI("index", "test", "hello", func() {}))
	require.ErrorIs(t, reg.AddAPI("index", "test", "hello", func() {}), runtime.ErrInvalidAPI)
	require.NoError(t, reg.AddAPI("other", "test", "hello", func() {}), "same name in another module is distinct")
}

func TestDefaultEngineFollowsPreference(t *testing.T) {
	engines := runtime.Engines()
	require.Contains(t, engines, "wazero", "wazero is linked into every build")
	def := runtime.DefaultEngine()
	require.Contains(t, engines, def)
	switch {
	case slices.Contains(engines, "wasmtime"):
		assert.Equal(t, "wasmtime", def)
	case slices.Contains(engines, "wasmer"):
		assert.Equal(t, "wasmer", def)
	default:
		assert.Equal(t, "wazero", def)
	}
	assert.False(t, slices.Contains(engines, "wasmtime") && slices.Contains(engines, "wasmer"),
		"wasmtime and wasmer must never be linked together")
}
