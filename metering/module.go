package metering

import (
	"bytes"
	"strings"
)

// Value types (their binary encodings). tUnknown is the bottom type of the
// validation algorithm (a value of a stack-polymorphic, unreachable stack).
const (
	tI32       byte = 0x7f
	tI64       byte = 0x7e
	tF32       byte = 0x7d
	tF64       byte = 0x7c
	tFuncRef   byte = 0x70
	tExternRef byte = 0x6f
	tUnknown   byte = 0
)

// Section ids.
const (
	secCustom    = 0
	secType      = 1
	secImport    = 2
	secFunction  = 3
	secTable     = 4
	secMemory    = 5
	secGlobal    = 6
	secExport    = 7
	secStart     = 8
	secElement   = 9
	secCode      = 10
	secData      = 11
	secDataCount = 12
	secTag       = 13
)

// Implementation limits, those engines agree on (the JS API limits, which
// wasmtime/wasmparser enforce too), so that an accepted module compiles on
// every engine.
const (
	maxTypes         = 1000000
	maxFuncs         = 1000000
	maxImports       = 100000
	maxExports       = 100000
	maxGlobals       = 1000000
	maxElemSegments  = 100000
	maxDataSegments  = 100000
	maxTables        = 100
	maxTableEntries  = 10000000
	maxParams        = 1000
	maxResults       = 1000
	maxLocals        = 50000
	maxFuncBodySize  = 7654321
	maxMemoryPages   = 65536
	maxBrTableLabels = maxFuncBodySize
)

type funcType struct {
	params, results []byte // sub-slices of the input: valid value types are single bytes
}

type tableType struct {
	elem byte
	// min, max and hasMax are the declared limits, limits their input range.
	min, max uint32
	hasMax   bool
	limits   [2]int
}

type globalType struct {
	t   byte
	mut bool
}

type section struct {
	id         byte
	start, end int // content
	// for custom sections
	name []byte
}

// fixup replaces input[start:end] by the encoding of a new value when the
// section holding it is copied to the output.
type fixup struct {
	start, end int
	kind       uint8
	val        uint32
	data       []byte
}

const (
	fixFunc  uint8 = iota // val is a function index to shift
	fixBytes              // data replaces the range
)

type codeEntry struct {
	start, end int // body (locals and expression)
}

// module is a parsed and validated module: what instrumentation needs, plus
// pointers into the input for everything that is copied unchanged.
type module struct {
	b []byte

	sections []section
	secIdx   [14]int // index into sections of each non-custom section, -1 if absent

	types []funcType

	funcs            []uint32 // type index of every function, imports first
	numImportedFuncs uint32

	tables []tableType

	hasMemory  bool
	memMin     uint32
	memMax     uint32
	memHasMax  bool
	memLimits  [2]int // input range of the memory's limits
	numImports int

	globals            []globalType
	numImportedGlobals uint32

	numExports int
	exports    map[string]struct{}

	hasStart  bool
	startFunc uint32

	elemTypes []byte

	hasDataCount bool
	dataCount    uint32
	numData      int

	code []codeEntry

	declared funcSet // functions that ref.func may name
	exported funcSet // the exported functions

	fixups []fixup

	// forSnapshot is set when parsing for PrepareSnapshot: the names
	// Instrument injects are ordinary names, GlobalExportPrefix and
	// MemoryExport are reserved.
	forSnapshot bool
	// What PrepareSnapshot needs to know about shared state.
	numImportedTables int
	importsMemory     bool
	exportsTable      bool
	globalExports     []globalExport // in export section order
	memExports        []string       // export names of the memory
}

// globalExport is an export of a global.
type globalExport struct {
	name  string
	index uint32
}

func (m *module) numFuncs() uint32 { return uint32(len(m.funcs)) }

// funcSet is a set of function indices, a bitset sized when the function
// index space is complete.
type funcSet []uint64

func newFuncSet(n int) funcSet { return make(funcSet, (n+63)/64) }

func (s funcSet) add(f uint32) { s[f>>6] |= 1 << (f & 63) }

func (s funcSet) has(f uint32) bool { return s[f>>6]&(1<<(f&63)) != 0 }

