package metering

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInspectModule: the structure InspectModule reports.
func TestInspectModule(t *testing.T) {
	w := &wmod{}
	tf := w.typ([]byte{i32}, []byte{i32})
	tv := w.typ(nil, nil)
	w.importFunc("env", "f", tf)
	w.imports = append(w.imports, cat(str("env"), str("g"), []byte{3, i64, 1}))
	w.fn(tv, nil)
	w.fn(tf, nil, lget(0))
	w.memory(2, 10)
	w.tables = append(w.tables, []byte{tFuncRef, 0x00, 0x05})
	w.global(i32, false, i32c(7))
	w.export("run", 0, 2)
	w.export("memory", 2, 0)
	w.elems = append(w.elems, cat([]byte{0x00}, i32c(0), end, vecOf(u32(1))))
	w.datas = append(w.datas, cat([]byte{0x00}, i32c(0), end, vecOf([]byte{1}, []byte{2}, []byte{3})), cat([]byte{0x01}, vecOf([]byte{9})))
	w.dataCount = true
	start := uint32(1)
	w.start = &start
	b := w.bytes()

	mi, err := InspectModule(b)
	require.NoError(t, err)
	assert.Equal(t, len(b), mi.Size)
	assert.Equal(t, []FuncType{{Params: []byte{i32}, Results: []byte{i32}}, {Params: []byte{}, Results: []byte{}}}, mi.Types)
	assert.Equal(t, []uint32{tf, tv, tf}, mi.Funcs)
	assert.Equal(t, 1, mi.ImportedFuncs)
	require.Len(t, mi.Imports, 2)
	assert.Equal(t, ImportInfo{Module: "env", Name: "f", Kind: KindFunc, Type: tf, Offset: mi.Imports[0].Offset}, mi.Imports[0])
	assert.Equal(t, ImportInfo{Module: "env", Name: "g", Kind: KindGlobal, Global: GlobalInfo{Type: i64, Mutable: true}, Offset: mi.Imports[1].Offset}, mi.Imports[1])
	assert.Equal(t, byte(0x03), b[mi.Imports[0].Offset]) // the name "env"'s length
	require.Len(t, mi.Exports, 2)
	assert.Equal(t, "run", mi.Exports[0].Name)
	assert.Equal(t, ExportInfo{Name: "memory", Kind: KindMemory, Index: 0, Offset: mi.Exports[1].Offset}, mi.Exports[1])
	require.Len(t, mi.Tables, 1)
	assert.Equal(t, uint32(5), mi.Tables[0].Min)
	assert.Equal(t, &MemoryInfo{Min: 2, Max: 10, HasMax: true, Offset: mi.Memory.Offset}, mi.Memory)
	assert.Equal(t, []GlobalInfo{{Type: i64, Mutable: true}, {Type: i32}}, mi.Globals)
	assert.Equal(t, 1, mi.ImportedGlobals)
	assert.Equal(t, 1, mi.Start)
	assert.Equal(t, []ElementInfo{{Flags: 0, Type: tFuncRef, Count: 1, Offset: mi.Elements[0].Offset}}, mi.Elements)
	assert.Equal(t, []DataInfo{{Flags: 0, Size: 3, Offset: mi.Data[0].Offset}, {Flags: 1, Size: 1, Offset: mi.Data[1].Offset}}, mi.Data)
	assert.True(t, mi.DataCount)
	require.Len(t, mi.Bodies, 2)
	assert.Equal(t, mi.CodeSize, 1+(1+mi.Bodies[0].Size)+(1+mi.Bodies[1].Size))
	assert.Equal(t, byte(0x0b), b[mi.Bodies[1].Offset+mi.Bodies[1].Size-1])
	require.NoError(t, mi.InspectCode(CodeOptions{}))

	// Errors are the parser's.
	_, err = InspectModule([]byte("\x00asm\x01\x00\x00\x00\x01"))
	assert.ErrorIs(t, err, ErrMalformed)
}

// TestInspectCodeEvents: what the code pass reports, in order, with the
// function and offset.
func TestInspectCodeEvents(t *testing.T) {
	w := &wmod{}
	tv := w.typ(nil, nil)
	tm := w.typ([]byte{i32}, []byte{i32, i32})
	w.memory(1)
	// func 0: locals; loop { block { loop { if {} } } }; br_table; ext.
	w.fn(tv, locals(2, i32, 3, byte(tExternRef)),
		loop(empty), block(empty), loop(empty), i32c(0), ifb(empty), end, end, end, end,
		block(empty), i32c(0), []byte{0x0e, 0x02, 0x00, 0x00, 0x00}, end,
		i32c(1), op(0xc0), drop,
		i32c(0), block(byte(tm)), i32c(1), end, drop, drop,
		i32c(0), i32c(0), i32c(0), misc(11), []byte{0x00},
	)
	b := w.bytes()
	mi, err := InspectModule(b)
	require.NoError(t, err)
	var got []string
	require.NoError(t, mi.InspectCode(CodeOptions{Visit: func(e CodeEvent) error {
		s := fmt.Sprintf("f%d ", e.Func)
		switch e.Kind {
		case EventLocals:
			s += fmt.Sprintf("locals %d", e.Count)
		case EventBlock:
			s += fmt.Sprintf("%s depth %d loops %d", e.Op, e.Count, e.Loops)
		case EventBrTable:
			s += fmt.Sprintf("br_table %d", e.Count)
		case EventFeature:
			if e.Op == 0 { // a local declaration
				return appendEvent(&got, s+"local "+e.Feature)
			}
			s += fmt.Sprintf("%s %s", e.Op, e.Feature)
		}
		if e.Kind != EventLocals && b[e.Offset] != byte(e.Op) && e.Op < 0x100 {
			s += fmt.Sprintf(" (offset %#x holds %#x)", e.Offset, b[e.Offset])
		}
		got = append(got, s)
		return nil
	}}))
	assert.Equal(t, []string{
		"f0 locals 2", "f0 locals 5", "f0 local reference-types",
		"f0 loop depth 1 loops 1", "f0 block depth 2 loops 1", "f0 loop depth 3 loops 2", "f0 if depth 4 loops 2",
		"f0 block depth 1 loops 0", "f0 br_table 3",
		"f0 i32.extend8_s sign-extension",
		"f0 block depth 1 loops 0", "f0 block multi-value",
		"f0 memory.fill bulk-memory",
	}, got)

	// A visitor's error stops the pass and is returned as it is.
	stop := errors.New("stop")
	n := 0
	err = mi.InspectCode(CodeOptions{Visit: func(e CodeEvent) error {
		if n++; e.Kind == EventBlock && e.Loops == 2 {
			return stop
		}
		return nil
	}})
	assert.Same(t, stop, err)
	assert.Equal(t, 6, n)

	// Deterministic rejects what Instrument's determinism profile does.
	w = &wmod{}
	w.fn(w.typ(nil, nil), nil, []byte{0x44, 0, 0, 0, 0, 0, 0, 0, 0}, []byte{0x44, 0, 0, 0, 0, 0, 0, 0, 0}, op(0xa0), drop)
	mi, err = InspectModule(w.bytes())
	require.NoError(t, err)
	require.NoError(t, mi.InspectCode(CodeOptions{}))
	var ne *NondeterministicError
	require.ErrorAs(t, mi.InspectCode(CodeOptions{Deterministic: true}), &ne)
	assert.Equal(t, "f64.add", ne.Instruction)
}

// appendEvent appends s to l, for a visitor.
func appendEvent(l *[]string, s string) error {
	*l = append(*l, s)
	return nil
}
