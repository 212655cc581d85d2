package metering

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// shiftModule exercises every place a function index appears: an imported
// function, a table filled by an element segment (with the import in it),
// call_indirect, ref.func (in a body and in a global initializer), table.set,
// a start function and exports.
func shiftModule() []byte {
	w := &wmod{}
	tII := w.typ([]byte{i32}, []byte{i32})
	tV := w.typ(nil, nil)
	tIII := w.typ([]byte{i32, i32}, []byte{i32})
	add1 := w.importFunc("env", "add1", tII)
	w.tables = append(w.tables, []byte{0x70, 0x00, 0x04})
	g := w.global(i32, true, i32c(0))
	double := w.fn(tII, nil, lget(0), i32c(2), op(0x6c))
	triple := w.fn(tII, nil, lget(0), i32c(3), op(0x6c))
	fr := w.global(0x70, false, refFunc(double))
	start := w.fn(tV, nil, i32c(7), gset(g))
	w.start = &start
	apply := w.fn(tIII, nil, lget(0), lget(1), callInd(tII))
	getg := w.fn(w.typ(nil, []byte{i32}), nil, gget(g))
	viaref := w.fn(tII, nil, i32c(3), refFunc(triple), op(0x26, 0), lget(0), i32c(3), callInd(tII))
	callimp := w.fn(tII, nil, lget(0), call(add1), call(double))
	getfr := w.fn(tII, nil, i32c(2), gget(fr), op(0x26, 0), lget(0), i32c(2), callInd(tII))
	w.elems = append(w.elems, cat([]byte{0}, i32c(0), end, vecOf(u32(double), u32(triple), u32(add1))))
	// An expression segment (flags 4): table[3] = double.
	w.elems = append(w.elems, cat([]byte{4}, i32c(3), end, vecOf(cat(refFunc(double), end))))
	for name, f := range map[string]uint32{"apply": apply, "getg": getg, "viaref": viaref, "callimport": callimp, "getfr": getfr} {
		w.export(name, 0, f)
	}
	w.export("table", 1, 0)
	// A name section naming the functions.
	names := vecOf(cat(u32(add1), str("add1")), cat(u32(double), str("double")), cat(u32(triple), str("triple")))
	w.customs = append(w.customs, cat(str("name"), []byte{1}, u32(uint32(len(names))), names))
	return w.bytes()
}

func TestIndexShifting(t *testing.T) {
	wasm := shiftModule()
	res := instrument(t, wasm, Config{InitialGas: 100})
	assert.Equal(t, uint32(1), res.ImportedFuncs)
	assert.Equal(t, uint32(3), res.FuncIndex(1))
	assert.Equal(t, uint32(0), res.FuncIndex(0))
	e := newEnv(t)
	m := e.metered(t, res) // runs the start function, which costs 3
	plain := e.instantiate(t, wasm)
	for _, c := range []struct {
		name string
		args []uint64
		want uint64
	}{
		{"apply", []uint64{5, 0}, 10}, {"apply", []uint64{5, 1}, 15}, {"apply", []uint64{5, 2}, 6},
		{"apply", []uint64{5, 3}, 10},
		{"getg", nil, 7}, {"viaref", []uint64{4}, 12}, {"callimport", []uint64{4}, 10}, {"getfr", []uint64{4}, 8},
	} {
		want, err := plain.ExportedFunction(c.name).Call(e.ctx, c.args...)
		require.NoError(t, err)
		require.Equal(t, c.want, want[0], c.name)
		got, _, err := m.call(c.name, 1000, c.args...)
		require.NoError(t, err, c.name)
		assert.Equal(t, c.want, got[0], c.name)
	}
}

func TestStartFunctionUsesInitialGas(t *testing.T) {
	wasm := shiftModule()
	e := newEnv(t)
	// The start function (i32.const 7; global.set; end) costs 3.
	res := instrument(t, wasm, Config{InitialGas: 2})
	_, err := e.rt.Instantiate(e.ctx, res.Module)
	require.ErrorIs(t, err, errOutOfGas)
	res = instrument(t, wasm, Config{InitialGas: 3})
	m := e.metered(t, res)
	assert.Zero(t, m.gas.Get())
}

