package runtime_test

import (
	"testing"

	"github.com/aspect-rt/aspect-runtime/conformance"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

// TestCacheIsolated runs the disk cache cases of the conformance suite
// (conformance/isolated_cache.go: swapped, truncated, corrupted entries, a
// FIFO, a link to /dev/zero, a directory or a 1 TiB file in place of an
// entry, an unwritable cache directory, one fixed while the process runs)
// on every linked engine, each in a child process: on the code before
// them, some hang or crash the process.
func TestCacheIsolated(t *testing.T) {
	for _, eng := range runtime.Engines() {
		t.Run(eng, func(t *testing.T) { conformance.RunIsolatedCacheCases(t, eng) })
	}
}
