//go:build wasmer && cgo

package wasmer_test

import (
	"context"
	"encoding/binary"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	wasmergo "github.com/wasmerio/wasmer-go/wasmer"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	aspect "github.com/aspect-rt/aspect-runtime/runtime"
	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// Benchmarks, all in one run:
//
//	go test -tags wasmer -run '^$' -bench . ./engines/wasmer
//
// Each pairs the adapter with the same work written by hand against
// wasmer-go's own API (its NativeFunction calls, Memory.Data), on the
// conformance fixture wat/raw.wasm:
//
//   - BenchmarkAdd: one call of add(i32, i32).
//   - BenchmarkEcho64: echo of a 64-byte string. "runtime" is the whole
//     runtime (runtime.NewWithEngine on "wasmer", then rt.Call(ctx, "echo",
//     s), which encodes the argument, allocates in the guest, writes,
//     calls, reads and decodes the result); "adapter" is the same ABI work
//     through the SPI alone; "wasmer-go" is the ABI work by hand: encode,
//     allocate, write memory, call echo, read the result back.
//
// The guest's allocate grows memory as it goes, as a real guest's would, in
// every variant alike.

var bg = context.Background()

// wasmerGo instantiates wasm with wasmer-go's own API. The returned
// function keeps every wasmer-go object alive until the benchmark ends:
// wasmer-go frees its C objects from finalizers, and a collection during a
// call would otherwise free the instance under it.
func wasmerGo(b *testing.B, wasm []byte) (*wasmergo.Instance, func()) {
	b.Helper()
	eng := wasmergo.NewEngine()
	store := wasmergo.NewStore(eng)
	mod, err := wasmergo.NewModule(store, wasm)
	require.NoError(b, err)
	inst, err := wasmergo.NewInstance(mod, wasmergo.NewImportObject())
	require.NoError(b, err)
	return inst, func() {
		runtime.KeepAlive(eng)
		runtime.KeepAlive(store)
		runtime.KeepAlive(mod)
		runtime.KeepAlive(inst)
	}
}

func openAdapter(b *testing.B) (engine.Instance, func()) {
	b.Helper()
	d, ok := engine.Lookup("wasmer")
	require.True(b, ok)
	e, err := d.Open(engine.Config{})
	require.NoError(b, err)
	m, err := e.Compile(bg, fixtures.MustBytes("wat/raw.wasm"), engine.CompileConfig{})
	require.NoError(b, err)
	in, err := m.Instantiate(bg, nil, engine.InstanceConfig{})
	require.NoError(b, err)
	return in, func() {
		require.NoError(b, in.Close(bg))
		require.NoError(b, m.Close(bg))
		require.NoError(b, e.Close(bg))
	}
}

func BenchmarkAdd(b *testing.B) {
	b.Run("adapter", func(b *testing.B) {
		in, done := openAdapter(b)
		defer done()
		add := in.Function("add")
		stack := make([]uint64, 2)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			stack[0], stack[1] = uint64(i), 1
			if err := add.Call(bg, stack); err != nil {
				b.Fatal(err)
			}
		}
		if uint32(stack[0]) == 0 && b.N > 1 {
			b.Fatal("add returned 0")
		}
	})

	b.Run("wasmer-go", func(b *testing.B) {
		inst, keep := wasmerGo(b, fixtures.MustBytes("wat/raw.wasm"))
		defer keep()
		add, err := inst.Exports.GetFunction("add")
		require.NoError(b, err)
		var r any
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if r, err = add(int32(i), int32(1)); err != nil {
				b.Fatal(err)
			}
		}
		if r.(int32) == 0 && b.N > 1 {
			b.Fatal("add returned 0")
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
	b.Run("runtime", func(b *testing.B) {
		rt, err := aspect.NewWithEngine(bg, "wasmer", fixtures.MustBytes("wat/raw.wasm"), nil)
		require.NoError(b, err)
		defer rt.Close(bg)
		var out any
		b.ReportAllocs()
		for b.Loop() {
			if out, err = rt.Call(bg, "echo", echoPayload); err != nil {
				b.Fatal(err)
			}
		}
		require.Equal(b, echoPayload, out)
	})

	b.Run("adapter", func(b *testing.B) {
		in, done := openAdapter(b)
		defer done()
		alloc, echo, mem := in.Function("allocate"), in.Function("echo"), in.Memory()
		buf := make([]byte, 0, 128)
		stack := make([]uint64, 1)
		var out string
		b.ReportAllocs()
		for b.Loop() {
			out = echoAdapter(b, alloc, echo, mem, buf, stack)
		}
		require.Equal(b, echoPayload, out)
	})

	b.Run("wasmer-go", func(b *testing.B) {
		inst, keep := wasmerGo(b, fixtures.MustBytes("wat/raw.wasm"))
		defer keep()
		alloc, err := inst.Exports.GetFunction("allocate")
		require.NoError(b, err)
		echo, err := inst.Exports.GetFunction("echo")
		require.NoError(b, err)
		mem, err := inst.Exports.GetMemory("memory")
		require.NoError(b, err)
		buf := make([]byte, 0, 128)
		var out string
		b.ReportAllocs()
		for b.Loop() {
			out = echoWasmerGo(b, alloc, echo, mem, buf)
		}
		require.Equal(b, echoPayload, out)
	})
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

// echoWasmerGo does the same work by hand with wasmer-go: NativeFunction
// calls and Memory.Data.
func echoWasmerGo(b *testing.B, alloc, echo wasmergo.NativeFunction, mem *wasmergo.Memory, buf []byte) string {
	enc := encodeString(buf, echoPayload)
	pv, err := alloc(int32(len(enc)))
	if err != nil {
		b.Fatal(err)
	}
	p := uint64(uint32(pv.(int32)))
	data := mem.Data()
	if p+uint64(len(enc)) > uint64(len(data)) {
		b.Fatal("write")
	}
	copy(data[p:], enc)
	rv, err := echo(int32(p))
	if err != nil {
		b.Fatal(err)
	}
	r := uint64(uint32(rv.(int32)))
	data = mem.Data()
	if r+6 > uint64(len(data)) || binary.LittleEndian.Uint16(data[r:]) != 10 {
		b.Fatal("bad header")
	}
	n := uint64(binary.LittleEndian.Uint32(data[r+2:]))
	if r+6+n > uint64(len(data)) {
		b.Fatal("bad payload")
	}
	return string(data[r+6 : r+6+n])
}
