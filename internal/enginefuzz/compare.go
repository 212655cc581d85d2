package enginefuzz

import (
	"fmt"
	"slices"
	"strings"
)

// Difference kinds.
const (
	// Between engines, in the same run.
	DiffSetup  = "setup"  // compiling or instantiating failed differently
	DiffCalls  = "calls"  // a run made different calls (count, export, arguments, budget)
	DiffResult = "result" // both succeeded with different results
	DiffError  = "error"  // different error kinds (or one failed)
	DiffGas    = "gas"    // different gas used or left
	DiffRuns   = "runs"   // a run is missing from one engine's report
	// Within one engine's report.
	DiffMetered     = "metered-vs-unmetered" // a metered call disagrees with the unmetered one
	DiffYield       = "yield"                // forced yield checkpoints changed an outcome
	DiffExact       = "exact-budget"         // a call with exactly the gas it used did not repeat
	DiffExactMinus1 = "exact-1-not-out-of-gas"
	DiffSlow        = "interrupted" // a metered call hit the runner's per-call deadline
	DiffUnclass     = "unclassified-error"
	// Of the runner process.
	DiffCrash = "crash" // the runner died (signal, panic, bad output)
	DiffHang  = "hang"  // the runner did not finish in time
)

// Difference is one disagreement found in the reports of a module.
type Difference struct {
	Kind string `json:"kind"`
	// Engines are the engines involved (one for a check within a report).
	Engines []string `json:"engines"`
	Run     string   `json:"run,omitempty"`
	// Call is the index of the call in the run, -1 for the run itself.
	Call   int    `json:"call"`
	Detail string `json:"detail"`
}

// String formats the difference as "kind [engines] run R call N: detail".
func (d Difference) String() string {
	where := ""
	if d.Run != "" {
		where = " run " + d.Run
		if d.Call >= 0 {
			where += fmt.Sprintf(" call %d", d.Call)
		}
	}
	return fmt.Sprintf("%s [%s]%s: %s", d.Kind, strings.Join(d.Engines, " vs "), where, d.Detail)
}

// Compare compares the reports of the engines for one module, each against
// the first: every run must have the same setup outcome and the same calls
// with the same results, error kinds and gas. Then it checks each report on
// its own (see Check).
func Compare(reports []*Report) []Difference {
	var diffs []Difference
	if len(reports) > 0 {
		ref := reports[0]
		for _, other := range reports[1:] {
			diffs = append(diffs, compareReports(ref, other)...)
		}
	}
	for _, r := range reports {
		diffs = append(diffs, Check(r)...)
	}
	return diffs
}

func runByName(r *Report, name string) *Run {
	for i := range r.Runs {
		if r.Runs[i].Name == name {
			return &r.Runs[i]
		}
	}
	return nil
}

func compareReports(a, b *Report) []Difference {
	engines := []string{a.Engine, b.Engine}
	var diffs []Difference
	if !slices.Equal(a.Skipped, b.Skipped) {
		diffs = append(diffs, Difference{Kind: DiffCalls, Engines: engines, Call: -1,
			Detail: fmt.Sprintf("skipped exports %v / %v", a.Skipped, b.Skipped)})
	}
	var names []string
	for _, r := range a.Runs {
		names = append(names, r.Name)
	}
	for _, r := range b.Runs {
		if !slices.Contains(names, r.Name) {
			names = append(names, r.Name)
		}
	}
	for _, name := range names {
		ra, rb := runByName(a, name), runByName(b, name)
		if ra == nil || rb == nil {
			diffs = append(diffs, Difference{Kind: DiffRuns, Engines: engines, Run: name, Call: -1,
				Detail: fmt.Sprintf("present: %v / %v", ra != nil, rb != nil)})
			continue
		}
		diffs = append(diffs, compareRuns(engines, ra, rb, compareAll)...)
	}
	return diffs
}

// What compareRuns compares.
const (
	compareAll    = iota
	compareNoGas  // metered against unmetered
	compareStopCD // ... and stop at the first call-depth error of the metered run
)

// compareRuns compares two runs call by call.
func compareRuns(engines []string, a, b *Run, mode int) []Difference {
	kind := func(k string) string {
		if mode != compareAll {
			return DiffMetered
		}
		return k
	}
	if a.Setup != b.Setup {
		return []Difference{{Kind: kind(DiffSetup), Engines: engines, Run: runLabel(a, b), Call: -1,
			Detail: fmt.Sprintf("%s / %s (%s / %s)", orOK(a.Setup), orOK(b.Setup), a.SetupDetail, b.SetupDetail)}}
	}
	var diffs []Difference
	if len(a.Calls) != len(b.Calls) {
		diffs = append(diffs, Difference{Kind: kind(DiffCalls), Engines: engines, Run: runLabel(a, b), Call: -1,
			Detail: fmt.Sprintf("%d calls / %d calls", len(a.Calls), len(b.Calls))})
	}
	for i := 0; i < min(len(a.Calls), len(b.Calls)); i++ {
		ca, cb := &a.Calls[i], &b.Calls[i]
		d := Difference{Engines: engines, Run: runLabel(a, b), Call: i}
		sig := fmt.Sprintf("%s(%s)", ca.Export, strings.Join(ca.Args, ", "))
		switch {
		case ca.Export != cb.Export || !slices.Equal(ca.Args, cb.Args) || mode == compareAll && ca.Budget != cb.Budget:
			d.Kind = kind(DiffCalls)
			d.Detail = fmt.Sprintf("%s budget %d / %s(%s) budget %d", sig, ca.Budget, cb.Export, strings.Join(cb.Args, ", "), cb.Budget)
		case mode == compareStopCD && cb.Error == KindCallDepth && ca.Error != KindCallDepth:
			// The metered run's call-depth limit is not the engine's stack:
			// from here on the two instances may differ.
			return diffs
		case ca.Error != cb.Error:
			d.Kind = kind(DiffError)
			d.Detail = fmt.Sprintf("%s: %s / %s", sig, describe(ca), describe(cb))
		case !slices.Equal(ca.Results, cb.Results):
			d.Kind = kind(DiffResult)
			d.Detail = fmt.Sprintf("%s: %s / %s", sig, describe(ca), describe(cb))
		case ca.Log != cb.Log:
			d.Kind = kind(DiffResult)
			d.Detail = fmt.Sprintf("%s: logged values differ: hash %s / %s", sig, ca.Log, cb.Log)
		case mode == compareAll && !gasEqual(ca.Gas, cb.Gas):
			d.Kind = DiffGas
			d.Detail = fmt.Sprintf("%s budget %d: %s / %s (%s)", sig, ca.Budget, gasString(ca.Gas), gasString(cb.Gas), orOK(ca.Error))
		default:
			continue
		}
		diffs = append(diffs, d)
	}
	return diffs
}

