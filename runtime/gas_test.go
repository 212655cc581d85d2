package runtime_test

import (
	"context"
	"errors"
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

// gasRegistry registers every index/test.* function the fixtures import;
// test.hello costs rule (and, with hostCharge, charges that much more
// through the call's Meter before it runs).
func gasRegistry(t *testing.T, rule runtime.GasRule, hostCharge uint64) *runtime.HostAPIRegistry {
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
		require.NoError(t, reg.AddAPI("index", "test", method, fn))
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
	rt := meteredRuntime(t, eng, c.fixture, gasRegistry(t, c.rule, c.hostCharge))
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
