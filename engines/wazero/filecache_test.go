package wazero

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	wz "github.com/tetratelabs/wazero"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/internal/cachefile"
	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// The cases that could hang or crash the process (a FIFO, a link to
// /dev/zero, another module's entry) run in child processes, with every
// other disk cache case, in TestIsolated (conformance/isolated_cache.go).

func skipOnInterpreter(t *testing.T) {
	t.Helper()
	if os.Getenv(InterpreterEnv) == "1" {
		t.Skip("wazero's interpreter writes no compiled code to disk")
	}
}

// TestVerifiedCacheInstalled fails if the verified disk cache no longer
// installs into wazero (its compilation cache changed shape): the adapter
// would compile without a disk cache (and warn). Update newVerifiedCache
// for the new wazero.
func TestVerifiedCacheInstalled(t *testing.T) {
	c, ok := newVerifiedCache(newDiskCache(t.TempDir()))
	require.True(t, ok, "the verified cache does not install into wazero %s", wazeroVersion())
	require.NotNil(t, c)
}

// warnings is a slog.Handler keeping warning messages.
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (w *warnings) Handle(_ context.Context, r slog.Record) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, r.Message)
	return nil
}
func (w *warnings) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w *warnings) WithGroup(string) slog.Handler      { return w }

func (w *warnings) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.msgs
	w.msgs = nil
	sort.Strings(out)
	return out
}

// compileWith opens a fresh engine on dir (a new process, as far as the
// cache is concerned), compiles code with the warnings going to w, and
// calls its export "add" (raw.wasm) or "answer".
func compileWith(t *testing.T, dir string, code []byte, w *warnings) uint64 {
	t.Helper()
	ctx := engine.WithLogger(context.Background(), slog.New(w))
	eng, err := driver{}.Open(engine.Config{CacheDir: dir})
	require.NoError(t, err)
	defer eng.Close(ctx)
	m, err := eng.Compile(ctx, code, engine.CompileConfig{})
	require.NoError(t, err)
	defer m.Close(ctx)
	inst, err := m.Instantiate(ctx, nil, engine.InstanceConfig{})
	require.NoError(t, err)
	defer inst.Close(ctx)
	if f := inst.Function("add"); f != nil {
		stack := []uint64{40, 2}
		require.NoError(t, f.Call(ctx, stack))
		return stack[0]
	}
	stack := []uint64{0}
	require.NoError(t, inst.Function("answer").Call(ctx, stack))
	return stack[0]
}

