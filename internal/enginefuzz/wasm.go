package enginefuzz

import (
	"errors"
	"fmt"

	"github.com/aspect-rt/aspect-runtime/internal/wasmbin"
)

// Value types of the binary format.
const (
	typeI32       = 0x7f
	typeI64       = 0x7e
	typeF32       = 0x7d
	typeF64       = 0x7c
	typeV128      = 0x7b
	typeFuncref   = 0x70
	typeExternref = 0x6f
)

// Section ids beyond those of package wasmbin.
const (
	secType     = 1
	secImport   = 2
	secFunction = 3
	secGlobal   = 6
	secExport   = 7
	secElem     = 9
	secCode     = 10
	secData     = 11
)

// ErrUnsupported reports a generated module this package cannot turn into a
// module the runtime can instantiate (an import of a table, memory or tag, a
// constant expression outside WebAssembly 2.0, a SIMD value type). The
// generator then tries the next input.
var ErrUnsupported = errors.New("enginefuzz: unsupported module")

// FuncType is a function signature in binary value-type codes.
type FuncType struct {
	Params, Results []byte
}

// Numeric reports whether every parameter and result is i32, i64, f32 or
// f64: only such exports are called through runtime.CallWasm.
func (t FuncType) Numeric() bool {
	for _, ts := range [][]byte{t.Params, t.Results} {
		for _, v := range ts {
			switch v {
			case typeI32, typeI64, typeF32, typeF64:
			default:
				return false
			}
		}
	}
	return true
}

// FuncExport is an exported function of a module.
type FuncExport struct {
	Name string
	Type FuncType
}

// TypeName returns the text-format name of a value type code.
func TypeName(t byte) string {
	switch t {
	case typeI32:
		return "i32"
	case typeI64:
		return "i64"
	case typeF32:
		return "f32"
	case typeF64:
		return "f64"
	case typeV128:
		return "v128"
	case typeFuncref:
		return "funcref"
	case typeExternref:
		return "externref"
	}
	return fmt.Sprintf("type%#x", t)
}

// module is the part of a module's structure this package reads.
type module struct {
	sections []wasmbin.Section
	types    []FuncType
	imports  []imp
	funcs    []uint32 // type index of every function, imports first
}

type imp struct {
	module, name string
	kind         byte
	typeIdx      uint32 // functions
	valType      byte   // globals
	mutable      bool   // globals
}

func parseModule(wasm []byte) (*module, error) {
	secs, err := wasmbin.Sections(wasm)
	if err != nil {
		return nil, err
	}
	m := &module{sections: secs}
	for _, s := range secs {
		r := &wasmbin.Reader{B: s.Body}
		switch s.ID {
		case secType:
			n, err := r.U32()
			if err != nil {
				return nil, err
			}
			for i := uint32(0); i < n; i++ {
				form, err := r.Byte()
				if err != nil {
					return nil, err
				}
				if form != 0x60 {
					return nil, fmt.Errorf("%w: type form %#x", ErrUnsupported, form)
				}
				var ft FuncType
				if ft.Params, err = readTypes(r); err != nil {
					return nil, err
				}
				if ft.Results, err = readTypes(r); err != nil {
					return nil, err
				}
				m.types = append(m.types, ft)
			}
		case secImport:
			n, err := r.U32()
			if err != nil {
				return nil, err
			}
			for i := uint32(0); i < n; i++ {
				var im imp
				if im.module, err = r.Name(); err != nil {
					return nil, err
				}
				if im.name, err = r.Name(); err != nil {
					return nil, err
				}
				if im.kind, err = r.Byte(); err != nil {
					return nil, err
				}
				switch im.kind {
				case 0:
					if im.typeIdx, err = r.U32(); err != nil {
						return nil, err
					}
					m.funcs = append(m.funcs, im.typeIdx)
				case 3:
					if im.valType, err = r.Byte(); err != nil {
						return nil, err
					}
					mut, err := r.Byte()
					if err != nil {
						return nil, err
					}
					im.mutable = mut == 1
				default:
					return nil, fmt.Errorf("%w: import %s.%s of kind %d", ErrUnsupported, im.module, im.name, im.kind)
				}
				m.imports = append(m.imports, im)
			}
		case secFunction:
			n, err := r.U32()
			if err != nil {
				return nil, err
			}
			for i := uint32(0); i < n; i++ {
				t, err := r.U32()
				if err != nil {
					return nil, err
				}
				m.funcs = append(m.funcs, t)
			}
		}
	}
	for _, t := range m.funcs {
		if int(t) >= len(m.types) {
			return nil, fmt.Errorf("%w: type index %d out of range", wasmbin.ErrMalformed, t)
		}
	}
	return m, nil
}

