package metering

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"

	_ "github.com/aspect-rt/aspect-runtime/engines/wazero" // registers "wazero"; wasmtime and wasmer: normalize_*_test.go
	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// The modules under testdata/normalize are assembled from their .wat by
// testdata/normalize/gen.sh with the pinned wabt.
func normModule(t testing.TB, name string) []byte {
	t.Helper()
	return readFile(t, filepath.Join("testdata", "normalize", name+".wasm"))
}

func normalize(t testing.TB, b []byte) *Normalized {
	t.Helper()
	res, err := Normalize(b)
	require.NoError(t, err)
	return res
}

// openEngines opens every engine linked into the test binary: wazero always,
// wasmtime in the default cgo build, wasmer with -tags wasmer.
func openEngines(t *testing.T) []engine.Engine {
	t.Helper()
	var engs []engine.Engine
	for _, name := range engine.Drivers() {
		drv, _ := engine.Lookup(name)
		eng, err := drv.Open(engine.Config{})
		require.NoError(t, err, name)
		t.Cleanup(func() { eng.Close(context.Background()) })
		engs = append(engs, eng)
	}
	require.NotEmpty(t, engs)
	return engs
}

// step is one call of an export in an engine transcript.
type step struct {
	fn   string
	args []uint64
}

func callStep(fn string, args ...uint64) step { return step{fn, args} }

// run compiles wasm on eng, instantiates it with host, calls StartExport
// if res says so, then the steps, and returns a transcript of what
// happened: one line per call, with its first result or its trap.
func run(t *testing.T, eng engine.Engine, wasm []byte, start bool, host []engine.HostFunc, steps ...step) []string {
	t.Helper()
	ctx := context.Background()
	mod, err := eng.Compile(ctx, wasm, engine.CompileConfig{})
	require.NoError(t, err, eng.Name())
	defer mod.Close(ctx)
	inst, err := mod.Instantiate(ctx, host, engine.InstanceConfig{})
	require.NoError(t, err, eng.Name())
	defer inst.Close(ctx)
	if start {
		steps = append([]step{callStep(StartExport)}, steps...)
	}
	var out []string
	for _, s := range steps {
		f := inst.Function(s.fn)
		require.NotNil(t, f, "%s: export %s", eng.Name(), s.fn)
		stack := make([]uint64, max(len(s.args), 1))
		copy(stack, s.args)
		line := fmt.Sprintf("%s%v", s.fn, s.args)
		var trap *engine.Trap
		switch err := f.Call(ctx, stack); {
		case errors.As(err, &trap):
			line += " trap: " + trap.Code.String()
		case err != nil:
			line += " error: " + err.Error()
		case len(f.Type().Results) > 0:
			line += fmt.Sprintf(" = %d", stack[0])
		}
		out = append(out, line)
	}
	return out
}

// readU32 reads the i32 at addr of the calling instance's memory, or
// returns -1 when the caller has no memory.
func readU32(c engine.Caller, addr uint32) int64 {
	mem := c.Memory()
	if mem == nil {
		return -1
	}
	b, ok := mem.Read(addr, 4)
	if !ok {
		return -2
	}
	return int64(binary.LittleEndian.Uint32(b))
}

func TestNormalizeStartSection(t *testing.T) {
	in := normModule(t, "start")
	res := normalize(t, in)
	require.True(t, res.Changed)
	require.True(t, res.Start)
	require.True(t, res.RemovedStart)
	require.False(t, res.AddedFunc)
	require.Equal(t, 1, res.StartFunc, "the start function itself is exported")
	m, err := parseModule(res.Module, false)
	require.NoError(t, err)
	require.False(t, m.hasStart, "start section removed")
	require.Contains(t, m.exports, StartExport)
	require.Contains(t, m.exports, "init", "the existing export is kept")

	for _, eng := range openEngines(t) {
		t.Run(eng.Name(), func(t *testing.T) {
			var notes []int64
			host := []engine.HostFunc{{Module: "env", Name: "note", Type: engine.FuncType{Params: []engine.ValueType{engine.I32}},
				Call: func(ctx context.Context, c engine.Caller, stack []uint64) error {
					notes = append(notes, readU32(c, uint32(stack[0])))
					return nil
				}}}
			got := run(t, eng, res.Module, false, host, callStep("read"), callStep("starts"), callStep(StartExport), callStep("read"), callStep("starts"))
			// Nothing ran during instantiation; the start code runs when
			// the runtime calls StartExport, and its host call sees the
			// instance's memory.
			require.Equal(t, []string{"read[] = 0", "starts[] = 0", StartExport + "[]", "read[] = 42", "starts[] = 1"}, got)
			require.Equal(t, []int64{42}, notes)
		})
	}
}

