// Package conformance is the test suite every engine adapter must pass, with
// identical outputs: the same fixtures, the same expected values and the same
// error kinds on every engine.
//
// An adapter's tests call Run:
//
//	func TestConformance(t *testing.T) { conformance.Run(t, "wazero") }
//
// and Run checks every outcome against a committed golden table
// (testdata/outcomes.golden) that every engine must match, so all engines
// produce identical outcomes. Cases that could crash or hang the process
// run in child processes (RunIsolated, RunIsolatedCrossEngine).
package conformance

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/abi"
	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

// Case is one conformance case. Run asserts the expected behaviour on the
// engine in env and returns an engine-independent description of what
// happened, which the cross-engine test compares between engines.
type Case struct {
	Name string
	Run  func(t *testing.T, env *Env) string
}

// Env is the engine a case runs on, with helpers for the fixtures.
type Env struct {
	Engine string
	// counterpart non-nil: the AssemblyScript fixtures' Go or Rust
	// counterparts run instead (counterpart.go)
	counterpart *counterpart
	// Host is the host side of the hostcalls fixture: what the guest logged.
	mu   sync.Mutex
	logs []string
}

// New instantiates a fixture on the env's engine, closing it at test end.
func (e *Env) New(t *testing.T, fixture string, reg *runtime.HostAPIRegistry, opts ...runtime.Option) *runtime.Runtime {
	t.Helper()
	if rt := e.counterpart.instead(t, e.Engine, fixture, reg, opts); rt != nil {
		return rt
	}
	rt, err := runtime.NewWithEngine(context.Background(), e.Engine, fixtures.MustBytes(fixture), reg, opts...)
	require.NoError(t, err, "instantiating %s on %s", fixture, e.Engine)
	t.Cleanup(func() { require.NoError(t, rt.Close(context.Background())) })
	return rt
}

// Logs returns what the hostcalls fixture logged through test.log.
func (e *Env) Logs() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.logs...)
}

// Run runs every case on the named engine and checks each outcome against
// the committed golden table (testdata/outcomes.golden), which every engine
// must match: so all engines produce identical outcomes.
func Run(t *testing.T, engine string) {
	t.Helper()
	require.Contains(t, runtime.Engines(), engine, "engine %q is not linked", engine)
	cases := Cases()
	pruneOutcomes(t, cases)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			checkOutcome(t, engine, c.Name, c.Run(t, &Env{Engine: engine}))
		})
	}
}

// Outcomes runs every case on the named engine and returns each case's
// outcome by name.
func Outcomes(t *testing.T, engine string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, c := range Cases() {
		t.Run(engine+"/"+c.Name, func(t *testing.T) {
			out[c.Name] = c.Run(t, &Env{Engine: engine})
		})
	}
	return out
}

// Cases returns every case of the suite.
func Cases() []Case {
	var cs []Case
	cs = append(cs, codecCases()...)
	cs = append(cs, callCases()...)
	cs = append(cs, hostCases()...)
	cs = append(cs, failureCases()...)
	cs = append(cs, hostileCases()...)
	cs = append(cs, poolCases()...)
	cs = append(cs, gasCases()...)
	cs = append(cs, deadlineCases()...)
	cs = append(cs, goGuestCases()...)
	cs = append(cs, rustGuestCases()...)
	return cs
}

// ErrorKind describes err by the sentinels it matches, engine-independently.
func ErrorKind(err error) string {
	if err == nil {
		return "ok"
	}
	var parts []string
	for _, s := range []struct {
		name string
		err  error
	}{
		{"ErrUnknownEngine", runtime.ErrUnknownEngine}, {"ErrCompile", runtime.ErrCompile},
		{"ErrLink", runtime.ErrLink}, {"ErrMissingExport", runtime.ErrMissingExport},
		{"ErrSignature", runtime.ErrSignature}, {"ErrArgCount", runtime.ErrArgCount},
		{"ErrInvalidArgument", runtime.ErrInvalidArgument}, {"ErrTrap", runtime.ErrTrap},
		{"ErrAbort", runtime.ErrAbort}, {"ErrHost", runtime.ErrHost},
		{"ErrHostPanic", runtime.ErrHostPanic}, {"ErrABI", runtime.ErrABI},
		{"ErrAllocate", runtime.ErrAllocate}, {"ErrInterrupted", runtime.ErrInterrupted},
		{"ErrClosed", runtime.ErrClosed},
		{"ErrOutOfGas", runtime.ErrOutOfGas}, {"ErrCallDepth", runtime.ErrCallDepth},
		{"ErrReentrant", runtime.ErrReentrant}, {"ErrNotMetered", runtime.ErrNotMetered},
		{"ErrEngine", runtime.ErrEngine},
		{"abi.ErrOutOfBounds", abi.ErrOutOfBounds}, {"abi.ErrTruncated", abi.ErrTruncated},
		{"abi.ErrInvalidLength", abi.ErrInvalidLength}, {"abi.ErrUnknownTag", abi.ErrUnknownTag},
		{"abi.ErrInvalidBool", abi.ErrInvalidBool}, {"abi.ErrTooDeep", abi.ErrTooDeep},
		{"abi.ErrNonCanonical", abi.ErrNonCanonical}, {"abi.ErrUnsupportedType", abi.ErrUnsupportedType},
		{"abi.ErrTypeMismatch", abi.ErrTypeMismatch}, {"abi.ErrOverflow", abi.ErrOverflow},
		{"context.DeadlineExceeded", context.DeadlineExceeded}, {"context.Canceled", context.Canceled},
	} {
		if errors.Is(err, s.err) {
			parts = append(parts, s.name)
		}
	}
	var te *runtime.TrapError
	if errors.As(err, &te) {
		parts = append(parts, "trap="+te.Code.String())
	}
	var ae *runtime.AbortError
	if errors.As(err, &ae) {
		parts = append(parts, fmt.Sprintf("abort=%q@%s:%d:%d", ae.Message, ae.File, ae.Line, ae.Column))
	}
	if len(parts) == 0 {
		return "unclassified: " + err.Error()
	}
	return strings.Join(parts, "|")
}

// encoded renders v's canonical encoding, for outcomes.
func encoded(t *testing.T, v any) string {
	t.Helper()
	b, err := abi.Marshal(v)
	require.NoError(t, err)
	if len(b) > 64 {
		return fmt.Sprintf("%d bytes %x…", len(b), b[:32])
	}
	return hex.EncodeToString(b)
}
