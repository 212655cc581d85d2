package metering

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero/api"
)

// Yield checkpoints without gas: Config.LimitsOnly with Config.YieldInterval.

// countdownCall calls export name of l's module (call depth reset), with
// y as the aspect.yield host function's counter.
func (l *limited) countdownCall(y *yieldCounter, name string, args ...uint64) ([]uint64, error) {
	l.depth.Set(0)
	return l.mod.ExportedFunction(name).Call(context.WithValue(l.ctx.ctx, yieldKey{}, y), args...)
}

// countdownModel returns what the guest's progress counter reads at each
// yield, for a guest whose checkpoints, in the order it reaches them, weigh
// weights(k) (k = 0, 1, ...) and whose counter reads progress(k) when it
// reaches checkpoint k, with interval n: the rule of Config.YieldInterval,
// written the simple way.
func countdownModel(n int64, yields int, weights func(k int) int64, progress func(k int) uint64) []uint64 {
	var out []uint64
	cd := n
	for k := 0; len(out) < yields; k++ {
		cd -= weights(k)
		if cd <= 0 {
			cd = n
			out = append(out, progress(k))
		}
	}
	return out
}

// spinModule exports spin(), a loop incrementing the exported global iters
// forever: the function entry owns 2 instructions (loop and the final end),
// the loop header 6 (global.get, i64.const, i64.add, global.set, br, end).
// With inc != spinOnly, the loop calls a function inc that increments
// iters (5 instructions: global.get, i64.const, i64.add, global.set, end)
// and the loop header owns 3 (call, br, end); exported (spinIncExported),
// inc has its entry checkpoint, owning its 5; else the loop header owns
// them too (8 in all: see planElision).
func spinModule(inc spinInc) []byte {
	w := &wmod{}
	v := w.typ(nil, nil)
	g := w.global(i64, true, i64c(0))
	w.export("iters", 3, g)
	if inc == spinOnly {
		w.export("spin", 0, w.fn(v, nil, loop(empty), gget(g), i64c(1), op(0x7c), gset(g), br(0), end))
		return w.bytes()
	}
	f := w.fn(v, nil, gget(g), i64c(1), op(0x7c), gset(g))
	if inc == spinIncExported {
		w.export("inc", 0, f)
	}
	w.export("spin", 0, w.fn(v, nil, loop(empty), call(f), br(0), end))
	return w.bytes()
}

// spinInc selects what the loop of spinModule does.
type spinInc int

const (
	spinOnly        spinInc = iota // increments iters itself
	spinIncExported                // calls inc, exported
	spinIncInternal                // calls inc, not exported
)

func TestCountdownResult(t *testing.T) {
	const n = 1000
	w := &wmod{}
	imp := w.importFunc("env", "add1", w.typ([]byte{i32}, []byte{i32}))
	f := w.fn(w.typ([]byte{i32}, []byte{i32}), nil, lget(0), call(imp))
	w.export("f", 0, f)
	res := instrument(t, w.bytes(), Config{LimitsOnly: true, YieldInterval: n})
	assert.True(t, res.LimitsOnly)
	assert.Empty(t, res.GasCounter)
	assert.Equal(t, YieldCountdownExport, res.YieldCountdown)
	assert.Equal(t, int64(n), res.YieldInterval)
	assert.Equal(t, CallDepthExport, res.CallDepth)
	assert.Equal(t, uint32(1), res.ImportedFuncs)
	assert.Equal(t, uint32(2), res.InjectedImports)
	assert.Equal(t, uint32(3), res.FuncIndex(1))
	assert.Equal(t, int64(-1), res.ChargeFunc)

	e := newEnv(t)
	cm := e.compile(t, res.Module)
	var names []string
	for _, d := range cm.ImportedFunctions() {
		mod, name, _ := d.Import()
		names = append(names, mod+"."+name)
	}
	assert.Equal(t, []string{"env.add1", "aspect.call_depth_exceeded", "aspect.yield"}, names)
	l := e.limited(t, res)
	assert.Nil(t, l.mod.ExportedGlobal(GasCounterExport))
	cd := l.mod.ExportedGlobal(YieldCountdownExport)
	require.NotNil(t, cd)
	assert.Equal(t, api.ValueTypeI64, cd.Type())
	assert.Equal(t, uint64(n), cd.Get(), "the countdown starts at the interval")
	_, ok := cd.(api.MutableGlobal)
	assert.True(t, ok)
	out, err := l.countdownCall(&yieldCounter{}, "f", 41)
	require.NoError(t, err)
	assert.Equal(t, []uint64{42}, out)
	// f's entry owns its 3 instructions (local.get, call, end).
	assert.Equal(t, uint64(n-3), cd.Get())

	// Without the interval, the limits alone, as before.
	plain := instrument(t, w.bytes(), Config{LimitsOnly: true})
	assert.Empty(t, plain.YieldCountdown)
	assert.Zero(t, plain.YieldInterval)
	assert.Equal(t, uint32(1), plain.InjectedImports)
	// Metered, the gas checkpoints.
	metered := instrument(t, w.bytes(), Config{YieldInterval: n})
	assert.Empty(t, metered.YieldCountdown)
	assert.Equal(t, int64(n), metered.YieldInterval)
	assert.Equal(t, uint32(2), metered.InjectedImports)
}

