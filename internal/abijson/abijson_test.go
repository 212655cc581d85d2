package abijson

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/abi"
)

// same reports whether a and b are the same ABI value: the same canonical
// encoding (which also compares NaN payloads and -0 exactly).
func same(t *testing.T, a, b any) {
	t.Helper()
	ea, err := abi.Marshal(a)
	require.NoError(t, err)
	eb, err := abi.Marshal(b)
	require.NoError(t, err)
	assert.Equal(t, ea, eb, "%#v vs %#v", a, b)
}

func TestEveryTagRoundTrips(t *testing.T) {
	payloadNaN := math.Float64frombits(0xfff0000000000002)
	for _, tc := range []struct {
		v    any
		json string
	}{
		{nil, `null`},
		{true, `true`},
		{"héllo \"<&>\"", `"héllo \"<&>\""`},
		{"nil", `"nil"`},
		{"\xff\x00", `{"$strhex": "ff00"}`},
		{int8(-128), `{"$i8": -128}`},
		{int16(7), `{"$i16": 7}`},
		{int32(-5), `{"$i32": -5}`},
		{int64(math.MaxInt64), `{"$i64": "9223372036854775807"}`},
		{uint8(255), `{"$u8": 255}`},
		{uint16(1), `{"$u16": 1}`},
		{uint32(math.MaxUint32), `{"$u32": 4294967295}`},
		{uint64(math.MaxUint64), `{"$u64": "18446744073709551615"}`},
		{float32(1.5), `{"$f32": 1.5}`},
		{math.Copysign(0, -1), `{"$f64": -0}`},
		{1e300, `{"$f64": 1e+300}`},
		{math.Float64frombits(0x7ff8000000000000), `{"$f64": "NaN"}`},
		{math.NaN(), `{"$f64": "0x7ff8000000000001"}`}, // Go's NaN is not the canonical one
		{payloadNaN, `{"$f64": "0xfff0000000000002"}`},
		{float32(math.NaN()), `{"$f32": "NaN"}`},
		{float32(math.Inf(-1)), `{"$f32": "-Inf"}`},
		{math.Inf(1), `{"$f64": "Inf"}`},
		{[]byte{0x0a, 0xff}, `{"$bytes": "0aff"}`},
		{[]byte{}, `{"$bytes": ""}`},
		{[]any{}, `[]`},
		{[]any{"a", nil, []any{true}}, `["a", null, [true]]`},
		{map[any]any{}, `{}`},
		{map[any]any{"b": int32(1), "a": "x"}, `{"a": "x", "b": {"$i32": 1}}`},
		{map[any]any{"$i32": "not a type"}, `{"$map": [["$i32", "not a type"]]}`},
		{map[any]any{int32(2): "two", int32(-1): "minus", int8(9): "i8", "s": true, false: nil, uint64(3): 1.5},
			`{"$map": [[{"$i8": 9}, "i8"], [{"$i32": -1}, "minus"], [{"$i32": 2}, "two"], [{"$u64": "3"}, {"$f64": 1.5}], [false, null], ["s", true]]}`},
		{abi.Struct{{Name: "z", Value: "first"}, {Name: "a", Value: abi.Struct{}}}, `{"$struct": {"z": "first", "a": {"$struct": {}}}}`},
	} {
		got, err := Marshal(tc.v)
		require.NoError(t, err)
		assert.Equal(t, tc.json, string(got))
		back, err := Parse(got)
		require.NoError(t, err, tc.json)
		same(t, tc.v, back)
	}
}

func TestBareJSON(t *testing.T) {
	for text, want := range map[string]any{
		`5`: int64(5), `-7`: int64(-7), `1.5`: 1.5, `2e3`: 2000.0, `"s"`: "s", `null`: nil,
		`{"k": [1, {"$u8": "0xff"}]}`: map[any]any{"k": []any{int64(1), uint8(255)}},
		`{"$i64": 9007199254740993}`:  int64(9007199254740993), // exact: not read as a float64
		`{"$u32": "0x10"}`:            uint32(16),
		`{"$f32": "0x7fc00001"}`:      math.Float32frombits(0x7fc00001),
		`{"$bytes": "0x0a"}`:          []byte{10},
		` {"$struct":{"b":1,"a":2}} `: abi.Struct{{Name: "b", Value: int64(1)}, {Name: "a", Value: int64(2)}},
	} {
		got, err := Parse([]byte(text))
		require.NoError(t, err, text)
		same(t, want, got)
	}
	args, err := ParseArgs([]byte(`["world", {"$i32": 5}, null]`))
	require.NoError(t, err)
	assert.Equal(t, []any{"world", int32(5), nil}, args)
	args, err = ParseArgs([]byte(`[]`))
	require.NoError(t, err)
	assert.Empty(t, args)
}