func (m *module) declare(f uint32) { m.declared.add(f) }

func (m *module) isDeclared(f uint32) bool { return m.declared.has(f) }

func (m *module) isExported(f uint32) bool { return m.exported.has(f) }

// addFuncFixup records that the function index encoded at [start,end) must be
// shifted if it names a defined function.
func (m *module) addFuncFixup(start, end int, f uint32) {
	if f >= m.numImportedFuncs {
		m.fixups = append(m.fixups, fixup{start: start, end: end, kind: fixFunc, val: f})
	}
}

var wasmHeader = []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00}

// sectionRank orders non-custom sections as the binary format requires.
var sectionRank = [...]int{
	secType: 1, secImport: 2, secFunction: 3, secTable: 4, secMemory: 5,
	secGlobal: 7, secExport: 8, secStart: 9, secElement: 10, secDataCount: 11,
	secCode: 12, secData: 13, secTag: 6,
}

// parseModule parses and validates the sections of b (function bodies are
// validated by a codePass). forSnapshot selects PrepareSnapshot's reserved
// names instead of Instrument's.
func parseModule(b []byte, forSnapshot bool) (*module, error) {
	if len(b) < 8 || !bytes.Equal(b[:4], wasmHeader[:4]) {
		return nil, malformed(0, "not a WebAssembly binary (bad magic number)")
	}
	if !bytes.Equal(b[4:8], wasmHeader[4:8]) {
		return nil, malformed(4, "unsupported binary format version")
	}
	m := &module{b: b, forSnapshot: forSnapshot}
	for i := range m.secIdx {
		m.secIdx[i] = -1
	}
	r := newReader(b, 8, len(b))
	lastRank := 0
	for r.pos < r.end {
		idOff := r.pos
		id := r.byte()
		size := r.u32()
		if r.err != nil {
			return nil, r.err
		}
		if int(size) > r.remaining() {
			return nil, malformed(idOff, "section size out of bounds")
		}
		s := section{id: id, start: r.pos, end: r.pos + int(size)}
		r.pos = s.end
		if id == secTag {
			return nil, unsupported(idOff, "exceptions", "tag section")
		}
		if id > secDataCount {
			return nil, malformed(idOff, "unknown section id %d", id)
		}
		if id != secCustom {
			rank := sectionRank[id]
			if rank <= lastRank {
				return nil, malformed(idOff, "section %d out of order or duplicated", id)
			}
			lastRank = rank
			m.secIdx[id] = len(m.sections)
		}
		m.sections = append(m.sections, s)
	}
	// Parse the sections in order; each parser validates its section.
	for i := range m.sections {
		s := &m.sections[i]
		sr := newReader(b, s.start, s.end)
		var err error
		switch s.id {
		case secCustom:
			s.name = sr.name("custom section name")
		case secType:
			err = m.parseTypes(&sr)
		case secImport:
			err = m.parseImports(&sr)
		case secFunction:
			err = m.parseFunctions(&sr)
		case secTable:
			err = m.parseTables(&sr)
		case secMemory:
			err = m.parseMemories(&sr)
		case secGlobal:
			err = m.parseGlobals(&sr)
		case secExport:
			err = m.parseExports(&sr)
		case secStart:
			err = m.parseStart(&sr)
		case secElement:
			err = m.parseElements(&sr)
		case secDataCount:
			m.hasDataCount = true
			m.dataCount = sr.u32()
			if sr.err == nil && m.dataCount > maxDataSegments {
				err = tooLarge(s.start, "too many data segments")
			}
		case secCode:
			err = m.parseCode(&sr)
		case secData:
			err = m.parseData(&sr)
		}
		if err != nil {
			return nil, err
		}
		if sr.err != nil {
			return nil, sr.err
		}
		if s.id == secCustom {
			continue
		}
		if sr.pos != s.end {
			return nil, malformed(sr.pos, "section size mismatch")
		}
		if s.id == secFunction || s.id == secImport {
			// The function index space is complete once both are parsed.
			m.declared, m.exported = newFuncSet(len(m.funcs)), newFuncSet(len(m.funcs))
		}
	}
	if m.declared == nil {
		m.declared, m.exported = funcSet{}, funcSet{}
	}
	if len(m.code) != len(m.funcs)-int(m.numImportedFuncs) {
		return nil, malformed(-1, "function and code section have inconsistent lengths")
	}
	if m.hasDataCount && int(m.dataCount) != m.numData {
		return nil, malformed(-1, "data count and data section have inconsistent lengths")
	}
	return m, nil
}