func TestNormalizeImportedStart(t *testing.T) {
	res := normalize(t, normModule(t, "start_import"))
	require.True(t, res.Start)
	require.True(t, res.AddedFunc, "an imported start function is called through an added function")
	require.Equal(t, 2, res.StartFunc)
	for _, eng := range openEngines(t) {
		t.Run(eng.Name(), func(t *testing.T) {
			host := []engine.HostFunc{{Module: "env", Name: "hello",
				Call: func(ctx context.Context, c engine.Caller, stack []uint64) error {
					mem := c.Memory()
					if mem == nil {
						return errors.New("no memory")
					}
					mem.Write(16, []byte{99, 0, 0, 0})
					return nil
				}}}
			got := run(t, eng, res.Module, true, host, callStep("read"))
			require.Equal(t, []string{StartExport + "[]", "read[] = 99"}, got)
		})
	}
}

// TestNormalizeAddsSections checks the sections Normalize inserts when the
// module has none: an imported start function and nothing else.
func TestNormalizeAddsSections(t *testing.T) {
	w := &wmod{}
	w.importFunc("env", "f", w.typ(nil, nil))
	s := uint32(0)
	w.start = &s
	res := normalize(t, w.bytes())
	require.True(t, res.AddedFunc)
	require.Equal(t, 1, res.StartFunc)
	m, err := parseModule(res.Module, false)
	require.NoError(t, err)
	require.Len(t, m.code, 1)
	require.Contains(t, m.exports, StartExport)
	for _, eng := range openEngines(t) {
		t.Run(eng.Name(), func(t *testing.T) {
			calls := 0
			host := []engine.HostFunc{{Module: "env", Name: "f",
				Call: func(ctx context.Context, c engine.Caller, stack []uint64) error {
					calls++
					return nil
				}}}
			require.Equal(t, []string{StartExport + "[]"}, run(t, eng, res.Module, true, host))
			require.Equal(t, 1, calls)
		})
	}
	require.False(t, normalize(t, res.Module).Changed)
}

// TestNormalizeUndecodableBody checks the conservative path: a body holding
// the bytes of memory.init (0xfc 0x08, here inside an i64.const) that
// cannot be decoded (an instruction of the exceptions proposal) counts as
// reading every active data segment; the data count section data.drop
// needs is added.
func TestNormalizeUndecodableBody(t *testing.T) {
	w := &wmod{}
	v := w.typ(nil, nil)
	w.memory(1)
	w.datas = append(w.datas, cat([]byte{1}, str("p")), cat([]byte{0}, i32c(0), end, str("ab")))
	w.fn(v, nil, i64c(1148), drop, op(0x08, 0)) // 1148 is 0xfc 0x08; throw 0
	require.Equal(t, []byte{0x42, 0xfc, 0x08}, i64c(1148))
	res := normalize(t, w.bytes())
	require.True(t, res.AddedFunc)
	require.Equal(t, 1, res.DroppedData)
	s := &normScan{b: res.Module}
	require.NoError(t, s.scan())
	require.True(t, s.hasDataCount)
	c := s.code[len(s.code)-1]
	require.Equal(t, []byte{0, 0xfc, 9, 1, 0x0b}, res.Module[c.start:c.end], "data.drop 1")

	// Decodable, the same bytes are an i64.const: nothing to drop.
	w.codes[0] = cat([]byte{0}, i64c(1148), drop, end)
	require.False(t, normalize(t, w.bytes()).Changed)
}

// segmentSteps exercise memory.init and table.init from every kind of
// segment; segmentSpec is what the specification says they do.
var (
	segmentSteps = []step{
		callStep("starts"),
		callStep("init_active", 100, 0, 0), callStep("init_active", 100, 0, 1), callStep("init_active", 100, 1, 0),
		callStep("init_active2", 100, 0, 0), callStep("init_active2", 100, 0, 4),
		callStep("init_passive", 100, 0, 4), callStep("load", 100), callStep("load", 0), callStep("load", 8),
		callStep("tinit_active", 1, 0, 0), callStep("tinit_active", 1, 0, 1),
		callStep("tinit_decl", 1, 0, 0), callStep("tinit_decl", 1, 0, 1), callStep("tinit_decl", 1, 1, 0),
		callStep("tinit_passive", 1, 0, 2), callStep("call", 0), callStep("call", 2),
	}
	segmentSpec = []string{
		StartExport + "[]",
		"starts[] = 1",
		"init_active[100 0 0]", // copying nothing from offset 0 of a dropped segment is fine
		"init_active[100 0 1] trap: out of bounds memory access",
		"init_active[100 1 0] trap: out of bounds memory access",
		"init_active2[100 0 0]",
		"init_active2[100 0 4] trap: out of bounds memory access",
		"init_passive[100 0 4]",
		"load[100] = 119", // 'w' from the passive segment
		"load[0] = 97",    // the active segments were applied
		"load[8] = 101",
		"tinit_active[1 0 0]",
		"tinit_active[1 0 1] trap: out of bounds table access",
		"tinit_decl[1 0 0]",
		"tinit_decl[1 0 1] trap: out of bounds table access",
		"tinit_decl[1 1 0] trap: out of bounds table access",
		"tinit_passive[1 0 2]",
		"call[0] = 1",
		"call[2] = 2",
	}
)

