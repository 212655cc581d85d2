package runtime_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

// TestHandleCell: a handle opened in a cell calls the instance like the
// runtime itself; once revoked it fails with ErrClosed and the instance
// stays the runtime's; a cell is never reopened.
func TestHandleCell(t *testing.T) {
	ctx := context.Background()
	greet := fixtures.MustBytes("as/greet.wasm")
	for _, engine := range runtime.Engines() {
		t.Run(engine, func(t *testing.T) {
			rt, err := runtime.NewWithEngine(ctx, engine, greet, helloRegistry(t, "a:"))
			require.NoError(t, err)
			defer rt.Close(ctx)
			var cell runtime.HandleCell
			h := cell.Open(rt)
			out, err := runtime.CallAs[string](ctx, h, "greet", "x")
			require.NoError(t, err)
			assert.Equal(t, "a:x", out)
			assert.Equal(t, engine, h.Engine())

			cell.Revoke()
			_, err = h.Call(ctx, "greet", "y")
			require.ErrorIs(t, err, runtime.ErrClosed)
			require.ErrorIs(t, h.Reset(ctx), runtime.ErrClosed)
			require.NoError(t, h.Close(ctx), "closing a revoked handle only revokes it")
			assert.Panics(t, func() { cell.Open(rt) }, "a revoked cell cannot be reopened")
			_, err = h.Call(ctx, "greet", "z")
			require.ErrorIs(t, err, runtime.ErrClosed)

			out, err = runtime.CallAs[string](ctx, rt, "greet", "w")
			require.NoError(t, err)
			assert.Equal(t, "a:w", out, "the instance is still the runtime's")
		})
	}
}
