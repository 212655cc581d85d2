package abi_test

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/abi"
)

// TestSpecExamples checks every example of FORMAT.md section 6, both ways.
func TestSpecExamples(t *testing.T) {
	type xStruct struct {
		X int8 `abi:"x"`
	}
	tests := []struct {
		name    string
		value   any // what Marshal encodes
		hex     string
		generic any // what Decode returns
	}{
		{"Int32 5", int32(5), "0300 04000000 05000000", int32(5)},
		{"Bool true", true, "0900 01000000 01", true},
		{"String hi", "hi", "0a00 02000000 6869", "hi"},
		{"List of Uint8", []any{uint8(1), uint8(2)}, "0e00 12000000 02000000 0500 01000000 01 0500 01000000 02", []any{uint8(1), uint8(2)}},
		{"Map a:true", map[string]bool{"a": true}, "0f00 12000000 01000000 0a00 01000000 61 0900 01000000 01", map[any]any{"a": true}},
		{"Struct x:1 (Go struct)", xStruct{X: 1}, "1000 0e000000 01000000 0100 78 0100 01000000 01", abi.Struct{{Name: "x", Value: int8(1)}}},
		{"Struct x:1 (abi.Struct)", abi.Struct{{Name: "x", Value: int8(1)}}, "1000 0e000000 01000000 0100 78 0100 01000000 01", abi.Struct{{Name: "x", Value: int8(1)}}},
		{"Nil", nil, "1100 00000000", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := h(tt.hex)
			got, err := abi.Marshal(tt.value)
			require.NoError(t, err)
			require.Equal(t, want, got)

			require.NoError(t, abi.Validate(want))
			n, err := abi.ValueSize(want)
			require.NoError(t, err)
			require.Equal(t, len(want), n)

			dec, err := abi.Decode(want)
			require.NoError(t, err)
			require.Equal(t, tt.generic, dec)

			again, err := abi.Marshal(dec)
			require.NoError(t, err)
			require.Equal(t, want, again, "re-encoding the decoded value")

			if tt.value != nil {
				out := reflect.New(reflect.TypeOf(tt.value))
				require.NoError(t, abi.Unmarshal(want, out.Interface()))
				require.Equal(t, tt.value, out.Elem().Interface())
			}
		})
	}

	// The typed forms decode too.
	var list []uint8
	require.NoError(t, abi.Unmarshal(h("0e00 12000000 02000000 0500 01000000 01 0500 01000000 02"), &list))
	require.Equal(t, []uint8{1, 2}, list)
	var xs xStruct
	require.NoError(t, abi.Unmarshal(h("1000 0e000000 01000000 0100 78 0100 01000000 01"), &xs))
	require.Equal(t, xStruct{X: 1}, xs)
}

type Inner struct {
	A int32 `abi:"a"`
	B string
}

type Outer struct {
	Name       string `abi:"name"`
	Skipped    int    `abi:"-"`
	In         Inner
	PIn        *Inner
	Nilled     *Inner
	unexported int
	List       []Inner
	ByName     map[string]Inner
	Any        any
	Raw        []byte
	Fixed      [3]byte
	Floats     [2]float64
}

// TestStructEncoding checks field order, names and skipping against hand-built bytes.
func TestStructEncoding(t *testing.T) {
	in := Inner{A: -2, B: "b"}
	v := Outer{Name: "n", Skipped: 99, In: in, PIn: &in, unexported: 5,
		List: []Inner{in}, ByName: map[string]Inner{"k": in}, Any: uint16(7),
		Raw: []byte{1}, Fixed: [3]byte{1, 2, 3}, Floats: [2]float64{1, -1}}
	inner := encStruct(fld{"a", encI32(-2)}, fld{"B", encStr("b")})
	want := encStruct(
		fld{"name", encStr("n")},
		fld{"In", inner},
		fld{"PIn", inner},
		fld{"Nilled", encNil()},
		fld{"List", encList(inner)},
		fld{"ByName", encMap(encStr("k"), inner)},
		fld{"Any", encU16(7)},
		fld{"Raw", encBytes([]byte{1})},
		fld{"Fixed", encBytes([]byte{1, 2, 3})},
		fld{"Floats", encList(encF64(math.Float64bits(1)), encF64(math.Float64bits(-1)))},
	)
	got, err := abi.Marshal(v)
	require.NoError(t, err)
	require.Equal(t, want, got)

	// Pointer to the struct encodes the same.
	got, err = abi.Marshal(&v)
	require.NoError(t, err)
	require.Equal(t, want, got)

	var out Outer
	out.Skipped = 42 // abi:"-" fields are not touched by the wire...
	require.NoError(t, abi.Unmarshal(got, &out))
	v.Skipped, v.unexported = 0, 0 // ...but decoding starts from the zero struct
	require.Equal(t, v, out)

	// Decoding a wire field named "-" does not reach the skipped field.
	var s struct {
		Skipped int `abi:"-"`
	}
	require.NoError(t, abi.Unmarshal(encStruct(fld{"-", encI64(1)}, fld{"Skipped", encI64(2)}), &s))
	require.Zero(t, s.Skipped)
}

