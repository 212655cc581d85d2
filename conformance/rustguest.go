package conformance

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/pool"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

// The Rust-guest part of the suite. The AssemblyScript cases that use the
// echo and hostcalls fixtures (the same ones the Go guests mirror) run
// again on their Rust counterparts (fixtures/rust/echo, fixtures/rust/hostcalls,
// built with the Rust guest library guest/rust for wasm32-unknown-unknown,
// so without WASI), and each asserts that its outcome is identical to the
// AssemblyScript one. The gas cases of the Rust fixtures are their own
// lines of gas.golden: the same on every engine.

// rustFixtures maps the AssemblyScript fixtures to their Rust counterparts.
var rustFixtures = map[string]string{
	"as/echo.wasm":      "rust/echo.wasm",
	"as/hostcalls.wasm": "rust/hostcalls.wasm",
}

// rustGuest makes Env.New instantiate the Rust counterparts of the
// fixtures.
func rustGuest() *counterpart {
	return &counterpart{lang: "Rust", fixtures: rustFixtures, instantiate: func(t *testing.T, engine, fixture string, reg *runtime.HostAPIRegistry, opts []runtime.Option) *runtime.Runtime {
		return newRust(t, engine, fixture, reg, opts...)
	}}
}

// newRust instantiates a Rust fixture, closing it at test end.
func newRust(t *testing.T, engine, fixture string, reg *runtime.HostAPIRegistry, opts ...runtime.Option) *runtime.Runtime {
	t.Helper()
	rt, err := runtime.NewWithEngine(context.Background(), engine, fixtures.MustBytes(fixture), reg, opts...)
	require.NoError(t, err, "instantiating %s on %s", fixture, engine)
	t.Cleanup(func() { require.NoError(t, rt.Close(context.Background())) })
	return rt
}

// mirrorRust runs c on the Rust fixtures and on the AssemblyScript ones,
// and asserts identical outcomes.
func mirrorRust(c Case) Case { return mirrorOn(c, "rust", rustGuest) }

// rustGasCase calls export on a metered instance of a Rust fixture (with
// the metered host registry for hostcalls) with a fresh meter of limit gas,
// asserts the error kind, checks that exactly the gas used suffices and one
// less does not (for a successful call), and checks the gas against the
// golden table as gas/rust/<name>.
func rustGasCase(name, fixture, export string, wantErr error, args ...any) Case {
	const limit = 1_000_000_000
	return Case{Name: "gas/rust/" + name, Run: func(t *testing.T, env *Env) string {
		ctx := context.Background()
		mod, err := runtime.CompileWithEngine(ctx, env.Engine, fixtures.MustBytes(fixture), runtime.WithMetering(meteringConfig))
		require.NoError(t, err)
		defer func() { require.NoError(t, mod.Close(ctx)) }()
		call := func(limit uint64) (*runtime.Meter, error) {
			t.Helper()
			var reg *runtime.HostAPIRegistry
			if fixture == "rust/hostcalls.wasm" {
				reg = env.meteredRegistry(t)
			}
			rt, err := mod.Instantiate(ctx, reg)
			require.NoError(t, err)
			defer func() { require.NoError(t, rt.Close(ctx)) }()
			m := runtime.NewMeter(limit)
			_, err = rt.Call(runtime.WithMeter(ctx, m), export, args...)
			require.Equal(t, limit, m.Used()+m.Left())
			return m, err
		}
		m, err := call(limit)
		if wantErr == nil {
			require.NoError(t, err)
		} else {
			require.ErrorIs(t, err, wantErr)
		}
		out := strconv.FormatUint(m.Used(), 10) + "/" + strings.ReplaceAll(ErrorKind(err), " ", "_")
		if wantErr == nil {
			need := m.Used()
			m, err = call(need)
			require.NoError(t, err, "exactly the gas the call used is enough")
			require.Zero(t, m.Left())
			_, err = call(need - 1)
			require.ErrorIs(t, err, runtime.ErrOutOfGas, "one less is not")
			var ge *runtime.GasError
			require.True(t, errors.As(err, &ge))
			require.Equal(t, export, ge.Func)
		}
		checkGolden(t, "gas/rust/"+name, out)
		return out
	}}
}

