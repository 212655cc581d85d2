package conformance

// The disk cache cases (issue 13, "A cache that cannot be poisoned or
// stall"): a compiled-module cache directory (runtime.WithCacheDir) that
// someone else can write to is tampered with in every way we know, and New
// must still run the module it was given — never another module's code,
// never hang, never crash — and say what it found through the runtime's
// logger. They run in child processes because on the old code some of them
// hang (a FIFO, /dev/zero) or crash the process (a swapped entry on
// wazero). Every engine must give the same outcome.
//
// A case compiles module A (and, to swap, B) with a cache in a scratch
// directory, copies the entries into a fresh cache directory, tampers with
// A's entry there and runs New(A) twice:
//
//   - "new": what New(A) did with the tampered cache: the value A's export
//     "answer" returned (A returns 1, the modules swapped in return 2 and
//     3) or the error kind, and the cache warnings logged (kinds, see
//     warningKind);
//   - "again": New(A) on a copy of the cache directory New left behind (a
//     new cache directory, so that wazero reads it from disk, not from its
//     in-memory cache): the value, the warnings, and whether A's entry was
//     loaded and kept ("kept": the same file before and after) or not.

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aspect-rt/aspect-runtime/internal/cachefile"
	"github.com/aspect-rt/aspect-runtime/internal/wasmbin"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

// Outcomes of the cache cases.
const (
	// cacheRecovered: the entry was refused, removed and rewritten; a new
	// process loads the rewritten entry.
	cacheRecovered = "new: answer=1 warn=[bad-entry]; again: answer=1 warn=[] entry=kept"
	// cacheRejected: the entry passed the cache's checks, the engine
	// refused it; it was removed and rewritten.
	cacheRejected = "new: answer=1 warn=[rejected]; again: answer=1 warn=[] entry=kept"
)

// wazeroInterpreterEnv is engines/wazero's InterpreterEnv: set to 1, the
// wazero adapter uses wazero's interpreter, which keeps no compiled code on
// disk and never looks at the cache directory.
const wazeroInterpreterEnv = "ASPECT_WAZERO_INTERPRETER"

