package metering

import (
	"bytes"
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"
)

func TestStackSlotsFormula(t *testing.T) {
	w := &wmod{}
	// 2 params + 5 locals; operand stack of at most 3; 5 value-computing
	// instructions (3 constants, 2 adds): 2 + 5 + 3 + ceil(5/8) = 11.
	w.fn(w.typ([]byte{i32, i64}, nil), locals(3, i32, 2, i64),
		i32c(1), i32c(2), i32c(3), op(0x6a), op(0x6a), drop)
	// No params or locals; 9 constants dropped one by one: height 1,
	// ceil(9/8) = 2.
	var nine [][]byte
	for k := 0; k < 9; k++ {
		nine = append(nine, i32c(int32(k)), drop)
	}
	w.fn(w.typ(nil, nil), nil, nine...)
	// local.get, local.tee, call, drop and control instructions compute
	// nothing. Height 2 for the call's arguments, 2 in the block: 2 + 2.
	w.fn(w.typ([]byte{i32, i64}, nil), nil,
		lget(0), lget(1), call(0),
		block(i32), lget(0), lget(0), ltee(0), drop, end, drop)
	// Unreachable code counts: 4 constants after unreachable.
	w.fn(w.typ(nil, nil), nil, unr, i32c(1), i32c(2), op(0x6a), drop, i64c(1), i64c(2), drop, drop)
	// Empty body: 0.
	w.fn(w.typ(nil, nil), nil)
	for _, cfg := range []Config{{}, {LimitsOnly: true}, {YieldInterval: 100}} {
		res := instrument(t, w.bytes(), cfg)
		var got []uint64
		for _, f := range res.Functions {
			got = append(got, f.StackSlots)
		}
		assert.Equal(t, []uint64{11, 3, 4 + 0, 0 + 2 + 1, 0}, got, "%+v", cfg)
	}
}

// limited is an instantiated module instrumented with Config.LimitsOnly
// (or metered: then with unlimited gas).
type limited struct {
	mod   api.Module
	depth api.MutableGlobal
	gas   api.MutableGlobal // nil with LimitsOnly
	ctx   *env
}

func (e *env) limited(t testing.TB, res *Result) *limited {
	mod := e.instantiate(t, res.Module)
	l := &limited{mod: mod, depth: mod.ExportedGlobal(CallDepthExport).(api.MutableGlobal), ctx: e}
	if g := mod.ExportedGlobal(GasCounterExport); g != nil {
		l.gas = g.(api.MutableGlobal)
	}
	return l
}

func (l *limited) call(name string, args ...uint64) ([]uint64, error) {
	l.depth.Set(0)
	if l.gas != nil {
		l.gas.Set(math.MaxInt64)
	}
	return l.mod.ExportedFunction(name).Call(l.ctx.ctx, args...)
}

func TestStackSlotLimit(t *testing.T) {
	// recModule's functions cost 4 slots per activation (see
	// TestCallDepthLimit): 25 slots allow 6 activations, rec(5).
	for _, limitsOnly := range []bool{false, true} {
		res := instrument(t, recModule(), Config{MaxStackSlots: 25, LimitsOnly: limitsOnly})
		assert.Equal(t, uint32(25), res.MaxStackSlots)
		for _, f := range res.Functions {
			require.Equal(t, uint64(4), f.StackSlots)
		}
		l := newEnv(t).limited(t, res)
		for _, name := range []string{"rec", "recret", "recbr"} {
			out, err := l.call(name, 5)
			require.NoError(t, err, "%s limitsOnly=%v", name, limitsOnly)
			assert.Equal(t, []uint64{5}, out)
			assert.Zero(t, l.depth.Get(), "%s: released on every exit", name)
			_, err = l.call(name, 6)
			require.ErrorIs(t, err, errDepthLimit, name)
			// The 7th activation was refused: 6 counted, 24 slots.
			assert.Equal(t, uint64(6)<<32|24, l.depth.Get(), name)
			_, err = l.call(name, 1<<40)
			require.ErrorIs(t, err, errDepthLimit, name)
		}
	}
	// Whichever limit comes first applies.
	l := newEnv(t).limited(t, instrument(t, recModule(), Config{MaxStackSlots: 25, MaxCallDepth: 3}))
	_, err := l.call("rec", 2)
	require.NoError(t, err)
	_, err = l.call("rec", 3)
	require.ErrorIs(t, err, errDepthLimit)
	assert.Equal(t, uint64(3)<<32|12, l.depth.Get())
	// A frame larger than the limit never runs.
	l = newEnv(t).limited(t, instrument(t, recModule(), Config{MaxStackSlots: 3}))
	_, err = l.call("rec", 0)
	require.ErrorIs(t, err, errDepthLimit)
	// The largest limits.
	l = newEnv(t).limited(t, instrument(t, recModule(), Config{MaxStackSlots: math.MaxInt32, MaxCallDepth: math.MaxInt32}))
	out, err := l.call("rec", 5000)
	require.NoError(t, err)
	assert.Equal(t, []uint64{5000}, out)
}

