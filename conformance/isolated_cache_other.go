//go:build !unix

package conformance

import "errors"

// mkfifo fails where there are no FIFOs in the file system.
func mkfifo(path string) error { return errors.New("no FIFOs on this system") }
