package conformance

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/abi"
)

// Person is the struct the echo fixture's person() builds.
type Person struct {
	Name    string           `abi:"name"`
	Age     int32            `abi:"age"`
	Tags    []string         `abi:"tags"`
	Scores  map[string]int64 `abi:"scores"`
	Address Address          `abi:"address"`
}

// Address is nested in Person.
type Address struct {
	City string  `abi:"city"`
	Zip  *string `abi:"zip"`
}

// Nested exercises every composite inside another.
type Nested struct {
	ID       uint64            `abi:"id"`
	Label    string            `abi:"label"`
	Blob     []byte            `abi:"blob"`
	Ratio    float64           `abi:"ratio"`
	Children []Nested          `abi:"children"`
	Attrs    map[string]string `abi:"attrs"`
	ByNum    map[int32]bool    `abi:"by_num"`
	Parent   *Nested           `abi:"parent"`
	Any      any               `abi:"any"`
}

func mib(n int) string { return strings.Repeat("a", n<<20) }

func nestedValue() Nested {
	leaf := Nested{ID: 3, Label: "leaf ✓", Blob: []byte{0, 1, 255}, Ratio: -0.5,
		Attrs: map[string]string{"b": "2", "a": "1", "": "empty"}, ByNum: map[int32]bool{-5: true, 7: false, 0: true}}
	return Nested{ID: math.MaxUint64, Label: "root", Ratio: math.Inf(1),
		Children: []Nested{leaf, {ID: 4, Any: []any{int8(-1), "x", nil, map[any]any{"k": uint16(9)}}}},
		Parent:   &Nested{ID: 1, Label: "p"}, Any: abi.Struct{{Name: "z", Value: true}, {Name: "a", Value: float32(1.25)}}}
}

// deepList returns a value nested depth Lists deep.
func deepList(depth int) any {
	var v any = int8(1)
	for i := 0; i < depth; i++ {
		v = []any{v}
	}
	return v
}

// echoCase calls export with v and asserts the result re-encodes to exactly
// v's canonical bytes.
func echoCase(name, export string, v any) Case {
	return Case{Name: name, Run: func(t *testing.T, env *Env) string {
		rt := env.New(t, "as/echo.wasm", nil)
		want, err := abi.Marshal(v)
		require.NoError(t, err)
		got, err := rt.Call(context.Background(), export, v)
		require.NoError(t, err)
		gotBytes, err := abi.Marshal(got)
		require.NoError(t, err)
		require.Equal(t, want, gotBytes, "%s(%T) did not round-trip", export, v)
		return encoded(t, got)
	}}
}

func codecCases() []Case {
	var cs []Case
	typed := []struct {
		export string
		vals   []any
	}{
		{"echoI8", []any{int8(math.MinInt8), int8(-1), int8(0), int8(math.MaxInt8)}},
		{"echoI16", []any{int16(math.MinInt16), int16(0), int16(math.MaxInt16)}},
		{"echoI32", []any{int32(math.MinInt32), int32(0), int32(math.MaxInt32)}},
		{"echoI64", []any{int64(math.MinInt64), int64(-1), int64(math.MaxInt64)}},
		{"echoU8", []any{uint8(0), uint8(math.MaxUint8)}},
		{"echoU16", []any{uint16(0), uint16(math.MaxUint16)}},
		{"echoU32", []any{uint32(0), uint32(math.MaxUint32)}},
		{"echoU64", []any{uint64(0), uint64(math.MaxUint64)}},
		{"echoBool", []any{true, false}},
		{"echoString", []any{"", "hello", "héllo ✓ 世界 🎉", mib(1)}},
		{"echoBytes", []any{[]byte(nil), []byte{}, []byte{0, 1, 2, 255}, []byte(mib(1))}},
		{"echoF32", []any{float32(0), float32(1.5), float32(math.Copysign(0, -1)), float32(math.Inf(-1)), float32(math.NaN()), math.Float32frombits(0x7fc00001), float32(math.MaxFloat32), float32(math.SmallestNonzeroFloat32)}},
		{"echoF64", []any{0.0, -2.25, math.Inf(1), math.NaN(), math.Float64frombits(0x7ff8000000000001), math.MaxFloat64, math.SmallestNonzeroFloat64}},
	}
	for _, ty := range typed {
		for i, v := range ty.vals {
			cs = append(cs, echoCase(sprintf("codec/%s/%d", ty.export, i), ty.export, v))
			// The generic echo decodes into the guest library's Value tree.
			cs = append(cs, echoCase(sprintf("codec/echo/%s/%d", ty.export, i), "echo", v))
		}
	}
	generic := []struct {
		name string
		v    any
	}{
		{"list/strings", []string{"a", "", "ü"}},
		{"list/empty", []any{}},
		{"list/mixed", []any{int8(1), "two", 3.0, nil, true, []byte{4}}},
		{"map/string-keys", map[string]int64{"b": 2, "a": 1, "aa": 3, "": 0}},
		{"map/signed-keys", map[int16]string{-300: "neg", 0: "zero", 300: "pos"}},
		{"map/unsigned-keys", map[uint64]bool{math.MaxUint64: true, 0: false, 1 << 40: true}},
		{"map/bool-keys", map[bool]int8{true: 1, false: 0}},
		{"map/mixed-keys", map[any]any{"s": 1.5, int8(-1): "i8", uint32(7): nil, true: []any{}}},
		{"map/empty", map[string]int32{}},
		{"struct/person", Person{Name: "Ann", Age: 30, Tags: []string{"x"}, Scores: map[string]int64{"q": -1}}},
		{"struct/nested", nestedValue()},
		{"struct/generic", abi.Struct{{Name: "b", Value: int64(2)}, {Name: "a", Value: abi.Struct{{Name: "c", Value: nil}}}}},
		{"nil", nil},
		{"depth/64", deepList(64)},
		{"string/1MiB", mib(1)},
	}
	for _, g := range generic {
		cs = append(cs, echoCase("codec/echo/"+g.name, "echo", g.v))
	}
	cs = append(cs,
		echoCase("codec/echoRaw/nested", "echoRaw", nestedValue()),
		echoCase("codec/echoRaw/1MiB", "echoRaw", []byte(mib(1))),
		Case{Name: "codec/typed/person", Run: func(t *testing.T, env *Env) string {
			rt := env.New(t, "as/echo.wasm", nil)
			var p Person
			require.NoError(t, rt.CallInto(context.Background(), &p, "person", "Bo", int32(41)))
			require.Equal(t, Person{Name: "Bo", Age: 41, Tags: []string{"a", "b"},
				Scores: map[string]int64{"x": 1, "y": 2}, Address: Address{City: "Paris"}}, p)
			return encoded(t, p)
		}},
		Case{Name: "codec/typed/nested", Run: func(t *testing.T, env *Env) string {
			rt := env.New(t, "as/echo.wasm", nil)
			var got Nested
			require.NoError(t, rt.CallInto(context.Background(), &got, "echo", nestedValue()))
			want := nestedValue()
			require.Equal(t, encoded(t, want), encoded(t, got))
			require.Equal(t, want.Children[0].Attrs, got.Children[0].Attrs)
			require.Equal(t, want.Parent.Label, got.Parent.Label)
			return encoded(t, got)
		}},
		Case{Name: "codec/payload/1MiB", Run: func(t *testing.T, env *Env) string {
			rt := env.New(t, "as/echo.wasm", nil)
			n, err := callAs[int32](rt, "payloadLen", mib(1))
			require.NoError(t, err)
			require.Equal(t, int32(1<<20), n)
			return sprintf("%d", n)
		}},
	)
	return cs
}
