package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/aspect-rt/aspect-runtime/metering"
	"github.com/aspect-rt/aspect-runtime/runtime"
	"github.com/aspect-rt/aspect-runtime/validate"
	"github.com/aspect-rt/aspect-runtime/wasi"
)

// inspectReport is what `aspect inspect` finds in a module; --output json
// prints it as it is.
type inspectReport struct {
	Module string `json:"module"`
	// Size is the module's size in bytes.
	Size    int            `json:"size"`
	Imports []importReport `json:"imports"`
	Exports []exportReport `json:"exports"`
	Memory  *memoryReport  `json:"memory"`
	Start   *startReport   `json:"start"`
	// Features are the proposals beyond the MVP the module uses, by
	// validate.Feature name; empty for an MVP module, null when not
	// checked (see verdictReport.Checked).
	Features []string        `json:"features"`
	Metering verdictReport   `json:"metering"`
	Snapshot verdictReport   `json:"snapshot"`
	Profiles []profileReport `json:"profiles"`
}

// importReport is one import and what can satisfy it.
type importReport struct {
	Module string `json:"module"`
	Name   string `json:"name"`
	// Kind is func, table, memory or global.
	Kind string `json:"kind"`
	// Type is a function import's signature, e.g. "(i32) -> i32".
	Type string `json:"type,omitempty"`
	// Provider is what satisfies the import: "host" (a function of the
	// host API registry), "runtime" (env.abort), "wasi" (with --wasi), or
	// "none" (no host can; Note says why).
	Provider string `json:"provider"`
	// Registry is the import as the host registers it, "module
	// namespace.method", for Provider "host".
	Registry string `json:"registry,omitempty"`
	// Args and Result are the host function's ABI shape, for Provider
	// "host": one encoded value per argument, an encoded result or none.
	Args   int    `json:"args,omitempty"`
	Result bool   `json:"result,omitempty"`
	Note   string `json:"note,omitempty"`
}

// exportReport is one export and how it can be called.
type exportReport struct {
	Name string `json:"name"`
	// Kind is func, table, memory or global.
	Kind string `json:"kind"`
	// Type is a function's signature, e.g. "(i32, i32) -> i32".
	Type string `json:"type,omitempty"`
	// Call is how a function is called: "abi" (Runtime.Call and `aspect
	// run`: one pointer to an encoded value per argument, a pointer to
	// the encoded result or none) or "raw" (Runtime.CallWasm, numbers).
	Call string `json:"call,omitempty"`
	// Args and Result are the ABI shape, for Call "abi".
	Args   int  `json:"args"`
	Result bool `json:"result"`
	// Role names an export the runtime itself uses: "allocator",
	// "memory", "start" (__aspect_start__), "wasi-initialize"
	// (_initialize), "wasi-command" (_start).
	Role string `json:"role,omitempty"`
}

// memoryReport is the module's memory, in pages of 64 KiB.
type memoryReport struct {
	Min      uint32 `json:"min"`
	Max      uint32 `json:"max,omitempty"`
	HasMax   bool   `json:"has_max"`
	Imported bool   `json:"imported"`
	// Limit is the maximum the runtime gives it by default: the module's
	// maximum or runtime.DefaultMemoryLimitPages, whichever is lower.
	Limit uint32 `json:"limit"`
}

// startReport is the code the runtime runs when it creates an instance.
type startReport struct {
	// Section is the start section's function index, -1 without one.
	Section int `json:"section"`
	// Exports are the start exports the runtime calls, in order:
	// _initialize (with --wasi), __aspect_start__.
	Exports []string `json:"exports"`
}

// verdictReport says whether a transformation applies to the module.
type verdictReport struct {
	// Checked is false for a module the default profile refuses: the
	// runtime never runs it, so it is not analysed further.
	Checked bool   `json:"checked"`
	OK      bool   `json:"ok"`
	Reason  string `json:"reason,omitempty"`
}

// profileReport is the module's verdict under a named profile.
type profileReport struct {
	Profile string `json:"profile"`
	Valid   bool   `json:"valid"`
	Rule    string `json:"rule,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

var kindNames = map[metering.ExternKind]string{
	metering.KindFunc: "func", metering.KindTable: "table", metering.KindMemory: "memory", metering.KindGlobal: "global",
}

// inspectHelp is what `aspect inspect -h` prints before the flags.
const inspectHelp = `usage: aspect inspect [--output text|json] MODULE.wasm

Shows a module's imports (as the host registers them, module ns.method, and
what provides each), its exports with their ABI shape, its memory limits,
start code and features, whether metering and snapshots apply, every
profile's verdict and its size.

