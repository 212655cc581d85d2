package wasi_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/runtime/engine"
	"github.com/aspect-rt/aspect-runtime/wasi"
)

// memory is a bounds-checked linear memory for tests.
type memory struct{ b []byte }

func newMemory(size int) *memory { return &memory{b: make([]byte, size)} }

func (m *memory) Size() uint32 { return uint32(len(m.b)) }

func (m *memory) Read(off, n uint32) ([]byte, bool) {
	if uint64(off)+uint64(n) > uint64(len(m.b)) {
		return nil, false
	}
	return m.b[off : off+n : off+n], true
}

func (m *memory) Write(off uint32, data []byte) bool {
	if uint64(off)+uint64(len(data)) > uint64(len(m.b)) {
		return false
	}
	copy(m.b[off:], data)
	return true
}

func (m *memory) u32(off uint32) uint32 { return binary.LittleEndian.Uint32(m.b[off:]) }
func (m *memory) u64(off uint32) uint64 { return binary.LittleEndian.Uint64(m.b[off:]) }
func (m *memory) putU32(off, v uint32)  { binary.LittleEndian.PutUint32(m.b[off:], v) }
func (m *memory) putU64(off uint32, v uint64) {
	binary.LittleEndian.PutUint64(m.b[off:], v)
}
func (m *memory) str(off uint32, s string) (uint64, uint64) {
	copy(m.b[off:], s)
	return uint64(off), uint64(len(s))
}

type caller struct{ mem engine.Memory }

func (c caller) Memory() engine.Memory           { return c.mem }
func (c caller) Function(string) engine.Function { return nil }

// call runs the WASI function name with args and returns its errno.
func call(t *testing.T, h *wasi.Host, mem engine.Memory, name string, args ...uint64) (wasi.Errno, error) {
	t.Helper()
	fn, ok := h.HostFunc(name)
	require.True(t, ok, name)
	require.Len(t, args, len(fn.Type.Params), name)
	stack := make([]uint64, max(len(fn.Type.Params), len(fn.Type.Results)))
	copy(stack, args)
	err := fn.Call(context.Background(), caller{mem}, stack)
	return wasi.Errno(stack[0]), err
}

func mustCall(t *testing.T, h *wasi.Host, mem engine.Memory, name string, args ...uint64) wasi.Errno {
	t.Helper()
	errno, err := call(t, h, mem, name, args...)
	require.NoError(t, err)
	return errno
}

func newHost(t *testing.T, cfg wasi.Config) *wasi.Host {
	t.Helper()
	h, err := wasi.New(cfg)
	require.NoError(t, err)
	return h
}

func TestFunctions(t *testing.T) {
	names := wasi.Functions()
	require.Len(t, names, 46, "every WASI preview 1 function")
	var stubs []string
	for _, n := range names {
		typ, ok := wasi.Signature(n)
		require.True(t, ok)
		if n == "proc_exit" {
			require.Empty(t, typ.Results)
		} else {
			require.Equal(t, []engine.ValueType{engine.I32}, typ.Results, n)
		}
		if !wasi.Implemented(n) {
			stubs = append(stubs, n)
		}
	}
	require.Equal(t, []string{"fd_fdstat_set_rights", "path_readlink", "proc_raise", "sock_accept", "sock_recv", "sock_send", "sock_shutdown"}, stubs)
	h := newHost(t, wasi.Config{})
	_, ok := h.HostFunc("fd_write_v2")
	require.False(t, ok)
	for _, n := range stubs {
		typ, _ := wasi.Signature(n)
		require.Equal(t, wasi.ErrnoNosys, mustCall(t, h, newMemory(64), n, make([]uint64, len(typ.Params))...), n)
	}
}

