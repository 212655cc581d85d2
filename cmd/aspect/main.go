// Command aspect runs WebAssembly aspects from the command line.
//
// Usage:
//
//	aspect run [flags] MODULE.wasm [FUNCTION [ARG...]] [--call FUNCTION [ARG...]]...
//	aspect bench [--engine NAME] [--gas N] [--runs N] [--warmup N] [--duration D] MODULE.wasm FUNCTION [ARG...]
//	aspect engines
//	aspect validate [--profile NAME] [--entry FUNCTION]... MODULE.wasm
//	aspect inspect [--output text|json] MODULE.wasm
//	aspect new [--lang as|go|rust] [--sdk DIR] DIR
//	aspect --version
//
// `aspect COMMAND -h` prints a command's flags. Arguments are typed
// literals, TYPE:VALUE:
//
//	s:hello      String          hex:0a0b   ByteArray (hex)
//	i8:-1 i16:7 i32:5 i64:-9     Int8 … Int64 (decimal, or 0x… hex)
//	u8:1 u16:7 u32:5 u64:7       Uint8 … Uint64
//	b:true       Bool            f32:1.5 f64:2.25   Float32, Float64
//	nil          Nil
//
// or JSON (`aspect run --args-json`, abi/JSON.md). Results are printed on
// stdout; errors go to stderr. Exit status: 0 on success, 1 when a call or
// the module fails, 2 for bad input (the command line, a file that cannot
// be read); with `run --wasi-exit`, the guest's proc_exit status.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aspect-rt/aspect-runtime/runtime"
)

func main() {
	os.Exit(runIO(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

const usage = `usage:
  aspect run [flags] MODULE.wasm [FUNCTION [ARG...]] [--call FUNCTION [ARG...]]...
  aspect bench [--engine NAME] [--gas N] [--runs N] [--warmup N] [--duration D] MODULE.wasm FUNCTION [ARG...]
  aspect engines
  aspect validate [--profile NAME] [--entry FUNCTION]... MODULE.wasm
  aspect inspect [--output text|json] MODULE.wasm
  aspect new [--lang as|go|rust] [--sdk DIR] DIR
  aspect --version

ARG is TYPE:VALUE with TYPE one of s, hex, i8, i16, i32, i64, u8, u16, u32,
u64, b, f32, f64; or nil. Example: aspect run echo.wasm greet s:world
'aspect COMMAND -h' prints the flags of a command.
`

// errUsage marks errors caused by the command line itself, or by input it
// names that cannot be read: exit status 2.
var errUsage = errors.New("usage")

// errInput marks input named on the command line that cannot be read (a
// missing module file, ...): exit status 2, like errUsage, without the
// pointer to the command's help.
var errInput = errors.New("bad input")

// errHelp is returned by a command whose -h printed its help: exit status 0.
var errHelp = errors.New("help requested")

// exitStatus is an error that sets the process status without a message
// (already reported, or a guest's exit status passed through).
type exitStatus struct{ code int }

func (e *exitStatus) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// run runs the command line args with an empty stdin.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runIO(ctx, args, strings.NewReader(""), stdout, stderr)
}

// runIO runs the command line args and returns the process status.
func runIO(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "run":
		err = runCmd(ctx, args[1:], stdin, stdout, stderr)
	case "bench":
		err = benchCmd(ctx, args[1:], stdout, stderr)
	case "engines":
		def := runtime.DefaultEngine()
		for _, e := range runtime.Engines() {
			mark := ""
			if e == def {
				mark = " (default)"
			}
			fmt.Fprintf(stdout, "%s%s\n", e, mark)
		}
	case "validate":
		err = validateCmd(args[1:], stdout, stderr)
	case "inspect":
		err = inspectCmd(args[1:], stdout, stderr)
	case "new":
		err = newCmd(args[1:], stdout, stderr)
	case "version", "--version", "-version":
		err = versionCmd(stdout)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
	default:
		err = fmt.Errorf("%w: unknown command %q", errUsage, args[0])
	}
	return status(err, args[0], stderr)
}

// status reports err on stderr, once prefixed with "aspect: ", and returns
// the process status for it.
func status(err error, cmd string, stderr io.Writer) int {
	var es *exitStatus
	switch {
	case err == nil, errors.Is(err, errHelp), errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &es):
		return es.code
	}
	fmt.Fprintf(stderr, "aspect: %s\n", message(err))
	if errors.Is(err, errInput) {
		return 2
	}
	if errors.Is(err, errUsage) {
		switch cmd {
		case "run", "bench", "validate", "new":
			fmt.Fprintf(stderr, "'aspect %s -h' prints its usage and flags\n", cmd)
		default:
			fmt.Fprint(stderr, usage)
		}
		return 2
	}
	return 1
}

// message is err's text without the "aspect: " and "usage: " prefixes
// the runtime's errors, errUsage and errInput carry, so that the CLI says "aspect:"
// once.
func message(err error) string {
	msg := err.Error()
	for {
		trimmed := strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(msg, "usage: "), "bad input: "), "aspect: ")
		if trimmed == msg {
			return msg
		}
		msg = trimmed
	}
}

// parseFlags parses args with fs. -h (or --help) prints help, then fs's
// flags, to stdout and returns errHelp; any other error is a usage error.
// fs must be created with flag.ContinueOnError.
func parseFlags(fs *flag.FlagSet, args []string, help string, stdout io.Writer) error {
	out := fs.Output()
	fs.SetOutput(io.Discard) // the flag package's own messages: returned below
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.SetOutput(out)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, help)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		fs.SetOutput(out)
		return errHelp
	}
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}

// durationFlag is a time.Duration flag whose error says that a unit is
// needed ("5" is not a duration; "5s" is).
type durationFlag struct{ d *time.Duration }

func (f durationFlag) String() string {
	if f.d == nil {
		return "0s"
	}
	return f.d.String()
}

func (f durationFlag) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		if _, nerr := strconv.ParseFloat(s, 64); nerr == nil {
			return fmt.Errorf("%q has no unit: write it with one, e.g. %ss or %sms", s, s, s)
		}
		return fmt.Errorf("%q is not a duration: want a number and a unit (ns, us, ms, s, m, h), e.g. 2s or 500ms", s)
	}
	if d < 0 {
		return fmt.Errorf("%q: a duration must not be negative", s)
	}
	*f.d = d
	return nil
}

// engineBuilds tells how to build the command with each engine.
var engineBuilds = map[string]string{
	"wasmtime": "the default build (cgo, without -tags wazero or wasmer)",
	"wasmer":   "-tags wasmer (with cgo)",
	"wazero":   "any build",
}

// checkEngine returns a usage error if name is not an engine of this
// build, saying how to build with it.
func checkEngine(name string) error {
	for _, e := range runtime.Engines() {
		if e == name {
			return nil
		}
	}
	have := strings.Join(runtime.Engines(), ", ")
	if how, ok := engineBuilds[name]; ok {
		return fmt.Errorf("%w: engine %q is not in this build (it has %s): build with %s", errUsage, name, have, how)
	}
	return fmt.Errorf("%w: unknown engine %q (this build has %s)", errUsage, name, have)
}