func TestNormalizeDropsSegments(t *testing.T) {
	in := normModule(t, "segments")
	res := normalize(t, in)
	require.True(t, res.Changed)
	require.True(t, res.Start)
	require.True(t, res.RemovedStart)
	require.True(t, res.AddedFunc)
	require.Equal(t, 2, res.DroppedData, "the two active data segments")
	require.Equal(t, 2, res.DroppedElems, "the active and the declarative element segment")
	m, err := parseModule(in, false)
	require.NoError(t, err)
	require.Equal(t, int(m.numFuncs()), res.StartFunc, "the added function comes last")

	engs := openEngines(t)
	for _, eng := range engs {
		t.Run(eng.Name(), func(t *testing.T) {
			require.Equal(t, segmentSpec, run(t, eng, res.Module, true, nil, segmentSteps...))
		})
	}
	// Without Normalize, wazero lets memory.init read a dropped segment.
	for _, eng := range engs {
		if got := run(t, eng, in, false, nil, segmentSteps...); !slicesEqual(got, segmentSpec[1:]) {
			t.Logf("%s without Normalize departs from the specification: %q", eng.Name(), got)
		}
	}
}

func slicesEqual(a, b []string) bool { return strings.Join(a, "\n") == strings.Join(b, "\n") }

func TestNormalizeDropsDataOnly(t *testing.T) {
	res := normalize(t, normModule(t, "meminit"))
	require.True(t, res.AddedFunc)
	require.False(t, res.RemovedStart)
	require.Equal(t, 1, res.DroppedData)
	require.Zero(t, res.DroppedElems, "no table.init: element segments are left alone")
	for _, eng := range openEngines(t) {
		t.Run(eng.Name(), func(t *testing.T) {
			got := run(t, eng, res.Module, true, nil, callStep("load", 1), callStep("init", 100, 0, 0), callStep("init", 100, 0, 1), callStep("init", 100, 4, 0))
			require.Equal(t, []string{StartExport + "[]", "load[1] = 98", "init[100 0 0]",
				"init[100 0 1] trap: out of bounds memory access", "init[100 4 0] trap: out of bounds memory access"}, got)
		})
	}
}

func TestNormalizeExtendedConst(t *testing.T) {
	// Metering rejects extended constant expressions; it accepts them
	// folded.
	w := &wmod{}
	w.global(i64, false, cat(i64c(1), i64c(2), op(0x7c)))
	var fe *UnsupportedFeatureError
	_, err := Instrument(w.bytes(), Config{})
	require.ErrorAs(t, err, &fe)
	require.Equal(t, "extended-const", fe.Feature)
	_, err = Instrument(normalize(t, w.bytes()).Module, Config{})
	require.NoError(t, err)

	in := normModule(t, "extconst")
	_, err = Instrument(in, Config{})
	require.Error(t, err)
	res := normalize(t, in)
	require.True(t, res.Changed)
	require.False(t, res.Start)
	require.Equal(t, 11, res.Folded) // 7 globals, the data offset, an element offset and item
	_, err = Instrument(res.Module, Config{})
	require.NoError(t, err)

	for _, eng := range openEngines(t) {
		t.Run(eng.Name(), func(t *testing.T) {
			ctx := context.Background()
			mod, err := eng.Compile(ctx, res.Module, engine.CompileConfig{})
			require.NoError(t, err)
			defer mod.Close(ctx)
			inst, err := mod.Instantiate(ctx, nil, engine.InstanceConfig{})
			require.NoError(t, err)
			defer inst.Close(ctx)
			for name, want := range map[string]uint64{
				"off":   120,
				"neg":   asU64(-3 << 32),
				"wrap":  0x10000,
				"min":   0x7fffffff,
				"f":     0x3ff8000000000000, // 1.5
				"gf":    0x3ff8000000000000,
				"chain": asU64(-3<<32 + 7),
			} {
				g := inst.Global(name)
				require.NotNil(t, g, name)
				require.Equal(t, want, g.Get(), name)
			}
			got := run(t, eng, res.Module, false, nil, callStep("load", 128), callStep("load", 129), callStep("call", 3), callStep("call", 4), callStep("call", 5), callStep("counter"), callStep("callrr"))
			require.Equal(t, []string{"load[128] = 104", "load[129] = 105", "call[3] = 7", "call[4] = 7",
				"call[5] trap: out of bounds table access", "counter[] = 120", "callrr[] = 7"}, got)
		})
	}
}

