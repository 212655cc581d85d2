package runtime_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

// cacheFiles lists the cache entries below dir (not manifests or temp files).
func cacheFiles(t testing.TB, dir string) []string {
	var out []string
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && d.Name() != "MANIFEST" && !strings.HasPrefix(d.Name(), ".") {
			out = append(out, path)
		}
		return err
	}))
	return out
}

func greetWithCache(t *testing.T, engineName, dir string) string {
	ctx := context.Background()
	reg := runtime.NewHostAPIRegistry()
	require.NoError(t, reg.AddAPI("index", "test", "hello", func(s string) string { return "hi " + s }))
	rt, err := runtime.NewWithEngine(ctx, engineName, fixtures.MustBytes("as/greet.wasm"), reg, runtime.WithCacheDir(dir))
	require.NoError(t, err)
	defer rt.Close(ctx)
	out, err := runtime.CallAs[string](ctx, rt, "greet", "cache")
	require.NoError(t, err)
	return out
}

func TestDiskCacheSurvivesCorruption(t *testing.T) {
	for _, eng := range runtime.Engines() {
		t.Run(eng, func(t *testing.T) {
			dir := t.TempDir()
			assert.Equal(t, "hi cache", greetWithCache(t, eng, dir))
			files := cacheFiles(t, dir)
			require.NotEmpty(t, files, "compiling with a cache dir writes an entry")

			// A second compile loads the entry.
			assert.Equal(t, "hi cache", greetWithCache(t, eng, dir))

			// Corrupt every entry in several ways: the runtime must notice,
			// recompile and rewrite, never execute the bad bytes.
			for i, f := range files {
				b, err := os.ReadFile(f)
				require.NoError(t, err)
				switch i % 3 {
				case 0:
					b[len(b)/2] ^= 0xff
				case 1:
					b = b[:len(b)/3]
				case 2:
					b = append([]byte("garbage"), b...)
				}
				require.NoError(t, os.WriteFile(f, b, 0o644))
			}
			assert.Equal(t, "hi cache", greetWithCache(t, eng, dir))
		})
	}
}
