package wasi_test

import (
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/wasi"
)

func TestSaveRestoreDescriptors(t *testing.T) {
	fsys := fstest.MapFS{"hello.txt": {Data: []byte("hello")}, "dir/a": {Data: []byte("a")}}
	h := newHost(t, wasi.Config{Mounts: []wasi.Mount{{FS: fsys, GuestPath: "/data"}}})
	mem := newMemory(4096)
	open := func(path string, oflags uint64) (uint32, wasi.Errno) {
		p, n := mem.str(2048, path)
		errno := mustCall(t, h, mem, "path_open", 3, 1, p, n, oflags, 1<<1|1<<14, 0, 0, 3000)
		return mem.u32(3000), errno
	}
	flags := func(fd uint64) byte {
		require.Equal(t, wasi.ErrnoSuccess, mustCall(t, h, mem, "fd_fdstat_get", fd, 0))
		return mem.b[2]
	}

	// The state to save: stdout non-blocking (as Go's runtime sets it),
	// stdin closed, a directory opened.
	require.Equal(t, wasi.ErrnoSuccess, mustCall(t, h, mem, "fd_fdstat_set_flags", 1, 4))
	require.Equal(t, wasi.ErrnoSuccess, mustCall(t, h, mem, "fd_close", 0))
	dir, errno := open("dir", 2)
	require.Equal(t, wasi.ErrnoSuccess, errno)
	require.Equal(t, uint32(0), dir, "the lowest free descriptor")
	saved, ok := h.SaveDescriptors()
	require.True(t, ok)

	// Changes after the save.
	f, errno := open("hello.txt", 0)
	require.Equal(t, wasi.ErrnoSuccess, errno)
	require.Equal(t, uint32(4), f)
	require.Equal(t, wasi.ErrnoSuccess, mustCall(t, h, mem, "fd_fdstat_set_flags", 1, 0))
	require.Equal(t, wasi.ErrnoSuccess, mustCall(t, h, mem, "fd_renumber", 3, 2))
	_, ok = h.SaveDescriptors()
	require.False(t, ok, "an open file cannot be saved")

	for range 2 { // a saved table can be restored more than once
		h.RestoreDescriptors(saved)
		require.Equal(t, byte(4), flags(1), "stdout flags restored")
		require.Equal(t, byte(3), func() byte { flags(0); return mem.b[0] }(), "fd 0 is the directory")
		require.Equal(t, wasi.ErrnoSuccess, mustCall(t, h, mem, "fd_prestat_get", 3, 0), "the mount is back at 3")
		require.Equal(t, wasi.ErrnoBadf, mustCall(t, h, mem, "fd_fdstat_get", 4, 0), "the file is closed")
		got, errno := open("hello.txt", 0)
		require.Equal(t, wasi.ErrnoSuccess, errno)
		require.Equal(t, uint32(4), got)
	}
}

// TestRestoreDescriptorsUnchanged: restoring a table the descriptors are
// a copy of already does nothing (RestoreDescriptors' fast path: no
// allocation), and every
// way the table can change in between — any WASI function, Reset, Close,
// restoring another saved table — makes the next restore restore it.
func TestRestoreDescriptorsUnchanged(t *testing.T) {
	fsys := fstest.MapFS{"hello.txt": {Data: []byte("hello")}}
	h := newHost(t, wasi.Config{Mounts: []wasi.Mount{{FS: fsys, GuestPath: "/data"}}})
	mem := newMemory(4096)
	flags := func(fd uint64) byte {
		require.Equal(t, wasi.ErrnoSuccess, mustCall(t, h, mem, "fd_fdstat_get", fd, 0))
		return mem.b[2]
	}
	setFlags := func(fd, f uint64) {
		require.Equal(t, wasi.ErrnoSuccess, mustCall(t, h, mem, "fd_fdstat_set_flags", fd, f))
	}
	openFile := func() uint32 {
		p, n := mem.str(2048, "hello.txt")
		require.Equal(t, wasi.ErrnoSuccess, mustCall(t, h, mem, "path_open", 3, 1, p, n, 0, 1<<1, 0, 0, 3000))
		return mem.u32(3000)
	}

	setFlags(1, 4) // stdout non-blocking
	nonBlocking, ok := h.SaveDescriptors()
	require.True(t, ok)
	setFlags(1, 0)
	blocking, ok := h.SaveDescriptors()
	require.True(t, ok)

	// Restored after each kind of change, from either table.
	for _, c := range []struct {
		name   string
		change func()
	}{
		{"nothing", func() {}},
		{"a WASI function", func() { setFlags(1, 1) }},
		{"an opened file", func() { require.Equal(t, uint32(4), openFile()) }},
		{"Reset", h.Reset},
		{"Close", func() { require.NoError(t, h.Close()) }},
	} {
		for _, want := range []struct {
			d     *wasi.Descriptors
			flags byte
		}{{nonBlocking, 4}, {blocking, 0}, {blocking, 0}, {nonBlocking, 4}} {
			h.RestoreDescriptors(want.d)
			h.RestoreDescriptors(want.d) // nothing changed: nothing to do
			c.change()
			h.RestoreDescriptors(want.d)
			require.Equal(t, want.flags, flags(1), "stdout flags after %s", c.name)
			require.Equal(t, wasi.ErrnoSuccess, mustCall(t, h, mem, "fd_prestat_get", 3, 0), "the mount after %s", c.name)
			require.Equal(t, wasi.ErrnoBadf, mustCall(t, h, mem, "fd_fdstat_get", 4, 0), "no file open after %s", c.name)
		}
	}

	// Restoring the table restored last, or saved last, copies nothing.
	h.RestoreDescriptors(nonBlocking)
	require.Zero(t, testing.AllocsPerRun(10, func() { h.RestoreDescriptors(nonBlocking) }))
	setFlags(1, 0)
	again, ok := h.SaveDescriptors()
	require.True(t, ok)
	require.Zero(t, testing.AllocsPerRun(10, func() { h.RestoreDescriptors(again) }))
	require.Equal(t, byte(0), flags(1))

	// A file opened after a restore is closed by the next one.
	h.RestoreDescriptors(blocking)
	require.Equal(t, uint32(4), openFile())
	h.RestoreDescriptors(blocking)
	require.Equal(t, wasi.ErrnoBadf, mustCall(t, h, mem, "fd_fdstat_get", 4, 0))
}
