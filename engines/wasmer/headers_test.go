//go:build wasmer && cgo

package wasmer

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/aspect-rt/aspect-runtime/internal/pinnedmod"
)

const wasmerGoPath = "github.com/wasmerio/wasmer-go"

// TestPinnedWasmerGo guards the adapter's one dependency on wasmer-go
// internals: the C headers under include/ must be the exact headers of the
// libwasmer.so that wasmer-go links, or struct layouts and function
// signatures may silently disagree with the library.
func TestPinnedWasmerGo(t *testing.T) {
	dir := pinnedmod.Dir(t, wasmerGoPath, PinnedVersion,
		"Copy the new version's wasmer/packaged/include headers into engines/wasmer/include, check every "+
			"declaration the shim uses (shim.h, shim.c) against them, and update PinnedVersion and WasmerVersion.")
	if n := pinnedmod.SameHeaders(t, "include", filepath.Join(dir, "wasmer", "packaged", "include")); n != 2 {
		t.Fatalf("found %d headers under include/, want wasm.h and wasmer.h", n)
	}
	assert.True(t, strings.HasPrefix(headerVersion, WasmerVersion), "headers for %s, WasmerVersion %s", headerVersion, WasmerVersion)
}
