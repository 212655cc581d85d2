package wazero

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// readExterns must fail, not panic, on any prefix of a module.
func TestReadExternsTruncated(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("testdata", "*.wasm"))
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	for _, p := range paths {
		wasm, err := os.ReadFile(p)
		require.NoError(t, err)
		_, _, err = readExterns(wasm)
		require.NoError(t, err, p)
		for n := range len(wasm) {
			_, _, _ = readExterns(wasm[:n])
		}
	}
}
