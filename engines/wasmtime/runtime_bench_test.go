//go:build cgo && !wazero && !wasmer

package wasmtime_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/engines/wasmtime"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

// BenchmarkRuntimeEcho64 is issue 3's target: runtime.Call of echo(String)
// with a 64-byte string on the wasmtime engine — encode, allocate in the
// guest, write, call, bounds-check and decode the result — next to the same
// work written by hand with wasmtime-go's Func.Call (target: at least 5x
// faster).
func BenchmarkRuntimeEcho64(b *testing.B) {
	payload := strings.Repeat("0123456789abcdef", 4)
	b.Run("runtime.Call", func(b *testing.B) {
		ctx := context.Background()
		rt, err := runtime.NewWithEngine(ctx, "wasmtime", fixtures.MustBytes("wat/raw.wasm"), nil)
		require.NoError(b, err)
		defer rt.Close(ctx)
		b.ReportAllocs()
		var out any
		for b.Loop() {
			if out, err = rt.Call(ctx, "echo", payload); err != nil {
				b.Fatal(err)
			}
		}
		require.Equal(b, payload, out)
	})
	b.Run("wasmtime-go-Func.Call", wasmtime.Echo64WasmtimeGo)
}
