// Command runner runs one WebAssembly module on the engine of its build
// and prints what every call did, as one JSON enginefuzz.Report, for the
// differential engine fuzzer (internal/enginefuzz/cmd/fuzz, make
// fuzz-engines). It is built three times: the default build runs wasmtime,
// `CGO_ENABLED=0 -tags wazero` wazero and `-tags wasmer` wasmer.
//
//	runner [-engine NAME] MODULE.wasm
//
// Every function export whose parameters and results are numbers is called
// through runtime.CallWasm, twice (two argument sets: all exports with the
// first, then all with the second), in the order of the export section, on
// one instance per run, so that guest state carries over identically on
// every engine. The runs (see enginefuzz.RunUnmetered and the others): the
// module unmetered; metered (runtime.WithMetering) with an ample budget,
// with each call's exact gas, with one gas less (each such call on a fresh
// instance after replaying the calls before it), with a small budget; the
// metered runs also with yield checkpoints forced on every engine. Exit
// status 0 when the report was printed, whatever the calls did; 2 on a
// usage or I/O error.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/aspect-rt/aspect-runtime/internal/enginefuzz"
	"github.com/aspect-rt/aspect-runtime/metering"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

func main() {
	engineName := flag.String("engine", runtime.DefaultEngine(), "engine to run (one linked into this build)")
	callTimeout := flag.Duration("call-timeout", 20*time.Second, "deadline of each metered call (unmetered calls cannot be interrupted on every engine)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: runner [-engine NAME] MODULE.wasm\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	wasm, err := os.ReadFile(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "runner:", err)
		os.Exit(2)
	}
	r := &runner{engine: *engineName, wasm: wasm, callTimeout: *callTimeout}
	rep, err := r.run(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "runner:", err)
		os.Exit(2)
	}
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(rep); err != nil {
		fmt.Fprintln(os.Stderr, "runner:", err)
		os.Exit(2)
	}
}

// call is one planned call.
type call struct {
	export string
	params []uint64
	args   []string
	types  enginefuzz.FuncType
}

type runner struct {
	engine      string
	wasm        []byte
	callTimeout time.Duration
	plan        []call
	logHash     bool // the module exports enginefuzz.LogHashExport
}

func (r *runner) run(ctx context.Context) (*enginefuzz.Report, error) {
	exports, err := enginefuzz.ExportedFuncs(r.wasm)
	if err != nil {
		return nil, fmt.Errorf("reading exports: %w", err)
	}
	rep := &enginefuzz.Report{Engine: r.engine}
	var callable []enginefuzz.FuncExport
	for _, e := range exports {
		if e.Name == enginefuzz.LogHashExport {
			r.logHash = true
			continue
		}
		if e.Type.Numeric() {
			callable = append(callable, e)
		} else {
			rep.Skipped = append(rep.Skipped, e.Name)
		}
	}
	for set := 0; set < 2; set++ {
		for i, e := range callable {
			p := enginefuzz.Args(e.Type.Params, i, set)
			r.plan = append(r.plan, call{export: e.Name, params: p, args: enginefuzz.FormatValues(e.Type.Params, p), types: e.Type})
		}
	}

	rep.Runs = append(rep.Runs, r.sequence(ctx, enginefuzz.RunUnmetered, nil, nil))

	for _, yield := range []bool{false, true} {
		suffix := ""
		cfg := metering.Config{}
		if yield {
			suffix = enginefuzz.YieldSuffix
			cfg.YieldInterval = enginefuzz.YieldInterval
		}
		mod, setupErr := runtime.CompileWithEngine(ctx, r.engine, r.wasm, runtime.WithMetering(cfg))
		m := &metered{mod: mod, err: setupErr}
		ample := r.sequence(ctx, enginefuzz.RunAmple+suffix, m, func(int) uint64 { return enginefuzz.AmpleGas })
		rep.Runs = append(rep.Runs, ample)
		if !yield {
			rep.Runs = append(rep.Runs, r.sequence(ctx, enginefuzz.RunExact, m, func(i int) uint64 {
				if i < len(ample.Calls) && ample.Calls[i].Gas != nil {
					return ample.Calls[i].Gas.Used
				}
				return enginefuzz.AmpleGas
			}))
		}
		rep.Runs = append(rep.Runs, r.exactMinus1(ctx, enginefuzz.RunExactMinus1+suffix, m, &ample))
		rep.Runs = append(rep.Runs, r.sequence(ctx, enginefuzz.RunSmall+suffix, m, func(int) uint64 { return enginefuzz.SmallGas }))
		if mod != nil {
			_ = mod.Close(ctx)
		}
	}
	return rep, nil
}