func TestParseErrors(t *testing.T) {
	deep := strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1)
	for text, msg := range map[string]string{
		``:                               "unexpected end of input",
		`[1,`:                            "unexpected end of input",
		`{"a" 1}`:                        "invalid character",
		`1 2`:                            "unexpected data after the value",
		`99999999999999999999`:           `out of the range of Int64`,
		`1e400`:                          `out of the range of Float64`,
		`{"$i8": 128}`:                   "$i8 wants an integer from -128 to 127",
		`{"$u8": -1}`:                    "$u8 wants an integer from 0 to 255",
		`{"$i32": 1.5}`:                  "$i32 wants an integer, got 1.5",
		`{"$i32": true}`:                 "$i32 wants an integer",
		`{"$f32": 1e39}`:                 "out of range",
		`{"$f64": "nan"}`:                `wants a number, "NaN"`,
		`{"$bytes": "zz"}`:               "hex digits",
		`{"$x": 1}`:                      `unknown type "$x"`,
		`{"$i32": 1, "b": 2}`:            `must have no other key`,
		`{"a": 1, "a": 2}`:               `duplicate map key "a"`,
		`{"$map": [[1.5, 1]]}`:           "a map key must be an integer, a Bool or a String, not Float64",
		`{"$map": [[1, 1], [1, 2]]}`:     "duplicate map key",
		`{"$map": [[1]]}`:                "unexpected",
		`{"$map": [[1, 2, 3]]}`:          "[key, value] pairs",
		`{"$map": {}}`:                   "[key, value] pairs",
		`{"$struct": {"": 1}}`:           "invalid or repeated struct field name",
		`{"$struct": {"a": 1, "a": 2}}`:  "invalid or repeated struct field name",
		`{"$struct": []}`:                "$struct wants an object",
		deep:                             "nested deeper than 64",
		`[{"a": {"$i32": 1, "$i8": 1}}]`: "at [0].a",
	} {
		_, err := Parse([]byte(text))
		require.Error(t, err, text)
		assert.True(t, errors.Is(err, ErrSyntax), text)
		assert.Contains(t, err.Error(), msg, text)
	}
	_, err := ParseArgs([]byte(`{"a": 1}`))
	assert.ErrorContains(t, err, "want a JSON array of arguments")
	// 64 levels are fine, scalars inside them too.
	ok := strings.Repeat("[", MaxDepth) + `{"$i32": 1}` + strings.Repeat("]", MaxDepth)
	_, err = Parse([]byte(ok))
	assert.NoError(t, err)
}

func TestMarshalRejectsNonABIValues(t *testing.T) {
	_, err := Marshal(struct{}{})
	assert.Error(t, err)
	_, err = Marshal(map[any]any{1.5: 1})
	assert.Error(t, err)
}

func TestParseInteger(t *testing.T) {
	for _, tc := range []struct {
		kind, s string
		want    any
	}{
		{"i8", "-128", int8(-128)}, {"i16", "0x7fff", int16(32767)}, {"i32", "-1", int32(-1)}, {"i64", "-9223372036854775808", int64(-9223372036854775808)},
		{"u8", "255", uint8(255)}, {"u16", "0xffff", uint16(65535)}, {"u32", "4294967295", uint32(4294967295)}, {"u64", "18446744073709551615", uint64(18446744073709551615)},
	} {
		got, err := ParseInteger(tc.kind, tc.s)
		if err != nil || got != tc.want {
			t.Errorf("ParseInteger(%q, %q) = %#v, %v; want %#v", tc.kind, tc.s, got, err, tc.want)
		}
	}
	for _, bad := range [][2]string{{"i8", "128"}, {"u8", "-1"}, {"u32", "x"}, {"", "1"}, {"i", "1"}, {"i7", "1"}, {"f32", "1"}, {"x8", "1"}} {
		if got, err := ParseInteger(bad[0], bad[1]); err == nil {
			t.Errorf("ParseInteger(%q, %q) = %#v, want an error", bad[0], bad[1], got)
		}
	}
}
