package metering

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestGenCorpus writes the hand-built modules to the committed fuzz corpus.
// Run with METERING_GEN_CORPUS=1.
func TestGenCorpus(t *testing.T) {
	if os.Getenv("METERING_GEN_CORPUS") == "" {
		t.Skip("set METERING_GEN_CORPUS=1 to regenerate testdata/fuzz/FuzzInstrument")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzInstrument")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	mods := map[string][]byte{
		"shift": shiftModule(), "rec": recModule(), "grow": growModule(10), "bulk": bulkModule(),
		"misc": miscModule(), "hash": hashModule(),
		"simd":    featureModule(op(0xfd, 0x0c), make([]byte, 16), drop),
		"threads": featureModule(i32c(0), i32c(0), op(0xfe, 0x10, 2, 0), drop),
		"multivalue": func() []byte {
			w := &wmod{}
			tb := w.typ([]byte{i32, i64}, []byte{i64, i32})
			w.fn(w.typ([]byte{i32, i64}, []byte{i64, i32}), nil, lget(0), lget(1), []byte{0x02}, u32(tb), op(0x1a, 0x1a), i64c(1), i32c(2), br(0), end)
			return w.bytes()
		}(),
	}
	for name, b := range mods {
		content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		if err := os.WriteFile(filepath.Join(dir, "seed-"+name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
