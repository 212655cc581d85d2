package conformance

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/abi"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

// errCase calls export on fixture with args and asserts the error matches
// every sentinel in want.
func errCase(name, fixture, export string, want []error, args ...any) Case {
	return Case{Name: name, Run: func(t *testing.T, env *Env) string {
		rt := env.New(t, fixture, nil)
		_, err := rt.Call(context.Background(), export, args...)
		for _, w := range want {
			require.ErrorIs(t, err, w)
		}
		return ErrorKind(err)
	}}
}

func trapCase(export string, code runtime.TrapCode) Case {
	return Case{Name: "trap/" + export, Run: func(t *testing.T, env *Env) string {
		rt := env.New(t, "wat/traps.wasm", nil)
		_, err := rt.Call(context.Background(), export)
		require.ErrorIs(t, err, runtime.ErrTrap)
		var te *runtime.TrapError
		require.ErrorAs(t, err, &te)
		require.Equal(t, code, te.Code, "trap code of %s: %v", export, err)
		require.Equal(t, export, te.Func)
		return ErrorKind(err)
	}}
}

// newErrCase asserts that instantiating fixture (or raw bytes) fails.
func newErrCase(name string, code func() []byte, reg func(t *testing.T, env *Env) *runtime.HostAPIRegistry, want ...error) Case {
	return Case{Name: name, Run: func(t *testing.T, env *Env) string {
		var r *runtime.HostAPIRegistry
		if reg != nil {
			r = reg(t, env)
		}
		rt, err := runtime.NewWithEngine(context.Background(), env.Engine, code(), r)
		require.Nil(t, rt)
		for _, w := range want {
			require.ErrorIs(t, err, w)
		}
		return ErrorKind(err)
	}}
}

func fixture(path string) func() []byte { return func() []byte { return mustFixture(path) } }

func failureCases() []Case {
	return []Case{
		trapCase("unreachable", runtime.TrapUnreachable),
		trapCase("div_zero", runtime.TrapIntegerDivideByZero),
		trapCase("int_overflow", runtime.TrapIntegerOverflow),
		trapCase("oob_load", runtime.TrapOutOfBoundsMemory),
		trapCase("bad_conversion", runtime.TrapInvalidConversion),
		// Unbounded recursion ends at the runtime's call-depth and stack
		// limits, metered or not, on every engine, before any engine's
		// native stack overflows (runtime.WithTrustedCode lifts them).
		{Name: "limit/unbounded-recursion", Run: func(t *testing.T, env *Env) string {
			rt := env.New(t, "wat/traps.wasm", nil)
			_, err := rt.Call(context.Background(), "stack_overflow")
			require.ErrorIs(t, err, runtime.ErrCallDepth)
			var ge *runtime.GasError
			require.ErrorAs(t, err, &ge)
			require.Equal(t, "stack_overflow", ge.Func)
			return ErrorKind(err)
		}},
		trapCase("indirect_mismatch", runtime.TrapIndirectCallTypeMismatch),
		trapCase("table_oob", runtime.TrapOutOfBoundsTable),
		{Name: "abort/assemblyscript-throw", Run: func(t *testing.T, env *Env) string {
			rt := env.New(t, "as/echo.wasm", nil)
			_, err := rt.Call(context.Background(), "fail", "bad thing ✓")
			require.ErrorIs(t, err, runtime.ErrAbort)
			var ae *runtime.AbortError
			require.ErrorAs(t, err, &ae)
			require.Equal(t, "bad thing ✓", ae.Message)
			require.Contains(t, ae.File, "echo.ts")
			require.NotZero(t, ae.Line)
			require.Equal(t, "fail", ae.Func)
			return ErrorKind(err)
		}},
		{Name: "abort/wat", Run: func(t *testing.T, env *Env) string {
			rt := env.New(t, "wat/abort.wasm", nil)
			_, err := rt.Call(context.Background(), "f")
			var ae *runtime.AbortError
			require.ErrorAs(t, err, &ae)
			require.Equal(t, runtime.AbortError{Func: "f", Message: "boom ✓", File: "file.ts", Line: 7, Column: 3}, *ae)
			return ErrorKind(err)
		}},
		{Name: "abort/unreadable-message", Run: func(t *testing.T, env *Env) string {
			rt := env.New(t, "wat/abort.wasm", nil)
			_, err := rt.Call(context.Background(), "f_bad")
			var ae *runtime.AbortError
			require.ErrorAs(t, err, &ae)
			require.Contains(t, ae.Message, "unreadable")
			return ErrorKind(err)
		}},
		errCase("call/missing-export", "as/echo.wasm", "nope", []error{runtime.ErrMissingExport}),
		errCase("call/too-few-args", "as/echo.wasm", "add", []error{runtime.ErrArgCount}, int32(1)),
		errCase("call/too-many-args", "as/echo.wasm", "answer", []error{runtime.ErrArgCount}, int32(1)),
		errCase("call/unsupported-arg", "as/echo.wasm", "greet", []error{runtime.ErrInvalidArgument, abi.ErrUnsupportedType}, complex(1, 2)),
		errCase("call/arg-too-deep", "as/echo.wasm", "echo", []error{runtime.ErrInvalidArgument, abi.ErrTooDeep}, deepList(65)),
		errCase("call/non-abi-signature", "wat/raw.wasm", "f64_id", []error{runtime.ErrSignature}, 1.0),
		newErrCase("compile/garbage", func() []byte { return []byte("definitely not wasm") }, nil, runtime.ErrCompile),
		newErrCase("compile/empty", func() []byte { return nil }, nil, runtime.ErrCompile),
		newErrCase("compile/truncated", func() []byte { b := mustFixture("as/echo.wasm"); return b[:len(b)/2] }, nil, runtime.ErrCompile),
		newErrCase("link/missing-import", fixture("wat/missing_import.wasm"), nil, runtime.ErrLink),
		newErrCase("link/missing-host-function", fixture("as/hostcalls.wasm"), nil, runtime.ErrLink),
		newErrCase("link/import-signature", fixture("wat/bad_import_sig.wasm"), func(t *testing.T, env *Env) *runtime.HostAPIRegistry {
			return env.Registry(t)
		}, runtime.ErrLink),
		newErrCase("start/trap", fixture("wat/start_trap.wasm"), nil, runtime.ErrTrap),
		{Name: "engine/unknown", Run: func(t *testing.T, env *Env) string {
			_, err := runtime.NewWithEngine(context.Background(), "no-such-engine", mustFixture("as/echo.wasm"), nil)
			require.ErrorIs(t, err, runtime.ErrUnknownEngine)
			return ErrorKind(err)
		}},
	}
}
