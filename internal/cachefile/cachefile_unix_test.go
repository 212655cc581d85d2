//go:build unix

package cachefile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
)

func mkfifo(path string) error { return syscall.Mkfifo(path, 0o644) }

// TestReadRefusesSpecialFiles: what is not a regular file at the entry's
// path is an *EntryError, at once (a FIFO without a writer, a link to
// /dev/zero do not block), and Remove removes it (a link, not its target).
func TestReadRefusesSpecialFiles(t *testing.T) {
	good := Encode(testKey, []byte("payload of the entry"))
	special := map[string]func(path string) error{
		"fifo without writer": func(p string) error { return mkfifo(p) },
		"symlink to /dev/zero": func(p string) error {
			return os.Symlink("/dev/zero", p)
		},
		"symlink to a valid entry": func(p string) error {
			target := filepath.Join(filepath.Dir(p), "elsewhere")
			if err := os.WriteFile(target, good, 0o644); err != nil {
				return err
			}
			return os.Symlink(target, p)
		},
		"dangling symlink": func(p string) error { return os.Symlink("/nonexistent", p) },
		"directory":        func(p string) error { return os.Mkdir(p, 0o755) },
		"oversized (sparse)": func(p string) error {
			f, err := os.Create(p)
			if err != nil {
				return err
			}
			defer f.Close()
			return f.Truncate(MaxEntrySize + 1)
		},
		"unix socket": func(p string) error {
			fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
			if err != nil {
				return err
			}
			defer syscall.Close(fd)
			return syscall.Bind(fd, &syscall.SockaddrUnix{Name: p})
		},
	}
	if runtime.GOOS != "linux" {
		delete(special, "symlink to /dev/zero")
	}
	for name, make := range special {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "entry")
			if err := make(path); err != nil {
				t.Fatalf("setting up: %v", err)
			}
			_, err := readSoon(t, path, testKey)
			var ee *EntryError
			if !errors.As(err, &ee) {
				t.Fatalf("err = %v, want an *EntryError", err)
			}
			if err := Remove(path); err != nil {
				t.Fatalf("Remove: %v", err)
			}
			if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("still there after Remove: %v", err)
			}
		})
	}
}
