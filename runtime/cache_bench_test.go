package runtime

import (
	"context"
	"testing"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// BenchmarkColdStartGo and BenchmarkColdStartAS measure what a new process
// pays to get a compiled module: a fresh engine each iteration, then either
// compiling or loading from a warm disk cache (WithCacheDir). Target: the
// disk cache at least 10x faster than compiling, for the 3 MB Go echo (a
// module whose compilation a cache is for); the 19 KB AssemblyScript echo
// shows the fixed cost of a load. compile and disk-cache are the engine's
// work on the code as given; runtime-disk-cache is what CompileWithEngine
// with WithCacheDir and default options costs a new process on a warm
// cache: the runtime's preparation of the code (validation, the limits
// instrumentation, the snapshot rewrite), which the cache does not keep,
// then the load.
func BenchmarkColdStartGo(b *testing.B) { benchColdStart(b, fixtures.MustBytes("go/echo.wasm")) }

// BenchmarkColdStartAS: see BenchmarkColdStartGo.
func BenchmarkColdStartAS(b *testing.B) { benchColdStart(b, fixtures.MustBytes("as/echo.wasm")) }

func benchColdStart(b *testing.B, code []byte) {
	ctx := context.Background()
	for _, name := range Engines() {
		drv, _ := engine.Lookup(name)
		b.Run(name+"/compile", func(b *testing.B) {
			for b.Loop() {
				eng, err := drv.Open(engine.Config{})
				if err != nil {
					b.Fatal(err)
				}
				m, err := eng.Compile(ctx, code, engine.CompileConfig{})
				if err != nil {
					b.Fatal(err)
				}
				m.Close(ctx)
				eng.Close(ctx)
			}
		})
		b.Run(name+"/disk-cache", func(b *testing.B) {
			dir := b.TempDir()
			cfg := newConfig([]Option{WithCacheDir(dir)})
			load := func() {
				ecfg := engine.Config{}
				probe, err := drv.Open(ecfg)
				if err != nil {
					b.Fatal(err)
				}
				_, serializes := probe.(engine.Serializer)
				if !serializes {
					probe.Close(ctx)
					ecfg.CacheDir = dir
					if probe, err = drv.Open(ecfg); err != nil {
						b.Fatal(err)
					}
				}
				m, err := compileCached(ctx, probe, name, code, engine.CompileConfig{}, cfg)
				if err != nil {
					b.Fatal(err)
				}
				m.Close(ctx)
				probe.Close(ctx)
			}
			load() // warm the cache
			for b.Loop() {
				load()
			}
		})
		b.Run(name+"/runtime-disk-cache", func(b *testing.B) {
			dir := b.TempDir()
			load := func() {
				m, err := CompileWithEngine(ctx, name, code, WithCacheDir(dir))
				if err != nil {
					b.Fatal(err)
				}
				if err := m.Close(ctx); err != nil {
					b.Fatal(err)
				}
			}
			load() // warm the cache
			for b.Loop() {
				load()
			}
		})
	}
}
