package runtime_test

import (
	"context"
	"fmt"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

// A guest calls a Go function registered as index/test.hello.
func Example() {
	ctx := context.Background()
	reg := runtime.NewHostAPIRegistry()
	if err := reg.AddAPI("index", "test", "hello", func(name string) string {
		return "greet to " + name
	}); err != nil {
		panic(err)
	}
	rt, err := runtime.New(ctx, fixtures.MustBytes("as/greet.wasm"), reg)
	if err != nil {
		fmt.Println("instantiate:", err)
		return
	}
	defer rt.Close(ctx)

	out, err := rt.Call(ctx, "greet", "world")
	fmt.Println(out, err)
	// Output: greet to world <nil>
}

// CallAs decodes the result into a Go type of the caller's choice.
func ExampleCallAs() {
	ctx := context.Background()
	rt, err := runtime.New(ctx, fixtures.MustBytes("as/echo.wasm"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rt.Close(ctx)

	type Person struct {
		Name string `abi:"name"`
		Age  int    `abi:"age"`
	}
	p, err := runtime.CallAs[Person](ctx, rt, "person", "Ann", int32(30))
	fmt.Printf("%+v %v\n", p, err)
	// Output: {Name:Ann Age:30} <nil>
}

// A typed host function: its calls decode the argument and encode the
// result without reflection, and it receives the context of the call.
func ExampleFunc1() {
	ctx := context.Background()
	reg := runtime.NewHostAPIRegistry()
	hello := runtime.Func1(func(ctx context.Context, name string) (string, error) {
		return "greet to " + name, nil
	})
	if err := reg.AddAPI("index", "test", "hello", hello); err != nil {
		panic(err)
	}
	rt, err := runtime.New(ctx, fixtures.MustBytes("as/greet.wasm"), reg)
	if err != nil {
		fmt.Println("instantiate:", err)
		return
	}
	defer rt.Close(ctx)

	out, err := runtime.CallAs[string](ctx, rt, "greet", "typed")
	fmt.Println(out, err)
	// Output: greet to typed <nil>
}
