//go:build wasmer && cgo && aspect_wasmer_fakeclash

package wasmer

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// TestFakeClashRefused runs only in the binary TestIdentityStaticClash
// builds, where fakeclash.c defines wasm_func_call statically.
func TestFakeClashRefused(t *testing.T) {
	d, ok := engine.Lookup(Name)
	require.True(t, ok)
	_, err := d.Open(engine.Config{})
	require.ErrorIs(t, err, ErrNotWasmer)
	assert.ErrorContains(t, err, "wasm_func_call (in ")
	t.Log(err)
}
