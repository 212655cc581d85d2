package runtime_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

// stringShapesRegistry registers the hostcalls fixture's hello and fail
// as the given string -> string functions, the other imports as plain
// stubs.
func stringShapesRegistry(t *testing.T, hello, fail any) *runtime.HostAPIRegistry {
	reg := runtime.NewHostAPIRegistry()
	add := func(method string, fn any) { require.NoError(t, reg.AddAPI("index", "test", method, fn)) }
	add("hello", hello)
	add("fail", fail)
	add("add", func(a, b int64) int64 { return a + b })
	add("concat3", func(a, b, c string) string { return a + b + c })
	add("log", func(string) {})
	add("boom", func() { panic("boom") })
	add("whoami", func() string { return "" })
	add("echo", func(v any) any { return v })
	add("nothing", func() *string { return nil })
	return reg
}

// TestStringHostFunctionShapes: every shape of string -> string host
// function AddAPI and Func1 accept (without a context or with one, without
// an error or with one) gets its argument, the call's context, and returns
// its result or its error to the guest, on every engine.
func TestStringHostFunctionShapes(t *testing.T) {
	ctx := context.WithValue(context.Background(), whoKey{}, "ann")
	who := func(ctx context.Context) string { s, _ := ctx.Value(whoKey{}).(string); return s }
	shapes := map[string]struct{ hello, fail any }{
		"plain": {
			func(s string) string { return "greet to " + s },
			func(s string) string { panic("unused") },
		},
		"with error": {
			func(s string) (string, error) { return "greet to " + s, nil },
			func(s string) (string, error) { return "", errors.New("failed " + s) },
		},
		"with context and error": {
			func(ctx context.Context, s string) (string, error) { return "greet to " + s + " from " + who(ctx), nil },
			func(ctx context.Context, s string) (string, error) {
				return "", errors.New("failed " + s + " for " + who(ctx))
			},
		},
		"with context": {
			func(ctx context.Context, s string) string { return "greet to " + s + " from " + who(ctx) },
			func(ctx context.Context, s string) string { panic("unused") },
		},
		"Func1": {
			runtime.Func1(func(ctx context.Context, s string) (string, error) { return "greet to " + s + " from " + who(ctx), nil }),
			runtime.Func1(func(ctx context.Context, s string) (string, error) {
				return "", errors.New("failed " + s + " for " + who(ctx))
			}),
		},
	}
	for _, eng := range runtime.Engines() {
		for name, sh := range shapes {
			t.Run(eng+"/"+name, func(t *testing.T) {
				rt, err := runtime.NewWithEngine(ctx, eng, fixtures.MustBytes("as/hostcalls.wasm"), stringShapesRegistry(t, sh.hello, sh.fail))
				require.NoError(t, err)
				defer rt.Close(ctx)
				withCtx := name != "plain" && name != "with error"
				want := "greet to wörld"
				if withCtx {
					want += " from ann"
				}
				s, err := runtime.CallAs[string](ctx, rt, "greetHost", "wörld")
				require.NoError(t, err)
				assert.Equal(t, want, s)

				if name == "plain" || name == "with context" {
					return // no error to return
				}
				_, err = rt.Call(ctx, "callFail", "x")
				require.ErrorIs(t, err, runtime.ErrHost)
				msg := "failed x"
				if withCtx {
					msg += " for ann"
				}
				require.ErrorContains(t, err, msg)
			})
		}
	}
}