type roundTripCase struct {
	name  string
	value any
	tag   abi.Tag
}

func roundTripCases() []roundTripCase {
	type named struct {
		A int8
		B *int16
		C []string
		D map[uint8]bool
	}
	i16 := int16(-300)
	str := "pointed"
	pstr := &str
	return []roundTripCase{
		{"int8 min", int8(math.MinInt8), abi.TagInt8},
		{"int8 max", int8(math.MaxInt8), abi.TagInt8},
		{"int8 zero", int8(0), abi.TagInt8},
		{"int16 min", int16(math.MinInt16), abi.TagInt16},
		{"int16 max", int16(math.MaxInt16), abi.TagInt16},
		{"int32 min", int32(math.MinInt32), abi.TagInt32},
		{"int32 max", int32(math.MaxInt32), abi.TagInt32},
		{"int64 min", int64(math.MinInt64), abi.TagInt64},
		{"int64 max", int64(math.MaxInt64), abi.TagInt64},
		{"int min", int(math.MinInt), abi.TagInt64},
		{"int max", int(math.MaxInt), abi.TagInt64},
		{"uint8 max", uint8(math.MaxUint8), abi.TagUint8},
		{"uint8 zero", uint8(0), abi.TagUint8},
		{"uint16 max", uint16(math.MaxUint16), abi.TagUint16},
		{"uint32 max", uint32(math.MaxUint32), abi.TagUint32},
		{"uint64 max", uint64(math.MaxUint64), abi.TagUint64},
		{"uint max", uint(math.MaxUint), abi.TagUint64},
		{"bool true", true, abi.TagBool},
		{"bool false", false, abi.TagBool},
		{"string empty", "", abi.TagString},
		{"string ascii", "hello", abi.TagString},
		{"string utf8", "héllo, 世界 🎉", abi.TagString},
		{"string not utf8 passes through", "\xff\xfe\x00", abi.TagString},
		{"bytes empty", []byte{}, abi.TagByteArray},
		{"bytes", []byte{0, 1, 255}, abi.TagByteArray},
		{"byte array", [4]byte{9, 8, 7, 6}, abi.TagByteArray},
		{"byte array empty", [0]byte{}, abi.TagByteArray},
		{"float32 zero", float32(0), abi.TagFloat32},
		{"float32 max", float32(math.MaxFloat32), abi.TagFloat32},
		{"float32 smallest", float32(math.SmallestNonzeroFloat32), abi.TagFloat32},
		{"float32 +inf", float32(math.Inf(1)), abi.TagFloat32},
		{"float32 -inf", float32(math.Inf(-1)), abi.TagFloat32},
		{"float64 pi", math.Pi, abi.TagFloat64},
		{"float64 max", math.MaxFloat64, abi.TagFloat64},
		{"float64 smallest", math.SmallestNonzeroFloat64, abi.TagFloat64},
		{"float64 +inf", math.Inf(1), abi.TagFloat64},
		{"float64 -inf", math.Inf(-1), abi.TagFloat64},
		{"slice int32", []int32{1, -1, math.MaxInt32}, abi.TagList},
		{"slice string", []string{"a", "", "ü"}, abi.TagList},
		{"slice of slices", [][]uint16{{1}, {}, {2, 3}}, abi.TagList},
		{"slice of bytes", [][]byte{{1}, {}}, abi.TagList},
		{"slice any", []any{int8(1), "x", nil, []any{true}}, abi.TagList},
		{"array int16", [3]int16{-1, 0, 1}, abi.TagList},
		{"array of arrays", [2][2]int8{{1, 2}, {3, 4}}, abi.TagList},
		{"array empty", [0]int{}, abi.TagList},
		{"map int8", map[int8]string{-128: "min", -1: "m1", 0: "z", 127: "max"}, abi.TagMap},
		{"map int16", map[int16]int16{-300: 1, 300: 2}, abi.TagMap},
		{"map int32", map[int32]bool{math.MinInt32: true, 7: false}, abi.TagMap},
		{"map int64", map[int64]string{math.MinInt64: "a", math.MaxInt64: "b", 0: "c"}, abi.TagMap},
		{"map int", map[int]int{-5: 5, 5: -5}, abi.TagMap},
		{"map uint8", map[uint8]string{0: "a", 255: "b"}, abi.TagMap},
		{"map uint16", map[uint16]string{1: "a", 256: "b"}, abi.TagMap},
		{"map uint32", map[uint32]string{1: "a", 1 << 24: "b"}, abi.TagMap},
		{"map uint64", map[uint64]string{1: "a", math.MaxUint64: "b"}, abi.TagMap},
		{"map uint", map[uint]float32{3: 1.5}, abi.TagMap},
		{"map bool", map[bool]string{true: "t", false: "f"}, abi.TagMap},
		{"map string", map[string][]int{"": {}, "a": {1}, "b": {2, 3}}, abi.TagMap},
		{"map empty", map[string]int{}, abi.TagMap},
		{"map any", map[any]any{int8(1): "a", "k": []any{}, true: nil, uint64(9): map[any]any{}}, abi.TagMap},
		{"struct", named{A: 1, B: &i16, C: []string{"x"}, D: map[uint8]bool{1: true}}, abi.TagStruct},
		{"struct zero", named{C: []string{}, D: map[uint8]bool{}}, abi.TagStruct},
		{"empty struct", struct{}{}, abi.TagStruct},
		{"abi.Struct", abi.Struct{{Name: "b", Value: int8(1)}, {Name: "a", Value: abi.Struct{}}}, abi.TagStruct},
		{"pointer", &i16, abi.TagInt16},
		{"pointer to pointer", &pstr, abi.TagString},
		{"1 MiB string", strings.Repeat("ab€", 1<<20/5), abi.TagString},
		{"1 MiB bytes", bytes.Repeat([]byte{0xA5}, 1<<20), abi.TagByteArray},
		{"time.Duration (named int64)", time.Duration(-5), abi.TagInt64},
	}
}

