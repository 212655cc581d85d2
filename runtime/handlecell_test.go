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

// TestHandleCellOpenBound: a handle opened with its own binding calls its
// registry's functions whatever the instance is bound to, so that two
// handles on one instance each see their own; Bind and Unbind on it change
// its binding only; a registry of another shape is refused; Release
// revokes the handle and reports the first Release only.
func TestHandleCellOpenBound(t *testing.T) {
	ctx := context.Background()
	greet := fixtures.MustBytes("as/greet.wasm")
	for _, engine := range runtime.Engines() {
		t.Run(engine, func(t *testing.T) {
			a, b, c := helloRegistry(t, "a:"), helloRegistry(t, "b:"), helloRegistry(t, "c:")
			rt, err := runtime.NewWithEngine(ctx, engine, greet, a)
			require.NoError(t, err)
			defer rt.Close(ctx)
			require.NoError(t, rt.Unbind())

			var cb, cc runtime.HandleCell
			hb, err := cb.OpenBound(rt, b)
			require.NoError(t, err)
			hc, err := cc.OpenBound(rt, c)
			require.NoError(t, err)
			for _, want := range []struct {
				h   *runtime.Runtime
				out string
			}{{hb, "b:x"}, {hc, "c:x"}, {hb, "b:x"}} {
				out, err := runtime.CallAs[string](ctx, want.h, "greet", "x")
				require.NoError(t, err)
				assert.Equal(t, want.out, out)
			}
			assert.Same(t, b, hb.Registry())
			assert.Same(t, c, hc.Registry())
			assert.Same(t, b, cb.Registry())
			_, err = runtime.CallAs[string](ctx, rt, "greet", "x")
			require.ErrorIs(t, err, runtime.ErrUnbound, "the instance itself stays unbound")
			assert.Nil(t, rt.Registry())
			require.NoError(t, rt.Reset(ctx))

			// Bind and Unbind on a handle with its own binding: its
			// binding only.
			require.NoError(t, hb.Bind(a))
			out, err := runtime.CallAs[string](ctx, hb, "greet", "y")
			require.NoError(t, err)
			assert.Equal(t, "a:y", out)
			assert.Nil(t, rt.Registry())
			require.NoError(t, hb.Unbind())
			assert.Nil(t, hb.Registry())
			_, err = runtime.CallAs[string](ctx, hb, "greet", "y")
			require.ErrorIs(t, err, runtime.ErrUnbound)
			require.NoError(t, hc.Reset(ctx))
			out, err = runtime.CallAs[string](ctx, hc, "greet", "y")
			require.NoError(t, err)
			assert.Equal(t, "c:y", out, "another handle's Unbind changes nothing")

			other := runtime.NewHostAPIRegistry()
			require.NoError(t, other.AddAPI("index", "test", "hello", func(s string) (string, error) { return s, nil }))
			var co runtime.HandleCell
			_, err = co.OpenBound(rt, other)
			require.ErrorIs(t, err, runtime.ErrRegistryShape)

			assert.True(t, cc.Release())
			assert.False(t, cc.Release(), "a second Release")
			_, err = runtime.CallAs[string](ctx, hc, "greet", "z")
			require.ErrorIs(t, err, runtime.ErrClosed)
			var cd runtime.HandleCell
			hd, err := cd.OpenBound(rt, b)
			require.NoError(t, err)
			require.NoError(t, hd.Close(ctx))
			assert.True(t, cd.Release(), "closing the handle is no Release")
		})
	}
}

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
