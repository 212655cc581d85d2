package metering

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// brTableChargeModule exports, on x (i32) -> i32, br_tables dispatching
// on x, as Go's compiled functions do:
//
//	goloop: Go's shape, loop; block*5; local.get 0; br_table; end;
//	  <case>; end; ... inside a loop the cases jump back to with a new
//	  state (local 0): s0 only the br_table enters; the br_table and the
//	  false edge of a conditional jump (if; i32.const; local.set 0; br
//	  $loop; end) right before its block's end enter s1 and s2; s3 the
//	  br_table and a plain fallthrough; s4 the br_table and a br_if. Up
//	  to 40 steps; x = 7 traps at step 20 (in s1), x = 9 at step 13 (in
//	  s2, after the charge);
//	impure: goloop's shape, but the loop header does more than blocks
//	  and the local.get before the br_table: its charges stay apart;
//	dispatch: seven cases of a br_table outside any loop: its charges
//	  stay apart;
//	computed: goloop's shape, but the br_table's index is computed
//	  (x & 7): its charges stay apart.
func brTableChargeModule() []byte {
	w := &wmod{}
	typ := w.typ([]byte{i32}, []byte{i32})
	acc := func(ops ...[]byte) []byte { return cat(lget(1), cat(ops...), lset(1)) }
	add := func(v int32) []byte { return acc(i32c(v), op(0x6a)) }
	mul := func(v int32) []byte { return acc(i32c(v), op(0x6c)) }
	xor := func(v int32) []byte { return acc(i32c(v), op(0x73)) }
	table := func(index []byte, labels ...uint32) []byte {
		b := cat(index, []byte{0x0e}, u32(uint32(len(labels)-1)))
		for _, l := range labels {
			b = cat(b, u32(l))
		}
		return b
	}
	// jump is Go's conditional jump to state s when acc & m: if; i32.const
	// s; local.set 0; br $loop; end, from depth d (the loop's label from
	// inside the if).
	jump := func(m, s int32, d uint32) []byte {
		return cat(lget(1), i32c(m), op(0x71), ifb(0x40), i32c(s), lset(0), br(d), end)
	}
	// step counts a step and leaves past 40 (br_if to $exit from depth d),
	// trapping at step n of x = k.
	step := func(d uint32, k, n int32) []byte {
		return cat(lget(2), i32c(1), op(0x6a), ltee(2), i32c(40), op(0x4a), brIf(d),
			lget(3), i32c(k), op(0x46), lget(2), i32c(n), op(0x46), op(0x71), ifb(0x40), op(0x00), end)
	}
	// Labels, after the end of block k (s_k starts): $loop at depth 4-k,
	// $exit at 5-k.
	machine := func(header, index []byte) []byte {
		return cat(
			lget(0), lset(3),
			block(0x40), loop(0x40), header,
			block(0x40), block(0x40), block(0x40), block(0x40), block(0x40),
			table(index, 0, 1, 2, 3, 4, 4, 1),
			end, // s0: only the br_table
			add(3), mul(3), step(5, -1, 0), jump(1, 2, 5),
			end, // s1: the br_table and the if's false edge
			xor(7), add(5), step(4, 7, 20), jump(2, 3, 4),
			end, // s2: the br_table and the if's false edge
			step(3, 9, 13), mul(5), add(-4), lget(1), i32c(8), op(0x71), brIf(0),
			end, // s3: the br_table and a fallthrough or br_if 0 (in s2)
			xor(0x77), add(9), step(2, -1, 0), jump(4, 0, 2), i32c(1), lset(0), br(1),
			end, // s4
			lget(1), i32c(1), op(0x6a), op(0x0f),
			end, end, // $loop, $exit: past 40 steps
			lget(1),
		)
	}
	w.export("goloop", 0, w.fn(typ, locals(3, i32), machine(nil, lget(0))))
	w.export("impure", 0, w.fn(typ, locals(3, i32), machine(add(1), lget(0))))
	w.export("computed", 0, w.fn(typ, locals(3, i32), machine(nil, cat(lget(0), i32c(7), op(0x71)))))
	// wide: Go's dispatch over twelve states, each case only the br_table
	// enters, whose costs the helper holds after goloop's (its labels cross
	// the helper's words of packed costs); case 3 costs more than a packed
	// cost can hold (it keeps its own charge). The next state is (state*5 +
	// 3) % 14: states 12 and 13 take the default. Up to 12 steps.
	const k = 12
	wide := cat(lget(0), lset(3), block(0x40), loop(0x40))
	for range k {
		wide = cat(wide, block(0x40))
	}
	labels := make([]uint32, k)
	for j := range labels {
		labels[j] = uint32(j)
	}
	wide = cat(wide, table(lget(0), append(labels, k-1)...))
	for j := range uint32(k) {
		wide = cat(wide, end, add(int32(j)+1))
		if j == 3 {
			for range 70 {
				wide = cat(wide, add(1))
			}
		}
		wide = cat(wide, lget(2), i32c(1), op(0x6a), ltee(2), i32c(12), op(0x4a), brIf(k-j),
			lget(0), i32c(5), op(0x6c), i32c(3), op(0x6a), i32c(k+2), op(0x70), lset(0), br(k-1-j))
	}
	w.export("wide", 0, w.fn(typ, locals(3, i32), cat(wide, end, end, lget(1))))
	w.export("dispatch", 0, w.fn(typ, locals(1, i32),
		block(0x40), block(0x40), block(0x40), block(0x40),
		table(lget(0), 0, 1, 2, 0, 2),
		end, add(3), mul(3), br(2),
		end, add(5), xor(7), lget(0), i32c(1), op(0x71), ifb(0x40), i32c(9), lset(1), br(2), end,
		end, mul(7), add(1),
		end, lget(1),
	))
	return w.bytes()
}