// TestRoundTrip encodes every Go type of FORMAT.md section 3 and decodes it
// back into the same type and generically.
func TestRoundTrip(t *testing.T) {
	for _, tt := range roundTripCases() {
		t.Run(tt.name, func(t *testing.T) {
			b, err := abi.Marshal(tt.value)
			require.NoError(t, err)
			require.Equal(t, tt.tag, abi.Tag(int16(b[0])|int16(b[1])<<8), "tag")
			require.NoError(t, abi.Validate(b))

			out := reflect.New(reflect.TypeOf(tt.value))
			require.NoError(t, abi.Unmarshal(b, out.Interface()))
			require.Equal(t, tt.value, out.Elem().Interface())

			again, err := abi.Marshal(out.Elem().Interface())
			require.NoError(t, err)
			require.Equal(t, b, again)

			// The generic form re-encodes to the same bytes.
			g, err := abi.Decode(b)
			require.NoError(t, err)
			again, err = abi.Marshal(g)
			require.NoError(t, err)
			require.Equal(t, b, again)
		})
	}
}

// TestNilEncodings: nil slices and maps are empty composites; nil pointers
// and interfaces are Nil.
func TestNilEncodings(t *testing.T) {
	tests := []struct {
		name  string
		value any
		want  []byte
	}{
		{"nil []byte", []byte(nil), encBytes(nil)},
		{"nil []int", []int(nil), encList()},
		{"nil map", map[string]int(nil), encMap()},
		{"nil pointer", (*int)(nil), encNil()},
		{"nil any", nil, encNil()},
		{"nil abi.Struct", abi.Struct(nil), encStruct()},
		{"struct with nil pointer and interface", struct {
			P *int
			I any
			E error
		}{}, encStruct(fld{"P", encNil()}, fld{"I", encNil()}, fld{"E", encNil()})},
		{"nil Marshaler interface", struct{ M abi.Marshaler }{}, encStruct(fld{"M", encNil()})},
		{"nil pointer Marshaler", (*ptrMarshaler)(nil), encNil()},
		{"nil pointer to value Marshaler", (*celsius)(nil), encNil()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := abi.Marshal(tt.value)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}

	// Decoding: Nil into a pointer gives nil, an empty List gives an empty slice.
	p := new(int)
	require.NoError(t, abi.Unmarshal(encNil(), &p))
	require.Nil(t, p)
	var s []int
	require.NoError(t, abi.Unmarshal(encList(), &s))
	require.NotNil(t, s)
	require.Empty(t, s)
	var m map[string]int
	require.NoError(t, abi.Unmarshal(encMap(), &m))
	require.NotNil(t, m)
	require.Empty(t, m)
}

// TestFloatBits checks that float bit patterns, NaN payloads included, survive.
func TestFloatBits(t *testing.T) {
	type f32 float32
	type f64 float64
	bits32 := []uint32{
		0x00000000, 0x80000000, // ±0
		0x7f800000, 0xff800000, // ±Inf
		0x7fc00000, 0xffc00000, // quiet NaNs
		0x7f800001, 0x7fa00000, 0xff800001, // signalling NaNs
		0x7fffffff, 0xffffffff, 0x7fc00001, // NaN payloads
		0x00000001, 0x007fffff, // denormals
		0x3f800000, 0xbf800000,
	}
	for _, bits := range bits32 {
		want := encF32(bits)
		x := math.Float32frombits(bits)

		got, err := abi.Marshal(x)
		require.NoError(t, err)
		require.Equal(t, want, got, "Marshal float32 %#08x", bits)
		got, err = abi.Marshal(f32(x))
		require.NoError(t, err)
		require.Equal(t, want, got, "Marshal named float32 %#08x", bits)
		got, err = abi.Marshal(&x) // addressable path
		require.NoError(t, err)
		require.Equal(t, want, got, "Marshal *float32 %#08x", bits)
		got, err = abi.Marshal(&struct{ F f32 }{f32(x)}) // addressable named
		require.NoError(t, err)
		require.Equal(t, encStruct(fld{"F", want}), got, "Marshal addressable named float32 %#08x", bits)

		var y float32
		require.NoError(t, abi.Unmarshal(want, &y))
		require.Equal(t, bits, math.Float32bits(y), "Unmarshal float32 %#08x", bits)
		var ny f32
		require.NoError(t, abi.Unmarshal(want, &ny))
		require.Equal(t, bits, math.Float32bits(float32(ny)), "Unmarshal named float32 %#08x", bits)

		g, err := abi.Decode(want)
		require.NoError(t, err)
		require.IsType(t, float32(0), g)
		require.Equal(t, bits, math.Float32bits(g.(float32)))
		got, err = abi.Marshal(g)
		require.NoError(t, err)
		require.Equal(t, want, got)

		// Float32 into float64 widens (NaN stays NaN).
		var w float64
		require.NoError(t, abi.Unmarshal(want, &w))
		if math.IsNaN(float64(x)) {
			require.True(t, math.IsNaN(w))
		} else {
			require.Equal(t, float64(x), w)
		}
	}

	bits64 := []uint64{
		0, 1 << 63,
		0x7ff0000000000000, 0xfff0000000000000,
		0x7ff8000000000000, 0x7ff0000000000001, 0x7ff4000000000000,
		0xfff8000000000001, 0x7fffffffffffffff, 0xffffffffffffffff,
		1, 0x000fffffffffffff,
	}
	for _, bits := range bits64 {
		want := encF64(bits)
		x := math.Float64frombits(bits)
		got, err := abi.Marshal(x)
		require.NoError(t, err)
		require.Equal(t, want, got, "Marshal float64 %#016x", bits)
		got, err = abi.Marshal(f64(x))
		require.NoError(t, err)
		require.Equal(t, want, got)

		var y float64
		require.NoError(t, abi.Unmarshal(want, &y))
		require.Equal(t, bits, math.Float64bits(y))
		g, err := abi.Decode(want)
		require.NoError(t, err)
		require.Equal(t, bits, math.Float64bits(g.(float64)))
		got, err = abi.Marshal(g)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}

	// -0 is not +0 on the wire.
	neg, err := abi.Marshal(math.Copysign(0, -1))
	require.NoError(t, err)
	pos, err := abi.Marshal(0.0)
	require.NoError(t, err)
	require.NotEqual(t, neg, pos)
}

// TestCanonicalMapOrder checks the encoder sorts keys as FORMAT.md says:
// by tag, then numerically, false < true, strings bytewise.
func TestCanonicalMapOrder(t *testing.T) {
	tests := []struct {
		name  string
		value any
		want  []byte
	}{
		{"int8 negatives sort numerically", map[int8]bool{1: true, -1: false, 127: true, -128: false, 0: true},
			encMap(encI8(-128), encBool(false), encI8(-1), encBool(false), encI8(0), encBool(true), encI8(1), encBool(true), encI8(127), encBool(true))},
		{"int16", map[int16]uint8{256: 1, -256: 2, 1: 3},
			encMap(encI16(-256), encU8(2), encI16(1), encU8(3), encI16(256), encU8(1))},
		{"int32", map[int32]uint8{-1: 1, math.MinInt32: 2},
			encMap(encI32(math.MinInt32), encU8(2), encI32(-1), encU8(1))},
		{"int64 not bytewise", map[int64]uint8{256: 1, 1: 2, -1: 3, math.MinInt64: 4, math.MaxInt64: 5},
			encMap(encI64(math.MinInt64), encU8(4), encI64(-1), encU8(3), encI64(1), encU8(2), encI64(256), encU8(1), encI64(math.MaxInt64), encU8(5))},
		{"int", map[int]uint8{2: 1, -2: 2},
			encMap(encI64(-2), encU8(2), encI64(2), encU8(1))},
		{"uint8", map[uint8]uint8{200: 1, 3: 2},
			encMap(encU8(3), encU8(2), encU8(200), encU8(1))},
		{"uint16 not bytewise", map[uint16]uint8{256: 1, 2: 2},
			encMap(encU16(2), encU8(2), encU16(256), encU8(1))},
		{"uint32", map[uint32]uint8{1 << 31: 1, 255: 2, 256: 3},
			encMap(encU32(255), encU8(2), encU32(256), encU8(3), encU32(1<<31), encU8(1))},
		{"uint64 large", map[uint64]uint8{math.MaxUint64: 1, 1 << 63: 2, 1: 3},
			encMap(encU64(1), encU8(3), encU64(1<<63), encU8(2), encU64(math.MaxUint64), encU8(1))},
		{"uint", map[uint]uint8{10: 1, 9: 2},
			encMap(encU64(9), encU8(2), encU64(10), encU8(1))},
		{"bool false first", map[bool]uint8{true: 1, false: 0},
			encMap(encBool(false), encU8(0), encBool(true), encU8(1))},
		{"string bytewise, prefix first", map[string]uint8{"b": 1, "a": 2, "ab": 3, "": 4, "\xff": 5, "B": 6, "é": 7},
			encMap(encStr(""), encU8(4), encStr("B"), encU8(6), encStr("a"), encU8(2), encStr("ab"), encU8(3), encStr("b"), encU8(1), encStr("é"), encU8(7), encStr("\xff"), encU8(5))},
		{"mixed key tags sort by tag first", map[any]any{
			"a": 1, "": 2, true: 3, false: 4, uint64(0): 5, uint8(9): 6, int64(-9): 7, int8(100): 8, int8(-100): 9, uint16(1): 10, int32(0): 11,
		}, encMap(
			encI8(-100), encI64(9), encI8(100), encI64(8), // Int8 (1)
			encI32(0), encI64(11), // Int32 (3)
			encI64(-9), encI64(7), // Int64 (4)
			encU8(9), encI64(6), // Uint8 (5)
			encU16(1), encI64(10), // Uint16 (6)
			encU64(0), encI64(5), // Uint64 (8)
			encBool(false), encI64(4), encBool(true), encI64(3), // Bool (9)
			encStr(""), encI64(2), encStr("a"), encI64(1), // String (10)
		)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 5 { // map iteration order is random: try a few times
				got, err := abi.Marshal(tt.value)
				require.NoError(t, err)
				require.Equal(t, tt.want, got)
			}
			require.NoError(t, abi.Validate(tt.want))
			g, err := abi.Decode(tt.want)
			require.NoError(t, err)
			again, err := abi.Marshal(g)
			require.NoError(t, err)
			require.Equal(t, tt.want, again)
		})
	}

	// Keys that encode the same are rejected rather than silently merged.
	a, b := 1, 1
	_, err := abi.Marshal(map[any]int{&a: 1, &b: 2})
	requireTypeError(t, err, abi.ErrUnsupportedType)
	// Keys that are not integers, bools or strings.
	for _, m := range []any{
		map[any]int{1.5: 1},
		map[any]int{nil: 1},
		map[any]int{[2]int{}: 1},
		map[any]int{struct{}{}: 1},
	} {
		_, err := abi.Marshal(m)
		requireTypeError(t, err, abi.ErrUnsupportedType)
	}
}