func asU64(v int64) uint64 { return uint64(v) }

func TestNormalizeCombined(t *testing.T) {
	// Extended constants, a start section and memory.init from an active
	// segment in one module, built by hand.
	w := &wmod{dataCount: true}
	v := w.typ(nil, nil)
	ri := w.typ(nil, []byte{i32})
	w.memory(1)
	base := w.global(i32, false, i32c(10))
	cnt := w.global(i32, true, cat(gget(base), i32c(5), op(0x6c)))                           // 50
	w.datas = append(w.datas, cat([]byte{0}, gget(base), i32c(6), op(0x6a), end, str("xy"))) // at 16
	start := w.fn(v, nil, gget(cnt), i32c(1), op(0x6a), gset(cnt))
	w.start = &start
	w.export("get", 0, w.fn(ri, nil, gget(cnt)))
	w.export("init", 0, w.fn(v, nil, i32c(0), i32c(0), i32c(1), misc(8), u32(0), u32(0)))
	w.export("load", 0, w.fn(ri, nil, i32c(16), op(0x2d, 0, 0)))
	in := w.bytes()
	res := normalize(t, in)
	require.True(t, res.RemovedStart)
	require.True(t, res.AddedFunc)
	require.Equal(t, 1, res.DroppedData)
	require.Equal(t, 2, res.Folded)
	for _, eng := range openEngines(t) {
		t.Run(eng.Name(), func(t *testing.T) {
			got := run(t, eng, res.Module, true, nil, callStep("get"), callStep("load"), callStep("init"))
			require.Equal(t, []string{StartExport + "[]", "get[] = 51", "load[] = 120", "init[] trap: out of bounds memory access"}, got)
		})
	}
	require.Equal(t, res.Module, normalize(t, res.Module).Module, "idempotent")
}

// TestNormalizeUnchanged checks that modules needing no rewrite are returned
// as they are (the same slice), among them the conformance fixtures, and
// that in those with a start section only the start section moves.
func TestNormalizeUnchanged(t *testing.T) {
	mods := map[string][]byte{}
	for _, f := range []string{"as/echo", "as/greet", "as/hostcalls", "go/echo", "go/hostcalls", "go/wasi",
		"wat/raw", "wat/traps", "wat/data_drop", "wat/table_set", "wat/start", "wat/hostile"} {
		mods[f] = readFile(t, "../conformance/fixtures/"+f+".wasm")
	}
	for i, m := range seedModules() {
		mods[fmt.Sprint("seed", i)] = m
	}
	// memory.init and table.init from passive segments only, and active
	// segments without memory.init or table.init.
	w := &wmod{dataCount: true}
	v := w.typ(nil, nil)
	w.memory(1)
	w.datas = append(w.datas, cat([]byte{1}, str("ab")), cat([]byte{0}, i32c(0), end, str("cd")))
	w.tables = append(w.tables, []byte{0x70, 0, 1})
	f := w.fn(v, nil, i32c(0), i32c(0), i32c(1), misc(8), u32(0), u32(0), i32c(0), i32c(0), i32c(0), misc(12), u32(0), u32(0))
	w.elems = append(w.elems, cat([]byte{1, 0}, vecOf(u32(f))), cat([]byte{0}, i32c(0), end, vecOf(u32(f))))
	w.export("f", 0, f)
	// An i64 constant and an imported global alone are plain constant
	// expressions.
	w.globals = append(w.globals, cat([]byte{i64, 0}, i64c(-1), end))
	mods["passive"] = w.bytes()
	w = &wmod{}
	w.imports = append(w.imports, cat(str("env"), str("g"), []byte{3, i32, 0}))
	w.globals = append(w.globals, cat([]byte{i32, 0}, gget(0), end))
	mods["imported global"] = w.bytes()

	for name, b := range mods {
		m, err := parseModule(b, false)
		require.NoError(t, err, name)
		res, err := Normalize(b)
		require.NoError(t, err, name)
		if m.hasStart { // only the start section moves
			require.True(t, res.Changed, name)
			require.True(t, res.RemovedStart, name)
			require.False(t, res.AddedFunc, name)
			require.Equal(t, int(m.startFunc), res.StartFunc, name)
			require.Zero(t, res.Folded, name)
			continue
		}
		require.False(t, res.Changed, name)
		require.False(t, res.Start, name)
		require.Equal(t, -1, res.StartFunc, name)
		require.Same(t, &b[0], &res.Module[0], "%s: the input itself", name)
	}
}

