package wasi

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"time"

	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

var le = binary.LittleEndian

// impl is a WASI function over raw params. A non-nil error ends the guest
// call (proc_exit, a cancelled context); otherwise the errno is its result.
type impl func(h *Host, ctx context.Context, mem engine.Memory, p []uint64) (Errno, error)

type function struct {
	typ  engine.FuncType
	impl impl
	stub bool
}

const (
	i32 = engine.I32
	i64 = engine.I64
)

func sig(params ...engine.ValueType) engine.FuncType {
	return engine.FuncType{Params: params, Results: []engine.ValueType{i32}}
}

// enosys is the implementation of the functions this package does not
// provide.
func enosys(*Host, context.Context, engine.Memory, []uint64) (Errno, error) {
	return ErrnoNosys, nil
}

// functions is every WASI preview 1 function.
var functions = map[string]function{
	"args_get":                {sig(i32, i32), argsGet, false},
	"args_sizes_get":          {sig(i32, i32), argsSizesGet, false},
	"environ_get":             {sig(i32, i32), environGet, false},
	"environ_sizes_get":       {sig(i32, i32), environSizesGet, false},
	"clock_res_get":           {sig(i32, i32), clockResGet, false},
	"clock_time_get":          {sig(i32, i64, i32), clockTimeGet, false},
	"fd_advise":               {sig(i32, i64, i64, i32), fdAdvise, false},
	"fd_allocate":             {sig(i32, i64, i64), fdMutate, false},
	"fd_close":                {sig(i32), fdClose, false},
	"fd_datasync":             {sig(i32), fdSync, false},
	"fd_fdstat_get":           {sig(i32, i32), fdFdstatGet, false},
	"fd_fdstat_set_flags":     {sig(i32, i32), fdFdstatSetFlags, false},
	"fd_fdstat_set_rights":    {sig(i32, i64, i64), enosys, true},
	"fd_filestat_get":         {sig(i32, i32), fdFilestatGet, false},
	"fd_filestat_set_size":    {sig(i32, i64), fdMutate, false},
	"fd_filestat_set_times":   {sig(i32, i64, i64, i32), fdMutate, false},
	"fd_pread":                {sig(i32, i32, i32, i64, i32), fdPread, false},
	"fd_prestat_get":          {sig(i32, i32), fdPrestatGet, false},
	"fd_prestat_dir_name":     {sig(i32, i32, i32), fdPrestatDirName, false},
	"fd_pwrite":               {sig(i32, i32, i32, i64, i32), fdMutate, false},
	"fd_read":                 {sig(i32, i32, i32, i32), fdRead, false},
	"fd_readdir":              {sig(i32, i32, i32, i64, i32), fdReaddir, false},
	"fd_renumber":             {sig(i32, i32), fdRenumber, false},
	"fd_seek":                 {sig(i32, i64, i32, i32), fdSeek, false},
	"fd_sync":                 {sig(i32), fdSync, false},
	"fd_tell":                 {sig(i32, i32), fdTell, false},
	"fd_write":                {sig(i32, i32, i32, i32), fdWrite, false},
	"path_create_directory":   {sig(i32, i32, i32), pathMutate, false},
	"path_filestat_get":       {sig(i32, i32, i32, i32, i32), pathFilestatGet, false},
	"path_filestat_set_times": {sig(i32, i32, i32, i32, i64, i64, i32), pathMutate, false},
	"path_link":               {sig(i32, i32, i32, i32, i32, i32, i32), pathLink, false},
	"path_open":               {sig(i32, i32, i32, i32, i32, i64, i64, i32, i32), pathOpen, false},
	"path_readlink":           {sig(i32, i32, i32, i32, i32, i32), enosys, true},
	"path_remove_directory":   {sig(i32, i32, i32), pathMutate, false},
	"path_rename":             {sig(i32, i32, i32, i32, i32, i32), pathRename, false},
	"path_symlink":            {sig(i32, i32, i32, i32, i32), pathSymlink, false},
	"path_unlink_file":        {sig(i32, i32, i32), pathMutate, false},
	"poll_oneoff":             {sig(i32, i32, i32, i32), pollOneoff, false},
	"proc_exit":               {engine.FuncType{Params: []engine.ValueType{i32}}, procExit, false},
	"proc_raise":              {sig(i32), enosys, true},
	"sched_yield":             {sig(), schedYield, false},
	"random_get":              {sig(i32, i32), randomGet, false},
	"sock_accept":             {sig(i32, i32, i32), enosys, true},
	"sock_recv":               {sig(i32, i32, i32, i32, i32, i32), enosys, true},
	"sock_send":               {sig(i32, i32, i32, i32, i32), enosys, true},
	"sock_shutdown":           {sig(i32, i32), enosys, true},
}

