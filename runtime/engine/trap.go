package engine

import "fmt"

// TrapCode classifies a trap independently of the engine that raised it.
type TrapCode int

// Trap codes. Adapters map every engine-specific trap to one of these; a trap
// they cannot classify is TrapUnknown.
const (
	TrapUnknown TrapCode = iota
	TrapUnreachable
	TrapIntegerDivideByZero
	TrapIntegerOverflow
	TrapInvalidConversion
	TrapOutOfBoundsMemory
	TrapOutOfBoundsTable
	TrapIndirectCallTypeMismatch
	TrapNullReference
	TrapStackOverflow
	TrapUnalignedAtomic
	// TrapInterrupted: the call's context was cancelled or its deadline passed.
	TrapInterrupted
	// TrapMemoryLimit: an allocation exceeded the configured memory limit in a
	// way the guest could not observe as memory.grow returning -1.
	TrapMemoryLimit
	// TrapOutOfGas: the instrumented gas counter ran out.
	TrapOutOfGas
	// TrapCallDepth: the instrumented call-depth limit was reached.
	TrapCallDepth
)

var trapNames = [...]string{
	TrapUnknown:                  "unknown",
	TrapUnreachable:              "unreachable",
	TrapIntegerDivideByZero:      "integer divide by zero",
	TrapIntegerOverflow:          "integer overflow",
	TrapInvalidConversion:        "invalid conversion to integer",
	TrapOutOfBoundsMemory:        "out of bounds memory access",
	TrapOutOfBoundsTable:         "out of bounds table access",
	TrapIndirectCallTypeMismatch: "indirect call type mismatch",
	TrapNullReference:            "null reference",
	TrapStackOverflow:            "stack overflow",
	TrapUnalignedAtomic:          "unaligned atomic",
	TrapInterrupted:              "interrupted",
	TrapMemoryLimit:              "memory limit exceeded",
	TrapOutOfGas:                 "out of gas",
	TrapCallDepth:                "call depth exceeded",
}

// String returns the code's engine-neutral description.
func (c TrapCode) String() string {
	if c >= 0 && int(c) < len(trapNames) {
		return trapNames[c]
	}
	return fmt.Sprintf("trapcode(%d)", int(c))
}

// Trap is the error an adapter returns when the guest traps.
type Trap struct {
	Code TrapCode
	// Message is the engine's own description, kept for diagnostics only:
	// callers must not depend on it, it differs between engines.
	Message string
}

// Error implements error.
func (t *Trap) Error() string {
	if t.Message == "" {
		return "wasm trap: " + t.Code.String()
	}
	return "wasm trap: " + t.Code.String() + " (" + t.Message + ")"
}
