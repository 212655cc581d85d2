package metering

// Inspection: the module's structure and a validation pass over its code
// that reports what it meets, for policy checks such as those of package
// validate (profiles: features, imports, exports, structural limits). The
// parser and the validator are those of Instrument, so a module Inspect
// accepts is one Instrument accepts, and the same module always gives the
// same report.

// Feature names reported by [ModuleInfo.InspectCode] ([CodeEvent.Feature]),
// for the WebAssembly 2.0 proposals metering supports beyond the MVP (the
// mutable-globals proposal is visible in [ModuleInfo.Imports],
// [ModuleInfo.Exports] and [ModuleInfo.Globals]).
const (
	FeatureSignExtension  = "sign-extension"
	FeatureNonTrappingF2I = "nontrapping-float-to-int"
	FeatureMultiValue     = "multi-value"
	FeatureBulkMemory     = "bulk-memory"
	FeatureReferenceTypes = "reference-types"
)

// ExternKind is the kind of an import or export: its binary encoding.
type ExternKind byte

// Import and export kinds.
const (
	KindFunc   ExternKind = 0
	KindTable  ExternKind = 1
	KindMemory ExternKind = 2
	KindGlobal ExternKind = 3
)

// FuncType is a function type. Each value type is one byte, its binary
// encoding: 0x7f i32, 0x7e i64, 0x7d f32, 0x7c f64, 0x70 funcref, 0x6f
// externref.
type FuncType struct {
	Params, Results []byte
}

// ImportInfo is an entry of the import section.
type ImportInfo struct {
	Module, Name string
	Kind         ExternKind
	// Type is the type index of a function import.
	Type uint32
	// Global is the type of a global import.
	Global GlobalInfo
	// Offset is the entry's byte offset in the module.
	Offset int
}

// ExportInfo is an entry of the export section.
type ExportInfo struct {
	Name  string
	Kind  ExternKind
	Index uint32
	// Offset is the entry's byte offset in the module.
	Offset int
}

// TableInfo is a table, imported or defined.
type TableInfo struct {
	// Elem is the element type (0x70 funcref or 0x6f externref).
	Elem     byte
	Min, Max uint32
	HasMax   bool
	Imported bool
	// Offset is the byte offset of the table's limits in the module.
	Offset int
}

// MemoryInfo is the module's memory, imported or defined.
type MemoryInfo struct {
	Min, Max uint32 // pages of 64 KiB
	HasMax   bool
	Imported bool
	// Offset is the byte offset of the memory's limits in the module.
	Offset int
}

// GlobalInfo is the type of a global.
type GlobalInfo struct {
	Type    byte
	Mutable bool
}

// ElementInfo is an element segment.
type ElementInfo struct {
	// Flags is the segment's encoding (0 to 7, see the binary format):
	// 0 is the MVP form, active on table 0 with function indices.
	Flags uint32
	// Table is the table of an active segment.
	Table uint32
	// Type is the element type (0x70 funcref or 0x6f externref).
	Type byte
	// Count is the number of elements.
	Count uint32
	// Offset is the segment's byte offset in the module.
	Offset int
}

// DataInfo is a data segment.
type DataInfo struct {
	// Flags is the segment's encoding: 0 active (MVP form), 1 passive, 2
	// active with an explicit memory index.
	Flags uint32
	// Size is the number of bytes of the segment.
	Size uint32
	// Offset is the segment's byte offset in the module.
	Offset int
}

// BodyInfo is a function body of the code section.
type BodyInfo struct {
	// Offset and Size are the byte range of the body (its local
	// declarations and instructions, without its size prefix).
	Offset, Size int
}

// ModuleInfo describes a module whose sections [InspectModule] parsed and
// validated. The function bodies are validated by [ModuleInfo.InspectCode].
// Slices are read-only; strings are copies.
type ModuleInfo struct {
	// Size is the module's size in bytes.
	Size  int
	Types []FuncType
	// Funcs holds the type index of every function, imported ones first.
	Funcs         []uint32
	ImportedFuncs int
	Imports       []ImportInfo
	Exports       []ExportInfo
	// Tables holds the tables, imported ones first.
	Tables []TableInfo
	// Memory is nil when the module has no memory.
	Memory *MemoryInfo
	// Globals holds the globals, imported ones first.
	Globals         []GlobalInfo
	ImportedGlobals int
	// Start is the start function's index, -1 without a start section;
	// StartOffset the byte offset of the start section's content.
	Start       int
	StartOffset int
	Elements    []ElementInfo
	Data        []DataInfo
	// DataCount reports a data count section.
	DataCount bool
	// CodeOffset and CodeSize are the byte range of the code section's
	// content (-1 and 0 without a code section).
	CodeOffset, CodeSize int
	// Bodies holds the defined functions' bodies, in order (function
	// ImportedFuncs+i is Bodies[i]).
	Bodies []BodyInfo

	m *module
}

