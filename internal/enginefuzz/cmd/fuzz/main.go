// Command fuzz is the differential engine fuzzer (make fuzz-engines): it
// generates random valid WebAssembly modules with binaryen's wasm-opt
// -ttf, runs each on the three engine builds of the runner
// (internal/enginefuzz/cmd/runner) in child processes with a timeout, and
// fails on any difference in results, error kinds or gas between engines or
// between metered and unmetered runs, and on any crash or hang. Modules with
// differences are saved, with every engine's report, under -findings.
//
//	fuzz -modules 300 -seed 1 -wasm-opt node_modules/.bin/wasm-opt \
//	    -runner wasmtime=bin/runner-wasmtime -runner wazero=bin/runner-wazero \
//	    -runner wasmer=bin/runner-wasmer
//
// Module i of seed S is always the same module. Exit status 0 when every
// module agreed everywhere, 1 when a difference was found, 2 on a usage or
// set-up error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aspect-rt/aspect-runtime/internal/enginefuzz"
	"github.com/aspect-rt/aspect-runtime/metering"
)

type runnerFlags []enginefuzz.Runner

func (f *runnerFlags) String() string { return fmt.Sprint(*f) }

func (f *runnerFlags) Set(s string) error {
	name, path, ok := strings.Cut(s, "=")
	if !ok || name == "" || path == "" {
		return errors.New("want ENGINE=PATH")
	}
	*f = append(*f, enginefuzz.Runner{Name: name, Path: path})
	return nil
}

