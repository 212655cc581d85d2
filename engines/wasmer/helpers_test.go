//go:build wasmer && cgo

package wasmer

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	wasmergo "github.com/wasmerio/wasmer-go/wasmer"

	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

var bg = context.Background()

// The test modules mirror conformance/fixtures/wat/raw.wat and traps.wat
// (same exports and behaviour) with a few more shapes, compiled here so that
// these tests do not depend on the committed fixtures.

// allocWAT is a ring bump allocator over the first page above 1024: it
// never grows the memory, so tests can call it without limit.
const allocWAT = `
  (global $heap (mut i32) (i32.const 1024))
  (func $allocate (export "allocate") (param $n i32) (result i32)
    (local $p i32)
    (if (i32.gt_u (i32.add (global.get $heap) (local.get $n)) (i32.const 65536))
      (then (global.set $heap (i32.const 1024))))
    (local.set $p (global.get $heap))
    (global.set $heap (i32.and (i32.add (i32.add (local.get $p) (local.get $n)) (i32.const 7)) (i32.const -8)))
    (local.get $p))
`

const rawWAT = `(module
  (memory (export "memory") 1)
` + allocWAT + `
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "nop"))
  (func (export "f64_id") (param f64) (result f64) (local.get 0))
  (func (export "f32_id") (param f32) (result f32) (local.get 0))
  (func (export "echo") (param i32) (result i32) (local.get 0))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "sum_to") (param $n i64) (result i64)
    (local $s i64)
    (block $done
      (loop $l
        (br_if $done (i64.eqz (local.get $n)))
        (local.set $s (i64.add (local.get $s) (local.get $n)))
        (local.set $n (i64.sub (local.get $n) (i64.const 1)))
        (br $l)))
    (local.get $s))
  (func (export "neg") (result i32) (i32.const -1))
  (func (export "swap") (param i32 i64) (result i64 i32) (local.get 1) (local.get 0))
  (func (export "many") (param i32 i64 f32 f64 i32) (result f64 f32 i64 i32 i32)
    (local.get 3) (local.get 2) (local.get 1) (local.get 0) (local.get 4))
  (func (export "wide") (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32 i32 i32 i32 i32 i32 i32 i32 i32 i32)
    (local.get 9) (local.get 8) (local.get 7) (local.get 6) (local.get 5)
    (local.get 4) (local.get 3) (local.get 2) (local.get 1) (local.get 0))
  (func (export "ref_param") (param externref))
  (table (export "table") 1 funcref)
  (global (export "answer") i32 (i32.const 42))
  (global $g_i32 (export "g_i32") (mut i32) (i32.const -7))
  (global (export "g_i64") (mut i64) (i64.const -9))
  (global (export "g_f32") (mut f32) (f32.const 1.5))
  (global (export "g_f64") (mut f64) (f64.const -2.25))
  (func (export "get_i32") (result i32) (global.get $g_i32))
)`

const trapsWAT = `(module
  (memory 1)
  (type $v (func))
  (table 3 funcref)
  (func $target (param i32))
  (func $nothing)
  (elem (i32.const 0) $target $nothing)
  (func (export "unreachable") unreachable)
  (func (export "div_zero") (drop (i32.div_s (i32.const 1) (i32.const 0))))
  (func (export "int_overflow") (drop (i32.div_s (i32.const 0x80000000) (i32.const -1))))
  (func (export "oob_load") (drop (i32.load (i32.const 70000))))
  (func (export "bad_conversion") (drop (i32.trunc_f32_s (f32.const nan))))
  (func $rec (export "stack_overflow") (call $rec))
  (func (export "indirect_mismatch") (call_indirect (type $v) (i32.const 0)))
  (func (export "table_oob") (call_indirect (type $v) (i32.const 7)))
  (func (export "null_call") (call_indirect (type $v) (i32.const 2)))
  (func (export "ok") (call_indirect (type $v) (i32.const 1)))
)`

