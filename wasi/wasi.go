// Package wasi implements WASI preview 1 (the `wasi_snapshot_preview1`
// imports) once, in Go, for every engine.
//
// The functions are ordinary raw host functions ([engine.HostFunc]) written
// against the engine SPI, not each engine's native WASI: wasmtime-go's WASI
// can only send stdout to a file path and has no clock or random hooks,
// wasmer-go's only captures stdout and has neither, and a single
// implementation is the only way to give identical, deterministic behaviour
// — the same output, the same errno, the same clock and random bytes — on
// every engine. Users enable it with runtime.WithWASI:
//
//	rt, err := runtime.New(ctx, wasm, reg, runtime.WithWASI(wasi.Config{
//		Args:   []string{"aspect", "-v"},
//		Stdout: &stdout,                                    // nil discards
//		Mounts: []wasi.Mount{{FS: os.DirFS("data"), GuestPath: "/data"}},
//	}))
//
// # Sandbox
//
// A guest sees nothing of the host unless the [Config] gives it: no
// environment variables but [Config.Env], no files but the directories in
// [Config.Mounts], which are read-only (an [io/fs.FS] cannot be written;
// every write returns EROFS). Paths are resolved inside the directory
// descriptor they are relative to: absolute paths and `..` leaving it return
// ENOTCAPABLE. Symbolic links are followed by the [io/fs.FS] itself:
// [os.DirFS] follows links that point outside its directory, the FS of an
// [os.Root] (os.OpenRoot(dir) then Root.FS) refuses them, so use the latter
// for untrusted trees. Output goes only to [Config.Stdout] and
// [Config.Stderr]; both discard by default.
//
// # Determinism
//
// Everything a guest can observe comes from the Config: arguments,
// environment, stdin, the [Clock] and the random source. With a [FakeClock]
// and a seeded random reader a guest's behaviour is reproducible on every
// engine; poll_oneoff (time.Sleep in Go guests) advances a FakeClock instead
// of sleeping.
//
// # Functions
//
// args_*, environ_*, clock_*, random_get, fd_read, fd_write, fd_pread,
// fd_close, fd_renumber, fd_seek, fd_tell, fd_fdstat_get,
// fd_fdstat_set_flags, fd_filestat_get, fd_prestat_get,
// fd_prestat_dir_name, fd_readdir, fd_advise, fd_datasync, fd_sync,
// path_open, path_filestat_get, poll_oneoff, proc_exit and sched_yield are
// implemented. The file-system mutations (fd_pwrite, fd_allocate,
// fd_filestat_set_size, fd_filestat_set_times, path_create_directory,
// path_link, path_remove_directory, path_rename, path_symlink,
// path_unlink_file, path_filestat_set_times) check their descriptors and
// return EROFS. The rest of preview 1 — the sockets, path_readlink,
// proc_raise, fd_fdstat_set_rights — are stubs returning ENOSYS, so that
// any WASI module links ([Implemented] tells which). Every guest pointer is
// bounds-checked through [engine.Memory]: a bad one returns EFAULT, never a
// trap or a panic.
package wasi

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// ModuleName is the import module of WASI preview 1.
const ModuleName = "wasi_snapshot_preview1"

// InitializeFunction is the export a WASI reactor module (a library, such as
// a Go program built with -buildmode=c-shared) has the host call once,
// before any other export.
const InitializeFunction = "_initialize"

// Config is what a guest may see of the host. The zero Config gives a guest
// no arguments, no environment, an empty stdin, output discarded, the real
// clock, crypto/rand and no files.
//
// Stdin, Stdout, Stderr, Clock and Random are shared by every instance
// created with the Config: if instances run concurrently they must be safe
// for concurrent use (io.Discard, crypto/rand and the clocks of this package
// are).
type Config struct {
	// Args are the guest's command-line arguments, argv[0] included
	// (conventionally the program name). None may contain a NUL byte.
	Args []string
	// Env are the guest's environment variables, each "KEY=VALUE". The host's
	// environment is never passed implicitly.
	Env []string
	// Stdin is read by fd 0; nil is an empty input.
	Stdin io.Reader
	// Stdout and Stderr receive what the guest writes to fds 1 and 2; nil
	// discards. A write error is reported to the guest as EIO.
	Stdout, Stderr io.Writer
	// Clock gives the wall-clock and monotonic time and implements sleeps
	// (poll_oneoff); nil is SystemClock().
	Clock Clock
	// Random fills random_get; nil is crypto/rand.Reader. A read error is
	// reported to the guest as EIO.
	Random io.Reader
	// Mounts are the directories the guest can read, each a pre-opened
	// descriptor (fd 3, 4, … in order). Nothing else of any file system is
	// visible.
	Mounts []Mount
}