// TestCountdownLoop checks the exact rule on a loop running forever: the
// guest yields at the checkpoints the model says, whatever the interval
// (below, equal to and above a loop body's weight), and the countdown
// reads the interval while the host runs.
func TestCountdownLoop(t *testing.T) {
	e := newEnv(t)
	for _, n := range []int64{1, 2, 5, 6, 7, 12, 60, 1000, 65536} {
		res := instrument(t, spinModule(spinOnly), Config{LimitsOnly: true, YieldInterval: n})
		l := e.limited(t, res)
		const yields = 50
		y := &yieldCounter{stopAt: yields, record: "iters"}
		_, err := l.countdownCall(y, "spin")
		require.ErrorIs(t, err, errStopped)
		// Checkpoint 0 is the entry (weight 2, iters 0), checkpoint k >= 1
		// the k-th pass of the loop header (weight 6), before iteration k
		// increments iters from k-1.
		want := countdownModel(n, yields,
			func(k int) int64 { return map[bool]int64{true: 2, false: 6}[k == 0] },
			func(k int) uint64 { return uint64(max(k-1, 0)) })
		assert.Equal(t, want, y.seen, "interval %d", n)
		for _, c := range y.countdown {
			assert.Equal(t, uint64(n), c, "interval %d: the countdown is back at the interval", n)
		}
		if n >= 6 {
			// A loop body of w instructions yields every ceil(n/w)
			// iterations.
			per := uint64((n + 5) / 6)
			for i := 1; i < len(y.seen); i++ {
				assert.Equal(t, per, y.seen[i]-y.seen[i-1], "interval %d", n)
			}
		}
	}
}

// TestCountdownEntries checks that function entries count: a loop calling
// an exported function without loops yields at the callee's entry too; a
// loop calling such a function that only the module calls counts the
// callee's instructions at its own header instead, and yields there. The
// same with RestartCountdown: the module's own calls of an export (at call
// depth 1) do not restart the countdown.
func TestCountdownEntries(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		inc     spinInc
		restart bool
	}{{spinIncExported, false}, {spinIncInternal, false}, {spinIncExported, true}, {spinIncInternal, true}} {
		inc := c.inc
		for _, n := range []int64{1, 3, 5, 8, 13, 100, 4096} {
			res := instrument(t, spinModule(inc), Config{LimitsOnly: true, YieldInterval: n, RestartCountdown: c.restart})
			l := e.limited(t, res)
			const yields = 40
			y := &yieldCounter{stopAt: yields, record: "iters"}
			_, err := l.countdownCall(y, "spin")
			require.ErrorIs(t, err, errStopped)
			var want []uint64
			if inc == spinIncExported {
				// Checkpoint 0: spin's entry (2); then, per iteration i =
				// 1, 2, ...: the loop header (3) at 2i-1 and inc's entry
				// (5) at 2i, both before iters goes from i-1 to i.
				want = countdownModel(n, yields,
					func(k int) int64 {
						switch {
						case k == 0:
							return 2
						case k%2 == 1:
							return 3
						}
						return 5
					},
					func(k int) uint64 { return uint64(max((k+1)/2-1, 0)) })
			} else {
				// spin's entry (2), then the loop header (3 + inc's 5)
				// before each iteration.
				want = countdownModel(n, yields,
					func(k int) int64 {
						if k == 0 {
							return 2
						}
						return 8
					},
					func(k int) uint64 { return uint64(max(k-1, 0)) })
			}
			assert.Equal(t, want, y.seen, "inc %d, interval %d, restart %v", inc, n, c.restart)
		}
	}
}

