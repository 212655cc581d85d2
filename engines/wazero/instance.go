package wazero

import (
	"context"
	"errors"
	"unsafe"

	"github.com/tetratelabs/wazero/api"

	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// api.Memory already has the SPI's bounds-checked Size, Read and Write:
// wazero computes offset+length in 64 bits, so an overflowing range is out of
// range, and Read caps the capacity of the slice it returns.
var _ engine.Memory = api.Memory(nil)

var errClosed = errors.New("wazero: instance closed")

// instance implements engine.Instance, and engine.Caller for the host
// functions it calls.
type instance struct {
	module *module
	mod    api.Module
	host   []hostCall // by slot; nil if the module imports no function
	cctx   callCtx

	funcs map[string]*function
	// mem is the exported memory as an engine.Memory, converted once: the
	// conversion from api.Memory looks up an itab, and Memory is called
	// for every argument and result a host call reads or writes.
	mem     engine.Memory
	memDone bool
	closed  bool
}

// Function implements engine.Instance and engine.Caller.
func (i *instance) Function(name string) engine.Function {
	if f, ok := i.funcs[name]; ok {
		return f
	}
	if i.mod == nil {
		return nil
	}
	fn := i.mod.ExportedFunction(name)
	if fn == nil {
		return nil
	}
	typ := funcType(fn.Definition())
	f := &function{inst: i, name: name, typ: typ, narrow: narrow(typ.Results), fns: []api.Function{fn}}
	if i.funcs == nil {
		i.funcs = map[string]*function{}
	}
	i.funcs[name] = f
	return f
}

// Memory implements engine.Instance and engine.Caller.
func (i *instance) Memory() engine.Memory {
	if !i.memDone && i.mod != nil {
		if m := i.mod.ExportedMemory("memory"); m != nil {
			i.mem = m
		}
		i.memDone = true
	}
	return i.mem
}

// Close implements engine.Instance.
func (i *instance) Close(ctx context.Context) error {
	if i.closed {
		return nil
	}
	i.closed = true
	if i.mod == nil {
		return nil
	}
	if ctx == nil {
		ctx = context.Background()
	}
	if i.module.closed.Load() {
		return nil // closed with the runtime
	}
	return i.mod.Close(ctx)
}

// function implements engine.Function.
type function struct {
	inst *instance
	name string
	typ  engine.FuncType
	// narrow indexes the i32 and f32 results: wazero's compiler writes only
	// their low 32 bits, leaving whatever the stack held above.
	narrow []int

	// fns[d] serves calls at re-entrancy depth d. wazero forbids calling an
	// api.Function again before its previous call returns, which happens when
	// a host function re-enters the guest through the same export, so each
	// nesting level gets its own.
	fns   []api.Function
	depth int
}

// Type implements engine.Function.
func (f *function) Type() engine.FuncType { return f.typ }

// Call implements engine.Function.
func (f *function) Call(ctx context.Context, stack []uint64) error {
	if f.inst.closed || f.inst.module.closed.Load() {
		return errClosed
	}
	if ctx == nil {
		ctx = context.Background() // wazero would panic before its recover
	}
	d := f.depth
	if d == len(f.fns) {
		f.fns = append(f.fns, f.inst.mod.ExportedFunction(f.name))
	}
	f.depth = d + 1
	var err error
	if f.inst.host == nil {
		err = f.fns[d].CallWithStack(ctx, stack)
	} else {
		// Name the instance to its trampolines; restore the outer call's
		// context when re-entered from a host function.
		// A host function's call of the guest (its allocate) usually
		// passes the context it was given, the outer call's: then the
		// context is left as it is (each store of it costs a write
		// barrier while the collector marks).
		cc := &f.inst.cctx
		outer := cc.Context
		if sameWords(outer, ctx) {
			err = f.fns[d].CallWithStack(cc, stack)
		} else {
			cc.Context = ctx
			err = f.fns[d].CallWithStack(cc, stack)
			cc.Context = outer
		}
	}
	f.depth = d
	if err != nil {
		return callError(err)
	}
	for _, r := range f.narrow {
		// Read the low half alone, then write the whole word: the
		// compiled code has just stored the low half with a 32-bit store,
		// which a 64-bit load of the word could not take its value from
		// (the load would wait for the store to reach the cache), and a
		// word written in two halves would stall the callers' loads of it
		// the same way.
		stack[r] = uint64((*[2]uint32)(unsafe.Pointer(&stack[r]))[lowHalf])
	}
	return nil
}

// sameWords reports whether a and b hold the same dynamic type and data
// word: then they are the same context.
func sameWords(a, b context.Context) bool {
	// Word by word: == on the arrays would call memequal.
	pa, pb := (*[2]unsafe.Pointer)(unsafe.Pointer(&a)), (*[2]unsafe.Pointer)(unsafe.Pointer(&b))
	return pa[0] == pb[0] && pa[1] == pb[1]
}

// lowHalf indexes the low 32 bits of a uint64 seen as a [2]uint32.
var lowHalf = func() int {
	x := uint64(1)
	if (*[2]uint32)(unsafe.Pointer(&x))[0] == 1 {
		return 0 // little-endian
	}
	return 1
}()

// narrow returns the indexes of the 32-bit types in ts.
func narrow(ts []engine.ValueType) []int {
	var idx []int
	for i, t := range ts {
		if t == engine.I32 || t == engine.F32 {
			idx = append(idx, i)
		}
	}
	return idx
}

// Global returns the exported global name, or nil.
func (i *instance) Global(name string) engine.Global {
	if i.mod == nil || i.closed {
		return nil
	}
	g := i.mod.ExportedGlobal(name)
	if g == nil {
		return nil
	}
	return global{g}
}

// global adapts api.Global; Set is a no-op on immutable globals.
type global struct{ g api.Global }

func (g global) Type() engine.ValueType { return engine.ValueType(g.g.Type()) }
func (g global) Get() uint64            { return g.g.Get() }
func (g global) Set(v uint64) {
	if mg, ok := g.g.(api.MutableGlobal); ok {
		mg.Set(v)
	}
}