Flags:
`

// inspectCmd implements `aspect inspect [--output text|json] MODULE.wasm`.
// A module that cannot be read is bad usage (status 2); one that does
// not parse fails with status 1 and the parser's reason.
func inspectCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	output := fs.String("output", "text", "output format: text or json")
	if err := parseFlags(fs, args, inspectHelp, stdout); err != nil {
		return err
	}
	if *output != "text" && *output != "json" {
		return fmt.Errorf("%w: --output must be text or json, got %q", errUsage, *output)
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: inspect needs exactly one MODULE.wasm", errUsage)
	}
	path := fs.Arg(0)
	code, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	rep, err := inspectModule(path, code)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if *output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(rep)
	}
	printInspect(stdout, rep)
	return nil
}

// inspectModule analyses code with the library's own parsers: metering's
// (structure, instrumentation, snapshots) and validate's (features,
// profiles). It fails only for a module metering cannot parse.
func inspectModule(path string, code []byte) (*inspectReport, error) {
	mi, err := metering.InspectModule(code)
	if err != nil {
		return nil, err
	}
	rep := &inspectReport{Module: path, Size: mi.Size, Imports: []importReport{}, Exports: []exportReport{}, Features: []string{}}
	funcType := func(idx uint32) metering.FuncType {
		if int(idx) < len(mi.Funcs) && int(mi.Funcs[idx]) < len(mi.Types) {
			return mi.Types[mi.Funcs[idx]]
		}
		return metering.FuncType{}
	}

	wasiFuncs := wasi.Functions()
	for _, imp := range mi.Imports {
		r := importReport{Module: imp.Module, Name: imp.Name, Kind: kindNames[imp.Kind], Provider: "none"}
		if imp.Kind != metering.KindFunc {
			r.Note = "only function imports are supported"
			rep.Imports = append(rep.Imports, r)
			continue
		}
		var t metering.FuncType
		if int(imp.Type) < len(mi.Types) {
			t = mi.Types[imp.Type]
		}
		r.Type = sigString(t)
		ns, method, dotted := strings.Cut(imp.Name, ".")
		abiShape := allI32(t.Params) && (len(t.Results) == 0 || len(t.Results) == 1 && t.Results[0] == 0x7f)
		switch {
		case imp.Module == "env" && imp.Name == "abort":
			r.Provider = "runtime"
			r.Note = "the runtime's abort handler (AssemblyScript throw, guest.Abort)"
			if r.Type != "(i32, i32, i32, i32) -> ()" {
				r.Provider, r.Note = "none", "env.abort must be (i32, i32, i32, i32) -> ()"
			}
		case imp.Module == wasi.ModuleName:
			if slices.Contains(wasiFuncs, imp.Name) {
				r.Provider, r.Note = "wasi", "WASI preview 1 (--wasi, runtime.WithWASI)"
			} else {
				r.Note = "not a WASI preview 1 function"
			}
		case !dotted || ns == "" || method == "":
			r.Note = `not registrable: a host function is imported as field "namespace.method"`
		case !abiShape:
			r.Note = "not registrable: host functions take one i32 pointer per argument and return one i32 pointer or nothing"
		default:
			r.Provider = "host"
			r.Registry = imp.Module + " " + ns + "." + method
			r.Args, r.Result = len(t.Params), len(t.Results) == 1
		}
		rep.Imports = append(rep.Imports, r)
	}

	for _, e := range mi.Exports {
		r := exportReport{Name: e.Name, Kind: kindNames[e.Kind]}
		switch e.Kind {
		case metering.KindFunc:
			t := funcType(e.Index)
			r.Type = sigString(t)
			if allI32(t.Params) && (len(t.Results) == 0 || len(t.Results) == 1 && t.Results[0] == 0x7f) {
				r.Call, r.Args, r.Result = "abi", len(t.Params), len(t.Results) == 1
			} else {
				r.Call = "raw"
			}
			switch e.Name {
			case "allocate":
				r.Role = "allocator"
			case "__aspect_start__":
				r.Role = "start"
			case "_initialize":
				r.Role = "wasi-initialize"
			case "_start":
				r.Role = "wasi-command"
			}
		case metering.KindMemory:
			if e.Name == "memory" {
				r.Role = "memory"
			}
		}
		rep.Exports = append(rep.Exports, r)
	}

	if m := mi.Memory; m != nil {
		limit := uint32(runtime.DefaultMemoryLimitPages)
		if m.HasMax && m.Max < limit {
			limit = m.Max
		}
		rep.Memory = &memoryReport{Min: m.Min, Max: m.Max, HasMax: m.HasMax, Imported: m.Imported, Limit: limit}
	}
	rep.Start = &startReport{Section: mi.Start, Exports: []string{}}
	for _, name := range []string{"_initialize", "__aspect_start__"} {
		if slices.ContainsFunc(rep.Exports, func(e exportReport) bool { return e.Name == name && e.Kind == "func" }) {
			rep.Start.Exports = append(rep.Start.Exports, name)
		}
	}

	// The verdict of every named profile. The default one is what the
	// runtime applies: a module it refuses is never instrumented, so the
	// checks below (linear, but over code the limits did not bound) are
	// not run on it.
	runnable := true
	for _, name := range validate.ProfileNames() {
		p, _ := validate.Named(name)
		pr := profileReport{Profile: name, Valid: true}
		if err := validate.Validate(code, p); err != nil {
			pr.Valid, pr.Reason = false, err.Error()
			var ve *validate.ValidationError
			if errors.As(err, &ve) {
				pr.Rule = string(ve.Rule)
			}
			if name == validate.NameDefault {
				runnable = false
			}
		}
		rep.Profiles = append(rep.Profiles, pr)
	}
	if !runnable {
		refused := verdictReport{Reason: "the default profile refuses the module, so the runtime does not run it"}
		rep.Metering, rep.Snapshot, rep.Features = refused, refused, nil
		return rep, nil
	}

	rep.Features = featuresUsed(code)
	if _, err := metering.Instrument(code, metering.Config{}); err != nil {
		rep.Metering = verdictReport{Checked: true, Reason: err.Error()}
	} else {
		rep.Metering = verdictReport{Checked: true, OK: true}
	}
	switch s, err := metering.PrepareSnapshot(code); {
	case err != nil:
		rep.Snapshot = verdictReport{Checked: true, Reason: err.Error()}
	case !s.Restorable:
		rep.Snapshot = verdictReport{Checked: true, Reason: s.Reason}
	default:
		rep.Snapshot = verdictReport{Checked: true, OK: true}
	}
	return rep, nil
}

// allFeatures are the proposals a profile may allow, each probed by
// featuresUsed.
var allFeatures = []validate.Feature{
	validate.SignExtension, validate.NonTrappingFloatToInt, validate.MultiValue, validate.BulkMemory,
	validate.ReferenceTypes, validate.MutableGlobals, validate.ExtendedConst,
}

// featuresUsed names the proposals code uses, by validating it once per
// proposal against a profile that allows every other one and sets no
// limit: the module uses the proposal exactly when that profile refuses it
// for that proposal. code must satisfy the default profile.
func featuresUsed(code []byte) []string {
	var all validate.Feature
	for _, f := range allFeatures {
		all |= f
	}
	used := []string{}
	for _, f := range allFeatures {
		err := validate.Validate(code, validate.Profile{Name: "probe", Features: all &^ f, AllowStart: true})
		var ve *validate.ValidationError
		if errors.As(err, &ve) && ve.Rule == validate.RuleFeature && ve.Feature == f.String() {
			used = append(used, f.String())
		}
	}
	return used
}

func allI32(ts []byte) bool {
	for _, t := range ts {
		if t != 0x7f {
			return false
		}
	}
	return true
}

// sigString formats a function type as the runtime's errors do: "(i32,
// i32) -> i32", "() -> ()".
func sigString(t metering.FuncType) string {
	names := func(ts []byte) string {
		s := make([]string, len(ts))
		for i, v := range ts {
			s[i] = validate.ValType(v).String()
		}
		return strings.Join(s, ", ")
	}
	res := names(t.Results)
	if len(t.Results) != 1 {
		res = "(" + res + ")"
	}
	return "(" + names(t.Params) + ") -> " + res
}

// printInspect prints rep for a terminal. Imports are shown as the host
// registers them, "module namespace.method"; WASI imports on one line.
func printInspect(w io.Writer, rep *inspectReport) {
	fmt.Fprintf(w, "module:    %s (%d bytes)\n", rep.Module, rep.Size)
	fmt.Fprintf(w, "imports:   %d\n", len(rep.Imports))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	var wasiNames []string
	for _, imp := range rep.Imports {
		desc := imp.Kind
		if imp.Type != "" {
			desc = imp.Type
		}
		switch imp.Provider {
		case "wasi":
			if !slices.Contains(wasiNames, imp.Name) {
				wasiNames = append(wasiNames, imp.Name)
			}
		case "host":
			fmt.Fprintf(tw, "  %s\t%s\thost function, %s\n", imp.Registry, desc, abiShape(imp.Args, imp.Result))
		case "none":
			fmt.Fprintf(tw, "  %s %s\t%s\tcannot be linked: %s\n", imp.Module, imp.Name, desc, imp.Note)
		default:
			fmt.Fprintf(tw, "  %s %s\t%s\t%s\n", imp.Module, imp.Name, desc, imp.Note)
		}
	}
	if len(wasiNames) > 0 {
		fmt.Fprintf(tw, "  %s\t%d functions\tWASI preview 1 (--wasi): %s\n", wasi.ModuleName, len(wasiNames), strings.Join(wasiNames, ", "))
	}
	tw.Flush()
	fmt.Fprintf(w, "exports:   %d\n", len(rep.Exports))
	for _, e := range rep.Exports {
		var desc string
		switch {
		case e.Call == "abi":
			desc = e.Type + "\tABI, " + abiShape(e.Args, e.Result)
		case e.Call == "raw":
			desc = e.Type + "\traw numbers (Runtime.CallWasm)"
		default:
			desc = e.Kind + "\t"
		}
		if e.Role != "" {
			desc += " [" + e.Role + "]"
		}
		fmt.Fprintf(tw, "  %s\t%s\n", e.Name, desc)
	}
	tw.Flush()
	switch m := rep.Memory; {
	case m == nil:
		fmt.Fprintf(w, "memory:    none\n")
	default:
		max := "no maximum"
		if m.HasMax {
			max = "maximum " + plural(m.Max, "page")
		}
		imported := ""
		if m.Imported {
			imported = ", imported"
		}
		fmt.Fprintf(w, "memory:    %s initial, %s%s (runtime limit %s, %s)\n", plural(m.Min, "page"), max, imported, plural(m.Limit, "page"), fmtPages(m.Limit))
	}
	start := []string{}
	if rep.Start.Section >= 0 {
		start = append(start, fmt.Sprintf("start section (func %d)", rep.Start.Section))
	}
	start = append(start, rep.Start.Exports...)
	if len(start) == 0 {
		start = append(start, "none")
	}
	fmt.Fprintf(w, "start:     %s\n", strings.Join(start, ", "))
	switch {
	case !rep.Metering.Checked:
		fmt.Fprintf(w, "features:  not checked: %s\n", rep.Metering.Reason)
	case len(rep.Features) == 0:
		fmt.Fprintf(w, "features:  none (WebAssembly 1.0)\n")
	default:
		fmt.Fprintf(w, "features:  %s\n", strings.Join(rep.Features, ", "))
	}
	verdict := func(v verdictReport, ok string) string {
		switch {
		case !v.Checked:
			return "not checked"
		case v.OK:
			return ok
		}
		return "no: " + v.Reason
	}
	fmt.Fprintf(w, "metering:  %s\n", verdict(rep.Metering, "yes (gas, call depth, yield checkpoints)"))
	fmt.Fprintf(w, "snapshot:  %s\n", verdict(rep.Snapshot, "yes (Reset restores memory and globals)"))
	fmt.Fprintf(w, "profiles:\n")
	for _, p := range rep.Profiles {
		if p.Valid {
			fmt.Fprintf(w, "  %s: valid\n", p.Profile)
		} else {
			fmt.Fprintf(w, "  %s: invalid: %s\n", p.Profile, p.Reason)
		}
	}
}

// plural formats n things: "1 page", "2 pages".
func plural(n uint32, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// abiShape describes a function of the guest ABI: "1 argument -> result".
func abiShape(args int, result bool) string {
	s := plural(uint32(args), "argument")
	if result {
		return s + " -> result"
	}
	return s + " -> no result"
}

// fmtPages formats a number of 64 KiB pages in bytes.
func fmtPages(pages uint32) string {
	b := uint64(pages) << 16
	switch {
	case b >= 1<<30 && b%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", b>>30)
	case b >= 1<<20 && b%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", b>>20)
	}
	return fmt.Sprintf("%d KiB", b>>10)
}
