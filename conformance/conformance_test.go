package conformance_test

import (
	"sort"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/conformance"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

// TestGoldenOutcomesCoverEveryCase: the golden outcome table, which every
// engine's TestConformance (engines/*) checks each case against — so that
// all engines produce identical outcomes without running each other's
// suites here again — has exactly one entry per case.
func TestGoldenOutcomesCoverEveryCase(t *testing.T) {
	var names []string
	for _, c := range conformance.Cases() {
		names = append(names, c.Name)
	}
	sort.Strings(names)
	require.Equal(t, names, conformance.GoldenCaseNames(),
		"testdata/outcomes.golden is stale: run %s=1 go test ./engines/wazero -run TestConformance", conformance.UpdateOutcomesEnv)
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
