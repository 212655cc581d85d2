package runtime

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/internal/cachefile"
	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// TestCacheKeyCoversCompileConfig fails when engine.CompileConfig gains a
// field: an option that changes the compiled code must be part of the
// cache key (cacheKey), or an entry compiled with one value would be
// loaded for another.
func TestCacheKeyCoversCompileConfig(t *testing.T) {
	inKey := map[string]bool{"MemoryLimitPages": true}
	typ := reflect.TypeOf(engine.CompileConfig{})
	for i := range typ.NumField() {
		assert.True(t, inKey[typ.Field(i).Name], "engine.CompileConfig.%s is not in the cache key: add it to cacheKey", typ.Field(i).Name)
	}
	a := cacheKey("e", "v", []byte("code"), engine.CompileConfig{MemoryLimitPages: 1})
	b := cacheKey("e", "v", []byte("code"), engine.CompileConfig{MemoryLimitPages: 2})
	assert.NotEqual(t, a.Encode(), b.Encode())
	assert.NotEqual(t, a.Encode(), cacheKey("e", "v", []byte("code2"), engine.CompileConfig{MemoryLimitPages: 1}).Encode())
	assert.NotEqual(t, a.Encode(), cacheKey("e", "v2", []byte("code"), engine.CompileConfig{MemoryLimitPages: 1}).Encode())
	assert.NotEqual(t, a.Encode(), cacheKey("f", "v", []byte("code"), engine.CompileConfig{MemoryLimitPages: 1}).Encode())
}

// serializing wraps a real engine (wazero, always linked) as one that
// serializes modules, loading entries with load.
type serializing struct {
	engine.Engine
	load       func() (engine.Module, error)
	serialized *int // counts Serialize calls, if not nil
}

func (s serializing) Version() string { return "test-1" }
func (s serializing) Serialize(engine.Module) ([]byte, error) {
	if s.serialized != nil {
		*s.serialized++
	}
	return []byte("compiled"), nil
}
func (s serializing) Deserialize(context.Context, []byte, engine.CompileConfig) (engine.Module, error) {
	return s.load()
}

// warnLog is a slog.Handler keeping warning messages.
type warnLog struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnLog) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (w *warnLog) Handle(_ context.Context, r slog.Record) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, r.Message)
	return nil
}
func (w *warnLog) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w *warnLog) WithGroup(string) slog.Handler      { return w }

func (w *warnLog) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.msgs
	w.msgs = nil
	return out
}

// TestCompileCachedRecoversEnginePanic: an engine that panics loading a
// verified entry neither crashes the caller nor fails the compilation: the
// entry is removed, the module recompiled and the entry rewritten.
func TestCompileCachedRecoversEnginePanic(t *testing.T) {
	ctx := context.Background()
	drv, ok := engine.Lookup("wazero")
	require.True(t, ok)
	real, err := drv.Open(engine.Config{})
	require.NoError(t, err)
	defer real.Close(ctx)
	loads, serialized := 0, 0
	eng := serializing{Engine: real, serialized: &serialized, load: func() (engine.Module, error) {
		loads++
		panic("hostile entry")
	}}
	dir := t.TempDir()
	var w warnLog
	cfg := newConfig([]Option{WithCacheDir(dir), WithLogger(slog.New(&w))})
	code := fixtures.MustBytes("wat/raw.wasm")

	m, err := compileCached(ctx, eng, "fake", code, engine.CompileConfig{}, cfg)
	require.NoError(t, err)
	require.NoError(t, m.Close(ctx))
	assert.Empty(t, w.take())
	entries, _ := filepath.Glob(filepath.Join(dir, "fake-test-1", "*"))
	require.Len(t, entries, 1)

	m, err = compileCached(ctx, eng, "fake", code, engine.CompileConfig{}, cfg)
	require.NoError(t, err, "the panic is recovered into a recompilation")
	require.NoError(t, m.Close(ctx))
	assert.Equal(t, 1, loads)
	assert.Equal(t, []string{cachefile.MsgRejected}, w.take())
	assert.Equal(t, 2, serialized, "the module is recompiled and its entry rewritten")
	assert.FileExists(t, entries[0])
}

// TestCompileCachedKeepsEntryOnCancelledContext: a load that fails because
// the context is done says nothing about the entry, which stays.
func TestCompileCachedKeepsEntryOnCancelledContext(t *testing.T) {
	ctx := context.Background()
	drv, _ := engine.Lookup("wazero")
	real, err := drv.Open(engine.Config{})
	require.NoError(t, err)
	defer real.Close(ctx)
	cctx, cancel := context.WithCancel(ctx)
	eng := serializing{Engine: real, load: func() (engine.Module, error) {
		cancel()
		return nil, context.Canceled
	}}
	dir := t.TempDir()
	var w warnLog
	cfg := newConfig([]Option{WithCacheDir(dir), WithLogger(slog.New(&w))})
	code := fixtures.MustBytes("wat/raw.wasm")
	m, err := compileCached(ctx, eng, "fake", code, engine.CompileConfig{}, cfg)
	require.NoError(t, err)
	require.NoError(t, m.Close(ctx))
	entries, _ := filepath.Glob(filepath.Join(dir, "fake-test-1", "*"))
	require.Len(t, entries, 1)
	before, err := os.Stat(entries[0])
	require.NoError(t, err)

	_, err = compileCached(cctx, eng, "fake", code, engine.CompileConfig{}, cfg)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, w.take())
	after, err := os.Stat(entries[0])
	require.NoError(t, err, "the entry stays")
	assert.True(t, os.SameFile(before, after))
}