// InspectModule parses and validates the sections of wasm, as [Instrument]
// does, with the same errors (*ModuleError, *UnsupportedFeatureError; the
// names Instrument injects are reserved, ErrReservedName) but without
// validating the function bodies: [ModuleInfo.InspectCode] does that. wasm
// is retained by the result and must not be modified while it is used.
func InspectModule(wasm []byte) (*ModuleInfo, error) {
	m, err := parseModule(wasm, false)
	if err != nil {
		return nil, err
	}
	mi := &ModuleInfo{
		Size:            len(wasm),
		Types:           make([]FuncType, len(m.types)),
		Funcs:           m.funcs,
		ImportedFuncs:   int(m.numImportedFuncs),
		Globals:         make([]GlobalInfo, len(m.globals)),
		ImportedGlobals: int(m.numImportedGlobals),
		Start:           -1,
		StartOffset:     -1,
		DataCount:       m.hasDataCount,
		CodeOffset:      -1,
		Bodies:          make([]BodyInfo, len(m.code)),
		m:               m,
	}
	for i, t := range m.types {
		mi.Types[i] = FuncType{Params: t.params, Results: t.results}
	}
	for i, g := range m.globals {
		mi.Globals[i] = GlobalInfo{Type: g.t, Mutable: g.mut}
	}
	for i, t := range m.tables {
		mi.Tables = append(mi.Tables, TableInfo{Elem: t.elem, Min: t.min, Max: t.max, HasMax: t.hasMax,
			Imported: i < m.numImportedTables, Offset: t.limits[0]})
	}
	if m.hasMemory {
		mi.Memory = &MemoryInfo{Min: m.memMin, Max: m.memMax, HasMax: m.memHasMax, Imported: m.importsMemory, Offset: m.memLimits[0]}
	}
	for i, c := range m.code {
		mi.Bodies[i] = BodyInfo{Offset: c.start, Size: c.end - c.start}
	}
	if k := m.secIdx[secCode]; k >= 0 {
		mi.CodeOffset, mi.CodeSize = m.sections[k].start, m.sections[k].end-m.sections[k].start
	}
	if k := m.secIdx[secStart]; k >= 0 && m.hasStart {
		mi.Start, mi.StartOffset = int(m.startFunc), m.sections[k].start
	}
	// The sections below were validated by parseModule: read again, they
	// cannot fail.
	if k := m.secIdx[secImport]; k >= 0 {
		mi.readImports(m.sections[k])
	}
	if k := m.secIdx[secExport]; k >= 0 {
		mi.readExports(m.sections[k])
	}
	if k := m.secIdx[secElement]; k >= 0 {
		mi.readElements(m.sections[k])
	}
	if k := m.secIdx[secData]; k >= 0 {
		mi.readData(m.sections[k])
	}
	return mi, nil
}

func (mi *ModuleInfo) readImports(s section) {
	m := mi.m
	r := newReader(m.b, s.start, s.end)
	n := r.count(4, maxImports, "imports")
	mi.Imports = make([]ImportInfo, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		imp := ImportInfo{Offset: r.pos}
		imp.Module = string(r.name("import module name"))
		imp.Name = string(r.name("import field name"))
		imp.Kind = ExternKind(r.byte())
		switch imp.Kind {
		case KindFunc:
			imp.Type = r.u32()
		case KindTable:
			r.byte()
			m.limits(&r, false)
		case KindMemory:
			m.limits(&r, true)
		case KindGlobal:
			g := m.globalType(&r)
			imp.Global = GlobalInfo{Type: g.t, Mutable: g.mut}
		}
		mi.Imports = append(mi.Imports, imp)
	}
}

