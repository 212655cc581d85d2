package metering

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
)

// StartExport is the export name under which [Normalize] exports the
// function that replaces a module's start section: the runtime calls it
// right after instantiation, before any other export, so that the start
// code runs under the same call machinery (metering, deadlines, host
// functions that see the instance's memory) as every other call.
const StartExport = "__aspect_wasm_start__"

// NormalizedSection is the name of the custom section [Normalize] puts
// first in a module it makes export [StartExport]. It marks the module as
// normalized: Normalize accepts a module that exports StartExport only if
// it carries this section (it rejects any other with [ErrReservedName]), so
// normalizing a normalized module returns it unchanged. The section's
// content is one version byte, 1.
const NormalizedSection = "aspect.normalized"

// ErrImportedGlobal is matched by every [*ImportedGlobalError].
var ErrImportedGlobal = errors.New("metering: constant expression reads an imported global")

// ImportedGlobalError reports a constant expression that [Normalize] must
// fold (an extended constant expression, or global.get of a global the
// module defines) but whose value depends on an imported global, known only
// when the module is instantiated.
type ImportedGlobalError struct {
	// Offset is the byte offset of the constant expression in the input.
	Offset int
	// Global is the index of the imported global (global index space).
	Global uint32
}

// Error implements the error interface.
func (e *ImportedGlobalError) Error() string {
	return fmt.Sprintf("metering: constant expression at offset %#x reads imported global %d: it cannot be folded", e.Offset, e.Global)
}

// Unwrap returns [ErrImportedGlobal].
func (e *ImportedGlobalError) Unwrap() error { return ErrImportedGlobal }

// Normalized is a module rewritten by [Normalize].
type Normalized struct {
	// Module is the normalized module. When Changed is false it is the
	// input slice itself.
	Module []byte
	// Changed reports whether Module differs from the input.
	Changed bool
	// Start reports whether Module exports [StartExport], a function of
	// type [] -> []. The runtime must call it once, right after
	// instantiation and before anything else; an instance whose call fails
	// is as unusable as one whose start function trapped during
	// instantiation.
	Start bool
	// StartFunc is the index of the function exported as StartExport, or -1.
	StartFunc int
	// RemovedStart reports that the input had a start section (removed:
	// StartExport calls its function).
	RemovedStart bool
	// AddedFunc reports that Normalize appended a function to the module
	// (its index is StartFunc, the last in the function index space, so no
	// other index moved). It drops the segments counted in DroppedData and
	// DroppedElems, then calls the start function if there was one.
	AddedFunc bool
	// DroppedData and DroppedElems count the data and element segments the
	// added function drops: the active data segments that memory.init
	// names, the active and declarative element segments that table.init
	// names.
	DroppedData, DroppedElems int
	// Folded is the number of constant expressions folded to one
	// instruction.
	Folded int
	// DroppedCustom is the number of custom sections removed: name
	// sections that are malformed or follow another, and custom sections
	// with an empty payload at the end of the module.
	DroppedCustom int
}

// Normalize rewrites a module so that every engine (wasmtime, wazero,
// wasmer) runs it as the WebAssembly specification says, where engines
// otherwise disagree. It makes four rewrites, each only when needed:
//
//   - Start section. A start function runs inside instantiation, where
//     engines differ about host functions (wasmtime aborts the process when
//     one asks for the instance's memory, wasmer reports that the module
//     exports no memory). The start section is removed and its function
//     exported as [StartExport], which the runtime calls right after
//     instantiation. An imported start function is called through an added
//     function (a host function called directly by the host would have no
//     instance to see).
//
//   - Active segments. The specification drops active data segments and
//     active and declarative element segments during instantiation, so
//     memory.init and table.init from them trap unless they copy nothing
//     from offset 0; wazero does not drop active data segments. When
//     memory.init (table.init) names such a segment somewhere in the code, a
//     function is appended that executes data.drop (elem.drop) for each
//     segment so named and then calls the start function if there is one;
//     it is exported as StartExport. Other segments are left alone: nothing
//     can observe whether they were dropped. (data.drop needs the data
//     count section, which memory.init needs too; Normalize adds one only
//     in the conservative case below.)
//
//   - Constant expressions. Extended constant expressions (i32 and i64
//     add, sub and mul) and global.get of a global the module defines, which
//     only some engines accept, are folded to a single constant instruction
//     in global initializers, element segment offsets and items, and data
//     segment offsets. Arithmetic wraps as at run time. Folding reads the
//     values of earlier immutable globals of the module; an expression that
//     reads an imported global is rejected with [*ImportedGlobalError].
//
//   - Custom sections. The specification ignores their content; wazero
//     decodes the name section trusting its counts (2^32 declared local
//     names exhaust memory and end the process), rejects a module with two
//     name sections, and one ending with a custom section whose payload is
//     empty. Such name sections (malformed, or after the first) and such
//     trailing custom sections are removed.
//
// No function, type, global or segment index moves (an added function or
// type comes last), so a name section stays valid and is kept as it is.
//
// Normalize also rejects, with [ErrTooLarge] or [ErrMalformed], every
// vector count larger than the bytes that follow it or than the limits
// engines agree on (10^6 types and functions, 10^5 imports, exports and
// tables, 100 memories, 1000 parameters or results, 50000 locals in a
// function, ...), outside instruction immediates: wazero allocates for the
// declared counts before it reads the entries, so that a module declaring
// 2^30 tables or 2^32 locals exhausts memory and ends the process.
//
// A module needing no rewrite is returned as is (Changed false, Module
// aliasing wasm) after a scan that reads the section headers, the imports,
// globals, exports, segments and name section and, only when the module
// has active segments, decodes the function bodies that hold the byte 0xfc
// followed by the sub-opcode of memory.init or table.init: about 0.35 ms
// of CPU time for a 3 MB Go-built module, whose active element segment
// makes it decode the few bodies holding 0xfc 0x0c (BenchmarkNormalize). A
// body that cannot be decoded (instructions of the exceptions or GC
// proposals are not known) is assumed to name every segment its bytes
// suggest.
//
// Normalize is not a validator: it checks what it reads and rewrites, and
// leaves the rest to the engine, so an invalid module stays invalid — but
// for one case, in function bodies it does not decode: an index one past
// the last function (type) names the function (type) it adds, if it adds
// one. Errors: [*ModuleError] with
// [ErrMalformed] or [ErrInvalid] for what it reads and cannot accept
// (including memory.init without a data count section, malformed by the
// specification), [ErrReservedName] when the module exports StartExport
// without carrying [NormalizedSection] (or has a start section as well);
// [*UnsupportedFeatureError] with Feature "gc" for a type section of the GC
// proposal when Normalize must read it (to check the start function's type
// or add a function) and for a GC instruction in a constant expression;
// [*ImportedGlobalError]. wasm is not modified.
//
// The output of Normalize is accepted by [Instrument] and [PrepareSnapshot]
// whenever the input would have been without its extended constant
// expressions.
func Normalize(wasm []byte) (*Normalized, error) {
	s := &normScan{b: wasm, startFunc: -1}
	if err := s.scan(); err != nil {
		return nil, err
	}
	if err := s.plan(); err != nil {
		return nil, err
	}
	res := &Normalized{Module: wasm, StartFunc: -1, Folded: len(s.patches)}
	if !s.changes() {
		if s.startExport.found {
			res.Start, res.StartFunc = true, int(s.startExport.idx)
		}
		return res, nil
	}
	if err := s.rewrite(res); err != nil {
		return nil, err
	}
	return res, nil
}