// TestCountdownRestart: with RestartCountdown every entry from the host
// (call depth 0) starts with the countdown at the interval, so calls of
// inc (5 instructions) never yield with interval 12; without it the
// countdown carries over from call to call and every third call yields.
// Either way a call longer than the interval yields within it, and the
// guest still sets the countdown back when it yields.
func TestCountdownRestart(t *testing.T) {
	e := newEnv(t)
	for _, restart := range []bool{false, true} {
		res := instrument(t, spinModule(spinIncExported), Config{LimitsOnly: true, YieldInterval: 12, RestartCountdown: restart})
		l := e.limited(t, res)
		y := &yieldCounter{}
		for range 10 {
			_, err := l.countdownCall(y, "inc")
			require.NoError(t, err)
		}
		want := int64(3) // at the 3rd, 6th and 9th call: 12 - 3*5 < 0
		if restart {
			want = 0
		}
		assert.Equal(t, want, y.calls.Load(), "restart %v", restart)
		// spin (iters is 10 after the calls of inc): its entry (2), then
		// per iteration the loop header (3) and inc's entry (5), which
		// does not restart the countdown. From 12 (restarted) it first
		// goes below 1 at the header before iters 11 -> 12 (12-2-3-5-3);
		// from the 7 the calls of inc left, at inc's entry before 10 -> 11
		// (7-2-3-5). Either way the next two yields come 16 instructions
		// apart, at inc's entries before 12 -> 13 and 14 -> 15.
		y = &yieldCounter{stopAt: 3, record: "iters"}
		_, err := l.countdownCall(y, "spin")
		require.ErrorIs(t, err, errStopped)
		seen := []uint64{10, 12, 14}
		if restart {
			seen = []uint64{11, 12, 14}
		}
		assert.Equal(t, seen, y.seen, "restart %v", restart)
	}
}

// TestCountdownElided checks which functions lose their entry checkpoint
// (see planElision): with interval 1 every checkpoint reached yields, so a
// call yields once per checkpoint it passes; and the weight of a function
// without checkpoint counts at its call site, once per call.
func TestCountdownElided(t *testing.T) {
	e := newEnv(t)
	v := w0typ
	cases := []struct {
		name string
		mod  func(w *wmod) // adds functions; run() is exported
		arg  uint64
		want int64 // checkpoints passed by run(arg)
	}{
		{"chain", func(w *wmod) {
			b := w.fn(v(w), nil, op(0x01))
			a := w.fn(v(w), nil, call(b), call(b))
			w.export("run", 0, w.fn(w.typ([]byte{i32}, nil), nil, call(a), call(a)))
		}, 0, 1},
		{"exported", func(w *wmod) {
			a := w.fn(v(w), nil, op(0x01))
			w.export("a", 0, a)
			w.export("run", 0, w.fn(w.typ([]byte{i32}, nil), nil, call(a), call(a)))
		}, 0, 3},
		{"in a table", func(w *wmod) {
			a := w.fn(v(w), nil, op(0x01))
			w.tables = append(w.tables, []byte{0x70, 0x00, 0x01})
			w.elems = append(w.elems, cat([]byte{0}, i32c(0), end, vecOf(u32(a))))
			w.export("run", 0, w.fn(w.typ([]byte{i32}, nil), nil, call(a), i32c(0), callInd(v(w))))
		}, 0, 3},
		{"named by ref.func", func(w *wmod) {
			a := w.fn(v(w), nil, op(0x01))
			w.elems = append(w.elems, cat([]byte{3, 0}, vecOf(u32(a)))) // declarative
			w.export("run", 0, w.fn(w.typ([]byte{i32}, nil), nil, call(a), refFunc(a), drop))
		}, 0, 2},
		{"with a loop", func(w *wmod) {
			a := w.fn(v(w), nil, loop(empty), end)
			w.export("run", 0, w.fn(w.typ([]byte{i32}, nil), nil, call(a)))
		}, 0, 3},
		{"too heavy", func(w *wmod) {
			body := [][]byte{}
			for range maxElidedWeight / 2 {
				body = append(body, i32c(0), drop)
			}
			a := w.fn(v(w), nil, body...)
			b := w.fn(v(w), nil, append(body[:len(body)-2:len(body)-2], op(0x01))...) // maxElidedWeight, with its end
			w.export("run", 0, w.fn(w.typ([]byte{i32}, nil), nil, call(a), call(b)))
		}, 0, 2},
		{"recursion", func(w *wmod) {
			// a(n): if n { a(n-1) }, an internal recursive function.
			a := w.fn(w.typ([]byte{i32}, nil), nil, lget(0), ifb(empty), lget(0), i32c(1), op(0x6b), call(0), end)
			w.export("run", 0, w.fn(w.typ([]byte{i32}, nil), nil, lget(0), call(a)))
		}, 5, 1 + 6},
		{"mutual recursion", func(w *wmod) {
			// a(n): b(n); b(n): if n { a(n-1) }.
			t := w.typ([]byte{i32}, nil)
			a := w.fn(t, nil, lget(0), call(1))
			w.fn(t, nil, lget(0), ifb(empty), lget(0), i32c(1), op(0x6b), call(a), end)
			w.export("run", 0, w.fn(t, nil, lget(0), call(a)))
		}, 5, 1 + 6},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := &wmod{}
			c.mod(w)
			res := instrument(t, w.bytes(), Config{LimitsOnly: true, YieldInterval: 1})
			l := e.limited(t, res)
			y := &yieldCounter{}
			_, err := l.countdownCall(y, "run", c.arg)
			require.NoError(t, err)
			assert.Equal(t, c.want, y.calls.Load())
		})
	}

	// The weights: run (call a, call a, end: 3) and twice a (call b,
	// call b, end, and twice b: nop, end), counted at run's entry.
	w := &wmod{}
	b := w.fn(w0typ(w), nil, op(0x01))
	a := w.fn(w0typ(w), nil, call(b), call(b))
	w.export("run", 0, w.fn(w0typ(w), nil, call(a), call(a)))
	res := instrument(t, w.bytes(), Config{LimitsOnly: true, YieldInterval: 1000})
	l := e.limited(t, res)
	_, err := l.countdownCall(&yieldCounter{}, "run")
	require.NoError(t, err)
	assert.Equal(t, uint64(1000-(3+2*(3+2*2))), l.mod.ExportedGlobal(YieldCountdownExport).Get())
}

