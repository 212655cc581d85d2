package runtime_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/runtime"
)

// TestZeroRuntime: a Runtime that was never instantiated (a zero value, or
// a nil pointer) fails every call with ErrClosed and closes without error,
// instead of panicking.
func TestZeroRuntime(t *testing.T) {
	ctx := context.Background()
	for name, rt := range map[string]*runtime.Runtime{"zero": {}, "nil": nil} {
		t.Run(name, func(t *testing.T) {
			_, err := rt.Call(ctx, "greet", "x")
			require.ErrorIs(t, err, runtime.ErrClosed)
			var out string
			require.ErrorIs(t, rt.CallInto(ctx, &out, "greet", "x"), runtime.ErrClosed)
			_, err = rt.CallWasm(ctx, "add", 1, 2)
			require.ErrorIs(t, err, runtime.ErrClosed)
			require.ErrorIs(t, rt.Reset(ctx), runtime.ErrClosed)
			require.NoError(t, rt.Close(ctx))
		})
	}
}
