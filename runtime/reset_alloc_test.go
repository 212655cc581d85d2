package runtime_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

// TestResetAllocations: resetting an instance that has no fault, to its
// snapshot, allocates nothing (every pooled call with reset on put back
// pays it).
func TestResetAllocations(t *testing.T) {
	ctx := context.Background()
	for _, eng := range runtime.Engines() {
		t.Run(eng, func(t *testing.T) {
			rt, err := runtime.NewWithEngine(ctx, eng, fixtures.MustBytes("as/echo.wasm"), nil, runtime.WithDirtyPageTracking())
			require.NoError(t, err)
			defer rt.Close(ctx)
			require.NoError(t, rt.Reset(ctx)) // the first Reset sets up snapshots
			_, err = rt.Call(ctx, "greet", "x")
			require.NoError(t, err)
			require.NoError(t, rt.Reset(ctx))
			allocs := testing.AllocsPerRun(100, func() {
				if err := rt.Reset(ctx); err != nil {
					t.Fatal(err)
				}
			})
			require.Zero(t, allocs)
		})
	}
}
