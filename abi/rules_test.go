package abi_test

import (
	"math"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/abi"
)

// TestDecoderRules feeds one violation of each decoder rule of FORMAT.md
// section 2 to every decoding entry point.
func TestDecoderRules(t *testing.T) {
	tests := []struct {
		rule   string
		in     []byte
		err    error
		offset int // of the offending value's header (or field name)
	}{
		// Rule 1: a header that does not fit, or a negative length.
		{"1 empty input", nil, abi.ErrTruncated, 0},
		{"1 one byte", []byte{3}, abi.ErrTruncated, 0},
		{"1 five bytes", h("0300 040000"), abi.ErrTruncated, 0},
		{"1 negative length", h("0a00 ffffffff"), abi.ErrInvalidLength, 0},
		{"1 most negative length", h("0e00 00000080 00000000"), abi.ErrInvalidLength, 0},
		{"1 element header cut by the list payload", cat(hdr(abi.TagList, 4+7+5), u32(2), encI8(1), encNil()[:5], []byte{0}), abi.ErrTruncated, 17},
		{"1 element negative length", encList(hdr(abi.TagString, -1)), abi.ErrInvalidLength, 10},
		// Rule 2: payload past the available bytes.
		{"2 string past end", h("0a00 05000000 6869"), abi.ErrTruncated, 0},
		{"2 fixed width past end", h("0300 04000000 0500"), abi.ErrTruncated, 0},
		{"2 huge length", h("0b00 ffffff7f 00"), abi.ErrTruncated, 0},
		{"2 element past the list payload", cat(hdr(abi.TagList, 10), u32(1), hdr(abi.TagInt8, 1), []byte{5}), abi.ErrTruncated, 10},
		{"2 map value past the map payload", cat(hdr(abi.TagMap, 4+7+6), u32(1), encI8(1), hdr(abi.TagInt8, 1), []byte{5}), abi.ErrTruncated, 17},
		{"2 struct name past payload", cat(hdr(abi.TagStruct, 4+2+1), u32(1), u16(5), []byte("a")), abi.ErrInvalidLength, 0},
		{"2 struct name runs past the struct payload", val(abi.TagStruct, u32(1), u16(200), []byte("a"), encNil()), abi.ErrTruncated, 10},
		{"2 struct field value header cut", cat(val(abi.TagStruct, u32(1), u16(1), []byte("a"), encNil()[:5]), []byte{0}), abi.ErrTruncated, 13},
		{"2 struct field name length cut", val(abi.TagStruct, u32(2), u16(1), []byte("a"), encStr("0123456789"), []byte{1}), abi.ErrTruncated, 29},
		// Rule 3: fixed-width payload of another length.
		{"3 Int8 of 2", val(abi.TagInt8, []byte{1, 2}), abi.ErrInvalidLength, 0},
		{"3 Int16 of 1", val(abi.TagInt16, []byte{1}), abi.ErrInvalidLength, 0},
		{"3 Int32 of 3", val(abi.TagInt32, []byte{1, 2, 3}), abi.ErrInvalidLength, 0},
		{"3 Int64 of 4", val(abi.TagInt64, u32(1)), abi.ErrInvalidLength, 0},
		{"3 Uint8 of 0", val(abi.TagUint8), abi.ErrInvalidLength, 0},
		{"3 Uint16 of 4", val(abi.TagUint16, u32(1)), abi.ErrInvalidLength, 0},
		{"3 Uint32 of 8", val(abi.TagUint32, u64(1)), abi.ErrInvalidLength, 0},
		{"3 Uint64 of 7", val(abi.TagUint64, make([]byte, 7)), abi.ErrInvalidLength, 0},
		{"3 Bool of 0", val(abi.TagBool), abi.ErrInvalidLength, 0},
		{"3 Bool of 2", val(abi.TagBool, []byte{1, 1}), abi.ErrInvalidLength, 0},
		{"3 Float32 of 8", val(abi.TagFloat32, u64(1)), abi.ErrInvalidLength, 0},
		{"3 Float64 of 4", val(abi.TagFloat64, u32(1)), abi.ErrInvalidLength, 0},
		{"3 Nil of 1", val(abi.TagNil, []byte{0}), abi.ErrInvalidLength, 0},
		{"3 nested", encList(encI8(1), val(abi.TagNil, []byte{0})), abi.ErrInvalidLength, 17},
		// Rule 4: Bool byte other than 0 or 1.
		{"4 Bool 2", val(abi.TagBool, []byte{2}), abi.ErrInvalidBool, 0},
		{"4 Bool ff", val(abi.TagBool, []byte{0xff}), abi.ErrInvalidBool, 0},
		{"4 nested Bool", encStruct(fld{"b", val(abi.TagBool, []byte{2})}), abi.ErrInvalidBool, 13},
		{"4 Bool as map key", encMap(val(abi.TagBool, []byte{2}), encNil()), abi.ErrInvalidBool, 10},
		// Rule 5: unknown tag.
		{"5 tag 0", hdr(0, 0), abi.ErrUnknownTag, 0},
		{"5 tag 18", hdr(18, 0), abi.ErrUnknownTag, 0},
		{"5 tag -1", hdr(-1, 0), abi.ErrUnknownTag, 0},
		{"5 tag max", hdr(math.MaxInt16, 0), abi.ErrUnknownTag, 0},
		{"5 tag min", hdr(math.MinInt16, 0), abi.ErrUnknownTag, 0},
		{"5 nested", encList(encNil(), hdr(100, 0)), abi.ErrUnknownTag, 16},
		// Rule 6: elements must consume the payload exactly; count bounded by payload/6.
		{"6 list payload shorter than count", val(abi.TagList, []byte{0, 0, 0}), abi.ErrInvalidLength, 0},
		{"6 map payload empty", val(abi.TagMap), abi.ErrInvalidLength, 0},
		{"6 struct payload shorter than count", val(abi.TagStruct, []byte{0}), abi.ErrInvalidLength, 0},
		{"6 list count exceeds payload/6", val(abi.TagList, u32(1)), abi.ErrInvalidLength, 0},
		{"6 list count 2 with room for 1", val(abi.TagList, u32(2), encNil(), []byte{0, 0, 0, 0, 0}), abi.ErrInvalidLength, 0},
		{"6 list count 0xFFFFFFFF", val(abi.TagList, u32(math.MaxUint32)), abi.ErrInvalidLength, 0},
		{"6 map count exceeds payload/6", val(abi.TagMap, u32(3), encI8(1), encNil()), abi.ErrInvalidLength, 0},
		{"6 map count fits payload/6 but not the entries", val(abi.TagMap, u32(2), encI8(1), encNil()), abi.ErrTruncated, 23},
		{"6 struct count exceeds payload", val(abi.TagStruct, u32(7)), abi.ErrInvalidLength, 0},
		{"6 list with slack", val(abi.TagList, u32(1), encNil(), []byte{0}), abi.ErrInvalidLength, 0},
		{"6 list count 0 with payload", val(abi.TagList, u32(0), encNil()), abi.ErrInvalidLength, 0},
		{"6 map with slack", val(abi.TagMap, u32(1), encI8(1), encNil(), []byte{0, 0}), abi.ErrInvalidLength, 0},
		{"6 map missing value", val(abi.TagMap, u32(1), encI8(1), encNil()[:0], make([]byte, 6)), abi.ErrUnknownTag, 17},
		{"6 struct with slack", val(abi.TagStruct, u32(1), u16(1), []byte("a"), encNil(), []byte{9}), abi.ErrInvalidLength, 0},
		{"6 nested slack", encList(val(abi.TagList, u32(0), []byte{1})), abi.ErrInvalidLength, 10},
		// Rule 7: nesting deeper than 64.
		{"7 lists 65 deep", nestedLists(65), abi.ErrTooDeep, 640},
		{"7 maps 65 deep", nestedMaps(65), abi.ErrTooDeep, 64 * 17},
		// Rule 8: map keys.
		{"8 Float key", encMap(encF64(0), encNil()), abi.ErrNonCanonical, 10},
		{"8 Float32 key", encMap(encF32(0), encNil()), abi.ErrNonCanonical, 10},
		{"8 ByteArray key", encMap(encBytes([]byte("a")), encNil()), abi.ErrNonCanonical, 10},
		{"8 Nil key", encMap(encNil(), encNil()), abi.ErrNonCanonical, 10},
		{"8 List key", encMap(encList(), encNil()), abi.ErrNonCanonical, 10},
		{"8 Map key", encMap(encMap(), encNil()), abi.ErrNonCanonical, 10},
		{"8 Struct key", encMap(encStruct(), encNil()), abi.ErrNonCanonical, 10},
		{"8 Int8 out of order", encMap(encI8(1), encNil(), encI8(-1), encNil()), abi.ErrNonCanonical, 23},
		{"8 Int64 out of order (bytewise would accept)", encMap(encI64(-1), encNil(), encI64(1), encNil(), encI64(0), encNil()), abi.ErrNonCanonical, 10 + 2*20},
		{"8 Uint16 out of order (bytewise would accept)", encMap(encU16(256), encNil(), encU16(2), encNil()), abi.ErrNonCanonical, 24},
		{"8 Bool out of order", encMap(encBool(true), encNil(), encBool(false), encNil()), abi.ErrNonCanonical, 23},
		{"8 String out of order", encMap(encStr("b"), encNil(), encStr("a"), encNil()), abi.ErrNonCanonical, 23},
		{"8 String prefix after longer", encMap(encStr("ab"), encNil(), encStr("a"), encNil()), abi.ErrNonCanonical, 24},
		{"8 tags out of order", encMap(encStr("a"), encNil(), encI8(1), encNil()), abi.ErrNonCanonical, 23},
		{"8 Uint before Int", encMap(encU8(0), encNil(), encI64(5), encNil()), abi.ErrNonCanonical, 23},
		{"8 duplicate Int32", encMap(encI32(7), encNil(), encI32(7), encNil()), abi.ErrNonCanonical, 26},
		{"8 duplicate String", encMap(encStr("k"), encI8(1), encStr("k"), encI8(2)), abi.ErrNonCanonical, 24},
		{"8 duplicate empty String", encMap(encStr(""), encNil(), encStr(""), encNil()), abi.ErrNonCanonical, 22},
		{"8 duplicate Bool", encMap(encBool(false), encNil(), encBool(false), encNil()), abi.ErrNonCanonical, 23},
		// Rule 9: struct field names.
		{"9 empty name", val(abi.TagStruct, u32(1), u16(0), encNil()), abi.ErrNonCanonical, 10},
		{"9 repeated name", encStruct(fld{"a", encNil()}, fld{"b", encNil()}, fld{"a", encNil()}), abi.ErrNonCanonical, 28},
		{"9 repeated name among many", encStruct(manyFields(40, 7)...), abi.ErrNonCanonical, 10 + 40*(2+3+6)},
		// Trailing data.
		{"trailing byte", cat(encI8(1), []byte{0}), abi.ErrTrailingData, 7},
		{"two values", cat(encNil(), encNil()), abi.ErrTrailingData, 6},
		{"trailing after list", cat(encList(encI8(1)), encI8(2)), abi.ErrTrailingData, 17},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			requireDecodeError(t, abi.Validate(tt.in), tt.err, tt.offset)
			v, err := abi.Decode(tt.in)
			requireDecodeError(t, err, tt.err, tt.offset)
			require.Nil(t, v)
			var a any
			requireDecodeError(t, abi.Unmarshal(tt.in, &a), tt.err, tt.offset)
			// Typed targets of the matching shape report the same error.
			if len(tt.in) == 0 {
				return
			}
			switch abi.Tag(tt.in[0]) {
			case abi.TagStruct:
				var s abi.Struct
				requireDecodeError(t, abi.Unmarshal(tt.in, &s), tt.err, tt.offset)
				var st struct{ A, B any }
				requireDecodeError(t, abi.Unmarshal(tt.in, &st), tt.err, tt.offset)
			case abi.TagList:
				var l []any
				requireDecodeError(t, abi.Unmarshal(tt.in, &l), tt.err, tt.offset)

			case abi.TagMap:
				var m map[any]any
				requireDecodeError(t, abi.Unmarshal(tt.in, &m), tt.err, tt.offset)
			}
		})
	}
}

