// Package validate checks a WebAssembly module against a profile before
// any engine sees it: the proposals it may use, whether it may have a
// start section, the imports it may have, the exports it must have and
// structural limits (code size, functions, locals, globals, control and
// loop nesting, br_table size, table, data and memory sizes).
//
// The check is engine-independent: it parses and validates the module
// with package metering's parser and validator (the same that instrument
// every module the runtime runs), never with an engine, so every build —
// wasmtime, wazero, wasmer, with or without cgo — gives the same verdict
// and the same reason for the same module and profile. It is linear in
// the module's size and stops at the first violation, so the limits
// refuse compile-time bombs (modules some engine needs minutes or
// gigabytes to compile: thousands of nested loops, a million-target
// br_table) in milliseconds.
//
// runtime.Compile and runtime.New apply DefaultProfile (see
// runtime.WithProfile and runtime.WithLimits); the command
// `aspect validate [--profile NAME] MODULE.wasm` applies a named one.
// README.md beside this file has the table of profiles and limits.
package validate

import (
	"errors"
	"fmt"

	"github.com/aspect-rt/aspect-runtime/metering"
)

// Validate checks code against each profile given, in order (none:
// DefaultProfile), and returns nil if it satisfies them all, or a
// *ValidationError (matching ErrValidation) for the first violation
// found. code is not modified and not retained.
//
// Rules are checked in this order, so the reason given for a module that
// breaks several is always the same: the module's sections are parsed and
// validated (malformed, invalid, implementation limits, reserved names,
// proposals no profile supports); then the proposals visible outside code
// (function types, imports, tables, globals, exports, segments); the start
// section; the imports; the size limits outside code (code size, function
// size, functions, globals, tables, data, memory); the required exports;
// and last the function bodies, in order, each instruction in order:
// validation, proposals, nesting, loop nesting, br_table size, locals,
// determinism.
func Validate(code []byte, profiles ...Profile) error {
	if len(profiles) == 0 {
		profiles = []Profile{DefaultProfile()}
	}
	for i := range profiles {
		if err := validate(code, &profiles[i]); err != nil {
			return err
		}
	}
	return nil
}

// checker validates one module against one profile.
type checker struct {
	p  *Profile
	mi *metering.ModuleInfo
}

func (c *checker) fail(rule Rule, fn, off int, format string, args ...any) *ValidationError {
	return &ValidationError{Profile: c.p.Name, Rule: rule, Reason: fmt.Sprintf(format, args...), Func: fn, Offset: off}
}

// limit reports a structural limit broken: what is a format with one %d,
// for value.
func (c *checker) limit(rule Rule, fn, off int, value, limit uint64, what string) *ValidationError {
	e := c.fail(rule, fn, off, what+", over the limit of %d", value, limit)
	e.Value, e.Limit = value, limit
	return e
}

func (c *checker) feature(f Feature, fn, off int, format string, args ...any) *ValidationError {
	e := c.fail(RuleFeature, fn, off, "%s uses %s, which the profile does not allow", fmt.Sprintf(format, args...), f)
	e.Feature = f.String()
	return e
}

func validate(code []byte, p *Profile) error {
	c := &checker{p: p}
	mi, err := metering.InspectModule(code)
	if err != nil && p.Features&ExtendedConst != 0 {
		// Extended constant expressions are refused by the parser; the
		// runtime folds them into constants (metering.Normalize) before
		// anything else, so the module is checked as folded. Normalize
		// also turns a start section into an export: it still counts as
		// one.
		if norm, nerr := metering.Normalize(code); nerr == nil && norm.Folded > 0 {
			if mi, err = metering.InspectModule(norm.Module); err == nil && norm.RemovedStart {
				mi.Start, mi.StartOffset = norm.StartFunc, -1
			}
		}
	}
	if err != nil {
		return c.fromMetering(err)
	}
	c.mi = mi
	for _, check := range []func() error{c.moduleFeatures, c.start, c.imports, c.moduleLimits, c.exports} {
		if err := check(); err != nil {
			return err
		}
	}
	v := visitor{c: c, lim: &p.Limits}
	if err := mi.InspectCode(metering.CodeOptions{Deterministic: p.Deterministic, Visit: v.visit}); err != nil {
		var ve *ValidationError
		if errors.As(err, &ve) {
			return ve
		}
		return c.fromMetering(err)
	}
	return nil
}