func TestNormalizeIdempotent(t *testing.T) {
	for _, name := range []string{"start", "start_import", "segments", "meminit", "extconst"} {
		res := normalize(t, normModule(t, name))
		require.True(t, res.Changed, name)
		again := normalize(t, res.Module)
		require.False(t, again.Changed, name)
		require.Equal(t, res.Start, again.Start, name)
		require.Equal(t, res.StartFunc, again.StartFunc, name)
		require.Zero(t, again.Folded, name)
	}
}

// withCustom appends a custom section.
func withCustom(b []byte, name string, payload ...byte) []byte {
	return appendSection(append([]byte(nil), b...), secCustom, append(appendName(nil, name), payload...))
}

func TestNormalizeReservedExport(t *testing.T) {
	w := &wmod{}
	v := w.typ(nil, nil)
	w.export(StartExport, 0, w.fn(v, nil))
	plain := w.bytes()
	_, err := Normalize(plain)
	var me *ModuleError
	require.ErrorAs(t, err, &me)
	require.ErrorIs(t, err, ErrReservedName)
	require.Contains(t, me.Reason, StartExport)

	// Marked as normalized it is accepted, unchanged.
	marked := withCustom(plain, NormalizedSection, 1)
	res := normalize(t, marked)
	require.False(t, res.Changed)
	require.True(t, res.Start)
	require.Equal(t, 0, res.StartFunc)

	// Marked, but exporting an imported function: it is called through an
	// added function, so that it runs with the instance as its caller.
	w2 := &wmod{}
	w2.export(StartExport, 0, w2.importFunc("env", "f", w2.typ(nil, nil)))
	res = normalize(t, withCustom(w2.bytes(), NormalizedSection, 1))
	require.True(t, res.AddedFunc)
	require.Equal(t, 1, res.StartFunc)
	require.False(t, normalize(t, res.Module).Changed)

	// A start section besides the export is rejected even when marked.
	s := uint32(0)
	w.start = &s
	_, err = Normalize(withCustom(w.bytes(), NormalizedSection, 1))
	require.ErrorIs(t, err, ErrReservedName)

	// Marked, but the exported function does not drop the segments the
	// code reads with memory.init: a function that does is added and
	// exported instead, and it calls the exported one.
	w = &wmod{dataCount: true}
	v = w.typ(nil, nil)
	w.memory(1)
	w.datas = append(w.datas, cat([]byte{0}, i32c(0), end, str("ab")))
	w.export(StartExport, 0, w.fn(v, nil))
	w.fn(v, nil, i32c(0), i32c(0), i32c(1), misc(8), u32(0), u32(0))
	res = normalize(t, withCustom(w.bytes(), NormalizedSection, 1))
	require.True(t, res.AddedFunc)
	require.Equal(t, 2, res.StartFunc)
	require.Equal(t, 1, res.DroppedData)
	m, err := parseModule(res.Module, false)
	require.NoError(t, err)
	require.Len(t, m.exports, 1)
	body := res.Module[m.code[2].start:m.code[2].end]
	require.Equal(t, []byte{0, 0xfc, 9, 0, 0x10, 0, 0x0b}, body, "data.drop 0; call 0")
	require.False(t, normalize(t, res.Module).Changed)
}