func TestStackSlotLimitKeepsGas(t *testing.T) {
	// The check costs no gas: the same calls use the same gas with and
	// without a tight slot limit, and with the default one.
	tight := newEnv(t).metered(t, instrument(t, recModule(), Config{MaxStackSlots: 400}))
	loose := newEnv(t).metered(t, instrument(t, recModule(), Config{}))
	for _, n := range []uint64{0, 1, 50, 99} {
		_, want, err := loose.call("rec", 1<<40, n)
		require.NoError(t, err)
		_, used, err := tight.call("rec", 1<<40, n)
		require.NoError(t, err)
		assert.Equal(t, want, used)
		assert.Equal(t, int64(6+11*n), used)
	}
	// Stopped by the slot limit, the gas used is that of the activations
	// that ran: 100 of them, each charged its first segment (3).
	_, used, err := tight.call("rec", 1<<40, 100)
	require.ErrorIs(t, err, errDepthLimit)
	assert.Equal(t, int64(100*(3+7)), used)
}

func TestLimitsOnly(t *testing.T) {
	res := instrument(t, hashModule(), Config{LimitsOnly: true, InitialGas: 5, RecordSegments: true, MaxMemoryPages: 2})
	assert.True(t, res.LimitsOnly)
	assert.Empty(t, res.GasCounter)
	assert.Equal(t, CallDepthExport, res.CallDepth)
	assert.Equal(t, uint32(1), res.InjectedImports)
	assert.Equal(t, int64(-1), res.ChargeFunc)
	assert.Equal(t, uint32(DefaultMaxCallDepth), res.MaxCallDepth)
	assert.Equal(t, uint32(DefaultMaxStackSlots), res.MaxStackSlots)
	for _, f := range res.Functions {
		assert.Zero(t, f.Segments)
		assert.Zero(t, f.StaticCost)
		assert.Empty(t, f.Segs)
		assert.Equal(t, f.OriginalIndex+1, f.Index)
	}
	e := newEnv(t)
	cm := e.compile(t, res.Module)
	imports := cm.ImportedFunctions()
	require.Len(t, imports, 1)
	mod, name, _ := imports[0].Import()
	assert.Equal(t, ImportModule+"."+CallDepthExceededImport, mod+"."+name)
	l := e.limited(t, res)
	assert.Nil(t, l.mod.ExportedGlobal(GasCounterExport))
	assert.Equal(t, api.ValueTypeI64, l.mod.ExportedGlobal(CallDepthExport).Type())
	out, err := l.call("hash", 7)
	require.NoError(t, err)
	assert.Equal(t, []uint64{hashRef(7)}, out)

	// Dynamic costs need no helper: memory.grow and bulk operations run
	// as they are, the memory cap still applies.
	res = instrument(t, growModule(), Config{LimitsOnly: true, MaxMemoryPages: 3})
	assert.Equal(t, int64(-1), res.ChargeFunc)
	l = e.limited(t, res)
	out, err = l.call("grow", 2)
	require.NoError(t, err)
	assert.Equal(t, []uint64{1}, out)
	out, err = l.call("grow", 1)
	require.NoError(t, err)
	assert.Equal(t, []uint64{0xffffffff}, out)
	res = instrument(t, bulkModule(), Config{LimitsOnly: true})
	assert.Equal(t, int64(-1), res.ChargeFunc)

	// Index shifting by the single import, with imports, a start
	// function, tables and ref.func.
	wasm := shiftModule()
	res = instrument(t, wasm, Config{LimitsOnly: true})
	assert.Equal(t, uint32(2), res.FuncIndex(1))
	l = e.limited(t, res)
	for _, c := range []struct {
		name string
		args []uint64
		want uint64
	}{{"apply", []uint64{5, 0}, 10}, {"apply", []uint64{5, 2}, 6}, {"getg", nil, 7}, {"viaref", []uint64{4}, 12},
		{"callimport", []uint64{4}, 10}, {"getfr", []uint64{4}, 8}} {
		out, err := l.call(c.name, c.args...)
		require.NoError(t, err, c.name)
		assert.Equal(t, []uint64{c.want}, out, c.name)
	}

	// Names stay reserved.
	_, err = Instrument(instrument(t, recModule(), Config{}).Module, Config{LimitsOnly: true})
	assert.ErrorIs(t, err, ErrReservedName)
	// A limits-only module can be instrumented no further either.
	_, err = Instrument(instrument(t, recModule(), Config{LimitsOnly: true}).Module, Config{})
	assert.ErrorIs(t, err, ErrReservedName)
}

