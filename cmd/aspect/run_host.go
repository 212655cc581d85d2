package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"

	"github.com/aspect-rt/aspect-runtime/abi"
	"github.com/aspect-rt/aspect-runtime/internal/abijson"
	"github.com/aspect-rt/aspect-runtime/metering"
	"github.com/aspect-rt/aspect-runtime/runtime"
	"github.com/aspect-rt/aspect-runtime/runtime/engine"
	"github.com/aspect-rt/aspect-runtime/wasi"
)

// answer is one canned answer of --host-json (format: abi/JSON.md).
type answer struct {
	args     [][]byte // the expected arguments, encoded; nil: any
	anyArgs  bool
	result   any
	noResult bool // "noResult": true, or no "result" given
	err      string
}

// parseHostTable parses --host-json: {"MODULE.NS.METHOD": [answer, ...]}.
func parseHostTable(data []byte) (map[string][]answer, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("want a JSON object of \"MODULE.NAMESPACE.METHOD\": [answers]: %v", err)
	}
	table := map[string][]answer{}
	for name, list := range raw {
		var items []struct {
			Args     json.RawMessage `json:"args"`
			Result   json.RawMessage `json:"result"`
			NoResult bool            `json:"noResult"`
			Error    *string         `json:"error"`
		}
		dec := json.NewDecoder(bytes.NewReader(list))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&items); err != nil {
			return nil, fmt.Errorf("%s: want a list of {\"args\": [...], \"result\": v | \"noResult\": true | \"error\": \"message\"}: %v", name, err)
		}
		for i, it := range items {
			a := answer{anyArgs: it.Args == nil, noResult: it.NoResult || it.Result == nil}
			set := 0
			if it.Result != nil {
				set++
				v, err := abijson.Parse(it.Result)
				if err != nil {
					return nil, fmt.Errorf("%s[%d].result: %v", name, i, err)
				}
				a.result = v
			}
			if it.NoResult {
				set++
			}
			if it.Error != nil {
				set++
				a.err = *it.Error
			}
			if set > 1 {
				return nil, fmt.Errorf("%s[%d]: give one of result, noResult and error", name, i)
			}
			if !a.anyArgs {
				args, err := abijson.ParseArgs(it.Args)
				if err != nil {
					return nil, fmt.Errorf("%s[%d].args: %v", name, i, err)
				}
				for _, v := range args {
					enc, err := abi.Marshal(v)
					if err != nil {
						return nil, fmt.Errorf("%s[%d].args: %v", name, i, err)
					}
					a.args = append(a.args, enc)
				}
			}
			table[name] = append(table[name], a)
		}
	}
	return table, nil
}

// nilValue is a host result that is Nil (pointer to an encoded Nil), not
// "no result" (pointer 0), which a nil any would be.
type nilValue struct{}

// MarshalABI implements abi.Marshaler.
func (nilValue) MarshalABI() ([]byte, error) { return abi.Marshal(nil) }

// hostResult is what the guest gets for v: Nil for nil.
func hostResult(v any) any {
	if v == nil {
		return nilValue{}
	}
	return v
}

// behaviour is what one command-line host function does: its result (nil
// for no result) or an error.
type behaviour func(args []any) (any, error)

// importSpec is the command-line name of an import: MODULE.NS.METHOD.
func importSpec(imp engine.Import) string { return imp.Module + "." + imp.Name }

