package metering

import (
	"strconv"
	"strings"
)

// Dirty-page tracking. [TrackDirtyPages] rewrites a module so that its
// instances record, in a bitmap held in mutable globals, which 4 KiB pages
// of their linear memory their code may have written. A runtime that
// restores a snapshot of an instance's memory then compares and copies
// those pages only, instead of the whole memory.

// DirtyExportPrefix starts the export names of the globals
// [TrackDirtyPages] adds: DirtyExportPrefix + "0" … "15" (the bitmap
// words), DirtyExportPrefix + "sum" and DirtyExportPrefix + "last". A
// module that already exports a name with this prefix is rejected with
// [ErrReservedName].
const DirtyExportPrefix = "__aspect_dirty_"

// DirtyPageShift is the base-2 logarithm of the size of the pages
// [TrackDirtyPages] tracks: 4 KiB.
const DirtyPageShift = 12

// DirtyWords is the number of i64 globals forming the dirty bitmap, and
// DirtyBits its number of bits: page q (of 1<<DirtyPageShift bytes) is
// recorded in bit q%64 of word (q/64)%DirtyWords, so that one bit stands for
// the pages q, q+DirtyBits, q+2*DirtyBits, ... of a memory larger than
// DirtyBits pages (4 MiB).
const (
	DirtyWords = 16
	DirtyBits  = DirtyWords * 64
)

// DirtyNoPage is the value of the "last page" global that names no page
// (in either half): the value it starts with and must be given back
// whenever the bitmap is cleared.
const DirtyNoPage = 1<<64 - 1

// maxResetGlobals bounds the globals DirtyResult.Reset sets.
const maxResetGlobals = 256

// DirtyResult is a module rewritten by [TrackDirtyPages].
type DirtyResult struct {
	// Module is the rewritten module.
	Module []byte
	// Words are the export names of the DirtyWords bitmap globals (i64),
	// in word order; nil when the module has no memory (Module is then the
	// input, unchanged: nothing to track).
	Words []string
	// Summary is the export name of an i32 global whose bit i is set when
	// Words[i] may be non-zero.
	Summary string
	// Last is the export name of the i64 global holding the last page the
	// code marked (low half: a store to that page skips marking it again)
	// and the one marked before it (high half: the helper that marks a page
	// returns at once for it).
	Last string
	// Reset is the export name of an added function, without params or
	// results, that restores the module's own mutable globals and takes the
	// bitmap, in one call: it sets every mutable global of the input module
	// (ResetGlobals of them, in global index order) from the little-endian
	// 8-byte slot i of linear memory at 0 (slot i at 8*i, holding global i's
	// raw value: an i32 or f32 in its low 4 bytes), then writes the DirtyWords
	// bitmap words into the slots at 0 (word w at 8*w, little-endian) and
	// clears the bitmap (words and Summary 0, Last DirtyNoPage). The first
	// ResetScratch bytes of memory are the caller's to write before the call
	// and to read and restore after it; the call traps if memory is smaller.
	// Values passed through memory rather than as params and results cost
	// nothing per value on engines whose calls convert each one (wasmer).
	// "" when the module has a mutable global of a type other than i32, i64,
	// f32 and f64, or an imported one, or more than maxResetGlobals: the
	// globals are then the only way.
	Reset string
	// ResetGlobals is the number of globals Reset sets.
	ResetGlobals int
	// Stores counts the instructions instrumented: stores, memory.fill,
	// memory.copy and memory.init.
	Stores int
	// Covered counts the stores left without code of their own: a store
	// before them in the same function checks their page (see
	// TrackDirtyPages).
	Covered int
}

// ResetScratch is the number of bytes at the start of linear memory that
// Reset reads and writes: 8 per global it sets or bitmap word, whichever
// are more.
func (r *DirtyResult) ResetScratch() int { return 8 * max(r.ResetGlobals, DirtyWords) }

// Globals returns the export names of every global the rewrite added:
// Words, Summary and Last.
//
// Reset, if any, is a function, not among them.
func (r *DirtyResult) Globals() []string {
	if r.Words == nil {
		return nil
	}
	return append(append([]string(nil), r.Words...), r.Summary, r.Last)
}

