package wazero

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	wz "github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// module implements engine.Module over one wazero.Runtime holding one
// compiled guest module and, once instantiated, its host modules.
type module struct {
	r       wz.Runtime
	cm      wz.CompiledModule
	cfg     wz.ModuleConfig
	imports []engine.Import
	exports []engine.Export

	// linkErr, if not nil, is returned by every Instantiate: the module
	// imports something the adapter cannot provide.
	linkErr error
	// slots are the distinct (module, name) function imports; a trampoline
	// serves each one.
	slots   []hostSlot
	slotIdx map[[2]string]int

	// hostMu guards the lazy instantiation of the host modules.
	hostMu    sync.Mutex
	hostReady bool

	// callers maps the api.Module of every live instance that has host
	// functions to its *instance, for the trampolines. It is read on every
	// host call and written only by Instantiate and Close. sync.Map reads
	// are lock-free, so concurrent calls from many goroutines do not contend.
	callers sync.Map

	closed atomic.Bool
}

// hostSlot is a function import served by one trampoline.
type hostSlot struct {
	module, name string
	typ          engine.FuncType
	// narrow indexes the i32 and f32 params: wazero's interpreter passes
	// them with whatever bits the guest's stack held above the low 32.
	narrow []int
}

// hostCall is HostFunc.Call.
type hostCall = func(ctx context.Context, caller engine.Caller, stack []uint64) error

// instantiatingKey is the context key under which Instantiate passes the
// instance being created to the trampolines: a start function may call host
// functions before wazero returns the api.Module.
type instantiatingKey struct{}

func newModule(r wz.Runtime, cm wz.CompiledModule, wasm []byte) (*module, error) {
	imps, exps, err := readExterns(wasm)
	if err != nil {
		return nil, fmt.Errorf("wazero: compile: %w", err)
	}
	m := &module{
		r:       r,
		cm:      cm,
		cfg:     wz.NewModuleConfig().WithName("").WithStartFunctions(),
		slotIdx: map[[2]string]int{},
	}

	fimps := cm.ImportedFunctions()
	m.imports = make([]engine.Import, len(imps))
	for i, e := range imps {
		imp := engine.Import{Module: e.module, Name: e.name, Kind: e.kind}
		if e.kind != engine.ExternFunc {
			if m.linkErr == nil {
				m.linkErr = fmt.Errorf("wazero: module imports %s %s.%s: only function imports are supported", e.kind, e.module, e.name)
			}
			m.imports[i] = imp
			continue
		}
		if len(fimps) == 0 {
			return nil, errors.New("wazero: compile: function imports disagree with wazero")
		}
		def := fimps[0]
		fimps = fimps[1:]
		if mod, name, _ := def.Import(); mod != e.module || name != e.name {
			return nil, errors.New("wazero: compile: function imports disagree with wazero")
		}
		imp.Type = funcType(def)
		m.imports[i] = imp

		key := [2]string{e.module, e.name}
		if s, ok := m.slotIdx[key]; ok {
			if !m.slots[s].typ.Equal(imp.Type) && m.linkErr == nil {
				m.linkErr = fmt.Errorf("wazero: module imports function %s.%s twice with different types", e.module, e.name)
			}
			continue
		}
		m.slotIdx[key] = len(m.slots)
		m.slots = append(m.slots, hostSlot{module: e.module, name: e.name, typ: imp.Type, narrow: narrow(imp.Type.Params)})
	}

	fexps := cm.ExportedFunctions()
	m.exports = make([]engine.Export, len(exps))
	for i, e := range exps {
		exp := engine.Export{Name: e.name, Kind: e.kind}
		if e.kind == engine.ExternFunc {
			def, ok := fexps[e.name]
			if !ok {
				return nil, errors.New("wazero: compile: function exports disagree with wazero")
			}
			exp.Type = funcType(def)
		}
		m.exports[i] = exp
	}
	return m, nil
}

// Imports implements engine.Module.
func (m *module) Imports() []engine.Import { return slices.Clone(m.imports) }

// Exports implements engine.Module.
func (m *module) Exports() []engine.Export { return slices.Clone(m.exports) }

// Instantiate implements engine.Module.
func (m *module) Instantiate(ctx context.Context, host []engine.HostFunc, _ engine.InstanceConfig) (_ engine.Instance, err error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if m.closed.Load() {
		return nil, errors.New("wazero: module closed")
	}
	if m.linkErr != nil {
		return nil, m.linkErr
	}
	inst := &instance{module: m}
	if len(m.slots) > 0 {
		if inst.host, err = m.resolve(host); err != nil {
			return nil, err
		}
		if err = m.instantiateHost(ctx); err != nil {
			return nil, err
		}
		ctx = context.WithValue(ctx, instantiatingKey{}, inst)
	}

	var mod api.Module
	func() {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("wazero: instantiate: panic: %v", p)
			}
		}()
		mod, err = m.r.InstantiateModule(ctx, m.cm, m.cfg)
	}()
	if err != nil {
		if inst.mod != nil { // registered by a host call from the start function
			m.callers.Delete(inst.mod)
		}
		if mod != nil {
			_ = mod.Close(ctx)
		}
		return nil, instantiateError(err)
	}
	if inst.mod == nil {
		inst.mod = mod
		if len(m.slots) > 0 {
			m.callers.Store(mod, inst)
		}
	}
	return inst, nil
}

