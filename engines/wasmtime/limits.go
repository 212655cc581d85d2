//go:build cgo && !wazero && !wasmer

package wasmtime

import (
	"fmt"

	"github.com/aspect-rt/aspect-runtime/internal/wasmbin"
)

// checkMemoryLimit applies CompileConfig.MemoryLimitPages the way wazero
// does, so that both engines accept and reject the same modules: the limit
// itself may not exceed 4 GiB, and a memory whose declared minimum or
// maximum exceeds the limit fails to compile. (Growth up to the limit is
// then capped at run time by the store limiter.) wasm is a module wasmtime
// has already validated.
func checkMemoryLimit(wasm []byte, limit uint32) ([]wasmbin.Memory, error) {
	mems, err := wasmbin.Memories(wasm)
	if err != nil {
		return nil, fmt.Errorf("wasmtime: compile: %w", err)
	}
	return mems, checkLimits(mems, limit)
}

// checkLimits checks the memories mems against limit (0 for none).
func checkLimits(mems []wasmbin.Memory, limit uint32) error {
	if err := wasmbin.CheckLimit(mems, limit); err != nil {
		return fmt.Errorf("wasmtime: compile: %w", err)
	}
	return nil
}
