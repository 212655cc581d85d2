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