// hostWAT imports host functions of several shapes.
const hostWAT = `(module
  (import "env" "double" (func $double (param i32) (result i32)))
  (import "env" "fail" (func $fail))
  (import "env" "reenter" (func $reenter (param i32) (result i32)))
  (import "env" "mixed" (func $mixed (param i32 i64 f32 f64 i32) (result f64 f32 i64 i32 i32)))
  (import "env" "tick" (func $tick))
  (memory (export "memory") 1)
` + allocWAT + `
  (func (export "call_double") (param i32) (result i32) (call $double (local.get 0)))
  (func (export "call_fail") (param i32) (result i32) (call $fail) (local.get 0))
  (func (export "call_reenter") (param i32) (result i32) (call $reenter (local.get 0)))
  (func (export "call_mixed") (param i32 i64 f32 f64 i32) (result f64 f32 i64 i32 i32)
    (call $mixed (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4)))
  (func (export "tick_n") (param $n i32)
    (block $done (loop $l
      (br_if $done (i32.eqz (local.get $n)))
      (call $tick)
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $l))))
  (func $rec (export "stack_overflow") (call $rec))
)`

// startWAT calls a host function from its start section.
const startWAT = `(module
  (import "env" "started" (func $started (param i32)))
  (func $start (call $started (i32.const 7)))
  (start $start)
)`

const startTrapWAT = `(module
  (func $start unreachable)
  (start $start)
)`

// importsWAT imports a memory, which the SPI does not allow.
const importsWAT = `(module
  (import "env" "mem" (memory 1))
  (import "env" "f" (func (param i64) (result f32)))
  (func (export "g") (param f64 i32))
)`

func wat(t testing.TB, src string) []byte {
	t.Helper()
	b, err := wasmergo.Wat2Wasm(src)
	require.NoError(t, err)
	return b
}

// openEngine opens an adapter engine closed at the end of the test.
func openEngine(t testing.TB) engine.Engine {
	t.Helper()
	d, ok := engine.Lookup(Name)
	require.True(t, ok, "wasmer driver not registered")
	e, err := d.Open(engine.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, e.Close(bg)) })
	return e
}

func compile(t testing.TB, e engine.Engine, src string, cfg engine.CompileConfig) engine.Module {
	t.Helper()
	return compileBytes(t, e, wat(t, src), cfg)
}

func compileBytes(t testing.TB, e engine.Engine, wasm []byte, cfg engine.CompileConfig) engine.Module {
	t.Helper()
	m, err := e.Compile(bg, wasm, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, m.Close(bg)) })
	return m
}

func instantiate(t testing.TB, m engine.Module, host []engine.HostFunc) engine.Instance {
	t.Helper()
	in, err := m.Instantiate(bg, host, engine.InstanceConfig{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, in.Close(bg)) })
	return in
}

func fn(t testing.TB, in engine.Instance, name string) engine.Function {
	t.Helper()
	f := in.Function(name)
	require.NotNil(t, f, "export %s", name)
	return f
}

var (
	i32 = engine.I32
	i64 = engine.I64
	f32 = engine.F32
	f64 = engine.F64
)

func ft(params []engine.ValueType, results ...engine.ValueType) engine.FuncType {
	return engine.FuncType{Params: params, Results: results}
}

func vt(ts ...engine.ValueType) []engine.ValueType { return ts }

type hostCallFunc = func(ctx context.Context, c engine.Caller, stack []uint64) error

// hostFuncs builds the host functions of hostWAT around the given callbacks;
// nil callbacks are no-ops.
func hostFuncs(double, fail, reenter, mixed, tick hostCallFunc) []engine.HostFunc {
	noop := func(context.Context, engine.Caller, []uint64) error { return nil }
	or := func(f hostCallFunc) hostCallFunc {
		if f == nil {
			return noop
		}
		return f
	}
	return []engine.HostFunc{
		{Module: "env", Name: "double", Type: ft(vt(i32), i32), Call: or(double)},
		{Module: "env", Name: "fail", Type: ft(nil), Call: or(fail)},
		{Module: "env", Name: "reenter", Type: ft(vt(i32), i32), Call: or(reenter)},
		{Module: "env", Name: "mixed", Type: ft(vt(i32, i64, f32, f64, i32), f64, f32, i64, i32, i32), Call: or(mixed)},
		{Module: "env", Name: "tick", Type: ft(nil), Call: or(tick)},
	}
}