// resolve orders the host functions by slot.
func (m *module) resolve(host []engine.HostFunc) ([]hostCall, error) {
	calls := make([]hostCall, len(m.slots))
	for _, h := range host {
		s, ok := m.slotIdx[[2]string{h.Module, h.Name}]
		if !ok || calls[s] != nil {
			continue
		}
		if h.Call == nil {
			return nil, fmt.Errorf("wazero: host function %s.%s has no Call", h.Module, h.Name)
		}
		if want := m.slots[s].typ; !h.Type.Equal(want) {
			return nil, fmt.Errorf("wazero: host function %s.%s has type %v, module imports %v", h.Module, h.Name, h.Type, want)
		}
		calls[s] = h.Call
	}
	for s, c := range calls {
		if c == nil {
			return nil, fmt.Errorf("wazero: missing host function %s.%s", m.slots[s].module, m.slots[s].name)
		}
	}
	return calls, nil
}

// instantiateHost instantiates, once, one host module per imported module
// name, exporting a trampoline for each imported function.
func (m *module) instantiateHost(ctx context.Context) (err error) {
	m.hostMu.Lock()
	defer m.hostMu.Unlock()
	if m.hostReady {
		return nil
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("wazero: instantiate host functions: panic: %v", p)
		}
	}()
	var order []string
	builders := map[string]wz.HostModuleBuilder{}
	for s, slot := range m.slots {
		b, ok := builders[slot.module]
		if !ok {
			b = m.r.NewHostModuleBuilder(slot.module)
			builders[slot.module] = b
			order = append(order, slot.module)
		}
		b.NewFunctionBuilder().
			WithGoModuleFunction(m.trampoline(s), apiTypes(slot.typ.Params), apiTypes(slot.typ.Results)).
			WithName(slot.name).
			Export(slot.name)
	}
	var done []api.Module
	for _, name := range order {
		hm, err := builders[name].Instantiate(ctx)
		if err != nil {
			for _, d := range done { // allow a later attempt to start over
				_ = d.Close(ctx)
			}
			return fmt.Errorf("wazero: instantiate host module %q: %w", name, err)
		}
		done = append(done, hm)
	}
	m.hostReady = true
	return nil
}

// trampoline returns the Go function that serves slot s for every instance:
// it finds the calling instance and calls that instance's host function. A
// host error panics: wazero recovers it, unwinds the guest and returns it,
// wrapped, from the pending call, where instance.go unwraps it again.
func (m *module) trampoline(s int) api.GoModuleFunc {
	slot := m.slots[s]
	return func(ctx context.Context, mod api.Module, stack []uint64) {
		inst := m.caller(ctx, mod)
		if inst == nil {
			panic(fmt.Errorf("wazero: host function %s.%s called by an unknown instance", slot.module, slot.name))
		}
		for _, p := range slot.narrow {
			stack[p] = uint64(uint32(stack[p]))
		}
		if err := inst.host[s](ctx, inst, stack); err != nil {
			panic(&hostError{err})
		}
	}
}

// caller returns the instance whose api.Module is mod.
func (m *module) caller(ctx context.Context, mod api.Module) *instance {
	if v, ok := m.callers.Load(mod); ok {
		return v.(*instance)
	}
	// A start function runs before InstantiateModule returns mod: bind the
	// instance being created to it.
	if inst, ok := ctx.Value(instantiatingKey{}).(*instance); ok && inst.module == m && inst.mod == nil {
		inst.mod = mod
		m.callers.Store(mod, inst)
		return inst
	}
	return nil
}

// Close implements engine.Module. It closes the wazero.Runtime, and with it
// any instance left open.
func (m *module) Close(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if m.closed.Swap(true) {
		return nil
	}
	return m.r.Close(ctx)
}

// hostError carries a host function's error through wazero's panic recovery.
type hostError struct{ err error }

func (e *hostError) Error() string { return e.err.Error() }
func (e *hostError) Unwrap() error { return e.err }

func funcType(def api.FunctionDefinition) engine.FuncType {
	return engine.FuncType{Params: engineTypes(def.ParamTypes()), Results: engineTypes(def.ResultTypes())}
}

func engineTypes(ts []api.ValueType) []engine.ValueType {
	if len(ts) == 0 {
		return nil
	}
	out := make([]engine.ValueType, len(ts))
	for i, t := range ts {
		out[i] = engine.ValueType(t) // both use the binary encoding
	}
	return out
}

func apiTypes(ts []engine.ValueType) []api.ValueType {
	if len(ts) == 0 {
		return nil
	}
	out := make([]api.ValueType, len(ts))
	for i, t := range ts {
		out[i] = api.ValueType(t)
	}
	return out
}
