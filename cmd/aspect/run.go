package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aspect-rt/aspect-runtime/abi"
	"github.com/aspect-rt/aspect-runtime/internal/abijson"
	"github.com/aspect-rt/aspect-runtime/metering"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

const runHelp = `usage: aspect run [flags] MODULE.wasm [FUNCTION [ARG...]] [--call FUNCTION [ARG...]]...

Instantiates MODULE.wasm once, runs its start code, then calls FUNCTION and
each --call in order on that instance, printing each result on a line of
stdout. ARG is a typed literal: s:text, hex:0aff, b:true, i8: i16: i32: i64:
u8: u16: u32: u64: (decimal or 0x hex), f32:1.5, f64:2.25, or nil. A result
prints as a value: strings quoted, nil for Nil, (no result) for none; with
--output json as JSON (abi/JSON.md), errors included.

Host functions the module imports come from --host, --host-json,
--stub-imports or --trap-imports; WASI from --wasi.

Exit status: 0 on success, 1 when the module or a call fails, 2 for bad
input; with --wasi-exit, the guest's proc_exit status.

Flags:
`

// runConfig is what `aspect run` was asked to do.
type runConfig struct {
	engine      string
	gas         uint64
	timeout     time.Duration
	wasi        wasiFlags
	wasiExit    bool
	cacheDir    string
	memoryLimit string
	stub, trap  bool
	hosts       listFlag
	hostJSON    string
	trace       bool
	argsJSON    string
	script      string
	output      string
	module      string
	calls       []callSpec
}

// callSpec is one call to make.
type callSpec struct {
	name string
	args []any
}

func parseRun(args []string, stdin io.Reader, stdout, stderr io.Writer) (*runConfig, io.Reader, error) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &runConfig{}
	fs.StringVar(&c.engine, "engine", runtime.DefaultEngine(), "engine to run on: "+strings.Join(runtime.Engines(), ", "))
	fs.Uint64Var(&c.gas, "gas", 0, "gas limit of the start code and the calls together (0: not metered); the gas used is printed to stderr")
	fs.Var(durationFlag{&c.timeout}, "timeout", "stop the start code and the calls after this long, with a unit, e.g. 2s or 500ms (0: no limit)")
	c.wasi.register(fs, "the guest's stdin, stdout and stderr are this process's")
	fs.BoolVar(&c.wasiExit, "wasi-exit", false, "when the guest calls proc_exit, exit with its status (without: status 1 and a message); implies --wasi")
	registerCacheDir(fs, &c.cacheDir)
	fs.StringVar(&c.memoryLimit, "memory-limit", "", "limit the guest's memory to `SIZE`, e.g. 16MiB or 1GiB (default 64MiB)")
	fs.BoolVar(&c.stub, "stub-imports", false, "satisfy every import no other flag provides with a function returning Nil (or nothing, for an import without a result)")
	fs.BoolVar(&c.trap, "trap-imports", false, "satisfy every import no other flag provides with a function that fails, naming the import, when it is called")
	fs.Var(&c.hosts, "host", "`MODULE.NS.METHOD=ARG`: the import returns the typed literal ARG (e.g. index.test.hello=s:hi); repeatable")
	fs.StringVar(&c.hostJSON, "host-json", "", "canned answers of imports, matched on their arguments, from a JSON `FILE` (format: abi/JSON.md)")
	fs.BoolVar(&c.trace, "trace", false, "print each host function call, its decoded arguments, its result and the gas left, to stderr")
	fs.StringVar(&c.argsJSON, "args-json", "", "FUNCTION's arguments as a JSON array (abi/JSON.md): `JSON`, @FILE, or - for stdin")
	fs.StringVar(&c.script, "script", "", "the calls to make, a JSON array of {\"call\": NAME, \"args\": [...]}: `JSON`, @FILE, or - for stdin; instead of FUNCTION and --call")
	fs.StringVar(&c.output, "output", "text", "output format of results and errors: `text` or json (one JSON object per call on stdout)")
	if err := parseFlags(fs, args, runHelp, stdout); err != nil {
		return nil, nil, err
	}
	if c.output != "text" && c.output != "json" {
		return nil, nil, fmt.Errorf("%w: --output %q: want text or json", errUsage, c.output)
	}
	if c.stub && c.trap {
		return nil, nil, fmt.Errorf("%w: --stub-imports and --trap-imports exclude each other", errUsage)
	}
	if err := checkEngine(c.engine); err != nil {
		return nil, nil, err
	}
	if c.wasiExit {
		c.wasi.enabled = true
	}
	if err := c.wasi.check(); err != nil {
		return nil, nil, err
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return nil, nil, fmt.Errorf("%w: run needs MODULE.wasm and FUNCTION", errUsage)
	}
	c.module = rest[0]
	groups, err := splitCalls(rest[1:])
	if err != nil {
		return nil, nil, err
	}
	// stdin can feed one thing: --args-json -, --script - or the guest.
	if c.argsJSON == "-" && c.script == "-" {
		return nil, nil, fmt.Errorf("%w: --args-json - and --script - cannot both read stdin", errUsage)
	}
	guestStdin := stdin
	readInput := func(flagName, v string) ([]byte, error) {
		switch {
		case v == "-":
			guestStdin = strings.NewReader("")
			b, err := io.ReadAll(stdin)
			if err != nil {
				return nil, fmt.Errorf("%w: %s -: reading stdin: %v", errUsage, flagName, err)
			}
			return b, nil
		case strings.HasPrefix(v, "@"):
			b, err := os.ReadFile(v[1:])
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %v", errInput, flagName, err)
			}
			return b, nil
		}
		return []byte(v), nil
	}
	if c.script != "" {
		if len(groups) > 0 {
			return nil, nil, fmt.Errorf("%w: --script gives the calls: no FUNCTION or --call after MODULE.wasm", errUsage)
		}
		if c.argsJSON != "" {
			return nil, nil, fmt.Errorf("%w: --script gives the arguments: no --args-json", errUsage)
		}
		data, err := readInput("--script", c.script)
		if err != nil {
			return nil, nil, err
		}
		if c.calls, err = parseScript(data); err != nil {
			return nil, nil, fmt.Errorf("%w: --script: %v", errUsage, err)
		}
		return c, guestStdin, nil
	}
	if len(groups) == 0 {
		return nil, nil, fmt.Errorf("%w: run needs MODULE.wasm and FUNCTION", errUsage)
	}
	for i, g := range groups {
		cs := callSpec{name: g[0], args: []any{}}
		for _, lit := range g[1:] {
			v, err := ParseArg(lit)
			if err != nil {
				return nil, nil, fmt.Errorf("%w: %v", errUsage, err)
			}
			cs.args = append(cs.args, v)
		}
		if i == 0 && c.argsJSON != "" {
			if len(g) > 1 {
				return nil, nil, fmt.Errorf("%w: give %s's arguments either as literals or with --args-json, not both", errUsage, g[0])
			}
			data, err := readInput("--args-json", c.argsJSON)
			if err != nil {
				return nil, nil, err
			}
			if cs.args, err = abijson.ParseArgs(data); err != nil {
				return nil, nil, fmt.Errorf("%w: --args-json: %v", errUsage, err)
			}
		}
		c.calls = append(c.calls, cs)
	}
	return c, guestStdin, nil
}