// valType reads a value type.
func (m *module) valType(r *reader) byte {
	off := r.pos
	t := r.byte()
	if r.err != nil {
		return 0
	}
	switch t {
	case tI32, tI64, tF32, tF64, tFuncRef, tExternRef:
		return t
	}
	r.fail(badType(off, t))
	return 0
}

// badType returns the error for an unsupported or malformed type code.
func badType(off int, t byte) error {
	switch t {
	case 0x7b:
		return unsupported(off, "simd", "value type v128")
	case 0x69, 0x74:
		return unsupported(off, "exceptions", "value type exnref")
	case 0x63, 0x64:
		return unsupported(off, "function-references", "typed reference type")
	case 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x71, 0x72, 0x73:
		return unsupported(off, "gc", "GC reference type 0x%02x", t)
	}
	return malformed(off, "invalid value type 0x%02x", t)
}

func (m *module) parseTypes(r *reader) error {
	n := r.count(1, maxTypes, "types")
	m.types = make([]funcType, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		off := r.pos
		form := r.byte()
		switch form {
		case 0x60:
		case 0x4e, 0x4f, 0x50, 0x5e, 0x5f:
			return unsupported(off, "gc", "type form 0x%02x", form)
		default:
			if r.err == nil {
				return malformed(off, "invalid function type form 0x%02x", form)
			}
		}
		var ft funcType
		np := r.count(1, maxParams, "parameters")
		ps := r.pos
		for j := 0; j < np && r.err == nil; j++ {
			m.valType(r)
		}
		ft.params = m.b[ps:r.pos:r.pos]
		nr := r.count(1, maxResults, "results")
		rs := r.pos
		for j := 0; j < nr && r.err == nil; j++ {
			m.valType(r)
		}
		ft.results = m.b[rs:r.pos:r.pos]
		m.types = append(m.types, ft)
	}
	return nil
}

// limits reads memory or table limits. It returns the flags byte.
func (m *module) limits(r *reader, memory bool) (min, max uint32, hasMax bool) {
	off := r.pos
	flags := r.byte()
	if r.err != nil {
		return
	}
	switch {
	case flags <= 1:
	case flags <= 3:
		if memory {
			r.fail(unsupported(off, "threads", "shared memory"))
		} else {
			r.fail(malformed(off, "shared table"))
		}
		return
	case flags <= 7:
		r.fail(unsupported(off, "memory64", "64-bit limits"))
		return
	case flags <= 15 && memory:
		r.fail(unsupported(off, "custom-page-sizes", "custom page size"))
		return
	default:
		r.fail(malformed(off, "invalid limits flags 0x%02x", flags))
		return
	}
	min = r.u32()
	if flags == 1 {
		max = r.u32()
		hasMax = true
	}
	if r.err != nil {
		return
	}
	if memory {
		if min > maxMemoryPages || (hasMax && max > maxMemoryPages) {
			r.fail(invalid(off, "memory size must be at most 65536 pages (4 GiB)"))
			return
		}
	} else if min > maxTableEntries {
		r.fail(tooLarge(off, "table too large: %d elements", min))
		return
	}
	if hasMax && max < min {
		r.fail(invalid(off, "size minimum must not be greater than maximum"))
	}
	return
}

func (m *module) tableType(r *reader) {
	off := r.pos
	t := r.byte()
	if r.err != nil {
		return
	}
	switch t {
	case tFuncRef, tExternRef:
	case 0x40:
		r.fail(unsupported(off, "function-references", "table initializer expression"))
		return
	default:
		r.fail(badType(off, t))
		return
	}
	loff := r.pos
	min, max, hasMax := m.limits(r, false)
	if r.err != nil {
		return
	}
	if len(m.tables) >= maxTables {
		r.fail(tooLarge(off, "too many tables"))
		return
	}
	m.tables = append(m.tables, tableType{elem: t, min: min, max: max, hasMax: hasMax, limits: [2]int{loff, r.pos}})
}

