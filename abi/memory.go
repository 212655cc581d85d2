package abi

import (
	"encoding/binary"
	"fmt"
)

// Memory is a bounds-checked view of a guest's linear memory. Slices returned
// by Read may alias the memory.
type Memory interface {
	Size() uint32
	Read(offset, length uint32) ([]byte, bool)
}

// ReadValue returns the encoded value (header and payload) stored at ptr in
// mem, checking that it lies entirely inside the memory. The slice may alias
// mem; the value itself is not validated (Decode and Unmarshal do that).
func ReadValue(mem Memory, ptr uint32) ([]byte, error) {
	hdr, ok := mem.Read(ptr, HeaderSize)
	if !ok || len(hdr) < HeaderSize {
		return nil, &MemoryError{Ptr: ptr, Length: HeaderSize, Size: mem.Size()}
	}
	n := int32(binary.LittleEndian.Uint32(hdr[2:]))
	if n < 0 {
		return nil, &DecodeError{Offset: 0, Err: ErrInvalidLength, Detail: fmt.Sprintf("negative length %d at guest address %#x", n, ptr)}
	}
	// total < 2^32 (n < 2^31); Read checks the bounds, so that a value
	// costs two calls of the memory, not three.
	total := uint64(HeaderSize) + uint64(n)
	b, ok := mem.Read(ptr, uint32(total))
	if !ok || uint64(len(b)) != total {
		return nil, &MemoryError{Ptr: ptr, Length: total, Size: mem.Size()}
	}
	return b, nil
}

// MemoryError reports a value that does not lie inside guest memory. It
// matches ErrOutOfBounds.
type MemoryError struct {
	Ptr    uint32 // guest address of the value
	Length uint64 // bytes needed from Ptr
	Size   uint32 // size of the memory
}

// Error implements error.
func (e *MemoryError) Error() string {
	return fmt.Sprintf("abi: out of bounds: %d bytes at guest address %#x, memory is %d bytes", e.Length, e.Ptr, e.Size)
}

// Unwrap returns ErrOutOfBounds.
func (e *MemoryError) Unwrap() error { return ErrOutOfBounds }