// splitCalls splits what follows MODULE.wasm into calls: FUNCTION [ARG...]
// then --call FUNCTION [ARG...] groups.
func splitCalls(rest []string) ([][]string, error) {
	var groups [][]string
	cur := -1
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if a == "--call" || a == "-call" {
			if i+1 == len(rest) {
				return nil, fmt.Errorf("%w: --call needs a FUNCTION", errUsage)
			}
			i++
			groups = append(groups, []string{rest[i]})
			cur = len(groups) - 1
			continue
		}
		if cur < 0 {
			if i > 0 {
				return nil, fmt.Errorf("%w: unexpected %q", errUsage, a)
			}
			if strings.HasPrefix(a, "-") {
				return nil, fmt.Errorf("%w: %q after MODULE.wasm: flags go before MODULE.wasm", errUsage, a)
			}
			groups = append(groups, []string{a})
			cur = 0
			continue
		}
		groups[cur] = append(groups[cur], a)
	}
	return groups, nil
}

// parseScript parses --script: [{"call": NAME, "args": [...]}, ...].
func parseScript(data []byte) ([]callSpec, error) {
	var raw []struct {
		Call string          `json:"call"`
		Args json.RawMessage `json:"args"`
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("want a JSON array of {\"call\": NAME, \"args\": [...]}: %v", err)
	}
	if len(raw) == 0 {
		return nil, errors.New("no calls")
	}
	calls := make([]callSpec, 0, len(raw))
	for i, r := range raw {
		if r.Call == "" {
			return nil, fmt.Errorf("call %d: no \"call\" name", i)
		}
		cs := callSpec{name: r.Call, args: []any{}}
		if len(r.Args) > 0 {
			args, err := abijson.ParseArgs(r.Args)
			if err != nil {
				return nil, fmt.Errorf("call %d (%s): args: %v", i, r.Call, err)
			}
			cs.args = args
		}
		calls = append(calls, cs)
	}
	return calls, nil
}

