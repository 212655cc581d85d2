package runtime_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/metering"
	"github.com/aspect-rt/aspect-runtime/runtime"
	"github.com/aspect-rt/aspect-runtime/validate"
	"github.com/aspect-rt/aspect-runtime/wasi"
)

func leb(b []byte, v int) []byte {
	for ; v >= 0x80; v >>= 7 {
		b = append(b, byte(v)|0x80)
	}
	return append(b, byte(v))
}

// oneFuncModule is a module with one function () -> (), exported as
// "run", with the given instructions (ending with end), and a memory of
// pages pages.
func oneFuncModule(code []byte, pages int) []byte {
	body := append([]byte{0x00}, code...) // no locals
	content := append(leb([]byte{0x01}, len(body)), body...)
	mem := leb([]byte{0x01, 0x00}, pages)
	m := []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00,
		0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // () -> ()
		0x03, 0x02, 0x01, 0x00}
	m = append(leb(append(m, 0x05), len(mem)), mem...)
	m = append(m, 0x07, 0x07, 0x01, 0x03, 'r', 'u', 'n', 0x00, 0x00)
	return append(leb(append(m, 0x0a), len(content)), content...)
}

// nestedLoops nests n loops, each ending with i32.const 0; br_if 0 (the
// compile-time bomb of issue 13 at n in the thousands).
func nestedLoops(n int) []byte {
	var code []byte
	for range n {
		code = append(code, 0x03, 0x40)
	}
	for range n {
		code = append(code, 0x41, 0x00, 0x0d, 0x00, 0x0b)
	}
	return oneFuncModule(append(code, 0x0b), 1)
}

func validationRule(t *testing.T, err error) validate.Rule {
	t.Helper()
	require.ErrorIs(t, err, runtime.ErrCompile)
	require.ErrorIs(t, err, validate.ErrValidation)
	var ve *validate.ValidationError
	require.True(t, errors.As(err, &ve), "%v", err)
	return ve.Rule
}

// TestDefaultProfile: Compile, New and Module.Instantiate's module refuse
// what the default profile refuses, on every engine, metered or not, with
// ErrCompile and the ValidationError; the fixtures pass.
func TestDefaultProfile(t *testing.T) {
	ctx := context.Background()
	bomb := nestedLoops(2000)
	for _, eng := range runtime.Engines() {
		t.Run(eng, func(t *testing.T) {
			_, err := runtime.CompileWithEngine(ctx, eng, bomb)
			assert.Equal(t, validate.RuleLoopNesting, validationRule(t, err))
			_, err = runtime.NewWithEngine(ctx, eng, bomb, nil, runtime.WithMetering(metering.Config{}))
			assert.Equal(t, validate.RuleLoopNesting, validationRule(t, err))

			// 32 nested loops are fine.
			rt, err := runtime.NewWithEngine(ctx, eng, nestedLoops(32), nil)
			require.NoError(t, err)
			_, err = rt.CallWasm(ctx, "run")
			require.NoError(t, err)
			require.NoError(t, rt.Close(ctx))
		})
	}
}

// TestWithLimits loosens and tightens the default profile's limits.
func TestWithLimits(t *testing.T) {
	ctx := context.Background()
	code := nestedLoops(40)
	_, err := runtime.Compile(ctx, code)
	assert.Equal(t, validate.RuleLoopNesting, validationRule(t, err))

	l := validate.DefaultLimits()
	l.LoopNesting = 64
	m, err := runtime.Compile(ctx, code, runtime.WithLimits(l))
	require.NoError(t, err)
	require.NoError(t, m.Close(ctx))

	echo := fixtures.MustBytes("as/echo.wasm")
	l = validate.DefaultLimits()
	l.Nesting = 5
	_, err = runtime.New(ctx, echo, nil, runtime.WithLimits(l))
	assert.Equal(t, validate.RuleNesting, validationRule(t, err))
}

// TestWithProfile replaces the default profile.
func TestWithProfile(t *testing.T) {
	ctx := context.Background()
	noAlloc := fixtures.MustBytes("wat/no_allocate.wasm")
	m, err := runtime.Compile(ctx, noAlloc)
	require.NoError(t, err)
	require.NoError(t, m.Close(ctx))
	_, err = runtime.Compile(ctx, noAlloc, runtime.WithProfile(validate.AspectProfile()))
	assert.Equal(t, validate.RuleExport, validationRule(t, err))
	assert.ErrorContains(t, err, `no export "allocate"`)

	// The deterministic profile refuses Go guests (their float code).
	_, err = runtime.Compile(ctx, fixtures.MustBytes("go/echo.wasm"), runtime.WithProfile(validate.DeterministicProfile()))
	assert.Equal(t, validate.RuleNondeterministic, validationRule(t, err))

	// WithProfile's limits are its own; WithLimits replaces them.
	p := validate.MVPProfile()
	p.Limits = validate.Limits{}
	m, err = runtime.Compile(ctx, nestedLoops(40), runtime.WithProfile(p))
	require.NoError(t, err)
	require.NoError(t, m.Close(ctx))
	_, err = runtime.Compile(ctx, nestedLoops(40), runtime.WithProfile(p), runtime.WithLimits(validate.DefaultLimits()))
	assert.Equal(t, validate.RuleLoopNesting, validationRule(t, err))
}

