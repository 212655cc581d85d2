//go:build wasmer && cgo

package wasmer_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/engines/wasmer"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

// The leak tests of issue 13, through the runtime, with the AssemblyScript
// fixture greet.wasm (whose greet calls the host function index/test.hello):
// compiled and closed 2,000 times; instantiated, called and closed 50,000
// times. The resident set size must stay flat (see wasmer.CheckFlat).

func TestRuntimeCompileCloseNoLeak(t *testing.T) {
	wasmer.CheckFlat(t, wasmer.LeakLoop{Warmup: 500, Cycles: 2000, Setup: func(t *testing.T) func() {
		ctx := context.Background()
		code := fixtures.MustBytes("as/greet.wasm")
		return func() {
			m, err := runtime.CompileWithEngine(ctx, wasmer.Name, code)
			require.NoError(t, err)
			require.NoError(t, m.Close(ctx))
		}
	}})
}

func TestRuntimeInstantiateCloseNoLeak(t *testing.T) {
	wasmer.CheckFlat(t, wasmer.LeakLoop{Warmup: 5000, Cycles: 50000, Setup: func(t *testing.T) func() {
		ctx := context.Background()
		reg := runtime.NewHostAPIRegistry()
		require.NoError(t, reg.AddAPI("index", "test", "hello", func(name string) (string, error) {
			return "hello, " + name, nil
		}))
		m, err := runtime.CompileWithEngine(ctx, wasmer.Name, fixtures.MustBytes("as/greet.wasm"))
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, m.Close(ctx)) })
		return func() {
			rt, err := m.Instantiate(ctx, reg)
			require.NoError(t, err)
			out, err := rt.Call(ctx, "greet", "leak")
			require.NoError(t, err)
			require.Equal(t, "hello, leak", out)
			require.NoError(t, rt.Close(ctx))
		}
	}})
}
