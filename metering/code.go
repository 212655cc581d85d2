package metering

import (
	"fmt"
	"slices"
	"sort"
)

// ctrlFrame is an entry of the control stack of the validation algorithm
// (WebAssembly specification, appendix "Validation Algorithm").
type ctrlFrame struct {
	params, results []byte
	height          int
	op              byte // 0 for the function body, else block/loop/if/else opcode
	unreachable     bool
	// dead is set for a frame pushed in unreachable code: none of its
	// instructions ever runs.
	dead bool
	// targeted is set when a branch names this frame's label.
	targeted bool
	// syn counts the labels injected between this frame's label and the
	// function's (three around each loop wrapped for yield checkpoints):
	// a branch to this frame from a frame with a larger syn crosses the
	// difference.
	syn uint32
	// wrap is the index in codePass.wraps of a wrapped loop, -1 otherwise.
	wrap int
	// cp is, for yield checkpoints without gas (codePass.countdown), the
	// index in codePass.patches of the checkpoint that owns the frame's
	// instructions: its loop's header, or the function entry.
	cp int
	// cdLoop is the index in codePass.cdLoops of a loop with a countdown
	// checkpoint, -1 otherwise.
	cdLoop int
	// loop is the innermost loop around or at this frame (an index in
	// codePass.loopHot), -1 outside loops.
	loop int32
	// ifPatch is, for an if, the index in codePass.patches of its pIf.
	ifPatch int
	// tbl tells which branches name this frame's label: 0 none, k+1
	// only br_table k of codePass.brTabs (at one or more of its labels),
	// -1 any other (or more than one br_table). slot is then the frame's
	// index among the distinct targets of that br_table.
	tbl  int32
	slot uint32
}

// brTab is a br_table of the current function (see pBrTable).
type brTab struct {
	// labels is where its labels, default last, are in codePass.brLabels,
	// as slots: the index of the label's target among its distinct
	// targets, or noSlot for a target it cannot charge (not a block, or
	// named by another branch).
	labels [2]int
	// slots is where the segments of its distinct targets start in
	// codePass.brSlots: the index in codePass.patches of the segment that
	// starts after the target block's end when this br_table enters it
	// and, if anything else does, only the false edge of an if by
	// fallthrough (see brPreds), else -1.
	slots int
	// local is the local whose value is the br_table's index: it is read
	// (local.get) right before the br_table.
	local uint32
	// hdr is the index in codePass.patches of the charge of the loop
	// header segment the br_table ends: only blocks and the local.get of
	// its index run between the loop and the br_table (Go's dispatch).
	hdr int
	// fold reports that the header's charge moved to right before the
	// br_table, with the charge of the target the index selects (see
	// planBrTables), charged by helper from its labels at base.
	fold   bool
	helper *brHelper
	base   uint32
}

// noSlot marks a br_table label whose target's segment it does not charge.
const noSlot = ^uint32(0)

// cdLoop is a loop with a countdown checkpoint (yield checkpoints without
// gas), or a loop with a gas checkpoint (metered, with yield checkpoints):
// both copy the locals the loop writes on their cold path.
type cdLoop struct {
	// cp is the index of its checkpoint patch, -1 with gas.
	cp int
	// sets is where its body's writes start in codePass.sets, then
	// copies[0:2] where the locals its cold path copies are in
	// codePass.copyBuf.
	sets   int
	copies [2]int
	// params are the loop's parameter types.
	params []byte
}

// maxCopies is the most locals the cold path of a countdown checkpoint
// copies.
const maxCopies = 64

// loopWrap is a loop wrapped for yield checkpoints.
type loopWrap struct {
	bt     []byte // the loop's block type, as encoded
	params []byte
	cp     int // the loop header's checkpoint patch, without gas
	cdLoop int // the loop's index in codePass.cdLoops
	// charge is, metered, the charge of the loop's header (see
	// appendHotCheck).
	charge uint64
}

// Patch kinds applied when a body is re-emitted.
const (
	pCharge   uint8 = iota // insert the static gas charge val (if non-zero)
	pFunc                  // replace a function index LEB by the shifted index val
	pReturn                // replace return by br val (to the wrapper block)
	pDyn                   // insert a dynamic charge of val per unit
	pFinalEnd              // replace the body's final end: end, depth epilogue, end
	pStore                 // insert local.get $g; global.set $gas
	pLoad                  // insert global.get $gas; local.set $g
	pYield                 // insert the countdown check of a loop header, of weight val, of loop cdLoops[depth]
	pYEntry                // insert the yield checkpoint of a function entry (without gas: of weight val)
	pLoopOpen              // insert the wrapper blocks of loop wraps[val]
	pLoopEnd               // insert what follows the end of a wrapped loop
	pLabel                 // replace a label LEB by val
	pGrow                  // replace table.grow val by a call of its limit helper
	// pIf: before an if, charge the first segment of the branch its
	// condition takes, when both branches start a segment entered only
	// from the if: the segments val (then) and depth (false), or none
	// while depth is noIfSeg (see emit).
	pIf
	// pBrTable: before br_table brTabs[val], the charge of the loop
	// header the br_table ends and of the target its index selects, when
	// planBrTables moved them there (see appendBrTableCharge).
	pBrTable
)

// pricedKey names a helper of given costs: its kind (hCost or hIfPair)
// and its costs.
type pricedKey struct {
	kind  int
	costs [3]uint64
}

// noIfSeg marks a pIf whose false edge does not start a segment of its own.
const noIfSeg = ^uint32(0)

type patch struct {
	off   int // input offset
	skip  int // input bytes replaced
	kind  uint8
	depth uint32 // for pYield: its loop in cdLoops
	val   uint64
	// dead marks a pCharge of a segment that is never entered (it starts
	// in unreachable code): not emitted.
	dead bool
	// merged marks a pCharge made by the pIf before its if, or the
	// pBrTable before its br_table, and a pIf that charges its then
	// branch, or its false edge and the segment after (see planBrTables).
	merged bool
	// after is, for a pIf, the segment its false edge falls into through
	// the end of a block (see planBrTables), 0 none.
	after int32
	// loop is, for a pCharge, the innermost loop around its segment (an
	// index in codePass.loopHot), -1 outside loops.
	loop int32
}

// signature of a plain numeric instruction: pops n values of type in, pushes out.
type numSig struct {
	in, out byte
	n       uint8
}

var (
	// computes marks the one-byte opcodes that compute a value: every
	// instruction with a result but local.get, local.tee, call,
	// call_indirect and the control instructions (block, loop, if, else,
	// end, br_if pass values on); 0xfc instructions are counted apart.
	computes    [256]bool
	numSigs     [256]numSig
	nondetFloat [256]bool
	singleType  [256][]byte
	// natural alignment (log2) of loads and stores, and their value types
	memAlign [256]uint8
	memType  [256]byte
)

