// Package metering instruments WebAssembly modules for deterministic gas
// metering, call-depth and stack limiting and memory and table capping,
// identical on every engine: the instrumented bytes count their own gas,
// so wasmtime, wazero and wasmer charge exactly the same gas and stop at
// exactly the same instruction.
//
// [Instrument] validates a module (WebAssembly 2.0: MVP, sign extension,
// non-trapping float-to-int, multi-value, bulk memory, reference types;
// anything else is rejected with an [UnsupportedFeatureError] naming the
// feature) and returns it rewritten with:
//
//   - an exported mutable i64 global [GasCounterExport] holding the remaining
//     gas, charged per segment (a straight-line run of instructions) on entry
//     to the segment, checked before subtracting: when the counter is smaller
//     than the segment's cost, the injected import
//     [ImportModule].[OutOfGasImport] is called (then unreachable) and the
//     counter keeps the gas that could not pay;
//   - dynamic charges for memory.grow (per page), bulk memory operations (per
//     byte) and table operations (per element), from their size operand;
//   - an exported mutable i64 global [CallDepthExport] counting active
//     activations (high 32 bits) and their stack slots (low 32 bits), with
//     the import [ImportModule].[CallDepthExceededImport] called when a call
//     would exceed Config.MaxCallDepth or Config.MaxStackSlots (each
//     activation costs its frame size, [FuncInfo.StackSlots]);
//   - yield checkpoints without an instruction of their own: when the
//     counter cannot pay a charge the guest calls [OutOfGasImport] with its
//     cost, which fails, or raises the counter and returns (the guest then
//     checks again). A host that keeps part of the budget outside the counter
//     (e.g. all but Config.YieldInterval, reported as
//     [Result.YieldInterval]) gets a call every so much gas, where it may
//     stop the guest; they cost no gas;
//   - the memory maximum capped at Config.MaxMemoryPages;
//   - with Config.MaxTableElements, table.grow returning -1 past the limit
//     (through an injected helper per table) and table maxima capped.
//
// With Config.LimitsOnly only the limits are injected (the depth and stack
// check, the table limit, the memory cap): no gas counter and no charges,
// for modules that are not metered. With Config.YieldInterval as well, the
// yield checkpoints count instructions instead of gas: every function
// entry and loop header subtracts the instructions it leads to from the
// exported i64 global [YieldCountdownExport] and calls
// [ImportModule].[YieldImport] when it runs out (see Config.YieldInterval),
// so that a host can stop any guest, metered or not.
//
// The exact rules — where segments start, what each instruction costs, when
// the counter is synchronized, what memory.grow and bulk operations are
// charged — are in README.md beside this file.
//
// [PrepareSnapshot] validates a module the same way and exports its memory
// and mutable globals, reporting whether they are the whole state of an
// instance, so that a runtime can reset instances by restoring a snapshot
// of them instead of instantiating again.
//
// [InspectModule] and [ModuleInfo.InspectCode] parse and validate a module
// the same way, without rewriting it, and report its structure and, to a
// visitor, what its code holds (blocks with their nesting and loop depth,
// br_table sizes, local declarations, uses of the 2.0 proposals), for
// checks made before anything compiles it: package validate's profiles.
package metering
