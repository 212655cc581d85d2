package wazero

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	wz "github.com/tetratelabs/wazero"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// openCompile opens a fresh engine on dir (a new process, as far as the
// cache is concerned), compiles echo.wasm and calls its answer export.
func openCompile(t *testing.T, dir string) {
	ctx := context.Background()
	eng, err := driver{}.Open(engine.Config{CacheDir: dir})
	require.NoError(t, err)
	defer eng.Close(ctx)
	m, err := eng.Compile(ctx, fixtures.MustBytes("wat/raw.wasm"), engine.CompileConfig{})
	require.NoError(t, err)
	defer m.Close(ctx)
	inst, err := m.Instantiate(ctx, nil, engine.InstanceConfig{})
	require.NoError(t, err)
	defer inst.Close(ctx)
	stack := []uint64{40, 2}
	require.NoError(t, inst.Function("add").Call(ctx, stack))
	assert.Equal(t, uint64(42), stack[0])
}

func cacheEntries(t *testing.T, dir string) map[string][]byte {
	out := map[string][]byte{}
	dc := &diskCache{dir: dir}
	require.NoError(t, dc.walk(func(rel, path string) {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		out[path] = b
	}))
	return out
}

func TestDiskCacheManifestRejectsTamperedFiles(t *testing.T) {
	if os.Getenv(InterpreterEnv) == "1" {
		t.Skip("wazero's interpreter writes no compiled code to disk")
	}
	// The fallback used when the verified cache cannot be installed.
	saved := installVerifiedCache
	t.Cleanup(func() { installVerifiedCache = saved })
	installVerifiedCache = func(string) (wz.CompilationCache, bool) { return nil, false }
	dir := t.TempDir()
	openCompile(t, dir)
	entries := cacheEntries(t, filepath.Join(dir, "wazero"))
	require.NotEmpty(t, entries)

	// A clean reopen keeps the verified entries.
	openCompile(t, dir)
	assert.Equal(t, entries, cacheEntries(t, filepath.Join(dir, "wazero")))

	// Tamper with every entry and plant an unknown file: both are removed at
	// open (never handed to wazero), and compiling recreates the entry.
	for path, b := range entries {
		b[len(b)-1] ^= 0xff
		require.NoError(t, os.WriteFile(path, b, 0o644))
	}
	planted := filepath.Join(dir, "wazero", "planted")
	require.NoError(t, os.WriteFile(planted, []byte("not from us"), 0o644))

	eng, err := driver{}.Open(engine.Config{CacheDir: dir})
	require.NoError(t, err)
	require.NoError(t, eng.Close(context.Background()))
	assert.Empty(t, cacheEntries(t, filepath.Join(dir, "wazero")), "tampered and unknown files must be deleted")
	assert.NoFileExists(t, planted)

	openCompile(t, dir)
	assert.Len(t, cacheEntries(t, filepath.Join(dir, "wazero")), len(entries))
}
