//go:build cgo && !wazero && !wasmer

package runtime

import _ "github.com/aspect-rt/aspect-runtime/engines/wasmtime" // links and registers the wasmtime engine (the default when present)
