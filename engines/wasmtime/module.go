//go:build cgo && !wazero && !wasmer

package wasmtime

// #include "shim.h"
import "C"

import (
	"context"
	"fmt"
	"runtime/cgo"
	"sync"
	"unsafe"

	"github.com/aspect-rt/aspect-runtime/internal/wasmbin"
	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// wtModule is a compiled module (wasmtime_module_t) plus its import and
// export descriptions, computed once at compile time.
type wtModule struct {
	eng *wtEngine

	// mu guards ptr and importVec: RLock to instantiate, Lock to close.
	mu  sync.RWMutex
	ptr *C.wasmtime_module_t
	// importVec is the module's import types in C memory; instantiation
	// creates each host function with the function type held here.
	importVec *C.wasm_importtype_vec_t

	imports []engine.Import
	exports []engine.Export
	// exportIdx maps an export name to its index in exports.
	exportIdx map[string]int
	// globals describes the exported globals by name.
	globals map[string]globalInfo
	// importErr is set when the module imports something other than a
	// function, which the SPI does not allow.
	importErr error

	// memLimit is the store limiter's memory limit in bytes, -1 for none.
	memLimit int64
	// mems are the limits of the memories the module defines, kept with
	// serialized code so that Deserialize can check a memory limit.
	mems []wasmbin.Memory
}

// globalInfo is the type of an exported global.
type globalInfo struct {
	kind    C.uint8_t // wasm_valkind_t
	typ     engine.ValueType
	mutable bool
}

// nameString copies a wasm_name_t.
func nameString(n *C.wasm_name_t) string {
	if n == nil || n.size == 0 {
		return ""
	}
	return C.GoStringN((*C.char)(unsafe.Pointer(n.data)), C.int(n.size))
}

// valueType maps a wasm_valkind_t to the binary encoding of the type.
func valueType(k C.uint8_t) engine.ValueType {
	switch k {
	case 0:
		return engine.I32
	case 1:
		return engine.I64
	case 2:
		return engine.F32
	case 3:
		return engine.F64
	case 4:
		return engine.ValueType(0x7b) // v128
	case 128:
		return engine.ValueType(0x6f) // externref
	case 129:
		return engine.ValueType(0x70) // funcref
	}
	return engine.ValueType(0)
}

func valueTypes(v *C.wasm_valtype_vec_t) []engine.ValueType {
	if v == nil || v.size == 0 {
		return nil
	}
	out := make([]engine.ValueType, int(v.size))
	for i := range out {
		out[i] = valueType(C.aspect_wt_valkind(v, C.size_t(i)))
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

// describe fills imports, exports and importVec from m.ptr.
func (m *wtModule) describe() {
	m.importVec = (*C.wasm_importtype_vec_t)(C.calloc(1, C.sizeof_wasm_importtype_vec_t))
	C.wasmtime_module_imports(m.ptr, m.importVec)
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
				m.importErr = fmt.Errorf("wasmtime: module imports %s %s.%s; only functions can be imported",
					imp.Kind, imp.Module, imp.Name)
			}
			m.imports[i] = imp
		}
	}

	var vec C.wasm_exporttype_vec_t
	C.wasmtime_module_exports(m.ptr, &vec)
	if n := int(vec.size); n > 0 {
		m.exports = make([]engine.Export, n)
		m.exportIdx = make(map[string]int, n)
		for i, et := range unsafe.Slice(vec.data, n) {
			xt := C.wasm_exporttype_type(et)
			exp := engine.Export{
				Name: nameString(C.wasm_exporttype_name(et)),
				Kind: externKind(C.wasm_externtype_kind(xt)),
			}
			switch exp.Kind {
			case engine.ExternFunc:
				exp.Type = funcType(C.wasm_externtype_as_functype_const(xt))
			case engine.ExternGlobal:
				var mut C.int
				if k := C.aspect_wt_globaltype(xt, &mut); k != 0xff {
					if m.globals == nil {
						m.globals = make(map[string]globalInfo)
					}
					m.globals[exp.Name] = globalInfo{kind: k, typ: valueType(k), mutable: mut != 0}
				}
			}
			m.exports[i] = exp
			m.exportIdx[exp.Name] = i
		}
	}
	C.wasm_exporttype_vec_delete(&vec)
}