// Mount makes a read-only file system visible to the guest.
type Mount struct {
	// FS is the tree, read through io/fs: it cannot be written.
	FS fs.FS
	// GuestPath is where the guest sees it, an absolute slash-separated path
	// such as "/data" (cleaned; "" means "/").
	GuestPath string
}

// ExitError reports that the guest called proc_exit: the call that was in
// progress ended and the instance must not be used again (reset it or
// create another). Code 0 is a normal exit of a command module and is still
// an ExitError, so that the caller can tell it from a call that returned. It
// matches ErrExit.
type ExitError struct {
	Code uint32
}

// Error implements error.
func (e *ExitError) Error() string { return fmt.Sprintf("wasi: guest exited with status %d", e.Code) }

// Unwrap returns ErrExit.
func (e *ExitError) Unwrap() error { return ErrExit }

// ErrExit is matched by every *ExitError.
var ErrExit = errors.New("wasi: guest exited")

// ExitCode returns the status of the proc_exit in err's chain, and whether
// there is one.
func ExitCode(err error) (uint32, bool) {
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code, true
	}
	return 0, false
}

// Host is the host side of WASI for one guest instance: the Config and the
// instance's descriptor table. It is not safe for concurrent use; an
// instance runs one call at a time.
type Host struct {
	cfg    Config
	clock  Clock
	random io.Reader
	stdout io.Writer
	stderr io.Writer
	mounts []mount

	args, env bufList

	fds     []*fdEntry // by descriptor; nil entries are free
	scratch []byte
	// restored is the saved table fds is a copy of, if no WASI function
	// ran since it was saved or restored (nil if unknown): restoring it
	// again has nothing to do. A Go guest makes no WASI call in most of
	// its calls, and a pool restores its instances after each.
	restored *Descriptors
}

type mount struct {
	fsys fs.FS
	name string // guest path, cleaned, absolute
}

// bufList is a NUL-terminated string list as args_get and environ_get
// lay it out.
type bufList struct {
	strs []string
	size uint32 // total bytes, terminators included
}

func newBufList(strs []string, what string, needEq bool) (bufList, error) {
	l := bufList{strs: strs}
	var size uint64
	for _, s := range strs {
		if strings.IndexByte(s, 0) >= 0 {
			return l, fmt.Errorf("wasi: %s %q contains a NUL byte", what, s)
		}
		if needEq && !strings.Contains(s, "=") {
			return l, fmt.Errorf("wasi: %s %q is not KEY=VALUE", what, s)
		}
		size += uint64(len(s)) + 1
	}
	if size > 1<<31 {
		return l, fmt.Errorf("wasi: %s are too large", what)
	}
	l.size = uint32(size)
	return l, nil
}

// New validates cfg and returns the WASI host of one guest instance.
func New(cfg Config) (*Host, error) {
	h := &Host{cfg: cfg, clock: cfg.Clock, random: cfg.Random, stdout: cfg.Stdout, stderr: cfg.Stderr}
	if h.clock == nil {
		h.clock = SystemClock()
	}
	if h.random == nil {
		h.random = rand.Reader
	}
	if h.stdout == nil {
		h.stdout = io.Discard
	}
	if h.stderr == nil {
		h.stderr = io.Discard
	}
	var err error
	if h.args, err = newBufList(cfg.Args, "argument", false); err != nil {
		return nil, err
	}
	if h.env, err = newBufList(cfg.Env, "environment variable", true); err != nil {
		return nil, err
	}
	for i, m := range cfg.Mounts {
		if m.FS == nil {
			return nil, fmt.Errorf("wasi: mount %d (%q) has no FS", i, m.GuestPath)
		}
		name := path.Clean("/" + m.GuestPath)
		if strings.IndexByte(name, 0) >= 0 {
			return nil, fmt.Errorf("wasi: mount %d: guest path %q contains a NUL byte", i, m.GuestPath)
		}
		h.mounts = append(h.mounts, mount{fsys: m.FS, name: name})
	}
	h.Reset()
	return h, nil
}

