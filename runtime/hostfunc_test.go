package runtime_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/abi"
	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

type whoKey struct{}

// typedRegistry registers the hostcalls fixture's imports with the typed
// constructors (Func0…Func3, Proc1), no reflection on the call path.
func typedRegistry(t testing.TB) *runtime.HostAPIRegistry {
	reg := runtime.NewHostAPIRegistry()
	add := func(method string, f runtime.Func) { require.NoError(t, reg.AddAPI("index", "test", method, f)) }
	add("hello", runtime.Func1(func(_ context.Context, s string) (string, error) { return "greet to " + s, nil }))
	add("add", runtime.Func2(func(_ context.Context, a, b int64) (int64, error) { return a + b, nil }))
	add("concat3", runtime.Func3(func(_ context.Context, a, b, c string) (string, error) { return a + b + c, nil }))
	add("log", runtime.Proc1(func(context.Context, string) error { return nil }))
	add("fail", runtime.Func1(func(_ context.Context, s string) (string, error) { return "", errors.New("typed " + s) }))
	add("boom", runtime.Proc0(func(context.Context) error { panic("typed boom") }))
	add("whoami", runtime.Func0(func(ctx context.Context) (string, error) {
		who, _ := ctx.Value(whoKey{}).(string)
		return who, nil
	}))
	add("echo", runtime.Func1(func(_ context.Context, v any) (any, error) { return v, nil }))
	add("nothing", runtime.Func0(func(context.Context) (*string, error) { return nil, nil }))
	return reg
}

// TestTypedHostFunctions: host functions registered with Func0…Func3 and
// Proc0…Proc3 behave exactly as reflected ones: results, nil results, the
// call's context, errors and panics.
func TestTypedHostFunctions(t *testing.T) {
	ctx := context.Background()
	for _, eng := range runtime.Engines() {
		t.Run(eng, func(t *testing.T) {
			rt, err := runtime.NewWithEngine(ctx, eng, fixtures.MustBytes("as/hostcalls.wasm"), typedRegistry(t))
			require.NoError(t, err)
			defer rt.Close(ctx)
			s, err := runtime.CallAs[string](ctx, rt, "greetHost", "world")
			require.NoError(t, err)
			assert.Equal(t, "greet to world", s)
			n, err := runtime.CallAs[int64](ctx, rt, "sum", int64(40), int64(2))
			require.NoError(t, err)
			assert.Equal(t, int64(42), n)
			s, err = runtime.CallAs[string](ctx, rt, "join3", "a", "-b✓", "c")
			require.NoError(t, err)
			assert.Equal(t, "a-b✓c", s)
			s, err = runtime.CallAs[string](context.WithValue(ctx, whoKey{}, "ann"), rt, "whoAmI")
			require.NoError(t, err)
			assert.Equal(t, "ann", s)
			v, err := rt.Call(ctx, "roundTrip", map[string]int32{"x": 1})
			require.NoError(t, err)
			assert.Equal(t, map[any]any{"x": int32(1)}, v)
			b, err := runtime.CallAs[bool](ctx, rt, "callNothing")
			require.NoError(t, err)
			assert.True(t, b, "a nil *string result reached the guest as no value")

			_, err = rt.Call(ctx, "callFail", "x")
			require.ErrorIs(t, err, runtime.ErrHost)
			require.ErrorContains(t, err, "typed x")
			require.NoError(t, rt.Reset(ctx))
			_, err = rt.Call(ctx, "callBoom")
			require.ErrorIs(t, err, runtime.ErrHostPanic)
			require.ErrorContains(t, err, "typed boom")
		})
	}
}

// TestTypedHostFunctionChecks: a typed function's parameter and result
// types are checked at registration, and a zero Func is refused.
func TestTypedHostFunctionChecks(t *testing.T) {
	reg := runtime.NewHostAPIRegistry()
	err := reg.AddAPI("m", "n", "f", runtime.Func1(func(context.Context, chan int) (string, error) { return "", nil }))
	require.ErrorIs(t, err, runtime.ErrInvalidAPI)
	err = reg.AddAPI("m", "n", "g", runtime.Func0(func(context.Context) (func(), error) { return nil, nil }))
	require.ErrorIs(t, err, runtime.ErrInvalidAPI)
	err = reg.AddAPI("m", "n", "h", runtime.Func{})
	require.ErrorIs(t, err, runtime.ErrInvalidAPI)
	var nilFn func(string) string
	err = reg.AddAPI("m", "n", "i", nilFn)
	require.ErrorIs(t, err, runtime.ErrInvalidAPI)
}

// TestHostCallAllocations: a host call with scalar arguments and result
// allocates nothing, with string ones only the result's and the
// argument's strings (the guest's memory cannot be aliased).
func TestHostCallAllocations(t *testing.T) {
	ctx := context.Background()
	for _, eng := range runtime.Engines() {
		t.Run(eng, func(t *testing.T) {
			reg := runtime.NewHostAPIRegistry()
			add := func(method string, fn any) { require.NoError(t, reg.AddAPI("index", "test", method, fn)) }
			add("add", func(a, b int64) int64 { return a + b })
			add("hello", func(s string) string { return s })
			for _, m := range []string{"concat3", "log", "fail", "boom", "whoami", "echo", "nothing"} {
				switch m {
				case "concat3":
					add(m, func(a, b, c string) string { return a })
				case "log":
					add(m, func(string) {})
				case "fail":
					add(m, func(s string) (string, error) { return s, nil })
				case "boom":
					add(m, func() {})
				case "whoami", "nothing":
					add(m, func() string { return "" })
				case "echo":
					add(m, func(v any) any { return v })
				}
			}
			rt, err := runtime.NewWithEngine(ctx, eng, fixtures.MustBytes("as/hostcalls.wasm"), reg)
			require.NoError(t, err)
			defer rt.Close(ctx)
			a, b := any(int64(40000)), any(int64(2))
			var n int64
			scalar := testing.AllocsPerRun(200, func() {
				if err := rt.CallInto(ctx, &n, "sum", a, b); err != nil {
					t.Fatal(err)
				}
			})
			assert.Equal(t, int64(40002), n)
			s := any(strings.Repeat("x", 40))
			var out string
			str := testing.AllocsPerRun(200, func() {
				if err := rt.CallInto(ctx, &out, "greetHost", s); err != nil {
					t.Fatal(err)
				}
			})
			// The host call allocates the argument's string; CallInto the
			// result's string; the call itself nothing.
			assert.LessOrEqual(t, scalar, 0.0, "a scalar host call allocated")
			assert.LessOrEqual(t, str, 2.0, "a string host call allocated more than its strings")
			t.Logf("allocations per call: scalar %.1f, string %.1f", scalar, str)
			_ = abi.ErrMalformed
		})
	}
}
