// Command aspect runs WebAssembly aspects from the command line.
//
// Usage:
//
//	aspect run [--engine NAME] [--gas N] [--timeout D] [--wasi] MODULE.wasm FUNCTION [ARG...]
//	aspect bench [--engine NAME] [--gas N] [--runs N] [--warmup N] [--duration D] MODULE.wasm FUNCTION [ARG...]
//	aspect engines
//	aspect validate [--profile NAME] [--entry FUNCTION]... MODULE.wasm
//	aspect inspect [--output text|json] MODULE.wasm
//	aspect --version
//
// Arguments are typed literals, TYPE:VALUE:
//
//	s:hello      String          hex:0a0b   ByteArray (hex)
//	i8:-1 i16:7 i32:5 i64:-9     Int8 … Int64 (decimal, or 0x… hex)
//	u8:1 u16:7 u32:5 u64:7       Uint8 … Uint64
//	b:true       Bool            f32:1.5 f64:2.25   Float32, Float64
//	nil          Nil
//
// The decoded result is printed on stdout. Errors go to stderr with exit
// status 1; bad usage exits with status 2.
package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/aspect-rt/aspect-runtime/abi"
	"github.com/aspect-rt/aspect-runtime/metering"
	"github.com/aspect-rt/aspect-runtime/runtime"
	"github.com/aspect-rt/aspect-runtime/wasi"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage:
  aspect run [--engine NAME] [--gas N] [--timeout D] [--wasi] MODULE.wasm FUNCTION [ARG...]
  aspect bench [--engine NAME] [--gas N] [--runs N] [--warmup N] [--duration D] MODULE.wasm FUNCTION [ARG...]
  aspect engines
  aspect validate [--profile NAME] [--entry FUNCTION]... MODULE.wasm
  aspect inspect [--output text|json] MODULE.wasm
  aspect --version

