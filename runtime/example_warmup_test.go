package runtime_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/aspect-rt/aspect-runtime/runtime"
)

// Pre-initialization: the warm-up's calls are part of the instance's start
// state, which Reset restores (a pool given the option through
// pool.WithRuntimeOptions resets its instances to it too).
func ExampleWithWarmup() {
	ctx := context.Background()
	reg := runtime.NewHostAPIRegistry()
	if err := reg.AddAPI("index", "test", "hello", func(name string) string { return "hello " + name }); err != nil {
		panic(err)
	}
	warmup := runtime.WithWarmup(func(ctx context.Context, r *runtime.Runtime) error {
		// Bring the instance to the state calls start from: here, two
		// calls of count, whose guest counter they leave at 2.
		for range 2 {
			if _, err := runtime.CallAs[int32](ctx, r, "count"); err != nil {
				return err
			}
		}
		return nil
	})
	rt, err := runtime.New(ctx, stateGuest, reg, warmup)
	if err != nil {
		fmt.Println("instantiate:", err)
		return
	}
	defer rt.Close(ctx)
	for range 2 {
		n, err := runtime.CallAs[int32](ctx, rt, "count")
		fmt.Println("count:", n, err)
		if err := rt.Reset(ctx); err != nil {
			fmt.Println("reset:", err)
			return
		}
	}

	// A warm-up that fails fails the instantiation.
	_, err = runtime.New(ctx, stateGuest, reg, runtime.WithWarmup(func(ctx context.Context, r *runtime.Runtime) error {
		_, err := r.Call(ctx, "fail")
		return err
	}))
	fmt.Println(err != nil, errors.Is(err, runtime.ErrWarmup))
	// Output:
	// count: 3 <nil>
	// count: 3 <nil>
	// true true
}
