package conformance

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/pool"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

func poolCases() []Case {
	return []Case{
		{Name: "pool/state-isolated-between-leases", Run: func(t *testing.T, env *Env) string {
			ctx := context.Background()
			p := pool.New(2)
			defer func() { require.NoError(t, p.Close(ctx)) }()
			for i := 0; i < 10; i++ {
				l, err := p.Runtime(ctx, env.Engine, mustFixture("as/echo.wasm"), nil)
				require.NoError(t, err)
				n, err := runtime.CallAs[int64](ctx, l.Runtime, "counter")
				require.NoError(t, err)
				require.Equal(t, int64(1), n, "pooled call %d saw state from an earlier lease", i)
				p.PutBack(l)
			}
			s := p.Stats()
			require.Equal(t, uint64(1), s.Misses)
			require.Equal(t, uint64(1), s.Compiles)
			return "1"
		}},
		{Name: "pool/faulted-instance-comes-back-clean", Run: func(t *testing.T, env *Env) string {
			ctx := context.Background()
			p := pool.New(1, pool.WithKeepState())
			defer func() { require.NoError(t, p.Close(ctx)) }()
			var kinds string
			for _, fault := range []struct{ fixture, export string }{
				{"wat/traps.wasm", "unreachable"}, {"wat/hostile.wasm", "ptr_oob"}, {"as/echo.wasm", "fail"},
			} {
				l, err := p.Runtime(ctx, env.Engine, mustFixture(fault.fixture), nil)
				require.NoError(t, err)
				args := []any{}
				if fault.export == "fail" {
					args = append(args, "x")
				}
				_, err = l.Runtime.Call(ctx, fault.export, args...)
				require.Error(t, err)
				require.Error(t, l.Runtime.Fault())
				kinds += ErrorKind(err) + ";"
				p.PutBack(l)
				l, err = p.Runtime(ctx, env.Engine, mustFixture(fault.fixture), nil)
				require.NoError(t, err)
				require.NoError(t, l.Runtime.Fault(), "a faulted instance came back dirty")
				p.PutBack(l)
			}
			// State of a healthy instance is kept with WithKeepState, a faulted one reset.
			l, err := p.Runtime(ctx, env.Engine, mustFixture("as/echo.wasm"), nil)
			require.NoError(t, err)
			n, err := runtime.CallAs[int64](ctx, l.Runtime, "counter")
			require.NoError(t, err)
			require.Equal(t, int64(1), n)
			p.PutBack(l)
			return kinds
		}},
		{Name: "pool/reset-restores-tables-and-segments", Run: func(t *testing.T, env *Env) string {
			// State a snapshot of memory and globals cannot hold: the
			// runtime must re-instantiate these modules on put back.
			ctx := context.Background()
			p := pool.New(2)
			defer func() { require.NoError(t, p.Close(ctx)) }()
			var out string
			for i := 0; i < 3; i++ {
				l, err := p.Runtime(ctx, env.Engine, mustFixture("wat/table_set.wasm"), nil)
				require.NoError(t, err)
				which, err := callAs[int32](l.Runtime, "which")
				require.NoError(t, err)
				require.Equal(t, int32(1), which, "lease %d saw the table of an earlier lease", i)
				_, err = l.Runtime.Call(ctx, "swap")
				require.NoError(t, err)
				which, err = callAs[int32](l.Runtime, "which")
				require.NoError(t, err)
				require.Equal(t, int32(2), which)
				p.PutBack(l)

				l, err = p.Runtime(ctx, env.Engine, mustFixture("wat/data_drop.wasm"), nil)
				require.NoError(t, err)
				b, err := callAs[int32](l.Runtime, "load")
				require.NoError(t, err, "lease %d saw a segment dropped by an earlier lease", i)
				out += string(rune(b))
				p.PutBack(l)
			}
			return out
		}},
	}
}