func init() {
	set := func(lo, hi int, n uint8, in, out byte) {
		for i := lo; i <= hi; i++ {
			numSigs[i] = numSig{in: in, out: out, n: n}
		}
	}
	set(0x45, 0x45, 1, tI32, tI32)
	set(0x46, 0x4f, 2, tI32, tI32)
	set(0x50, 0x50, 1, tI64, tI32)
	set(0x51, 0x5a, 2, tI64, tI32)
	set(0x5b, 0x60, 2, tF32, tI32)
	set(0x61, 0x66, 2, tF64, tI32)
	set(0x67, 0x69, 1, tI32, tI32)
	set(0x6a, 0x78, 2, tI32, tI32)
	set(0x79, 0x7b, 1, tI64, tI64)
	set(0x7c, 0x8a, 2, tI64, tI64)
	set(0x8b, 0x91, 1, tF32, tF32)
	set(0x92, 0x98, 2, tF32, tF32)
	set(0x99, 0x9f, 1, tF64, tF64)
	set(0xa0, 0xa6, 2, tF64, tF64)
	set(0xa7, 0xa7, 1, tI64, tI32)
	set(0xa8, 0xa9, 1, tF32, tI32)
	set(0xaa, 0xab, 1, tF64, tI32)
	set(0xac, 0xad, 1, tI32, tI64)
	set(0xae, 0xaf, 1, tF32, tI64)
	set(0xb0, 0xb1, 1, tF64, tI64)
	set(0xb2, 0xb3, 1, tI32, tF32)
	set(0xb4, 0xb5, 1, tI64, tF32)
	set(0xb6, 0xb6, 1, tF64, tF32)
	set(0xb7, 0xb8, 1, tI32, tF64)
	set(0xb9, 0xba, 1, tI64, tF64)
	set(0xbb, 0xbb, 1, tF32, tF64)
	set(0xbc, 0xbc, 1, tF32, tI32)
	set(0xbd, 0xbd, 1, tF64, tI64)
	set(0xbe, 0xbe, 1, tI32, tF32)
	set(0xbf, 0xbf, 1, tI64, tF64)
	set(0xc0, 0xc1, 1, tI32, tI32)
	set(0xc2, 0xc4, 1, tI64, tI64)

	// Float instructions whose NaN results have unspecified bit patterns:
	// arithmetic, sqrt, min/max, rounding, promote/demote. abs, neg,
	// copysign, comparisons, conversions from integers, truncations to
	// integers and reinterpretations are deterministic.
	for _, op := range []int{
		0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97,
		0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5,
		0xb6, 0xbb,
	} {
		nondetFloat[op] = true
	}

	for op := range computes {
		computes[op] = numSigs[op].n != 0 || op >= 0x28 && op <= 0x35 || op >= 0x3f && op <= 0x44 ||
			op == 0x1b || op == 0x1c || op == 0x23 || op == 0x25 || op >= 0xd0 && op <= 0xd2
	}

	for _, t := range []byte{tI32, tI64, tF32, tF64, tFuncRef, tExternRef} {
		singleType[t] = []byte{t}
	}

	loads := []struct {
		op    int
		align uint8
		t     byte
	}{
		{0x28, 2, tI32}, {0x29, 3, tI64}, {0x2a, 2, tF32}, {0x2b, 3, tF64},
		{0x2c, 0, tI32}, {0x2d, 0, tI32}, {0x2e, 1, tI32}, {0x2f, 1, tI32},
		{0x30, 0, tI64}, {0x31, 0, tI64}, {0x32, 1, tI64}, {0x33, 1, tI64},
		{0x34, 2, tI64}, {0x35, 2, tI64},
		{0x36, 2, tI32}, {0x37, 3, tI64}, {0x38, 2, tF32}, {0x39, 3, tF64},
		{0x3a, 0, tI32}, {0x3b, 1, tI32}, {0x3c, 0, tI64}, {0x3d, 1, tI64},
		{0x3e, 2, tI64},
	}
	for _, l := range loads {
		memAlign[l.op], memType[l.op] = l.align, l.t
	}
}