// Guest memory access: every helper reports false for a nil memory or a
// range outside it, and the callers return EFAULT.

func read(mem engine.Memory, ptr, n uint32) ([]byte, bool) {
	if mem == nil || uint64(ptr)+uint64(n) > uint64(mem.Size()) {
		return nil, false
	}
	b, ok := mem.Read(ptr, n)
	return b, ok && uint32(len(b)) == n
}

func writable(mem engine.Memory, ptr, n uint32) bool {
	return mem != nil && uint64(ptr)+uint64(n) <= uint64(mem.Size())
}

func write(mem engine.Memory, ptr uint32, b []byte) bool {
	return writable(mem, ptr, uint32(len(b))) && mem.Write(ptr, b)
}

func putU32(mem engine.Memory, ptr, v uint32) bool {
	var b [4]byte
	le.PutUint32(b[:], v)
	return write(mem, ptr, b[:])
}

func putU64(mem engine.Memory, ptr uint32, v uint64) bool {
	var b [8]byte
	le.PutUint64(b[:], v)
	return write(mem, ptr, b[:])
}

func errnoIf(ok bool, errno Errno) Errno {
	if ok {
		return ErrnoSuccess
	}
	return errno
}

// --- args and environment ---

func listGet(l bufList, mem engine.Memory, ptrs, buf uint32) Errno {
	n := uint32(len(l.strs))
	if uint64(n)*4 > 1<<32 || !writable(mem, ptrs, n*4) || !writable(mem, buf, l.size) {
		return ErrnoFault
	}
	out := make([]byte, 0, l.size)
	ptrBytes := make([]byte, 4*n)
	for i, s := range l.strs {
		le.PutUint32(ptrBytes[4*i:], buf+uint32(len(out)))
		out = append(out, s...)
		out = append(out, 0)
	}
	return errnoIf(write(mem, ptrs, ptrBytes) && write(mem, buf, out), ErrnoFault)
}

func listSizes(l bufList, mem engine.Memory, countPtr, sizePtr uint32) Errno {
	if !writable(mem, countPtr, 4) || !writable(mem, sizePtr, 4) {
		return ErrnoFault
	}
	return errnoIf(putU32(mem, countPtr, uint32(len(l.strs))) && putU32(mem, sizePtr, l.size), ErrnoFault)
}

func argsGet(h *Host, _ context.Context, mem engine.Memory, p []uint64) (Errno, error) {
	return listGet(h.args, mem, uint32(p[0]), uint32(p[1])), nil
}

func argsSizesGet(h *Host, _ context.Context, mem engine.Memory, p []uint64) (Errno, error) {
	return listSizes(h.args, mem, uint32(p[0]), uint32(p[1])), nil
}

func environGet(h *Host, _ context.Context, mem engine.Memory, p []uint64) (Errno, error) {
	return listGet(h.env, mem, uint32(p[0]), uint32(p[1])), nil
}

func environSizesGet(h *Host, _ context.Context, mem engine.Memory, p []uint64) (Errno, error) {
	return listSizes(h.env, mem, uint32(p[0]), uint32(p[1])), nil
}

// --- clocks, random, scheduling, exit ---

const (
	clockRealtime  = 0
	clockMonotonic = 1
)