// TestCountdownElidedInvalid checks that a module with several invalid
// functions fails with the same error with yield checkpoints as without:
// the first in function order, though the look for functions without
// checkpoint validates the internal ones first.
func TestCountdownElidedInvalid(t *testing.T) {
	w := &wmod{}
	f := w.fn(w0typ(w), nil, i32c(0)) // leaves a value
	w.export("f", 0, f)
	w.fn(w0typ(w), nil, drop) // internal: drops nothing
	_, plain := Instrument(w.bytes(), Config{LimitsOnly: true})
	require.Error(t, plain)
	_, yield := Instrument(w.bytes(), Config{LimitsOnly: true, YieldInterval: 1000})
	require.Error(t, yield)
	assert.Equal(t, plain.Error(), yield.Error())
	var me *ModuleError
	require.ErrorAs(t, yield, &me)
	assert.Equal(t, 0, me.Func)
}

// w0typ adds the type () -> () to w.
func w0typ(w *wmod) uint32 { return w.typ(nil, nil) }

// TestCountdownHost checks what the host may do with the countdown: set it
// to 0, and the guest yields at its next checkpoint; set it high, and it
// runs that much longer.
func TestCountdownHost(t *testing.T) {
	e := newEnv(t)
	res := instrument(t, spinModule(spinOnly), Config{LimitsOnly: true, YieldInterval: 1 << 40})
	l := e.limited(t, res)
	cd := l.mod.ExportedGlobal(YieldCountdownExport).(api.MutableGlobal)
	cd.Set(0)
	y := &yieldCounter{stopAt: 1, record: "iters"}
	_, err := l.countdownCall(y, "spin")
	require.ErrorIs(t, err, errStopped)
	assert.Equal(t, []uint64{0}, y.seen, "yields at the entry")
	cd.Set(2 + 6*10)
	y = &yieldCounter{stopAt: 1, record: "iters"}
	iters := l.mod.ExportedGlobal("iters").(api.MutableGlobal)
	iters.Set(0)
	_, err = l.countdownCall(y, "spin")
	require.ErrorIs(t, err, errStopped)
	assert.Equal(t, []uint64{9}, y.seen, "the entry and 10 passes of the loop header")
}

