//go:build linux

package bench

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
)

// threadWait returns the calling thread's id and how long it has waited for
// a CPU so far (the run-queue delay of /proc/thread-self/schedstat, ns), or
// ok false when it cannot be read.
func threadWait() (tid int, wait int64, ok bool) {
	data, err := os.ReadFile("/proc/thread-self/schedstat")
	if err != nil {
		return 0, 0, false
	}
	f := bytes.Fields(data) // on-CPU time, run-queue delay, time slices
	if len(f) < 2 {
		return 0, 0, false
	}
	wait, err = strconv.ParseInt(string(f[1]), 10, 64)
	return syscall.Gettid(), wait, err == nil
}
