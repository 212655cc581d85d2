//go:build cgo && !wazero && !wasmer

package limitstest

import _ "github.com/aspect-rt/aspect-runtime/engines/wasmtime" // registers the wasmtime engine
