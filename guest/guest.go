//go:build wasip1

package guest

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"unicode/utf16"
	"unsafe"

	"github.com/aspect-rt/aspect-runtime/abi"
)

// arena holds every buffer the host may read or write, by guest address.
var arena = map[uint32][]byte{}

// pin keeps b reachable until the next release and returns its address.
// b must have a non-zero capacity.
func pin(b []byte) uint32 {
	ptr := uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b[:1]))))
	arena[ptr] = b
	return ptr
}

// release ends a call: every buffer the host could see is dropped.
func release() { clear(arena) }

// allocate is the ABI's allocator: size fresh bytes, pinned until the end
// of the export call they are for.
//
//go:wasmexport allocate
func allocate(size uint32) uint32 {
	return pin(make([]byte, size, max(size, 1)))
}

// Raw returns the encoded value (header and payload) at ptr, which must be
// a pointer allocate returned. The bytes belong to the arena: copy them to
// keep them past the export call. On a bad pointer or header the guest
// aborts.
func Raw(ptr uint32) []byte {
	b, err := raw(ptr)
	if err != nil {
		abortAt(err.Error(), 2)
	}
	return b
}

func raw(ptr uint32) ([]byte, error) {
	buf, ok := arena[ptr]
	if !ok {
		return nil, fmt.Errorf("guest: pointer %#x was not returned by allocate in this call", ptr)
	}
	if len(buf) < abi.HeaderSize {
		return nil, fmt.Errorf("guest: value at %#x: %d bytes, shorter than a header", ptr, len(buf))
	}
	n := int32(binary.LittleEndian.Uint32(buf[2:]))
	if n < 0 || int64(n) > int64(len(buf)-abi.HeaderSize) {
		return nil, fmt.Errorf("guest: value at %#x: payload length %d outside its %d-byte buffer", ptr, n, len(buf))
	}
	return buf[:abi.HeaderSize+int(n)], nil
}

// Decode decodes the value at ptr (an argument, or a host function's
// result) into a T, with abi.Unmarshal's conversions; T = any gives the
// generic form (see abi.Decode).
func Decode[T any](ptr uint32) (T, error) {
	var v T
	b, err := raw(ptr)
	if err == nil {
		err = abi.Unmarshal(b, &v)
	}
	return v, err
}

// Arg is Decode, aborting the guest if the value cannot be decoded into a T.
func Arg[T any](ptr uint32) T {
	v, err := Decode[T](ptr)
	if err != nil {
		abortAt(fmt.Sprintf("guest: decoding %T: %v", v, err), 2)
	}
	return v
}

// Optional is Arg for a host function result that may be absent: ok is
// false if ptr is 0 ("no result").
func Optional[T any](ptr uint32) (v T, ok bool) {
	if ptr == 0 {
		return v, false
	}
	v, err := Decode[T](ptr)
	if err != nil {
		abortAt(fmt.Sprintf("guest: decoding %T: %v", v, err), 2)
	}
	return v, true
}

// Put encodes v for a host function argument and returns its pointer,
// valid until the export call ends. It aborts if v cannot be encoded.
func Put(v any) uint32 {
	b, err := abi.Marshal(v)
	if err != nil {
		abortAt("guest: encoding: "+err.Error(), 2)
	}
	return pin(b)
}

// Return encodes v as the export's result, ends the call (see the package
// documentation on memory ownership) and returns the result's pointer.
// A nil v is encoded as Nil; return 0 after Done for "no result".
func Return(v any) uint32 {
	b, err := abi.Marshal(v)
	if err != nil {
		abortAt("guest: encoding the result: "+err.Error(), 2)
	}
	release()
	return pin(b)
}

// ReturnRaw is Return for a value that is already encoded; the bytes are
// copied, not checked.
func ReturnRaw(encoded []byte) uint32 {
	b := make([]byte, len(encoded), max(len(encoded), 1))
	copy(b, encoded)
	release()
	return pin(b)
}

// Done ends a call that has no result (see the package documentation on
// memory ownership).
func Done() { release() }

//go:wasmimport env abort
func envAbort(msg, file, line, column uint32)

// Abort stops the guest: the host's call fails with runtime.ErrAbort,
// reporting msg and the Go file and line that called Abort. It does not
// return.
func Abort(msg string) {
	abortAt(msg, 2)
}

// Fail is Abort with err's message.
func Fail(err error) {
	abortAt(err.Error(), 2)
}

// abortAt calls env.abort with msg and the location skip frames up.
func abortAt(msg string, skip int) {
	_, file, line, _ := runtime.Caller(skip)
	envAbort(asString(msg), asString(file), uint32(line), 0)
	// The host never returns from env.abort; if it does, stop anyway.
	panic("guest: abort: " + msg)
}

// asString lays s out as an AssemblyScript string, which env.abort takes:
// UTF-16LE code units preceded by their byte length as a u32; the pointer
// is to the first code unit.
func asString(s string) uint32 {
	units := utf16.Encode([]rune(s))
	b := make([]byte, 4+2*len(units))
	binary.LittleEndian.PutUint32(b, uint32(2*len(units)))
	for i, u := range units {
		binary.LittleEndian.PutUint16(b[4+2*i:], u)
	}
	return pin(b) + 4
}
