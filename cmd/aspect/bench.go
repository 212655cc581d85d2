package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/aspect-rt/aspect-runtime/metering"
	"github.com/aspect-rt/aspect-runtime/runtime"
	"github.com/aspect-rt/aspect-runtime/wasi"
)

// benchConfig is what `aspect bench` was asked to do.
type benchConfig struct {
	engine   string
	gas      uint64
	runs     int
	warmup   int
	duration time.Duration
	module   string
	function string
	args     []string // the literals, for the report
	callArgs []any
	wasi     wasiFlags
	cacheDir string
}

// benchHelp is what `aspect bench -h` prints before the flags.
const benchHelp = `usage: aspect bench [flags] MODULE.wasm FUNCTION [ARG...]

Times calls of FUNCTION on one instance: untimed warm-up calls, then timed
runs of repeated calls; prints the result, the median, p10/p90 and min/max
time per call over the runs, and the calls per second. ARG is a typed
literal, as for aspect run.

Flags:
`

func parseBench(args []string, stdout, stderr io.Writer) (benchConfig, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := benchConfig{}
	fs.StringVar(&c.engine, "engine", runtime.DefaultEngine(), "engine to run on: "+strings.Join(runtime.Engines(), ", "))
	fs.Uint64Var(&c.gas, "gas", 0, "meter every call with this gas limit and print the gas a call uses (0: not metered); the times then include metering")
	fs.IntVar(&c.runs, "runs", 10, "timed runs (at least 1); the spread is over runs")
	fs.IntVar(&c.warmup, "warmup", 10, "untimed calls before the first run (at least one is made, for the result shown)")
	fs.DurationVar(&c.duration, "duration", time.Second, "total time of the timed runs, split evenly between them (0: one call per run)")
	c.wasi.register(fs, "the guest's stdout and stderr go to stderr, its stdin is empty")
	registerCacheDir(fs, &c.cacheDir)
	if err := parseFlags(fs, args, benchHelp, stdout); err != nil {
		return c, err
	}
	if err := c.wasi.check(); err != nil {
		return c, err
	}
	switch {
	case c.runs < 1:
		return c, fmt.Errorf("%w: --runs must be at least 1, got %d", errUsage, c.runs)
	case c.warmup < 0:
		return c, fmt.Errorf("%w: --warmup must not be negative, got %d", errUsage, c.warmup)
	case c.duration < 0:
		return c, fmt.Errorf("%w: --duration must not be negative, got %s", errUsage, c.duration)
	}
	rest := fs.Args()
	if len(rest) < 2 {
		return c, fmt.Errorf("%w: bench needs MODULE.wasm and FUNCTION", errUsage)
	}
	c.module, c.function, c.args = rest[0], rest[1], rest[2:]
	for _, lit := range c.args {
		v, err := ParseArg(lit)
		if err != nil {
			return c, fmt.Errorf("%w: %v", errUsage, err)
		}
		c.callArgs = append(c.callArgs, v)
	}
	return c, nil
}