// Imports lists the module's imports in declaration order.
func (m *wtModule) Imports() []engine.Import { return m.imports }

// Exports lists the module's exports in declaration order.
func (m *wtModule) Exports() []engine.Export { return m.exports }

// export returns the export called name.
func (m *wtModule) export(name string) (engine.Export, bool) {
	i, ok := m.exportIdx[name]
	if !ok {
		return engine.Export{}, false
	}
	return m.exports[i], true
}

// Instantiate creates an instance in a new store, with one host function per
// import, and runs the start section under ctx.
func (m *wtModule) Instantiate(ctx context.Context, host []engine.HostFunc, cfg engine.InstanceConfig) (engine.Instance, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.ptr == nil {
		return nil, errModuleClosed
	}
	if m.importErr != nil {
		return nil, m.importErr
	}
	if err := ctx.Err(); err != nil {
		return nil, interruptedTrap(err)
	}

	in := newInstance(m)
	ok := false
	defer func() {
		if !ok {
			in.release()
		}
	}()

	envs := make([]uintptr, len(m.imports))
	for i, imp := range m.imports {
		hf, found := findHost(host, imp)
		if !found {
			return nil, fmt.Errorf("wasmtime: no host function for import %s.%s", imp.Module, imp.Name)
		}
		if !hf.Type.Equal(imp.Type) {
			return nil, fmt.Errorf("wasmtime: host function %s.%s has type %s, the module imports %s",
				imp.Module, imp.Name, hf.Type, imp.Type)
		}
		if !allNumeric(imp.Type.Params) || !allNumeric(imp.Type.Results) {
			return nil, fmt.Errorf("wasmtime: import %s.%s has type %s; host functions take and return numbers only",
				imp.Module, imp.Name, imp.Type)
		}
		if hf.Call == nil {
			return nil, fmt.Errorf("wasmtime: host function %s.%s has no Call", imp.Module, imp.Name)
		}
		ent := newHostEntry(in, hf)
		h := cgo.NewHandle(ent)
		in.hostHandles = append(in.hostHandles, h)
		envs[i] = uintptr(h)
	}

	m.eng.mu.RLock()
	if m.eng.ptr == nil {
		m.eng.mu.RUnlock()
		return nil, errEngineClosed
	}
	in.store = C.aspect_wt_store_new(m.eng.ptr, C.uintptr_t(in.handle), C.int64_t(m.memLimit))
	m.eng.mu.RUnlock()
	if in.store == nil {
		return nil, fmt.Errorf("wasmtime: cannot create store")
	}
	in.cctx = C.wasmtime_store_context(in.store)

	var envp *C.uintptr_t
	if len(envs) > 0 {
		envp = (*C.uintptr_t)(unsafe.Pointer(&envs[0]))
	}
	in.enter(ctx)
	st := C.aspect_wt_instantiate(in.cctx, m.ptr, m.importVec, envp, &in.inst)
	in.leave()
	if st.err != nil || st.trap != nil {
		return nil, in.callError(st, "instantiate")
	}
	ok = true
	return in, nil
}

func allNumeric(ts []engine.ValueType) bool {
	for _, t := range ts {
		if !numeric(t) {
			return false
		}
	}
	return true
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

// Close deletes the compiled module. It is idempotent.
func (m *wtModule) Close(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ptr != nil {
		C.wasmtime_module_delete(m.ptr)
		m.ptr = nil
	}
	if m.importVec != nil {
		C.wasm_importtype_vec_delete(m.importVec)
		C.free(unsafe.Pointer(m.importVec))
		m.importVec = nil
	}
	return nil
}
