package wasmbin

import (
	"errors"
	"fmt"
)

// ErrBoundaryType reports an import or export whose type the library cannot
// pass between host and guest (see CheckBoundaryTypes).
var ErrBoundaryType = errors.New("unsupported type at the host boundary")

// More section ids.
const (
	SectionType     = 1
	SectionFunction = 3
	SectionGlobal   = 6
)

// typeV128 is the vector value type.
const typeV128 = 0x7b

// CheckBoundaryTypes returns an error wrapping ErrBoundaryType when a
// function the module imports or exports has a v128 parameter or result, or
// a global it imports or exports has type v128. Values that cross between
// host and guest are i32, i64, f32 and f64; some engines (wasmer's C API)
// abort the process on a v128 there, so such a module is refused before any
// engine sees it, the same way everywhere. A module this function cannot
// read (malformed, or using type forms it does not know) gives nil: the
// engine reports what is wrong with it.
func CheckBoundaryTypes(wasm []byte) error {
	secs, err := Sections(wasm)
	if err != nil {
		return nil
	}
	var types [][]byte // the params and results of each function type
	var funcTypes []uint32
	var globalTypes []byte
	var numFuncImports uint32
	var numGlobalImports uint32
	v128Sig := func(ti uint32) bool {
		return ti < uint32(len(types)) && containsByte(types[ti], typeV128)
	}
	for _, s := range secs {
		r := &Reader{B: s.Body}
		switch s.ID {
		case SectionType:
			if types, err = readTypes(r); err != nil {
				return nil
			}
		case SectionImport:
			n, err := r.U32()
			if err != nil {
				return nil
			}
			for range n {
				mod, err1 := r.Name()
				name, err2 := r.Name()
				kind, err3 := r.Byte()
				if err := errors.Join(err1, err2, err3); err != nil {
					return nil
				}
				switch kind {
				case 0: // func
					ti, err := r.U32()
					if err != nil {
						return nil
					}
					numFuncImports++
					funcTypes = append(funcTypes, ti)
					if v128Sig(ti) {
						return fmt.Errorf("%w: imported function %s.%s has a v128 parameter or result", ErrBoundaryType, mod, name)
					}
				case 1: // table
					if _, err := r.Byte(); err != nil || SkipLimits(r) != nil {
						return nil
					}
				case 2: // memory
					if SkipLimits(r) != nil {
						return nil
					}
				case 3: // global
					t, err1 := r.Byte()
					_, err2 := r.Byte()
					if err1 != nil || err2 != nil {
						return nil
					}
					numGlobalImports++
					globalTypes = append(globalTypes, t)
					if t == typeV128 {
						return fmt.Errorf("%w: imported global %s.%s is a v128", ErrBoundaryType, mod, name)
					}
				default:
					return nil
				}
			}
		case SectionFunction:
			n, err := r.U32()
			if err != nil {
				return nil
			}
			for range n {
				ti, err := r.U32()
				if err != nil {
					return nil
				}
				funcTypes = append(funcTypes, ti)
			}
		case SectionGlobal:
			n, err := r.U32()
			if err != nil {
				return nil
			}
			for range n {
				t, err1 := r.Byte()
				_, err2 := r.Byte()
				if err1 != nil || err2 != nil || skipConstExpr(r) != nil {
					return nil
				}
				globalTypes = append(globalTypes, t)
			}
		case SectionExport:
			n, err := r.U32()
			if err != nil {
				return nil
			}
			for range n {
				name, err1 := r.Name()
				kind, err2 := r.Byte()
				idx, err3 := r.U32()
				if errors.Join(err1, err2, err3) != nil {
					return nil
				}
				switch {
				case kind == 0 && idx < uint32(len(funcTypes)) && v128Sig(funcTypes[idx]):
					return fmt.Errorf("%w: exported function %q has a v128 parameter or result", ErrBoundaryType, name)
				case kind == 3 && idx < uint32(len(globalTypes)) && globalTypes[idx] == typeV128:
					return fmt.Errorf("%w: exported global %q is a v128", ErrBoundaryType, name)
				}
			}
		}
	}
	return nil
}

