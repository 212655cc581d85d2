package enginefuzz

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/aspect-rt/aspect-runtime/internal/wasmbin"
	"github.com/aspect-rt/aspect-runtime/metering"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

// wasmModule assembles a module from (id, body) sections.
func wasmModule(sections ...[]byte) []byte {
	out := []byte("\x00asm\x01\x00\x00\x00")
	for _, s := range sections {
		out = append(out, s[0])
		out = wasmbin.AppendULEB(out, uint64(len(s)-1))
		out = append(out, s[1:]...)
	}
	return out
}

func sec(id byte, count int, items ...[]byte) []byte {
	b := wasmbin.AppendULEB([]byte{id}, uint64(count))
	for _, it := range items {
		b = append(b, it...)
	}
	return b
}

func name(s string) []byte { return append(wasmbin.AppendULEB(nil, uint64(len(s))), s...) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func body(code ...byte) []byte {
	b := append([]byte{0}, code...) // no locals
	return append(wasmbin.AppendULEB(nil, uint64(len(b))), b...)
}

// fuzzLike is a module with imports like translate-to-fuzz's: a logging
// function, a call-export function returning i32, an externref global read
// by a defined global's initializer, and an i32 global used as the offset of
// a data and an element segment.
func fuzzLike() []byte {
	types := sec(1, 3,
		[]byte{0x60, 1, typeI32, 0},                // 0: (i32) -> ()
		[]byte{0x60, 1, typeI32, 1, typeI32},       // 1: (i32) -> i32
		[]byte{0x60, 0, 2, typeI32, typeExternref}, // 2: () -> (i32, externref)
	)
	imports := sec(2, 4,
		cat(name("fuzzing-support"), name("log-i32"), []byte{0, 0}),
		cat(name("__fuzz_import"), name("extern"), []byte{3, typeExternref, 0}),
		cat(name("fuzzing-support"), name("call-export-catch"), []byte{0, 1}),
		cat(name("env"), name("base"), []byte{3, typeI32, 0}),
	)
	funcs := sec(3, 2, []byte{1}, []byte{2}) // functions 2 and 3
	table := sec(4, 1, []byte{typeFuncref, 0, 4})
	memory := sec(5, 1, []byte{0, 1})
	globals := sec(6, 2,
		[]byte{typeExternref, 1, 0x23, 0, 0x0b}, // global 2 = global.get 0
		[]byte{typeI32, 0, 0x23, 1, 0x0b},       // global 3 = global.get 1
	)
	exports := sec(7, 3,
		cat(name("run"), []byte{0, 2}),
		cat(name("pair"), []byte{0, 3}),
		cat(name("log"), []byte{0, 0}),
	)
	elems := sec(9, 1, []byte{4, 0x23, 1, 0x0b, 1, 0xd2, 2, 0x0b}) // flags 4: offset global.get 1, exprs [ref.func 2]
	code := sec(10, 2,
		// run(x) = call-export-catch(x) + x + global 3 + i32.load8_u(1); log(x)
		body(0x20, 0, 0x10, 1, 0x20, 0, 0x6a, 0x23, 3, 0x6a, 0x41, 1, 0x2d, 0, 0, 0x6a, 0x20, 0, 0x10, 0, 0x0b),
		// pair() = (7, global 2)
		body(0x41, 7, 0x23, 2, 0x0b),
	)
	data := sec(11, 1, cat([]byte{0, 0x23, 1, 0x0b}, name("\x05\x06"))) // offset global.get 1
	return wasmModule(types, imports, funcs, table, memory, globals, exports, elems, code, data)
}

func TestStubImports(t *testing.T) {
	ctx := context.Background()
	in := fuzzLike()
	if _, err := metering.Instrument(in, metering.Config{}); err != nil {
		t.Fatalf("the test module is invalid: %v", err)
	}
	if _, err := runtime.NewWithEngine(ctx, "wazero", in, nil); !errors.Is(err, runtime.ErrLink) {
		t.Fatalf("the module with its imports: %v, want ErrLink", err)
	}
	out, err := StubImports(in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := metering.Instrument(out, metering.Config{}); err != nil {
		t.Fatalf("the stubbed module is invalid: %v", err)
	}
	exports, err := ExportedFuncs(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []FuncExport{
		{"run", FuncType{Params: []byte{typeI32}, Results: []byte{typeI32}}},
		{"pair", FuncType{Results: []byte{typeI32, typeExternref}}},
		{"log", FuncType{Params: []byte{typeI32}}},
		{LogHashExport, FuncType{Results: []byte{typeI64}}},
	}
	if !reflect.DeepEqual(exports, want) {
		t.Fatalf("exports %+v, want %+v", exports, want)
	}
	if exports[1].Type.Numeric() || !exports[0].Type.Numeric() {
		t.Error("Numeric is wrong")
	}
	for _, eng := range runtime.Engines() {
		rt, err := runtime.NewWithEngine(ctx, eng, out, nil)
		if err != nil {
			t.Fatalf("%s: %v", eng, err)
		}
		// call-export-catch returns 0, global 3 is 0, the data segment was
		// written at 0: 0 + 10 + 0 + 6.
		res, err := rt.CallWasm(ctx, "run", 10)
		if err != nil || len(res) != 1 || res[0] != 16 {
			t.Errorf("%s: run(10) = %v, %v; want [16]", eng, res, err)
		}
		if res, err := rt.CallWasm(ctx, "log", 1); err != nil || len(res) != 0 {
			t.Errorf("%s: log(1) = %v, %v", eng, res, err)
		}
		// run(10) logged 10, then log(1): 10*31 ^ 1.
		if res, err := rt.CallWasm(ctx, LogHashExport); err != nil || len(res) != 1 || res[0] != 10*31^1 {
			t.Errorf("%s: %s() = %v, %v; want [%d]", eng, LogHashExport, res, err, 10*31^1)
		}
		_ = rt.Close(ctx)
	}
}

// TestStubImportsAddsSections: a module whose functions are all imported and
// which has no global section gets the sections the stubs need, in order.
func TestStubImportsAddsSections(t *testing.T) {
	ctx := context.Background()
	in := wasmModule(
		sec(1, 1, []byte{0x60, 0, 1, typeI64}),
		sec(2, 2,
			cat(name("fuzzing-support"), name("sleep"), []byte{0, 0}),
			cat(name("__fuzz_import"), name("g"), []byte{3, typeF64, 1}),
		),
		sec(7, 2, cat(name("f"), []byte{0, 0}), cat(name("g"), []byte{3, 0})),
		[]byte{0, 4, 'n', 'o', 't', 'e'}, // a custom section after the exports
	)
	out, err := StubImports(in)
	if err != nil {
		t.Fatal(err)
	}
	secs, err := wasmbin.Sections(out)
	if err != nil {
		t.Fatal(err)
	}
	var ids []byte
	for _, s := range secs {
		ids = append(ids, s.ID)
	}
	if want := []byte{1, 3, 6, 7, 0, 10}; !bytes.Equal(ids, want) {
		t.Fatalf("sections %v, want %v", ids, want)
	}
	if _, err := metering.Instrument(out, metering.Config{}); err != nil {
		t.Fatalf("the stubbed module is invalid: %v", err)
	}
	rt, err := runtime.NewWithEngine(ctx, "wazero", out, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	if res, err := rt.CallWasm(ctx, "f"); err != nil || len(res) != 1 || res[0] != 0 {
		t.Errorf("f() = %v, %v; want [0]", res, err)
	}
}

func TestStubImportsRejects(t *testing.T) {
	memImport := wasmModule(sec(2, 1, cat(name("env"), name("memory"), []byte{2, 0, 1})))
	if _, err := StubImports(memImport); !errors.Is(err, ErrUnsupported) {
		t.Errorf("memory import: %v, want ErrUnsupported", err)
	}
	if _, err := StubImports([]byte("\x00asm\x01\x00\x00\x00\x02\x05")); !errors.Is(err, wasmbin.ErrMalformed) {
		t.Errorf("truncated module: %v, want ErrMalformed", err)
	}
	// Without imports the module is returned as it is.
	plain := wasmModule(sec(1, 1, []byte{0x60, 0, 0}))
	if out, err := StubImports(plain); err != nil || !bytes.Equal(out, plain) {
		t.Errorf("module without imports changed: %x, %v", out, err)
	}
}
