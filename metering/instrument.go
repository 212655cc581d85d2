package metering

import (
	"encoding/binary"
	"math"
	"math/bits"
	"slices"
	"sort"
	"strings"
)

// Result is an instrumented module and what the runtime needs to drive it.
type Result struct {
	// Module is the instrumented binary module.
	Module []byte
	// GasCounter is the export name of the i64 gas counter global
	// ([GasCounterExport]), "" with Config.LimitsOnly.
	GasCounter string
	// CallDepth is the export name of the i64 global counting the active
	// activations and their stack slots ([CallDepthExport]). The host sets
	// it to 0 before each call.
	CallDepth string
	// YieldCountdown is the export name of the i64 global counting down
	// the instructions until the guest next calls aspect.yield
	// ([YieldCountdownExport]) with Config.YieldInterval and
	// Config.LimitsOnly, else "". It starts at YieldInterval and the guest
	// sets it back to YieldInterval whenever it yields: the host need not
	// touch it (it may, e.g. set it to 0 to have the guest yield at its
	// next checkpoint).
	YieldCountdown string
	// YieldInterval is what passes between two yield checkpoints, 0 if
	// there are none: gas when metering, instructions with
	// Config.LimitsOnly (see Config.YieldInterval).
	YieldInterval int64
	// MaxCallDepth is the depth limit compiled into the module.
	MaxCallDepth uint32
	// MaxStackSlots is the stack limit, in value slots, compiled into the
	// module.
	MaxStackSlots uint32
	// MaxTableElements is the table size limit compiled into the module, 0
	// for none.
	MaxTableElements uint32
	// LimitsOnly reports the safety-only instrumentation
	// (Config.LimitsOnly): no gas counter, no charges (yield checkpoints,
	// if any, count instructions: see YieldCountdown).
	LimitsOnly bool
	// InitialGas is the initial value of the gas counter.
	InitialGas int64
	// ImportedFuncs is the number of function imports of the original
	// module. Injected imports follow them, so every defined function moved
	// up by InjectedImports: see [Result.FuncIndex].
	ImportedFuncs uint32
	// InjectedImports is the number of injected function imports (2:
	// aspect.out_of_gas then aspect.call_depth_exceeded, with or without
	// yield checkpoints; with Config.LimitsOnly, 1: aspect.call_depth_exceeded,
	// or 2 with yield checkpoints: then aspect.yield). They follow the
	// module's own function imports, in that order.
	InjectedImports uint32
	// ChargeFunc is the index of the injected, non-exported helper function
	// that charges dynamic costs, or -1 if the module needs none.
	ChargeFunc int64
	// Functions describes every defined function of the module, in order.
	Functions []FuncInfo
}

// FuncInfo describes the metering of one defined function.
type FuncInfo struct {
	// OriginalIndex and Index are the function's index before and after
	// instrumentation.
	OriginalIndex, Index uint32
	// Segments is the number of metered segments (of non-zero cost).
	Segments int
	// StaticCost is the sum of the costs of all its segments: the static gas
	// of executing each of its instructions once.
	StaticCost uint64
	// StackSlots is the function's frame size, what an activation of it
	// costs against Config.MaxStackSlots: its parameters, plus its declared
	// locals, plus the maximum height of its operand stack, plus
	// ceil(C/8) where C is the number of its instructions that compute a
	// value (see Config.MaxStackSlots).
	StackSlots uint64
	// Segs lists the segments when Config.RecordSegments is set.
	Segs []Segment
}

// Segment is a metered segment: a straight-line run of instructions whose
// cost is charged on entry.
type Segment struct {
	// Offset is the byte offset, in the original module, of the segment's
	// first instruction.
	Offset int
	// Cost is the static cost charged on entry.
	Cost uint64
}

// FuncIndex maps a function index of the original module to the index of
// the same function in the instrumented module.
func (r *Result) FuncIndex(orig uint32) uint32 {
	if orig < r.ImportedFuncs {
		return orig
	}
	return orig + r.InjectedImports
}

// Instrument validates wasm and returns it instrumented for deterministic
// gas metering, call depth and stack limiting and memory and table capping,
// as described in the package documentation (with Config.LimitsOnly, for
// the limits only). wasm is not modified and not retained.
//
// Errors: *ModuleError (ErrMalformed, ErrInvalid, ErrTooLarge,
// ErrReservedName), *UnsupportedFeatureError, *NondeterministicError,
// *MemoryLimitError, *TableLimitError, or an ErrConfig error.
func Instrument(wasm []byte, cfg Config) (*Result, error) {
	c, err := cfg.compile()
	if err != nil {
		return nil, err
	}
	if cfg.MaxCallDepth == 0 {
		cfg.MaxCallDepth = DefaultMaxCallDepth
	}
	if cfg.MaxStackSlots == 0 {
		cfg.MaxStackSlots = DefaultMaxStackSlots
	}
	gas := !cfg.LimitsOnly
	if !gas {
		cfg.InitialGas, cfg.RecordSegments = 0, false
	}
	m, err := parseModule(wasm, false)
	if err != nil {
		return nil, err
	}
	if err := m.capMemory(cfg.MaxMemoryPages); err != nil {
		return nil, err
	}
	if err := m.capTables(cfg.MaxTableElements); err != nil {
		return nil, err
	}
	// Up to five globals (three exported) and three imports are injected.
	if m.numExports+3 > maxExports || len(m.globals)+5 > maxGlobals || m.numImports+3 > maxImports {
		return nil, tooLarge(-1, "too many imports, exports or globals once the injected ones are added")
	}
	growLimit := cfg.MaxTableElements > 0 && len(m.tables) > 0
	// Two imports and at most six helpers are injected, and a table.grow
	// helper per table (the charge helpers of given costs only within the
	// limit: see costHelper).
	if m.numFuncs()+2+6+uint32(len(m.tables)) > maxFuncs {
		return nil, tooLarge(-1, "too many functions once the injected ones are added")
	}

	injected := uint32(2)
	p := &codePass{
		m:         m,
		c:         c,
		cfg:       &cfg,
		gas:       gas,
		growLimit: growLimit,
		// Metered, yield checkpoints are the gas checks themselves (see
		// "Yield checkpoints" in README.md): the code is the same with
		// or without them. Without gas, they count instructions down.
		countdown:   cfg.YieldInterval > 0 && !gas,
		gasGlobal:   uint32(len(m.globals)),
		depthGlobal: uint32(len(m.globals)) + 1,
		oogFunc:     m.numImportedFuncs,
		cdeFunc:     m.numImportedFuncs + 1,
		yieldFunc:   m.numImportedFuncs + 2,
		wrapTypes:   map[string]uint32{},
	}
	if !gas {
		// aspect.call_depth_exceeded and __call_depth__, then, with yield
		// checkpoints, aspect.yield and __yield_countdown__ (which the
		// injected code reads and writes as it does the gas counter).
		injected = 1
		p.depthGlobal, p.cdeFunc = uint32(len(m.globals)), m.numImportedFuncs
		if p.countdown {
			injected = 2
			p.gasGlobal, p.yieldFunc = p.depthGlobal+1, p.cdeFunc+1
		}
	}
	// Injected functions follow the module's: the helpers the code calls,
	// in the order of their first call (see helper).
	p.shift = injected
	p.helperBase = m.numFuncs() + injected
	p.helperIdx = make([]int32, hGrow+len(m.tables))
	for i := range p.helperIdx {
		p.helperIdx[i] = -1
	}
	p.pricedIdx, p.costUses, p.pairUses = map[pricedKey]uint32{}, map[uint64]int{}, map[[2]uint64]int{}
	p.maxCostHelpers = min(maxCostHelpers, int(maxFuncs-(m.numFuncs()+2+6+uint32(len(m.tables)))))
	res := &Result{
		CallDepth:        CallDepthExport,
		MaxCallDepth:     cfg.MaxCallDepth,
		MaxStackSlots:    cfg.MaxStackSlots,
		MaxTableElements: cfg.MaxTableElements,
		LimitsOnly:       !gas,
		InitialGas:       cfg.InitialGas,
		ImportedFuncs:    m.numImportedFuncs,
		InjectedImports:  injected,
		ChargeFunc:       -1,
		Functions:        make([]FuncInfo, len(m.code)),
	}
	if gas {
		res.GasCounter = GasCounterExport
	}
	p.result = res
	res.YieldInterval = cfg.YieldInterval
	if p.countdown {
		res.YieldCountdown = YieldCountdownExport
	}
	// Types appended to the type section: () -> () for the imports, and
	// (i64) -> () for aspect.out_of_gas (and helpers of that type);
	// wrapper block types follow, then the types of the other helpers,
	// each once.
	voidType := uint32(len(m.types))
	p.newTypes = [][]byte{{0x60, 0, 0}, {0x60, 1, tI64, 0}}
	p.buildTemplates()

	p.out = make([]byte, 0, len(wasm)+len(wasm)/2)
	// The function count, +3 for the helpers of a metered module, fixed
	// below if wrong.
	guess := uint32(len(m.code))
	if p.gas {
		guess += 3
	}
	p.out = appendU32(p.out, guess)
	countLen := len(p.out)
	if p.countdown {
		p.planElision()
	}
	for i := range m.code {
		p.hint = p.hint[:0]
		if err := p.function(i); err != nil {
			return nil, err
		}
		if p.gas && slices.Contains(p.loopHot, true) {
			// Again, now that the hot loops are known: they are wrapped.
			p.hint = append(p.hint, p.loopHot...)
			if err := p.function(i); err != nil {
				return nil, err
			}
		}
		if err := p.emit(i); err != nil {
			return nil, err
		}
	}
	code := p.out
	var helperTypes []uint32
	if i := p.helperIdx[hDyn]; i >= 0 {
		res.ChargeFunc = int64(i)
	}
	types := map[string]uint32{string(p.newTypes[1]): voidType + 1}
	typeOf := func(t []byte) uint32 {
		i, ok := types[string(t)]
		if !ok {
			i = uint32(len(m.types) + len(p.newTypes))
			types[string(t)] = i
			p.newTypes = append(p.newTypes, t)
		}
		return i
	}
	for k, h := range p.helperOrder {
		var t []byte
		switch h {
		case hIfPair:
			t = []byte{0x60, 1, tI32, 1, tI32}
			code = p.appendIfPairFunc(code, [2]uint64{p.helperCosts[k][0], p.helperCosts[k][1]})
		case hCost:
			t = []byte{0x60, 0, 0}
			code = p.appendCostHelperFunc(code, p.helperCosts[k][0])
		case hEnter, hLeave:
			t = []byte{0x60, 1, tI32, 0}
			code = p.appendHelperFunc(code, h)
		case hEnterCharge:
			t = []byte{0x60, 2, tI64, tI32, 0}
			code = p.appendHelperFunc(code, h)
		case hCharge:
			t = []byte{0x60, 1, tI64, 0}
			code = p.appendHelperFunc(code, h)
		case hChargeLocal:
			t = []byte{0x60, 2, tI64, tI64, 1, tI64}
			code = p.appendHelperFunc(code, h)
		case hDyn:
			t = []byte{0x60, 2, tI32, tI64, 1, tI32}
			code = p.appendChargeFunc(code)
		case hIfTriple:
			t = []byte{0x60, 1, tI32, 1, tI32}
			code = p.appendIfTripleFunc(code, p.helperCosts[k])
		case hBrTable:
			t = []byte{0x60, 3, tI32, tI64, tI64, 0}
			code = p.appendBrHelperFunc(code, p.brHelpers[p.helperCosts[k][0]])
		default:
			tab := uint32(h - hGrow)
			t = []byte{0x60, 2, m.tables[tab].elem, tI32, 1, tI32}
			code = p.appendGrowFunc(code, tab)
		}
		helperTypes = append(helperTypes, typeOf(t))
	}
	if n := uint32(len(m.code) + len(helperTypes)); n != guess {
		// Re-encode the count.
		hdr := appendU32(nil, n)
		code = append(hdr, code[countLen:]...)
	}
	out, err := p.assemble(code, voidType, helperTypes)
	if err != nil {
		return nil, err
	}
	res.Module = out
	return res, nil
}