func (m *module) memType(r *reader) {
	off := r.pos
	min, max, hasMax := m.limits(r, true)
	if r.err != nil {
		return
	}
	if m.hasMemory {
		r.fail(unsupported(off, "multi-memory", "more than one memory"))
		return
	}
	m.hasMemory, m.memMin, m.memMax, m.memHasMax = true, min, max, hasMax
	m.memLimits = [2]int{off, r.pos}
}

func (m *module) globalType(r *reader) globalType {
	t := m.valType(r)
	off := r.pos
	mut := r.byte()
	if r.err == nil && mut > 1 {
		r.fail(malformed(off, "invalid mutability 0x%02x", mut))
	}
	return globalType{t: t, mut: mut == 1}
}

func (m *module) parseImports(r *reader) error {
	n := r.count(4, maxImports, "imports")
	m.numImports = n
	for i := 0; i < n && r.err == nil; i++ {
		off := r.pos
		mod := r.name("import module name")
		field := r.name("import field name")
		if r.err != nil {
			break
		}
		if len(mod) == 0 {
			// Valid per the specification but rejected by wazero.
			return invalid(off, "import with an empty module name")
		}
		if !m.forSnapshot && string(mod) == ImportModule && (string(field) == OutOfGasImport || string(field) == CallDepthExceededImport || string(field) == YieldImport) {
			return &ModuleError{Kind: ErrReservedName, Offset: off, Func: -1, Reason: "module imports " + ImportModule + "." + string(field)}
		}
		koff := r.pos
		switch kind := r.byte(); kind {
		case 0:
			t := r.u32()
			if r.err == nil && int64(t) >= int64(len(m.types)) {
				return invalid(koff, "unknown type %d", t)
			}
			if len(m.funcs) >= maxFuncs {
				return tooLarge(koff, "too many functions")
			}
			m.funcs = append(m.funcs, t)
			m.numImportedFuncs++
		case 1:
			m.tableType(r)
			m.numImportedTables++
		case 2:
			m.memType(r)
			m.importsMemory = true
		case 3:
			g := m.globalType(r)
			if len(m.globals) >= maxGlobals {
				return tooLarge(koff, "too many globals")
			}
			m.globals = append(m.globals, g)
			m.numImportedGlobals++
		case 4:
			if r.err == nil {
				return unsupported(koff, "exceptions", "tag import")
			}
		default:
			if r.err == nil {
				return malformed(koff, "invalid import kind 0x%02x", kind)
			}
		}
	}
	return nil
}

func (m *module) parseFunctions(r *reader) error {
	n := r.count(1, maxFuncs-len(m.funcs), "functions")
	for i := 0; i < n && r.err == nil; i++ {
		off := r.pos
		t := r.u32()
		if r.err == nil && int64(t) >= int64(len(m.types)) {
			return invalid(off, "unknown type %d", t)
		}
		m.funcs = append(m.funcs, t)
	}
	return nil
}

func (m *module) parseTables(r *reader) error {
	n := r.count(3, maxTables, "tables")
	for i := 0; i < n && r.err == nil; i++ {
		m.tableType(r)
	}
	return nil
}

func (m *module) parseMemories(r *reader) error {
	n := r.count(2, 100, "memories")
	for i := 0; i < n && r.err == nil; i++ {
		m.memType(r)
	}
	return nil
}

func (m *module) parseGlobals(r *reader) error {
	n := r.count(4, maxGlobals-len(m.globals), "globals")
	for i := 0; i < n && r.err == nil; i++ {
		g := m.globalType(r)
		m.constExpr(r, g.t, true)
		m.globals = append(m.globals, g)
	}
	return nil
}

