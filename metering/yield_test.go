package metering

import (
	"context"
	"errors"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero/api"
)

var errStopped = errors.New("test: stopped at a yield checkpoint")

type yieldKey struct{}

// yieldCounter is what the aspect.yield host function of newEnv reports to,
// through the call's context: every call is counted, and the guest is
// stopped (the host function fails) once stop is set, or at the stopAt-th
// call if it is positive. With record set, each call also appends the
// value of the calling module's exported global record (a guest's own
// progress counter) to seen, and that of __yield_countdown__ to countdown.
type yieldCounter struct {
	calls     atomic.Int64
	stop      atomic.Bool
	stopAt    int64
	record    string
	seen      []uint64
	countdown []uint64
}

// onYield implements aspect.yield for newEnv.
func onYield(ctx context.Context, m api.Module) {
	if y, ok := ctx.Value(yieldKey{}).(*yieldCounter); ok {
		n := y.calls.Add(1)
		if y.record != "" {
			y.seen = append(y.seen, m.ExportedGlobal(y.record).Get())
			y.countdown = append(y.countdown, m.ExportedGlobal(YieldCountdownExport).Get())
		}
		if y.stop.Load() || n == y.stopAt {
			panic(errStopped)
		}
	}
}

// fibModule exports fib(n i64) -> i64, naive double recursion without a
// single loop: fib(60) runs for hours, with at most 61 nested activations.
func fibModule() []byte {
	w := &wmod{}
	t := w.typ([]byte{i64}, []byte{i64})
	fib := uint32(0)
	w.fn(t, nil, lget(0), i64c(2), op(0x53), ifb(i64), lget(0), elseb, // n < 2 ? n
		lget(0), i64c(1), op(0x7d), call(fib), lget(0), i64c(2), op(0x7d), call(fib), op(0x7c), end)
	w.export("fib", 0, fib)
	return w.bytes()
}

// segmentsOf returns the segments of every function of res.
func segmentsOf(res *Result) [][]Segment {
	var out [][]Segment
	for _, f := range res.Functions {
		out = append(out, append([]Segment{{Offset: f.Segments, Cost: f.StaticCost}}, f.Segs...))
	}
	return out
}

// gasReserve is the gas a yieldCall keeps outside the counter: interval
// gas at a time goes into it at each checkpoint.
type gasReserve struct {
	left, interval uint64
}

type reserveKey struct{}

// onOutOfGas implements aspect.out_of_gas for newEnv: unless the call's
// reserve (yieldCall) and the counter together cover the charge of need,
// the guest is out of gas; else it is a yield checkpoint, counted by the
// call's yieldCounter (onYield, which may stop the guest), after which
// interval gas, or what the charge needs if more, moves from the reserve
// into the counter and the guest goes on.
func onOutOfGas(ctx context.Context, m api.Module, need uint64) {
	r, ok := ctx.Value(reserveKey{}).(*gasReserve)
	g := m.ExportedGlobal(GasCounterExport).(api.MutableGlobal)
	c := g.Get()
	if !ok || r.left == 0 || c+r.left < need {
		panic(errOutOfGas)
	}
	onYield(ctx, m)
	move := min(r.left, r.interval)
	if need > c {
		move = min(r.left, max(move, need-c))
	}
	g.Set(c + move)
	r.left -= move
}

// yieldCall calls export with gas and yield checkpoints every interval,
// counted by y: the counter starts with at most interval gas, the rest is
// kept in a reserve that onOutOfGas draws from. It returns the gas used,
// counter and reserve together.
func (m *metered) yieldCall(y *yieldCounter, interval int64, name string, gas int64, args ...uint64) ([]uint64, int64, error) {
	counter := min(gas, interval)
	r := &gasReserve{left: uint64(gas - counter), interval: uint64(interval)}
	m.gas.Set(uint64(counter))
	m.depth.Set(0)
	ctx := context.WithValue(context.WithValue(m.ctx, yieldKey{}, y), reserveKey{}, r)
	out, err := m.mod.ExportedFunction(name).Call(ctx, args...)
	return out, gas - int64(m.gas.Get()) - int64(r.left), err
}

