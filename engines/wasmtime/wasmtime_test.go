//go:build cgo && !wazero && !wasmer

package wasmtime

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/internal/wasmbin"
	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

var bg = context.Background()

func TestRegistered(t *testing.T) {
	assert.Contains(t, engine.Drivers(), "wasmtime")
	e := openEngine(t)
	assert.Equal(t, "wasmtime", e.Name())
	assert.Equal(t, engine.Capabilities{Interrupt: true, MemoryLimit: true}, e.Capabilities())
}

func TestCompileMalformed(t *testing.T) {
	e := openEngine(t)
	for name, b := range map[string][]byte{
		"nil":         nil,
		"empty":       {},
		"text":        []byte("not wasm at all"),
		"magic only":  {0x00, 0x61, 0x73, 0x6d},
		"bad version": {0x00, 0x61, 0x73, 0x6d, 0x02, 0x00, 0x00, 0x00},
		"truncated":   wat(t, rawWAT)[:40],
		// A type section claiming more entries than there are bytes.
		"bad section": {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0xff, 0xff, 0xff, 0xff, 0x0f},
	} {
		t.Run(name, func(t *testing.T) {
			m, err := e.Compile(bg, b, engine.CompileConfig{})
			require.Error(t, err)
			assert.Nil(t, m)
			assert.Contains(t, err.Error(), "wasmtime: compile:")
		})
	}

	// Invalid (well-formed but ill-typed) and disabled-feature modules.
	for name, src := range map[string]string{
		"ill-typed": `(module (func (result i32) (i64.const 1)))`,
		"threads":   `(module (memory 1 1 shared))`,
		"tail call": `(module (func $f (return_call $f)))`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := e.Compile(bg, wat(t, src), engine.CompileConfig{})
			require.Error(t, err)
		})
	}

	ctx, cancel := context.WithCancel(bg)
	cancel()
	_, err := e.Compile(ctx, wat(t, rawWAT), engine.CompileConfig{})
	require.ErrorIs(t, err, context.Canceled)
}

