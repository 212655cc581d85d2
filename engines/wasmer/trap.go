//go:build wasmer && cgo

package wasmer

import (
	"strings"

	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// wasmer's C API reports a trap as a message only (wasm_trap_message): the
// Display text of wasmer's TrapCode for a trap raised by the guest, or the
// message a host function gave wasm_trap_new. trapCode classifies it.
//
// wasmerTrapCodes holds the exact messages libwasmer WasmerVersion produces
// (wasmer-types' TrapCode descriptions), each checked against the fixtures by
// TestTrapMessages. trapPhrases is the fallback for another wasmer version
// whose wording drifts: distinctive phrases, including the ones other
// engines use, matched in order, most specific first. A message matching
// neither is TrapUnknown, never a guess.

var wasmerTrapCodes = map[string]engine.TrapCode{
	"unreachable":                                   engine.TrapUnreachable,
	"integer divide by zero":                        engine.TrapIntegerDivideByZero,
	"integer overflow":                              engine.TrapIntegerOverflow,
	"invalid conversion to integer":                 engine.TrapInvalidConversion,
	"out of bounds memory access":                   engine.TrapOutOfBoundsMemory,
	"misaligned heap":                               engine.TrapUnalignedAtomic,
	"unaligned atomic access":                       engine.TrapUnalignedAtomic,
	"undefined element: out of bounds table access": engine.TrapOutOfBoundsTable,
	// call_indirect of an uninitialized table element: wazero reports it as
	// an invalid table access and cannot tell it apart from an index past
	// the table, so every engine says out-of-bounds table.
	"uninitialized element":       engine.TrapOutOfBoundsTable,
	"indirect call type mismatch": engine.TrapIndirectCallTypeMismatch,
	"call stack exhausted":        engine.TrapStackOverflow,
}

var trapPhrases = []struct {
	phrase string
	code   engine.TrapCode
}{
	{"unreachable", engine.TrapUnreachable},
	{"divide by zero", engine.TrapIntegerDivideByZero},
	{"division by zero", engine.TrapIntegerDivideByZero},
	{"integer overflow", engine.TrapIntegerOverflow},
	{"conversion to integer", engine.TrapInvalidConversion},
	{"unaligned atomic", engine.TrapUnalignedAtomic},
	{"misaligned", engine.TrapUnalignedAtomic},
	{"table access", engine.TrapOutOfBoundsTable},
	{"table out of bounds", engine.TrapOutOfBoundsTable},
	{"undefined element", engine.TrapOutOfBoundsTable},
	{"uninitialized element", engine.TrapOutOfBoundsTable},
	{"indirect call to null", engine.TrapOutOfBoundsTable},
	{"indirect call type mismatch", engine.TrapIndirectCallTypeMismatch},
	{"bad signature", engine.TrapIndirectCallTypeMismatch},
	{"signature mismatch", engine.TrapIndirectCallTypeMismatch},
	{"memory access", engine.TrapOutOfBoundsMemory},
	{"memory out of bounds", engine.TrapOutOfBoundsMemory},
	{"heap access out of bounds", engine.TrapOutOfBoundsMemory},
	{"call stack exhausted", engine.TrapStackOverflow},
	{"stack overflow", engine.TrapStackOverflow},
	{"null reference", engine.TrapNullReference},
}

// trapCode classifies a wasmer trap message.
func trapCode(msg string) engine.TrapCode {
	m := strings.ToLower(strings.TrimSpace(msg))
	m = strings.TrimPrefix(m, "runtimeerror: ")
	m = strings.TrimPrefix(m, "wasm trap: ")
	if code, ok := wasmerTrapCodes[m]; ok {
		return code
	}
	for _, p := range trapPhrases {
		if strings.Contains(m, p.phrase) {
			return p.code
		}
	}
	return engine.TrapUnknown
}

// interruptedTrap is the trap of a call refused because its context is done.
func interruptedTrap(err error) *engine.Trap {
	msg := "context done"
	if err != nil {
		msg = err.Error()
	}
	return &engine.Trap{Code: engine.TrapInterrupted, Message: msg}
}
