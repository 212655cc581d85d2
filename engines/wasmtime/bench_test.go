//go:build cgo && !wazero && !wasmer

package wasmtime

import (
	"context"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	wtgo "github.com/bytecodealliance/wasmtime-go/v44"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// Benchmarks, all in one run:
//
//	go test -run '^$' -bench . ./engines/wasmtime
//
// BenchmarkAdd compares one call of add(i32,i32) through the adapter with
// wasmtime-go's Func.Call and with the C API's wasmtime_func_call_unchecked
// (one cgo call per op, and a C loop with no cgo per op). BenchmarkHostCall
// measures the guest -> host -> guest round trip every ABI call that returns
// a host value makes. BenchmarkEcho64 is the ABI-level work of calling
// echo(String) with a 64-byte string, through the adapter and by hand with
// wasmtime-go's Func.Call. Add and Echo64 use the conformance fixture
// wat/raw.wasm, the module of the runtime-level benchmarks; its allocate
// grows the memory as it goes, as a real guest's would.

func BenchmarkAdd(b *testing.B) {
	e := openEngine(b)
	in := instantiate(b, compileBytes(b, e, fixtures.MustBytes("wat/raw.wasm"), engine.CompileConfig{}), nil)
	add := fn(b, in, "add")

	b.Run("adapter", func(b *testing.B) {
		stack := make([]uint64, 2)
		for i := 0; b.Loop(); i++ {
			stack[0], stack[1] = uint64(i), 1
			if err := add.Call(bg, stack); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("adapter-ctx-with-deadline", func(b *testing.B) {
		ctx, cancel := context.WithTimeout(bg, time.Hour)
		defer cancel()
		stack := make([]uint64, 2)
		for i := 0; b.Loop(); i++ {
			stack[0], stack[1] = uint64(i), 1
			if err := add.Call(ctx, stack); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("wasmtime-go-Func.Call", func(b *testing.B) {
		store, inst := wasmtimeGoStore(b, fixtures.MustBytes("wat/raw.wasm"), nil)
		f := inst.GetFunc(store, "add")
		for i := 0; b.Loop(); i++ {
			if _, err := f.Call(store, int32(i), int32(1)); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("c-unchecked-per-cgo-call", func(b *testing.B) {
		r := newRawCall(add.(*wtFunction))
		defer r.free()
		for i := 0; b.Loop(); i++ {
			r.set(0, uint64(uint32(i)))
			r.set(1, 1)
			if err := r.call(); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("c-unchecked-c-loop", func(b *testing.B) {
		r := newRawCall(add.(*wtFunction))
		defer r.free()
		r.set(0, 41)
		r.set(1, 1)
		b.ResetTimer()
		if err := r.loop(b.N); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if uint32(r.get(0)) != 42 {
			b.Fatalf("add returned %d", uint32(r.get(0)))
		}
	})
}

// wasmtimeGoStore instantiates wasm with wasmtime-go's own API (its default
// configuration) in a new store.
func wasmtimeGoStore(b *testing.B, wasm []byte, imports func(*wtgo.Store) []wtgo.AsExtern) (*wtgo.Store, *wtgo.Instance) {
	b.Helper()
	if imports == nil {
		imports = func(*wtgo.Store) []wtgo.AsExtern { return nil }
	}
	eng := wtgo.NewEngine()
	b.Cleanup(eng.Close)
	mod, err := wtgo.NewModule(eng, wasm)
	require.NoError(b, err)
	b.Cleanup(mod.Close)
	store := wtgo.NewStore(eng)
	b.Cleanup(store.Close)
	inst, err := wtgo.NewInstance(store, mod, imports(store))
	require.NoError(b, err)
	return store, inst
}

// hostCallWAT: call_reenter(n) calls the host, which calls allocate(n) in the
// guest and returns the pointer.
const hostCallWAT = `(module
  (import "env" "reenter" (func $reenter (param i32) (result i32)))
  (memory (export "memory") 1)
` + allocWAT + `
  (func (export "call_reenter") (param i32) (result i32) (call $reenter (local.get 0)))
)`

func BenchmarkHostCall(b *testing.B) {
	b.Run("adapter", func(b *testing.B) {
		e := openEngine(b)
		m := compile(b, e, hostCallWAT, engine.CompileConfig{})
		in := instantiate(b, m, []engine.HostFunc{{
			Module: "env", Name: "reenter", Type: ft(vt(i32), i32),
			Call: func(ctx context.Context, c engine.Caller, s []uint64) error {
				return c.Function("allocate").Call(ctx, s)
			},
		}})
		f := fn(b, in, "call_reenter")
		stack := make([]uint64, 1)
		for b.Loop() {
			stack[0] = 16
			if err := f.Call(bg, stack); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("wasmtime-go-Func.Call", func(b *testing.B) {
		ty := wtgo.NewFuncType([]*wtgo.ValType{wtgo.NewValType(wtgo.KindI32)}, []*wtgo.ValType{wtgo.NewValType(wtgo.KindI32)})
		store, inst := wasmtimeGoStore(b, wat(b, hostCallWAT), func(s *wtgo.Store) []wtgo.AsExtern {
			return []wtgo.AsExtern{wtgo.NewFunc(s, ty, func(c *wtgo.Caller, args []wtgo.Val) ([]wtgo.Val, *wtgo.Trap) {
				p, err := c.GetExport("allocate").Func().Call(c, args[0].I32())
				if err != nil {
					return nil, wtgo.NewTrap(err.Error())
				}
				return []wtgo.Val{wtgo.ValI32(p.(int32))}, nil
			})}
		})
		f := inst.GetFunc(store, "call_reenter")
		for b.Loop() {
			if _, err := f.Call(store, int32(16)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// echoPayload is the 64-byte string of the echo benchmarks.
var echoPayload = strings.Repeat("0123456789abcdef", 4)

// encodeString encodes s as an ABI String value (tag 10, little-endian
// int32 length, bytes) into buf.
func encodeString(buf []byte, s string) []byte {
	buf = binary.LittleEndian.AppendUint16(buf[:0], 10)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(s)))
	return append(buf, s...)
}

func BenchmarkEcho64(b *testing.B) {
	b.Run("adapter", func(b *testing.B) {
		e := openEngine(b)
		in := instantiate(b, compileBytes(b, e, fixtures.MustBytes("wat/raw.wasm"), engine.CompileConfig{}), nil)
		alloc, echo, mem := fn(b, in, "allocate"), fn(b, in, "echo"), in.Memory()
		buf := make([]byte, 0, 128)
		stack := make([]uint64, 1)
		var out string
		for b.Loop() {
			out = echoAdapter(b, alloc, echo, mem, buf, stack)
		}
		require.Equal(b, echoPayload, out)
	})

	b.Run("wasmtime-go-Func.Call", Echo64WasmtimeGo)
}

// Echo64WasmtimeGo is the hand-written baseline of BenchmarkEcho64 and of
// the runtime-level BenchmarkRuntimeEcho64 (external test package): the same
// ABI work done with wasmtime-go's Func.Call.
func Echo64WasmtimeGo(b *testing.B) {
	store, inst := wasmtimeGoStore(b, fixtures.MustBytes("wat/raw.wasm"), nil)
	alloc, echo := inst.GetFunc(store, "allocate"), inst.GetFunc(store, "echo")
	mem := inst.GetExport(store, "memory").Memory()
	buf := make([]byte, 0, 128)
	var out string
	for b.Loop() {
		out = echoWasmtimeGo(b, store, alloc, echo, mem, buf)
	}
	require.Equal(b, echoPayload, out)
}

// echoAdapter does the ABI work of calling echo(String) through the SPI:
// encode, allocate in the guest, write, call, read the result's header and
// payload, copy out the string.
func echoAdapter(b *testing.B, alloc, echo engine.Function, mem engine.Memory, buf []byte, stack []uint64) string {
	enc := encodeString(buf, echoPayload)
	stack[0] = uint64(len(enc))
	if err := alloc.Call(bg, stack); err != nil {
		b.Fatal(err)
	}
	p := uint32(stack[0])
	if !mem.Write(p, enc) {
		b.Fatal("write")
	}
	stack[0] = uint64(p)
	if err := echo.Call(bg, stack); err != nil {
		b.Fatal(err)
	}
	r := uint32(stack[0])
	hdr, ok := mem.Read(r, 6)
	if !ok || binary.LittleEndian.Uint16(hdr) != 10 {
		b.Fatal("bad header")
	}
	payload, ok := mem.Read(r+6, binary.LittleEndian.Uint32(hdr[2:]))
	if !ok {
		b.Fatal("bad payload")
	}
	return string(payload)
}

// echoWasmtimeGo does the same work by hand with wasmtime-go's Func.Call
// and Memory.UnsafeData.
func echoWasmtimeGo(b *testing.B, store *wtgo.Store, alloc, echo *wtgo.Func, mem *wtgo.Memory, buf []byte) string {
	enc := encodeString(buf, echoPayload)
	pv, err := alloc.Call(store, int32(len(enc)))
	if err != nil {
		b.Fatal(err)
	}
	p := uint32(pv.(int32))
	data := mem.UnsafeData(store)
	if uint64(p)+uint64(len(enc)) > uint64(len(data)) {
		b.Fatal("write")
	}
	copy(data[p:], enc)
	rv, err := echo.Call(store, int32(p))
	if err != nil {
		b.Fatal(err)
	}
	r := uint64(uint32(rv.(int32)))
	data = mem.UnsafeData(store)
	if r+6 > uint64(len(data)) || binary.LittleEndian.Uint16(data[r:]) != 10 {
		b.Fatal("bad header")
	}
	n := uint64(binary.LittleEndian.Uint32(data[r+2:]))
	if r+6+n > uint64(len(data)) {
		b.Fatal("bad payload")
	}
	return string(data[r+6 : r+6+n])
}

func BenchmarkInstantiate(b *testing.B) {
	b.Run("adapter", func(b *testing.B) {
		e := openEngine(b)
		m := compile(b, e, hostWAT, engine.CompileConfig{})
		host := hostFuncs(nil, nil, nil, nil, nil)
		for b.Loop() {
			in, err := m.Instantiate(bg, host, engine.InstanceConfig{})
			if err != nil {
				b.Fatal(err)
			}
			if err := in.Close(bg); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("wasmtime-go", func(b *testing.B) {
		eng := wtgo.NewEngine()
		defer eng.Close()
		mod, err := wtgo.NewModule(eng, wat(b, hostWAT))
		require.NoError(b, err)
		defer mod.Close()
		ty := func(params []wtgo.ValKind, results ...wtgo.ValKind) *wtgo.FuncType {
			var p, r []*wtgo.ValType
			for _, k := range params {
				p = append(p, wtgo.NewValType(k))
			}
			for _, k := range results {
				r = append(r, wtgo.NewValType(k))
			}
			return wtgo.NewFuncType(p, r)
		}
		I32, I64, F32, F64 := wtgo.KindI32, wtgo.KindI64, wtgo.KindF32, wtgo.KindF64
		types := []*wtgo.FuncType{
			ty([]wtgo.ValKind{I32}, I32), ty(nil), ty([]wtgo.ValKind{I32}, I32),
			ty([]wtgo.ValKind{I32, I64, F32, F64, I32}, F64, F32, I64, I32, I32), ty(nil),
		}
		for b.Loop() {
			store := wtgo.NewStore(eng)
			var imports []wtgo.AsExtern
			for _, t := range types {
				imports = append(imports, wtgo.NewFunc(store, t, func(*wtgo.Caller, []wtgo.Val) ([]wtgo.Val, *wtgo.Trap) { return nil, nil }))
			}
			if _, err := wtgo.NewInstance(store, mod, imports); err != nil {
				b.Fatal(err)
			}
			store.Close()
		}
	})
}
