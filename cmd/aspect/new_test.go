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
		{"unknown language", []string{"new", "--lang", "cobol", filepath.Join(t.TempDir(), "a")}, `--lang "cobol": want as or go`},
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