// Reset closes every descriptor the guest opened and restores the initial
// table: stdin, stdout, stderr and the mounts. Call it when the guest
// instance is replaced by a fresh one.
func (h *Host) Reset() {
	h.Close()
	h.fds = h.fds[:0]
	h.fds = append(h.fds,
		&fdEntry{kind: kindStdin},
		&fdEntry{kind: kindStdout},
		&fdEntry{kind: kindStderr},
	)
	for i, m := range h.mounts {
		h.fds = append(h.fds, &fdEntry{kind: kindDir, mount: i, path: ".", preopen: true, guestName: m.name})
	}
}

// Descriptors is a saved descriptor table (see Host.SaveDescriptors).
type Descriptors struct {
	fds []*fdEntry // copies; nil for free descriptors
}

// SaveDescriptors returns a copy of the descriptor table for
// RestoreDescriptors: stdio, pre-opened and opened directories, with their
// flags and directory listings. It returns false if a descriptor holds an
// open file, whose io/fs.File and offset cannot be duplicated.
//
// A runtime that snapshots a guest instance (its memory, which records the
// descriptors the guest holds and how it set them up) saves the table with
// it, and restores both together.
func (h *Host) SaveDescriptors() (*Descriptors, bool) {
	d := &Descriptors{fds: make([]*fdEntry, len(h.fds))}
	for i, e := range h.fds {
		if e == nil {
			continue
		}
		if e.file != nil {
			return nil, false
		}
		c := *e
		d.fds[i] = &c
	}
	h.restored = d
	return d, true
}

// RestoreDescriptors closes every file the guest opened and makes the
// descriptor table a copy of d, which SaveDescriptors returned for h. It
// does nothing when the table is a copy of d already: no WASI function,
// Reset or Close ran since d was saved or last restored.
func (h *Host) RestoreDescriptors(d *Descriptors) {
	if d == h.restored && d != nil {
		return
	}
	h.Close()
	h.fds = h.fds[:0]
	for _, e := range d.fds {
		if e == nil {
			h.fds = append(h.fds, nil)
			continue
		}
		c := *e
		h.fds = append(h.fds, &c)
	}
	h.restored = d
}

// Close closes every file the guest opened. The Host remains usable: the
// guest sees the descriptors closed.
func (h *Host) Close() error {
	h.restored = nil
	var errs []error
	for i, e := range h.fds {
		if e != nil && e.file != nil {
			errs = append(errs, e.file.Close())
			e.file = nil
		}
		h.fds[i] = nil
	}
	return errors.Join(errs...)
}

// HostFunc returns the host function implementing the WASI preview 1
// function name, with its preview 1 signature, or false if preview 1 has no
// such function. The functions use h; the caller must not run two of them
// at once.
func (h *Host) HostFunc(name string) (engine.HostFunc, bool) {
	f, ok := functions[name]
	if !ok {
		return engine.HostFunc{}, false
	}
	impl := f.impl
	return engine.HostFunc{
		Module: ModuleName,
		Name:   name,
		Type:   f.typ,
		Call: func(ctx context.Context, caller engine.Caller, stack []uint64) error {
			h.restored = nil // any function may change the table
			errno, err := impl(h, ctx, caller.Memory(), stack)
			if err != nil {
				return err
			}
			if len(f.typ.Results) == 1 {
				stack[0] = uint64(errno)
			}
			return nil
		},
	}, true
}

// Signature returns the type of the WASI preview 1 function name.
func Signature(name string) (engine.FuncType, bool) {
	f, ok := functions[name]
	return f.typ, ok
}

// Functions returns the names of every WASI preview 1 function, sorted.
func Functions() []string {
	names := make([]string, 0, len(functions))
	for n := range functions {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Implemented reports whether the WASI preview 1 function name does more
// than return ENOSYS.
func Implemented(name string) bool {
	f, ok := functions[name]
	return ok && !f.stub
}