// constExpr parses a constant expression of type want, marking functions
// named by ref.func as declared (if declare) and recording fixups for them.
func (m *module) constExpr(r *reader, want byte, declare bool) {
	off := r.pos
	op := r.byte()
	var got byte
	switch op {
	case 0x41:
		r.s32()
		got = tI32
	case 0x42:
		r.s64()
		got = tI64
	case 0x43:
		r.skip(4)
		got = tF32
	case 0x44:
		r.skip(8)
		got = tF64
	case 0x23: // global.get
		g := r.u32()
		if r.err != nil {
			return
		}
		if g >= m.numImportedGlobals {
			r.fail(invalid(off, "constant expression: global.get %d is not an imported global", g))
			return
		}
		if m.globals[g].mut {
			r.fail(invalid(off, "constant expression: global.get %d of a mutable global", g))
			return
		}
		got = m.globals[g].t
	case 0xd0: // ref.null
		toff := r.pos
		t := r.byte()
		if r.err != nil {
			return
		}
		if t != tFuncRef && t != tExternRef {
			r.fail(badType(toff, t))
			return
		}
		got = t
	case 0xd2: // ref.func
		fs := r.pos
		f := r.u32()
		if r.err != nil {
			return
		}
		if f >= m.numFuncs() {
			r.fail(invalid(off, "ref.func: unknown function %d", f))
			return
		}
		if declare {
			m.declare(f)
		}
		m.addFuncFixup(fs, r.pos, f)
		got = tFuncRef
	case 0x6a, 0x6b, 0x6c, 0x7c, 0x7d, 0x7e:
		r.fail(unsupported(off, "extended-const", "arithmetic in a constant expression"))
		return
	case 0xfd:
		r.fail(unsupported(off, "simd", "v128.const"))
		return
	default:
		if r.err == nil {
			r.fail(invalid(off, "constant expression required (opcode 0x%02x)", op))
		}
		return
	}
	eoff := r.pos
	if end := r.byte(); r.err == nil && end != 0x0b {
		// More than one instruction: report extended constant expressions
		// as such.
		r.pos = eoff
		for r.err == nil {
			ioff := r.pos
			switch op := r.byte(); op {
			case 0x41:
				r.s32()
			case 0x42:
				r.s64()
			case 0x23:
				r.u32()
			case 0x6a, 0x6b, 0x6c, 0x7c, 0x7d, 0x7e:
				r.fail(unsupported(ioff, "extended-const", "arithmetic in a constant expression"))
			default:
				r.fail(invalid(eoff, "constant expression required: expected end"))
			}
		}
		return
	}
	if r.err == nil && got != want {
		r.fail(invalid(off, "type mismatch in constant expression"))
	}
}

func (m *module) parseExports(r *reader) error {
	n := r.count(3, maxExports, "exports")
	m.numExports = n
	m.exports = make(map[string]struct{}, n)
	for i := 0; i < n && r.err == nil; i++ {
		off := r.pos
		name := r.name("export name")
		if r.err != nil {
			break
		}
		if _, dup := m.exports[string(name)]; dup {
			return invalid(off, "duplicate export name %q", name)
		}
		if m.forSnapshot && (strings.HasPrefix(string(name), GlobalExportPrefix) || string(name) == MemoryExport) ||
			!m.forSnapshot && (string(name) == GasCounterExport || string(name) == CallDepthExport ||
				string(name) == YieldCountdownExport) {
			return &ModuleError{Kind: ErrReservedName, Offset: off, Func: -1, Reason: "module exports " + string(name)}
		}
		m.exports[string(name)] = struct{}{}
		koff := r.pos
		kind := r.byte()
		is := r.pos
		idx := r.u32()
		if r.err != nil {
			break
		}
		switch kind {
		case 0:
			if idx >= m.numFuncs() {
				return invalid(koff, "export of unknown function %d", idx)
			}
			m.declare(idx)
			m.exported.add(idx)
			m.addFuncFixup(is, r.pos, idx)
		case 1:
			if int64(idx) >= int64(len(m.tables)) {
				return invalid(koff, "export of unknown table %d", idx)
			}
			m.exportsTable = true
		case 2:
			if idx != 0 || !m.hasMemory {
				return invalid(koff, "export of unknown memory %d", idx)
			}
			m.memExports = append(m.memExports, string(name))
		case 3:
			if int64(idx) >= int64(len(m.globals)) {
				return invalid(koff, "export of unknown global %d", idx)
			}
			m.globalExports = append(m.globalExports, globalExport{name: string(name), index: idx})
		case 4:
			return unsupported(koff, "exceptions", "tag export")
		default:
			return malformed(koff, "invalid export kind 0x%02x", kind)
		}
	}
	return nil
}

