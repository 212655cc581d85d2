package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/aspect-rt/aspect-runtime/internal/abijson"
	"github.com/aspect-rt/aspect-runtime/runtime"
	"github.com/aspect-rt/aspect-runtime/wasi"
)

// printer prints the results and the failure of `aspect run`.
type printer struct {
	c              *runConfig
	meter          *runtime.Meter
	stdout, stderr io.Writer
}

// jsonLine is one line of --output json (abi/JSON.md).
type jsonLine struct {
	Call     string          `json:"call"`
	Result   json.RawMessage `json:"result,omitempty"`
	NoResult bool            `json:"noResult,omitempty"`
	Error    *jsonError      `json:"error,omitempty"`
	Gas      *jsonGas        `json:"gas,omitempty"`
}

type jsonGas struct {
	Used  uint64 `json:"used"`
	Limit uint64 `json:"limit"`
}

type jsonError struct {
	Kind     string     `json:"kind"`
	Message  string     `json:"message"`
	TrapCode string     `json:"trapCode,omitempty"`
	Abort    *jsonAbort `json:"abort,omitempty"`
	ExitCode *uint32    `json:"exitCode,omitempty"`
	Host     string     `json:"host,omitempty"`
	GasUsed  *uint64    `json:"gasUsed,omitempty"`
	GasLeft  *uint64    `json:"gasLeft,omitempty"`
}

type jsonAbort struct {
	Message string `json:"message"`
	File    string `json:"file"`
	Line    uint32 `json:"line"`
	Column  uint32 `json:"column"`
}

func (p *printer) gas() *jsonGas {
	if p.meter == nil {
		return nil
	}
	return &jsonGas{Used: p.meter.Used(), Limit: p.meter.Limit()}
}

// gasLine prints the gas used so far to stderr, in text mode with --gas.
func (p *printer) gasLine() {
	if p.meter != nil && p.c.output == "text" {
		fmt.Fprintf(p.stderr, "gas used: %d of %d\n", p.meter.Used(), p.meter.Limit())
	}
}

func (p *printer) writeJSON(l jsonLine) error {
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(p.stdout, "%s\n", b)
	return err
}

// result prints one call's result.
func (p *printer) result(name string, r result) error {
	if p.c.output == "text" {
		if !r.ok {
			_, err := fmt.Fprintln(p.stdout, "(no result)")
			return err
		}
		_, err := fmt.Fprintln(p.stdout, FormatValue(r.val))
		return err
	}
	l := jsonLine{Call: name, NoResult: !r.ok, Gas: p.gas()}
	if r.ok {
		b, err := abijson.Marshal(r.val)
		if err != nil {
			return err
		}
		l.Result = b
	}
	return p.writeJSON(l)
}

// fail reports err, the failure of call name ("" before any call), and
// returns the error that sets the exit status.
func (p *printer) fail(name string, err error) error {
	code, exited := wasi.ExitCode(err)
	status := 1
	if exited && p.c.wasiExit {
		status = int(code)
	}
	if p.c.output == "json" {
		if werr := p.writeJSON(jsonLine{Call: name, Error: describeJSON(err, p.meter), Gas: p.gas()}); werr != nil {
			return werr
		}
		return &exitStatus{status}
	}
	p.gasLine()
	if exited && p.c.wasiExit {
		return &exitStatus{status}
	}
	return errors.New(describe(err, p.meter))
}

// describe words err for the terminal: the runtime's message, with what
// the command line can do about it. meter is --gas's, or nil.
func describe(err error, meter *runtime.Meter) string {
	var ge *runtime.GasError
	var le *runtime.LinkError
	if code, ok := wasi.ExitCode(err); ok {
		return fmt.Sprintf("the guest exited with status %d (proc_exit); --wasi-exit makes that the exit status of aspect", code)
	}
	switch {
	case errors.As(err, &ge) && errors.Is(err, runtime.ErrOutOfGas) && ge.Used+ge.Left > 0:
		// The figures of the whole run (the meter pays for the start code
		// and every call), not of the one guest call that ran out, which
		// may be an allocate for an argument.
		used, limit := ge.Used, ge.Used+ge.Left
		if meter != nil {
			used, limit = meter.Used(), meter.Limit()
		}
		if ge.Left == 0 {
			return fmt.Sprintf("out of gas in %s: all %d gas used", ge.Func, limit)
		}
		// A charge that does not fit is not spent (runtime.Meter): say so,
		// lest "used 8, left 992" read as a contradiction.
		return fmt.Sprintf("out of gas in %s: its next charge (a block of code, a memory.grow, a host call) needed more than the %d gas left; %d of %d used",
			ge.Func, ge.Left, used, limit)
	case errors.As(err, &le):
		msg := message(err)
		switch {
		case le.Module == wasi.ModuleName:
			return msg + " (the module uses WASI: run it with --wasi)"
		case le.Detail == "no host function registered":
			return msg + " (give it with --host or --host-json, or satisfy every such import with --stub-imports or --trap-imports)"
		}
		return msg
	}
	return message(err)
}

// errorKinds classify errors for --output json, the most specific first.
var errorKinds = []struct {
	err  error
	kind string
}{
	{wasi.ErrExit, "exit"},
	{runtime.ErrOutOfGas, "out-of-gas"},
	{runtime.ErrCallDepth, "call-depth"},
	{runtime.ErrInterrupted, "interrupted"},
	{runtime.ErrAbort, "abort"},
	{runtime.ErrHostPanic, "host-panic"},
	{runtime.ErrHost, "host"},
	{runtime.ErrAllocate, "allocate"},
	{runtime.ErrABI, "abi"},
	{runtime.ErrTrap, "trap"},
	{runtime.ErrLink, "link"},
	{runtime.ErrCompile, "compile"},
	{runtime.ErrMissingExport, "missing-export"},
	{runtime.ErrSignature, "signature"},
	{runtime.ErrArgCount, "arg-count"},
	{runtime.ErrInvalidArgument, "invalid-argument"},
	{runtime.ErrEngine, "engine"},
	{runtime.ErrClosed, "closed"},
}

func describeJSON(err error, meter *runtime.Meter) *jsonError {
	je := &jsonError{Kind: "other", Message: describe(err, meter)}
	for _, k := range errorKinds {
		if errors.Is(err, k.err) {
			je.Kind = k.kind
			break
		}
	}
	var te *runtime.TrapError
	if errors.As(err, &te) {
		je.TrapCode = te.Code.String()
	}
	var ae *runtime.AbortError
	if errors.As(err, &ae) {
		je.Abort = &jsonAbort{Message: ae.Message, File: ae.File, Line: ae.Line, Column: ae.Column}
	}
	if code, ok := wasi.ExitCode(err); ok {
		je.ExitCode = &code
	}
	var he *runtime.HostError
	if errors.As(err, &he) {
		je.Host = he.Module + "/" + he.Namespace + "." + he.Method
	}
	var ge *runtime.GasError
	if errors.As(err, &ge) {
		je.GasUsed, je.GasLeft = &ge.Used, &ge.Left
	}
	return je
}