func (mi *ModuleInfo) readExports(s section) {
	r := newReader(mi.m.b, s.start, s.end)
	n := r.count(3, maxExports, "exports")
	mi.Exports = make([]ExportInfo, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		e := ExportInfo{Offset: r.pos}
		e.Name = string(r.name("export name"))
		e.Kind = ExternKind(r.byte())
		e.Index = r.u32()
		mi.Exports = append(mi.Exports, e)
	}
}

func (mi *ModuleInfo) readElements(s section) {
	m := mi.m
	r := newReader(m.b, s.start, s.end)
	n := r.count(1, maxElemSegments, "element segments")
	mi.Elements = make([]ElementInfo, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		e := ElementInfo{Offset: r.pos, Type: tFuncRef}
		e.Flags = r.u32()
		if e.Flags == 2 || e.Flags == 6 {
			e.Table = r.u32()
		}
		if e.Flags&1 == 0 {
			m.constExpr(&r, tI32, false)
		}
		exprs := e.Flags&4 != 0
		if e.Flags&3 != 0 {
			if k := r.byte(); exprs {
				e.Type = k
			}
		}
		e.Count = uint32(r.count(1, maxTableEntries, "elements"))
		for j := uint32(0); j < e.Count && r.err == nil; j++ {
			if exprs {
				m.constExpr(&r, e.Type, false)
			} else {
				r.u32()
			}
		}
		mi.Elements = append(mi.Elements, e)
	}
}

func (mi *ModuleInfo) readData(s section) {
	m := mi.m
	r := newReader(m.b, s.start, s.end)
	n := r.count(1, maxDataSegments, "data segments")
	mi.Data = make([]DataInfo, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		d := DataInfo{Offset: r.pos}
		d.Flags = r.u32()
		if d.Flags == 2 {
			r.u32()
		}
		if d.Flags != 1 {
			m.constExpr(&r, tI32, false)
		}
		d.Size = r.u32()
		r.skip(int(d.Size))
		mi.Data = append(mi.Data, d)
	}
}

// CodeEventKind says what a [CodeEvent] reports.
type CodeEventKind uint8

// Code events.
const (
	// EventLocals: a local declaration was read; Count is the function's
	// number of locals so far, its parameters included. It comes before
	// the implementation limit (50000) is checked.
	EventLocals CodeEventKind = iota
	// EventBlock: a block, loop or if was entered; Count is the control
	// nesting depth it opens (1 for a block directly in the function
	// body, which is not counted), Loops the number of loops among the
	// open blocks (the new one included).
	EventBlock
	// EventBrTable: a br_table was read, before its targets; Count is its
	// number of targets, the default one included.
	EventBrTable
	// EventFeature: an instruction, block type or local declaration uses
	// Feature (one of the Feature constants).
	EventFeature
)

// CodeEvent is what [ModuleInfo.InspectCode] reports to its visitor.
type CodeEvent struct {
	Kind CodeEventKind
	// Func is the function's index (imported functions included), Offset
	// the byte offset in the module of the instruction or declaration.
	Func, Offset int
	// Count is the event's number (see the kinds).
	Count uint64
	// Loops is the loop nesting depth, for EventBlock.
	Loops uint64
	// Feature names the feature of an EventFeature.
	Feature string
	// Op is the instruction, for EventBlock, EventBrTable and
	// EventFeature from an instruction (0 for a local declaration).
	Op Opcode
}

// CodeOptions configures [ModuleInfo.InspectCode].
type CodeOptions struct {
	// Deterministic rejects the float instructions that Config.Deterministic
	// rejects, with *NondeterministicError.
	Deterministic bool
	// Visit, when not nil, is called with each event, in code order; an
	// error it returns stops the inspection and is returned as it is.
	Visit func(CodeEvent) error
}

// InspectCode validates every function body, in order, as [Instrument]
// does (type checking included), and reports to opts.Visit what it meets.
// It returns the first error: Instrument's (*ModuleError,
// *UnsupportedFeatureError, *NondeterministicError with opts.Deterministic)
// or the visitor's. The work is linear in the size of the code, and it
// stops at the first error, so a visitor that refuses deep nesting or large
// br_tables bounds the time and memory spent on hostile input.
func (mi *ModuleInfo) InspectCode(opts CodeOptions) error {
	cfg := &Config{Deterministic: opts.Deterministic}
	c, err := cfg.compile()
	if err != nil {
		return err
	}
	p := &codePass{m: mi.m, c: c, cfg: cfg, validateOnly: true, insp: &inspector{visit: opts.Visit}}
	for i := range mi.m.code {
		if err := p.function(i); err != nil {
			return err
		}
	}
	return nil
}

