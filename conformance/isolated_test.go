package conformance

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// selfTest is a case of the harness's own test: what the harness must
// report for a child that behaves in some way.
type selfTest struct {
	c IsolatedCase
	// report lists substrings of the failure the harness must report;
	// empty: the case must pass.
	report []string
}

// harnessSelfTests are children that pass, report a wrong outcome, fail,
// die (of a signal, a Go fatal error, an exit after reporting) or hang.
func harnessSelfTests() []selfTest {
	sts := []selfTest{
		{c: IsolatedCase{Name: "passes", Want: "fine", Run: func(*testing.T, *Env) string { return "fine" }}},
		{c: IsolatedCase{Name: "passes-with-gas", Want: "ok; gas {n}", Run: func(*testing.T, *Env) string { return "ok; gas 12345" }}},
		{
			c:      IsolatedCase{Name: "wrong-outcome", Want: "expected", Run: func(*testing.T, *Env) string { return "actual" }},
			report: []string{"got:  actual", "want: expected"},
		},
		{
			c: IsolatedCase{Name: "test-fails", Want: "x", Run: func(t *testing.T, _ *Env) string {
				t.Fatal("the case failed in the child")
				return "x"
			}},
			report: []string{"the child process died: exit status 1", "the case failed in the child"},
		},
		{
			c: IsolatedCase{Name: "dies-after-reporting", Want: "x", Run: func(t *testing.T, _ *Env) string {
				t.Cleanup(func() { os.Exit(3) })
				return "x"
			}},
			report: []string{"the child process died: exit status 3", `after reporting the outcome "x"`},
		},
		{
			// What wazero did on a guest -> host -> guest chain.
			c: IsolatedCase{Name: "go-fatal-stack-overflow", Want: "x", Run: func(*testing.T, *Env) string {
				debug.SetMaxStack(1 << 20)
				return fmt.Sprint(recurseForever(0))
			}},
			report: []string{"the child process died: exit status 2 (fatal error: stack overflow)"},
		},
		{
			c: IsolatedCase{Name: "panics", Want: "x", Run: func(*testing.T, *Env) string {
				go panic("a panic in another goroutine")
				time.Sleep(time.Minute)
				return "x"
			}},
			report: []string{"the child process died: exit status 2 (panic: a panic in another goroutine"},
		},
		{
			c: IsolatedCase{Name: "hangs", Want: "x", Timeout: time.Second, Run: func(*testing.T, *Env) string {
				for {
					time.Sleep(time.Hour)
				}
			}},
			// SIGQUIT made the Go runtime print the goroutines.
			report: []string{"hung after 1s", "goroutine "},
		},
	}
	return append(sts, signalSelfTests()...)
}

// recurseForever overflows the goroutine's stack.
func recurseForever(n int) int { return recurseForever(n+1) + 1 }

// TestIsolatedHarness checks that the harness reports each way a child can
// fail, as the failure of that case only: every self-test here passes when
// the harness reports the child's crash, hang or wrong outcome correctly.
func TestIsolatedHarness(t *testing.T) {
	sts := harnessSelfTests()
	cases := make([]IsolatedCase, len(sts))
	for i, st := range sts {
		cases[i] = st.c
	}
	if runIsolatedChild(t, cases) {
		return
	}
	testPath := t.Name()
	for _, st := range sts {
		t.Run(st.c.Name, func(t *testing.T) {
			t.Parallel()
			res := runIsolated(testPath, st.c, "none")
			msg := res.check(st.c, "none")
			if len(st.report) == 0 {
				require.Empty(t, msg)
				require.True(t, MatchOutcome(st.c.Want, res.outcome), res.outcome)
				return
			}
			require.NotEmpty(t, msg, "the harness did not report the failure")
			require.Contains(t, msg, "isolated case "+st.c.Name+" on none")
			for _, s := range st.report {
				require.Contains(t, msg, s)
			}
			if st.c.Timeout > 0 {
				require.Less(t, res.duration, st.c.Timeout+quitGrace+10*time.Second, "the hung child was not killed in time")
			}
		})
	}
}

func TestMatchOutcome(t *testing.T) {
	for _, c := range []struct {
		want, got string
		match     bool
	}{
		{"ok", "ok", true},
		{"ok", "ok ", false},
		{"ErrTrap|trap=unreachable", "ErrTrap|trap=unreachable", true},
		{"gas {n}", "gas 0", true},
		{"gas {n}", "gas 1234567890123", true},
		{"gas {n}", "gas ", false},
		{"gas {n}", "gas -1", false},
		{"gas {n}; x", "gas 12; x", true},
		{"a.b", "axb", false},
		{`New: ErrAbort|abort="boom ✓"@start.ts:11:5`, `New: ErrAbort|abort="boom ✓"@start.ts:11:5`, true},
	} {
		require.Equal(t, c.match, MatchOutcome(c.want, c.got), "MatchOutcome(%q, %q)", c.want, c.got)
	}
}