// isolatedCacheCases returns the disk cache cases, none on wazero's
// interpreter (which has no disk cache).
func isolatedCacheCases() []IsolatedCase {
	if os.Getenv(wazeroInterpreterEnv) == "1" {
		return nil
	}
	tamper := func(name string, f func(t *testing.T, env *Env, entry string)) IsolatedCase {
		return IsolatedCase{Name: "cache/" + name, Want: cacheRecovered, Run: func(t *testing.T, env *Env) string {
			return runTamperedCache(t, env, f)
		}}
	}
	return []IsolatedCase{
		// An entry of another module copied over A's: a module with the
		// same functions returning another value (an entry of the same
		// size), and one with fewer functions (an entry of another size;
		// wazero panicked instantiating it).
		tamper("swapped-same-size", func(t *testing.T, env *Env, entry string) {
			other := cacheEntryOf(t, env, cacheModule(2, 3))
			if len(other) != int(fileSize(t, entry)) {
				t.Fatalf("the entries of A and B differ in size (%d and %d bytes): the case needs the same size", fileSize(t, entry), len(other))
			}
			writeFile(t, entry, other)
		}),
		tamper("swapped-other-size", func(t *testing.T, env *Env, entry string) {
			other := cacheEntryOf(t, env, cacheModule(3, 2))
			if len(other) == int(fileSize(t, entry)) {
				t.Fatalf("the entries of A and C have the same size: the case needs another")
			}
			writeFile(t, entry, other)
		}),
		tamper("truncated", func(t *testing.T, env *Env, entry string) {
			b := readFile(t, entry)
			writeFile(t, entry, b[:len(b)/2])
		}),
		tamper("flipped-byte", func(t *testing.T, env *Env, entry string) {
			b := readFile(t, entry)
			b[len(b)*3/4] ^= 0x10
			writeFile(t, entry, b)
		}),
		tamper("empty", func(t *testing.T, env *Env, entry string) { writeFile(t, entry, nil) }),
		// A FIFO nobody writes to: opening it for reading without
		// O_NONBLOCK waits for a writer forever.
		tamper("fifo-without-writer", func(t *testing.T, env *Env, entry string) {
			remove(t, entry)
			if err := mkfifo(entry); err != nil {
				t.Fatalf("mkfifo: %v", err)
			}
		}),
		// A symbolic link to an endless device.
		tamper("symlink-to-dev-zero", func(t *testing.T, env *Env, entry string) {
			remove(t, entry)
			if err := os.Symlink("/dev/zero", entry); err != nil {
				t.Fatalf("symlink: %v", err)
			}
		}),
		// A symbolic link to a valid entry of A elsewhere: not followed
		// either (the cache opens only regular files).
		tamper("symlink-to-valid-entry", func(t *testing.T, env *Env, entry string) {
			elsewhere := filepath.Join(t.TempDir(), "entry")
			writeFile(t, elsewhere, readFile(t, entry))
			remove(t, entry)
			if err := os.Symlink(elsewhere, entry); err != nil {
				t.Fatalf("symlink: %v", err)
			}
		}),
		// An empty directory in place of the entry: removed, rewritten.
		tamper("empty-directory", func(t *testing.T, env *Env, entry string) {
			remove(t, entry)
			if err := os.Mkdir(entry, 0o755); err != nil {
				t.Fatal(err)
			}
		}),
		// A sparse file of 1 TiB: reading it whole would exhaust memory.
		tamper("oversized", func(t *testing.T, env *Env, entry string) {
			if err := os.Truncate(entry, 1<<40); err != nil {
				t.Fatalf("truncate: %v", err)
			}
		}),
		{
			// An entry that carries A's key and a valid checksum around a
			// payload whose first byte (the magic of the engine's own
			// format) is wrong: the engine refuses it. wazero failed with
			// ErrCompile on every run. (Only a forger produces such an
			// entry, and a forger can do worse — the README says so: the
			// case checks that a refusal removes the entry and recompiles.
			// A payload damaged further in would crash wasmer, which loads
			// native code without checking it.)
			Name: "cache/engine-rejects-verified-entry",
			Want: cacheRejected,
			Run: func(t *testing.T, env *Env) string {
				return runTamperedCache(t, env, func(t *testing.T, env *Env, entry string) {
					key, payload := parseEntry(t, readFile(t, entry))
					payload[0] ^= 0xff
					writeFile(t, entry, cachefile.Encode(key, payload))
				})
			},
		},
		{
			// A non-empty directory in place of the entry: it cannot be
			// removed (the cache does not delete trees it did not write),
			// so every New says so and compiles.
			Name: "cache/directory-with-contents",
			Want: "new: answer=1 warn=[bad-entry write-failed]; again: answer=1 warn=[bad-entry write-failed] entry=directory",
			Run: func(t *testing.T, env *Env) string {
				return runTamperedCache(t, env, func(t *testing.T, env *Env, entry string) {
					remove(t, entry)
					if err := os.Mkdir(entry, 0o755); err != nil {
						t.Fatal(err)
					}
					writeFile(t, filepath.Join(entry, "file"), []byte("x"))
				})
			},
		},
		{
			// A cache directory nothing can be written to: New compiles
			// without the cache, every time.
			Name: "cache/unwritable-directory",
			Want: "new: answer=1 warn=[dir-unusable]; again: answer=1 warn=[dir-unusable]",
			Run: func(t *testing.T, env *Env) string {
				dir := unwritableDir(t)
				return "new: " + newWithCache(t, env, dir, cacheModule(1, 3)) + "; again: " + newWithCache(t, env, dir, cacheModule(1, 3))
			},
		},
		{
			// The cache directory's path is a file, then (in the same
			// process) a directory: New compiles without the cache, then
			// writes the entry, then loads it.
			Name: "cache/directory-fixed-in-process",
			Want: "file: answer=1 warn=[dir-unusable]; directory: answer=1 warn=[] entries=1; again: answer=1 warn=[] entry=kept",
			Run: func(t *testing.T, env *Env) string {
				dir := filepath.Join(t.TempDir(), "cache")
				writeFile(t, dir, []byte("not a directory"))
				out := "file: " + newWithCache(t, env, dir, cacheModule(1, 3))
				remove(t, dir)
				if err := os.Mkdir(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				out += "; directory: " + newWithCache(t, env, dir, cacheModule(1, 3))
				entries := cacheEntries(t, dir)
				out += fmt.Sprintf(" entries=%d", len(entries))
				if len(entries) != 1 {
					return out
				}
				return out + "; again: " + againWithCache(t, env, dir, entries[0])
			},
		},
	}
}

// RunIsolatedCacheCases runs the disk cache cases on engine, each in a
// child process, as RunIsolated runs every isolated case (which includes
// them). Call it from a test function of its own, which the children
// re-run.
func RunIsolatedCacheCases(t *testing.T, engine string) {
	t.Helper()
	RunIsolatedCases(t, engine, isolatedCacheCases())
}

// RunIsolatedCases runs cases on engine, each in a child process, as
// RunIsolated does for the registered cases (but with no pending list).
// Call it from a test function of its own, which the children re-run with
// the same cases.
func RunIsolatedCases(t *testing.T, engine string, cases []IsolatedCase) {
	t.Helper()
	if runIsolatedChild(t, cases) {
		return
	}
	if !linked(engine) {
		t.Fatalf("engine %q is not linked in this build (linked: %v)", engine, runtime.Engines())
	}
	testPath := t.Name()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			if msg := runIsolated(testPath, c, engine).check(c, engine); msg != "" {
				t.Error(msg)
			}
		})
	}
}

