package runtime

import (
	"context"
	"testing"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// BenchmarkColdStart measures what a new process pays to get a compiled
// module: a fresh engine each iteration, then either compiling or loading
// from a warm disk cache (WithCacheDir). Target: the disk cache at least 10x
// faster than compiling. Run for the 19 KB AssemblyScript echo and the 3 MB
// Go echo.
func BenchmarkColdStart(b *testing.B) {
	for _, fixture := range []string{"as/echo.wasm", "go/echo.wasm"} {
		b.Run(fixture, func(b *testing.B) { benchColdStart(b, fixtures.MustBytes(fixture)) })
	}
}

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
	}
}
