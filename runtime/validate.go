package runtime

import (
	"fmt"
	"sort"

	"github.com/aspect-rt/aspect-runtime/runtime/engine"
	"github.com/aspect-rt/aspect-runtime/validate"
	"github.com/aspect-rt/aspect-runtime/wasi"
)

// validation is what WithProfile and WithLimits set.
type validation struct {
	profile *validate.Profile
	limits  *validate.Limits
}

// profile returns the profile Compile applies, ok false for none:
// WithTrustedCode without WithProfile applies none (trusted code may use
// what no profile allows, such as SIMD).
func (c *config) profile() (validate.Profile, bool) {
	var p validate.Profile
	switch {
	case c.validation.profile != nil:
		p = *c.validation.profile
	case c.trusted && c.metering == nil:
		return p, false
	default:
		p = validate.DefaultProfile()
		p.Limits.MemoryInitial = c.memoryLimit()
		p.Limits.TableSize = c.tableLimit()
	}
	if c.validation.limits != nil {
		p.Limits = *c.validation.limits
	}
	return p, true
}

// validate checks code against the profile, first thing in prepare.
func (c *config) validate(code []byte) error {
	p, ok := c.profile()
	if !ok {
		return nil
	}
	if err := validate.Validate(code, p); err != nil {
		return fmt.Errorf("%w: %w", ErrCompile, err)
	}
	return nil
}

func validateFuncType(t engine.FuncType) validate.FuncType {
	vt := func(ts []engine.ValueType) []validate.ValType {
		out := make([]validate.ValType, len(ts))
		for i, t := range ts {
			switch t {
			case engine.I32:
				out[i] = validate.I32
			case engine.I64:
				out[i] = validate.I64
			case engine.F32:
				out[i] = validate.F32
			case engine.F64:
				out[i] = validate.F64
			}
		}
		return out
	}
	return validate.FuncType{Params: vt(t.Params), Results: vt(t.Results)}
}

// Imports returns what a guest may import from a runtime using r: every
// function registered, as module "module", field "namespace.method", with
// its wasm signature (one i32 per parameter, an i32 result if the
// function has one), and env.abort (i32, i32, i32, i32) -> (), which the
// runtime provides to every guest. Sorted by module and name. Use it as
// validate.Profile.Imports (with RestrictImports); add WASIImports for a
// runtime with WithWASI.
func (r *HostAPIRegistry) Imports() []validate.Import {
	imports := []validate.Import{{Module: "env", Name: "abort", Type: validate.FuncType{
		Params: []validate.ValType{validate.I32, validate.I32, validate.I32, validate.I32}}}}
	if r != nil {
		r.mu.RLock()
		for k, a := range r.apis {
			imports = append(imports, validate.Import{Module: k.module, Name: k.field, Type: validateFuncType(a.funcType())})
		}
		r.mu.RUnlock()
	}
	sort.Slice(imports, func(i, j int) bool {
		if imports[i].Module != imports[j].Module {
			return imports[i].Module < imports[j].Module
		}
		return imports[i].Name < imports[j].Name
	})
	return imports
}

// WASIImports returns every WASI preview 1 function WithWASI provides
// (module wasi_snapshot_preview1), with its signature, sorted by name, for
// validate.Profile.Imports.
func WASIImports() []validate.Import {
	names := wasi.Functions()
	imports := make([]validate.Import, 0, len(names))
	for _, n := range names {
		t, _ := wasi.Signature(n)
		imports = append(imports, validate.Import{Module: wasi.ModuleName, Name: n, Type: validateFuncType(t)})
	}
	return imports
}