func TestNormalizeErrors(t *testing.T) {
	type mk func(w *wmod)
	cases := []struct {
		name  string
		build mk
		kind  error
		want  string
	}{
		{"start with params", func(w *wmod) {
			f := w.fn(w.typ([]byte{i32}, nil), nil)
			w.start = &f
		}, ErrInvalid, "start function must have type"},
		{"start out of range", func(w *wmod) {
			w.typ(nil, nil)
			f := uint32(3)
			w.start = &f
		}, ErrInvalid, "unknown start function"},
		{"global.get of a mutable global", func(w *wmod) {
			w.global(i32, true, i32c(1))
			w.global(i32, false, gget(0))
		}, ErrInvalid, "mutable global"},
		{"global.get of a later global", func(w *wmod) {
			w.global(i32, false, gget(1))
			w.global(i32, false, i32c(1))
		}, ErrInvalid, "later global"},
		{"operand types", func(w *wmod) {
			w.global(i32, false, cat(i64c(1), i64c(2), op(0x6a)))
		}, ErrInvalid, "type mismatch"},
		{"result type", func(w *wmod) {
			w.global(i64, false, cat(i32c(1), i32c(2), op(0x6a)))
		}, ErrInvalid, "type mismatch"},
		{"two values", func(w *wmod) {
			w.global(i32, false, cat(i32c(1), i32c(2)))
		}, ErrInvalid, "2 values"},
		{"non-constant instruction", func(w *wmod) {
			w.global(i32, false, cat(i32c(1), i32c(2), op(0x6d)))
		}, ErrInvalid, "constant expression required"},
		{"memory.init without data count", func(w *wmod) {
			w.memory(1)
			w.datas = append(w.datas, cat([]byte{0}, i32c(0), end, str("ab")))
			w.fn(w.typ(nil, nil), nil, i32c(0), i32c(0), i32c(1), misc(8), u32(0), u32(0))
		}, ErrMalformed, "data count"},
		{"truncated", func(w *wmod) {
			w.customs = append(w.customs, []byte{0xff})
		}, ErrMalformed, ""},
	}
	for _, c := range cases {
		w := &wmod{}
		c.build(w)
		_, err := Normalize(w.bytes())
		var me *ModuleError
		require.ErrorAs(t, err, &me, c.name)
		require.ErrorIs(t, err, c.kind, c.name)
		require.Contains(t, me.Reason, c.want, c.name)
	}

	// Folding an expression that reads an imported global.
	w := &wmod{}
	w.imports = append(w.imports, cat(str("env"), str("g"), []byte{3, i32, 0}))
	w.global(i32, false, gget(0))                         // plain: fine
	w.global(i32, false, cat(gget(0), i32c(1), op(0x6a))) // extended: cannot fold
	_, err := Normalize(w.bytes())
	var ge *ImportedGlobalError
	require.ErrorAs(t, err, &ge)
	require.ErrorIs(t, err, ErrImportedGlobal)
	require.Equal(t, uint32(0), ge.Global)
	w.globals = w.globals[:1]
	w.global(i32, false, gget(1)) // global 1 is global 0, imported
	_, err = Normalize(w.bytes())
	require.ErrorAs(t, err, &ge)

	// A type section of the GC proposal where a type must be added.
	w = &wmod{}
	w.types = append(w.types, []byte{0x4e, 0x01, 0x60, 0x00, 0x00}) // rec (func)
	w.imports = append(w.imports, cat(str("env"), str("f"), []byte{0}, u32(0)))
	s := uint32(0)
	w.start = &s
	_, err = Normalize(w.bytes())
	var fe *UnsupportedFeatureError
	require.ErrorAs(t, err, &fe)
	require.Equal(t, "gc", fe.Feature)
}

// TestNormalizeBounds checks that Normalize rejects the vector counts wazero
// would allocate for before reading (a table count of 2^30 or 2^32 locals
// exhaust memory and end the process; these inputs are never compiled
// here), and accepts the largest counts engines agree on.
func TestNormalizeBounds(t *testing.T) {
	hdr := func(id byte, content ...[]byte) []byte {
		return appendSection(append([]byte(nil), wasmHeader...), id, cat(content...))
	}
	body := func(locals []byte) []byte {
		w := &wmod{}
		w.fn(w.typ(nil, nil), locals)
		return w.bytes()
	}
	for name, b := range map[string][]byte{
		"types":      hdr(secType, u32(1<<30)),
		"parameters": hdr(secType, u32(1), []byte{0x60}, u32(1<<30)),
		"results":    hdr(secType, u32(1), []byte{0x60, 0}, u32(1<<30)),
		"functions":  hdr(secFunction, u32(1<<30)),
		"tables":     hdr(secTable, u32(1<<30)),
		"memories":   hdr(secMemory, u32(1<<30)),
		"imports":    hdr(secImport, u32(1<<30)),
		"locals":     body(locals(int(0xfffffff0), i32)),
		"locals sum": body(locals(40000, i32, 10001, i64)),
	} {
		_, err := Normalize(b)
		var me *ModuleError
		require.ErrorAs(t, err, &me, name)
		require.True(t, me.Kind == ErrTooLarge || me.Kind == ErrMalformed, "%s: %v", name, err)
	}
	for name, b := range map[string][]byte{
		"50000 locals":      body(locals(40000, i32, 10000, i64)),
		"1000 parameters":   hdr(secType, u32(1), []byte{0x60}, u32(1000), bytes.Repeat([]byte{i32}, 1000), u32(0)),
		"GC types are left": hdr(secType, u32(2), []byte{0x4e, 1, 0x60, 0, 0}, []byte{0x4e, 0}),
	} {
		_, err := Normalize(b)
		require.NoError(t, err, name)
	}
}