// TestNestedMapsSort checks that sorting an outer map keeps nested maps intact.
func TestNestedMapsSort(t *testing.T) {
	v := map[string]map[int8]string{"b": {2: "x", -2: "y"}, "a": {1: "z"}}
	want := encMap(
		encStr("a"), encMap(encI8(1), encStr("z")),
		encStr("b"), encMap(encI8(-2), encStr("y"), encI8(2), encStr("x")),
	)
	got, err := abi.Marshal(v)
	require.NoError(t, err)
	require.Equal(t, want, got)
}

// TestInterfaces: interface values encode what they hold and decode generically.
func TestInterfaces(t *testing.T) {
	type holder struct {
		V any
		E error
	}
	b, err := abi.Marshal(holder{V: int16(3)})
	require.NoError(t, err)
	require.Equal(t, encStruct(fld{"V", encI16(3)}, fld{"E", encNil()}), b)
	var out holder
	require.NoError(t, abi.Unmarshal(b, &out))
	require.Equal(t, holder{V: int16(3)}, out)

	// A generic value where a non-empty interface expects something else.
	var e error
	err = abi.Unmarshal(encI8(1), &e)
	requireTypeError(t, err, abi.ErrTypeMismatch)
	require.NoError(t, abi.Unmarshal(encNil(), &e))
	require.Nil(t, e)

	// A non-empty interface holding a pointer decodes into the pointee.
	var st fmtStringer = &stringerInt{}
	require.NoError(t, abi.Unmarshal(encI64(42), &st))
	require.Equal(t, "42", st.String())

	// An empty interface holding a pointer is replaced, like encoding/json.
	n := 5
	var a any = &n
	require.NoError(t, abi.Unmarshal(encStr("s"), &a))
	require.Equal(t, "s", a)
	require.Equal(t, 5, n)
}