// codePass validates and instruments function bodies. Its slices are reused
// from one body to the next.
type codePass struct {
	m   *module
	c   *costs
	cfg *Config

	vals   []byte
	ctrls  []ctrlFrame
	locals []byte
	// runs of declared locals: local indices below runEnds[i] (and not below
	// runEnds[i-1]) have type runTypes[i]; used when there are many locals
	runEnds  []uint32
	runTypes []byte
	patches  []patch
	labels   []uint32
	tmp      []byte
	// maxVals is the maximum height of the operand stack in the current
	// function; nlocals its number of parameters and declared locals;
	// computed its number of instructions that compute a value (see
	// computes).
	maxVals  int
	nlocals  uint64
	computed uint64

	fn int // index of the function being processed (original index space)
	// declStart is the offset of the first local declaration, ndecl their count.
	declStart, ndecl int
	gasLocal         uint32
	curSeg           int
	curCost          uint64

	// validateOnly is set by PrepareSnapshot: bodies are validated, not
	// instrumented (no local is injected).
	validateOnly bool
	// insp, set by ModuleInfo.InspectCode (with validateOnly), is told
	// about local declarations, blocks, br_table sizes and instructions
	// (inspect.go) and may refuse the function.
	insp *inspector
	// stateOp names the first instruction found that changes state a
	// snapshot of memory and globals cannot restore (tables, dropped
	// segments), "" if none; stateOff is its offset and stateFunc its
	// function.
	stateOp             string
	stateOff, stateFunc int

	// injected indices
	gasGlobal, depthGlobal uint32
	yieldFunc              uint32
	// gm is set, while emitting a metered function without loops, when it
	// works on __gas_counter__ itself instead of a local copy.
	gm               bool
	oogFunc, cdeFunc uint32
	shift            uint32
	// Helper functions are numbered in the order of their first use from helperBase on (helperOrder lists their
	// kinds, hEnter…hGrow+table; helperIdx maps a kind to its index, -1
	// until used), so a module gets only the helpers its code calls.
	helperBase  uint32
	helperIdx   []int32
	helperOrder []int
	// pricedIdx maps a helper of given costs to its function index: a
	// charge helper of a cost C (hCost, {C, 0}, see costHelper) or an
	// if-charge helper of a pair of costs (hIfPair, {T, F}, see
	// pairHelper), of which a module gets at most maxCostHelpers;
	// helperCosts gives the costs of each entry of helperOrder (zero for
	// other helpers). costUses and pairUses count the charges of each cost
	// and pair so far.
	pricedIdx      map[pricedKey]uint32
	costUses       map[uint64]int
	pairUses       map[[2]uint64]int
	maxCostHelpers int
	helperCosts    [][3]uint64
	// brVec and brCostBuf are scratch for planBrTables.
	brVec, brCostBuf []uint64
	// brHelpers lists the br_table charge helpers (see brTableHelper);
	// brKey is scratch.
	brHelpers []*brHelper
	brKey     []byte

	// brTabs lists the current function's br_tables (see noteBrTable),
	// brLabels and brSlots their labels and the segments of their targets.
	brTabs   []brTab
	brLabels []uint32
	brSlots  []int32
	// getEnd is the offset following the last local.get or local.tee
	// read, getStart its offset, getLocal its local.
	getEnd, getStart int
	getLocal         uint32
	// loopSeg is the index in patches of the segment opened by the last
	// loop header, -1 none.
	loopSeg int
	// ifEndPos is the offset following the end of the last if without
	// else whose then branch never reaches its end, ifEndPatch its pIf.
	ifEndPos, ifEndPatch int
	// brPreds is, for each entry of brSlots, the pIf whose false edge
	// falls through into the target's segment (see pIf), else -1.
	brPreds []int32

	wrapTypes map[string]uint32 // block types for multi-result wrapper blocks
	newTypes  [][]byte          // encoded types appended to the type section

	depthGet, depthSet []byte
	cdeCall            []byte
	gasGet, gasSet     []byte

	// wraps lists the current function's wrapped loops (countdown
	// checkpoints, hot loops).
	wraps []loopWrap
	// countdown is set with yield checkpoints without gas (Config.LimitsOnly
	// and Config.YieldInterval): they count instructions down in the global
	// __yield_countdown__ (gasGlobal). nloops counts the current function's
	// loops; cdLocal is set, while emitting a function, when it works on a
	// local copy of the countdown (gasLocal): when it has a loop and room
	// for one more local.
	countdown bool
	nloops    int
	// elided gives, with countdown checkpoints, the weight of each defined
	// function that has no entry checkpoint, 0 for the others (see
	// planElision); nil when none is elided.
	elided []uint64
	// loopHot tells, for each loop of the current function in the order
	// they open, whether it is hot (see hot); loopParent is the loop around
	// it, -1 if none. hint is loopHot from a first pass over the function,
	// when it found a hot loop: the second wraps them.
	loopHot    []bool
	loopParent []int32
	hint       []bool
	// wrapOf is, for each loop, its index in wraps, -1 if not wrapped.
	wrapOf []int32
	// exits is set when the current function returns or branches to its
	// own label anywhere but at its final end.
	exits   bool
	cdLocal bool
	// cdLoops lists the current function's loops with countdown
	// checkpoints; sets the locals written inside loops, in order; copyBuf
	// the locals copied by their cold paths; seen and gen deduplicate them.
	cdLoops []cdLoop
	sets    []uint32
	copyBuf []uint32
	seen    []uint32
	gen     uint32
	// gas is set unless Config.LimitsOnly: gas counter, charges, out_of_gas.
	gas bool
	// growLimit is set with Config.MaxTableElements: table.grow calls a
	// helper that checks the limit.
	growLimit bool

	out    []byte // code section content
	body   []byte
	result *Result
}

func (p *codePass) errf(kind error, off int, format string, args ...any) error {
	return &ModuleError{Kind: kind, Offset: off, Func: p.fn, Reason: fmt.Sprintf(format, args...)}
}

func (p *codePass) typeErr(off int, format string, args ...any) error {
	return p.errf(ErrInvalid, off, "type mismatch: "+format, args...)
}

func (p *codePass) push(t byte) {
	p.vals = append(p.vals, t)
	p.maxVals = max(p.maxVals, len(p.vals))
}

func (p *codePass) pushAll(ts []byte) {
	p.vals = append(p.vals, ts...)
	p.maxVals = max(p.maxVals, len(p.vals))
}

// pop pops an operand; ok is false on stack underflow.
func (p *codePass) pop() (byte, bool) {
	f := &p.ctrls[len(p.ctrls)-1]
	n := len(p.vals)
	if n == f.height {
		return tUnknown, f.unreachable
	}
	t := p.vals[n-1]
	p.vals = p.vals[:n-1]
	return t, true
}

func (p *codePass) popExpect(want byte) bool {
	t, ok := p.pop()
	return ok && (t == want || t == tUnknown || want == tUnknown)
}

func (p *codePass) popAll(ts []byte) bool {
	for i := len(ts) - 1; i >= 0; i-- {
		if !p.popExpect(ts[i]) {
			return false
		}
	}
	return true
}

func (p *codePass) setUnreachable() {
	f := &p.ctrls[len(p.ctrls)-1]
	p.vals = p.vals[:f.height]
	f.unreachable = true
}

func labelTypes(f *ctrlFrame) []byte {
	if f.op == 0x03 {
		return f.params
	}
	return f.results
}

// maxExpandedLocals is the number of locals up to which a function's local
// types are expanded into a slice.
const maxExpandedLocals = 1024

func isNum(t byte) bool { return t == tI32 || t == tI64 || t == tF32 || t == tF64 || t == tUnknown }

func isRef(t byte) bool { return t == tFuncRef || t == tExternRef || t == tUnknown }

// blockType reads a block type.
func (p *codePass) blockType(r *reader) (params, results []byte, err error) {
	off := r.pos
	b, ok := r.peek()
	if !ok {
		return nil, nil, malformed(off, "unexpected end")
	}
	if b == 0x40 {
		r.pos++
		return nil, nil, nil
	}
	if b&0xc0 == 0x40 { // one-byte negative s33: a value type
		r.pos++
		if s := singleType[b]; s != nil {
			return nil, s, nil
		}
		return nil, nil, badType(off, b)
	}
	idx := r.s33()
	if r.err != nil {
		return nil, nil, r.err
	}
	if idx < 0 {
		return nil, nil, p.errf(ErrMalformed, off, "invalid block type")
	}
	if idx >= int64(len(p.m.types)) {
		return nil, nil, p.errf(ErrInvalid, off, "unknown type %d", idx)
	}
	ft := p.m.types[idx]
	return ft.params, ft.results, nil
}

func (p *codePass) memarg(r *reader, op byte) error {
	off := r.pos
	align := r.u32()
	r.u32() // offset
	if r.err != nil {
		return r.err
	}
	if align&0x40 != 0 {
		return unsupported(off, "multi-memory", "memory index in memarg")
	}
	if align > uint32(memAlign[op]) {
		return p.errf(ErrInvalid, off, "alignment must not be larger than natural")
	}
	if !p.m.hasMemory {
		return p.errf(ErrInvalid, off, "unknown memory 0")
	}
	return nil
}