func clockResGet(_ *Host, _ context.Context, mem engine.Memory, p []uint64) (Errno, error) {
	switch uint32(p[0]) {
	case clockRealtime, clockMonotonic:
		return errnoIf(putU64(mem, uint32(p[1]), 1), ErrnoFault), nil
	}
	return ErrnoInval, nil
}

// now reads clock id in nanoseconds.
func (h *Host) now(id uint32) (uint64, Errno) {
	switch id {
	case clockRealtime:
		return timestamp(h.clock.Now()), ErrnoSuccess
	case clockMonotonic:
		return uint64(max(h.clock.Nanotime(), 0)), ErrnoSuccess
	}
	return 0, ErrnoInval
}

func clockTimeGet(h *Host, _ context.Context, mem engine.Memory, p []uint64) (Errno, error) {
	t, errno := h.now(uint32(p[0]))
	if errno != ErrnoSuccess {
		return errno, nil
	}
	return errnoIf(putU64(mem, uint32(p[2]), t), ErrnoFault), nil
}

// randomChunk bounds the host buffer random_get and fd_read use per step.
const randomChunk = 64 << 10

func randomGet(h *Host, _ context.Context, mem engine.Memory, p []uint64) (Errno, error) {
	ptr, n := uint32(p[0]), uint32(p[1])
	if !writable(mem, ptr, n) {
		return ErrnoFault, nil
	}
	buf := make([]byte, min(n, randomChunk))
	for done := uint32(0); done < n; {
		chunk := buf[:min(n-done, uint32(len(buf)))]
		if _, err := io.ReadFull(h.random, chunk); err != nil {
			return ErrnoIo, nil
		}
		if !mem.Write(ptr+done, chunk) {
			return ErrnoFault, nil
		}
		done += uint32(len(chunk))
	}
	return ErrnoSuccess, nil
}

func schedYield(*Host, context.Context, engine.Memory, []uint64) (Errno, error) {
	return ErrnoSuccess, nil
}

func procExit(_ *Host, _ context.Context, _ engine.Memory, p []uint64) (Errno, error) {
	return 0, &ExitError{Code: uint32(p[0])}
}

// --- descriptors ---

func fdClose(h *Host, _ context.Context, _ engine.Memory, p []uint64) (Errno, error) {
	fd := uint32(p[0])
	e, errno := h.fd(fd)
	if errno != ErrnoSuccess {
		return errno, nil
	}
	h.fds[fd] = nil
	if e.file != nil {
		_ = e.file.Close()
	}
	return ErrnoSuccess, nil
}

func fdRenumber(h *Host, _ context.Context, _ engine.Memory, p []uint64) (Errno, error) {
	from, to := uint32(p[0]), uint32(p[1])
	e, errno := h.fd(from)
	if errno != ErrnoSuccess {
		return errno, nil
	}
	old, errno := h.fd(to)
	if errno != ErrnoSuccess {
		return errno, nil
	}
	if from == to {
		return ErrnoSuccess, nil
	}
	if old.file != nil {
		_ = old.file.Close()
	}
	h.fds[to], h.fds[from] = e, nil
	return ErrnoSuccess, nil
}

func fdAdvise(h *Host, _ context.Context, _ engine.Memory, p []uint64) (Errno, error) {
	if _, errno := h.fd(uint32(p[0])); errno != ErrnoSuccess {
		return errno, nil
	}
	if uint32(p[3]) > 5 {
		return ErrnoInval, nil
	}
	return ErrnoSuccess, nil
}

func fdSync(h *Host, _ context.Context, _ engine.Memory, p []uint64) (Errno, error) {
	_, errno := h.fd(uint32(p[0]))
	return errno, nil
}

// fdMutate is every write to a descriptor's file: the mounts are read-only.
func fdMutate(h *Host, _ context.Context, _ engine.Memory, p []uint64) (Errno, error) {
	e, errno := h.fd(uint32(p[0]))
	if errno != ErrnoSuccess {
		return errno, nil
	}
	switch e.kind {
	case kindDir, kindFile:
		return ErrnoRofs, nil
	}
	return ErrnoSpipe, nil
}

