package validate_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aspect-rt/aspect-runtime/metering"
	"github.com/aspect-rt/aspect-runtime/pool"
	"github.com/aspect-rt/aspect-runtime/runtime"
	"github.com/aspect-rt/aspect-runtime/validate"
)

// refusal checks that err is a *ValidationError for rule and returns it.
func refusal(t *testing.T, err error, rule string) *validate.ValidationError {
	t.Helper()
	var ve *validate.ValidationError
	if !errors.As(err, &ve) || !errors.Is(err, validate.ErrValidation) {
		t.Fatalf("got %v (%T), want a *ValidationError for %s", err, err, rule)
	}
	if string(ve.Rule) != rule {
		t.Fatalf("rule %s, want %s: %v", ve.Rule, rule, err)
	}
	return ve
}

// TestBombsRefused: every compile-time bomb of issue 13 is refused by the
// default profile, with its rule, where it is.
func TestBombsRefused(t *testing.T) {
	for _, b := range bombs() {
		code := b.code()
		start := time.Now()
		err := validate.Validate(code)
		d := time.Since(start)
		ve := refusal(t, err, b.rule)
		t.Logf("%-38s %8d bytes: refused in %8v: %v", b.name, len(code), d.Round(time.Microsecond), ve)
		if ve.Offset < 0 || ve.Offset >= len(code) {
			t.Errorf("%s: offset %d outside the module", b.name, ve.Offset)
		}
	}
}

// TestBombsRefusedOnEveryEngine: Compile (and so New and the pool) refuse
// every bomb on every linked engine, metered if the bomb was found
// metered, with an error matching runtime.ErrCompile and
// validate.ErrValidation, before the engine sees it. The time is logged
// (each took milliseconds where the engine took minutes), not asserted.
func TestBombsRefusedOnEveryEngine(t *testing.T) {
	ctx := context.Background()
	for _, eng := range runtime.Engines() {
		for _, b := range bombs() {
			code := b.code()
			var opts []runtime.Option
			if b.metered {
				opts = append(opts, runtime.WithMetering(metering.Config{}))
			}
			start := time.Now()
			m, err := runtime.CompileWithEngine(ctx, eng, code, opts...)
			d := time.Since(start)
			if m != nil {
				m.Close(ctx)
			}
			if !errors.Is(err, runtime.ErrCompile) {
				t.Fatalf("%s on %s: got %v, want ErrCompile", b.name, eng, err)
			}
			refusal(t, err, b.rule)
			t.Logf("%-8s %-38s metered=%-5v refused in %8v", eng, b.name, b.metered, d.Round(time.Microsecond))
		}
	}
}

// TestPoolRefusesBombs: the pool compiles through runtime.Compile, so it
// refuses the bombs too, on every engine.
func TestPoolRefusesBombs(t *testing.T) {
	ctx := context.Background()
	p := pool.New(4)
	defer p.Close(ctx)
	for _, eng := range runtime.Engines() {
		for _, b := range bombs()[:3] {
			lease, err := p.Runtime(ctx, eng, b.code(), nil)
			if lease != nil {
				p.PutBack(lease)
			}
			if !errors.Is(err, runtime.ErrCompile) {
				t.Fatalf("%s on %s: got %v, want ErrCompile", b.name, eng, err)
			}
			refusal(t, err, b.rule)
		}
	}
}

// limitCase builds modules whose measure, for one limit, is n.
type limitCase struct {
	rule  string
	limit uint32
	gen   func(n int) []byte
	// set applies a non-default limit (MemoryMaximum has none by default).
	set func(l *validate.Limits, n uint32)
}

func limitCases() []limitCase {
	d := validate.DefaultLimits()
	return []limitCase{
		{rule: "code-size", limit: d.CodeSize, gen: func(n int) []byte { return codeOfSize(n, 1000000) }},
		{rule: "function-size", limit: d.FunctionSize, gen: func(n int) []byte { return oneFuncBody(bodyOfSize(n)) }},
		{rule: "functions", limit: d.Functions, gen: manyFuncs},
		{rule: "locals", limit: d.Locals, gen: manyLocals},
		{rule: "globals", limit: d.Globals, gen: globals},
		{rule: "nesting", limit: d.Nesting, gen: nestedBlocks},
		{rule: "loop-nesting", limit: d.LoopNesting, gen: nestedLoops},
		{rule: "br-table", limit: d.BrTable, gen: brTable},
		{rule: "table-size", limit: d.TableSize, gen: func(n int) []byte { return table(uint64(n)) }},
		{rule: "data-size", limit: d.DataSize, gen: data},
		{rule: "memory-initial", limit: d.MemoryInitial, gen: func(n int) []byte { return memory(uint64(n), -1) }},
		{rule: "memory-maximum", limit: 100, gen: func(n int) []byte { return memory(1, int64(n)) },
			set: func(l *validate.Limits, n uint32) { l.MemoryMaximum = n }},
	}
}

