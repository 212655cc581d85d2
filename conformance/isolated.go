package conformance

// The crash-proof harness. A case that could kill or hang the process — a
// guest that crashes an engine, a deadlock, a Go fatal error — runs in a
// child process: the test binary itself, re-executed with -test.run
// selecting the test function that called RunIsolated (or
// RunIsolatedCrossEngine) and environment variables naming the case and
// the engine. In the child, that function runs the one case and prints its
// outcome on stdout; the parent compares it with the case's expected
// outcome. A child that dies (a signal, a non-zero exit status) or does not
// finish within the case's timeout (it is then sent SIGQUIT, for a
// goroutine dump, and killed with its process group) fails that case only,
// with the signal, exit status or "hung after" and the tail of what the
// child printed; the suite goes on.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	goruntime "runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aspect-rt/aspect-runtime/runtime"
)

// IsolatedCase is a conformance case that runs in a child process (see
// RunIsolated).
type IsolatedCase struct {
	// Name identifies the case, e.g. "start-section/abort".
	Name string
	// Want is the outcome every engine must produce. "{n}" in it matches a
	// decimal number (gas figures, which must also be equal on every engine:
	// RunIsolatedCrossEngine compares the outcomes themselves).
	Want string
	// Timeout bounds the child process; zero means DefaultIsolatedTimeout.
	Timeout time.Duration
	// Run runs in the child process and returns the outcome: a canonical,
	// engine-neutral description of what happened, as Case.Run returns.
	Run func(t *testing.T, env *Env) string
}

// DefaultIsolatedTimeout is how long a child process may run a case before
// it is reported as hung and killed.
const DefaultIsolatedTimeout = 30 * time.Second

// PendingEnv names the environment variable that, set to 1, makes
// RunIsolated and RunIsolatedCrossEngine also run the cases listed as
// pending on an engine (see isolated_pending.go).
const PendingEnv = "ASPECT_PENDING"

const (
	// isolatedCaseEnv and isolatedEngineEnv tell a child process which case
	// to run on which engine.
	isolatedCaseEnv   = "ASPECT_ISOLATED_CASE"
	isolatedEngineEnv = "ASPECT_ISOLATED_ENGINE"
	// outcomeMarker starts the line on which a child reports its outcome
	// (quoted with strconv.Quote).
	outcomeMarker = "ASPECT-ISOLATED-OUTCOME "
	// quitGrace is how long a hung child gets to print its goroutine dump
	// after SIGQUIT before it is killed.
	quitGrace = 3 * time.Second
	// childTimeoutMargin is added to a case's timeout for the child's own
	// -test.timeout, a backstop should the parent die first.
	childTimeoutMargin = time.Minute
	// keepOutput bounds how much of a child's stdout and stderr is kept.
	keepOutput = 256 << 10
	// headLines and tailLines are how many of the first and last lines of
	// each are shown when a case fails.
	headLines = 15
	tailLines = 30
)

// childSlots bounds the child processes running at once.
var childSlots = make(chan struct{}, max(1, goruntime.GOMAXPROCS(0)))

// RunIsolated runs every isolated case on the named engine, each in a child
// process, in parallel (at most GOMAXPROCS children at once). Call it from a
// test function of its own, which the children re-run:
//
//	func TestIsolated(t *testing.T) { conformance.RunIsolated(t, "wazero") }
//
// Cases pending on the engine (known failures, see isolated_pending.go) run
// only with ASPECT_PENDING=1.
func RunIsolated(t *testing.T, engine string) {
	t.Helper()
	if runIsolatedChild(t, IsolatedCases()) {
		return
	}
	if !linked(engine) {
		t.Fatalf("engine %q is not linked in this build (linked: %v)", engine, runtime.Engines())
	}
	testPath := t.Name()
	for _, c := range selectIsolated(t, engine) {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			res := runIsolated(testPath, c, engine)
			if msg := res.check(c, engine); msg != "" {
				t.Error(msg)
				return
			}
			notePending(t, c, engine)
		})
	}
}

// RunIsolatedCrossEngine runs every isolated case on every named engine,
// each in a child process, checks each outcome as RunIsolated does and
// asserts that the engines' outcomes are identical (gas figures included).
// Call it from a test function of its own, which the children re-run.
func RunIsolatedCrossEngine(t *testing.T, engines ...string) {
	t.Helper()
	if runIsolatedChild(t, IsolatedCases()) {
		return
	}
	if len(engines) < 2 {
		t.Fatalf("cross-engine comparison needs at least two engines, linked: %v", engines)
	}
	for _, e := range engines {
		if !linked(e) {
			t.Fatalf("engine %q is not linked in this build (linked: %v)", e, runtime.Engines())
		}
	}
	testPath := t.Name()
	var mu sync.Mutex
	outcomes := map[string]map[string]string{} // case -> engine -> outcome
	t.Run("run", func(t *testing.T) {
		for _, e := range engines {
			for _, c := range selectIsolated(t, e) {
				t.Run(c.Name+"/"+e, func(t *testing.T) {
					t.Parallel()
					res := runIsolated(testPath, c, e)
					if msg := res.check(c, e); msg != "" {
						t.Error(msg)
						return
					}
					notePending(t, c, e)
					mu.Lock()
					defer mu.Unlock()
					if outcomes[c.Name] == nil {
						outcomes[c.Name] = map[string]string{}
					}
					outcomes[c.Name][e] = res.outcome
				})
			}
		}
	})
	for _, d := range compareOutcomes(outcomes, engines) {
		t.Error(d)
	}
}

