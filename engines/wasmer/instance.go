//go:build wasmer && cgo

package wasmer

// #include "shim.h"
import "C"

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"runtime/cgo"
	"unsafe"

	"github.com/aspect-rt/aspect-runtime/internal/cacheline"
	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// hostTrapMessage is the message of the trap a failing host function raises.
const hostTrapMessage = C.ASPECT_WR_HOST_TRAP

// wrInstance is one instance (wasm_instance_t) in its own store. It is not
// safe for concurrent use (the runtime serializes calls), but it is
// re-entrant: host functions may call back into it.
type wrInstance struct {
	mod *wrModule
	// gen is the generation of mod the instance belongs to (nil until it is
	// created, and once closed).
	gen   *wrGen
	store *C.wasm_store_t    // nil once closed
	ptr   *C.wasm_instance_t // nil once closed
	// exports is the instance's export vector, in the module's export
	// order; functions, memories and globals point into it.
	exports *C.wasm_extern_vec_t

	// The host functions, their environments (one C array) and the handles
	// of their Go entries.
	hostFuncs   []*C.wasm_func_t
	envs        *C.aspect_wr_env
	hostHandles []cgo.Handle

	// frames are the contexts of the active calls, innermost last: the
	// outermost Function.Call, nested ones made from host functions, or
	// instantiation. Host functions get the innermost one.
	frames []context.Context
	// hostErr is the error of the host function that made the guest trap,
	// until the Function.Call around that guest code takes it.
	hostErr error

	funcs   map[string]*wrFunction
	globals map[string]*wrGlobal
	mem     *wrMemory
	memSet  bool // mem has been looked up
	caller  wrCaller

	// A cache of the memory's data pointer and size, valid until the guest
	// runs again (it may grow the memory).
	memValid bool
	memData  unsafe.Pointer
	memSize  uint64
}

// cacheLine is the cache-line size the objects an instance's calls read or
// write every time are allocated to fill whole lines of (see package
// cacheline for why): wrInstance, wrFunction, wrMemory, wrGlobal and
// hostEntry through the xxxLines types below, their small slices by their
// capacity, and the C objects (the functions' descriptors, the host
// functions' environments and result buffers) by aspect_alloc_lines
// (internal/cacheline/alloc_lines.h).
// TestCacheLineSizes pins the sizes.
const cacheLine = cacheline.Size

// The types below hold an object on cache lines of its own: their padding
// is derived from the object's size (there is no generic way: an array's
// length must be a constant), and comes first because a zero-size last
// field would add padding of its own.
type (
	instanceLines struct {
		_ [(cacheLine - unsafe.Sizeof(wrInstance{})%cacheLine) % cacheLine]byte
		wrInstance
	}
	functionLines struct {
		_ [(cacheLine - unsafe.Sizeof(wrFunction{})%cacheLine) % cacheLine]byte
		wrFunction
	}
	memoryLines struct {
		_ [(cacheLine - unsafe.Sizeof(wrMemory{})%cacheLine) % cacheLine]byte
		wrMemory
	}
	globalLines struct {
		_ [(cacheLine - unsafe.Sizeof(wrGlobal{})%cacheLine) % cacheLine]byte
		wrGlobal
	}
	hostEntryLines struct {
		_ [(cacheLine - unsafe.Sizeof(hostEntry{})%cacheLine) % cacheLine]byte
		hostEntry
	}
)

// framesCap is the capacity of an instance's frames to start with: 4
// contexts are 64 bytes, a line of their own (see cacheLine).
const framesCap = cacheLine / int(unsafe.Sizeof(context.Context(nil)))

// allocLines returns size bytes of zeroed C memory on cache lines of their
// own (see cacheLine), or nil if out of memory; free it with C.free.
func allocLines(size uintptr) unsafe.Pointer {
	return C.aspect_alloc_lines(C.size_t(size), cacheLine)
}