// TrackDirtyPages validates wasm and returns it rewritten so that its code
// records the memory pages it writes.
//
// Every store instruction is preceded by code that computes the page of
// its effective address (address + offset) and, if that page is not the
// one marked last, calls an added function that sets the page's bit in the
// bitmap (see DirtyWords) and remembers the page. A store whose address is a
// local's value that a store before it, in the same or an enclosing block
// and with no loop starting between them, also used (the local not
// assigned since) is left unchecked: that earlier store checks the pages
// of the least and the greatest offset of all such stores, when they are
// less than 4096 apart (Go's code stores to its stack frame so). memory.fill,
// memory.copy and memory.init call an added function that marks every page
// of their destination range (every bit past DirtyBits pages). A store
// that straddles two pages (an 8-byte store at 4092) is recorded under the
// page of its first byte only: whoever restores memory from the bitmap
// also restores the first 7 bytes of the page that follows each marked
// page. A store that traps may have been marked; nothing the code writes is
// ever unmarked.
//
// No index of the module changes: the bitmap globals, the two functions and
// their types are appended to their index spaces and the bitmap globals
// exported (see DirtyExportPrefix); the new locals follow each function's
// own. The added code is not metered: apply TrackDirtyPages to an
// instrumented module ([Instrument]) to leave its gas and call-depth
// accounting unchanged. The bitmap starts cleared; the code never clears
// it: its user does, through the exports, setting the words and the
// summary to 0 and Last to DirtyNoPage.
//
// The rewrite composes with [PrepareSnapshot] applied afterwards (the
// added globals are then among SnapshotResult.Globals). Errors are those of
// Instrument for a module that does not validate, is too large once
// rewritten or uses an unsupported feature; ErrReservedName reports an
// export name starting with DirtyExportPrefix. wasm is not modified and
// not retained.
func TrackDirtyPages(wasm []byte) (*DirtyResult, error) {
	return trackDirtyPages(wasm, dirtyOptions{})
}

// dirtyOptions are the test-only variants of TrackDirtyPages: see
// dirtyPass.noGroups and count.
type dirtyOptions struct{ noGroups, count bool }

func trackDirtyPages(wasm []byte, opt dirtyOptions) (*DirtyResult, error) {
	m, err := parseModule(wasm, true)
	if err != nil {
		return nil, err
	}
	for name := range m.exports {
		if strings.HasPrefix(name, DirtyExportPrefix) {
			return nil, &ModuleError{Kind: ErrReservedName, Offset: -1, Func: -1, Reason: "module exports " + name}
		}
	}
	cfg := &Config{}
	c, err := cfg.compile()
	if err != nil {
		return nil, err
	}
	p := &codePass{m: m, c: c, cfg: cfg, validateOnly: true}
	for i := range m.code {
		if err := p.function(i); err != nil {
			return nil, err
		}
	}
	if !m.hasMemory {
		return &DirtyResult{Module: wasm}, nil
	}
	if len(m.types)+3 > maxTypes || len(m.funcs)+3 > maxFuncs || len(m.globals)+DirtyWords+4 > maxGlobals ||
		m.numExports+DirtyWords+5 > maxExports {
		return nil, tooLarge(-1, "too many types, functions, globals or exports to track dirty pages")
	}

	d := &dirtyPass{m: m, noGroups: opt.noGroups, count: opt.count}
	d.markType, d.rangeType = uint32(len(m.types)), uint32(len(m.types))+1
	d.markFunc, d.rangeFunc = m.numFuncs(), m.numFuncs()+1
	d.wordGlobal = uint32(len(m.globals))
	d.sumGlobal = d.wordGlobal + DirtyWords
	d.lastGlobal = d.sumGlobal + 1
	d.countGlobal = d.lastGlobal + 1
	d.resetType, d.resetFunc = uint32(len(m.types))+2, m.numFuncs()+2
	d.resetGlobals = resetGlobals(m)
	helpers := 2
	if d.resetGlobals != nil {
		helpers = 3
	}
	counters := 0
	if d.count {
		counters = 2
	}
	res := &DirtyResult{Summary: DirtyExportPrefix + "sum", Last: DirtyExportPrefix + "last"}
	if d.resetGlobals != nil {
		res.Reset, res.ResetGlobals = DirtyExportPrefix+"reset", len(d.resetGlobals)
	}
	for i := range DirtyWords {
		res.Words = append(res.Words, DirtyExportPrefix+strconv.Itoa(i))
	}

	code := appendU32(nil, uint32(len(m.code)+helpers))
	for i := range m.code {
		if code, err = d.function(code, i); err != nil {
			return nil, err
		}
	}
	code = d.appendHelpers(code)
	res.Stores, res.Covered = d.stores, d.covered

	res.Module = m.layout(append(make([]byte, 0, len(wasm)+len(wasm)/4+1024), wasmHeader...), func(id byte) []byte {
		var s *section
		if k := m.secIdx[id]; k >= 0 {
			s = &m.sections[k]
		}
		old := func() []byte {
			if s == nil {
				return nil
			}
			return m.b[s.start:s.end]
		}
		// vec returns the section's entries after n more than it had.
		vec := func(had, n int) []byte {
			b := appendU32(nil, uint32(had+n))
			if s != nil {
				b = append(b, m.b[m.afterCount(s):s.end]...)
			}
			return b
		}
		switch id {
		case secType:
			b := vec(len(m.types), helpers)
			b = append(b, 0x60, 1, tI32, 0)       // mark(page i32)
			b = append(b, 0x60, 2, tI32, tI32, 0) // markRange(dst, n i32)
			if d.resetGlobals != nil {
				b = append(b, 0x60, 0, 0) // reset()
			}
			return b
		case secFunction:
			b := vec(len(m.funcs)-int(m.numImportedFuncs), helpers)
			b = appendU32(b, d.markType)
			b = appendU32(b, d.rangeType)
			if d.resetGlobals != nil {
				b = appendU32(b, d.resetType)
			}
			return b
		case secGlobal:
			b := vec(len(m.globals)-int(m.numImportedGlobals), DirtyWords+2+counters)
			for range DirtyWords {
				b = append(b, tI64, 1, 0x42, 0, 0x0b)
			}
			b = append(b, tI32, 1, 0x41, 0, 0x0b)
			b = append(b, tI64, 1, 0x42)
			b = appendS64(b, -1) // DirtyNoPage
			b = append(b, 0x0b)
			for range counters {
				b = append(b, tI64, 1, 0x42, 0, 0x0b)
			}
			return b
		case secExport:
			names := res.Globals()
			if d.count {
				names = append(names, DirtyExportPrefix+"checks", DirtyExportPrefix+"marks")
			}
			n := len(names)
			if res.Reset != "" {
				n++
			}
			b := vec(m.numExports, n)
			for i, name := range names {
				b = appendName(b, name)
				b = append(b, 0x03)
				b = appendU32(b, d.wordGlobal+uint32(i))
			}
			if res.Reset != "" {
				b = appendName(b, res.Reset)
				b = append(b, 0x00)
				b = appendU32(b, d.resetFunc)
			}
			return b
		case secCode:
			return code
		}
		return old()
	}, func(out []byte, s *section) []byte {
		return appendSection(out, secCustom, m.b[s.start:s.end])
	})
	return res, nil
}

