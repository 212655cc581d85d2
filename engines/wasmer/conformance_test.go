//go:build wasmer && cgo

package wasmer_test

import (
	"testing"

	"github.com/aspect-rt/aspect-runtime/conformance"
)

// TestConformance runs the engine-neutral conformance suite on wasmer.
func TestConformance(t *testing.T) { conformance.Run(t, "wasmer") }
