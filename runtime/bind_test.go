package runtime_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

// helloRegistry returns a registry whose index/test.hello prefixes its
// argument with prefix: same shape, other function, for every prefix.
func helloRegistry(t testing.TB, prefix string) *runtime.HostAPIRegistry {
	t.Helper()
	reg := runtime.NewHostAPIRegistry()
	require.NoError(t, reg.AddAPI("index", "test", "hello", func(s string) string { return prefix + s }))
	return reg
}

func TestRegistryShape(t *testing.T) {
	a, b := helloRegistry(t, "a:"), helloRegistry(t, "b:")
	assert.Equal(t, a.Shape(), b.Shape(), "same functions, other closures: same shape")
	assert.Equal(t, "index/test.hello func(string) string", a.Shape().String())
	var none *runtime.HostAPIRegistry
	assert.Equal(t, runtime.RegistryShape{}, none.Shape())
	assert.Equal(t, runtime.NewHostAPIRegistry().Shape(), none.Shape(), "a nil registry is shaped like an empty one")

	other := runtime.NewHostAPIRegistry()
	require.NoError(t, other.AddAPI("index", "test", "hello", func(s string) (string, error) { return s, nil }))
	assert.NotEqual(t, a.Shape(), other.Shape(), "another Go signature is another shape")
	typed := runtime.NewHostAPIRegistry()
	require.NoError(t, typed.AddAPI("index", "test", "hello", runtime.Func1(func(_ context.Context, s string) (string, error) { return s, nil })))
	assert.Equal(t, "index/test.hello func(context.Context, string) (string, error)", typed.Shape().String())

	// A registry changed after its shape was taken has a new shape.
	before := b.Shape()
	require.NoError(t, b.AddAPI("index", "test", "bye", func(s string) string { return s }))
	assert.NotEqual(t, before, b.Shape())
	assert.Equal(t, "index/test.bye func(string) string; index/test.hello func(string) string", b.Shape().String())
}

// TestBind: a runtime bound to another registry of its shape calls that
// registry's functions; one of another shape is refused with a typed error;
// an unbound runtime keeps no function and its host calls fail cleanly.
func TestBind(t *testing.T) {
	ctx := context.Background()
	greet := fixtures.MustBytes("as/greet.wasm")
	for _, engine := range runtime.Engines() {
		t.Run(engine, func(t *testing.T) {
			a, b := helloRegistry(t, "a:"), helloRegistry(t, "b:")
			rt, err := runtime.NewWithEngine(ctx, engine, greet, a)
			require.NoError(t, err)
			defer rt.Close(ctx)
			out, err := runtime.CallAs[string](ctx, rt, "greet", "x")
			require.NoError(t, err)
			assert.Equal(t, "a:x", out)
			assert.Same(t, a, rt.Registry())

			require.NoError(t, rt.Bind(b))
			out, err = runtime.CallAs[string](ctx, rt, "greet", "x")
			require.NoError(t, err)
			assert.Equal(t, "b:x", out)
			assert.Same(t, b, rt.Registry())

			other := runtime.NewHostAPIRegistry()
			require.NoError(t, other.AddAPI("index", "test", "hello", func(s string) (string, error) { return s, nil }))
			err = rt.Bind(other)
			require.ErrorIs(t, err, runtime.ErrRegistryShape)
			var se *runtime.ShapeError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, a.Shape(), se.Want)
			assert.Equal(t, other.Shape(), se.Got)
			require.ErrorIs(t, rt.Bind(nil), runtime.ErrRegistryShape)
			out, err = runtime.CallAs[string](ctx, rt, "greet", "x")
			require.NoError(t, err)
			assert.Equal(t, "b:x", out, "a refused Bind changes nothing")

			require.NoError(t, rt.Unbind())
			assert.Nil(t, rt.Registry())
			_, err = runtime.CallAs[string](ctx, rt, "greet", "x")
			require.ErrorIs(t, err, runtime.ErrUnbound)
			require.ErrorIs(t, err, runtime.ErrHost)
			require.NoError(t, rt.Reset(ctx))
			require.NoError(t, rt.Bind(a))
			out, err = runtime.CallAs[string](ctx, rt, "greet", "y")
			require.NoError(t, err)
			assert.Equal(t, "a:y", out)

			// A handle binds the instance; a revoked one cannot.
			h, revoke := rt.Handle()
			require.NoError(t, h.Bind(b))
			out, err = runtime.CallAs[string](ctx, rt, "greet", "z")
			require.NoError(t, err)
			assert.Equal(t, "b:z", out)
			revoke()
			require.ErrorIs(t, h.Bind(a), runtime.ErrClosed)
			require.ErrorIs(t, h.Unbind(), runtime.ErrClosed)
			assert.Same(t, b, rt.Registry())
		})
	}
}
