//go:build wasmer && cgo

package wasmer

// #include "shim.h"
import "C"

import (
	"context"
	"fmt"
	"runtime"
	"runtime/cgo"
	"sync"
	"unsafe"

	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// wrModule is a compiled module (wasm_module_t) in its own store, plus its
// import and export descriptions, computed once at compile time.
type wrModule struct {
	eng *wrEngine

	// mu guards wasmEngine, store, ptr and importVec: RLock to instantiate,
	// Lock to close.
	mu sync.RWMutex
	// wasmEngine is the wasm engine the module was compiled in and its
	// instances' stores are created in: one of its own (newModuleStore),
	// which Close deletes, so that wasmer frees the module's compiled code.
	// It is nil for a module loaded into eng's own wasm engine (Deserialize,
	// in serialize.go) until its first move to a new generation.
	wasmEngine *C.wasm_engine_t
	store      *C.wasm_store_t
	ptr        *C.wasm_module_t
	// importVec is the module's import types in C memory; instantiation
	// creates each host function with the function type held here.
	importVec *C.wasm_importtype_vec_t
	// gen counts the instances of the current generation: the module's
	// code in wasmEngine (see generation.go).
	gen *wrGen

	imports []engine.Import
	exports []engine.Export
	// exportIdx maps an export name to its index in exports, which is also
	// its index in an instance's export vector.
	exportIdx map[string]int
	// importErr is set when the module imports something other than a
	// function, which the SPI does not allow.
	importErr error
	// memLimit is the CompileConfig.MemoryLimitPages written into the
	// module's code (0 for none).
	memLimit uint32
}

// nameString copies a wasm_name_t.
func nameString(n *C.wasm_name_t) string {
	if n == nil || n.size == 0 {
		return ""
	}
	return C.GoStringN((*C.char)(unsafe.Pointer(n.data)), C.int(n.size))
}

// valueType maps a wasm_valkind_t to the binary encoding of the type.
func valueType(k C.wasm_valkind_t) engine.ValueType {
	switch k {
	case C.WASM_I32:
		return engine.I32
	case C.WASM_I64:
		return engine.I64
	case C.WASM_F32:
		return engine.F32
	case C.WASM_F64:
		return engine.F64
	case C.WASM_ANYREF:
		return engine.ValueType(0x6f) // externref
	case C.WASM_FUNCREF:
		return engine.ValueType(0x70)
	}
	return engine.ValueType(0)
}

// valKind maps a numeric value type to its wasm_valkind_t.
func valKind(t engine.ValueType) C.wasm_valkind_t {
	switch t {
	case engine.I32:
		return C.WASM_I32
	case engine.I64:
		return C.WASM_I64
	case engine.F32:
		return C.WASM_F32
	case engine.F64:
		return C.WASM_F64
	}
	return C.WASM_ANYREF
}

func valueTypes(v *C.wasm_valtype_vec_t) []engine.ValueType {
	if v == nil || v.size == 0 {
		return nil
	}
	out := make([]engine.ValueType, int(v.size))
	for i := range out {
		out[i] = valueType(C.aspect_wr_valkind(v, C.size_t(i)))
	}
	return out
}

func funcType(ft *C.wasm_functype_t) engine.FuncType {
	if ft == nil {
		return engine.FuncType{}
	}
	return engine.FuncType{
		Params:  valueTypes(C.wasm_functype_params(ft)),
		Results: valueTypes(C.wasm_functype_results(ft)),
	}
}

// externKind maps a wasm_externkind_t to the binary encoding of the kind.
func externKind(k C.wasm_externkind_t) engine.ExternKind {
	switch k {
	case C.WASM_EXTERN_FUNC:
		return engine.ExternFunc
	case C.WASM_EXTERN_GLOBAL:
		return engine.ExternGlobal
	case C.WASM_EXTERN_TABLE:
		return engine.ExternTable
	case C.WASM_EXTERN_MEMORY:
		return engine.ExternMemory
	}
	return engine.ExternKind(0xff)
}

func numeric(t engine.ValueType) bool {
	return t == engine.I32 || t == engine.I64 || t == engine.F32 || t == engine.F64
}

// describe fills imports, exports and importVec from m.ptr, and starts the
// module's first generation.
func (m *wrModule) describe() {
	m.gen = &wrGen{}
	m.importVec = (*C.wasm_importtype_vec_t)(C.calloc(1, C.sizeof_wasm_importtype_vec_t))
	C.wasm_module_imports(m.ptr, m.importVec)
	if n := int(m.importVec.size); n > 0 {
		m.imports = make([]engine.Import, n)
		for i, it := range unsafe.Slice(m.importVec.data, n) {
			et := C.wasm_importtype_type(it)
			imp := engine.Import{
				Module: nameString(C.wasm_importtype_module(it)),
				Name:   nameString(C.wasm_importtype_name(it)),
				Kind:   externKind(C.wasm_externtype_kind(et)),
			}
			if imp.Kind == engine.ExternFunc {
				imp.Type = funcType(C.wasm_externtype_as_functype_const(et))
			} else if m.importErr == nil {
				m.importErr = fmt.Errorf("wasmer: module imports %s %s.%s; only functions can be imported",
					imp.Kind, imp.Module, imp.Name)
			}
			m.imports[i] = imp
		}
	}

	var vec C.wasm_exporttype_vec_t
	C.wasm_module_exports(m.ptr, &vec)
	if n := int(vec.size); n > 0 {
		m.exports = make([]engine.Export, n)
		m.exportIdx = make(map[string]int, n)
		for i, et := range unsafe.Slice(vec.data, n) {
			xt := C.wasm_exporttype_type(et)
			exp := engine.Export{
				Name: nameString(C.wasm_exporttype_name(et)),
				Kind: externKind(C.wasm_externtype_kind(xt)),
			}
			if exp.Kind == engine.ExternFunc {
				exp.Type = funcType(C.wasm_externtype_as_functype_const(xt))
			}
			m.exports[i] = exp
			m.exportIdx[exp.Name] = i
		}
	}
	C.aspect_wr_exporttype_vec_delete(&vec)
}

// Imports lists the module's imports in declaration order.
func (m *wrModule) Imports() []engine.Import { return m.imports }

// Exports lists the module's exports in declaration order.
func (m *wrModule) Exports() []engine.Export { return m.exports }

// export returns the export called name and its index.
func (m *wrModule) export(name string) (engine.Export, int, bool) {
	i, ok := m.exportIdx[name]
	if !ok {
		return engine.Export{}, 0, false
	}
	return m.exports[i], i, true
}

// Instantiate creates an instance with one host function per import, and
// runs the start section under ctx.
func (m *wrModule) Instantiate(ctx context.Context, host []engine.HostFunc, cfg engine.InstanceConfig) (engine.Instance, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	m.rotateIfDue()
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.ptr == nil {
		return nil, errModuleClosed
	}
	if m.importErr != nil {
		return nil, m.importErr
	}
	if ctx.Done() != nil {
		if err := ctx.Err(); err != nil {
			return nil, interruptedTrap(err)
		}
	}

	in := newInstance(m)
	ok := false
	defer func() {
		if !ok {
			in.release()
		}
	}()

	// Each instance has a store of its own: host functions and their traps
	// are created in it, and nothing in it is shared with other instances.
	// The store belongs to the module's wasm engine, whose signatures the
	// host functions must share with the module's imports.
	m.eng.mu.RLock()
	if m.eng.ptr != nil {
		in.store = C.wasm_store_new(m.engineLocked())
	}
	m.eng.mu.RUnlock()
	if in.store == nil {
		return nil, errEngineClosed
	}

	n := len(m.imports)
	var externs []*C.wasm_extern_t
	if n > 0 {
		externs = make([]*C.wasm_extern_t, n)
		in.envs = (*C.aspect_wr_env)(allocLines(uintptr(n) * C.sizeof_aspect_wr_env)) // read at every host call
		in.hostFuncs = make([]*C.wasm_func_t, 0, n)
	}
	envs := unsafe.Slice(in.envs, n)
	for i, imp := range m.imports {
		hf, found := findHost(host, imp)
		if !found {
			return nil, fmt.Errorf("wasmer: no host function for import %s.%s", imp.Module, imp.Name)
		}
		if !hf.Type.Equal(imp.Type) {
			return nil, fmt.Errorf("wasmer: host function %s.%s has type %s, the module imports %s",
				imp.Module, imp.Name, hf.Type, imp.Type)
		}
		for _, t := range append(append([]engine.ValueType(nil), imp.Type.Params...), imp.Type.Results...) {
			if !numeric(t) {
				return nil, fmt.Errorf("wasmer: import %s.%s has type %s; host functions take and return numbers only",
					imp.Module, imp.Name, imp.Type)
			}
		}
		if hf.Call == nil {
			return nil, fmt.Errorf("wasmer: host function %s.%s has no Call", imp.Module, imp.Name)
		}
		h := cgo.NewHandle(newHostEntry(in, hf))
		in.hostHandles = append(in.hostHandles, h)
		envs[i].handle = C.uintptr_t(h)
		envs[i].store = in.store
		if n := len(imp.Type.Results); n > 0 {
			envs[i].results = (*C.wasm_val_t)(allocLines(uintptr(n) * C.sizeof_wasm_val_t)) // written at every host call
			envs[i].nresults = C.size_t(n)
		}
		ft := C.aspect_wr_import_functype(m.importVec, C.size_t(i))
		if ft == nil {
			return nil, fmt.Errorf("wasmer: import %s.%s has no function type", imp.Module, imp.Name)
		}
		f := C.aspect_wr_func_new(in.store, ft, &envs[i])
		if f == nil {
			return nil, fmt.Errorf("wasmer: cannot create host function %s.%s", imp.Module, imp.Name)
		}
		in.hostFuncs = append(in.hostFuncs, f)
		externs[i] = C.wasm_func_as_extern(f)
	}

	var ep **C.wasm_extern_t
	if n > 0 {
		ep = &externs[0]
	}
	var trap *C.wasm_trap_t
	var errText C.aspect_wr_text
	gen := m.gen
	gen.created.Add(1)
	in.enter(ctx)
	in.ptr = C.aspect_wr_instantiate(in.store, m.ptr, ep, C.size_t(n), &trap, &errText)
	in.leave()
	runtime.KeepAlive(externs)
	if in.ptr == nil {
		if trap != nil {
			return nil, in.trapError(trap)
		}
		msg := takeText(errText)
		if msg == "" {
			msg = "instantiation failed"
		}
		return nil, fmt.Errorf("wasmer: instantiate: %s", msg)
	}
	takeText(errText)
	in.exports = (*C.wasm_extern_vec_t)(C.calloc(1, C.sizeof_wasm_extern_vec_t))
	C.wasm_instance_exports(in.ptr, in.exports)
	if int(in.exports.size) != len(m.exports) {
		return nil, fmt.Errorf("wasmer: instance has %d exports, its module %d", int(in.exports.size), len(m.exports))
	}
	ok = true
	in.gen = gen
	gen.live.Add(1)
	return in, nil
}

// findHost returns the host function for imp.
func findHost(host []engine.HostFunc, imp engine.Import) (engine.HostFunc, bool) {
	for _, hf := range host {
		if hf.Module == imp.Module && hf.Name == imp.Name {
			return hf, true
		}
	}
	return engine.HostFunc{}, false
}

// engineLocked returns the wasm engine of the module's instances: its own,
// or eng's shared one. m.mu and m.eng.mu are read-locked, and eng is open.
func (m *wrModule) engineLocked() *C.wasm_engine_t {
	if m.wasmEngine != nil {
		return m.wasmEngine
	}
	return m.eng.ptr
}

// Close deletes the compiled module, its store and its own wasm engine (and
// with it the module's compiled code; wasmer keeps the engine alive while
// instances of the module still hold stores of it). It is idempotent.
func (m *wrModule) Close(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.importVec != nil {
		C.aspect_wr_importtype_vec_delete(m.importVec)
		C.free(unsafe.Pointer(m.importVec))
		m.importVec = nil
	}
	if m.ptr != nil {
		C.wasm_module_delete(m.ptr)
		m.ptr = nil
	}
	if m.store != nil {
		C.wasm_store_delete(m.store)
		m.store = nil
	}
	if m.wasmEngine != nil {
		C.wasm_engine_delete(m.wasmEngine)
		m.wasmEngine = nil
	}
	return nil
}