// zeroByte reads the reserved memory index byte of memory instructions.
func (p *codePass) zeroByte(r *reader) error {
	off := r.pos
	b := r.byte()
	if r.err != nil {
		return r.err
	}
	if b != 0 {
		return unsupported(off, "multi-memory", "memory index immediate")
	}
	if !p.m.hasMemory {
		return p.errf(ErrInvalid, off, "unknown memory 0")
	}
	return nil
}

func (p *codePass) tableIdx(r *reader) (uint32, error) {
	off := r.pos
	t := r.u32()
	if r.err != nil {
		return 0, r.err
	}
	if int64(t) >= int64(len(p.m.tables)) {
		return 0, p.errf(ErrInvalid, off, "unknown table %d", t)
	}
	return t, nil
}

func (p *codePass) closeSegment() {
	p.patches[p.curSeg].val = p.curCost
	p.curCost = 0
}

func (p *codePass) openSegment(off int, header bool) {
	p.curSeg = len(p.patches)
	top := &p.ctrls[len(p.ctrls)-1]
	if !header && !top.unreachable && !top.dead {
		// A hot loop has one segment, entered at its header (see hot).
		p.coolLoops(top.loop)
	}
	p.patches = append(p.patches, patch{off: off, kind: pCharge, dead: top.unreachable || top.dead, loop: top.loop})
}

// noteBrTable records the br_table at off, whose labels are p.labels,
// when it ends the segment of a loop header holding only blocks and the
// local.get of its index (Go's dispatch): a pBrTable, inserted at index
// at of p.patches, may then charge the loop header's segment and the
// target's (see planBrTables). A br_table in unreachable code runs never:
// its targets are entered otherwise, or not at all.
func (p *codePass) noteBrTable(off, at int) {
	top := &p.ctrls[len(p.ctrls)-1]
	hdr := -1
	if p.loopSeg >= 0 && p.curSeg == p.loopSeg && p.getEnd == off && p.m.b[p.getStart] == 0x20 {
		pos := p.patches[p.curSeg].off
		for pos+1 < p.getStart && p.m.b[pos] == 0x02 && p.m.b[pos+1] == 0x40 {
			pos += 2
		}
		if pos == p.getStart {
			hdr = p.curSeg
		}
	}
	if top.unreachable || top.dead || !p.gas || p.validateOnly || hdr < 0 {
		for _, l := range p.labels {
			p.ctrls[len(p.ctrls)-1-int(l)].tbl = -1
		}
		return
	}
	k := int32(len(p.brTabs)) + 1
	t := brTab{labels: [2]int{len(p.brLabels), len(p.brLabels) + len(p.labels)}, slots: len(p.brSlots), local: p.getLocal, hdr: hdr}
	for _, l := range p.labels {
		f := &p.ctrls[len(p.ctrls)-1-int(l)]
		switch {
		case f.tbl == k:
		case f.tbl == 0 && f.op == 0x02:
			f.tbl, f.slot = k, uint32(len(p.brSlots)-t.slots)
			p.brSlots = append(p.brSlots, -1)
			p.brPreds = append(p.brPreds, -1)
		default:
			f.tbl = -1
			p.brLabels = append(p.brLabels, noSlot)
			continue
		}
		p.brLabels = append(p.brLabels, f.slot)
	}
	p.brTabs = append(p.brTabs, t)
	p.patches = slices.Insert(p.patches, at, patch{off: off, kind: pBrTable, val: uint64(k - 1)})
}

// relabel records the new index of the label l read at [loff, end), if
// injected labels lie between the current frame and its target.
func (p *codePass) relabel(l uint32, loff, end int) {
	target := &p.ctrls[len(p.ctrls)-1-int(l)]
	if extra := p.ctrls[len(p.ctrls)-1].syn - target.syn; extra > 0 {
		p.patches = append(p.patches, patch{off: loff, skip: end - loff, kind: pLabel, val: uint64(l + extra)})
	}
}

// noteState records the first instruction, of name op at offset off, that
// changes state a snapshot cannot restore.
func (p *codePass) noteState(off int, op string) {
	if p.stateOp == "" {
		p.stateOp, p.stateOff, p.stateFunc = op, off, p.fn
	}
}

// coolLoops marks loop l and the loops around it as not hot: they call a
// function or hold another loop. A loop not hot has every loop around it
// not hot either, so the walk stops at the first one already marked.
func (p *codePass) coolLoops(l int32) {
	for l >= 0 && p.loopHot[l] {
		p.loopHot[l] = false
		l = p.loopParent[l]
	}
}

// hot reports whether loop l is hot: it calls no function (call,
// call_indirect, a dynamic charge), holds no other loop and has a single
// segment, entered at its header, so its charge stays inline, on a copy of
// the counter, with its slow path outside the loop (see emit).
func (p *codePass) hot(l int32) bool {
	return l >= 0 && p.loopHot[l]
}

func (p *codePass) addDyn(off int, unit uint32) {
	if unit != 0 && p.gas {
		p.coolLoops(p.ctrls[len(p.ctrls)-1].loop)
		p.patches = append(p.patches, patch{off: off, kind: pDyn, val: uint64(unit)})
	}
}