// TestHostilePointers calls every function with arguments chosen to be out
// of range: none may panic or trap, each returns an errno.
func TestHostilePointers(t *testing.T) {
	mounts := []wasi.Mount{{FS: fstest.MapFS{"a.txt": {Data: []byte("abc")}, "d/b": {Data: []byte("b")}}, GuestPath: "/m"}}
	values := []uint64{0, 1, 2, 3, 4, 60, 61, 63, 64, 65, 1 << 16, 1<<31 - 1, 1 << 31, 1<<32 - 8, 1<<32 - 1, 1<<32 + 3, 1 << 63, 1<<64 - 1}
	r := rand.New(rand.NewPCG(1, 2))
	for _, name := range wasi.Functions() {
		if name == "poll_oneoff" || name == "proc_exit" {
			continue // poll_oneoff may sleep: covered below; proc_exit always exits
		}
		typ, _ := wasi.Signature(name)
		for i := 0; i < 2000; i++ {
			h := newHost(t, wasi.Config{Args: []string{"x"}, Env: []string{"A=B"}, Mounts: mounts, Stdin: strings.NewReader("in")})
			mem := newMemory(64)
			args := make([]uint64, len(typ.Params))
			for j := range args {
				args[j] = values[r.IntN(len(values))]
			}
			errno, err := call(t, h, mem, name, args...)
			require.NoError(t, err, "%s%v", name, args)
			require.LessOrEqual(t, errno, wasi.ErrnoNotcapable, "%s%v", name, args)
		}
	}
	// No memory at all.
	h := newHost(t, wasi.Config{})
	for _, name := range []string{"args_sizes_get", "fd_write", "random_get", "clock_time_get", "fd_fdstat_get", "poll_oneoff"} {
		typ, _ := wasi.Signature(name)
		args := make([]uint64, len(typ.Params))
		args[len(args)-1] = 8
		if name == "poll_oneoff" {
			args[2] = 1
		}
		if name == "fd_write" || name == "fd_fdstat_get" {
			args[0] = 1
		}
		require.Equal(t, wasi.ErrnoFault, mustCall(t, h, nil, name, args...), name)
	}
}

func TestEFAULT(t *testing.T) {
	var out bytes.Buffer
	h := newHost(t, wasi.Config{Args: []string{"prog", "arg"}, Stdout: &out})
	mem := newMemory(64)
	require.Equal(t, wasi.ErrnoFault, mustCall(t, h, mem, "args_sizes_get", 0, 61))
	require.Equal(t, wasi.ErrnoFault, mustCall(t, h, mem, "args_get", 60, 0), "argv does not fit")
	require.Equal(t, wasi.ErrnoFault, mustCall(t, h, mem, "args_get", 0, 58), "the strings do not fit")
	require.Equal(t, wasi.ErrnoFault, mustCall(t, h, mem, "clock_time_get", 0, 0, 57))
	require.Equal(t, wasi.ErrnoFault, mustCall(t, h, mem, "random_get", 60, 5))
	require.Equal(t, wasi.ErrnoFault, mustCall(t, h, mem, "random_get", 1<<32-1, 2), "no wraparound")
	// An iovec outside memory: nothing is written.
	mem.putU32(0, 40)
	mem.putU32(4, 4)
	mem.putU32(8, 62)
	mem.putU32(12, 4)
	require.Equal(t, wasi.ErrnoFault, mustCall(t, h, mem, "fd_write", 1, 0, 2, 16))
	require.Zero(t, out.Len())
	require.Equal(t, wasi.ErrnoFault, mustCall(t, h, mem, "fd_write", 1, 0, 1<<30, 16), "iovs_len*8 overflows")
}

func TestArgsAndEnviron(t *testing.T) {
	h := newHost(t, wasi.Config{Args: []string{"prog", "ü"}, Env: []string{"A=1", "EMPTY="}})
	mem := newMemory(256)
	require.Equal(t, wasi.ErrnoSuccess, mustCall(t, h, mem, "args_sizes_get", 0, 4))
	require.Equal(t, uint32(2), mem.u32(0))
	require.Equal(t, uint32(len("prog")+1+len("ü")+1), mem.u32(4))
	require.Equal(t, wasi.ErrnoSuccess, mustCall(t, h, mem, "args_get", 16, 64))
	require.Equal(t, uint32(64), mem.u32(16))
	require.Equal(t, uint32(69), mem.u32(20))
	require.Equal(t, "prog\x00ü\x00", string(mem.b[64:64+8]))
	require.Equal(t, wasi.ErrnoSuccess, mustCall(t, h, mem, "environ_sizes_get", 0, 4))
	require.Equal(t, []uint32{2, 11}, []uint32{mem.u32(0), mem.u32(4)})
	require.Equal(t, wasi.ErrnoSuccess, mustCall(t, h, mem, "environ_get", 16, 128))
	require.Equal(t, "A=1\x00EMPTY=\x00", string(mem.b[128:139]))

	for _, cfg := range []wasi.Config{
		{Args: []string{"a\x00b"}}, {Env: []string{"NOEQUALS"}}, {Env: []string{"A=\x00"}},
		{Mounts: []wasi.Mount{{GuestPath: "/x"}}},
	} {
		_, err := wasi.New(cfg)
		require.Error(t, err, "%+v", cfg)
	}
}

