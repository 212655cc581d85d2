// Package pinnedmod lets an engine adapter's tests check that a Go module
// it depends on below its API (C headers copied from it, struct layouts) is
// the exact version the adapter was written against.
package pinnedmod

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

// Dir fails t unless the build selects module path at version, not
// replaced (and the test binary, when it records its dependencies, links
// that version); todo says what to do when it is not. It returns the
// module's directory in the module cache.
func Dir(t testing.TB, path, version, todo string) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}|{{if .Replace}}{{.Replace.Path}}@{{.Replace.Version}}{{end}}|{{.Dir}}", path).Output()
	if err != nil {
		t.Fatalf("go list -m %s: %v", path, err)
	}
	fields := strings.SplitN(strings.TrimSpace(string(out)), "|", 3)
	if len(fields) != 3 {
		t.Fatalf("go list -m %s: unexpected output %q", path, out)
	}
	got, replace, dir := fields[0], fields[1], fields[2]
	if got != version || replace != "" {
		t.Fatalf("the build selects %s %s%s, but the adapter is written against %s.\n%s", path, got, replace, version, todo)
	}
	// Test binaries carry build info only in some modes; check it when there.
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == path && (d.Version != version || d.Replace != nil) {
				t.Fatalf("the test binary links %s %s, want %s", path, d.Version, version)
			}
		}
	}
	if dir == "" {
		t.Fatalf("go list -m %s: module not in the module cache", path)
	}
	return dir
}

// SameHeaders fails t for every C header under ours (a directory, walked
// recursively) that is missing from upstream or differs from its copy
// there, and returns how many headers it compared.
func SameHeaders(t testing.TB, ours, upstream string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(ours, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".h") {
			return err
		}
		n++
		rel, _ := filepath.Rel(ours, path)
		mine, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		theirs, err := os.ReadFile(filepath.Join(upstream, rel))
		if err != nil {
			t.Errorf("%s/%s: no such header upstream: %v", ours, rel, err)
			return nil
		}
		if !bytes.Equal(mine, theirs) {
			t.Errorf("%s/%s differs from %s/%s: the copied C headers no longer match the linked library",
				ours, rel, upstream, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
