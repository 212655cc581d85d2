package abi_test

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/abi"
)

// TestConversions covers decoding into typed Go values (FORMAT.md section 3).
func TestConversions(t *testing.T) {
	type pair struct {
		A int16
		B string
	}
	tests := []struct {
		name string
		in   []byte
		into any   // pointer to the target, possibly pre-set
		want any   // expected *into after success
		err  error // expected sentinel, nil for success
	}{
		// Integer widening and narrowing.
		{"Int8 into int64", encI8(-1), new(int64), int64(-1), nil},
		{"Int8 into int", encI8(-128), new(int), -128, nil},
		{"Int64 into int8 fits", encI64(127), new(int8), int8(127), nil},
		{"Int64 into int8 min fits", encI64(-128), new(int8), int8(-128), nil},
		{"Int64 into int8 overflow", encI64(128), new(int8), nil, abi.ErrOverflow},
		{"Int64 into int8 underflow", encI64(-129), new(int8), nil, abi.ErrOverflow},
		{"Int32 into int16 overflow", encI32(1 << 15), new(int16), nil, abi.ErrOverflow},
		{"Int64 into int32 overflow", encI64(math.MaxInt32 + 1), new(int32), nil, abi.ErrOverflow},
		{"Uint64 into uint8 overflow", encU64(256), new(uint8), nil, abi.ErrOverflow},
		{"Uint16 into uint8 fits", encU16(255), new(uint8), uint8(255), nil},
		{"Uint32 into uint16 overflow", encU32(1 << 16), new(uint16), nil, abi.ErrOverflow},
		{"Uint8 into uint64", encU8(7), new(uint64), uint64(7), nil},
		// Signed/unsigned crossing.
		{"Uint8 200 into int8 overflow", encU8(200), new(int8), nil, abi.ErrOverflow},
		{"Uint8 100 into int8", encU8(100), new(int8), int8(100), nil},
		{"Uint16 max into int32", encU16(math.MaxUint16), new(int32), int32(math.MaxUint16), nil},
		{"Uint64 max into int64 overflow", encU64(math.MaxUint64), new(int64), nil, abi.ErrOverflow},
		{"Uint64 MaxInt64 into int64", encU64(math.MaxInt64), new(int64), int64(math.MaxInt64), nil},
		{"Uint64 into int", encU64(1 << 40), new(int), 1 << 40, nil},
		{"Int32 negative into uint overflow", encI32(-5), new(uint), nil, abi.ErrOverflow},
		{"Int8 -1 into uint8 overflow", encI8(-1), new(uint8), nil, abi.ErrOverflow},
		{"Int64 into uint32", encI64(math.MaxUint32), new(uint32), uint32(math.MaxUint32), nil},
		{"Int64 into uint32 overflow", encI64(math.MaxUint32 + 1), new(uint32), nil, abi.ErrOverflow},
		{"Int64 min into uint64 overflow", encI64(math.MinInt64), new(uint64), nil, abi.ErrOverflow},
		{"Int64 max into uint64", encI64(math.MaxInt64), new(uint64), uint64(math.MaxInt64), nil},
		// Floats.
		{"Float32 into float64", encF32(math.Float32bits(1.5)), new(float64), 1.5, nil},
		{"Float64 exact into float32", encF64(math.Float64bits(0.25)), new(float32), float32(0.25), nil},
		{"Float64 max float32 into float32", encF64(math.Float64bits(math.MaxFloat32)), new(float32), float32(math.MaxFloat32), nil},
		{"Float64 inf into float32", encF64(math.Float64bits(math.Inf(-1))), new(float32), float32(math.Inf(-1)), nil},
		{"Float64 -0 into float32", encF64(1 << 63), new(float32), float32(math.Copysign(0, -1)), nil},
		{"Float64 inexact into float32", encF64(math.Float64bits(0.1)), new(float32), nil, abi.ErrTypeMismatch},
		{"Float64 too big for float32", encF64(math.Float64bits(1e300)), new(float32), nil, abi.ErrTypeMismatch},
		{"Float64 too small for float32", encF64(math.Float64bits(1e-300)), new(float32), nil, abi.ErrTypeMismatch},
		{"Int into float64", encI32(1), new(float64), nil, abi.ErrTypeMismatch},
		{"Float64 into int", encF64(math.Float64bits(1)), new(int), nil, abi.ErrTypeMismatch},
		// Strings and bytes.
		{"String into []byte", encStr("hi"), new([]byte), []byte("hi"), nil},
		{"ByteArray into string", encBytes([]byte("hi")), new(string), "hi", nil},
		{"String into [2]byte", encStr("hi"), new([2]byte), [2]byte{'h', 'i'}, nil},
		{"ByteArray into [3]byte wrong length", encBytes([]byte("hi")), new([3]byte), nil, abi.ErrTypeMismatch},
		{"List of Uint8 into []byte", encList(encU8(1), encI8(2)), new([]byte), []byte{1, 2}, nil},
		{"List into [2]byte", encList(encU8(1), encU8(2)), new([2]byte), [2]byte{1, 2}, nil},
		{"String into int", encStr("1"), new(int), nil, abi.ErrTypeMismatch},
		{"Int into string", encI8(1), new(string), nil, abi.ErrTypeMismatch},
		{"Bool into int", encBool(true), new(int), nil, abi.ErrTypeMismatch},
		{"Int into bool", encI8(1), new(bool), nil, abi.ErrTypeMismatch},
		// Lists and arrays.
		{"List into [3]int", encList(encI64(1), encI8(2), encU8(3)), new([3]int), [3]int{1, 2, 3}, nil},
		{"List into [2]int wrong length", encList(encI64(1), encI64(2), encI64(3)), new([2]int), nil, abi.ErrTypeMismatch},
		{"List into [4]int wrong length", encList(encI64(1)), new([4]int), nil, abi.ErrTypeMismatch},
		{"List into []int8 overflow", encList(encI64(1), encI64(1000)), new([]int8), nil, abi.ErrOverflow},
		{"List into map", encList(), new(map[string]int), nil, abi.ErrTypeMismatch},
		{"Map into []int", encMap(), new([]int), nil, abi.ErrTypeMismatch},
		{"Map into struct", encMap(), new(pair), nil, abi.ErrTypeMismatch},
		{"Struct into []any", encStruct(), new([]any), nil, abi.ErrTypeMismatch},
		{"Struct into map", encStruct(), new(map[string]any), nil, abi.ErrTypeMismatch},
		// Maps.
		{"Map into map[int8]string", encMap(encI64(-1), encStr("a"), encI64(5), encStr("b")), new(map[int8]string), map[int8]string{-1: "a", 5: "b"}, nil},
		{"Map key overflow", encMap(encI64(1000), encStr("a")), new(map[int8]string), nil, abi.ErrOverflow},
		{"Map value conversion", encMap(encStr("k"), encBytes([]byte("v"))), new(map[string]string), map[string]string{"k": "v"}, nil},
		{"Map keys collide in Go type", encMap(encI8(1), encStr("a"), encI64(1), encStr("b")), new(map[int64]string), nil, abi.ErrTypeMismatch},
		{"Map keys kept apart in any", encMap(encI8(1), encStr("a"), encI64(1), encStr("b")), new(map[any]string), map[any]string{int8(1): "a", int64(1): "b"}, nil},
		{"Map Bool key into string key", encMap(encBool(true), encStr("a")), new(map[string]string), nil, abi.ErrTypeMismatch},
		// Structs.
		{"Struct fields by name, unknown ignored, missing zero",
			encStruct(fld{"B", encStr("b")}, fld{"extra", encList(encNil())}, fld{"A", encI8(3)}),
			&pair{A: 9, B: "old"}, pair{A: 3, B: "b"}, nil},
		{"Struct missing field keeps zero", encStruct(fld{"A", encI8(3)}), &pair{B: "old"}, pair{A: 3}, nil},
		{"Struct field type mismatch", encStruct(fld{"A", encStr("x")}), new(pair), nil, abi.ErrTypeMismatch},
		// Nil into every kind is the zero value.
		{"Nil into int", encNil(), ptrTo(7), 0, nil},
		{"Nil into string", encNil(), ptrTo("x"), "", nil},
		{"Nil into bool", encNil(), ptrTo(true), false, nil},
		{"Nil into float32", encNil(), ptrTo(float32(1)), float32(0), nil},
		{"Nil into []int", encNil(), ptrTo([]int{1}), []int(nil), nil},
		{"Nil into []byte", encNil(), ptrTo([]byte{1}), []byte(nil), nil},
		{"Nil into [2]int", encNil(), ptrTo([2]int{1, 2}), [2]int{}, nil},
		{"Nil into map", encNil(), ptrTo(map[string]int{"a": 1}), map[string]int(nil), nil},
		{"Nil into struct", encNil(), &pair{A: 1, B: "b"}, pair{}, nil},
		{"Nil into *int", encNil(), ptrTo(ptrTo(1)), (*int)(nil), nil},
		{"Nil into any", encNil(), ptrTo[any](1), nil, nil},
		{"Nil into abi.Struct", encNil(), ptrTo(abi.Struct{{Name: "a"}}), abi.Struct(nil), nil},
		// Pointers are allocated as needed.
		{"Int into **int", encI8(5), new(**int), ptrTo(ptrTo(5)), nil},
		{"Int into existing *int", encI8(5), ptrTo(ptrTo(1)), ptrTo(5), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, abi.Validate(tt.in), "test input must be valid")
			err := abi.Unmarshal(tt.in, tt.into)
			if tt.err != nil {
				requireTypeError(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, reflect.ValueOf(tt.into).Elem().Interface())
		})
	}
}

