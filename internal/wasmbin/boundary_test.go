package wasmbin

import (
	"encoding/hex"
	"errors"
	"testing"
)

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Modules compiled with wat2wasm from the text in each comment.
var (
	// (module (func (export "f") (param v128)))
	v128ExportHex = "0061736d0100000001050160017b0003020100070501016600000a040102000b"
	// (module (import "m" "f" (func (param i32) (result v128))))
	v128ImportHex = "0061736d0100000001060160017f017b020701016d01660000"
	// (module (global (export "g") v128 (v128.const i64x2 0 0)))
	v128GlobalHex = "0061736d010000000616017b00fd0c000000000000000000000000000000000b07050101670300"
	// (module (memory 65536))
	mem4GiBHex = "0061736d0100000005050100808004"
	// (module (memory 1 65536) (func (export "f") (param v128) (result v128) local.get 0))
	mem1To4GiBV128Hex = "0061736d0100000001060160017b017b030201000506010101808004070501016600000a0601040020000b"
	// (module (func (export "f") (result i32) (local v128) i32.const 1))
	v128LocalHex = "0061736d010000000105016000017f03020100070501016600000a08010601017b41010b"
)

func TestCheckBoundaryTypes(t *testing.T) {
	for name, c := range map[string]struct {
		hex  string
		want bool
	}{
		"export":         {v128ExportHex, true},
		"import":         {v128ImportHex, true},
		"global":         {v128GlobalHex, true},
		"export+memory":  {mem1To4GiBV128Hex, true},
		"internal local": {v128LocalHex, false},
		"no types":       {mem4GiBHex, false},
	} {
		err := CheckBoundaryTypes(mustHex(t, c.hex))
		if got := errors.Is(err, ErrBoundaryType); got != c.want {
			t.Errorf("%s: CheckBoundaryTypes = %v, want ErrBoundaryType %v", name, err, c.want)
		}
	}
	// Unreadable input is left to the engine, never a panic.
	for _, b := range [][]byte{nil, []byte("\x00asm\x01\x00\x00\x00\x01\xff"), mustHex(t, v128ExportHex)[:20]} {
		if err := CheckBoundaryTypes(b); err != nil {
			t.Errorf("CheckBoundaryTypes(%x) = %v, want nil", b, err)
		}
	}
}

func TestClampMemoryMax(t *testing.T) {
	_, err := ClampMemoryMax(mustHex(t, mem4GiBHex), MaxSafePages)
	if !errors.Is(err, ErrMemoryTooLarge) {
		t.Fatalf("min 65536 pages: %v, want ErrMemoryTooLarge", err)
	}
	out, err := ClampMemoryMax(mustHex(t, mem1To4GiBV128Hex), MaxSafePages)
	if err != nil {
		t.Fatal(err)
	}
	mems, err := Memories(out)
	if err != nil || len(mems) != 1 || mems[0].Min != 1 || !mems[0].HasMax || mems[0].Max != MaxSafePages {
		t.Fatalf("clamped memories = %+v, %v", mems, err)
	}
	// Already within the limit: the same bytes come back.
	again, err := ClampMemoryMax(out, MaxSafePages)
	if err != nil || &again[0] != &out[0] {
		t.Fatalf("clamping twice copied or failed: %v", err)
	}
	// No maximum declared: the limit becomes the maximum.
	noMax := mustHex(t, "0061736d010000000503010001") // (module (memory 1))
	out, err = ClampMemoryMax(noMax, 16)
	if err != nil {
		t.Fatal(err)
	}
	if mems, _ := Memories(out); len(mems) != 1 || mems[0].Max != 16 || !mems[0].HasMax {
		t.Fatalf("memories = %+v", mems)
	}
}
