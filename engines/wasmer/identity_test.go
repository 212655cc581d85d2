//go:build wasmer && cgo

package wasmer

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIdentity(t *testing.T) {
	facts := probeSymbols()
	require.NoError(t, checkIdentity(realProbe), "this binary links libwasmer only")
	require.NoError(t, checkIdentityOnce())
	assert.Equal(t, "libwasmer.so", filepath.Base(facts.wasmerObject))
	for _, s := range facts.symbols {
		assert.Equal(t, facts.wasmerObject, s.object, s.name)
		assert.Equal(t, s.wasmerAddr, s.addr, s.name)
	}
	b := probeBehaviour()
	require.NoError(t, b.probeErr)
	assert.Equal(t, "Validation error: Bad magic number (at offset 0)", b.compileError)
	assert.Equal(t, "unreachable", b.trapMessage)
}

// foreignSymbol returns the real facts with symbol name resolved to a
// function of the shim itself, in the executable: what the dynamic linker
// produces when another engine defines the symbol statically.
func foreignSymbol(t *testing.T, name string) identityFacts {
	f := probeSymbols()
	found := false
	for i := range f.symbols {
		if f.symbols[i].name == name {
			f.symbols[i].addr = uintptr(localSymbol())
			f.symbols[i].object = objectOf(localSymbol())
			found = true
		}
	}
	require.True(t, found, name)
	return f
}

func TestIdentityRefusesForeignSymbols(t *testing.T) {
	ranBehaviour := false
	behaviour := func() behaviourFacts { ranBehaviour = true; return probeBehaviour() }
	for _, name := range []string{"wasm_func_call", "wasm_engine_new", "wasm_instance_new"} {
		err := checkIdentity(identityProbe{symbols: func() identityFacts { return foreignSymbol(t, name) }, behaviour: behaviour})
		require.ErrorIs(t, err, ErrNotWasmer)
		assert.ErrorContains(t, err, name+" (in ")
		assert.ErrorContains(t, err, "wasmtime")
		t.Log(err)
	}
	assert.False(t, ranBehaviour, "no C API function is called once a symbol is foreign")

	real := probeSymbols()
	for name, mutate := range map[string]func(*identityFacts){
		"no wasmer object":    func(f *identityFacts) { f.wasmerObject = "" },
		"not libwasmer":       func(f *identityFacts) { f.wasmerObject = "/usr/lib/libwasmtime.so" },
		"other version":       func(f *identityFacts) { f.version = "3.1.0" },
		"no symbols":          func(f *identityFacts) { f.symbols = nil },
		"symbol not resolved": func(f *identityFacts) { f.symbols[0].addr = 0 },
		"symbol not in wasmer": func(f *identityFacts) {
			f.symbols[1].wasmerAddr = 0
		},
	} {
		f := real
		f.symbols = append([]symbolFact(nil), real.symbols...)
		mutate(&f)
		err := checkIdentity(identityProbe{symbols: func() identityFacts { return f }, behaviour: behaviour})
		assert.ErrorIs(t, err, ErrNotWasmer, name)
	}
	assert.False(t, ranBehaviour)
}

func TestIdentityRefusesForeignBehaviour(t *testing.T) {
	good := probeBehaviour()
	for name, b := range map[string]behaviourFacts{
		// What wasmtime's C API does: no wasmer last error, its own trap text.
		"wasmtime":       {compileError: "", trapMessage: "wasm trap: wasm `unreachable` instruction executed"},
		"no last error":  {compileError: "", trapMessage: good.trapMessage},
		"other trap":     {compileError: good.compileError, trapMessage: "wasm trap: wasm `unreachable` instruction executed"},
		"probe failed":   {compileError: good.compileError, probeErr: assert.AnError},
		"no trap at all": {compileError: good.compileError},
	} {
		err := checkIdentity(identityProbe{symbols: probeSymbols, behaviour: func() behaviourFacts { return b }})
		require.ErrorIs(t, err, ErrNotWasmer, name)
		t.Log(err)
	}
}

// TestIdentityStaticClash builds this package's tests with the
// aspect_wasmer_fakeclash tag, which links a static wasm_func_call into the
// test binary (fakeclash.c) the way libwasmtime.a would, and runs
// TestFakeClashRefused there: Open must refuse with ErrNotWasmer without
// calling the foreign function (it aborts the process if called).
func TestIdentityStaticClash(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a second test binary")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool in PATH")
	}
	cmd := exec.Command(goTool, "test", "-tags", "wasmer aspect_wasmer_fakeclash", "-count=1",
		"-run", "^TestFakeClashRefused$", "-v", ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	require.NoError(t, err)
	assert.Contains(t, string(out), "--- PASS: TestFakeClashRefused")
}
