package runtime_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/metering"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

// gasTestConfig is the metering of the accounting tests: that of the
// conformance suite's gas cases, so that the figures below are those of
// conformance/testdata/gas.golden where both have the case.
var gasTestConfig = metering.Config{MaxCallDepth: 200, MaxMemoryPages: 40}

// gasRegistry registers every index/test.* function the fixtures import,
// test.hello with rule (it charges hostCharge more through the call's
// Meter when it runs); rules gives other functions theirs.
func gasRegistry(t *testing.T, rule runtime.GasRule, hostCharge uint64, rules map[string]runtime.GasRule) *runtime.HostAPIRegistry {
	t.Helper()
	reg := runtime.NewHostAPIRegistry()
	require.NoError(t, reg.AddAPI("index", "test", "hello", func(ctx context.Context, s string) (string, error) {
		if hostCharge != 0 {
			if err := runtime.MeterFrom(ctx).Charge(hostCharge); err != nil {
				return "", err
			}
		}
		return "greet to " + s, nil
	}, runtime.WithGasRule(rule)))
	for method, fn := range map[string]any{
		"add":     func(a, b int64) int64 { return a + b },
		"concat3": func(a, b, c string) string { return a + b + c },
		"log":     func(s string) {},
		"fail":    func(s string) (string, error) { return "", errors.New(s) },
		"boom":    func() { panic("boom") },
		"whoami":  func() string { return "me" },
		"echo":    func(v any) any { return v },
		"nothing": func() any { return nil },
	} {
		require.NoError(t, reg.AddAPI("index", "test", method, fn, runtime.WithGasRule(rules[method])))
	}
	return reg
}

// meteredRuntime instantiates fixture on eng, metered with gasTestConfig.
func meteredRuntime(t *testing.T, eng, fixture string, reg *runtime.HostAPIRegistry) *runtime.Runtime {
	t.Helper()
	rt, err := runtime.NewWithEngine(context.Background(), eng, fixtures.MustBytes(fixture), reg, runtime.WithMetering(gasTestConfig))
	require.NoError(t, err)
	t.Cleanup(func() { rt.Close(context.Background()) })
	return rt
}

// failureCase is a metered call that fails, and what its meter reports.
type failureCase struct {
	name, fixture, export string
	args                  []any
	limit                 uint64
	rule                  runtime.GasRule // test.hello's
	hostCharge            uint64          // what test.hello charges through its Meter
	timeout               time.Duration   // a deadline for the call, if any
	want                  []error         // the error matches each
	// wantUsed is what the meter reports used after the failure, the same
	// on every engine (wantLeft = limit - wantUsed).
	wantUsed uint64
}

const bigGas = 1_000_000_000

// failureCases covers every kind of failure a metered call can end with.
var failureCases = []failureCase{
	// Out of gas in the guest: the block whose charge does not fit is not
	// spent; what was charged before it is (gas.golden: gas/out-of-gas-exactly).
	{name: "out-of-gas-in-guest", fixture: "as/echo.wasm", export: "greet", args: []any{"world"},
		limit: 500, want: []error{runtime.ErrOutOfGas}, wantUsed: 499},
	// A loop that runs out with nothing left over.
	{name: "out-of-gas-in-guest-loop", fixture: "wat/raw.wasm", export: "loop_forever",
		limit: 1_000_000, want: []error{runtime.ErrOutOfGas}, wantUsed: 1_000_000},
	// Out of gas in a host function's gas rule: the rule's charge does not
	// fit, so none of it is spent (gas.golden: gas/host-rule-out-of-gas).
	{name: "out-of-gas-in-host-rule", fixture: "as/greet.wasm", export: "greet", args: []any{strings.Repeat("y", 1000)},
		limit: 2_000, rule: runtime.GasRule{Fixed: 100, PerByte: 2}, want: []error{runtime.ErrOutOfGas}, wantUsed: 48},
	// Out of gas in Meter.Charge, returned by the host function: the same.
	{name: "out-of-gas-in-host-charge", fixture: "as/greet.wasm", export: "greet", args: []any{"world"},
		limit: bigGas, hostCharge: 2 * bigGas, want: []error{runtime.ErrHost, runtime.ErrOutOfGas}, wantUsed: 48},
	// The guest nests calls past the metering's limit.
	{name: "call-depth", fixture: "wat/traps.wasm", export: "stack_overflow",
		limit: bigGas, want: []error{runtime.ErrCallDepth}, wantUsed: 1397},
	// A trap: billed the whole budget (gas.golden: gas/trap-billed-whole-budget).
	{name: "trap", fixture: "wat/traps.wasm", export: "div_zero",
		limit: 5_000, want: []error{runtime.ErrTrap}, wantUsed: 5_000},
	// Interrupted by its deadline: billed the whole budget.
	{name: "interrupted", fixture: "wat/raw.wasm", export: "loop_forever",
		limit: 1 << 50, timeout: 20 * time.Millisecond, want: []error{runtime.ErrInterrupted, context.DeadlineExceeded}, wantUsed: 1 << 50},
	// A host function's error (gas.golden: gas/host-error).
	{name: "host-error", fixture: "as/hostcalls.wasm", export: "callFail", args: []any{"x"},
		limit: bigGas, want: []error{runtime.ErrHost}, wantUsed: 441},
	// A host function's panic.
	{name: "host-panic", fixture: "as/hostcalls.wasm", export: "callBoom",
		limit: bigGas, want: []error{runtime.ErrHost, runtime.ErrHostPanic}, wantUsed: 9},
	// The guest aborts (gas.golden: gas/abort).
	{name: "abort", fixture: "as/echo.wasm", export: "fail", args: []any{"no"},
		limit: bigGas, want: []error{runtime.ErrAbort}, wantUsed: 329},
	// ABI errors: a host function's argument out of bounds, a result
	// pointer out of bounds, a result that does not decode.
	{name: "abi-host-argument", fixture: "wat/bad_host_args.wasm", export: "oob_arg",
		limit: bigGas, rule: runtime.GasRule{Fixed: 100}, want: []error{runtime.ErrABI}, wantUsed: 3},
	{name: "abi-result-pointer", fixture: "wat/hostile.wasm", export: "ptr_oob",
		limit: bigGas, want: []error{runtime.ErrABI}, wantUsed: 2},
	{name: "abi-result-value", fixture: "wat/hostile.wasm", export: "tag_unknown",
		limit: bigGas, want: []error{runtime.ErrABI}, wantUsed: 164},
}