// capMemory applies Config.MaxMemoryPages to the module's memory.
func (m *module) capMemory(limit uint32) error {
	if limit == 0 || !m.hasMemory {
		return nil
	}
	if m.memMin > limit {
		return &MemoryLimitError{Initial: m.memMin, Limit: limit}
	}
	if m.memHasMax && m.memMax <= limit {
		return nil
	}
	enc := []byte{0x01}
	enc = appendU32(enc, m.memMin)
	enc = appendU32(enc, limit)
	m.memMax, m.memHasMax = limit, true
	m.addFixup(fixup{start: m.memLimits[0], end: m.memLimits[1], kind: fixBytes, data: enc})
	return nil
}

// capTables applies Config.MaxTableElements to the module's tables: a
// minimum over the limit is an error, the maximum of a defined table is
// lowered to the limit.
func (m *module) capTables(limit uint32) error {
	if limit == 0 {
		return nil
	}
	for i := range m.tables {
		t := &m.tables[i]
		if t.min > limit {
			return &TableLimitError{Table: uint32(i), Initial: t.min, Limit: limit}
		}
		if i < m.numImportedTables || t.hasMax && t.max <= limit {
			continue
		}
		enc := []byte{0x01}
		enc = appendU32(enc, t.min)
		enc = appendU32(enc, limit)
		t.max, t.hasMax = limit, true
		m.addFixup(fixup{start: t.limits[0], end: t.limits[1], kind: fixBytes, data: enc})
	}
	return nil
}

// addFixup inserts f into m.fixups, which are sorted by start.
func (m *module) addFixup(f fixup) {
	i := sort.Search(len(m.fixups), func(i int) bool { return m.fixups[i].start >= f.start })
	m.fixups = append(m.fixups, fixup{})
	copy(m.fixups[i+1:], m.fixups[i:])
	m.fixups[i] = f
}

// The call-depth and stack check. __call_depth__ is an i64 holding the
// number of active activations in its high 32 bits and their stack slots
// in its low 32 bits. A function of frame size F adds INC = 1<<32 | F on
// entry and subtracts it on exit. Both limits are checked with one test,
// by adding a bias that sets bit 63 exactly when the depth would pass
// MaxCallDepth (D) and bit 31 exactly when the slots would pass
// MaxStackSlots (S):
//
//	BIAS = (2^31-1-D)<<32 | (2^31-1-S)
//	(__call_depth__ + INC + BIAS) & (1<<63 | 1<<31) == 0   <=> both within
//
// No carry crosses from the low half into the high half: with slots <= S
// and F < 2^31, slots + F + 2^31-1-S < 2^32 (and likewise in the high
// half). So the prologue is
//
//	block                             ;; call_depth_exceeded landing
//	  global.get $depth; i64.const INC+BIAS; i64.add
//	  i64.const 1<<63|1<<31; i64.and; i64.eqz; if; else; br 1; end
//	  global.get $depth; i64.const INC; i64.add; global.set $depth
//
// and the epilogue global.get $depth; i64.const INC; i64.sub;
// global.set $depth.

// depthMask has bit 63 and bit 31 set.
const depthMask = -1<<63 | 1<<31

// Metered, BIAS and the mask are two immutable injected globals, $bias and
// $mask, and the function's gas counter local $g (loaded right after) holds
// the new value:
//
//	block
//	  global.get $depth; i64.const INC; i64.add; local.tee $g
//	  global.get $bias; i64.add; global.get $mask; i64.and; i64.eqz
//	  if; else; br 1; end
//	  local.get $g; global.set $depth
//
// (28 bytes instead of 46 for a small frame).

// depthBias returns BIAS.
func (p *codePass) depthBias() int64 {
	return int64(math.MaxInt32-p.cfg.MaxCallDepth)<<32 | int64(math.MaxInt32-p.cfg.MaxStackSlots)
}

// appendPrologue appends the depth and stack check of a function whose
// frame costs slots, opening the call_depth_exceeded landing block.
func (p *codePass) appendPrologue(b []byte, slots uint64) []byte {
	inc := int64(1)<<32 | int64(slots)
	bias := p.depthBias()
	b = append(b, 0x02, 0x40)
	b = append(b, p.depthGet...)
	b = append(b, 0x42)
	b = appendS64(b, inc+bias)
	b = append(b, 0x7c, 0x42)
	b = appendS64(b, depthMask)
	b = append(b, 0x83, 0x50, 0x04, 0x40, 0x05, 0x0c, 0x01, 0x0b) // i64.and; i64.eqz; if; else; br 1; end
	b = append(b, p.depthGet...)
	b = append(b, 0x42)
	b = appendS64(b, inc)
	b = append(b, 0x7c)
	return append(b, p.depthSet...)
}

// appendEnter appends the depth and stack check of a metered function
// whose frame costs slots: i64.const INC; call $enter (see
// appendHelperFunc).
func (p *codePass) appendEnter(b []byte, slots uint64) []byte {
	b = append(b, 0x41)
	b = appendS64(b, int64(slots))
	b = append(b, 0x10)
	return appendU32(b, p.helper(hEnter))
}

// appendEnterCharge appends the depth and stack check of a metered
// function whose frame costs slots, with the charge of its first segment,
// of cost c: i64.const C; i32.const SLOTS; call $enter_charge.
func (p *codePass) appendEnterCharge(b []byte, c, slots uint64) []byte {
	b = append(b, 0x42)
	b = appendS64(b, int64(c))
	b = append(b, 0x41)
	b = appendS64(b, int64(slots))
	b = append(b, 0x10)
	return appendU32(b, p.helper(hEnterCharge))
}

// appendLeave appends the depth and stack release of a metered function
// whose frame costs slots: i64.const INC; call $leave.
func (p *codePass) appendLeave(b []byte, slots uint64) []byte {
	b = append(b, 0x41)
	b = appendS64(b, int64(slots))
	b = append(b, 0x10)
	return appendU32(b, p.helper(hLeave))
}

// appendEpilogue appends the depth and stack release of a function whose
// frame costs slots.
func (p *codePass) appendEpilogue(b []byte, slots uint64) []byte {
	b = append(b, p.depthGet...)
	b = append(b, 0x42)
	b = appendS64(b, int64(1)<<32|int64(slots))
	b = append(b, 0x7d)
	return append(b, p.depthSet...)
}

// frameSlots is the stack cost of an activation of a function with nlocals
// parameters and declared locals, an operand stack of at most maxVals
// values and computed value-computing instructions (see
// Config.MaxStackSlots): nlocals + maxVals + ceil(computed/8). It is below
// 2^31: nlocals <= 50000, and a body of at most maxFuncBodySize bytes
// pushes fewer values.
func frameSlots(nlocals uint64, maxVals int, computed uint64) uint64 {
	return nlocals + uint64(maxVals) + (computed+7)/8
}

// buildTemplates precomputes the byte sequences injected in every body.
func (p *codePass) buildTemplates() {
	g := appendU32(nil, p.gasGlobal)
	p.depthGet = appendU32([]byte{0x23}, p.depthGlobal)
	p.depthSet = appendU32([]byte{0x24}, p.depthGlobal)
	p.cdeCall = append(appendU32([]byte{0x10}, p.cdeFunc), 0x00)
	p.gasGet = append([]byte{0x23}, g...)
	p.gasSet = append([]byte{0x24}, g...)
}

