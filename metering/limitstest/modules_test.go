// Package limitstest checks, on every engine linked into the test binary,
// the limits package metering injects: the call-depth and stack limit
// (Config.MaxCallDepth, Config.MaxStackSlots) against the engines' own
// native stacks, the table limit (Config.MaxTableElements), and the cost of
// the safety-only instrumentation (Config.LimitsOnly). It holds tests only.
//
// Which engines run depends on the build: wasmtime and wazero by default,
// wasmer and wazero with -tags wasmer, wazero alone with -tags wazero.
package limitstest

import (
	"encoding/binary"
)

// Value types and a few opcodes of the binary format.
const (
	tI32       = 0x7f
	tI64       = 0x7e
	tFuncRef   = 0x70
	tExternRef = 0x6f
)

func u32(v uint32) []byte { return binary.AppendUvarint(nil, uint64(v)) }

func s64(v int64) []byte {
	var b []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 && c&0x40 == 0 || v == -1 && c&0x40 != 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func name(s string) []byte { return cat(u32(uint32(len(s))), []byte(s)) }

func vec(items ...[]byte) []byte { return cat(u32(uint32(len(items))), cat(items...)) }

func section(id byte, content []byte) []byte {
	return cat([]byte{id}, u32(uint32(len(content))), content)
}

// module is a minimal module builder: no imports, one memory, defined
// functions, function and global exports, tables, i64 globals.
type module struct {
	types, funcs, tables, globals, exports, codes [][]byte
	memPages                                      uint32
}

func (m *module) typ(params, results []byte) uint32 {
	m.types = append(m.types, cat([]byte{0x60}, u32(uint32(len(params))), params, u32(uint32(len(results))), results))
	return uint32(len(m.types) - 1)
}

// fn adds a function of type t with the given local declarations (already
// encoded, count included) and body (without the final end).
func (m *module) fn(t uint32, locals []byte, body []byte) uint32 {
	m.funcs = append(m.funcs, u32(t))
	m.codes = append(m.codes, cat(locals, body, []byte{0x0b}))
	return uint32(len(m.funcs) - 1)
}

func (m *module) export(n string, f uint32) {
	m.exports = append(m.exports, cat(name(n), []byte{0}, u32(f)))
}

// global adds an exported mutable i64 global, initially 0.
func (m *module) global(n string) uint32 {
	g := uint32(len(m.globals))
	m.globals = append(m.globals, []byte{tI64, 0x01, 0x42, 0x00, 0x0b})
	m.exports = append(m.exports, cat(name(n), []byte{3}, u32(g)))
	return g
}

func (m *module) bytes() []byte {
	out := []byte{0, 'a', 's', 'm', 1, 0, 0, 0}
	out = append(out, section(1, vec(m.types...))...)
	out = append(out, section(3, vec(m.funcs...))...)
	if len(m.tables) > 0 {
		out = append(out, section(4, vec(m.tables...))...)
	}
	if m.memPages > 0 {
		out = append(out, section(5, vec(cat([]byte{0}, u32(m.memPages))))...)
	}
	if len(m.globals) > 0 {
		out = append(out, section(6, vec(m.globals...))...)
	}
	out = append(out, section(7, vec(m.exports...))...)
	var codes [][]byte
	for _, c := range m.codes {
		codes = append(codes, cat(u32(uint32(len(c))), c))
	}
	return append(out, section(10, vec(codes...))...)
}

// frameKind says where a recursive function keeps its values across the
// recursive call.
type frameKind string

const (
	// inLocals: n i64 locals, each loaded from memory before the call and
	// summed after it.
	inLocals frameKind = "locals"
	// onStack: n i64 values loaded onto the operand stack before the call
	// and summed after it.
	onStack frameKind = "operands"
	// recomputed: n products of the parameter and distinct constants,
	// summed into one local before the call and computed again after it:
	// an optimizing compiler that reuses the first computation (global
	// value numbering) keeps all n alive across the call, while the
	// function declares a single local and its operand stack holds at most
	// three values.
	recomputed frameKind = "recomputed"
	// hoisted: the recursive call sits in a loop that also uses n sums of
	// the parameter and distinct constants: an optimizing compiler that
	// hoists them out of the loop (loop-invariant code motion) keeps all n
	// alive across the call, the cheapest way found to make native frames
	// large for few slots.
	hoisted frameKind = "hoisted"
)

// recursionModule returns a module exporting run(d i32) -> i64, which
// recurses d levels deep (d+1 activations of one function) with n values
// live across every recursive call, kept as kind says. The values are
// loaded from distinct memory addresses, so that no compiler can compute
// them after the call or merge them: each one takes a stack slot in every
// native frame.
func recursionModule(n int, kind frameKind) []byte {
	m := &module{memPages: uint32(8*n/65536 + 1)}
	t := m.typ([]byte{tI32}, []byte{tI64})
	load := func(k int) []byte { return cat([]byte{0x41, 0x00, 0x29, 0x03}, u32(uint32(8*k))) } // i32.const 0; i64.load align=3 offset=8k
	var body []byte
	body = append(body, 0x20, 0x00, 0x45, 0x04, tI64, 0x42, 0x00, 0x05) // local.get 0; i32.eqz; if (result i64) i64.const 0 else
	locals := []byte{0}
	switch kind {
	case inLocals:
		if n > 0 {
			locals = cat(u32(1), u32(uint32(n)), []byte{tI64})
		}
		for k := 0; k < n; k++ {
			body = append(body, load(k)...)
			body = append(body, cat([]byte{0x21}, u32(uint32(k+1)))...)
		}
	case onStack:
		for k := 0; k < n; k++ {
			body = append(body, load(k)...)
		}
	case recomputed:
		locals = cat(u32(1), u32(1), []byte{tI64})
		body = append(body, recompute(n)...)
	case hoisted:
		return hoistedModule(n)
	}
	body = append(body, 0x20, 0x00, 0x41, 0x01, 0x6b, 0x10, 0x00) // local.get 0; i32.const 1; i32.sub; call 0
	switch kind {
	case recomputed:
		body = append(body, recompute(n)...)
		body = append(body, 0x20, 0x01, 0x7c) // local.get 1; i64.add
	default:
		for k := 0; k < n; k++ {
			if kind == inLocals {
				body = append(body, cat([]byte{0x20}, u32(uint32(k+1)))...)
			}
			body = append(body, 0x7c) // i64.add
		}
	}
	body = append(body, 0x0b) // end if
	f := m.fn(t, locals, body)
	m.export("run", f)
	return m.bytes()
}

// recompute returns code adding n products local 0 × constant (distinct)
// to local 1 (an i64).
func recompute(n int) []byte {
	var b []byte
	for k := 0; k < n; k++ {
		// local.get 1; local.get 0; i64.extend_i32_u; i64.const k+2; i64.mul; i64.add; local.set 1
		b = append(b, 0x20, 0x01, 0x20, 0x00, 0xad, 0x42)
		b = append(b, s64(int64(k)*7919+2)...)
		b = append(b, 0x7e, 0x7c, 0x21, 0x01)
	}
	return b
}

// hoistedModule is recursionModule(n, hoisted): run(d) is
//
//	(func (param $d i32) (result i64) (local $acc i64)
//	  local.get $d; i32.eqz; if (result i64) i64.const 0 else
//	    loop
//	      local.get $d; i32.const 1; i32.sub; call $run; local.get $acc; i64.xor; local.set $acc
//	      n times: local.get $acc; local.get $d; i64.extend_i32_u; i64.const c_k; i64.add; i64.xor; local.set $acc
//	      i32.const 0; i32.load; br_if 0
//	    end
//	    local.get $acc
//	  end)
//
// (the loop runs once, memory being zero, which the compiler cannot know).
func hoistedModule(n int) []byte {
	m := &module{memPages: 1}
	t := m.typ([]byte{tI32}, []byte{tI64})
	body := []byte{0x20, 0x00, 0x45, 0x04, tI64, 0x42, 0x00, 0x05, 0x03, 0x40}
	body = append(body, 0x20, 0x00, 0x41, 0x01, 0x6b, 0x10, 0x00, 0x20, 0x01, 0x85, 0x21, 0x01)
	for k := 0; k < n; k++ {
		body = append(body, 0x20, 0x01, 0x20, 0x00, 0xad, 0x42)
		body = append(body, s64(int64(k)*7919+2)...)
		body = append(body, 0x7c, 0x85, 0x21, 0x01)
	}
	body = append(body, 0x41, 0x00, 0x28, 0x02, 0x00, 0x0d, 0x00)
	body = append(body, 0x0b, 0x20, 0x01, 0x0b)
	f := m.fn(t, cat(u32(1), u32(1), []byte{tI64}), body)
	m.export("run", f)
	return m.bytes()
}

// tableModule returns a module with a funcref table and an externref table
// (initial size 1 each, no maximum) exporting, for both, grow_<type>(n i32)
// -> i32 (table.grow of n null references, the old size or -1) and
// size_<type>() -> i32.
func tableModule() []byte {
	m := &module{}
	m.tables = [][]byte{{tFuncRef, 0x00, 0x01}, {tExternRef, 0x00, 0x01}}
	grow := m.typ([]byte{tI32}, []byte{tI32})
	size := m.typ(nil, []byte{tI32})
	for i, rt := range []struct {
		name string
		t    byte
	}{{"funcref", tFuncRef}, {"externref", tExternRef}} {
		ti := u32(uint32(i))
		g := m.fn(grow, []byte{0}, cat([]byte{0xd0, rt.t, 0x20, 0x00, 0xfc, 0x0f}, ti)) // ref.null t; local.get 0; table.grow i
		m.export("grow_"+rt.name, g)
		s := m.fn(size, []byte{0}, cat([]byte{0xfc, 0x10}, ti)) // table.size i
		m.export("size_"+rt.name, s)
	}
	return m.bytes()
}

// callsModule returns a module exporting calls(n i32) -> i32, a loop of n
// calls of a small function (x*3+1), the code the call-depth and stack
// check costs most on.
func callsModule() []byte {
	m := &module{}
	leafT := m.typ([]byte{tI32}, []byte{tI32})
	leaf := m.fn(leafT, []byte{0}, []byte{0x20, 0x00, 0x41, 0x03, 0x6c, 0x41, 0x01, 0x6a}) // x*3+1
	// (local $acc i32)
	// loop: local.get 0; i32.eqz; br_if 1 (out)
	//       local.get 1; call leaf; local.set 1
	//       local.get 0; i32.const 1; i32.sub; local.set 0; br 0
	body := cat(
		[]byte{0x02, 0x40, 0x03, 0x40},
		[]byte{0x20, 0x00, 0x45, 0x0d, 0x01},
		[]byte{0x20, 0x01, 0x10}, u32(leaf), []byte{0x21, 0x01},
		[]byte{0x20, 0x00, 0x41, 0x01, 0x6b, 0x21, 0x00, 0x0c, 0x00},
		[]byte{0x0b, 0x0b, 0x20, 0x01},
	)
	f := m.fn(leafT, cat(u32(1), u32(1), []byte{tI32}), body)
	m.export("calls", f)
	return m.bytes()
}

// loopModule exports sum_to(n i64) -> i64, 1 + 2 + ... + n in a loop of
// about one machine cycle per iteration (raw.wasm's sum_to: the worst case
// for a check at every loop header). How fast a loop this tight runs
// depends on where its code lands, so the code before the loop depends on
// pad (0 to 15): 4*(pad/4) loads of zeroed memory, and a constant of 0 to 8
// bytes (by pad%4) added to the sum before the loop and subtracted after.
func loopModule(pad int) []byte {
	m := &module{memPages: 1}
	t := m.typ([]byte{tI64}, []byte{tI64})
	c := []int64{0, 100, 1 << 20, 1 << 40}[pad%4]
	// (local $i i64) (local $acc i64)
	// local.get $acc; (i32.const 0; i64.load offset=8k; i64.add)*loads
	// i64.const c; i64.add; local.set $acc
	// i64.const 1; local.set $i
	// block; loop
	//   local.get $i; local.get $n; i64.gt_s; br_if 1
	//   local.get $acc; local.get $i; i64.add; local.set $acc
	//   local.get $i; i64.const 1; i64.add; local.set $i; br 0
	// end; end; local.get $acc; i64.const c; i64.sub
	body := []byte{0x20, 0x02}
	for k := 0; k < 4*(pad/4); k++ {
		body = append(body, 0x41, 0x00, 0x29, 0x03)
		body = append(body, u32(uint32(8*k))...)
		body = append(body, 0x7c)
	}
	if c != 0 {
		body = append(append(append(body, 0x42), s64(c)...), 0x7c)
	}
	body = append(body, 0x21, 0x02, 0x42, 0x01, 0x21, 0x01, 0x02, 0x40, 0x03, 0x40,
		0x20, 0x01, 0x20, 0x00, 0x55, 0x0d, 0x01,
		0x20, 0x02, 0x20, 0x01, 0x7c, 0x21, 0x02,
		0x20, 0x01, 0x42, 0x01, 0x7c, 0x21, 0x01, 0x0c, 0x00,
		0x0b, 0x0b, 0x20, 0x02)
	if c != 0 {
		body = append(append(append(body, 0x42), s64(c)...), 0x7d)
	}
	m.export("sum_to", m.fn(t, cat(u32(1), u32(2), []byte{tI64}), body))
	return m.bytes()
}

// mixModule exports mix(n i64) -> i64, n rounds of xorshift64* mixed into
// an accumulator (bench's mix_abi: shifts, xors, a multiplication and a
// rotation per round, a more typical compute loop than loopModule's), after
// the same pad code as loopModule.
func mixModule(pad int) []byte {
	m := &module{memPages: 1}
	t := m.typ([]byte{tI64}, []byte{tI64})
	c := []int64{0, 100, 1 << 20, 1 << 40}[pad%4]
	// (local $x i64) (local $acc i64) (local $p i64)
	// pad as in loopModule, into $p
	// $x = 0x9e3779b97f4a7c15
	// block; loop
	//   local.get $n; i64.eqz; br_if 1
	//   $x ^= $x >> 12; $x ^= $x << 25; $x ^= $x >> 27
	//   $acc = rotl($acc, 5) + $x * 0x2545f4914f6cdd1d
	//   $n -= 1; br 0
	// end; end; local.get $acc; local.get $p; i64.add; i64.const c; i64.sub
	body := []byte{0x20, 0x03}
	for k := 0; k < 4*(pad/4); k++ {
		body = append(body, 0x41, 0x00, 0x29, 0x03)
		body = append(body, u32(uint32(8*k))...)
		body = append(body, 0x7c)
	}
	body = append(append(append(body, 0x42), s64(c)...), 0x7c, 0x21, 0x03)
	body = append(append(append(body, 0x42), s64(-7046029254386353131)...), 0x21, 0x01) // 0x9e3779b97f4a7c15
	xorShift := func(op byte, k int64) []byte {
		return []byte{0x20, 0x01, 0x20, 0x01, 0x42, byte(k), op, 0x85, 0x21, 0x01}
	}
	body = append(body, 0x02, 0x40, 0x03, 0x40, 0x20, 0x00, 0x50, 0x0d, 0x01)
	body = append(body, xorShift(0x88, 12)...) // i64.shr_u
	body = append(body, xorShift(0x86, 25)...) // i64.shl
	body = append(body, xorShift(0x88, 27)...)
	body = append(body, 0x20, 0x02, 0x42, 0x05, 0x89, 0x20, 0x01, 0x42) // rotl(acc, 5); x; i64.const
	body = append(body, s64(0x2545f4914f6cdd1d)...)
	body = append(body, 0x7e, 0x7c, 0x21, 0x02, // i64.mul; i64.add; local.set $acc
		0x20, 0x00, 0x42, 0x01, 0x7d, 0x21, 0x00, 0x0c, 0x00, 0x0b, 0x0b,
		0x20, 0x02, 0x20, 0x03, 0x7c, 0x42)
	body = append(append(body, s64(c)...), 0x7d)
	m.export("mix", m.fn(t, cat(u32(1), u32(3), []byte{tI64}), body))
	return m.bytes()
}

// spinModule exports spin(), a loop that increments the exported global
// iters forever: spin's entry owns 2 instructions (loop and the final
// end), its loop header 6 (global.get, i64.const, i64.add, global.set, br,
// end). With callInc the loop calls inc, which increments iters (5
// instructions: global.get, i64.const, i64.add, global.set, end), and the
// loop header owns 3 (call, br, end) plus inc's 5: inc, without loops and
// not exported, has no entry checkpoint of its own.
func spinModule(callInc bool) []byte {
	m := &module{}
	v := m.typ(nil, nil)
	g := m.global("iters")
	incr := cat([]byte{0x23}, u32(g), []byte{0x42, 0x01, 0x7c, 0x24}, u32(g))
	if !callInc {
		m.export("spin", m.fn(v, []byte{0}, cat([]byte{0x03, 0x40}, incr, []byte{0x0c, 0x00, 0x0b})))
		return m.bytes()
	}
	inc := m.fn(v, []byte{0}, incr)
	m.export("spin", m.fn(v, []byte{0}, cat([]byte{0x03, 0x40, 0x10}, u32(inc), []byte{0x0c, 0x00, 0x0b})))
	return m.bytes()
}