// TestNormalizeNameSection checks that the name section stays valid and
// names the same functions.
func TestNormalizeNameSection(t *testing.T) {
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	exportNames := func(b []byte) map[string]string {
		cm, err := rt.CompileModule(ctx, b)
		require.NoError(t, err)
		names := map[string]string{}
		for n, d := range cm.ExportedFunctions() {
			names[n] = d.Name()
		}
		return names
	}
	for _, name := range []string{"start", "segments", "meminit"} {
		in := normModule(t, name)
		before, after := exportNames(in), exportNames(normalize(t, in).Module)
		for n, fn := range before {
			require.Equal(t, fn, after[n], "%s: export %s", name, n)
		}
	}
	names := exportNames(normalize(t, normModule(t, "start")).Module)
	require.Equal(t, "start", names["init"])
	require.Equal(t, "start", names[StartExport])
}

// TestNormalizeCustomSections checks the custom sections Normalize removes
// because wazero mishandles them, while the specification ignores their
// content: a name section declaring more names than it holds (wazero
// allocates for all of them first: 2^32 local names exhaust memory and end
// the process), a second name section (wazero rejects the module) and an
// empty custom section at the end (wazero reads past the end).
func TestNormalizeCustomSections(t *testing.T) {
	base := func() *wmod {
		w := &wmod{}
		w.export("f", 0, w.fn(w.typ(nil, []byte{i32}), nil, i32c(7)))
		return w
	}
	sub := func(id byte, content ...[]byte) []byte {
		c := cat(content...)
		return cat([]byte{id}, u32(uint32(len(c))), c)
	}
	names := cat(str("name"), sub(0, str("m")), sub(1, vecOf(cat(u32(0), str("f")))))
	// Local names of function 0: 2^32-16 of them, declared.
	hostile := cat(str("name"), sub(2, u32(1), u32(0), u32(0xfffffff0)))
	cases := []struct {
		name    string
		customs [][]byte
		kept    int // custom sections left
		wazero  bool
	}{
		{"valid name section", [][]byte{names}, 1, true},
		{"hostile name section", [][]byte{hostile}, 0, false},
		{"subsection larger than the section", [][]byte{cat(str("name"), []byte{1}, u32(9), u32(1), u32(0))}, 0, false},
		{"subsection content shorter than its size", [][]byte{cat(str("name"), sub(1, vecOf(cat(u32(0), str("f"))), []byte{0}))}, 0, false},
		{"second name section", [][]byte{names, names}, 1, false},
		{"empty custom section at the end", [][]byte{names, str("x"), str("y")}, 1, false},
		{"empty custom section before another", [][]byte{str("x"), cat(str("y"), []byte{1})}, 2, true},
	}
	engs := openEngines(t)
	for _, c := range cases {
		w := base()
		w.customs = c.customs
		in := w.bytes()
		res := normalize(t, in)
		require.Equal(t, len(c.customs)-c.kept, res.DroppedCustom, c.name)
		require.Equal(t, res.DroppedCustom > 0, res.Changed, c.name)
		s := &normScan{b: res.Module}
		require.NoError(t, s.scan(), c.name)
		require.Len(t, s.secs, 4+c.kept, c.name) // type, function, export, code
		for _, eng := range engs {
			if eng.Name() == "wazero" && !c.wazero && c.name != "hostile name section" {
				_, err := eng.Compile(context.Background(), in, engine.CompileConfig{})
				require.Error(t, err, "%s: wazero rejects the input", c.name)
			}
			require.Equal(t, []string{"f[] = 7"}, run(t, eng, res.Module, false, nil, callStep("f")), "%s on %s", c.name, eng.Name())
		}
	}
}

func TestNormalizeAcceptedDownstream(t *testing.T) {
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	for _, name := range []string{"start", "start_import", "segments", "meminit", "extconst"} {
		res := normalize(t, normModule(t, name))
		_, err := Instrument(res.Module, Config{YieldInterval: 1000})
		require.NoError(t, err, name)
		_, err = PrepareSnapshot(res.Module)
		require.NoError(t, err, name)
		_, err = rt.CompileModule(ctx, res.Module)
		require.NoError(t, err, name)
	}
}