func readTypes(r *wasmbin.Reader) ([]byte, error) {
	n, err := r.U32()
	if err != nil {
		return nil, err
	}
	b, err := r.Bytes(uint64(n))
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), b...), nil
}

// ExportedFuncs lists the function exports of wasm in the order of its
// export section: the order every runner calls them in, whatever order an
// engine reports them in.
func ExportedFuncs(wasm []byte) ([]FuncExport, error) {
	m, err := parseModule(wasm)
	if err != nil {
		return nil, err
	}
	var out []FuncExport
	for _, s := range m.sections {
		if s.ID != secExport {
			continue
		}
		r := &wasmbin.Reader{B: s.Body}
		n, err := r.U32()
		if err != nil {
			return nil, err
		}
		for i := uint32(0); i < n; i++ {
			name, err := r.Name()
			if err != nil {
				return nil, err
			}
			kind, err := r.Byte()
			if err != nil {
				return nil, err
			}
			idx, err := r.U32()
			if err != nil {
				return nil, err
			}
			if kind != 0 {
				continue
			}
			if int(idx) >= len(m.funcs) {
				return nil, fmt.Errorf("%w: exported function %d out of range", wasmbin.ErrMalformed, idx)
			}
			out = append(out, FuncExport{Name: name, Type: m.types[m.funcs[idx]]})
		}
	}
	return out, nil
}

// LogHashExport is the function StubImports adds when the module imports
// binaryen's logging functions: () -> i64, the hash of every value logged so
// far. The logged values are what translate-to-fuzz makes observable (it
// logs intermediate results), so the runner reads the hash after every call.
const LogHashExport = "__fuzz_log_hash"

// logConversion is the code that turns the logged value (local 0) of each
// logging import into an i64 for the hash.
var logConversion = map[string]struct {
	param byte
	code  []byte
}{
	"log-i32": {typeI32, []byte{0xad}},       // i64.extend_i32_u
	"log-i64": {typeI64, nil},                // as it is
	"log-f32": {typeF32, []byte{0xbc, 0xad}}, // i32.reinterpret_f32, i64.extend_i32_u
	"log-f64": {typeF64, []byte{0xbd}},       // i64.reinterpret_f64
}