func main() {
	var runners runnerFlags
	modules := flag.Int("modules", 40, "number of modules")
	first := flag.Int("first", 0, "index of the first module (to rerun one: -first I -modules 1)")
	seed := flag.Uint64("seed", 1, "seed: module i of seed S is always the same")
	wasmOpt := flag.String("wasm-opt", "internal/enginefuzz/node_modules/.bin/wasm-opt", "binaryen's wasm-opt")
	flag.Var(&runners, "runner", "ENGINE=PATH of a runner build (repeat; the first is the reference)")
	findings := flag.String("findings", "internal/enginefuzz/findings", "where modules with differences are saved")
	timeout := flag.Duration("timeout", 2*time.Minute, "hard limit of one runner process on one module")
	jobs := flag.Int("j", 1, "modules checked in parallel")
	verbose := flag.Bool("v", false, "print every module")
	keep := flag.String("keep", "", "also save every generated module in this directory")
	triage := flag.Bool("triage", true, "look for a known divergence that explains each module's differences (see enginefuzz.KnownDivergences)")
	flag.Parse()
	if len(runners) < 2 || *modules < 1 || *jobs < 1 {
		fmt.Fprintln(os.Stderr, "fuzz: need -modules >= 1, -j >= 1 and at least two -runner ENGINE=PATH")
		flag.Usage()
		os.Exit(2)
	}
	for _, rn := range runners {
		if _, err := os.Stat(rn.Path); err != nil {
			fmt.Fprintln(os.Stderr, "fuzz:", err)
			os.Exit(2)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	scratch, err := os.MkdirTemp("", "enginefuzz-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "fuzz:", err)
		os.Exit(2)
	}
	defer os.RemoveAll(scratch)

	gen := &enginefuzz.Generator{WasmOpt: *wasmOpt, Dir: scratch, Accept: accept}
	s := &summary{explained: map[string]int{}, byKind: map[string]int{}, modulesByKind: map[string]int{}, rejected: map[string]int{}, elapsed: map[string]time.Duration{}}
	start := time.Now()
	var mu sync.Mutex
	var wg sync.WaitGroup
	next := *first
	var setupErr error
	for w := 0; w < *jobs; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				if next >= *first+*modules || setupErr != nil || ctx.Err() != nil {
					mu.Unlock()
					return
				}
				i := next
				next++
				mu.Unlock()
				t0 := time.Now()
				m, err := gen.Generate(ctx, *seed, i)
				genTime := time.Since(t0)
				if err != nil {
					mu.Lock()
					setupErr = err
					mu.Unlock()
					return
				}
				if *keep != "" {
					if err := os.MkdirAll(*keep, 0o755); err == nil {
						err = os.WriteFile(filepath.Join(*keep, fmt.Sprintf("seed-%d-module-%d.wasm", *seed, i)), m.Wasm, 0o644)
					}
					if err != nil {
						fmt.Fprintln(os.Stderr, "fuzz: -keep:", err)
					}
				}
				res, err := enginefuzz.CheckModule(ctx, runners, m, scratch, *timeout)
				if err != nil {
					mu.Lock()
					setupErr = err
					mu.Unlock()
					return
				}
				if len(res.Diffs) > 0 && *triage {
					if res.Explained, err = enginefuzz.Triage(ctx, runners, res, scratch, *wasmOpt, *timeout); err != nil {
						fmt.Fprintf(os.Stderr, "fuzz: triage of module %d: %v\n", i, err)
					}
				}
				mu.Lock()
				s.add(res, genTime)
				line := fmt.Sprintf("module %d: %d calls per engine, %d differences", i, res.Calls, len(res.Diffs))
				if res.Explained != "" {
					line += " (explained by the known divergence " + res.Explained + ")"
				}
				if len(res.Diffs) > 0 {
					dir, err := enginefuzz.SaveFinding(*findings, res, *wasmOpt)
					if err != nil {
						fmt.Fprintln(os.Stderr, "fuzz: saving the finding:", err)
					}
					fmt.Printf("%s, saved in %s\n", line, dir)
					for j, d := range res.Diffs {
						if j == 5 {
							fmt.Printf("  ... %d more\n", len(res.Diffs)-5)
							break
						}
						fmt.Printf("  %s\n", d)
					}
				} else if *verbose {
					fmt.Println(line)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if setupErr != nil && !errors.Is(setupErr, context.Canceled) {
		fmt.Fprintln(os.Stderr, "fuzz:", setupErr)
		os.Exit(2)
	}
	s.print(*seed, *first, runners, time.Since(start), *findings)
	if ctx.Err() != nil {
		fmt.Println("interrupted")
		os.Exit(2)
	}
	if s.diffs > 0 {
		os.Exit(1)
	}
}

// accept drops the rare module binaryen makes outside WebAssembly 2.0 even
// with the features restricted (e.g. ref.as_non_null, a function-references
// instruction, after --denan): the runtime rejects them by design, the same
// way on every engine, which says nothing about the engines. The metering
// package's validator is the runtime's definition of the supported
// features. Every other module goes to the engines, valid or not.
func accept(wasm []byte) error {
	_, err := metering.Instrument(wasm, metering.Config{})
	var uf *metering.UnsupportedFeatureError
	if errors.As(err, &uf) {
		return fmt.Errorf("%w: %v", enginefuzz.ErrUnsupported, err)
	}
	return nil
}

type summary struct {
	modules, calls, diffs, modulesWithDiffs int
	inputs                                  int
	rejected                                map[string]int
	byKind, modulesByKind                   map[string]int
	elapsed                                 map[string]time.Duration
	genTime                                 time.Duration
	findings                                []int
	explained                               map[string]int
}

func (s *summary) add(res *enginefuzz.ModuleResult, genTime time.Duration) {
	s.modules++
	s.calls += res.Calls
	s.genTime += genTime
	s.inputs += res.Module.Attempt + 1
	for _, err := range res.Module.Rejected {
		s.rejected[rejectReason(err)]++
	}
	for _, rr := range res.Runs {
		s.elapsed[rr.Runner] += rr.Elapsed
	}
	if len(res.Diffs) == 0 {
		return
	}
	s.modulesWithDiffs++
	s.diffs += len(res.Diffs)
	seen := map[string]bool{}
	for _, d := range res.Diffs {
		s.byKind[d.Kind]++
		if !seen[d.Kind] {
			seen[d.Kind] = true
			s.modulesByKind[d.Kind]++
		}
	}
	s.findings = append(s.findings, res.Module.Index)
	if res.Explained != "" {
		s.explained[res.Explained]++
	}
}

func rejectReason(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "wasm-opt"):
		return "wasm-opt failed"
	case strings.Contains(msg, "unsupported WebAssembly feature"):
		if i := strings.Index(msg, "feature \""); i >= 0 {
			rest := msg[i+len("feature \""):]
			if j := strings.Index(rest, "\""); j >= 0 {
				return "feature " + rest[:j]
			}
		}
		return "unsupported feature"
	case errors.Is(err, enginefuzz.ErrUnsupported):
		return "import or constant not stubbable"
	}
	return "other"
}

func (s *summary) print(seed uint64, first int, runners []enginefuzz.Runner, wall time.Duration, findings string) {
	fmt.Println()
	fmt.Printf("enginefuzz: seed %d, modules %d..%d: %d modules from %d inputs", seed, first, first+s.modules-1, s.modules, s.inputs)
	if len(s.rejected) > 0 {
		var rs []string
		for r, n := range s.rejected {
			rs = append(rs, fmt.Sprintf("%s %d", r, n))
		}
		sort.Strings(rs)
		fmt.Printf(" (dropped: %s)", strings.Join(rs, ", "))
	}
	fmt.Println()
	fmt.Printf("calls: %d per engine, over all runs\n", s.calls)
	per := func(d time.Duration) string {
		if s.modules == 0 {
			return "-"
		}
		return (d / time.Duration(s.modules)).Round(time.Millisecond).String()
	}
	fmt.Printf("time: %s wall; per module: generation %s", wall.Round(time.Second), per(s.genTime))
	for _, rn := range runners {
		fmt.Printf(", %s %s", rn.Name, per(s.elapsed[rn.Name]))
	}
	fmt.Println()
	if s.diffs == 0 {
		fmt.Printf("differences: none (%d modules agreed on every engine)\n", s.modules)
		return
	}
	fmt.Printf("differences: %d in %d of %d modules\n", s.diffs, s.modulesWithDiffs, s.modules)
	var kinds []string
	for k := range s.byKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		fmt.Printf("  %-24s %5d in %d modules\n", k, s.byKind[k], s.modulesByKind[k])
	}
	sort.Ints(s.findings)
	fmt.Printf("modules with differences (saved in %s): %s\n", filepath.Clean(findings), strings.Trim(fmt.Sprint(s.findings), "[]"))
	unexplained := s.modulesWithDiffs
	var names []string
	for name := range s.explained {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Printf("  explained by the known divergence %s: %d modules\n", name, s.explained[name])
		unexplained -= s.explained[name]
	}
	fmt.Printf("  not explained by a known divergence: %d modules\n", unexplained)
}
