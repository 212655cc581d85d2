package limitstest

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/metering"
)

// tableLimit is the Config.MaxTableElements of TestTableLimit.
const tableLimit = 1000

// TestTableLimit checks Config.MaxTableElements on every engine, metered
// and with LimitsOnly, on a funcref and an externref table: table.grow
// returns the old size up to the limit and -1 past it, also for the
// requests that abort wasmer or exhaust memory uninstrumented (0xFFFFFFF0
// elements, or 16 grows of 16M), and the table keeps its size. Each engine
// runs in a child process, so that a crash fails the test instead of
// killing it.
func TestTableLimit(t *testing.T) {
	for _, eng := range engines(t) {
		t.Run(eng, func(t *testing.T) {
			stdout, stderr, err := runChild(t, "tables:"+eng)
			if err != nil {
				t.Fatalf("child failed: %v\n%s\n%s", err, stdout, stderr)
			}
		})
	}
}

// tablesChild is TestTableLimit on one engine.
func tablesChild(t *testing.T, eng string) {
	e := openEngine(t, eng)
	for _, limitsOnly := range []bool{false, true} {
		res, err := metering.Instrument(tableModule(), metering.Config{MaxTableElements: tableLimit, LimitsOnly: limitsOnly})
		require.NoError(t, err)
		in := instantiate(t, compile(t, e, res.Module))
		for _, ref := range []string{"funcref", "externref"} {
			t.Run(fmt.Sprintf("%s/%s/limitsOnly=%v", eng, ref, limitsOnly), func(t *testing.T) {
				grow := func(n uint32) int32 {
					out, err := in.call("grow_"+ref, uint64(n))
					require.NoError(t, err)
					return int32(out[0])
				}
				size := func() int32 {
					out, err := in.call("size_" + ref)
					require.NoError(t, err)
					return int32(out[0])
				}
				assert.Equal(t, int32(1), grow(99))
				assert.Equal(t, int32(-1), grow(0xFFFFFFF0))
				for i := 0; i < 16; i++ {
					assert.Equal(t, int32(-1), grow(16<<20))
				}
				assert.Equal(t, int32(-1), grow(tableLimit-100+1))
				assert.Equal(t, int32(100), size())
				assert.Equal(t, int32(100), grow(tableLimit-100))
				assert.Equal(t, int32(-1), grow(1))
				assert.Equal(t, int32(tableLimit), size())
			})
		}
	}
}
