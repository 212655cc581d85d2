package enginefuzz

import (
	"encoding/json"
	"strings"
	"testing"
)

// sampleReport is a consistent report: two calls (one succeeds, one traps)
// in every run.
func sampleReport(engine string) *Report {
	ok := func(budget, used uint64) Call {
		c := Call{Export: "f", Args: []string{"i32:0x00000001"}, Results: []string{"i32:0x00000002", "f64:nan"}, Log: "i64:0x0000000000000001"}
		if budget > 0 {
			c.Budget, c.Gas = budget, &Gas{Used: used, Left: budget - used}
		}
		return c
	}
	trap := func(budget uint64) Call {
		c := Call{Export: "g", Args: nil, Error: "trap:unreachable", Detail: engine + " says unreachable"}
		if budget > 0 {
			c.Budget, c.Gas = budget, &Gas{Used: budget}
		}
		return c
	}
	oog := func() Call {
		return Call{Export: "f", Args: []string{"i32:0x00000001"}, Budget: 41, Error: KindOutOfGas, Gas: &Gas{Used: 40, Left: 1}}
	}
	rep := &Report{Engine: engine, Skipped: []string{"h"}}
	rep.Runs = append(rep.Runs, Run{Name: RunUnmetered, Calls: []Call{ok(0, 0), trap(0)}})
	for _, y := range []string{"", YieldSuffix} {
		rep.Runs = append(rep.Runs, Run{Name: RunAmple + y, Metered: true, Calls: []Call{ok(AmpleGas, 42), trap(AmpleGas)}})
		if y == "" {
			rep.Runs = append(rep.Runs, Run{Name: RunExact, Metered: true, Calls: []Call{ok(42, 42), trap(AmpleGas)}})
		}
		rep.Runs = append(rep.Runs, Run{Name: RunExactMinus1 + y, Metered: true, Calls: []Call{oog()}})
		small := Call{Export: "f", Args: []string{"i32:0x00000001"}, Budget: SmallGas, Results: []string{"i32:0x00000002", "f64:nan"}, Gas: &Gas{Used: 42, Left: SmallGas - 42}}
		rep.Runs = append(rep.Runs, Run{Name: RunSmall + y, Metered: true, Calls: []Call{small, trap(SmallGas)}})
	}
	return rep
}

// clone deep-copies a report.
func clone(t *testing.T, r *Report) *Report {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var c Report
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return &c
}

func TestCompareAgree(t *testing.T) {
	a, b, c := sampleReport("wasmtime"), sampleReport("wazero"), sampleReport("wasmer")
	if d := Compare([]*Report{a, b, c}); len(d) != 0 {
		t.Fatalf("consistent reports differ: %v", d)
	}
}

// TestCompareCatches changes one thing in one engine's report and checks
// that Compare reports exactly that, with the right kind.
func TestCompareCatches(t *testing.T) {
	for _, c := range []struct {
		name   string
		mutate func(r *Report)
		kind   string
	}{
		{"result bits", func(r *Report) { r.Runs[0].Calls[0].Results[0] = "i32:0x00000003" }, DiffResult},
		{"negative zero", func(r *Report) {
			r.Runs[0].Calls[0].Results[1] = "f64:0x8000000000000000"
			r.Runs[1].Calls[0].Results[1] = "f64:0x0000000000000000"
		}, DiffResult},
		{"logged values", func(r *Report) { r.Runs[0].Calls[0].Log = "i64:0x0000000000000020" }, DiffResult},
		{"error kind", func(r *Report) { r.Runs[0].Calls[1].Error = "trap:out of bounds memory access" }, DiffError},
		{"trap instead of success", func(r *Report) {
			r.Runs[1].Calls[0].Results, r.Runs[1].Calls[0].Error = nil, "trap:unreachable"
		}, DiffError},
		{"gas used", func(r *Report) { r.Runs[1].Calls[0].Gas = &Gas{Used: 43, Left: AmpleGas - 43} }, DiffGas},
		{"gas left", func(r *Report) { r.Runs[4].Calls[1].Gas.Left = 1 }, DiffGas},
		{"setup", func(r *Report) { r.Runs[0].Setup, r.Runs[0].Calls = "compile", nil }, DiffSetup},
		{"missing call", func(r *Report) { r.Runs[0].Calls = r.Runs[0].Calls[:1] }, DiffCalls},
		{"other arguments", func(r *Report) { r.Runs[0].Calls[0].Args = []string{"i32:0x00000002"} }, DiffCalls},
		{"missing run", func(r *Report) { r.Runs = r.Runs[:len(r.Runs)-1] }, DiffRuns},
		{"skipped", func(r *Report) { r.Skipped = nil }, DiffCalls},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := sampleReport("wasmtime")
			b := clone(t, a)
			b.Engine = "wazero"
			c.mutate(b)
			diffs := compareReports(a, b)
			if len(diffs) == 0 {
				t.Fatal("no difference found")
			}
			for _, d := range diffs {
				if d.Kind != c.kind {
					t.Errorf("difference %v, want kind %s", d, c.kind)
				}
				if strings.Join(d.Engines, ",") != "wasmtime,wazero" {
					t.Errorf("engines %v", d.Engines)
				}
			}
		})
	}
}

