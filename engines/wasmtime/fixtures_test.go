//go:build cgo && !wazero && !wasmer

package wasmtime

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// The conformance fixtures wat/raw.wasm and wat/traps.wasm straight through
// the SPI, below the runtime.

func TestFixtureRaw(t *testing.T) {
	e := openEngine(t)
	m := compileBytes(t, e, fixtures.MustBytes("wat/raw.wasm"), engine.CompileConfig{MemoryLimitPages: 4})
	types := map[string]engine.FuncType{}
	for _, x := range m.Exports() {
		types[x.Name] = x.Type
	}
	assert.Equal(t, map[string]engine.FuncType{
		"memory":       {},
		"allocate":     ft(vt(i32), i32),
		"add":          ft(vt(i32, i32), i32),
		"nop":          ft(nil),
		"f64_id":       ft(vt(f64), f64),
		"echo":         ft(vt(i32), i32),
		"loop_forever": ft(nil),
		"grow":         ft(vt(i32), i32),
		"sum_to":       ft(vt(i64), i64),
	}, types)

	in := instantiate(t, m, nil)
	call := func(name string, args ...uint64) []uint64 {
		t.Helper()
		stack := append(args, 0, 0)[:max(len(args), 1)]
		require.NoError(t, fn(t, in, name).Call(bg, stack))
		return stack
	}
	assert.Equal(t, uint64(5), call("add", 2, 3)[0])
	call("nop")
	assert.Equal(t, math.Float64bits(-0.0), call("f64_id", math.Float64bits(-0.0))[0])
	assert.Equal(t, uint64(1234), call("echo", 1234)[0])
	assert.Equal(t, uint64(55), call("sum_to", 10)[0])
	assert.Equal(t, uint64(0), call("sum_to", math.MaxUint64)[0], "n < 1")
	p := call("allocate", 100)[0]
	assert.True(t, in.Memory().Write(uint32(p), make([]byte, 100)))
	assert.Equal(t, uint64(1), call("grow", 3)[0])
	assert.Equal(t, uint64(math.MaxUint32), call("grow", 1)[0], "-1 past the 4-page limit")

	ctx, cancel := context.WithTimeout(bg, 20*time.Millisecond)
	defer cancel()
	var trap *engine.Trap
	require.ErrorAs(t, fn(t, in, "loop_forever").Call(ctx, nil), &trap)
	assert.Equal(t, engine.TrapInterrupted, trap.Code)
}

func TestFixtureTraps(t *testing.T) {
	e := openEngine(t)
	in := instantiate(t, compileBytes(t, e, fixtures.MustBytes("wat/traps.wasm"), engine.CompileConfig{}), nil)
	for name, code := range map[string]engine.TrapCode{
		"unreachable":       engine.TrapUnreachable,
		"div_zero":          engine.TrapIntegerDivideByZero,
		"int_overflow":      engine.TrapIntegerOverflow,
		"oob_load":          engine.TrapOutOfBoundsMemory,
		"bad_conversion":    engine.TrapInvalidConversion,
		"stack_overflow":    engine.TrapStackOverflow,
		"indirect_mismatch": engine.TrapIndirectCallTypeMismatch,
		"table_oob":         engine.TrapOutOfBoundsTable,
	} {
		var trap *engine.Trap
		require.ErrorAs(t, fn(t, in, name).Call(bg, nil), &trap, name)
		assert.Equal(t, code, trap.Code, "%s: %s", name, trap.Message)
	}
}
