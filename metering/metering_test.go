package metering

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFixturesInstrumentAndCompile(t *testing.T) {
	for _, f := range fixtureFiles(t) {
		name := strings.TrimPrefix(filepath.ToSlash(f), "../conformance/fixtures/")
		t.Run(name, func(t *testing.T) {
			b := readFile(t, f)
			if strings.HasPrefix(name, "wat/iso_v128_") {
				// SIMD is outside what the instrumenter supports.
				_, err := Instrument(b, Config{})
				var fe *UnsupportedFeatureError
				require.ErrorAs(t, err, &fe)
				require.Equal(t, "simd", fe.Feature)
				return
			}
			instrument(t, b, Config{})
			if name == "wat/iso_memory_min_4gib.wasm" {
				_, err := Instrument(b, Config{MaxMemoryPages: 100})
				require.ErrorIs(t, err, ErrMemoryLimit)
				return
			}
			if len(b) <= 1<<20 { // compiling multi-megabyte modules takes seconds
				instrument(t, b, Config{Costs: &CostTable{}, MaxMemoryPages: 100})
			}
		})
	}
}

// sum_to(n) in raw.wasm: segments are [i64.const 1; local.set; block; loop]
// (4), the loop body [local.get; local.get; i64.gt_s; br_if; local.get;
// local.get; i64.add; local.set; local.get; i64.const; i64.add; local.set; br]
// (13, entered n+1 times: br_if does not end a segment), the dead [end; end]
// (2) and [local.get; end] (2): 4 + 13(n+1) + 2 = 13n + 19 in all.
func sumToGas(n int64) int64 { return 13*n + 19 }

func TestSumToExactGas(t *testing.T) {
	res := instrument(t, readFile(t, "../conformance/fixtures/wat/raw.wasm"), Config{RecordSegments: true})
	var costs []uint64
	for _, fi := range res.Functions {
		if fi.OriginalIndex == 7 {
			for _, s := range fi.Segs {
				costs = append(costs, s.Cost)
			}
		}
	}
	assert.Equal(t, []uint64{4, 13, 2, 2}, costs)

	e := newEnv(t)
	m := e.metered(t, res)
	for _, n := range []int64{0, 1, 2, 10, 1000} {
		want := sumToGas(n)
		out, used, err := m.call("sum_to", want, uint64(n))
		require.NoError(t, err)
		assert.Equal(t, uint64(n*(n+1)/2), out[0])
		assert.Equal(t, want, used, "n=%d", n)
		assert.Zero(t, m.gas.Get())

		_, _, err = m.call("sum_to", want-1, uint64(n))
		require.ErrorIs(t, err, errOutOfGas, "n=%d", n)
		// The last segment (cost 2) could not be paid with 1 left: the
		// counter is left unchanged.
		assert.Equal(t, uint64(1), m.gas.Get())
	}
}

func TestZeroCostRoundTrip(t *testing.T) {
	raw := readFile(t, "../conformance/fixtures/wat/raw.wasm")
	res := instrument(t, raw, Config{Costs: &CostTable{}})
	e := newEnv(t)
	m := e.metered(t, res)
	plain := e.instantiate(t, raw)
	for _, c := range []struct {
		name string
		args []uint64
	}{{"add", []uint64{3, 4}}, {"sum_to", []uint64{100}}, {"grow", []uint64{1}}, {"allocate", []uint64{100000}}, {"nop", nil}} {
		want, err := plain.ExportedFunction(c.name).Call(e.ctx, c.args...)
		require.NoError(t, err)
		got, used, err := m.call(c.name, 0, c.args...)
		require.NoError(t, err)
		assert.Equal(t, want, got, c.name)
		assert.Zero(t, used)
	}
	hash := hashModule()
	res = instrument(t, hash, Config{Costs: &CostTable{}})
	m = e.metered(t, res)
	got, used, err := m.call("hash", 0, 5)
	require.NoError(t, err)
	assert.Equal(t, []uint64{hashRef(5)}, got)
	assert.Zero(t, used)
}
