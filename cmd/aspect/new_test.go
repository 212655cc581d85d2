package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The templates of aspect new. Building them with npm happens in
// scripts/guest-outside-repo.sh (it needs the npm registry); the Go one is
// built and run here.

func repoRoot(t *testing.T) string {
	t.Helper()
	return mustAbs(t, filepath.Join("..", ".."))
}

func TestNewGoBuildsAndRuns(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "My Aspect")
	code, out, stderr := aspect(t, "new", "--lang", "go", "--sdk", repoRoot(t), dir)
	require.Equal(t, 0, code, stderr)
	for _, f := range []string{"go.mod", "main.go", "Makefile", "README.md", ".gitignore"} {
		assert.Contains(t, out, filepath.Join(dir, f)+"\n")
		assert.FileExists(t, filepath.Join(dir, f))
	}
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	require.NoError(t, err)
	assert.Contains(t, string(gomod), "module example.com/my-aspect\n")
	assert.Contains(t, string(gomod), "\nrequire github.com/aspect-rt/aspect-runtime v0.0.0-00010101000000-000000000000\n")
	assert.Contains(t, string(gomod), "\nreplace github.com/aspect-rt/aspect-runtime => "+repoRoot(t)+"\n")

	// The Makefile's build command, outside the repository.
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", "greet.wasm", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0", "GOFLAGS=-mod=readonly")
	msg, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build: %s", msg)
	wasm := filepath.Join(dir, "greet.wasm")
	code, out, stderr = aspect(t, "run", "--wasi", "--stub-imports", wasm, "greet", "s:world")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "\"hello, world\"\n", out)
	code, out, stderr = aspect(t, "run", "--wasi", "--host", "index.test.hello=s:hi", wasm, "greetHost", "s:world")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "\"hi\"\n", out)
}

func TestNewAssemblyScript(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "greeter")
	code, _, stderr := aspect(t, "new", "--sdk", repoRoot(t), dir) // --lang as is the default
	require.Equal(t, 0, code, stderr)
	var pkg struct {
		Name            string
		Scripts         map[string]string
		DevDependencies map[string]string
	}
	data, err := os.ReadFile(filepath.Join(dir, "package.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &pkg))
	assert.Equal(t, "greeter", pkg.Name)
	assert.Equal(t, map[string]string{
		"@aspect-runtime/guest": "file:" + filepath.ToSlash(filepath.Join(repoRoot(t), "guest", "assemblyscript")),
		"assemblyscript":        "0.28.20",
	}, pkg.DevDependencies)
	assert.Equal(t, "asc", pkg.Scripts["build"])
	var asconfig struct{ Extends string }
	data, err = os.ReadFile(filepath.Join(dir, "asconfig.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &asconfig))
	assert.Equal(t, "@aspect-runtime/guest/asconfig.json", asconfig.Extends)
	// The version the template pins is the one the package and the
	// fixtures are tested with.
	data, err = os.ReadFile(filepath.Join(repoRoot(t), "conformance", "package.json"))
	require.NoError(t, err)
	assert.Contains(t, string(data), `"assemblyscript": "0.28.20"`)
	src, err := os.ReadFile(filepath.Join(dir, "greet.ts"))
	require.NoError(t, err)
	assert.Contains(t, string(src), `export { allocate } from "@aspect-runtime/guest";`)
}

func TestNewFindsTheCheckout(t *testing.T) {
	// Without --sdk, the checkout containing the current directory (the
	// test runs in cmd/aspect).
	dir := filepath.Join(t.TempDir(), "g")
	code, _, stderr := aspect(t, "new", "--lang", "go", dir)
	require.Equal(t, 0, code, stderr)
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	require.NoError(t, err)
	assert.Contains(t, string(gomod), "=> "+repoRoot(t)+"\n")
}

func TestNewErrors(t *testing.T) {
	full := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(full, "x"), nil, 0o644))
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no dir", []string{"new"}, "new needs exactly one DIR"},
		{"unknown language", []string{"new", "--lang", "cobol", filepath.Join(t.TempDir(), "a")}, `--lang "cobol": want as, go or rust`},
		{"not empty", []string{"new", "--sdk", repoRoot(t), full}, "exists and is not empty"},
		{"not a checkout", []string{"new", "--sdk", t.TempDir(), filepath.Join(t.TempDir(), "a")}, "not a checkout of github.com/aspect-rt/aspect-runtime"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, stderr := aspect(t, tc.args...)
			assert.Equal(t, 2, code)
			assert.Empty(t, out)
			assert.Contains(t, stderr, tc.want)
			assert.True(t, strings.HasSuffix(stderr, "'aspect new -h' prints its usage and flags\n"), stderr)
		})
	}
	entries, err := os.ReadDir(full)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "a refused new writes nothing")
}

