package abi

import (
	"bytes"
	"math"
	"reflect"
	"strings"
	"testing"
)

// TestFastPathsMatch: the reflection-free paths of Append and Unmarshal give
// exactly the bytes, values and errors of the reflective codec.
func TestFastPathsMatch(t *testing.T) {
	values := []any{
		"", "hello", strings.Repeat("✓", 100), []byte(nil), []byte{}, []byte{0, 1, 255},
		true, false, int8(-128), int16(-1), int32(math.MinInt32), int64(math.MaxInt64), int(-7),
		uint8(255), uint16(65535), uint32(math.MaxUint32), uint64(math.MaxUint64), uint(3),
		float32(1.5), float32(math.Float32frombits(0x7fa00001)), math.Inf(-1), math.Float64frombits(0x7ff4000000000001), nil,
	}
	for _, v := range values {
		fast, err := Append([]byte{9}, v)
		if err != nil {
			t.Fatalf("Append(%#v): %v", v, err)
		}
		slow, err := AppendValue([]byte{9}, reflect.ValueOf(v))
		if err != nil {
			t.Fatalf("AppendValue(%#v): %v", v, err)
		}
		if !bytes.Equal(fast, slow) {
			t.Errorf("%#v: fast %x, reflective %x", v, fast, slow)
		}
	}
	inputs := [][]byte{nil, {10}, {10, 0, 0, 0, 0, 0}, {10, 0, 2, 0, 0, 0, 'h', 'i'}, {11, 0, 1, 0, 0, 0, 7},
		{10, 0, 2, 0, 0, 0, 'h'}, {10, 0, 1, 0, 0, 0, 'h', 'i'}, {10, 0, 255, 255, 255, 255}, {4, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0},
		{14, 0, 10, 0, 0, 0, 1, 0, 0, 0, 5, 0, 1, 0, 0, 0, 7}, {17, 0, 0, 0, 0, 0}, {99, 0, 0, 0, 0, 0}}
	for _, in := range inputs {
		var s1, s2 string
		e1 := Unmarshal(in, &s1)
		e2 := UnmarshalValue(in, reflect.ValueOf(&s2).Elem())
		if s1 != s2 || (e1 == nil) != (e2 == nil) || e1 != nil && e1.Error() != e2.Error() {
			t.Errorf("string from %x: fast (%q, %v), reflective (%q, %v)", in, s1, e1, s2, e2)
		}
		var b1, b2 []byte
		e1 = Unmarshal(in, &b1)
		e2 = UnmarshalValue(in, reflect.ValueOf(&b2).Elem())
		if !bytes.Equal(b1, b2) || (b1 == nil) != (b2 == nil) || (e1 == nil) != (e2 == nil) || e1 != nil && e1.Error() != e2.Error() {
			t.Errorf("[]byte from %x: fast (%v, %v), reflective (%v, %v)", in, b1, e1, b2, e2)
		}
	}
	for _, in := range inputs {
		s1, e1 := DecodeString(in)
		var s2 string
		e2 := Unmarshal(in, &s2)
		if s1 != s2 || (e1 == nil) != (e2 == nil) || e1 != nil && e1.Error() != e2.Error() {
			t.Errorf("DecodeString(%x) = (%q, %v), Unmarshal gives (%q, %v)", in, s1, e1, s2, e2)
		}
		b1, e1 := DecodeBytes(in)
		var b2 []byte
		e2 = Unmarshal(in, &b2)
		if !bytes.Equal(b1, b2) || (e1 == nil) != (e2 == nil) || e1 != nil && e1.Error() != e2.Error() {
			t.Errorf("DecodeBytes(%x) = (%v, %v), Unmarshal gives (%v, %v)", in, b1, e1, b2, e2)
		}
	}
	var nilString *string
	if err := Unmarshal([]byte{10, 0, 0, 0, 0, 0}, nilString); err == nil {
		t.Error("Unmarshal into a nil *string succeeded")
	}
}

func BenchmarkAppendString(b *testing.B) {
	buf := make([]byte, 0, 128)
	s := strings.Repeat("x", 64)
	for b.Loop() {
		buf, _ = Append(buf[:0], s)
	}
}

// TestTypedPathsMatch: UnmarshalTo and AppendTo agree with Unmarshal and
// Append, for the types they take without reflection and for the others.
func TestTypedPathsMatch(t *testing.T) {
	check := func(name string, data []byte, fast, slow any, efast, eslow error) {
		t.Helper()
		if !reflect.DeepEqual(fast, slow) || (efast == nil) != (eslow == nil) || efast != nil && efast.Error() != eslow.Error() {
			t.Errorf("%s from %x: UnmarshalTo (%#v, %v), Unmarshal (%#v, %v)", name, data, fast, efast, slow, eslow)
		}
	}
	for _, v := range []any{int64(-5), int32(7), int16(-3), int8(9), uint64(1 << 63), uint32(5), uint16(6), uint8(200), true, false,
		3.25, float32(-1.5), "s", []byte{1}, int64(3), uint8(3)} {
		data, err := Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range [][]byte{data, data[:len(data)-1], append(append([]byte{}, data...), 0)} {
			{
				f, ef := UnmarshalTo[int64](in)
				var s int64
				es := Unmarshal(in, &s)
				check("int64", in, f, s, ef, es)
			}
			{
				f, ef := UnmarshalTo[uint8](in)
				var s uint8
				es := Unmarshal(in, &s)
				check("uint8", in, f, s, ef, es)
			}
			{
				f, ef := UnmarshalTo[float32](in)
				var s float32
				es := Unmarshal(in, &s)
				check("float32", in, f, s, ef, es)
			}
			{
				f, ef := UnmarshalTo[bool](in)
				var s bool
				es := Unmarshal(in, &s)
				check("bool", in, f, s, ef, es)
			}
			{
				f, ef := UnmarshalTo[string](in)
				var s string
				es := Unmarshal(in, &s)
				check("string", in, f, s, ef, es)
			}
			{
				f, ef := UnmarshalTo[any](in)
				var s any
				es := Unmarshal(in, &s)
				check("any", in, f, s, ef, es)
			}
		}
		fast, err1 := AppendTo(nil, v)
		slow, err2 := Append(nil, v)
		if !bytes.Equal(fast, slow) || (err1 == nil) != (err2 == nil) {
			t.Errorf("AppendTo(%#v) = %x, Append = %x", v, fast, slow)
		}
	}
	// An interface type parameter holding a string is not a string.
	var iv any = "x"
	fast, _ := AppendTo(nil, iv)
	slow, _ := Append(nil, iv)
	if !bytes.Equal(fast, slow) {
		t.Errorf("AppendTo[any] = %x, Append = %x", fast, slow)
	}
	in := []byte{4, 0, 8, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8}
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() {
		_, _ = UnmarshalTo[int64](in)
		_, _ = AppendTo(buf[:0], false)
		_, _ = AppendTo(buf[:0], int64(12345))
	}); n != 0 {
		t.Errorf("UnmarshalTo[int64] and AppendTo(bool, int64) allocated %.1f times", n)
	}
}