func fdFdstatGet(h *Host, _ context.Context, mem engine.Memory, p []uint64) (Errno, error) {
	e, errno := h.fd(uint32(p[0]))
	if errno != ErrnoSuccess {
		return errno, nil
	}
	var buf [24]byte
	var base, inheriting uint64
	switch e.kind {
	case kindStdin:
		buf[0], base = filetypeCharacterDevice, stdinRights
	case kindStdout, kindStderr:
		buf[0], base = filetypeCharacterDevice, stdoutRights
	case kindDir:
		buf[0], base, inheriting = filetypeDirectory, dirRights, dirRights|fileRights
	case kindFile:
		buf[0], base = filetypeRegularFile, fileRights
	}
	le.PutUint16(buf[2:], e.flags)
	le.PutUint64(buf[8:], base)
	le.PutUint64(buf[16:], inheriting)
	return errnoIf(write(mem, uint32(p[1]), buf[:]), ErrnoFault), nil
}

func fdFdstatSetFlags(h *Host, _ context.Context, _ engine.Memory, p []uint64) (Errno, error) {
	e, errno := h.fd(uint32(p[0]))
	if errno != ErrnoSuccess {
		return errno, nil
	}
	flags := uint16(p[1])
	if uint32(p[1])>>16 != 0 || flags&^(fdflagAppend|fdflagNonblock|fdflagDsync|fdflagRsync|fdflagSync) != 0 {
		return ErrnoInval, nil
	}
	if flags&fdflagAppend != 0 && (e.kind == kindFile || e.kind == kindDir) {
		return ErrnoRofs, nil
	}
	e.flags = flags
	return ErrnoSuccess, nil
}

func fdFilestatGet(h *Host, _ context.Context, mem engine.Memory, p []uint64) (Errno, error) {
	e, errno := h.fd(uint32(p[0]))
	if errno != ErrnoSuccess {
		return errno, nil
	}
	ptr := uint32(p[1])
	if !writable(mem, ptr, 64) {
		return ErrnoFault, nil
	}
	var buf [64]byte
	switch e.kind {
	case kindStdin, kindStdout, kindStderr:
		buf[16] = filetypeCharacterDevice
		le.PutUint64(buf[8:], uint64(e.kind)+1)
		le.PutUint64(buf[24:], 1)
	default:
		fi, errno := h.stat(e)
		if errno != ErrnoSuccess {
			return errno, nil
		}
		filestat(buf[:], e.mount, e.path, fi)
	}
	return errnoIf(write(mem, ptr, buf[:]), ErrnoFault), nil
}

func fdPrestatGet(h *Host, _ context.Context, mem engine.Memory, p []uint64) (Errno, error) {
	e, errno := h.fd(uint32(p[0]))
	if errno != ErrnoSuccess || !e.preopen {
		return ErrnoBadf, nil
	}
	var buf [8]byte // tag 0 (directory), name length
	le.PutUint32(buf[4:], uint32(len(e.guestName)))
	return errnoIf(write(mem, uint32(p[1]), buf[:]), ErrnoFault), nil
}

func fdPrestatDirName(h *Host, _ context.Context, mem engine.Memory, p []uint64) (Errno, error) {
	e, errno := h.fd(uint32(p[0]))
	if errno != ErrnoSuccess || !e.preopen {
		return ErrnoBadf, nil
	}
	if uint32(p[2]) < uint32(len(e.guestName)) {
		return ErrnoNametoolong, nil
	}
	return errnoIf(write(mem, uint32(p[1]), []byte(e.guestName)), ErrnoFault), nil
}

// iovecs reads iovs_len (ptr, len) pairs at iovs, checking that each buffer
// lies inside memory.
func iovecs(mem engine.Memory, iovs, n uint32) ([][2]uint32, Errno) {
	if uint64(n)*8 > uint64(^uint32(0)) {
		return nil, ErrnoFault
	}
	raw, ok := read(mem, iovs, n*8)
	if !ok {
		return nil, ErrnoFault
	}
	out := make([][2]uint32, n)
	for i := range out {
		ptr, l := le.Uint32(raw[8*i:]), le.Uint32(raw[8*i+4:])
		if !writable(mem, ptr, l) {
			return nil, ErrnoFault
		}
		out[i] = [2]uint32{ptr, l}
	}
	return out, ErrnoSuccess
}

