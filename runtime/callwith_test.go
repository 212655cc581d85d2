package runtime_test

import (
	"context"
	"fmt"
	goruntime "runtime"
	"sync"
	"testing"
	"weak"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

// TestCallWith: a call made with CallWith runs the given registry's
// functions, for that call only: the runtime's binding (or a bound
// handle's) is unchanged and used by the calls before and after, an
// unbound runtime stays unbound, a registry of another shape is refused
// with a typed error, a revoked handle fails with ErrClosed, and once the
// call returns the runtime keeps no reference to the registry.
func TestCallWith(t *testing.T) {
	ctx := context.Background()
	greet := fixtures.MustBytes("as/greet.wasm")
	for _, engine := range runtime.Engines() {
		t.Run(engine, func(t *testing.T) {
			a, b := helloRegistry(t, "a:"), helloRegistry(t, "b:")
			rt, err := runtime.NewWithEngine(ctx, engine, greet, a)
			require.NoError(t, err)
			defer rt.Close(ctx)

			out, err := rt.CallWith(ctx, b, "greet", "x")
			require.NoError(t, err)
			assert.Equal(t, "b:x", out)
			assert.Same(t, a, rt.Registry(), "CallWith does not bind")
			out, err = rt.Call(ctx, "greet", "x")
			require.NoError(t, err)
			assert.Equal(t, "a:x", out, "the call after a CallWith runs the runtime's binding")

			// A failed call drops its binding too.
			_, err = rt.CallWith(ctx, b, "no_such_export")
			require.ErrorIs(t, err, runtime.ErrMissingExport)
			out, err = rt.Call(ctx, "greet", "y")
			require.NoError(t, err)
			assert.Equal(t, "a:y", out)

			other := runtime.NewHostAPIRegistry()
			require.NoError(t, other.AddAPI("index", "test", "hello", func(s string) (string, error) { return s, nil }))
			_, err = rt.CallWith(ctx, other, "greet", "x")
			var se *runtime.ShapeError
			require.ErrorAs(t, err, &se)
			require.ErrorIs(t, err, runtime.ErrRegistryShape)
			assert.Equal(t, a.Shape(), se.Want)
			_, err = rt.CallWith(ctx, nil, "greet", "x")
			require.ErrorIs(t, err, runtime.ErrRegistryShape)

			// Unbound: CallWith works, the runtime stays unbound.
			require.NoError(t, rt.Unbind())
			out, err = rt.CallWith(ctx, b, "greet", "z")
			require.NoError(t, err)
			assert.Equal(t, "b:z", out)
			assert.Nil(t, rt.Registry())
			_, err = rt.Call(ctx, "greet", "z")
			require.ErrorIs(t, err, runtime.ErrUnbound, "the call after a CallWith of an unbound runtime has no functions")
			require.NoError(t, rt.Reset(ctx)) // the failed host call faulted the instance

			// A handle with its own binding: CallWith overrides it for the call.
			var cell runtime.HandleCell
			h, err := cell.OpenBound(rt, a)
			require.NoError(t, err)
			out, err = h.CallWith(ctx, b, "greet", "h")
			require.NoError(t, err)
			assert.Equal(t, "b:h", out)
			out, err = h.Call(ctx, "greet", "h")
			require.NoError(t, err)
			assert.Equal(t, "a:h", out)
			cell.Revoke()
			_, err = h.CallWith(ctx, b, "greet", "h")
			require.ErrorIs(t, err, runtime.ErrClosed)

			// No reference to the registry once the call returned.
			var wr weak.Pointer[runtime.HostAPIRegistry]
			func() {
				gone := helloRegistry(t, "gone:")
				wr = weak.Make(gone)
				out, err := rt.CallWith(ctx, gone, "greet", "g")
				require.NoError(t, err)
				assert.Equal(t, "gone:g", out)
			}()
			collected := false
			for range 20 {
				goruntime.GC()
				if wr.Value() == nil {
					collected = true
					break
				}
			}
			assert.True(t, collected, "the runtime still references the registry of its last CallWith")

			require.NoError(t, rt.Close(ctx))
			_, err = rt.CallWith(ctx, b, "greet", "x")
			require.ErrorIs(t, err, runtime.ErrClosed)
			var zero runtime.Runtime
			_, err = zero.CallWith(ctx, b, "greet", "x")
			require.ErrorIs(t, err, runtime.ErrClosed)
		})
	}
}

// TestCallWithConcurrently: goroutines calling one runtime, each with its
// own registry through CallWith or through the runtime's binding with
// Call, each see their own functions (run with -race).
func TestCallWithConcurrently(t *testing.T) {
	ctx := context.Background()
	greet := fixtures.MustBytes("as/greet.wasm")
	for _, engine := range runtime.Engines() {
		t.Run(engine, func(t *testing.T) {
			rt, err := runtime.NewWithEngine(ctx, engine, greet, helloRegistry(t, "bound:"))
			require.NoError(t, err)
			defer rt.Close(ctx)
			const workers, calls = 4, 200
			var wg sync.WaitGroup
			errs := make(chan error, workers)
			for w := range workers {
				wg.Go(func() {
					for i := range calls {
						var out any
						var err error
						want := "bound:x"
						if w > 0 {
							id := fmt.Sprintf("w%d-%d:", w, i)
							want = id + "x"
							out, err = rt.CallWith(ctx, helloRegistry(t, id), "greet", "x")
						} else {
							out, err = rt.Call(ctx, "greet", "x")
						}
						if err != nil || out != want {
							errs <- fmt.Errorf("worker %d call %d: got %v (%v), want %q", w, i, out, err, want)
							return
						}
						if i%64 == 63 {
							if err := rt.Reset(ctx); err != nil {
								errs <- err
								return
							}
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}
