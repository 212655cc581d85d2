package wazero

import (
	"fmt"

	"github.com/aspect-rt/aspect-runtime/internal/wasmbin"
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

// skipType skips a value or reference type. Under the core features the
// adapter enables, every such type is one byte.
func skipType(r *wasmbin.Reader) error {
	_, err := r.Byte()
	return err
}

// Import descriptor kinds beyond engine.ExternKind: the exception-handling
// proposal's tags.
const externTag = 4

// readExterns returns the imports and exports of a module in declaration
// order.
func readExterns(wasm []byte) (imports, exports []externRef, err error) {
	secs, err := wasmbin.Sections(wasm)
	if err != nil {
		return nil, nil, err
	}
	for _, sec := range secs {
		switch sec.ID {
		case wasmbin.SectionImport:
			if imports, err = readImports(&wasmbin.Reader{B: sec.Body}); err != nil {
				return nil, nil, fmt.Errorf("import section: %w", err)
			}
		case wasmbin.SectionExport:
			if exports, err = readExports(&wasmbin.Reader{B: sec.Body}); err != nil {
				return nil, nil, fmt.Errorf("export section: %w", err)
			}
		}
	}
	return imports, exports, nil
}

func readImports(r *wasmbin.Reader) ([]externRef, error) {
	n, err := r.U32()
	if err != nil {
		return nil, err
	}
	out := make([]externRef, 0, min(n, uint32(len(r.B))))
	for range n {
		var e externRef
		if e.module, err = r.Name(); err != nil {
			return nil, err
		}
		if e.name, err = r.Name(); err != nil {
			return nil, err
		}
		kind, err := r.Byte()
		if err != nil {
			return nil, err
		}
		switch kind {
		case byte(engine.ExternFunc):
			_, err = r.U32() // type index
		case byte(engine.ExternTable):
			if err = skipType(r); err == nil {
				err = wasmbin.SkipLimits(r)
			}
		case byte(engine.ExternMemory):
			err = wasmbin.SkipLimits(r)
		case byte(engine.ExternGlobal):
			if err = skipType(r); err == nil {
				_, err = r.Byte() // mutability
			}
		case externTag:
			if _, err = r.Byte(); err == nil { // attribute
				_, err = r.U32() // type index
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

func readExports(r *wasmbin.Reader) ([]externRef, error) {
	n, err := r.U32()
	if err != nil {
		return nil, err
	}
	out := make([]externRef, 0, min(n, uint32(len(r.B))))
	for range n {
		var e externRef
		if e.name, err = r.Name(); err != nil {
			return nil, err
		}
		kind, err := r.Byte()
		if err != nil {
			return nil, err
		}
		if _, err = r.U32(); err != nil { // index
			return nil, err
		}
		e.kind = engine.ExternKind(kind)
		out = append(out, e)
	}
	return out, nil
}