func fdWrite(h *Host, _ context.Context, mem engine.Memory, p []uint64) (Errno, error) {
	e, errno := h.fd(uint32(p[0]))
	if errno != ErrnoSuccess {
		return errno, nil
	}
	var w io.Writer
	switch e.kind {
	case kindStdout:
		w = h.stdout
	case kindStderr:
		w = h.stderr
	case kindDir:
		return ErrnoIsdir, nil
	default:
		return ErrnoBadf, nil // stdin, and files: every file is read-only
	}
	iov, errno := iovecs(mem, uint32(p[1]), uint32(p[2]))
	if errno != ErrnoSuccess {
		return errno, nil
	}
	resPtr := uint32(p[3])
	if !writable(mem, resPtr, 4) {
		return ErrnoFault, nil
	}
	// One Write per call, so that a guest's line is not split.
	data := h.scratch[:0]
	for _, v := range iov {
		b, ok := read(mem, v[0], v[1])
		if !ok {
			return ErrnoFault, nil
		}
		if len(iov) == 1 {
			data = b
			break
		}
		data = append(data, b...)
	}
	if len(iov) > 1 && cap(data) <= randomChunk {
		h.scratch = data[:0]
	}
	var n int
	var err error
	if len(data) > 0 {
		n, err = w.Write(data)
	}
	if err != nil {
		return ErrnoIo, nil
	}
	return errnoIf(putU32(mem, resPtr, uint32(n)), ErrnoFault), nil
}

// maxRead bounds what one fd_read or fd_pread returns; guests loop.
const maxRead = 1 << 20

func fdRead(h *Host, _ context.Context, mem engine.Memory, p []uint64) (Errno, error) {
	e, errno := h.fd(uint32(p[0]))
	if errno != ErrnoSuccess {
		return errno, nil
	}
	var r io.Reader
	switch e.kind {
	case kindStdin:
		r = h.cfg.Stdin
	case kindFile:
		r = e.file
	case kindDir:
		return ErrnoIsdir, nil
	default:
		return ErrnoBadf, nil
	}
	return readv(mem, uint32(p[1]), uint32(p[2]), uint32(p[3]), func(b []byte) (int, error) {
		if r == nil {
			return 0, io.EOF
		}
		return r.Read(b)
	})
}

func fdPread(h *Host, _ context.Context, mem engine.Memory, p []uint64) (Errno, error) {
	e, errno := h.fd(uint32(p[0]))
	if errno != ErrnoSuccess {
		return errno, nil
	}
	switch e.kind {
	case kindFile:
	case kindDir:
		return ErrnoIsdir, nil
	default:
		return ErrnoSpipe, nil
	}
	ra, ok := e.file.(io.ReaderAt)
	if !ok {
		return ErrnoSpipe, nil
	}
	off := int64(p[3])
	if off < 0 {
		return ErrnoInval, nil
	}
	return readv(mem, uint32(p[1]), uint32(p[2]), uint32(p[4]), func(b []byte) (int, error) {
		n, err := ra.ReadAt(b, off)
		off += int64(n)
		return n, err
	})
}

// readv fills the iovecs with read, stopping at the first short read, and
// stores the byte count at resPtr.
func readv(mem engine.Memory, iovs, n, resPtr uint32, rd func([]byte) (int, error)) (Errno, error) {
	iov, errno := iovecs(mem, iovs, n)
	if errno != ErrnoSuccess {
		return errno, nil
	}
	if !writable(mem, resPtr, 4) {
		return ErrnoFault, nil
	}
	var total uint32
	for _, v := range iov {
		want := min(v[1], maxRead-total)
		if want == 0 {
			if total >= maxRead {
				break
			}
			continue
		}
		buf := make([]byte, want)
		got, err := rd(buf)
		if got > 0 {
			if !mem.Write(v[0], buf[:got]) {
				return ErrnoFault, nil
			}
			total += uint32(got)
		}
		if err != nil && !errors.Is(err, io.EOF) && total == 0 {
			return ErrnoIo, nil
		}
		if err != nil || uint32(got) < want {
			break
		}
	}
	return errnoIf(putU32(mem, resPtr, total), ErrnoFault), nil
}

