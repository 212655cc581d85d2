//go:build wasmer && cgo

package wasmer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// Compile-time checks of the SPI.
var (
	_ engine.Engine   = (*wrEngine)(nil)
	_ engine.Module   = (*wrModule)(nil)
	_ engine.Instance = (*wrInstance)(nil)
	_ engine.Caller   = (*wrCaller)(nil)
	_ engine.Function = (*wrFunction)(nil)
	_ engine.Memory   = (*wrMemory)(nil)
	_ engine.Global   = (*wrGlobal)(nil)
)

func TestRegistered(t *testing.T) {
	assert.Contains(t, engine.Drivers(), Name)
	e := openEngine(t)
	assert.Equal(t, Name, e.Name())
	assert.Equal(t, engine.Capabilities{Interrupt: false, MemoryLimit: true}, e.Capabilities())
}

func TestCompileMalformed(t *testing.T) {
	e := openEngine(t)
	for name, b := range map[string][]byte{
		"garbage":   []byte("definitely not wasm"),
		"empty":     nil,
		"truncated": fixtures.MustBytes("as/echo.wasm")[:100],
		"invalid":   wat(t, `(module (func (result i32)))`)[:0],
	} {
		t.Run(name, func(t *testing.T) {
			_, err := e.Compile(bg, b, engine.CompileConfig{})
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), "wasmer: compile: "), err.Error())
			// With a memory limit the error is wasmer's too.
			_, err = e.Compile(bg, b, engine.CompileConfig{MemoryLimitPages: 2})
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), "wasmer: compile: "), err.Error())
		})
	}
	// A module that decodes but does not validate.
	bad := []byte{0, 'a', 's', 'm', 1, 0, 0, 0, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f, // () -> i32
		0x03, 0x02, 0x01, 0x00, 0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b} // body returns nothing
	_, err := e.Compile(bg, bad, engine.CompileConfig{})
	require.ErrorContains(t, err, "wasmer: compile: ")

	ctx, cancel := context.WithCancel(bg)
	cancel()
	_, err = e.Compile(ctx, wat(t, rawWAT), engine.CompileConfig{})
	require.ErrorIs(t, err, context.Canceled)
}

func TestImportsExports(t *testing.T) {
	e := openEngine(t)
	m := compile(t, e, hostWAT, engine.CompileConfig{})
	assert.Equal(t, []engine.Import{
		{Module: "env", Name: "double", Kind: engine.ExternFunc, Type: ft(vt(i32), i32)},
		{Module: "env", Name: "fail", Kind: engine.ExternFunc, Type: ft(nil)},
		{Module: "env", Name: "reenter", Kind: engine.ExternFunc, Type: ft(vt(i32), i32)},
		{Module: "env", Name: "mixed", Kind: engine.ExternFunc, Type: ft(vt(i32, i64, f32, f64, i32), f64, f32, i64, i32, i32)},
		{Module: "env", Name: "tick", Kind: engine.ExternFunc, Type: ft(nil)},
	}, m.Imports())

	raw := compile(t, e, rawWAT, engine.CompileConfig{})
	kinds := map[string]engine.ExternKind{}
	var names []string
	for _, x := range raw.Exports() {
		kinds[x.Name] = x.Kind
		names = append(names, x.Name)
	}
	assert.Equal(t, []string{"memory", "allocate", "add", "nop", "f64_id", "f32_id", "echo", "grow", "sum_to",
		"neg", "swap", "many", "wide", "ref_param", "table", "answer", "g_i32", "g_i64", "g_f32", "g_f64", "get_i32"},
		names, "declaration order")
	assert.Equal(t, engine.ExternMemory, kinds["memory"])
	assert.Equal(t, engine.ExternTable, kinds["table"])
	assert.Equal(t, engine.ExternGlobal, kinds["answer"])
	assert.Equal(t, engine.ExternFunc, kinds["swap"])

	in := instantiate(t, raw, nil)
	assert.Nil(t, in.Function("memory"), "not a function")
	assert.Nil(t, in.Function("nope"))
	require.NotNil(t, in.Memory())
	assert.Equal(t, uint32(65536), in.Memory().Size())
	err := fn(t, in, "ref_param").Call(bg, []uint64{0})
	require.ErrorContains(t, err, "only numeric values")

	// Only function imports.
	mi, err := e.Compile(bg, wat(t, importsWAT), engine.CompileConfig{})
	require.NoError(t, err)
	defer mi.Close(bg)
	assert.Equal(t, engine.ExternMemory, mi.Imports()[0].Kind)
	assert.Equal(t, ft(vt(i64), f32), mi.Imports()[1].Type)
	assert.Equal(t, ft(vt(f64, i32)), mi.Exports()[0].Type)
	_, err = mi.Instantiate(bg, nil, engine.InstanceConfig{})
	require.ErrorContains(t, err, "only functions can be imported")
}