func TestLimitsOnlyLocals(t *testing.T) {
	// No local is injected: a function may declare all 50000.
	w := &wmod{}
	w.export("f", 0, w.fn(w.typ([]byte{i32}, []byte{i32}), locals(maxLocals-1, i64), lget(0)))
	_, err := Instrument(w.bytes(), Config{})
	assert.ErrorIs(t, err, ErrTooLarge)
	res := instrument(t, w.bytes(), Config{LimitsOnly: true})
	assert.Equal(t, uint64(maxLocals+1), res.Functions[0].StackSlots)
	// It costs more than the default limit: it never runs.
	_, err = newEnv(t).limited(t, res).call("f", 1)
	assert.ErrorIs(t, err, errDepthLimit)
}

// growTablesModule has a funcref table (min 2, max 50) and an externref
// table (min 1, no max), and exports grow_<i>(n) (table.grow i of n null
// references, the old size or -1) and size_<i>().
func growTablesModule() []byte {
	w := &wmod{}
	w.tables = append(w.tables, []byte{0x70, 0x01, 0x02, 50}, []byte{0x6f, 0x00, 0x01})
	grow := w.typ([]byte{i32}, []byte{i32})
	size := w.typ(nil, []byte{i32})
	for i, rt := range []byte{0x70, 0x6f} {
		w.export([]string{"grow_0", "grow_1"}[i], 0, w.fn(grow, nil, op(0xd0, rt), lget(0), misc(15), u32(uint32(i))))
		w.export([]string{"size_0", "size_1"}[i], 0, w.fn(size, nil, misc(16), u32(uint32(i))))
	}
	return w.bytes()
}

