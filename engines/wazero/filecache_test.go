package wazero

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestVerifiedCacheInstalled fails if the verified disk cache no longer
// installs into wazero (its compilation cache changed shape): the adapter
// would silently fall back to wazero's own cache behind a manifest, with a
// slower cold start. Update newVerifiedCache for the new wazero.
func TestVerifiedCacheInstalled(t *testing.T) {
	c, ok := newVerifiedCache(t.TempDir())
	require.True(t, ok, "the verified cache does not install into wazero %s", wazeroVersion())
	require.NotNil(t, c)
}

// verifiedEntries returns the cache entries under dir's versioned
// directory, by path.
func verifiedEntries(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "wazero-*", "*"))
	require.NoError(t, err)
	out := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		out[p] = b
	}
	return out
}

// TestVerifiedCacheRejectsCorruptEntries corrupts the cache in every way a
// disk or another process could, and checks that each corrupt entry is
// discarded (never handed to wazero), recompiled and rewritten whole.
func TestVerifiedCacheRejectsCorruptEntries(t *testing.T) {
	if os.Getenv(InterpreterEnv) == "1" {
		t.Skip("wazero's interpreter writes no compiled code to disk")
	}
	dir := t.TempDir()
	openCompile(t, dir)
	entries := verifiedEntries(t, dir)
	require.Len(t, entries, 1)
	var path string
	var good []byte
	for p, b := range entries {
		path, good = p, b
	}
	// A clean reopen reads the entry and leaves it as it is.
	openCompile(t, dir)
	assert.Equal(t, entries, verifiedEntries(t, dir))

	flip := func(i int) []byte {
		b := append([]byte(nil), good...)
		b[i] ^= 0x40
		return b
	}
	for name, bad := range map[string][]byte{
		"last byte":       flip(len(good) - 1),
		"machine code":    flip(len(good) / 2),
		"checksum":        flip(len(entryMagic) + 3),
		"magic":           flip(0),
		"truncated":       good[:len(good)/3],
		"header only":     good[:len(entryMagic)+32],
		"shorter than it": good[:5],
		"empty":           {},
		"wazero's format": good[len(entryMagic)+32:], // an entry written by wazero itself
	} {
		t.Run(name, func(t *testing.T) {
			require.NoError(t, os.WriteFile(path, bad, 0o644))
			c := &verifiedCache{dir: filepath.Dir(path)}
			var key [32]byte
			copy(key[:], mustHex(t, filepath.Base(path)))
			_, ok, err := c.Get(key)
			require.NoError(t, err)
			assert.False(t, ok, "a corrupt entry was read")
			assert.NoFileExists(t, path, "a corrupt entry must be deleted")

			require.NoError(t, os.WriteFile(path, bad, 0o644))
			openCompile(t, dir) // recompiles, runs, rewrites the entry
			assert.Equal(t, entries, verifiedEntries(t, dir))
		})
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}