// appendLoopOpen appends the wrapper blocks opened before loop w.
func (p *codePass) appendLoopOpen(b []byte, w *loopWrap) []byte {
	b = append(b, 0x02)
	b = append(b, w.bt...)
	b = append(b, 0x03)
	b = append(b, w.bt...)
	return p.appendParamsBlockType(append(b, 0x02), w.params)
}

// appendParamsBlockType appends the block type params -> params.
func (p *codePass) appendParamsBlockType(b []byte, params []byte) []byte {
	if len(params) == 0 {
		return append(b, 0x40)
	}
	key := "loop:" + string(params)
	idx, ok := p.wrapTypes[key]
	if !ok {
		idx = uint32(len(p.m.types) + len(p.newTypes))
		t := []byte{0x60}
		t = appendU32(t, uint32(len(params)))
		t = append(t, params...)
		t = appendU32(t, uint32(len(params)))
		t = append(t, params...)
		p.newTypes = append(p.newTypes, t)
		p.wrapTypes[key] = idx
	}
	return appendS64(b, int64(idx))
}

// Hot loops (see hot). A metered function with a hot loop works on a
// copy $g of the counter (an injected i64 local), loaded on entry and
// after every call, stored before every call, unreachable and dynamic
// charge and on exit; its other charges are local.get $g; i64.const C;
// call $charge_local; local.set $g. A hot loop's only charge, C at its
// header, is inline:
//
//	local.get $g; i64.const C; i64.lt_s; br_if $cold
//	local.get $g; i64.const C; i64.sub; local.set $g
//
// (br_if carries the loop's parameters, if any, to $cold, whose type is
// theirs; on the hot path the code falls through. Written as if (params)
// else br $cold end, the same test made wasmtime lay the if's empty branch
// out as a taken jump on every iteration: a loop of one machine cycle per
// iteration, bench's MeteredSum, ran 1.14x as long there, at the geometric
// mean over its placements; wazero's and wasmer's code was the same.) Its
// slow path sits outside the loop (a call inside it would make wazero's
// register allocator spill the loop's values on every iteration): the
// loop is wrapped as
//
//	block $done (type of the loop)
//	  loop $retry (type of the loop)
//	    block $cold (params of the loop -> params of the loop)
//	      loop ... the original loop ... end
//	      br $done
//	    end
//	    <copies>
//	    local.get $g; i64.const C; call $charge_local; i64.const C; i64.add; local.set $g
//	    br $retry
//	  end
//	end
//
// The cold path makes the charge through the helper, which refills the
// counter or fails (out of gas), gives C back and enters the loop again
// from its header, where nothing of the iteration has run yet and the
// test now passes. <copies> copies the locals the loop writes, as for the
// countdown checkpoints below (else wazero stores them to the stack on
// every iteration once they are live across the call). Branches from
// inside the loop to labels outside it cross the three wrapper labels:
// their indices are shifted.

// appendHotCheck appends the charge c of the header of a hot loop.
func (p *codePass) appendHotCheck(b []byte, c uint64) []byte {
	b = append(b, 0x20)
	b = appendU32(b, p.gasLocal)
	b = append(b, 0x42)
	b = appendS64(b, int64(c))
	b = append(b, 0x53, 0x0d, 0x01, 0x20) // i64.lt_s; br_if $cold; local.get $g
	b = appendU32(b, p.gasLocal)
	b = append(b, 0x42)
	b = appendS64(b, int64(c))
	b = append(b, 0x7d, 0x21) // i64.sub; local.set $g
	return appendU32(b, p.gasLocal)
}

// appendLocalCharge appends the charge c of a segment outside hot loops in
// a function working on the copy $g: local.get $g; i64.const C; call
// $charge_local; local.set $g.
func (p *codePass) appendLocalCharge(b []byte, c uint64) []byte {
	b = append(b, 0x20)
	b = appendU32(b, p.gasLocal)
	b = append(b, 0x42)
	b = appendS64(b, int64(c))
	b = append(b, 0x10)
	b = appendU32(b, p.helper(hChargeLocal))
	b = append(b, 0x21)
	return appendU32(b, p.gasLocal)
}

// appendHotLoopClose appends what follows the end of hot loop w, whose
// header charges c: br $done; end $cold; the cold path; br $retry; end
// $retry; end $done.
func (p *codePass) appendHotLoopClose(b []byte, c uint64, copies []uint32) []byte {
	b = append(b, 0x0c, 0x02, 0x0b)
	b = p.appendCopies(b, copies)
	b = p.appendLocalCharge(b, c)
	b = append(b, 0x20)
	b = appendU32(b, p.gasLocal)
	b = append(b, 0x42)
	b = appendS64(b, int64(c))
	b = append(b, 0x7c, 0x21) // i64.add; local.set $g
	b = appendU32(b, p.gasLocal)
	return append(b, 0x0c, 0x00, 0x0b, 0x0b)
}

// Yield checkpoints without gas (Config.LimitsOnly). The countdown
// __yield_countdown__ ($cd) stands where the gas counter would, and loops
// are wrapped as hot loops are (see above), the call to aspect.yield on the
// cold path after the loop. A checkpoint owning w instructions (see
// Config.YieldInterval) is, at a function entry,
//
//	global.get $cd; i64.const w; i64.sub; <tee>; i64.const 0; i64.gt_s
//	if; else; <yield>; end
//
// and at a loop header
//
//	<get>; i64.const w; i64.sub; <tee>; i64.const 0; i64.gt_s
//	if; else; br $cold; end
//
// with, on the loop's cold path, <copies>; <yield>; <countdown + w>;
// br $retry (the header runs again, and subtracts w again). <yield> is
// i64.const N; global.set $cd; call $yield; <reload>, N the interval.
//
// A function with a loop (and room for one more local) works on a local
// copy $c of the countdown, synchronized with the global as a metered
// function's gas counter is (loaded on entry and after every call, stored
// before every call, every unreachable and on return): <get> is local.get
// $c, <tee> local.tee $c, <reload> global.get $cd; local.set $c. Other
// functions work on the global (<get> is global.get $cd, <tee> global.set
// $cd; global.get $cd, <reload> nothing): a function without loops has
// only its entry checkpoint.
//
// <copies> is local.get x; i64.const 0; i64.or; local.set x (i32.or for
// i32, copysign(x, x) for floats) for each numeric local x the loop writes
// (at most maxCopies of them): in an engine's SSA form such a local is a
// value defined on every iteration, and if it is live across the call
// wazero's register allocator stores it to the stack after every
// definition, in the hot loop. Copied first, only the copy, defined on
// the cold path, is live across the call. (Measured on a loop of about one
// machine cycle per iteration, README.md: without the copies, 1.6 times
// slower than with them on wazero; with the call inline at the loop
// header, 2 times.) The if with an empty then arm compiles on wazero to a
// compare and a not-taken jump; br_if, or the yield in the then arm, adds a
// taken jump.

// appendRestart appends, with Config.RestartCountdown, the countdown's
// restart at the entry of function f when the host may enter the module
// there (f is exported or the start function):
//
//	global.get $depth; i64.eqz; if; i64.const N; global.set $cd; end
//
// N the interval. It runs before the depth prologue: a call depth of 0
// means no activation of the module is running (the host enters it from
// outside, not from a host function the guest called), and only then is
// the countdown restarted. Other functions, and every function without
// countdown, get nothing.
func (p *codePass) appendRestart(b []byte, f uint32) []byte {
	if !p.countdown || !p.cfg.RestartCountdown || !p.m.isExported(f) && !(p.m.hasStart && p.m.startFunc == f) {
		return b
	}
	b = append(b, p.depthGet...)
	b = append(b, 0x50, 0x04, 0x40, 0x42) // i64.eqz; if; i64.const
	b = appendS64(b, p.cfg.YieldInterval)
	b = append(b, p.gasSet...)
	return append(b, 0x0b)
}

// appendCountdownDec appends the countdown's decrement by w and the test,
// leaving on the stack whether the checkpoint goes on without yielding
// (the countdown is still positive). local selects the local copy; entry
// loads it from the global.
func (p *codePass) appendCountdownDec(b []byte, w int64, local, entry bool) []byte {
	if local && !entry {
		b = append(b, 0x20)
		b = appendU32(b, p.gasLocal)
	} else {
		b = append(b, p.gasGet...)
	}
	b = append(b, 0x42)
	b = appendS64(b, w)
	b = append(b, 0x7d) // i64.sub
	if local {
		b = append(b, 0x22)
		b = appendU32(b, p.gasLocal)
	} else {
		b = append(b, p.gasSet...)
		b = append(b, p.gasGet...)
	}
	return append(b, 0x42, 0x00, 0x55) // i64.const 0; i64.gt_s
}

// appendCountdownYield appends the yield: the copies, the countdown back
// to the interval, the call, and the reload plus add (which makes up for a
// loop header's decrement that runs again).
func (p *codePass) appendCountdownYield(b []byte, add int64, copies []uint32) []byte {
	b = p.appendCopies(b, copies)
	b = append(b, 0x42)
	b = appendS64(b, p.cfg.YieldInterval)
	b = append(b, p.gasSet...)
	b = append(b, 0x10)
	b = appendU32(b, p.yieldFunc)
	if add != 0 {
		b = append(b, p.gasGet...)
		b = append(b, 0x42)
		b = appendS64(b, add)
		b = append(b, 0x7c) // i64.add
		if p.cdLocal {
			b = append(b, 0x21)
			return appendU32(b, p.gasLocal)
		}
		return append(b, p.gasSet...)
	}
	if p.cdLocal {
		b = p.appendLoad(b)
	}
	return b
}

