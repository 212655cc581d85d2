package runtime_test

import (
	"context"
	_ "embed"
	"errors"
	"fmt"

	"github.com/aspect-rt/aspect-runtime/metering"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

// errorsGuest exports greet(name), which calls the host's index/test.hello,
// fail(), which traps, and spin(), which never returns (source:
// testdata/example_guest.wat).
//
//go:embed testdata/example_guest.wasm
var errorsGuest []byte

// errUnknownUser is the host function's own error: callers find it in the
// call's error with errors.Is.
var errUnknownUser = errors.New("unknown user")

// Errors are typed and the same on every engine: errors.Is matches a sentinel
// (runtime.ErrTrap, runtime.ErrHost, runtime.ErrOutOfGas, …, or a host
// function's own error), errors.As extracts the details.
func Example_errors() {
	ctx := context.Background()
	reg := runtime.NewHostAPIRegistry()
	if err := reg.AddAPI("index", "test", "hello", func(name string) (string, error) {
		if name != "ann" {
			return "", errUnknownUser
		}
		return "hello " + name, nil
	}); err != nil {
		panic(err)
	}
	rt, err := runtime.New(ctx, errorsGuest, reg, runtime.WithMetering(metering.Config{}))
	if err != nil {
		fmt.Println("instantiate:", err)
		return
	}
	defer rt.Close(ctx)

	// A trap in the guest.
	_, err = rt.Call(ctx, "fail")
	var trap *runtime.TrapError
	if errors.As(err, &trap) {
		fmt.Println("trap:", errors.Is(err, runtime.ErrTrap), trap.Func, trap.Code)
	}

	// A host function that failed, and why.
	_, err = rt.Call(ctx, "greet", "eve")
	var host *runtime.HostError
	if errors.As(err, &host) {
		fmt.Println("host:", errors.Is(err, runtime.ErrHost), errors.Is(err, errUnknownUser), host.Namespace+"."+host.Method)
	}

	// A call that ran out of gas.
	_, err = rt.Call(runtime.WithMeter(ctx, runtime.NewMeter(10_000)), "spin")
	var gas *runtime.GasError
	if errors.As(err, &gas) {
		fmt.Println("gas:", errors.Is(err, runtime.ErrOutOfGas), gas.Func, gas.Used, gas.Left)
	}

	// An export the guest does not have, and a wrong number of arguments.
	_, err = rt.Call(ctx, "nope")
	fmt.Println("missing:", errors.Is(err, runtime.ErrMissingExport))
	_, err = rt.Call(ctx, "greet")
	fmt.Println("arguments:", errors.Is(err, runtime.ErrArgCount))

	// A trap, a failed host function or running out of gas may leave the
	// guest's state undefined: Fault reports it until Reset (which a pool
	// does by itself). A missing export or a bad argument never reaches the
	// guest and is not a fault.
	fmt.Println("fault:", rt.Fault() != nil)
	if err := rt.Reset(ctx); err != nil {
		fmt.Println("reset:", err)
		return
	}
	fmt.Println("fault after reset:", rt.Fault())
	out, err := rt.Call(ctx, "greet", "ann")
	fmt.Println(out, err)
	// Output:
	// trap: true fail unreachable
	// host: true true test.hello
	// gas: true spin 10000 0
	// missing: true
	// arguments: true
	// fault: true
	// fault after reset: <nil>
	// hello ann <nil>
}
