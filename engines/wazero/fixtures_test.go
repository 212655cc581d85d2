package wazero_test

import (
	"context"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

func compileFixture(t *testing.T, e engine.Engine, path string, cfg engine.CompileConfig) engine.Module {
	t.Helper()
	m, err := e.Compile(context.Background(), fixtures.MustBytes(path), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, m.Close(context.Background())) })
	return m
}

// TestFixtureTraps maps the traps of the conformance fixture.
func TestFixtureTraps(t *testing.T) {
	e := openEngine(t)
	inst := instantiate(t, compileFixture(t, e, "wat/traps.wasm", engine.CompileConfig{}), nil)
	for export, code := range map[string]engine.TrapCode{
		"unreachable":       engine.TrapUnreachable,
		"div_zero":          engine.TrapIntegerDivideByZero,
		"int_overflow":      engine.TrapIntegerOverflow,
		"oob_load":          engine.TrapOutOfBoundsMemory,
		"bad_conversion":    engine.TrapInvalidConversion,
		"stack_overflow":    engine.TrapStackOverflow,
		"indirect_mismatch": engine.TrapIndirectCallTypeMismatch,
		"table_oob":         engine.TrapOutOfBoundsTable,
	} {
		t.Run(export, func(t *testing.T) {
			_, err := call(t, inst, export)
			var trap *engine.Trap
			require.ErrorAs(t, err, &trap)
			assert.Equal(t, code, trap.Code, "message: %s", trap.Message)
		})
	}
}

// TestFixtureRaw calls the raw conformance fixture, with a memory limit.
func TestFixtureRaw(t *testing.T) {
	e := openEngine(t)
	inst := instantiate(t, compileFixture(t, e, "wat/raw.wasm", engine.CompileConfig{MemoryLimitPages: 3}), nil)
	res, err := call(t, inst, "add", 40, 2)
	require.NoError(t, err)
	assert.Equal(t, []uint64{42}, res)
	res, err = call(t, inst, "f64_id", math.Float64bits(math.Pi))
	require.NoError(t, err)
	assert.Equal(t, []uint64{math.Float64bits(math.Pi)}, res)
	res, err = call(t, inst, "grow", 2)
	require.NoError(t, err)
	assert.Equal(t, []uint64{1}, res)
	res, err = call(t, inst, "grow", 1)
	require.NoError(t, err)
	assert.Equal(t, []uint64{math.MaxUint32}, res)
}
