package wasi

import (
	"hash/fnv"
	"io/fs"
	"path"
	"strings"
	"time"
)

// fdKind is what a descriptor refers to.
type fdKind uint8

const (
	kindStdin fdKind = iota
	kindStdout
	kindStderr
	kindDir
	kindFile
)

// maxFDs bounds the descriptor table: path_open returns EMFILE beyond it.
const maxFDs = 1024

// fdEntry is one open descriptor.
type fdEntry struct {
	kind      fdKind
	mount     int    // kindDir, kindFile: index into Host.mounts
	path      string // kindDir, kindFile: path in the mount's FS, "." for its root
	preopen   bool   // a mount's root, reported by fd_prestat_get
	guestName string // preopen: the mount's guest path
	file      fs.File
	flags     uint16 // fdflags
	// entries is the fd_readdir listing, read when cookie 0 is asked.
	entries []fs.DirEntry
	listed  bool
}

// Filetypes.
const (
	filetypeUnknown         = 0
	filetypeBlockDevice     = 1
	filetypeCharacterDevice = 2
	filetypeDirectory       = 3
	filetypeRegularFile     = 4
	filetypeSocketStream    = 6
	filetypeSymbolicLink    = 7
)

// fdflags.
const (
	fdflagAppend   = 1 << 0
	fdflagDsync    = 1 << 1
	fdflagNonblock = 1 << 2
	fdflagRsync    = 1 << 3
	fdflagSync     = 1 << 4
)

// oflags.
const (
	oflagCreat     = 1 << 0
	oflagDirectory = 1 << 1
	oflagExcl      = 1 << 2
	oflagTrunc     = 1 << 3
)

// lookupflags.
const lookupSymlinkFollow = 1 << 0

// Rights.
const (
	rightFdDatasync          = 1 << 0
	rightFdRead              = 1 << 1
	rightFdSeek              = 1 << 2
	rightFdFdstatSetFlags    = 1 << 3
	rightFdSync              = 1 << 4
	rightFdTell              = 1 << 5
	rightFdWrite             = 1 << 6
	rightFdAdvise            = 1 << 7
	rightFdAllocate          = 1 << 8
	rightPathOpen            = 1 << 13
	rightFdReaddir           = 1 << 14
	rightPathReadlink        = 1 << 15
	rightPathFilestatGet     = 1 << 18
	rightPathFilestatSetSize = 1 << 19
	rightFdFilestatGet       = 1 << 21
	rightFdFilestatSetSize   = 1 << 22
	rightPollFdReadwrite     = 1 << 27

	// writeRights are the rights path_open refuses with EROFS: those that
	// Go and wasi-libc ask for when a file is opened for writing only.
	writeRights = rightFdWrite | rightFdAllocate

	fileRights = rightFdDatasync | rightFdRead | rightFdSeek | rightFdFdstatSetFlags | rightFdSync |
		rightFdTell | rightFdAdvise | rightFdFilestatGet | rightPollFdReadwrite
	dirRights = rightFdDatasync | rightFdFdstatSetFlags | rightFdSync | rightPathOpen | rightFdReaddir |
		rightPathReadlink | rightPathFilestatGet | rightFdFilestatGet
	stdinRights  = rightFdRead | rightFdFdstatSetFlags | rightFdFilestatGet | rightPollFdReadwrite
	stdoutRights = rightFdWrite | rightFdFdstatSetFlags | rightFdFilestatGet | rightPollFdReadwrite |
		rightFdDatasync | rightFdSync
)

// fd returns the open descriptor fd, or EBADF.
func (h *Host) fd(fd uint32) (*fdEntry, Errno) {
	if uint64(fd) >= uint64(len(h.fds)) || h.fds[fd] == nil {
		return nil, ErrnoBadf
	}
	return h.fds[fd], ErrnoSuccess
}

// dir returns the open directory descriptor fd: EBADF if it is not open,
// ENOTDIR if it is not a directory.
func (h *Host) dir(fd uint32) (*fdEntry, Errno) {
	e, errno := h.fd(fd)
	if errno != ErrnoSuccess {
		return nil, errno
	}
	if e.kind != kindDir {
		return nil, ErrnoNotdir
	}
	return e, ErrnoSuccess
}