// function validates and instruments body i (defined function index i).
func (p *codePass) function(i int) error {
	m := p.m
	e := m.code[i]
	fidx := uint32(i) + m.numImportedFuncs
	p.fn = int(fidx)
	ft := m.types[m.funcs[fidx]]
	r := newReader(m.b, e.start, e.end)

	// Locals: expanded into p.locals when few, else kept as runs (bounding
	// the work per function by its size, not by its declared local count).
	p.locals = append(p.locals[:0], ft.params...)
	p.runEnds, p.runTypes = p.runEnds[:0], p.runTypes[:0]
	total := uint64(len(ft.params))
	limit := uint64(maxLocals - 1) // one more is injected
	if p.validateOnly || !p.gas {
		limit = maxLocals
	}
	ndecl := r.count(2, maxLocals, "local declarations")
	p.declStart, p.ndecl = r.pos, ndecl
	for j := 0; j < ndecl && r.err == nil; j++ {
		off := r.pos
		n := r.u32()
		t := m.valType(&r)
		if r.err != nil {
			break
		}
		total += uint64(n)
		if p.insp != nil {
			if err := p.insp.local(p, off, total, t); err != nil {
				return err
			}
		}
		if total > limit {
			return p.errf(ErrTooLarge, off, "too many locals")
		}
		p.runEnds = append(p.runEnds, uint32(total))
		p.runTypes = append(p.runTypes, t)
	}
	if total <= maxExpandedLocals {
		for j, end := range p.runEnds {
			for uint32(len(p.locals)) < end {
				p.locals = append(p.locals, p.runTypes[j])
			}
		}
		p.runEnds = p.runEnds[:0]
	}
	if r.err != nil {
		return r.err
	}
	instrStart := r.pos
	p.gasLocal = uint32(total)
	p.nlocals = total

	p.vals = p.vals[:0]
	p.maxVals, p.computed = 0, 0
	p.ctrls = append(p.ctrls[:0], ctrlFrame{results: ft.results, wrap: -1, cdLoop: -1, loop: -1})
	p.loopHot, p.loopParent, p.wrapOf = p.loopHot[:0], p.loopParent[:0], p.wrapOf[:0]
	p.exits = false
	p.patches = p.patches[:0]
	p.wraps = p.wraps[:0]
	p.curCost = 0
	p.nloops = 0
	p.cdLoops, p.sets, p.copyBuf = p.cdLoops[:0], p.sets[:0], p.copyBuf[:0]
	p.brTabs, p.brLabels, p.brSlots, p.brPreds = p.brTabs[:0], p.brLabels[:0], p.brSlots[:0], p.brPreds[:0]
	p.loopSeg, p.ifEndPos, p.getEnd = -1, -1, -1
	if p.countdown {
		// The yield checkpoint of the entry, before the first charge
		// (without gas, patch 0 owns the instructions outside loops).
		p.patches = append(p.patches, patch{off: instrStart, kind: pYEntry})
	}
	p.openSegment(instrStart, true)

	c := p.c
	for {
		off := r.pos
		if r.pos >= r.end {
			return p.errf(ErrMalformed, off, "unexpected end of function body")
		}
		op := r.b[r.pos]
		r.pos++
		cost := c.op[op]
		if p.countdown {
			// The instruction's weight goes to the checkpoint owning it.
			p.patches[p.ctrls[len(p.ctrls)-1].cp].val++
		}
		boundary := false
		ok := true

		switch op {
		case 0x00: // unreachable
			p.patches = append(p.patches, patch{off: off, kind: pStore})
			p.setUnreachable()
			boundary = true
		case 0x01: // nop
		case 0x02, 0x03, 0x04: // block, loop, if
			btStart := r.pos
			params, results, err := p.blockType(&r)
			if err != nil {
				return err
			}
			if op == 0x04 && !p.popExpect(tI32) {
				return p.typeErr(off, "if condition")
			}
			if !p.popAll(params) {
				return p.typeErr(off, "block parameters")
			}
			f := ctrlFrame{params: params, results: results, height: len(p.vals), op: op,
				syn: p.ctrls[len(p.ctrls)-1].syn, wrap: -1, cp: p.ctrls[len(p.ctrls)-1].cp, cdLoop: -1,
				dead: p.ctrls[len(p.ctrls)-1].unreachable || p.ctrls[len(p.ctrls)-1].dead,
				loop: p.ctrls[len(p.ctrls)-1].loop}
			if op == 0x03 {
				p.nloops++
				p.coolLoops(f.loop)
				f.loop = int32(len(p.loopHot))
				p.loopHot = append(p.loopHot, true)
				p.loopParent = append(p.loopParent, p.ctrls[len(p.ctrls)-1].loop)
				p.wrapOf = append(p.wrapOf, -1)
			}
			// Loops are wrapped for countdown checkpoints, and metered when
			// the first pass over the function found them hot (see hot).
			if op == 0x03 && (p.countdown || p.gas && int(f.loop) < len(p.hint) && p.hint[f.loop]) {
				f.syn += 3
				f.wrap = len(p.wraps)
				p.wraps = append(p.wraps, loopWrap{bt: m.b[btStart:r.pos], params: params, cp: -1})
				p.patches = append(p.patches, patch{off: off, kind: pLoopOpen, val: uint64(f.wrap)})
				p.wrapOf[f.loop] = int32(f.wrap)
				if p.countdown {
					// The loop header's checkpoint, weighed as the loop's
					// instructions are read.
					f.cp = len(p.patches)
					f.cdLoop = len(p.cdLoops)
					p.cdLoops = append(p.cdLoops, cdLoop{cp: f.cp, sets: len(p.sets), params: params})
					p.patches = append(p.patches, patch{off: r.pos, kind: pYield, depth: uint32(f.cdLoop)})
					p.wraps[f.wrap].cp, p.wraps[f.wrap].cdLoop = f.cp, f.cdLoop
				} else {
					// Metered: the cold path copies the locals the loop
					// writes (cp -1 only marks the frame as a loop's).
					f.cp = -1
					f.cdLoop = len(p.cdLoops)
					p.cdLoops = append(p.cdLoops, cdLoop{cp: -1, sets: len(p.sets), params: params})
					p.wraps[f.wrap].cdLoop = f.cdLoop
				}
			}
			if op == 0x04 {
				// The then branch's segment opens right after the if
				// (below); the false edge's is known at else or end.
				f.ifPatch = len(p.patches)
				p.patches = append(p.patches, patch{off: off, kind: pIf, val: uint64(len(p.patches) + 1), depth: noIfSeg})
			}
			p.ctrls = append(p.ctrls, f)
			p.pushAll(params)
			boundary = op != 0x02
		case 0x05: // else
			f := &p.ctrls[len(p.ctrls)-1]
			if f.op != 0x04 {
				return p.errf(ErrMalformed, off, "else without if")
			}
			if !p.popAll(f.results) || len(p.vals) != f.height {
				return p.typeErr(off, "then branch results")
			}
			f.op = 0x05
			f.unreachable = false
			p.pushAll(f.params)
			boundary = true
			// The else branch's segment, opened below, is entered only
			// from the if.
			p.patches[f.ifPatch].depth = uint32(len(p.patches))
		case 0x0b: // end
			f := &p.ctrls[len(p.ctrls)-1]
			if !p.popAll(f.results) || len(p.vals) != f.height {
				return p.typeErr(off, "block results")
			}
			if f.op == 0x04 && string(f.params) != string(f.results) {
				return p.typeErr(off, "if without else must have equal parameter and result types")
			}
			fop, targeted, results := f.op, f.targeted, f.results
			if fop == 0x02 && f.tbl > 0 && f.unreachable && !f.dead {
				// Only its br_table enters the code after the block,
				// whose segment opens below.
				t := &p.brTabs[f.tbl-1]
				p.brSlots[t.slots+int(f.slot)] = int32(len(p.patches))
			} else if fop == 0x02 && f.tbl > 0 && !f.dead && off == p.ifEndPos &&
				p.curSeg == int(p.patches[p.ifEndPatch].depth) {
				// Its br_table and, by fallthrough, the false edge of the
				// if that ends right before it (whose segment is this
				// end) enter the code after the block.
				t := &p.brTabs[f.tbl-1]
				p.brSlots[t.slots+int(f.slot)] = int32(len(p.patches))
				p.brPreds[t.slots+int(f.slot)] = int32(p.ifEndPatch)
				p.patches[p.ifEndPatch].after = int32(len(p.patches))
			}
			if fop == 0x04 && f.unreachable && !targeted {
				// An if without else whose then branch never reaches its
				// end: the code after it, whose segment opens below, is
				// entered only from the if's false edge.
				p.patches[f.ifPatch].depth = uint32(len(p.patches))
				p.ifEndPos, p.ifEndPatch = r.pos, f.ifPatch
			}
			if f.wrap >= 0 {
				p.patches = append(p.patches, patch{off: r.pos, kind: pLoopEnd, val: uint64(f.wrap)})
			}
			if f.cdLoop >= 0 {
				p.loopCopies(&p.cdLoops[f.cdLoop])
			}
			p.ctrls = p.ctrls[:len(p.ctrls)-1]
			if len(p.ctrls) == 0 {
				if r.pos != r.end {
					return p.errf(ErrMalformed, r.pos, "operators after the end of the function body")
				}
				p.curCost += uint64(cost)
				p.closeSegment()
				p.exits = p.exits || targeted
				p.patches = append(p.patches, patch{off: off, skip: 1, kind: pFinalEnd})
				return nil
			}
			p.pushAll(results)
			boundary = fop == 0x04 || fop == 0x05 || (fop == 0x02 && targeted)
		case 0x0c, 0x0d: // br, br_if
			loff := r.pos
			l := r.u32()
			if r.err != nil {
				return r.err
			}
			if int64(l) >= int64(len(p.ctrls)) {
				return p.errf(ErrInvalid, loff, "unknown label %d", l)
			}
			p.relabel(l, loff, r.pos)
			f := &p.ctrls[len(p.ctrls)-1-int(l)]
			f.targeted = true
			f.tbl = -1
			lt := labelTypes(f)
			if op == 0x0d && !p.popExpect(tI32) {
				return p.typeErr(off, "br_if condition")
			}
			if !p.popAll(lt) {
				return p.typeErr(off, "branch operands")
			}
			if op == 0x0c {
				p.setUnreachable()
				boundary = true
			} else {
				// br_if does not end a segment: the instructions after it
				// are charged with it, even when it branches.
				p.pushAll(lt)
			}
		case 0x0e: // br_table
			n := r.count(1, maxBrTableLabels, "br_table labels")
			if p.insp != nil && r.err == nil {
				if err := p.insp.brTable(p, off, n); err != nil {
					return err
				}
			}
			p.labels = p.labels[:0]
			at := len(p.patches) // before the labels' patches
			for j := 0; j <= n && r.err == nil; j++ {
				loff := r.pos
				l := r.u32()
				if r.err == nil && int64(l) >= int64(len(p.ctrls)) {
					return p.errf(ErrInvalid, loff, "unknown label %d", l)
				}
				if r.err == nil {
					p.relabel(l, loff, r.pos)
				}
				p.labels = append(p.labels, l)
			}
			if r.err != nil {
				return r.err
			}
			if !p.popExpect(tI32) {
				return p.typeErr(off, "br_table index")
			}
			def := &p.ctrls[len(p.ctrls)-1-int(p.labels[n])]
			arity := len(labelTypes(def))
			for _, l := range p.labels {
				f := &p.ctrls[len(p.ctrls)-1-int(l)]
				f.targeted = true
				lt := labelTypes(f)
				if len(lt) != arity {
					return p.typeErr(off, "br_table labels with different arities")
				}
				p.tmp = p.tmp[:0]
				for k := arity - 1; k >= 0; k-- {
					t, ok := p.pop()
					if !ok || (t != lt[k] && t != tUnknown) {
						return p.typeErr(off, "br_table operands")
					}
					p.tmp = append(p.tmp, t)
				}
				for k := len(p.tmp) - 1; k >= 0; k-- {
					p.push(p.tmp[k])
				}
			}
			if !p.popAll(labelTypes(def)) {
				return p.typeErr(off, "br_table operands")
			}
			p.noteBrTable(off, at)
			p.setUnreachable()
			boundary = true
		case 0x0f: // return
			if !p.popAll(p.ctrls[0].results) {
				return p.typeErr(off, "return operands")
			}
			p.exits = true
			p.setUnreachable()
			p.patches = append(p.patches, patch{off: off, skip: 1, kind: pReturn,
				val: uint64(len(p.ctrls)-1) + uint64(p.ctrls[len(p.ctrls)-1].syn)})
			boundary = true
		case 0x10: // call
			fs := r.pos
			f := r.u32()
			if r.err != nil {
				return r.err
			}
			if f >= m.numFuncs() {
				return p.errf(ErrInvalid, fs, "unknown function %d", f)
			}
			callee := m.types[m.funcs[f]]
			if !p.popAll(callee.params) {
				return p.typeErr(off, "call arguments")
			}
			p.pushAll(callee.results)
			p.coolLoops(p.ctrls[len(p.ctrls)-1].loop)
			p.patches = append(p.patches, patch{off: off, kind: pStore})
			if f >= m.numImportedFuncs {
				p.patches = append(p.patches, patch{off: fs, skip: r.pos - fs, kind: pFunc, val: uint64(f)})
				if p.elided != nil {
					// A callee without entry checkpoint counts here.
					p.patches[p.ctrls[len(p.ctrls)-1].cp].val += p.elided[f-m.numImportedFuncs]
				}
			}
			p.patches = append(p.patches, patch{off: r.pos, kind: pLoad})
		case 0x11: // call_indirect
			toff := r.pos
			ti := r.u32()
			tbl := r.u32()
			if r.err != nil {
				return r.err
			}
			if int64(ti) >= int64(len(m.types)) {
				return p.errf(ErrInvalid, toff, "unknown type %d", ti)
			}
			if int64(tbl) >= int64(len(m.tables)) {
				return p.errf(ErrInvalid, toff, "unknown table %d", tbl)
			}
			if m.tables[tbl].elem != tFuncRef {
				return p.errf(ErrInvalid, toff, "call_indirect on a table that is not a funcref table")
			}
			callee := m.types[ti]
			if !p.popExpect(tI32) || !p.popAll(callee.params) {
				return p.typeErr(off, "call_indirect operands")
			}
			p.pushAll(callee.results)
			p.coolLoops(p.ctrls[len(p.ctrls)-1].loop)
			p.patches = append(p.patches, patch{off: off, kind: pStore}, patch{off: r.pos, kind: pLoad})
		case 0x12, 0x13:
			return unsupported(off, "tail-call", "opcode 0x%02x", op)
		case 0x14, 0x15, 0xd3, 0xd4, 0xd6:
			return unsupported(off, "function-references", "opcode 0x%02x", op)
		case 0x06, 0x07, 0x08, 0x09, 0x0a, 0x18, 0x19, 0x1f:
			return unsupported(off, "exceptions", "opcode 0x%02x", op)
		case 0x1a: // drop
			_, ok = p.pop()
		case 0x1b: // select
			t1, ok1 := p.pop()
			if !ok1 || (t1 != tI32 && t1 != tUnknown) {
				return p.typeErr(off, "select condition")
			}
			t1, ok1 = p.pop()
			t2, ok2 := p.pop()
			if !ok1 || !ok2 || !isNum(t1) || !isNum(t2) || (t1 != t2 && t1 != tUnknown && t2 != tUnknown) {
				return p.typeErr(off, "select operands")
			}
			if t1 == tUnknown {
				t1 = t2
			}
			p.push(t1)
		case 0x1c: // select t*
			noff := r.pos
			if n := r.byte(); r.err == nil && n != 1 {
				return p.errf(ErrInvalid, noff, "invalid result arity for select")
			}
			t := m.valType(&r)
			if r.err != nil {
				return r.err
			}
			if !p.popExpect(tI32) || !p.popExpect(t) || !p.popExpect(t) {
				return p.typeErr(off, "select operands")
			}
			p.push(t)
		case 0x20, 0x21, 0x22: // local.get, local.set, local.tee
			loff := r.pos
			l := r.u32()
			if r.err != nil {
				return r.err
			}
			t := p.localType(l)
			if t == 0 {
				return p.errf(ErrInvalid, loff, "unknown local %d", l)
			}
			if op != 0x20 {
				ok = p.popExpect(t)
			}
			if op != 0x20 && (p.countdown || p.gas) && p.ctrls[len(p.ctrls)-1].cp != 0 { // inside a wrapped loop
				p.sets = append(p.sets, l)
			}
			if op != 0x21 {
				p.push(t)
				p.getEnd, p.getStart, p.getLocal = r.pos, off, l
			}
		case 0x23, 0x24: // global.get, global.set
			goff := r.pos
			g := r.u32()
			if r.err != nil {
				return r.err
			}
			if int64(g) >= int64(len(m.globals)) {
				return p.errf(ErrInvalid, goff, "unknown global %d", g)
			}
			gt := m.globals[g]
			if op == 0x23 {
				p.push(gt.t)
			} else {
				if !gt.mut {
					return p.errf(ErrInvalid, goff, "global.set of immutable global %d", g)
				}
				ok = p.popExpect(gt.t)
			}
		case 0x25, 0x26: // table.get, table.set
			tbl, err := p.tableIdx(&r)
			if err != nil {
				return err
			}
			et := m.tables[tbl].elem
			if op == 0x25 {
				ok = p.popExpect(tI32)
				p.push(et)
			} else {
				ok = p.popExpect(et) && p.popExpect(tI32)
				p.noteState(off, "table.set")
			}
		case 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35:
			if err := p.memarg(&r, op); err != nil {
				return err
			}
			ok = p.popExpect(tI32)
			p.push(memType[op])
		case 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e:
			if err := p.memarg(&r, op); err != nil {
				return err
			}
			ok = p.popExpect(memType[op]) && p.popExpect(tI32)
		case 0x3f: // memory.size
			if err := p.zeroByte(&r); err != nil {
				return err
			}
			p.push(tI32)
		case 0x40: // memory.grow
			if err := p.zeroByte(&r); err != nil {
				return err
			}
			ok = p.popExpect(tI32)
			p.push(tI32)
			p.addDyn(off, c.growPage)
		case 0x41:
			r.s32()
			p.push(tI32)
		case 0x42:
			r.s64()
			p.push(tI64)
		case 0x43:
			r.skip(4)
			p.push(tF32)
		case 0x44:
			r.skip(8)
			p.push(tF64)
		case 0xd0: // ref.null
			toff := r.pos
			t := r.byte()
			if r.err != nil {
				return r.err
			}
			if t != tFuncRef && t != tExternRef {
				return badType(toff, t)
			}
			p.push(t)
		case 0xd1: // ref.is_null
			t, ok1 := p.pop()
			if !ok1 || !isRef(t) {
				return p.typeErr(off, "ref.is_null operand")
			}
			p.push(tI32)
		case 0xd2: // ref.func
			fs := r.pos
			f := r.u32()
			if r.err != nil {
				return r.err
			}
			if f >= m.numFuncs() {
				return p.errf(ErrInvalid, fs, "unknown function %d", f)
			}
			if !m.isDeclared(f) {
				return p.errf(ErrInvalid, fs, "undeclared function reference %d", f)
			}
			p.push(tFuncRef)
			if f >= m.numImportedFuncs {
				p.patches = append(p.patches, patch{off: fs, skip: r.pos - fs, kind: pFunc, val: uint64(f)})
			}
		case 0xd5, 0xfb:
			return unsupported(off, "gc", "opcode 0x%02x", op)
		case 0xfd:
			return unsupported(off, "simd", "opcode 0xfd")
		case 0xfe:
			return unsupported(off, "threads", "opcode 0xfe")
		case 0xfc:
			sub := r.u32()
			if r.err != nil {
				return r.err
			}
			if sub >= uint32(len(c.misc)) {
				if sub >= 19 && sub <= 22 {
					return unsupported(off, "wide-arithmetic", "opcode 0xfc %d", sub)
				}
				return p.errf(ErrMalformed, off, "unknown opcode 0xfc %d", sub)
			}
			cost = c.misc[sub]
			var err error
			ok, err = p.misc(&r, off, sub)
			if err != nil {
				return err
			}
			if sub <= 7 || sub == 15 || sub == 16 { // trunc_sat, table.grow, table.size
				p.computed++
			}
		default:
			s := numSigs[op]
			if s.n == 0 {
				return p.errf(ErrMalformed, off, "unknown opcode 0x%02x", op)
			}
			if nondetFloat[op] && p.cfg.Deterministic {
				return &NondeterministicError{Instruction: opName(op), Offset: off, Func: p.fn}
			}
			ok = p.popExpect(s.in)
			if s.n == 2 {
				ok = ok && p.popExpect(s.in)
			}
			p.push(s.out)
		}
		if r.err != nil {
			return r.err
		}
		if !ok {
			return p.typeErr(off, "operands of %s", opName(op))
		}
		if p.insp != nil {
			if err := p.insp.instr(p, op, off, r.pos); err != nil {
				return err
			}
		}
		if computes[op] {
			p.computed++
		}
		p.curCost += uint64(cost)
		if boundary {
			p.closeSegment()
			p.openSegment(r.pos, op == 0x03)
			if op == 0x03 {
				p.loopSeg = p.curSeg
			}
		}
	}
}

