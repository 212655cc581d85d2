package metering

import (
	"fmt"
	"math"
)

// Names of the items injected into every instrumented module.
const (
	// GasCounterExport is the export name of the injected mutable i64 global
	// holding the remaining gas.
	GasCounterExport = "__gas_counter__"
	// CallDepthExport is the export name of the injected mutable i32 global
	// holding the current call depth.
	CallDepthExport = "__call_depth__"
	// YieldCountdownExport is the export name of the mutable i64 global
	// injected with [Config.LimitsOnly] and [Config.YieldInterval]: the
	// instructions the guest may still run before it next calls
	// [YieldImport] (see Config.YieldInterval). The name is reserved
	// whether or not it is injected.
	YieldCountdownExport = "__yield_countdown__"
	// ImportModule is the module name of the injected imports.
	ImportModule = "aspect"
	// OutOfGasImport is the field name of the injected import (type (i64)
	// -> ()) called with the cost of what comes next when the gas counter
	// cannot pay for it: the host fails (out of gas) or raises the counter
	// and returns, and the guest checks again (see Config.YieldInterval).
	OutOfGasImport = "out_of_gas"
	// CallDepthExceededImport is the field name of the injected import (type
	// () -> ()) called when a call would exceed [Config.MaxCallDepth].
	CallDepthExceededImport = "call_depth_exceeded"
	// YieldImport is the field name of the import (type () -> ()) injected
	// with [Config.LimitsOnly] and [Config.YieldInterval], called every
	// YieldInterval instructions (metered, the checkpoints are calls of
	// [OutOfGasImport]). The host may stop the guest there by failing (a
	// deadline passed), or let it continue by returning. The name is
	// reserved whether or not it is injected.
	YieldImport = "yield"
)

// DefaultMaxCallDepth is the call-depth limit used when Config.MaxCallDepth
// is zero.
const DefaultMaxCallDepth = 1000

// DefaultMaxStackSlots is the stack limit, in value slots, used when
// Config.MaxStackSlots is zero. It was chosen by measuring how deep each
// engine recurses before its own stack gives out (README.md, "Choosing the
// default"; TestNativeStackLimits in metering/limitstest): with it, every
// frame measured stops at most at 1/2.7 of the depth wasmtime survives
// with its default 512 KiB stack and 1/21 of what wasmer survives on an
// 8 MiB thread stack, while the conformance suite's Go guests peak at 1,374
// slots.
const DefaultMaxStackSlots = 25000

// MaxUnitCost is the largest accepted per-unit (per page, per byte, per
// element) dynamic cost: with it, n*unit fits an int64 for any 32-bit n.
const MaxUnitCost = math.MaxInt32