// alloc stores e at the lowest free descriptor, or returns EMFILE.
func (h *Host) alloc(e *fdEntry) (uint32, Errno) {
	for i, x := range h.fds {
		if x == nil {
			h.fds[i] = e
			return uint32(i), ErrnoSuccess
		}
	}
	if len(h.fds) >= maxFDs {
		return 0, ErrnoMfile
	}
	h.fds = append(h.fds, e)
	return uint32(len(h.fds) - 1), ErrnoSuccess
}

// resolve turns name, relative to the directory dir, into a path of dir's
// mount. It is lexical and confined to dir: an absolute name, or a `..`
// leaving dir, is ENOTCAPABLE. A trailing slash requires a directory.
func resolve(dir *fdEntry, name string) (p string, mustDir bool, errno Errno) {
	if name == "" {
		return "", false, ErrnoNoent
	}
	if strings.IndexByte(name, 0) >= 0 {
		return "", false, ErrnoInval
	}
	if name[0] == '/' {
		return "", false, ErrnoNotcapable
	}
	mustDir = strings.HasSuffix(name, "/")
	var elems []string
	if dir.path != "." {
		elems = strings.Split(dir.path, "/")
	}
	base := len(elems)
	for _, el := range strings.Split(name, "/") {
		switch el {
		case "", ".":
		case "..":
			if len(elems) == base {
				return "", false, ErrnoNotcapable
			}
			elems = elems[:len(elems)-1]
		default:
			elems = append(elems, el)
		}
	}
	if len(elems) == 0 {
		return ".", true, ErrnoSuccess
	}
	p = strings.Join(elems, "/")
	if !fs.ValidPath(p) {
		return "", false, ErrnoInval
	}
	return p, mustDir, ErrnoSuccess
}

// filetype maps a file mode to a WASI filetype.
func filetype(m fs.FileMode) uint8 {
	switch {
	case m.IsDir():
		return filetypeDirectory
	case m.IsRegular():
		return filetypeRegularFile
	case m&fs.ModeSymlink != 0:
		return filetypeSymbolicLink
	case m&fs.ModeCharDevice != 0:
		return filetypeCharacterDevice
	case m&fs.ModeDevice != 0:
		return filetypeBlockDevice
	case m&fs.ModeSocket != 0:
		return filetypeSocketStream
	}
	return filetypeUnknown
}

// inode is a stable, non-zero inode number for p in mount m: io/fs has no
// inodes, and host inode numbers would reveal something of the host.
func inode(m int, p string) uint64 {
	f := fnv.New64a()
	_, _ = f.Write([]byte{byte(m), byte(m >> 8)})
	_, _ = f.Write([]byte(path.Clean(p)))
	return f.Sum64() | 1
}

// timestamp returns t in nanoseconds since the epoch, 0 for earlier or
// unrepresentable times (e.g. the zero time of fstest.MapFS).
func timestamp(t time.Time) uint64 {
	if t.Before(time.Unix(0, 0)) || t.After(time.Unix(0, 1<<63-1)) {
		return 0
	}
	return uint64(t.UnixNano())
}

// filestat encodes the 64-byte filestat of fi in mount m at p.
func filestat(buf []byte, m int, p string, fi fs.FileInfo) {
	clear(buf)
	le.PutUint64(buf[0:], uint64(m)+1) // dev
	le.PutUint64(buf[8:], inode(m, p))
	buf[16] = filetype(fi.Mode())
	le.PutUint64(buf[24:], 1) // nlink
	if fi.Size() > 0 {
		le.PutUint64(buf[32:], uint64(fi.Size()))
	}
	ts := timestamp(fi.ModTime())
	le.PutUint64(buf[40:], ts)
	le.PutUint64(buf[48:], ts)
	le.PutUint64(buf[56:], ts)
}

// stat returns the file info of e's file.
func (h *Host) stat(e *fdEntry) (fs.FileInfo, Errno) {
	if e.file != nil {
		fi, err := e.file.Stat()
		return fi, toErrno(err)
	}
	fi, err := fs.Stat(h.mounts[e.mount].fsys, e.path)
	return fi, toErrno(err)
}

// lstat returns the info of p in mount m, not following a final symbolic
// link when the FS can tell (io/fs.ReadLinkFS).
func (h *Host) lstat(m int, p string, follow bool) (fs.FileInfo, Errno) {
	fsys := h.mounts[m].fsys
	if rl, ok := fsys.(fs.ReadLinkFS); ok && !follow {
		fi, err := rl.Lstat(p)
		return fi, toErrno(err)
	}
	fi, err := fs.Stat(fsys, p)
	return fi, toErrno(err)
}