// TestBrTableCharges: in Go's dispatch (a loop whose header is only
// blocks and the local.get of the index of a br_table), the loop header's
// charge moves to the br_table, into one call that also charges the
// segment of the target the index selects when every other edge into it
// charges it too: the targets only the br_table enters, and those the
// false edge of an if falls into (its if-charge helper then charges the
// false edge's segment and the target's). The gas, the result, and the
// point and gas used of running out are those of the separate charges for
// every budget up to what a call needs, with and without yield
// checkpoints, for every label, the default and indices out of range;
// other br_tables keep their charges.
func TestBrTableCharges(t *testing.T) {
	code := brTableChargeModule()
	separate := func(cfg Config) *Result {
		mergeBrTableCharges = false
		defer func() { mergeBrTableCharges = true }()
		return instrument(t, code, cfg)
	}
	ref := separate(Config{RecordSegments: true})
	res := instrument(t, code, Config{RecordSegments: true})
	names := []string{"goloop", "impure", "computed", "wide", "dispatch"}

	// goloop is shorter (the others may differ in size only as the
	// module-wide counts of uses that pick a charge's shape do). Segments
	// and static costs are the same.
	size := func(r *Result, i int) int {
		m, err := parseModule(r.Module, true)
		require.NoError(t, err)
		return m.code[i].end - m.code[i].start
	}
	for i, name := range names {
		assert.Equal(t, ref.Functions[i].Segs, res.Functions[i].Segs, name)
		assert.Equal(t, ref.Functions[i].StaticCost, res.Functions[i].StaticCost, name)
		if name == "goloop" || name == "wide" {
			assert.Less(t, size(res, i), size(ref, i), name)
		}
	}

	e := newEnv(t)
	want := e.metered(t, ref)
	xs := []uint64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 100, 0xffffffff}
	for _, interval := range []int64{0, 1, 7, 1000} {
		got := e.metered(t, instrument(t, code, Config{YieldInterval: interval}))
		wantY := e.metered(t, separate(Config{YieldInterval: interval}))
		for _, name := range names {
			for _, x := range xs {
				out, need, err := want.call(name, 1<<40, x)
				trapped := err != nil
				if trapped {
					require.NotErrorIs(t, err, errOutOfGas, "%s x %d", name, x)
				}
				for gas := int64(0); gas <= need; gas++ {
					if skipBudget(gas, need) {
						continue
					}
					var wantOut, gotOut []uint64
					var wantUsed, gotUsed int64
					var wantErr, gotErr error
					if interval == 0 {
						wantOut, wantUsed, wantErr = want.call(name, gas, x)
						gotOut, gotUsed, gotErr = got.call(name, gas, x)
					} else {
						wantOut, wantUsed, wantErr = wantY.yieldCall(&yieldCounter{}, interval, name, gas, x)
						gotOut, gotUsed, gotErr = got.yieldCall(&yieldCounter{}, interval, name, gas, x)
					}
					require.Equal(t, wantErr == nil, gotErr == nil, "%s x %d interval %d gas %d: %v / %v", name, x, interval, gas, wantErr, gotErr)
					if gotErr != nil {
						require.Equal(t, errorIsOOG(wantErr), errorIsOOG(gotErr), "%s x %d interval %d gas %d: %v / %v", name, x, interval, gas, wantErr, gotErr)
					} else {
						require.Equal(t, wantOut, gotOut)
						require.False(t, trapped)
						require.Equal(t, out, gotOut)
					}
					require.Equal(t, wantUsed, gotUsed, "%s x %d interval %d gas %d", name, x, interval, gas)
				}
			}
		}
	}
}

func errorIsOOG(err error) bool {
	return errors.Is(err, errOutOfGas)
}