func TestNameSectionShifted(t *testing.T) {
	res := instrument(t, shiftModule(), Config{InitialGas: 100})
	e := newEnv(t)
	cm := e.compile(t, res.Module)
	// wazero reads function names from the name section: the imported
	// function keeps index 0, defined ones moved by 2.
	defs := cm.ImportedFunctions()
	require.NotEmpty(t, defs)
	found := map[string]bool{}
	for _, d := range cm.ImportedFunctions() {
		found[d.Name()] = true
	}
	assert.True(t, found["add1"], "import name kept")
	exp := cm.ExportedFunctions()
	assert.Equal(t, "", exp["apply"].Name()) // unnamed
	mod := e.instantiate(t, res.Module)
	_ = mod
}

// recModule: three recursive functions counting down to 0, leaving through
// the end of the body, through return and through br to the function label.
func recModule() []byte {
	w := &wmod{}
	t := w.typ([]byte{i64}, []byte{i64})
	rec := uint32(0)
	w.fn(t, nil, lget(0), op(0x50), ifb(i64), i64c(0), elseb,
		lget(0), i64c(1), op(0x7d), call(rec), i64c(1), op(0x7c), end)
	recret := uint32(1)
	w.fn(t, nil, lget(0), op(0x50), ifb(empty), i64c(0), ret, end,
		lget(0), i64c(1), op(0x7d), call(recret), i64c(1), op(0x7c), ret)
	recbr := uint32(2)
	w.fn(t, nil, lget(0), op(0x50), ifb(empty), i64c(0), br(1), end,
		lget(0), i64c(1), op(0x7d), call(recbr), i64c(1), op(0x7c))
	w.export("rec", 0, rec)
	w.export("recret", 0, recret)
	w.export("recbr", 0, recbr)
	return w.bytes()
}

func TestCallDepthLimit(t *testing.T) {
	res := instrument(t, recModule(), Config{MaxCallDepth: 10})
	e := newEnv(t)
	m := e.metered(t, res)
	for _, name := range []string{"rec", "recret", "recbr"} {
		// rec(9) is 10 nested activations: allowed.
		out, _, err := m.call(name, 1<<40, 9)
		require.NoError(t, err, name)
		assert.Equal(t, uint64(9), out[0])
		assert.Zero(t, m.depth.Get(), "%s: depth restored on every exit", name)
		_, _, err = m.call(name, 1<<40, 10)
		require.ErrorIs(t, err, errDepthLimit, name)
		// 10 activations of 4 slots each (1 parameter, an operand stack of
		// 2, 6 value-computing instructions: ceil(6/8) = 1): the high half
		// counts activations, the low half slots.
		assert.Equal(t, uint64(10)<<32|40, m.depth.Get(), "%s: traps leave the depth elevated", name)
	}
	// The default limit.
	res = instrument(t, recModule(), Config{})
	m = e.metered(t, res)
	_, _, err := m.call("rec", 1<<40, DefaultMaxCallDepth-1)
	require.NoError(t, err)
	_, _, err = m.call("rec", 1<<40, DefaultMaxCallDepth)
	require.ErrorIs(t, err, errDepthLimit)
}

func TestRecursionGasExact(t *testing.T) {
	// rec(n): segments [local.get, i64.eqz, if] (3), then [i64.const, else]
	// (2) or [local.get, i64.const, i64.sub, call, i64.const, i64.add, end]
	// (7, plus the callee), then [end] (1): rec(n) = 6 + 11n.
	res := instrument(t, recModule(), Config{})
	e := newEnv(t)
	m := e.metered(t, res)
	for _, n := range []uint64{0, 1, 5} {
		want := int64(6 + 11*n)
		_, used, err := m.call("rec", want, n)
		require.NoError(t, err)
		assert.Equal(t, want, used)
		_, _, err = m.call("rec", want-1, n)
		require.ErrorIs(t, err, errOutOfGas)
	}
}

// growModule: grow(n) = memory.grow(n), size() = memory.size.
func growModule(max ...uint32) []byte {
	w := &wmod{}
	w.memory(1, max...)
	g := w.fn(w.typ([]byte{i32}, []byte{i32}), nil, lget(0), op(0x40, 0))
	s := w.fn(w.typ(nil, []byte{i32}), nil, op(0x3f, 0))
	w.export("grow", 0, g)
	w.export("size", 0, s)
	w.export("memory", 2, 0)
	return w.bytes()
}

