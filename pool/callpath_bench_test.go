package pool

import (
	"context"
	"testing"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

// BenchmarkCallPath: the pieces of what Pool.Call (keep state) adds to the
// guest call, without it, on an idle instance of the greet fixture:
// "lookup" finds the key entry of the code and registry (codeFor,
// entryFor), "lease" also takes the instance from its shard's slot and
// puts it back (leaseInstance, putBackCalled), "bind" binds and unbinds a
// registry as Pool.Call did before runtime.Runtime.CallWith. In a pooled
// call the atomic operations cost more than here, right after the guest's
// writes: see BenchmarkPooledCallOverhead for the whole.
func BenchmarkCallPath(b *testing.B) {
	ctx := context.Background()
	code := fixtures.MustBytes("as/greet.wasm")
	for _, engine := range runtime.Engines() {
		b.Run(engine, func(b *testing.B) {
			reg := runtime.NewHostAPIRegistry()
			if err := reg.AddAPI("index", "test", "hello", func(s string) string { return "greet to " + s }); err != nil {
				b.Fatal(err)
			}
			p := New(4, WithKeepState())
			defer p.Close(ctx)
			if _, err := p.Call(ctx, engine, code, reg, "greet", "world"); err != nil { // compile and instantiate, untimed
				b.Fatal(err)
			}
			b.Run("lookup", func(b *testing.B) {
				for b.Loop() {
					ce := p.codeFor(code)
					if p.entryFor(engine, ce, nil, &ce.last, reg) == nil {
						b.Fatal("no entry")
					}
				}
			})
			b.Run("lease", func(b *testing.B) {
				for b.Loop() {
					ce := p.codeFor(code)
					in, err := p.leaseInstance(ctx, engine, ce, nil, &ce.last, reg, false)
					if err != nil {
						b.Fatal(err)
					}
					p.putBackCalled(in, reg)
				}
				if s := p.Stats(); s.Misses != 1 {
					b.Fatalf("%d misses, want the one instance", s.Misses)
				}
			})
			b.Run("bind", func(b *testing.B) {
				rt, err := runtime.NewWithEngine(ctx, engine, code, reg)
				if err != nil {
					b.Fatal(err)
				}
				defer rt.Close(ctx)
				for b.Loop() {
					if err := rt.Bind(reg); err != nil {
						b.Fatal(err)
					}
					if err := rt.Unbind(); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
