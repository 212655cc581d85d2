//go:build cgo && !wazero && !wasmer

package wasmtime

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

const wasmtimeGoPath = "github.com/bytecodealliance/wasmtime-go/v44"

// TestPinnedWasmtimeGo guards the adapter's one dependency on wasmtime-go
// internals: the C headers under include/ must be the exact headers of the
// libwasmtime.a that wasmtime-go links, or struct layouts and function
// signatures may silently disagree with the library.
func TestPinnedWasmtimeGo(t *testing.T) {
	// The version the build selects (go.mod), and where its source is.
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}|{{if .Replace}}{{.Replace.Path}}@{{.Replace.Version}}{{end}}|{{.Dir}}", wasmtimeGoPath).Output()
	if err != nil {
		t.Fatalf("go list -m %s: %v", wasmtimeGoPath, err)
	}
	fields := strings.SplitN(strings.TrimSpace(string(out)), "|", 3)
	if len(fields) != 3 {
		t.Fatalf("go list -m %s: unexpected output %q", wasmtimeGoPath, out)
	}
	version, replace, dir := fields[0], fields[1], fields[2]
	if version != PinnedVersion || replace != "" {
		t.Fatalf("the build selects %s %s%s, but engines/wasmtime/include holds the C headers of %s.\n"+
			"Copy the new version's build/include headers into engines/wasmtime/include, check every "+
			"declaration the shim uses (shim.h, shim.c) against them, and update PinnedVersion.",
			wasmtimeGoPath, version, replace, PinnedVersion)
	}
	// Test binaries carry build info only in some modes; check it when there.
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == wasmtimeGoPath && (d.Version != PinnedVersion || d.Replace != nil) {
				t.Fatalf("the test binary links %s %s, want %s", wasmtimeGoPath, d.Version, PinnedVersion)
			}
		}
	}
	if dir == "" {
		t.Fatalf("go list -m %s: module not in the module cache", wasmtimeGoPath)
	}
	upstream := filepath.Join(dir, "build", "include")

	n := 0
	err = filepath.WalkDir("include", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".h") {
			return err
		}
		n++
		rel, _ := filepath.Rel("include", path)
		ours, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		theirs, err := os.ReadFile(filepath.Join(upstream, rel))
		if err != nil {
			t.Errorf("include/%s: no such header in %s %s: %v", rel, wasmtimeGoPath, PinnedVersion, err)
			return nil
		}
		if !bytes.Equal(ours, theirs) {
			t.Errorf("include/%s differs from %s/%s: the copied C headers no longer match the linked library",
				rel, upstream, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Fatalf("found only %d headers under include/", n)
	}
}