type fmtStringer interface{ String() string }

type stringerInt struct{ V int64 }

func (s *stringerInt) String() string { return strconv.FormatInt(s.V, 10) }

func (s *stringerInt) UnmarshalABI(b []byte) error { return abi.Unmarshal(b, &s.V) }

// TestStructValue: abi.Struct keeps wire order and rejects bad names.
func TestStructValue(t *testing.T) {
	s := abi.Struct{{Name: "z", Value: "last?"}, {Name: "a", Value: []any{uint8(1)}}, {Name: "n", Value: nil}}
	b, err := abi.Marshal(s)
	require.NoError(t, err)
	require.Equal(t, encStruct(fld{"z", encStr("last?")}, fld{"a", encList(encU8(1))}, fld{"n", encNil()}), b)
	g, err := abi.Decode(b)
	require.NoError(t, err)
	require.Equal(t, s, g)
	v, ok := g.(abi.Struct).Get("a")
	require.True(t, ok)
	require.Equal(t, []any{uint8(1)}, v)
	_, ok = g.(abi.Struct).Get("missing")
	require.False(t, ok)

	var typed abi.Struct
	require.NoError(t, abi.Unmarshal(b, &typed))
	require.Equal(t, s, typed)
	err = abi.Unmarshal(encList(), &typed)
	requireTypeError(t, err, abi.ErrTypeMismatch)

	for _, bad := range []abi.Struct{
		{{Name: "", Value: 1}},
		{{Name: "a", Value: 1}, {Name: "a", Value: 2}},
		{{Name: strings.Repeat("x", 1<<16), Value: 1}},
	} {
		_, err := abi.Marshal(bad)
		requireTypeError(t, err, abi.ErrUnsupportedType)
	}

	// Duplicate abi names in a Go struct.
	_, err = abi.Marshal(struct {
		A int `abi:"x"`
		B int `abi:"x"`
	}{})
	requireTypeError(t, err, abi.ErrUnsupportedType)
	var dup struct {
		A int `abi:"x"`
		B int `abi:"x"`
	}
	requireTypeError(t, abi.Unmarshal(encStruct(), &dup), abi.ErrUnsupportedType)

	// A field name of exactly 65535 bytes is fine.
	long := strings.Repeat("n", math.MaxUint16)
	b, err = abi.Marshal(abi.Struct{{Name: long, Value: true}})
	require.NoError(t, err)
	g, err = abi.Decode(b)
	require.NoError(t, err)
	require.Equal(t, abi.Struct{{Name: long, Value: true}}, g)
}

