package conformance

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/metering"
	"github.com/aspect-rt/aspect-runtime/runtime"
	"github.com/aspect-rt/aspect-runtime/wasi"
)

// meteringConfig is the configuration of every gas case: default costs, a
// call-depth limit of 200 and a memory cap of 40 pages.
var meteringConfig = metering.Config{MaxCallDepth: 200, MaxMemoryPages: 40}

// goMeteringConfig is the metering of the Go guest fixture: default costs
// and call-depth limit, no memory cap (the Go runtime's heap grows in 4 MiB
// steps).
var goMeteringConfig = metering.Config{}

// goWASI is a deterministic WASI configuration for metered Go guests: the
// Go runtime reads the clock and random bytes (map seeds) during start-up
// and calls, so both are fixed for the gas to be reproducible. A fresh
// Config per instance gives every instance the same random bytes.
func goWASI() wasi.Config {
	return wasi.Config{
		Clock:  wasi.NewFakeClock(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)),
		Random: rand.NewChaCha8([32]byte{}),
	}
}

// gasGolden is the committed table of expected gas per case. Regenerate it
// with ASPECT_UPDATE_GAS_GOLDEN=1 go test ./conformance (every engine must
// then agree, which the cross-engine test checks).
//
//go:embed testdata/gas.golden
var gasGoldenText string

var gasGolden = &goldenTable{file: "gas.golden", text: gasGoldenText,
	header: "# Gas used per conformance case, identical on every engine (see conformance/gas.go)."}

// checkGolden compares a case's gas outcome with the committed table, or
// records it when updating.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	if os.Getenv("ASPECT_UPDATE_GAS_GOLDEN") == "1" {
		gasGolden.record(t, name, got)
		return
	}
	want, ok := gasGolden.entries()[name]
	require.True(t, ok, "case %s has no golden gas value: run with ASPECT_UPDATE_GAS_GOLDEN=1", name)
	require.Equal(t, want, got, "gas of %s differs from the golden table", name)
}

// gasCase calls export on a metered instance of fixture with a fresh meter
// of limit gas, asserts the error kind, and checks the gas used against the
// golden table.
func gasCase(name, fixture, export string, limit uint64, wantErr error, args ...any) Case {
	return Case{Name: "gas/" + name, Run: func(t *testing.T, env *Env) string {
		ctx := context.Background()
		var reg *runtime.HostAPIRegistry
		if fixture == "as/hostcalls.wasm" || fixture == "as/greet.wasm" {
			reg = env.meteredRegistry(t)
		}
		rt, err := runtime.NewWithEngine(ctx, env.Engine, mustFixture(fixture), reg, runtime.WithMetering(meteringConfig))
		require.NoError(t, err)
		defer rt.Close(ctx)
		m := runtime.NewMeter(limit)
		_, err = rt.Call(runtime.WithMeter(ctx, m), export, args...)
		if wantErr == nil {
			require.NoError(t, err)
		} else {
			require.ErrorIs(t, err, wantErr)
		}
		require.Equal(t, limit, m.Used()+m.Left())
		out := fmt.Sprintf("used=%d %s", m.Used(), ErrorKind(err))
		var ge *runtime.GasError
		if errors.As(err, &ge) {
			require.Equal(t, m.Used(), ge.Used)
			require.Equal(t, m.Left(), ge.Left)
		}
		checkGolden(t, "gas/"+name, strconv.FormatUint(m.Used(), 10)+"/"+strings.ReplaceAll(ErrorKind(err), " ", "_"))
		return out
	}}
}

// meteredRegistry is Registry with gas rules on two host functions.
func (e *Env) meteredRegistry(t *testing.T) *runtime.HostAPIRegistry {
	return e.meteredRegistryRule(t, runtime.GasRule{Fixed: 100, PerByte: 2})
}