func ptrTo[T any](v T) *T { return &v }

// TestUnknownFieldsValidated: an ignored field must still be a valid value.
func TestUnknownFieldsValidated(t *testing.T) {
	var v struct{ A int32 }
	bad := encStruct(fld{"A", encI32(1)}, fld{"skip", encList(val(abi.TagBool, []byte{2}))})
	// Struct header 10, "A" field 2+1+10, "skip" name 2+4, List header+count 10: Bool at 39.
	requireDecodeError(t, abi.Unmarshal(bad, &v), abi.ErrInvalidBool, 39)
	deep := encStruct(fld{"skip", nestedLists(abi.MaxDepth)})
	requireDecodeError(t, abi.Unmarshal(deep, &v), abi.ErrTooDeep, 16+(abi.MaxDepth-1)*10)
	unsorted := encStruct(fld{"skip", encMap(encStr("b"), encNil(), encStr("a"), encNil())})
	requireDecodeError(t, abi.Unmarshal(unsorted, &v), abi.ErrNonCanonical, 16+10+7+6)
	dupField := encStruct(fld{"A", encI32(1)}, fld{"A", encI32(2)})
	requireDecodeError(t, abi.Unmarshal(dupField, &v), abi.ErrNonCanonical, 23)
}

// celsius has a value-receiver Marshaler and a pointer-receiver Unmarshaler,
// and travels as a String like "21.5C".
type celsius float64