// hostRegistry builds the host functions of the module's imports from
// --host, --host-json, --stub-imports and --trap-imports.
func hostRegistry(mod *runtime.Module, c *runConfig, table map[string][]answer, stderr io.Writer) (*runtime.HostAPIRegistry, error) {
	fixed := map[string]any{}
	for _, h := range c.hosts {
		name, lit, ok := strings.Cut(h, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("%w: --host %q: want MODULE.NAMESPACE.METHOD=ARG, e.g. index.test.hello=s:hi", errUsage, h)
		}
		if _, dup := fixed[name]; dup {
			return nil, fmt.Errorf("%w: --host %s is given twice", errUsage, name)
		}
		if _, dup := table[name]; dup {
			return nil, fmt.Errorf("%w: %s is given both by --host and by --host-json", errUsage, name)
		}
		v, err := ParseArg(lit)
		if err != nil {
			return nil, fmt.Errorf("%w: --host %s: %v", errUsage, name, err)
		}
		fixed[name] = v
	}
	reg := runtime.NewHostAPIRegistry()
	used := map[string]bool{}
	var names []string
	for _, imp := range mod.Imports() {
		if imp.Kind != engine.ExternFunc || imp.Module == metering.ImportModule ||
			imp.Module == "env" && imp.Name == "abort" || c.wasi.enabled && imp.Module == wasi.ModuleName {
			continue
		}
		spec := importSpec(imp)
		names = append(names, spec)
		_, isFixed := fixed[spec]
		answers, inTable := table[spec]
		if !isFixed && !inTable && !c.stub && !c.trap {
			continue // left unresolved: the link error names it
		}
		used[spec] = true
		ns, method, ok := strings.Cut(imp.Name, ".")
		abiType := ok && ns != "" && method != "" && len(imp.Type.Results) <= 1
		for _, t := range append(imp.Type.Params, imp.Type.Results...) {
			abiType = abiType && t == engine.I32
		}
		if !abiType {
			if isFixed || inTable {
				return nil, fmt.Errorf("%w: %s is %s, not a host function of the ABI (imported as NAMESPACE.METHOD, i32 pointers in, at most one out)", errUsage, spec, imp.Type)
			}
			continue
		}
		hasResult := len(imp.Type.Results) == 1
		var do behaviour
		switch {
		case isFixed:
			if !hasResult {
				return nil, fmt.Errorf("%w: --host %s: the import has no result to give", errUsage, spec)
			}
			v := hostResult(fixed[spec])
			do = func([]any) (any, error) { return v, nil }
		case inTable:
			do = tableBehaviour(spec, answers, hasResult)
		case c.stub:
			do = func([]any) (any, error) {
				if hasResult {
					return nilValue{}, nil
				}
				return nil, nil
			}
		default:
			do = func([]any) (any, error) {
				return nil, errors.New("called, but --trap-imports gives it no implementation")
			}
		}
		if err := reg.AddAPI(imp.Module, ns, method, hostFunc(spec, len(imp.Type.Params), hasResult, do, c.trace, stderr)); err != nil {
			return nil, err
		}
	}
	for _, src := range []map[string]bool{keysOf(fixed), keysOf(table)} {
		for spec := range src {
			if !used[spec] {
				sort.Strings(names)
				have := strings.Join(names, ", ")
				if have == "" {
					have = "none"
				}
				return nil, fmt.Errorf("%w: %s is not a host function the module imports (it imports: %s)", errUsage, spec, have)
			}
		}
	}
	return reg, nil
}

func keysOf[V any](m map[string]V) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

// tableBehaviour answers with the first answer matching the arguments.
func tableBehaviour(spec string, answers []answer, hasResult bool) behaviour {
	return func(args []any) (any, error) {
		var enc [][]byte
		for _, a := range args {
			e, err := abi.Marshal(a)
			if err != nil {
				return nil, err
			}
			enc = append(enc, e)
		}
	next:
		for _, a := range answers {
			if !a.anyArgs {
				if len(a.args) != len(enc) {
					continue
				}
				for i := range enc {
					if !bytes.Equal(a.args[i], enc[i]) {
						continue next
					}
				}
			}
			switch {
			case a.err != "":
				return nil, errors.New(a.err)
			case !hasResult && !a.noResult:
				return nil, fmt.Errorf("--host-json gives %s a result, but the import has none", spec)
			case a.noResult:
				return nil, nil
			}
			return hostResult(a.result), nil
		}
		return nil, fmt.Errorf("--host-json has no answer for %s(%s)", spec, formatArgs(args))
	}
}

func formatArgs(args []any) string {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = FormatValue(a)
	}
	return strings.Join(parts, ", ")
}

var (
	contextType = reflect.TypeFor[context.Context]()
	anyType     = reflect.TypeFor[any]()
	errorType   = reflect.TypeFor[error]()
)

// hostFunc makes a Go function of the import's shape, nparams `any`
// arguments (decoded generically) and an `any` result if it has one, that
// runs do and, with trace, prints the call to stderr.
func hostFunc(spec string, nparams int, hasResult bool, do behaviour, trace bool, stderr io.Writer) any {
	in := []reflect.Type{contextType}
	for range nparams {
		in = append(in, anyType)
	}
	out := []reflect.Type{errorType}
	if hasResult {
		out = []reflect.Type{anyType, errorType}
	}
	ft := reflect.FuncOf(in, out, false)
	return reflect.MakeFunc(ft, func(vals []reflect.Value) []reflect.Value {
		ctx := vals[0].Interface().(context.Context)
		args := make([]any, nparams)
		for i := range args {
			args[i] = vals[i+1].Interface()
		}
		var gas string
		if m := runtime.MeterFrom(ctx); m != nil && trace {
			gas = fmt.Sprintf(" [gas used %d, left %d]", m.Used(), m.Left())
		}
		res, err := do(args)
		if trace {
			shown := "(no result)"
			switch {
			case err != nil:
				shown = "error: " + err.Error()
			case res == nil && !hasResult:
				shown = "(returns nothing)"
			case res != nil:
				if _, isNil := res.(nilValue); isNil {
					shown = "nil"
				} else {
					shown = FormatValue(res)
				}
			}
			fmt.Fprintf(stderr, "trace: %s(%s) -> %s%s\n", spec, formatArgs(args), shown, gas)
		}
		errV := reflect.Zero(errorType)
		if err != nil {
			errV = reflect.ValueOf(&err).Elem()
		}
		if !hasResult {
			return []reflect.Value{errV}
		}
		resV := reflect.Zero(anyType)
		if res != nil {
			resV = reflect.ValueOf(&res).Elem()
		}
		return []reflect.Value{resV, errV}
	}).Interface()
}
