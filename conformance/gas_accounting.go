package conformance

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/runtime"
)

// accountingCase is gasCase with a gas rule of its own on test.hello (the
// rest of meteredRegistry as is) and options on the meter: the accounting
// options of runtime.GasRule and runtime.Meter, each checked against the
// golden table on every engine. With a gas ratio the golden value carries
// the node figures too.
func accountingCase(name, fixture, export string, limit uint64, hello runtime.GasRule, opts []runtime.MeterOption, wantErr error, args ...any) Case {
	return Case{Name: "gas/" + name, Run: func(t *testing.T, env *Env) string {
		ctx := context.Background()
		rt, err := runtime.NewWithEngine(ctx, env.Engine, mustFixture(fixture), env.meteredRegistryRule(t, hello), runtime.WithMetering(meteringConfig))
		require.NoError(t, err)
		defer rt.Close(ctx)
		m := runtime.NewMeter(limit, opts...)
		_, err = rt.Call(runtime.WithMeter(ctx, m), export, args...)
		if wantErr == nil {
			require.NoError(t, err)
		} else {
			require.ErrorIs(t, err, wantErr)
		}
		require.Equal(t, m.Limit(), m.Used()+m.Left())
		require.Equal(t, m.NodeLimit(), m.NodeUsed()+m.NodeLeft())
		var ge *runtime.GasError
		if errors.As(err, &ge) {
			require.Equal(t, m.Used(), ge.Used)
			require.Equal(t, m.Left(), ge.Left)
		}
		kind := strings.ReplaceAll(ErrorKind(err), " ", "_")
		golden := strconv.FormatUint(m.Used(), 10) + "/" + kind
		if m.Ratio() != 1 {
			golden += sprintf(",node=%d/%d", m.NodeUsed(), m.NodeLimit())
		}
		checkGolden(t, "gas/"+name, golden)
		return "used=" + golden
	}}
}

// gasAccountingCases are the accounting options (issue 15) on the cases of
// gasCases they vary: the per-byte basis of a gas rule, a meter that
// consumes everything on failure, a ratio between the node's gas unit and
// the guest's.
func gasAccountingCases() []Case {
	const big = 1_000_000_000
	encoded := runtime.GasRule{Fixed: 100, PerByte: 2} // meteredRegistry's
	payload := runtime.GasRule{Fixed: 100, PerByte: 2, Bytes: runtime.PayloadBytes}
	all := []runtime.MeterOption{runtime.WithConsumeAllOnFailure()}
	ratio := []runtime.MeterOption{runtime.WithGasRatio(1000)}
	return []Case{
		// host-call-with-rule with the payload basis: "world" counts 5
		// bytes instead of 11, 12 gas less.
		accountingCase("host-rule-payload", "as/greet.wasm", "greet", big, payload, nil, nil, "world"),
		accountingCase("host-rule-payload-out-of-gas", "as/greet.wasm", "greet", 2_000, payload, nil, runtime.ErrOutOfGas, strings.Repeat("y", 1000)),
		// Failures that keep what was not charged, and with
		// WithConsumeAllOnFailure bill the whole budget.
		accountingCase("consume-all/host-rule-out-of-gas", "as/greet.wasm", "greet", 2_000, encoded, all, runtime.ErrOutOfGas, strings.Repeat("y", 1000)),
		accountingCase("consume-all/out-of-gas-exactly", "as/echo.wasm", "greet", 500, encoded, all, runtime.ErrOutOfGas, "world"),
		accountingCase("consume-all/host-error", "as/hostcalls.wasm", "callFail", big, encoded, all, runtime.ErrHost, "x"),
		accountingCase("consume-all/abort", "as/echo.wasm", "fail", big, encoded, all, runtime.ErrAbort, "no"),
		accountingCase("consume-all/success", "as/greet.wasm", "greet", big, encoded, all, nil, "world"),
		// A ratio of 1000: the limit in node units, node used rounded up.
		accountingCase("node-ratio/greet", "as/echo.wasm", "greet", 5, encoded, ratio, nil, "world"),
		accountingCase("node-ratio/out-of-gas", "as/echo.wasm", "greet", 1, encoded, ratio, runtime.ErrOutOfGas, "world"),
		accountingCase("node-ratio/consume-all-trap", "wat/traps.wasm", "div_zero", 5, encoded, append(ratio, all...), runtime.ErrTrap),
	}
}
