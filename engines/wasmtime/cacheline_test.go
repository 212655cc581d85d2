//go:build cgo && !wazero && !wasmer

package wasmtime

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
)

// TestCacheLineSizes: the objects every call reads or writes are whole
// cache lines (see cacheLine). A field added to one of them must shrink
// its padding.
func TestCacheLineSizes(t *testing.T) {
	for name, size := range map[string]uintptr{
		"wtInstance": unsafe.Sizeof(wtInstance{}),
		"wtFunction": unsafe.Sizeof(wtFunction{}),
		"wtGlobal":   unsafe.Sizeof(wtGlobal{}),
		"hostEntry":  unsafe.Sizeof(hostEntry{}),
		"frames":     unsafe.Sizeof([8]frame{}),
	} {
		assert.Zero(t, size%cacheLine, "%s is %d bytes, not a multiple of %d", name, size, cacheLine)
	}
}