// TestDecodeAnyTypes: Decode and Unmarshal into *any yield section 3's types.
func TestDecodeAnyTypes(t *testing.T) {
	tests := []struct {
		in   []byte
		want any
	}{
		{encI8(-1), int8(-1)},
		{encI16(-2), int16(-2)},
		{encI32(-3), int32(-3)},
		{encI64(-4), int64(-4)},
		{encU8(1), uint8(1)},
		{encU16(2), uint16(2)},
		{encU32(3), uint32(3)},
		{encU64(4), uint64(4)},
		{encBool(true), true},
		{encBool(false), false},
		{encStr("s"), "s"},
		{encBytes([]byte{1, 2}), []byte{1, 2}},
		{encF32(math.Float32bits(1.5)), float32(1.5)},
		{encF64(math.Float64bits(2.5)), float64(2.5)},
		{encList(encI8(1), encStr("x")), []any{int8(1), "x"}},
		{encList(), []any{}},
		{encMap(encI8(1), encNil(), encStr("k"), encBool(true)), map[any]any{int8(1): nil, "k": true}},
		{encMap(), map[any]any{}},
		{encStruct(fld{"f", encU8(1)}), abi.Struct{{Name: "f", Value: uint8(1)}}},
		{encStruct(), abi.Struct{}},
		{encNil(), nil},
	}
	for _, tt := range tests {
		got, err := abi.Decode(tt.in)
		require.NoError(t, err)
		require.Equal(t, tt.want, got)
		require.IsType(t, tt.want, got)

		var a any = "previous"
		require.NoError(t, abi.Unmarshal(tt.in, &a))
		require.Equal(t, tt.want, a)
		require.IsType(t, tt.want, a)
	}
	// Decoded bytes do not alias the input.
	in := encBytes([]byte{1, 2})
	got, err := abi.Decode(in)
	require.NoError(t, err)
	in[6] = 9
	require.Equal(t, []byte{1, 2}, got)
}