// Config configures [Instrument]. The zero value is usable: default costs,
// call depth limit [DefaultMaxCallDepth], stack limit
// [DefaultMaxStackSlots], no memory or table cap, no determinism profile.
type Config struct {
	// Costs is the cost table; nil means [DefaultCosts]().
	Costs *CostTable
	// MaxCallDepth is the maximum number of nested activations of the
	// module's own functions (the host-called export counts as 1). Zero means
	// DefaultMaxCallDepth. At most math.MaxInt32.
	MaxCallDepth uint32
	// MaxStackSlots is the maximum number of value slots the module's
	// active activations may hold together. Each activation of a function
	// costs its frame size ([FuncInfo.StackSlots]): its parameters, plus
	// its declared locals, plus the maximum height of its operand stack (as
	// the validation algorithm counts it, unreachable code included), plus
	// one per 8 instructions that compute a value (every instruction with a
	// result but local.get, local.tee, calls and control instructions:
	// values an optimizing compiler may keep across a call outside locals
	// and the operand stack), rounded up. A call that would take the sum
	// over all active activations past MaxStackSlots fails like one past
	// MaxCallDepth: the injected import [CallDepthExceededImport] is
	// called. Unlike the engines' own stack limits, this one is the same on
	// every engine, and it is reached before any of them overflows its
	// native stack (which wasmer does not survive). Zero means
	// DefaultMaxStackSlots. At most math.MaxInt32.
	MaxStackSlots uint32
	// MaxTableElements, when non-zero, caps the size of every table of the
	// module: table.grow returns -1, growing nothing, when the table would
	// exceed MaxTableElements elements (checked by injected code, the same
	// on every engine); the declared maximum of every table the module
	// defines becomes min(declared, MaxTableElements) — MaxTableElements
	// when none is declared. (Imported tables keep their declared type, so
	// that linking is unchanged; their growth is checked all the same.) A
	// module with a table whose declared minimum is larger is rejected with
	// *TableLimitError.
	MaxTableElements uint32
	// LimitsOnly selects the safety-only instrumentation, for modules that
	// are not metered: only the call-depth and stack limits (MaxCallDepth,
	// MaxStackSlots), the table limit (MaxTableElements) and the memory cap
	// (MaxMemoryPages) are injected — no gas counter, no charges, no yield
	// checkpoints unless YieldInterval is set, no aspect.out_of_gas
	// import. Costs, InitialGas and RecordSegments are ignored; with
	// YieldInterval the checkpoints count instructions instead of gas (see
	// YieldInterval). Deterministic still rejects non-deterministic
	// instructions.
	LimitsOnly bool
	// MaxMemoryPages, when non-zero, caps the maximum of the module's memory
	// (in 64 KiB pages, at most 65536): the memory's declared maximum becomes
	// min(declared, MaxMemoryPages) — MaxMemoryPages when none is declared —
	// so memory.grow fails (returns -1) past it on every engine. A module
	// whose initial memory is larger is rejected with *MemoryLimitError.
	MaxMemoryPages uint32
	// InitialGas is the initial value of the gas counter, i.e. the gas
	// available to the module's start function while the module is
	// instantiated (the runtime sets the counter itself before every call it
	// makes). Must not be negative.
	InitialGas int64
	// Deterministic enables the determinism profile: a module containing a
	// float instruction that may produce a NaN with an unspecified bit
	// pattern (see the package documentation for the list) is rejected with
	// *NondeterministicError.
	Deterministic bool
	// RecordSegments makes [Result.Functions] list every metered segment.
	RecordSegments bool
	// YieldInterval, when positive, asks for yield checkpoints every
	// YieldInterval gas, for engines that cannot interrupt a guest
	// otherwise. Metered, they are the gas checks themselves and change
	// nothing in the instrumented code (it is reported in
	// [Result.YieldInterval] for the host): when the counter cannot pay a
	// charge, the guest calls [OutOfGasImport], and a host that keeps all
	// but YieldInterval of the budget outside the counter gets that call
	// every YieldInterval gas or so. It decides there whether the guest
	// goes on (it moves more gas into the counter and returns; the guest
	// checks again) or stops (it fails: out of gas when nothing is left
	// outside, or e.g. because the call's deadline passed), and a Go host
	// gets a preemption point. Checkpoints cost time, not gas: the gas a
	// module uses, and where it runs out, are the same with or without
	// them. Zero disables them; negative is an error.
	//
	// With LimitsOnly there is no gas: the checkpoints count instructions.
	// The injected global [YieldCountdownExport] (initially YieldInterval)
	// is the countdown. Every loop header (each iteration) is a
	// checkpoint, and so is every function entry but those of the small
	// functions below, and each checkpoint owns the instructions of its
	// function or loop body outside nested loops (the loop header the
	// instructions of its loop, up to and with its end, the function entry
	// those outside any loop), plus, for each direct call among them of a
	// function without entry checkpoint, that function's instructions: on
	// reaching a checkpoint owning w instructions the guest subtracts w
	// from the countdown, and if the result is 0 or less, it sets the
	// countdown back to YieldInterval and calls [YieldImport] before
	// running what the checkpoint owns. A function has no entry checkpoint
	// when it has no loop, only direct calls of the module's own code can
	// reach it (it is not exported, not the start function, not in an
	// element segment, not named by ref.func) and its instructions, with
	// those of the functions without entry checkpoint it calls, number at
	// most 1024 (a recursion keeps one checkpoint on its cycle). So a loop
	// whose body has w instructions outside nested loops (calls of
	// functions without checkpoint included) yields every
	// ceil(YieldInterval/w) iterations, and between two yields the guest
	// runs at most YieldInterval plus what one checkpoint owns: one loop
	// body's or function body's instructions with those of the functions
	// without checkpoint it calls (besides host calls and bulk memory and
	// table operations). README.md, "Yield checkpoints without gas", has
	// the details.
	YieldInterval int64
	// RestartCountdown, with LimitsOnly and YieldInterval, restarts the
	// countdown at YieldInterval whenever the host enters the module: at
	// the entry of an exported function or the start function, when the
	// call depth ([CallDepthExport]) is 0, i.e. no activation of the
	// module is running. So the yields of a call do not depend on what
	// earlier calls ran, and a call shorter than YieldInterval never
	// yields; within a call the rule of YieldInterval holds as without it.
	// An entry at a call depth above 0 (a host function the guest called
	// calling an export, or the module calling its own export) does not
	// restart it: a guest loop that calls the host yields all the same.
	// Without it (the default) the countdown carries over from one call to
	// the next, and only the host sets it (the guest sets it back to
	// YieldInterval when it yields).
	RestartCountdown bool
}