func TestYieldCheckpoints(t *testing.T) {
	raw := readFile(t, "../conformance/fixtures/wat/raw.wasm")
	plain := instrument(t, raw, Config{RecordSegments: true})
	const interval = 1000
	res := instrument(t, raw, Config{RecordSegments: true, YieldInterval: interval})
	assert.Equal(t, int64(interval), res.YieldInterval)
	assert.Zero(t, plain.YieldInterval)
	// Checkpoints are the gas checks: the code is the same, byte for byte.
	assert.Equal(t, plain.Module, res.Module)
	assert.Equal(t, uint32(2), res.InjectedImports)
	assert.Equal(t, segmentsOf(plain), segmentsOf(res))

	e := newEnv(t)
	m := e.metered(t, res)
	for _, n := range []int64{0, 1, 10, 1000, 100000} {
		y := &yieldCounter{}
		out, used, err := m.yieldCall(y, interval, "sum_to", sumToGas(n), uint64(n))
		require.NoError(t, err)
		assert.Equal(t, uint64(n*(n+1)/2), out[0])
		assert.Equal(t, sumToGas(n), used, "n=%d: checkpoints cost no gas", n)
		// About one checkpoint per interval of gas used (checked at loop
		// headers, so each up to a loop iteration late).
		want := sumToGas(n) / interval
		assert.LessOrEqual(t, y.calls.Load(), want, "n=%d", n)
		assert.GreaterOrEqual(t, y.calls.Load(), want*1000/(1000+13), "n=%d", n)

		_, _, err = m.yieldCall(y, interval, "sum_to", sumToGas(n)-1, uint64(n))
		require.ErrorIs(t, err, errOutOfGas, "n=%d", n)
	}
}

func TestYieldStopsRunawayGuest(t *testing.T) {
	raw := readFile(t, "../conformance/fixtures/wat/raw.wasm")
	for _, c := range []struct {
		name   string
		wasm   []byte
		export string
		args   []uint64
		costs  *CostTable
	}{
		// A tight loop: checked at the loop header.
		{"loop_forever", raw, "loop_forever", nil, nil},
		{"sum_to", raw, "sum_to", []uint64{1 << 62}, nil},
		// No loop at all: checked at every function entry.
		{"fib", fibModule(), "fib", []uint64{60}, nil},
		// The hash loop nests loops and calls a helper.
		{"hash", hashModule(), "hash", []uint64{1 << 40}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := instrument(t, c.wasm, Config{YieldInterval: 10000, Costs: c.costs})
			e := newEnv(t)
			m := e.metered(t, res)
			y := &yieldCounter{}
			go func() {
				time.Sleep(20 * time.Millisecond)
				y.stop.Store(true)
			}()
			start := time.Now()
			_, used, err := m.yieldCall(y, 10000, c.export, 1<<62, c.args...)
			require.ErrorIs(t, err, errStopped)
			assert.Less(t, time.Since(start), 5*time.Second)
			assert.Positive(t, used)
			assert.Positive(t, y.calls.Load())

			// The instance runs again: out of its 1000 gas.
			_, _, err = m.yieldCall(&yieldCounter{}, 10000, c.export, 1000, c.args...)
			require.ErrorIs(t, err, errOutOfGas)
		})
	}
}

// TestYieldLabels checks that branches out of wrapped loops (to enclosing
// blocks, loops and the function, through br, br_if, br_table and return)
// still reach their targets, with loop parameters and results.
func TestYieldLabels(t *testing.T) {
	e := newEnv(t)
	for _, m := range seedModules() {
		plain := instrument(t, m, Config{})
		res := instrument(t, m, Config{YieldInterval: 7})
		assert.Equal(t, segmentsOf(plain), segmentsOf(res))
	}
	for _, c := range []struct {
		name string
		args []uint64
	}{{"rec", []uint64{9}}, {"recret", []uint64{9}}, {"recbr", []uint64{9}}} {
		plain := e.metered(t, instrument(t, recModule(), Config{}))
		res := instrument(t, recModule(), Config{YieldInterval: 3})
		m := e.metered(t, res)
		want, wantUsed, err := plain.call(c.name, 1<<40, c.args...)
		require.NoError(t, err)
		y := &yieldCounter{}
		got, used, err := m.yieldCall(y, 3, c.name, 1<<40, c.args...)
		require.NoError(t, err, c.name)
		assert.Equal(t, want, got, c.name)
		assert.Equal(t, wantUsed, used, c.name)
		assert.Positive(t, y.calls.Load(), c.name)
	}
	h := hashModule()
	plain := e.metered(t, instrument(t, h, Config{}))
	m := e.metered(t, instrument(t, h, Config{YieldInterval: 5}))
	want, wantUsed, err := plain.call("hash", 1<<40, 50)
	require.NoError(t, err)
	y := &yieldCounter{}
	got, used, err := m.yieldCall(y, 5, "hash", 1<<40, 50)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	assert.Equal(t, wantUsed, used)
	assert.Positive(t, y.calls.Load())
}

