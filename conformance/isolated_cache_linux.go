package conformance

import (
	"os"
	"syscall"
	"testing"
	"unsafe"
)

// The ioctls and flag that make a file immutable (chattr +i).
const (
	fsIocGetflags  = 0x80086601
	fsIocSetflags  = 0x40086602
	fsImmutableFlg = 0x10
)

// makeImmutable makes dir immutable (nothing can be created in it, even by
// root), for as long as the test runs. It needs CAP_LINUX_IMMUTABLE and a
// file system that supports the flag (ext4, xfs, btrfs).
func makeImmutable(t *testing.T, dir string) error {
	set := func(on bool) error {
		f, err := os.Open(dir)
		if err != nil {
			return err
		}
		defer f.Close()
		var flags int32
		if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), fsIocGetflags, uintptr(unsafe.Pointer(&flags))); e != 0 {
			return e
		}
		if on {
			flags |= fsImmutableFlg
		} else {
			flags &^= fsImmutableFlg
		}
		if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), fsIocSetflags, uintptr(unsafe.Pointer(&flags))); e != 0 {
			return e
		}
		return nil
	}
	if err := set(true); err != nil {
		return err
	}
	t.Cleanup(func() { _ = set(false) })
	return nil
}
