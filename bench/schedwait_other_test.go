//go:build !linux

package bench

// threadWait reports ok false: a thread's run-queue delay is read on Linux
// only.
func threadWait() (tid int, wait int64, ok bool) { return 0, 0, false }
