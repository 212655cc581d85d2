package wasmbin

import "fmt"

// Memory is the declared limits of one memory, in pages.
type Memory struct {
	Min, Max uint64
	HasMax   bool
}

// Memories returns the limits of the memories wasm defines (its memory
// section; imported memories are not included).
func Memories(wasm []byte) ([]Memory, error) {
	secs, err := Sections(wasm)
	if err != nil {
		return nil, err
	}
	for _, s := range secs {
		if s.ID != SectionMemory {
			continue
		}
		r := Reader{B: s.Body}
		n, err := r.ULEB()
		if err != nil {
			return nil, err
		}
		var out []Memory
		for i := uint64(0); i < n; i++ {
			flags, err := r.Byte()
			if err != nil {
				return nil, err
			}
			var m Memory
			if m.Min, err = r.ULEB(); err != nil {
				return nil, err
			}
			if flags&1 != 0 {
				m.HasMax = true
				if m.Max, err = r.ULEB(); err != nil {
					return nil, err
				}
			}
			out = append(out, m)
		}
		return out, nil
	}
	return nil, nil
}

// CheckLimit checks a memory limit of limit pages (0 for none) against
// mems, the way wazero does, so that every engine accepts and rejects the
// same modules: the limit may not exceed MaxPages, and a memory whose
// declared minimum or maximum exceeds it is an error.
func CheckLimit(mems []Memory, limit uint32) error {
	if limit == 0 {
		return nil
	}
	if limit > MaxPages {
		return fmt.Errorf("memory limit %d pages exceeds %d", limit, MaxPages)
	}
	for i, m := range mems {
		if err := m.check(i, limit); err != nil {
			return err
		}
	}
	return nil
}

// check checks memory i's declared limits against limit.
func (m Memory) check(i int, limit uint32) error {
	if m.HasMax && m.Max > uint64(limit) {
		return fmt.Errorf("memory[%d] max %d pages over limit of %d pages", i, m.Max, limit)
	}
	if m.Min > uint64(limit) {
		return fmt.Errorf("memory[%d] min %d pages over limit of %d pages", i, m.Min, limit)
	}
	return nil
}

// SetMemoryMax returns wasm with limit pages as the declared maximum of
// every memory it defines, after CheckLimit. It returns wasm itself when
// limit is 0 or the module defines no memory. Only the memory section
// changes: offsets within every other section, and so names and debug
// information, are unaffected.
func SetMemoryMax(wasm []byte, limit uint32) ([]byte, error) {
	if limit == 0 {
		return wasm, nil
	}
	if limit > MaxPages {
		return nil, CheckLimit(nil, limit)
	}
	secs, err := Sections(wasm)
	if err != nil {
		return nil, err
	}
	for _, s := range secs {
		if s.ID != SectionMemory {
			continue
		}
		body, _, err := limitMemories(s.Body, limit, false)
		if err != nil {
			return nil, err
		}
		return replaceSection(wasm, s, body), nil
	}
	return wasm, nil
}

// limitMemories rewrites the body of a memory section with limit as every
// memory's maximum. A declared maximum over limit is an error, or lowered
// to it with clamp (changed reports whether any maximum was set or
// lowered); a minimum over limit is an error.
func limitMemories(body []byte, limit uint32, clamp bool) (out []byte, changed bool, err error) {
	r := Reader{B: body}
	n, err := r.ULEB()
	if err != nil {
		return nil, false, err
	}
	out = AppendULEB(make([]byte, 0, len(body)+8), n)
	for i := uint64(0); i < n; i++ {
		flags, err := r.Byte()
		if err != nil {
			return nil, false, err
		}
		if flags&^0x03 != 0 { // memory64 or an unknown flag: not for us to rewrite
			return nil, false, fmt.Errorf("%w: memory[%d] has limits flags %#x", ErrMalformed, i, flags)
		}
		m := Memory{Max: uint64(limit)}
		if m.Min, err = r.ULEB(); err != nil {
			return nil, false, err
		}
		if flags&1 != 0 {
			m.HasMax = true
			if m.Max, err = r.ULEB(); err != nil {
				return nil, false, err
			}
		}
		if clamp && m.Max > uint64(limit) {
			m.Max = uint64(limit)
			changed = true
		}
		changed = changed || !m.HasMax
		if err := m.check(int(i), limit); err != nil {
			return nil, false, err
		}
		out = append(out, flags|1)
		out = AppendULEB(out, m.Min)
		out = AppendULEB(out, m.Max)
	}
	if r.Off != len(body) {
		return nil, false, fmt.Errorf("%w: memory section has %d trailing bytes", ErrMalformed, len(body)-r.Off)
	}
	return out, changed, nil
}

// replaceSection returns a copy of wasm with section s's body replaced.
func replaceSection(wasm []byte, s Section, body []byte) []byte {
	out := make([]byte, 0, len(wasm)-len(s.Body)+len(body)+8)
	out = append(out, wasm[:s.Start]...)
	out = append(out, s.ID)
	out = AppendULEB(out, uint64(len(body)))
	out = append(out, body...)
	return append(out, wasm[s.End:]...)
}