// nestedMaps is depth Maps, each mapping Int8 0 to the next.
func nestedMaps(depth int) []byte {
	b := encMap()
	for i := 1; i < depth; i++ {
		b = encMap(encI8(0), b)
	}
	return b
}

// manyFields is n fields named f00, f01, ..., then a repeat of field dup.
func manyFields(n, dup int) []fld {
	name := func(i int) string { return string([]byte{'f', byte('0' + i/10), byte('0' + i%10)}) }
	var fs []fld
	for i := range n {
		fs = append(fs, fld{name(i), encNil()})
	}
	return append(fs, fld{name(dup), encNil()})
}

// TestValueSize checks only the header, including the fixed-width rules.
func TestValueSize(t *testing.T) {
	n, err := abi.ValueSize(cat(encStr("abc"), []byte("trailing")))
	require.NoError(t, err)
	require.Equal(t, 9, n)
	n, err = abi.ValueSize(cat(hdr(abi.TagList, 4), u32(99))) // count not checked
	require.NoError(t, err)
	require.Equal(t, 10, n)
	_, err = abi.ValueSize(h("0a00 05000000"))
	requireDecodeError(t, err, abi.ErrTruncated, 0)
	_, err = abi.ValueSize(h("0a00"))
	requireDecodeError(t, err, abi.ErrTruncated, 0)
	_, err = abi.ValueSize(h("0a00 ffffffff"))
	requireDecodeError(t, err, abi.ErrInvalidLength, 0)
	_, err = abi.ValueSize(val(abi.TagBool, []byte{5}))
	requireDecodeError(t, err, abi.ErrInvalidBool, 0)
	_, err = abi.ValueSize(hdr(0, 0))
	requireDecodeError(t, err, abi.ErrUnknownTag, 0)
}

