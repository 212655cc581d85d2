// Package benchreport turns the output of `go test -bench` for every engine
// build into BENCHMARKS.md and its charts: one table per scenario with the
// engines as columns (median and spread of the -count runs, the library
// beside the hand-written engine baseline, and their ratio), the machine it
// ran on, and every performance target of the project as a ratio with
// PASS/FAIL. `make bench` runs it through internal/cmd/benchreport.
//
// The benchmark names it reads are those of package bench (see its doc.go:
// Benchmark<Scenario>/<engine>/<variant>) plus a few package benchmarks
// (runtime's BenchmarkColdStartGo and BenchmarkColdStartAS,
// engines/wasmtime's BenchmarkAdd, metering's BenchmarkInstrumentGo and
// BenchmarkCodeGrowth, runtime's BenchmarkCompileMeteredGo and
// BenchmarkCompileMeteredAS, whose figures are custom metrics such as
// x-code or metered/original) and
// those of the peers' modules (bench/peers/wapc and bench/peers/extism,
// keyed by their path under ModulePath like the library's packages). A
// figure that is not in the input is shown as missing and a target that
// needs it as "not measured yet"; nothing is ever estimated.
package benchreport

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// ModulePath is the import path prefix stripped from package names.
const ModulePath = "github.com/aspect-rt/aspect-runtime/"

// Build is the parsed `go test -bench` output of one build (one binary
// configuration: default, wazero, wasmer).
type Build struct {
	// Name is the build's label, e.g. "default".
	Name string
	// CPU is the "cpu:" line of the output, if any.
	CPU string
	// Results are the benchmarks in order of first appearance.
	Results []*Result
	// Failures are the lines that report a failed build, test or benchmark.
	Failures []string
	// BuildFailed is set when a package did not compile ("[build failed]",
	// "[setup failed]", or compiler errors).
	BuildFailed bool

	index map[string]*Result
}

// Result is one benchmark of one package in one build, with one sample per
// -count run for every unit it reported.
type Result struct {
	// Pkg is the package, relative to ModulePath (e.g. "bench").
	Pkg string
	// Name is the full benchmark name without the -GOMAXPROCS suffix, e.g.
	// "BenchmarkNop/wasmtime/runtime".
	Name string
	// Samples maps a unit ("ns/op", "B/op", "B/instance", ...) to its values.
	Samples map[string][]float64
}

// Key identifies a result across builds.
func Key(pkg, name string) string { return pkg + "." + name }

var (
	procSuffix  = regexp.MustCompile(`-\d+$`)
	failureLine = regexp.MustCompile(`^(--- FAIL|FAIL|panic:|fatal error:|# )|\[build failed\]|\[setup failed\]`)
)

// Parse reads the output of one or more `go test -bench` runs of one build.
// Lines that are not results are ignored, except failures, which are
// collected.
func Parse(r io.Reader, name string) (*Build, error) {
	b := &Build{Name: name, index: map[string]*Result{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	pkg := ""
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), " \r")
		switch {
		case strings.HasPrefix(line, "pkg: "):
			pkg = strings.TrimPrefix(strings.TrimPrefix(line, "pkg: "), ModulePath)
		case strings.HasPrefix(line, "cpu: "):
			b.CPU = strings.TrimPrefix(line, "cpu: ")
		case strings.HasPrefix(line, "Benchmark"):
			if res, vals, ok := parseResult(line); ok {
				b.add(pkg, res, vals)
			}
		case failureLine.MatchString(line):
			if strings.Contains(line, "[build failed]") || strings.Contains(line, "[setup failed]") || strings.HasPrefix(line, "# ") {
				b.BuildFailed = true
			}
			b.Failures = append(b.Failures, line)
		}
	}
	return b, sc.Err()
}

// parseResult parses "BenchmarkX/y-2   1000   123 ns/op   4 B/op ...".
func parseResult(line string) (name string, vals map[string]float64, ok bool) {
	f := strings.Fields(line)
	if len(f) < 4 || len(f)%2 != 0 {
		return "", nil, false
	}
	if _, err := strconv.ParseUint(f[1], 10, 64); err != nil {
		return "", nil, false
	}
	vals = map[string]float64{}
	for i := 2; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return "", nil, false
		}
		vals[f[i+1]] = v
	}
	return procSuffix.ReplaceAllString(f[0], ""), vals, true
}

func (b *Build) add(pkg, name string, vals map[string]float64) {
	k := Key(pkg, name)
	r := b.index[k]
	if r == nil {
		r = &Result{Pkg: pkg, Name: name, Samples: map[string][]float64{}}
		b.index[k] = r
		b.Results = append(b.Results, r)
	}
	units := make([]string, 0, len(vals))
	for u := range vals {
		units = append(units, u)
	}
	sort.Strings(units)
	for _, u := range units {
		r.Samples[u] = append(r.Samples[u], vals[u])
	}
}

// Lookup returns the result of benchmark name in package pkg, or nil.
func (b *Build) Lookup(pkg, name string) *Result {
	if b == nil {
		return nil
	}
	return b.index[Key(pkg, name)]
}

// Stats summarizes the samples of one unit.
type Stats struct {
	N                int
	Median, Min, Max float64
	P10, P90         float64
	// Spread is half the p10–p90 range, (P90-P10)/2, as a percentage of
	// Median: robust to the odd outlier run of a shared machine.
	Spread float64
}

// Summarize computes the median, extremes and spread of samples. ok is false
// when there are none.
func Summarize(samples []float64) (Stats, bool) {
	if len(samples) == 0 {
		return Stats{}, false
	}
	s := append([]float64(nil), samples...)
	sort.Float64s(s)
	st := Stats{N: len(s), Median: Quantile(s, 0.5), Min: s[0], Max: s[len(s)-1], P10: Quantile(s, 0.1), P90: Quantile(s, 0.9)}
	if st.Median != 0 {
		st.Spread = (st.P90 - st.P10) / 2 / st.Median * 100
	}
	return st, true
}

// Quantile returns the q-quantile of sorted (linear interpolation between
// closest ranks), e.g. the median for q = 0.5.
func Quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	pos := q * float64(len(sorted)-1)
	lo := int(pos)
	if lo >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	frac := pos - float64(lo)
	return sorted[lo] + frac*(sorted[lo+1]-sorted[lo])
}

// Stats returns the summary of unit for r, or ok == false.
func (r *Result) Stats(unit string) (Stats, bool) {
	if r == nil {
		return Stats{}, false
	}
	return Summarize(r.Samples[unit])
}

// String describes a build failure list for humans.
func (b *Build) String() string {
	return fmt.Sprintf("%s: %d results, %d failure lines", b.Name, len(b.Results), len(b.Failures))
}
