package runtime

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
)

// TestCacheLineSizes: the objects every call reads or writes are whole
// cache lines (see cacheLine). A field added to one of them must shrink
// its padding.
func TestCacheLineSizes(t *testing.T) {
	assert.Zero(t, unsafe.Sizeof(hostCaller{})%cacheLine, "hostCaller is %d bytes", unsafe.Sizeof(hostCaller{}))
	assert.Zero(t, unsafe.Sizeof([8][]byte{})%cacheLine, "8 host argument slots")
	assert.Zero(t, unsafe.Sizeof(runtimeLines{})%cacheLine, "runtimeLines is %d bytes", unsafe.Sizeof(runtimeLines{}))
	assert.Zero(t, unsafe.Sizeof(snapshotLines{})%cacheLine, "snapshotLines is %d bytes", unsafe.Sizeof(snapshotLines{}))
	assert.Zero(t, unsafe.Sizeof(dirtyStateLines{})%cacheLine, "dirtyStateLines is %d bytes", unsafe.Sizeof(dirtyStateLines{}))
	assert.Zero(t, unsafe.Sizeof(dirtyCallerLines{})%cacheLine, "dirtyCallerLines is %d bytes", unsafe.Sizeof(dirtyCallerLines{}))
}