// metered is the module compiled with metering, or why it was not.
type metered struct {
	mod *runtime.Module
	err error
}

// instantiate returns a fresh instance: of the metered module, or of the
// module compiled without metering (m == nil).
func (r *runner) instantiate(ctx context.Context, m *metered) (*runtime.Runtime, error) {
	if m == nil {
		return runtime.NewWithEngine(ctx, r.engine, r.wasm, nil)
	}
	if m.err != nil {
		return nil, m.err
	}
	return m.mod.Instantiate(ctx, nil)
}

// sequence runs the whole plan on one fresh instance; budget gives each
// call's gas (nil: unmetered).
func (r *runner) sequence(ctx context.Context, name string, m *metered, budget func(i int) uint64) enginefuzz.Run {
	run := enginefuzz.Run{Name: name, Metered: m != nil}
	rt, err := r.instantiate(ctx, m)
	if err != nil {
		run.Setup, run.SetupDetail = errorKind(err), errorDetail(err)
		return run
	}
	defer rt.Close(ctx)
	for i, c := range r.plan {
		var b uint64
		if budget != nil {
			b = budget(i)
		}
		run.Calls = append(run.Calls, r.call(ctx, rt, c, m != nil, b))
	}
	return run
}

// exactMinus1 gives every call that succeeded in the ample run one gas less
// than it used there, on a fresh instance that first replays the calls
// before it (with ample budgets), so that it starts from the same state.
func (r *runner) exactMinus1(ctx context.Context, name string, m *metered, ample *enginefuzz.Run) enginefuzz.Run {
	run := enginefuzz.Run{Name: name, Metered: true}
	if m.err != nil {
		run.Setup, run.SetupDetail = errorKind(m.err), errorDetail(m.err)
		return run
	}
	for i, a := range ample.Calls {
		if a.Error != "" || a.Gas == nil || a.Gas.Used == 0 {
			continue
		}
		rt, err := r.instantiate(ctx, m)
		if err != nil {
			run.Setup, run.SetupDetail = errorKind(err), errorDetail(err)
			return run
		}
		for j := 0; j < i; j++ {
			r.call(ctx, rt, r.plan[j], true, enginefuzz.AmpleGas)
		}
		run.Calls = append(run.Calls, r.call(ctx, rt, r.plan[i], true, a.Gas.Used-1))
		_ = rt.Close(ctx)
	}
	return run
}

// call makes one call and records its outcome.
func (r *runner) call(ctx context.Context, rt *runtime.Runtime, c call, metered bool, budget uint64) enginefuzz.Call {
	out := enginefuzz.Call{Export: c.export, Args: c.args}
	base := ctx
	var meter *runtime.Meter
	if metered {
		out.Budget = budget
		meter = runtime.NewMeter(budget)
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(runtime.WithMeter(ctx, meter), r.callTimeout)
		defer cancel()
	}
	res, err := rt.CallWasm(ctx, c.export, c.params...)
	if err != nil {
		out.Error, out.Detail = errorKind(err), errorDetail(err)
	} else {
		out.Results = enginefuzz.FormatValues(c.types.Results, res)
		if len(res) != len(c.types.Results) {
			out.Error = enginefuzz.KindUnclassified
			out.Detail = fmt.Sprintf("%d results for a function with %d", len(res), len(c.types.Results))
		}
	}
	if meter != nil {
		out.Gas = &enginefuzz.Gas{Used: meter.Used(), Left: meter.Left()}
	}
	if r.logHash {
		// Without a Meter: unlimited gas on a metered module.
		if h, err := rt.CallWasm(base, enginefuzz.LogHashExport); err != nil {
			out.Log = "error:" + errorKind(err)
		} else if len(h) == 1 {
			out.Log = enginefuzz.FormatValue(0x7e, h[0])
		}
	}
	return out
}