// run makes c's call on eng with m and returns its error.
func (c failureCase) run(t *testing.T, eng string, m *runtime.Meter) error {
	t.Helper()
	rt := meteredRuntime(t, eng, c.fixture, gasRegistry(t, c.rule, c.hostCharge, nil))
	ctx := runtime.WithMeter(context.Background(), m)
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	_, err := rt.Call(ctx, c.export, c.args...)
	require.Error(t, err)
	for _, want := range c.want {
		require.ErrorIs(t, err, want)
	}
	return err
}

// TestLeftAfterFailure pins what Meter reports after each kind of failure,
// on every engine: a failure at a point the code and the budget determine
// (out of gas, call depth, a host function's error or panic, an abort, an
// ABI error) bills the gas charged before it — the charge that did not fit
// is not spent —, a trap or an interruption bills the whole budget. A
// GasError reports the same figures as the meter.
func TestLeftAfterFailure(t *testing.T) {
	for _, eng := range runtime.Engines() {
		for _, c := range failureCases {
			t.Run(eng+"/"+c.name, func(t *testing.T) {
				m := runtime.NewMeter(c.limit)
				err := c.run(t, eng, m)
				assert.Equal(t, c.wantUsed, m.Used(), "used")
				assert.Equal(t, c.limit-c.wantUsed, m.Left(), "left")
				var ge *runtime.GasError
				if errors.As(err, &ge) {
					assert.Equal(t, m.Used(), ge.Used)
					assert.Equal(t, m.Left(), ge.Left)
				}
			})
		}
	}
}

// TestConsumeAllOnFailure: with WithConsumeAllOnFailure every failed call
// is billed its whole budget, whatever the failure, on every engine; a
// successful call is billed as without it, and an error caught before the
// guest runs costs nothing.
func TestConsumeAllOnFailure(t *testing.T) {
	for _, eng := range runtime.Engines() {
		for _, c := range failureCases {
			t.Run(eng+"/"+c.name, func(t *testing.T) {
				m := runtime.NewMeter(c.limit, runtime.WithConsumeAllOnFailure())
				err := c.run(t, eng, m)
				assert.Equal(t, c.limit, m.Used(), "used")
				assert.Zero(t, m.Left(), "left")
				var ge *runtime.GasError
				if errors.As(err, &ge) {
					assert.Equal(t, c.limit, ge.Used)
					assert.Zero(t, ge.Left)
				}
			})
		}
		t.Run(eng+"/success-and-early-errors", func(t *testing.T) {
			ctx := context.Background()
			rt := meteredRuntime(t, eng, "as/echo.wasm", nil)
			m := runtime.NewMeter(10_000, runtime.WithConsumeAllOnFailure())
			mctx := runtime.WithMeter(ctx, m)
			_, err := rt.Call(mctx, "greet", "world")
			require.NoError(t, err)
			require.Equal(t, uint64(1143), m.Used(), "gas.golden: gas/greet")
			_, err = rt.Call(mctx, "no_such_export")
			require.ErrorIs(t, err, runtime.ErrMissingExport)
			_, err = rt.Call(mctx, "greet", "a", "b")
			require.ErrorIs(t, err, runtime.ErrArgCount)
			require.Equal(t, uint64(1143), m.Used(), "errors before the guest runs cost nothing")
			// The result decodes, but not into the caller's type: a failed
			// call all the same.
			_, err = runtime.CallAs[int32](mctx, rt, "greet", "world")
			require.Error(t, err)
			require.Zero(t, m.Left())
		})
	}
}