func (m *module) parseStart(r *reader) error {
	off := r.pos
	f := r.u32()
	if r.err != nil {
		return nil
	}
	if f >= m.numFuncs() {
		return invalid(off, "unknown start function %d", f)
	}
	ft := m.types[m.funcs[f]]
	if len(ft.params) != 0 || len(ft.results) != 0 {
		return invalid(off, "start function must have type [] -> []")
	}
	m.hasStart, m.startFunc = true, f
	m.addFuncFixup(off, r.pos, f)
	return nil
}

func (m *module) parseElements(r *reader) error {
	n := r.count(1, maxElemSegments, "element segments")
	m.elemTypes = make([]byte, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		off := r.pos
		flags := r.u32()
		if r.err != nil {
			break
		}
		if flags > 7 {
			return malformed(off, "invalid element segment flags %d", flags)
		}
		active := flags&1 == 0
		exprs := flags&4 != 0
		table := uint32(0)
		if flags == 2 || flags == 6 {
			table = r.u32()
		}
		if active {
			if r.err == nil && int64(table) >= int64(len(m.tables)) {
				return invalid(off, "element segment for unknown table %d", table)
			}
			m.constExpr(r, tI32, false)
		}
		t := tFuncRef
		if flags&3 != 0 { // explicit elemkind or reftype
			toff := r.pos
			k := r.byte()
			if r.err != nil {
				break
			}
			if exprs {
				if k != tFuncRef && k != tExternRef {
					return badType(toff, k)
				}
				t = k
			} else if k != 0 {
				return malformed(toff, "invalid element kind 0x%02x", k)
			}
		}
		if active && r.err == nil && m.tables[table].elem != t {
			return invalid(off, "element segment type does not match table %d", table)
		}
		cnt := r.count(1, maxTableEntries, "elements")
		for j := 0; j < cnt && r.err == nil; j++ {
			if exprs {
				m.constExpr(r, t, true)
				continue
			}
			fs := r.pos
			f := r.u32()
			if r.err != nil {
				break
			}
			if f >= m.numFuncs() {
				return invalid(fs, "element: unknown function %d", f)
			}
			m.declare(f)
			m.addFuncFixup(fs, r.pos, f)
		}
		m.elemTypes = append(m.elemTypes, t)
	}
	return nil
}

func (m *module) parseCode(r *reader) error {
	n := r.count(2, maxFuncs, "function bodies")
	if r.err == nil && n != len(m.funcs)-int(m.numImportedFuncs) {
		return malformed(r.pos, "function and code section have inconsistent lengths")
	}
	m.code = make([]codeEntry, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		off := r.pos
		size := r.u32()
		if r.err != nil {
			break
		}
		if size > maxFuncBodySize {
			return tooLarge(off, "function body too large: %d bytes", size)
		}
		if int(size) > r.remaining() || size == 0 {
			return malformed(off, "function body size out of bounds")
		}
		m.code = append(m.code, codeEntry{start: r.pos, end: r.pos + int(size)})
		r.pos += int(size)
	}
	return nil
}

func (m *module) parseData(r *reader) error {
	n := r.count(1, maxDataSegments, "data segments")
	m.numData = n
	for i := 0; i < n && r.err == nil; i++ {
		off := r.pos
		flags := r.u32()
		if r.err != nil {
			break
		}
		switch flags {
		case 0, 2:
			if flags == 2 {
				moff := r.pos
				if idx := r.u32(); r.err == nil && idx != 0 {
					return unsupported(moff, "multi-memory", "data segment for memory %d", idx)
				}
			}
			if r.err == nil && !m.hasMemory {
				return invalid(off, "data segment for unknown memory 0")
			}
			m.constExpr(r, tI32, false)
		case 1:
		default:
			return malformed(off, "invalid data segment flags %d", flags)
		}
		sz := r.u32()
		r.skip(int(sz))
	}
	return nil
}