// appendCopies appends, for each local x of copies, x | 0 (copysign(x, x)
// for floats) stored back to x: see the countdown checkpoints above.
func (p *codePass) appendCopies(b []byte, copies []uint32) []byte {
	for _, x := range copies {
		b = append(b, 0x20)
		b = appendU32(b, x)
		switch t := p.localType(x); t {
		case tI32:
			b = append(b, 0x41, 0x00, 0x72) // i32.const 0; i32.or
		case tI64:
			b = append(b, 0x42, 0x00, 0x84) // i64.const 0; i64.or
		default:
			b = append(b, 0x20)
			b = appendU32(b, x)
			if t == tF32 {
				b = append(b, 0x98) // f32.copysign
			} else {
				b = append(b, 0xa6) // f64.copysign
			}
		}
		b = append(b, 0x21)
		b = appendU32(b, x)
	}
	return b
}

// appendCountdownEntry appends the checkpoint of a function entry owning w
// instructions.
func (p *codePass) appendCountdownEntry(b []byte, w int64) []byte {
	b = p.appendCountdownDec(b, w, p.cdLocal, true)
	b = append(b, 0x04, 0x40, 0x05) // if; else
	b = p.appendCountdownYield(b, 0, nil)
	return append(b, 0x0b)
}

// appendCountdownCheck appends the checkpoint of a loop header owning w
// instructions: br 2 reaches $cold from inside the if in the loop, which
// passes the loop's parameters on (the if's type is that of $cold).
func (p *codePass) appendCountdownCheck(b []byte, w int64, l *cdLoop) []byte {
	b = p.appendCountdownDec(b, w, p.cdLocal, false)
	b = p.appendParamsBlockType(append(b, 0x04), l.params)
	return append(b, 0x05, 0x0c, 0x02, 0x0b) // else; br 2; end
}

// appendCountdownLoopClose appends what follows the end of a loop wrapped
// for countdown checkpoints, whose header owns w instructions: br $done;
// end $cold; yield; countdown + w; br $retry; end $retry; end $done.
func (p *codePass) appendCountdownLoopClose(b []byte, w int64, l *cdLoop) []byte {
	b = append(b, 0x0c, 0x02, 0x0b)
	b = p.appendCountdownYield(b, w, p.copyBuf[l.copies[0]:l.copies[1]])
	return append(b, 0x0c, 0x00, 0x0b, 0x0b)
}

// appendStore appends local.get $g; global.set $gas (nothing in a
// function that works on the global, p.gm).
func (p *codePass) appendStore(b []byte) []byte {
	if p.gm {
		return b
	}
	b = append(b, 0x20)
	b = appendU32(b, p.gasLocal)
	return append(b, p.gasSet...)
}

// appendLoad appends global.get $gas; local.set $g (nothing in a
// function that works on the global, p.gm).
func (p *codePass) appendLoad(b []byte) []byte {
	if p.gm {
		return b
	}
	b = append(b, p.gasGet...)
	b = append(b, 0x21)
	return appendU32(b, p.gasLocal)
}

// appendRefillLoop appends the slow path of a charge, where the counter
// does not cover the cost in local c:
//
//	loop; local.get $c; call $out_of_gas; global.get $gas; local.get $c; i64.lt_s; br_if 0; end
//
// out_of_gas, given the cost, either fails (the guest is out of gas: the
// counter holds the gas that could not pay, unchanged) or raises the
// counter, at least to the cost, and returns: the host keeps gas outside
// the counter to make every refill a yield checkpoint (see "Yield
// checkpoints" in README.md). The guest then checks again, so a charge
// passes only when the counter covers it.
func (p *codePass) appendRefillLoop(b []byte, c byte) []byte {
	b = append(b, 0x03, 0x40, 0x20, c, 0x10)
	b = appendU32(b, p.oogFunc)
	b = append(b, p.gasGet...)
	return append(b, 0x20, c, 0x53, 0x0d, 0x00, 0x0b)
}

// wrapBlockType encodes the block type of the wrapper block of a function
// returning results.
func (p *codePass) wrapBlockType(b []byte, results []byte) []byte {
	switch len(results) {
	case 0:
		return append(b, 0x40)
	case 1:
		return append(b, results[0])
	}
	idx, ok := p.wrapTypes[string(results)]
	if !ok {
		idx = uint32(len(p.m.types) + len(p.newTypes))
		t := []byte{0x60, 0}
		t = appendU32(t, uint32(len(results)))
		t = append(t, results...)
		p.newTypes = append(p.newTypes, t)
		p.wrapTypes[string(results)] = idx
	}
	return appendS64(b, int64(idx)) // a type index in a block type is an s33
}

// emit writes the instrumented body of defined function i (validated by
// function, whose patches it applies) to p.out.
func (p *codePass) emit(i int) error {
	m := p.m
	e := m.code[i]
	fidx := uint32(i) + m.numImportedFuncs
	ft := m.types[m.funcs[fidx]]
	instrStart := p.patches[0].off
	slots := frameSlots(p.nlocals, p.maxVals, p.computed)

	var body []byte
	p.cdLocal = p.countdown && p.nloops > 0 && p.nlocals < maxLocals
	// A metered function works on __gas_counter__ itself (p.gm), with
	// out-of-line charges, unless it has a hot loop (see hot): then on a
	// copy, whose hot loops charge inline.
	local := p.gas && len(p.wraps) > 0
	p.gm = p.gas && !local
	skip := -1 // a charge made on entry
	wrap := true
	switch {
	case p.gas:
		if local {
			// The local declarations plus the i64 local copying the
			// counter.
			body = appendU32(p.body[:0], uint32(p.ndecl+1))
			body = append(body, m.b[p.declStart:instrStart]...)
			body = append(body, 0x01, tI64)
		} else {
			body = append(p.body[:0], m.b[e.start:instrStart]...)
		}
		// The depth and stack check, with the first segment's charge
		// when it comes first.
		if pt := p.patches[0]; pt.kind == pCharge && pt.val > 0 && !pt.dead {
			body = p.appendEnterCharge(body, pt.val, slots)
			skip = 0
		} else {
			body = p.appendEnter(body, slots)
		}
		body = p.appendLoad(body)
		// Without a return or a branch to the function's label, the body
		// leaves only through its final end: no wrapper block is needed
		// to run the exit code.
		wrap = p.exits
	case p.cdLocal:
		// The local declarations plus the i64 local caching the countdown.
		body = appendU32(p.body[:0], uint32(p.ndecl+1))
		body = append(body, m.b[p.declStart:instrStart]...)
		body = append(body, 0x01, tI64)
		body = p.appendRestart(body, fidx)
		body = p.appendPrologue(body, slots)
	default:
		body = append(p.body[:0], m.b[e.start:instrStart]...)
		body = p.appendRestart(body, fidx)
		body = p.appendPrologue(body, slots)
	}
	if wrap {
		body = append(body, 0x02) // wrapper block: the original body's label
		body = p.wrapBlockType(body, ft.results)
	}

	p.planBrTables()
	info := &p.result.Functions[i]
	info.OriginalIndex, info.Index = fidx, fidx+p.shift
	info.StackSlots = slots
	pos := instrStart
	for k, pt := range p.patches {
		body = append(body, m.b[pos:pt.off]...)
		switch pt.kind {
		case pIf:
			if pt.merged {
				i, _ := p.pricedHelper(pricedKey{hIfTriple, [3]uint64{p.patches[pt.val].val, p.patches[pt.depth].val, p.patches[pt.after].val}})
				body = append(body, 0x10)
				body = appendU32(body, i)
				break
			}
			body = p.appendIfCharge(body, pt)
		case pBrTable:
			body = p.appendBrTableCharge(body, pt)
		case pCharge:
			if pt.merged {
				// Charged by the pIf before its if, or the pBrTable
				// before its br_table.
				info.Segments++
				info.StaticCost += pt.val
				if p.cfg.RecordSegments {
					info.Segs = append(info.Segs, Segment{Offset: pt.off, Cost: pt.val})
				}
			} else if k == skip {
				if pt.val > 0 {
					info.Segments++
					info.StaticCost += pt.val
					if p.cfg.RecordSegments {
						info.Segs = append(info.Segs, Segment{Offset: pt.off, Cost: pt.val})
					}
				}
			} else if pt.val > 0 && p.gas {
				switch {
				case pt.dead: // a dead segment is never entered
				case p.gm:
					body = p.appendGlobalCharge(body, pt.val)
				case p.hot(pt.loop) && p.wrapOf[pt.loop] >= 0:
					w := &p.wraps[p.wrapOf[pt.loop]]
					w.charge = pt.val
					body = p.appendHotCheck(body, pt.val)
				default:
					body = p.appendLocalCharge(body, pt.val)
				}
				info.Segments++
				info.StaticCost += pt.val
				if p.cfg.RecordSegments {
					info.Segs = append(info.Segs, Segment{Offset: pt.off, Cost: pt.val})
				}
			}
		case pYield:
			body = p.appendCountdownCheck(body, int64(pt.val), &p.cdLoops[pt.depth])
		case pYEntry:
			if p.elided == nil || p.elided[i] == 0 {
				body = p.appendCountdownEntry(body, int64(pt.val))
			}
		case pLoopOpen:
			body = p.appendLoopOpen(body, &p.wraps[pt.val])
		case pLoopEnd:
			if p.gas {
				w := &p.wraps[pt.val]
				l := &p.cdLoops[w.cdLoop]
				body = p.appendHotLoopClose(body, w.charge, p.copyBuf[l.copies[0]:l.copies[1]])
			} else {
				l := &p.cdLoops[p.wraps[pt.val].cdLoop]
				body = p.appendCountdownLoopClose(body, int64(p.patches[l.cp].val), l)
			}
		case pLabel:
			body = appendU32(body, uint32(pt.val))
		case pFunc:
			body = appendU32(body, uint32(pt.val)+p.shift)
		case pReturn:
			body = append(body, 0x0c)
			body = appendU32(body, uint32(pt.val))
		case pDyn:
			body = p.appendStore(body)
			body = append(body, 0x42)
			body = appendS64(body, int64(pt.val))
			body = append(body, 0x10)
			body = appendU32(body, p.helper(hDyn))
			body = p.appendLoad(body)
		case pGrow:
			body = append(body, 0x10)
			body = appendU32(body, p.helper(hGrow+int(pt.val)))
		case pStore:
			if p.gas || p.cdLocal {
				body = p.appendStore(body)
			}
		case pLoad:
			if p.gas || p.cdLocal {
				body = p.appendLoad(body)
			}
		case pFinalEnd:
			// End of the wrapper (if any); normal exit: store the counter
			// (if a copy), release the depth and slots, end. Without gas,
			// the call_depth_exceeded landing block follows.
			if wrap {
				body = append(body, 0x0b)
			}
			if p.gas {
				body = p.appendStore(body)
				body = p.appendLeave(body, slots)
				body = append(body, 0x0b)
				break
			}
			if p.cdLocal {
				body = p.appendStore(body)
			}
			body = p.appendEpilogue(body, slots)
			body = append(body, 0x0f, 0x0b)
			// End of the call_depth_exceeded landing block.
			body = append(body, p.cdeCall...)
			body = append(body, 0x0b)
		}
		pos = pt.off + pt.skip
	}
	body = append(body, m.b[pos:e.end]...)
	if len(body) > maxFuncBodySize {
		return p.errf(ErrTooLarge, e.start, "instrumented function body too large: %d bytes", len(body))
	}
	p.body = body
	p.out = appendU32(p.out, uint32(len(body)))
	p.out = append(p.out, body...)
	return nil
}