// inspector is the code pass's hook for InspectCode.
type inspector struct {
	visit func(CodeEvent) error
	// loops[d-1] is the loop nesting depth at control depth d of the
	// current function. Entering a block at depth d means the blocks at
	// depths 1..d-1 are the open ones, entered last at their depth, so
	// the slice needs no update when blocks end or functions change.
	loops []uint64
}

func (in *inspector) emit(e CodeEvent) error {
	if in.visit == nil {
		return nil
	}
	return in.visit(e)
}

func (in *inspector) feature(p *codePass, off int, op Opcode, f string) error {
	return in.emit(CodeEvent{Kind: EventFeature, Func: p.fn, Offset: off, Feature: f, Op: op})
}

// local is called for each local declaration (at off, of type t), with the
// running total of locals.
func (in *inspector) local(p *codePass, off int, total uint64, t byte) error {
	if err := in.emit(CodeEvent{Kind: EventLocals, Func: p.fn, Offset: off, Count: total}); err != nil {
		return err
	}
	if t == tFuncRef || t == tExternRef {
		return in.feature(p, off, 0, FeatureReferenceTypes)
	}
	return nil
}

// brTable is called for a br_table at off with n targets besides the
// default one, before they are read.
func (in *inspector) brTable(p *codePass, off, n int) error {
	return in.emit(CodeEvent{Kind: EventBrTable, Func: p.fn, Offset: off, Count: uint64(n) + 1, Op: Opcode(0x0e)})
}

// instr is called after each instruction, of opcode op at [off, end), was
// validated.
func (in *inspector) instr(p *codePass, op byte, off, end int) error {
	b := p.m.b
	switch op {
	case 0x02, 0x03, 0x04: // block, loop, if: the new frame is on the stack
		depth := len(p.ctrls) - 1
		in.loops = in.loops[:depth-1]
		loops := uint64(0)
		if depth > 1 {
			loops = in.loops[depth-2]
		}
		if op == 0x03 {
			loops++
		}
		in.loops = append(in.loops, loops)
		if err := in.emit(CodeEvent{Kind: EventBlock, Func: p.fn, Offset: off, Count: uint64(depth), Loops: loops, Op: Opcode(op)}); err != nil {
			return err
		}
		switch bt := b[off+1]; {
		case bt == tFuncRef || bt == tExternRef:
			return in.feature(p, off, Opcode(op), FeatureReferenceTypes)
		case bt&0xc0 == 0x40: // empty or one value type
		default: // a type index
			return in.feature(p, off, Opcode(op), FeatureMultiValue)
		}
	case 0x11: // call_indirect: a table other than a one-byte 0
		r := newReader(b, off+1, end)
		r.u32()
		if end-r.pos != 1 || b[r.pos] != 0 {
			return in.feature(p, off, Opcode(op), FeatureReferenceTypes)
		}
	case 0x1c, 0x25, 0x26, 0xd0, 0xd1, 0xd2: // select t, table.get/set, ref.*
		return in.feature(p, off, Opcode(op), FeatureReferenceTypes)
	case 0xc0, 0xc1, 0xc2, 0xc3, 0xc4:
		return in.feature(p, off, Opcode(op), FeatureSignExtension)
	case 0xfc:
		r := newReader(b, off+1, end)
		sub := r.u32()
		mop := MiscOpcode(uint8(sub))
		switch {
		case sub <= 7:
			return in.feature(p, off, mop, FeatureNonTrappingF2I)
		case sub <= 14: // memory.init … table.copy
			if err := in.feature(p, off, mop, FeatureBulkMemory); err != nil {
				return err
			}
			// table.init and table.copy on a table other than 0.
			if sub == 12 {
				r.u32()
			}
			for (sub == 12 || sub == 14) && r.pos < end {
				if r.u32() != 0 {
					return in.feature(p, off, mop, FeatureReferenceTypes)
				}
			}
		default: // table.grow, table.size, table.fill
			return in.feature(p, off, mop, FeatureReferenceTypes)
		}
	}
	return nil
}