func TestMemoryGrowCost(t *testing.T) {
	res := instrument(t, growModule(10), Config{})
	assert.GreaterOrEqual(t, res.ChargeFunc, int64(0))
	e := newEnv(t)
	m := e.metered(t, res)
	// static: local.get, memory.grow, end; dynamic: 1024 per page requested.
	for _, n := range []uint64{0, 1, 3} {
		want := int64(3 + 1024*n)
		_, _, err := m.call("grow", want-1, n)
		require.ErrorIs(t, err, errOutOfGas, "n=%d", n)
		out, used, err := m.call("grow", want, n)
		require.NoError(t, err)
		assert.Equal(t, want, used)
		assert.NotEqual(t, uint64(0xffffffff), out[0])
	}
	// A failing grow is charged too.
	out, used, err := m.call("grow", 3+1024*100, 100)
	require.NoError(t, err)
	assert.Equal(t, uint64(0xffffffff), out[0])
	assert.Equal(t, int64(3+1024*100), used)

	// A huge request that cannot be paid fails before growing.
	_, _, err = m.call("grow", 1<<20, 0xffffffff)
	require.ErrorIs(t, err, errOutOfGas)

	// Custom per-page cost.
	costs := DefaultCosts()
	costs.MemoryGrowPerPage = 7
	res = instrument(t, growModule(10), Config{Costs: costs})
	m = e.metered(t, res)
	_, used, err = m.call("grow", 100, 2)
	require.NoError(t, err)
	assert.Equal(t, int64(3+14), used)
}

func TestMemoryCap(t *testing.T) {
	e := newEnv(t)
	// No declared maximum: the cap becomes the maximum.
	res := instrument(t, growModule(), Config{MaxMemoryPages: 4})
	m := e.metered(t, res)
	out, _, err := m.call("grow", 1<<40, 3)
	require.NoError(t, err)
	assert.Equal(t, uint64(1), out[0])
	out, _, err = m.call("grow", 1<<40, 1)
	require.NoError(t, err)
	assert.Equal(t, uint64(0xffffffff), out[0], "grow past the cap fails")
	max, ok := m.mod.ExportedMemory("memory").Definition().Max()
	assert.True(t, ok)
	assert.Equal(t, uint32(4), max)

	// A larger declared maximum is lowered; a smaller one is kept.
	res = instrument(t, growModule(100), Config{MaxMemoryPages: 4})
	max, _ = e.compile(t, res.Module).ExportedMemories()["memory"].Max()
	assert.Equal(t, uint32(4), max)
	res = instrument(t, growModule(2), Config{MaxMemoryPages: 4})
	max, _ = e.compile(t, res.Module).ExportedMemories()["memory"].Max()
	assert.Equal(t, uint32(2), max)

	// Initial memory above the cap is rejected.
	w := &wmod{}
	w.memory(5)
	_, err = Instrument(w.bytes(), Config{MaxMemoryPages: 4})
	var le *MemoryLimitError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, MemoryLimitError{Initial: 5, Limit: 4}, *le)
	assert.ErrorIs(t, err, ErrMemoryLimit)
}

// bulkModule exports the bulk memory and table operations with their size
// operand last.
func bulkModule() []byte {
	w := &wmod{}
	tIII := w.typ([]byte{i32, i32, i32}, nil)
	tII := w.typ([]byte{i32, i32}, nil)
	tI := w.typ([]byte{i32}, []byte{i32})
	tV := w.typ(nil, nil)
	w.memory(1)
	w.tables = append(w.tables, []byte{0x70, 0x00, 0x0a})
	w.dataCount = true
	w.datas = append(w.datas, cat([]byte{1}, u32(300), make([]byte, 300)))
	fill := w.fn(tIII, nil, lget(0), lget(1), lget(2), misc(11), []byte{0})
	cp := w.fn(tIII, nil, lget(0), lget(1), lget(2), misc(10), []byte{0, 0})
	ini := w.fn(tIII, nil, lget(0), lget(1), lget(2), misc(8), u32(0), []byte{0})
	tgrow := w.fn(tI, nil, op(0xd0, 0x70), lget(0), misc(15), u32(0))
	tfill := w.fn(tII, nil, lget(0), op(0xd0, 0x70), lget(1), misc(17), u32(0))
	tcopy := w.fn(tIII, nil, lget(0), lget(1), lget(2), misc(14), u32(0), u32(0))
	tinit := w.fn(tIII, nil, lget(0), lget(1), lget(2), misc(12), u32(0), u32(0))
	drops := w.fn(tV, nil, misc(9), u32(0), misc(13), u32(0))
	w.elems = append(w.elems, cat([]byte{1, 0}, vecOf(u32(fill), u32(cp), u32(ini), u32(tgrow))))
	for name, f := range map[string]uint32{"fill": fill, "copy": cp, "init": ini, "tgrow": tgrow,
		"tfill": tfill, "tcopy": tcopy, "tinit": tinit, "drops": drops} {
		w.export(name, 0, f)
	}
	return w.bytes()
}