ARG is TYPE:VALUE with TYPE one of s, hex, i8, i16, i32, i64, u8, u16, u32,
u64, b, f32, f64; or nil. Example: aspect run echo.wasm greet s:world
`

// errUsage marks errors caused by the command line itself.
var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "run":
		err = runCmd(ctx, args[1:], stdout, stderr)
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
	case "version", "--version", "-version":
		err = versionCmd(stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		err = fmt.Errorf("%w: unknown command %q", errUsage, args[0])
	}
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "aspect: %v\n", err)
	if errors.Is(err, errUsage) {
		fmt.Fprint(stderr, usage)
		return 2
	}
	return 1
}

func runCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	engineName := fs.String("engine", runtime.DefaultEngine(), "engine to run on: "+strings.Join(runtime.Engines(), ", "))
	gas := fs.Uint64("gas", 0, "gas limit of the call (0: not metered); the gas used is printed to stderr")
	timeout := fs.Duration("timeout", 0, "stop the call after this long, e.g. 2s (0: no limit); meters the module (without a gas limit unless --gas) so that every engine can stop it")
	withWASI := fs.Bool("wasi", false, "provide WASI preview 1: stdout/stderr to the terminal, no file system")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	rest := fs.Args()
	if len(rest) < 2 {
		return fmt.Errorf("%w: run needs MODULE.wasm and FUNCTION", errUsage)
	}
	callArgs := make([]any, 0, len(rest)-2)
	for _, lit := range rest[2:] {
		v, err := ParseArg(lit)
		if err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		callArgs = append(callArgs, v)
	}
	code, err := os.ReadFile(rest[0])
	if err != nil {
		return err
	}
	var opts []runtime.Option
	if *gas > 0 || *timeout > 0 {
		// Metering is also what lets a deadline stop the guest on engines
		// without native interruption (runtime.WithMetering).
		opts = append(opts, runtime.WithMetering(metering.Config{}))
		if *gas == 0 {
			// --timeout alone: no gas limit, the start code's included.
			opts = append(opts, runtime.WithStartGas(math.MaxInt64))
		}
	}
	if *withWASI {
		opts = append(opts, runtime.WithWASI(wasi.Config{Args: []string{filepath.Base(rest[0])}, Stdout: stdout, Stderr: stderr}))
	}
	if *timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}
	// --gas and --timeout bound the start code and the call together: the
	// meter pays for both, the deadline covers both.
	var meter *runtime.Meter
	if *gas > 0 {
		meter = runtime.NewMeter(*gas)
		ctx = runtime.WithMeter(ctx, meter)
	}
	reportGas := func() {
		if meter != nil {
			fmt.Fprintf(stderr, "gas used: %d of %d\n", meter.Used(), meter.Limit())
		}
	}
	rt, err := runtime.NewWithEngine(ctx, *engineName, code, nil, opts...)
	if err != nil {
		reportGas()
		return err
	}
	defer rt.Close(context.Background())
	res, err := rt.Call(ctx, rest[1], callArgs...)
	reportGas()
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, Format(res))
	return nil
}

// ParseArg parses a typed literal such as "s:hello" or "u64:7".
func ParseArg(lit string) (any, error) {
	if lit == "nil" {
		return nil, nil
	}
	typ, val, ok := strings.Cut(lit, ":")
	if !ok {
		return nil, fmt.Errorf("argument %q: want TYPE:VALUE, e.g. s:hello or i32:5", lit)
	}
	bad := func(err error) (any, error) {
		var ne *strconv.NumError
		if errors.As(err, &ne) {
			err = ne.Err
		}
		return nil, fmt.Errorf("argument %q: %v", lit, err)
	}
	switch typ {
	case "s":
		return val, nil
	case "hex":
		b, err := hex.DecodeString(val)
		if err != nil {
			return bad(err)
		}
		return b, nil
	case "b":
		b, err := strconv.ParseBool(val)
		if err != nil {
			return bad(err)
		}
		return b, nil
	case "i8", "i16", "i32", "i64":
		bits, _ := strconv.Atoi(typ[1:])
		x, err := strconv.ParseInt(val, 0, bits)
		if err != nil {
			return bad(err)
		}
		switch bits {
		case 8:
			return int8(x), nil
		case 16:
			return int16(x), nil
		case 32:
			return int32(x), nil
		}
		return x, nil
	case "u8", "u16", "u32", "u64":
		bits, _ := strconv.Atoi(typ[1:])
		x, err := strconv.ParseUint(val, 0, bits)
		if err != nil {
			return bad(err)
		}
		switch bits {
		case 8:
			return uint8(x), nil
		case 16:
			return uint16(x), nil
		case 32:
			return uint32(x), nil
		}
		return x, nil
	case "f32":
		x, err := strconv.ParseFloat(val, 32)
		if err != nil {
			return bad(err)
		}
		return float32(x), nil
	case "f64":
		x, err := strconv.ParseFloat(val, 64)
		if err != nil {
			return bad(err)
		}
		return x, nil
	}
	return nil, fmt.Errorf("argument %q: unknown type %q", lit, typ)
}

// Format renders a decoded result for a terminal: strings as they are,
// bytes in hex, composites in a JSON-like form with map keys sorted.
func Format(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	var b strings.Builder
	format(&b, v)
	return b.String()
}

func format(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("nil")
	case string:
		b.WriteString(strconv.Quote(x))
	case []byte:
		b.WriteString("0x" + hex.EncodeToString(x))
	case float32:
		b.WriteString(strconv.FormatFloat(float64(x), 'g', -1, 32))
	case float64:
		b.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			format(b, e)
		}
		b.WriteByte(']')
	case map[any]any:
		keys := make([]string, 0, len(x))
		vals := map[string]any{}
		for k, e := range x {
			var kb strings.Builder
			format(&kb, k)
			keys = append(keys, kb.String())
			vals[kb.String()] = e
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(k + ": ")
			format(b, vals[k])
		}
		b.WriteByte('}')
	case abi.Struct:
		b.WriteByte('{')
		for i, f := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(f.Name + ": ")
			format(b, f.Value)
		}
		b.WriteByte('}')
	default:
		fmt.Fprint(b, x)
	}
}
