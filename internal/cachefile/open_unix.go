//go:build unix

package cachefile

import (
	"os"
	"syscall"
)

// openEntry opens path for reading without blocking (a FIFO without a
// writer opens at once instead of waiting for one) and without following a
// symbolic link in its last element (ELOOP instead). Read checks with fstat
// that what it opened is a regular file before reading from it.
func openEntry(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
}