// Opcode identifies an instruction for [CostTable.Overrides]: a one-byte
// opcode is its byte value (0x6c is i32.mul); an instruction with the 0xfc
// prefix is 0xfc00 | its sub-opcode (see [MiscOpcode]).
type Opcode uint16

// MiscOpcode returns the Opcode of the 0xfc-prefixed instruction sub, e.g.
// MiscOpcode(10) for memory.copy.
func MiscOpcode(sub uint8) Opcode { return 0xfc00 | Opcode(sub) }

// CostTable gives the gas cost of every instruction. Static costs are per
// executed instruction, by class; the three per-unit costs are charged
// dynamically, from the size operand, when the instruction executes.
type CostTable struct {
	// Control: unreachable, nop, block, loop, if, else, end, br, br_if,
	// br_table, return.
	Control uint32
	// Call: call. CallIndirect: call_indirect.
	Call, CallIndirect uint32
	// Parametric: drop, select (both forms).
	Parametric uint32
	// Local: local.get, local.set, local.tee. Global: global.get, global.set.
	Local, Global uint32
	// Load: every load. Store: every store.
	Load, Store uint32
	// Const: i32.const, i64.const, f32.const, f64.const.
	Const uint32
	// IntArith: integer comparisons, eqz, add, sub, bitwise, shifts,
	// rotations, clz, ctz, popcnt, wrap, extend, sign-extension.
	IntArith uint32
	// IntMul: i32.mul, i64.mul. IntDiv: div_s, div_u, rem_s, rem_u.
	IntMul, IntDiv uint32
	// Float: every instruction with a float operand or result other than
	// constants, loads and stores (arithmetic, comparisons, conversions,
	// reinterpretations, saturating truncations).
	Float uint32
	// MemorySize: memory.size. MemoryGrow: memory.grow (static part).
	MemorySize, MemoryGrow uint32
	// Bulk: memory.init, data.drop, memory.copy, memory.fill, table.init,
	// elem.drop, table.copy (static part).
	Bulk uint32
	// Table: table.get, table.set, table.size, table.grow, table.fill
	// (static part).
	Table uint32
	// Ref: ref.null, ref.is_null, ref.func.
	Ref uint32

	// MemoryGrowPerPage is charged per page requested by memory.grow (its
	// operand, as unsigned), whether or not the grow succeeds.
	MemoryGrowPerPage uint32
	// MemoryPerByte is charged per byte of memory.copy, memory.fill and
	// memory.init (their size operand, as unsigned).
	MemoryPerByte uint32
	// TablePerElement is charged per element of table.copy, table.init,
	// table.fill and table.grow (their size or delta operand, as unsigned).
	TablePerElement uint32

	// Overrides, when set, replaces the class cost of single instructions.
	Overrides map[Opcode]uint32
}

// DefaultCosts returns the default cost table: 1 per instruction, 1024 per
// page requested by memory.grow, 1 per byte of bulk memory operations and 1
// per element of table operations.
func DefaultCosts() *CostTable {
	return &CostTable{
		Control: 1, Call: 1, CallIndirect: 1, Parametric: 1, Local: 1, Global: 1,
		Load: 1, Store: 1, Const: 1, IntArith: 1, IntMul: 1, IntDiv: 1, Float: 1,
		MemorySize: 1, MemoryGrow: 1, Bulk: 1, Table: 1, Ref: 1,
		MemoryGrowPerPage: 1024,
		MemoryPerByte:     1,
		TablePerElement:   1,
	}
}