// fromMetering converts an error of metering's parser or validator.
func (c *checker) fromMetering(err error) error {
	var (
		me *metering.ModuleError
		fe *metering.UnsupportedFeatureError
		ne *metering.NondeterministicError
	)
	e := &ValidationError{Profile: c.p.Name, Func: -1, Offset: -1, Err: err}
	switch {
	case errors.As(err, &me):
		e.Func, e.Offset, e.Reason = me.Func, me.Offset, me.Reason
		switch {
		case errors.Is(me.Kind, metering.ErrMalformed):
			e.Rule = RuleMalformed
		case errors.Is(me.Kind, metering.ErrTooLarge):
			e.Rule = RuleImplementationLimit
		case errors.Is(me.Kind, metering.ErrReservedName):
			e.Rule = RuleReservedName
		default:
			e.Rule = RuleInvalid
		}
	case errors.As(err, &fe):
		e.Rule, e.Feature, e.Offset = RuleFeature, fe.Feature, fe.Offset
		e.Reason = fmt.Sprintf("%s uses %s, which no profile supports", fe.Detail, fe.Feature)
		if f := featureByName(fe.Feature); f != 0 {
			// extended-const, when the profile does not allow it.
			e.Reason = fmt.Sprintf("%s uses %s, which the profile does not allow", fe.Detail, fe.Feature)
		}
	case errors.As(err, &ne):
		e.Rule, e.Func, e.Offset = RuleNondeterministic, ne.Func, ne.Offset
		e.Reason = ne.Instruction + " may produce a NaN of unspecified bits"
	default:
		e.Rule, e.Reason = RuleInvalid, err.Error()
	}
	return e
}

func hasRef(ts []byte) bool {
	for _, t := range ts {
		if t == byte(FuncRef) || t == byte(ExternRef) {
			return true
		}
	}
	return false
}

// moduleFeatures checks the proposals used outside function bodies.
func (c *checker) moduleFeatures() error {
	mi, allow := c.mi, c.p.Features
	need := func(f Feature) bool { return allow&f == 0 }
	for i, t := range mi.Types {
		if need(MultiValue) && len(t.Results) > 1 {
			return c.feature(MultiValue, -1, -1, "type %d, with %d results,", i, len(t.Results))
		}
		if need(ReferenceTypes) && (hasRef(t.Params) || hasRef(t.Results)) {
			return c.feature(ReferenceTypes, -1, -1, "type %d, with a reference parameter or result,", i)
		}
	}
	for _, imp := range mi.Imports {
		if imp.Kind == metering.KindGlobal && imp.Global.Mutable && need(MutableGlobals) {
			return c.feature(MutableGlobals, -1, imp.Offset, "import %s.%s, a mutable global,", imp.Module, imp.Name)
		}
	}
	if need(ReferenceTypes) {
		if len(mi.Tables) > 1 {
			return c.feature(ReferenceTypes, -1, mi.Tables[1].Offset, "a second table")
		}
		for i, t := range mi.Tables {
			if t.Elem != byte(FuncRef) {
				return c.feature(ReferenceTypes, -1, t.Offset, "table %d, of externref,", i)
			}
		}
		for i, g := range mi.Globals {
			if g.Type == byte(FuncRef) || g.Type == byte(ExternRef) {
				return c.feature(ReferenceTypes, -1, -1, "global %d, of %s,", i, ValType(g.Type))
			}
		}
	}
	if need(MutableGlobals) {
		for _, e := range mi.Exports {
			if e.Kind == metering.KindGlobal && mi.Globals[e.Index].Mutable {
				return c.feature(MutableGlobals, -1, e.Offset, "export %q, a mutable global,", e.Name)
			}
		}
	}
	for i, e := range mi.Elements {
		if e.Flags != 0 && need(BulkMemory) {
			return c.feature(BulkMemory, -1, e.Offset, "element segment %d, of encoding %d,", i, e.Flags)
		}
		if (e.Table != 0 || e.Type != byte(FuncRef)) && need(ReferenceTypes) {
			return c.feature(ReferenceTypes, -1, e.Offset, "element segment %d, of table %d and %s,", i, e.Table, ValType(e.Type))
		}
	}
	if need(BulkMemory) {
		if mi.DataCount {
			return c.feature(BulkMemory, -1, -1, "the data count section")
		}
		for i, d := range mi.Data {
			if d.Flags != 0 {
				return c.feature(BulkMemory, -1, d.Offset, "data segment %d, of encoding %d,", i, d.Flags)
			}
		}
	}
	return nil
}