// cval is the value of a constant expression.
type cval struct {
	t byte // tI32, tI64, tF32, tF64, tV128 or tRef
	// n holds i32, i64, f32 and f64 values (as bits).
	n uint64
	// enc is the instruction of a v128 or reference value (v128.const,
	// ref.null, ref.func), a sub-slice of the input.
	enc []byte
	// imported is set when the value depends on an imported global (then
	// global is its index): unknown before instantiation.
	imported bool
	global   uint32
}

// Value type classes of constant expressions, beyond the numeric types.
const (
	tV128 byte = 0x7b
	tRef  byte = 0x70 // any reference type
)

// npatch replaces b[start:end] (a constant expression, its end included)
// with data.
type npatch struct {
	start, end int
	data       []byte
}

// nsection is a section of the input: content at [start,end), header
// (id byte) at hdr.
type nsection struct {
	id              byte
	hdr, start, end int
	// afterCount is the offset of the first entry for vector sections
	// (type, function, export, code), of the payload for custom sections.
	afterCount int
	count      uint32
	// drop is set for a custom section Normalize removes.
	drop bool
}

// normScan holds what Normalize reads of a module.
type normScan struct {
	b    []byte
	secs []nsection
	idx  [14]int // index in secs of each non-custom section, -1 if absent

	marked bool // has NormalizedSection

	hasNames      bool // has a (kept) name section
	droppedCustom int  // custom sections to remove

	importFuncTypes    []uint32
	numImportedGlobals uint32
	globals            []cval // imported (imported=true) and defined, in index order
	globalMut          []bool
	patches            []npatch

	hasStart    bool
	startFunc   int64 // start section's function, -1
	startSecOff int
	startExport struct {
		found                 bool
		kind                  byte
		idx                   uint32
		idxStart, idxEnd, off int
	}
	hasDataCount bool
	// The active data segments, the active and declarative element
	// segments (bitsets by segment index).
	activeData, dropElems []uint64
	numData, numElems     int
	dataSegs              uint32 // number of data segments
	code                  []codeEntry

	stack []cval // constant expression evaluation stack, reused

	// Decided by plan.
	refs      initRefs
	needDrops bool
}

func (s *normScan) section(id byte) *nsection {
	if k := s.idx[id]; k >= 0 {
		return &s.secs[k]
	}
	return nil
}

