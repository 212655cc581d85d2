package runtime

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/aspect-rt/aspect-runtime/internal/cachefile"
	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// WithCacheDir keeps compiled code in dir so that a new process compiles a
// module only once.
//
// Each entry carries the key it was stored under — the engine, its version
// and build, the SHA-256 of the code compiled (after metering and the other
// rewrites, so the metering configuration is part of it) and the compile
// options that change the compiled code (the memory limit) — and a SHA-256
// of its contents. An entry is loaded only if it is a regular file of at
// most 1 GiB (opened without following a link and without blocking), its
// key is the key looked up and its checksum matches: another module's
// entry copied over it, a truncated or corrupted entry, a FIFO, a link, a
// device, a directory or an oversized file in its place is removed (when it
// can be) and the module recompiled, with a warning through the logger
// (WithLogger). So is an entry the engine refuses to load, with an error or
// a panic. A cache directory that cannot be used (it cannot be created or
// written to, a file is in its place) is a warning too: the module is
// compiled without the cache, and the next compilation tries the
// directory again.
//
// This holds on every engine: wasmtime's and wasmer's serialized modules
// are cached by the runtime, wazero's compiled code by the wazero adapter
// through wazero's compilation cache, in the same entry format
// (internal/cachefile) under dir/wazero-VERSION-ARCH-OS.
//
// The checksum detects corruption and mix-ups, not forgery: compiled code
// is native code, and whoever can write to dir can make the process run
// code of their choosing. Give dir the permissions of the program itself.
func WithCacheDir(dir string) Option {
	return func(c *config) { c.cacheDir = dir }
}

// cacheKey returns the key of the entry of code compiled by the named
// engine of the given version with cc. Every field of engine.CompileConfig
// must be in it (TestCacheKeyCoversCompileConfig).
func cacheKey(engineName, version string, code []byte, cc engine.CompileConfig) cachefile.Key {
	sum := sha256.Sum256(code)
	return cachefile.Key{
		{Name: "engine", Value: engineName},
		{Name: "version", Value: version},
		{Name: "code-sha256", Value: hex.EncodeToString(sum[:])},
		{Name: "memory-limit-pages", Value: strconv.FormatUint(uint64(cc.MemoryLimitPages), 10)},
	}
}

// cachePath returns where the entry of key is kept: a directory per engine
// and version (so that builds sharing dir do not meet each other's
// entries), a file named after the key.
func cachePath(dir, engineName, version string, key cachefile.Key) string {
	return filepath.Join(dir, engineName+"-"+sanitize(version), key.FileName())
}

func sanitize(s string) string {
	return string(bytes.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '_'
	}, []byte(s)))
}

// compileCached compiles code on eng, going through the disk cache of
// cfg.cacheDir: the runtime's own for engines that serialize modules, the
// engine's (wazero) for the others, which get the logger through ctx.
func compileCached(ctx context.Context, eng engine.Engine, name string, code []byte, cc engine.CompileConfig, cfg config) (engine.Module, error) {
	ser, ok := eng.(engine.Serializer)
	if cfg.cacheDir == "" || !ok {
		if cfg.cacheDir != "" {
			ctx = engine.WithLogger(ctx, cfg.logger)
		}
		return eng.Compile(ctx, code, cc)
	}
	key := cacheKey(name, ser.Version(), code, cc)
	path := cachePath(cfg.cacheDir, name, ser.Version(), key)
	dirUsable := true
	if payload, err := cachefile.Read(path, key); err != nil {
		dirUsable = cachefile.ReportRead(ctx, cfg.logger, name, path, err)
	} else if mod, err := deserialize(ctx, ser, payload, cc); err != nil {
		if ctx.Err() != nil {
			return nil, err // not the entry's fault: it stays
		}
		cachefile.ReportRejected(ctx, cfg.logger, name, path, err)
	} else {
		return mod, nil
	}
	mod, err := eng.Compile(ctx, code, cc)
	if err != nil || !dirUsable {
		return mod, err
	}
	payload, err := ser.Serialize(mod)
	if err == nil {
		err = cachefile.Write(path, key, payload)
	} else {
		err = fmt.Errorf("serializing the module: %w", err)
	}
	cachefile.ReportWrite(ctx, cfg.logger, name, path, err)
	return mod, nil
}

// deserialize loads a verified payload, turning a panic of the engine into
// an error (the entry is then removed and the module recompiled).
func deserialize(ctx context.Context, ser engine.Serializer, payload []byte, cc engine.CompileConfig) (mod engine.Module, err error) {
	defer func() {
		if p := recover(); p != nil {
			mod, err = nil, fmt.Errorf("the engine panicked loading the entry: %v", p)
		}
	}()
	return ser.Deserialize(ctx, payload, cc)
}
