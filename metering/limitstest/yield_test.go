package limitstest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/metering"
	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

var errStopped = errors.New("limitstest: stopped at a yield checkpoint")

// countdownModel returns the value of the guest's progress counter at each
// of the first yields of a guest whose checkpoints weigh weights(k), in the
// order it reaches them (k = 0, 1, ...), and whose counter reads
// progress(k) at checkpoint k, with interval n: the rule of
// metering.Config.YieldInterval with LimitsOnly, written the simple way.
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

// TestYieldCountdown checks the yield checkpoints without gas
// (Config.LimitsOnly with Config.YieldInterval) on every linked engine: a
// loop running forever calls aspect.yield exactly where the rule says,
// loop headers and function entries counting, and the host stops it there;
// the countdown reads the interval while the host runs.
func TestYieldCountdown(t *testing.T) {
	for _, eng := range engines(t) {
		e := openEngine(t, eng)
		for _, callInc := range []bool{false, true} {
			for _, n := range []int64{1, 5, 7, 60, 1000} {
				t.Run(fmt.Sprintf("%s/callInc=%v/interval=%d", eng, callInc, n), func(t *testing.T) {
					res, err := metering.Instrument(spinModule(callInc), metering.Config{LimitsOnly: true, YieldInterval: n})
					require.NoError(t, err)
					const yields = 30
					var inst engine.Instance
					var seen, countdown []uint64
					m := compile(t, e, res.Module)
					var hs []engine.HostFunc
					for _, imp := range m.Imports() {
						call := func(context.Context, engine.Caller, []uint64) error { return errDepth }
						if imp.Name == metering.YieldImport {
							call = func(context.Context, engine.Caller, []uint64) error {
								seen = append(seen, inst.Global("iters").Get())
								countdown = append(countdown, inst.Global(metering.YieldCountdownExport).Get())
								if len(seen) == yields {
									return errStopped
								}
								return nil
							}
						}
						hs = append(hs, engine.HostFunc{Module: imp.Module, Name: imp.Name, Type: imp.Type, Call: call})
					}
					inst, err = m.Instantiate(context.Background(), hs, engine.InstanceConfig{})
					require.NoError(t, err)
					t.Cleanup(func() { inst.Close(context.Background()) })
					in := &instance{inst: inst, depth: inst.Global(metering.CallDepthExport)}
					_, err = in.call("spin")
					require.ErrorIs(t, err, errStopped)
					// spin's entry (2), then the loop header before each
					// iteration: 6, or 3 plus the 5 of inc, which has no
					// checkpoint of its own.
					header := int64(6)
					if callInc {
						header = 3 + 5
					}
					want := countdownModel(n, yields, func(k int) int64 {
						if k == 0 {
							return 2
						}
						return header
					}, func(k int) uint64 { return uint64(max(k-1, 0)) })
					assert.Equal(t, want, seen)
					for _, c := range countdown {
						assert.Equal(t, uint64(n), c)
					}
				})
			}
		}
	}
}
