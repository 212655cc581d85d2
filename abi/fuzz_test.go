package abi_test

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"testing"

	"github.com/aspect-rt/aspect-runtime/abi"
)

// fuzzSeed is a named seed input for FuzzDecode; testdata/fuzz/FuzzDecode
// holds the same inputs as corpus files.
type fuzzSeed struct {
	name string
	data []byte
}

func fuzzSeeds() []fuzzSeed {
	inner := encStruct(fld{"A", encI32(-7)}, fld{"b", encStr("x")})
	return []fuzzSeed{
		{"int8", encI8(-128)},
		{"int16", encI16(-300)},
		{"int32", encI32(5)},
		{"int64", encI64(math.MinInt64)},
		{"uint8", encU8(255)},
		{"uint16", encU16(65535)},
		{"uint32", encU32(1 << 31)},
		{"uint64", encU64(math.MaxUint64)},
		{"bool", encBool(true)},
		{"string", encStr("héllo")},
		{"string-empty", encStr("")},
		{"bytearray", encBytes([]byte{0, 1, 2, 255})},
		{"float32-snan", encF32(0x7f800001)},
		{"float64-nan-payload", encF64(0x7ff8000000000123)},
		{"float64-negzero", encF64(1 << 63)},
		{"nil", encNil()},
		{"list", encList(encU8(1), encU8(2))},
		{"list-empty", encList()},
		{"list-mixed", encList(encI8(1), encStr("s"), encNil(), encBool(false), encF32(0x3f800000), encBytes(nil))},
		{"map", encMap(encStr("a"), encBool(true))},
		{"map-empty", encMap()},
		{"map-all-key-tags", encMap(
			encI8(-1), encNil(), encI16(2), encNil(), encI32(3), encNil(), encI64(-4), encNil(),
			encU8(5), encNil(), encU16(6), encNil(), encU32(7), encNil(), encU64(8), encNil(),
			encBool(false), encNil(), encBool(true), encNil(), encStr(""), encNil(), encStr("k"), encNil())},
		{"map-string-int64", encMap(encStr("a"), encI64(1), encStr("b"), encI64(-2))},
		{"list-of-maps", encList(encMap(encStr("x"), encI64(1)), encMap())},
		{"struct", encStruct(fld{"x", encI8(1)})},
		{"struct-empty", encStruct()},
		{"struct-typed", encStruct(fld{"A", encI32(1)}, fld{"b", encStr("s")}, fld{"C", encList(encF64(0))},
			fld{"D", encMap(encStr("k"), encList())}, fld{"E", inner}, fld{"F", encBytes([]byte{1, 2})},
			fld{"G", encStruct(fld{"z", encNil()})}, fld{"H", encStr("raw")}, fld{"I", encBool(true)},
			fld{"J", encU64(9)}, fld{"K", encMap(encI16(-1), encStr("m"))}, fld{"L", encF32(0)})},
		{"nested", encList(encMap(encI8(0), encStruct(fld{"l", encList(encList())})))},
		{"deep-64", nestedLists(64)},
		{"deep-65", nestedLists(65)},
		{"bad-bool", val(abi.TagBool, []byte{2})},
		{"bad-tag", hdr(18, 0)},
		{"bad-negative-length", hdr(abi.TagString, -1)},
		{"bad-truncated", h("0a00 05000000 6869")},
		{"bad-count", val(abi.TagList, u32(math.MaxUint32))},
		{"bad-map-order", encMap(encStr("b"), encNil(), encStr("a"), encNil())},
		{"bad-map-key", encMap(encF64(0), encNil())},
		{"bad-struct-dup", encStruct(fld{"a", encNil()}, fld{"a", encNil()})},
		{"bad-struct-empty-name", val(abi.TagStruct, u32(1), u16(0), encNil())},
		{"bad-trailing", cat(encNil(), []byte{0})},
		{"bad-slack", val(abi.TagList, u32(0), []byte{0})},
	}
}