// benchCmd implements `aspect bench`: warm-up calls, then timed runs of
// repeated calls on one instance, and the median and spread of the time
// per call over the runs.
func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseBench(args, stdout, stderr)
	if err != nil {
		return err
	}
	code, err := os.ReadFile(c.module)
	if err != nil {
		return err
	}
	var opts []runtime.Option
	if c.gas > 0 {
		opts = append(opts, runtime.WithMetering(metering.Config{}))
	}
	if c.cacheDir != "" {
		opts = append(opts, runtime.WithCacheDir(c.cacheDir))
	}
	if c.wasi.enabled {
		cfg, closeMounts, err := c.wasi.config(c.module, nil, stderr, stderr)
		if err != nil {
			return err
		}
		defer closeMounts()
		opts = append(opts, runtime.WithWASI(cfg))
	}
	rt, err := runtime.NewWithEngine(ctx, c.engine, code, nil, opts...)
	if err != nil {
		return err
	}
	defer rt.Close(ctx)
	// With --gas, every call gets a meter of its own, as a metered
	// application would give it.
	var meter *runtime.Meter
	call := func() (any, error) {
		cctx := ctx
		if c.gas > 0 {
			meter = runtime.NewMeter(c.gas)
			cctx = runtime.WithMeter(ctx, meter)
		}
		return rt.Call(cctx, c.function, c.callArgs...)
	}

	// Warm up; the first call also gives the result shown.
	var result any
	var firstGas uint64
	warmStart := time.Now()
	for i := range max(c.warmup, 1) {
		res, err := call()
		if err != nil {
			return err
		}
		if i == 0 {
			result = res
			if meter != nil {
				firstGas = meter.Used()
			}
		}
	}
	perCallGuess := time.Since(warmStart) / time.Duration(max(c.warmup, 1))

	prog := newProgress(stderr)
	perRun := c.duration / time.Duration(c.runs)
	calls := 1
	if perRun > 0 {
		calls = callsFor(perRun, perCallGuess)
	}
	runs := make([]float64, 0, c.runs) // ns per call, one per run
	var total time.Duration
	var totalCalls int
	for r := range c.runs {
		start := time.Now()
		for range calls {
			if _, err := call(); err != nil {
				prog.clear()
				return fmt.Errorf("run %d: %w", r+1, err)
			}
		}
		elapsed := time.Since(start)
		runs = append(runs, float64(elapsed.Nanoseconds())/float64(calls))
		total += elapsed
		totalCalls += calls
		if perRun > 0 {
			calls = callsFor(perRun, elapsed/time.Duration(calls))
		}
		prog.update(r+1, c.runs)
	}
	prog.clear()

	st := summarize(runs)
	fmt.Fprintf(stdout, "module:    %s on %s\n", c.module, c.engine)
	fmt.Fprintf(stdout, "call:      %s\n", strings.TrimSpace(c.function+" "+strings.Join(c.args, " ")))
	fmt.Fprintf(stdout, "result:    %s\n", FormatValue(result))
	fmt.Fprintf(stdout, "runs:      %d runs, %d calls in %s, after %d untimed warm-up calls\n", c.runs, totalCalls, fmtDuration(float64(total.Nanoseconds())), max(c.warmup, 1))
	fmt.Fprintf(stdout, "per call:  median %s  p10 %s  p90 %s  min %s  max %s\n",
		fmtDuration(st.median), fmtDuration(st.p10), fmtDuration(st.p90), fmtDuration(st.min), fmtDuration(st.max))
	fmt.Fprintf(stdout, "calls/s:   %s (at the median), %s overall\n", fmtRate(1e9/st.median), fmtRate(float64(totalCalls)/total.Seconds()))
	switch {
	case meter == nil:
		fmt.Fprintf(stdout, "gas used:  not metered (--gas N meters every call)\n")
	case meter.Used() == firstGas:
		fmt.Fprintf(stdout, "gas used:  %d per call (limit %d)\n", firstGas, c.gas)
	default:
		fmt.Fprintf(stdout, "gas used:  %d by the first call, %d by the last (limit %d)\n", firstGas, meter.Used(), c.gas)
	}
	return nil
}

// wasiFlags are the WASI flags of a command: --wasi, --dir (repeatable),
// --env (repeatable).
type wasiFlags struct {
	enabled bool
	dirs    listFlag
	env     listFlag
}

// listFlag collects a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// register adds the WASI flags to fs; io says where the guest's standard
// streams go.
func (w *wasiFlags) register(fs *flag.FlagSet, io string) {
	fs.BoolVar(&w.enabled, "wasi", false, "provide WASI preview 1 (needed by Go guests): no file system unless --dir, no environment unless --env; "+io)
	fs.Var(&w.dirs, "dir", "mount the host directory `HOST[:GUEST]` read-only for WASI at GUEST, an absolute path (default: /HOST); symbolic links out of it are refused; repeatable; implies --wasi")
	fs.Var(&w.env, "env", "set the WASI environment variable `K=V` (the host's environment is never passed); repeatable; implies --wasi")
}

// check validates the WASI flags once parsed; --dir and --env imply
// --wasi, as they do for run.
func (w *wasiFlags) check() error {
	if len(w.dirs) > 0 || len(w.env) > 0 {
		w.enabled = true
	}
	for _, kv := range w.env {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || k == "" || strings.ContainsRune(kv, 0) {
			return fmt.Errorf("%w: --env %q: want K=V", errUsage, kv)
		}
	}
	for _, d := range w.dirs {
		host, guest, _ := strings.Cut(d, ":")
		if host == "" || strings.ContainsRune(d, 0) {
			return fmt.Errorf("%w: --dir %q: want HOST[:GUEST], e.g. data or ./data:/data", errUsage, d)
		}
		if guest != "" && !strings.HasPrefix(guest, "/") {
			return fmt.Errorf("%w: --dir %q: the guest path %q must be absolute", errUsage, d, guest)
		}
	}
	return nil
}

