package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/metering"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

// A node's accounting rules: a host function billed per byte of its
// arguments' payloads, the guest's gas converted to the node's unit (1 node
// gas = 1000 guest gas, the node rounding up what was used), and every
// failed call billed its whole budget. The figures are the same on every
// engine.
func ExampleNewMeter() {
	ctx := context.Background()
	reg := runtime.NewHostAPIRegistry()
	if err := reg.AddAPI("index", "test", "hello", func(name string) string {
		return "greet to " + name
	}, runtime.WithGasRule(runtime.GasRule{Fixed: 100, PerByte: 2, Bytes: runtime.PayloadBytes})); err != nil {
		panic(err)
	}
	rt, err := runtime.New(ctx, fixtures.MustBytes("as/greet.wasm"), reg, runtime.WithMetering(metering.Config{}))
	if err != nil {
		fmt.Println("instantiate:", err)
		return
	}
	defer rt.Close(ctx)

	// 5 node gas: the guest gets 5,000.
	m := runtime.NewMeter(5, runtime.WithGasRatio(1000), runtime.WithConsumeAllOnFailure())
	out, err := rt.Call(runtime.WithMeter(ctx, m), "greet", "world")
	fmt.Println(out, err)
	fmt.Printf("guest gas: used %d, left %d; node gas: used %d, left %d\n", m.Used(), m.Left(), m.NodeUsed(), m.NodeLeft())

	// test.hello's rule needs 100 + 2×2000 gas for this argument: the call
	// runs out, and the meter bills everything.
	_, err = rt.Call(runtime.WithMeter(ctx, m), "greet", strings.Repeat("x", 2000))
	fmt.Println(errors.Is(err, runtime.ErrOutOfGas))
	fmt.Printf("guest gas: used %d, left %d; node gas: used %d, left %d\n", m.Used(), m.Left(), m.NodeUsed(), m.NodeLeft())
	// Output:
	// greet to world <nil>
	// guest gas: used 1431, left 3569; node gas: used 2, left 3
	// true
	// guest gas: used 5000, left 0; node gas: used 5, left 0
}
