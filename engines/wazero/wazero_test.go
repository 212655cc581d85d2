package wazero_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero/experimental"

	"github.com/aspect-rt/aspect-runtime/engines/wazero"
	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

var (
	i32 = engine.I32
	i64 = engine.I64
	f32 = engine.F32
	f64 = engine.F64
)

func testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

func openEngine(t testing.TB) engine.Engine {
	t.Helper()
	d, ok := engine.Lookup(wazero.Name)
	require.True(t, ok, "driver not registered")
	e, err := d.Open(engine.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, e.Close(context.Background())) })
	return e
}

func compile(t testing.TB, e engine.Engine, name string, cfg engine.CompileConfig) engine.Module {
	t.Helper()
	m, err := e.Compile(context.Background(), testdata(t, name), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, m.Close(context.Background())) })
	return m
}

func instantiate(t testing.TB, m engine.Module, host []engine.HostFunc) engine.Instance {
	t.Helper()
	inst, err := m.Instantiate(context.Background(), host, engine.InstanceConfig{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, inst.Close(context.Background())) })
	return inst
}

// call calls the export name with args and returns its results.
func call(t testing.TB, inst engine.Instance, name string, args ...uint64) ([]uint64, error) {
	t.Helper()
	return callFn(t, inst.Function(name), name, args...)
}

func callFn(t testing.TB, fn engine.Function, name string, args ...uint64) ([]uint64, error) {
	t.Helper()
	require.NotNil(t, fn, "no export %q", name)
	typ := fn.Type()
	require.Len(t, args, len(typ.Params))
	stack := make([]uint64, max(len(typ.Params), len(typ.Results)))
	copy(stack, args)
	if err := fn.Call(context.Background(), stack); err != nil {
		return nil, err
	}
	return stack[:len(typ.Results)], nil
}

