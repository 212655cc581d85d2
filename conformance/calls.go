package conformance

import (
	"context"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/abi"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

// valueCase calls export on fixture with args and asserts the typed result.
func valueCase[T any](name, fixture, export string, want T, args ...any) Case {
	return Case{Name: name, Run: func(t *testing.T, env *Env) string {
		rt := env.New(t, fixture, nil)
		got, err := callAs[T](rt, export, args...)
		require.NoError(t, err)
		require.Equal(t, want, got)
		return encoded(t, got)
	}}
}

func callCases() []Case {
	return []Case{
		valueCase("call/greet", "as/echo.wasm", "greet", "hello, world", "world"),
		valueCase("call/add", "as/echo.wasm", "add", int32(5), int32(2), int32(3)),
		valueCase("call/add/wraps", "as/echo.wasm", "add", int32(math.MinInt32), int32(math.MaxInt32), int32(1)),
		valueCase("call/add/widening", "as/echo.wasm", "add", int64(7), int32(3), int32(4)),
		valueCase("call/concat", "as/echo.wasm", "concat", "ab✓", "a", "b✓"),
		valueCase("call/no-params", "as/echo.wasm", "answer", int32(42)),
		valueCase("call/start-ran-once", "as/echo.wasm", "startedCount", int32(1)),
		valueCase("call/start/wat", "wat/start.wasm", "starts", int32(1)),
		valueCase("call/zero-copy-echo", "wat/raw.wasm", "echo", "hi", "hi"),
		{Name: "call/no-result", Run: func(t *testing.T, env *Env) string {
			rt := env.New(t, "as/echo.wasm", nil)
			v, err := rt.Call(context.Background(), "noResult", "x")
			require.NoError(t, err)
			require.Nil(t, v)
			v, err = rt.Call(context.Background(), "nilResult", "x")
			require.NoError(t, err)
			require.Nil(t, v)
			s := "untouched"
			require.NoError(t, rt.CallInto(context.Background(), &s, "nilResult", int8(1)))
			require.Equal(t, "", s, "no result sets the zero value")
			return "nil"
		}},
		{Name: "call/state-persists", Run: func(t *testing.T, env *Env) string {
			rt := env.New(t, "as/echo.wasm", nil)
			for want := int64(1); want <= 5; want++ {
				got, err := callAs[int64](rt, "counter")
				require.NoError(t, err)
				require.Equal(t, want, got)
			}
			other := env.New(t, "as/echo.wasm", nil)
			got, err := callAs[int64](other, "counter")
			require.NoError(t, err)
			require.Equal(t, int64(1), got, "a second instance has its own state")
			n, err := callAs[int32](rt, "startedCount")
			require.NoError(t, err)
			require.Equal(t, int32(1), n, "start code ran once per instance")
			return "1..5"
		}},
		{Name: "call/start-once-per-instance/wat", Run: func(t *testing.T, env *Env) string {
			rt := env.New(t, "wat/start.wasm", nil)
			for i := 0; i < 3; i++ {
				n, err := callAs[int32](rt, "starts")
				require.NoError(t, err)
				require.Equal(t, int32(1), n)
			}
			return "1"
		}},
		{Name: "call/typed-mismatch", Run: func(t *testing.T, env *Env) string {
			rt := env.New(t, "as/echo.wasm", nil)
			_, err := callAs[bool](rt, "greet", "x")
			require.ErrorIs(t, err, abi.ErrTypeMismatch)
			require.NotErrorIs(t, err, runtime.ErrABI, "a type mismatch is the caller's choice, not a guest fault")
			return ErrorKind(err)
		}},
		{Name: "call/closed", Run: func(t *testing.T, env *Env) string {
			rt, err := runtime.NewWithEngine(context.Background(), env.Engine, mustFixture("as/echo.wasm"), nil)
			require.NoError(t, err)
			require.NoError(t, rt.Close(context.Background()))
			require.NoError(t, rt.Close(context.Background()), "Close is idempotent")
			_, err = rt.Call(context.Background(), "answer")
			require.ErrorIs(t, err, runtime.ErrClosed)
			return ErrorKind(err)
		}},
		{Name: "call/instantiate-many-from-one-module", Run: func(t *testing.T, env *Env) string {
			ctx := context.Background()
			m, err := runtime.CompileWithEngine(ctx, env.Engine, mustFixture("as/echo.wasm"))
			require.NoError(t, err)
			defer func() { require.NoError(t, m.Close(ctx)) }()
			for i := 0; i < 3; i++ {
				rt, err := m.Instantiate(ctx, nil)
				require.NoError(t, err)
				n, err := runtime.CallAs[int64](ctx, rt, "counter")
				require.NoError(t, err)
				require.Equal(t, int64(1), n)
				require.NoError(t, rt.Close(ctx))
			}
			return "ok"
		}},
	}
}
