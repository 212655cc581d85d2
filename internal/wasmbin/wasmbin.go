// Package wasmbin reads and patches the few parts of the WebAssembly binary
// format the engine adapters need beyond what their engines expose: the
// section list, the import and export names in declaration order, and the
// limits of the memories a module defines (read, checked against a limit,
// or rewritten to declare it). Every read is bounds-checked: any input gives
// a result or an error wrapping ErrMalformed, never a panic.
//
// The full parser, validator and rewriter is package metering; this one is
// deliberately small, for modules the engine has validated or will.
package wasmbin

import (
	"errors"
	"fmt"
)

// ErrMalformed reports bytes that are not the binary format this package
// reads.
var ErrMalformed = errors.New("malformed module")

// MaxPages is the number of 64 KiB pages of a 4 GiB (32-bit) memory.
const MaxPages = 65536

// Section ids.
const (
	SectionImport = 2
	SectionMemory = 5
	SectionExport = 7
)

// Reader reads the binary format from B, starting at Off.
type Reader struct {
	B   []byte
	Off int
}

// Byte reads one byte.
func (r *Reader) Byte() (byte, error) {
	if r.Off < 0 || r.Off >= len(r.B) {
		return 0, fmt.Errorf("%w: unexpected end", ErrMalformed)
	}
	c := r.B[r.Off]
	r.Off++
	return c, nil
}

// ULEB reads an unsigned LEB128 number of at most 64 bits.
func (r *Reader) ULEB() (uint64, error) {
	var v uint64
	for shift := uint(0); shift < 64; shift += 7 {
		c, err := r.Byte()
		if err != nil {
			return 0, err
		}
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			return v, nil
		}
	}
	return 0, fmt.Errorf("%w: LEB128 too long", ErrMalformed)
}

// U32 reads an unsigned LEB128 number that must fit 32 bits.
func (r *Reader) U32() (uint32, error) {
	v, err := r.ULEB()
	if err != nil {
		return 0, err
	}
	if v > 0xffffffff {
		return 0, fmt.Errorf("%w: u32 out of range", ErrMalformed)
	}
	return uint32(v), nil
}

// Bytes reads n bytes (a subslice of B).
func (r *Reader) Bytes(n uint64) ([]byte, error) {
	if r.Off < 0 || n > uint64(len(r.B)-r.Off) {
		return nil, fmt.Errorf("%w: unexpected end", ErrMalformed)
	}
	s := r.B[r.Off : r.Off+int(n)]
	r.Off += int(n)
	return s, nil
}

// Name reads a length-prefixed name.
func (r *Reader) Name() (string, error) {
	n, err := r.U32()
	if err != nil {
		return "", err
	}
	s, err := r.Bytes(uint64(n))
	return string(s), err
}

// Section is one section of a module.
type Section struct {
	ID byte
	// Start is the offset of the section's id byte, End that of the byte
	// after its body.
	Start, End int
	Body       []byte
}

// Sections returns the sections of wasm in order.
func Sections(wasm []byte) ([]Section, error) {
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" {
		return nil, fmt.Errorf("%w: no wasm header", ErrMalformed)
	}
	var out []Section
	r := Reader{B: wasm, Off: 8}
	for r.Off < len(r.B) {
		start := r.Off
		id, err := r.Byte()
		if err != nil {
			return nil, err
		}
		size, err := r.ULEB()
		if err != nil {
			return nil, err
		}
		body, err := r.Bytes(size)
		if err != nil {
			return nil, err
		}
		out = append(out, Section{ID: id, Start: start, End: r.Off, Body: body})
	}
	return out, nil
}

// AppendULEB appends v as an unsigned LEB128 number.
func AppendULEB(b []byte, v uint64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}
