//go:build cgo && !wazero && !wasmer

package peerwapc

import wapcwasmtime "github.com/wapc/wapc-go/engines/wasmtime"

// wapc-go's wasmtime engine (wasmtime-go v1.0.0), in the default build
// only, like the library's wasmtime adapter.
func init() { engines["wasmtime"] = wapcwasmtime.Engine() }