func rustGuestCases() []Case {
	var cs []Case
	for _, c := range slices.Concat(codecCases(), callCases(), hostCases(), failureCases()) {
		if mirrored(c.Name) {
			cs = append(cs, mirrorRust(c))
		}
	}
	return append(cs,
		Case{Name: "rust/abort/guest-abort", Run: func(t *testing.T, env *Env) string {
			// The AssemblyScript fixture throws; the Rust one calls
			// aspect_guest::abort. Both reach env.abort: the kind and
			// message are the same, the location is the guest's own source.
			rt := newRust(t, env.Engine, "rust/echo.wasm", nil)
			_, err := rt.Call(context.Background(), "fail", "bad thing ✓")
			require.ErrorIs(t, err, runtime.ErrAbort)
			var ae *runtime.AbortError
			require.ErrorAs(t, err, &ae)
			require.Equal(t, "bad thing ✓", ae.Message)
			require.Equal(t, "fail", ae.Func)
			require.Equal(t, "fixtures/rust/echo/lib.rs", ae.File)
			require.NotZero(t, ae.Line)
			require.NotZero(t, ae.Column)
			return ErrorKind(err)
		}},
		Case{Name: "rust/abort/bad-argument", Run: func(t *testing.T, env *Env) string {
			rt := newRust(t, env.Engine, "rust/echo.wasm", nil)
			_, err := rt.Call(context.Background(), "echoI8", "not an int8")
			require.ErrorIs(t, err, runtime.ErrAbort)
			var ae *runtime.AbortError
			require.ErrorAs(t, err, &ae)
			require.Contains(t, ae.Message, "type mismatch")
			require.Equal(t, "fixtures/rust/echo/lib.rs", ae.File, "the location is the guest's call of arg")
			// The instance is not faulted by the guest's abort in a way
			// that breaks the next call's arena.
			return "ErrAbort"
		}},
		Case{Name: "rust/abort/overflow", Run: func(t *testing.T, env *Env) string {
			// Decoding converts integers only where the value fits, as
			// abi.Unmarshal does.
			rt := newRust(t, env.Engine, "rust/echo.wasm", nil)
			got, err := callAs[int8](rt, "echoI8", int64(-128))
			require.NoError(t, err, "an Int64 that fits an i8 converts")
			require.Equal(t, int8(-128), got)
			_, err = rt.Call(context.Background(), "echoI8", int64(128))
			require.ErrorIs(t, err, runtime.ErrAbort)
			var ae *runtime.AbortError
			require.ErrorAs(t, err, &ae)
			require.Contains(t, ae.Message, "overflows i8")
			return "ErrAbort"
		}},
		Case{Name: "rust/abort/invalid-utf8", Run: func(t *testing.T, env *Env) string {
			// A Rust String holds UTF-8 only: a String value that is not
			// UTF-8 (which the format does not validate) stops the Rust
			// guest with a typed abort, in the typed and the generic
			// decoders, rather than passing through as in Go.
			rt := newRust(t, env.Engine, "rust/echo.wasm", nil)
			var msgs []string
			for _, export := range []string{"echoString", "echo"} {
				_, err := rt.Call(context.Background(), export, "ok \xff")
				require.ErrorIs(t, err, runtime.ErrAbort, export)
				var ae *runtime.AbortError
				require.ErrorAs(t, err, &ae)
				require.Contains(t, ae.Message, "not UTF-8", export)
				msgs = append(msgs, ae.Message)
			}
			got, err := callAs[[]byte](rt, "echoBytes", []byte("ok \xff"))
			require.NoError(t, err, "a ByteArray holds any bytes")
			require.Equal(t, []byte("ok \xff"), got)
			return strings.Join(msgs, "|")
		}},
		Case{Name: "rust/link/missing-host-function", Run: func(t *testing.T, env *Env) string {
			_, err := runtime.NewWithEngine(context.Background(), env.Engine, fixtures.MustBytes("rust/hostcalls.wasm"), nil)
			require.ErrorIs(t, err, runtime.ErrLink)
			var le *runtime.LinkError
			require.ErrorAs(t, err, &le)
			require.Equal(t, "index", le.Module)
			return ErrorKind(err)
		}},
		Case{Name: "rust/pool/compiled-once", Run: func(t *testing.T, env *Env) string {
			ctx := context.Background()
			p := pool.New(2)
			defer func() { require.NoError(t, p.Close(ctx)) }()
			for i := 0; i < 3; i++ {
				l, err := p.Runtime(ctx, env.Engine, fixtures.MustBytes("rust/echo.wasm"), nil)
				require.NoError(t, err)
				n, err := runtime.CallAs[int64](ctx, l.Runtime, "counter")
				require.NoError(t, err)
				require.Equal(t, int64(1), n, "lease %d saw state of an earlier lease", i)
				p.PutBack(l)
			}
			require.Equal(t, uint64(1), p.Stats().Compiles)
			return "1"
		}},
		rustGasCase("greet", "rust/echo.wasm", "greet", nil, "world"),
		rustGasCase("add", "rust/echo.wasm", "add", nil, int32(2), int32(3)),
		rustGasCase("echo-nested", "rust/echo.wasm", "echo", nil, nestedValue()),
		rustGasCase("person", "rust/echo.wasm", "person", nil, "Ann", int32(30)),
		rustGasCase("echo-64KiB", "rust/echo.wasm", "echoString", nil, strings.Repeat("x", 64<<10)),
		rustGasCase("abort", "rust/echo.wasm", "fail", runtime.ErrAbort, "no"),
		rustGasCase("host-int64", "rust/hostcalls.wasm", "sum", nil, int64(1), int64(2)),
		rustGasCase("host-call-with-rule", "rust/hostcalls.wasm", "greetHost", nil, "world"),
		rustGasCase("host-error", "rust/hostcalls.wasm", "callFail", runtime.ErrHost, "x"),
	)
}