// scan reads the section list and the sections Normalize needs on every
// module: imports, globals, exports, start, elements, data count, the code
// section's entries (not the bodies) and data.
func (s *normScan) scan() error {
	b := s.b
	if len(b) < 8 || !bytes.Equal(b[:4], wasmHeader[:4]) {
		return malformed(0, "not a WebAssembly binary (bad magic number)")
	}
	if !bytes.Equal(b[4:8], wasmHeader[4:8]) {
		return malformed(4, "unsupported binary format version")
	}
	for i := range s.idx {
		s.idx[i] = -1
	}
	r := newReader(b, 8, len(b))
	lastRank := 0
	for r.pos < r.end {
		hdr := r.pos
		id := r.byte()
		size := r.u32()
		if r.err != nil {
			return r.err
		}
		if int(size) > r.remaining() {
			return malformed(hdr, "section size out of bounds")
		}
		sec := nsection{id: id, hdr: hdr, start: r.pos, end: r.pos + int(size)}
		r.pos = sec.end
		if id > secTag {
			return malformed(hdr, "unknown section id %d", id)
		}
		if id != secCustom {
			rank := sectionRank[id]
			if rank <= lastRank {
				return malformed(hdr, "section %d out of order or duplicated", id)
			}
			lastRank = rank
			s.idx[id] = len(s.secs)
		} else {
			sr := newReader(b, sec.start, sec.end)
			name := sr.name("custom section name")
			if sr.err != nil {
				return sr.err
			}
			sec.afterCount = sr.pos // the payload
			switch string(name) {
			case NormalizedSection:
				s.marked = true
			case "name":
				if s.hasNames || !validNameSection(b, sr.pos, sec.end) {
					sec.drop = true
					s.droppedCustom++
				} else {
					s.hasNames = true
				}
			}
		}
		s.secs = append(s.secs, sec)
	}
	// wazero (with DWARF support, its default) fails on a custom section
	// with an empty payload at the very end of the module: it reads the
	// empty payload with Read, which reports EOF there.
	for i := len(s.secs) - 1; i >= 0; i-- {
		sec := &s.secs[i]
		if sec.drop {
			continue
		}
		if sec.id != secCustom || sec.afterCount != sec.end {
			break
		}
		sec.drop = true
		s.droppedCustom++
	}
	if err := s.boundSections(); err != nil {
		return err
	}
	for _, id := range [...]byte{secImport, secGlobal, secExport, secStart, secElement, secDataCount, secCode, secData} {
		sec := s.section(id)
		if sec == nil {
			continue
		}
		r := newReader(b, sec.start, sec.end)
		var err error
		switch id {
		case secImport:
			err = s.scanImports(&r)
		case secGlobal:
			err = s.scanGlobals(&r)
		case secExport:
			err = s.scanExports(&r, sec)
		case secStart:
			s.startSecOff = r.pos
			f := r.u32()
			s.hasStart, s.startFunc = true, int64(f)
		case secElement:
			err = s.scanElements(&r)
		case secDataCount:
			s.hasDataCount = true
			r.u32()
		case secCode:
			err = s.scanCode(&r, sec)
		case secData:
			err = s.scanData(&r)
		}
		if err != nil {
			return err
		}
		if r.err != nil {
			return r.err
		}
		if r.pos != sec.end {
			return malformed(r.pos, "section size mismatch")
		}
	}
	return nil
}

// skipValType reads a value type, of any proposal: one byte, or a
// reference type prefix followed by a heap type.
func skipValType(r *reader) byte {
	t := r.byte()
	if t == 0x63 || t == 0x64 {
		r.s33()
		return tRef
	}
	return t
}

// typeClass maps a value type byte to a cval type class.
func typeClass(t byte) byte {
	switch t {
	case tI32, tI64, tF32, tF64, tV128:
		return t
	}
	return tRef
}

// skipLimits reads table or memory limits (any proposal: 64-bit, shared,
// custom page size).
func skipLimits(r *reader) {
	flags := r.byte()
	r.sleb(64) // unsigned, at most 64 bits: sleb checks the length
	if flags&1 != 0 {
		r.sleb(64)
	}
	if flags&8 != 0 {
		r.u32()
	}
}

// uleb64 reads an unsigned LEB128 of at most 64 bits (memory64 offsets and
// limits).
func uleb64(r *reader) {
	for i := 0; i < 10; i++ {
		if r.byte() < 0x80 || r.err != nil {
			return
		}
	}
	r.failf("integer representation too long")
}

func (s *normScan) scanImports(r *reader) error {
	n := r.count(4, maxImports, "imports")
	for i := 0; i < n && r.err == nil; i++ {
		r.name("import module name")
		r.name("import field name")
		koff := r.pos
		switch kind := r.byte(); kind {
		case 0:
			s.importFuncTypes = append(s.importFuncTypes, r.u32())
		case 1:
			skipValType(r)
			skipLimits(r)
		case 2:
			skipLimits(r)
		case 3:
			t := typeClass(skipValType(r))
			s.globalMut = append(s.globalMut, r.byte() != 0)
			s.globals = append(s.globals, cval{t: t, imported: true, global: uint32(len(s.globals))})
			s.numImportedGlobals++
		case 4:
			r.byte()
			r.u32()
		default:
			if r.err == nil {
				return malformed(koff, "invalid import kind 0x%02x", kind)
			}
		}
	}
	return nil
}

func (s *normScan) scanGlobals(r *reader) error {
	n := r.count(3, maxGlobals, "globals")
	for i := 0; i < n && r.err == nil; i++ {
		toff := r.pos
		t := typeClass(skipValType(r))
		mut := r.byte() != 0
		v, err := s.constExpr(r, t, toff)
		if err != nil {
			return err
		}
		s.globals = append(s.globals, v)
		s.globalMut = append(s.globalMut, mut)
	}
	return nil
}

