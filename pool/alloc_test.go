package pool

import (
	"context"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

// TestLeaseAllocations: a keep-state lease of an idle instance and its put
// back allocate one object, the Lease with its handle, of at most 64 bytes
// (the garbage collector's cost of a pooled call grows with the bytes it
// allocates: 144 bytes with the Key in the Lease); through Do, only the
// handle fn gets.
func TestLeaseAllocations(t *testing.T) {
	assert.LessOrEqual(t, unsafe.Sizeof(Lease{}), uintptr(64))
	ctx := context.Background()
	code := fixtures.MustBytes("as/greet.wasm")
	reg := runtime.NewHostAPIRegistry()
	require.NoError(t, reg.AddAPI("index", "test", "hello", func(s string) string { return s }))
	for _, engine := range runtime.Engines() {
		t.Run(engine, func(t *testing.T) {
			p := New(2, WithKeepState())
			defer p.Close(ctx)
			l, err := p.Runtime(ctx, engine, code, reg) // compile and instantiate
			require.NoError(t, err)
			p.PutBack(l)
			leases := testing.AllocsPerRun(100, func() {
				l, err := p.Runtime(ctx, engine, code, reg)
				if err != nil {
					t.Fatal(err)
				}
				p.PutBack(l)
			})
			assert.Equal(t, 1.0, leases, "allocations per Runtime + PutBack")
			nop := func(*runtime.Runtime) error { return nil }
			dos := testing.AllocsPerRun(100, func() {
				if err := p.Do(ctx, engine, code, reg, nop); err != nil {
					t.Fatal(err)
				}
			})
			assert.Equal(t, 1.0, dos, "allocations per Do")
			assert.Equal(t, uint64(1), p.Stats().Misses)
		})
	}
}
