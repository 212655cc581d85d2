package metering

import (
	"bytes"
	"context"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// prepareSnapshot runs PrepareSnapshot and checks that wazero compiles the
// result.
func prepareSnapshot(t testing.TB, b []byte) *SnapshotResult {
	t.Helper()
	res, err := PrepareSnapshot(b)
	require.NoError(t, err)
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	cm, err := rt.CompileModule(ctx, res.Module)
	require.NoError(t, err, "prepared module does not compile")
	cm.Close(ctx)
	return res
}

// globalsModule has an immutable global and four mutable ones: one exported,
// two not, one exported twice; set() changes them all and get2() reads the
// unexported i64.
func globalsModule() []byte {
	w := &wmod{}
	w.memory(1)
	w.global(i32, false, i32c(7))
	counter := w.global(i32, true, i32c(1))
	g2 := w.global(i64, true, i64c(2))
	g3 := w.global(f64, true, cat([]byte{0x44}, f64bytes(1.5)))
	g4 := w.global(i32, true, i32c(4))
	set := w.fn(w.typ(nil, nil), nil,
		i32c(10), gset(counter), i64c(20), gset(g2),
		[]byte{0x44}, f64bytes(2.5), gset(g3), i32c(40), gset(g4),
		i32c(0), i32c(0x55), op(0x36, 2, 0)) // i32.store
	get2 := w.fn(w.typ(nil, []byte{i64}), nil, gget(g2))
	w.export("counter", 3, counter)
	w.export("set", 0, set)
	w.export("b", 3, g4)
	w.export("a", 3, g4)
	w.export("get2", 0, get2)
	w.export("memory", 2, 0)
	w.customs = append(w.customs, cat(str("producers"), []byte{1, 2, 3}))
	return w.bytes()
}

func f64bytes(v float64) []byte {
	b := make([]byte, 8)
	u := math.Float64bits(v)
	for i := range b {
		b[i] = byte(u >> (8 * i))
	}
	return b
}

func TestPrepareSnapshotGlobals(t *testing.T) {
	in := globalsModule()
	res := prepareSnapshot(t, in)
	assert.True(t, res.Restorable, res.Reason)
	assert.Empty(t, res.Reason)
	assert.Equal(t, []string{"counter", "__aspect_global_2", "__aspect_global_3", "b"}, res.Globals)
	assert.True(t, res.Memory)
	assert.Equal(t, []string{"memory"}, res.MemoryExports)
	// Only the export section changed: the custom section is still last.
	assert.True(t, bytes.HasSuffix(res.Module, in[len(in)-16:]))

	e := newEnv(t)
	mod := e.instantiate(t, res.Module)
	get := func() []uint64 {
		var v []uint64
		for _, name := range res.Globals {
			g := mod.ExportedGlobal(name)
			require.NotNil(t, g, name)
			v = append(v, g.Get())
		}
		return v
	}
	initial := get()
	assert.Equal(t, []uint64{1, 2, math.Float64bits(1.5), 4}, initial)
	_, err := mod.ExportedFunction("set").Call(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, []uint64{10, 20, math.Float64bits(2.5), 40}, get())

	// Restoring through the exports is seen by the code.
	for i, name := range res.Globals {
		mod.ExportedGlobal(name).(api.MutableGlobal).Set(initial[i])
	}
	assert.Equal(t, initial, get())
	out, err := mod.ExportedFunction("get2").Call(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, []uint64{2}, out)

	// The prepared module's reserved names are not accepted twice.
	_, err = PrepareSnapshot(res.Module)
	assert.ErrorIs(t, err, ErrReservedName)
	var me *ModuleError
	require.ErrorAs(t, err, &me)
	assert.Contains(t, me.Reason, "__aspect_global_2")
}

func TestPrepareSnapshotUnchangedWithoutHiddenGlobals(t *testing.T) {
	w := &wmod{}
	g := w.global(i32, true, i32c(0))
	w.global(i64, false, i64c(3))
	w.export("g", 3, g)
	w.fn(w.typ(nil, nil), nil, i32c(1), gset(g))
	in := w.bytes()
	res := prepareSnapshot(t, in)
	assert.Equal(t, in, res.Module)
	assert.Equal(t, []string{"g"}, res.Globals)
	assert.True(t, res.Restorable)

	// No memory, no global, no export section: nothing is added.
	in = localsModule(nil)
	res = prepareSnapshot(t, in)
	assert.Equal(t, in, res.Module)
	assert.Empty(t, res.Globals)
	assert.False(t, res.Memory)
	assert.Empty(t, res.MemoryExports)
	assert.True(t, res.Restorable)
}

func TestPrepareSnapshotExportsMemory(t *testing.T) {
	res := prepareSnapshot(t, featureModule())
	assert.True(t, res.Memory)
	assert.Equal(t, []string{MemoryExport}, res.MemoryExports)
	mod := newEnv(t).instantiate(t, res.Module)
	require.NotNil(t, mod.ExportedMemory(MemoryExport))

	_, err := PrepareSnapshot(res.Module)
	assert.ErrorIs(t, err, ErrReservedName)
}

// tableModule is a module with a funcref table of 4 elements, a passive
// element segment, a passive data segment and one function running body.
func tableModule(body ...[]byte) []byte {
	w := &wmod{}
	w.memory(1)
	w.tables = append(w.tables, []byte{0x70, 0x00, 0x04})
	w.dataCount = true
	w.datas = append(w.datas, cat([]byte{1}, u32(4), []byte{1, 2, 3, 4}))
	f := w.fn(w.typ(nil, nil), nil, body...)
	w.elems = append(w.elems, cat([]byte{1, 0}, vecOf(u32(f))))
	w.export("f", 0, f)
	return w.bytes()
}

func TestPrepareSnapshotNotRestorable(t *testing.T) {
	imported := func(kind byte, desc ...byte) []byte {
		w := &wmod{}
		w.imports = append(w.imports, cat(str("env"), str("x"), []byte{kind}, desc))
		w.fn(w.typ(nil, nil), nil)
		return w.bytes()
	}
	for _, c := range []struct {
		reason string
		wasm   []byte
	}{
		{"table.set", tableModule(i32c(0), op(0xd0, 0x70), op(0x26, 0))},
		{"table.grow", tableModule(op(0xd0, 0x70), i32c(1), misc(15), u32(0), drop)},
		{"table.fill", tableModule(i32c(0), op(0xd0, 0x70), i32c(1), misc(17), u32(0))},
		{"table.copy", tableModule(i32c(0), i32c(1), i32c(1), misc(14), u32(0), u32(0))},
		{"table.init", tableModule(i32c(0), i32c(0), i32c(1), misc(12), u32(0), u32(0))},
		{"elem.drop", tableModule(misc(13), u32(0))},
		{"data.drop", tableModule(misc(9), u32(0))},
		{"data.drop", tableModule(i32c(0), i32c(0), i32c(4), misc(8), u32(0), []byte{0}, misc(9), u32(0))},
		{"imports a table", imported(1, 0x70, 0x00, 0x01)},
		{"imports a memory", imported(2, 0x00, 0x01)},
		{"imports mutable global 0", imported(3, i32, 1)},
		{"exports a table", func() []byte {
			w := &wmod{}
			w.tables = append(w.tables, []byte{0x70, 0x00, 0x01})
			w.export("t", 1, 0)
			return w.bytes()
		}()},
		{"mutable global 0 holds a reference", func() []byte {
			w := &wmod{}
			w.global(0x6f, true, op(0xd0, 0x6f))
			return w.bytes()
		}()},
	} {
		res := prepareSnapshot(t, c.wasm)
		assert.False(t, res.Restorable, c.reason)
		assert.True(t, strings.HasPrefix(res.Reason, c.reason), "got %q, want %q", res.Reason, c.reason)
	}

	// The instruction is located.
	res := prepareSnapshot(t, tableModule(i32c(0), op(0xd0, 0x70), op(0x26, 0)))
	assert.Regexp(t, `^table\.set at offset 0x[0-9a-f]+ \(func 0\)$`, res.Reason)

	// Restorable: reading tables, call_indirect, memory.init without
	// data.drop, memory.grow (the runtime checks the size), an imported
	// immutable global, an imported function.
	for _, wasm := range [][]byte{
		tableModule(i32c(0), op(0x25, 0), drop, misc(16), u32(0), drop),
		tableModule(i32c(0), i32c(0), i32c(4), misc(8), u32(0), []byte{0}),
		tableModule(i32c(1), op(0x40, 0), drop),
		tableModule(i32c(0), callInd(0)),
		imported(3, i32, 0),
		imported(0, 0),
	} {
		res := prepareSnapshot(t, wasm)
		assert.True(t, res.Restorable, res.Reason)
	}
	// bulkModule has every table instruction: not restorable.
	res = prepareSnapshot(t, bulkModule())
	assert.False(t, res.Restorable)
}

func TestPrepareSnapshotFixtures(t *testing.T) {
	for _, f := range fixtureFiles(t) {
		name := strings.TrimPrefix(filepath.ToSlash(f), "../conformance/fixtures/")
		t.Run(name, func(t *testing.T) {
			b := readFile(t, f)
			if strings.HasPrefix(name, "wat/iso_v128_") {
				_, err := PrepareSnapshot(b)
				require.ErrorIs(t, err, ErrUnsupportedFeature)
				return
			}
			if len(b) > 1<<20 { // compiling multi-megabyte modules takes seconds
				res, err := PrepareSnapshot(b)
				require.NoError(t, err)
				assert.True(t, res.Restorable, res.Reason)
				return
			}
			res := prepareSnapshot(t, b)
			// AssemblyScript's stub runtime and the hand-written modules
			// keep their state in memory and globals, except the two
			// fixtures made to need re-instantiation.
			switch name {
			case "wat/table_set.wasm":
				assert.Regexp(t, `^table\.set at `, res.Reason)
			case "wat/data_drop.wasm":
				assert.Regexp(t, `^data\.drop at `, res.Reason)
			case "wat/iso_table_grow.wasm", "wat/iso_bombs.wasm":
				assert.Regexp(t, `^table\.grow at `, res.Reason)
			default:
				assert.True(t, res.Restorable, res.Reason)
			}
		})
	}
}

// The runtime may instrument first and prepare the result, or the reverse.
func TestPrepareSnapshotComposesWithInstrument(t *testing.T) {
	raw := readFile(t, "../conformance/fixtures/wat/raw.wasm")
	inst := instrument(t, raw, Config{InitialGas: 1000})
	res := prepareSnapshot(t, inst.Module)
	assert.True(t, res.Restorable, res.Reason)
	assert.Equal(t, []string{"__aspect_global_0", GasCounterExport, CallDepthExport}, res.Globals)

	e := newEnv(t)
	m := e.metered(t, &Result{Module: res.Module})
	out, used, err := m.call("sum_to", sumToGas(10), 10)
	require.NoError(t, err)
	assert.Equal(t, []uint64{55}, out)
	assert.Equal(t, sumToGas(10), used)
	for _, name := range res.Globals {
		require.NotNil(t, m.mod.ExportedGlobal(name), name)
	}

	// Prepared, then instrumented: the module's globals keep their index
	// and export, the injected ones are exported by Instrument.
	pre := prepareSnapshot(t, raw)
	inst2 := instrument(t, pre.Module, Config{InitialGas: 1000})
	m2 := e.metered(t, inst2)
	for _, name := range res.Globals {
		require.NotNil(t, m2.mod.ExportedGlobal(name), name)
	}
	// ... but a prepared module is not prepared twice.
	_, err = PrepareSnapshot(inst2.Module)
	assert.ErrorIs(t, err, ErrReservedName)

	// A function at the local limit once instrumented still validates.
	lim := instrument(t, localsModule(locals(maxLocals-1, i32)), Config{})
	prepareSnapshot(t, lim.Module)
	_, err = PrepareSnapshot(localsModule(locals(maxLocals+1, i32)))
	assert.ErrorIs(t, err, ErrTooLarge)
}

func TestPrepareSnapshotErrors(t *testing.T) {
	for _, c := range []struct {
		kind error
		wasm []byte
	}{
		{ErrMalformed, nil},
		{ErrMalformed, featureModule(op(0xff))},
		{ErrInvalid, featureModule(i32c(1))},
		{ErrInvalid, featureModule(call(5))},
		{ErrUnsupportedFeature, featureModule(op(0xfd, 0x0c), make([]byte, 16), drop)},
		{ErrUnsupportedFeature, appendSection(append([]byte{}, wasmHeader...), 5, cat(u32(2), []byte{0, 1, 0, 1}))}, // two memories
		{ErrReservedName, func() []byte {
			w := &wmod{}
			f := w.fn(w.typ(nil, nil), nil)
			w.export(GlobalExportPrefix+"x", 0, f)
			return w.bytes()
		}()},
	} {
		_, err := PrepareSnapshot(c.wasm)
		require.ErrorIs(t, err, c.kind, "%x", c.wasm)
		assert.True(t, isDocumentedError(err))
	}
	// Every truncation fails cleanly or, cut at a section boundary, is a
	// valid module.
	e := newEnv(t)
	for _, m := range seedModules() {
		for n := 0; n < len(m); n++ {
			res, err := PrepareSnapshot(m[:n])
			if err == nil {
				e.compile(t, res.Module)
				continue
			}
			require.True(t, isDocumentedError(err), "%T %v", err, err)
		}
	}
}

// FuzzPrepareSnapshot checks that for any input PrepareSnapshot either
// returns a module that wazero compiles, exporting every global it names,
// or one of the documented errors, and never panics; and that it accepts
// what Instrument returns. Seeds: as FuzzInstrument's.
func FuzzPrepareSnapshot(f *testing.F) {
	for _, file := range fixtureFiles(f) {
		if b := readFile(f, file); len(b) <= 1<<20 {
			f.Add(b)
		}
	}
	for _, m := range seedModules() {
		f.Add(m)
	}
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	check := func(t *testing.T, b []byte) {
		res, err := PrepareSnapshot(b)
		if err != nil {
			if !isDocumentedError(err) {
				t.Fatalf("undocumented error type %T: %v", err, err)
			}
			return
		}
		if res.Restorable != (res.Reason == "") {
			t.Fatalf("Restorable %v with reason %q", res.Restorable, res.Reason)
		}
		cm, err := rt.CompileModule(ctx, res.Module)
		if err != nil {
			t.Fatalf("prepared module does not compile: %v", err)
		}
		defer cm.Close(ctx)
		if len(res.Globals) == 0 {
			return
		}
		m, err := parseModule(res.Module, false)
		if errors.Is(err, ErrReservedName) {
			return // an instrumented input: Instrument's names are reserved here
		}
		if err != nil {
			t.Fatalf("prepared module does not parse: %v", err)
		}
		names := map[string]bool{}
		for _, e := range m.globalExports {
			if m.globals[e.index].mut {
				names[e.name] = true
			}
		}
		for _, name := range res.Globals {
			if !names[name] {
				t.Fatalf("%q is not the export of a mutable global", name)
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		check(t, b)
		if res, err := Instrument(b, Config{}); err == nil {
			if _, err := PrepareSnapshot(res.Module); err != nil {
				t.Fatalf("instrumented module rejected: %v", err)
			}
		}
	})
}

// BenchmarkPrepareSnapshot measures PrepareSnapshot (a full validation) on
// the AssemblyScript greet fixture and on a Go-built wasip1 module: the
// runtime pays it once per compile.
func BenchmarkPrepareSnapshot(b *testing.B) {
	for name, wasm := range map[string][]byte{
		"as-greet": readFile(b, "../conformance/fixtures/as/greet.wasm"),
		"go":       goModule(b),
	} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(wasm)))
			for b.Loop() {
				if _, err := PrepareSnapshot(wasm); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