func TestNewHelp(t *testing.T) {
	code, out, _ := aspect(t, "new", "-h")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "usage: aspect new")
	assert.Contains(t, out, "-lang")
	assert.Contains(t, out, "-sdk")
}

// wasmRustc returns a rustc with the wasm32-unknown-unknown standard
// library (Debian's /usr/bin/rustc with libstd-rust-dev-wasm32, or one on
// the PATH with the rustup target), or "".
func wasmRustc() string {
	for _, c := range []string{"/usr/bin/rustc", "rustc"} {
		sysroot, err := exec.Command(c, "--print", "sysroot").Output()
		if err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(strings.TrimSpace(string(sysroot)), "lib", "rustlib", "wasm32-unknown-unknown")); err == nil {
			return c
		}
	}
	return ""
}

func TestNewRust(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "greet-rs")
	code, _, stderr := aspect(t, "new", "--lang", "rust", "--sdk", repoRoot(t), dir)
	require.Equal(t, 0, code, stderr)
	cargo, err := os.ReadFile(filepath.Join(dir, "Cargo.toml"))
	require.NoError(t, err)
	assert.Contains(t, string(cargo), "name = \"greet-rs\"\n")
	assert.Contains(t, string(cargo), "crate-type = [\"cdylib\"]\n")
	assert.Contains(t, string(cargo), "aspect-guest = { path = \""+repoRoot(t)+"/guest/rust\" }\n")
	assert.FileExists(t, filepath.Join(dir, "src", "lib.rs"))
	makefile, err := os.ReadFile(filepath.Join(dir, "Makefile"))
	require.NoError(t, err)
	assert.Contains(t, string(makefile), "--crate-name greet_rs ")

	// The Makefile's build, when a rustc for wasm32 is installed
	// (scripts/guest-outside-repo.sh builds it in CI, where .ci/run
	// installs Debian's).
	rustc := wasmRustc()
	if rustc == "" {
		t.Log("no rustc with the wasm32-unknown-unknown standard library: the project is not built")
		return
	}
	cmd := exec.Command("make", "build", "RUSTC="+rustc)
	cmd.Dir = dir
	msg, err := cmd.CombinedOutput()
	require.NoError(t, err, "make build: %s", msg)
	wasm := filepath.Join(dir, "greet.wasm")
	code, out, stderr := aspect(t, "run", "--stub-imports", wasm, "greet", "s:world")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "\"hello, world\"\n", out)
	code, out, stderr = aspect(t, "run", "--host", "index.test.hello=s:hi", wasm, "greetHost", "s:world")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "\"hi\"\n", out)
}

func TestNewRustNeedsTheCrate(t *testing.T) {
	// A checkout without guest/rust: go.mod and the AssemblyScript package
	// only.
	sdk := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(sdk, "go.mod"), []byte("module github.com/aspect-rt/aspect-runtime\n\ngo 1.25.0\n"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(sdk, "guest", "assemblyscript"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(sdk, "guest", "assemblyscript", "package.json"), []byte("{}"), 0o644))
	dir := filepath.Join(t.TempDir(), "r")
	code, _, stderr := aspect(t, "new", "--lang", "rust", "--sdk", sdk, dir)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "has no Rust guest crate (guest/rust)")
	assert.NoDirExists(t, dir)
}
