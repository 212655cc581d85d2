package runtime_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestExampleGuestCopies checks that the copies of the examples' guest in the
// pool and metering packages (go:embed cannot reach outside a package) are
// the same source and bytes as testdata/example_guest.wat and .wasm here.
// examples/build-guests.sh --check also checks that the bytes are what the
// source builds to.
func TestExampleGuestCopies(t *testing.T) {
	for _, name := range []string{"example_guest.wat", "example_guest.wasm"} {
		want, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		for _, pkg := range []string{"pool", "metering"} {
			path := filepath.Join("..", pkg, "testdata", name)
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from runtime/testdata/%s: copy it (and run examples/build-guests.sh)", path, name)
			}
		}
	}
}