// fuzzStruct is a typed target with nested fields of many kinds.
type fuzzStruct struct {
	A    int32
	B    string `abi:"b"`
	C    []float64
	D    map[string]any
	E    *fuzzStruct
	F    [2]uint8
	G    abi.Struct
	H    []byte
	I    bool
	J    uint64
	K    map[int16]string
	L    float32
	M    [][]int8
	N    map[bool]*uint16
	Skip int `abi:"-"`
}

// FuzzDecode: arbitrary bytes never panic any decoder; every accepted input
// is canonical (re-encodes to itself), and all decoders agree on validity.
func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s.data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, derr := abi.Decode(data)
		verr := abi.Validate(data)
		if (derr == nil) != (verr == nil) {
			t.Fatalf("Decode and Validate disagree: %v vs %v", derr, verr)
		}
		if derr != nil {
			if derr.Error() != verr.Error() {
				t.Fatalf("Decode and Validate report different errors: %v vs %v", derr, verr)
			}
			var de *abi.DecodeError
			if !errors.As(derr, &de) || !errors.Is(derr, abi.ErrMalformed) {
				t.Fatalf("Decode error %T %v is not a DecodeError matching ErrMalformed", derr, derr)
			}
			if de.Offset < 0 || de.Offset > len(data) {
				t.Fatalf("offset %d outside input of %d bytes", de.Offset, len(data))
			}
		} else {
			out, err := abi.Marshal(v)
			if err != nil {
				t.Fatalf("Marshal of decoded %#v: %v", v, err)
			}
			if !bytes.Equal(out, data) {
				t.Fatalf("not canonical: decoded %#v\n in: %x\nout: %x", v, data, out)
			}
			n, err := abi.ValueSize(data)
			if err != nil || n != len(data) {
				t.Fatalf("ValueSize = %d, %v for a valid value of %d bytes", n, err, len(data))
			}
			mem := sliceMem(append([]byte{0, 0, 0}, data...))
			rv, err := abi.ReadValue(mem, 3)
			if err != nil || !bytes.Equal(rv, data) {
				t.Fatalf("ReadValue = %x, %v", rv, err)
			}
		}

		// Unmarshal into *any is Decode.
		var a any
		aerr := abi.Unmarshal(data, &a)
		if (aerr == nil) != (derr == nil) {
			t.Fatalf("Unmarshal(*any) and Decode disagree: %v vs %v", aerr, derr)
		}
		if aerr == nil {
			out, err := abi.Marshal(a)
			if err != nil || !bytes.Equal(out, data) {
				t.Fatalf("Unmarshal(*any) result re-encodes to %x, %v", out, err)
			}
		}

		// Typed targets.
		checkTyped(t, data, verr, new(fuzzStruct))
		checkTyped(t, data, verr, new([]map[string]int64))
		checkTyped(t, data, verr, new(*int32))
		checkTyped(t, data, verr, new(map[any]any))
		checkTyped(t, data, verr, new([]any))
		checkTyped(t, data, verr, new(abi.Struct))
		checkTyped(t, data, verr, new([3]string))
		checkTyped(t, data, verr, new(float32))
		checkTyped(t, data, verr, new(uint16))
	})
}