// constExpr reads a constant expression whose value has type class want
// (0: any), evaluates it and records a patch when it must be folded. off
// is where the construct holding it starts, for errors.
func (s *normScan) constExpr(r *reader, want byte, off int) (cval, error) {
	start := r.pos
	if start < r.end && r.b[start] == 0x41 && want != tRef {
		// Fast path for the common i32.const n; end.
		r.pos++
		n := r.s32()
		if r.err != nil {
			return cval{}, r.err
		}
		if r.pos < r.end && r.b[r.pos] == 0x0b {
			r.pos++
			if want != 0 && want != tI32 {
				return cval{}, invalid(off, "type mismatch in constant expression")
			}
			return cval{t: tI32, n: uint64(uint32(n))}, nil
		}
		r.pos = start
	}
	st := s.stack[:0]
	ninstr := 0
	simple := true
	for r.err == nil {
		ioff := r.pos
		op := r.byte()
		if op == 0x0b {
			break
		}
		ninstr++
		var v cval
		switch op {
		case 0x41:
			v = cval{t: tI32, n: uint64(uint32(r.s32()))}
		case 0x42:
			v = cval{t: tI64, n: uint64(r.s64())}
		case 0x43:
			r.skip(4)
			if r.err == nil {
				v = cval{t: tF32, n: uint64(binary.LittleEndian.Uint32(r.b[r.pos-4:]))}
			}
		case 0x44:
			r.skip(8)
			if r.err == nil {
				v = cval{t: tF64, n: binary.LittleEndian.Uint64(r.b[r.pos-8:])}
			}
		case 0xfd:
			if sub := r.u32(); r.err == nil && sub != 12 {
				return cval{}, invalid(ioff, "constant expression required (opcode 0xfd %d)", sub)
			}
			r.skip(16)
			v = cval{t: tV128, enc: r.b[ioff:r.pos]}
		case 0xd0: // ref.null
			r.s33()
			v = cval{t: tRef, enc: r.b[ioff:r.pos]}
		case 0xd2: // ref.func
			r.u32()
			v = cval{t: tRef, enc: r.b[ioff:r.pos]}
		case 0x23: // global.get
			g := r.u32()
			if r.err != nil {
				break
			}
			// The globals before the one being defined (all of them for
			// segments): len(s.globals).
			if int64(g) >= int64(len(s.globals)) {
				return cval{}, invalid(ioff, "constant expression: global.get %d of an unknown or later global", g)
			}
			if g >= s.numImportedGlobals {
				simple = false
				if s.globalMut[g] {
					return cval{}, invalid(ioff, "constant expression: global.get %d of a mutable global", g)
				}
			}
			v = s.globals[g]
		case 0x6a, 0x6b, 0x6c, 0x7c, 0x7d, 0x7e:
			simple = false
			t := tI32
			if op >= 0x7c {
				t = tI64
			}
			if len(st) < 2 || st[len(st)-1].t != t || st[len(st)-2].t != t {
				return cval{}, invalid(ioff, "type mismatch in constant expression")
			}
			x, y := st[len(st)-2], st[len(st)-1]
			st = st[:len(st)-2]
			v = cval{t: t}
			switch op {
			case 0x6a, 0x7c:
				v.n = x.n + y.n
			case 0x6b, 0x7d:
				v.n = x.n - y.n
			default:
				v.n = x.n * y.n
			}
			if t == tI32 {
				v.n = uint64(uint32(v.n))
			}
			if x.imported || y.imported {
				v.imported = true
				v.global = x.global
				if !x.imported {
					v.global = y.global
				}
			}
		case 0xfb:
			return cval{}, unsupported(ioff, "gc", "GC instruction in a constant expression")
		default:
			if r.err == nil {
				return cval{}, invalid(ioff, "constant expression required (opcode 0x%02x)", op)
			}
		}
		st = append(st, v)
	}
	s.stack = st
	if r.err != nil {
		return cval{}, r.err
	}
	if len(st) != 1 {
		return cval{}, invalid(start, "type mismatch in constant expression: %d values", len(st))
	}
	v := st[0]
	if want != 0 && v.t != want {
		return cval{}, invalid(off, "type mismatch in constant expression")
	}
	if simple && ninstr == 1 {
		return v, nil
	}
	if v.imported {
		return cval{}, &ImportedGlobalError{Offset: start, Global: v.global}
	}
	var data []byte
	switch v.t {
	case tI32:
		data = appendS64([]byte{0x41}, int64(int32(uint32(v.n))))
	case tI64:
		data = appendS64([]byte{0x42}, int64(v.n))
	case tF32:
		data = binary.LittleEndian.AppendUint32([]byte{0x43}, uint32(v.n))
	case tF64:
		data = binary.LittleEndian.AppendUint64([]byte{0x44}, v.n)
	default:
		data = append([]byte(nil), v.enc...)
	}
	s.patches = append(s.patches, npatch{start: start, end: r.pos, data: append(data, 0x0b)})
	return v, nil
}

func (s *normScan) scanExports(r *reader, sec *nsection) error {
	n := r.count(3, maxExports, "exports")
	sec.count, sec.afterCount = uint32(n), r.pos
	for i := 0; i < n && r.err == nil; i++ {
		off := r.pos
		name := r.name("export name")
		kind := r.byte()
		is := r.pos
		idx := r.u32()
		if r.err == nil && string(name) == StartExport {
			e := &s.startExport
			e.found, e.kind, e.idx, e.idxStart, e.idxEnd, e.off = true, kind, idx, is, r.pos, off
		}
	}
	return nil
}

func (s *normScan) scanElements(r *reader) error {
	n := r.count(1, maxElemSegments, "element segments")
	s.dropElems = make([]uint64, (n+63)/64)
	for i := 0; i < n && r.err == nil; i++ {
		off := r.pos
		flags := r.u32()
		if r.err != nil {
			break
		}
		if flags > 7 {
			return malformed(off, "invalid element segment flags %d", flags)
		}
		if flags == 2 || flags == 6 {
			r.u32() // table
		}
		if flags&1 == 0 { // active
			if _, err := s.constExpr(r, 0, off); err != nil {
				return err
			}
		}
		if flags&1 == 0 || flags&3 == 3 { // active or declarative
			s.dropElems[i>>6] |= 1 << (i & 63)
			s.numElems++
		}
		exprs := flags&4 != 0
		if flags&3 != 0 { // element kind or reference type
			skipValType(r)
		}
		cnt := r.count(1, maxTableEntries, "elements")
		for j := 0; j < cnt && r.err == nil; j++ {
			if exprs {
				if _, err := s.constExpr(r, tRef, off); err != nil {
					return err
				}
			} else {
				r.u32()
			}
		}
	}
	return nil
}