func newInstance(m *wrModule) *wrInstance {
	in := &(&instanceLines{wrInstance: wrInstance{mod: m, frames: make([]context.Context, 0, framesCap)}}).wrInstance
	in.caller.in = in
	return in
}

// enter pushes the context of a call.
func (in *wrInstance) enter(ctx context.Context) { in.frames = append(in.frames, ctx) }

// leave pops the context pushed by enter.
func (in *wrInstance) leave() {
	n := len(in.frames) - 1
	in.frames[n] = nil
	in.frames = in.frames[:n]
	in.memValid = false
}

// currentContext is the context of the innermost active call.
func (in *wrInstance) currentContext() context.Context {
	if n := len(in.frames); n > 0 {
		return in.frames[n-1]
	}
	return context.Background()
}

// trapError turns a trap from a call or from instantiation into the SPI's
// error: the host function's error if one caused it, else a *engine.Trap.
// It deletes the trap.
func (in *wrInstance) trapError(trap *C.wasm_trap_t) error {
	msg := takeText(C.aspect_wr_trap_take(trap))
	if err := in.hostErr; err != nil {
		in.hostErr = nil
		return err
	}
	if msg == hostTrapMessage {
		return fmt.Errorf("wasmer: a host function failed, but its error was lost")
	}
	return &engine.Trap{Code: trapCode(msg), Message: msg}
}

// release deletes every C object of the instance and the handles. The
// instance must not be running.
func (in *wrInstance) release() {
	if in.exports != nil {
		C.wasm_extern_vec_delete(in.exports)
		C.free(unsafe.Pointer(in.exports))
		in.exports = nil
	}
	for _, f := range in.funcs {
		f.free()
	}
	in.funcs = nil
	in.globals = nil
	in.mem = nil
	in.memValid = false
	if in.ptr != nil {
		C.wasm_instance_delete(in.ptr)
		in.ptr = nil
	}
	for _, f := range in.hostFuncs {
		C.wasm_func_delete(f)
	}
	in.hostFuncs = nil
	if in.envs != nil {
		for _, e := range unsafe.Slice(in.envs, len(in.mod.imports)) {
			C.free(unsafe.Pointer(e.results))
		}
		C.free(unsafe.Pointer(in.envs))
		in.envs = nil
	}
	for _, h := range in.hostHandles {
		h.Delete()
	}
	in.hostHandles = nil
	if in.store != nil {
		C.wasm_store_delete(in.store)
		in.store = nil
	}
	if in.gen != nil {
		in.gen.live.Add(-1)
		in.gen = nil
	}
}

// Close deletes the instance and everything it owns. It is idempotent.
// Closing an instance from inside one of its own host functions is refused.
func (in *wrInstance) Close(ctx context.Context) error {
	if len(in.frames) > 0 {
		return fmt.Errorf("wasmer: cannot close an instance while it is running")
	}
	in.release()
	return nil
}

// extern returns the export name if it is of kind k, or nil.
func (in *wrInstance) extern(name string, k engine.ExternKind) *C.wasm_extern_t {
	if in.ptr == nil {
		return nil
	}
	exp, i, ok := in.mod.export(name)
	if !ok || exp.Kind != k || i >= int(in.exports.size) {
		return nil
	}
	return unsafe.Slice(in.exports.data, int(in.exports.size))[i]
}

// Function returns the exported function name, or nil.
func (in *wrInstance) Function(name string) engine.Function {
	if f := in.function(name); f != nil {
		return f
	}
	return nil
}

