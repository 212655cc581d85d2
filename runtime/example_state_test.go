package runtime_test

import (
	"context"
	_ "embed"
	"fmt"

	"github.com/aspect-rt/aspect-runtime/runtime"
)

// stateGuest exports greet(name), which calls the host's index/test.hello,
// and count(), which counts its own calls in a guest global (source:
// testdata/example_guest.wat).
//
//go:embed testdata/example_guest.wasm
var stateGuest []byte

// session is what the host keeps per instance: it travels in the context of
// each call, so one registry of host functions serves every instance.
type session struct {
	user  string
	calls int
}

type sessionKey struct{}

// Per-instance host state through the context: the host function receives the
// context of the call that reached it and finds its instance's session there,
// while the guest keeps its own state (count) in its own instance.
func Example_hostStateThroughContext() {
	ctx := context.Background()
	reg := runtime.NewHostAPIRegistry()
	hello := runtime.Func1(func(ctx context.Context, name string) (string, error) {
		s := ctx.Value(sessionKey{}).(*session)
		s.calls++
		return fmt.Sprintf("hello %s, from %s's instance (host call %d)", name, s.user, s.calls), nil
	})
	if err := reg.AddAPI("index", "test", "hello", hello); err != nil {
		panic(err)
	}

	for _, user := range []string{"ann", "bob"} {
		rt, err := runtime.New(ctx, stateGuest, reg)
		if err != nil {
			fmt.Println("instantiate:", err)
			return
		}
		callCtx := context.WithValue(ctx, sessionKey{}, &session{user: user})
		for _, name := range []string{"world", "again"} {
			out, err := runtime.CallAs[string](callCtx, rt, "greet", name)
			fmt.Println(out, err)
		}
		n, err := runtime.CallAs[int32](callCtx, rt, "count")
		fmt.Println("guest count:", n, err)
		if err := rt.Close(ctx); err != nil {
			fmt.Println("close:", err)
		}
	}
	// Output:
	// hello world, from ann's instance (host call 1) <nil>
	// hello again, from ann's instance (host call 2) <nil>
	// guest count: 1 <nil>
	// hello world, from bob's instance (host call 1) <nil>
	// hello again, from bob's instance (host call 2) <nil>
	// guest count: 1 <nil>
}