func oneFuncBody(b []byte) []byte {
	return funcModule([][]byte{functype(nil, nil)}, []int{0}, [][]byte{b}, false)
}

// TestLimitsJustUnderAndOver: a module at each limit passes, one over it
// fails with the limit's rule, value and limit; with the limit lifted
// (zero) it passes too.
func TestLimitsJustUnderAndOver(t *testing.T) {
	for _, lc := range limitCases() {
		t.Run(lc.rule, func(t *testing.T) {
			p := validate.DefaultProfile()
			if lc.set != nil {
				lc.set(&p.Limits, lc.limit)
			}
			at, over := lc.gen(int(lc.limit)), lc.gen(int(lc.limit)+1)
			if err := validate.Validate(at, p); err != nil {
				t.Fatalf("at the limit %d: %v", lc.limit, err)
			}
			ve := refusal(t, validate.Validate(over, p), lc.rule)
			if ve.Value != uint64(lc.limit)+1 || ve.Limit != uint64(lc.limit) {
				t.Errorf("value %d, limit %d; want %d, %d", ve.Value, ve.Limit, lc.limit+1, lc.limit)
			}
			if !strings.Contains(ve.Error(), fmt.Sprint(lc.limit+1)) || !strings.Contains(ve.Error(), fmt.Sprint(lc.limit)) {
				t.Errorf("the message does not give the value and the limit: %v", ve)
			}
			p.Limits = validate.Limits{}
			err := validate.Validate(over, p)
			if lc.rule == "locals" {
				// 50,000 is also every engine's limit.
				refusal(t, err, "implementation-limit")
			} else if err != nil {
				t.Errorf("without limits: %v", err)
			}
		})
	}
}

// TestCodeLimitsSayWhere: limits inside code report the function and the
// offset of the instruction or declaration that broke them.
func TestCodeLimitsSayWhere(t *testing.T) {
	// Function 1 (after an import) holds 33 nested loops: the 33rd loop
	// opcode is at the body's offset + 1 (no locals) + 32*2.
	imp := section(2, vec(append(name(name(nil, "env"), "f"), 0x00, 0x00)))
	loops := nestedLoops(33)
	mi, err := metering.InspectModule(loops)
	if err != nil {
		t.Fatal(err)
	}
	code := loops[mi.Bodies[0].Offset : mi.Bodies[0].Offset+mi.Bodies[0].Size]
	mod := module(section(1, vec(functype(nil, nil))), imp, section(3, vec([]byte{0x00})),
		section(10, vec(append(uleb(nil, uint64(len(code))), code...))))
	ve := refusal(t, validate.Validate(mod), "loop-nesting")
	body := bytes.Index(mod, code)
	if ve.Func != 1 || ve.Offset != body+1+32*2 || ve.Value != 33 || ve.Limit != 32 {
		t.Errorf("func %d offset %#x value %d limit %d; want func 1 offset %#x, 33, 32", ve.Func, ve.Offset, ve.Value, ve.Limit, body+1+32*2)
	}
	if mod[ve.Offset] != 0x03 {
		t.Errorf("offset %#x holds %#x, not loop", ve.Offset, mod[ve.Offset])
	}
}

// TestProfiles: what each named profile refuses and allows.
func TestProfiles(t *testing.T) {
	names := validate.ProfileNames()
	if want := []string{"default", "mvp", "wasm2", "deterministic", "aspect"}; fmt.Sprint(names) != fmt.Sprint(want) {
		t.Fatalf("profiles %v, want %v", names, want)
	}
	for _, n := range names {
		p, err := validate.Named(n)
		if err != nil || p.Name != n {
			t.Fatalf("Named(%q) = %v, %v", n, p.Name, err)
		}
		if p.Limits != validate.DefaultLimits() {
			t.Errorf("%s: limits %+v, want the defaults", n, p.Limits)
		}
	}
	if _, err := validate.Named("nope"); !errors.Is(err, validate.ErrUnknownProfile) {
		t.Errorf("Named(nope): %v", err)
	}
	// Validate without a profile is the default profile; with several,
	// the first refusal.
	if err := validate.Validate(startModule()); err != nil {
		t.Errorf("default: %v", err)
	}
	ve := refusal(t, validate.Validate(startModule(), validate.WASM2Profile(), validate.AspectProfile()), "start")
	if ve.Profile != "aspect" {
		t.Errorf("profile %q, want aspect", ve.Profile)
	}
}

