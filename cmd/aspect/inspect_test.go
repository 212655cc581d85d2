package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func fixture(p string) string { return filepath.Join("..", "..", "conformance", "fixtures", p) }

func TestInspectAssemblyScript(t *testing.T) {
	code, out, stderr := aspect(t, "inspect", fixture("as/greet.wasm"))
	require.Equal(t, 0, code, stderr)
	assert.Empty(t, stderr)
	for _, line := range []string{
		"module:    " + fixture("as/greet.wasm") + " (7516 bytes)\n",
		"imports:   2\n",
		"\n  env abort         (i32, i32, i32, i32) -> ()  the runtime's abort handler",
		"\n  index test.hello  (i32) -> i32                host function, 1 argument -> result\n",
		"\n  greet             (i32) -> i32       ABI, 1 argument -> result\n",
		"\n  allocate          (i32) -> i32       ABI, 1 argument -> result [allocator]\n",
		"\n  __aspect_start__  () -> ()           ABI, 0 arguments -> no result [start]\n",
		"memory:    1 page initial, no maximum (runtime limit 1024 pages, 64 MiB)\n",
		"start:     __aspect_start__\n",
		"features:  bulk-memory\n",
		"metering:  yes (gas, call depth, yield checkpoints)\n",
		"snapshot:  yes (Reset restores memory and globals)\n",
		"  default: valid\n",
		"  mvp: invalid: validate: profile mvp: feature: the data count section uses bulk-memory, which the profile does not allow\n",
		"  aspect: valid\n",
	} {
		assert.Contains(t, out, line)
	}
}

func TestInspectGoGuest(t *testing.T) {
	code, out, stderr := aspect(t, "inspect", fixture("go/hostcalls.wasm"))
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `\n  index test\.concat3 +\(i32, i32, i32\) -> i32 +host function, 3 arguments -> result\n`, out)
	assert.Regexp(t, `\n  index test\.boom +\(\) -> \(\) +host function, 0 arguments -> no result\n`, out)
	// 16 WASI imports, fd_write twice: one line, each function once.
	assert.Regexp(t, `\n  wasi_snapshot_preview1 +15 functions +WASI preview 1 \(--wasi\): sched_yield, proc_exit, .*fd_write`, out)
	assert.Equal(t, 1, strings.Count(out, "fd_write"))
	assert.Contains(t, out, "[wasi-initialize]")
	assert.Contains(t, out, "start:     _initialize\n")
	assert.Contains(t, out, "features:  sign-extension, nontrapping-float-to-int, bulk-memory\n")
	assert.Contains(t, out, "deterministic: invalid: validate: profile deterministic: nondeterministic: f32.demote_f64")
}

func TestInspectRawAndState(t *testing.T) {
	code, out, stderr := aspect(t, "inspect", fixture("wat/raw.wasm"))
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `\n  f64_id +\(f64\) -> f64 +raw numbers \(Runtime.CallWasm\)\n`, out)
	assert.Regexp(t, `\n  sum_to +\(i64\) -> i64 +raw numbers`, out)
	assert.Contains(t, out, "imports:   0\n")
	assert.Contains(t, out, "start:     none\n")
	assert.Contains(t, out, "features:  none (WebAssembly 1.0)\n")
	assert.Equal(t, 5, strings.Count(out, ": valid\n"), "every profile")

	code, out, stderr = aspect(t, "inspect", fixture("wat/data_drop.wasm"))
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "snapshot:  no: data.drop at offset 0x3e (func 0)\n")
	assert.Contains(t, out, `aspect: invalid: validate: profile aspect: export: no export "allocate"`)

	code, out, stderr = aspect(t, "inspect", fixture("wat/bad_import_sig.wasm"))
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `\n  index test\.hello +\(i64\) -> \(\) +cannot be linked: not registrable: host functions take one i32 pointer per argument`, out)
}

// TestInspectRefused: a compile-time bomb or a SIMD module, which the
// default profile refuses, is reported, not instrumented.
func TestInspectRefused(t *testing.T) {
	bomb := filepath.Join("..", "..", "validate", "testdata", "corpus", "bomb-wasmtime-nested-loops-5000.wasm")
	code, out, stderr := aspect(t, "inspect", bomb)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "default: invalid: validate: profile default: loop-nesting: loop nesting depth 33, over the limit of 32")
	assert.Contains(t, out, "features:  not checked: the default profile refuses the module, so the runtime does not run it\n")
	assert.Contains(t, out, "metering:  not checked\n")
	assert.Contains(t, out, "snapshot:  not checked\n")

	code, out, stderr = aspect(t, "inspect", "--output", "json", bomb)
	require.Equal(t, 0, code, stderr)
	var rep inspectReport
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	assert.False(t, rep.Metering.Checked)
	assert.Nil(t, rep.Features)
	assert.Equal(t, "loop-nesting", rep.Profiles[0].Rule)

	simd := filepath.Join("..", "..", "validate", "testdata", "corpus", "feature-simd.wasm")
	code, out, stderr = aspect(t, "inspect", simd)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "default: invalid: validate: profile default: feature: opcode 0xfd uses simd, which no profile supports (offset 0x20)\n")
	assert.Contains(t, out, "metering:  not checked\n")
}

