package runtime

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// panickingFunction is an engine.Function whose Call panics.
type panickingFunction struct{ engine.Function }

func (panickingFunction) Call(context.Context, []uint64) error { panic("engine bug") }

// TestEnginePanicInCall: an engine that panics while calling an export
// fails the call with an ErrEngine error (no panic reaches the caller),
// records it as the instance's fault, and leaves the instance in place: the
// next call, once the engine behaves, succeeds. The same whether the
// export or the guest's allocate (writing an argument) panics.
func TestEnginePanicInCall(t *testing.T) {
	ctx := context.Background()
	for _, eng := range Engines() {
		t.Run(eng, func(t *testing.T) {
			rt, err := NewWithEngine(ctx, eng, fixtures.MustBytes("as/echo.wasm"), nil)
			require.NoError(t, err)
			defer rt.Close(ctx)
			out, err := rt.Call(ctx, "echo", "a")
			require.NoError(t, err)
			require.Equal(t, "a", out)

			e := rt.exports["echo"]
			require.NotNil(t, e)
			fn := e.fn
			e.fn = panickingFunction{fn}
			_, err = rt.Call(ctx, "echo", "b")
			require.ErrorIs(t, err, ErrEngine)
			assert.ErrorContains(t, err, "the engine panicked: engine bug")
			assert.Equal(t, err, rt.Fault())
			e.fn = fn
			out, err = rt.Call(ctx, "echo", "c")
			require.NoError(t, err)
			assert.Equal(t, "c", out)

			alloc := rt.alloc
			rt.alloc = panickingFunction{alloc}
			_, err = rt.Call(ctx, "echo", "d")
			require.ErrorIs(t, err, ErrEngine)
			assert.ErrorContains(t, err, "the engine panicked: engine bug")
			rt.alloc = alloc
			out, err = rt.Call(ctx, "echo", "e")
			require.NoError(t, err)
			assert.Equal(t, "e", out)
		})
	}
}
