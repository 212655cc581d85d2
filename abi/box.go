package abi

import (
	"reflect"
	"unsafe"
)

// stringAny returns string(b) as an any, in one allocation instead of the
// two of any(string(b)) (the bytes, then the string header the interface
// points to): the header and the bytes share one pointer-free block, the
// header first, pointing at the bytes behind it, and the interface's data
// word points at the header. Besides the allocation saved, the block is
// one the garbage collector never scans; the any(string(b)) box is one it
// scans. That made Runtime.Call of a host callback returning a string
// about 15% cheaper in CPU time (BenchmarkHostCallback on wazero).
//
// The collector handles the block like any other: the interface's data
// pointer keeps it alive; the only pointer inside it points into itself,
// so it need not be scanned; a string copied out of the interface points
// into the block and keeps it alive. What the trick assumes is the layout
// of an interface value (type word, then data word) and of a string
// header (pointer, then length), which the init check below verifies; if
// it ever fails, stringAny falls back to any(string(b)).
func stringAny(b []byte) any {
	if len(b) == 0 || !stringBoxOK {
		return string(b)
	}
	return stringBox(b)
}

// stringHeaderSize is the size of a string header, where a box's bytes
// start.
const stringHeaderSize = unsafe.Sizeof("")

func stringBox(b []byte) any {
	buf := make([]byte, int(stringHeaderSize)+len(b))
	copy(buf[stringHeaderSize:], b)
	*(*string)(unsafe.Pointer(&buf[0])) = unsafe.String(&buf[stringHeaderSize], len(b))
	v := any("") // the type word of a string
	(*[2]unsafe.Pointer)(unsafe.Pointer(&v))[1] = unsafe.Pointer(&buf[0])
	return v
}

// stringBoxOK: stringBox makes interface values that hold the right
// string.
var stringBoxOK = func() bool {
	if unsafe.Sizeof(any(nil)) != 2*unsafe.Sizeof(unsafe.Pointer(nil)) || stringHeaderSize != 2*unsafe.Sizeof(unsafe.Pointer(nil)) {
		return false
	}
	const probe = "stringAny probe"
	v := stringBox([]byte(probe))
	s, ok := v.(string)
	return ok && s == probe && len(s) == len(probe) && reflect.TypeOf(v) == reflect.TypeFor[string]() && v == any(probe)
}()