// loopsModule exports functions whose loops exercise what the checkpoints
// rewrite: nested loops left through br_if, br_table and return, a loop with
// parameters and results, and locals of every numeric type (a NaN with a
// payload among them) written in loops.
func loopsModule() []byte {
	w := &wmod{}
	// nest(n i32) -> i64: for i < n { for j <= i { acc += j; f += 1 } ;
	// i++; leave both loops through br_table when i == 7 }; acc + f.
	// (local $i i32) (local $j i32) (local $acc i64) (local $f f64)
	nest := w.fn(w.typ([]byte{i32}, []byte{i64}), locals(2, i32, 1, i64, 1, f64),
		block(empty), loop(empty),
		lget(1), lget(0), op(0x4f), brIf(1), // i >= n: out
		i32c(0), lset(2),
		loop(empty),
		lget(3), lget(2), op(0xad), op(0x7c), lset(3),
		lget(4), cat([]byte{0x44}, f64bits(1.0)), op(0xa0), lset(4),
		lget(2), i32c(1), op(0x6a), ltee(2), lget(1), op(0x4d), brIf(0), // j <= i
		end,
		lget(1), i32c(1), op(0x6a), ltee(1), i32c(7), op(0x46),
		[]byte{0x0e, 0x01, 0x00, 0x01}, // br_table [$outer] $out
		end, end,
		lget(3), lget(4), op(0xb0), op(0x7c)) // i64.trunc_f64_s
	w.export("nest", 0, nest)

	// tri(n i64) -> i64: a loop (param acc k) (result acc): n + ... + 1.
	pt := w.typ([]byte{i64, i64}, []byte{i64})
	tri := w.fn(w.typ([]byte{i64}, []byte{i64}), locals(1, i64),
		i64c(0), lget(0), cat([]byte{0x03}, s64(int64(pt))),
		lset(1), lget(1), op(0x7c),
		lget(1), i64c(1), op(0x7d),
		lget(1), i64c(1), op(0x55), brIf(0),
		drop, end)
	w.export("tri", 0, tri)

	// find(n i32) -> i32: returns n + 100 from inside two loops.
	find := w.fn(w.typ([]byte{i32}, []byte{i32}), locals(1, i32),
		loop(empty), loop(empty),
		lget(1), lget(0), op(0x46), ifb(empty), lget(1), i32c(100), op(0x6a), ret, end,
		lget(1), i32c(1), op(0x6a), lset(1),
		lget(1), i32c(3), op(0x70), brIf(0), // i % 3 != 0: inner
		br(1),
		end, end, unr)
	w.export("find", 0, find)

	// bits(n i32) -> i64: n times, writes an i32, an i64, an f32 and an
	// f64 local, the floats NaNs with payloads kept bit for bit; returns
	// a mix of all four.
	bits := w.fn(w.typ([]byte{i32}, []byte{i64}), locals(1, i32, 1, i64, 1, f32, 1, f64),
		cat([]byte{0x43}, u32le(0x7fa00001)), lset(3),
		cat([]byte{0x44}, u64le(0x7ff4000000000001)), lset(4),
		block(empty), loop(empty),
		lget(0), op(0x45), brIf(1),
		lget(1), i32c(3), op(0x6a), lset(1),
		lget(2), lget(1), op(0xac), op(0x7c), lset(2),
		lget(3), lset(3), lget(4), lset(4),
		lget(0), i32c(1), op(0x6b), lset(0), br(0),
		end, end,
		lget(2), lget(1), op(0xad), op(0x7c),
		lget(3), op(0xbc), op(0xad), op(0x7c),
		lget(4), op(0xbd), op(0x7c))
	w.export("bits", 0, bits)
	return w.bytes()
}

func f64bits(v float64) []byte { return u64le(math.Float64bits(v)) }

func u64le(v uint64) []byte {
	b := make([]byte, 8)
	for i := range b {
		b[i] = byte(v >> (8 * i))
	}
	return b
}

func u32le(v uint32) []byte { return u64le(uint64(v))[:4] }

