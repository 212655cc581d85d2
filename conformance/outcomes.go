package conformance

import (
	"bufio"
	"bytes"
	_ "embed"
	"os"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
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
var outcomesGolden string

// UpdateOutcomesEnv, set to 1, makes Run record outcomes in
// testdata/outcomes.golden instead of checking them.
const UpdateOutcomesEnv = "ASPECT_UPDATE_OUTCOMES"

var outcomesMu sync.Mutex

// goldenOutcomes parses the golden table: one case per line, its name, a
// tab, and its outcome as a Go string literal.
func goldenOutcomes() map[string]string {
	outcomesMu.Lock()
	defer outcomesMu.Unlock()
	return parseOutcomes(outcomesGolden)
}

func parseOutcomes(text string) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		name, q, ok := strings.Cut(sc.Text(), "\t")
		if !ok || strings.HasPrefix(name, "#") {
			continue
		}
		if v, err := strconv.Unquote(q); err == nil {
			out[name] = v
		}
	}
	return out
}

// writeOutcomesLocked writes table to testdata/outcomes.golden.
// outcomesMu is held.
func writeOutcomesLocked(t *testing.T, path string, table map[string]string) {
	var lines []string
	for k, v := range table {
		lines = append(lines, k+"\t"+strconv.Quote(v))
	}
	sort.Strings(lines)
	var buf bytes.Buffer
	buf.WriteString("# The outcome of every conformance case, identical on every engine (see conformance/outcomes.go).\n")
	for _, l := range lines {
		buf.WriteString(l + "\n")
	}
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
	outcomesGolden = buf.String()
}

func outcomesPath() string {
	_, file, _, _ := goruntime.Caller(0)
	return filepath.Join(filepath.Dir(file), "testdata", "outcomes.golden")
}

// pruneOutcomes removes, when updating, the golden entries of cases that
// no longer exist.
func pruneOutcomes(t *testing.T, cases []Case) {
	if os.Getenv(UpdateOutcomesEnv) != "1" {
		return
	}
	outcomesMu.Lock()
	defer outcomesMu.Unlock()
	if b, err := os.ReadFile(outcomesPath()); err == nil {
		outcomesGolden = string(b)
	}
	table := parseOutcomes(outcomesGolden)
	keep := map[string]string{}
	for _, c := range cases {
		if v, ok := table[c.Name]; ok {
			keep[c.Name] = v
		}
	}
	writeOutcomesLocked(t, outcomesPath(), keep)
}

// checkOutcome compares a case's outcome with the golden table, or records
// it when updating.
func checkOutcome(t *testing.T, engine, name, got string) {
	t.Helper()
	if os.Getenv(UpdateOutcomesEnv) == "1" {
		outcomesMu.Lock()
		defer outcomesMu.Unlock()
		if b, err := os.ReadFile(outcomesPath()); err == nil {
			outcomesGolden = string(b)
		}
		table := parseOutcomes(outcomesGolden)
		table[name] = got
		writeOutcomesLocked(t, outcomesPath(), table)
		return
	}
	want, ok := goldenOutcomes()[name]
	require.True(t, ok, "case %s has no golden outcome: run with %s=1", name, UpdateOutcomesEnv)
	require.Equal(t, want, got, "the outcome of %s on %s differs from the golden table (testdata/outcomes.golden), which every engine matches", name, engine)
}

// GoldenCaseNames returns the names of the cases in the golden outcome
// table, sorted.
func GoldenCaseNames() []string {
	var names []string
	for n := range goldenOutcomes() {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