// costs is a CostTable compiled to lookup tables.
type costs struct {
	op   [256]uint32
	misc [18]uint32
	// per-unit dynamic costs
	growPage, memByte, tableElem uint32
}

func (c *Config) compile() (*costs, error) {
	t := c.Costs
	if t == nil {
		t = DefaultCosts()
	}
	if c.MaxCallDepth > math.MaxInt32 {
		return nil, fmt.Errorf("%w: MaxCallDepth %d > %d", ErrConfig, c.MaxCallDepth, math.MaxInt32)
	}
	if c.MaxStackSlots > math.MaxInt32 {
		return nil, fmt.Errorf("%w: MaxStackSlots %d > %d", ErrConfig, c.MaxStackSlots, math.MaxInt32)
	}
	if c.MaxMemoryPages > 65536 {
		return nil, fmt.Errorf("%w: MaxMemoryPages %d > 65536", ErrConfig, c.MaxMemoryPages)
	}
	if c.InitialGas < 0 {
		return nil, fmt.Errorf("%w: negative InitialGas", ErrConfig)
	}
	if c.YieldInterval < 0 {
		return nil, fmt.Errorf("%w: negative YieldInterval", ErrConfig)
	}
	for _, u := range []uint32{t.MemoryGrowPerPage, t.MemoryPerByte, t.TablePerElement} {
		if u > MaxUnitCost {
			return nil, fmt.Errorf("%w: per-unit cost %d > %d", ErrConfig, u, MaxUnitCost)
		}
	}
	k := &costs{growPage: t.MemoryGrowPerPage, memByte: t.MemoryPerByte, tableElem: t.TablePerElement}
	set := func(lo, hi int, v uint32) {
		for i := lo; i <= hi; i++ {
			k.op[i] = v
		}
	}
	set(0x00, 0x01, t.Control) // unreachable, nop
	set(0x02, 0x05, t.Control) // block, loop, if, else
	set(0x0b, 0x0f, t.Control) // end, br, br_if, br_table, return
	k.op[0x10] = t.Call
	k.op[0x11] = t.CallIndirect
	set(0x1a, 0x1c, t.Parametric)
	set(0x20, 0x22, t.Local)
	set(0x23, 0x24, t.Global)
	set(0x25, 0x26, t.Table)
	set(0x28, 0x35, t.Load)
	set(0x36, 0x3e, t.Store)
	k.op[0x3f] = t.MemorySize
	k.op[0x40] = t.MemoryGrow
	set(0x41, 0x44, t.Const)
	set(0x45, 0x5a, t.IntArith) // i32/i64 eqz and comparisons
	set(0x5b, 0x66, t.Float)    // float comparisons
	set(0x67, 0x8a, t.IntArith) // integer arithmetic
	k.op[0x6c], k.op[0x7e] = t.IntMul, t.IntMul
	set(0x6d, 0x70, t.IntDiv)
	set(0x7f, 0x82, t.IntDiv)
	set(0x8b, 0xa6, t.Float) // float arithmetic
	set(0xa7, 0xbf, t.Float) // conversions...
	k.op[0xa7], k.op[0xac], k.op[0xad] = t.IntArith, t.IntArith, t.IntArith
	set(0xc0, 0xc4, t.IntArith) // sign extension
	set(0xd0, 0xd2, t.Ref)
	for i := 0; i <= 7; i++ {
		k.misc[i] = t.Float // saturating truncations
	}
	for i := 8; i <= 14; i++ {
		k.misc[i] = t.Bulk
	}
	for i := 15; i <= 17; i++ {
		k.misc[i] = t.Table
	}
	for op, v := range t.Overrides {
		switch {
		case op < 0x100:
			k.op[op] = v
		case op >= 0xfc00 && op < 0xfc00+Opcode(len(k.misc)):
			k.misc[op-0xfc00] = v
		default:
			return nil, fmt.Errorf("%w: override for unknown opcode %#x", ErrConfig, uint16(op))
		}
	}
	return k, nil
}