// TestCountdownSameResults checks that the checkpoints change nothing but
// the yields: every function returns what it returns uninstrumented, even
// yielding at every checkpoint, and yields as the interval says.
func TestCountdownSameResults(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		wasm []byte
		name string
		args []uint64
	}{
		{loopsModule(), "nest", []uint64{5}}, {loopsModule(), "nest", []uint64{20}}, {loopsModule(), "nest", []uint64{0}},
		{loopsModule(), "tri", []uint64{1}}, {loopsModule(), "tri", []uint64{100}},
		{loopsModule(), "find", []uint64{0}}, {loopsModule(), "find", []uint64{14}},
		{loopsModule(), "bits", []uint64{0}}, {loopsModule(), "bits", []uint64{9}},
		{recModule(), "rec", []uint64{9}}, {recModule(), "recret", []uint64{9}}, {recModule(), "recbr", []uint64{9}},
		{hashModule(), "hash", []uint64{20}},
		{shiftModule(), "apply", []uint64{5, 0}}, {shiftModule(), "viaref", []uint64{4}},
		{shiftModule(), "callimport", []uint64{4}},
	}
	for _, c := range cases {
		want, err := e.instantiate(t, c.wasm).ExportedFunction(c.name).Call(e.ctx, c.args...)
		require.NoError(t, err, c.name)
		for _, n := range []int64{1, 2, 3, 7, 1000} {
			l := e.limited(t, instrument(t, c.wasm, Config{LimitsOnly: true, YieldInterval: n}))
			y := &yieldCounter{}
			got, err := l.countdownCall(y, c.name, c.args...)
			require.NoError(t, err, "%s%v, interval %d", c.name, c.args, n)
			assert.Equal(t, want, got, "%s%v, interval %d", c.name, c.args, n)
			if n == 1 {
				assert.Positive(t, y.calls.Load(), "%s: yields at every checkpoint", c.name)
			}
		}
	}
}

// TestCountdownCopies checks the copies on the cold path of a loop: every
// numeric local the loop writes, once, and no other.
func TestCountdownCopies(t *testing.T) {
	w := &wmod{}
	// (param i32) (local i64 f32 f64 i32): the loop writes locals 1, 2, 0
	// and 3 (twice), reads 4.
	w.fn(w.typ([]byte{i32}, nil), locals(1, i64, 1, f32, 1, f64, 1, i32),
		loop(empty),
		i64c(1), lset(1), lget(2), lset(2), lget(0), ltee(0), drop,
		lget(3), lset(3), lget(3), lset(3), lget(4), drop,
		end)
	res, err := Instrument(w.bytes(), Config{LimitsOnly: true, YieldInterval: 10})
	require.NoError(t, err)
	body := string(res.Module)
	copyOf := func(x uint32, t byte) string {
		var c []byte
		switch t {
		case i32:
			c = cat(lget(x), i32c(0), op(0x72), lset(x))
		case i64:
			c = cat(lget(x), i64c(0), op(0x84), lset(x))
		case f32:
			c = cat(lget(x), lget(x), op(0x98), lset(x))
		case f64:
			c = cat(lget(x), lget(x), op(0xa6), lset(x))
		}
		return string(c)
	}
	// The injected local is 5: the cold path sets it after the call.
	want := copyOf(1, i64) + copyOf(2, f32) + copyOf(0, i32) + copyOf(3, f64) + string(i64c(10))
	assert.Contains(t, body, want)
	assert.NotContains(t, body, copyOf(4, i32))
	_ = instrument(t, w.bytes(), Config{LimitsOnly: true, YieldInterval: 10})
}

// TestCountdownManyLocals checks a function that already declares 50000
// locals: no local is injected (the checkpoints work on the global), and
// it yields all the same.
func TestCountdownManyLocals(t *testing.T) {
	w := &wmod{}
	g := w.global(i64, true, i64c(0))
	w.export("iters", 3, g)
	w.export("spin", 0, w.fn(w.typ([]byte{i32}, nil), locals(maxLocals-1, i64),
		loop(empty), gget(g), i64c(1), op(0x7c), gset(g), br(0), end))
	res := instrument(t, w.bytes(), Config{LimitsOnly: true, YieldInterval: 60, MaxStackSlots: math.MaxInt32})
	e := newEnv(t)
	l := e.limited(t, res)
	y := &yieldCounter{stopAt: 3, record: "iters"}
	_, err := l.countdownCall(y, "spin", 0)
	require.ErrorIs(t, err, errStopped)
	assert.Equal(t, []uint64{9, 19, 29}, y.seen)
}

