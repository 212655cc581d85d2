//go:build wasmer && cgo

package wasmer

import (
	"errors"
	"fmt"

	"github.com/aspect-rt/aspect-runtime/internal/wasmbin"
)

// wasmer's C API has no memory limit of its own (its tunables are not
// exposed). The adapter enforces CompileConfig.MemoryLimitPages with the
// WebAssembly semantics of a declared maximum instead: before compiling, a
// memory the module defines without a maximum gets the limit as its
// maximum, so memory.grow past it returns -1 inside the guest, exactly what
// the SPI promises. A module whose memory declares a minimum or maximum over
// the limit is rejected at compile time, as the other engines do. Only the
// memory section changes; code offsets within the code section, and so
// names and debug information, are unaffected. The SPI allows no imported
// memory (such a module fails to instantiate), so every memory an instance
// can have is covered.

var errMalformed = wasmbin.ErrMalformed

// applyMemoryLimit returns wasm with limit pages as the maximum of every
// memory it defines. It returns wasm itself when limit is 0 or the module
// defines no memory, an error wrapping errMalformed when it cannot read the
// module, and another error when a memory's declared limits exceed limit.
func applyMemoryLimit(wasm []byte, limit uint32) ([]byte, error) {
	out, err := wasmbin.SetMemoryMax(wasm, limit)
	if err != nil && !errors.Is(err, errMalformed) {
		return nil, fmt.Errorf("wasmer: compile: %w", err)
	}
	return out, err
}
