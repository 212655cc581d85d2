package guest_test

// Host-side benchmarks of guests built with this package (the Go
// conformance fixtures), beside their AssemblyScript counterparts:
//
//	go test ./guest -run '^$' -bench . -benchtime 3x
//
// BenchmarkCompile compiles cold (a custom section with the iteration number
// defeats every engine's cache), BenchmarkCall measures one call of a
// trivial export, BenchmarkStart instantiating (and, for Go, _initialize)
// from a compiled module, and BenchmarkPoolSecondStart a pool's second start
// of a module it has already compiled.

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/pool"
	"github.com/aspect-rt/aspect-runtime/runtime"
	"github.com/aspect-rt/aspect-runtime/wasi"
)

var guests = []struct{ name, fixture string }{
	{"go", "go/echo.wasm"},
	{"as", "as/echo.wasm"},
}

// opts returns the options a fixture needs: WASI for Go guests.
func opts(fixture string) []runtime.Option {
	if fixture[:3] == "go/" {
		return []runtime.Option{runtime.WithWASI(wasi.Config{})}
	}
	return nil
}

// unique appends a custom section holding n to code, so that no cache
// recognizes the module.
func unique(code []byte, n int) []byte {
	name := "bench"
	payload := append([]byte{byte(len(name))}, name...)
	payload = binary.AppendVarint(payload, int64(n))
	out := append(append([]byte(nil), code...), 0)
	out = binary.AppendUvarint(out, uint64(len(payload)))
	return append(out, payload...)
}

func BenchmarkCompile(b *testing.B) {
	ctx := context.Background()
	for _, engine := range runtime.Engines() {
		for _, g := range guests {
			code := fixtures.MustBytes(g.fixture)
			b.Run(engine+"/"+g.name, func(b *testing.B) {
				b.SetBytes(int64(len(code)))
				for i := 0; i < b.N; i++ {
					m, err := runtime.CompileWithEngine(ctx, engine, unique(code, i))
					require.NoError(b, err)
					b.StopTimer()
					require.NoError(b, m.Close(ctx))
					b.StartTimer()
				}
			})
		}
	}
}

func BenchmarkStart(b *testing.B) {
	ctx := context.Background()
	for _, engine := range runtime.Engines() {
		for _, g := range guests {
			b.Run(engine+"/"+g.name, func(b *testing.B) {
				m, err := runtime.CompileWithEngine(ctx, engine, fixtures.MustBytes(g.fixture))
				require.NoError(b, err)
				defer m.Close(ctx)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					rt, err := m.Instantiate(ctx, nil, opts(g.fixture)...)
					require.NoError(b, err)
					b.StopTimer()
					require.NoError(b, rt.Close(ctx))
					b.StartTimer()
				}
			})
		}
	}
}

func BenchmarkCall(b *testing.B) {
	ctx := context.Background()
	for _, engine := range runtime.Engines() {
		for _, g := range guests {
			for _, c := range []struct {
				export string
				args   []any
			}{{"answer", nil}, {"greet", []any{"world"}}} {
				b.Run(engine+"/"+g.name+"/"+c.export, func(b *testing.B) {
					m, err := runtime.CompileWithEngine(ctx, engine, fixtures.MustBytes(g.fixture))
					require.NoError(b, err)
					defer m.Close(ctx)
					rt, err := m.Instantiate(ctx, nil, opts(g.fixture)...)
					require.NoError(b, err)
					defer rt.Close(ctx)
					_, err = rt.Call(ctx, c.export, c.args...)
					require.NoError(b, err)
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						if _, err := rt.Call(ctx, c.export, c.args...); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}

// seq makes the modules of successive benchmark runs distinct.
var seq int

// BenchmarkPoolSecondStart leases from a pool that already compiled the
// module: every lease builds a fresh instance (ForceClearCache) from the
// cached compiled code, and the pool compiles exactly once.
func BenchmarkPoolSecondStart(b *testing.B) {
	ctx := context.Background()
	for _, engine := range runtime.Engines() {
		for _, g := range guests {
			b.Run(engine+"/"+g.name, func(b *testing.B) {
				seq++
				code := unique(fixtures.MustBytes(g.fixture), -seq)
				// WithKeepState: PutBack does not reset, so each iteration
				// measures one instantiation from the cached compiled code.
				p := pool.New(1, pool.WithKeepState(), pool.WithRuntimeOptions(opts(g.fixture)...))
				defer p.Close(ctx)
				start := time.Now()
				l, err := p.Runtime(ctx, engine, code, nil) // the first start compiles
				require.NoError(b, err)
				first := time.Since(start)
				p.PutBack(l)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					l, err := p.Runtime(ctx, engine, code, nil, pool.ForceClearCache())
					require.NoError(b, err)
					p.PutBack(l)
				}
				b.StopTimer()
				require.Equal(b, uint64(1), p.Stats().Compiles, "the pool compiled the module again")
				b.ReportMetric(float64(p.Stats().Compiles), "compiles")
				b.ReportMetric(float64(first.Microseconds())/1000, "first-start-ms")
			})
		}
	}
}