// TestCountdownLimits checks that the call-depth and stack limits hold
// with the checkpoints, as without.
func TestCountdownLimits(t *testing.T) {
	e := newEnv(t)
	for _, n := range []int64{1, 1000} {
		l := e.limited(t, instrument(t, recModule(), Config{LimitsOnly: true, YieldInterval: n, MaxCallDepth: 10}))
		for _, name := range []string{"rec", "recret", "recbr"} {
			out, err := l.countdownCall(&yieldCounter{}, name, 9)
			require.NoError(t, err, name)
			assert.Equal(t, []uint64{9}, out)
			assert.Zero(t, l.depth.Get(), name)
			_, err = l.countdownCall(&yieldCounter{}, name, 10)
			require.ErrorIs(t, err, errDepthLimit, name)
		}
		// 25 slots allow 6 activations of 4.
		l = e.limited(t, instrument(t, recModule(), Config{LimitsOnly: true, YieldInterval: n, MaxStackSlots: 25}))
		_, err := l.countdownCall(&yieldCounter{}, "rec", 5)
		require.NoError(t, err)
		_, err = l.countdownCall(&yieldCounter{}, "rec", 6)
		require.ErrorIs(t, err, errDepthLimit)
		// Unbounded: the default depth limit.
		l = e.limited(t, instrument(t, recModule(), Config{LimitsOnly: true, YieldInterval: n}))
		_, err = l.countdownCall(&yieldCounter{}, "rec", 1<<40)
		require.ErrorIs(t, err, errDepthLimit)
	}
}

// TestCountdownStopsRunawayGuest is TestYieldStopsRunawayGuest without
// gas: the host stops a guest looping or recursing forever at a
// checkpoint.
func TestCountdownStopsRunawayGuest(t *testing.T) {
	raw := readFile(t, "../conformance/fixtures/wat/raw.wasm")
	for _, c := range []struct {
		name   string
		wasm   []byte
		export string
		args   []uint64
	}{
		{"loop_forever", raw, "loop_forever", nil},
		{"sum_to", raw, "sum_to", []uint64{1 << 62}},
		{"fib", fibModule(), "fib", []uint64{60}},
		{"hash", hashModule(), "hash", []uint64{1 << 40}},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := instrument(t, c.wasm, Config{LimitsOnly: true, YieldInterval: 10000})
			l := newEnv(t).limited(t, res)
			y := &yieldCounter{}
			go func() {
				time.Sleep(20 * time.Millisecond)
				y.stop.Store(true)
			}()
			start := time.Now()
			_, err := l.countdownCall(y, c.export, c.args...)
			require.ErrorIs(t, err, errStopped)
			assert.Less(t, time.Since(start), 5*time.Second)
			assert.Positive(t, y.calls.Load())
			// The instance runs again.
			y = &yieldCounter{stopAt: 3}
			_, err = l.countdownCall(y, c.export, c.args...)
			require.ErrorIs(t, err, errStopped)
		})
	}
}

func TestCountdownNameReserved(t *testing.T) {
	w := &wmod{}
	w.global(i64, true, i64c(0))
	w.export(YieldCountdownExport, 3, 0)
	for _, cfg := range []Config{{}, {LimitsOnly: true}, {LimitsOnly: true, YieldInterval: 10}} {
		_, err := Instrument(w.bytes(), cfg)
		assert.ErrorIs(t, err, ErrReservedName, "%+v", cfg)
	}
	// An instrumented module is not instrumented again.
	res := instrument(t, recModule(), Config{LimitsOnly: true, YieldInterval: 10})
	_, err := Instrument(res.Module, Config{LimitsOnly: true, YieldInterval: 10})
	assert.ErrorIs(t, err, ErrReservedName)
	// Snapshots see the countdown as one more exported mutable global.
	snap, err := PrepareSnapshot(res.Module)
	require.NoError(t, err)
	assert.Contains(t, snap.Globals, YieldCountdownExport)
}

// BenchmarkInstrumentGoCountdown is BenchmarkInstrumentGo with the limits
// and yield checkpoints, as the runtime instruments unmetered modules for
// wazero and wasmer.
func BenchmarkInstrumentGoCountdown(b *testing.B) {
	wasm := goModule(b)
	b.SetBytes(int64(len(wasm)))
	for b.Loop() {
		if _, err := Instrument(wasm, Config{LimitsOnly: true, YieldInterval: 1 << 16}); err != nil {
			b.Fatal(err)
		}
	}
}
