package metering_test

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strings"

	"github.com/aspect-rt/aspect-runtime/metering"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

// guest exports greet(name), which calls the host's index/test.hello, and
// spin(), which never returns (source: testdata/example_guest.wat).
//
//go:embed testdata/example_guest.wasm
var guest []byte

// A metered guest with a gas limit, and a host function with a gas rule: the
// guest's instructions and the host function's rule draw on one budget, the
// meter, and a call that would exceed it stops with runtime.ErrOutOfGas. The
// figures are the same on every engine.
func Example() {
	ctx := context.Background()
	reg := runtime.NewHostAPIRegistry()
	// index/test.hello costs 100 gas, plus 10 per byte of its argument's
	// payload.
	rule := runtime.GasRule{Fixed: 100, PerByte: 10, Bytes: runtime.PayloadBytes}
	if err := reg.AddAPI("index", "test", "hello", func(name string) string {
		return "hello " + name
	}, runtime.WithGasRule(rule)); err != nil {
		panic(err)
	}
	rt, err := runtime.New(ctx, guest, reg, runtime.WithMetering(metering.Config{}))
	if err != nil {
		fmt.Println("instantiate:", err)
		return
	}
	defer rt.Close(ctx)

	// One budget of 1,000 gas for several calls. The third argument makes the
	// rule cost 900 gas, more than is left: the host function does not run,
	// none of the 900 is spent, and the call fails having used only the
	// guest's own gas.
	m := runtime.NewMeter(1000)
	for _, name := range []string{"ann", "bartholomew", strings.Repeat("x", 80)} {
		out, err := rt.Call(runtime.WithMeter(ctx, m), "greet", name)
		if err != nil {
			out = err.Error()
		}
		fmt.Printf("%v; meter: used %d, left %d\n", out, m.Used(), m.Left())
	}

	// A guest that never returns stops when its gas runs out.
	m = runtime.NewMeter(50_000)
	_, err = rt.Call(runtime.WithMeter(ctx, m), "spin")
	var gasErr *runtime.GasError
	if errors.As(err, &gasErr) {
		fmt.Println(errors.Is(err, runtime.ErrOutOfGas), gasErr.Func, gasErr.Used, gasErr.Left)
	}
	// Output:
	// hello ann; meter: used 201, left 799
	// hello bartholomew; meter: used 482, left 518
	// aspect: out of gas in greet (gas used 37, left 481); meter: used 519, left 481
	// true spin 50000 0
}

// Instrument rewrites a module to count its own gas; the runtime does it
// when given runtime.WithMetering, and drives the globals it exports.
func ExampleInstrument() {
	res, err := metering.Instrument(guest, metering.Config{MaxCallDepth: 100})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("gas counter:", res.GasCounter)
	fmt.Println("call depth:", res.CallDepth, "limit", res.MaxCallDepth)
	fmt.Println("injected imports:", res.InjectedImports)
	fmt.Println("functions:", len(res.Functions))

	// A module that is not WebAssembly is rejected with a typed error.
	_, err = metering.Instrument([]byte("not wasm"), metering.Config{})
	fmt.Println(errors.Is(err, metering.ErrMalformed))
	// Output:
	// gas counter: __gas_counter__
	// call depth: __call_depth__ limit 100
	// injected imports: 2
	// functions: 5
	// true
}