// meteredRegistryRule is meteredRegistry with hello's gas rule.
func (e *Env) meteredRegistryRule(t *testing.T, hello runtime.GasRule) *runtime.HostAPIRegistry {
	reg := runtime.NewHostAPIRegistry()
	require.NoError(t, reg.AddAPI("index", "test", "hello", func(ctx context.Context, s string) (string, error) {
		// Host code can charge the call's gas through its context.
		if m := runtime.MeterFrom(ctx); m != nil {
			if err := m.Charge(7); err != nil {
				return "", err
			}
		}
		return "greet to " + s, nil
	}, runtime.WithGasRule(hello)))
	require.NoError(t, reg.AddAPI("index", "test", "add", func(a, b int64) int64 { return a + b },
		runtime.WithGasRule(runtime.GasRule{Fixed: 50})))
	for method, fn := range map[string]any{
		"concat3": func(a, b, c string) string { return a + b + c },
		"log":     func(s string) {},
		"fail":    func(s string) (string, error) { return "", errors.New(s) },
		"boom":    func() { panic("boom") },
		"whoami":  func() string { return "me" },
		"echo":    func(v any) any { return v },
		"nothing": func() any { return nil },
	} {
		require.NoError(t, reg.AddAPI("index", "test", method, fn))
	}
	return reg
}

