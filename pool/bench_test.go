package pool_test

import (
	"context"
	"testing"

	"github.com/aspect-rt/aspect-runtime/pool"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

func benchEngines(b *testing.B, fn func(b *testing.B, engine string)) {
	for _, e := range runtime.Engines() {
		b.Run(e, func(b *testing.B) { fn(b, e) })
	}
}

// BenchmarkPooledGreet: lease + greet (one guest->host callback) + put back,
// with the default policy (the instance is reset on every put back).
func BenchmarkPooledGreet(b *testing.B) {
	benchEngines(b, func(b *testing.B, engine string) {
		ctx := context.Background()
		p := pool.New(4)
		defer p.Close(ctx)
		reg := greetRegistry(b)
		b.ReportAllocs()
		for b.Loop() {
			l, err := p.Runtime(ctx, engine, greetWasm, reg)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := l.Runtime.Call(ctx, "greet", "world"); err != nil {
				b.Fatal(err)
			}
			p.PutBack(l)
		}
	})
}

// BenchmarkPooledGreetKeepState: as above, instances keep their state.
func BenchmarkPooledGreetKeepState(b *testing.B) {
	benchEngines(b, func(b *testing.B, engine string) {
		ctx := context.Background()
		p := pool.New(4, pool.WithKeepState())
		defer p.Close(ctx)
		reg := greetRegistry(b)
		b.ReportAllocs()
		for b.Loop() {
			l, err := p.Runtime(ctx, engine, greetWasm, reg)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := l.Runtime.Call(ctx, "greet", "world"); err != nil {
				b.Fatal(err)
			}
			p.PutBack(l)
		}
	})
}

// BenchmarkFreshRuntimePerCall: compile + instantiate + greet + close, the
// cost without a pool.
func BenchmarkFreshRuntimePerCall(b *testing.B) {
	benchEngines(b, func(b *testing.B, engine string) {
		ctx := context.Background()
		reg := greetRegistry(b)
		for b.Loop() {
			rt, err := runtime.NewWithEngine(ctx, engine, greetWasm, reg)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := rt.Call(ctx, "greet", "world"); err != nil {
				b.Fatal(err)
			}
			rt.Close(ctx)
		}
	})
}

// BenchmarkReset restores a started instance of the greet fixture.
func BenchmarkReset(b *testing.B) {
	benchEngines(b, func(b *testing.B, engine string) {
		ctx := context.Background()
		rt, err := runtime.NewWithEngine(ctx, engine, greetWasm, greetRegistry(b))
		if err != nil {
			b.Fatal(err)
		}
		defer rt.Close(ctx)
		for b.Loop() {
			if err := rt.Reset(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkReinstantiate creates and closes an instance from a compiled
// module: what Reset must beat.
func BenchmarkReinstantiate(b *testing.B) {
	benchEngines(b, func(b *testing.B, engine string) {
		ctx := context.Background()
		m, err := runtime.CompileWithEngine(ctx, engine, greetWasm)
		if err != nil {
			b.Fatal(err)
		}
		defer m.Close(ctx)
		reg := greetRegistry(b)
		for b.Loop() {
			rt, err := m.Instantiate(ctx, reg)
			if err != nil {
				b.Fatal(err)
			}
			rt.Close(ctx)
		}
	})
}