// Helper kinds: the call-depth check on entry and the release on exit of a
// metered function, the static charge on __gas_counter__ and on a
// function's local copy of it, the dynamic charge, and hGrow+t the
// table.grow helper of table t.
const (
	hEnter = iota
	hEnterCharge
	hLeave
	hCharge
	hChargeLocal
	hDyn
	hGrow
	// hCost marks in helperOrder a charge helper of a given cost (see
	// costHelper): its cost is helperCosts[k][0].
	hCost = -1
	// hIfPair marks in helperOrder an if-charge helper of a pair of costs
	// (see pairHelper): the pair is helperCosts[k].
	hIfPair = -2
	// hBrTable marks in helperOrder a br_table charge helper: it is
	// brHelpers[helperCosts[k][0]].
	hBrTable = -3
	// hIfTriple marks in helperOrder an if-charge helper that charges the
	// then branch's segment, or the false edge's and the segment after
	// (see appendIfTripleFunc): the costs are helperCosts[k].
	hIfTriple = -4
)

// maxCostHelpers bounds the charge helpers of given costs and if-charge
// helpers of given pairs of costs per module; costHelperUses is the use of
// a cost (or a pair) from which its charges call its own helper (the first
// ones call $charge, or charge the two branches apart: a helper pays for
// itself, in bytes, only when it is used often).
const (
	maxCostHelpers = 1024
	costHelperUses = 16
)

// appendGlobalCharge appends the static charge of cost c of a function
// working on the global: call $charge_C, the helper of that cost (2 or 3
// bytes, no argument: the call site is cheaper to compile), or, past
// maxCostHelpers distinct costs, i64.const C; call $charge.
func (p *codePass) appendGlobalCharge(b []byte, c uint64) []byte {
	p.costUses[c]++
	if p.costUses[c] < costHelperUses {
		b = append(b, 0x42)
		b = appendS64(b, int64(c))
		b = append(b, 0x10)
		return appendU32(b, p.helper(hCharge))
	}
	if i, ok := p.costHelper(c); ok {
		b = append(b, 0x10)
		return appendU32(b, i)
	}
	b = append(b, 0x42)
	b = appendS64(b, int64(c))
	b = append(b, 0x10)
	return appendU32(b, p.helper(hCharge))
}

// mergeIfCharges enables appendIfCharge; tests turn it off to compare
// with the separate charges.
var mergeIfCharges = true

// appendIfCharge applies the pIf pt, before an if whose two branches each
// start a segment entered only from the if (the then branch, and the else
// branch or the code after an if whose then branch never reaches its end):
// in a function working on the global, once their pair of costs has been
// charged costIfUses times, the two charges become one call, before the
// if, of the helper of that pair, which charges the cost of the branch the
// condition takes and passes the condition on. Nothing runs between the
// if and the first instruction of either branch, so the charge is made at
// the same point, of the same gas, failing or refilling the same way.
func (p *codePass) appendIfCharge(b []byte, pt patch) []byte {
	if !p.gm || pt.dead || pt.depth == noIfSeg || !mergeIfCharges {
		return b
	}
	t, f := &p.patches[pt.val], &p.patches[pt.depth]
	if t.kind != pCharge || f.kind != pCharge || t.dead || f.dead || t.val == 0 || f.val == 0 {
		return b
	}
	pair := [2]uint64{t.val, f.val}
	p.pairUses[pair]++
	if p.pairUses[pair] < costHelperUses {
		return b
	}
	i, ok := p.pairHelper(pair)
	if !ok {
		return b
	}
	t.merged, f.merged = true, true
	b = append(b, 0x10)
	return appendU32(b, i)
}

// mergeBrTableCharges enables planBrTables; tests turn it off to compare
// with the separate charges.
var mergeBrTableCharges = true

// planBrTables decides, before a function working on the global is
// emitted, which charges move onto the edges of Go's dispatch: a loop
// whose header segment is only blocks, the local.get of an index and a
// br_table on it (see noteBrTable). There, the header's charge H moves to
// right before the br_table, into one call that charges H and then the
// segment S of the target the index selects, when every other edge into S
// charges it too:
//
//   - S only the br_table enters (the code before the target block's end
//     never reaches it);
//   - S the br_table and the false edge of an if enter, where that if,
//     without else, whose then branch never reaches its end (Go's
//     conditional jump: if; i32.const; local.set; br; end), ends right
//     before the target block's end: its if-charge helper charges the
//     then branch's segment T, or the false edge's F (the block's end) and
//     then S, one after the other (see appendIfTripleFunc).
//
// The charges are the same, in the same order, each checked on its own;
// nothing observable runs between where a charge is made and where it was
// (blocks and a local.get; an if not taken and an end), so the gas, the
// point of running out and the refills at yield checkpoints are those of
// the separate charges. S keeps its own charge when an edge cannot charge
// it (see edgeCost), and a loop keeps its header charge when no target's
// charge moves or no helper has room.
func (p *codePass) planBrTables() {
	if !p.gm || !mergeBrTableCharges {
		return
	}
	for ti := range p.brTabs {
		t := &p.brTabs[ti]
		if h := int32(t.hdr); !p.chargeable(h) {
			continue
		}
		end := len(p.brSlots)
		if ti+1 < len(p.brTabs) {
			end = p.brTabs[ti+1].slots
		}
		slots, preds := p.brSlots[t.slots:end], p.brPreds[t.slots:end]
		costs := p.brCostBuf[:0]
		n := 0
		for j, s := range slots {
			c := p.edgeCost(s, preds[j])
			if c > 0 {
				n++
			}
			costs = append(costs, c)
		}
		p.brCostBuf = costs
		if n == 0 {
			continue
		}
		vec := p.brVec[:0]
		for _, l := range p.brLabels[t.labels[0]:t.labels[1]] {
			c := uint64(0)
			if l != noSlot {
				c = costs[l]
			}
			vec = append(vec, c)
		}
		p.brVec = vec
		h, base, ok := p.brTableHelper(vec)
		if !ok {
			continue
		}
		t.fold, t.helper, t.base = true, h, base
		p.patches[t.hdr].merged = true
		for j, s := range slots {
			if costs[j] == 0 {
				continue
			}
			p.patches[s].merged = true
			if pi := preds[j]; pi >= 0 {
				pf := &p.patches[pi]
				pf.merged = true
				p.patches[pf.val].merged, p.patches[pf.depth].merged = true, true
			}
		}
	}
}

// edgeCost returns the cost of segment s (a br_table target's, see
// brTab) when a helper can hold it (maxBrLabelCost at most) and every
// edge into it can charge it, else 0: when no if falls into it (pred -1),
// or the pIf pred can charge its two branches and, on the false edge, s
// (see appendIfTripleFunc).
func (p *codePass) edgeCost(s, pred int32) uint64 {
	if s < 0 || !p.chargeable(s) {
		return 0
	}
	c := p.patches[s].val
	if c > maxBrLabelCost {
		return 0
	}
	if pred < 0 {
		return c
	}
	pf := &p.patches[pred]
	if pf.kind != pIf || pf.dead || pf.merged || pf.depth == noIfSeg {
		return 0
	}
	t, f := int32(pf.val), int32(pf.depth)
	if !p.chargeable(t) || !p.chargeable(f) {
		return 0
	}
	if _, ok := p.pricedHelper(pricedKey{hIfTriple, [3]uint64{p.patches[t].val, p.patches[f].val, c}}); !ok {
		return 0
	}
	return c
}

