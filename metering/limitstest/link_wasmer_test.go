//go:build wasmer && cgo

package limitstest

import _ "github.com/aspect-rt/aspect-runtime/engines/wasmer" // registers the wasmer engine
