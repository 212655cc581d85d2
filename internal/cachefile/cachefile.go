// Package cachefile reads and writes the entries of the compiled-module disk
// cache (runtime.WithCacheDir), for every engine: the runtime stores the
// serialized modules of wasmtime and wasmer with it, and the wazero adapter
// the entries of wazero's compilation cache.
//
// The directory is not trusted. Anyone who can write to it can replace,
// swap, truncate or remove an entry, or put something else than a regular
// file in its place. An entry is therefore loaded only if all of these
// hold:
//
//   - it is a regular file, not a symbolic link, FIFO, socket, device or
//     directory (checked with lstat before it is opened and with fstat on the
//     opened descriptor; it is opened with O_NONBLOCK and O_NOFOLLOW, so
//     opening never blocks and never follows a link), and at most
//     MaxEntrySize bytes long;
//   - it starts with the format's magic and its size is exactly what its
//     header says;
//   - the key it carries is, byte for byte, the key it is looked up with: the
//     engine, the engine's version and build, what the code was compiled
//     from and the options that change the compiled code (an entry copied
//     over another's is refused, whatever its size);
//   - the SHA-256 it carries is that of its header and payload.
//
// Read reports anything else as an *EntryError (the caller removes the entry
// and recompiles) and a directory it cannot look into as a *DirError. The
// checksum is not a signature: it catches corruption and mix-ups, not a
// writer who forges entries on purpose. Compiled code is native code, so
// whoever can write to the cache directory can make the process run code of
// their choosing; give it the permissions of the program's own files.
//
// # Entry format
//
// All integers are little-endian.
//
//	offset   size  field
//	0        8     magic "ASPECTC2"
//	8        4     K, the length of the key (at most MaxKeySize)
//	12       K     the key: Key.Encode
//	12+K     8     N, the length of the payload
//	20+K     32    SHA-256 of bytes [0, 20+K) followed by the payload
//	52+K     N     the payload (the engine's serialized code)
//
// The file is exactly 52+K+N bytes long.
package cachefile

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Magic starts every entry: the format's name and version.
const Magic = "ASPECTC2"

// MaxKeySize bounds the key an entry carries.
const MaxKeySize = 4096

// DefaultMaxEntrySize is the default of MaxEntrySize: 1 GiB, far above the
// compiled code of any module the runtime accepts (a 3 MB Go module compiles
// to some tens of megabytes).
const DefaultMaxEntrySize int64 = 1 << 30

// MaxEntrySize bounds the size of an entry file. Larger files are not read
// (they are bad entries) and larger payloads are not written. Tests lower
// it; nothing else should change it.
var MaxEntrySize = DefaultMaxEntrySize

// headerSize is the size of an entry without its key and payload.
const headerSize = len(Magic) + 4 + 8 + sha256.Size

// Field is one part of a Key.
type Field struct {
	Name, Value string
}

// Key is what an entry was compiled from and for, in a fixed order: the
// engine, its version and build, the code (or, for wazero, wazero's own key
// derived from the code), the options that change the compiled code. Two
// keys are the same key only if they encode to the same bytes.
type Key []Field

// Encode returns the canonical encoding of k: a version line, then one
// line per field, name=quoted value. It is injective (values are quoted)
// and readable in a hex dump of the entry.
func (k Key) Encode() []byte {
	var b strings.Builder
	b.WriteString("aspect-cache-key/1\n")
	for _, f := range k {
		b.WriteString(f.Name)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(f.Value))
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// FileName returns the name of the entry of k in its directory: the hex
// SHA-256 of the key's encoding, with the extension ".bin".
func (k Key) FileName() string {
	sum := sha256.Sum256(k.Encode())
	return hex.EncodeToString(sum[:]) + ".bin"
}

// ErrNotFound is returned by Read when there is no entry at the path (a
// plain miss). It matches fs.ErrNotExist.
var ErrNotFound = fmt.Errorf("cache entry not found: %w", fs.ErrNotExist)

// EntryError is returned by Read for a bad entry: something that must not
// be loaded sits where the entry would be. The caller removes it (Remove)
// and recompiles.
type EntryError struct {
	Path   string
	Reason string // what is wrong, e.g. "a FIFO, not a regular file"
	Err    error  // the underlying error, if any
}

// Error names the entry and what is wrong with it.
func (e *EntryError) Error() string {
	msg := "bad cache entry " + e.Path + ": " + e.Reason
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the underlying error, or nil.
func (e *EntryError) Unwrap() error { return e.Err }

// DirError is returned when the cache directory cannot be used: it cannot
// be looked into (Read), created or written to (Write). The caller compiles
// without the cache; the next compilation tries again.
type DirError struct {
	Dir string
	Op  string // "look up", "create", "write"
	Err error
}

// Error names the directory and the operation that failed.
func (e *DirError) Error() string {
	return "cache directory " + e.Dir + " unusable (" + e.Op + "): " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *DirError) Unwrap() error { return e.Err }

// Read returns the payload of the entry at path if it is a valid entry of
// key, else ErrNotFound, an *EntryError or a *DirError. It never blocks on
// what it finds at path and never reads more than MaxEntrySize bytes.
func Read(path string, key Key) ([]byte, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, ErrNotFound
		}
		return nil, &DirError{Dir: filepath.Dir(path), Op: "look up", Err: err}
	}
	if reason := notRegular(fi); reason != "" {
		return nil, &EntryError{Path: path, Reason: reason}
	}
	if fi.Size() > MaxEntrySize {
		return nil, &EntryError{Path: path, Reason: fmt.Sprintf("%d bytes, larger than the bound of %d", fi.Size(), MaxEntrySize)}
	}
	f, err := openEntry(path)
	if err != nil {
		// Replaced since the lstat (a symbolic link: ELOOP; a socket:
		// ENXIO), or unreadable.
		return nil, &EntryError{Path: path, Reason: "cannot be opened", Err: err}
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		return nil, &EntryError{Path: path, Reason: "cannot be examined", Err: err}
	}
	if reason := notRegular(fi); reason != "" {
		return nil, &EntryError{Path: path, Reason: reason}
	}
	size := fi.Size()
	if size > MaxEntrySize {
		return nil, &EntryError{Path: path, Reason: fmt.Sprintf("%d bytes, larger than the bound of %d", size, MaxEntrySize)}
	}
	want := key.Encode()
	if size < int64(headerSize+len(want)) {
		return nil, &EntryError{Path: path, Reason: fmt.Sprintf("truncated (%d bytes)", size)}
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, &EntryError{Path: path, Reason: "cannot be read", Err: err}
	}
	return parse(path, b, want)
}

