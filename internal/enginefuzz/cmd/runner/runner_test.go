package main

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aspect-rt/aspect-runtime/internal/enginefuzz"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

func TestErrorKind(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{&runtime.TrapError{Func: "f", Code: runtime.TrapUnreachable}, "trap:unreachable"},
		{&runtime.TrapError{Func: "f", Code: runtime.TrapOutOfBoundsMemory}, "trap:out of bounds memory access"},
		{fmt.Errorf("wrapped: %w", &runtime.TrapError{Code: runtime.TrapIntegerDivideByZero}), "trap:integer divide by zero"},
		{&runtime.GasError{Err: runtime.ErrOutOfGas}, enginefuzz.KindOutOfGas},
		{&runtime.GasError{Err: runtime.ErrCallDepth}, enginefuzz.KindCallDepth},
		{&runtime.InterruptError{Cause: context.DeadlineExceeded}, enginefuzz.KindInterrupted},
		{fmt.Errorf("%w: bad", runtime.ErrCompile), "compile"},
		{&runtime.LinkError{Module: "m", Name: "n"}, "link"},
		{fmt.Errorf("%w: f", runtime.ErrMissingExport), "missing_export"},
		{fmt.Errorf("%w: engine panicked", runtime.ErrEngine), "engine"},
		{runtime.ErrClosed, "closed"},
		{errors.New("out of bounds memory access"), enginefuzz.KindUnclassified}, // never by message
	} {
		if got := errorKind(c.err); got != c.want {
			t.Errorf("errorKind(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}

// testModule exports add(i32, i32) -> i32, div(i32, i32) -> i32 (i32.div_s:
// traps on 0 and on overflow), count(i32) -> i32 (a loop of n&15
// iterations adding to a global: state across calls), neg(f64) -> f64 and
// fn(funcref) (skipped: not numeric).
var testModule = func() []byte {
	section := func(id byte, count byte, items ...[]byte) []byte {
		var b []byte
		for _, it := range items {
			b = append(b, it...)
		}
		b = append([]byte{count}, b...)
		return append([]byte{id, byte(len(b))}, b...)
	}
	fn := func(code ...byte) []byte {
		return append([]byte{byte(len(code) + 1), 0}, code...) // no locals
	}
	exp := func(name string, idx byte) []byte {
		return append(append([]byte{byte(len(name))}, name...), 0, idx)
	}
	m := []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00}
	// types: 0 (i32 i32)->i32, 1 (i32)->i32, 2 (f64)->f64, 3 (funcref)->()
	m = append(m, section(1, 4,
		[]byte{0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f},
		[]byte{0x60, 0x01, 0x7f, 0x01, 0x7f},
		[]byte{0x60, 0x01, 0x7c, 0x01, 0x7c},
		[]byte{0x60, 0x01, 0x70, 0x00})...)
	m = append(m, section(3, 5, []byte{0, 0, 1, 2, 3})...)
	m = append(m, section(6, 1, []byte{0x7f, 0x01, 0x41, 0x00, 0x0b})...) // mut i32 = 0
	m = append(m, section(7, 5, exp("add", 0), exp("div", 1), exp("count", 2), exp("neg", 3), exp("fn", 4))...)
	m = append(m, section(10, 5,
		fn(0x20, 0x00, 0x20, 0x01, 0x6a, 0x0b), // add
		fn(0x20, 0x00, 0x20, 0x01, 0x6d, 0x0b), // div
		// count: n &= 15; block loop (br_if 1 (i32.eqz n)) g += 3; n -= 1; br 0 end end; g
		fn(0x20, 0x00, 0x41, 0x0f, 0x71, 0x21, 0x00,
			0x02, 0x40, 0x03, 0x40,
			0x20, 0x00, 0x45, 0x0d, 0x01,
			0x23, 0x00, 0x41, 0x03, 0x6a, 0x24, 0x00,
			0x20, 0x00, 0x41, 0x01, 0x6b, 0x21, 0x00, 0x0c, 0x00,
			0x0b, 0x0b, 0x23, 0x00, 0x0b),
		fn(0x20, 0x00, 0x9a, 0x0b), // neg
		fn(0x0b),                   // fn
	)...)
	return m
}()

// TestRun runs the test module on every engine of the build: the report
// must pass its own checks, agree between engines, and hold what the module
// computes.
func TestRun(t *testing.T) {
	ctx := context.Background()
	var reports []*enginefuzz.Report
	for _, eng := range runtime.Engines() {
		r := &runner{engine: eng, wasm: testModule, callTimeout: time.Minute}
		rep, err := r.run(ctx)
		if err != nil {
			t.Fatalf("%s: %v", eng, err)
		}
		if d := enginefuzz.Check(rep); len(d) != 0 {
			t.Errorf("%s: %v", eng, d)
		}
		reports = append(reports, rep)
	}
	if d := enginefuzz.Compare(reports); len(d) != 0 {
		t.Errorf("engines differ: %v", d)
	}
	rep := reports[0]
	if len(rep.Skipped) != 1 || rep.Skipped[0] != "fn" {
		t.Errorf("skipped %v, want [fn]", rep.Skipped)
	}
	want := []string{enginefuzz.RunUnmetered, enginefuzz.RunAmple, enginefuzz.RunExact, enginefuzz.RunExactMinus1, enginefuzz.RunSmall,
		enginefuzz.RunAmple + enginefuzz.YieldSuffix, enginefuzz.RunExactMinus1 + enginefuzz.YieldSuffix, enginefuzz.RunSmall + enginefuzz.YieldSuffix}
	if len(rep.Runs) != len(want) {
		t.Fatalf("%d runs, want %d", len(rep.Runs), len(want))
	}
	for i, run := range rep.Runs {
		if run.Name != want[i] || run.Setup != "" || len(run.Calls) == 0 {
			t.Errorf("run %d: %s setup %q %d calls", i, run.Name, run.Setup, len(run.Calls))
		}
	}
	// The unmetered run: 4 exports, two argument sets; check add, neg and
	// count (state carries from the first count call to the second).
	un := rep.Runs[0].Calls
	if len(un) != 8 {
		t.Fatalf("%d unmetered calls, want 8", len(un))
	}
	arg := func(c enginefuzz.Call, i int) uint64 {
		var v uint64
		fmt.Sscanf(c.Args[i][4:], "0x%x", &v)
		return v
	}
	total := uint32(0)
	seen := map[string]int{}
	for _, c := range un {
		seen[c.Export]++
		switch c.Export {
		case "add":
			want := enginefuzz.FormatValue(0x7f, uint64(uint32(arg(c, 0))+uint32(arg(c, 1))))
			if c.Error != "" || c.Results[0] != want {
				t.Errorf("add%v = %v %s, want %s", c.Args, c.Results, c.Error, want)
			}
		case "neg":
			want := enginefuzz.FormatValue(0x7c, arg(c, 0)^1<<63)
			if c.Error != "" || c.Results[0] != want {
				t.Errorf("neg%v = %v %s, want %s", c.Args, c.Results, c.Error, want)
			}
		case "count":
			total += 3 * uint32(arg(c, 0)&15)
			if want := enginefuzz.FormatValue(0x7f, uint64(total)); c.Error != "" || c.Results[0] != want {
				t.Errorf("count%v = %v %s, want %s", c.Args, c.Results, c.Error, want)
			}
		}
	}
	if seen["add"] != 2 || seen["neg"] != 2 || seen["count"] != 2 || seen["div"] != 2 {
		t.Errorf("calls per export: %v", seen)
	}
	// Every call that succeeded in the ample run was tried with one gas
	// less.
	ok := 0
	for _, c := range rep.Runs[1].Calls {
		if c.Error == "" {
			ok++
		}
	}
	if n := len(rep.Runs[3].Calls); n != ok {
		t.Errorf("%d exact-1 calls, want %d", n, ok)
	}
}