// entries returns the cache entries under dir's versioned directory, by
// path.
func entries(t *testing.T, dir string) map[string][]byte {
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

func onlyEntry(t *testing.T, dir string) (string, []byte) {
	t.Helper()
	es := entries(t, dir)
	require.Len(t, es, 1)
	for p, b := range es {
		return p, b
	}
	return "", nil
}

// answerModule returns a module exporting "answer" () -> i32 returning v,
// and funcs-1 other functions.
func answerModule(v int32, funcs int) []byte {
	sec := func(id byte, body []byte) []byte { return append([]byte{id, byte(len(body))}, body...) }
	m := []byte("\x00asm\x01\x00\x00\x00")
	m = append(m, sec(1, []byte{1, 0x60, 0, 1, 0x7f})...)
	fn, ex, code := []byte{byte(funcs)}, []byte{byte(funcs)}, []byte{byte(funcs)}
	for i := range funcs {
		fn = append(fn, 0)
		name := fmt.Sprintf("f%d", i)
		if i == 0 {
			name = "answer"
		}
		ex = append(append(append(ex, byte(len(name))), name...), 0, byte(i))
		code = append(code, 4, 0, 0x41, byte(v+int32(i)*10)&0x3f, 0x0b)
	}
	m = append(m, sec(3, fn)...)
	m = append(m, sec(7, ex)...)
	return append(m, sec(10, code)...)
}

// TestVerifiedCacheRejectsBadEntries damages the entry in every way a disk
// or another process could, and checks that each is discarded (never handed
// to wazero), reported through the runtime's logger, recompiled and
// rewritten whole.
func TestVerifiedCacheRejectsBadEntries(t *testing.T) {
	skipOnInterpreter(t)
	dir := t.TempDir()
	code := fixtures.MustBytes("wat/raw.wasm")
	var w warnings
	assert.Equal(t, uint64(42), compileWith(t, dir, code, &w))
	assert.Empty(t, w.take())
	path, good := onlyEntry(t, dir)

	// A clean reopen reads the entry and leaves it as it is.
	assert.Equal(t, uint64(42), compileWith(t, dir, code, &w))
	assert.Empty(t, w.take())
	_, again := onlyEntry(t, dir)
	assert.Equal(t, good, again)

	// The entry of another module, under its own key.
	otherDir := t.TempDir()
	compileWith(t, otherDir, answerModule(7, 2), &w)
	_, other := onlyEntry(t, otherDir)

	flip := func(i int) []byte {
		b := append([]byte(nil), good...)
		b[i] ^= 0x40
		return b
	}
	for name, bad := range map[string][]byte{
		"last byte":       flip(len(good) - 1),
		"machine code":    flip(len(good) / 2),
		"key":             flip(len(cachefile.Magic) + 30),
		"magic":           flip(0),
		"truncated":       good[:len(good)/3],
		"extended":        append(append([]byte(nil), good...), 0),
		"shorter than it": good[:5],
		"empty":           {},
		"another module":  other,
		"format 1":        append([]byte("aspect-wazero-cache\x01"), good[len(good)-100:]...),
	} {
		t.Run(name, func(t *testing.T) {
			require.NoError(t, os.WriteFile(path, bad, 0o644))
			assert.Equal(t, uint64(42), compileWith(t, dir, code, &w))
			assert.Equal(t, []string{cachefile.MsgBadEntry}, w.take())
			_, rewritten := onlyEntry(t, dir)
			assert.Equal(t, good, rewritten, "the entry is rewritten whole")
		})
	}
}

// TestVerifiedCacheBindsKey: wazero's key alone would load another module's
// entry; the verified cache refuses an entry stored under another key, at
// the level of Get, whatever its size.
func TestVerifiedCacheBindsKey(t *testing.T) {
	skipOnInterpreter(t)
	a, b := answerModule(1, 3), answerModule(2, 3)
	dirA, dirB := t.TempDir(), t.TempDir()
	var w warnings
	assert.Equal(t, uint64(1), compileWith(t, dirA, a, &w))
	assert.Equal(t, uint64(2), compileWith(t, dirB, b, &w))
	pathA, entryA := onlyEntry(t, dirA)
	_, entryB := onlyEntry(t, dirB)
	require.Len(t, entryB, len(entryA), "the entries of A and B have the same size")
	require.NoError(t, os.WriteFile(pathA, entryB, 0o644))

	assert.Equal(t, uint64(1), compileWith(t, dirA, a, &w), "A runs, not B")
	assert.Equal(t, []string{cachefile.MsgBadEntry}, w.take())
	_, rewritten := onlyEntry(t, dirA)
	assert.Equal(t, entryA, rewritten)
}

// TestVerifiedCacheEntryRejectedByWazero: an entry that passes the cache's
// checks but that wazero refuses (an error, or a panic while it reads it)
// is removed, reported, and the module compiled again — not a compile
// error on every later run.
func TestVerifiedCacheEntryRejectedByWazero(t *testing.T) {
	skipOnInterpreter(t)
	code := fixtures.MustBytes("wat/raw.wasm")
	for name, reader := range map[string]func([]byte) io.ReadCloser{
		"cut in half": func(b []byte) io.ReadCloser { return io.NopCloser(strings.NewReader(string(b[:len(b)/2]))) },
		"bad magic":   func(b []byte) io.ReadCloser { return io.NopCloser(strings.NewReader("XAZEVO" + string(b[6:]))) },
		"panics":      func([]byte) io.ReadCloser { return panicReader{} },
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			var w warnings
			compileWith(t, dir, code, &w)
			_, good := onlyEntry(t, dir)

			saved := hitReader
			t.Cleanup(func() { hitReader = saved })
			hitReader = reader
			assert.Equal(t, uint64(42), compileWith(t, dir, code, &w))
			assert.Equal(t, []string{cachefile.MsgRejected}, w.take())
			hitReader = saved

			_, rewritten := onlyEntry(t, dir)
			assert.Equal(t, good, rewritten)
			assert.Equal(t, uint64(42), compileWith(t, dir, code, &w))
			assert.Empty(t, w.take())
		})
	}
}

// panicReader panics when wazero reads it.
type panicReader struct{}

func (panicReader) Read([]byte) (int, error) { panic("hostile entry") }
func (panicReader) Close() error             { return nil }

// TestVerifiedCacheEntryRejectedWithVerifiedEnvelope writes an entry with a
// valid key and checksum around a payload wazero cannot decode: it used to
// fail the compilation with ErrCompile at every run.
func TestVerifiedCacheEntryRejectedWithVerifiedEnvelope(t *testing.T) {
	skipOnInterpreter(t)
	code := fixtures.MustBytes("wat/raw.wasm")
	dir := t.TempDir()
	var w warnings
	compileWith(t, dir, code, &w)
	path, good := onlyEntry(t, dir)
	key := keyOf(t, good)
	payload, err := cachefile.Read(path, key)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, cachefile.Encode(key, payload[:len(payload)/2]), 0o644))

	assert.Equal(t, uint64(42), compileWith(t, dir, code, &w))
	assert.Equal(t, []string{cachefile.MsgRejected}, w.take())
	_, rewritten := onlyEntry(t, dir)
	assert.Equal(t, good, rewritten)
}

