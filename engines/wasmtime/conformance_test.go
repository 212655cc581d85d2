//go:build cgo && !wazero && !wasmer

package wasmtime_test

import (
	"testing"

	"github.com/aspect-rt/aspect-runtime/conformance"
)

// TestConformance runs the engine-neutral conformance suite on wasmtime.
func TestConformance(t *testing.T) { conformance.Run(t, "wasmtime") }