func (s *normScan) scanCode(r *reader, sec *nsection) error {
	n := r.count(2, maxFuncs, "function bodies")
	sec.count, sec.afterCount = uint32(n), r.pos
	s.code = make([]codeEntry, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		off := r.pos
		size := r.u32()
		if r.err != nil {
			break
		}
		if int(size) > r.remaining() || size == 0 {
			return malformed(off, "function body size out of bounds")
		}
		s.code = append(s.code, codeEntry{start: r.pos, end: r.pos + int(size)})
		// Bound the locals: wazero allocates one byte per declared local
		// before it looks further.
		lr := newReader(r.b, r.pos, r.pos+int(size))
		groups := lr.count(2, maxLocals, "local declarations")
		total := uint64(0)
		for j := 0; j < groups && lr.err == nil; j++ {
			total += uint64(lr.u32())
			skipValType(&lr)
		}
		if lr.err != nil {
			return lr.err
		}
		if total > maxLocals {
			return tooLarge(off, "too many locals: %d", total)
		}
		r.pos += int(size)
	}
	return nil
}

// boundSections checks the vector counts of the type, function, table and
// memory sections (and the parameter and result counts of function types)
// against the bytes that follow and the limits engines agree on. Normalize
// reads nothing else of these sections, but wazero allocates for the
// declared counts before reading the entries: a table count of 2^30 ends
// the process.
func (s *normScan) boundSections() error {
	if sec := s.section(secType); sec != nil {
		r := newReader(s.b, sec.start, sec.end)
		n := r.count(2, maxTypes, "types") // an empty rec group has 2 bytes
		for i := 0; i < n && r.err == nil; i++ {
			if form := r.byte(); form != 0x60 {
				break // a type of the GC proposal: left to the engine
			}
			for k := 0; k < 2 && r.err == nil; k++ {
				cnt := r.count(1, maxParams, "parameters or results")
				for j := 0; j < cnt && r.err == nil; j++ {
					skipValType(&r)
				}
			}
		}
		if r.err != nil {
			return r.err
		}
	}
	for _, c := range [...]struct {
		id       byte
		min, max int
		what     string
	}{{secFunction, 1, maxFuncs, "functions"}, {secTable, 3, 100000, "tables"}, {secMemory, 2, 100, "memories"}} {
		if sec := s.section(c.id); sec != nil {
			r := newReader(s.b, sec.start, sec.end)
			r.count(c.min, c.max, c.what)
			if r.err != nil {
				return r.err
			}
		}
	}
	return nil
}

func (s *normScan) scanData(r *reader) error {
	n := r.count(1, maxDataSegments, "data segments")
	s.activeData = make([]uint64, (n+63)/64)
	s.dataSegs = uint32(n)
	b := r.b
	for i := 0; i < n && r.err == nil; i++ {
		off := r.pos
		// Fast path for the common active segment "0x00 i32.const n end":
		// the offset needs no folding, its value is not needed (an invalid
		// encoding is left for the engine to reject).
		if p := off; p+2 < r.end && b[p] == 0 && b[p+1] == 0x41 {
			q := p + 2
			for q < r.end && q < p+6 && b[q]&0x80 != 0 {
				q++
			}
			if q+1 < r.end && b[q]&0x80 == 0 && b[q+1] == 0x0b {
				r.pos = q + 2
				s.activeData[i>>6] |= 1 << (i & 63)
				s.numData++
				sz := r.u32()
				r.skip(int(sz))
				continue
			}
		}
		flags := r.u32()
		if r.err != nil {
			break
		}
		switch flags {
		case 0, 2:
			if flags == 2 {
				r.u32() // memory
			}
			if _, err := s.constExpr(r, 0, off); err != nil {
				return err
			}
			s.activeData[i>>6] |= 1 << (i & 63)
			s.numData++
		case 1:
		default:
			return malformed(off, "invalid data segment flags %d", flags)
		}
		sz := r.u32()
		r.skip(int(sz))
	}
	return nil
}

// plan decides what to rewrite, reading function bodies only when the
// module has segments whose dropping memory.init or table.init would
// observe.
func (s *normScan) plan() error {
	e := &s.startExport
	if e.found {
		if !s.marked {
			return &ModuleError{Kind: ErrReservedName, Offset: e.off, Func: -1, Reason: "module exports " + StartExport}
		}
		if s.hasStart {
			return &ModuleError{Kind: ErrReservedName, Offset: e.off, Func: -1, Reason: "module has a start section and exports " + StartExport}
		}
		if e.kind != 0 {
			return invalid(e.off, "export %s is not a function", StartExport)
		}
	}
	if s.numData > 0 || s.numElems > 0 {
		s.scanInits(s.numData > 0, s.numElems > 0)
	}
	if s.refs.memInit && !s.hasDataCount {
		return malformed(-1, "memory.init requires a data count section")
	}
	s.needDrops = (len(s.droppedData()) > 0 || len(s.droppedElems()) > 0) && !(e.found && s.dropsPresent())
	return nil
}