func TestStdio(t *testing.T) {
	var out, errOut bytes.Buffer
	h := newHost(t, wasi.Config{Stdout: &out, Stderr: &errOut, Stdin: strings.NewReader("input✓")})
	mem := newMemory(256)
	a, an := mem.str(100, "hello, ")
	b, bn := mem.str(120, "world\n")
	mem.putU32(0, uint32(a))
	mem.putU32(4, uint32(an))
	mem.putU32(8, uint32(b))
	mem.putU32(12, uint32(bn))
	require.Equal(t, wasi.ErrnoSuccess, mustCall(t, h, mem, "fd_write", 1, 0, 2, 32))
	require.Equal(t, uint32(13), mem.u32(32))
	require.Equal(t, wasi.ErrnoSuccess, mustCall(t, h, mem, "fd_write", 2, 8, 1, 32))
	require.Equal(t, "hello, world\n", out.String())
	require.Equal(t, "world\n", errOut.String())
	require.Equal(t, wasi.ErrnoBadf, mustCall(t, h, mem, "fd_write", 0, 0, 1, 32), "stdin is not writable")
	require.Equal(t, wasi.ErrnoBadf, mustCall(t, h, mem, "fd_write", 9, 0, 1, 32))

	// Two iovecs of 3 bytes: the reader fills both, then EOF.
	mem.putU32(0, 200)
	mem.putU32(4, 3)
	mem.putU32(8, 210)
	mem.putU32(12, 20)
	require.Equal(t, wasi.ErrnoSuccess, mustCall(t, h, mem, "fd_read", 0, 0, 2, 32))
	require.Equal(t, uint32(len("input✓")), mem.u32(32))
	require.Equal(t, "inp", string(mem.b[200:203]))
	require.Equal(t, "ut✓", string(mem.b[210:215]))
	require.Equal(t, wasi.ErrnoSuccess, mustCall(t, h, mem, "fd_read", 0, 0, 2, 32))
	require.Zero(t, mem.u32(32), "EOF")

	// A failing writer is EIO; nil writers discard.
	h = newHost(t, wasi.Config{Stdout: failWriter{}})
	mem.putU32(0, 100)
	mem.putU32(4, 3)
	require.Equal(t, wasi.ErrnoIo, mustCall(t, h, mem, "fd_write", 1, 0, 1, 32))
	h = newHost(t, wasi.Config{})
	require.Equal(t, wasi.ErrnoSuccess, mustCall(t, h, mem, "fd_write", 2, 0, 1, 32))
	require.Equal(t, uint32(3), mem.u32(32))
	require.Equal(t, wasi.ErrnoSuccess, mustCall(t, h, mem, "fd_read", 0, 0, 1, 32))
	require.Zero(t, mem.u32(32), "no Stdin is empty")

	// fdstat: stdio are character devices; non-blocking mode is recorded.
	require.Equal(t, wasi.ErrnoSuccess, mustCall(t, h, mem, "fd_fdstat_set_flags", 1, 4))
	require.Equal(t, wasi.ErrnoSuccess, mustCall(t, h, mem, "fd_fdstat_get", 1, 0))
	require.Equal(t, byte(2), mem.b[0])
	require.Equal(t, uint16(4), binary.LittleEndian.Uint16(mem.b[2:]))
	require.Equal(t, wasi.ErrnoInval, mustCall(t, h, mem, "fd_fdstat_set_flags", 1, 1<<7))
	require.Equal(t, wasi.ErrnoSpipe, mustCall(t, h, mem, "fd_seek", 1, 0, 0, 0))
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestClockAndRandom(t *testing.T) {
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := wasi.NewFakeClock(start)
	h := newHost(t, wasi.Config{Clock: clock, Random: rand.NewChaCha8([32]byte{1})})
	mem := newMemory(128)
	require.Equal(t, wasi.ErrnoSuccess, mustCall(t, h, mem, "clock_time_get", 0, 0, 8))
	require.Equal(t, uint64(start.UnixNano()), mem.u64(8))
	require.Equal(t, wasi.ErrnoSuccess, mustCall(t, h, mem, "clock_time_get", 1, 0, 8))
	require.Equal(t, uint64(wasi.MonotonicStart), mem.u64(8), "the monotonic clock does not start at 0")
	require.Equal(t, wasi.ErrnoInval, mustCall(t, h, mem, "clock_time_get", 2, 0, 8))
	require.Equal(t, wasi.ErrnoSuccess, mustCall(t, h, mem, "clock_res_get", 1, 8))
	require.Equal(t, uint64(1), mem.u64(8))

	require.Equal(t, wasi.ErrnoSuccess, mustCall(t, h, mem, "random_get", 16, 32))
	want := make([]byte, 32)
	_, _ = rand.NewChaCha8([32]byte{1}).Read(want)
	require.Equal(t, want, mem.b[16:48])

	h = newHost(t, wasi.Config{Random: iotest{}})
	require.Equal(t, wasi.ErrnoIo, mustCall(t, h, mem, "random_get", 16, 32))
	h = newHost(t, wasi.Config{})
	require.Equal(t, wasi.ErrnoSuccess, mustCall(t, h, mem, "random_get", 16, 32), "crypto/rand by default")
}

type iotest struct{}

func (iotest) Read([]byte) (int, error) { return 0, errors.New("no entropy") }

// subscribe writes a clock subscription at off.
func subscribe(mem *memory, off uint32, userdata uint64, id uint32, timeout uint64, abs bool) {
	clear(mem.b[off : off+48])
	mem.putU64(off, userdata)
	mem.b[off+8] = 0
	mem.putU32(off+16, id)
	mem.putU64(off+24, timeout)
	if abs {
		mem.b[off+40] = 1
	}
}

func TestPollOneoff(t *testing.T) {
	clock := wasi.NewFakeClock(time.Unix(1000, 0))
	h := newHost(t, wasi.Config{Clock: clock})
	mem := newMemory(1024)
	// Two relative clocks: the earlier fires, the clock advances exactly.
	subscribe(mem, 0, 7, 1, uint64(3*time.Second), false)
	subscribe(mem, 48, 8, 0, uint64(time.Second), false)
	start := time.Now()
	require.Equal(t, wasi.ErrnoSuccess, mustCall(t, h, mem, "poll_oneoff", 0, 512, 2, 1000))
	require.Less(t, time.Since(start), time.Second, "a fake clock does not sleep")
	require.Equal(t, uint32(1), mem.u32(1000))
	require.Equal(t, uint64(8), mem.u64(512))
	require.Equal(t, uint16(0), binary.LittleEndian.Uint16(mem.b[520:]))
	require.Equal(t, wasi.MonotonicStart+int64(time.Second), clock.Nanotime())
	require.Equal(t, time.Unix(1001, 0), clock.Now())

	// An absolute monotonic deadline.
	subscribe(mem, 0, 9, 1, uint64(wasi.MonotonicStart+int64(5*time.Second)), true)
	require.Equal(t, wasi.ErrnoSuccess, mustCall(t, h, mem, "poll_oneoff", 0, 512, 1, 1000))
	require.Equal(t, wasi.MonotonicStart+int64(5*time.Second), clock.Nanotime())
	require.Equal(t, uint64(9), mem.u64(512))

	// A ready descriptor answers at once, without sleeping.
	subscribe(mem, 0, 10, 1, uint64(time.Hour), false)
	clear(mem.b[48:96])
	mem.putU64(48, 11)
	mem.b[56] = 2 // fd_write
	mem.putU32(64, 1)
	before := clock.Nanotime()
	require.Equal(t, wasi.ErrnoSuccess, mustCall(t, h, mem, "poll_oneoff", 0, 512, 2, 1000))
	require.Equal(t, uint32(1), mem.u32(1000))
	require.Equal(t, uint64(11), mem.u64(512))
	require.Equal(t, before, clock.Nanotime())

	require.Equal(t, wasi.ErrnoInval, mustCall(t, h, mem, "poll_oneoff", 0, 512, 0, 1000))
	require.Equal(t, wasi.ErrnoFault, mustCall(t, h, mem, "poll_oneoff", 0, 1000, 2, 1000))

	// The system clock sleeps, and a cancelled context ends the sleep.
	h = newHost(t, wasi.Config{})
	subscribe(mem, 0, 1, 1, uint64(time.Hour), false)
	fn, _ := h.HostFunc("poll_oneoff")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err := fn.Call(ctx, caller{mem}, []uint64{0, 512, 1, 1000})
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestProcExit(t *testing.T) {
	h := newHost(t, wasi.Config{})
	for _, code := range []uint32{0, 3, 255} {
		_, err := call(t, h, nil, "proc_exit", uint64(code))
		var ee *wasi.ExitError
		require.ErrorAs(t, err, &ee)
		require.Equal(t, code, ee.Code)
		require.ErrorIs(t, err, wasi.ErrExit)
		got, ok := wasi.ExitCode(err)
		require.True(t, ok)
		require.Equal(t, code, got)
	}
	_, ok := wasi.ExitCode(errors.New("other"))
	require.False(t, ok)
}

// closeCounter counts the files of an FS that are closed.
type closeCounter struct {
	fs.FS
	open, closed int
}

func (c *closeCounter) Open(name string) (fs.File, error) {
	f, err := c.FS.Open(name)
	if err != nil {
		return nil, err
	}
	c.open++
	return &countedFile{File: f, c: c}, nil
}

type countedFile struct {
	fs.File
	c *closeCounter
}

func (f *countedFile) Close() error { f.c.closed++; return f.File.Close() }

func (f *countedFile) Seek(off int64, whence int) (int64, error) {
	return f.File.(io.Seeker).Seek(off, whence)
}

func (f *countedFile) ReadAt(b []byte, off int64) (int, error) {
	return f.File.(io.ReaderAt).ReadAt(b, off)
}

func (f *countedFile) ReadDir(n int) ([]fs.DirEntry, error) {
	return f.File.(fs.ReadDirFile).ReadDir(n)
}

func TestFiles(t *testing.T) {
	fsys := &closeCounter{FS: fstest.MapFS{
		"hello.txt":                          {Data: []byte("hello, file")},
		"dir/a.txt":                          {Data: []byte("a")},
		"dir/b.txt":                          {Data: []byte("bb")},
		"dir/sub/c":                          {Data: []byte("c")},
		"dir/long" + strings.Repeat("n", 40): {Data: nil},
	}}
	h := newHost(t, wasi.Config{Mounts: []wasi.Mount{{FS: fsys, GuestPath: "data/"}}})
	mem := newMemory(4096)

	// The mount is pre-opened as fd 3, named by its cleaned guest path.
	require.Equal(t, wasi.ErrnoSuccess, mustCall(t, h, mem, "fd_prestat_get", 3, 0))
	require.Equal(t, []uint32{0, 5}, []uint32{uint32(mem.b[0]), mem.u32(4)})
	require.Equal(t, wasi.ErrnoNametoolong, mustCall(t, h, mem, "fd_prestat_dir_name", 3, 16, 4))
	require.Equal(t, wasi.ErrnoSuccess, mustCall(t, h, mem, "fd_prestat_dir_name", 3, 16, 5))
	require.Equal(t, "/data", string(mem.b[16:21]))
	require.Equal(t, wasi.ErrnoBadf, mustCall(t, h, mem, "fd_prestat_get", 4, 0), "the end of the pre-opens")
	require.Equal(t, wasi.ErrnoBadf, mustCall(t, h, mem, "fd_prestat_get", 1, 0), "stdout is no pre-open")

	open := func(dirfd uint32, path string, oflags, rights, fdflags uint64) (uint32, wasi.Errno) {
		p, n := mem.str(2048, path)
		errno := mustCall(t, h, mem, "path_open", uint64(dirfd), 1, p, n, oflags, rights, 0, fdflags, 3000)
		return mem.u32(3000), errno
	}
	readRights := uint64(1<<1 | 1<<2 | 1<<5 | 1<<21)
	fd, errno := open(3, "hello.txt", 0, readRights, 0)
	require.Equal(t, wasi.ErrnoSuccess, errno)
	require.Equal(t, uint32(4), fd)

	// Read, seek, tell, pread.
	mem.putU32(0, 100)
	mem.putU32(4, 5)
	require.Equal(t, wasi.ErrnoSuccess, mustCall(t, h, mem, "fd_read", 4, 0, 1, 8))
	require.Equal(t, "hello", string(mem.b[100:105]))
	require.Equal(t, wasi.ErrnoSuccess, mustCall(t, h, mem, "fd_tell", 4, 16))
	require.Equal(t, uint64(5), mem.u64(16))
	require.Equal(t, wasi.ErrnoSuccess, mustCall(t, h, mem, "fd_seek", 4, uint64(1<<64-4), 2, 16))
	require.Equal(t, uint64(7), mem.u64(16), "4 bytes before the end")
	require.Equal(t, wasi.ErrnoInval, mustCall(t, h, mem, "fd_seek", 4, 0, 3, 16))
	require.Equal(t, wasi.ErrnoSuccess, mustCall(t, h, mem, "fd_pread", 4, 0, 1, 7, 8))
	require.Equal(t, uint32(4), mem.u32(8))
	require.Equal(t, "file", string(mem.b[100:104]))
	require.Equal(t, wasi.ErrnoSuccess, mustCall(t, h, mem, "fd_filestat_get", 4, 200))
	require.Equal(t, byte(4), mem.b[216], "regular file")
	require.Equal(t, uint64(11), mem.u64(232), "size")

	// Writes are refused: the mounts are read-only.
	require.Equal(t, wasi.ErrnoBadf, mustCall(t, h, mem, "fd_write", 4, 0, 1, 8))
	require.Equal(t, wasi.ErrnoRofs, mustCall(t, h, mem, "fd_pwrite", 4, 0, 1, 0, 8))
	require.Equal(t, wasi.ErrnoRofs, mustCall(t, h, mem, "fd_filestat_set_size", 4, 0))
	_, errno = open(3, "new.txt", 1, readRights, 0)
	require.Equal(t, wasi.ErrnoRofs, errno, "O_CREAT")
	_, errno = open(3, "hello.txt", 8, readRights, 0)
	require.Equal(t, wasi.ErrnoRofs, errno, "O_TRUNC")
	_, errno = open(3, "hello.txt", 0, 1<<6, 0)
	require.Equal(t, wasi.ErrnoRofs, errno, "the write right")
	_, errno = open(3, "hello.txt", 0, readRights, 1)
	require.Equal(t, wasi.ErrnoRofs, errno, "O_APPEND")
	p, n := mem.str(2048, "x")
	for _, name := range []string{"path_create_directory", "path_remove_directory", "path_unlink_file"} {
		require.Equal(t, wasi.ErrnoRofs, mustCall(t, h, mem, name, 3, p, n), name)
		require.Equal(t, wasi.ErrnoNotdir, mustCall(t, h, mem, name, 4, p, n), name)
		require.Equal(t, wasi.ErrnoBadf, mustCall(t, h, mem, name, 99, p, n), name)
	}

	// Paths are confined to their directory descriptor.
	for path, want := range map[string]wasi.Errno{
		"missing": wasi.ErrnoNoent, "../hello.txt": wasi.ErrnoNotcapable, "/hello.txt": wasi.ErrnoNotcapable,
		"dir/../../x": wasi.ErrnoNotcapable, "": wasi.ErrnoNoent, "a\x00b": wasi.ErrnoInval,
		"hello.txt/": wasi.ErrnoNotdir, "dir/./a.txt": wasi.ErrnoSuccess, "dir/sub/../a.txt": wasi.ErrnoSuccess,
	} {
		_, errno := open(3, path, 0, readRights, 0)
		require.Equal(t, want, errno, "path_open %q", path)
	}
	_, errno = open(3, "hello.txt", 2, readRights, 0)
	require.Equal(t, wasi.ErrnoNotdir, errno, "O_DIRECTORY on a file")
	_, errno = open(4, "x", 0, readRights, 0)
	require.Equal(t, wasi.ErrnoNotdir, errno, "a file is no directory descriptor")
	dirfd, errno := open(3, "dir", 2, readRights, 0)
	require.Equal(t, wasi.ErrnoSuccess, errno)
	_, errno = open(dirfd, "../hello.txt", 0, readRights, 0)
	require.Equal(t, wasi.ErrnoNotcapable, errno, "a directory descriptor confines its paths")
	_, errno = open(dirfd, "sub/c", 0, readRights, 0)
	require.Equal(t, wasi.ErrnoSuccess, errno)

	// path_filestat_get.
	p, n = mem.str(2048, "dir")
	require.Equal(t, wasi.ErrnoSuccess, mustCall(t, h, mem, "path_filestat_get", 3, 1, p, n, 200))
	require.Equal(t, byte(3), mem.b[216], "directory")
	p, n = mem.str(2048, "../etc")
	require.Equal(t, wasi.ErrnoNotcapable, mustCall(t, h, mem, "path_filestat_get", 3, 1, p, n, 200))

	// fd_readdir with a buffer too small for everything: the guest resumes
	// from the last complete entry's cookie.
	var names []string
	cookie := uint64(0)
	for round := 0; round < 10; round++ {
		require.Equal(t, wasi.ErrnoSuccess, mustCall(t, h, mem, "fd_readdir", uint64(dirfd), 1024, 80, cookie, 8))
		used := mem.u32(8)
		buf := mem.b[1024 : 1024+used]
		for len(buf) >= 24 {
			namlen := binary.LittleEndian.Uint32(buf[16:])
			if uint32(len(buf)) < 24+namlen {
				break // truncated
			}
			names = append(names, string(buf[24:24+namlen]))
			cookie = binary.LittleEndian.Uint64(buf)
			buf = buf[24+namlen:]
		}
		if used < 80 {
			break
		}
	}
	require.Equal(t, []string{"a.txt", "b.txt", "long" + strings.Repeat("n", 40), "sub"}, names)

	// Closing, renumbering, and Reset closing what the guest left open.
	require.Equal(t, wasi.ErrnoBadf, mustCall(t, h, mem, "fd_close", 42))
	require.Equal(t, wasi.ErrnoSuccess, mustCall(t, h, mem, "fd_renumber", uint64(dirfd), 4))
	require.Equal(t, wasi.ErrnoSuccess, mustCall(t, h, mem, "fd_readdir", 4, 1024, 60, 0, 8), "fd 4 is now the directory")
	require.Equal(t, wasi.ErrnoBadf, mustCall(t, h, mem, "fd_readdir", uint64(dirfd), 1024, 60, 0, 8))
	require.Greater(t, fsys.open, fsys.closed)
	h.Reset()
	require.Equal(t, fsys.open, fsys.closed, "Reset closes every file")
	require.Equal(t, wasi.ErrnoBadf, mustCall(t, h, mem, "fd_read", 4, 0, 1, 8))
	fd, errno = open(3, "hello.txt", 0, readRights, 0)
	require.Equal(t, wasi.ErrnoSuccess, errno)
	require.Equal(t, uint32(4), fd, "the table is fresh")
	require.Equal(t, wasi.ErrnoSuccess, mustCall(t, h, mem, "fd_close", uint64(fd)))
	require.Equal(t, fsys.open, fsys.closed)
}

func TestNoMounts(t *testing.T) {
	h := newHost(t, wasi.Config{})
	mem := newMemory(256)
	require.Equal(t, wasi.ErrnoBadf, mustCall(t, h, mem, "fd_prestat_get", 3, 0))
	p, n := mem.str(100, "etc/passwd")
	for _, fd := range []uint64{3, 1<<32 - 1, 0} {
		want := wasi.ErrnoBadf
		if fd == 0 {
			want = wasi.ErrnoNotdir
		}
		require.Equal(t, want, mustCall(t, h, mem, "path_open", fd, 1, p, n, 0, 2, 0, 0, 200), "fd %d", fd)
	}
}
