package enginefuzz

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"testing"
)

func TestFormatValue(t *testing.T) {
	for _, c := range []struct {
		t    byte
		raw  uint64
		want string
	}{
		{typeI32, 1, "i32:0x00000001"},
		{typeI32, 0xffffffff_00000002, "i32:0x00000002"}, // high bits are not the value's
		{typeI64, 0x8000000000000000, "i64:0x8000000000000000"},
		{typeF32, 0, "f32:0x00000000"},
		{typeF32, 0x80000000, "f32:0x80000000"}, // -0 is not +0
		{typeF32, 0x7fc00000, "f32:nan"},
		{typeF32, 0xffc00001, "f32:nan"}, // any sign and payload
		{typeF32, 0x7f800000, "f32:0x7f800000"},
		{typeF64, math.Float64bits(1), "f64:0x3ff0000000000000"},
		{typeF64, 0x8000000000000000, "f64:0x8000000000000000"},
		{typeF64, 0x7ff8000000000000, "f64:nan"},
		{typeF64, 0xfff0000000000001, "f64:nan"},
		{typeF64, 0x7ff0000000000000, "f64:0x7ff0000000000000"},
	} {
		if got := FormatValue(c.t, c.raw); got != c.want {
			t.Errorf("FormatValue(%s, %#x) = %q, want %q", TypeName(c.t), c.raw, got, c.want)
		}
	}
	// A NaN-free difference in bits is never canonicalized away.
	if FormatValue(typeF64, math.Float64bits(0.1)) == FormatValue(typeF64, math.Float64bits(0.1)+1) {
		t.Error("floats one ulp apart format the same")
	}
}

func TestArgs(t *testing.T) {
	params := []byte{typeI32, typeI64, typeF32, typeF64, typeI32, typeF32}
	for export := 0; export < 50; export++ {
		for set := 0; set < 2; set++ {
			a, b := Args(params, export, set), Args(params, export, set)
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("Args(%d, %d) not deterministic: %v / %v", export, set, a, b)
			}
			for i, v := range a {
				switch params[i] {
				case typeI32, typeF32:
					if v>>32 != 0 {
						t.Errorf("32-bit argument %#x has high bits", v)
					}
					if params[i] == typeF32 && math.IsNaN(float64(math.Float32frombits(uint32(v)))) {
						t.Errorf("NaN argument %#x", v)
					}
				case typeF64:
					if math.IsNaN(math.Float64frombits(v)) {
						t.Errorf("NaN argument %#x", v)
					}
				}
			}
		}
	}
	if reflect.DeepEqual(Args(params, 3, 0), Args(params, 3, 1)) {
		t.Error("the two argument sets are the same")
	}
}

func TestInputDeterministic(t *testing.T) {
	a, b := Input(7, 3, 0), Input(7, 3, 0)
	if !bytes.Equal(a, b) {
		t.Fatal("Input is not a function of its arguments")
	}
	if len(a) < 1024 {
		t.Errorf("input of %d bytes", len(a))
	}
	for _, o := range [][]byte{Input(8, 3, 0), Input(7, 4, 0), Input(7, 3, 1)} {
		if bytes.Equal(a, o) {
			t.Error("different seed, index or attempt gave the same input")
		}
	}
	// Pinned: module i of seed S must stay the same bytes across versions
	// of this package (only a new wasm-opt may change the module).
	if got := Input(1, 0, 0)[:8]; !bytes.Equal(got, pinnedInput) {
		t.Errorf("Input(1, 0, 0) starts with %x, was %x", got, pinnedInput)
	}
}

// pinnedInput is the start of Input(1, 0, 0).
var pinnedInput = []byte{0xf9, 0x75, 0x37, 0xde, 0x45, 0x28, 0x2a, 0x05}

func TestReportJSONRoundTrip(t *testing.T) {
	rep := sampleReport("wazero")
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*rep, back) {
		t.Fatalf("round trip changed the report:\n%+v\n%+v", *rep, back)
	}
	if d := Compare([]*Report{rep, &back}); len(d) != 0 {
		t.Fatalf("a report differs from its JSON round trip: %v", d)
	}
}