// changes reports whether the module must be rewritten.
func (s *normScan) changes() bool {
	return s.hasStart || s.needDrops || len(s.patches) > 0 || s.droppedCustom > 0 ||
		s.startExport.found && s.startExport.idx < uint32(len(s.importFuncTypes))
}

// droppedData and droppedElems are the segments the start function must
// drop: the active (and declarative) ones memory.init (table.init) names.
func (s *normScan) droppedData() []uint32 {
	return filterSegs(s.activeData, s.refs.data, s.refs.allData)
}

func (s *normScan) droppedElems() []uint32 {
	return filterSegs(s.dropElems, s.refs.elems, s.refs.allElems)
}

// filterSegs returns, in increasing order, the segments in set that are
// named (all of them if all).
func filterSegs(set []uint64, named map[uint32]bool, all bool) []uint32 {
	if !all && len(named) == 0 {
		return nil
	}
	var out []uint32
	for w, word := range set {
		for ; word != 0; word &= word - 1 {
			i := uint32(w*64 + bits.TrailingZeros64(word))
			if all || named[i] {
				out = append(out, i)
			}
		}
	}
	return out
}

// initRefs are the segments memory.init and table.init name.
type initRefs struct {
	memInit           bool // a memory.init was decoded
	data, elems       map[uint32]bool
	allData, allElems bool // a body that could not be decoded may name any
}

// scanInits finds the segments memory.init and table.init name, when
// wantData (wantElems). Only the bodies holding the byte 0xfc followed by a
// byte whose low 7 bits are the sub-opcode (8 or 12, in any LEB128 length)
// are decoded; a body that cannot be decoded counts as naming every
// segment of the kinds its bytes suggest.
func (s *normScan) scanInits(wantData, wantElems bool) {
	ir := &s.refs
	ir.data, ir.elems = map[uint32]bool{}, map[uint32]bool{}
	for _, c := range s.code {
		body := s.b[c.start:c.end]
		candMem, candTable := false, false
		for i := 0; ; {
			j := bytes.IndexByte(body[i:], 0xfc)
			if j < 0 || i+j+1 >= len(body) {
				break
			}
			i += j + 1
			switch body[i] & 0x7f {
			case 8:
				candMem = true
			case 12:
				candTable = candTable || wantElems
			}
		}
		if !candMem && !candTable {
			continue
		}
		if !ir.walk(body) {
			ir.allData = ir.allData || candMem && wantData
			ir.allElems = ir.allElems || candTable
		}
	}
}

// walk decodes a function body and records the segments its memory.init
// and table.init instructions name. It returns false when the body holds
// an instruction it does not know (exceptions, GC, ...) or is malformed.
func (ir *initRefs) walk(body []byte) bool {
	r := newReader(body, 0, len(body))
	n := r.u32()
	for i := uint32(0); i < n && r.err == nil; i++ {
		r.u32()
		skipValType(&r)
	}
	for r.pos < r.end && r.err == nil {
		switch op := r.byte(); {
		case op <= 0x01, op == 0x05, op == 0x0b, op == 0x0f, op == 0x1a, op == 0x1b,
			op >= 0x45 && op <= 0xc4, op == 0xd1, op == 0xd3, op == 0xd5:
			// no immediate
		case op >= 0x02 && op <= 0x04: // block, loop, if
			if c, _ := r.peek(); c == 0x63 || c == 0x64 {
				r.byte()
			}
			r.s33()
		case op == 0x0c, op == 0x0d, op == 0x10, op == 0x12, op == 0x14, op == 0x15,
			op >= 0x20 && op <= 0x26, op == 0x3f, op == 0x40, op == 0xd2, op == 0xd4, op == 0xd6:
			r.u32()
		case op == 0x0e: // br_table
			cnt := r.count(1, maxBrTableLabels, "br_table labels")
			for i := 0; i <= cnt && r.err == nil; i++ {
				r.u32()
			}
		case op == 0x11, op == 0x13: // call_indirect, return_call_indirect
			r.u32()
			r.u32()
		case op == 0x1c: // select t*
			cnt := r.count(1, maxParams, "select types")
			for i := 0; i < cnt && r.err == nil; i++ {
				skipValType(&r)
			}
		case op >= 0x28 && op <= 0x3e:
			skipMemarg(&r)
		case op == 0x41:
			r.s32()
		case op == 0x42:
			r.s64()
		case op == 0x43:
			r.skip(4)
		case op == 0x44:
			r.skip(8)
		case op == 0xd0:
			r.s33()
		case op == 0xfc:
			switch sub := r.u32(); {
			case sub <= 7:
			case sub == 8: // memory.init
				ir.memInit = true
				ir.data[r.u32()] = true
				r.u32()
			case sub == 12: // table.init
				ir.elems[r.u32()] = true
				r.u32()
			case sub == 10, sub == 14: // memory.copy, table.copy
				r.u32()
				r.u32()
			case sub <= 17:
				r.u32()
			default:
				return false
			}
		case op == 0xfd:
			switch sub := r.u32(); {
			case sub <= 11, sub == 92, sub == 93:
				skipMemarg(&r)
			case sub == 12, sub == 13:
				r.skip(16)
			case sub >= 21 && sub <= 34:
				r.byte()
			case sub >= 84 && sub <= 91:
				skipMemarg(&r)
				r.byte()
			}
		case op == 0xfe:
			if sub := r.u32(); sub == 3 {
				r.byte()
			} else {
				skipMemarg(&r)
			}
		default:
			return false
		}
	}
	return r.err == nil
}