// cacheModule returns a module of funcs functions () -> i32, exported as
// "answer" (returning answer), "f1", "f2", …
func cacheModule(answer int32, funcs int) []byte {
	sec := func(id byte, body []byte) []byte {
		return append(wasmbin.AppendULEB([]byte{id}, uint64(len(body))), body...)
	}
	m := []byte("\x00asm\x01\x00\x00\x00")
	m = append(m, sec(1, []byte{1, 0x60, 0, 1, 0x7f})...)
	fn := wasmbin.AppendULEB(nil, uint64(funcs))
	ex := wasmbin.AppendULEB(nil, uint64(funcs))
	code := wasmbin.AppendULEB(nil, uint64(funcs))
	for i := range funcs {
		fn = append(fn, 0)
		name := fmt.Sprintf("f%d", i)
		v := answer*10 + int32(i)
		if i == 0 {
			name, v = "answer", answer
		}
		ex = append(wasmbin.AppendULEB(ex, uint64(len(name))), name...)
		ex = append(ex, 0)
		ex = wasmbin.AppendULEB(ex, uint64(i))
		body := append([]byte{0, 0x41}, appendSLEB(nil, int64(v))...)
		body = append(body, 0x0b)
		code = append(wasmbin.AppendULEB(code, uint64(len(body))), body...)
	}
	m = append(m, sec(3, fn)...)
	m = append(m, sec(7, ex)...)
	return append(m, sec(10, code)...)
}

func appendSLEB(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// runTamperedCache runs the tampering case f (see the top of the file).
func runTamperedCache(t *testing.T, env *Env, f func(t *testing.T, env *Env, entry string)) string {
	a := cacheModule(1, 3)
	src := t.TempDir()
	if out := newWithCache(t, env, src, a); out != "answer=1 warn=[]" {
		t.Fatalf("populating the cache: %s", out)
	}
	entries := cacheEntries(t, src)
	if len(entries) != 1 {
		t.Fatalf("populating the cache wrote %d entries, want 1: %v", len(entries), entries)
	}
	dir := copyCache(t, src)
	entry := filepath.Join(dir, entries[0])
	f(t, env, entry)
	return "new: " + newWithCache(t, env, dir, a) + "; again: " + againWithCache(t, env, dir, entries[0])
}

// cacheEntryOf returns the cache entry module code compiles to on env's
// engine.
func cacheEntryOf(t *testing.T, env *Env, code []byte) []byte {
	dir := t.TempDir()
	newWithCache(t, env, dir, code)
	entries := cacheEntries(t, dir)
	if len(entries) != 1 {
		t.Fatalf("%d entries, want 1", len(entries))
	}
	return readFile(t, filepath.Join(dir, entries[0]))
}

// againWithCache runs New(A) on a copy of the cache directory dir and
// reports, besides the value and warnings, what became of A's entry, at rel
// in dir: "kept" (a regular file, the same before and after: loaded, not
// rewritten), "replaced" (rewritten), "directory" or "missing".
func againWithCache(t *testing.T, env *Env, dir, rel string) string {
	copied := copyCache(t, dir)
	path := filepath.Join(copied, rel)
	before, _ := os.Lstat(path)
	out := newWithCache(t, env, copied, cacheModule(1, 3))
	after, err := os.Lstat(path)
	switch {
	case err != nil:
		return out + " entry=missing"
	case after.IsDir():
		return out + " entry=directory"
	case !after.Mode().IsRegular():
		return out + " entry=" + after.Mode().Type().String()
	case before != nil && os.SameFile(before, after) && before.ModTime().Equal(after.ModTime()):
		return out + " entry=kept"
	}
	return out + " entry=replaced"
}

// newWithCache runs New(code) on env's engine with the cache in dir, calls
// "answer" and returns "answer=N warn=[kinds]" (or the error kind, or
// "blocked").
func newWithCache(t *testing.T, env *Env, dir string, code []byte) string {
	rec := &warnRecorder{}
	out := within(blockedAfter, func() string {
		ctx := context.Background()
		rt, err := runtime.NewWithEngine(ctx, env.Engine, code, runtime.NewHostAPIRegistry(),
			runtime.WithCacheDir(dir), runtime.WithLogger(slog.New(rec)))
		if err != nil {
			return ErrorKind(err)
		}
		defer rt.Close(ctx)
		res, err := rt.CallWasm(ctx, "answer")
		if err != nil {
			return ErrorKind(err)
		}
		return fmt.Sprintf("answer=%d", int32(res[0]))
	})
	return out + " warn=[" + strings.Join(rec.kinds(), " ") + "]"
}

// warningKind names a cache warning for an outcome.
func warningKind(msg string) string {
	switch msg {
	case cachefile.MsgBadEntry:
		return "bad-entry"
	case cachefile.MsgRejected:
		return "rejected"
	case cachefile.MsgDirUnusable:
		return "dir-unusable"
	case cachefile.MsgWriteFailed:
		return "write-failed"
	}
	return fmt.Sprintf("%q", msg)
}

// warnRecorder is a slog.Handler keeping the messages of warnings and
// errors.
type warnRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (r *warnRecorder) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (r *warnRecorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, rec.Message)
	return nil
}
func (r *warnRecorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *warnRecorder) WithGroup(string) slog.Handler      { return r }

