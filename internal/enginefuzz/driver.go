package enginefuzz

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Runner is one build of the runner command (cmd/runner).
type Runner struct {
	// Name is the engine the build runs by default (wasmtime, wazero,
	// wasmer).
	Name string
	// Path is the runner binary.
	Path string
}

// RunResult is what one runner process did with one module.
type RunResult struct {
	Runner  string
	Report  *Report // nil if the process failed
	Elapsed time.Duration
	// Failure is DiffCrash or DiffHang when Report is nil, with Detail.
	Failure string
	Detail  string
}

// Execute runs the runner on the module file in a child process bounded by
// timeout: a hang (killed at the deadline), a signal, a non-zero exit or
// output that is not a report is a failure, never a hung driver.
func (rn Runner) Execute(ctx context.Context, module string, timeout time.Duration) RunResult {
	res := RunResult{Runner: rn.Name}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, rn.Path, module)
	// The runner and anything it started are one process group, killed
	// together at the deadline.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	res.Elapsed = time.Since(start)
	tail := func() string {
		s := strings.TrimSpace(stderr.String())
		if len(s) > 2000 {
			s = "..." + s[len(s)-2000:]
		}
		return s
	}
	if ctx.Err() == context.DeadlineExceeded {
		res.Failure, res.Detail = DiffHang, fmt.Sprintf("no report after %v (killed); stderr: %s", timeout, tail())
		return res
	}
	if err != nil {
		res.Failure, res.Detail = DiffCrash, fmt.Sprintf("%v; stderr: %s", err, tail())
		return res
	}
	var rep Report
	dec := json.NewDecoder(&stdout)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		res.Failure, res.Detail = DiffCrash, fmt.Sprintf("bad report: %v; stderr: %s", err, tail())
		return res
	}
	res.Report = &rep
	return res
}

// ModuleResult is the verdict on one module.
type ModuleResult struct {
	Module *Module
	Runs   []RunResult
	Diffs  []Difference
	// Calls is the number of calls each engine made (all runs).
	Calls int
	// Explained names the known divergences that explain the differences
	// (see Triage), "" if none does or triage did not run.
	Explained string
}

// CheckModule runs every runner on the module (written to dir) and
// compares their reports.
func CheckModule(ctx context.Context, runners []Runner, m *Module, dir string, timeout time.Duration) (*ModuleResult, error) {
	path := filepath.Join(dir, fmt.Sprintf("module-%d-%d.wasm", m.Seed, m.Index))
	if err := os.WriteFile(path, m.Wasm, 0o644); err != nil {
		return nil, err
	}
	defer os.Remove(path)
	res := &ModuleResult{Module: m}
	var reports []*Report
	for _, rn := range runners {
		rr := rn.Execute(ctx, path, timeout)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		res.Runs = append(res.Runs, rr)
		if rr.Report == nil {
			res.Diffs = append(res.Diffs, Difference{Kind: rr.Failure, Engines: []string{rn.Name}, Call: -1, Detail: rr.Detail})
			continue
		}
		if rr.Report.Engine != rn.Name {
			res.Diffs = append(res.Diffs, Difference{Kind: DiffCrash, Engines: []string{rn.Name}, Call: -1,
				Detail: fmt.Sprintf("the %s runner ran engine %q", rn.Name, rr.Report.Engine)})
		}
		reports = append(reports, rr.Report)
		n := 0
		for _, r := range rr.Report.Runs {
			n += len(r.Calls)
		}
		res.Calls = max(res.Calls, n)
	}
	res.Diffs = append(res.Diffs, Compare(reports)...)
	return res, nil
}

// SaveFinding writes what is needed to reproduce and study a module with
// differences under dir/seed-S-module-I/: the module, wasm-opt's input, the
// reports of every engine, the differences, and the module as text if
// wasmOpt is set.
func SaveFinding(dir string, res *ModuleResult, wasmOpt string) (string, error) {
	m := res.Module
	d := filepath.Join(dir, fmt.Sprintf("seed-%d-module-%d", m.Seed, m.Index))
	if err := os.MkdirAll(d, 0o755); err != nil {
		return "", err
	}
	var errs []error
	write := func(name string, b []byte) {
		errs = append(errs, os.WriteFile(filepath.Join(d, name), b, 0o644))
	}
	write("module.wasm", m.Wasm)
	write("input.dat", m.Input)
	var diffs bytes.Buffer
	if res.Explained != "" {
		fmt.Fprintf(&diffs, "explained by the known divergence %s: the module patched for it agrees on every engine\n", res.Explained)
	}
	for _, x := range res.Diffs {
		fmt.Fprintln(&diffs, x.String())
	}
	write("differences.txt", diffs.Bytes())
	for _, rr := range res.Runs {
		if rr.Report != nil {
			b, err := json.MarshalIndent(rr.Report, "", "  ")
			errs = append(errs, err)
			write(rr.Runner+".json", b)
		} else {
			write(rr.Runner+".failure.txt", []byte(rr.Failure+": "+rr.Detail+"\n"))
		}
	}
	if wasmOpt != "" {
		args := append([]string{filepath.Join(d, "module.wasm")}, Features...)
		args = append(args, "--print")
		if out, err := exec.Command(wasmOpt, args...).Output(); err == nil {
			write("module.wat", out)
		}
	}
	return d, errors.Join(errs...)
}