func runLabel(a, b *Run) string {
	if a.Name == b.Name {
		return a.Name
	}
	return a.Name + " / " + b.Name
}

func orOK(kind string) string {
	if kind == "" {
		return "ok"
	}
	return kind
}

func describe(c *Call) string {
	if c.Error != "" {
		return c.Error
	}
	return "[" + strings.Join(c.Results, " ") + "]"
}

func gasEqual(a, b *Gas) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func gasString(g *Gas) string {
	if g == nil {
		return "no gas"
	}
	return fmt.Sprintf("used %d left %d", g.Used, g.Left)
}

// Check checks one engine's report on its own:
//   - the ample metered run gives the unmetered run's results and errors
//     (up to its first call-depth error, a limit unmetered code has not);
//   - forced yield checkpoints change nothing, gas included;
//   - a call given exactly the gas it used in the ample run repeats it;
//   - a call given one gas less runs out of gas;
//   - no metered call hit the runner's deadline, and every error matched
//     one of the runtime's sentinels.
func Check(r *Report) []Difference {
	eng := []string{r.Engine}
	var diffs []Difference
	pair := func(a, b string, mode int, kind string) {
		ra, rb := runByName(r, a), runByName(r, b)
		if ra == nil || rb == nil {
			return
		}
		for _, d := range compareRuns(eng, ra, rb, mode) {
			if kind != "" {
				d.Kind = kind
			}
			diffs = append(diffs, d)
		}
	}
	pair(RunUnmetered, RunAmple, compareStopCD, "")
	pair(RunAmple, RunAmple+YieldSuffix, compareAll, DiffYield)
	pair(RunSmall, RunSmall+YieldSuffix, compareAll, DiffYield)
	pair(RunExactMinus1, RunExactMinus1+YieldSuffix, compareAll, DiffYield)
	if ample, exact := runByName(r, RunAmple), runByName(r, RunExact); ample != nil && exact != nil {
		for _, d := range compareRuns(eng, ample, exact, compareNoGas) {
			d.Kind = DiffExact
			diffs = append(diffs, d)
		}
		// Gas: the exact run used all of its budget.
		for i := 0; i < min(len(ample.Calls), len(exact.Calls)); i++ {
			a, e := ample.Calls[i], exact.Calls[i]
			if a.Gas == nil || e.Gas == nil || a.Error != e.Error {
				continue
			}
			if e.Budget != a.Gas.Used || e.Gas.Used != a.Gas.Used || e.Gas.Left != 0 {
				diffs = append(diffs, Difference{Kind: DiffExact, Engines: eng, Run: RunExact, Call: i,
					Detail: fmt.Sprintf("%s: ample %s, exact budget %d: %s", e.Export, gasString(a.Gas), e.Budget, gasString(e.Gas))})
			}
		}
	}
	for _, name := range []string{RunExactMinus1, RunExactMinus1 + YieldSuffix} {
		run := runByName(r, name)
		if run == nil {
			continue
		}
		for i, c := range run.Calls {
			if c.Error != KindOutOfGas {
				diffs = append(diffs, Difference{Kind: DiffExactMinus1, Engines: eng, Run: name, Call: i,
					Detail: fmt.Sprintf("%s(%s) budget %d: %s, %s", c.Export, strings.Join(c.Args, ", "), c.Budget, describe(&c), gasString(c.Gas))})
			}
		}
	}
	for _, run := range r.Runs {
		if run.Setup == KindUnclassified {
			diffs = append(diffs, Difference{Kind: DiffUnclass, Engines: eng, Run: run.Name, Call: -1, Detail: run.SetupDetail})
		}
		for i, c := range run.Calls {
			switch {
			case c.Error == KindUnclassified || c.Error == "trap:?":
				diffs = append(diffs, Difference{Kind: DiffUnclass, Engines: eng, Run: run.Name, Call: i, Detail: c.Export + ": " + c.Detail})
			case c.Error == KindInterrupted:
				diffs = append(diffs, Difference{Kind: DiffSlow, Engines: eng, Run: run.Name, Call: i, Detail: c.Export + ": " + c.Detail})
			}
		}
	}
	return diffs
}