// StubImports returns wasm without imports: every imported function becomes
// a defined function of the same type, every imported global a defined
// global of the same type initialized to zero (a constant expression reading
// it reads that zero instead). They are put first, in the imports' order, so
// that no index changes.
//
// The stubs of binaryen's logging functions (fuzzing-support.log-i32, -i64,
// -f32, -f64) fold the logged value into a hash, hash = hash*31 ^ bits, kept
// in an added global that the added export LogHashExport returns; every
// other stub ignores its arguments and returns zeros (0, 0.0, ref.null).
//
// binaryen's translate-to-fuzz imports its logging and call-export helpers
// ("fuzzing-support") and an externref global ("__fuzz_import"); the runtime
// satisfies only imports it knows, so such modules could not be
// instantiated. (binaryen's own remove-imports pass leaves invalid modules
// behind when an import is referenced by ref.func or returns a value.)
func StubImports(wasm []byte) ([]byte, error) {
	m, err := parseModule(wasm)
	if err != nil {
		return nil, err
	}
	if len(m.imports) == 0 {
		return wasm, nil
	}
	var stubFuncs []imp
	var globalZero [][]byte // zero constant expression of each imported global
	var stubGlobals []byte
	for _, im := range m.imports {
		switch im.kind {
		case 0:
			stubFuncs = append(stubFuncs, im)
		case 3:
			z, err := zeroConst(im.valType)
			if err != nil {
				return nil, err
			}
			globalZero = append(globalZero, z)
			mut := byte(0)
			if im.mutable {
				mut = 1
			}
			stubGlobals = append(stubGlobals, im.valType, mut)
			stubGlobals = append(stubGlobals, z...)
			stubGlobals = append(stubGlobals, 0x0b)
		}
	}
	definedGlobals := 0
	for _, s := range m.sections {
		if s.ID == secGlobal {
			r := &wasmbin.Reader{B: s.Body}
			n, err := r.U32()
			if err != nil {
				return nil, err
			}
			definedGlobals = int(n)
		}
	}
	hashGlobal := wasmbin.AppendULEB(nil, uint64(len(globalZero)+definedGlobals))
	isLog := func(f imp) ([]byte, bool) {
		c, ok := logConversion[f.name]
		t := m.types[f.typeIdx]
		if !ok || f.module != "fuzzing-support" || len(t.Params) != 1 || t.Params[0] != c.param || len(t.Results) != 0 {
			return nil, false
		}
		return c.code, true
	}
	// The bodies of the stub functions.
	var stubBodies []byte
	logs := false
	for _, f := range stubFuncs {
		body := []byte{0} // no locals
		if conv, ok := isLog(f); ok {
			logs = true
			body = append(body, 0x23)
			body = append(body, hashGlobal...)
			body = append(body, 0x42, 31, 0x7e, 0x20, 0) // i64.const 31; i64.mul; local.get 0
			body = append(body, conv...)
			body = append(body, 0x85, 0x24) // i64.xor; global.set
			body = append(body, hashGlobal...)
		} else {
			for _, t := range m.types[f.typeIdx].Results {
				z, err := zeroConst(t)
				if err != nil {
					return nil, err
				}
				body = append(body, z...)
			}
		}
		body = append(body, 0x0b)
		stubBodies = wasmbin.AppendULEB(stubBodies, uint64(len(body)))
		stubBodies = append(stubBodies, body...)
	}
	var stubTypes []byte
	for _, f := range stubFuncs {
		stubTypes = wasmbin.AppendULEB(stubTypes, uint64(f.typeIdx))
	}

	// What each section gets: items put in front and items appended.
	type edit struct {
		pre, post   []byte
		npre, npost int
	}
	edits := map[byte]*edit{
		secFunction: {pre: stubTypes, npre: len(stubFuncs)},
		secCode:     {pre: stubBodies, npre: len(stubFuncs)},
		secGlobal:   {pre: stubGlobals, npre: len(globalZero)},
		secType:     {},
		secExport:   {},
	}
	if logs {
		// The hash: a global, and a function () -> i64 returning it,
		// exported; all appended, so no index changes.
		exports, err := ExportedFuncs(wasm)
		if err != nil {
			return nil, err
		}
		for _, e := range exports {
			if e.Name == LogHashExport {
				return nil, fmt.Errorf("%w: the module exports %s", ErrUnsupported, LogHashExport)
			}
		}
		edits[secType].post, edits[secType].npost = []byte{0x60, 0, 1, typeI64}, 1
		edits[secGlobal].post, edits[secGlobal].npost = []byte{typeI64, 1, 0x42, 0, 0x0b}, 1
		edits[secFunction].post = wasmbin.AppendULEB(nil, uint64(len(m.types)))
		edits[secFunction].npost = 1
		get := append(append([]byte{0, 0x23}, hashGlobal...), 0x0b)
		edits[secCode].post = append(wasmbin.AppendULEB(nil, uint64(len(get))), get...)
		edits[secCode].npost = 1
		edits[secExport].post = append(append(wasmbin.AppendULEB(nil, uint64(len(LogHashExport))), LogHashExport...), 0)
		edits[secExport].post = wasmbin.AppendULEB(edits[secExport].post, uint64(len(m.funcs)))
		edits[secExport].npost = 1
	}

	// Rewrite the sections, then add those the edits need and the module
	// lacks at their place in the canonical order.
	type section struct {
		id   byte
		body []byte // nil: copy raw
		raw  []byte
	}
	var secs []section
	has := map[byte]bool{}
	for _, s := range m.sections {
		has[s.ID] = true
		var body []byte
		var err error
		changed := true
		switch s.ID {
		case secImport:
			continue
		case secGlobal:
			body, err = rewriteGlobals(s.Body, globalZero)
		case secElem:
			body, err = rewriteElems(s.Body, globalZero)
		case secData:
			body, err = rewriteData(s.Body, globalZero)
		default:
			body, changed = s.Body, false
		}
		if e := edits[s.ID]; err == nil && e != nil && e.npre+e.npost > 0 {
			body, err = editVec(body, e.pre, e.npre, e.post, e.npost)
			changed = true
		}
		if err != nil {
			return nil, err
		}
		if !changed {
			secs = append(secs, section{id: s.ID, raw: wasm[s.Start:s.End]})
			continue
		}
		secs = append(secs, section{id: s.ID, body: body})
	}
	for _, id := range []byte{secType, secFunction, secGlobal, secExport, secCode} {
		e := edits[id]
		if has[id] || e.npre+e.npost == 0 {
			continue
		}
		body, _ := editVec([]byte{0}, e.pre, e.npre, e.post, e.npost)
		at := len(secs)
		for i, s := range secs {
			if s.id != 0 && sectionRank(s.id) > sectionRank(id) {
				at = i
				break
			}
		}
		secs = append(secs[:at], append([]section{{id: id, body: body}}, secs[at:]...)...)
	}
	out := append([]byte(nil), wasm[:8]...)
	for _, s := range secs {
		if s.raw != nil {
			out = append(out, s.raw...)
			continue
		}
		out = append(out, s.id)
		out = wasmbin.AppendULEB(out, uint64(len(s.body)))
		out = append(out, s.body...)
	}
	return out, nil
}