// TestFeatures: each supported proposal is refused by the MVP profile,
// with its name, and allowed by wasm2; the proposals no profile supports
// are refused by all.
func TestFeatures(t *testing.T) {
	for _, c := range featureModules() {
		t.Run(c.name, func(t *testing.T) {
			mvp := validate.Validate(c.code, validate.MVPProfile())
			if c.feature == "extended-const" {
				// Not in WebAssembly 2.0: only the default profile has it.
				ve := refusal(t, validate.Validate(c.code, validate.WASM2Profile()), "feature")
				if ve.Feature != c.feature {
					t.Errorf("feature %q, want %q", ve.Feature, c.feature)
				}
				if err := validate.Validate(c.code); err != nil {
					t.Errorf("default: %v", err)
				}
				return
			}
			ve := refusal(t, mvp, "feature")
			if ve.Feature != c.feature {
				t.Errorf("feature %q, want %q: %v", ve.Feature, c.feature, ve)
			}
			err := validate.Validate(c.code, validate.WASM2Profile())
			if c.supported && err != nil {
				t.Errorf("wasm2: %v", err)
			}
			if !c.supported {
				ve := refusal(t, err, "feature")
				if ve.Feature != c.feature || !strings.Contains(ve.Error(), "no profile supports") {
					t.Errorf("wasm2: %v", ve)
				}
			}
		})
	}
}

// TestDeterministic: the deterministic profile refuses f64.add, allows
// f64.abs.
func TestDeterministic(t *testing.T) {
	add := oneFunc(nil, []byte{0x44, 0, 0, 0, 0, 0, 0, 0, 0, 0x44, 0, 0, 0, 0, 0, 0, 0, 0, 0xa0, 0x1a, 0x0b})
	abs := oneFunc(nil, []byte{0x44, 0, 0, 0, 0, 0, 0, 0, 0, 0x99, 0x1a, 0x0b})
	ve := refusal(t, validate.Validate(add, validate.DeterministicProfile()), "nondeterministic")
	if !strings.Contains(ve.Reason, "f64.add") || ve.Func != 0 {
		t.Errorf("%v", ve)
	}
	if !errors.Is(ve, metering.ErrNondeterministic) {
		t.Errorf("%v does not match metering.ErrNondeterministic", ve)
	}
	if err := validate.Validate(abs, validate.DeterministicProfile()); err != nil {
		t.Errorf("f64.abs: %v", err)
	}
	if err := validate.Validate(add, validate.WASM2Profile()); err != nil {
		t.Errorf("wasm2: %v", err)
	}
}

// TestImports: RestrictImports allows the listed functions with their
// exact signatures only.
func TestImports(t *testing.T) {
	mod := importModule("index", "test.hello", []byte{i32}, []byte{i32})
	p := validate.DefaultProfile()
	p.RestrictImports = true
	refusal(t, validate.Validate(mod, p), "import")
	p.Imports = []validate.Import{{Module: "index", Name: "test.hello", Type: validate.FuncType{
		Params: []validate.ValType{validate.I32}}}}
	ve := refusal(t, validate.Validate(mod, p), "import")
	if !strings.Contains(ve.Reason, "(i32) -> i32") || !strings.Contains(ve.Reason, "(i32) -> ()") {
		t.Errorf("reason %q does not give both types", ve.Reason)
	}
	p.Imports[0].Type.Results = []validate.ValType{validate.I32}
	if err := validate.Validate(mod, p); err != nil {
		t.Error(err)
	}
	// Non-function imports are refused.
	memImp := module(section(2, vec(append(name(name(nil, "env"), "memory"), 0x02, 0x00, 0x01))))
	refusal(t, validate.Validate(memImp, p), "import")
	p.RestrictImports = false
	if err := validate.Validate(memImp, p); err != nil {
		t.Error(err)
	}
}