func TestBulkCosts(t *testing.T) {
	costs := DefaultCosts()
	costs.MemoryPerByte = 2
	costs.TablePerElement = 5
	res := instrument(t, bulkModule(), Config{Costs: costs})
	e := newEnv(t)
	m := e.metered(t, res)
	for _, c := range []struct {
		name   string
		args   []uint64
		static int64
		dyn    int64
	}{
		{"fill", []uint64{0, 7, 1000}, 5, 2000},
		{"copy", []uint64{100, 0, 500}, 5, 1000},
		{"init", []uint64{0, 0, 300}, 5, 600},
		{"tgrow", []uint64{3}, 4, 15},
		{"tfill", []uint64{0, 4}, 5, 20},
		{"tcopy", []uint64{0, 5, 5}, 5, 25},
		{"tinit", []uint64{0, 0, 4}, 5, 20},
		{"fill", []uint64{0, 7, 0}, 5, 0},
	} {
		want := c.static + c.dyn
		_, _, err := m.call(c.name, want-1, c.args...)
		require.ErrorIs(t, err, errOutOfGas, c.name)
		_, used, err := m.call(c.name, want, c.args...)
		require.NoError(t, err, c.name)
		assert.Equal(t, want, used, c.name)
	}
	_, used, err := m.call("drops", 100)
	require.NoError(t, err)
	assert.Equal(t, int64(3), used)
}

// miscModule uses multi-value, sign extension, saturating truncation,
// typed select, ref.is_null, floats and a multi-value wrapper block.
func miscModule() []byte {
	w := &wmod{}
	tPair := w.typ([]byte{i32}, []byte{i32, i64})
	tBlk := w.typ([]byte{i32}, []byte{i32, i32})
	pair := w.fn(tPair, nil,
		lget(0), []byte{0x02}, u32(tBlk), op(0x41, 1), end, op(0x6a), // (x+1) via block [i32]->[i32 i32]
		lget(0), op(0xc0), op(0xac), // i32.extend8_s; i64.extend_i32_s
		lget(0), i32c(0x1000), op(0x46), ifb(empty), i32c(1), i64c(2), ret, end,
	)
	flt := w.fn(w.typ([]byte{f64}, []byte{i64}), nil,
		lget(0), op(0x99), misc(6), // f64.abs; i64.trunc_sat_f64_s
	)
	sel := w.fn(w.typ([]byte{i32}, []byte{i32}), nil,
		i32c(10),
		op(0xd0, 0x70), op(0xd1), // ref.null func; ref.is_null -> 1
		i32c(5), lget(0), op(0x1c, 1, i32), op(0x6a))
	add := w.fn(w.typ([]byte{f64, f64}, []byte{f64}), nil, lget(0), lget(1), op(0xa0))
	w.export("pair", 0, pair)
	w.export("flt", 0, flt)
	w.export("sel", 0, sel)
	w.export("fadd", 0, add)
	return w.bytes()
}

func TestMiscFeatures(t *testing.T) {
	res := instrument(t, miscModule(), Config{})
	e := newEnv(t)
	m := e.metered(t, res)
	out, _, err := m.call("pair", 1000, 0x80)
	require.NoError(t, err)
	assert.Equal(t, []uint64{0x81, uint64(0xffffffffffffff80)}, out)
	out, _, err = m.call("flt", 1000, 0xc00c000000000000) // -3.5
	require.NoError(t, err)
	assert.Equal(t, []uint64{3}, out)
	out, _, err = m.call("sel", 1000, 0)
	require.NoError(t, err)
	assert.Equal(t, []uint64{15}, out) // 10 + select(1, 5, cond=0)
	out, _, err = m.call("sel", 1000, 1)
	require.NoError(t, err)
	assert.Equal(t, []uint64{11}, out)
	out, _, err = m.call("pair", 1000, 0x1000)
	require.NoError(t, err)
	assert.Equal(t, []uint64{1, 2}, out)
}