func (c celsius) MarshalABI() ([]byte, error) {
	return abi.Marshal(strconv.FormatFloat(float64(c), 'f', -1, 64) + "C")
}

func (c *celsius) UnmarshalABI(b []byte) error {
	var s string
	if err := abi.Unmarshal(b, &s); err != nil {
		return err
	}
	f, err := strconv.ParseFloat(strings.TrimSuffix(s, "C"), 64)
	*c = celsius(f)
	return err
}

// ptrMarshaler has a pointer-receiver Marshaler: it is used when the value
// is addressable (through a pointer), like encoding/json.
type ptrMarshaler struct{ N int32 }

func (p *ptrMarshaler) MarshalABI() ([]byte, error) { return abi.Marshal([]int32{p.N, p.N}) }

// badMarshaler returns whatever it holds.
type badMarshaler struct {
	out []byte
	err error
}

func (b badMarshaler) MarshalABI() ([]byte, error) { return b.out, b.err }

// rawKeeper records what UnmarshalABI receives.
type rawKeeper struct{ raw []byte }

func (r *rawKeeper) UnmarshalABI(b []byte) error {
	r.raw = append([]byte(nil), b...)
	return nil
}

type failingUnmarshaler struct{}

func (*failingUnmarshaler) UnmarshalABI([]byte) error { return errors.New("no thanks") }