// editVec returns the vector body with npre encoded items put in front of
// its items and npost appended.
func editVec(body, pre []byte, npre int, post []byte, npost int) ([]byte, error) {
	r := &wasmbin.Reader{B: body}
	count, err := r.U32()
	if err != nil {
		return nil, err
	}
	b := wasmbin.AppendULEB(nil, uint64(npre+int(count)+npost))
	b = append(b, pre...)
	b = append(b, body[r.Off:]...)
	return append(b, post...), nil
}

// sectionRank orders the non-custom sections as the binary format requires.
func sectionRank(id byte) int {
	switch id {
	case 13: // tag
		return 55
	case 12: // data count
		return 95
	}
	return int(id) * 10
}

// zeroConst returns the constant instruction (without end) of the zero
// value of type t.
func zeroConst(t byte) ([]byte, error) {
	switch t {
	case typeI32:
		return []byte{0x41, 0}, nil
	case typeI64:
		return []byte{0x42, 0}, nil
	case typeF32:
		return []byte{0x43, 0, 0, 0, 0}, nil
	case typeF64:
		return []byte{0x44, 0, 0, 0, 0, 0, 0, 0, 0}, nil
	case typeFuncref, typeExternref:
		return []byte{0xd0, t}, nil
	}
	return nil, fmt.Errorf("%w: value type %s", ErrUnsupported, TypeName(t))
}

// constExpr copies a constant expression (with its end) from r, replacing
// global.get of an imported global (index < len(globalZero)) by the zero
// it was stubbed with.
func constExpr(r *wasmbin.Reader, globalZero [][]byte) ([]byte, error) {
	var out []byte
	for {
		start := r.Off
		op, err := r.Byte()
		if err != nil {
			return nil, err
		}
		switch op {
		case 0x0b:
			return append(out, op), nil
		case 0x41, 0x42:
			if err := skipSLEB(r); err != nil {
				return nil, err
			}
		case 0x43:
			if _, err := r.Bytes(4); err != nil {
				return nil, err
			}
		case 0x44:
			if _, err := r.Bytes(8); err != nil {
				return nil, err
			}
		case 0xd0:
			if _, err := r.Byte(); err != nil {
				return nil, err
			}
		case 0xd2:
			if _, err := r.U32(); err != nil {
				return nil, err
			}
		case 0x23:
			idx, err := r.U32()
			if err != nil {
				return nil, err
			}
			if int(idx) < len(globalZero) {
				out = append(out, globalZero[idx]...)
				continue
			}
		default:
			return nil, fmt.Errorf("%w: opcode %#x in a constant expression", ErrUnsupported, op)
		}
		out = append(out, r.B[start:r.Off]...)
	}
}