func TestYieldNamesReserved(t *testing.T) {
	w := &wmod{}
	w.importFunc(ImportModule, YieldImport, w.typ(nil, nil))
	_, err := Instrument(w.bytes(), Config{})
	assert.ErrorIs(t, err, ErrReservedName)

	_, err = Instrument(w.bytes(), Config{YieldInterval: -1})
	assert.ErrorIs(t, err, ErrConfig)
}

// BenchmarkYield compares, on wazero, raw.wasm's sum_to (about one machine
// cycle per loop iteration: the worst case) and the hash loop unmetered,
// metered, and metered with yield checkpoints every 2^20 gas, interleaved
// (so that load on a shared machine affects the three alike); it reports
// the median time of each per call and the ratios to unmetered.
func BenchmarkYield(b *testing.B) {
	raw := readFile(b, "../conformance/fixtures/wat/raw.wasm")
	for _, c := range []struct {
		name      string
		wasm      []byte
		export    string
		arg, want uint64
	}{
		{"sum_to", raw, "sum_to", sumToN, sumToN * (sumToN + 1) / 2},
		{"hash", hashModule(), "hash", hashRounds, hashRef(hashRounds)},
	} {
		b.Run(c.name, func(b *testing.B) {
			const interval = 1 << 20
			e := newEnv(b)
			plain := e.instantiate(b, c.wasm).ExportedFunction(c.export)
			metered := e.metered(b, instrument(b, c.wasm, Config{}))
			yielding := e.metered(b, instrument(b, c.wasm, Config{YieldInterval: interval}))
			y := &yieldCounter{}
			var tu, tm, ty []float64
			for b.Loop() {
				t0 := time.Now()
				out, err := plain.Call(e.ctx, c.arg)
				t1 := time.Now()
				out2, _, err2 := metered.call(c.export, 1<<62, c.arg)
				t2 := time.Now()
				out3, _, err3 := yielding.yieldCall(y, interval, c.export, 1<<62, c.arg)
				t3 := time.Now()
				if err != nil || err2 != nil || err3 != nil || out[0] != c.want || out2[0] != c.want || out3[0] != c.want {
					b.Fatal(out, err, out2, err2, out3, err3)
				}
				tu = append(tu, float64(t1.Sub(t0)))
				tm = append(tm, float64(t2.Sub(t1)))
				ty = append(ty, float64(t3.Sub(t2)))
			}
			mu, mm, my := median(tu), median(tm), median(ty)
			b.ReportMetric(mu, "unmetered-ns/call")
			b.ReportMetric(mm, "metered-ns/call")
			b.ReportMetric(my, "yield-ns/call")
			b.ReportMetric(mm/mu, "metered/unmetered")
			b.ReportMetric(my/mu, "yield/unmetered")
		})
	}
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// BenchmarkInstrumentGoYield is BenchmarkInstrumentGo with yield
// checkpoints, as the runtime instruments modules for wazero and wasmer.
func BenchmarkInstrumentGoYield(b *testing.B) {
	wasm := goModule(b)
	b.SetBytes(int64(len(wasm)))
	for b.Loop() {
		if _, err := Instrument(wasm, Config{YieldInterval: 1 << 20}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestYieldExactOutOfGas checks that yield checkpoints leave the point of
// running out of gas where it is without them, for every budget up to what
// the call needs: a loop header's checkpoint makes the charge of the loop
// body's first segment in the same test, and must fail exactly when that
// charge does, whatever __yield_at__ holds (the host may set it below 0,
// when the budget is smaller than the interval) and whether the interval
// is smaller or larger than an iteration's charge.
func TestYieldExactOutOfGas(t *testing.T) {
	raw := readFile(t, "../conformance/fixtures/wat/raw.wasm")
	e := newEnv(t)
	for _, c := range []struct {
		name   string
		wasm   []byte
		export string
		arg    uint64
	}{
		{"sum_to", raw, "sum_to", 6},
		{"hash", hashModule(), "hash", 1},
		{"rec", recModule(), "rec", 4},
	} {
		plain := e.metered(t, instrument(t, c.wasm, Config{}))
		want, need, err := plain.call(c.export, 1<<40, c.arg)
		require.NoError(t, err, c.name)
		for _, interval := range []int64{1, 3, 13, 1000, 1 << 40} {
			m := e.metered(t, instrument(t, c.wasm, Config{YieldInterval: interval}))
			for gas := int64(0); gas <= need; gas++ {
				_, wantUsed, wantErr := plain.call(c.export, gas, c.arg)
				y := &yieldCounter{}
				got, used, err := m.yieldCall(y, interval, c.export, gas, c.arg)
				require.Equal(t, wantErr == nil, err == nil, "%s interval %d gas %d: %v", c.name, interval, gas, err)
				if err != nil {
					require.ErrorIs(t, err, errOutOfGas, "%s interval %d gas %d", c.name, interval, gas)
				} else {
					require.Equal(t, want, got)
				}
				require.Equal(t, wantUsed, used, "%s interval %d gas %d", c.name, interval, gas)
			}
		}
	}
}

// TestYieldBigCharge: a charge much larger than the interval (memory.grow
// of 2^20 pages, 2^30 gas, with checkpoints every 1000 gas) is refilled at
// once, at one checkpoint, not in interval-sized steps (a million host
// calls here; the engine fuzzer's 2^42-gas grows hung); and a budget one
// short still runs out of gas where it does without checkpoints, with the
// counter unchanged.
func TestYieldBigCharge(t *testing.T) {
	const pages = 1 << 20
	want := int64(3 + 1024*pages)
	e := newEnv(t)
	m := e.metered(t, instrument(t, growModule(), Config{YieldInterval: 1000}))
	y := &yieldCounter{}
	out, used, err := m.yieldCall(y, 1000, "grow", want+5000, pages)
	require.NoError(t, err)
	assert.Equal(t, uint64(0xffffffff), out[0])
	assert.Equal(t, want, used)
	assert.LessOrEqual(t, y.calls.Load(), int64(1))

	y = &yieldCounter{}
	_, used, err = m.yieldCall(y, 1000, "grow", want-1, pages)
	require.ErrorIs(t, err, errOutOfGas)
	assert.Equal(t, int64(3), used) // the static charge, then nothing
	assert.Zero(t, y.calls.Load())
}

// TestCostHelpers: from its costHelperUses-th charge on, a cost is charged
// through a helper of its own (call $charge_C, no argument). f(x) runs 40
// ifs on x's bits, each arm a segment of the same cost; the instrumented
// module gets one such helper, and every budget up to what a call needs
// runs out of gas where it does with the counter in one piece, with or
// without checkpoints (intervals 1, 7, 1000).
func TestCostHelpers(t *testing.T) {
	w := &wmod{}
	var body [][]byte
	for i := 0; i < 40; i++ {
		// if (x >> i&31) & 1 { x = x + 1 } else { x = x - 1 }
		body = append(body, lget(0), i32c(int32(i%31)), op(0x76), i32c(1), op(0x71), ifb(0x40),
			lget(0), i32c(1), op(0x6a), lset(0), elseb, lget(0), i32c(1), op(0x6b), lset(0), end)
	}
	body = append(body, lget(0))
	f := w.fn(w.typ([]byte{i32}, []byte{i32}), nil, body...)
	w.export("f", 0, f)
	plain := instrument(t, w.bytes(), Config{})
	m, err := parseModule(plain.Module, true)
	require.NoError(t, err)
	// f, $enter_charge, $charge (the first uses), $leave, the helpers of
	// the two costs charged 40 times: the arms (5) and what follows an if
	// up to the next one (6), and from the 16th if on the if-charge helper
	// of the arms' pair (see TestIfCharges).
	assert.Len(t, m.code, 1+3+3)

	e := newEnv(t)
	ref := e.metered(t, plain)
	for _, x := range []uint64{0, 0x5a5a5a5a, 0xffffffff} {
		want, need, err := ref.call("f", 1<<40, x)
		require.NoError(t, err)
		for _, interval := range []int64{1, 7, 1000} {
			mi := e.metered(t, instrument(t, w.bytes(), Config{YieldInterval: interval}))
			for gas := need - 60; gas <= need; gas++ {
				_, wantUsed, wantErr := ref.call("f", gas, x)
				got, used, err := mi.yieldCall(&yieldCounter{}, interval, "f", gas, x)
				require.Equal(t, wantErr == nil, err == nil, "x %x interval %d gas %d", x, interval, gas)
				if err == nil {
					require.Equal(t, want, got)
				} else {
					require.ErrorIs(t, err, errOutOfGas)
				}
				require.Equal(t, wantUsed, used, "x %x interval %d gas %d", x, interval, gas)
			}
		}
	}
}
