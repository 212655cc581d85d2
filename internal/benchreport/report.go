package benchreport

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Report is everything BENCHMARKS.md is written from.
type Report struct {
	// Builds maps a build name to its parsed output; a build that was not
	// run is absent.
	Builds map[string]*Build
	// Meta describes the run (times, load, commands).
	Meta Meta
	// Machine describes the computer.
	Machine Machine
	// Charts are the images to reference, relative to the report.
	Charts []Chart
}

// Meta describes one make bench run. make bench writes it, one record a
// line:
//
//	start UNIX_SECONDS LOAD1 LOAD5 LOAD15
//	build NAME UNIX_SECONDS LOAD1 LOAD5 LOAD15
//	cmd NAME COMMAND...
//	end UNIX_SECONDS LOAD1 LOAD5 LOAD15
//	note TEXT
type Meta struct {
	Start, End time.Time
	Elapsed    time.Duration
	// Load are the load averages sampled during the run.
	Load []LoadSample
	// Commands maps a build name to the commands it ran, in order.
	Commands map[string][]string
	// Invocation is the command line of the whole run (e.g. "make bench").
	Invocation string
	Notes      []string
}

// LoadSample is /proc/loadavg at one point of the run.
type LoadSample struct {
	When                 string // "start", a build name, "end"
	Load1, Load5, Load15 float64
}

// ParseMeta reads a meta file written by make bench.
func ParseMeta(r io.Reader) (Meta, error) {
	m := Meta{Commands: map[string][]string{}}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "start", "end", "build":
			when, rest := f[0], f[1:]
			if f[0] == "build" && len(rest) > 0 {
				when, rest = rest[0], rest[1:]
			}
			if len(rest) == 0 {
				return m, fmt.Errorf("benchreport: meta: %q: no time", sc.Text())
			}
			sec, err := strconv.ParseInt(rest[0], 10, 64)
			if err != nil {
				return m, fmt.Errorf("benchreport: meta: %q: %v", sc.Text(), err)
			}
			t := time.Unix(sec, 0).UTC()
			switch f[0] {
			case "start":
				m.Start = t
			case "end":
				m.End = t
			}
			if len(rest) >= 4 {
				var l [3]float64
				for i := range l {
					l[i], _ = strconv.ParseFloat(rest[1+i], 64)
				}
				m.Load = append(m.Load, LoadSample{When: when, Load1: l[0], Load5: l[1], Load15: l[2]})
			}
		case "cmd":
			if len(f) >= 3 {
				name := f[1]
				_, cmd, _ := strings.Cut(strings.TrimSpace(sc.Text())[len("cmd "):], name+" ")
				m.Commands[name] = append(m.Commands[name], strings.TrimSpace(cmd))
			}
		case "invocation":
			m.Invocation = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(sc.Text()), "invocation"))
		case "note":
			m.Notes = append(m.Notes, strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(sc.Text()), "note")))
		}
	}
	if !m.Start.IsZero() && !m.End.IsZero() {
		m.Elapsed = m.End.Sub(m.Start)
	}
	return m, sc.Err()
}

// Machine describes the computer the benchmarks ran on.
type Machine struct {
	CPU       string
	Cores     int
	MemTotal  uint64 // bytes
	GoVersion string
	OSArch    string
}

// ReadMachine describes this computer (Linux: /proc/cpuinfo and
// /proc/meminfo; elsewhere only what package runtime knows).
func ReadMachine() Machine {
	m := Machine{Cores: goruntime.NumCPU(), GoVersion: goruntime.Version(), OSArch: goruntime.GOOS + "/" + goruntime.GOARCH}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		m.CPU, m.Cores = parseCPUInfo(string(data), m.Cores)
	}
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		m.MemTotal = parseMemInfo(string(data))
	}
	return m
}

// parseCPUInfo returns the first "model name" and the number of
// "processor" entries (or cores if there are none).
func parseCPUInfo(s string, cores int) (string, int) {
	model, n := "", 0
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "model name":
			if model == "" {
				model = strings.TrimSpace(v)
			}
		case "processor":
			n++
		}
	}
	if n == 0 {
		n = cores
	}
	return model, n
}

// parseMemInfo returns MemTotal in bytes, or 0.
func parseMemInfo(s string) uint64 {
	for _, line := range strings.Split(s, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
			kb, err := strconv.ParseUint(f[1], 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

// Chart is an image referenced from the report.
type Chart struct {
	Title string
	Path  string // relative to the report
}

// EngineStatus returns "" when the engine's home build produced results,
// "not built" when it failed to compile, or "not run" when its output is
// missing.
func (rep *Report) EngineStatus(engine string) string {
	b := rep.Builds[HomeBuild[engine]]
	switch {
	case b == nil:
		return "not run"
	case b.BuildFailed && !b.hasEngine(engine):
		return "not built"
	case !b.hasEngine(engine) && len(b.Results) == 0:
		return "not run"
	}
	return ""
}

// hasEngine reports whether b has any suite result for engine.
func (b *Build) hasEngine(engine string) bool {
	for _, r := range b.Results {
		if strings.Contains(r.Name, "/"+engine+"/") || strings.HasSuffix(r.Name, "/"+engine) {
			return true
		}
	}
	return false
}

// searchOrder lists the builds to look in for engine: its home build, then
// the others.
func searchOrder(engine string) []string {
	home := HomeBuild[engine]
	order := []string{}
	if home != "" {
		order = append(order, home)
	}
	for _, b := range Builds {
		if b != home {
			order = append(order, b)
		}
	}
	return order
}

// Find returns the result pkg.name, taken from engine's home build when it
// is there (any build for engine == ""), or nil and why it is missing.
func (rep *Report) Find(pkg, name, engine string) (*Result, string) {
	for _, b := range searchOrder(engine) {
		if r := rep.Builds[b].Lookup(pkg, name); r != nil {
			return r, ""
		}
	}
	if engine != "" {
		if st := rep.EngineStatus(engine); st != "" {
			return nil, engine + ": " + st
		}
	}
	return nil, fmt.Sprintf("no benchmark %s in %s", name, pkg)
}

// Outcomes evaluates every target, in the order of Targets.
func (rep *Report) Outcomes() []Outcome {
	out := make([]Outcome, 0, len(Targets))
	for _, t := range Targets {
		out = append(out, rep.Evaluate(t))
	}
	return out
}

// ReadBuild parses the output file of one build; a missing or empty file
// gives nil (the build was not run).
func ReadBuild(path, name string) (*Build, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := Parse(f, name)
	if err != nil {
		return nil, err
	}
	if len(b.Results) == 0 && len(b.Failures) == 0 {
		return nil, nil
	}
	return b, nil
}

// RelPath returns target relative to the directory of from, with slashes.
func RelPath(from, target string) string {
	rel, err := filepath.Rel(filepath.Dir(from), target)
	if err != nil {
		return filepath.ToSlash(target)
	}
	return filepath.ToSlash(rel)
}

// sortedKeys returns the keys of m, sorted.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