func TestInstantiateErrors(t *testing.T) {
	e := openEngine(t)
	m := compile(t, e, hostWAT, engine.CompileConfig{})
	host := hostFuncs(nil, nil, nil, nil, nil)
	_, err := m.Instantiate(bg, host[1:], engine.InstanceConfig{})
	require.ErrorContains(t, err, "no host function for import env.double")
	bad := append([]engine.HostFunc(nil), host...)
	bad[0].Type = ft(vt(i64), i32)
	_, err = m.Instantiate(bg, bad, engine.InstanceConfig{})
	require.ErrorContains(t, err, "has type (i64) -> (i32), the module imports (i32) -> (i32)")
	bad[0] = host[0]
	bad[0].Call = nil
	_, err = m.Instantiate(bg, bad, engine.InstanceConfig{})
	require.ErrorContains(t, err, "has no Call")
	ctx, cancel := context.WithCancel(bg)
	cancel()
	_, err = m.Instantiate(ctx, host, engine.InstanceConfig{})
	var trap *engine.Trap
	require.ErrorAs(t, err, &trap)
	assert.Equal(t, engine.TrapInterrupted, trap.Code)
}

func TestCallValues(t *testing.T) {
	e := openEngine(t)
	in := instantiate(t, compile(t, e, rawWAT, engine.CompileConfig{}), nil)

	add := fn(t, in, "add")
	assert.Equal(t, ft(vt(i32, i32), i32), add.Type())
	stack := []uint64{40, 2}
	require.NoError(t, add.Call(bg, stack))
	assert.Equal(t, uint64(42), stack[0])
	stack = []uint64{uint64(uint32(math.MaxUint32)), 2}
	require.NoError(t, add.Call(bg, stack))
	assert.Equal(t, uint64(1), stack[0], "i32 wraps")
	// Upper halves of i32 params are ignored.
	stack = []uint64{0xdead_beef_0000_0001, 0xffff_ffff_0000_0002}
	require.NoError(t, add.Call(bg, stack))
	assert.Equal(t, uint64(3), stack[0])

	stack = []uint64{0}
	require.NoError(t, fn(t, in, "neg").Call(bg, stack))
	assert.Equal(t, uint64(0xffff_ffff), stack[0], "i32 results are zero-extended")

	require.NoError(t, fn(t, in, "nop").Call(bg, nil))

	nan := math.Float64bits(math.NaN()) | 0x5
	stack = []uint64{nan}
	require.NoError(t, fn(t, in, "f64_id").Call(bg, stack))
	assert.Equal(t, nan, stack[0], "f64 bits preserved")
	stack = []uint64{uint64(math.Float32bits(-1.5)) | 0xffff_ffff_0000_0000}
	require.NoError(t, fn(t, in, "f32_id").Call(bg, stack))
	assert.Equal(t, uint64(math.Float32bits(-1.5)), stack[0], "f32 results are zero-extended")

	stack = []uint64{100000}
	require.NoError(t, fn(t, in, "sum_to").Call(bg, stack))
	assert.Equal(t, uint64(100000*100001/2), stack[0])

	stack = []uint64{7, math.MaxUint64}
	require.NoError(t, fn(t, in, "swap").Call(bg, stack))
	assert.Equal(t, []uint64{math.MaxUint64, 7}, stack)

	stack = []uint64{1, 1 << 40, uint64(math.Float32bits(2.5)), math.Float64bits(3.25), 0xffff_ffff}
	require.NoError(t, fn(t, in, "many").Call(bg, stack))
	assert.Equal(t, []uint64{math.Float64bits(3.25), uint64(math.Float32bits(2.5)), 1 << 40, 1, 0xffff_ffff}, stack)

	// More than the shim's on-stack buffers hold.
	stack = []uint64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	require.NoError(t, fn(t, in, "wide").Call(bg, stack))
	assert.Equal(t, []uint64{9, 8, 7, 6, 5, 4, 3, 2, 1, 0}, stack)

	// More results than params: the stack needs room for the results.
	require.ErrorContains(t, fn(t, in, "swap").Call(bg, []uint64{1}), "stack has 1 values, need 2")
	require.Error(t, add.Call(bg, nil))

	// A nil context is taken as context.Background.
	stack = []uint64{1, 2}
	require.NoError(t, add.Call(nil, stack)) //nolint:staticcheck // deliberately nil
	assert.Equal(t, uint64(3), stack[0])

	// A call whose context is already done does not enter the guest.
	ctx, cancel := context.WithCancel(bg)
	cancel()
	var trap *engine.Trap
	require.ErrorAs(t, add.Call(ctx, []uint64{1, 2}), &trap)
	assert.Equal(t, engine.TrapInterrupted, trap.Code)

	// The same Function is returned each time.
	assert.Same(t, add.(*wrFunction), in.Function("add").(*wrFunction))
}