func (in *wrInstance) function(name string) *wrFunction {
	if f, ok := in.funcs[name]; ok {
		return f
	}
	ext := in.extern(name, engine.ExternFunc)
	if ext == nil {
		return nil
	}
	fp := C.wasm_extern_as_func(ext)
	if fp == nil {
		return nil
	}
	exp, _, _ := in.mod.export(name)
	f := &(&functionLines{wrFunction: wrFunction{in: in, typ: exp.Type}}).wrFunction
	f.nparams, f.nresults = len(exp.Type.Params), len(exp.Type.Results)
	f.slots = max(f.nparams, f.nresults)
	f.desc = C.aspect_wr_fn_new(fp, cacheLine)
	if f.desc == nil {
		f.unsupported = fmt.Errorf("wasmer: function %s has type %s; only numeric values can be passed", name, exp.Type)
	}
	if in.funcs == nil {
		in.funcs = make(map[string]*wrFunction)
	}
	in.funcs[name] = f
	return f
}

// Memory returns the exported memory "memory", or nil.
func (in *wrInstance) Memory() engine.Memory {
	if m := in.memory(); m != nil {
		return m
	}
	return nil
}

func (in *wrInstance) memory() *wrMemory {
	if !in.memSet && in.ptr != nil {
		in.memSet = true
		if ext := in.extern("memory", engine.ExternMemory); ext != nil {
			if mp := C.wasm_extern_as_memory(ext); mp != nil {
				in.mem = &(&memoryLines{wrMemory: wrMemory{in: in, mem: mp}}).wrMemory
			}
		}
	}
	return in.mem
}

// Global returns the exported global name, or nil.
func (in *wrInstance) Global(name string) engine.Global {
	if g := in.global(name); g != nil {
		return g
	}
	return nil
}

func (in *wrInstance) global(name string) *wrGlobal {
	if g, ok := in.globals[name]; ok {
		return g
	}
	ext := in.extern(name, engine.ExternGlobal)
	if ext == nil {
		return nil
	}
	gp := C.wasm_extern_as_global(ext)
	if gp == nil {
		return nil
	}
	var mutable C.int
	kind := C.aspect_wr_global_kind(gp, &mutable)
	g := &(&globalLines{wrGlobal: wrGlobal{in: in, g: gp, kind: kind, typ: valueType(kind), mutable: mutable != 0}}).wrGlobal
	if in.globals == nil {
		in.globals = make(map[string]*wrGlobal)
	}
	in.globals[name] = g
	return g
}

// wrCaller is the instance as seen from inside one of its host functions.
type wrCaller struct{ in *wrInstance }

// Memory returns the caller's exported memory "memory", or nil.
func (c *wrCaller) Memory() engine.Memory { return c.in.Memory() }

// Function returns the caller's exported function name, or nil; calling it
// re-enters the guest.
func (c *wrCaller) Function(name string) engine.Function { return c.in.Function(name) }

// wrFunction is an exported function of one instance, with everything the
// call path needs cached: the shim's descriptor holds the wasm_func_t and
// the value kinds of the signature.
type wrFunction struct {
	in   *wrInstance
	desc *C.aspect_wr_fn // C memory, freed with the instance
	typ  engine.FuncType
	// slots is max(len(Params), len(Results)), the stack room a call needs.
	slots    int
	nparams  int
	nresults int
	// unsupported is set when the signature has a type the SPI cannot pass.
	unsupported error
}

func (f *wrFunction) free() {
	if f.desc != nil {
		C.free(unsafe.Pointer(f.desc))
		f.desc = nil
	}
}

// Type returns the function's signature.
func (f *wrFunction) Type() engine.FuncType { return f.typ }