func (c *checker) start() error {
	if c.mi.Start >= 0 && !c.p.AllowStart {
		return c.fail(RuleStart, -1, c.mi.StartOffset, "start section (function %d): the profile allows none", c.mi.Start)
	}
	return nil
}

func (c *checker) funcType(typeIdx uint32) FuncType {
	t := c.mi.Types[typeIdx]
	ft := FuncType{Params: make([]ValType, len(t.Params)), Results: make([]ValType, len(t.Results))}
	for i, v := range t.Params {
		ft.Params[i] = ValType(v)
	}
	for i, v := range t.Results {
		ft.Results[i] = ValType(v)
	}
	return ft
}

var kindNames = [...]string{"function", "table", "memory", "global"}

func (c *checker) imports() error {
	if !c.p.RestrictImports {
		return nil
	}
	allowed := make(map[[2]string]FuncType, len(c.p.Imports))
	for _, imp := range c.p.Imports {
		allowed[[2]string{imp.Module, imp.Name}] = imp.Type
	}
	for _, imp := range c.mi.Imports {
		if imp.Kind != metering.KindFunc {
			return c.fail(RuleImport, -1, imp.Offset, "import %s.%s is a %s: only function imports are allowed", imp.Module, imp.Name, kindNames[imp.Kind])
		}
		got := c.funcType(imp.Type)
		want, ok := allowed[[2]string{imp.Module, imp.Name}]
		if !ok {
			return c.fail(RuleImport, -1, imp.Offset, "import %s.%s %s is not allowed", imp.Module, imp.Name, got)
		}
		if !got.Equal(want) {
			return c.fail(RuleImport, -1, imp.Offset, "import %s.%s has type %s, the allowed one %s", imp.Module, imp.Name, got, want)
		}
	}
	return nil
}

func (c *checker) moduleLimits() error {
	mi, lim := c.mi, &c.p.Limits
	over := func(v uint64, l uint32) bool { return l != 0 && v > uint64(l) }
	if over(uint64(mi.CodeSize), lim.CodeSize) {
		return c.limit(RuleCodeSize, -1, mi.CodeOffset, uint64(mi.CodeSize), uint64(lim.CodeSize), "code section of %d bytes")
	}
	for i, b := range mi.Bodies {
		if over(uint64(b.Size), lim.FunctionSize) {
			return c.limit(RuleFunctionSize, mi.ImportedFuncs+i, b.Offset, uint64(b.Size), uint64(lim.FunctionSize), "function body of %d bytes")
		}
	}
	if over(uint64(len(mi.Funcs)), lim.Functions) {
		return c.limit(RuleFunctions, -1, -1, uint64(len(mi.Funcs)), uint64(lim.Functions), "%d functions (imported and defined)")
	}
	if over(uint64(len(mi.Globals)), lim.Globals) {
		return c.limit(RuleGlobals, -1, -1, uint64(len(mi.Globals)), uint64(lim.Globals), "%d globals (imported and defined)")
	}
	for _, t := range mi.Tables {
		if over(uint64(t.Min), lim.TableSize) {
			return c.limit(RuleTableSize, -1, t.Offset, uint64(t.Min), uint64(lim.TableSize), "table of %d initial elements")
		}
	}
	var data uint64
	for _, d := range mi.Data {
		data += uint64(d.Size)
		if over(data, lim.DataSize) {
			return c.limit(RuleDataSize, -1, d.Offset, data, uint64(lim.DataSize), "%d bytes of data segments up to this one")
		}
	}
	if m := mi.Memory; m != nil {
		if over(uint64(m.Min), lim.MemoryInitial) {
			return c.limit(RuleMemoryInitial, -1, m.Offset, uint64(m.Min), uint64(lim.MemoryInitial), "memory of %d initial pages")
		}
		if m.HasMax && over(uint64(m.Max), lim.MemoryMaximum) {
			return c.limit(RuleMemoryMaximum, -1, m.Offset, uint64(m.Max), uint64(lim.MemoryMaximum), "memory of %d maximum pages")
		}
	}
	return nil
}

