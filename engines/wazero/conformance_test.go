package wazero_test

import (
	"testing"

	"github.com/aspect-rt/aspect-runtime/conformance"
)

func TestConformance(t *testing.T) { conformance.Run(t, "wazero") }