// appendBrTableCharge applies the pBrTable pt, before a br_table whose
// charges planBrTables moved there: local.get X; i64.const H; i64.const
// BASE<<32|N; call $charge_br, where X is the br_table's index, H the loop
// header's charge and the helper finds the br_table's N labels and
// default at BASE (see appendBrHelperFunc).
func (p *codePass) appendBrTableCharge(b []byte, pt patch) []byte {
	t := &p.brTabs[pt.val]
	if !t.fold {
		return b
	}
	b = append(b, 0x20)
	b = appendU32(b, t.local)
	b = append(b, 0x42)
	b = appendS64(b, int64(p.patches[t.hdr].val))
	b = append(b, 0x42)
	b = appendS64(b, int64(uint64(t.base)<<32|uint64(t.labels[1]-t.labels[0]-1)))
	b = append(b, 0x10)
	return appendU32(b, t.helper.fn)
}

// brHelper is a br_table charge helper (see appendBrHelperFunc): the cost
// of each label of the br_tables it serves, one after another.
type brHelper struct {
	fn    uint32
	costs []uint64
	// bases maps a br_table's vector of costs (encoded) to where its
	// labels start.
	bases map[string]uint32
}

// maxBrHelperLabels bounds the labels of the br_tables a br_table charge
// helper serves: the time engines take to compile one function grows
// faster than its size (wazero's: 1.14x -> 1.64x the Go guest's original
// compile time with one helper of 60,000 labels, then a br_table of as
// many labels).
var maxBrHelperLabels = 1000

// Costs are packed brCostsPerWord to an i64 in a br_table charge helper,
// brCostBits bits each (see appendBrHelperFunc); a target segment whose
// cost does not fit, maxBrLabelCost at most, keeps its own charge (40 of
// the Go guest's 39,379 moved charges).
const (
	brCostBits     = 8
	brCostsPerWord = 64 / brCostBits
	maxBrLabelCost = 1<<brCostBits - 1
)

// brTableHelper returns the br_table charge helper that holds the vector
// of costs vec (one per label, the default last), adding it, and where
// its labels start in it; false if no helper has room for it.
func (p *codePass) brTableHelper(vec []uint64) (*brHelper, uint32, bool) {
	p.brKey = p.brKey[:0]
	for _, c := range vec {
		p.brKey = binary.AppendUvarint(p.brKey, c)
	}
	var h *brHelper
	if k := len(p.brHelpers); k > 0 {
		h = p.brHelpers[k-1]
		if base, ok := h.bases[string(p.brKey)]; ok {
			return h, base, true
		}
	}
	if h == nil || len(h.costs)+len(vec) > maxBrHelperLabels {
		if len(vec) > maxBrHelperLabels || len(p.pricedIdx)+len(p.brHelpers) >= p.maxCostHelpers {
			return nil, 0, false
		}
		h = &brHelper{fn: p.helperBase + uint32(len(p.helperOrder)), bases: map[string]uint32{}}
		p.helperCosts = append(p.helperCosts, make([][3]uint64, len(p.helperOrder)-len(p.helperCosts))...)
		p.helperOrder = append(p.helperOrder, hBrTable)
		p.helperCosts = append(p.helperCosts, [3]uint64{uint64(len(p.brHelpers))})
		p.brHelpers = append(p.brHelpers, h)
	}
	base := uint32(len(h.costs))
	h.bases[string(p.brKey)] = base
	h.costs = append(h.costs, vec...)
	return h, base, true
}

// appendBrHelperFunc appends the body of br_table charge helper h, of type
// (i32, i64, i64) -> (), called as local.get X; i64.const H; i64.const
// BASE<<32|N; call $charge_br before a br_table of N labels and a default
// whose index is the value of local X, in place of the charge H of the
// loop header the br_table ends: it charges H, then takes the cost C of
// label i = BASE + min(X, N) (the label the index selects in the br_table
// served) from the i64 word W that holds it, brCostsPerWord costs of
// brCostBits bits each, which its own br_table selects (one label per
// word, one block per distinct word), and charges C unless 0, each charge
// as $charge does:
//
//	(func $charge_br (param $x i32) (param $h i64) (param $bn i64) (local $c i64) (local $i i32)
//	  <the charge of $h>
//	  local.get $x; local.get $bn; i32.wrap_i64
//	  local.get $x; local.get $bn; i32.wrap_i64; i32.lt_u; select
//	  local.get $bn; i64.const 32; i64.shr_u; i32.wrap_i64; i32.add; local.set $i
//	  block $out
//	    block $k-1 … block $0
//	      local.get $i; i32.const log2(brCostsPerWord); i32.shr_u
//	      br_table <the block of each word> 0
//	    end $0; i64.const W0; local.set $c; br $out
//	    …
//	  end $k-1; i64.const Wk-1; local.set $c
//	  end $out
//	  local.get $c
//	  local.get $i; i32.const brCostsPerWord-1; i32.and; i32.const log2(brCostBits); i32.shl
//	  i64.extend_i32_u; i64.shr_u; i64.const maxBrLabelCost; i64.and; local.tee $c
//	  i64.eqz; br_if 0
//	  <the charge of $c>)
//
// The blocks are in the helper, compiled once: at the call site, the
// charges are one call with no result. Packing the costs keeps the
// helper's br_table short: wazero makes a basic block of every label of a
// br_table, and one label per cost (998350b) took wazero's compile of the
// Go guest from 1.16x to 1.24x the original's (1.11x with the labels
// removed, 9 interleaved rounds).
func (p *codePass) appendBrHelperFunc(code []byte, h *brHelper) []byte {
	nw := (len(h.costs) + brCostsPerWord - 1) / brCostsPerWord
	words := make([]uint32, nw)
	class := map[uint64]uint32{}
	var ws []uint64
	for j := range nw {
		var w uint64
		for k := 0; k < brCostsPerWord && j*brCostsPerWord+k < len(h.costs); k++ {
			w |= h.costs[j*brCostsPerWord+k] << (k * brCostBits)
		}
		cl, ok := class[w]
		if !ok {
			cl = uint32(len(ws))
			class[w] = cl
			ws = append(ws, w)
		}
		words[j] = cl
	}
	k := len(ws)
	b := []byte{0x02, 0x01, tI64, 0x01, tI32}
	b = p.appendLocalCostCharge(b, 1)
	b = append(b, 0x20, 0x00, 0x20, 0x02, 0xa7, 0x20, 0x00, 0x20, 0x02, 0xa7, 0x49, 0x1b) // min(x, n)
	b = append(b, 0x20, 0x02, 0x42, 0x20, 0x88, 0xa7, 0x6a, 0x21, 0x04)                   // + base; local.set $i
	b = append(b, 0x02, 0x40)
	for range k {
		b = append(b, 0x02, 0x40)
	}
	b = append(b, 0x20, 0x04, 0x41, byte(bits.TrailingZeros(brCostsPerWord)), 0x76) // $i >> log2(per word)
	b = append(b, 0x0e)
	b = appendU32(b, uint32(nw))
	for _, cl := range words {
		b = appendU32(b, cl)
	}
	b = append(b, 0x00)
	for j, w := range ws {
		b = append(b, 0x0b, 0x42)
		b = appendS64(b, int64(w))
		b = append(b, 0x21, 0x03)
		if j < k-1 {
			b = append(b, 0x0c)
			b = appendU32(b, uint32(k-1-j))
		}
	}
	b = append(b, 0x0b, 0x20, 0x03)                                                                           // end $out; local.get $c
	b = append(b, 0x20, 0x04, 0x41, brCostsPerWord-1, 0x71, 0x41, byte(bits.TrailingZeros(brCostBits)), 0x74) // ($i & 7) << 3
	b = append(b, 0xad, 0x88, 0x42)
	b = appendS64(b, maxBrLabelCost)
	b = append(b, 0x83, 0x22, 0x03, 0x50, 0x0d, 0x00) // i64.and; local.tee $c; i64.eqz; br_if 0
	b = p.appendLocalCostCharge(b, 3)
	b = append(b, 0x0b)
	code = appendU32(code, uint32(len(b)))
	return append(code, b...)
}

// appendLocalCostCharge appends the charge of the cost in local c, as
// $charge's: global.get $gas; local.get $c; i64.lt_s; if; <refill $c>;
// end; global.get $gas; local.get $c; i64.sub; global.set $gas.
func (p *codePass) appendLocalCostCharge(b []byte, c byte) []byte {
	b = append(b, p.gasGet...)
	b = append(b, 0x20, c, 0x53, 0x04, 0x40) // local.get $c; i64.lt_s; if
	b = p.appendRefillLoop(b, c)
	b = append(b, 0x0b)
	b = append(b, p.gasGet...)
	b = append(b, 0x20, c, 0x7d)
	return append(b, p.gasSet...)
}

// appendConstCharge appends the charge of cost c, as $charge_C's (see
// appendCostHelperFunc).
func (p *codePass) appendConstCharge(b []byte, c uint64) []byte {
	k := appendS64([]byte{0x42}, int64(c))
	b = append(b, p.gasGet...)
	b = append(b, k...)
	b = append(b, 0x53, 0x04, 0x40, 0x03, 0x40) // i64.lt_s; if; loop
	b = append(b, k...)
	b = append(b, 0x10)
	b = appendU32(b, p.oogFunc)
	b = append(b, p.gasGet...)
	b = append(b, k...)
	b = append(b, 0x53, 0x0d, 0x00, 0x0b, 0x0b) // i64.lt_s; br_if 0; end; end
	b = append(b, p.gasGet...)
	b = append(b, k...)
	b = append(b, 0x7d)
	return append(b, p.gasSet...)
}

