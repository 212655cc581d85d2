package runtime_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

type ctxIDKey struct{}

// idCtx answers ctxIDKey with id: a comparable context value type, two of
// which differ only in id.
type idCtx struct {
	context.Context
	id int
}

func (c idCtx) Value(key any) any {
	if key == (ctxIDKey{}) {
		return c.id
	}
	return c.Context.Value(key)
}

// mapCtx is a context value type for which == panics.
type mapCtx struct {
	idCtx
	m map[string]int
}

// anyCtx is a comparable type whose == panics when extra holds a slice.
type anyCtx struct {
	idCtx
	extra any
}

// TestCallContextOfAnyType: whatever the type of the call's context
// (pointer, comparable struct, struct for which == panics, struct that
// compares only until it holds a slice), a host function gets that call's
// context, never one of an earlier call, and calling back into its
// runtime with it is ErrReentrant.
func TestCallContextOfAnyType(t *testing.T) {
	bg := context.Background()
	for _, eng := range runtime.Engines() {
		t.Run(eng, func(t *testing.T) {
			var rt *runtime.Runtime
			var reentry error
			reg := hostcallsRegistry(t, func(ctx context.Context, s string) (string, error) {
				_, reentry = rt.Call(ctx, "greetHost", "again")
				id, _ := ctx.Value(ctxIDKey{}).(int)
				return s + string(rune('0'+id)), nil
			})
			var err error
			rt, err = runtime.NewWithEngine(bg, eng, fixtures.MustBytes("as/hostcalls.wasm"), reg)
			require.NoError(t, err)
			defer rt.Close(bg)

			ctxs := []context.Context{
				idCtx{bg, 1}, idCtx{bg, 2},
				&idCtx{bg, 3}, &idCtx{bg, 4},
				mapCtx{idCtx{bg, 5}, map[string]int{}}, mapCtx{idCtx{bg, 6}, nil},
				anyCtx{idCtx{bg, 7}, []int{1}}, anyCtx{idCtx{bg, 8}, []int{1}},
				anyCtx{idCtx{bg, 9}, 1},
				context.WithValue(bg, ctxIDKey{}, 0),
			}
			// Each context twice in a row, then each after another one.
			for round := 0; round < 2; round++ {
				for i, ctx := range ctxs {
					for rep := 0; rep <= round; rep++ {
						id, _ := ctx.Value(ctxIDKey{}).(int)
						reentry = nil
						out, err := runtime.CallAs[string](ctx, rt, "greetHost", "x")
						require.NoError(t, err, "context %d", i)
						assert.Equal(t, "x"+string(rune('0'+id)), out, "context %d", i)
						assert.ErrorIs(t, reentry, runtime.ErrReentrant, "context %d", i)
					}
				}
			}
		})
	}
}
