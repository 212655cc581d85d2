package wasi

import (
	"errors"
	"io/fs"
	"strconv"
	"strings"
	"syscall"
)

// Errno is a WASI preview 1 error number, the result of most functions.
type Errno uint16

// The preview 1 error numbers.
const (
	ErrnoSuccess        Errno = 0
	Errno2big           Errno = 1
	ErrnoAcces          Errno = 2
	ErrnoAddrinuse      Errno = 3
	ErrnoAddrnotavail   Errno = 4
	ErrnoAfnosupport    Errno = 5
	ErrnoAgain          Errno = 6
	ErrnoAlready        Errno = 7
	ErrnoBadf           Errno = 8
	ErrnoBadmsg         Errno = 9
	ErrnoBusy           Errno = 10
	ErrnoCanceled       Errno = 11
	ErrnoChild          Errno = 12
	ErrnoConnaborted    Errno = 13
	ErrnoConnrefused    Errno = 14
	ErrnoConnreset      Errno = 15
	ErrnoDeadlk         Errno = 16
	ErrnoDestaddrreq    Errno = 17
	ErrnoDom            Errno = 18
	ErrnoDquot          Errno = 19
	ErrnoExist          Errno = 20
	ErrnoFault          Errno = 21
	ErrnoFbig           Errno = 22
	ErrnoHostunreach    Errno = 23
	ErrnoIdrm           Errno = 24
	ErrnoIlseq          Errno = 25
	ErrnoInprogress     Errno = 26
	ErrnoIntr           Errno = 27
	ErrnoInval          Errno = 28
	ErrnoIo             Errno = 29
	ErrnoIsconn         Errno = 30
	ErrnoIsdir          Errno = 31
	ErrnoLoop           Errno = 32
	ErrnoMfile          Errno = 33
	ErrnoMlink          Errno = 34
	ErrnoMsgsize        Errno = 35
	ErrnoMultihop       Errno = 36
	ErrnoNametoolong    Errno = 37
	ErrnoNetdown        Errno = 38
	ErrnoNetreset       Errno = 39
	ErrnoNetunreach     Errno = 40
	ErrnoNfile          Errno = 41
	ErrnoNobufs         Errno = 42
	ErrnoNodev          Errno = 43
	ErrnoNoent          Errno = 44
	ErrnoNoexec         Errno = 45
	ErrnoNolck          Errno = 46
	ErrnoNolink         Errno = 47
	ErrnoNomem          Errno = 48
	ErrnoNomsg          Errno = 49
	ErrnoNoprotoopt     Errno = 50
	ErrnoNospc          Errno = 51
	ErrnoNosys          Errno = 52
	ErrnoNotconn        Errno = 53
	ErrnoNotdir         Errno = 54
	ErrnoNotempty       Errno = 55
	ErrnoNotrecoverable Errno = 56
	ErrnoNotsock        Errno = 57
	ErrnoNotsup         Errno = 58
	ErrnoNotty          Errno = 59
	ErrnoNxio           Errno = 60
	ErrnoOverflow       Errno = 61
	ErrnoOwnerdead      Errno = 62
	ErrnoPerm           Errno = 63
	ErrnoPipe           Errno = 64
	ErrnoProto          Errno = 65
	ErrnoProtonosupport Errno = 66
	ErrnoPrototype      Errno = 67
	ErrnoRange          Errno = 68
	ErrnoRofs           Errno = 69
	ErrnoSpipe          Errno = 70
	ErrnoSrch           Errno = 71
	ErrnoStale          Errno = 72
	ErrnoTimedout       Errno = 73
	ErrnoTxtbsy         Errno = 74
	ErrnoXdev           Errno = 75
	ErrnoNotcapable     Errno = 76
)

var errnoNames = map[Errno]string{
	ErrnoSuccess: "ESUCCESS", ErrnoAcces: "EACCES", ErrnoAgain: "EAGAIN", ErrnoBadf: "EBADF",
	ErrnoExist: "EEXIST", ErrnoFault: "EFAULT", ErrnoIntr: "EINTR", ErrnoInval: "EINVAL",
	ErrnoIo: "EIO", ErrnoIsdir: "EISDIR", ErrnoLoop: "ELOOP", ErrnoMfile: "EMFILE",
	ErrnoNametoolong: "ENAMETOOLONG", ErrnoNoent: "ENOENT", ErrnoNosys: "ENOSYS",
	ErrnoNotdir: "ENOTDIR", ErrnoNotempty: "ENOTEMPTY", ErrnoNotsup: "ENOTSUP",
	ErrnoOverflow: "EOVERFLOW", ErrnoPerm: "EPERM", ErrnoRofs: "EROFS", ErrnoSpipe: "ESPIPE",
	ErrnoNotcapable: "ENOTCAPABLE", ErrnoIlseq: "EILSEQ",
}

// String returns the errno's C name, e.g. "ENOENT", or "errno(n)".
func (e Errno) String() string {
	if s, ok := errnoNames[e]; ok {
		return s
	}
	return "errno(" + strconv.Itoa(int(e)) + ")"
}

// toErrno maps an error of an io/fs file system to an errno.
func toErrno(err error) Errno {
	switch {
	case err == nil:
		return ErrnoSuccess
	case errors.Is(err, fs.ErrNotExist):
		return ErrnoNoent
	case errors.Is(err, fs.ErrPermission):
		return ErrnoAcces
	case errors.Is(err, fs.ErrExist):
		return ErrnoExist
	case errors.Is(err, syscall.ENOTDIR):
		return ErrnoNotdir
	case errors.Is(err, syscall.EISDIR):
		return ErrnoIsdir
	case errors.Is(err, syscall.ELOOP):
		return ErrnoLoop
	case errors.Is(err, syscall.ENAMETOOLONG):
		return ErrnoNametoolong
	case errors.Is(err, fs.ErrInvalid):
		return ErrnoInval
	case strings.Contains(err.Error(), "path escapes from parent"):
		// os.Root refusing a symbolic link that leaves the tree.
		return ErrnoNotcapable
	}
	return ErrnoIo
}
