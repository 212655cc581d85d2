package cachefile

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var testKey = Key{{"engine", "test"}, {"version", "1"}, {"code-sha256", "ab"}, {"memory-limit-pages", "0"}}

// readSoon is Read, failing the test if it does not return within 10 s
// (it must never block on what it finds).
func readSoon(t *testing.T, path string, key Key) ([]byte, error) {
	t.Helper()
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := Read(path, key)
		done <- result{b, err}
	}()
	select {
	case r := <-done:
		return r.b, r.err
	case <-time.After(10 * time.Second):
		t.Fatalf("Read(%s) blocked", path)
		return nil, nil
	}
}

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "dir", testKey.FileName())
	payload := []byte("compiled code")
	if err := Write(path, testKey, payload); err != nil {
		t.Fatal(err)
	}
	got, err := readSoon(t, path, testKey)
	if err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("Read = %q, %v", got, err)
	}
	// An empty payload is an entry too.
	if err := Write(path, testKey, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := readSoon(t, path, testKey); err != nil || len(got) != 0 {
		t.Fatalf("Read = %q, %v", got, err)
	}
	// Nothing left behind but the entry.
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 1 {
		t.Fatalf("%d files in the entry's directory", len(ents))
	}
}

func TestKeyEncodingIsInjective(t *testing.T) {
	a := Key{{"a", "x\nb=\"y\""}}
	b := Key{{"a", "x"}, {"b", "y"}}
	if bytes.Equal(a.Encode(), b.Encode()) || a.FileName() == b.FileName() {
		t.Fatal("two keys encode alike")
	}
}

func TestReadMissing(t *testing.T) {
	_, err := readSoon(t, filepath.Join(t.TempDir(), "none"), testKey)
	if !errors.Is(err, ErrNotFound) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v", err)
	}
	// A cache directory that does not exist yet is a plain miss too.
	_, err = readSoon(t, filepath.Join(t.TempDir(), "no", "such", "dir", "entry"), testKey)
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v", err)
	}
}

// TestReadRefusesBadEntries: everything but the entry of the key looked up
// is an *EntryError, and Read returns at once.
func TestReadRefusesBadEntries(t *testing.T) {
	good := Encode(testKey, []byte("payload of the entry"))
	other := Encode(Key{{"engine", "test"}, {"version", "1"}, {"code-sha256", "cd"}, {"memory-limit-pages", "0"}}, []byte("payload of the entry"))
	if len(other) != len(good) {
		t.Fatal("the other key's entry must have the same size")
	}
	flip := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 1
		return b
	}
	resized := func(n uint32) []byte {
		b := bytes.Clone(good)
		b[8], b[9], b[10], b[11] = byte(n), byte(n>>8), byte(n>>16), byte(n>>24)
		return b
	}
	files := map[string][]byte{
		"empty":             {},
		"magic only":        []byte(Magic),
		"bad magic":         flip(0),
		"key of another":    other,
		"key flipped":       flip(14),
		"key length huge":   resized(1 << 31),
		"key length bigger": resized(MaxKeySize + 1),
		"payload length":    flip(12 + len(testKey.Encode())),
		"checksum":          flip(20 + len(testKey.Encode())),
		"payload":           flip(len(good) - 1),
		"truncated":         good[:len(good)-1],
		"extended":          append(bytes.Clone(good), 0),
		"header only":       good[:headerSize+len(testKey.Encode())-1],
	}
	for name, b := range files {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "entry")
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := readSoon(t, path, testKey)
			var ee *EntryError
			if !errors.As(err, &ee) {
				t.Fatalf("err = %v, want an *EntryError", err)
			}
		})
	}
}

// TestReadBoundsSize: a file over MaxEntrySize is refused by its size,
// never read.
func TestReadBoundsSize(t *testing.T) {
	saved := MaxEntrySize
	t.Cleanup(func() { MaxEntrySize = saved })
	path := filepath.Join(t.TempDir(), "entry")
	if err := Write(path, testKey, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	MaxEntrySize = 1000
	var ee *EntryError
	if _, err := readSoon(t, path, testKey); !errors.As(err, &ee) {
		t.Fatalf("err = %v, want an *EntryError", err)
	}
	if err := Write(path, testKey, make([]byte, 1000)); !errors.As(err, &ee) {
		t.Fatalf("Write over the bound: err = %v, want an *EntryError", err)
	}
}

// TestUnusableDirectory: a file where the directory should be is a
// *DirError for Read and Write; nothing is remembered, so once it is a
// directory both work.
func TestUnusableDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	if err := os.WriteFile(dir, []byte("a file"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "wasmtime-1", testKey.FileName())
	var de *DirError
	if _, err := readSoon(t, path, testKey); !errors.As(err, &de) {
		t.Fatalf("Read: err = %v, want a *DirError", err)
	}
	if err := Write(path, testKey, []byte("x")); !errors.As(err, &de) {
		t.Fatalf("Write: err = %v, want a *DirError", err)
	}
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, testKey, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := readSoon(t, path, testKey); err != nil {
		t.Fatal(err)
	}
}

// TestWriteOverDirectory: Write cannot replace a non-empty directory at
// the entry's path; it says so with an *EntryError and leaves no
// temporary file.
func TestWriteOverDirectory(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "entry")
	if err := os.MkdirAll(filepath.Join(path, "inside"), 0o755); err != nil {
		t.Fatal(err)
	}
	var ee *EntryError
	if err := Write(path, testKey, []byte("x")); !errors.As(err, &ee) {
		t.Fatalf("err = %v, want an *EntryError", err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("%d files left", len(ents))
	}
}

// FuzzParse: no input makes the parser panic, and it accepts only the
// exact encoding of a payload under the key.
func FuzzParse(f *testing.F) {
	f.Add(Encode(testKey, []byte("payload")))
	f.Add(Encode(testKey, nil))
	f.Add([]byte(Magic))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		payload, err := parse("entry", b, testKey.Encode())
		if err != nil {
			return
		}
		if !bytes.Equal(Encode(testKey, payload), b) {
			t.Fatalf("accepted %x, which is not the encoding of its payload", b)
		}
	})
}