func TestManyLocals(t *testing.T) {
	// More locals than are expanded: looked up by runs.
	w := &wmod{}
	f := w.fn(w.typ([]byte{i32}, []byte{i64}), locals(1500, i32, 600, i64, 10, f32),
		i64c(42), lset(2000), lget(1499), drop, lget(2000), lget(2105), drop)
	w.export("f", 0, f)
	res := instrument(t, w.bytes(), Config{})
	m := newEnv(t).metered(t, res)
	out, _, err := m.call("f", 100, 1)
	require.NoError(t, err)
	assert.Equal(t, []uint64{42}, out)
	// An out-of-range local and a type mismatch are still caught.
	w = &wmod{}
	w.fn(w.typ(nil, nil), locals(1500, i32), lget(1501), drop)
	_, err = Instrument(w.bytes(), Config{})
	assert.ErrorIs(t, err, ErrInvalid)
	w = &wmod{}
	w.fn(w.typ(nil, nil), locals(1500, i32, 10, f64), lget(1505), op(0x45), drop)
	_, err = Instrument(w.bytes(), Config{})
	assert.ErrorIs(t, err, ErrInvalid)
}

func TestImportedMemoryCap(t *testing.T) {
	w := &wmod{}
	w.imports = append(w.imports, cat(str("env"), str("mem"), []byte{2, 0, 1}))
	res := instrument(t, w.bytes(), Config{MaxMemoryPages: 4})
	e := newEnv(t)
	mems := e.compile(t, res.Module).ImportedMemories()
	require.Len(t, mems, 1)
	max, ok := mems[0].Max()
	assert.True(t, ok)
	assert.Equal(t, uint32(4), max)
}

func TestDeterministicProfile(t *testing.T) {
	_, err := Instrument(miscModule(), Config{Deterministic: true})
	var ne *NondeterministicError
	require.ErrorAs(t, err, &ne)
	assert.Equal(t, "f64.add", ne.Instruction)
	assert.ErrorIs(t, err, ErrNondeterministic)

	// abs, trunc_sat and comparisons are deterministic.
	w := &wmod{}
	w.fn(w.typ([]byte{f64}, []byte{i32}), nil, lget(0), op(0x99), lget(0), op(0x9a), op(0x61))
	instrument(t, w.bytes(), Config{Deterministic: true})
}

func localsModule(decl []byte) []byte {
	w := &wmod{}
	w.fn(w.typ(nil, nil), decl)
	return w.bytes()
}

func featureModule(body ...[]byte) []byte {
	w := &wmod{}
	w.memory(1)
	w.fn(w.typ(nil, nil), nil, body...)
	return w.bytes()
}

func TestRejectedFeatures(t *testing.T) {
	withSection := func(id byte, content []byte) []byte {
		return appendSection(append([]byte{}, wasmHeader...), id, content)
	}
	for _, c := range []struct {
		feature string
		wasm    []byte
	}{
		{"simd", featureModule(op(0xfd, 0x0c), make([]byte, 16), drop)},
		{"simd", localsModule(locals(1, byte(0x7b)))},
		{"threads", featureModule(i32c(0), i32c(0), op(0xfe, 0x10, 2, 0), drop)},
		{"threads", withSection(5, cat(u32(1), []byte{0x03, 1, 1}))},
		{"exceptions", featureModule(op(0x06, 0x40), end)},
		{"exceptions", withSection(13, cat(u32(0)))},
		{"tail-call", featureModule(op(0x12, 0))},
		{"function-references", featureModule(op(0x14, 0))},
		{"gc", featureModule(op(0xfb, 0x00))},
		{"gc", withSection(1, cat(u32(1), []byte{0x5f, 0}))},
		{"memory64", withSection(5, cat(u32(1), []byte{0x04, 1}))},
		{"multi-memory", withSection(5, cat(u32(2), []byte{0, 1, 0, 1}))},
		{"multi-memory", featureModule(op(0x3f, 1), drop)},
		{"multi-memory", featureModule(i32c(0), op(0x28, 0x42, 0, 0), drop)},
		{"extended-const", withSection(6, cat(u32(1), []byte{i32, 0}, i32c(1), i32c(2), op(0x6a), end))},
		{"wide-arithmetic", featureModule(misc(19))},
	} {
		_, err := Instrument(c.wasm, Config{})
		var fe *UnsupportedFeatureError
		require.ErrorAs(t, err, &fe, c.feature)
		assert.Equal(t, c.feature, fe.Feature)
		assert.ErrorIs(t, err, ErrUnsupportedFeature)
	}
}