// TestNestingLimit: 64 composite levels are fine, 65 are ErrTooDeep, both ways.
func TestNestingLimit(t *testing.T) {
	nest := func(depth int, wrap func(any) any) any {
		var v any = []any{}
		for i := 1; i < depth; i++ {
			v = wrap(v)
		}
		return v
	}
	wraps := map[string]func(any) any{
		"list":   func(v any) any { return []any{v} },
		"map":    func(v any) any { return map[string]any{"k": v} },
		"struct": func(v any) any { return abi.Struct{{Name: "f", Value: v}} },
		"mixed": func() func(any) any {
			i := 0
			return func(v any) any {
				i++
				switch i % 3 {
				case 0:
					return []any{v}
				case 1:
					return map[any]any{int8(1): v}
				}
				return abi.Struct{{Name: "f", Value: &v}} // pointers do not count
			}
		}(),
	}
	for name, wrap := range wraps {
		t.Run(name, func(t *testing.T) {
			ok := nest(abi.MaxDepth, wrap)
			b, err := abi.Marshal(ok)
			require.NoError(t, err)
			require.NoError(t, abi.Validate(b))
			g, err := abi.Decode(b)
			require.NoError(t, err)
			again, err := abi.Marshal(g)
			require.NoError(t, err)
			require.Equal(t, b, again)

			_, err = abi.Marshal(wrap(ok))
			requireTypeError(t, err, abi.ErrTooDeep)
		})
	}

	// Decoding 65 levels, built by hand: the 65th List's header is at 64*10.
	deep := nestedLists(abi.MaxDepth + 1)
	requireDecodeError(t, abi.Validate(deep), abi.ErrTooDeep, 640)
	_, err := abi.Decode(deep)
	requireDecodeError(t, err, abi.ErrTooDeep, 640)
	var a any
	requireDecodeError(t, abi.Unmarshal(deep, &a), abi.ErrTooDeep, 640)
	var rec recList
	requireDecodeError(t, abi.Unmarshal(deep, &rec), abi.ErrTooDeep, 640)
	require.NoError(t, abi.Unmarshal(nestedLists(abi.MaxDepth), &rec))
	// Typed recursion through structs and pointers.
	var node *recNode
	for range abi.MaxDepth {
		node = &recNode{Next: node}
	}
	b, err := abi.Marshal(node)
	require.NoError(t, err)
	var back *recNode
	require.NoError(t, abi.Unmarshal(b, &back))
	require.Equal(t, node, back)
	_, err = abi.Marshal(&recNode{Next: node})
	requireTypeError(t, err, abi.ErrTooDeep)
	deepStruct := b
	for range 1 {
		deepStruct = encStruct(fld{"Next", deepStruct})
	}
	requireDecodeError(t, abi.Unmarshal(deepStruct, &back), abi.ErrTooDeep, 64*(6+4+2+4))
	// Scalars inside the 64th level are fine: only composites count.
	scalarDeep := encI8(1)
	for range abi.MaxDepth {
		scalarDeep = encList(scalarDeep)
	}
	require.NoError(t, abi.Validate(scalarDeep))
}

type recList []recList

type recNode struct{ Next *recNode }

type selfPtr *selfPtr

type twoWay struct{ A, B *twoWay }

