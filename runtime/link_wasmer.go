//go:build wasmer && cgo

package runtime

import _ "github.com/aspect-rt/aspect-runtime/engines/wasmer" // links and registers the wasmer engine (the default when present)