// TestGasRuleByteBasis: GasRule.PerByte counts each argument's whole
// encoding (its 6-byte header included) by default and its payload with
// PayloadBytes, for one argument or several, scalar, string or nested, on
// every engine. The figures are the differences between a call with the
// per-byte rule and the same call with the fixed part only.
func TestGasRuleByteBasis(t *testing.T) {
	str25 := strings.Repeat("s", 25)
	nested := []any{"ab", int32(1)} // List: count 4 + String 6+2 + Int32 6+4
	cases := []struct {
		name, fixture, export, fn string
		args                      []any
		encoded, payload          uint64
	}{
		{"string-25", "as/greet.wasm", "greet", "hello", []any{str25}, 31, 25},
		{"three-strings", "as/hostcalls.wasm", "join3", "concat3", []any{"ab", "cde", ""}, 23, 5},
		{"two-int64", "as/hostcalls.wasm", "sum", "add", []any{int64(1), int64(2)}, 28, 16},
		{"nested-list", "as/hostcalls.wasm", "roundTrip", "echo", []any{nested}, 28, 22},
	}
	for _, eng := range runtime.Engines() {
		for _, c := range cases {
			t.Run(eng+"/"+c.name, func(t *testing.T) {
				used := func(rule runtime.GasRule) uint64 {
					t.Helper()
					rules := map[string]runtime.GasRule{c.fn: rule}
					rt := meteredRuntime(t, eng, c.fixture, gasRegistry(t, rules["hello"], 0, rules))
					m := runtime.NewMeter(bigGas)
					_, err := rt.Call(runtime.WithMeter(context.Background(), m), c.export, c.args...)
					require.NoError(t, err)
					return m.Used()
				}
				base := used(runtime.GasRule{Fixed: 1})
				assert.Equal(t, c.encoded, used(runtime.GasRule{Fixed: 1, PerByte: 1})-base, "encoded (default)")
				assert.Equal(t, c.encoded, used(runtime.GasRule{Fixed: 1, PerByte: 1, Bytes: runtime.EncodedBytes})-base, "encoded")
				assert.Equal(t, 3*c.payload, used(runtime.GasRule{Fixed: 1, PerByte: 3, Bytes: runtime.PayloadBytes})-base, "payload")
			})
		}
		t.Run(eng+"/payload-boundary", func(t *testing.T) {
			// gas.golden's gas/host-rule-out-of-gas with the payload basis:
			// 100 + 2×1000 does not fit in 2,000 either, and is not spent.
			// The call needs 12 gas less than with the encoded basis, and
			// exactly that is enough.
			arg := strings.Repeat("y", 1000)
			call := func(basis runtime.ByteBasis, limit uint64) (*runtime.Meter, error) {
				t.Helper()
				rule := runtime.GasRule{Fixed: 100, PerByte: 2, Bytes: basis}
				rt := meteredRuntime(t, eng, "as/greet.wasm", gasRegistry(t, rule, 0, nil))
				m := runtime.NewMeter(limit)
				_, err := rt.Call(runtime.WithMeter(context.Background(), m), "greet", arg)
				return m, err
			}
			m, err := call(runtime.PayloadBytes, 2_000)
			require.ErrorIs(t, err, runtime.ErrOutOfGas)
			require.Equal(t, uint64(48), m.Used())
			m, err = call(runtime.EncodedBytes, bigGas)
			require.NoError(t, err)
			encoded := m.Used()
			m, err = call(runtime.PayloadBytes, bigGas)
			require.NoError(t, err)
			need := m.Used()
			require.Equal(t, encoded-12, need)
			_, err = call(runtime.PayloadBytes, need)
			require.NoError(t, err)
			_, err = call(runtime.PayloadBytes, need-1)
			require.ErrorIs(t, err, runtime.ErrOutOfGas)
		})
	}
}