// parseSize parses a memory size with a unit: B, KiB, MiB, GiB (or KB,
// MB, GB as their binary counterparts).
func parseSize(s string) (uint64, error) {
	num := strings.TrimRight(s, "KMGiBkmgb")
	unit := strings.ToLower(s[len(num):])
	mult := map[string]uint64{"b": 1, "kib": 1 << 10, "kb": 1 << 10, "k": 1 << 10, "mib": 1 << 20, "mb": 1 << 20, "m": 1 << 20, "gib": 1 << 30, "gb": 1 << 30, "g": 1 << 30}[unit]
	n, err := strconv.ParseUint(strings.TrimSpace(num), 10, 64)
	if err != nil || mult == 0 {
		if err == nil && unit == "" {
			return 0, fmt.Errorf("%q has no unit: write it with one, e.g. %sMiB", s, s)
		}
		return 0, fmt.Errorf("%q: want a size with a unit, e.g. 16MiB or 1GiB", s)
	}
	if n > math.MaxUint64/mult {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n * mult, nil
}

func runCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	c, guestStdin, err := parseRun(args, stdin, stdout, stderr)
	if err != nil {
		return err
	}
	code, err := os.ReadFile(c.module)
	if err != nil {
		return fmt.Errorf("%w: %v", errInput, err)
	}
	var hostTable map[string][]answer
	if c.hostJSON != "" {
		data, err := os.ReadFile(c.hostJSON)
		if err != nil {
			return fmt.Errorf("%w: --host-json: %v", errInput, err)
		}
		if hostTable, err = parseHostTable(data); err != nil {
			return fmt.Errorf("%w: --host-json %s: %v", errUsage, c.hostJSON, err)
		}
	}
	opts := []runtime.Option{runtime.WithCacheDir(c.cacheDir)}
	if c.memoryLimit != "" {
		n, err := parseSize(c.memoryLimit)
		if err != nil {
			return fmt.Errorf("%w: --memory-limit %v", errUsage, err)
		}
		pages := n / 65536
		if pages == 0 || pages > runtime.MaxMemoryLimitPages {
			return fmt.Errorf("%w: --memory-limit %s: want 64KiB to %d MiB (the limit is in 64 KiB pages)", errUsage, c.memoryLimit, runtime.MaxMemoryLimitPages/16)
		}
		opts = append(opts, runtime.WithMemoryLimitPages(uint32(pages)))
	}
	if c.gas > 0 || c.timeout > 0 {
		// Metering is also what lets a deadline stop the guest on engines
		// without native interruption (runtime.WithMetering).
		opts = append(opts, runtime.WithMetering(metering.Config{}))
		if c.gas == 0 {
			// --timeout alone: no gas limit, the start code's included.
			opts = append(opts, runtime.WithStartGas(math.MaxInt64))
		}
	}
	if c.wasi.enabled {
		cfg, closeMounts, err := c.wasi.config(c.module, guestStdin, stdout, stderr)
		if err != nil {
			return err
		}
		defer closeMounts()
		opts = append(opts, runtime.WithWASI(cfg))
	}
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	// --gas and --timeout bound the start code and the calls together: the
	// meter pays for all of them, the deadline covers all of them.
	var meter *runtime.Meter
	if c.gas > 0 {
		meter = runtime.NewMeter(c.gas)
		ctx = runtime.WithMeter(ctx, meter)
	}
	out := &printer{c: c, meter: meter, stdout: stdout, stderr: stderr}

	mod, err := runtime.CompileWithEngine(ctx, c.engine, code, opts...)
	if err != nil {
		return out.fail("", err)
	}
	defer mod.Close(context.Background())
	reg, err := hostRegistry(mod, c, hostTable, stderr)
	if err != nil {
		return err
	}
	rt, err := mod.Instantiate(ctx, reg, opts...)
	if err != nil {
		return out.fail("", err)
	}
	defer rt.Close(context.Background())
	for _, call := range c.calls {
		var res result
		err := rt.CallInto(ctx, &res, call.name, call.args...)
		if err != nil {
			return out.fail(call.name, err)
		}
		if err := out.result(call.name, res); err != nil {
			return err
		}
	}
	out.gasLine()
	return nil
}

// result is a call's result: whether there was one and its value.
type result struct {
	ok  bool
	val any
}

// UnmarshalABI implements abi.Unmarshaler: CallInto calls it only when the
// guest returned a value.
func (r *result) UnmarshalABI(data []byte) error {
	v, err := abi.Decode(data)
	if err != nil {
		return err
	}
	r.ok, r.val = true, v
	return nil
}
