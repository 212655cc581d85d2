package runtime_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

// TestHandleOfAHandle: a handle made from a handle (and one made from
// that) is revoked with it, as with its own revoke, and one made from a
// revoked handle is born revoked; the runtime and its other handles go on.
// (A handle made from a pool lease's runtime used to outlive the lease.)
func TestHandleOfAHandle(t *testing.T) {
	ctx := context.Background()
	greet := fixtures.MustBytes("as/greet.wasm")
	for _, engine := range runtime.Engines() {
		t.Run(engine, func(t *testing.T) {
			rt, err := runtime.NewWithEngine(ctx, engine, greet, helloRegistry(t, "a:"))
			require.NoError(t, err)
			defer rt.Close(ctx)
			var cell runtime.HandleCell
			h := cell.Open(rt)
			child, revokeChild := h.Handle()
			grandchild, _ := child.Handle()
			other, _ := rt.Handle()
			for _, r := range []*runtime.Runtime{child, grandchild} {
				out, err := runtime.CallAs[string](ctx, r, "greet", "x")
				require.NoError(t, err)
				assert.Equal(t, "a:x", out)
			}

			sibling, revokeSibling := h.Handle()
			revokeSibling()
			_, err = sibling.Call(ctx, "greet", "y")
			require.ErrorIs(t, err, runtime.ErrClosed, "its own revoke")
			_, err = h.Call(ctx, "greet", "y")
			require.NoError(t, err, "a child's revoke leaves its parent")

			cell.Release()
			for _, r := range []*runtime.Runtime{h, child, grandchild} {
				_, err = r.Call(ctx, "greet", "y")
				require.ErrorIs(t, err, runtime.ErrClosed)
				require.ErrorIs(t, r.Reset(ctx), runtime.ErrClosed)
			}
			late, _ := child.Handle()
			_, err = late.Call(ctx, "greet", "y")
			require.ErrorIs(t, err, runtime.ErrClosed, "made from a revoked handle")
			revokeChild()

			for _, r := range []*runtime.Runtime{rt, other} {
				out, err := runtime.CallAs[string](ctx, r, "greet", "w")
				require.NoError(t, err)
				assert.Equal(t, "a:w", out, "the instance is still the runtime's")
			}
		})
	}
}