func TestImportsExports(t *testing.T) {
	e := openEngine(t)
	m := compile(t, e, importsWAT, engine.CompileConfig{})
	assert.Equal(t, []engine.Import{
		{Module: "env", Name: "mem", Kind: engine.ExternMemory},
		{Module: "env", Name: "f", Kind: engine.ExternFunc, Type: ft(vt(i64), f32)},
	}, m.Imports())
	assert.Equal(t, []engine.Export{
		{Name: "g", Kind: engine.ExternFunc, Type: ft(vt(f64, i32))},
	}, m.Exports())
	// Only function imports are allowed.
	_, err := m.Instantiate(bg, []engine.HostFunc{{Module: "env", Name: "f", Type: ft(vt(i64), f32),
		Call: func(context.Context, engine.Caller, []uint64) error { return nil }}}, engine.InstanceConfig{})
	require.ErrorContains(t, err, "only functions can be imported")

	raw := compile(t, e, rawWAT, engine.CompileConfig{})
	assert.Empty(t, raw.Imports())
	byName := map[string]engine.Export{}
	for _, x := range raw.Exports() {
		byName[x.Name] = x
	}
	assert.Equal(t, engine.Export{Name: "memory", Kind: engine.ExternMemory}, byName["memory"])
	assert.Equal(t, engine.Export{Name: "table", Kind: engine.ExternTable}, byName["table"])
	assert.Equal(t, engine.Export{Name: "answer", Kind: engine.ExternGlobal}, byName["answer"])
	assert.Equal(t, ft(vt(i32, i32), i32), byName["add"].Type)
	assert.Equal(t, ft(vt(i64), i64), byName["sum_to"].Type)
	assert.Equal(t, ft(nil), byName["nop"].Type)
	assert.Equal(t, ft(vt(i32, i64), i64, i32), byName["swap"].Type)
	assert.Equal(t, "add", raw.Exports()[2].Name, "declaration order")

	in := instantiate(t, raw, nil)
	assert.Nil(t, in.Function("nope"))
	assert.Nil(t, in.Function("memory"), "not a function")
	assert.Nil(t, in.Function("answer"))
	// A function whose signature has a reference type cannot be called.
	require.ErrorContains(t, fn(t, in, "ref_param").Call(bg, make([]uint64, 1)), "non-numeric")

	// Missing and mistyped host functions.
	hm := compile(t, e, hostWAT, engine.CompileConfig{})
	_, err = hm.Instantiate(bg, hostFuncs(nil, nil, nil, nil, nil)[1:], engine.InstanceConfig{})
	require.ErrorContains(t, err, "no host function for import env.double")
	bad := hostFuncs(nil, nil, nil, nil, nil)
	bad[0].Type = ft(vt(i64), i32)
	_, err = hm.Instantiate(bg, bad, engine.InstanceConfig{})
	require.ErrorContains(t, err, "has type")

	// Reference-typed imports cannot be host functions.
	rm := compile(t, e, `(module (import "env" "r" (func (param externref))))`, engine.CompileConfig{})
	_, err = rm.Instantiate(bg, []engine.HostFunc{{Module: "env", Name: "r", Type: rm.Imports()[0].Type,
		Call: func(context.Context, engine.Caller, []uint64) error { return nil }}}, engine.InstanceConfig{})
	require.ErrorContains(t, err, "numbers only")
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
	stack = []uint64{uint64(math.Float32bits(-1.5))}
	require.NoError(t, fn(t, in, "f32_id").Call(bg, stack))
	assert.Equal(t, uint64(math.Float32bits(-1.5)), stack[0])

	stack = []uint64{100000}
	require.NoError(t, fn(t, in, "sum_to").Call(bg, stack))
	assert.Equal(t, uint64(100000*100001/2), stack[0])

	stack = []uint64{7, math.MaxUint64}
	require.NoError(t, fn(t, in, "swap").Call(bg, stack))
	assert.Equal(t, []uint64{math.MaxUint64, 7}, stack)

	stack = []uint64{1, 1 << 40, uint64(math.Float32bits(2.5)), math.Float64bits(3.25), 0xffff_ffff}
	require.NoError(t, fn(t, in, "many").Call(bg, stack))
	assert.Equal(t, []uint64{math.Float64bits(3.25), uint64(math.Float32bits(2.5)), 1 << 40, 1, 0xffff_ffff}, stack)

	// More results than params: the stack needs room for the results.
	require.ErrorContains(t, fn(t, in, "swap").Call(bg, []uint64{1}), "stack has 1 values, need 2")
	require.Error(t, add.Call(bg, nil))

	// A nil context is taken as context.Background.
	stack = []uint64{1, 2}
	require.NoError(t, add.Call(nil, stack)) //nolint:staticcheck // deliberately nil
	assert.Equal(t, uint64(3), stack[0])

	// The same Function is returned each time.
	assert.Same(t, add.(*wtFunction), in.Function("add").(*wtFunction))
}