// goWithStart is the 3 MB Go module with a start section calling one of its
// [] -> [] functions.
func goWithStart(t testing.TB) []byte {
	b := readFile(t, "../conformance/fixtures/go/echo.wasm")
	m, err := parseModule(b, false)
	require.NoError(t, err)
	s := &normScan{b: b}
	require.NoError(t, s.scan())
	f := -1
	for i := m.numImportedFuncs; i < m.numFuncs() && f < 0; i++ {
		if ft := m.types[m.funcs[i]]; len(ft.params) == 0 && len(ft.results) == 0 {
			f = int(i)
		}
	}
	require.GreaterOrEqual(t, f, 0)
	hdr := s.section(secElement).hdr
	out := append([]byte(nil), b[:hdr]...)
	out = appendSection(out, secStart, appendU32(nil, uint32(f)))
	return append(out, b[hdr:]...)
}

func TestNormalizeGoModule(t *testing.T) {
	b := readFile(t, "../conformance/fixtures/go/echo.wasm")
	res := normalize(t, b)
	require.False(t, res.Changed)
	res = normalize(t, goWithStart(t))
	require.True(t, res.RemovedStart)
	require.False(t, res.AddedFunc)
	m, err := parseModule(res.Module, false)
	require.NoError(t, err)
	require.False(t, m.hasStart)
	require.Contains(t, m.exports, StartExport)
	require.Less(t, len(res.Module), len(b)+64, "the input plus an export and the marker section")
}

// BenchmarkNormalize measures the check on a module that needs no rewrite
// (the 3 MB Go module, which has an active element segment: its functions
// holding 0xfc 0x0c are decoded to look for table.init) and a rewrite that
// removes its start section.
func BenchmarkNormalize(b *testing.B) {
	mods := map[string][]byte{
		"unchanged": readFile(b, "../conformance/fixtures/go/echo.wasm"),
		"start":     goWithStart(b),
	}
	for _, name := range []string{"unchanged", "start"} {
		m := mods[name]
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(m)))
			for b.Loop() {
				if _, err := Normalize(m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// FuzzNormalize checks that Normalize never panics, returns only documented
// errors, keeps valid modules valid (for metering's validator and wazero's
// compiler), makes valid for metering's validator only modules it folded
// or added a function to, and is idempotent. Seeds: the test modules of
// this package, the conformance fixtures up to 1 MiB and
// testdata/fuzz/FuzzNormalize.
//
// wazero compiles only outputs of Normalize that metering validated: it
// trusts vector counts, so a malformed module declaring a billion imports,
// or a name section declaring a billion local names, makes it allocate
// until the process dies (Normalize removes such name sections).
func FuzzNormalize(f *testing.F) {
	entries, err := os.ReadDir(filepath.Join("testdata", "normalize"))
	require.NoError(f, err)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".wasm") {
			f.Add(readFile(f, filepath.Join("testdata", "normalize", e.Name())))
		}
	}
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
	compile := func(b []byte) error {
		cm, err := rt.CompileModule(ctx, b)
		if err == nil {
			cm.Close(ctx)
		}
		return err
	}
	validates := func(b []byte) bool {
		_, err := PrepareSnapshot(b)
		return err == nil
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		res, err := Normalize(in)
		inValid := validates(in)
		if err != nil {
			var ge *ImportedGlobalError
			if !isDocumentedError(err) && !errors.As(err, &ge) {
				t.Fatalf("undocumented error type %T: %v", err, err)
			}
			if inValid && !errors.Is(err, ErrReservedName) {
				t.Fatalf("metering validates the input, Normalize fails: %v", err)
			}
			return
		}
		out := res.Module
		if !res.Changed && len(in) > 0 && &out[0] != &in[0] {
			t.Fatal("unchanged module is a copy")
		}
		outValid := validates(out)
		if inValid && !outValid {
			_, err := PrepareSnapshot(out)
			t.Fatalf("metering validates the input but not the output: %v", err)
		}
		if !inValid && outValid && res.Folded == 0 && !res.AddedFunc {
			t.Fatal("metering validates the output but not the input")
		}
		if outValid {
			if err := compile(out); err != nil {
				t.Fatalf("metering validates the output, wazero does not compile it: %v", err)
			}
		}
		again, err := Normalize(out)
		if err != nil {
			t.Fatalf("normalizing the output: %v", err)
		}
		if again.Changed {
			t.Fatal("not idempotent")
		}
		if again.Start != res.Start || again.StartFunc != res.StartFunc {
			t.Fatalf("start export: %v %d, then %v %d", res.Start, res.StartFunc, again.Start, again.StartFunc)
		}
	})
}
