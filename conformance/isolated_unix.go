//go:build unix

package conformance

import (
	"os/exec"
	"syscall"
)

// inOwnProcessGroup makes the child the leader of a process group of its
// own, so that killing the group also ends anything it started.
func inOwnProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// quitProcess sends SIGQUIT to a hung child: a Go process prints every
// goroutine's stack and exits.
func quitProcess(cmd *exec.Cmd) {
	_ = cmd.Process.Signal(syscall.SIGQUIT)
}

// killProcessGroup kills the child's process group.
func killProcessGroup(cmd *exec.Cmd) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	_ = cmd.Process.Kill()
}

// limitCoreDumps keeps a child that crashes from writing a core file.
func limitCoreDumps() {
	_ = syscall.Setrlimit(syscall.RLIMIT_CORE, &syscall.Rlimit{})
}
