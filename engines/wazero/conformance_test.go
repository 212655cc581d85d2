package wazero_test

import (
	"testing"

	"github.com/aspect-rt/aspect-runtime/conformance"
)

func TestConformance(t *testing.T) { conformance.Run(t, "wazero") }

// TestIsolated runs the isolated conformance cases (guests that could crash
// or hang the process) on wazero, each in a child process.
func TestIsolated(t *testing.T) { conformance.RunIsolated(t, "wazero") }
