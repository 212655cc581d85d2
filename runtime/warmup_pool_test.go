package runtime_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/pool"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

// A pool given WithWarmup through pool.WithRuntimeOptions hands out warmed
// instances: new ones, reset ones, and those re-created after a fault.
func TestWarmupPooled(t *testing.T) {
	ctx := context.Background()
	code := fixtures.MustBytes("as/echo.wasm")
	for _, eng := range runtime.Engines() {
		t.Run(eng, func(t *testing.T) {
			var runs atomic.Int32
			warm := runtime.WithWarmup(func(ctx context.Context, r *runtime.Runtime) error {
				runs.Add(1)
				for range 5 {
					if _, err := r.Call(ctx, "counter"); err != nil {
						return err
					}
				}
				return nil
			})
			p := pool.New(1, pool.WithRuntimeOptions(warm))
			defer p.Close(ctx)
			counter := func(l *pool.Lease) int64 {
				t.Helper()
				n, err := runtime.CallAs[int64](ctx, l.Runtime, "counter")
				require.NoError(t, err)
				return n
			}
			lease := func() *pool.Lease {
				t.Helper()
				l, err := p.Runtime(ctx, eng, code, nil)
				require.NoError(t, err)
				return l
			}

			l := lease()
			require.Equal(t, int64(6), counter(l), "a new instance is warmed up")
			p.PutBack(l)
			l = lease()
			require.Equal(t, int64(6), counter(l), "a reset instance is in its post-warm-up state")
			require.Equal(t, int64(7), counter(l))
			p.PutBack(l)
			before := runs.Load()

			// A fault on an instance whose memory grew: it is re-created.
			l = lease()
			_, err := l.Runtime.Call(ctx, "echo", strings.Repeat("x", 200_000))
			require.NoError(t, err)
			_, err = l.Runtime.Call(ctx, "fail", "boom")
			require.ErrorIs(t, err, runtime.ErrAbort)
			p.PutBack(l)
			require.Equal(t, before+1, runs.Load(), "the re-created instance was warmed up")
			l = lease()
			require.Equal(t, int64(6), counter(l))
			p.PutBack(l)
		})
	}
}