func TestInspectJSON(t *testing.T) {
	code, out, stderr := aspect(t, "inspect", "--output", "json", fixture("as/greet.wasm"))
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, `"type": "(i32) -> i32"`, "no HTML escaping")
	var rep inspectReport
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	assert.Equal(t, fixture("as/greet.wasm"), rep.Module)
	assert.Equal(t, 7516, rep.Size)
	assert.Equal(t, []importReport{
		{Module: "env", Name: "abort", Kind: "func", Type: "(i32, i32, i32, i32) -> ()", Provider: "runtime", Note: "the runtime's abort handler (AssemblyScript throw, guest.Abort)"},
		{Module: "index", Name: "test.hello", Kind: "func", Type: "(i32) -> i32", Provider: "host", Registry: "index test.hello", Args: 1, Result: true},
	}, rep.Imports)
	assert.Contains(t, rep.Exports, exportReport{Name: "greet", Kind: "func", Type: "(i32) -> i32", Call: "abi", Args: 1, Result: true})
	assert.Contains(t, rep.Exports, exportReport{Name: "memory", Kind: "memory", Role: "memory"})
	assert.Equal(t, &memoryReport{Min: 1, Limit: 1024}, rep.Memory)
	assert.Equal(t, &startReport{Section: -1, Exports: []string{"__aspect_start__"}}, rep.Start)
	assert.Equal(t, []string{"bulk-memory"}, rep.Features)
	assert.Equal(t, verdictReport{Checked: true, OK: true}, rep.Metering)
	assert.Equal(t, verdictReport{Checked: true, OK: true}, rep.Snapshot)
	require.Len(t, rep.Profiles, 5)
	assert.Equal(t, profileReport{Profile: "mvp", Rule: "feature",
		Reason: "validate: profile mvp: feature: the data count section uses bulk-memory, which the profile does not allow"}, rep.Profiles[1])
}

// TestInspectImports: imports no host can satisfy say why, in a
// hand-assembled module.
func TestInspectImports(t *testing.T) {
	name := func(s string) []byte { return append([]byte{byte(len(s))}, s...) }
	section := func(id byte, content ...[]byte) []byte {
		var c []byte
		for _, b := range content {
			c = append(c, b...)
		}
		return append([]byte{id, byte(len(c))}, c...)
	}
	cat := func(parts ...[]byte) []byte {
		var out []byte
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	mod := cat([]byte("\x00asm\x01\x00\x00\x00"),
		section(1, []byte{1, 0x60, 1, 0x7f, 1, 0x7f}), // type 0: (i32) -> i32
		section(2, []byte{5},
			cat(name("env"), name("f"), []byte{0, 0}),                       // no namespace
			cat(name("index"), name("test."), []byte{0, 0}),                 // no method
			cat(name("wasi_snapshot_preview1"), name("nope"), []byte{0, 0}), // not WASI
			cat(name("env"), name("tbl"), []byte{1, 0x70, 0, 1}),            // a table
			cat(name("env"), name("mem"), []byte{2, 1, 1, 2}),               // a memory, 1 to 2 pages
		))
	path := filepath.Join(t.TempDir(), "imports.wasm")
	require.NoError(t, os.WriteFile(path, mod, 0o644))
	code, out, stderr := aspect(t, "inspect", path)
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `\n  env f +\(i32\) -> i32 +cannot be linked: not registrable: a host function is imported as field "namespace.method"\n`, out)
	assert.Regexp(t, `\n  index test\. +\(i32\) -> i32 +cannot be linked: not registrable`, out)
	assert.Regexp(t, `\n  wasi_snapshot_preview1 nope +\(i32\) -> i32 +cannot be linked: not a WASI preview 1 function\n`, out)
	assert.Regexp(t, `\n  env tbl +table +cannot be linked: only function imports are supported\n`, out)
	assert.Regexp(t, `\n  env mem +memory +cannot be linked: only function imports are supported\n`, out)
	assert.Contains(t, out, "memory:    1 page initial, maximum 2 pages, imported (runtime limit 2 pages, 128 KiB)\n")
	assert.Contains(t, out, "snapshot:  no: imports a table\n")
}

func TestInspectHelp(t *testing.T) {
	code, out, stderr := aspect(t, "inspect", "-h")
	assert.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "usage: aspect inspect [--output text|json] MODULE.wasm\n")
	assert.Contains(t, out, "-output")
}

func TestInspectErrors(t *testing.T) {
	dir := t.TempDir()
	notWasm := filepath.Join(dir, "text.wasm")
	require.NoError(t, os.WriteFile(notWasm, []byte("hello"), 0o644))
	reserved := filepath.Join("..", "..", "validate", "testdata", "corpus", "reserved-export.wasm")
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"not wasm", []string{"inspect", notWasm}, 1, notWasm + ": metering: malformed module at offset 0x0: not a WebAssembly binary"},
		{"reserved name", []string{"inspect", reserved}, 1, "module uses a reserved name at offset 0x15: module exports __gas_counter__"},
		{"no module", []string{"inspect"}, 2, "inspect needs exactly one MODULE.wasm"},
		{"two modules", []string{"inspect", echoWasm, echoWasm}, 2, "inspect needs exactly one MODULE.wasm"},
		{"missing file", []string{"inspect", filepath.Join(dir, "nope.wasm")}, 2, "nope.wasm"},
		{"bad output", []string{"inspect", "--output", "yaml", echoWasm}, 2, `--output must be text or json, got "yaml"`},
		{"bad flag", []string{"inspect", "--nope", echoWasm}, 2, "flag provided but not defined: -nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, stderr := aspect(t, tc.args...)
			assert.Equal(t, tc.code, code, stderr)
			assert.Empty(t, out)
			assert.Contains(t, stderr, tc.msg)
		})
	}
}