// TestDefaultProfileFollowsRuntimeLimits: the default profile's memory and
// table limits are the runtime's (WithMemoryLimitPages, WithTableLimit).
func TestDefaultProfileFollowsRuntimeLimits(t *testing.T) {
	ctx := context.Background()
	big := oneFuncModule([]byte{0x0b}, 2000)
	_, err := runtime.Compile(ctx, big)
	assert.Equal(t, validate.RuleMemoryInitial, validationRule(t, err))
	assert.ErrorContains(t, err, "memory of 2000 initial pages, over the limit of 1024")
	m, err := runtime.Compile(ctx, big, runtime.WithMemoryLimitPages(4096))
	require.NoError(t, err)
	require.NoError(t, m.Close(ctx))
	_, err = runtime.Compile(ctx, oneFuncModule([]byte{0x0b}, 5), runtime.WithMemoryLimitPages(4))
	assert.Equal(t, validate.RuleMemoryInitial, validationRule(t, err))

	_, err = runtime.Compile(ctx, fixtures.MustBytes("wat/traps.wasm"), runtime.WithTableLimit(1))
	assert.Equal(t, validate.RuleTableSize, validationRule(t, err))
}

// TestTrustedCodeSkipsDefaultProfile: WithTrustedCode applies no profile
// unless WithProfile gives one.
func TestTrustedCodeSkipsDefaultProfile(t *testing.T) {
	ctx := context.Background()
	code := nestedLoops(40)
	m, err := runtime.Compile(ctx, code, runtime.WithTrustedCode())
	require.NoError(t, err)
	require.NoError(t, m.Close(ctx))
	_, err = runtime.Compile(ctx, code, runtime.WithTrustedCode(), runtime.WithProfile(validate.DefaultProfile()))
	assert.Equal(t, validate.RuleLoopNesting, validationRule(t, err))
	// Metered, WithTrustedCode has no effect: the default profile applies.
	_, err = runtime.Compile(ctx, code, runtime.WithTrustedCode(), runtime.WithMetering(metering.Config{}))
	assert.Equal(t, validate.RuleLoopNesting, validationRule(t, err))
}

// TestRestrictImportsToRegistry: a profile restricted to a registry's
// imports (and WASI's) accepts the guests that use them and refuses an
// import the registry does not have, or has with another signature.
func TestRestrictImportsToRegistry(t *testing.T) {
	ctx := context.Background()
	reg := hostcallsRegistry(t, func(ctx context.Context, s string) (string, error) { return s, nil })
	imports := reg.Imports()
	require.Equal(t, validate.Import{Module: "env", Name: "abort", Type: validate.FuncType{
		Params: []validate.ValType{validate.I32, validate.I32, validate.I32, validate.I32}}}, imports[0])
	var hello *validate.Import
	for i := range imports {
		if imports[i].Module == "index" && imports[i].Name == "test.hello" {
			hello = &imports[i]
		}
	}
	require.NotNil(t, hello, "%v", imports)
	assert.Equal(t, "(i32) -> i32", hello.Type.String())

	p := validate.AspectProfile()
	p.RestrictImports, p.Imports = true, imports
	code := fixtures.MustBytes("as/hostcalls.wasm")
	require.NoError(t, validate.Validate(code, p))
	rt, err := runtime.New(ctx, code, reg, runtime.WithProfile(p))
	require.NoError(t, err)
	require.NoError(t, rt.Close(ctx))

	p.Imports = runtime.NewHostAPIRegistry().Imports() // env.abort only
	_, err = runtime.New(ctx, code, reg, runtime.WithProfile(p))
	assert.Equal(t, validate.RuleImport, validationRule(t, err))
	assert.ErrorContains(t, err, "is not allowed")

	// A Go guest using WASI: the registry's imports and WASI's.
	goCode := fixtures.MustBytes("go/hostcalls.wasm")
	p.Imports = append(reg.Imports(), runtime.WASIImports()...)
	require.NoError(t, validate.Validate(goCode, p))
	p.Imports = reg.Imports()
	err = validate.Validate(goCode, p)
	require.ErrorIs(t, err, validate.ErrValidation)
	assert.ErrorContains(t, err, wasi.ModuleName)
}