// misc handles the 0xfc-prefixed instructions.
func (p *codePass) misc(r *reader, off int, sub uint32) (bool, error) {
	m := p.m
	c := p.c
	switch sub {
	case 0, 1: // i32.trunc_sat_f32_s/u
		return p.popExpect(tF32) && p.push1(tI32), nil
	case 2, 3:
		return p.popExpect(tF64) && p.push1(tI32), nil
	case 4, 5:
		return p.popExpect(tF32) && p.push1(tI64), nil
	case 6, 7:
		return p.popExpect(tF64) && p.push1(tI64), nil
	case 8: // memory.init
		doff := r.pos
		d := r.u32()
		if r.err != nil {
			return false, r.err
		}
		if err := p.zeroByte(r); err != nil {
			return false, err
		}
		if !m.hasDataCount {
			return false, p.errf(ErrInvalid, off, "memory.init requires a data count section")
		}
		if d >= m.dataCount {
			return false, p.errf(ErrInvalid, doff, "unknown data segment %d", d)
		}
		p.addDyn(off, c.memByte)
		return p.popExpect(tI32) && p.popExpect(tI32) && p.popExpect(tI32), nil
	case 9: // data.drop
		doff := r.pos
		d := r.u32()
		if r.err != nil {
			return false, r.err
		}
		if !m.hasDataCount {
			return false, p.errf(ErrInvalid, off, "data.drop requires a data count section")
		}
		if d >= m.dataCount {
			return false, p.errf(ErrInvalid, doff, "unknown data segment %d", d)
		}
		p.noteState(off, "data.drop")
		return true, nil
	case 10, 11: // memory.copy, memory.fill
		if err := p.zeroByte(r); err != nil {
			return false, err
		}
		if sub == 10 {
			if err := p.zeroByte(r); err != nil {
				return false, err
			}
		}
		p.addDyn(off, c.memByte)
		return p.popExpect(tI32) && p.popExpect(tI32) && p.popExpect(tI32), nil
	case 12: // table.init
		eoff := r.pos
		e := r.u32()
		if r.err != nil {
			return false, r.err
		}
		if int64(e) >= int64(len(m.elemTypes)) {
			return false, p.errf(ErrInvalid, eoff, "unknown element segment %d", e)
		}
		tbl, err := p.tableIdx(r)
		if err != nil {
			return false, err
		}
		if m.elemTypes[e] != m.tables[tbl].elem {
			return false, p.typeErr(off, "table.init element type")
		}
		p.addDyn(off, c.tableElem)
		p.noteState(off, "table.init")
		return p.popExpect(tI32) && p.popExpect(tI32) && p.popExpect(tI32), nil
	case 13: // elem.drop
		eoff := r.pos
		e := r.u32()
		if r.err != nil {
			return false, r.err
		}
		if int64(e) >= int64(len(m.elemTypes)) {
			return false, p.errf(ErrInvalid, eoff, "unknown element segment %d", e)
		}
		p.noteState(off, "elem.drop")
		return true, nil
	case 14: // table.copy
		dst, err := p.tableIdx(r)
		if err != nil {
			return false, err
		}
		src, err := p.tableIdx(r)
		if err != nil {
			return false, err
		}
		if m.tables[dst].elem != m.tables[src].elem {
			return false, p.typeErr(off, "table.copy between tables of different types")
		}
		p.addDyn(off, c.tableElem)
		p.noteState(off, "table.copy")
		return p.popExpect(tI32) && p.popExpect(tI32) && p.popExpect(tI32), nil
	case 15: // table.grow
		tbl, err := p.tableIdx(r)
		if err != nil {
			return false, err
		}
		p.addDyn(off, c.tableElem)
		if p.growLimit {
			p.patches = append(p.patches, patch{off: off, skip: r.pos - off, kind: pGrow, val: uint64(tbl)})
		}
		p.noteState(off, "table.grow")
		return p.popExpect(tI32) && p.popExpect(m.tables[tbl].elem) && p.push1(tI32), nil
	case 16: // table.size
		if _, err := p.tableIdx(r); err != nil {
			return false, err
		}
		p.push(tI32)
		return true, nil
	default: // 17: table.fill
		tbl, err := p.tableIdx(r)
		if err != nil {
			return false, err
		}
		p.addDyn(off, c.tableElem)
		p.noteState(off, "table.fill")
		return p.popExpect(tI32) && p.popExpect(m.tables[tbl].elem) && p.popExpect(tI32), nil
	}
}

