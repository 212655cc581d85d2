package bench

import (
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/abi"
	"github.com/aspect-rt/aspect-runtime/metering"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

// TestBaselines checks that every hand-written baseline does the same work
// as the library: same results, on every linked engine. It runs in `go
// test` (no -bench), in milliseconds.
func TestBaselines(t *testing.T) {
	for _, eng := range runtime.Engines() {
		t.Run(eng, func(t *testing.T) {
			raw := handInstantiate(t, openHand(t, eng, rawWasm))
			require.NoError(t, raw.nop())
			sum, err := raw.add(40, 2)
			require.NoError(t, err)
			assert.Equal(t, int32(42), sum)

			for _, size := range []int{0, 64, 4 << 10} {
				payload := strings.Repeat("x", size)
				view, err := raw.call("echo", appendString(nil, payload))
				require.NoError(t, err)
				got, err := readString(view)
				require.NoError(t, err)
				assert.Equal(t, payload, got)
			}

			enc, err := abi.Append(nil, benchPerson)
			require.NoError(t, err)
			p, err := handStruct(raw, enc)
			require.NoError(t, err)
			assert.Equal(t, benchPerson, p)

			for _, wasm := range [][]byte{greetWasm, minGreetWasm} {
				greet := openHand(t, eng, wasm)
				for range 3 { // more than one instance of a module, more than one call
					in := handInstantiate(t, greet)
					for range 2 {
						out, err := handGreet(in)
						require.NoError(t, err)
						assert.Equal(t, "greet to world", out)
					}
				}

				// The library agrees.
				rt := newRuntime(t, eng, wasm, helloRegistry(t))
				out, err := rt.Call(bg, "greet", "world")
				require.NoError(t, err)
				assert.Equal(t, "greet to world", out)
			}
			rt := newRuntime(t, eng, rawWasm, nil)
			p, err = runtime.CallAs[person](bg, rt, "echo", benchPerson)
			require.NoError(t, err)
			assert.Equal(t, benchPerson, p)
		})
	}
}

// TestMeteredSumTo checks the Metered scenario's setup on every engine: the
// instrumented sum_to gives the same result and charges gas, and runs out
// of gas with the benchmark's error.
func TestMeteredSumTo(t *testing.T) {
	res, err := metering.Instrument(rawWasm, metering.Config{})
	require.NoError(t, err)
	for _, eng := range runtime.Engines() {
		t.Run(eng, func(t *testing.T) {
			m := spiModule(t, eng, res.Module)
			in := spiInstance(t, m, meteringHost(m))
			gas := in.Global(metering.GasCounterExport)
			require.NotNil(t, gas)
			gas.Set(math.MaxInt64)
			stack := []uint64{1000}
			require.NoError(t, in.Function("sum_to").Call(bg, stack))
			assert.Equal(t, uint64(1000*1001/2), stack[0])
			used := math.MaxInt64 - int64(gas.Get())
			assert.Greater(t, used, int64(1000), "gas used")

			gas.Set(10)
			stack[0] = 1000
			err := in.Function("sum_to").Call(bg, stack)
			require.ErrorIs(t, err, errOutOfGas)

			plain := spiInstance(t, spiModule(t, eng, rawWasm), nil)
			stack[0] = 1000
			require.NoError(t, plain.Function("sum_to").Call(bg, stack))
			assert.Equal(t, uint64(1000*1001/2), stack[0])
			assert.Nil(t, plain.Global(metering.GasCounterExport))
		})
	}
}
