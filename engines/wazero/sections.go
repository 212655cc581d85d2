package wazero

import (
	"errors"
	"fmt"

	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// wazero's CompiledModule describes imported and exported functions and
// memories, but neither tables nor globals, and returns exports as a map. The
// SPI lists every import and export in declaration order, so the import and
// export sections are read here. Only names and kinds are decoded; types come
// from wazero, which has validated the module before this runs.

// externRef is an import or export as declared in the binary.
type externRef struct {
	module string // imports only
	name   string
	kind   engine.ExternKind
}

var errTruncated = errors.New("unexpected end of module")

// reader decodes the binary format without ever indexing out of range.
type reader struct {
	b   []byte
	off int
}

func (r *reader) byte() (byte, error) {
	if r.off >= len(r.b) {
		return 0, errTruncated
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

// uleb reads an unsigned LEB128 of at most 64 bits.
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
	return 0, errors.New("LEB128 too long")
}

func (r *reader) u32() (uint32, error) {
	v, err := r.uleb()
	if err != nil {
		return 0, err
	}
	if v > 0xffffffff {
		return 0, errors.New("u32 out of range")
	}
	return uint32(v), nil
}

func (r *reader) bytes(n uint32) ([]byte, error) {
	if uint64(n) > uint64(len(r.b)-r.off) {
		return nil, errTruncated
	}
	s := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return s, nil
}

func (r *reader) name() (string, error) {
	n, err := r.u32()
	if err != nil {
		return "", err
	}
	s, err := r.bytes(n)
	return string(s), err
}

// limits skips a limits entry (memory or table), including the threads
// (shared) and memory64 encodings.
func (r *reader) limits() error {
	flags, err := r.byte()
	if err != nil {
		return err
	}
	if _, err = r.uleb(); err != nil {
		return err
	}
	if flags&1 != 0 {
		_, err = r.uleb()
	}
	return err
}

// refOrValType skips a value or reference type. Under the core features the
// adapter enables, every such type is one byte.
func (r *reader) refOrValType() error {
	_, err := r.byte()
	return err
}

// Section ids.
const (
	sectionImport = 2
	sectionExport = 7
)

// Import descriptor kinds beyond engine.ExternKind: the exception-handling
// proposal's tags.
const externTag = 4

// readExterns returns the imports and exports of a module in declaration
// order.
func readExterns(wasm []byte) (imports, exports []externRef, err error) {
	r := &reader{b: wasm}
	if _, err = r.bytes(8); err != nil { // magic and version
		return nil, nil, err
	}
	for r.off < len(r.b) {
		id, err := r.byte()
		if err != nil {
			return nil, nil, err
		}
		size, err := r.u32()
		if err != nil {
			return nil, nil, err
		}
		body, err := r.bytes(size)
		if err != nil {
			return nil, nil, err
		}
		switch id {
		case sectionImport:
			if imports, err = readImports(&reader{b: body}); err != nil {
				return nil, nil, fmt.Errorf("import section: %w", err)
			}
		case sectionExport:
			if exports, err = readExports(&reader{b: body}); err != nil {
				return nil, nil, fmt.Errorf("export section: %w", err)
			}
		}
	}
	return imports, exports, nil
}

func readImports(r *reader) ([]externRef, error) {
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	out := make([]externRef, 0, min(n, uint32(len(r.b))))
	for range n {
		var e externRef
		if e.module, err = r.name(); err != nil {
			return nil, err
		}
		if e.name, err = r.name(); err != nil {
			return nil, err
		}
		kind, err := r.byte()
		if err != nil {
			return nil, err
		}
		switch kind {
		case byte(engine.ExternFunc):
			_, err = r.u32() // type index
		case byte(engine.ExternTable):
			if err = r.refOrValType(); err == nil {
				err = r.limits()
			}
		case byte(engine.ExternMemory):
			err = r.limits()
		case byte(engine.ExternGlobal):
			if err = r.refOrValType(); err == nil {
				_, err = r.byte() // mutability
			}
		case externTag:
			if _, err = r.byte(); err == nil { // attribute
				_, err = r.u32() // type index
			}
		default:
			err = fmt.Errorf("unknown import kind %#x", kind)
		}
		if err != nil {
			return nil, err
		}
		e.kind = engine.ExternKind(kind)
		out = append(out, e)
	}
	return out, nil
}

func readExports(r *reader) ([]externRef, error) {
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	out := make([]externRef, 0, min(n, uint32(len(r.b))))
	for range n {
		var e externRef
		if e.name, err = r.name(); err != nil {
			return nil, err
		}
		kind, err := r.byte()
		if err != nil {
			return nil, err
		}
		if _, err = r.u32(); err != nil { // index
			return nil, err
		}
		e.kind = engine.ExternKind(kind)
		out = append(out, e)
	}
	return out, nil
}