// TestHugeCountDoesNotAllocate: a count that the payload cannot justify is
// rejected before anything is allocated for it.
func TestHugeCountDoesNotAllocate(t *testing.T) {
	inputs := map[string][]byte{
		"list count max, empty payload":   val(abi.TagList, u32(math.MaxUint32)),
		"map count max, empty payload":    val(abi.TagMap, u32(math.MaxUint32)),
		"struct count max, empty payload": val(abi.TagStruct, u32(math.MaxUint32)),
		"list count max, huge claimed":    cat(hdr(abi.TagList, math.MaxInt32), u32(math.MaxUint32)),
		"list count max, 1 KiB payload":   val(abi.TagList, u32(math.MaxUint32), make([]byte, 1024)),
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			targets := []func() error{
				func() error { return abi.Validate(in) },
				func() error { _, err := abi.Decode(in); return err },
				func() error { var v []int64; return abi.Unmarshal(in, &v) },
				func() error { var v [][1 << 20]byte; return abi.Unmarshal(in, &v) },
				func() error { var v map[string][1 << 16]int; return abi.Unmarshal(in, &v) },
				func() error { var v struct{ A int }; return abi.Unmarshal(in, &v) },
				func() error { var v any; return abi.Unmarshal(in, &v) },
			}
			for _, f := range targets {
				require.Error(t, f())
				allocs := testing.AllocsPerRun(20, func() { _ = f() })
				require.LessOrEqual(t, allocs, 8.0, "allocations for a rejected count")
			}
		})
	}

	// A plausible count of elements of a large type, with garbage elements:
	// the decoder does not preallocate count × element size.
	in := val(abi.TagList, u32(1000), encNil(), make([]byte, 6*999))
	var big [][1 << 20]byte // 1000 of these would be 1 GiB
	allocs := testing.AllocsPerRun(5, func() { _ = abi.Unmarshal(in, &big) })
	require.Less(t, allocs, 10.0)
	before := totalAlloc()
	require.ErrorIs(t, abi.Unmarshal(in, &big), abi.ErrMalformed)
	require.Less(t, totalAlloc()-before, uint64(64<<20), "bytes allocated decoding 6 KiB")
}

func totalAlloc() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}
