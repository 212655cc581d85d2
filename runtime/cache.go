package runtime

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// WithCacheDir keeps compiled code in dir so that a new process compiles a
// module only once. Entries are keyed by engine, engine version, code hash
// and compile options, and carry a SHA-256 of their contents: a corrupted,
// truncated or mismatched entry is detected, removed and recompiled, never
// loaded. Engines that can serialize modules (wasmtime, wasmer) are cached
// by the runtime; wazero's compiled code goes through the wazero adapter's
// own store in the same directory, whose entries carry a SHA-256 checked on
// every load too.
func WithCacheDir(dir string) Option {
	return func(c *config) { c.cacheDir = dir }
}

// cacheMagic starts every cache entry: format name and version.
var cacheMagic = []byte("ASPECTC1")

const cacheHeader = 8 + sha256.Size // magic + payload hash

func cachePath(dir, engineName, version string, code []byte, cc engine.CompileConfig) string {
	h := sha256.New()
	h.Write(code)
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], cc.MemoryLimitPages)
	h.Write(b[:])
	return filepath.Join(dir, engineName+"-"+sanitize(version), hex.EncodeToString(h.Sum(nil))+".bin")
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

// errCacheEntry marks an entry that failed verification.
var errCacheEntry = errors.New("invalid cache entry")

// readCacheEntry returns the verified payload of the entry at path.
func readCacheEntry(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < cacheHeader || !bytes.Equal(b[:8], cacheMagic) {
		return nil, fmt.Errorf("%w: bad header", errCacheEntry)
	}
	payload := b[cacheHeader:]
	if sum := sha256.Sum256(payload); !bytes.Equal(sum[:], b[8:cacheHeader]) {
		return nil, fmt.Errorf("%w: checksum mismatch", errCacheEntry)
	}
	return payload, nil
}

// writeCacheEntry stores payload at path atomically (temp file + rename).
func writeCacheEntry(path string, payload []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	sum := sha256.Sum256(payload)
	_, err = f.Write(append(append(append([]byte{}, cacheMagic...), sum[:]...), payload...))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// compileCached compiles code on eng, going through the disk cache when the
// engine can serialize modules.
func compileCached(ctx context.Context, eng engine.Engine, name string, code []byte, cc engine.CompileConfig, cfg config) (engine.Module, error) {
	ser, ok := eng.(engine.Serializer)
	if cfg.cacheDir == "" || !ok {
		return eng.Compile(ctx, code, cc)
	}
	path := cachePath(cfg.cacheDir, name, ser.Version(), code, cc)
	if payload, err := readCacheEntry(path); err == nil {
		if mod, err := ser.Deserialize(ctx, payload, cc); err == nil {
			return mod, nil
		} else {
			cfg.logger.WarnContext(ctx, "aspect: cached module rejected by the engine; recompiling", "path", path, "error", err)
		}
		os.Remove(path)
	} else if !errors.Is(err, os.ErrNotExist) {
		cfg.logger.WarnContext(ctx, "aspect: invalid compiled-module cache entry; recompiling", "path", path, "error", err)
		os.Remove(path)
	}
	mod, err := eng.Compile(ctx, code, cc)
	if err != nil {
		return nil, err
	}
	if payload, err := ser.Serialize(mod); err != nil {
		cfg.logger.WarnContext(ctx, "aspect: cannot serialize module", "error", err)
	} else if err := writeCacheEntry(path, payload); err != nil {
		cfg.logger.WarnContext(ctx, "aspect: cannot write compiled-module cache", "path", path, "error", err)
	}
	return mod, nil
}
