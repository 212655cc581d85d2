//go:build cgo && !wazero && !wasmer

package wasmtime_test

import (
	"testing"

	"github.com/aspect-rt/aspect-runtime/conformance"
)

// TestConformance runs the engine-neutral conformance suite on wasmtime.
func TestConformance(t *testing.T) { conformance.Run(t, "wasmtime") }

// TestIsolated runs the isolated conformance cases (guests that could crash
// or hang the process) on wasmtime, each in a child process.
func TestIsolated(t *testing.T) { conformance.RunIsolated(t, "wasmtime") }
