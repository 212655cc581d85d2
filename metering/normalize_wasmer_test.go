//go:build wasmer && cgo

package metering

// The wasmer build links wasmer besides wazero: the normalization tests run
// their modules on both.
import _ "github.com/aspect-rt/aspect-runtime/engines/wasmer"
