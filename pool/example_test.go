package pool_test

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"sync"

	"github.com/aspect-rt/aspect-runtime/pool"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

// guest exports greet(name), which calls the host's index/test.hello, and
// count(), which counts its calls in a guest global (source:
// testdata/example_guest.wat).
//
//go:embed testdata/example_guest.wasm
var guest []byte

// Several goroutines serve requests through one pool: each leases a warm
// instance with a registry of its own (its host function closes over the
// request), calls the guest and puts the instance back. The module is compiled
// once, and every instance is reset between leases, so no request sees
// another's state: count starts from 1 in every lease.
func Example() {
	ctx := context.Background()
	p := pool.New(4)
	defer p.Close(ctx)

	users := []string{"ann", "bob", "cid", "dee", "eve", "fay", "gus", "hal"}
	results := make([]string, len(users))
	var wg sync.WaitGroup
	for i, user := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reg := runtime.NewHostAPIRegistry()
			if err := reg.AddAPI("index", "test", "hello", func(name string) string {
				return "hello " + name + " (request " + user + ")"
			}); err != nil {
				results[i] = err.Error()
				return
			}
			lease, err := p.Runtime(ctx, "", guest, reg) // "": the default engine
			if err != nil {
				results[i] = err.Error()
				return
			}
			defer p.PutBack(lease)
			greeting, err := runtime.CallAs[string](ctx, lease.Runtime, "greet", user)
			if err != nil {
				results[i] = err.Error()
				return
			}
			first, _ := runtime.CallAs[int32](ctx, lease.Runtime, "count")
			second, err := runtime.CallAs[int32](ctx, lease.Runtime, "count")
			results[i] = fmt.Sprintf("%s; count %d, %d %v", greeting, first, second, err)
		}()
	}
	wg.Wait()

	for _, r := range results {
		fmt.Println(r)
	}
	fmt.Println("compiled:", p.Stats().Compiles)
	// Output:
	// hello ann (request ann); count 1, 2 <nil>
	// hello bob (request bob); count 1, 2 <nil>
	// hello cid (request cid); count 1, 2 <nil>
	// hello dee (request dee); count 1, 2 <nil>
	// hello eve (request eve); count 1, 2 <nil>
	// hello fay (request fay); count 1, 2 <nil>
	// hello gus (request gus); count 1, 2 <nil>
	// hello hal (request hal); count 1, 2 <nil>
	// compiled: 1
}

// Do leases an instance, calls the function with it and puts it back, in
// one call: the runtime the function gets works only until it returns.
func ExamplePool_Do() {
	ctx := context.Background()
	p := pool.New(4, pool.WithKeepState())
	defer p.Close(ctx)
	reg := runtime.NewHostAPIRegistry()
	if err := reg.AddAPI("index", "test", "hello", func(name string) string { return "hello " + name }); err != nil {
		fmt.Println(err)
		return
	}
	var kept *runtime.Runtime
	for _, user := range []string{"ann", "bob"} {
		err := p.Do(ctx, "", guest, reg, func(rt *runtime.Runtime) error {
			kept = rt
			greeting, err := runtime.CallAs[string](ctx, rt, "greet", user)
			if err != nil {
				return err
			}
			count, err := runtime.CallAs[int32](ctx, rt, "count")
			fmt.Printf("%s; count %d\n", greeting, count)
			return err
		})
		if err != nil {
			fmt.Println(err)
		}
	}
	_, err := kept.Call(ctx, "count")
	fmt.Println(errors.Is(err, runtime.ErrClosed))
	// Output:
	// hello ann; count 1
	// hello bob; count 2
	// true
}

// Call is a pooled call in one: lease, call, put back. Each call here
// brings a registry of its own, and keeps the instance's state (count).
func ExamplePool_Call() {
	ctx := context.Background()
	p := pool.New(4, pool.WithKeepState())
	defer p.Close(ctx)
	for _, user := range []string{"ann", "bob"} {
		reg := runtime.NewHostAPIRegistry()
		if err := reg.AddAPI("index", "test", "hello", func(name string) string { return "hello " + name + " (request " + user + ")" }); err != nil {
			fmt.Println(err)
			return
		}
		greeting, err := p.Call(ctx, "", guest, reg, "greet", user)
		if err != nil {
			fmt.Println(err)
			return
		}
		count, err := p.Call(ctx, "", guest, reg, "count")
		fmt.Println(greeting, count, err)
	}
	// Output:
	// hello ann (request ann) 1 <nil>
	// hello bob (request bob) 2 <nil>
}