// appendIfTripleFunc appends the body of the if-charge helper of the costs
// (T, F, S), of type (i32) -> (i32), before an if whose false edge falls
// through the end of a block into a segment S (see planBrTables): it
// charges T when the condition holds, else F and then S, each charge
// checked and refilled on its own, as two separate charges are:
//
//	(func $charge_if_T_F_S (param $cond i32) (result i32)
//	  local.get $cond
//	  if; <the charge of T>; else; <the charge of F>; <the charge of S>; end
//	  local.get $cond)
func (p *codePass) appendIfTripleFunc(code []byte, costs [3]uint64) []byte {
	b := []byte{0x00, 0x20, 0x00, 0x04, 0x40}
	b = p.appendConstCharge(b, costs[0])
	b = append(b, 0x05)
	b = p.appendConstCharge(b, costs[1])
	b = p.appendConstCharge(b, costs[2])
	b = append(b, 0x0b, 0x20, 0x00, 0x0b)
	code = appendU32(code, uint32(len(b)))
	return append(code, b...)
}

// chargeable reports whether patch s is a charge of non-zero cost, made
// where its segment starts.
func (p *codePass) chargeable(s int32) bool {
	pt := &p.patches[s]
	return pt.kind == pCharge && !pt.dead && !pt.merged && pt.val > 0
}

// pairHelper returns the function index of the if-charge helper of the
// pair of costs (then, false), numbering it on first use, or false if the
// module has maxCostHelpers helpers of given costs already.
func (p *codePass) pairHelper(pair [2]uint64) (uint32, bool) {
	return p.pricedHelper(pricedKey{hIfPair, [3]uint64{pair[0], pair[1]}})
}

// pricedHelper returns the function index of the helper of given costs k,
// numbering it on first use, or false if the module has maxCostHelpers of
// them already.
func (p *codePass) pricedHelper(k pricedKey) (uint32, bool) {
	if i, ok := p.pricedIdx[k]; ok {
		return i, true
	}
	if len(p.pricedIdx)+len(p.brHelpers) >= p.maxCostHelpers {
		return 0, false
	}
	i := p.helperBase + uint32(len(p.helperOrder))
	p.pricedIdx[k] = i
	p.helperCosts = append(p.helperCosts, make([][3]uint64, len(p.helperOrder)-len(p.helperCosts))...)
	p.helperOrder = append(p.helperOrder, k.kind)
	p.helperCosts = append(p.helperCosts, k.costs)
	return i, true
}

// appendIfPairFunc appends the body of the if-charge helper of the pair
// of costs (T, F), of type (i32) -> (i32):
//
//	(func $charge_if_T_F (param $cond i32) (result i32) (local $c i64)
//	  i64.const T; i64.const F; local.get $cond; select; local.set $c
//	  <the charge of $c, as $charge's>
//	  local.get $cond)
func (p *codePass) appendIfPairFunc(code []byte, pair [2]uint64) []byte {
	b := []byte{0x01, 0x01, tI64, 0x42}
	b = appendS64(b, int64(pair[0]))
	b = append(b, 0x42)
	b = appendS64(b, int64(pair[1]))
	b = append(b, 0x20, 0x00, 0x1b, 0x21, 0x01) // local.get $cond; select; local.set $c
	b = append(b, p.gasGet...)
	b = append(b, 0x20, 0x01, 0x53, 0x04, 0x40) // local.get $c; i64.lt_s; if
	b = p.appendRefillLoop(b, 1)
	b = append(b, 0x0b)
	b = append(b, p.gasGet...)
	b = append(b, 0x20, 0x01, 0x7d)
	b = append(b, p.gasSet...)
	b = append(b, 0x20, 0x00, 0x0b) // local.get $cond; end
	code = appendU32(code, uint32(len(b)))
	return append(code, b...)
}

// costHelper returns the function index of the charge helper of cost c,
// numbering it on first use, or false if the module has maxCostHelpers
// helpers of given costs already (or no room for one more function).
func (p *codePass) costHelper(c uint64) (uint32, bool) {
	return p.pricedHelper(pricedKey{hCost, [3]uint64{c}})
}

// appendCostHelperFunc appends the body of the charge helper of cost C:
//
//	(func $charge_C
//	  global.get $gas; i64.const C; i64.lt_s
//	  if; loop; i64.const C; call $out_of_gas; global.get $gas; i64.const C; i64.lt_s; br_if 0; end; end
//	  global.get $gas; i64.const C; i64.sub; global.set $gas)
func (p *codePass) appendCostHelperFunc(code []byte, c uint64) []byte {
	b := p.appendConstCharge([]byte{0x00}, c) // no locals; the charge
	b = append(b, 0x0b)
	code = appendU32(code, uint32(len(b)))
	return append(code, b...)
}

// helper returns the function index of the helper of kind h, numbering it
// on first use.
func (p *codePass) helper(h int) uint32 {
	if p.helperIdx[h] < 0 {
		p.helperIdx[h] = int32(p.helperBase) + int32(len(p.helperOrder))
		p.helperOrder = append(p.helperOrder, h)
	}
	return uint32(p.helperIdx[h])
}

// appendHelperFunc appends the body of helper h (hEnter…hChargeLocal):
//
//	$enter (param $inc i64): the depth and stack check, see appendPrologue
//	  global.get $depth; local.get $inc; i64.add; local.tee $inc
//	  i64.const BIAS; i64.add; i64.const MASK; i64.and; i64.eqz
//	  if; local.get $inc; global.set $depth; return; end
//	  call $call_depth_exceeded; unreachable
//	$leave (param $inc i64)
//	  global.get $depth; local.get $inc; i64.sub; global.set $depth
//	$charge (param $c i64): a static charge of a function on the global
//	  global.get $gas; local.get $c; i64.lt_s
//	  if; <refill $c>; end
//	  global.get $gas; local.get $c; i64.sub; global.set $gas
//	$charge_local (param $g i64) (param $c i64) (result i64): on the copy
//	of a function with hot loops
//	  local.get $g; local.get $c; i64.lt_s
//	  if; local.get $g; global.set $gas; <refill $c>; global.get $gas; local.set $g; end
//	  local.get $g; local.get $c; i64.sub
//
// where <refill $c> is appendRefillLoop's.
func (p *codePass) appendHelperFunc(code []byte, h int) []byte {
	b := []byte{0x00}
	// depth appends the depth and stack check of the frame of slots in
	// local s; charge the charge of c in local c.
	depth := func(b []byte, s byte) []byte {
		b = append(b, 0x01, 0x01, tI64) // (local $d i64)
		b = append(b, p.depthGet...)
		b = append(b, 0x20, s, 0xad, 0x42, 0x80, 0x80, 0x80, 0x80, 0x10, 0x84, 0x7c, 0x22, s+1, 0x42) // local.get $s; i64.extend_i32_u; i64.const 1<<32; i64.or; i64.add; local.tee $d
		b = appendS64(b, p.depthBias())
		b = append(b, 0x7c, 0x42)
		b = appendS64(b, depthMask)
		b = append(b, 0x83, 0x50, 0x04, 0x40, 0x05) // i64.and; i64.eqz; if; else
		b = append(b, p.cdeCall...)
		b = append(b, 0x0b, 0x20, s+1)
		return append(b, p.depthSet...)
	}
	switch h {
	case hEnter:
		b = depth(b[:0], 0)
	case hEnterCharge:
		b = depth(b[:0], 1)
		b = p.appendLocalCostCharge(b, 0)
	case hLeave:
		b = append(b, p.depthGet...)
		b = append(b, 0x20, 0x00, 0xad, 0x42, 0x80, 0x80, 0x80, 0x80, 0x10, 0x84, 0x7d)
		b = append(b, p.depthSet...)
	case hCharge:
		b = p.appendLocalCostCharge(b, 0)
	case hChargeLocal:
		b = append(b, 0x20, 0x00, 0x20, 0x01, 0x53, 0x04, 0x40, 0x20, 0x00) // local.get $g; local.get $c; i64.lt_s; if; local.get $g
		b = append(b, p.gasSet...)
		b = p.appendRefillLoop(b, 1)
		b = append(b, p.gasGet...)
		b = append(b, 0x21, 0x00, 0x0b, 0x20, 0x00, 0x20, 0x01, 0x7d) // local.set $g; end; local.get $g; local.get $c; i64.sub
	}
	b = append(b, 0x0b)
	code = appendU32(code, uint32(len(b)))
	return append(code, b...)
}

// appendGrowFunc appends the body of the table.grow helper of table t,
// (param $init reftype) (param $n i32) (result i32):
//
//	local.get $n; i64.extend_i32_u; table.size t; i64.extend_i32_u; i64.add
//	i64.const MaxTableElements; i64.gt_u
//	if (result i32) i32.const -1
//	else local.get $init; local.get $n; table.grow t end
func (p *codePass) appendGrowFunc(code []byte, t uint32) []byte {
	b := []byte{0x00, 0x20, 0x01, 0xad, 0xfc, 0x10}
	b = appendU32(b, t)
	b = append(b, 0xad, 0x7c, 0x42)
	b = appendS64(b, int64(p.cfg.MaxTableElements))
	b = append(b, 0x56, 0x04, tI32, 0x41, 0x7f, 0x05, 0x20, 0x00, 0x20, 0x01, 0xfc, 0x0f)
	b = appendU32(b, t)
	b = append(b, 0x0b, 0x0b)
	code = appendU32(code, uint32(len(b)))
	return append(code, b...)
}

