//go:build cgo && !wazero && !wasmer

package wasmtime

import (
	"path/filepath"
	"testing"

	"github.com/aspect-rt/aspect-runtime/internal/pinnedmod"
)

const wasmtimeGoPath = "github.com/bytecodealliance/wasmtime-go/v44"

// TestPinnedWasmtimeGo guards the adapter's one dependency on wasmtime-go
// internals: the C headers under include/ must be the exact headers of the
// libwasmtime.a that wasmtime-go links, or struct layouts and function
// signatures may silently disagree with the library.
func TestPinnedWasmtimeGo(t *testing.T) {
	dir := pinnedmod.Dir(t, wasmtimeGoPath, PinnedVersion,
		"Copy the new version's build/include headers into engines/wasmtime/include, check every "+
			"declaration the shim uses (shim.h, shim.c) against them, and update PinnedVersion.")
	if n := pinnedmod.SameHeaders(t, "include", filepath.Join(dir, "build", "include")); n < 10 {
		t.Fatalf("found only %d headers under include/", n)
	}
}
