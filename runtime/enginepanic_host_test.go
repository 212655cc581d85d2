package runtime

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// panicOnCall is an engine.Function whose call number at (from 1) panics;
// the others call the function it wraps.
type panicOnCall struct {
	engine.Function
	n, at int
}

func (f *panicOnCall) Call(ctx context.Context, stack []uint64) error {
	f.n++
	if f.n == f.at {
		panic("engine bug")
	}
	return f.Function.Call(ctx, stack)
}

// TestEnginePanicInHostAllocate: an engine that panics in the guest's
// allocate while a host function's result is written into the guest fails
// the call like a failed allocation (ErrAllocate), with an ErrEngine error
// naming the panic, and no panic reaches the caller nor is reported as the
// host function's own (no HostError); the fault is recorded and the next
// call, once the engine behaves, succeeds. The same for the allocation of
// the export's argument, which comes first.
func TestEnginePanicInHostAllocate(t *testing.T) {
	ctx := context.Background()
	for _, eng := range Engines() {
		t.Run(eng, func(t *testing.T) {
			reg := NewHostAPIRegistry()
			require.NoError(t, reg.AddAPI("index", "test", "hello", func(s string) string { return "hello " + s }))
			rt, err := NewWithEngine(ctx, eng, fixtures.MustBytes("as/greet.wasm"), reg)
			require.NoError(t, err)
			defer rt.Close(ctx)
			out, err := rt.Call(ctx, "greet", "a")
			require.NoError(t, err)
			require.Equal(t, "hello a", out)

			alloc := rt.alloc
			for _, at := range []int{1, 2} { // the argument's allocation, then the host result's
				rt.alloc = &panicOnCall{Function: alloc, at: at}
				_, err = rt.Call(ctx, "greet", "b")
				require.ErrorIs(t, err, ErrEngine, "allocation %d", at)
				assert.ErrorIs(t, err, ErrAllocate)
				assert.ErrorIs(t, err, ErrABI)
				var he *HostError
				assert.NotErrorAs(t, err, &he)
				assert.ErrorContains(t, err, "the engine panicked: engine bug")
				assert.Equal(t, err, rt.Fault())
				rt.alloc = alloc
				out, err = rt.Call(ctx, "greet", "c")
				require.NoError(t, err)
				assert.Equal(t, "hello c", out)
			}
		})
	}
}