// TestExports: the aspect profile requires memory and allocate, and
// Entries the ABI signature.
func TestExports(t *testing.T) {
	p := validate.AspectProfile()
	good := abiModule([]byte{i32}, []byte{i32}, []byte{i32, i32}, []byte{i32})
	if err := validate.Validate(good, p); err != nil {
		t.Fatal(err)
	}
	p.Entries = []string{"run"}
	if err := validate.Validate(good, p); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		code []byte
		want string
	}{
		{"no memory", oneFunc(nil, []byte{0x0b}), `no memory exported as "memory"`},
		{"allocate (i64) -> i32", abiModule([]byte{i64}, []byte{i32}, nil, nil), `"allocate" has type (i64) -> i32`},
		{"entry (f32) -> ()", abiModule([]byte{i32}, []byte{i32}, []byte{f32}, nil), `"run" has type (f32) -> ()`},
		{"entry () -> (i32, i32)", abiModule([]byte{i32}, []byte{i32}, nil, []byte{i32, i32}), `"run" has type () -> (i32, i32)`},
	} {
		ve := refusal(t, validate.Validate(c.code, p), "export")
		if !strings.Contains(ve.Reason, c.want) {
			t.Errorf("%s: reason %q, want %q", c.name, ve.Reason, c.want)
		}
	}
	p.Entries = []string{"missing"}
	ve := refusal(t, validate.Validate(good, p), "export")
	if !strings.Contains(ve.Reason, `no export "missing"`) {
		t.Errorf("reason %q", ve.Reason)
	}
}

// TestSpecErrors: malformed, invalid and reserved names are refused by
// every profile, matching metering's errors too.
func TestSpecErrors(t *testing.T) {
	for _, c := range []struct {
		code []byte
		rule string
		is   error
	}{
		{[]byte("\x00asm\x02\x00\x00\x00"), "malformed", metering.ErrMalformed},
		{oneFunc(nil, []byte{0x41, 0x00, 0x0b}), "invalid", metering.ErrInvalid},
		{reservedExport(), "reserved-name", metering.ErrReservedName},
	} {
		for _, n := range validate.ProfileNames() {
			p, _ := validate.Named(n)
			p.RequireMemory, p.RequireAllocate = false, false
			ve := refusal(t, validate.Validate(c.code, p), c.rule)
			if !errors.Is(ve, c.is) {
				t.Errorf("%v does not match %v", ve, c.is)
			}
		}
	}
}

// TestInputUnchanged: Validate neither modifies nor keeps its input.
func TestInputUnchanged(t *testing.T) {
	for _, c := range corpus(t) {
		if len(c.code) > 1<<20 {
			continue
		}
		orig := bytes.Clone(c.code)
		for _, n := range validate.ProfileNames() {
			p, _ := validate.Named(n)
			validate.Validate(c.code, p)
		}
		if !bytes.Equal(orig, c.code) {
			t.Fatalf("%s: input modified", c.name)
		}
	}
}

// BenchmarkValidateGo: the default profile on the 3 MB Go guest
// (conformance/fixtures/go/echo.wasm), which takes seconds to compile on
// every engine (README.md).
func BenchmarkValidateGo(b *testing.B) {
	code := readFixture(b, "go/echo.wasm")
	b.SetBytes(int64(len(code)))
	for b.Loop() {
		if err := validate.Validate(code); err != nil {
			b.Fatal(err)
		}
	}
}

// TestFoldedModuleKeepsStart: a module with extended constant expressions
// is checked as the runtime folds them, and its start section (which
// folding turns into an export) still counts.
func TestFoldedModuleKeepsStart(t *testing.T) {
	mod := module(section(1, vec(functype(nil, nil))), section(3, vec([]byte{0x00})),
		section(6, vec([]byte{i32, 0x00, 0x41, 0x01, 0x41, 0x02, 0x6a, 0x0b})),
		section(8, []byte{0x00}), section(10, vec(body(nil, []byte{0x0b}))))
	if err := validate.Validate(mod); err != nil {
		t.Fatal(err)
	}
	p := validate.DefaultProfile()
	p.AllowStart = false
	ve := refusal(t, validate.Validate(mod, p), "start")
	if !strings.Contains(ve.Reason, "function 0") {
		t.Errorf("%v", ve)
	}
	refusal(t, validate.Validate(mod, validate.WASM2Profile()), "feature")
}
