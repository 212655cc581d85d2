package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestValidateCommand(t *testing.T) {
	fixture := func(p string) string { return filepath.Join("..", "..", "conformance", "fixtures", p) }
	corpus := func(p string) string { return filepath.Join("..", "..", "validate", "testdata", "corpus", p) }
	dir := t.TempDir()
	unreadable := filepath.Join(dir, "missing.wasm")
	notWasm := filepath.Join(dir, "text.wasm")
	if err := os.WriteFile(notWasm, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"valid, default profile", []string{"validate", echoWasm}, 0, echoWasm + ": valid (profile default)\n", ""},
		{"valid Go guest", []string{"validate", "--profile", "aspect", fixture("go/echo.wasm")}, 0, "valid (profile aspect)", ""},
		{"valid with entries", []string{"validate", "--profile", "aspect", "--entry", "greet", "--entry", "add", echoWasm}, 0, "valid (profile aspect)", ""},
		{"compile bomb", []string{"validate", corpus("bomb-wasmtime-nested-loops-2000.wasm")}, 1, "",
			"invalid: validate: profile default: loop-nesting: loop nesting depth 33, over the limit of 32 (func 0, offset 0x62)"},
		{"nondeterministic", []string{"validate", "--profile", "deterministic", fixture("go/echo.wasm")}, 1, "", "nondeterministic: f32.demote_f64"},
		{"start section", []string{"validate", "--profile", "aspect", fixture("wat/iso_start_loop.wasm")}, 1, "", "start: start section"},
		{"feature", []string{"validate", "--profile", "mvp", echoWasm}, 1, "", "feature: the data count section uses bulk-memory"},
		{"entry missing", []string{"validate", "--profile", "aspect", "--entry", "nosuch", echoWasm}, 1, "", `no export "nosuch"`},
		{"not wasm", []string{"validate", notWasm}, 1, "", "malformed: not a WebAssembly binary"},
		{"unknown profile", []string{"validate", "--profile", "nope", echoWasm}, 2, "", "unknown profile"},
		{"no module", []string{"validate"}, 2, "", "exactly one MODULE.wasm"},
		{"two modules", []string{"validate", echoWasm, echoWasm}, 2, "", "exactly one MODULE.wasm"},
		{"unreadable", []string{"validate", unreadable}, 2, "", "missing.wasm"},
		{"bad flag", []string{"validate", "--nope", echoWasm}, 2, "", "usage"},
		{"help is not an error", []string{"validate", "-h"}, 0, "usage: aspect validate", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, stderr := aspect(t, tc.args...)
			assert.Equal(t, tc.code, code, "stdout %q stderr %q", out, stderr)
			if tc.code == 0 {
				assert.Contains(t, out, tc.stdout)
				assert.Empty(t, stderr)
				return
			}
			assert.Empty(t, out)
			assert.Contains(t, stderr, tc.stderr)
		})
	}
}
