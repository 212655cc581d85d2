package bench

import (
	"context"
	"sync"
	"testing"

	wz "github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// The wazero baseline: wazero's own API, one wazero.Runtime per module (its
// default configuration, the compiler on amd64/arm64), host functions as
// api.GoModuleFunc, exports called with CallWithStack.

func init() { hands["wazero"] = openWazero }

type wazeroModule struct {
	r  wz.Runtime
	cm wz.CompiledModule
	// allocs caches each instance's allocate for the host function, which
	// is given the calling api.Module (ExportedFunction builds a new
	// api.Function, with its own stack, on every call).
	mu     sync.Mutex
	allocs map[api.Module]api.Function
}

func openWazero(tb testing.TB, wasm []byte) handModule {
	tb.Helper()
	ctx := context.Background()
	r := wz.NewRuntimeWithConfig(ctx, wz.NewRuntimeConfig().WithCloseOnContextDone(false))
	m := &wazeroModule{r: r, allocs: map[api.Module]api.Function{}}
	i32 := api.ValueTypeI32
	_, err := r.NewHostModuleBuilder("env").NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(func(context.Context, api.Module, []uint64) { panic(errAbort) }),
			[]api.ValueType{i32, i32, i32, i32}, nil).
		Export("abort").Instantiate(ctx)
	if err == nil {
		_, err = r.NewHostModuleBuilder("index").NewFunctionBuilder().
			WithGoModuleFunction(api.GoModuleFunc(m.hello), []api.ValueType{i32}, []api.ValueType{i32}).
			Export("test.hello").Instantiate(ctx)
	}
	if err == nil {
		m.cm, err = r.CompileModule(ctx, wasm)
	}
	if err != nil {
		_ = r.Close(ctx)
		tb.Fatal(err)
	}
	return m
}

// hello is index/test.hello: it reads the argument, allocates the answer
// in the calling guest and returns its pointer.
func (wm *wazeroModule) hello(ctx context.Context, m api.Module, stack []uint64) {
	mem := m.Memory()
	data, _ := mem.Read(0, mem.Size())
	out, err := helloBytes(data, uint32(stack[0]))
	if err != nil {
		panic(err)
	}
	wm.mu.Lock()
	alloc := wm.allocs[m]
	wm.mu.Unlock()
	stack[0] = uint64(len(out))
	if err := alloc.CallWithStack(ctx, stack); err != nil {
		panic(err)
	}
	if !mem.Write(uint32(stack[0]), out) {
		panic(errBounds)
	}
}

func (m *wazeroModule) instantiate() (handInstance, error) {
	ctx := context.Background()
	mod, err := m.r.InstantiateModule(ctx, m.cm, wz.NewModuleConfig().WithName("").WithStartFunctions())
	if err != nil {
		return nil, err
	}
	in := &wazeroInstance{
		owner: m, mod: mod, mem: mod.Memory(), alloc: mod.ExportedFunction("allocate"),
		nopFn: mod.ExportedFunction("nop"), addFn: mod.ExportedFunction("add"),
		funcs: map[string]api.Function{}, stack: make([]uint64, 2),
	}
	m.mu.Lock()
	m.allocs[mod] = in.alloc
	m.mu.Unlock()
	if start := mod.ExportedFunction("__aspect_start__"); start != nil {
		if err := start.CallWithStack(ctx, nil); err != nil {
			in.close()
			return nil, err
		}
	}
	return in, nil
}

func (m *wazeroModule) close() { _ = m.r.Close(context.Background()) }

type wazeroInstance struct {
	owner               *wazeroModule
	mod                 api.Module
	mem                 api.Memory
	alloc, nopFn, addFn api.Function
	funcs               map[string]api.Function
	stack               []uint64
}

func (in *wazeroInstance) nop() error { return in.nopFn.CallWithStack(context.Background(), in.stack) }

func (in *wazeroInstance) add(a, b int32) (int32, error) {
	in.stack[0], in.stack[1] = api.EncodeI32(a), api.EncodeI32(b)
	err := in.addFn.CallWithStack(context.Background(), in.stack)
	return api.DecodeI32(in.stack[0]), err
}

func (in *wazeroInstance) call(fn string, arg []byte) ([]byte, error) {
	ctx := context.Background()
	f, ok := in.funcs[fn]
	if !ok {
		f = in.mod.ExportedFunction(fn)
		in.funcs[fn] = f
	}
	in.stack[0] = uint64(len(arg))
	if err := in.alloc.CallWithStack(ctx, in.stack); err != nil {
		return nil, err
	}
	p := uint32(in.stack[0])
	if !in.mem.Write(p, arg) {
		return nil, errBounds
	}
	in.stack[0] = uint64(p)
	if err := f.CallWithStack(ctx, in.stack); err != nil {
		return nil, err
	}
	r := uint32(in.stack[0])
	view, ok := in.mem.Read(r, in.mem.Size()-min(r, in.mem.Size()))
	if !ok {
		return nil, errBounds
	}
	return view, nil
}

func (in *wazeroInstance) close() {
	in.owner.mu.Lock()
	delete(in.owner.allocs, in.mod)
	in.owner.mu.Unlock()
	_ = in.mod.Close(context.Background())
}
