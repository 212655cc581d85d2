package wazero

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"reflect"
	goruntime "runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"unsafe"

	wz "github.com/tetratelabs/wazero"

	"github.com/aspect-rt/aspect-runtime/internal/cachefile"
	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// The disk cache of compiled code.
//
// wazero persists compiled modules through a file cache it does not export
// (internal/filecache.Cache: Get, Add and Delete of an entry by a 32-byte
// key derived from the code), and its own implementation trusts what it
// reads: it opens whatever is at an entry's path (a FIFO blocks it
// forever), checks a CRC of the machine code but not the metadata around
// it (another module's entry is loaded, and panics or runs the other
// module), and fails the compilation, every time, on an entry it cannot
// decode. verifiedCache is our implementation of that interface, on the
// entry format of package cachefile, shared with the runtime's cache of
// the other engines: each entry carries its key (engine, wazero version
// and platform, the SHA-256 of the code, wazero's key) and a SHA-256, only
// regular files of bounded size are opened, never blocking, and a bad
// entry is removed and reported as a miss, so that wazero recompiles and
// rewrites it. An entry that passes those checks and that wazero still
// refuses (an error, or a panic, while loading it) is removed too, and the
// module compiled again (compileCached).
//
// wazero gives no way to plug it in, so newVerifiedCache sets it in the
// unexported field of the cache wazero.NewCompilationCache returns; if
// wazero's types ever change shape, the adapter compiles without a disk
// cache and warns at every compilation (TestVerifiedCacheInstalled fails).
//
// wazero calls Get and Add with no context, from inside CompileModule, on
// the goroutine that called it. To know the code being compiled (part of
// the key) and the logger of the runtime compiling it (the warnings go
// there), compileCached registers a compileScope under the calling
// goroutine's id for the duration of CompileModule; Get and Add find it
// there. Without a scope (wazero calling from elsewhere), Get misses and
// Add writes nothing: the cache is then off, never wrong.

// msgNotInstalled is the warning logged at every compilation with a cache
// directory when the verified cache cannot be installed into wazero.
const msgNotInstalled = "aspect: the verified disk cache does not install into this wazero version; compiling without the cache"

// installVerifiedCache is newVerifiedCache; tests replace it to exercise
// an install that fails.
var installVerifiedCache = newVerifiedCache

// hitReader returns what Get hands wazero for a verified payload; tests
// replace it to make wazero fail or panic while loading an entry.
var hitReader = func(payload []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(payload)) }

// verifiedCache implements wazero's internal filecache.Cache.
type verifiedCache struct {
	dir     string // the versioned directory of the entries
	version string // wazero's version and the platform

	scopes sync.Map // goroutine id -> *compileScope
}

// compileScope is what Get and Add need to know about the compilation in
// progress on a goroutine.
type compileScope struct {
	ctx      context.Context
	logger   *slog.Logger
	codeHash string // hex SHA-256 of the code being compiled

	hit       string // path of the entry Get returned, if any
	dirBroken bool   // Get found the directory unusable: Add does not write
}

// newVerifiedCache returns a compilation cache persisting through vc, or
// false if it cannot be installed.
func newVerifiedCache(vc *verifiedCache) (wz.CompilationCache, bool) {
	c := wz.NewCompilationCache()
	v := reflect.ValueOf(c)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return nil, false
	}
	f := v.Elem().FieldByName("fileCache")
	if !f.IsValid() || f.Kind() != reflect.Interface || !reflect.TypeOf(vc).Implements(f.Type()) {
		return nil, false
	}
	reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Set(reflect.ValueOf(vc))
	return c, true
}

// wazeroVersion returns the version of the wazero module linked in, for the
// cache directory's name and the entries' key, so that binaries of
// different wazero versions sharing a cache directory do not evict each
// other's entries ("unknown" where the build information lacks it, as in
// test binaries: wazero also records its version in each entry and
// discards entries of another).
var wazeroVersion = sync.OnceValue(func() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/tetratelabs/wazero" {
				if d.Replace != nil {
					return d.Replace.Version + "-replaced"
				}
				return d.Version
			}
		}
	}
	return "unknown"
})

// newDiskCache returns the verified cache of the cache directory dir.
func newDiskCache(dir string) *verifiedCache {
	v := wazeroVersion() + "-" + goruntime.GOARCH + "-" + goruntime.GOOS
	return &verifiedCache{dir: filepath.Join(dir, "wazero-"+v), version: v}
}

// key returns the cache key of wazero's key k for the code of scope s.
func (c *verifiedCache) key(k [32]byte, s *compileScope) cachefile.Key {
	return cachefile.Key{
		{Name: "engine", Value: Name},
		{Name: "version", Value: c.version},
		{Name: "code-sha256", Value: s.codeHash},
		{Name: "wazero-key", Value: hex.EncodeToString(k[:])},
	}
}

func (c *verifiedCache) path(key cachefile.Key) string {
	return filepath.Join(c.dir, key.FileName())
}