// dirtyPass rewrites function bodies for TrackDirtyPages.
type dirtyPass struct {
	m                   *module
	markType, rangeType uint32
	markFunc, rangeFunc uint32
	wordGlobal          uint32 // the first bitmap word; the others follow
	sumGlobal           uint32
	lastGlobal          uint32
	stores, covered     int
	body                []byte
	an                  analysis

	// noGroups makes every store check its own page (see analyse), and
	// count adds two exported i64 counters, DirtyExportPrefix + "checks"
	// (the inline checks run) and DirtyExportPrefix + "marks" (the calls
	// of mark): both for measurements in tests.
	noGroups, count bool
	countGlobal     uint32 // checks; marks is the next

	// The reset function (DirtyResult.Reset), if resetGlobals is not nil:
	// the indices of the globals it sets, each from its 8-byte slot of memory.
	resetType, resetFunc uint32
	resetGlobals         []uint32
}

// resetGlobals returns the indices of the mutable globals of m, or nil if
// the reset function cannot set them all (see DirtyResult.Reset).
func resetGlobals(m *module) []uint32 {
	gs := []uint32{}
	for i, g := range m.globals {
		if !g.mut {
			continue
		}
		if uint32(i) < m.numImportedGlobals || len(gs) == maxResetGlobals {
			return nil
		}
		switch g.t {
		case tI32, tI64, tF32, tF64:
		default:
			return nil
		}
		gs = append(gs, uint32(i))
	}
	return gs
}

// analysis is the state of analyse, kept to reuse its buffers.
type analysis struct {
	plans   []storePlan
	stack   []producer
	facts   []groupFact
	scopes  []scope
	ver     map[uint32]uint32
	touched []uint32
}

// storeType is the type of the value each store opcode stores.
var storeType = map[byte]byte{
	0x36: tI32, 0x37: tI64, 0x38: tF32, 0x39: tF64,
	0x3a: tI32, 0x3b: tI32, 0x3c: tI64, 0x3d: tI64, 0x3e: tI64,
}

