package wazero_test

import (
	"context"
	"testing"

	wz "github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// BenchmarkRawAdd calls add(i32, i32) -> i32 through the adapter and through
// wazero's api.Function directly.
func BenchmarkRawAdd(b *testing.B) {
	ctx := context.Background()
	wasm := testdata(b, "raw.wasm")

	b.Run("adapter", func(b *testing.B) {
		e := openEngine(b)
		inst := instantiate(b, compile(b, e, "raw.wasm", engine.CompileConfig{}), nil)
		add := inst.Function("add")
		stack := make([]uint64, 2)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			stack[0], stack[1] = uint64(i), 1
			if err := add.Call(ctx, stack); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("wazero", func(b *testing.B) {
		r := wz.NewRuntimeWithConfig(ctx, wz.NewRuntimeConfig().WithCloseOnContextDone(false))
		b.Cleanup(func() { _ = r.Close(ctx) })
		mod, err := r.Instantiate(ctx, wasm)
		if err != nil {
			b.Fatal(err)
		}
		add := mod.ExportedFunction("add")
		stack := make([]uint64, 2)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			stack[0], stack[1] = uint64(i), 1
			if err := add.CallWithStack(ctx, stack); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkHostCall measures one guest-to-host call: loop_h(n) calls env.h n
// times. Through the adapter the call goes through a trampoline that finds
// the calling instance; through wazero directly it goes to a Go function.
// Reported per host call.
func BenchmarkHostCall(b *testing.B) {
	const n = 1000
	ctx := context.Background()
	h := func(x uint32) uint32 { return x }

	adapter := func(b *testing.B, instances int) engine.Function {
		e := openEngine(b)
		m := compile(b, e, "host.wasm", engine.CompileConfig{})
		var inst engine.Instance
		for range instances { // other live instances in the caller map
			inst = instantiate(b, m, hostEnv{h: h}.funcs())
		}
		return inst.Function("loop_h")
	}
	run := func(b *testing.B, call func([]uint64) error) {
		stack := make([]uint64, 1)
		b.ReportAllocs()
		for b.Loop() {
			stack[0] = n
			if err := call(stack); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/hostcall")
	}

	b.Run("adapter", func(b *testing.B) {
		fn := adapter(b, 1)
		run(b, func(s []uint64) error { return fn.Call(ctx, s) })
	})
	b.Run("adapter-1000-instances", func(b *testing.B) {
		fn := adapter(b, 1000)
		run(b, func(s []uint64) error { return fn.Call(ctx, s) })
	})
	b.Run("wazero", func(b *testing.B) {
		r := wz.NewRuntimeWithConfig(ctx, wz.NewRuntimeConfig().WithCloseOnContextDone(false))
		b.Cleanup(func() { _ = r.Close(ctx) })
		i32 := []api.ValueType{api.ValueTypeI32}
		noop := api.GoModuleFunc(func(context.Context, api.Module, []uint64) {})
		_, err := r.NewHostModuleBuilder("env").
			NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(_ context.Context, _ api.Module, s []uint64) {
			s[0] = uint64(h(uint32(s[0])))
		}), i32, i32).Export("h").
			NewFunctionBuilder().WithGoModuleFunction(noop, nil, nil).Export("fail").
			NewFunctionBuilder().WithGoModuleFunction(noop, i32, i32).Export("reenter").
			Instantiate(ctx)
		if err != nil {
			b.Fatal(err)
		}
		_, err = r.NewHostModuleBuilder("other").
			NewFunctionBuilder().WithGoModuleFunction(noop, i32, i32).Export("down").
			Instantiate(ctx)
		if err != nil {
			b.Fatal(err)
		}
		mod, err := r.Instantiate(ctx, testdata(b, "host.wasm"))
		if err != nil {
			b.Fatal(err)
		}
		fn := mod.ExportedFunction("loop_h")
		run(b, func(s []uint64) error { return fn.CallWithStack(ctx, s) })
	})
	b.Run("adapter-parallel", func(b *testing.B) {
		e := openEngine(b)
		m := compile(b, e, "host.wasm", engine.CompileConfig{})
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			inst, err := m.Instantiate(ctx, hostEnv{h: h}.funcs(), engine.InstanceConfig{})
			if err != nil {
				b.Error(err)
				return
			}
			defer inst.Close(ctx)
			fn := inst.Function("loop_h")
			stack := make([]uint64, 1)
			for pb.Next() {
				stack[0] = n
				if err := fn.Call(ctx, stack); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/hostcall")
	})
}

// BenchmarkInstantiate measures Instantiate and Close of a module with host
// functions.
func BenchmarkInstantiate(b *testing.B) {
	ctx := context.Background()
	e := openEngine(b)
	m := compile(b, e, "host.wasm", engine.CompileConfig{})
	host := hostEnv{h: func(x uint32) uint32 { return x }}.funcs()
	b.ReportAllocs()
	for b.Loop() {
		inst, err := m.Instantiate(ctx, host, engine.InstanceConfig{})
		if err != nil {
			b.Fatal(err)
		}
		if err := inst.Close(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