func gasCases() []Case {
	const big = 1_000_000_000
	return append([]Case{
		gasCase("greet", "as/echo.wasm", "greet", big, nil, "world"),
		gasCase("add", "as/echo.wasm", "add", big, nil, int32(2), int32(3)),
		gasCase("echo-nested", "as/echo.wasm", "echo", big, nil, nestedValue()),
		gasCase("person", "as/echo.wasm", "person", big, nil, "Ann", int32(30)),
		gasCase("echo-64KiB", "as/echo.wasm", "echoString", big, nil, strings.Repeat("x", 64<<10)),
		gasCase("abort", "as/echo.wasm", "fail", big, runtime.ErrAbort, "no"),
		gasCase("host-call-with-rule", "as/greet.wasm", "greet", big, nil, "world"),
		gasCase("host-int64", "as/hostcalls.wasm", "sum", big, nil, int64(1), int64(2)),
		gasCase("host-error", "as/hostcalls.wasm", "callFail", big, runtime.ErrHost, "x"),
		gasCase("host-rule-out-of-gas", "as/greet.wasm", "greet", 2_000, runtime.ErrOutOfGas, strings.Repeat("y", 1000)),
		gasCase("trap-billed-whole-budget", "wat/traps.wasm", "div_zero", 5_000, runtime.ErrTrap),
		gasCase("infinite-loop", "wat/raw.wasm", "loop_forever", 1_000_000, runtime.ErrOutOfGas),
		gasCase("out-of-gas-exactly", "as/echo.wasm", "greet", 500, runtime.ErrOutOfGas, "world"),
		gasCase("deep-recursion", "wat/traps.wasm", "stack_overflow", big, runtime.ErrCallDepth),
		gasCase("memory-growth", "wat/grow.wasm", "grow_until_fail", big, nil),
		{Name: "gas/memory-growth-stops-at-cap", Run: func(t *testing.T, env *Env) string {
			ctx := context.Background()
			rt, err := runtime.NewWithEngine(ctx, env.Engine, mustFixture("wat/grow.wasm"), nil, runtime.WithMetering(meteringConfig))
			require.NoError(t, err)
			defer rt.Close(ctx)
			pages, err := runtime.CallAs[int32](ctx, rt, "grow_until_fail")
			require.NoError(t, err)
			require.Equal(t, int32(meteringConfig.MaxMemoryPages), pages)
			return strconv.Itoa(int(pages))
		}},
		{Name: "gas/exact-budget-boundary", Run: func(t *testing.T, env *Env) string {
			ctx := context.Background()
			rt, err := runtime.NewWithEngine(ctx, env.Engine, mustFixture("as/echo.wasm"), nil, runtime.WithMetering(meteringConfig))
			require.NoError(t, err)
			defer rt.Close(ctx)
			m := runtime.NewMeter(1_000_000)
			_, err = rt.Call(runtime.WithMeter(ctx, m), "add", int32(1), int32(2))
			require.NoError(t, err)
			need := m.Used()
			// Exactly the gas the call needs is enough; one less is not.
			_, err = rt.Call(runtime.WithMeter(ctx, runtime.NewMeter(need)), "add", int32(1), int32(2))
			require.NoError(t, err)
			_, err = rt.Call(runtime.WithMeter(ctx, runtime.NewMeter(need-1)), "add", int32(1), int32(2))
			require.ErrorIs(t, err, runtime.ErrOutOfGas)
			return strconv.FormatUint(need, 10)
		}},
		{Name: "gas/meter-spans-calls", Run: func(t *testing.T, env *Env) string {
			ctx := context.Background()
			rt, err := runtime.NewWithEngine(ctx, env.Engine, mustFixture("as/echo.wasm"), nil, runtime.WithMetering(meteringConfig))
			require.NoError(t, err)
			defer rt.Close(ctx)
			m := runtime.NewMeter(1_000_000)
			mctx := runtime.WithMeter(ctx, m)
			_, err = rt.Call(mctx, "answer")
			require.NoError(t, err)
			one := m.Used()
			_, err = rt.Call(mctx, "answer")
			require.NoError(t, err)
			require.Equal(t, 2*one, m.Used(), "a meter accumulates across calls")
			// Without a meter a metered module still runs.
			v, err := rt.Call(ctx, "answer")
			require.NoError(t, err)
			require.Equal(t, int32(42), v)
			return strconv.FormatUint(one, 10)
		}},
		{Name: "gas/go-guest-greet", Run: func(t *testing.T, env *Env) string {
			// A real multi-megabyte module (the Go guest, ~3 MB, with WASI),
			// instrumented and run metered: the same gas on every engine,
			// and exactly that gas is enough, one less is not. Each call is
			// made on a fresh instance, so that they start from the same
			// state.
			ctx := context.Background()
			mod := compiledGoVariant(t, env.Engine, "go/echo.wasm", "metered")
			greet := func(limit uint64) (*runtime.Meter, error) {
				t.Helper()
				rt, err := mod.Instantiate(ctx, nil, runtime.WithWASI(goWASI()))
				require.NoError(t, err)
				defer func() { require.NoError(t, rt.Close(ctx)) }()
				m := runtime.NewMeter(limit)
				out, err := rt.Call(runtime.WithMeter(ctx, m), "greet", "world")
				if err == nil {
					require.Equal(t, "hello, world", out)
				}
				return m, err
			}
			m, err := greet(1_000_000_000)
			require.NoError(t, err)
			need := m.Used()
			require.Positive(t, need)
			m, err = greet(need)
			require.NoError(t, err, "exactly the gas the call used is enough")
			require.Equal(t, need, m.Used())
			require.Zero(t, m.Left())
			m, err = greet(need - 1)
			require.ErrorIs(t, err, runtime.ErrOutOfGas, "one less is not")
			var ge *runtime.GasError
			require.ErrorAs(t, err, &ge)
			require.Equal(t, "greet", ge.Func)
			require.Equal(t, need-1, ge.Used+ge.Left)
			out := sprintf("%d/ok,%d/%s", need, ge.Used, ErrorKind(err))
			checkGolden(t, "gas/go-guest-greet", out)
			return out
		}},
		{Name: "gas/unsupported-feature-rejected", Run: func(t *testing.T, env *Env) string {
			// A module the instrumenter rejects fails at compile with both
			// ErrCompile and the metering error.
			_, err := runtime.NewWithEngine(context.Background(), env.Engine, []byte("\x00asm\x01\x00\x00\x00\x01"), nil, runtime.WithMetering(meteringConfig))
			require.ErrorIs(t, err, runtime.ErrCompile)
			require.ErrorIs(t, err, metering.ErrMalformed)
			return ErrorKind(err)
		}},
	}, gasAccountingCases()...)
}
