//go:build unix && !linux

package wazero

// zeroResident reports false: without Linux's mincore semantics, closed
// memories are unmapped rather than kept as spares.
func zeroResident([]byte) bool { return false }
