//go:build cgo && !wazero && !wasmer

package bench

import (
	"testing"

	wt "github.com/bytecodealliance/wasmtime-go/v44"
)

// The wasmtime baseline: wasmtime-go v44's own API, its default
// configuration. Host functions are defined once on a Linker (FuncNew);
// every instance gets a Store of its own, whose data is the instance (so
// host functions find its memory and allocate without looking them up);
// exports are called with Func.Call and memory is accessed through
// Memory.UnsafeData.

func init() { hands["wasmtime"] = openWasmtime }

type wasmtimeModule struct {
	eng    *wt.Engine
	mod    *wt.Module
	linker *wt.Linker
}

func funcType(params, results []wt.ValKind) *wt.FuncType {
	var p, r []*wt.ValType
	for _, k := range params {
		p = append(p, wt.NewValType(k))
	}
	for _, k := range results {
		r = append(r, wt.NewValType(k))
	}
	return wt.NewFuncType(p, r)
}

func openWasmtime(tb testing.TB, wasm []byte) handModule {
	tb.Helper()
	eng := wt.NewEngine()
	mod, err := wt.NewModule(eng, wasm)
	if err != nil {
		eng.Close()
		tb.Fatal(err)
	}
	m := &wasmtimeModule{eng: eng, mod: mod, linker: wt.NewLinker(eng)}
	i32 := wt.KindI32
	err = m.linker.FuncNew("env", "abort", funcType([]wt.ValKind{i32, i32, i32, i32}, nil),
		func(*wt.Caller, []wt.Val) ([]wt.Val, *wt.Trap) { return nil, wt.NewTrap(errAbort.Error()) })
	if err == nil {
		err = m.linker.FuncNew("index", "test.hello", funcType([]wt.ValKind{i32}, []wt.ValKind{i32}), wasmtimeHello)
	}
	if err != nil {
		m.close()
		tb.Fatal(err)
	}
	return m
}

// wasmtimeHello is index/test.hello: it reads the argument, allocates the
// answer in the calling guest and returns its pointer.
func wasmtimeHello(c *wt.Caller, args []wt.Val) ([]wt.Val, *wt.Trap) {
	in := c.Data().(*wasmtimeInstance)
	mem := in.mem
	out, err := helloBytes(mem.UnsafeData(c), uint32(args[0].I32()))
	if err != nil {
		return nil, wt.NewTrap(err.Error())
	}
	pv, err := in.alloc.Call(c, int32(len(out)))
	if err != nil {
		return nil, wt.NewTrap(err.Error())
	}
	p := pv.(int32)
	if err := writeAt(mem.UnsafeData(c), uint32(p), out); err != nil {
		return nil, wt.NewTrap(err.Error())
	}
	return []wt.Val{wt.ValI32(p)}, nil
}

func (m *wasmtimeModule) instantiate() (handInstance, error) {
	in := &wasmtimeInstance{funcs: map[string]*wt.Func{}}
	store := wt.NewStoreWithData(m.eng, in)
	inst, err := m.linker.Instantiate(store, m.mod)
	if err != nil {
		store.Close()
		return nil, err
	}
	in.store, in.inst = store, inst
	in.alloc, in.nopFn, in.addFn = inst.GetFunc(store, "allocate"), inst.GetFunc(store, "nop"), inst.GetFunc(store, "add")
	if ext := inst.GetExport(store, "memory"); ext != nil {
		in.mem = ext.Memory()
	}
	if start := inst.GetFunc(store, "__aspect_start__"); start != nil {
		if _, err := start.Call(store); err != nil {
			in.close()
			return nil, err
		}
	}
	return in, nil
}

func (m *wasmtimeModule) close() {
	m.linker.Close()
	m.mod.Close()
	m.eng.Close()
}

type wasmtimeInstance struct {
	store               *wt.Store
	inst                *wt.Instance
	mem                 *wt.Memory
	alloc, nopFn, addFn *wt.Func
	funcs               map[string]*wt.Func
}

func (in *wasmtimeInstance) nop() error {
	_, err := in.nopFn.Call(in.store)
	return err
}

func (in *wasmtimeInstance) add(a, b int32) (int32, error) {
	v, err := in.addFn.Call(in.store, a, b)
	if err != nil {
		return 0, err
	}
	return v.(int32), nil
}

func (in *wasmtimeInstance) call(fn string, arg []byte) ([]byte, error) {
	f, ok := in.funcs[fn]
	if !ok {
		f = in.inst.GetFunc(in.store, fn)
		in.funcs[fn] = f
	}
	pv, err := in.alloc.Call(in.store, int32(len(arg)))
	if err != nil {
		return nil, err
	}
	p := pv.(int32)
	if err := writeAt(in.mem.UnsafeData(in.store), uint32(p), arg); err != nil {
		return nil, err
	}
	rv, err := f.Call(in.store, p)
	if err != nil {
		return nil, err
	}
	return viewAt(in.mem.UnsafeData(in.store), uint32(rv.(int32)))
}

func (in *wasmtimeInstance) close() { in.store.Close() }