const (
	whenceSet = 0
	whenceCur = 1
	whenceEnd = 2
)

func (h *Host) seek(e *fdEntry, off int64, whence uint32) (uint64, Errno) {
	if whence > whenceEnd {
		return 0, ErrnoInval
	}
	switch e.kind {
	case kindFile:
	case kindDir:
		if off == 0 && whence != whenceEnd {
			return 0, ErrnoSuccess
		}
		return 0, ErrnoInval
	default:
		return 0, ErrnoSpipe
	}
	s, ok := e.file.(io.Seeker)
	if !ok {
		return 0, ErrnoSpipe
	}
	pos, err := s.Seek(off, int(whence))
	if err != nil || pos < 0 {
		return 0, ErrnoInval
	}
	return uint64(pos), ErrnoSuccess
}

func fdSeek(h *Host, _ context.Context, mem engine.Memory, p []uint64) (Errno, error) {
	e, errno := h.fd(uint32(p[0]))
	if errno != ErrnoSuccess {
		return errno, nil
	}
	if !writable(mem, uint32(p[3]), 8) {
		return ErrnoFault, nil
	}
	pos, errno := h.seek(e, int64(p[1]), uint32(p[2]))
	if errno != ErrnoSuccess {
		return errno, nil
	}
	return errnoIf(putU64(mem, uint32(p[3]), pos), ErrnoFault), nil
}

func fdTell(h *Host, _ context.Context, mem engine.Memory, p []uint64) (Errno, error) {
	e, errno := h.fd(uint32(p[0]))
	if errno != ErrnoSuccess {
		return errno, nil
	}
	if !writable(mem, uint32(p[1]), 8) {
		return ErrnoFault, nil
	}
	pos, errno := h.seek(e, 0, whenceCur)
	if errno != ErrnoSuccess {
		return errno, nil
	}
	return errnoIf(putU64(mem, uint32(p[1]), pos), ErrnoFault), nil
}

// direntSize is the size of a dirent header; the name follows it.
const direntSize = 24

func fdReaddir(h *Host, _ context.Context, mem engine.Memory, p []uint64) (Errno, error) {
	e, errno := h.fd(uint32(p[0]))
	if errno != ErrnoSuccess {
		return errno, nil
	}
	if e.kind != kindDir {
		return ErrnoNotdir, nil
	}
	buf, bufLen, cookie, usedPtr := uint32(p[1]), uint32(p[2]), p[3], uint32(p[4])
	if !writable(mem, buf, bufLen) || !writable(mem, usedPtr, 4) {
		return ErrnoFault, nil
	}
	if cookie == 0 || !e.listed {
		entries, err := fs.ReadDir(h.mounts[e.mount].fsys, e.path)
		if err != nil {
			return toErrno(err), nil
		}
		e.entries, e.listed = entries, true
	}
	out := make([]byte, 0, min(bufLen, 64<<10))
	for i := cookie; i < uint64(len(e.entries)) && uint32(len(out)) < bufLen; i++ {
		d := e.entries[i]
		name := d.Name()
		var hdr [direntSize]byte
		le.PutUint64(hdr[0:], i+1) // d_next
		le.PutUint64(hdr[8:], inode(e.mount, e.path+"/"+name))
		le.PutUint32(hdr[16:], uint32(len(name)))
		hdr[20] = filetype(d.Type())
		out = append(out, hdr[:]...)
		out = append(out, name...)
	}
	// A full buffer (the last entry possibly truncated) tells the guest to
	// call again from the last complete entry's d_next.
	if uint32(len(out)) > bufLen {
		out = out[:bufLen]
	}
	if !write(mem, buf, out) {
		return ErrnoFault, nil
	}
	return errnoIf(putU32(mem, usedPtr, uint32(len(out))), ErrnoFault), nil
}

// --- paths ---

