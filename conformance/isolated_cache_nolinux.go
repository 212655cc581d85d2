//go:build !linux

package conformance

import (
	"errors"
	"testing"
)

// makeImmutable is not available outside Linux.
func makeImmutable(t *testing.T, dir string) error {
	return errors.New("no immutable flag on this system")
}