// parse checks the entry b against the encoded key want and returns its
// payload.
func parse(path string, b, want []byte) ([]byte, error) {
	bad := func(format string, args ...any) error {
		return &EntryError{Path: path, Reason: fmt.Sprintf(format, args...)}
	}
	if !bytes.HasPrefix(b, []byte(Magic)) {
		return nil, bad("not an entry of this format (bad magic)")
	}
	r := b[len(Magic):]
	if len(r) < 4 {
		return nil, bad("truncated header")
	}
	keyLen := binary.LittleEndian.Uint32(r)
	r = r[4:]
	if keyLen > MaxKeySize || uint64(keyLen) > uint64(len(r)) {
		return nil, bad("key length %d out of bounds", keyLen)
	}
	got := r[:keyLen]
	r = r[keyLen:]
	if !bytes.Equal(got, want) {
		return nil, bad("stored under another key (%s), not %s", summarize(got), summarize(want))
	}
	if len(r) < 8+sha256.Size {
		return nil, bad("truncated header")
	}
	n := binary.LittleEndian.Uint64(r)
	r = r[8:]
	sum := r[:sha256.Size]
	payload := r[sha256.Size:]
	if n != uint64(len(payload)) {
		return nil, bad("payload of %d bytes, header says %d (truncated or extended)", len(payload), n)
	}
	if !bytes.Equal(sum, checksum(b[:len(b)-len(payload)-sha256.Size], payload)) {
		return nil, bad("checksum mismatch")
	}
	return payload, nil
}

// summarize shortens an encoded key for an error message.
func summarize(k []byte) string {
	s := strings.TrimPrefix(string(k), "aspect-cache-key/1\n")
	s = strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return strconv.Quote(s)
}

// checksum is the SHA-256 of an entry's header (without the checksum) and
// payload.
func checksum(header, payload []byte) []byte {
	h := sha256.New()
	h.Write(header)
	h.Write(payload)
	return h.Sum(nil)
}

// notRegular says why fi is not a regular file, or "" if it is.
func notRegular(fi fs.FileInfo) string {
	m := fi.Mode()
	switch {
	case m.IsRegular():
		return ""
	case m&fs.ModeSymlink != 0:
		return "a symbolic link, not a regular file"
	case m.IsDir():
		return "a directory, not a regular file"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO, not a regular file"
	case m&fs.ModeSocket != 0:
		return "a socket, not a regular file"
	case m&fs.ModeDevice != 0:
		return "a device, not a regular file"
	}
	return "not a regular file (" + m.Type().String() + ")"
}

// Encode returns the entry of payload under key.
func Encode(key Key, payload []byte) []byte {
	k := key.Encode()
	out := make([]byte, 0, headerSize+len(k)+len(payload))
	out = append(out, Magic...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(k)))
	out = append(out, k...)
	out = binary.LittleEndian.AppendUint64(out, uint64(len(payload)))
	out = append(out, checksum(out, payload)...)
	return append(out, payload...)
}

// Write stores payload as the entry of key at path, atomically: a temporary
// file in the same directory, renamed over path. It creates the directory
// (and its parents) first. A directory that cannot be created or written to
// is a *DirError; a payload over the size bound, or a rename that fails
// (something that is not a file sits at path), is an *EntryError.
func Write(path string, key Key, payload []byte) error {
	if len(key.Encode()) > MaxKeySize {
		return &EntryError{Path: path, Reason: "key too long"}
	}
	entry := Encode(key, payload)
	if int64(len(entry)) > MaxEntrySize {
		return &EntryError{Path: path, Reason: fmt.Sprintf("%d bytes, larger than the bound of %d: not cached", len(entry), MaxEntrySize)}
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return &DirError{Dir: dir, Op: "create", Err: err}
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return &DirError{Dir: dir, Op: "write", Err: err}
	}
	_, err = f.Write(entry)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return &DirError{Dir: dir, Op: "write", Err: err}
	}
	if err := os.Rename(f.Name(), path); err != nil {
		_ = os.Remove(f.Name())
		return &EntryError{Path: path, Reason: "cannot replace what is there", Err: err}
	}
	return nil
}

// Remove removes what is at path, if anything: a file, a link (not its
// target) or an empty directory. It does not remove a directory's contents.
func Remove(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
