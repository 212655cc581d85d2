//go:build cgo && !wazero && !wasmer

package metering

// The default cgo build links wasmtime besides wazero: the normalization
// tests run their modules on both.
import _ "github.com/aspect-rt/aspect-runtime/engines/wasmtime"