// function appends the rewritten body of function i (its size first) to
// code.
func (d *dirtyPass) function(code []byte, i int) ([]byte, error) {
	m := d.m
	c := m.code[i]
	body := m.b[c.start:c.end]
	fn := int(m.numImportedFuncs) + i
	r := newReader(body, 0, len(body))
	ndecl := r.u32()
	declStart := r.pos
	nlocals := uint64(len(m.types[m.funcs[fn]].params))
	for j := uint32(0); j < ndecl && r.err == nil; j++ {
		nlocals += uint64(r.u32())
		r.byte()
	}
	declEnd := r.pos
	// The new locals: four i32 (address, page, an i32 value or the length
	// of a bulk operation, and a group's first address), then one of each
	// other type stored.
	var (
		locA, locP, locN, locQ = uint32(nlocals), uint32(nlocals) + 1, uint32(nlocals) + 2, uint32(nlocals) + 3
		valLocal               = map[byte]uint32{tI32: locN}
		extra                  []byte // value types of the locals after the four i32
	)
	var plans []storePlan
	if r.err == nil {
		plans = d.analyse(body, r.pos, len(body))
	}
	local := func(t byte) uint32 {
		l, ok := valLocal[t]
		if !ok {
			l = uint32(nlocals) + 4 + uint32(len(extra))
			valLocal[t] = l
			extra = append(extra, t)
		}
		return l
	}
	out := d.body[:0]
	from := r.pos
	n, k := 0, 0
	for r.pos < r.end && r.err == nil {
		off := r.pos
		op := r.byte()
		switch {
		case op <= 0x01, op == 0x05, op == 0x0b, op == 0x0f, op == 0x1a, op == 0x1b,
			op >= 0x45 && op <= 0xc4, op == 0xd1:
		case op >= 0x02 && op <= 0x04: // block, loop, if
			r.s33()
		case op == 0x0c, op == 0x0d, op == 0x10, op >= 0x20 && op <= 0x26, op == 0x3f, op == 0x40, op == 0xd2:
			r.u32()
		case op == 0x0e: // br_table
			cnt := r.count(1, maxBrTableLabels, "br_table labels")
			for j := 0; j <= cnt && r.err == nil; j++ {
				r.u32()
			}
		case op == 0x11: // call_indirect
			r.u32()
			r.u32()
		case op == 0x1c: // select t*
			cnt := r.count(1, maxParams, "select types")
			for j := 0; j < cnt && r.err == nil; j++ {
				r.byte()
			}
		case op >= 0x28 && op <= 0x35: // loads
			r.u32()
			r.u32()
		case op >= 0x36 && op <= 0x3e: // stores
			r.u32()
			offset := r.u32()
			if r.err != nil {
				break
			}
			pl := storePlan{kind: checkOwn}
			if k < len(plans) {
				pl = plans[k]
			}
			k++
			if pl.kind == covered {
				d.covered++
				break
			}
			out = append(out, body[from:off]...)
			from = off
			if pl.kind == checkGroup {
				out = d.appendGroupMark(out, local(storeType[op]), locA, locP, locQ, pl.lo, pl.hi)
			} else {
				out = d.appendStoreMark(out, local(storeType[op]), locA, locP, offset)
			}
			n++
		case op == 0x41:
			r.s32()
		case op == 0x42:
			r.s64()
		case op == 0x43:
			r.skip(4)
		case op == 0x44:
			r.skip(8)
		case op == 0xd0:
			r.byte()
		case op == 0xfc:
			switch sub := r.u32(); {
			case sub <= 7:
			case sub == 8 || sub == 10 || sub == 11: // memory.init, memory.copy, memory.fill
				r.u32()
				if sub != 11 {
					r.u32()
				}
				if r.err != nil {
					break
				}
				out = append(out, body[from:off]...)
				from = off
				out = d.appendRangeMark(out, locA, locP, locN)
				n++
			case sub == 9 || sub == 13 || sub == 15 || sub == 16 || sub == 17: // data.drop, elem.drop, table.grow/size/fill
				r.u32()
			case sub == 12 || sub == 14: // table.init, table.copy
				r.u32()
				r.u32()
			default:
				return nil, unsupported(c.start+off, "unknown", "opcode 0xfc %d", sub)
			}
		default:
			return nil, unsupported(c.start+off, "unknown", "opcode 0x%02x", op)
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	if n == 0 {
		code = appendU32(code, uint32(len(body)))
		return append(code, body...), nil
	}
	d.stores += n
	out = append(out, body[from:]...)
	if nlocals+4+uint64(len(extra)) > maxLocals {
		return nil, tooLarge(c.start, "too many locals once dirty pages are tracked (func %d)", fn)
	}
	decls := appendU32(nil, ndecl+1+uint32(len(extra)))
	decls = append(decls, body[declStart:declEnd]...)
	decls = append(decls, 4, tI32)
	for _, t := range extra {
		decls = append(decls, 1, t)
	}
	size := len(decls) + len(out)
	if size > maxFuncBodySize {
		return nil, tooLarge(c.start, "function body too large once dirty pages are tracked: %d bytes (func %d)", size, fn)
	}
	code = appendU32(code, uint32(size))
	code = append(append(code, decls...), out...)
	d.body = out
	return code, nil
}

// appendStoreMark appends the code that marks the page of a store whose
// operands (address, value) are on the stack, leaving them there:
//
//	local.set $v  local.tee $a  [i32.const offset  i32.add]
//	i32.const 12  i32.shr_u  local.tee $p  global.get $last  i32.ne
//	if  local.get $p  call $mark  end
//	local.get $a  local.get $v
//
// An effective address past 4 GiB wraps, marking some page: the store
// traps anyway.
func (d *dirtyPass) appendStoreMark(b []byte, v, a, p, offset uint32) []byte {
	b = d.appendCount(b, d.countGlobal)
	b = append(b, 0x21)
	b = appendU32(b, v)
	b = append(b, 0x22)
	b = appendU32(b, a)
	if offset != 0 {
		b = append(b, 0x41)
		b = appendS64(b, int64(int32(offset)))
		b = append(b, 0x6a)
	}
	b = append(b, 0x41, DirtyPageShift, 0x76, 0x22)
	b = appendU32(b, p)
	b = d.appendCheck(b, p)
	b = append(b, 0x20)
	b = appendU32(b, a)
	b = append(b, 0x20)
	return appendU32(b, v)
}

// storePlan is what the rewrite emits before one store: a check of the
// page of the store's own address (checkOwn), a check of the pages of
// address - own offset + lo ... + hi (checkGroup: the store leads a group
// of stores to the same base address, whose offsets lie in [lo, hi]), or
// nothing (covered: a group's leader, run before it, checked its page).
type storePlan struct {
	kind   byte
	lo, hi uint32
}

const (
	checkOwn byte = iota
	checkGroup
	covered
)

// producer names what pushed an operand: local L+1 (0: anything else) as
// it was at version ver.
type producer struct{ local, ver uint32 }

// groupFact records that the store plans[store] checks the pages of the
// value local-1 had at version ver, plus offsets lo...hi.
type groupFact struct {
	producer
	store  int
	lo, hi uint32
}

// scope is a block, loop or if of the function being analysed: facts
// created inside it are dropped at its else or end, and a loop hides the
// facts created before it.
type scope struct {
	facts int
	loop  bool
}

// analyse walks body (the instructions of function fn, from pos) and
// returns the plan of each of its stores, in order.
//
// Stores whose address operand was pushed by local.get (or local.tee) of
// the same local, not assigned since (each local.set or local.tee starts a
// new version of the local), form a group when the first (the leader)
// dominates the others: it comes before them in its own block or an
// enclosing one, and no loop starts between them. The leader checks the
// pages of base + lo and base + hi where lo, hi are the least and greatest
// offset of the group, at most 4095 apart: every store of the group starts
// on one of these two pages. The others check nothing: the bitmap keeps
// every page marked until the host clears it, between export calls.
//
// The producer of each operand is tracked on an abstract stack through
// the instructions whose stack effect is known here (locals, globals,
// constants, loads, numeric operators, drop, select, calls); any other
// instruction forgets the whole stack (its operands then count as
// produced by anything), so a producer is never attributed wrongly.
func (d *dirtyPass) analyse(body []byte, pos, end int) []storePlan {
	m := d.m
	a := &d.an
	a.plans = a.plans[:0]
	a.stack = a.stack[:0]
	a.facts = a.facts[:0]
	a.scopes = append(a.scopes[:0], scope{})
	for _, l := range a.touched {
		delete(a.ver, l)
	}
	a.touched = a.touched[:0]
	if a.ver == nil {
		a.ver = map[uint32]uint32{}
	}
	seq := uint32(0)
	pop := func(n int) producer {
		var p producer
		for ; n > 0; n-- {
			if k := len(a.stack); k > 0 {
				p = a.stack[k-1]
				a.stack = a.stack[:k-1]
			} else {
				p = producer{}
			}
		}
		return p
	}
	push := func(p producer) { a.stack = append(a.stack, p) }
	other := func(pops, pushes int) {
		pop(pops)
		for range pushes {
			push(producer{})
		}
	}
	assign := func(l uint32) uint32 {
		if _, ok := a.ver[l]; !ok {
			a.touched = append(a.touched, l)
		}
		seq++
		a.ver[l] = seq
		return seq
	}
	callType := func(t funcType) { other(len(t.params), len(t.results)) }
	r := newReader(body, pos, end)
	for r.pos < r.end && r.err == nil {
		op := r.byte()
		switch {
		case op == 0x02 || op == 0x03 || op == 0x04: // block, loop, if
			r.s33()
			a.stack = a.stack[:0]
			a.scopes = append(a.scopes, scope{facts: len(a.facts), loop: op == 0x03})
		case op == 0x05: // else
			a.stack = a.stack[:0]
			a.facts = a.facts[:a.scopes[len(a.scopes)-1].facts]
		case op == 0x0b: // end
			a.stack = a.stack[:0]
			a.facts = a.facts[:a.scopes[len(a.scopes)-1].facts]
			if len(a.scopes) > 1 {
				a.scopes = a.scopes[:len(a.scopes)-1]
			}
		case op == 0x0c, op == 0x0d: // br, br_if
			r.u32()
			a.stack = a.stack[:0]
		case op == 0x0e: // br_table
			cnt := r.count(1, maxBrTableLabels, "br_table labels")
			for j := 0; j <= cnt && r.err == nil; j++ {
				r.u32()
			}
			a.stack = a.stack[:0]
		case op == 0x10: // call
			f := r.u32()
			if r.err == nil && int(f) < len(m.funcs) {
				callType(m.types[m.funcs[f]])
			} else {
				a.stack = a.stack[:0]
			}
		case op == 0x11: // call_indirect
			t := r.u32()
			r.u32()
			pop(1)
			if r.err == nil && int(t) < len(m.types) {
				callType(m.types[t])
			} else {
				a.stack = a.stack[:0]
			}
		case op == 0x1a: // drop
			pop(1)
		case op == 0x1b: // select
			other(3, 1)
		case op == 0x1c: // select t
			cnt := r.count(1, maxParams, "select types")
			for j := 0; j < cnt && r.err == nil; j++ {
				r.byte()
			}
			other(3, 1)
		case op == 0x20: // local.get
			l := r.u32()
			push(producer{local: l + 1, ver: a.ver[l]})
		case op == 0x21: // local.set
			l := r.u32()
			pop(1)
			assign(l)
		case op == 0x22: // local.tee
			l := r.u32()
			pop(1)
			push(producer{local: l + 1, ver: assign(l)})
		case op == 0x23: // global.get
			r.u32()
			other(0, 1)
		case op == 0x24: // global.set
			r.u32()
			pop(1)
		case op >= 0x28 && op <= 0x35: // loads
			r.u32()
			r.u32()
			other(1, 1)
		case op >= 0x36 && op <= 0x3e: // stores
			r.u32()
			offset := r.u32()
			pop(1)
			a.plans = append(a.plans, d.plan(pop(1), offset))
		case op == 0x3f: // memory.size
			r.u32()
			other(0, 1)
		case op == 0x40: // memory.grow
			r.u32()
			other(1, 1)
		case op == 0x41:
			r.s32()
			other(0, 1)
		case op == 0x42:
			r.s64()
			other(0, 1)
		case op == 0x43:
			r.skip(4)
			other(0, 1)
		case op == 0x44:
			r.skip(8)
			other(0, 1)
		case op == 0x45 || op == 0x50 || (op >= 0x67 && op <= 0x69) || (op >= 0x79 && op <= 0x7b) ||
			(op >= 0x8b && op <= 0x91) || (op >= 0x99 && op <= 0x9f) || (op >= 0xa7 && op <= 0xc4):
			other(1, 1) // unary operators and conversions
		case (op >= 0x46 && op <= 0x4f) || (op >= 0x51 && op <= 0x66) || (op >= 0x6a && op <= 0x78) ||
			(op >= 0x7c && op <= 0x8a) || (op >= 0x92 && op <= 0x98) || (op >= 0xa0 && op <= 0xa6):
			other(2, 1) // comparisons and binary operators
		default:
			// Anything else (unreachable, return, table and reference
			// instructions, 0xfc): skip its immediates and forget the stack.
			a.stack = a.stack[:0]
			switch {
			case op == 0x25 || op == 0x26 || op == 0xd2:
				r.u32()
			case op == 0xd0:
				r.byte()
			case op == 0xfc:
				switch sub := r.u32(); {
				case sub == 8 || sub == 10:
					r.u32()
					r.u32()
				case sub == 9 || sub == 11 || sub == 13 || sub == 15 || sub == 16 || sub == 17:
					r.u32()
				case sub == 12 || sub == 14:
					r.u32()
					r.u32()
				}
			}
		}
	}
	return a.plans
}

// plan returns the plan of a store at offset whose address operand p
// pushed, recording a group fact if it leads a group.
func (d *dirtyPass) plan(p producer, offset uint32) storePlan {
	a := &d.an
	if p.local == 0 || d.noGroups {
		return storePlan{kind: checkOwn}
	}
	bottom := 0
	for j := len(a.scopes) - 1; j >= 0; j-- {
		if a.scopes[j].loop {
			bottom = a.scopes[j].facts
			break
		}
	}
	for j := len(a.facts) - 1; j >= bottom; j-- {
		f := &a.facts[j]
		if f.producer != p {
			continue
		}
		lo, hi := min(f.lo, offset), max(f.hi, offset)
		if hi-lo >= 1<<DirtyPageShift {
			return storePlan{kind: checkOwn}
		}
		f.lo, f.hi = lo, hi
		a.plans[f.store].lo, a.plans[f.store].hi = lo, hi
		return storePlan{kind: covered}
	}
	a.facts = append(a.facts, groupFact{producer: p, store: len(a.plans), lo: offset, hi: offset})
	return storePlan{kind: checkGroup, lo: offset, hi: offset}
}

// appendCheck appends the code that marks page $p unless it is the last
// page marked:
//
//	global.get $last  i32.ne  if  local.get $p  call $mark  end
//
// $p is on the stack before it, and left in local $p.
func (d *dirtyPass) appendCheck(b []byte, p uint32) []byte {
	b = append(b, 0x23)
	b = appendU32(b, d.lastGlobal)
	b = append(b, 0xa7, 0x47, 0x04, 0x40, 0x20)
	b = appendU32(b, p)
	b = append(b, 0x10)
	b = appendU32(b, d.markFunc)
	return append(b, 0x0b)
}

// appendCount appends the code that adds one to the counter global g (with
// count only).
func (d *dirtyPass) appendCount(b []byte, g uint32) []byte {
	if !d.count {
		return b
	}
	b = appendU32(append(b, 0x23), g)
	b = append(b, 0x42, 1, 0x7c, 0x24)
	return appendU32(b, g)
}

// appendGroupMark appends the code that marks the pages of a group of
// stores (see analyse) at the leader, whose operands (address, value)
// are on the stack, leaving them there: the page of address + lo, and the
// next one if address + hi is on it:
//
//	local.set $v  local.tee $a  [i32.const lo  i32.add]  local.tee $q
//	i32.const 12  i32.shr_u  local.tee $p  global.get $last  i32.ne
//	if  local.get $p  call $mark  end
//	[local.get $q  i32.const 4095  i32.and  i32.const 4096-(hi-lo)  i32.ge_u
//	 if  local.get $p  i32.const 1  i32.add  call $mark  end]
//	local.get $a  local.get $v
//
// An address + lo past 4 GiB wraps, marking some page: every store of the
// group traps anyway. Address + hi is not computed: it is on the page of
// address + lo or the next, and the next only when the offset of
// address + lo in its page is at least 4096-(hi-lo).
func (d *dirtyPass) appendGroupMark(b []byte, v, a, p, q, lo, hi uint32) []byte {
	b = d.appendCount(b, d.countGlobal)
	b = append(b, 0x21)
	b = appendU32(b, v)
	b = append(b, 0x22)
	b = appendU32(b, a)
	if lo != 0 {
		b = append(b, 0x41)
		b = appendS64(b, int64(int32(lo)))
		b = append(b, 0x6a)
	}
	if hi != lo {
		b = append(b, 0x22)
		b = appendU32(b, q)
	}
	b = append(b, 0x41, DirtyPageShift, 0x76, 0x22)
	b = appendU32(b, p)
	b = d.appendCheck(b, p)
	if hi != lo {
		b = append(b, 0x20)
		b = appendU32(b, q)
		b = append(b, 0x41)
		b = appendS64(b, 1<<DirtyPageShift-1)
		b = append(b, 0x71, 0x41)
		b = appendS64(b, int64(1<<DirtyPageShift-(hi-lo)))
		b = append(b, 0x4f, 0x04, 0x40, 0x20)
		b = appendU32(b, p)
		b = append(b, 0x41, 1, 0x6a, 0x10)
		b = appendU32(b, d.markFunc)
		b = append(b, 0x0b)
	}
	b = append(b, 0x20)
	b = appendU32(b, a)
	b = append(b, 0x20)
	return appendU32(b, v)
}

// appendRangeMark appends the code that marks the destination of a
// memory.fill, memory.copy or memory.init whose operands (destination,
// value or source, length) are on the stack, leaving them there.
func (d *dirtyPass) appendRangeMark(b []byte, dst, x, n uint32) []byte {
	b = append(b, 0x21)
	b = appendU32(b, n)
	b = append(b, 0x21)
	b = appendU32(b, x)
	b = append(b, 0x22)
	b = appendU32(b, dst)
	b = append(b, 0x20)
	b = appendU32(b, n)
	b = append(b, 0x10)
	b = appendU32(b, d.rangeFunc)
	for _, l := range []uint32{dst, x, n} {
		b = append(b, 0x20)
		b = appendU32(b, l)
	}
	return b
}

// appendHelpers appends the bodies of mark and markRange.
func (d *dirtyPass) appendHelpers(code []byte) []byte {
	gget := func(b []byte, g uint32) []byte { return appendU32(append(b, 0x23), g) }
	gset := func(b []byte, g uint32) []byte { return appendU32(append(b, 0x24), g) }

	// mark(p): $last = p; sum |= 1 << ((p>>6)&15); word[(p>>6)&15] |= 1 << (p&63).
	var f []byte
	f = append(f, 0) // no locals
	// $last holds the last page marked (low half) and the one before
	// (high half): p becomes the last, the last the one before; a p that
	// was the one before is marked already.
	f = gget(f, d.lastGlobal)
	f = append(f, 0x42, 32, 0x88, 0xa7, 0x20, 0, 0x46) // i32.wrap(last >> 32) == p
	f = append(f, 0x20, 0, 0xad)                       // i64.extend_i32_u(p)
	f = gget(f, d.lastGlobal)
	f = append(f, 0x42, 32, 0x86, 0x84) // last << 32, or
	f = gset(f, d.lastGlobal)
	f = append(f, 0x04, 0x40, 0x0f, 0x0b) // if: return
	f = d.appendCount(f, d.countGlobal+1)
	f = gget(f, d.sumGlobal)
	f = append(f, 0x41, 1, 0x20, 0, 0x41, 6, 0x76, 0x41, DirtyWords-1, 0x71, 0x74, 0x72) // 1 << ((p>>6)&15), or
	f = gset(f, d.sumGlobal)
	for range DirtyWords {
		f = append(f, 0x02, 0x40) // block
	}
	f = append(f, 0x20, 0, 0x41, 6, 0x76, 0x41, DirtyWords-1, 0x71) // (p>>6)&15
	f = append(f, 0x0e)
	f = appendU32(f, DirtyWords)
	for i := range DirtyWords {
		f = appendU32(f, uint32(i))
	}
	f = appendU32(f, DirtyWords-1)
	for i := range DirtyWords {
		f = append(f, 0x0b) // end of the block br_table's label i leaves
		f = gget(f, d.wordGlobal+uint32(i))
		f = append(f, 0x42, 1, 0x20, 0, 0xad, 0x86, 0x84) // 1 << extend_u(p) (i64.shl takes it mod 64), or
		f = gset(f, d.wordGlobal+uint32(i))
		if i < DirtyWords-1 {
			f = append(f, 0x0f) // return
		}
	}
	f = append(f, 0x0b)
	code = appendU32(code, uint32(len(f)))
	code = append(code, f...)

	// markRange(dst, n): nothing for n == 0; every bit for DirtyBits pages
	// or more; else mark(p) for each page p of [dst, dst+n).
	f = f[:0]
	f = append(f, 1, 2, tI32)                            // locals 2 (first page), 3 (last page)
	f = append(f, 0x20, 1, 0x45, 0x04, 0x40, 0x0f, 0x0b) // if n == 0: return
	f = append(f, 0x20, 0, 0x41, DirtyPageShift, 0x76, 0x21, 2)
	// last = (u64(dst) + u64(n) - 1) >> 12
	f = append(f, 0x20, 0, 0xad, 0x20, 1, 0xad, 0x7c, 0x42, 1, 0x7d, 0x42, DirtyPageShift, 0x88, 0xa7, 0x21, 3)
	f = append(f, 0x20, 3, 0x20, 2, 0x6b, 0x41)
	f = appendS64(f, DirtyBits-1)
	f = append(f, 0x4f, 0x04, 0x40) // if last-first >= DirtyBits-1
	for i := range DirtyWords {
		f = append(f, 0x42, 0x7f)
		f = gset(f, d.wordGlobal+uint32(i))
	}
	f = append(f, 0x41)
	f = appendS64(f, 1<<DirtyWords-1)
	f = gset(f, d.sumGlobal)
	f = append(f, 0x0f, 0x0b)
	f = append(f, 0x02, 0x40, 0x03, 0x40) // block loop
	f = append(f, 0x20, 2, 0x10)
	f = appendU32(f, d.markFunc)
	f = append(f, 0x20, 2, 0x20, 3, 0x4f, 0x0d, 1) // br_if 1 when first >= last
	f = append(f, 0x20, 2, 0x41, 1, 0x6a, 0x21, 2, 0x0c, 0, 0x0b, 0x0b)
	f = append(f, 0x0b)
	code = appendU32(code, uint32(len(f)))
	code = append(code, f...)
	if d.resetGlobals == nil {
		return code
	}

	// reset(): global i = load(8*i) for each; store every word at 8*w and
	// clear it; sum = 0; last = DirtyNoPage.
	f = f[:0]
	f = append(f, 0) // no locals
	for i, g := range d.resetGlobals {
		f = append(f, 0x41, 0) // i32.const 0
		switch d.m.globals[g].t {
		case tI32:
			f = append(f, 0x28, 2)
		case tI64:
			f = append(f, 0x29, 3)
		case tF32:
			f = append(f, 0x2a, 2)
		default: // tF64
			f = append(f, 0x2b, 3)
		}
		f = appendU32(f, uint32(8*i))
		f = gset(f, g)
	}
	for i := range DirtyWords {
		f = append(f, 0x41, 0) // i32.const 0
		f = gget(f, d.wordGlobal+uint32(i))
		f = appendU32(append(f, 0x37, 3), uint32(8*i)) // i64.store
		f = append(f, 0x42, 0)
		f = gset(f, d.wordGlobal+uint32(i))
	}
	f = append(f, 0x41, 0)
	f = gset(f, d.sumGlobal)
	f = append(f, 0x42, 0x7f)
	f = gset(f, d.lastGlobal)
	f = append(f, 0x0b)
	code = appendU32(code, uint32(len(f)))
	return append(code, f...)
}
