package pool

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
)

// TestCacheLineSizes: the objects every lease reads or writes are whole
// cache lines (see cacheLine), so that two goroutines leasing on two cores
// never write a line the other reads. A field added to one of them must
// shrink its padding.
func TestCacheLineSizes(t *testing.T) {
	for name, size := range map[string]uintptr{
		"keyEntry":   unsafe.Sizeof(keyEntry{}),
		"keyShard":   unsafe.Sizeof(keyShard{}),
		"instance":   unsafe.Sizeof(instance{}),
		"instState":  unsafe.Sizeof(instState{}),
		"shardToken": unsafe.Sizeof(shardToken{}),
	} {
		assert.Zero(t, size%cacheLine, "%s is %d bytes, not a multiple of %d", name, size, cacheLine)
	}
	// The shards of an entry are one array: each starts a line.
	assert.Equal(t, uintptr(2*cacheLine), unsafe.Sizeof(keyShard{}))
}
