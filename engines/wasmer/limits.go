//go:build wasmer && cgo

package wasmer

import (
	"errors"
	"fmt"
)

// wasmer's C API has no memory limit of its own (its tunables are not
// exposed). The adapter enforces CompileConfig.MemoryLimitPages with the
// WebAssembly semantics of a declared maximum instead: before compiling, a
// memory the module defines without a maximum gets the limit as its
// maximum, so memory.grow past it returns -1 inside the guest, exactly what
// the SPI promises. A module whose memory declares a minimum or maximum over
// the limit is rejected at compile time, as the other engines do. Only the
// memory section changes; code offsets within the code section, and so
// names and debug information, are unaffected. The SPI allows no imported
// memory (such a module fails to instantiate), so every memory an instance
// can have is covered.

// maxPages is the number of 64 KiB pages of a 4 GiB (32-bit) memory.
const maxPages = 65536

var errMalformed = errors.New("malformed module")

// applyMemoryLimit returns wasm with limit pages as the maximum of every
// memory it defines. It returns wasm itself when limit is 0 or the module
// defines no memory, an error wrapping errMalformed when it cannot read the
// module, and another error when a memory's declared limits exceed limit.
func applyMemoryLimit(wasm []byte, limit uint32) ([]byte, error) {
	if limit == 0 {
		return wasm, nil
	}
	if limit > maxPages {
		return nil, fmt.Errorf("wasmer: memory limit %d pages exceeds %d", limit, maxPages)
	}
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" {
		return nil, errMalformed
	}
	r := reader{b: wasm, off: 8}
	for r.off < len(r.b) {
		start := r.off
		id, err := r.byte()
		if err != nil {
			return nil, err
		}
		size, err := r.uleb()
		if err != nil {
			return nil, err
		}
		end := uint64(r.off) + size
		if end > uint64(len(r.b)) {
			return nil, errMalformed
		}
		if id != 5 { // not the memory section
			r.off = int(end)
			continue
		}
		body, err := limitMemories(r.b[r.off:end], limit)
		if err != nil {
			return nil, err
		}
		out := make([]byte, 0, len(wasm)+16)
		out = append(out, wasm[:start]...)
		out = append(out, 5)
		out = appendUleb(out, uint64(len(body)))
		out = append(out, body...)
		out = append(out, wasm[end:]...)
		return out, nil
	}
	return wasm, nil
}

// limitMemories rewrites the body of a memory section.
func limitMemories(body []byte, limit uint32) ([]byte, error) {
	r := reader{b: body}
	n, err := r.uleb()
	if err != nil {
		return nil, err
	}
	out := appendUleb(make([]byte, 0, len(body)+8), n)
	for i := uint64(0); i < n; i++ {
		flags, err := r.byte()
		if err != nil {
			return nil, err
		}
		if flags&^0x03 != 0 { // memory64 or an unknown flag: not for us to rewrite
			return nil, fmt.Errorf("%w: memory[%d] has limits flags %#x", errMalformed, i, flags)
		}
		lo, err := r.uleb()
		if err != nil {
			return nil, err
		}
		if lo > uint64(limit) {
			return nil, fmt.Errorf("wasmer: compile: memory[%d] min %d pages over limit of %d pages", i, lo, limit)
		}
		hi := uint64(limit)
		if flags&1 != 0 {
			if hi, err = r.uleb(); err != nil {
				return nil, err
			}
			if hi > uint64(limit) {
				return nil, fmt.Errorf("wasmer: compile: memory[%d] max %d pages over limit of %d pages", i, hi, limit)
			}
		}
		out = append(out, flags|1)
		out = appendUleb(out, lo)
		out = appendUleb(out, hi)
	}
	if r.off != len(body) {
		return nil, fmt.Errorf("%w: memory section has %d trailing bytes", errMalformed, len(body)-r.off)
	}
	return out, nil
}

// reader reads the wasm binary format.
type reader struct {
	b   []byte
	off int
}

func (r *reader) byte() (byte, error) {
	if r.off >= len(r.b) {
		return 0, errMalformed
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

// uleb reads an unsigned LEB128 number of at most 64 bits.
func (r *reader) uleb() (uint64, error) {
	var v uint64
	for shift := uint(0); shift < 64; shift += 7 {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			return v, nil
		}
	}
	return 0, errMalformed
}

func appendUleb(b []byte, v uint64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}