func skipSLEB(r *wasmbin.Reader) error {
	for i := 0; i < 10; i++ {
		c, err := r.Byte()
		if err != nil {
			return err
		}
		if c&0x80 == 0 {
			return nil
		}
	}
	return fmt.Errorf("%w: LEB128 too long", wasmbin.ErrMalformed)
}

// copyVecU32 copies a vector of u32 (function indices).
func copyVecU32(r *wasmbin.Reader) ([]byte, error) {
	start := r.Off
	n, err := r.U32()
	if err != nil {
		return nil, err
	}
	for i := uint32(0); i < n; i++ {
		if _, err := r.U32(); err != nil {
			return nil, err
		}
	}
	return r.B[start:r.Off], nil
}

func rewriteGlobals(body []byte, globalZero [][]byte) ([]byte, error) {
	if len(globalZero) == 0 {
		return body, nil
	}
	r := &wasmbin.Reader{B: body}
	n, err := r.U32()
	if err != nil {
		return nil, err
	}
	out := wasmbin.AppendULEB(nil, uint64(n))
	for i := uint32(0); i < n; i++ {
		hdr, err := r.Bytes(2) // value type, mutability
		if err != nil {
			return nil, err
		}
		out = append(out, hdr...)
		e, err := constExpr(r, globalZero)
		if err != nil {
			return nil, err
		}
		out = append(out, e...)
	}
	return out, nil
}

func rewriteElems(body []byte, globalZero [][]byte) ([]byte, error) {
	if len(globalZero) == 0 {
		return body, nil
	}
	r := &wasmbin.Reader{B: body}
	n, err := r.U32()
	if err != nil {
		return nil, err
	}
	out := wasmbin.AppendULEB(nil, uint64(n))
	copyRaw := func(k uint64) error {
		b, err := r.Bytes(k)
		out = append(out, b...)
		return err
	}
	expr := func() error {
		e, err := constExpr(r, globalZero)
		out = append(out, e...)
		return err
	}
	for i := uint32(0); i < n; i++ {
		flags, err := r.U32()
		if err != nil {
			return nil, err
		}
		if flags > 7 {
			return nil, fmt.Errorf("%w: element segment flags %d", ErrUnsupported, flags)
		}
		out = wasmbin.AppendULEB(out, uint64(flags))
		if flags&2 != 0 && flags&1 == 0 { // explicit table index
			start := r.Off
			if _, err := r.U32(); err != nil {
				return nil, err
			}
			out = append(out, r.B[start:r.Off]...)
		}
		if flags&1 == 0 { // active: offset
			if err := expr(); err != nil {
				return nil, err
			}
		}
		if flags&3 != 0 { // elemkind or reftype
			if err := copyRaw(1); err != nil {
				return nil, err
			}
		}
		if flags&4 == 0 {
			v, err := copyVecU32(r)
			if err != nil {
				return nil, err
			}
			out = append(out, v...)
			continue
		}
		k, err := r.U32()
		if err != nil {
			return nil, err
		}
		out = wasmbin.AppendULEB(out, uint64(k))
		for j := uint32(0); j < k; j++ {
			if err := expr(); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

func rewriteData(body []byte, globalZero [][]byte) ([]byte, error) {
	if len(globalZero) == 0 {
		return body, nil
	}
	r := &wasmbin.Reader{B: body}
	n, err := r.U32()
	if err != nil {
		return nil, err
	}
	out := wasmbin.AppendULEB(nil, uint64(n))
	for i := uint32(0); i < n; i++ {
		flags, err := r.U32()
		if err != nil {
			return nil, err
		}
		out = wasmbin.AppendULEB(out, uint64(flags))
		switch flags {
		case 0, 2:
			if flags == 2 {
				mem, err := r.U32()
				if err != nil {
					return nil, err
				}
				out = wasmbin.AppendULEB(out, uint64(mem))
			}
			e, err := constExpr(r, globalZero)
			if err != nil {
				return nil, err
			}
			out = append(out, e...)
		case 1:
		default:
			return nil, fmt.Errorf("%w: data segment flags %d", ErrUnsupported, flags)
		}
		size, err := r.U32()
		if err != nil {
			return nil, err
		}
		data, err := r.Bytes(uint64(size))
		if err != nil {
			return nil, err
		}
		out = wasmbin.AppendULEB(out, uint64(size))
		out = append(out, data...)
	}
	return out, nil
}