// TestInterpreter runs the other tests again on wazero's interpreter, which
// wazero uses on platforms its compiler does not support.
func TestInterpreter(t *testing.T) {
	if os.Getenv(wazero.InterpreterEnv) == "1" {
		t.Skip("already on the interpreter")
	}
	if testing.Short() {
		t.Skip("short")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^Test", "-test.skip=^TestInterpreter$", "-test.count=1")
	cmd.Env = append(os.Environ(), wazero.InterpreterEnv+"=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
}

func TestDriver(t *testing.T) {
	assert.Contains(t, engine.Drivers(), "wazero")
	e := openEngine(t)
	assert.Equal(t, "wazero", e.Name())
	assert.Equal(t, engine.Capabilities{Interrupt: false, MemoryLimit: true}, e.Capabilities())
}

func TestCompileMalformed(t *testing.T) {
	e := openEngine(t)
	valid := testdata(t, "raw.wasm")
	for name, wasm := range map[string][]byte{
		"nil":       nil,
		"garbage":   []byte("definitely not wasm"),
		"header":    valid[:7],
		"truncated": valid[:len(valid)-3],
		"version":   append([]byte("\x00asm\x02\x00\x00\x00"), valid[8:]...),
		// func (result i32) with an empty body: type mismatch.
		"invalid": []byte("\x00asm\x01\x00\x00\x00" +
			"\x01\x05\x01\x60\x00\x01\x7f" + // type section
			"\x03\x02\x01\x00" + // function section
			"\x0a\x04\x01\x02\x00\x0b"), // code section
	} {
		t.Run(name, func(t *testing.T) {
			m, err := e.Compile(context.Background(), wasm, engine.CompileConfig{})
			require.Error(t, err)
			assert.Nil(t, m)
		})
	}
	_, err := e.Compile(context.Background(), valid, engine.CompileConfig{MemoryLimitPages: 65537})
	require.Error(t, err)
}

func TestImportsExports(t *testing.T) {
	e := openEngine(t)

	m := compile(t, e, "imports.wasm", engine.CompileConfig{})
	assert.Equal(t, []engine.Import{
		{Module: "env", Name: "f", Kind: engine.ExternFunc, Type: engine.FuncType{Params: []engine.ValueType{i32, i64}, Results: []engine.ValueType{f32}}},
		{Module: "env", Name: "mem", Kind: engine.ExternMemory},
		{Module: "env", Name: "tbl", Kind: engine.ExternTable},
		{Module: "env", Name: "glob", Kind: engine.ExternGlobal},
		{Module: "env", Name: "g", Kind: engine.ExternFunc},
	}, m.Imports())
	assert.Equal(t, []engine.Export{
		{Name: "z", Kind: engine.ExternFunc},
		{Name: "mem2", Kind: engine.ExternMemory},
		{Name: "a", Kind: engine.ExternFunc, Type: engine.FuncType{Params: []engine.ValueType{i32, i64}, Results: []engine.ValueType{f32}}},
	}, m.Exports())

	_, err := m.Instantiate(context.Background(), nil, engine.InstanceConfig{})
	require.ErrorContains(t, err, "only function imports are supported")

	raw := compile(t, e, "raw.wasm", engine.CompileConfig{})
	assert.Empty(t, raw.Imports())
	var names []string
	for _, x := range raw.Exports() {
		names = append(names, x.Kind.String()+" "+x.Name)
	}
	assert.Equal(t, []string{"memory memory", "func add", "func nop", "func f64_id", "func swap",
		"func grow", "func size", "func load8", "global g", "table t"}, names)
}

func TestRawCalls(t *testing.T) {
	e := openEngine(t)
	inst := instantiate(t, compile(t, e, "raw.wasm", engine.CompileConfig{}), nil)

	add := inst.Function("add")
	require.NotNil(t, add)
	assert.Same(t, add, inst.Function("add"), "Function is cached")
	assert.Equal(t, engine.FuncType{Params: []engine.ValueType{i32, i32}, Results: []engine.ValueType{i32}}, add.Type())
	res, err := callFn(t, add, "add", uint64(uint32(math.MaxUint32)), 3) // -1 + 3
	require.NoError(t, err)
	assert.Equal(t, []uint64{2}, res)

	res, err = call(t, inst, "nop")
	require.NoError(t, err)
	assert.Empty(t, res)

	res, err = call(t, inst, "f64_id", math.Float64bits(-1.5))
	require.NoError(t, err)
	assert.Equal(t, []uint64{math.Float64bits(-1.5)}, res)

	res, err = call(t, inst, "swap", uint64(1<<40), uint64(math.Float32bits(2.5)))
	require.NoError(t, err)
	assert.Equal(t, []uint64{uint64(math.Float32bits(2.5)), 1 << 40}, res)

	assert.Nil(t, inst.Function("missing"))
	assert.Nil(t, inst.Function("memory"), "not a function")
	assert.Nil(t, inst.Function("g"), "not a function")

	// A stack too short is an error, not a panic.
	require.Error(t, add.Call(context.Background(), make([]uint64, 1)))
	// So is a nil context.
	var nilCtx context.Context
	stack := []uint64{1, 2}
	require.NoError(t, add.Call(nilCtx, stack))
	assert.Equal(t, uint64(3), stack[0])
}

func TestTraps(t *testing.T) {
	e := openEngine(t)
	inst := instantiate(t, compile(t, e, "traps.wasm", engine.CompileConfig{}), nil)
	for _, tc := range []struct {
		export string
		code   engine.TrapCode
	}{
		{"unreachable", engine.TrapUnreachable},
		{"div_zero", engine.TrapIntegerDivideByZero},
		{"int_overflow", engine.TrapIntegerOverflow},
		{"trunc_overflow", engine.TrapIntegerOverflow},
		{"bad_conversion", engine.TrapInvalidConversion},
		{"oob_load", engine.TrapOutOfBoundsMemory},
		{"stack_overflow", engine.TrapStackOverflow},
		{"indirect_mismatch", engine.TrapIndirectCallTypeMismatch},
		{"table_oob", engine.TrapOutOfBoundsTable},
		// wazero does not tell an uninitialized element from an index out
		// of range.
		{"uninitialized_element", engine.TrapOutOfBoundsTable},
	} {
		t.Run(tc.export, func(t *testing.T) {
			_, err := call(t, inst, tc.export)
			var trap *engine.Trap
			require.ErrorAs(t, err, &trap)
			assert.Equal(t, tc.code, trap.Code, "message: %s", trap.Message)
			assert.NotEmpty(t, trap.Message)
			t.Log(err)
		})
	}
	// The instance is still usable after traps.
	_, err := call(t, inst, "unreachable")
	require.Error(t, err)
	assert.Nil(t, inst.Memory(), "memory is not exported")
}

// hostEnv builds the host functions host.wasm imports. h serves env.h.
type hostEnv struct {
	h       func(x uint32) uint32
	failErr error
}

func (env hostEnv) funcs() []engine.HostFunc {
	ii := engine.FuncType{Params: []engine.ValueType{i32}, Results: []engine.ValueType{i32}}
	return []engine.HostFunc{
		{Module: "env", Name: "h", Type: ii, Call: func(_ context.Context, _ engine.Caller, stack []uint64) error {
			stack[0] = uint64(env.h(uint32(stack[0])))
			return nil
		}},
		{Module: "env", Name: "fail", Call: func(context.Context, engine.Caller, []uint64) error {
			return env.failErr
		}},
		// reenter(n) allocates n bytes through the guest's allocator, fills
		// them with n, and returns their offset.
		{Module: "env", Name: "reenter", Type: ii, Call: func(ctx context.Context, c engine.Caller, stack []uint64) error {
			n := uint32(stack[0])
			alloc := c.Function("allocate")
			if alloc == nil {
				return errors.New("no allocate")
			}
			s := []uint64{uint64(n)}
			if err := alloc.Call(ctx, s); err != nil {
				return err
			}
			ptr := uint32(s[0])
			data := make([]byte, n)
			for i := range data {
				data[i] = byte(n)
			}
			if !c.Memory().Write(ptr, data) {
				return errors.New("write out of range")
			}
			stack[0] = uint64(ptr)
			return nil
		}},
		// down(n) calls back the export rec(n).
		{Module: "other", Name: "down", Type: ii, Call: func(ctx context.Context, c engine.Caller, stack []uint64) error {
			return c.Function("rec").Call(ctx, stack)
		}},
	}
}

func TestHostCalls(t *testing.T) {
	e := openEngine(t)
	m := compile(t, e, "host.wasm", engine.CompileConfig{})
	failErr := errors.New("host says no")
	inst := instantiate(t, m, hostEnv{h: func(x uint32) uint32 { return x * 10 }, failErr: failErr}.funcs())

	res, err := call(t, inst, "call_h", 4)
	require.NoError(t, err)
	assert.Equal(t, []uint64{40}, res)

	t.Run("error", func(t *testing.T) {
		_, err := call(t, inst, "call_fail", 1)
		require.ErrorIs(t, err, failErr)
		var trap *engine.Trap
		assert.False(t, errors.As(err, &trap), "a host error is not a trap")
		// The instance is usable afterwards.
		res, err := call(t, inst, "call_h", 5)
		require.NoError(t, err)
		assert.Equal(t, []uint64{50}, res)
	})

	t.Run("reenter", func(t *testing.T) {
		for n := uint64(1); n < 4; n++ {
			res, err := call(t, inst, "call_reenter", n)
			require.NoError(t, err)
			assert.Equal(t, []uint64{n}, res)
		}
	})

	t.Run("recursive reentry of one export", func(t *testing.T) {
		for range 2 {
			res, err := call(t, inst, "rec", 20)
			require.NoError(t, err)
			assert.Equal(t, []uint64{20}, res)
		}
	})
}

func TestHostFuncsPerInstance(t *testing.T) {
	e := openEngine(t)
	m := compile(t, e, "host.wasm", engine.CompileConfig{})
	a := instantiate(t, m, hostEnv{h: func(x uint32) uint32 { return x + 1 }}.funcs())
	b := instantiate(t, m, hostEnv{h: func(x uint32) uint32 { return x + 2 }}.funcs())
	for range 3 {
		res, err := call(t, a, "call_h", 10)
		require.NoError(t, err)
		assert.Equal(t, []uint64{11}, res)
		res, err = call(t, b, "call_h", 10)
		require.NoError(t, err)
		assert.Equal(t, []uint64{12}, res)
	}

	// Closing one instance leaves the other working.
	require.NoError(t, a.Close(context.Background()))
	res, err := call(t, b, "call_h", 10)
	require.NoError(t, err)
	assert.Equal(t, []uint64{12}, res)
}

type ctxKey struct{}

func TestHostContext(t *testing.T) {
	e := openEngine(t)
	m := compile(t, e, "host.wasm", engine.CompileConfig{})
	var got context.Context
	host := hostEnv{h: func(x uint32) uint32 { return x }}.funcs()
	host[0].Call = func(ctx context.Context, _ engine.Caller, stack []uint64) error {
		got = ctx
		stack[0] = uint64(ctx.Value(ctxKey{}).(uint32))
		return nil
	}
	inst := instantiate(t, m, host)
	fn := inst.Function("call_h")

	// The host function gets the context of the call, whatever wazero
	// wraps it in.
	for _, ctx := range []context.Context{
		context.WithValue(context.Background(), ctxKey{}, uint32(7)),
		experimental.WithSnapshotter(context.WithValue(context.Background(), ctxKey{}, uint32(8))),
	} {
		stack := []uint64{0}
		require.NoError(t, fn.Call(ctx, stack))
		assert.Equal(t, uint64(ctx.Value(ctxKey{}).(uint32)), stack[0])
		assert.True(t, got == ctx, "host got another context")
	}
}

// A host function of one instance calls into another instance of the same
// module, whose host functions must be its own.
func TestHostCallsOtherInstance(t *testing.T) {
	e := openEngine(t)
	m := compile(t, e, "host.wasm", engine.CompileConfig{})
	b := instantiate(t, m, hostEnv{h: func(x uint32) uint32 { return x + 100 }}.funcs())
	host := hostEnv{}.funcs()
	host[0].Call = func(ctx context.Context, _ engine.Caller, stack []uint64) error {
		if err := b.Function("call_h").Call(ctx, stack); err != nil { // b's h: +100
			return err
		}
		stack[0]++
		return nil
	}
	a := instantiate(t, m, host)
	res, err := call(t, a, "call_h", 1)
	require.NoError(t, err)
	assert.Equal(t, []uint64{102}, res)
}

func TestInstantiateHostMismatch(t *testing.T) {
	e := openEngine(t)
	m := compile(t, e, "host.wasm", engine.CompileConfig{})

	_, err := m.Instantiate(context.Background(), nil, engine.InstanceConfig{})
	require.ErrorContains(t, err, "missing host function")

	host := hostEnv{h: func(x uint32) uint32 { return x }}.funcs()
	host[0].Type = engine.FuncType{}
	_, err = m.Instantiate(context.Background(), host, engine.InstanceConfig{})
	require.ErrorContains(t, err, "env.h")

	// The module is still usable.
	instantiate(t, m, hostEnv{h: func(x uint32) uint32 { return x }}.funcs())
}

func startHost(v byte, err error) []engine.HostFunc {
	return []engine.HostFunc{{
		Module: "env", Name: "init", Type: engine.FuncType{Params: []engine.ValueType{i32}},
		Call: func(_ context.Context, c engine.Caller, stack []uint64) error {
			if err != nil {
				return err
			}
			if !c.Memory().Write(0, []byte{byte(stack[0]) + v}) {
				return errors.New("write out of range")
			}
			return nil
		},
	}}
}

func TestStartSection(t *testing.T) {
	e := openEngine(t)
	m := compile(t, e, "start.wasm", engine.CompileConfig{})

	a := instantiate(t, m, startHost(0, nil))
	b := instantiate(t, m, startHost(1, nil))
	res, err := call(t, a, "get")
	require.NoError(t, err)
	assert.Equal(t, []uint64{42}, res)
	res, err = call(t, b, "get")
	require.NoError(t, err)
	assert.Equal(t, []uint64{43}, res)

	initErr := errors.New("init failed")
	_, err = m.Instantiate(context.Background(), startHost(0, initErr), engine.InstanceConfig{})
	require.ErrorIs(t, err, initErr)

	// A failed start leaves the module usable.
	c := instantiate(t, m, startHost(2, nil))
	res, err = call(t, c, "get")
	require.NoError(t, err)
	assert.Equal(t, []uint64{44}, res)

	trapping := compile(t, e, "start_trap.wasm", engine.CompileConfig{})
	_, err = trapping.Instantiate(context.Background(), nil, engine.InstanceConfig{})
	var trap *engine.Trap
	require.ErrorAs(t, err, &trap)
	assert.Equal(t, engine.TrapUnreachable, trap.Code)
}

func TestMemory(t *testing.T) {
	e := openEngine(t)
	inst := instantiate(t, compile(t, e, "raw.wasm", engine.CompileConfig{}), nil)
	mem := inst.Memory()
	require.NotNil(t, mem)
	const size = 65536
	assert.Equal(t, uint32(size), mem.Size())

	require.True(t, mem.Write(100, []byte("hi")))
	res, err := call(t, inst, "load8", 101)
	require.NoError(t, err)
	assert.Equal(t, []uint64{'i'}, res)
	b, ok := mem.Read(100, 2)
	require.True(t, ok)
	assert.Equal(t, []byte("hi"), b)

	for _, tc := range []struct {
		off, n uint32
		ok     bool
	}{
		{0, size, true},
		{size - 1, 1, true},
		{size, 0, true},
		{size - 1, 2, false},
		{size, 1, false},
		{0, size + 1, false},
		{math.MaxUint32, 2, false}, // offset+length overflows uint32
		{2, math.MaxUint32, false},
		{math.MaxUint32, math.MaxUint32, false},
	} {
		t.Run(fmt.Sprintf("%d+%d", tc.off, tc.n), func(t *testing.T) {
			b, ok := mem.Read(tc.off, tc.n)
			assert.Equal(t, tc.ok, ok)
			if ok {
				assert.Len(t, b, int(tc.n))
			}
			if tc.n <= size+1 { // a write of tc.n bytes fits in a test
				assert.Equal(t, tc.ok, mem.Write(tc.off, make([]byte, tc.n)))
			}
		})
	}

	// An out-of-range write writes nothing, not even the bytes in range.
	require.True(t, mem.Write(size-2, []byte{7, 7}))
	assert.False(t, mem.Write(size-2, []byte{1, 2, 3}))
	assert.False(t, mem.Write(math.MaxUint32-1, []byte{1, 2, 3}))
	b, _ = mem.Read(size-2, 2)
	assert.Equal(t, []byte{7, 7}, b)
	b, _ = mem.Read(0, 1)
	assert.Equal(t, []byte{0}, b)

	// Growing is visible through the same Memory.
	res, err = call(t, inst, "grow", 1)
	require.NoError(t, err)
	assert.Equal(t, []uint64{1}, res)
	assert.Equal(t, uint32(2*size), mem.Size())
	assert.True(t, mem.Write(2*size-1, []byte{1}))
}

func TestMemoryLimit(t *testing.T) {
	e := openEngine(t)
	for _, name := range []string{"raw.wasm", "limits.wasm"} {
		t.Run(name, func(t *testing.T) {
			inst := instantiate(t, compile(t, e, name, engine.CompileConfig{MemoryLimitPages: 2}), nil)
			res, err := call(t, inst, "grow", 1)
			require.NoError(t, err)
			assert.Equal(t, []uint64{1}, res)
			res, err = call(t, inst, "grow", 1)
			require.NoError(t, err)
			assert.Equal(t, []uint64{math.MaxUint32}, res, "memory.grow returns -1")
			assert.Equal(t, uint32(2*65536), inst.Memory().Size())
		})
	}
	// Without a limit, the declared maximum applies.
	inst := instantiate(t, compile(t, e, "limits.wasm", engine.CompileConfig{}), nil)
	res, err := call(t, inst, "grow", 99)
	require.NoError(t, err)
	assert.Equal(t, []uint64{1}, res)
}

func TestClose(t *testing.T) {
	ctx := context.Background()
	d, _ := engine.Lookup("wazero")
	e, err := d.Open(engine.Config{})
	require.NoError(t, err)
	m, err := e.Compile(ctx, testdata(t, "host.wasm"), engine.CompileConfig{})
	require.NoError(t, err)
	inst, err := m.Instantiate(ctx, hostEnv{h: func(x uint32) uint32 { return x }}.funcs(), engine.InstanceConfig{})
	require.NoError(t, err)
	fn := inst.Function("call_h")
	_, err = callFn(t, fn, "call_h", 1)
	require.NoError(t, err)

	require.NoError(t, inst.Close(ctx))
	require.NoError(t, inst.Close(ctx))
	require.Error(t, fn.Call(ctx, []uint64{1}), "call after Close")

	// An instance left open is closed with its module.
	open, err := m.Instantiate(ctx, hostEnv{h: func(x uint32) uint32 { return x }}.funcs(), engine.InstanceConfig{})
	require.NoError(t, err)
	require.NoError(t, m.Close(ctx))
	require.NoError(t, m.Close(ctx))
	require.Error(t, open.Function("call_h").Call(ctx, []uint64{1}), "call after module Close")
	require.NoError(t, open.Close(ctx))
	_, err = m.Instantiate(ctx, nil, engine.InstanceConfig{})
	require.Error(t, err)

	require.NoError(t, e.Close(ctx))
	require.NoError(t, e.Close(ctx))
	_, err = e.Compile(ctx, testdata(t, "raw.wasm"), engine.CompileConfig{})
	require.Error(t, err)
}

func TestConcurrentInstances(t *testing.T) {
	e := openEngine(t)
	m := compile(t, e, "host.wasm", engine.CompileConfig{})
	const goroutines, rounds, calls = 8, 20, 50
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			for r := range rounds {
				k := uint32(g*rounds + r)
				inst, err := m.Instantiate(context.Background(), hostEnv{h: func(x uint32) uint32 { return x + k }}.funcs(), engine.InstanceConfig{})
				if err != nil {
					errs <- err
					return
				}
				fn := inst.Function("call_h")
				stack := make([]uint64, 1)
				for i := range uint32(calls) {
					stack[0] = uint64(i)
					if err := fn.Call(context.Background(), stack); err != nil {
						errs <- err
						return
					}
					if got := uint32(stack[0]); got != i+k {
						errs <- fmt.Errorf("instance %d: h(%d) = %d, want %d", k, i, got, i+k)
						return
					}
				}
				if err := inst.Close(context.Background()); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
