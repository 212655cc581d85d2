package metering

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero/api"
)

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

func (m *metered) interrupt() api.MutableGlobal {
	return m.mod.ExportedGlobal(InterruptExport).(api.MutableGlobal)
}

func TestInterruptFlagAtEntry(t *testing.T) {
	res := instrument(t, readFile(t, "../conformance/fixtures/wat/raw.wasm"), Config{Interrupt: true})
	assert.Equal(t, InterruptExport, res.Interrupt)
	e := newEnv(t)
	m := e.metered(t, res)
	flag := m.interrupt()
	assert.Zero(t, flag.Get(), "the flag starts clear")

	flag.Set(1)
	for name, args := range map[string][]uint64{"add": {1, 2}, "nop": nil, "sum_to": {10}} {
		// Checked on entry, before the first charge: no gas used.
		_, used, err := m.call(name, 1000, args...)
		require.ErrorIs(t, err, errOutOfGas, name)
		assert.Zero(t, used, name)
	}

	// Cleared, the check costs nothing: the exact gas of sum_to is as
	// documented (13n + 19).
	flag.Set(0)
	out, used, err := m.call("sum_to", sumToGas(100), 100)
	require.NoError(t, err)
	assert.Equal(t, uint64(5050), out[0])
	assert.Equal(t, sumToGas(100), used)
}

// stopAfter sets flag after d from another goroutine and returns a function
// that waits for it.
func stopAfter(flag api.MutableGlobal, d time.Duration) (wait func()) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		time.Sleep(d)
		flag.Set(1)
	}()
	return wg.Wait
}

func TestInterruptStopsRunawayGuest(t *testing.T) {
	raw := readFile(t, "../conformance/fixtures/wat/raw.wasm")
	for _, c := range []struct {
		name   string
		wasm   []byte
		export string
		args   []uint64
		cfg    Config
	}{
		// A tight loop: the flag is read at the loop header.
		{"loop_forever", raw, "loop_forever", nil, Config{Interrupt: true}},
		// Free instructions: gas never runs out, the flag still stops it.
		{"loop_forever/zero-cost", raw, "loop_forever", nil, Config{Costs: &CostTable{}, Interrupt: true}},
		{"sum_to/zero-cost", raw, "sum_to", []uint64{1 << 62}, Config{Costs: &CostTable{}, Interrupt: true}},
		// No loop at all: the flag is read at every function entry.
		{"fib", fibModule(), "fib", []uint64{60}, Config{Interrupt: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := instrument(t, c.wasm, c.cfg)
			e := newEnv(t)
			m := e.metered(t, res)
			flag := m.interrupt()
			wait := stopAfter(flag, 20*time.Millisecond)
			start := time.Now()
			_, used, err := m.call(c.export, 1<<62, c.args...)
			elapsed := time.Since(start)
			wait()
			require.ErrorIs(t, err, errOutOfGas)
			assert.Less(t, elapsed, 5*time.Second)
			if c.cfg.Costs == nil {
				assert.Positive(t, used)
			} else {
				assert.Zero(t, used)
			}

			// Cleared, the instance runs again: out of its 1000 gas, or (zero
			// costs) stopped by the flag again.
			flag.Set(0)
			wait = stopAfter(flag, 5*time.Millisecond)
			_, _, err = m.call(c.export, 1000, c.args...)
			wait()
			flag.Set(0)
			require.ErrorIs(t, err, errOutOfGas)
		})
	}
}

func TestInterruptExportReserved(t *testing.T) {
	w := &wmod{}
	w.global(i32, true, i32c(0))
	w.export(InterruptExport, 3, 0)
	_, err := Instrument(w.bytes(), Config{})
	assert.ErrorIs(t, err, ErrReservedName)
}

func TestInterruptOptIn(t *testing.T) {
	raw := readFile(t, "../conformance/fixtures/wat/raw.wasm")
	off := instrument(t, raw, Config{RecordSegments: true})
	on := instrument(t, raw, Config{RecordSegments: true, Interrupt: true})
	assert.Empty(t, off.Interrupt)
	assert.NotContains(t, string(off.Module), InterruptExport)
	assert.Equal(t, InterruptExport, on.Interrupt)
	// The check costs no gas: the segments and their costs are the same.
	assert.Equal(t, off.Functions, on.Functions)
	e := newEnv(t)
	assert.Nil(t, e.instantiate(t, off.Module).ExportedGlobal(InterruptExport))
	m := e.metered(t, on)
	_, used, err := m.call("sum_to", sumToGas(1000), 1000)
	require.NoError(t, err)
	assert.Equal(t, sumToGas(1000), used)
}