// keyOf parses the key an entry carries.
func keyOf(t *testing.T, entry []byte) cachefile.Key {
	t.Helper()
	n := int(entry[8]) | int(entry[9])<<8
	var key cachefile.Key
	for _, l := range strings.Split(strings.TrimSuffix(string(entry[12:12+n]), "\n"), "\n")[1:] {
		name, quoted, _ := strings.Cut(l, "=")
		var v string
		_, err := fmt.Sscanf(quoted, "%q", &v)
		require.NoError(t, err)
		key = append(key, cachefile.Field{Name: name, Value: v})
	}
	return key
}

// TestVerifiedCacheUnusableDirectory: a cache directory whose path is a
// file is reported at every compilation, which succeeds without the cache,
// and used as soon as it is a directory (no failure cached in the engine).
func TestVerifiedCacheUnusableDirectory(t *testing.T) {
	skipOnInterpreter(t)
	code := fixtures.MustBytes("wat/raw.wasm")
	dir := filepath.Join(t.TempDir(), "cache")
	require.NoError(t, os.WriteFile(dir, []byte("a file"), 0o644))
	ctx := context.Background()
	var w warnings
	eng, err := driver{}.Open(engine.Config{CacheDir: dir})
	require.NoError(t, err, "Open does not touch the directory")
	defer eng.Close(ctx)
	compile := func() {
		m, err := eng.Compile(engine.WithLogger(ctx, slog.New(&w)), code, engine.CompileConfig{})
		require.NoError(t, err)
		require.NoError(t, m.Close(ctx))
	}
	compile()
	assert.Equal(t, []string{cachefile.MsgDirUnusable}, w.take())
	compile()
	assert.Equal(t, []string{cachefile.MsgDirUnusable}, w.take())

	require.NoError(t, os.Remove(dir))
	require.NoError(t, os.Mkdir(dir, 0o755))
	compile() // the same engine: writes the entry now
	assert.Empty(t, w.take())
	assert.Len(t, entries(t, dir), 1)
}

// TestVerifiedCacheNotInstalled: should the verified cache not install
// into wazero, the adapter compiles without a disk cache (never with
// wazero's own, which trusts what it reads) and says so.
func TestVerifiedCacheNotInstalled(t *testing.T) {
	saved := installVerifiedCache
	t.Cleanup(func() { installVerifiedCache = saved })
	installVerifiedCache = func(*verifiedCache) (wz.CompilationCache, bool) { return nil, false }
	dir := t.TempDir()
	var w warnings
	assert.Equal(t, uint64(42), compileWith(t, dir, fixtures.MustBytes("wat/raw.wasm"), &w))
	assert.Equal(t, []string{msgNotInstalled}, w.take())
	assert.Empty(t, entries(t, dir))
}

// TestVerifiedCacheWarnsTheCompilingRuntime: wazero calls the cache
// without a context; the warnings of concurrent compilations on one engine
// still go to the logger of the compilation they concern.
func TestVerifiedCacheWarnsTheCompilingRuntime(t *testing.T) {
	skipOnInterpreter(t)
	dir := t.TempDir()
	ctx := context.Background()
	const n = 8
	codes := make([][]byte, n)
	paths := make([]string, n)
	for i := range codes {
		codes[i] = answerModule(int32(i), 1+i%3)
		before := entries(t, dir)
		var w warnings
		compileWith(t, dir, codes[i], &w)
		for p := range entries(t, dir) {
			if _, ok := before[p]; !ok {
				paths[i] = p
			}
		}
		require.NotEmpty(t, paths[i])
	}
	// Corrupt the entries of the even modules.
	for i, p := range paths {
		if i%2 == 0 {
			require.NoError(t, os.WriteFile(p, []byte("junk"), 0o644))
		}
	}
	eng, err := driver{}.Open(engine.Config{CacheDir: dir})
	require.NoError(t, err)
	defer eng.Close(ctx)
	logs := make([]warnings, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := eng.Compile(engine.WithLogger(ctx, slog.New(&logs[i])), codes[i], engine.CompileConfig{})
			if err == nil {
				err = m.Close(ctx)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	for i := range logs {
		var want []string
		if i%2 == 0 {
			want = []string{cachefile.MsgBadEntry}
		}
		assert.Equal(t, want, logs[i].take(), "the warnings of compilation %d", i)
	}
}
