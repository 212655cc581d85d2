//go:build wasmer && cgo

package wasmer_test

import (
	"testing"

	"github.com/aspect-rt/aspect-runtime/conformance"
)

// TestConformance runs the engine-neutral conformance suite on wasmer.
func TestConformance(t *testing.T) { conformance.Run(t, "wasmer") }

// TestIsolated runs the isolated conformance cases (guests that could crash
// or hang the process) on wasmer, each in a child process.
func TestIsolated(t *testing.T) { conformance.RunIsolated(t, "wasmer") }