// TestTraps checks each trap of the conformance fixture wat/traps.wat, and
// a few more, against wasmer's real messages.
func TestTraps(t *testing.T) {
	e := openEngine(t)
	want := map[string]engine.TrapCode{
		"unreachable":       engine.TrapUnreachable,
		"div_zero":          engine.TrapIntegerDivideByZero,
		"int_overflow":      engine.TrapIntegerOverflow,
		"oob_load":          engine.TrapOutOfBoundsMemory,
		"bad_conversion":    engine.TrapInvalidConversion,
		"stack_overflow":    engine.TrapStackOverflow,
		"indirect_mismatch": engine.TrapIndirectCallTypeMismatch,
		"table_oob":         engine.TrapOutOfBoundsTable,
	}
	t.Run("fixture", func(t *testing.T) {
		m := compileBytes(t, e, fixtures.MustBytes("wat/traps.wasm"), engine.CompileConfig{})
		n := 0
		for _, x := range m.Exports() {
			if x.Kind == engine.ExternFunc && x.Name != "allocate" {
				n++
				assert.Contains(t, want, x.Name, "a trap of the fixture this test does not know")
			}
		}
		assert.Equal(t, len(want), n)
		in := instantiate(t, m, nil)
		for name, code := range want {
			err := fn(t, in, name).Call(bg, nil)
			var trap *engine.Trap
			require.ErrorAs(t, err, &trap, name)
			assert.Equal(t, code, trap.Code, "%s: message %q", name, trap.Message)
			// The message is wasmer's exact wording, which the exact table
			// maps (not only the fallback phrases).
			assert.Equal(t, code, wasmerTrapCodes[trap.Message], "%s: %q is not in wasmerTrapCodes", name, trap.Message)
		}
	})
	t.Run("more", func(t *testing.T) {
		in := instantiate(t, compile(t, e, trapsWAT, engine.CompileConfig{}), nil)
		want := maps(want, map[string]engine.TrapCode{"null_call": engine.TrapOutOfBoundsTable})
		for name, code := range want {
			err := fn(t, in, name).Call(bg, nil)
			var trap *engine.Trap
			require.ErrorAs(t, err, &trap, name)
			assert.Equal(t, code, trap.Code, "%s: message %q", name, trap.Message)
			assert.NotEmpty(t, trap.Message)
			// The instance is still usable after a trap.
			require.NoError(t, fn(t, in, "ok").Call(bg, nil))
		}
	})
}