func TestTableLimit(t *testing.T) {
	for _, limitsOnly := range []bool{false, true} {
		res := instrument(t, growTablesModule(), Config{MaxTableElements: 10, LimitsOnly: limitsOnly})
		assert.Equal(t, uint32(10), res.MaxTableElements)
		// Declared maxima are capped.
		m, err := parseModule(res.Module, true)
		require.NoError(t, err)
		require.Len(t, m.tables, 2)
		for _, tb := range m.tables {
			assert.True(t, tb.hasMax)
			assert.Equal(t, uint32(10), tb.max)
		}
		l := newEnv(t).limited(t, res)
		for _, tb := range []struct {
			name    string
			initial uint64
		}{{"0", 2}, {"1", 1}} {
			grow := func(n uint64) uint64 {
				out, err := l.call("grow_"+tb.name, n)
				require.NoError(t, err)
				return out[0]
			}
			size := func() uint64 {
				out, err := l.call("size_" + tb.name)
				require.NoError(t, err)
				return out[0]
			}
			assert.Equal(t, tb.initial, grow(3), "table %s", tb.name)
			assert.Equal(t, uint64(0xffffffff), grow(11-tb.initial-3), "table %s: one past the limit", tb.name)
			assert.Equal(t, uint64(0xffffffff), grow(0xfffffff0), "table %s: huge", tb.name)
			assert.Equal(t, uint64(0xffffffff), grow(0xffffffff), "table %s: 2^32-1", tb.name)
			assert.Equal(t, tb.initial+3, size(), "table %s: failed grows change nothing", tb.name)
			assert.Equal(t, tb.initial+3, grow(10-tb.initial-3), "table %s: up to the limit", tb.name)
			assert.Equal(t, uint64(10), grow(0), "table %s: growing by 0 at the limit", tb.name)
			assert.Equal(t, uint64(0xffffffff), grow(1), "table %s", tb.name)
			assert.Equal(t, uint64(10), size())
		}
	}
	// Gas: table.grow is charged per element requested, refused or not.
	res := instrument(t, growTablesModule(), Config{MaxTableElements: 10})
	m := newEnv(t).metered(t, res)
	for _, n := range []uint64{1, 100} {
		_, used, err := m.call("grow_0", 1<<40, n)
		require.NoError(t, err)
		assert.Equal(t, int64(4+n), used) // ref.null, local.get, table.grow, end; n elements
	}
	// Without a limit, nothing changes: no helper, no cap.
	res = instrument(t, growTablesModule(), Config{})
	assert.Zero(t, res.MaxTableElements)
	m2, err := parseModule(res.Module, true)
	require.NoError(t, err)
	assert.False(t, m2.tables[1].hasMax)
	// The four functions and the helpers they call: depth check with the
	// first charge on entry, depth release on exit, dynamic charge.
	assert.Equal(t, 4+3, len(m2.code))
	// A declared maximum below the limit stays.
	res = instrument(t, growTablesModule(), Config{MaxTableElements: 100})
	m2, err = parseModule(res.Module, true)
	require.NoError(t, err)
	assert.Equal(t, uint32(50), m2.tables[0].max)
	assert.Equal(t, uint32(100), m2.tables[1].max)
}

func TestTableLimitRejectsLargeMinimum(t *testing.T) {
	_, err := Instrument(growTablesModule(), Config{MaxTableElements: 1})
	var te *TableLimitError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, TableLimitError{Table: 0, Initial: 2, Limit: 1}, *te)
	assert.ErrorIs(t, err, ErrTableLimit)
	assert.False(t, errors.Is(err, ErrMemoryLimit))
	assert.Contains(t, err.Error(), "table 0")
	_, err = Instrument(growTablesModule(), Config{MaxTableElements: 2})
	assert.NoError(t, err)
}

func TestTableLimitImportedTable(t *testing.T) {
	// An imported table keeps its declared limits (linking is unchanged)
	// and its growth is checked all the same.
	w := &wmod{}
	w.imports = append(w.imports, cat(str("tables"), str("t"), []byte{1, 0x70, 0x00, 0x01}))
	w.export("grow", 0, w.fn(w.typ([]byte{i32}, []byte{i32}), nil, op(0xd0, 0x70), lget(0), misc(15), u32(0)))
	res := instrument(t, w.bytes(), Config{MaxTableElements: 4, LimitsOnly: true})
	e := newEnv(t)
	p := &wmod{}
	p.tables = append(p.tables, []byte{0x70, 0x00, 0x01})
	p.export("t", 1, 0)
	_, err := e.rt.InstantiateWithConfig(e.ctx, p.bytes(), wazero.NewModuleConfig().WithName("tables"))
	require.NoError(t, err)
	l := e.limited(t, res)
	out, err := l.call("grow", 3)
	require.NoError(t, err)
	assert.Equal(t, []uint64{1}, out)
	out, err = l.call("grow", 1)
	require.NoError(t, err)
	assert.Equal(t, []uint64{0xffffffff}, out)
	m, err := parseModule(res.Module, true)
	require.NoError(t, err)
	assert.False(t, m.tables[0].hasMax)
	// Its declared minimum is checked too.
	_, err = Instrument(w.bytes(), Config{MaxTableElements: 0})
	require.NoError(t, err)
	w.imports[0] = cat(str("tables"), str("t"), []byte{1, 0x70, 0x00, 0x09})
	_, err = Instrument(w.bytes(), Config{MaxTableElements: 4})
	assert.ErrorIs(t, err, ErrTableLimit)
}