// kinds returns the kinds of the warnings logged, sorted.
func (r *warnRecorder) kinds() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.msgs))
	for _, m := range r.msgs {
		out = append(out, warningKind(m))
	}
	sort.Strings(out)
	return out
}

// cacheEntries lists the entries under dir, relative to it (not temporary
// files, which start with a dot).
func cacheEntries(t *testing.T, dir string) []string {
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path != dir && !d.IsDir() && !strings.HasPrefix(d.Name(), ".") {
			rel, _ := filepath.Rel(dir, path)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// copyCache copies the cache directory src to a new directory: regular
// files, directories, symbolic links (as links), FIFOs (as FIFOs); other
// files are left out.
func copyCache(t *testing.T, src string) string {
	dst := filepath.Join(t.TempDir(), "cache")
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		to := filepath.Join(dst, rel)
		switch typ := d.Type(); {
		case typ.IsDir():
			return os.MkdirAll(to, 0o755)
		case typ.IsRegular():
			fi, err := d.Info()
			if err != nil {
				return err
			}
			if fi.Size() > 64<<20 {
				// A sparse file: copy its size, not its bytes.
				f, err := os.Create(to)
				if err != nil {
					return err
				}
				defer f.Close()
				return f.Truncate(fi.Size())
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(to, b, 0o644)
		case typ&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(target, to)
		case typ&fs.ModeNamedPipe != 0:
			return mkfifo(to)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("copying the cache: %v", err)
	}
	return dst
}

// parseEntry splits an entry into its key and payload (no checks: the
// entry is the one the engine just wrote).
func parseEntry(t *testing.T, b []byte) (cachefile.Key, []byte) {
	if !bytes.HasPrefix(b, []byte(cachefile.Magic)) {
		t.Fatalf("not an entry of format %s", cachefile.Magic)
	}
	r := b[len(cachefile.Magic):]
	n := int(r[0]) | int(r[1])<<8 | int(r[2])<<16 | int(r[3])<<24
	lines := strings.Split(strings.TrimSuffix(string(r[4:4+n]), "\n"), "\n")[1:]
	var key cachefile.Key
	for _, l := range lines {
		name, quoted, _ := strings.Cut(l, "=")
		var v string
		if _, err := fmt.Sscanf(quoted, "%q", &v); err != nil {
			t.Fatalf("key line %q: %v", l, err)
		}
		key = append(key, cachefile.Field{Name: name, Value: v})
	}
	if !bytes.Equal(key.Encode(), r[4:4+n]) {
		t.Fatal("the key does not re-encode to itself")
	}
	return key, r[4+n+8+32:]
}

func readFile(t *testing.T, path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, path string, b []byte) {
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func remove(t *testing.T, path string) {
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}

func fileSize(t *testing.T, path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// unwritableDir returns an existing directory nothing can be created in:
// a directory without write permission, or where permissions do not stop
// this process (root), one made immutable (see makeImmutable).
func unwritableDir(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(dir, 0o755) })
	if !writable(dir) {
		return dir
	}
	if err := makeImmutable(t, dir); err != nil {
		t.Fatalf("cannot make a directory unwritable here (running as uid %d): %v", os.Geteuid(), err)
	}
	if writable(dir) {
		t.Fatalf("%s is still writable", dir)
	}
	return dir
}

func writable(dir string) bool {
	f, err := os.CreateTemp(dir, "probe-")
	if err != nil {
		return false
	}
	f.Close()
	os.Remove(f.Name())
	return true
}