func maps(a, b map[string]engine.TrapCode) map[string]engine.TrapCode {
	out := map[string]engine.TrapCode{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// TestTrapCodeMessages checks the classification of messages: wasmer's exact
// ones, drifted wordings, and messages that are not traps we know.
func TestTrapCodeMessages(t *testing.T) {
	for msg, code := range map[string]engine.TrapCode{
		"unreachable":               engine.TrapUnreachable,
		"RuntimeError: unreachable": engine.TrapUnreachable,
		"wasm trap: wasm `unreachable` instruction executed": engine.TrapUnreachable,
		"integer divide by zero":                             engine.TrapIntegerDivideByZero,
		"Integer Division By Zero":                           engine.TrapIntegerDivideByZero,
		"integer overflow":                                   engine.TrapIntegerOverflow,
		"invalid conversion to integer":                      engine.TrapInvalidConversion,
		"out of bounds memory access":                        engine.TrapOutOfBoundsMemory,
		"heap access out of bounds":                          engine.TrapOutOfBoundsMemory,
		"misaligned heap":                                    engine.TrapUnalignedAtomic,
		"unaligned atomic access":                            engine.TrapUnalignedAtomic,
		"undefined element: out of bounds table access":      engine.TrapOutOfBoundsTable,
		"undefined element":                                  engine.TrapOutOfBoundsTable,
		"uninitialized element":                              engine.TrapOutOfBoundsTable,
		"indirect call type mismatch":                        engine.TrapIndirectCallTypeMismatch,
		"call stack exhausted":                               engine.TrapStackOverflow,
		"  Call stack exhausted\n":                           engine.TrapStackOverflow,
		"stack overflow":                                     engine.TrapStackOverflow,
		"null reference":                                     engine.TrapNullReference,
		"":                                                   engine.TrapUnknown,
		"something else entirely":                            engine.TrapUnknown,
		hostTrapMessage:                                      engine.TrapUnknown,
	} {
		assert.Equal(t, code, trapCode(msg), "%q", msg)
	}
}

func TestHostFunctions(t *testing.T) {
	e := openEngine(t)
	m := compile(t, e, hostWAT, engine.CompileConfig{})

	t.Run("values", func(t *testing.T) {
		var got []uint64
		in := instantiate(t, m, hostFuncs(
			func(_ context.Context, _ engine.Caller, s []uint64) error {
				s[0] = uint64(uint32(int32(s[0]) * 2))
				return nil
			}, nil, nil,
			func(_ context.Context, _ engine.Caller, s []uint64) error {
				got = append([]uint64(nil), s...)
				p0, p1, p2, p3, p4 := s[0], s[1], s[2], s[3], s[4]
				s[0], s[1], s[2], s[3], s[4] = p3, p2, p1, p0, p4
				return nil
			}, nil))
		stack := []uint64{uint64(uint32(0xffff_fffe))} // -2
		require.NoError(t, fn(t, in, "call_double").Call(bg, stack))
		assert.Equal(t, uint64(uint32(0xffff_fffc)), stack[0])

		stack = []uint64{0xffff_ffff, 1 << 40, uint64(math.Float32bits(2.5)), math.Float64bits(3.25), 9}
		require.NoError(t, fn(t, in, "call_mixed").Call(bg, stack))
		assert.Equal(t, []uint64{0xffff_ffff, 1 << 40, uint64(math.Float32bits(2.5)), math.Float64bits(3.25), 9}, got,
			"params arrive zero-extended and in order")
		assert.Equal(t, []uint64{math.Float64bits(3.25), uint64(math.Float32bits(2.5)), 1 << 40, 0xffff_ffff, 9}, stack)
	})

	t.Run("error", func(t *testing.T) {
		hostErr := errors.New("host says no")
		fail := true
		in := instantiate(t, m, hostFuncs(nil, func(context.Context, engine.Caller, []uint64) error {
			if fail {
				return fmt.Errorf("wrapped: %w", hostErr)
			}
			return nil
		}, nil, nil, nil))
		err := fn(t, in, "call_fail").Call(bg, []uint64{5})
		require.ErrorIs(t, err, hostErr)
		var trap *engine.Trap
		assert.False(t, errors.As(err, &trap), "a host error is not a trap")
		// The error does not leak into the next call.
		fail = false
		stack := []uint64{5}
		require.NoError(t, fn(t, in, "call_fail").Call(bg, stack))
		assert.Equal(t, uint64(5), stack[0])
	})

	t.Run("panic", func(t *testing.T) {
		panicErr := errors.New("boom")
		in := instantiate(t, m, hostFuncs(nil, func(context.Context, engine.Caller, []uint64) error {
			panic(panicErr)
		}, nil, nil, nil))
		err := fn(t, in, "call_fail").Call(bg, []uint64{5})
		require.ErrorIs(t, err, panicErr)
		require.ErrorContains(t, err, "env.fail panicked")

		in2 := instantiate(t, m, hostFuncs(nil, func(context.Context, engine.Caller, []uint64) error {
			panic("a string")
		}, nil, nil, nil))
		require.ErrorContains(t, fn(t, in2, "call_fail").Call(bg, []uint64{5}), "panicked: a string")
		// The instance survives.
		stack := []uint64{1}
		require.NoError(t, fn(t, in2, "call_double").Call(bg, stack))
	})

	t.Run("ctx", func(t *testing.T) {
		type key struct{}
		var seen []any
		in := instantiate(t, m, hostFuncs(func(ctx context.Context, _ engine.Caller, s []uint64) error {
			seen = append(seen, ctx.Value(key{}))
			return nil
		}, nil, nil, nil, nil))
		f := fn(t, in, "call_double")
		require.NoError(t, f.Call(context.WithValue(bg, key{}, "one"), []uint64{1}))
		ctx, cancel := context.WithTimeout(context.WithValue(bg, key{}, "two"), time.Hour)
		defer cancel()
		require.NoError(t, f.Call(ctx, []uint64{1}))
		assert.Equal(t, []any{"one", "two"}, seen)
	})

	t.Run("reentry", func(t *testing.T) {
		// The host function allocates in the guest, writes there and
		// returns the pointer, as the ABI's host calls do.
		in := instantiate(t, m, hostFuncs(nil, nil, func(ctx context.Context, c engine.Caller, s []uint64) error {
			n := uint32(s[0])
			alloc := c.Function("allocate")
			if alloc == nil {
				return errors.New("no allocate")
			}
			st := []uint64{uint64(n)}
			if err := alloc.Call(ctx, st); err != nil {
				return err
			}
			p := uint32(st[0])
			mem := c.Memory()
			if mem == nil || !mem.Write(p, []byte(strings.Repeat("x", int(n)))) {
				return errors.New("write failed")
			}
			if c.Function("nope") != nil {
				return errors.New("unexpected function")
			}
			s[0] = uint64(p)
			return nil
		}, nil, nil))
		for range 3 {
			stack := []uint64{10}
			require.NoError(t, fn(t, in, "call_reenter").Call(bg, stack))
			b, ok := in.Memory().Read(uint32(stack[0]), 10)
			require.True(t, ok)
			assert.Equal(t, "xxxxxxxxxx", string(b))
		}
	})

	t.Run("recursive reentry", func(t *testing.T) {
		// guest -> host -> guest -> host ... n levels deep through the same
		// host function and export.
		in := instantiate(t, m, hostFuncs(nil, nil, func(ctx context.Context, c engine.Caller, s []uint64) error {
			n := s[0]
			if n == 0 {
				s[0] = 1000
				return nil
			}
			st := []uint64{n - 1}
			if err := c.Function("call_reenter").Call(ctx, st); err != nil {
				return err
			}
			s[0] = st[0] + n
			return nil
		}, nil, nil))
		stack := []uint64{20}
		require.NoError(t, fn(t, in, "call_reenter").Call(bg, stack))
		assert.Equal(t, uint64(1000+20*21/2), stack[0])
	})

	t.Run("nested error", func(t *testing.T) {
		// A trap in a nested call reaches the host function as a Trap; when
		// the host function returns it, the outer call returns it too.
		in := instantiate(t, m, hostFuncs(nil, nil, func(ctx context.Context, c engine.Caller, s []uint64) error {
			return c.Function("stack_overflow").Call(ctx, nil)
		}, nil, nil))
		err := fn(t, in, "call_reenter").Call(bg, []uint64{1})
		var trap *engine.Trap
		require.ErrorAs(t, err, &trap)
		assert.Equal(t, engine.TrapStackOverflow, trap.Code)
		// A host error two levels down reaches the outermost call.
		innerErr := errors.New("inner")
		in2 := instantiate(t, m, hostFuncs(nil,
			func(context.Context, engine.Caller, []uint64) error { return innerErr },
			func(ctx context.Context, c engine.Caller, s []uint64) error {
				return c.Function("call_fail").Call(ctx, []uint64{1})
			}, nil, nil))
		require.ErrorIs(t, fn(t, in2, "call_reenter").Call(bg, []uint64{1}), innerErr)
		// Swallowed nested errors do not leak.
		in3 := instantiate(t, m, hostFuncs(nil,
			func(context.Context, engine.Caller, []uint64) error { return errors.New("fail") },
			func(ctx context.Context, c engine.Caller, s []uint64) error {
				if err := c.Function("call_fail").Call(ctx, []uint64{1}); err == nil {
					return errors.New("expected an error")
				}
				s[0] = 77
				return nil
			}, nil, nil))
		stack := []uint64{1}
		require.NoError(t, fn(t, in3, "call_reenter").Call(bg, stack))
		assert.Equal(t, uint64(77), stack[0])
	})

	t.Run("per instance", func(t *testing.T) {
		mk := func(k uint64) engine.Instance {
			return instantiate(t, m, hostFuncs(func(_ context.Context, _ engine.Caller, s []uint64) error {
				s[0] *= k
				return nil
			}, nil, nil, nil, nil))
		}
		a, b := mk(3), mk(5)
		for range 2 {
			sa, sb := []uint64{7}, []uint64{7}
			require.NoError(t, fn(t, a, "call_double").Call(bg, sa))
			require.NoError(t, fn(t, b, "call_double").Call(bg, sb))
			assert.Equal(t, []uint64{21}, sa)
			assert.Equal(t, []uint64{35}, sb)
		}
	})

	t.Run("close inside host", func(t *testing.T) {
		var in engine.Instance
		in = instantiate(t, m, hostFuncs(func(context.Context, engine.Caller, []uint64) error {
			return in.Close(bg)
		}, nil, nil, nil, nil))
		require.ErrorContains(t, fn(t, in, "call_double").Call(bg, []uint64{1}), "while it is running")
	})

	t.Run("many calls", func(t *testing.T) {
		n := 0
		in := instantiate(t, m, hostFuncs(nil, nil, nil, nil, func(context.Context, engine.Caller, []uint64) error {
			n++
			return nil
		}))
		require.NoError(t, fn(t, in, "tick_n").Call(bg, []uint64{100000}))
		assert.Equal(t, 100000, n)
	})
}

func TestStart(t *testing.T) {
	e := openEngine(t)
	type key struct{}
	var got []uint64
	var gotCtx any
	m := compile(t, e, startWAT, engine.CompileConfig{})
	in, err := m.Instantiate(context.WithValue(bg, key{}, "start"), []engine.HostFunc{{
		Module: "env", Name: "started", Type: ft(vt(i32)),
		Call: func(ctx context.Context, _ engine.Caller, s []uint64) error {
			got = append(got, s[0])
			gotCtx = ctx.Value(key{})
			return nil
		},
	}}, engine.InstanceConfig{})
	require.NoError(t, err)
	require.NoError(t, in.Close(bg))
	assert.Equal(t, []uint64{7}, got)
	assert.Equal(t, "start", gotCtx)

	startErr := errors.New("no start for you")
	_, err = m.Instantiate(bg, []engine.HostFunc{{
		Module: "env", Name: "started", Type: ft(vt(i32)),
		Call: func(context.Context, engine.Caller, []uint64) error { return startErr },
	}}, engine.InstanceConfig{})
	require.ErrorIs(t, err, startErr)

	_, err = compile(t, e, startTrapWAT, engine.CompileConfig{}).Instantiate(bg, nil, engine.InstanceConfig{})
	var trap *engine.Trap
	require.ErrorAs(t, err, &trap)
	assert.Equal(t, engine.TrapUnreachable, trap.Code)
}

func TestMemoryLimit(t *testing.T) {
	e := openEngine(t)
	t.Run("fixture", func(t *testing.T) {
		in := instantiate(t, compileBytes(t, e, fixtures.MustBytes("wat/raw.wasm"), engine.CompileConfig{MemoryLimitPages: 3}), nil)
		grow := fn(t, in, "grow")
		stack := []uint64{2}
		require.NoError(t, grow.Call(bg, stack))
		assert.Equal(t, uint64(1), stack[0])
		stack[0] = 1
		require.NoError(t, grow.Call(bg, stack))
		assert.Equal(t, uint64(math.MaxUint32), stack[0], "memory.grow past the limit returns -1")
		assert.Equal(t, uint32(3*65536), in.Memory().Size())
		// The allocator traps when it cannot grow.
		stack[0] = 3 * 65536
		var trap *engine.Trap
		require.ErrorAs(t, fn(t, in, "allocate").Call(bg, stack), &trap)
		assert.Equal(t, engine.TrapUnreachable, trap.Code)
	})
	t.Run("no limit", func(t *testing.T) {
		in := instantiate(t, compile(t, e, rawWAT, engine.CompileConfig{}), nil)
		stack := []uint64{100}
		require.NoError(t, fn(t, in, "grow").Call(bg, stack))
		assert.Equal(t, uint64(1), stack[0])
	})
	t.Run("declared max within the limit", func(t *testing.T) {
		in := instantiate(t, compile(t, e, `(module (memory 1 2) (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))`,
			engine.CompileConfig{MemoryLimitPages: 5}), nil)
		stack := []uint64{2}
		require.NoError(t, fn(t, in, "grow").Call(bg, stack))
		assert.Equal(t, uint64(math.MaxUint32), stack[0], "the module's own max still applies")
		stack[0] = 1
		require.NoError(t, fn(t, in, "grow").Call(bg, stack))
		assert.Equal(t, uint64(1), stack[0])
	})
	t.Run("rejected", func(t *testing.T) {
		_, err := e.Compile(bg, wat(t, `(module (memory 1 10))`), engine.CompileConfig{MemoryLimitPages: 5})
		require.ErrorContains(t, err, "max 10 pages over limit of 5 pages")
		_, err = e.Compile(bg, wat(t, `(module (memory 6))`), engine.CompileConfig{MemoryLimitPages: 5})
		require.ErrorContains(t, err, "min 6 pages over limit of 5 pages")
		_, err = e.Compile(bg, wat(t, `(module (memory 1))`), engine.CompileConfig{MemoryLimitPages: 65537})
		require.ErrorContains(t, err, "exceeds 65536")
	})
	t.Run("no memory", func(t *testing.T) {
		in := instantiate(t, compile(t, e, `(module (func (export "f")))`, engine.CompileConfig{MemoryLimitPages: 1}), nil)
		require.NoError(t, fn(t, in, "f").Call(bg, nil))
		assert.Nil(t, in.Memory())
	})
}

func TestApplyMemoryLimit(t *testing.T) {
	// With the limit written in, a module equals the one declaring it.
	for src, want := range map[string]string{
		`(module (memory 1) (func (export "f")) (data (i32.const 0) "hi"))`:  `(module (memory 1 3) (func (export "f")) (data (i32.const 0) "hi"))`,
		`(module (memory 2 3) (func (export "f")))`:                          `(module (memory 2 3) (func (export "f")))`,
		`(module (memory 0 1))`:                                              `(module (memory 0 1))`,
		`(module (func (export "f")))`:                                       `(module (func (export "f")))`,
		`(module (memory 1) (global i32 (i32.const 1)) (func (export "f")))`: `(module (memory 1 3) (global i32 (i32.const 1)) (func (export "f")))`,
	} {
		got, err := applyMemoryLimit(wat(t, src), 3)
		require.NoError(t, err, src)
		assert.Equal(t, wat(t, want), got, src)
	}
	// A limit needing a longer LEB128 changes the section size.
	got, err := applyMemoryLimit(wat(t, `(module (memory 1) (func (export "f")))`), 65536)
	require.NoError(t, err)
	assert.Equal(t, wat(t, `(module (memory 1 65536) (func (export "f")))`), got)

	same := wat(t, `(module (memory 1))`)
	got, err = applyMemoryLimit(same, 0)
	require.NoError(t, err)
	assert.Equal(t, same, got)

	for _, b := range [][]byte{nil, []byte("\x00asm"), []byte("\x00asm\x01\x00\x00\x00\x05\x09"), []byte("xxxxxxxxxx")} {
		_, err := applyMemoryLimit(b, 3)
		require.ErrorIs(t, err, errMalformed, "%q", b)
	}
	// memory64 flags are not rewritten.
	_, err = applyMemoryLimit([]byte("\x00asm\x01\x00\x00\x00\x05\x03\x01\x04\x01"), 3)
	require.ErrorIs(t, err, errMalformed)
}

func TestMemoryBounds(t *testing.T) {
	e := openEngine(t)
	in := instantiate(t, compile(t, e, rawWAT, engine.CompileConfig{}), nil)
	mem := in.Memory()
	require.NotNil(t, mem)
	assert.Same(t, mem.(*wrMemory), in.Memory().(*wrMemory))
	size := mem.Size()
	assert.Equal(t, uint32(65536), size)

	require.True(t, mem.Write(size-3, []byte("abc")))
	b, ok := mem.Read(size-3, 3)
	require.True(t, ok)
	assert.Equal(t, "abc", string(b))
	_, ok = mem.Read(size-3, 4)
	assert.False(t, ok)
	assert.False(t, mem.Write(size-2, []byte("abc")))
	b, _ = mem.Read(size-3, 3)
	assert.Equal(t, "abc", string(b), "a refused write writes nothing")
	_, ok = mem.Read(math.MaxUint32, 2)
	assert.False(t, ok, "offset+length overflows 32 bits")
	b, ok = mem.Read(size, 0)
	assert.True(t, ok)
	assert.Empty(t, b)
	_, ok = mem.Read(size+1, 0)
	assert.False(t, ok)
	assert.True(t, mem.Write(size, nil))

	// Growing from the guest is seen at once.
	require.NoError(t, fn(t, in, "grow").Call(bg, []uint64{1}))
	assert.Equal(t, uint32(2*65536), mem.Size())
	require.True(t, mem.Write(2*65536-1, []byte{7}))
}

func TestGlobals(t *testing.T) {
	e := openEngine(t)
	m := compile(t, e, rawWAT, engine.CompileConfig{})
	in := instantiate(t, m, nil)
	g := in

	assert.Nil(t, g.Global("nope"))
	assert.Nil(t, g.Global("add"), "not a global")

	answer := g.Global("answer")
	require.NotNil(t, answer)
	assert.Equal(t, engine.I32, answer.Type())
	assert.Equal(t, uint64(42), answer.Get())
	answer.Set(7) // immutable: a no-op
	assert.Equal(t, uint64(42), answer.Get())

	gi := g.Global("g_i32")
	assert.Equal(t, engine.I32, gi.Type())
	assert.Equal(t, uint64(uint32(0xffff_fff9)), gi.Get(), "-7, zero-extended")
	gi.Set(0xffff_ffff_0000_0005) // upper half ignored
	assert.Equal(t, uint64(5), gi.Get())
	stack := []uint64{0}
	require.NoError(t, fn(t, in, "get_i32").Call(bg, stack))
	assert.Equal(t, uint64(5), stack[0], "the guest sees the new value")

	g64 := g.Global("g_i64")
	assert.Equal(t, engine.I64, g64.Type())
	assert.Equal(t, uint64(math.MaxUint64-8), g64.Get())
	g64.Set(1 << 62)
	assert.Equal(t, uint64(1<<62), g64.Get())

	gf := g.Global("g_f32")
	assert.Equal(t, engine.F32, gf.Type())
	assert.Equal(t, uint64(math.Float32bits(1.5)), gf.Get())
	gf.Set(uint64(math.Float32bits(-0.25)))
	assert.Equal(t, uint64(math.Float32bits(-0.25)), gf.Get())

	gd := g.Global("g_f64")
	assert.Equal(t, engine.F64, gd.Type())
	assert.Equal(t, math.Float64bits(-2.25), gd.Get())
	gd.Set(math.Float64bits(math.Pi))
	assert.Equal(t, math.Float64bits(math.Pi), gd.Get())

	assert.Same(t, gi.(*wrGlobal), g.Global("g_i32").(*wrGlobal), "cached")
	// Other instances have their own globals.
	other := instantiate(t, m, nil)
	assert.Equal(t, uint64(uint32(0xffff_fff9)), other.Global("g_i32").Get())

	// After Close: no crash, no value.
	require.NoError(t, in.Close(bg))
	assert.Equal(t, uint64(0), gi.Get())
	gi.Set(9)
	assert.Nil(t, g.Global("g_i32"))
}

func TestClose(t *testing.T) {
	e, err := driver{}.Open(engine.Config{})
	require.NoError(t, err)
	m, err := e.Compile(bg, wat(t, rawWAT), engine.CompileConfig{})
	require.NoError(t, err)
	in, err := m.Instantiate(bg, nil, engine.InstanceConfig{})
	require.NoError(t, err)
	add, mem := in.Function("add"), in.Memory()
	require.NoError(t, add.Call(bg, []uint64{1, 2}))

	require.NoError(t, in.Close(bg))
	require.NoError(t, in.Close(bg), "idempotent")
	require.ErrorIs(t, add.Call(bg, []uint64{1, 2}), errInstanceClosed)
	assert.Nil(t, in.Function("add"))
	assert.Nil(t, in.Memory())
	assert.Equal(t, uint32(0), mem.Size())
	_, ok := mem.Read(0, 1)
	assert.False(t, ok)
	assert.False(t, mem.Write(0, []byte{1}))

	require.NoError(t, m.Close(bg))
	require.NoError(t, m.Close(bg))
	_, err = m.Instantiate(bg, nil, engine.InstanceConfig{})
	require.ErrorIs(t, err, errModuleClosed)

	require.NoError(t, e.Close(bg))
	require.NoError(t, e.Close(bg))
	_, err = e.Compile(bg, wat(t, rawWAT), engine.CompileConfig{})
	require.ErrorIs(t, err, errEngineClosed)
}

func TestConcurrentInstances(t *testing.T) {
	e := openEngine(t)
	m := compile(t, e, hostWAT, engine.CompileConfig{})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				k := uint64(g*1000 + i)
				in, err := m.Instantiate(bg, hostFuncs(func(_ context.Context, _ engine.Caller, s []uint64) error {
					s[0] += k
					return nil
				}, nil, nil, nil, nil), engine.InstanceConfig{})
				if err != nil {
					errs <- err
					return
				}
				stack := []uint64{1}
				err = in.Function("call_double").Call(bg, stack)
				if err == nil && stack[0] != k+1 {
					err = fmt.Errorf("instance %d saw %d", k, stack[0])
				}
				if cerr := in.Close(bg); err == nil {
					err = cerr
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}
