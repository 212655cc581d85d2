package conformance_test

import (
	"testing"

	"github.com/aspect-rt/aspect-runtime/conformance"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

// TestCrossEngine runs every case on every linked engine and asserts
// identical outcomes: wasmtime and wazero in the default build, wasmer and
// wazero with -tags wasmer.
func TestCrossEngine(t *testing.T) {
	engines := runtime.Engines()
	if len(engines) < 2 {
		t.Skipf("only %v linked in this build (-tags wazero): nothing to compare; each engine's own suite runs in its package", engines)
	}
	conformance.RunCrossEngine(t, engines...)
}

// TestIsolatedCrossEngine runs every isolated case (guests that could crash
// or hang the process, each in a child process) on every linked engine and
// asserts identical outcomes, gas included.
func TestIsolatedCrossEngine(t *testing.T) {
	engines := runtime.Engines()
	if len(engines) < 2 {
		t.Skipf("only %v linked in this build (-tags wazero): nothing to compare; each engine's own TestIsolated runs in its package", engines)
	}
	conformance.RunIsolatedCrossEngine(t, engines...)
}