// compareOutcomes returns, for every case whose outcome differs between
// engines, a description of the difference. outcomes maps a case name to
// its outcome on each engine it passed on.
func compareOutcomes(outcomes map[string]map[string]string, engines []string) []string {
	var diffs []string
	for _, name := range sortedKeys(outcomes) {
		var ref, refEngine string
		for _, e := range engines {
			got, ok := outcomes[name][e]
			if !ok {
				continue
			}
			if refEngine == "" {
				ref, refEngine = got, e
				continue
			}
			if got != ref {
				diffs = append(diffs, fmt.Sprintf("isolated case %s: %s and %s differ:\n  %s: %s\n  %s: %s", name, refEngine, e, refEngine, ref, e, got))
			}
		}
	}
	return diffs
}

func linked(engine string) bool {
	for _, e := range runtime.Engines() {
		if e == engine {
			return true
		}
	}
	return false
}

// pendingEnabled reports whether pending cases run too (ASPECT_PENDING=1).
func pendingEnabled() bool { return os.Getenv(PendingEnv) == "1" }

// selectIsolated returns the isolated cases to run on engine, logging those
// left out as pending.
func selectIsolated(t *testing.T, engine string) []IsolatedCase {
	t.Helper()
	var run []IsolatedCase
	var pending []string
	for _, c := range IsolatedCases() {
		if _, ok := pendingIsolated[c.Name][engine]; ok && !pendingEnabled() {
			pending = append(pending, c.Name)
			continue
		}
		run = append(run, c)
	}
	if len(pending) > 0 {
		t.Logf("%d isolated cases are pending on %s (known failures, see conformance/isolated_pending.go; %s=1 runs them): %s",
			len(pending), engine, PendingEnv, strings.Join(pending, ", "))
	}
	return run
}

// notePending logs that a case listed as pending on engine passed.
func notePending(t *testing.T, c IsolatedCase, engine string) {
	if was, ok := pendingIsolated[c.Name][engine]; ok {
		t.Logf("pending case %s passes on %s now (it was: %s): remove it from pendingIsolated", c.Name, engine, was)
	}
}

// runIsolatedChild runs, in a child process, the case its environment
// names, prints the outcome, and reports whether this process is such a
// child. In a parent it does nothing and returns false.
func runIsolatedChild(t *testing.T, cases []IsolatedCase) bool {
	name, ok := os.LookupEnv(isolatedCaseEnv)
	if !ok {
		return false
	}
	t.Helper()
	limitCoreDumps()
	for _, c := range cases {
		if c.Name == name {
			out := c.Run(t, &Env{Engine: os.Getenv(isolatedEngineEnv)})
			fmt.Fprintf(os.Stdout, "\n%s%s\n", outcomeMarker, strconv.Quote(out))
			return true
		}
	}
	t.Fatalf("isolated child: no case %q in %s", name, t.Name())
	return true
}

// childResult is what the parent learned from one child process.
type childResult struct {
	outcome  string // the reported outcome, when failure is empty
	failure  string // why the child did not report an outcome normally
	stdout   string // tails of the child's output
	stderr   string
	duration time.Duration
}

// runIsolated runs case c on engine in a child process re-running the test
// testPath (a t.Name()), waiting for a free child slot first.
func runIsolated(testPath string, c IsolatedCase, engine string) childResult {
	childSlots <- struct{}{}
	defer func() { <-childSlots }()
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultIsolatedTimeout
	}
	return runChild(testPath, c.Name, engine, timeout)
}

// runChild runs the child process and waits for it, at most timeout.
func runChild(testPath, caseName, engine string, timeout time.Duration) childResult {
	cmd := exec.Command(os.Args[0],
		"-test.run="+runPattern(testPath),
		"-test.count=1",
		"-test.v=false",
		"-test.shuffle=off",
		"-test.timeout="+(timeout+childTimeoutMargin).String(),
	)
	cmd.Env = append(childEnviron(), isolatedCaseEnv+"="+caseName, isolatedEngineEnv+"="+engine)
	stdout, stderr := &tailBuffer{max: keepOutput}, &tailBuffer{max: keepOutput}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = quitGrace
	inOwnProcessGroup(cmd)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return childResult{failure: "the child process did not start: " + err.Error()}
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var err error
	hung := false
	select {
	case err = <-done:
	case <-timer.C:
		// Ask for a goroutine dump, then kill the process group.
		hung = true
		quitProcess(cmd)
		select {
		case err = <-done:
		case <-time.After(quitGrace):
			killProcessGroup(cmd)
			err = <-done
		}
	}
	res := childResult{duration: time.Since(start), stdout: stdout.String(), stderr: stderr.String()}
	outcome, reported := parseOutcome(res.stdout)
	switch {
	case hung:
		res.failure = fmt.Sprintf("hung after %s (sent SIGQUIT, then killed)", timeout)
	case err != nil:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			res.failure = "the child process died: " + ee.ProcessState.String()
			if h := crashHeadline(res.stderr); h != "" {
				res.failure += " (" + h + ")"
			}
		} else {
			res.failure = "waiting for the child process: " + err.Error()
		}
	case !reported:
		res.failure = "the child process exited normally without reporting an outcome"
	default:
		res.outcome = outcome
		return res
	}
	if reported {
		res.failure += fmt.Sprintf(", after reporting the outcome %q", outcome)
	}
	return res
}