func TestIsolatedPlumbing(t *testing.T) {
	require.Equal(t, "^TestX$", runPattern("TestX"))
	require.Equal(t, `^TestX$/^a\.b$/^c$`, runPattern("TestX/a.b/c"))

	out, ok := parseOutcome("PASS\n" + outcomeMarker + `"first"` + "\nnoise\n" + outcomeMarker + `"a \"b\"\n"` + "\nPASS\n")
	require.True(t, ok)
	require.Equal(t, "a \"b\"\n", out)
	_, ok = parseOutcome("PASS\n")
	require.False(t, ok)

	b := &tailBuffer{max: 8}
	fmt.Fprint(b, "0123456789")
	fmt.Fprint(b, "ab")
	require.Equal(t, "[…]456789ab", b.String())

	require.Equal(t, "", excerpt("x", "\n"))
	require.Equal(t, "\n--- x, 2 lines ---\na\nb", excerpt("x", "a\nb\n"))
	var long []string
	for i := range 100 {
		long = append(long, fmt.Sprint(i))
	}
	ex := excerpt("x", strings.Join(long, "\n"))
	require.Contains(t, ex, fmt.Sprintf("x, first %d and last %d lines", headLines, tailLines))
	require.Contains(t, ex, fmt.Sprintf("\n%d\n[… %d lines …]\n%d\n", headLines-1, 100-headLines-tailLines, 100-tailLines))
	require.True(t, strings.HasSuffix(ex, "\n99"))
}

func TestCompareOutcomes(t *testing.T) {
	engines := []string{"wasmtime", "wasmer", "wazero"}
	require.Empty(t, compareOutcomes(map[string]map[string]string{
		"same":    {"wasmtime": "gas 7", "wasmer": "gas 7", "wazero": "gas 7"},
		"one-ran": {"wazero": "x"},
	}, engines))
	diffs := compareOutcomes(map[string]map[string]string{
		"gas":  {"wasmtime": "gas 7", "wazero": "gas 8"},
		"kind": {"wasmer": "ErrTrap", "wazero": "ErrCallDepth"},
	}, engines)
	require.Equal(t, []string{
		"isolated case gas: wasmtime and wazero differ:\n  wasmtime: gas 7\n  wazero: gas 8",
		"isolated case kind: wasmer and wazero differ:\n  wasmer: ErrTrap\n  wazero: ErrCallDepth",
	}, diffs)
}

// TestIsolatedCasesAreWellFormed checks the registry of isolated cases and
// the list of pending ones.
func TestIsolatedCasesAreWellFormed(t *testing.T) {
	names := map[string]bool{}
	for _, c := range IsolatedCases() {
		require.NotEmpty(t, c.Name)
		require.False(t, names[c.Name], "two isolated cases are named %s", c.Name)
		names[c.Name] = true
		require.NotEmpty(t, c.Want, "case %s", c.Name)
		require.NotNil(t, c.Run, "case %s", c.Name)
	}
	for name, engines := range pendingIsolated {
		require.True(t, names[name], "pendingIsolated names %q, which is no isolated case", name)
		require.NotEmpty(t, engines, "case %s", name)
		for e, what := range engines {
			require.Contains(t, []string{"wasmtime", "wazero", "wasmer"}, e, "case %s", name)
			require.NotEmpty(t, what, "case %s on %s: say what it does", name, e)
		}
	}
}

// recurseWAT is the text of fixtures/wat/iso_recurse_<n>.wat.
func recurseWAT(n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `;; Isolated conformance fixture (issue 12, item 3): unbounded recursion
;; with large frames. Every activation of $r loads %d i64 locals from
;; memory before its recursive call and adds them up after it, so all of
;; them stay live across the call (no compiler can recompute them: the call
;; may change memory). Generated by recurseWAT in
;; conformance/isolated_test.go; ASPECT_UPDATE_ISOLATED_FIXTURES=1 go test
;; -run TestIsolatedRecurseFixtures ./conformance rewrites it.
(module
  (memory (export "memory") 1)
  (func $r (param i64) (result i64)
    (local`, n)
	for i := range n {
		if i%16 == 0 {
			b.WriteString("\n     ")
		}
		b.WriteString(" i64")
	}
	b.WriteString(")\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "    i32.const 0 i64.load offset=%d local.set %d\n", 8*(i-1), i)
	}
	b.WriteString("    local.get 0 i64.const 1 i64.add call $r\n")
	for i := 1; i <= n; i++ {
		sep := " "
		if i%8 == 1 {
			sep = "    "
		}
		fmt.Fprintf(&b, "%slocal.get %d i64.add", sep, i)
		if i%8 == 0 || i == n {
			b.WriteString("\n")
		}
	}
	b.WriteString(`  )
  ;; recurse() never returns normally.
  (func (export "recurse")
    (drop (call $r (i64.const 0))))
)
`)
	return b.String()
}

// TestIsolatedRecurseFixtures checks that the recursion fixtures are what
// recurseWAT generates (ASPECT_UPDATE_ISOLATED_FIXTURES=1 rewrites them;
// then run make fixtures).
func TestIsolatedRecurseFixtures(t *testing.T) {
	for _, n := range isoRecurseLocals {
		path := filepath.Join("fixtures", "wat", fmt.Sprintf("iso_recurse_%d.wat", n))
		want := recurseWAT(n)
		if os.Getenv("ASPECT_UPDATE_ISOLATED_FIXTURES") == "1" {
			require.NoError(t, os.WriteFile(path, []byte(want), 0o644))
		}
		got, err := os.ReadFile(path)
		require.NoError(t, err)
		require.Equal(t, want, string(got), "%s is not what recurseWAT(%d) generates", path, n)
	}
}