// pathArg reads the path at (ptr, n), resolved against the directory fd.
func (h *Host) pathArg(mem engine.Memory, fd, ptr, n uint32) (*fdEntry, string, bool, Errno) {
	dir, errno := h.dir(fd)
	if errno != ErrnoSuccess {
		return nil, "", false, errno
	}
	b, ok := read(mem, ptr, n)
	if !ok {
		return nil, "", false, ErrnoFault
	}
	p, mustDir, errno := resolve(dir, string(b))
	return dir, p, mustDir, errno
}

func pathOpen(h *Host, _ context.Context, mem engine.Memory, p []uint64) (Errno, error) {
	dirfd, dirflags, oflags := uint32(p[0]), uint32(p[1]), uint32(p[4])
	rights, fdflags, resPtr := p[5], uint32(p[7]), uint32(p[8])
	dir, name, mustDir, errno := h.pathArg(mem, dirfd, uint32(p[2]), uint32(p[3]))
	if errno != ErrnoSuccess {
		return errno, nil
	}
	if !writable(mem, resPtr, 4) {
		return ErrnoFault, nil
	}
	if oflags&(oflagCreat|oflagExcl|oflagTrunc) != 0 || rights&writeRights != 0 || fdflags&fdflagAppend != 0 {
		return ErrnoRofs, nil
	}
	mustDir = mustDir || oflags&oflagDirectory != 0
	fi, errno := h.lstat(dir.mount, name, dirflags&lookupSymlinkFollow != 0)
	if errno != ErrnoSuccess {
		return errno, nil
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return ErrnoLoop, nil // O_NOFOLLOW on a symbolic link
	}
	e := &fdEntry{mount: dir.mount, path: name, flags: uint16(fdflags) & (fdflagNonblock | fdflagDsync | fdflagRsync | fdflagSync)}
	if fi.IsDir() {
		e.kind = kindDir
	} else {
		if mustDir {
			return ErrnoNotdir, nil
		}
		f, err := h.mounts[dir.mount].fsys.Open(name)
		if err != nil {
			return toErrno(err), nil
		}
		e.kind, e.file = kindFile, f
	}
	fd, errno := h.alloc(e)
	if errno != ErrnoSuccess {
		if e.file != nil {
			_ = e.file.Close()
		}
		return errno, nil
	}
	putU32(mem, resPtr, fd)
	return ErrnoSuccess, nil
}

func pathFilestatGet(h *Host, _ context.Context, mem engine.Memory, p []uint64) (Errno, error) {
	dir, name, mustDir, errno := h.pathArg(mem, uint32(p[0]), uint32(p[2]), uint32(p[3]))
	if errno != ErrnoSuccess {
		return errno, nil
	}
	ptr := uint32(p[4])
	if !writable(mem, ptr, 64) {
		return ErrnoFault, nil
	}
	fi, errno := h.lstat(dir.mount, name, uint32(p[1])&lookupSymlinkFollow != 0)
	if errno != ErrnoSuccess {
		return errno, nil
	}
	if mustDir && !fi.IsDir() {
		return ErrnoNotdir, nil
	}
	var buf [64]byte
	filestat(buf[:], dir.mount, name, fi)
	return errnoIf(write(mem, ptr, buf[:]), ErrnoFault), nil
}

// pathMutate is every change to a path under one directory descriptor:
// the mounts are read-only.
func pathMutate(h *Host, _ context.Context, mem engine.Memory, p []uint64) (Errno, error) {
	if _, errno := h.dir(uint32(p[0])); errno != ErrnoSuccess {
		return errno, nil
	}
	return ErrnoRofs, nil
}

func pathLink(h *Host, _ context.Context, _ engine.Memory, p []uint64) (Errno, error) {
	if _, errno := h.dir(uint32(p[0])); errno != ErrnoSuccess {
		return errno, nil
	}
	if _, errno := h.dir(uint32(p[4])); errno != ErrnoSuccess {
		return errno, nil
	}
	return ErrnoRofs, nil
}