// appendChargeFunc appends the body of the dynamic charge helper:
//
//	(func (param $n i32) (param $unit i64) (result i32) (local $cost i64)
//	  local.get $n; i64.extend_i32_u; local.get $unit; i64.mul; local.tee $cost
//	  global.get $gas; i64.gt_s
//	  if; loop; local.get $cost; call $out_of_gas; local.get $cost; global.get $gas; i64.gt_s; br_if 0; end; end
//	  global.get $gas; local.get $cost; i64.sub; global.set $gas
//	  local.get $n)
//
// (see appendRefillLoop).
func (p *codePass) appendChargeFunc(code []byte) []byte {
	g := appendU32(nil, p.gasGlobal)
	b := []byte{0x01, 0x01, tI64, 0x20, 0x00, 0xad, 0x20, 0x01, 0x7e, 0x22, 0x02, 0x23}
	b = append(b, g...)
	b = append(b, 0x55, 0x04, 0x40, 0x03, 0x40, 0x20, 0x02, 0x10) // i64.gt_s; if; loop; local.get $cost; call
	b = appendU32(b, p.oogFunc)
	b = append(b, 0x20, 0x02, 0x23)
	b = append(b, g...)
	b = append(b, 0x55, 0x0d, 0x00, 0x0b, 0x0b, 0x23) // i64.gt_s; br_if 0; end; end
	b = append(b, g...)
	b = append(b, 0x20, 0x02, 0x7d, 0x24)
	b = append(b, g...)
	b = append(b, 0x20, 0x00, 0x0b)
	code = appendU32(code, uint32(len(b)))
	return append(code, b...)
}

// appendFixed appends m.b[start:end] with the fixups that fall in it applied.
func (p *codePass) appendFixed(dst []byte, start, end int) []byte {
	m := p.m
	i := sort.Search(len(m.fixups), func(i int) bool { return m.fixups[i].start >= start })
	pos := start
	for ; i < len(m.fixups) && m.fixups[i].start < end; i++ {
		f := &m.fixups[i]
		dst = append(dst, m.b[pos:f.start]...)
		switch f.kind {
		case fixFunc:
			dst = appendU32(dst, f.val+p.shift)
		case fixBytes:
			dst = append(dst, f.data...)
		}
		pos = f.end
	}
	return append(dst, m.b[pos:end]...)
}

// afterCount returns the offset following the vector count that starts
// section s.
func (m *module) afterCount(s *section) int {
	r := newReader(m.b, s.start, s.end)
	r.u32()
	return r.pos
}

func appendSection(out []byte, id byte, content []byte) []byte {
	out = append(out, id)
	out = appendU32(out, uint32(len(content)))
	return append(out, content...)
}

// assemble builds the output module.
func (p *codePass) assemble(code []byte, voidType uint32, helperTypes []uint32) ([]byte, error) {
	m := p.m
	out := make([]byte, 0, len(m.b)+len(code)-m.sectionLen(secCode)+256)
	out = append(out, wasmHeader...)

	var content []byte
	build := func(id byte) []byte {
		content = content[:0]
		var s *section
		if k := m.secIdx[id]; k >= 0 {
			s = &m.sections[k]
		}
		vec := func(count int, extra ...[]byte) {
			// nil entries of extra are left out.
			n := count
			for _, e := range extra {
				if e != nil {
					n++
				}
			}
			content = appendU32(content, uint32(n))
			if s != nil {
				content = p.appendFixed(content, m.afterCount(s), s.end)
			}
			for _, e := range extra {
				content = append(content, e...)
			}
		}
		switch id {
		case secType:
			n := len(m.types)
			content = appendU32(content, uint32(n+len(p.newTypes)))
			if s != nil {
				content = append(content, m.b[m.afterCount(s):s.end]...)
			}
			for _, t := range p.newTypes {
				content = append(content, t...)
			}
		case secImport:
			imp := func(field string, t uint32) []byte {
				b := appendName(nil, ImportModule)
				b = appendName(b, field)
				b = append(b, 0x00)
				return appendU32(b, t)
			}
			var oog, yield []byte
			if p.gas {
				oog = imp(OutOfGasImport, voidType+1)
			}
			if p.countdown {
				yield = imp(YieldImport, voidType)
			}
			vec(m.numImports, oog, imp(CallDepthExceededImport, voidType), yield)
		case secFunction:
			helpers := make([][]byte, len(helperTypes))
			for i, t := range helperTypes {
				helpers[i] = appendU32(nil, t)
			}
			vec(len(m.code), helpers...)
			if s == nil && len(helpers) == 0 {
				return nil
			}
		case secGlobal:
			var g, yat []byte
			if p.gas {
				g = []byte{tI64, 0x01, 0x42}
				g = appendS64(g, p.cfg.InitialGas)
				g = append(g, 0x0b)
			}
			depth := []byte{tI64, 0x01, 0x42, 0x00, 0x0b}
			if p.countdown {
				yat = appendS64([]byte{tI64, 0x01, 0x42}, p.cfg.YieldInterval)
				yat = append(yat, 0x0b)
			}
			vec(len(m.globals)-int(m.numImportedGlobals), g, depth, yat)
		case secExport:
			exp := func(name string, g uint32) []byte {
				b := appendName(nil, name)
				b = append(b, 0x03)
				return appendU32(b, g)
			}
			var g, yat []byte
			if p.gas {
				g = exp(GasCounterExport, p.gasGlobal)
			}
			if p.countdown {
				yat = exp(YieldCountdownExport, p.gasGlobal)
			}
			vec(m.numExports, g, exp(CallDepthExport, p.depthGlobal), yat)
		case secCode:
			if s == nil && len(helperTypes) == 0 {
				return nil
			}
			content = append(content, code...)
		default:
			if s == nil {
				return nil
			}
			content = p.appendFixed(content, s.start, s.end)
		}
		return content
	}

	seenName := false
	out = m.layout(out, build, func(out []byte, s *section) []byte {
		name := string(s.name)
		switch {
		case name == "name":
			if seenName {
				return out
			}
			seenName = true
			if c, ok := p.rewriteNames(s); ok {
				out = appendSection(out, secCustom, c)
			}
		case strings.HasPrefix(name, ".debug_"), strings.HasPrefix(name, "reloc."),
			name == "linking", name == "sourceMappingURL", name == "external_debug_info":
			// They refer to code offsets, which instrumentation changes.
		default:
			// The name is part of the content: copied from its start.
			out = appendSection(out, secCustom, m.b[s.start:s.end])
		}
		return out
	})
	return out, nil
}

// layout appends the output module's sections to out, in the order of the
// binary format: every non-custom section as build returns its content (nil
// omits it; build is asked for every section id, present in the input or
// not), and each custom section of the input, in place relative to the
// others, as custom appends it.
func (m *module) layout(out []byte, build func(id byte) []byte, custom func(out []byte, s *section) []byte) []byte {
	// Output order of the non-custom sections.
	order := []byte{secType, secImport, secFunction, secTable, secMemory, secGlobal, secExport,
		secStart, secElement, secDataCount, secCode, secData}
	next := 0
	flushUntil := func(rank int) {
		for next < len(order) && sectionRank[order[next]] <= rank {
			if c := build(order[next]); c != nil {
				out = appendSection(out, order[next], c)
			}
			next++
		}
	}
	for i := range m.sections {
		s := &m.sections[i]
		if s.id != secCustom {
			flushUntil(sectionRank[s.id])
			continue
		}
		out = custom(out, s)
	}
	flushUntil(1 << 30)
	return out
}

func (m *module) sectionLen(id byte) int {
	if k := m.secIdx[id]; k >= 0 {
		return m.sections[k].end - m.sections[k].start
	}
	return 0
}

// rewriteNames rebuilds the "name" custom section with shifted function
// indices. Label names (subsection 3) are dropped: the wrapper block changes
// label numbering. ok is false if the section is malformed (it is dropped).
func (p *codePass) rewriteNames(s *section) (content []byte, ok bool) {
	m := p.m
	r := newReader(m.b, s.start, s.end)
	r.name("")
	content = appendName(nil, "name")
	for r.pos < r.end {
		id := r.byte()
		size := r.u32()
		if r.err != nil || int(size) > r.remaining() {
			return nil, false
		}
		sr := newReader(m.b, r.pos, r.pos+int(size))
		r.pos += int(size)
		var sub []byte
		switch id {
		case 0: // module name
			sr.name("module name")
			sub = m.b[sr.end-int(size) : sr.end]
		case 1: // function names
			n := sr.count(2, maxFuncs, "names")
			sub = appendU32(nil, uint32(n))
			for j := 0; j < n && sr.err == nil; j++ {
				f := sr.u32()
				nm := sr.name("function name")
				sub = appendU32(sub, p.shiftFunc(f))
				sub = appendU32(sub, uint32(len(nm)))
				sub = append(sub, nm...)
			}
		case 2: // local names
			n := sr.count(2, maxFuncs, "names")
			sub = appendU32(nil, uint32(n))
			for j := 0; j < n && sr.err == nil; j++ {
				f := sr.u32()
				start := sr.pos
				k := sr.count(2, maxLocals, "local names")
				for l := 0; l < k && sr.err == nil; l++ {
					sr.u32()
					sr.name("local name")
				}
				sub = appendU32(sub, p.shiftFunc(f))
				sub = append(sub, m.b[start:sr.pos]...)
			}
		case 3:
			continue
		default:
			sub = m.b[sr.pos:sr.end]
			sr.pos = sr.end
		}
		if sr.err != nil || sr.pos != sr.end {
			return nil, false
		}
		content = append(content, id)
		content = appendU32(content, uint32(len(sub)))
		content = append(content, sub...)
	}
	if r.err != nil {
		return nil, false
	}
	return content, true
}

func (p *codePass) shiftFunc(f uint32) uint32 {
	if f >= p.m.numImportedFuncs {
		return f + p.shift
	}
	return f
}