// config returns the WASI configuration of the flags for module (argv[0]
// is its base name) and a function that closes the mounted directories. A
// directory that cannot be opened is a usage error.
func (w *wasiFlags) config(module string, stdin io.Reader, stdout, stderr io.Writer) (wasi.Config, func(), error) {
	cfg := wasi.Config{Args: []string{filepath.Base(module)}, Env: w.env, Stdin: stdin, Stdout: stdout, Stderr: stderr}
	var roots []*os.Root
	closeAll := func() {
		for _, r := range roots {
			r.Close()
		}
	}
	for _, d := range w.dirs {
		host, guest, _ := strings.Cut(d, ":")
		if guest == "" {
			guest = path.Join("/", filepath.ToSlash(host))
		}
		root, err := os.OpenRoot(host)
		if err != nil {
			closeAll()
			return cfg, nil, fmt.Errorf("%w: --dir %s: %v", errUsage, d, err)
		}
		roots = append(roots, root)
		cfg.Mounts = append(cfg.Mounts, wasi.Mount{FS: root.FS(), GuestPath: guest})
	}
	return cfg, closeAll, nil
}

// registerCacheDir adds --cache-dir to fs: compiled code is kept there
// across runs (runtime.WithCacheDir), by default in the user's cache
// directory, so that a Go guest is compiled once rather than at every run.
func registerCacheDir(fs *flag.FlagSet, dir *string) {
	fs.StringVar(dir, "cache-dir", defaultCacheDir(), "keep compiled code in `DIR` across runs (\"\": no cache)")
}

// defaultCacheDir is aspect-runtime in the user's cache directory
// (os.UserCacheDir), "" if there is none.
func defaultCacheDir() string {
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "aspect-runtime")
}

// callsFor returns how many calls of perCall fill target (at least 1).
func callsFor(target, perCall time.Duration) int {
	if perCall <= 0 {
		perCall = 1
	}
	n := target / perCall
	switch {
	case n < 1:
		return 1
	case n > math.MaxInt32:
		return math.MaxInt32
	}
	return int(n)
}

// stats summarizes per-call times over the runs.
type stats struct{ median, p10, p90, min, max float64 }

func summarize(xs []float64) stats {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	q := func(p float64) float64 {
		pos := p * float64(len(s)-1)
		lo := int(pos)
		if lo >= len(s)-1 {
			return s[len(s)-1]
		}
		return s[lo] + (pos-float64(lo))*(s[lo+1]-s[lo])
	}
	return stats{median: q(0.5), p10: q(0.1), p90: q(0.9), min: s[0], max: s[len(s)-1]}
}

// fmtDuration formats nanoseconds with three significant digits.
func fmtDuration(ns float64) string {
	unit, div := "ns", 1.0
	switch {
	case ns >= 1e9:
		unit, div = "s", 1e9
	case ns >= 1e6:
		unit, div = "ms", 1e6
	case ns >= 1e3:
		unit, div = "µs", 1e3
	}
	return sig3(ns/div) + " " + unit
}

func fmtRate(r float64) string {
	switch {
	case r >= 1e6:
		return sig3(r/1e6) + " M"
	case r >= 1e3:
		return sig3(r/1e3) + " k"
	}
	return sig3(r)
}

func sig3(x float64) string {
	switch {
	case x >= 100:
		return fmt.Sprintf("%.0f", x)
	case x >= 10:
		return fmt.Sprintf("%.1f", x)
	}
	return fmt.Sprintf("%.2f", x)
}

// progress draws a carriage-return percentage line on a terminal once a
// benchmark has run for more than a second.
type progress struct {
	w       io.Writer // nil: disabled
	start   time.Time
	after   time.Duration
	visible bool
}

// newProgress returns a progress line on stderr if it is a terminal.
func newProgress(stderr io.Writer) *progress {
	p := &progress{start: time.Now(), after: time.Second}
	if f, ok := stderr.(*os.File); ok && isTerminal(f) {
		p.w = f
	}
	return p
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// update shows done of total runs, once the benchmark is older than p.after.
func (p *progress) update(done, total int) {
	if p.w == nil || time.Since(p.start) < p.after {
		return
	}
	fmt.Fprintf(p.w, "\rbenchmarking: %3d%% (%d/%d runs)", done*100/total, done, total)
	p.visible = true
}

// clear erases the progress line, if one was drawn.
func (p *progress) clear() {
	if p.visible {
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", 40))
		p.visible = false
	}
}