// goCrash matches the lines the Go runtime starts a crash report with: a
// fatal error, an unrecovered panic, a signal it caught (a native crash
// caught by Go's handler: SIGABRT from wasmtime's abort, SIGSEGV, …).
var goCrash = regexp.MustCompile(`^(fatal error: .*|panic: .*|SIG[A-Z]+: .*)$`)

// crashHeadline returns the first line of a Go crash report in stderr, or
// "".
func crashHeadline(stderr string) string {
	for _, line := range strings.Split(stderr, "\n") {
		if goCrash.MatchString(line) {
			return line
		}
	}
	return ""
}

// check returns why res fails case c on engine, or "" if it passes.
func (res childResult) check(c IsolatedCase, engine string) string {
	if res.failure != "" {
		return fmt.Sprintf("isolated case %s on %s: %s (after %s)%s%s", c.Name, engine, res.failure,
			res.duration.Round(time.Millisecond), excerpt("child stderr", res.stderr), excerpt("child stdout", res.stdout))
	}
	if !MatchOutcome(c.Want, res.outcome) {
		return fmt.Sprintf("isolated case %s on %s:\n  got:  %s\n  want: %s", c.Name, engine, res.outcome, c.Want)
	}
	return ""
}

// MatchOutcome reports whether outcome matches want, in which "{n}" stands
// for any decimal number.
func MatchOutcome(want, outcome string) bool {
	parts := strings.Split(want, "{n}")
	quoted := make([]string, len(parts))
	for i, p := range parts {
		quoted[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile(`\A` + strings.Join(quoted, `[0-9]+`) + `\z`).MatchString(outcome)
}

// runPattern is the -test.run pattern that selects exactly the test (or
// subtest) named testPath.
func runPattern(testPath string) string {
	parts := strings.Split(testPath, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}

// childEnviron is the parent's environment without the child variables.
// In a -race build the child does not sleep a second at exit (the race
// detector's default, for goroutines still running to report their
// races): the case has ended by then, and the suite runs many children.
func childEnviron() []string {
	var env []string
	gorace := "atexit_sleep_ms=0"
	for _, kv := range os.Environ() {
		switch {
		case strings.HasPrefix(kv, isolatedCaseEnv+"="), strings.HasPrefix(kv, isolatedEngineEnv+"="):
			continue
		case strings.HasPrefix(kv, "GORACE="):
			gorace = strings.TrimPrefix(kv, "GORACE=") + " " + gorace
			continue
		}
		env = append(env, kv)
	}
	return append(env, "GORACE="+gorace)
}

// parseOutcome finds the outcome a child printed on stdout.
func parseOutcome(stdout string) (string, bool) {
	lines := strings.Split(stdout, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if q, ok := strings.CutPrefix(lines[i], outcomeMarker); ok {
			s, err := strconv.Unquote(strings.TrimSpace(q))
			if err != nil {
				return "", false
			}
			return s, true
		}
	}
	return "", false
}

// excerpt formats a child's output for a failure report: all of it if it
// is short, else its first headLines lines (where Go prints the panic or
// fatal error) and its last tailLines lines (where a native crash leaves
// its message).
func excerpt(what, out string) string {
	out = strings.TrimRight(out, "\n")
	if out == "" {
		return ""
	}
	lines := strings.Split(out, "\n")
	label := fmt.Sprintf("%s, %d lines", what, len(lines))
	if len(lines) > headLines+tailLines {
		skipped := len(lines) - headLines - tailLines
		lines = append(append(lines[:headLines:headLines], fmt.Sprintf("[… %d lines …]", skipped)), lines[len(lines)-tailLines:]...)
		label = fmt.Sprintf("%s, first %d and last %d lines", what, headLines, tailLines)
	}
	return "\n--- " + label + " ---\n" + strings.Join(lines, "\n")
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu      sync.Mutex
	max     int
	buf     bytes.Buffer
	dropped bool
}

// Write implements io.Writer.
func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if over := b.buf.Len() - b.max; over > 0 {
		b.buf.Next(over)
		rest := append([]byte(nil), b.buf.Bytes()...)
		b.buf.Reset()
		b.buf.Write(rest)
		b.dropped = true
	}
	return len(p), nil
}

// String returns what was kept.
func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dropped {
		return "[…]" + b.buf.String()
	}
	return b.buf.String()
}

// sortedKeys returns m's keys, sorted.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