// checkTyped unmarshals data into ptr and checks it against Validate's
// verdict verr: success implies validity, valid input is never reported
// malformed, and a decoded value re-encodes to bytes that decode the same.
func checkTyped(t *testing.T, data []byte, verr error, ptr any) {
	t.Helper()
	err := abi.Unmarshal(data, ptr)
	if err == nil && verr != nil {
		t.Fatalf("Unmarshal into %T accepted input Validate rejects (%v)", ptr, verr)
	}
	if err != nil {
		if verr == nil && errors.Is(err, abi.ErrMalformed) {
			t.Fatalf("Unmarshal into %T calls valid input malformed: %v", ptr, err)
		}
		var de *abi.DecodeError
		var te *abi.TypeError
		if !errors.As(err, &de) && !errors.As(err, &te) {
			t.Fatalf("Unmarshal into %T: unexpected error type %T: %v", ptr, err, err)
		}
		return
	}
	b1, err := abi.Marshal(ptr)
	if err != nil {
		t.Fatalf("Marshal of decoded %T: %v", ptr, err)
	}
	fresh := reflect.New(reflect.TypeOf(ptr).Elem())
	if err := abi.Unmarshal(b1, fresh.Interface()); err != nil {
		t.Fatalf("re-decoding %T from %x: %v", ptr, b1, err)
	}
	b2, err := abi.Marshal(fresh.Interface())
	if err != nil || !bytes.Equal(b1, b2) {
		t.Fatalf("%T does not round-trip: %x then %x, %v", ptr, b1, b2, err)
	}
}

// roundTripValue is built from fuzzed scalars by FuzzRoundTrip.
type roundTripValue struct {
	I8   int8
	I16  int16
	I32  int32
	I64  int64
	U8   uint8
	U16  uint16
	U32  uint32
	U64  uint64
	Int  int
	Uint uint
	B    bool
	S    string
	Raw  []byte
	F32  float32
	F64  float64
	List []string
	Arr  [2]int16
	M    map[string]uint32
	MI   map[int64]bool
	Ptr  *roundTripValue
	Any  any
	Gen  abi.Struct
}

// FuzzRoundTrip: structured values built from fuzzed scalars survive
// Marshal/Unmarshal exactly, and their generic form re-encodes identically.
func FuzzRoundTrip(f *testing.F) {
	f.Add(int64(0), uint64(0), uint32(0), uint64(0), "", []byte(nil), false)
	f.Add(int64(math.MinInt64), uint64(math.MaxUint64), uint32(0x7f800001), uint64(0x7ff0000000000001), "héllo", []byte{1, 2}, true)
	f.Add(int64(-1), uint64(1<<63), uint32(0xffffffff), uint64(1<<63), "\xff", []byte{}, true)
	f.Fuzz(func(t *testing.T, i int64, u uint64, f32 uint32, f64 uint64, s string, raw []byte, b bool) {
		v := roundTripValue{
			I8: int8(i), I16: int16(i), I32: int32(i), I64: i, U8: uint8(u), U16: uint16(u), U32: uint32(u), U64: u,
			Int: int(i), Uint: uint(u), B: b, S: s, Raw: raw,
			F32: math.Float32frombits(f32), F64: math.Float64frombits(f64),
			List: []string{s, s + "x", ""}, Arr: [2]int16{int16(i), int16(u)},
			M:   map[string]uint32{s: uint32(u), s + "\x00": f32, "": 1},
			MI:  map[int64]bool{i: b, i ^ 1: !b, int64(u): true},
			Any: []any{int8(i), s, math.Float32frombits(f32), map[any]any{s: raw, i: nil, b: u}},
			Gen: abi.Struct{{Name: "f" + s, Value: u}, {Name: "g" + s, Value: raw}},
		}
		v.Ptr = &roundTripValue{S: s, Raw: raw, Any: v.Any}
		data, err := abi.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := abi.Validate(data); err != nil {
			t.Fatalf("Marshal produced invalid bytes: %v", err)
		}
		var back roundTripValue
		if err := abi.Unmarshal(data, &back); err != nil {
			t.Fatal(err)
		}
		again, err := abi.Marshal(back)
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("typed round trip changed the encoding: %v", err)
		}
		if back.I64 != i || back.U64 != u || back.S != s || !bytes.Equal(back.Raw, raw) ||
			math.Float32bits(back.F32) != f32 || math.Float64bits(back.F64) != f64 || back.B != b {
			t.Fatalf("scalars changed: %+v", back)
		}
		g, err := abi.Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		again, err = abi.Marshal(g)
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("generic round trip changed the encoding: %v", err)
		}
	})
}