// loopCopies records the locals the cold path of loop l copies before it
// calls aspect.yield: those its body writes, at most maxCopies of them, of
// a numeric type. A local written in a loop is, in an engine's SSA form, a
// value defined on every iteration; if it is live across the call, wazero
// stores it to the stack after each of those definitions, on every
// iteration. Copied first (x | 0, or copysign(x, x) for floats), only the
// copy is live across the call, and it is defined on the cold path.
func (p *codePass) loopCopies(l *cdLoop) {
	p.gen++
	if p.gen == 0 { // wrapped around: forget every stamp
		clear(p.seen)
		p.gen = 1
	}
	start := len(p.copyBuf)
	for _, x := range p.sets[l.sets:] {
		if len(p.copyBuf)-start == maxCopies {
			break
		}
		if int(x) >= len(p.seen) {
			p.seen = append(p.seen, make([]uint32, int(x)+1-len(p.seen))...)
		}
		if p.seen[x] == p.gen {
			continue
		}
		p.seen[x] = p.gen
		if t := p.localType(x); t == tI32 || t == tI64 || t == tF32 || t == tF64 {
			p.copyBuf = append(p.copyBuf, x)
		}
	}
	l.copies = [2]int{start, len(p.copyBuf)}
}

// localType returns the type of local l, or 0 if there is none.
func (p *codePass) localType(l uint32) byte {
	if l < uint32(len(p.locals)) {
		return p.locals[l]
	}
	if len(p.runEnds) == 0 || l >= p.runEnds[len(p.runEnds)-1] {
		return 0
	}
	i := sort.Search(len(p.runEnds), func(i int) bool { return p.runEnds[i] > l })
	return p.runTypes[i]
}

func (p *codePass) push1(t byte) bool {
	p.push(t)
	return true
}
