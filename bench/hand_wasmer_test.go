//go:build wasmer && cgo

package bench

import (
	"runtime"
	"testing"

	wm "github.com/wasmerio/wasmer-go/wasmer"
)

// The wasmer baseline: wasmer-go v1.0.4's own API, its default engine. One
// Store per module (wasmer-go instantiates a module in the store it was
// compiled in); host functions are created per instance with
// NewFunctionWithEnvironment (the environment is the instance, for its
// memory and allocate); exports are called as NativeFunctions and memory is
// accessed through Memory.Data.

func init() { hands["wasmer"] = openWasmer }

type wasmerModule struct {
	eng   *wm.Engine
	store *wm.Store
	mod   *wm.Module
}

func openWasmer(tb testing.TB, wasm []byte) handModule {
	tb.Helper()
	eng := wm.NewEngine()
	store := wm.NewStore(eng)
	mod, err := wm.NewModule(store, wasm)
	if err != nil {
		store.Close()
		tb.Fatal(err)
	}
	return &wasmerModule{eng: eng, store: store, mod: mod}
}

var (
	wasmerAbortType = wm.NewFunctionType(wm.NewValueTypes(wm.I32, wm.I32, wm.I32, wm.I32), wm.NewValueTypes())
	wasmerHelloType = wm.NewFunctionType(wm.NewValueTypes(wm.I32), wm.NewValueTypes(wm.I32))
)

// wasmerHello is index/test.hello: it reads the argument, allocates the
// answer in the calling guest and returns its pointer.
func wasmerHello(env any, args []wm.Value) ([]wm.Value, error) {
	in := env.(*wasmerInstance)
	out, err := helloBytes(in.mem.Data(), uint32(args[0].I32()))
	if err != nil {
		return nil, err
	}
	pv, err := in.alloc(int32(len(out)))
	if err != nil {
		return nil, err
	}
	p := pv.(int32)
	if err := writeAt(in.mem.Data(), uint32(p), out); err != nil {
		return nil, err
	}
	return []wm.Value{wm.NewI32(p)}, nil
}

func (m *wasmerModule) instantiate() (handInstance, error) {
	in := &wasmerInstance{mod: m, funcs: map[string]wm.NativeFunction{}}
	imports := wm.NewImportObject()
	imports.Register("env", map[string]wm.IntoExtern{
		"abort": wm.NewFunction(m.store, wasmerAbortType, func([]wm.Value) ([]wm.Value, error) { return nil, errAbort }),
	})
	imports.Register("index", map[string]wm.IntoExtern{
		"test.hello": wm.NewFunctionWithEnvironment(m.store, wasmerHelloType, in, wasmerHello),
	})
	inst, err := wm.NewInstance(m.mod, imports)
	if err != nil {
		return nil, err
	}
	in.inst = inst
	in.mem, _ = inst.Exports.GetMemory("memory")
	in.alloc, _ = inst.Exports.GetFunction("allocate")
	in.nopFn, _ = inst.Exports.GetFunction("nop")
	in.addFn, _ = inst.Exports.GetFunction("add")
	if start, err := inst.Exports.GetFunction("__aspect_start__"); err == nil {
		if _, err := start(); err != nil {
			in.close()
			return nil, err
		}
	}
	return in, nil
}

func (m *wasmerModule) close() {
	m.mod.Close()
	m.store.Close()
	runtime.KeepAlive(m.eng)
}

type wasmerInstance struct {
	mod                 *wasmerModule
	inst                *wm.Instance
	mem                 *wm.Memory
	alloc, nopFn, addFn wm.NativeFunction
	funcs               map[string]wm.NativeFunction
	closed              bool
}

func (in *wasmerInstance) nop() error {
	_, err := in.nopFn()
	runtime.KeepAlive(in.inst)
	return err
}

func (in *wasmerInstance) add(a, b int32) (int32, error) {
	v, err := in.addFn(a, b)
	runtime.KeepAlive(in.inst)
	if err != nil {
		return 0, err
	}
	return v.(int32), nil
}

func (in *wasmerInstance) call(fn string, arg []byte) ([]byte, error) {
	defer runtime.KeepAlive(in.inst)
	f, ok := in.funcs[fn]
	if !ok {
		var err error
		if f, err = in.inst.Exports.GetFunction(fn); err != nil {
			return nil, err
		}
		in.funcs[fn] = f
	}
	pv, err := in.alloc(int32(len(arg)))
	if err != nil {
		return nil, err
	}
	p := pv.(int32)
	if err := writeAt(in.mem.Data(), uint32(p), arg); err != nil {
		return nil, err
	}
	rv, err := f(p)
	if err != nil {
		return nil, err
	}
	return viewAt(in.mem.Data(), uint32(rv.(int32)))
}

func (in *wasmerInstance) close() {
	if !in.closed {
		in.closed = true
		in.inst.Close()
	}
}