func TestMarshalers(t *testing.T) {
	// Value receiver: used for values, pointers and inside containers.
	want := encStr("21.5C")
	for _, v := range []any{celsius(21.5), ptrTo(celsius(21.5))} {
		b, err := abi.Marshal(v)
		require.NoError(t, err)
		require.Equal(t, want, b)
	}
	b, err := abi.Marshal(map[string]celsius{"t": 21.5})
	require.NoError(t, err)
	require.Equal(t, encMap(encStr("t"), want), b)

	var c celsius
	require.NoError(t, abi.Unmarshal(want, &c))
	require.Equal(t, celsius(21.5), c)
	var cs map[string]celsius
	require.NoError(t, abi.Unmarshal(b, &cs))
	require.Equal(t, map[string]celsius{"t": 21.5}, cs)
	var pc *celsius
	require.NoError(t, abi.Unmarshal(want, &pc))
	require.Equal(t, celsius(21.5), *pc)
	// The Unmarshaler's error comes back as a TypeError.
	requireTypeError(t, abi.Unmarshal(encStr("hot"), &c), abi.ErrTypeMismatch)

	// Pointer receiver.
	pm := &ptrMarshaler{N: 3}
	b, err = abi.Marshal(pm)
	require.NoError(t, err)
	require.Equal(t, encList(encI32(3), encI32(3)), b)
	holder := struct{ P ptrMarshaler }{ptrMarshaler{N: 4}}
	b, err = abi.Marshal(&holder) // addressable field: the Marshaler is used
	require.NoError(t, err)
	require.Equal(t, encStruct(fld{"P", encList(encI32(4), encI32(4))}), b)
	b, err = abi.Marshal(holder) // not addressable: encoded as a plain struct
	require.NoError(t, err)
	require.Equal(t, encStruct(fld{"P", encStruct(fld{"N", encI32(4)})}), b)

	// A Marshaler held in an interface.
	b, err = abi.Marshal(struct{ M abi.Marshaler }{celsius(1)})
	require.NoError(t, err)
	require.Equal(t, encStruct(fld{"M", encStr("1C")}), b)

	// Invalid Marshaler output is an error, never copied to the output.
	for name, bad := range map[string]badMarshaler{
		"error":     {err: errors.New("boom")},
		"empty":     {out: nil},
		"truncated": {out: []byte{1, 0, 1}},
		"bad bool":  {out: val(abi.TagBool, []byte{7})},
		"two":       {out: cat(encI8(1), encI8(2))},
		"bad tag":   {out: hdr(99, 0)},
	} {
		t.Run(name, func(t *testing.T) {
			out, err := abi.Append([]byte{0xAA}, []any{bad})
			requireTypeError(t, err, abi.ErrUnsupportedType)
			require.Equal(t, []byte{0xAA}, out)
		})
	}
	// A Marshaler's nesting counts towards MaxDepth.
	inner := badMarshaler{out: nestedLists(2)}
	var v any = inner
	for range abi.MaxDepth - 2 {
		v = []any{v}
	}
	b, err = abi.Marshal(v)
	require.NoError(t, err)
	require.NoError(t, abi.Validate(b))
	_, err = abi.Marshal([]any{v})
	requireTypeError(t, err, abi.ErrTooDeep)

	// An Unmarshaler receives the complete encoded value, Nil included.
	for _, in := range [][]byte{encI8(1), encNil(), encList(encStr("x")), encStruct(fld{"a", encMap()})} {
		var r rawKeeper
		require.NoError(t, abi.Unmarshal(in, &r))
		require.Equal(t, in, r.raw)
	}
	// ... already validated: it is not called on malformed input.
	var r rawKeeper
	requireDecodeError(t, abi.Unmarshal(encList(val(abi.TagBool, []byte{3})), &r), abi.ErrInvalidBool, 10)
	require.Nil(t, r.raw)
	// Inside containers.
	var rs []rawKeeper
	require.NoError(t, abi.Unmarshal(encList(encI8(1), encStr("s")), &rs))
	require.Equal(t, []rawKeeper{{encI8(1)}, {encStr("s")}}, rs)
	var fu failingUnmarshaler
	requireTypeError(t, abi.Unmarshal(encNil(), &fu), abi.ErrTypeMismatch)
}