// TestGasRatio: with WithGasRatio the limit is in node units, the guest's
// budget is limit×ratio, node used rounds up and node left down (their sum
// is the node limit), on every engine; a limit past math.MaxInt64 guest gas
// is lowered to fit.
func TestGasRatio(t *testing.T) {
	for _, eng := range runtime.Engines() {
		t.Run(eng, func(t *testing.T) {
			ctx := context.Background()
			rt := meteredRuntime(t, eng, "as/echo.wasm", nil)
			m := runtime.NewMeter(5, runtime.WithGasRatio(1000))
			require.Equal(t, uint64(1000), m.Ratio())
			require.Equal(t, uint64(5000), m.Limit())
			require.Equal(t, uint64(5), m.NodeLimit())
			require.Zero(t, m.NodeUsed())
			require.Equal(t, uint64(5), m.NodeLeft())

			mctx := runtime.WithMeter(ctx, m)
			_, err := rt.Call(mctx, "greet", "world")
			require.NoError(t, err)
			require.Equal(t, uint64(1143), m.Used(), "guest gas as without a ratio (gas.golden: gas/greet)")
			require.Equal(t, uint64(2), m.NodeUsed(), "⌈1143/1000⌉")
			require.Equal(t, uint64(3), m.NodeLeft(), "⌊3857/1000⌋")

			require.NoError(t, m.Charge(857)) // 2000 used: exact
			require.Equal(t, uint64(2), m.NodeUsed())
			require.Equal(t, uint64(3), m.NodeLeft())
			require.NoError(t, m.Charge(1)) // 2001 used
			require.Equal(t, uint64(3), m.NodeUsed())
			require.Equal(t, uint64(2), m.NodeLeft())

			// The guest runs out of the converted budget: 1 node unit is
			// 1000 gas, less than greet needs.
			small := runtime.NewMeter(1, runtime.WithGasRatio(1000))
			_, err = rt.Call(runtime.WithMeter(ctx, small), "greet", "world")
			require.ErrorIs(t, err, runtime.ErrOutOfGas)
			var ge *runtime.GasError
			require.ErrorAs(t, err, &ge)
			require.Equal(t, uint64(1000), ge.Used+ge.Left)
			require.Equal(t, uint64(1), small.NodeUsed(), "any gas used rounds up to a node unit")
			require.Zero(t, small.NodeLeft())

			// With WithConsumeAllOnFailure a failure bills the node limit.
			all := runtime.NewMeter(7, runtime.WithGasRatio(1000), runtime.WithConsumeAllOnFailure())
			_, err = rt.Call(runtime.WithMeter(ctx, all), "fail", "no")
			require.ErrorIs(t, err, runtime.ErrAbort)
			require.Equal(t, uint64(7), all.NodeUsed())
			require.Zero(t, all.NodeLeft())
		})
	}
}

// TestMeterLimits: ratios 0 and 1 convert nothing; a limit whose guest
// budget exceeds math.MaxInt64 gas is lowered to the largest that fits,
// so that nothing counts as used before a call.
func TestMeterLimits(t *testing.T) {
	for _, opts := range [][]runtime.MeterOption{nil, {runtime.WithGasRatio(0)}, {runtime.WithGasRatio(1)}} {
		m := runtime.NewMeter(1234, opts...)
		assert.Equal(t, uint64(1), m.Ratio())
		assert.Equal(t, uint64(1234), m.Limit())
		assert.Equal(t, uint64(1234), m.NodeLimit())
		require.NoError(t, m.Charge(34))
		assert.Equal(t, uint64(34), m.NodeUsed())
		assert.Equal(t, uint64(1200), m.NodeLeft())
	}
	m := runtime.NewMeter(math.MaxUint64)
	assert.Equal(t, uint64(math.MaxInt64), m.Limit())
	assert.Equal(t, uint64(math.MaxInt64), m.Left())
	assert.Zero(t, m.Used())

	m = runtime.NewMeter(math.MaxUint64, runtime.WithGasRatio(1000))
	assert.Equal(t, uint64(math.MaxInt64/1000), m.NodeLimit())
	assert.Equal(t, uint64(math.MaxInt64/1000*1000), m.Limit())
	assert.Zero(t, m.Used())
	assert.Zero(t, m.NodeUsed())
	assert.Equal(t, m.NodeLimit(), m.NodeLeft())

	m = runtime.NewMeter(3, runtime.WithGasRatio(math.MaxUint64))
	assert.Zero(t, m.NodeLimit(), "not even one node unit fits in math.MaxInt64 gas")
	assert.Zero(t, m.Limit())
}
