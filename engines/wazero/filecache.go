package wazero

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"sync"
	"unsafe"

	wz "github.com/tetratelabs/wazero"
)

// The disk cache of compiled code.
//
// wazero persists compiled modules through a file cache it does not export
// (internal/filecache.Cache: Get, Add and Delete of an entry by a 32-byte
// key), and its own implementation trusts what it reads: it checks a CRC of
// the machine code, not the metadata around it, and it reads each entry in
// thousands of small reads. verifiedCache is our implementation of that
// interface: each entry carries the SHA-256 of its content, checked when the
// entry is read (a file that fails the check is deleted and reported as a
// miss, so wazero recompiles and rewrites it), and an entry is read in one
// piece. wazero gives no way to plug it in, so newVerifiedCache sets it in
// the unexported field of the cache wazero.NewCompilationCache returns; if
// wazero's types ever change shape, it reports false and the adapter falls
// back to wazero's own directory cache guarded by a manifest (diskcache.go).
// TestVerifiedCacheInstalled fails in that case.

// entryMagic starts every entry, followed by the SHA-256 of the rest.
var entryMagic = []byte("aspect-wazero-cache\x01")

// installVerifiedCache is newVerifiedCache; tests replace it to exercise
// the fallback.
var installVerifiedCache = newVerifiedCache

// verifiedCache implements wazero's internal filecache.Cache.
type verifiedCache struct {
	dir string
}

// newVerifiedCache returns a compilation cache persisting in dir through a
// verifiedCache, or false if it cannot be installed.
func newVerifiedCache(dir string) (wz.CompilationCache, bool) {
	c := wz.NewCompilationCache()
	v := reflect.ValueOf(c)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return nil, false
	}
	f := v.Elem().FieldByName("fileCache")
	vc := &verifiedCache{dir: dir}
	if !f.IsValid() || f.Kind() != reflect.Interface || !reflect.TypeOf(vc).Implements(f.Type()) {
		return nil, false
	}
	reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Set(reflect.ValueOf(vc))
	return c, true
}

// wazeroVersion returns the version of the wazero module linked in, for the
// cache directory's name, so that binaries of different wazero versions
// sharing a cache directory do not evict each other's entries ("unknown"
// where the build information lacks it, as in test binaries: wazero also
// records its version in each entry and discards entries of another).
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

func (c *verifiedCache) path(key [32]byte) string {
	return filepath.Join(c.dir, hex.EncodeToString(key[:]))
}

// Get returns the verified content of the entry of key. An entry that
// cannot be read or fails verification is a miss (and is deleted): wazero
// then compiles and adds it again.
func (c *verifiedCache) Get(key [32]byte) (io.ReadCloser, bool, error) {
	p := c.path(key)
	// One read of the whole entry (mapping it instead measured no faster
	// here: the time goes to wazero copying the code into executable
	// memory).
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, false, nil
	}
	h := len(entryMagic) + sha256.Size
	if len(b) < h || !bytes.Equal(b[:len(entryMagic)], entryMagic) || !checksumOK(b[len(entryMagic):h], b[h:]) {
		_ = os.Remove(p)
		return nil, false, nil
	}
	return io.NopCloser(bytes.NewReader(b[h:])), true, nil
}

// checksumOK reports whether sum is the SHA-256 of body.
func checksumOK(sum, body []byte) bool {
	got := sha256.Sum256(body)
	return bytes.Equal(got[:], sum)
}

// Add writes the entry of key atomically (a temporary file renamed). A
// failure to write is not an error of the compilation: the entry is simply
// not cached.
func (c *verifiedCache) Add(key [32]byte, content io.Reader) error {
	body, err := io.ReadAll(content)
	if err != nil {
		return nil
	}
	sum := sha256.Sum256(body)
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return nil
	}
	f, err := os.CreateTemp(c.dir, ".entry-*")
	if err != nil {
		return nil
	}
	_, err = f.Write(entryMagic)
	if err == nil {
		_, err = f.Write(sum[:])
	}
	if err == nil {
		_, err = f.Write(body)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), c.path(key))
	}
	if err != nil {
		_ = os.Remove(f.Name())
	}
	return nil
}

// Delete removes the entry of key (wazero calls it for an entry of another
// wazero version).
func (c *verifiedCache) Delete(key [32]byte) error {
	if err := os.Remove(c.path(key)); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}
