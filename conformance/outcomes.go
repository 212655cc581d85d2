package conformance

import (
	_ "embed"
	"os"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
)

// outcomesGolden is the committed outcome of every case, the same on every
// engine: Run compares each engine's outcomes with it, so every engine
// produces identical outcomes without running the others in the same
// binary (wasmtime and wasmer never share one). Regenerate it with
// ASPECT_UPDATE_OUTCOMES=1 go test ./engines/wazero -run TestConformance,
// then run every engine's suite: each must agree with the new table.
//
//go:embed testdata/outcomes.golden
var outcomesGoldenText string

var outcomesGolden = &goldenTable{file: "outcomes.golden", text: outcomesGoldenText, quote: true,
	header: "# The outcome of every conformance case, identical on every engine (see conformance/outcomes.go)."}

// UpdateOutcomesEnv, set to 1, makes Run record outcomes in
// testdata/outcomes.golden instead of checking them.
const UpdateOutcomesEnv = "ASPECT_UPDATE_OUTCOMES"

// pruneOutcomes removes, when updating, the golden entries of cases that
// no longer exist.
func pruneOutcomes(t *testing.T, cases []Case) {
	if os.Getenv(UpdateOutcomesEnv) != "1" {
		return
	}
	outcomesGolden.update(t, func(table map[string]string) map[string]string {
		keep := map[string]string{}
		for _, c := range cases {
			if v, ok := table[c.Name]; ok {
				keep[c.Name] = v
			}
		}
		return keep
	})
}

// checkOutcome compares a case's outcome with the golden table, or records
// it when updating.
func checkOutcome(t *testing.T, engine, name, got string) {
	t.Helper()
	if os.Getenv(UpdateOutcomesEnv) == "1" {
		outcomesGolden.record(t, name, got)
		return
	}
	want, ok := outcomesGolden.entries()[name]
	require.True(t, ok, "case %s has no golden outcome: run with %s=1", name, UpdateOutcomesEnv)
	require.Equal(t, want, got, "the outcome of %s on %s differs from the golden table (testdata/outcomes.golden), which every engine matches", name, engine)
}

// GoldenCaseNames returns the names of the cases in the golden outcome
// table, sorted.
func GoldenCaseNames() []string {
	var names []string
	for n := range outcomesGolden.entries() {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