// skipMemarg reads a memory argument (with a memory index when bit 6 of the
// alignment is set, a 64-bit offset for memory64).
func skipMemarg(r *reader) {
	if align := r.u32(); align&0x40 != 0 {
		r.u32()
	}
	uleb64(r)
}

// dropsPresent reports whether the function exported as StartExport starts
// with data.drop and elem.drop of every segment the module needs dropped
// (as the function Normalize adds does).
func (s *normScan) dropsPresent() bool {
	f := s.startExport.idx
	imported := uint32(len(s.importFuncTypes))
	if f < imported || int64(f-imported) >= int64(len(s.code)) {
		return false
	}
	c := s.code[f-imported]
	r := newReader(s.b, c.start, c.end)
	n := r.u32()
	for i := uint32(0); i < n && r.err == nil; i++ {
		r.u32()
		skipValType(&r)
	}
	data, elems := map[uint32]bool{}, map[uint32]bool{}
	for r.err == nil {
		if op, _ := r.peek(); op != 0xfc {
			break
		}
		r.byte()
		sub := r.u32()
		idx := r.u32()
		if sub == 9 {
			data[idx] = true
		} else if sub == 13 {
			elems[idx] = true
		} else {
			break
		}
	}
	for _, d := range s.droppedData() {
		if !data[d] {
			return false
		}
	}
	for _, e := range s.droppedElems() {
		if !elems[e] {
			return false
		}
	}
	return true
}

// rewrite builds the normalized module into res.
func (s *normScan) rewrite(res *Normalized) error {
	b := s.b
	numImported := uint32(len(s.importFuncTypes))
	numFuncs := numImported + uint32(len(s.code))
	e := &s.startExport

	start := int64(-1) // the module's start function
	startOff := s.startSecOff
	if s.hasStart {
		start = s.startFunc
	} else if e.found {
		start, startOff = int64(e.idx), e.off
	}
	addFunc := s.needDrops || start >= 0 && start < int64(numImported)

	// Function types, needed to check the start function's and to find or
	// add [] -> [].
	var empty []bool // per type: is [] -> []
	var funcTypes []uint32
	voidType := int64(-1)
	if start >= 0 || addFunc {
		var err error
		if empty, err = s.parseTypes(); err != nil {
			return err
		}
		if funcTypes, err = s.parseFunctions(); err != nil {
			return err
		}
		if len(funcTypes) != len(s.code) {
			return malformed(-1, "function and code section have inconsistent lengths")
		}
		for i, ok := range empty {
			if ok {
				voidType = int64(i)
				break
			}
		}
	}
	if start >= 0 {
		if start >= int64(numFuncs) {
			return invalid(startOff, "unknown start function %d", start)
		}
		var t uint32
		if start < int64(numImported) {
			t = s.importFuncTypes[start]
		} else {
			t = funcTypes[start-int64(numImported)]
		}
		if int64(t) >= int64(len(empty)) || !empty[t] {
			return invalid(startOff, "start function must have type [] -> []")
		}
	}
	addType := addFunc && voidType < 0
	if addType {
		voidType = int64(len(empty))
	}

	// The added function: drops, then the start function.
	var body []byte
	if addFunc {
		body = []byte{0} // no locals
		for _, d := range s.droppedData() {
			body = appendU32(append(body, 0xfc, 9), d)
		}
		for _, el := range s.droppedElems() {
			body = appendU32(append(body, 0xfc, 13), el)
		}
		if start >= 0 {
			body = appendU32(append(body, 0x10), uint32(start))
		}
		body = append(body, 0x0b)
		res.AddedFunc = true
		res.DroppedData, res.DroppedElems = len(s.droppedData()), len(s.droppedElems())
	}
	exported := start
	if addFunc {
		exported = int64(numFuncs)
	}
	res.Start = exported >= 0
	res.StartFunc = int(exported)
	res.RemovedStart = s.hasStart
	res.DroppedCustom = s.droppedCustom

	content := func(id byte, sec *nsection) []byte {
		switch id {
		case secType:
			if addType {
				return s.vecPlus(sec, []byte{0x60, 0, 0})
			}
		case secFunction:
			if addFunc {
				return s.vecPlus(sec, appendU32(nil, uint32(voidType)))
			}
		case secCode:
			if addFunc {
				return s.vecPlus(sec, append(appendU32(nil, uint32(len(body))), body...))
			}
		case secExport:
			if exported < 0 {
				break
			}
			if e.found {
				if !addFunc {
					break
				}
				c := append([]byte(nil), b[sec.start:e.idxStart]...)
				c = appendU32(c, uint32(exported))
				return append(c, b[e.idxEnd:sec.end]...)
			}
			entry := appendName(nil, StartExport)
			return s.vecPlus(sec, appendU32(append(entry, 0), uint32(exported)))
		case secStart:
			return nil
		case secDataCount:
			if sec == nil && addFunc && res.DroppedData > 0 {
				// data.drop needs one; only a body Normalize could not
				// decode gets here (a decoded memory.init needs one too).
				return appendU32(nil, s.dataSegs)
			}
		case secGlobal, secElement, secData:
			if sec == nil {
				return nil
			}
			return s.patched(sec)
		}
		if sec == nil {
			return nil
		}
		return b[sec.start:sec.end]
	}

	out := make([]byte, 0, len(b)+len(body)+64)
	out = append(out, wasmHeader...)
	if res.Start && !s.marked {
		// First: after the last section, wazero would read it as part of
		// a preceding malformed name section (it tolerates one only at
		// the end of the module).
		out = appendSection(out, secCustom, append(appendName(nil, NormalizedSection), 1))
	}
	lastNonCustom := -1
	for i := range s.secs {
		if s.secs[i].id != secCustom {
			lastNonCustom = i
		}
	}
	// New sections (absent from the input) go before the first section of
	// a higher rank, or after the last non-custom section.
	var pending []byte
	for _, id := range [...]byte{secType, secFunction, secExport, secDataCount, secCode} {
		if s.idx[id] < 0 && content(id, nil) != nil {
			pending = append(pending, id)
		}
	}
	flush := func(rank int) {
		for len(pending) > 0 && sectionRank[pending[0]] < rank {
			out = appendSection(out, pending[0], content(pending[0], nil))
			pending = pending[1:]
		}
	}
	if lastNonCustom < 0 {
		flush(1 << 30)
	}
	for i := range s.secs {
		sec := &s.secs[i]
		if sec.id == secCustom {
			if !sec.drop {
				out = append(out, b[sec.hdr:sec.end]...)
			}
			continue
		}
		flush(sectionRank[sec.id])
		if c := content(sec.id, sec); c != nil {
			out = appendSection(out, sec.id, c)
		}
		if i == lastNonCustom {
			flush(1 << 30)
		}
	}
	res.Module, res.Changed = out, true
	return nil
}