func TestTraps(t *testing.T) {
	e := openEngine(t)
	in := instantiate(t, compile(t, e, trapsWAT, engine.CompileConfig{}), nil)
	for name, code := range map[string]engine.TrapCode{
		"unreachable":       engine.TrapUnreachable,
		"div_zero":          engine.TrapIntegerDivideByZero,
		"int_overflow":      engine.TrapIntegerOverflow,
		"oob_load":          engine.TrapOutOfBoundsMemory,
		"bad_conversion":    engine.TrapInvalidConversion,
		"stack_overflow":    engine.TrapStackOverflow,
		"indirect_mismatch": engine.TrapIndirectCallTypeMismatch,
		"table_oob":         engine.TrapOutOfBoundsTable,
		"null_call":         engine.TrapOutOfBoundsTable, // as wazero reports it
	} {
		t.Run(name, func(t *testing.T) {
			err := fn(t, in, name).Call(bg, nil)
			var trap *engine.Trap
			require.ErrorAs(t, err, &trap)
			assert.Equal(t, code, trap.Code, "message: %s", trap.Message)
			assert.NotEmpty(t, trap.Message)
			// The instance is still usable after a trap.
			require.NoError(t, fn(t, in, "ok").Call(bg, nil))
		})
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

	t.Run("nested error", func(t *testing.T) {
		// A trap in a nested call reaches the host function as a Trap; when
		// the host function returns it, the outer call returns it too.
		in := instantiate(t, m, hostFuncs(nil, nil, func(ctx context.Context, c engine.Caller, s []uint64) error {
			return c.Function("loop_forever").Call(ctx, nil)
		}, nil, nil))
		ctx, cancel := context.WithTimeout(bg, 50*time.Millisecond)
		defer cancel()
		err := fn(t, in, "call_reenter").Call(ctx, []uint64{1})
		var trap *engine.Trap
		require.ErrorAs(t, err, &trap)
		assert.Equal(t, engine.TrapInterrupted, trap.Code)
		// Swallowed nested errors do not leak.
		in2 := instantiate(t, m, hostFuncs(nil,
			func(context.Context, engine.Caller, []uint64) error { return errors.New("fail") },
			func(ctx context.Context, c engine.Caller, s []uint64) error {
				if err := c.Function("call_fail").Call(ctx, []uint64{1}); err == nil {
					return errors.New("expected an error")
				}
				s[0] = 77
				return nil
			}, nil, nil))
		stack := []uint64{1}
		require.NoError(t, fn(t, in2, "call_reenter").Call(bg, stack))
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

	ctx, cancel := context.WithTimeout(bg, 50*time.Millisecond)
	defer cancel()
	_, err = compile(t, e, startLoopWAT, engine.CompileConfig{}).Instantiate(ctx, nil, engine.InstanceConfig{})
	require.ErrorAs(t, err, &trap)
	assert.Equal(t, engine.TrapInterrupted, trap.Code)
}

func TestInterrupt(t *testing.T) {
	e := openEngine(t)
	m := compile(t, e, rawWAT, engine.CompileConfig{})

	t.Run("deadline", func(t *testing.T) {
		in := instantiate(t, m, nil)
		ctx, cancel := context.WithTimeout(bg, 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := fn(t, in, "loop_forever").Call(ctx, nil)
		var trap *engine.Trap
		require.ErrorAs(t, err, &trap)
		assert.Equal(t, engine.TrapInterrupted, trap.Code)
		assert.Contains(t, trap.Message, context.DeadlineExceeded.Error())
		assert.Less(t, time.Since(start), 5*time.Second)
		// Usable afterwards.
		stack := []uint64{1, 2}
		require.NoError(t, fn(t, in, "add").Call(bg, stack))
		assert.Equal(t, uint64(3), stack[0])
	})

	t.Run("cancel", func(t *testing.T) {
		in := instantiate(t, m, nil)
		ctx, cancel := context.WithCancel(bg)
		time.AfterFunc(20*time.Millisecond, cancel)
		err := fn(t, in, "loop_forever").Call(ctx, nil)
		var trap *engine.Trap
		require.ErrorAs(t, err, &trap)
		assert.Equal(t, engine.TrapInterrupted, trap.Code)
		assert.Contains(t, trap.Message, context.Canceled.Error())
	})

	t.Run("already done", func(t *testing.T) {
		in := instantiate(t, m, nil)
		ctx, cancel := context.WithCancel(bg)
		cancel()
		var trap *engine.Trap
		require.ErrorAs(t, fn(t, in, "nop").Call(ctx, nil), &trap)
		assert.Equal(t, engine.TrapInterrupted, trap.Code)
	})

	t.Run("others unaffected", func(t *testing.T) {
		// While one instance's call is interrupted (repeatedly), another
		// instance's long call without a deadline and a third's with a
		// long deadline both complete with the right result.
		a, b, c := instantiate(t, m, nil), instantiate(t, m, nil), instantiate(t, m, nil)
		n := uint64(300_000_000)
		var wg sync.WaitGroup
		var errB, errC error
		sb, sc := []uint64{n}, []uint64{n}
		wg.Add(2)
		go func() { defer wg.Done(); errB = fn(t, b, "sum_to").Call(bg, sb) }()
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(bg, time.Hour)
			defer cancel()
			errC = fn(t, c, "sum_to").Call(ctx, sc)
		}()
		for range 5 {
			ctx, cancel := context.WithTimeout(bg, 10*time.Millisecond)
			err := fn(t, a, "loop_forever").Call(ctx, nil)
			cancel()
			var trap *engine.Trap
			require.ErrorAs(t, err, &trap)
			assert.Equal(t, engine.TrapInterrupted, trap.Code)
		}
		wg.Wait()
		require.NoError(t, errB)
		require.NoError(t, errC)
		assert.Equal(t, n*(n+1)/2, sb[0])
		assert.Equal(t, n*(n+1)/2, sc[0])
	})

	t.Run("during host call", func(t *testing.T) {
		hm := compile(t, e, hostWAT, engine.CompileConfig{})
		in := instantiate(t, hm, hostFuncs(nil, nil, nil, nil, func(ctx context.Context, _ engine.Caller, _ []uint64) error {
			time.Sleep(time.Millisecond)
			return nil
		}))
		ctx, cancel := context.WithTimeout(bg, 30*time.Millisecond)
		defer cancel()
		var trap *engine.Trap
		require.ErrorAs(t, fn(t, in, "tick_forever").Call(ctx, nil), &trap)
		assert.Equal(t, engine.TrapInterrupted, trap.Code)
	})

	t.Run("outer context", func(t *testing.T) {
		// The host re-enters the guest with an uncancellable context after
		// the outer one is done: the outer guest code is still stopped.
		// The host swallows the nested call's outcome.
		hm := compile(t, e, hostWAT, engine.CompileConfig{})
		calls := 0
		in := instantiate(t, hm, hostFuncs(nil, nil, nil, nil, func(ctx context.Context, c engine.Caller, _ []uint64) error {
			calls++
			if calls == 1 {
				<-ctx.Done()
				_ = c.Function("allocate").Call(bg, []uint64{8})
			}
			return nil
		}))
		ctx, cancel := context.WithTimeout(bg, 20*time.Millisecond)
		defer cancel()
		var trap *engine.Trap
		require.ErrorAs(t, fn(t, in, "tick_forever").Call(ctx, nil), &trap)
		assert.Equal(t, engine.TrapInterrupted, trap.Code)
	})
}

func TestMemoryLimit(t *testing.T) {
	e := openEngine(t)
	m := compile(t, e, rawWAT, engine.CompileConfig{MemoryLimitPages: 3})
	in := instantiate(t, m, nil)
	grow := fn(t, in, "grow")
	stack := []uint64{2}
	require.NoError(t, grow.Call(bg, stack))
	assert.Equal(t, uint64(1), stack[0], "previous size")
	stack = []uint64{1}
	require.NoError(t, grow.Call(bg, stack))
	assert.Equal(t, uint64(math.MaxUint32), stack[0], "-1: over the limit")
	assert.Equal(t, uint32(3*65536), in.Memory().Size())

	// Without a limit the same grow succeeds.
	in2 := instantiate(t, compile(t, e, rawWAT, engine.CompileConfig{}), nil)
	stack = []uint64{3}
	require.NoError(t, fn(t, in2, "grow").Call(bg, stack))
	assert.Equal(t, uint64(1), stack[0])

	// As on wazero, a memory whose declared minimum or maximum exceeds the
	// limit does not compile, nor does a limit above 4 GiB.
	for src, msg := range map[string]string{
		`(module (memory 4))`:          "memory[0] min 4 pages over limit of 2 pages",
		`(module (memory 1 3))`:        "memory[0] max 3 pages over limit of 2 pages",
		`(module (memory 1 2) (func))`: "",
		`(module (func))`:              "",
		`(module (memory 2))`:          "",
	} {
		_, err := e.Compile(bg, wat(t, src), engine.CompileConfig{MemoryLimitPages: 2})
		if msg == "" {
			require.NoError(t, err, src)
		} else {
			require.ErrorContains(t, err, msg, src)
		}
	}
	_, err := e.Compile(bg, wat(t, rawWAT), engine.CompileConfig{MemoryLimitPages: 65537})
	require.ErrorContains(t, err, "exceeds 65536")
	in3 := instantiate(t, compile(t, e, rawWAT, engine.CompileConfig{MemoryLimitPages: 65536}), nil)
	stack = []uint64{1}
	require.NoError(t, fn(t, in3, "grow").Call(bg, stack))
	assert.Equal(t, uint64(1), stack[0])
}

func TestMemoryLimitsParser(t *testing.T) {
	got, err := wasmbin.Memories(wat(t, `(module (type (func)) (memory 3 70) (func (type 0)) (export "m" (memory 0)))`))
	require.NoError(t, err)
	assert.Equal(t, []wasmbin.Memory{{Min: 3, Max: 70, HasMax: true}}, got)
	got, err = wasmbin.Memories(wat(t, `(module)`))
	require.NoError(t, err)
	assert.Empty(t, got)
	// Truncations of a valid module never panic.
	b := wat(t, rawWAT)
	for i := range b {
		assert.NotPanics(t, func() { _, _ = wasmbin.Memories(b[:i]) })
	}
	_, err = wasmbin.Memories([]byte{0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	require.Error(t, err)
}

func TestMemoryBounds(t *testing.T) {
	e := openEngine(t)
	in := instantiate(t, compile(t, e, rawWAT, engine.CompileConfig{}), nil)
	mem := in.Memory()
	require.NotNil(t, mem)
	size := mem.Size()
	assert.Equal(t, uint32(65536), size)

	assert.True(t, mem.Write(size-4, []byte{1, 2, 3, 4}))
	b, ok := mem.Read(size-4, 4)
	require.True(t, ok)
	assert.Equal(t, []byte{1, 2, 3, 4}, b)
	b, ok = mem.Read(size, 0)
	assert.True(t, ok)
	assert.Empty(t, b)
	assert.True(t, mem.Write(size, nil))

	for _, c := range []struct{ off, n uint32 }{
		{size - 3, 4}, {size, 1}, {size + 1, 0}, {math.MaxUint32, 1}, {math.MaxUint32, math.MaxUint32},
		{1, math.MaxUint32}, {0, size + 1}, {math.MaxUint32 - 1, 3},
	} {
		_, ok := mem.Read(c.off, c.n)
		assert.False(t, ok, "read %d+%d", c.off, c.n)
	}
	assert.False(t, mem.Write(size-3, []byte{9, 9, 9, 9}))
	assert.False(t, mem.Write(math.MaxUint32, []byte{9}))
	assert.False(t, mem.Write(size+1, nil))
	b, _ = mem.Read(size-4, 4)
	assert.Equal(t, []byte{1, 2, 3, 4}, b, "a failed write writes nothing")

	// Reads alias the memory.
	b, _ = mem.Read(100, 1)
	require.True(t, mem.Write(100, []byte{42}))
	assert.Equal(t, byte(42), b[0])

	// Growth is visible to the host.
	stack := []uint64{1}
	require.NoError(t, fn(t, in, "grow").Call(bg, stack))
	assert.Equal(t, uint32(2*65536), mem.Size())
	assert.True(t, mem.Write(2*65536-1, []byte{7}))

	// The base pointer stays put as the memory grows (the Go side caches
	// it), and accesses past the cached size see the growth.
	wm := mem.(*wtMemory)
	base := in.(*wtInstance).memData
	require.NotNil(t, base)
	stack = []uint64{2000}
	require.NoError(t, fn(t, in, "grow").Call(bg, stack))
	assert.True(t, mem.Write(2002*65536-1, []byte{8}), "past the cached size")
	require.True(t, wm.refresh())
	assert.Equal(t, base, in.(*wtInstance).memData, "memory moved")
	assert.Equal(t, uint32(2002*65536), mem.Size())

	// Instances without a memory.
	in2 := instantiate(t, compile(t, e, trapsWAT, engine.CompileConfig{}), nil)
	assert.Nil(t, in2.Memory())
}

func TestClose(t *testing.T) {
	d, _ := engine.Lookup(Name)
	e, err := d.Open(engine.Config{})
	require.NoError(t, err)
	m, err := e.Compile(bg, wat(t, rawWAT), engine.CompileConfig{})
	require.NoError(t, err)
	in, err := m.Instantiate(bg, nil, engine.InstanceConfig{})
	require.NoError(t, err)
	add := in.Function("add")
	mem := in.Memory()
	require.NotNil(t, mem)

	require.NoError(t, in.Close(bg))
	require.NoError(t, in.Close(bg))
	assert.Nil(t, in.Function("add"))
	assert.Nil(t, in.Memory())
	require.ErrorIs(t, add.Call(bg, []uint64{1, 2}), errInstanceClosed)
	_, ok := mem.Read(0, 1)
	assert.False(t, ok)
	assert.False(t, mem.Write(0, []byte{1}))
	assert.Equal(t, uint32(0), mem.Size())

	require.NoError(t, m.Close(bg))
	require.NoError(t, m.Close(bg))
	_, err = m.Instantiate(bg, nil, engine.InstanceConfig{})
	require.ErrorIs(t, err, errModuleClosed)

	require.NoError(t, e.Close(bg))
	require.NoError(t, e.Close(bg))
	_, err = e.Compile(bg, wat(t, rawWAT), engine.CompileConfig{})
	require.ErrorIs(t, err, errEngineClosed)
}

func TestEpochTicker(t *testing.T) {
	d, _ := engine.Lookup(Name)
	e, err := d.Open(engine.Config{})
	require.NoError(t, err)
	we := e.(*wtEngine)
	m, err := e.Compile(bg, wat(t, rawWAT), engine.CompileConfig{})
	require.NoError(t, err)
	in, err := m.Instantiate(bg, nil, engine.InstanceConfig{})
	require.NoError(t, err)

	// Uncancellable calls never start the ticker.
	require.NoError(t, in.Function("nop").Call(bg, nil))
	assert.False(t, we.ticking.Load())

	// A cancellable call starts it; it stops once no such call runs.
	ctx, cancel := context.WithTimeout(bg, 20*time.Millisecond)
	defer cancel()
	var trap *engine.Trap
	require.ErrorAs(t, in.Function("loop_forever").Call(ctx, nil), &trap)
	assert.Equal(t, int64(0), we.active.Load())
	assert.Eventually(t, func() bool { return !we.ticking.Load() }, 5*time.Second, time.Millisecond)

	assert.Eventually(t, func() bool { return tickers() == 0 }, 5*time.Second, time.Millisecond)

	// Close waits for a running ticker to exit.
	we.watch()
	require.True(t, we.ticking.Load())
	assert.Eventually(t, func() bool { return tickers() == 1 }, 5*time.Second, time.Millisecond)
	require.NoError(t, in.Close(bg))
	require.NoError(t, m.Close(bg))
	require.NoError(t, e.Close(bg))
	assert.Equal(t, 0, tickers(), "ticker goroutine still running after Close")
	we.unwatch()
	we.watch() // on a closed engine: no ticker
	assert.Equal(t, 0, tickers())
	we.unwatch()
}

// tickers counts the running epoch ticker goroutines.
func tickers() int {
	buf := make([]byte, 1<<20)
	buf = buf[:goruntime.Stack(buf, true)]
	return strings.Count(string(buf), "(*wtEngine).tick(")
}

// rss returns the resident set size in bytes (Linux only, else 0).
func rss() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

func TestInstantiateCloseNoLeak(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	e := openEngine(t)
	m := compile(t, e, hostWAT, engine.CompileConfig{})
	host := hostFuncs(func(_ context.Context, _ engine.Caller, s []uint64) error { s[0]++; return nil }, nil, nil, nil, nil)
	cycle := func() {
		in, err := m.Instantiate(bg, host, engine.InstanceConfig{})
		require.NoError(t, err)
		stack := []uint64{1}
		require.NoError(t, in.Function("call_double").Call(bg, stack))
		require.True(t, in.Memory().Write(0, []byte("x")))
		require.NoError(t, in.Close(bg))
	}
	for range 1000 {
		cycle()
	}
	before := rss()
	for range 10000 {
		cycle()
	}
	after := rss()
	t.Logf("RSS before %d MiB, after %d MiB", before>>20, after>>20)
	if before > 0 {
		assert.Less(t, after, before+64<<20, "RSS grew by more than 64 MiB over 10,000 instances")
	}
}

func TestConcurrentInstances(t *testing.T) {
	e := openEngine(t)
	m := compile(t, e, hostWAT, engine.CompileConfig{})
	raw := compile(t, e, rawWAT, engine.CompileConfig{})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- func() error {
				k := uint64(g + 2)
				in, err := m.Instantiate(bg, hostFuncs(func(ctx context.Context, c engine.Caller, s []uint64) error {
					st := []uint64{16}
					if err := c.Function("allocate").Call(ctx, st); err != nil {
						return err
					}
					s[0] *= k
					return nil
				}, nil, nil, nil, nil), engine.InstanceConfig{})
				if err != nil {
					return err
				}
				defer in.Close(bg)
				r, err := raw.Instantiate(bg, nil, engine.InstanceConfig{})
				if err != nil {
					return err
				}
				defer r.Close(bg)
				for i := range uint64(2000) {
					s := []uint64{i}
					ctx, cancel := context.WithTimeout(bg, time.Minute)
					err := in.Function("call_double").Call(ctx, s)
					cancel()
					if err != nil {
						return err
					}
					if s[0] != uint64(uint32(i*k)) {
						return fmt.Errorf("goroutine %d: got %d want %d", g, s[0], i*k)
					}
					s = []uint64{i, 1}
					if err := r.Function("add").Call(bg, s); err != nil {
						return err
					}
					if s[0] != i+1 {
						return fmt.Errorf("add: got %d", s[0])
					}
					if !r.Memory().Write(uint32(i), []byte{byte(g)}) {
						return errors.New("write")
					}
				}
				if g%2 == 0 {
					ctx, cancel := context.WithTimeout(bg, 5*time.Millisecond)
					defer cancel()
					var trap *engine.Trap
					if err := r.Function("loop_forever").Call(ctx, nil); !errors.As(err, &trap) || trap.Code != engine.TrapInterrupted {
						return fmt.Errorf("loop_forever: %v", err)
					}
				}
				return nil
			}()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}
