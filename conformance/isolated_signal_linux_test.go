//go:build linux && (amd64 || arm64)

package conformance

import (
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// signalSelfTests are children that die of a signal, as a process does
// when an engine's native code crashes (wasmtime's SIGABRT, wasmer's
// SIGSEGV).
func signalSelfTests() []selfTest {
	die := func(name string, sig syscall.Signal, report string) selfTest {
		return selfTest{
			c: IsolatedCase{Name: name, Want: "x", Run: func(*testing.T, *Env) string {
				dieOfSignal(sig)
				return "x"
			}},
			report: []string{"the child process died: signal: " + report},
		}
	}
	return []selfTest{
		die("dies-of-sigsegv", syscall.SIGSEGV, "segmentation fault"),
		die("dies-of-sigabrt", syscall.SIGABRT, "aborted"),
		die("dies-of-sigkill", syscall.SIGKILL, "killed"),
	}
}

// dieOfSignal restores the default action of sig (the Go runtime's handler
// would turn it into a Go crash, exit status 2) and raises it.
func dieOfSignal(sig syscall.Signal) {
	// struct sigaction of the kernel: handler (SIG_DFL = 0), flags,
	// restorer, mask.
	var act [4]uint64
	if sig != syscall.SIGKILL {
		if _, _, errno := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0); errno != 0 {
			panic(errno)
		}
	}
	_ = syscall.Kill(syscall.Getpid(), sig)
	time.Sleep(time.Minute)
}