func TestMalformedAndInvalid(t *testing.T) {
	for _, c := range []struct {
		kind error
		wasm []byte
	}{
		{ErrMalformed, nil},
		{ErrMalformed, []byte("\x00asm\x02\x00\x00\x00")},
		{ErrMalformed, featureModule(op(0xff))},
		{ErrMalformed, append(append([]byte{}, wasmHeader...), 1, 5, 1)},
		{ErrInvalid, featureModule(i32c(1))},                       // value left on the stack
		{ErrInvalid, featureModule(op(0x6a))},                      // stack underflow
		{ErrInvalid, featureModule(br(1))},                         // unknown label
		{ErrInvalid, featureModule(call(5))},                       // unknown function
		{ErrInvalid, featureModule(i32c(0), op(0x28, 3, 0), drop)}, // alignment
		{ErrTooLarge, localsModule(locals(50000, i32))},
	} {
		_, err := Instrument(c.wasm, Config{})
		require.ErrorIs(t, err, c.kind, "%x", c.wasm)
		assert.True(t, isDocumentedError(err))
	}
	// Every truncation of every seed fails cleanly (or, cut at a section
	// boundary, is a valid module).
	e := newEnv(t)
	for _, m := range seedModules() {
		for n := 0; n < len(m); n++ {
			res, err := Instrument(m[:n], Config{})
			if err == nil {
				e.compile(t, res.Module)
				continue
			}
			require.True(t, isDocumentedError(err), "%T %v", err, err)
		}
	}
}

func TestReservedNames(t *testing.T) {
	res := instrument(t, readFile(t, "../conformance/fixtures/wat/raw.wasm"), Config{})
	_, err := Instrument(res.Module, Config{})
	assert.ErrorIs(t, err, ErrReservedName)

	w := &wmod{}
	w.global(i64, true, i64c(0))
	w.export(GasCounterExport, 3, 0)
	_, err = Instrument(w.bytes(), Config{})
	assert.ErrorIs(t, err, ErrReservedName)
}

func TestConfigErrors(t *testing.T) {
	costs := DefaultCosts()
	costs.MemoryPerByte = MaxUnitCost + 1
	for _, cfg := range []Config{{Costs: costs}, {InitialGas: -1}, {MaxMemoryPages: 65537},
		{Costs: &CostTable{Overrides: map[Opcode]uint32{0xfd00: 1}}}} {
		_, err := Instrument(featureModule(), cfg)
		assert.True(t, errors.Is(err, ErrConfig), "%+v", cfg)
	}
}

func TestOverrides(t *testing.T) {
	costs := DefaultCosts()
	costs.Overrides = map[Opcode]uint32{0x6a: 10, MiscOpcode(11): 4}
	assert.Equal(t, "i32.add", Opcode(0x6a).String())
	assert.Equal(t, "memory.fill", MiscOpcode(11).String())
	w := &wmod{}
	w.export("f", 0, w.fn(w.typ(nil, []byte{i32}), nil, i32c(1), i32c(2), op(0x6a)))
	res := instrument(t, w.bytes(), Config{Costs: costs})
	m := newEnv(t).metered(t, res)
	_, used, err := m.call("f", 100)
	require.NoError(t, err)
	assert.Equal(t, int64(1+1+10+1), used)
}

func TestGoModule(t *testing.T) {
	wasm := goModule(t)
	t.Logf("Go module: %d bytes", len(wasm))
	res, err := Instrument(wasm, Config{MaxMemoryPages: 16384})
	require.NoError(t, err)
	w := newWASIEnv(t, res) // compiles it: validates it
	out := w.run(t, 1<<40)
	assert.Contains(t, out.stdout, `"words":["brown","dog","fox"`)
	assert.NoError(t, out.err)
	assert.Greater(t, out.used, int64(100000))
	t.Logf("gas used by the Go guest: %d", out.used)

	// Same gas on a second run; too little gas stops it.
	again := w.run(t, 1<<40)
	assert.Equal(t, out.used, again.used)
	short := w.run(t, out.used-1)
	assert.ErrorIs(t, short.err, errOutOfGas)
}