func TestLimitConfigErrors(t *testing.T) {
	for _, cfg := range []Config{{MaxStackSlots: math.MaxInt32 + 1}, {LimitsOnly: true, YieldInterval: -1}} {
		_, err := Instrument(recModule(), cfg)
		assert.ErrorIs(t, err, ErrConfig, "%+v", cfg)
	}
}

func TestGoModuleStackHeadroom(t *testing.T) {
	// A Go guest (fmt, sort, encoding/json) runs with an eighth of the
	// default stack limit, metered and not.
	wasm := goModule(t)
	for _, limitsOnly := range []bool{false, true} {
		res, err := Instrument(wasm, Config{MaxStackSlots: DefaultMaxStackSlots / 8, LimitsOnly: limitsOnly})
		require.NoError(t, err)
		w := newWASIEnv(t, res)
		var stdout bytes.Buffer
		mod, err := w.rt.InstantiateModule(w.ctx, w.cm, wazero.NewModuleConfig().WithStdout(&stdout).WithStartFunctions())
		require.NoError(t, err)
		if g := mod.ExportedGlobal(GasCounterExport); g != nil {
			g.(api.MutableGlobal).Set(math.MaxInt64)
		}
		_, err = mod.ExportedFunction("_start").Call(w.ctx)
		var exit *sys.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 0 {
			require.NoError(t, err, "limitsOnly=%v", limitsOnly)
		}
		assert.Contains(t, stdout.String(), `"words":["brown","dog","fox"`)
	}
}

func TestTableLimitHelpersOnlyForGrownTables(t *testing.T) {
	// Two tables, only the second one grown: one helper, for it. A
	// module that grows no table gets none, and stays restorable from a
	// snapshot (a helper's table.grow would make it look mutable).
	w := &wmod{}
	w.tables = append(w.tables, []byte{0x70, 0x00, 0x01}, []byte{0x6f, 0x00, 0x01})
	tII := w.typ([]byte{i32}, []byte{i32})
	id := w.fn(tII, nil, lget(0))
	w.export("grow", 0, w.fn(tII, nil, op(0xd0, 0x6f), lget(0), misc(15), u32(1)))
	w.export("call", 0, w.fn(tII, nil, lget(0), i32c(0), callInd(tII)))
	w.elems = append(w.elems, cat([]byte{0}, i32c(0), end, vecOf(u32(id))))
	for _, limitsOnly := range []bool{false, true} {
		res := instrument(t, w.bytes(), Config{MaxTableElements: 3, LimitsOnly: limitsOnly})
		m, err := parseModule(res.Module, true)
		require.NoError(t, err)
		helpers := 1 // the table.grow helper of table 1
		if !limitsOnly {
			// Metered, the helpers in the order of their first call:
			// entry check with the first charge, exit (by function 0),
			// then the dynamic charge and the table.grow helper (by grow).
			helpers += 3
			assert.Equal(t, int64(3+2+2), res.ChargeFunc)
		}
		assert.Len(t, m.code, 3+helpers, "limitsOnly=%v", limitsOnly)
		l := newEnv(t).limited(t, res)
		out, err := l.call("grow", 2)
		require.NoError(t, err)
		assert.Equal(t, []uint64{1}, out)
		out, err = l.call("grow", 1)
		require.NoError(t, err)
		assert.Equal(t, []uint64{0xffffffff}, out)
		out, err = l.call("call", 7)
		require.NoError(t, err)
		assert.Equal(t, []uint64{7}, out)
	}
	w.codes, w.funcs, w.exports = w.codes[:1], w.funcs[:1], nil
	w.export("call", 0, w.fn(tII, nil, lget(0), i32c(0), callInd(tII)))
	res := instrument(t, w.bytes(), Config{MaxTableElements: 3})
	assert.Equal(t, int64(-1), res.ChargeFunc)
	m, err := parseModule(res.Module, true)
	require.NoError(t, err)
	assert.Len(t, m.code, 2+2) // entry check with the first charge, exit
	snap, err := PrepareSnapshot(res.Module)
	require.NoError(t, err)
	assert.True(t, snap.Restorable, snap.Reason)
}
