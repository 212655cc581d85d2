package metering

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ifChargeModule exports, on x (i32) -> i32, 40 ifs on x's bits each:
//
//	jump: block; if (bit) { x += 3; br 1 } end; x -= 1; end — the then branch
//	  never reaches the if's end, so the code after it is entered only
//	  from the false edge (Go's compiled jumps look like this);
//	arms: if (bit) { x += 1 } else { x = x*3 + 1 } end;
//	through: if (bit) { x += 1 } end; x -= 1 — the then branch falls
//	  through to the code after the if, which two edges enter;
//	own: block; if (bit) { x += 1; br 0; } end; x -= 1; end — the then
//	  branch leaves through the if's own label, to the code after it.
func ifChargeModule() []byte {
	w := &wmod{}
	typ := w.typ([]byte{i32}, []byte{i32})
	bit := func(i int) []byte { return cat(lget(0), i32c(int32(i%31)), op(0x76), i32c(1), op(0x71)) }
	add := func(v int32) []byte { return cat(lget(0), i32c(v), op(0x6a), lset(0)) }
	fn := func(name string, each func(i int) []byte) {
		var body [][]byte
		for i := 0; i < 40; i++ {
			body = append(body, each(i))
		}
		body = append(body, lget(0))
		w.export(name, 0, w.fn(typ, nil, body...))
	}
	fn("jump", func(i int) []byte {
		return cat(block(0x40), bit(i), ifb(0x40), add(3), br(1), end, add(-1), end)
	})
	fn("arms", func(i int) []byte {
		return cat(bit(i), ifb(0x40), add(1), elseb, lget(0), i32c(3), op(0x6c), i32c(1), op(0x6a), lset(0), end)
	})
	fn("through", func(i int) []byte { return cat(bit(i), ifb(0x40), add(1), end, add(-1)) })
	fn("own", func(i int) []byte {
		return cat(block(0x40), bit(i), ifb(0x40), add(1), br(0), end, add(-1), end)
	})
	return w.bytes()
}

// TestIfCharges: where both branches of an if start a segment entered only
// from it, their charges become one call before the if (of the helper of
// that pair of costs, from its costHelperUses-th if on), charging the
// branch taken. The gas, the result, and the point and gas used of running
// out are those of the separate charges for every budget up to what a call
// needs, with and without yield checkpoints; ifs whose false edge joins
// other code keep their charges.
func TestIfCharges(t *testing.T) {
	code := ifChargeModule()
	separate := func(cfg Config) *Result {
		mergeIfCharges = false
		defer func() { mergeIfCharges = true }()
		return instrument(t, code, cfg)
	}
	ref := separate(Config{RecordSegments: true})
	res := instrument(t, code, Config{RecordSegments: true})

	// The merged functions are shorter; the others unchanged. Segments and
	// static costs are the same.
	size := func(r *Result, i int) int {
		m, err := parseModule(r.Module, true)
		require.NoError(t, err)
		return m.code[i].end - m.code[i].start
	}
	for i, name := range []string{"jump", "arms", "through", "own"} {
		assert.Equal(t, ref.Functions[i].Segs, res.Functions[i].Segs, name)
		if name == "jump" || name == "arms" {
			assert.Less(t, size(res, i), size(ref, i), name)
		} else {
			assert.Equal(t, size(ref, i), size(res, i), name)
		}
	}

	e := newEnv(t)
	want := e.metered(t, ref)
	for _, interval := range []int64{0, 1, 7, 1000} {
		got := e.metered(t, instrument(t, code, Config{YieldInterval: interval}))
		wantY := e.metered(t, separate(Config{YieldInterval: interval}))
		for _, name := range []string{"jump", "arms", "through", "own"} {
			for _, x := range []uint64{0, 0x5a5a5a5a, 0x7fffffff} {
				out, need, err := want.call(name, 1<<40, x)
				require.NoError(t, err)
				for gas := int64(0); gas <= need; gas++ {
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
					require.Equal(t, wantErr == nil, gotErr == nil, "%s x %x interval %d gas %d", name, x, interval, gas)
					if gotErr != nil {
						require.ErrorIs(t, gotErr, errOutOfGas)
					} else {
						require.Equal(t, wantOut, gotOut)
						require.Equal(t, out, gotOut)
					}
					require.Equal(t, wantUsed, gotUsed, "%s x %x interval %d gas %d", name, x, interval, gas)
				}
			}
		}
	}
}

// skipBudget reports whether an exhaustive test over every budget from 0
// to need skips gas: under the race detector it runs the 16 smallest and
// largest and every fifth in between (the build without it runs all).
func skipBudget(gas, need int64) bool {
	return raceEnabled && gas >= 16 && gas <= need-16 && gas%5 != 0
}
