//go:build cgo && !wazero && !wasmer

package wasmtime

import "fmt"

// maxPages is the number of 64 KiB pages of a 4 GiB (32-bit) memory.
const maxPages = 65536

// checkMemoryLimit applies CompileConfig.MemoryLimitPages the way wazero
// does, so that both engines accept and reject the same modules: the limit
// itself may not exceed 4 GiB, and a memory whose declared minimum or
// maximum exceeds the limit fails to compile. (Growth up to the limit is
// then capped at run time by the store limiter.) wasm is a module wasmtime
// has already validated.
func checkMemoryLimit(wasm []byte, limit uint32) ([]memLimits, error) {
	mems, err := memoryLimits(wasm)
	if err != nil {
		return nil, fmt.Errorf("wasmtime: compile: %w", err)
	}
	return mems, checkLimits(mems, limit)
}

// checkLimits checks the memories mems against limit (0 for none).
func checkLimits(mems []memLimits, limit uint32) error {
	if limit == 0 {
		return nil
	}
	if limit > maxPages {
		return fmt.Errorf("wasmtime: memory limit %d pages exceeds %d", limit, maxPages)
	}
	for i, m := range mems {
		if m.hasMax && m.max > uint64(limit) {
			return fmt.Errorf("wasmtime: compile: memory[%d] max %d pages over limit of %d pages", i, m.max, limit)
		}
		if m.min > uint64(limit) {
			return fmt.Errorf("wasmtime: compile: memory[%d] min %d pages over limit of %d pages", i, m.min, limit)
		}
	}
	return nil
}

// memLimits are the limits of one memory, in pages.
type memLimits struct {
	min, max uint64
	hasMax   bool
}

// memoryLimits returns the limits of the memories the module defines (its
// memory section), reading the binary format defensively.
func memoryLimits(wasm []byte) ([]memLimits, error) {
	r := reader{b: wasm}
	if len(wasm) < 8 {
		return nil, errMalformed
	}
	r.off = 8 // magic and version
	for r.off < len(r.b) {
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
		if id != 5 { // memory section
			r.off = int(end)
			continue
		}
		n, err := r.uleb()
		if err != nil {
			return nil, err
		}
		var out []memLimits
		for i := uint64(0); i < n; i++ {
			flags, err := r.byte()
			if err != nil {
				return nil, err
			}
			var m memLimits
			if m.min, err = r.uleb(); err != nil {
				return nil, err
			}
			if flags&1 != 0 {
				m.hasMax = true
				if m.max, err = r.uleb(); err != nil {
					return nil, err
				}
			}
			out = append(out, m)
		}
		return out, nil
	}
	return nil, nil
}

var errMalformed = fmt.Errorf("malformed module")

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