// TestUnsupportedTypes: types the format cannot represent.
func TestUnsupportedTypes(t *testing.T) {
	values := map[string]any{
		"chan":              make(chan int),
		"func":              func() {},
		"complex64":         complex64(1),
		"complex128":        complex(1, 2),
		"uintptr":           uintptr(1),
		"unsafe.Pointer":    unsafe.Pointer(nil),
		"map float key":     map[float64]int{1: 1},
		"map struct key":    map[struct{ A int }]int{{1}: 1},
		"map array key":     map[[2]int]int{{1, 2}: 1},
		"map pointer key":   map[*int]int{nil: 1},
		"map marshaler key": map[celsius]int{1: 1},
		"field chan":        struct{ C chan int }{},
		"slice of funcs":    []func(){nil},
		"nested complex":    map[string]any{"c": complex64(1)},
		"empty float map":   map[float32]int{},
	}
	for name, v := range values {
		t.Run(name, func(t *testing.T) {
			_, err := abi.Marshal(v)
			requireTypeError(t, err, abi.ErrUnsupportedType)
		})
	}
	// Unexported fields of unsupported types are fine: they are skipped.
	_, err := abi.Marshal(struct {
		c chan int
		A int8
	}{})
	require.NoError(t, err)

	// Decoding into unsupported types, and bad Unmarshal arguments.
	for name, into := range map[string]any{
		"chan":    new(chan int),
		"func":    new(func()),
		"complex": new(complex128),
		"uintptr": new(uintptr),
	} {
		requireTypeError(t, abi.Unmarshal(encI8(1), into), abi.ErrUnsupportedType)
		_ = name
	}
	var i int
	requireTypeError(t, abi.Unmarshal(encI8(1), i), abi.ErrUnsupportedType)
	requireTypeError(t, abi.Unmarshal(encI8(1), nil), abi.ErrUnsupportedType)
	requireTypeError(t, abi.Unmarshal(encI8(1), (*int)(nil)), abi.ErrUnsupportedType)
	requireTypeError(t, abi.UnmarshalValue(encI8(1), reflect.ValueOf(i)), abi.ErrUnsupportedType)
	require.NoError(t, abi.UnmarshalValue(encI8(1), reflect.ValueOf(&i).Elem()))
	require.Equal(t, 1, i)
}

// TestNamedByteTypes: slices and arrays of a named byte type are ByteArrays.
func TestNamedByteTypes(t *testing.T) {
	type octet byte
	arr := [3]octet{1, 2, 3}
	for _, v := range []any{arr, &arr, []octet{1, 2, 3}} {
		b, err := abi.Marshal(v)
		require.NoError(t, err)
		require.Equal(t, encBytes([]byte{1, 2, 3}), b, "%T", v)
	}
	var a [3]octet
	require.NoError(t, abi.Unmarshal(encBytes([]byte{4, 5, 6}), &a))
	require.Equal(t, [3]octet{4, 5, 6}, a)
	var s []octet
	require.NoError(t, abi.Unmarshal(encStr("ab"), &s))
	require.Equal(t, []octet{'a', 'b'}, s)
}

// TestErrorMessages keeps the error strings informative.
func TestErrorMessages(t *testing.T) {
	err := abi.Unmarshal(encStr("x"), new(int))
	require.EqualError(t, err, "abi: type mismatch: String into int")
	err = abi.Unmarshal(encI64(300), new(int8))
	require.EqualError(t, err, "abi: integer overflow: Int64 into int8: 300")
	_, err = abi.Decode(cat(encI8(1), []byte{0}))
	require.EqualError(t, err, "abi: trailing data at offset 7: 1 bytes after the value")
	_, err = abi.Marshal(make(chan int))
	require.ErrorContains(t, err, "chan int")
	require.Equal(t, "abi: out of bounds: 6 bytes at guest address 0x10, memory is 8 bytes",
		(&abi.MemoryError{Ptr: 16, Length: 6, Size: 8}).Error())
	require.Equal(t, fmt.Sprint(abi.ErrInvalidBool)+" at offset 3",
		(&abi.DecodeError{Offset: 3, Err: abi.ErrInvalidBool}).Error())
}
