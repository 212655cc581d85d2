package abi

import (
	"bytes"
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
// of an interface value (type word, then data word) and of string and
// slice headers (data pointer first), which the init check below verifies;
// if it ever fails, stringAny and bytesAny fall back to the plain
// conversions.
func stringAny(b []byte) any {
	if len(b) == 0 || !boxOK {
		return string(b)
	}
	return stringBox(b)
}

// bytesAny is stringAny for a copy of b as a []byte (bytes.Clone(b)),
// whose capacity is its length: appending to it moves it out of the block.
func bytesAny(b []byte) any {
	if len(b) == 0 || !boxOK {
		return bytes.Clone(b)
	}
	return bytesBox(b)
}

const (
	ptrSize = unsafe.Sizeof(unsafe.Pointer(nil))
	// stringHeaderSize and sliceHeaderSize are where a box's bytes start.
	stringHeaderSize = unsafe.Sizeof("")
	sliceHeaderSize  = unsafe.Sizeof([]byte(nil))
)

func stringBox(b []byte) any {
	buf := make([]byte, int(stringHeaderSize)+len(b))
	copy(buf[stringHeaderSize:], b)
	*(*string)(unsafe.Pointer(&buf[0])) = unsafe.String(&buf[stringHeaderSize], len(b))
	v := any("") // the type word of a string
	(*[2]unsafe.Pointer)(unsafe.Pointer(&v))[1] = unsafe.Pointer(&buf[0])
	return v
}

func bytesBox(b []byte) any {
	buf := make([]byte, int(sliceHeaderSize)+len(b))
	copy(buf[sliceHeaderSize:], b)
	*(*[]byte)(unsafe.Pointer(&buf[0])) = buf[sliceHeaderSize:len(buf):len(buf)]
	v := any([]byte(nil)) // the type word of a []byte (a nil slice is not allocated)
	(*[2]unsafe.Pointer)(unsafe.Pointer(&v))[1] = unsafe.Pointer(&buf[0])
	return v
}

// boxOK: stringBox and bytesBox make interface values that hold the right
// string and []byte.
var boxOK = func() bool {
	if unsafe.Sizeof(any(nil)) != 2*ptrSize || stringHeaderSize != 2*ptrSize || sliceHeaderSize != 3*ptrSize {
		return false
	}
	const probe = "box probe"
	v := stringBox([]byte(probe))
	s, ok := v.(string)
	if !ok || s != probe || len(s) != len(probe) || reflect.TypeOf(v) != reflect.TypeFor[string]() || v != any(probe) {
		return false
	}
	w := bytesBox([]byte(probe))
	p, ok := w.([]byte)
	return ok && string(p) == probe && len(p) == len(probe) && cap(p) == len(probe) && reflect.TypeOf(w) == reflect.TypeFor[[]byte]()
}()