// Call calls the function with one cgo crossing: the shim converts the raw
// params to wasm values on the C stack, calls wasm_func_call and converts
// the results back, 32-bit ones zero-extended.
func (f *wrFunction) Call(ctx context.Context, stack []uint64) error {
	in := f.in
	if in.ptr == nil || f.desc == nil && f.unsupported == nil {
		return errInstanceClosed
	}
	if f.unsupported != nil {
		return f.unsupported
	}
	if len(stack) < f.slots {
		return fmt.Errorf("wasmer: call of %s: stack has %d values, need %d", f.typ, len(stack), f.slots)
	}
	if ctx == nil {
		ctx = context.Background()
	} else if ctx.Done() != nil {
		// wasmer cannot stop a running guest, but it need not start one
		// for a call that is already over.
		if err := ctx.Err(); err != nil {
			return interruptedTrap(err)
		}
	}
	var sp *C.uint64_t
	if len(stack) > 0 {
		sp = (*C.uint64_t)(unsafe.Pointer(unsafe.SliceData(stack)))
	}
	in.enter(ctx)
	trap := C.aspect_wr_call(f.desc, sp)
	in.leave()
	// The descriptor and the instance's C objects are freed only by Close,
	// never by a finalizer; keep the Go side reachable through the call
	// all the same, so that adding a cleanup later cannot free them early.
	runtime.KeepAlive(f)
	runtime.KeepAlive(in)
	if trap != nil {
		return in.trapError(trap)
	}
	return nil
}

// wrMemory is the exported memory "memory" of one instance. Its data pointer
// and size are cached on the instance until the guest runs again.
type wrMemory struct {
	in  *wrInstance
	mem *C.wasm_memory_t
}

// view returns the memory's data and size, or (nil, 0) once the instance is
// closed.
func (m *wrMemory) view() (unsafe.Pointer, uint64) {
	in := m.in
	if in.memValid {
		return in.memData, in.memSize
	}
	if in.ptr == nil {
		return nil, 0
	}
	v := C.aspect_wr_memory(m.mem)
	in.memData, in.memSize, in.memValid = unsafe.Pointer(v.data), uint64(v.size), true
	return in.memData, in.memSize
}

// Size returns the current size in bytes (at most math.MaxUint32: a full
// 4 GiB memory reports one byte less).
func (m *wrMemory) Size() uint32 {
	_, size := m.view()
	return uint32(min(size, math.MaxUint32))
}

// Read returns length bytes at offset, aliasing the memory, or false if any
// is out of range.
func (m *wrMemory) Read(offset, length uint32) ([]byte, bool) {
	data, size := m.view()
	if uint64(offset)+uint64(length) > size {
		return nil, false
	}
	if length == 0 {
		return []byte{}, true
	}
	return unsafe.Slice((*byte)(unsafe.Add(data, offset)), length), true
}

// Write copies data to offset, or returns false (writing nothing) if any
// byte would be out of range.
func (m *wrMemory) Write(offset uint32, data []byte) bool {
	base, size := m.view()
	if uint64(offset)+uint64(len(data)) > size {
		return false
	}
	if len(data) > 0 {
		copy(unsafe.Slice((*byte)(unsafe.Add(base, offset)), len(data)), data)
	}
	return true
}

// wrGlobal is an exported global of an instance (engine.Global). Values use
// the raw encoding of engine.Function.Call: i32 as uint64(uint32(x)), i64 as
// uint64(x), f32 and f64 as their IEEE bits, zero-extended. It is valid
// until its instance is closed; after that Get returns 0 and Set does
// nothing.
type wrGlobal struct {
	in      *wrInstance
	g       *C.wasm_global_t // borrowed from the instance's export vector
	kind    C.wasm_valkind_t
	typ     engine.ValueType
	mutable bool
}

// Type returns the global's value type.
func (g *wrGlobal) Type() engine.ValueType { return g.typ }

// Get returns the global's current value.
func (g *wrGlobal) Get() uint64 {
	if g.in.ptr == nil || !numeric(g.typ) {
		return 0
	}
	v := uint64(C.aspect_wr_global_get(g.g))
	runtime.KeepAlive(g)
	return v
}

// Set sets the global's value. Setting an immutable global (or a global of
// a closed instance, or of a reference type) does nothing: it neither
// changes the value nor fails.
func (g *wrGlobal) Set(v uint64) {
	if !g.mutable || g.in.ptr == nil || !numeric(g.typ) {
		return
	}
	C.aspect_wr_global_set(g.g, g.kind, C.uint64_t(v))
	runtime.KeepAlive(g)
}