func pathRename(h *Host, _ context.Context, _ engine.Memory, p []uint64) (Errno, error) {
	if _, errno := h.dir(uint32(p[0])); errno != ErrnoSuccess {
		return errno, nil
	}
	if _, errno := h.dir(uint32(p[3])); errno != ErrnoSuccess {
		return errno, nil
	}
	return ErrnoRofs, nil
}

func pathSymlink(h *Host, _ context.Context, _ engine.Memory, p []uint64) (Errno, error) {
	if _, errno := h.dir(uint32(p[2])); errno != ErrnoSuccess {
		return errno, nil
	}
	return ErrnoRofs, nil
}

// --- poll_oneoff ---

const (
	subscriptionSize = 48
	eventSize        = 32

	eventtypeClock   = 0
	eventtypeFdRead  = 1
	eventtypeFdWrite = 2

	subclockAbstime = 1
)

// pollOneoff waits for the earliest clock subscription; descriptor
// subscriptions are always ready (reads and writes never return EAGAIN), so
// if there is one it returns at once. Sleeping goes through the Clock: a
// FakeClock advances instead of waiting.
func pollOneoff(h *Host, ctx context.Context, mem engine.Memory, p []uint64) (Errno, error) {
	in, out, n, resPtr := uint32(p[0]), uint32(p[1]), uint32(p[2]), uint32(p[3])
	if n == 0 {
		return ErrnoInval, nil
	}
	if uint64(n)*subscriptionSize > uint64(^uint32(0)) || uint64(n)*eventSize > uint64(^uint32(0)) {
		return ErrnoFault, nil
	}
	subs, ok := read(mem, in, n*subscriptionSize)
	if !ok || !writable(mem, out, n*eventSize) || !writable(mem, resPtr, 4) {
		return ErrnoFault, nil
	}
	subs = append([]byte(nil), subs...)
	type pending struct {
		userdata uint64
		wait     int64 // nanoseconds from now
	}
	var events []byte
	var clocks []pending
	event := func(userdata uint64, errno Errno, typ byte) {
		var ev [eventSize]byte
		le.PutUint64(ev[0:], userdata)
		le.PutUint16(ev[8:], uint16(errno))
		ev[10] = typ
		events = append(events, ev[:]...)
	}
	for i := uint32(0); i < n; i++ {
		s := subs[i*subscriptionSize:]
		userdata, tag := le.Uint64(s[0:]), s[8]
		switch tag {
		case eventtypeClock:
			id, timeout, flags := le.Uint32(s[16:]), le.Uint64(s[24:]), le.Uint16(s[40:])
			wait := int64(min(timeout, 1<<63-1))
			if flags&subclockAbstime != 0 {
				now, errno := h.now(id)
				if errno != ErrnoSuccess {
					event(userdata, errno, tag)
					continue
				}
				wait = int64(timeout) - int64(now)
			} else if id != clockRealtime && id != clockMonotonic {
				event(userdata, ErrnoInval, tag)
				continue
			}
			clocks = append(clocks, pending{userdata, wait})
		case eventtypeFdRead, eventtypeFdWrite:
			errno := ErrnoSuccess
			if _, e := h.fd(le.Uint32(s[16:])); e != ErrnoSuccess {
				errno = e
			}
			event(userdata, errno, tag)
		default:
			event(userdata, ErrnoInval, tag)
		}
	}
	if len(events) == 0 && len(clocks) > 0 {
		wait := clocks[0].wait
		for _, c := range clocks[1:] {
			wait = min(wait, c.wait)
		}
		if err := h.clock.Sleep(ctx, time.Duration(max(wait, 0))); err != nil {
			return 0, err
		}
		for _, c := range clocks {
			if c.wait <= wait {
				event(c.userdata, ErrnoSuccess, eventtypeClock)
			}
		}
	} else {
		for _, c := range clocks {
			if c.wait <= 0 {
				event(c.userdata, ErrnoSuccess, eventtypeClock)
			}
		}
	}
	if !write(mem, out, events) {
		return ErrnoFault, nil
	}
	return errnoIf(putU32(mem, resPtr, uint32(len(events)/eventSize)), ErrnoFault), nil
}
