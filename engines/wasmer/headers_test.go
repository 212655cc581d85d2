//go:build wasmer && cgo

package wasmer

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

const wasmerGoPath = "github.com/wasmerio/wasmer-go"

// TestPinnedWasmerGo guards the adapter's one dependency on wasmer-go
// internals: the C headers under include/ must be the exact headers of the
// libwasmer.so that wasmer-go links, or struct layouts and function
// signatures may silently disagree with the library.
func TestPinnedWasmerGo(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}|{{if .Replace}}{{.Replace.Path}}@{{.Replace.Version}}{{end}}|{{.Dir}}", wasmerGoPath).Output()
	if err != nil {
		t.Fatalf("go list -m %s: %v", wasmerGoPath, err)
	}
	fields := strings.SplitN(strings.TrimSpace(string(out)), "|", 3)
	if len(fields) != 3 {
		t.Fatalf("go list -m %s: unexpected output %q", wasmerGoPath, out)
	}
	version, replace, dir := fields[0], fields[1], fields[2]
	if version != PinnedVersion || replace != "" {
		t.Fatalf("the build selects %s %s%s, but engines/wasmer/include holds the C headers of %s.\n"+
			"Copy the new version's wasmer/packaged/include headers into engines/wasmer/include, check every "+
			"declaration the shim uses (shim.h, shim.c) against them, and update PinnedVersion and WasmerVersion.",
			wasmerGoPath, version, replace, PinnedVersion)
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == wasmerGoPath && (d.Version != PinnedVersion || d.Replace != nil) {
				t.Fatalf("the test binary links %s %s, want %s", wasmerGoPath, d.Version, PinnedVersion)
			}
		}
	}
	if dir == "" {
		t.Fatalf("go list -m %s: module not in the module cache", wasmerGoPath)
	}
	upstream := filepath.Join(dir, "wasmer", "packaged", "include")
	for _, h := range []string{"wasm.h", "wasmer.h"} {
		ours, err := os.ReadFile(filepath.Join("include", h))
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := os.ReadFile(filepath.Join(upstream, h))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ours, theirs) {
			t.Errorf("include/%s differs from %s/%s: the copied C headers no longer match the linked library", h, upstream, h)
		}
	}
	assert.True(t, strings.HasPrefix(headerVersion, WasmerVersion), "headers for %s, WasmerVersion %s", headerVersion, WasmerVersion)
}