// abiSignature reports whether t is a guest ABI entry point's signature:
// i32 parameters, one i32 result or none.
func abiSignature(t FuncType) bool {
	for _, p := range t.Params {
		if p != I32 {
			return false
		}
	}
	return len(t.Results) == 0 || len(t.Results) == 1 && t.Results[0] == I32
}

func (c *checker) exports() error {
	p := c.p
	if !p.RequireMemory && !p.RequireAllocate && len(p.Entries) == 0 {
		return nil
	}
	byName := make(map[string]metering.ExportInfo, len(c.mi.Exports))
	for _, e := range c.mi.Exports {
		byName[e.Name] = e
	}
	fn := func(name string) (FuncType, *ValidationError) {
		e, ok := byName[name]
		if !ok {
			return FuncType{}, c.fail(RuleExport, -1, -1, "no export %q", name)
		}
		if e.Kind != metering.KindFunc {
			return FuncType{}, c.fail(RuleExport, -1, e.Offset, "export %q is a %s, not a function", name, kindNames[e.Kind])
		}
		return c.funcType(c.mi.Funcs[e.Index]), nil
	}
	if p.RequireMemory {
		e, ok := byName["memory"]
		if !ok {
			return c.fail(RuleExport, -1, -1, "no memory exported as \"memory\"")
		}
		if e.Kind != metering.KindMemory {
			return c.fail(RuleExport, -1, e.Offset, "export \"memory\" is a %s, not a memory", kindNames[e.Kind])
		}
	}
	if p.RequireAllocate {
		t, err := fn("allocate")
		if err != nil {
			return err
		}
		if want := (FuncType{Params: []ValType{I32}, Results: []ValType{I32}}); !t.Equal(want) {
			e := byName["allocate"]
			return c.fail(RuleExport, -1, e.Offset, "export \"allocate\" has type %s, the ABI's is %s", t, want)
		}
	}
	for _, name := range p.Entries {
		t, err := fn(name)
		if err != nil {
			return err
		}
		if !abiSignature(t) {
			e := byName[name]
			return c.fail(RuleExport, -1, e.Offset, "export %q has type %s, not an ABI entry point's (i32 parameters, one i32 result or none)", name, t)
		}
	}
	return nil
}

// visitor checks the events of the code pass against the profile.
type visitor struct {
	c   *checker
	lim *Limits
}

// metering's feature names, as Features.
var codeFeatures = map[string]Feature{
	metering.FeatureSignExtension:  SignExtension,
	metering.FeatureNonTrappingF2I: NonTrappingFloatToInt,
	metering.FeatureMultiValue:     MultiValue,
	metering.FeatureBulkMemory:     BulkMemory,
	metering.FeatureReferenceTypes: ReferenceTypes,
}

func (v *visitor) visit(e metering.CodeEvent) error {
	over := func(l uint32) bool { return l != 0 && e.Count > uint64(l) }
	c, lim := v.c, v.lim
	switch e.Kind {
	case metering.EventLocals:
		if over(lim.Locals) {
			return c.limit(RuleLocals, e.Func, e.Offset, e.Count, uint64(lim.Locals), "%d locals (parameters included) declared up to here")
		}
	case metering.EventBlock:
		if over(lim.Nesting) {
			return c.limit(RuleNesting, e.Func, e.Offset, e.Count, uint64(lim.Nesting), "control nesting depth %d")
		}
		if lim.LoopNesting != 0 && e.Loops > uint64(lim.LoopNesting) {
			return c.limit(RuleLoopNesting, e.Func, e.Offset, e.Loops, uint64(lim.LoopNesting), "loop nesting depth %d")
		}
	case metering.EventBrTable:
		if over(lim.BrTable) {
			return c.limit(RuleBrTable, e.Func, e.Offset, e.Count, uint64(lim.BrTable), "br_table of %d targets")
		}
	case metering.EventFeature:
		f := codeFeatures[e.Feature]
		if c.p.Features&f == 0 {
			what := "a local declaration"
			if e.Op != 0 {
				what = e.Op.String()
			}
			return c.feature(f, e.Func, e.Offset, "%s", what)
		}
	}
	return nil
}
