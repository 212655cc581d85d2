//go:build !unix

package cachefile

import "os"

// openEntry opens path for reading. Where there is no O_NONBLOCK and
// O_NOFOLLOW, Read relies on the lstat before and the fstat after the
// open to refuse what is not a regular file.
func openEntry(path string) (*os.File, error) {
	return os.Open(path)
}