// goroutineID returns the id of the calling goroutine, from the header of
// its stack trace ("goroutine 42 [running]:"), or 0.
func goroutineID() uint64 {
	var buf [64]byte
	b := buf[:goruntime.Stack(buf[:], false)]
	b, ok := bytes.CutPrefix(b, []byte("goroutine "))
	if !ok {
		return 0
	}
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	id, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		return 0
	}
	return id
}

// begin registers the scope of a compilation of code on the calling
// goroutine; end (deferred) removes it.
func (c *verifiedCache) begin(ctx context.Context, code []byte) (*compileScope, func()) {
	sum := sha256.Sum256(code)
	s := &compileScope{ctx: ctx, logger: engine.Logger(ctx), codeHash: hex.EncodeToString(sum[:])}
	id := goroutineID()
	if id == 0 {
		return s, func() {}
	}
	c.scopes.Store(id, s)
	return s, func() { c.scopes.Delete(id) }
}

// scope returns the scope of the calling goroutine, or nil.
func (c *verifiedCache) scope() *compileScope {
	if s, ok := c.scopes.Load(goroutineID()); ok {
		return s.(*compileScope)
	}
	return nil
}

// Get returns the verified payload of the entry of key. A missing entry is
// a miss; a bad one is removed, reported and a miss: wazero then compiles
// and adds it again.
func (c *verifiedCache) Get(k [32]byte) (io.ReadCloser, bool, error) {
	s := c.scope()
	if s == nil {
		return nil, false, nil
	}
	key := c.key(k, s)
	path := c.path(key)
	payload, err := cachefile.Read(path, key)
	if err != nil {
		s.dirBroken = !cachefile.ReportRead(s.ctx, s.logger, Name, path, err)
		return nil, false, nil
	}
	s.hit = path
	return hitReader(payload), true, nil
}

// Add writes the entry of key. A failure to write is not an error of the
// compilation: it is reported and the entry is not cached.
func (c *verifiedCache) Add(k [32]byte, content io.Reader) error {
	s := c.scope()
	if s == nil || s.dirBroken {
		return nil
	}
	key := c.key(k, s)
	path := c.path(key)
	body, err := io.ReadAll(content)
	if err == nil {
		err = cachefile.Write(path, key, body)
	}
	cachefile.ReportWrite(s.ctx, s.logger, Name, path, err)
	return nil
}

// Delete removes the entry of key (wazero calls it for an entry written by
// another wazero version).
func (c *verifiedCache) Delete(k [32]byte) error {
	if s := c.scope(); s != nil {
		return cachefile.Remove(c.path(c.key(k, s)))
	}
	return nil
}

// loadPanic is a panic recovered from wazero's CompileModule.
type loadPanic struct{ value any }

func (p *loadPanic) Error() string { return fmt.Sprintf("wazero panicked: %v", p.value) }

// compileCached compiles wasm in a runtime newRuntime returns, through the
// disk cache if the engine has one. If wazero refuses an entry the cache
// verified (CompileModule fails or panics after a cache hit), the entry is
// removed and reported, and the module compiled again in a new runtime;
// after a panic, with a new compilation cache (wazero may have kept the
// bad module in its memory). It returns the runtime the module was
// compiled in, which the caller closes on error.
func (e *wazeroEngine) compileCached(ctx context.Context, newRuntime func() wz.Runtime, wasm []byte) (wz.Runtime, wz.CompiledModule, error) {
	if e.disk == nil {
		r := newRuntime()
		cm, err := r.CompileModule(ctx, wasm)
		return r, cm, err
	}
	if !e.diskInstalled {
		engine.Logger(ctx).WarnContext(ctx, msgNotInstalled, "engine", Name, "dir", e.disk.dir)
		r := newRuntime()
		cm, err := r.CompileModule(ctx, wasm)
		return r, cm, err
	}
	s, end := e.disk.begin(ctx, wasm)
	defer end()
	for retried := false; ; retried = true {
		r := newRuntime()
		cm, err := compileRecovering(ctx, r, wasm)
		if err == nil || s.hit == "" || retried || ctx.Err() != nil {
			if p, ok := err.(*loadPanic); ok {
				err = fmt.Errorf("panic: %v", p.value) // as Compile reports any other panic
			}
			return r, cm, err
		}
		_ = r.Close(ctx)
		cachefile.ReportRejected(ctx, s.logger, Name, s.hit, err)
		s.hit = ""
		if _, ok := err.(*loadPanic); ok {
			e.renewCache()
		}
	}
}

// compileRecovering is r.CompileModule, a panic returned as a *loadPanic.
func compileRecovering(ctx context.Context, r wz.Runtime, wasm []byte) (cm wz.CompiledModule, err error) {
	defer func() {
		if p := recover(); p != nil {
			cm, err = nil, &loadPanic{value: p}
		}
	}()
	return r.CompileModule(ctx, wasm)
}

// renewCache replaces the engine's compilation cache by a new one on the
// same disk cache; the old one is closed with the engine.
func (e *wazeroEngine) renewCache() {
	c, ok := installVerifiedCache(e.disk)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.retired = append(e.retired, e.cache)
	e.cache = c
}
