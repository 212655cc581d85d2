package wazero

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"

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

// callCtx is the context.Context an instance passes to wazero, for its calls
// and for its instantiation. wazero hands it on to the host functions the
// guest calls, so a trampoline finds the calling instance with a type
// assertion rather than a lookup in a map shared by all instances. It is
// mutable, which the SPI allows: an instance is used by one goroutine at a
// time. Host functions never see it: they get the context of the call. Nor
// does wazero keep it past the call, as long as WithCloseOnContextDone is off
// (with it on, a goroutine would watch Done).
type callCtx struct {
	context.Context // of the pending call; nil between calls
	inst            *instance
	// lean hides the values of the call's context from wazero once the
	// instance exists: wazero looks up its experimental keys (the
	// snapshotter) in the context of every call, host functions' calls of
	// the guest included, which walked the whole chain of the caller's
	// context each time, and the adapter sets none of them for calls.
	// Instantiation sees them all (the memory allocator is one).
	lean bool
}

// callCtxKey finds a callCtx that wazero wrapped in a context of its own.
type callCtxKey struct{}

// Value implements context.Context.
func (c *callCtx) Value(key any) any {
	if key == (callCtxKey{}) {
		return c
	}
	if c.lean {
		return nil
	}
	return c.Context.Value(key)
}

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
	inst.cctx.inst = inst
	if len(m.slots) > 0 {
		if inst.host, err = m.resolve(host); err != nil {
			return nil, err
		}
		if err = m.instantiateHost(ctx); err != nil {
			return nil, err
		}
	}

	// A start function may call host functions before InstantiateModule
	// returns mod: the trampolines bind inst.mod then.
	inst.cctx.Context = ctx
	var mod api.Module
	func() {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("wazero: instantiate: panic: %v", p)
			}
		}()
		inst.cctx.Context = withMemoryAllocator(ctx)
		mod, err = m.r.InstantiateModule(&inst.cctx, m.cm, m.cfg)
	}()
	inst.cctx.Context = nil
	inst.cctx.lean = true
	if err != nil {
		if mod != nil {
			_ = mod.Close(ctx)
		}
		return nil, instantiateError(err)
	}
	inst.mod = mod
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
// it finds the calling instance from the callCtx of the pending call and
// calls that instance's host function. A host error panics: wazero recovers
// it, unwinds the guest and returns it, wrapped, from the pending call, where
// callError unwraps it again.
func (m *module) trampoline(s int) api.GoModuleFunc {
	slot := m.slots[s]
	return func(ctx context.Context, mod api.Module, stack []uint64) {
		c, ok := ctx.(*callCtx)
		if !ok {
			c, _ = ctx.Value(callCtxKey{}).(*callCtx)
		}
		if c == nil || c.inst.module != m {
			panic(fmt.Errorf("wazero: host function %s.%s called from outside an instance", slot.module, slot.name))
		}
		inst := c.inst
		if !sameModule(inst.mod, mod) && inst.mod != mod {
			if inst.mod != nil {
				panic(fmt.Errorf("wazero: host function %s.%s called by another instance", slot.module, slot.name))
			}
			inst.mod = mod // from the start function
		}
		for _, p := range slot.narrow {
			// The low half alone, as function.Call reads results.
			stack[p] = uint64((*[2]uint32)(unsafe.Pointer(&stack[p]))[lowHalf])
		}
		if err := inst.host[s](c.Context, inst, stack); err != nil {
			panic(&hostError{err})
		}
	}
}

// sameModule reports whether a and b hold the same dynamic type and data
// word, without the runtime call == makes for interfaces: then a == b;
// otherwise they may still be equal (== decides).
func sameModule(a, b api.Module) bool {
	// Word by word: == on the arrays would call memequal.
	pa, pb := (*[2]unsafe.Pointer)(unsafe.Pointer(&a)), (*[2]unsafe.Pointer)(unsafe.Pointer(&b))
	return pa[0] == pb[0] && pa[1] == pb[1]
}

// Close implements engine.Module. It closes the wazero.Runtime, and with it
// any instance left open, then the compiled module, which releases its
// code from the engine's compilation cache once no other module compiled
// from the same bytes holds it (without it, the code of every module ever
// compiled stayed in the process-wide engine, and compiling the same bytes
// again never reached the disk cache).
func (m *module) Close(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if m.closed.Swap(true) {
		return nil
	}
	err := m.r.Close(ctx)
	if cerr := m.cm.Close(ctx); err == nil {
		err = cerr
	}
	return err
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