func TestCompareIgnoresDetail(t *testing.T) {
	a := sampleReport("wasmtime")
	b := clone(t, a)
	b.Engine = "wasmer"
	b.Runs[0].Calls[1].Detail = "something else entirely"
	if d := Compare([]*Report{a, b}); len(d) != 0 {
		t.Fatalf("messages are compared: %v", d)
	}
}

// TestCheckCatches breaks one invariant of a single report at a time.
func TestCheckCatches(t *testing.T) {
	for _, c := range []struct {
		name   string
		mutate func(r *Report)
		kind   string
	}{
		{"metered result", func(r *Report) { runByName(r, RunAmple).Calls[0].Results[0] = "i32:0x00000009" }, DiffMetered},
		{"metered error", func(r *Report) { runByName(r, RunUnmetered).Calls[1].Error = "trap:integer overflow" }, DiffMetered},
		{"metered setup", func(r *Report) {
			a := runByName(r, RunAmple)
			a.Setup, a.Calls = "compile", nil
		}, DiffMetered},
		{"yield gas", func(r *Report) { runByName(r, RunAmple+YieldSuffix).Calls[0].Gas.Used++ }, DiffYield},
		{"yield small", func(r *Report) {
			c := &runByName(r, RunSmall+YieldSuffix).Calls[0]
			c.Results, c.Error = nil, KindOutOfGas
		}, DiffYield},
		{"yield exact-1", func(r *Report) { runByName(r, RunExactMinus1+YieldSuffix).Calls[0].Gas.Used = 39 }, DiffYield},
		{"exact differs", func(r *Report) {
			c := &runByName(r, RunExact).Calls[0]
			c.Results, c.Error = nil, KindOutOfGas
		}, DiffExact},
		{"exact gas", func(r *Report) { runByName(r, RunExact).Calls[0].Gas = &Gas{Used: 41, Left: 1} }, DiffExact},
		{"exact-1 succeeded", func(r *Report) {
			for _, n := range []string{RunExactMinus1, RunExactMinus1 + YieldSuffix} {
				c := &runByName(r, n).Calls[0]
				c.Error, c.Results = "", []string{"i32:0x00000002"}
			}
		}, DiffExactMinus1},
		{"interrupted", func(r *Report) {
			for _, n := range []string{RunSmall, RunSmall + YieldSuffix} {
				runByName(r, n).Calls[1].Error = KindInterrupted
			}
		}, DiffSlow},
		{"unclassified", func(r *Report) { runByName(r, RunUnmetered).Calls[1].Error = KindUnclassified }, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := sampleReport("wazero")
			c.mutate(r)
			diffs := Check(r)
			if len(diffs) == 0 {
				t.Fatal("no difference found")
			}
			found := false
			for _, d := range diffs {
				if d.Kind == c.kind || c.kind == "" && d.Kind == DiffUnclass {
					found = true
				}
			}
			if !found {
				t.Errorf("differences %v, want one of kind %s", diffs, c.kind)
			}
		})
	}
}

// TestCheckCallDepth: unmetered code has no call-depth limit of the
// metering's; from the metered run's first call-depth error on, the runs
// are not compared.
func TestCheckCallDepth(t *testing.T) {
	r := sampleReport("wasmtime")
	a := runByName(r, RunAmple)
	a.Calls[0].Results, a.Calls[0].Error = nil, KindCallDepth
	a.Calls[1].Error = KindOutOfGas // would be a difference, but comes after
	for _, d := range Check(r) {
		if d.Kind == DiffMetered {
			t.Errorf("compared past a call-depth error: %v", d)
		}
	}
	// ... but not before it.
	a.Calls[0], a.Calls[1] = a.Calls[1], a.Calls[0]
	found := false
	for _, d := range Check(r) {
		found = found || d.Kind == DiffMetered
	}
	if !found {
		t.Error("a difference before the call-depth error was not reported")
	}
}