func containsByte(b []byte, c byte) bool {
	for _, x := range b {
		if x == c {
			return true
		}
	}
	return false
}

// readTypes reads a type section of plain function types (0x60 params
// results); other forms (the GC proposal's) are an error.
func readTypes(r *Reader) ([][]byte, error) {
	n, err := r.U32()
	if err != nil {
		return nil, err
	}
	out := make([][]byte, 0, min(n, uint32(len(r.B))))
	for range n {
		form, err := r.Byte()
		if err != nil {
			return nil, err
		}
		if form != 0x60 {
			return nil, fmt.Errorf("%w: type form %#x", ErrMalformed, form)
		}
		var sig []byte
		for range 2 {
			k, err := r.U32()
			if err != nil {
				return nil, err
			}
			b, err := r.Bytes(uint64(k))
			if err != nil {
				return nil, err
			}
			sig = append(sig, b...)
		}
		out = append(out, sig)
	}
	return out, nil
}

// SkipLimits skips a limits entry (memory or table), including the threads
// (shared) and memory64 encodings.
func SkipLimits(r *Reader) error {
	flags, err := r.Byte()
	if err != nil {
		return err
	}
	if _, err = r.ULEB(); err != nil {
		return err
	}
	if flags&1 != 0 {
		_, err = r.ULEB()
	}
	return err
}

// skipConstExpr skips a constant expression up to and including its end.
func skipConstExpr(r *Reader) error {
	for {
		op, err := r.Byte()
		if err != nil {
			return err
		}
		switch op {
		case 0x0b: // end
			return nil
		case 0x41, 0x42, 0x23, 0xd2: // i32.const, i64.const, global.get, ref.func
			_, err = r.ULEB()
		case 0x43: // f32.const
			_, err = r.Bytes(4)
		case 0x44: // f64.const
			_, err = r.Bytes(8)
		case 0xd0: // ref.null t
			_, err = r.Byte()
		case 0x6a, 0x6b, 0x6c, 0x7c, 0x7d, 0x7e: // extended-const arithmetic
		case 0xfd: // v128.const
			var sub uint32
			if sub, err = r.U32(); err == nil {
				if sub != 12 {
					return fmt.Errorf("%w: constant expression opcode 0xfd %d", ErrMalformed, sub)
				}
				_, err = r.Bytes(16)
			}
		default:
			return fmt.Errorf("%w: constant expression opcode %#x", ErrMalformed, op)
		}
		if err != nil {
			return err
		}
	}
}

// MaxSafePages is the largest memory, in 64 KiB pages, every engine handles
// correctly: a memory of exactly 4 GiB (MaxPages) reads as size 0 on
// wazero, and wasmer cannot grow to it.
const MaxSafePages = MaxPages - 1

// ErrMemoryTooLarge reports a memory whose declared minimum is over the
// limit ClampMemoryMax was given.
var ErrMemoryTooLarge = errors.New("memory minimum over the limit")

// ClampMemoryMax returns wasm with the declared maximum of every memory it
// defines lowered to at most limit pages (set to limit where none is
// declared), so memory.grow past limit returns -1 in the guest. A memory
// whose declared minimum exceeds limit is an error wrapping
// ErrMemoryTooLarge. wasm itself is returned when nothing changes; a module
// it cannot read, or a memory64 or unknown encoding, gives wasm and
// nil (the engine decides).
func ClampMemoryMax(wasm []byte, limit uint32) ([]byte, error) {
	secs, err := Sections(wasm)
	if err != nil {
		return wasm, nil
	}
	for _, s := range secs {
		if s.ID != SectionMemory {
			continue
		}
		if mems, err := Memories(wasm); err == nil {
			for i, m := range mems {
				if m.Min > uint64(limit) {
					return nil, fmt.Errorf("%w: memory[%d] has a minimum of %d pages, more than the %d allowed", ErrMemoryTooLarge, i, m.Min, limit)
				}
			}
		}
		body, changed, err := limitMemories(s.Body, limit, true)
		if err != nil || !changed {
			return wasm, nil
		}
		return replaceSection(wasm, s, body), nil
	}
	return wasm, nil
}