// vecPlus returns the content of vector section sec (nil: absent) with one
// more entry appended.
func (s *normScan) vecPlus(sec *nsection, entry []byte) []byte {
	if sec == nil {
		return append(appendU32(nil, 1), entry...)
	}
	c := appendU32(make([]byte, 0, sec.end-sec.start+len(entry)+5), sec.count+1)
	c = append(c, s.b[sec.afterCount:sec.end]...)
	return append(c, entry...)
}

// patched returns the content of sec with the folded constant expressions
// inside it replaced.
func (s *normScan) patched(sec *nsection) []byte {
	var c []byte
	pos := sec.start
	for _, p := range s.patches {
		if p.start < sec.start || p.end > sec.end {
			continue
		}
		if c == nil {
			c = make([]byte, 0, sec.end-sec.start)
		}
		c = append(c, s.b[pos:p.start]...)
		c = append(c, p.data...)
		pos = p.end
	}
	if c == nil {
		return s.b[sec.start:sec.end]
	}
	return append(c, s.b[pos:sec.end]...)
}

// parseTypes reads the type section (recording its vector bounds) and
// reports for each type whether it is [] -> []. Only function types are
// supported (a GC type section has rec groups and subtypes).
func (s *normScan) parseTypes() ([]bool, error) {
	sec := s.section(secType)
	if sec == nil {
		return nil, nil
	}
	r := newReader(s.b, sec.start, sec.end)
	n := r.count(1, maxTypes, "types")
	sec.count, sec.afterCount = uint32(n), r.pos
	empty := make([]bool, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		off := r.pos
		if form := r.byte(); r.err == nil && form != 0x60 {
			return nil, unsupported(off, "gc", "type form 0x%02x", form)
		}
		np := r.count(1, maxParams, "parameters")
		for j := 0; j < np && r.err == nil; j++ {
			skipValType(&r)
		}
		nr := r.count(1, maxResults, "results")
		for j := 0; j < nr && r.err == nil; j++ {
			skipValType(&r)
		}
		empty = append(empty, np == 0 && nr == 0)
	}
	if r.err == nil && r.pos != r.end {
		return nil, malformed(r.pos, "section size mismatch")
	}
	return empty, r.err
}

// parseFunctions reads the function section (recording its vector bounds)
// and returns the type index of every defined function.
func (s *normScan) parseFunctions() ([]uint32, error) {
	sec := s.section(secFunction)
	if sec == nil {
		return nil, nil
	}
	r := newReader(s.b, sec.start, sec.end)
	n := r.count(1, maxFuncs, "functions")
	sec.count, sec.afterCount = uint32(n), r.pos
	ts := make([]uint32, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		ts = append(ts, r.u32())
	}
	if r.err == nil && r.pos != r.end {
		return nil, malformed(r.pos, "section size mismatch")
	}
	return ts, r.err
}

// validNameSection reports whether b[pos:end], the content of a name
// section after its name, is well formed: a sequence of subsections, each
// within the section, and the module (0), function (1) and local (2) names
// subsections exactly filled by their content, every count bounded by the
// bytes left and every name valid UTF-8. wazero decodes these three by
// reading as many entries as their counts declare, allocating for all of
// them first, and trusts the subsection sizes to skip the others.
func validNameSection(b []byte, pos, end int) bool {
	r := newReader(b, pos, end)
	for r.pos < r.end && r.err == nil {
		id := r.byte()
		size := r.u32()
		if r.err != nil || int(size) > r.remaining() {
			return false
		}
		sub := newReader(b, r.pos, r.pos+int(size))
		r.pos = sub.end
		switch id {
		case 0:
			sub.name("module name")
		case 1:
			nameMap(&sub)
		case 2:
			n := sub.count(2, maxFuncs, "functions")
			for i := 0; i < n && sub.err == nil; i++ {
				sub.u32()
				nameMap(&sub)
			}
		default:
			continue
		}
		if sub.err != nil || sub.pos != sub.end {
			return false
		}
	}
	return r.err == nil
}

// nameMap reads a name map: a vector of (index, name).
func nameMap(r *reader) {
	n := r.count(2, maxFuncs, "names")
	for i := 0; i < n && r.err == nil; i++ {
		r.u32()
		r.name("name")
	}
}
