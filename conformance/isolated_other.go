//go:build !unix

package conformance

import "os/exec"

// inOwnProcessGroup does nothing where there are no process groups.
func inOwnProcessGroup(cmd *exec.Cmd) {}

// quitProcess kills a hung child (there is no SIGQUIT to ask for a dump).
func quitProcess(cmd *exec.Cmd) { _ = cmd.Process.Kill() }

// killProcessGroup kills the child.
func killProcessGroup(cmd *exec.Cmd) { _ = cmd.Process.Kill() }

// limitCoreDumps does nothing.
func limitCoreDumps() {}