// TestCycles: cyclic values are rejected quickly, never hang or overflow the stack.
func TestCycles(t *testing.T) {
	n := &recNode{}
	n.Next = n
	m := map[string]any{}
	m["self"] = m
	s := []any{nil}
	s[0] = s
	var p selfPtr
	p = &p
	var iface any
	iface = &iface
	tw := &twoWay{}
	tw.A, tw.B = tw, tw
	st := abi.Struct{{Name: "me"}}
	st[0].Value = st

	for name, v := range map[string]any{
		"struct pointer": n, "map": m, "slice": s, "pointer only": p,
		"interface": iface, "two-way": tw, "abi.Struct": st,
	} {
		t.Run(name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() { _, err := abi.Marshal(v); done <- err }()
			select {
			case err := <-done:
				requireTypeError(t, err, abi.ErrTooDeep)
			case <-time.After(10 * time.Second):
				t.Fatal("Marshal of a cyclic value hangs")
			}
		})
	}

	// Decoding into a self-referential pointer type: Nil works, anything
	// else is unsupported (rather than infinite recursion).
	var q selfPtr
	require.NoError(t, abi.Unmarshal(encNil(), &q))
	require.Nil(t, q)
	requireTypeError(t, abi.Unmarshal(encI8(1), &q), abi.ErrUnsupportedType)
}

// TestAppend: Append extends dst and leaves it alone on error.
func TestAppend(t *testing.T) {
	prefix := []byte("xy")
	b, err := abi.Append(prefix, int8(1))
	require.NoError(t, err)
	require.Equal(t, cat([]byte("xy"), encI8(1)), b)

	buf := make([]byte, 2, 64)
	copy(buf, "xy")
	out, err := abi.Append(buf, []any{1, make(chan int)})
	requireTypeError(t, err, abi.ErrUnsupportedType)
	require.Equal(t, []byte("xy"), out)
	require.Equal(t, []byte("xy"), buf[:2])

	b, err = abi.AppendValue(nil, reflect.ValueOf(uint16(7)))
	require.NoError(t, err)
	require.Equal(t, encU16(7), b)
	b, err = abi.AppendValue(nil, reflect.Value{})
	require.NoError(t, err)
	require.Equal(t, encNil(), b)
	var a any = "in interface"
	b, err = abi.AppendValue([]byte{0}, reflect.ValueOf(&a).Elem())
	require.NoError(t, err)
	require.Equal(t, cat([]byte{0}, encStr("in interface")), b)
}

// TestTags checks Tag helpers and the wire numbers.
func TestTags(t *testing.T) {
	require.Equal(t, "Int32", abi.TagInt32.String())
	require.Equal(t, "Nil", abi.TagNil.String())
	require.Equal(t, "Tag(0)", abi.Tag(0).String())
	require.Equal(t, "Tag(18)", abi.Tag(18).String())
	require.Equal(t, "Tag(-1)", abi.Tag(-1).String())
	require.True(t, abi.TagInt8.Valid())
	require.True(t, abi.TagNil.Valid())
	require.False(t, abi.Tag(0).Valid())
	require.False(t, abi.Tag(18).Valid())
	want := []abi.Tag{abi.TagInt8, abi.TagInt16, abi.TagInt32, abi.TagInt64, abi.TagUint8, abi.TagUint16, abi.TagUint32, abi.TagUint64,
		abi.TagBool, abi.TagString, abi.TagByteArray, abi.TagFloat32, abi.TagFloat64, abi.TagList, abi.TagMap, abi.TagStruct, abi.TagNil}
	for i, tag := range want {
		require.Equal(t, abi.Tag(i+1), tag)
	}
}

// TestConcurrentFirstUse: the per-type caches are filled safely when many
// goroutines meet new (and recursive) types at once. Run with -race.
func TestConcurrentFirstUse(t *testing.T) {
	type rec struct {
		Name string
		Kids []rec
		Next *rec
		M    map[string]rec
	}
	v := rec{Name: "root", Kids: []rec{{Name: "k"}}, Next: &rec{Name: "n"}, M: map[string]rec{"m": {Name: "m"}}}
	want := []byte(nil)
	errs := make(chan error, 16)
	outs := make(chan []byte, 16)
	for range 16 {
		go func() {
			b, err := abi.Marshal(v)
			if err == nil {
				var back rec
				err = abi.Unmarshal(b, &back)
				if err == nil {
					// nil slices and maps come back empty: compare encodings.
					again, _ := abi.Marshal(back)
					if !bytes.Equal(again, b) || back.Next.Name != "n" || back.Kids[0].Name != "k" {
						err = errors.New("round trip changed the value")
					}
				}
			}
			errs <- err
			outs <- b
		}()
	}
	for range 16 {
		require.NoError(t, <-errs)
		b := <-outs
		if want == nil {
			want = b
		}
		require.Equal(t, want, b)
	}
}
