//go:build cgo && !wazero && !wasmer

package wasmtime

// #include "shim.h"
import "C"

import (
	"context"
	"fmt"
	"math"
	"runtime/cgo"
	"strings"
	"unsafe"

	"github.com/aspect-rt/aspect-runtime/internal/cacheline"
	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// frame is one active call into the instance: the outermost Function.Call,
// a nested one made from a host function, or instantiation.
type frame struct {
	ctx context.Context
	// watched: ctx can be cancelled and the call is counted by the
	// engine's epoch ticker.
	watched bool
}

// wtInstance is one instance in its own store. It is not safe for concurrent
// use (the runtime serializes calls), but it is re-entrant: host functions
// may call back into it.
type wtInstance struct {
	mod   *wtModule
	store *C.wasmtime_store_t // nil once closed
	cctx  *C.wasmtime_context_t
	inst  C.wasmtime_instance_t

	// handle refers to the instance from the store's epoch deadline
	// callback; hostHandles to the host function entries.
	handle      cgo.Handle
	hostHandles []cgo.Handle

	// frames are the active calls, innermost last. The host functions get
	// the innermost frame's context; the epoch callback checks all of them.
	frames []frame
	// hostErr is the error of the host function that made the guest trap,
	// until the Function.Call around that guest code takes it.
	hostErr error
	// interrupted is set by the epoch callback when it stops the guest,
	// with the context's error.
	interrupted  bool
	interruptErr error

	funcs   map[string]*wtFunction
	globals map[string]*wtGlobal
	mem     *wtMemory
	memSet  bool // mem has been looked up
	caller  wtCaller

	// The memory's base pointer and its size when last read from wasmtime
	// (see wtMemory); memValid: the size is current, the guest has not run
	// since.
	memValid bool
	memData  unsafe.Pointer
	memSize  uint64
	// Read and written at every call: on cache lines of its own (see
	// cacheLine).
	_ [56]byte
}

// cacheLine is the cache-line size the objects an instance's calls read
// or write every time (wtInstance, wtFunction, wtGlobal, wtMemory,
// hostEntry and their small slices, and each function's C call block) are
// padded to (see package cacheline for why).
const cacheLine = cacheline.Size

func newInstance(m *wtModule) *wtInstance {
	in := &wtInstance{mod: m, frames: make([]frame, 0, 8)} // 8 frames: 192 bytes, lines of their own (see cacheLine)
	in.caller.in = in
	in.handle = cgo.NewHandle(in)
	return in
}

// enter pushes a frame for ctx; a context that can be cancelled is watched
// by the engine's epoch ticker until leave.
func (in *wtInstance) enter(ctx context.Context) {
	watched := ctx.Done() != nil
	if watched {
		in.mod.eng.watch()
	}
	in.frames = append(in.frames, frame{ctx: ctx, watched: watched})
}

// leave pops the frame pushed by enter.
func (in *wtInstance) leave() {
	n := len(in.frames) - 1
	if in.frames[n].watched {
		in.mod.eng.unwatch()
	}
	in.frames[n] = frame{}
	in.frames = in.frames[:n]
	in.memValid = false
}

// currentContext is the context of the innermost active call.
func (in *wtInstance) currentContext() context.Context {
	if n := len(in.frames); n > 0 {
		return in.frames[n-1].ctx
	}
	return context.Background()
}

// epochDeadline is called by the store's epoch deadline callback. It reports
// whether the guest must stop because one of its active calls' contexts is
// done.
func (in *wtInstance) epochDeadline() bool {
	for i := range in.frames {
		if err := in.frames[i].ctx.Err(); err != nil {
			in.interrupted = true
			in.interruptErr = err
			return true
		}
	}
	return false
}

// callError turns the failed outcome of a call (or instantiation) into the
// SPI's error: an interruption, the host function's error, or a trap.
func (in *wtInstance) callError(st C.aspect_wt_status, op string) error {
	msg := takeMessage(st)
	if in.interrupted {
		err := in.interruptErr
		in.interrupted, in.interruptErr, in.hostErr = false, nil, nil
		return interruptedTrap(err)
	}
	if err := in.hostErr; err != nil {
		in.hostErr = nil
		return err
	}
	if msg.hasCode {
		return &engine.Trap{Code: trapCode(msg.code), Message: trapMessage(msg.text)}
	}
	if st.trap != nil {
		return &engine.Trap{Code: engine.TrapUnknown, Message: trapMessage(msg.text)}
	}
	return fmt.Errorf("wasmtime: %s: %s", op, errorMessage(msg.text))
}

// errorMessage puts wasmtime's multi-line error description ("context",
// blank line, "Caused by:", indented causes) on one line.
func errorMessage(text string) string {
	text = strings.ReplaceAll(text, "\n\nCaused by:", ":")
	return strings.Join(strings.Fields(text), " ")
}

// trapMessage shortens wasmtime's trap description (the trap, a wasm
// backtrace and the cause) to the cause, e.g. "call stack exhausted".
func trapMessage(text string) string {
	const causedBy = "Caused by:"
	if i := strings.LastIndex(text, causedBy); i >= 0 {
		cause := strings.TrimSpace(text[i+len(causedBy):])
		if j := strings.IndexByte(cause, '\n'); j >= 0 {
			cause = strings.TrimSpace(cause[:j])
		}
		if cause != "" {
			text = cause
		}
	}
	return strings.TrimPrefix(text, "wasm trap: ")
}

// release frees the store and the handles. The instance must not be running.
func (in *wtInstance) release() {
	if in.store != nil {
		C.wasmtime_store_delete(in.store)
		in.store = nil
		in.cctx = nil
	}
	if in.handle != 0 {
		in.handle.Delete()
		in.handle = 0
	}
	for _, h := range in.hostHandles {
		h.Delete()
	}
	in.hostHandles = nil
	for _, f := range in.funcs {
		C.free(unsafe.Pointer(f.block))
		f.block, f.bstack = nil, nil
	}
	in.funcs = nil
	in.globals = nil
	in.mem = nil
	in.memValid, in.memData, in.memSize = false, nil, 0
}

// Close deletes the instance's store. It is idempotent. Closing an instance
// from inside one of its own host functions is refused.
func (in *wtInstance) Close(ctx context.Context) error {
	if len(in.frames) > 0 {
		return fmt.Errorf("wasmtime: cannot close an instance while it is running")
	}
	in.release()
	return nil
}

// Function returns the exported function name, or nil.
func (in *wtInstance) Function(name string) engine.Function {
	if f := in.function(name); f != nil {
		return f
	}
	return nil
}

func (in *wtInstance) function(name string) *wtFunction {
	if in.store == nil {
		return nil
	}
	if f, ok := in.funcs[name]; ok {
		return f
	}
	exp, ok := in.mod.export(name)
	if !ok || exp.Kind != engine.ExternFunc {
		return nil
	}
	var fn C.wasmtime_func_t
	var mem C.wasmtime_memory_t
	var glob C.wasmtime_global_t
	kind := C.aspect_wt_export_get(in.cctx, &in.inst, cString(name), C.size_t(len(name)), &fn, &mem, &glob)
	if kind != C.WASMTIME_EXTERN_FUNC {
		return nil
	}
	f := &wtFunction{in: in, typ: exp.Type}
	f.init()
	f.block = C.aspect_wt_call_block_new(in.cctx, &fn, C.size_t(f.nparams), C.size_t(f.nresults), cacheLine)
	if f.block == nil {
		return nil
	}
	f.bstack = unsafe.Slice((*uint64)(unsafe.Pointer(f.block.stack)), max(f.slots, 1))
	if in.funcs == nil {
		in.funcs = make(map[string]*wtFunction)
	}
	in.funcs[name] = f
	return f
}

// Memory returns the exported memory "memory", or nil.
func (in *wtInstance) Memory() engine.Memory {
	if m := in.memory(); m != nil {
		return m
	}
	return nil
}

func (in *wtInstance) memory() *wtMemory {
	if in.store == nil {
		return nil
	}
	if !in.memSet {
		in.memSet = true
		const name = "memory"
		if exp, ok := in.mod.export(name); ok && exp.Kind == engine.ExternMemory {
			m := &(&struct { // a line of its own (see cacheLine)
				wtMemory
				_ [cacheLine - unsafe.Sizeof(wtMemory{})]byte
			}{wtMemory: wtMemory{in: in}}).wtMemory
			var fn C.wasmtime_func_t
			var glob C.wasmtime_global_t
			kind := C.aspect_wt_export_get(in.cctx, &in.inst, cString(name), C.size_t(len(name)), &fn, &m.mem, &glob)
			if kind == C.WASMTIME_EXTERN_MEMORY {
				in.mem = m
			}
		}
	}
	return in.mem
}

// Global returns the exported global name, or nil. Globals of reference or
// vector type read as 0 and ignore Set.
func (in *wtInstance) Global(name string) engine.Global {
	if in.store == nil {
		return nil
	}
	if g, ok := in.globals[name]; ok {
		return g
	}
	info, ok := in.mod.globals[name]
	if !ok {
		return nil
	}
	g := &wtGlobal{in: in, info: info}
	var fn C.wasmtime_func_t
	var mem C.wasmtime_memory_t
	kind := C.aspect_wt_export_get(in.cctx, &in.inst, cString(name), C.size_t(len(name)), &fn, &mem, &g.g)
	if kind != C.WASMTIME_EXTERN_GLOBAL {
		return nil
	}
	if in.globals == nil {
		in.globals = make(map[string]*wtGlobal)
	}
	in.globals[name] = g
	return g
}

// wtGlobal is an exported global of one instance.
type wtGlobal struct {
	in   *wtInstance
	g    C.wasmtime_global_t
	info globalInfo
	// Read by every Reset: a cache line of its own (see cacheLine).
	_ [24]byte
}

// Type returns the global's value type.
func (g *wtGlobal) Type() engine.ValueType { return g.info.typ }

// Get returns the current value as a raw value, or 0 once the instance is
// closed.
func (g *wtGlobal) Get() uint64 {
	if g.in.store == nil {
		return 0
	}
	return uint64(C.aspect_wt_global_get(g.in.cctx, g.g))
}

// Set changes the value. It does nothing on an immutable global or once the
// instance is closed.
func (g *wtGlobal) Set(v uint64) {
	if g.in.store == nil || !g.info.mutable || !numeric(g.info.typ) {
		return
	}
	C.aspect_wt_global_set(g.in.cctx, g.g, g.info.kind, C.uint64_t(v))
}

// cString points at s's bytes for the duration of a cgo call (not NUL
// terminated; always passed with its length).
func cString(s string) *C.char {
	return (*C.char)(unsafe.Pointer(unsafe.StringData(s)))
}

// wtCaller is the instance as seen from inside one of its host functions.
type wtCaller struct{ in *wtInstance }

// Memory returns the caller's exported memory "memory", or nil.
func (c *wtCaller) Memory() engine.Memory { return c.in.Memory() }

// Function returns the caller's exported function name, or nil; calling it
// re-enters the guest.
func (c *wtCaller) Function(name string) engine.Function { return c.in.Function(name) }

// wtFunction is an exported function of one instance, with everything the
// call path needs cached.
type wtFunction struct {
	in *wtInstance
	// block holds the store context, the wasmtime_func_t and the value
	// stack of a call, in C memory; bstack is its stack.
	block  *C.aspect_wt_call_block
	bstack []uint64
	typ    engine.FuncType
	// slots is max(len(Params), len(Results)), the stack room a call needs.
	slots    int
	nparams  int
	nresults int
	// res32 marks the results whose raw value is 32 bits wide (i32, f32):
	// their upper half is cleared after the call.
	res32 []bool
	// unsupported is set when the signature has a type the SPI cannot pass.
	unsupported error
	// Read at every call: on cache lines of its own (see cacheLine).
	_ [40]byte
}

func (f *wtFunction) init() {
	f.nparams, f.nresults = len(f.typ.Params), len(f.typ.Results)
	f.slots = max(f.nparams, f.nresults)
	for _, t := range f.typ.Params {
		if !numeric(t) {
			f.unsupported = fmt.Errorf("wasmtime: function type %s has a non-numeric parameter", f.typ)
		}
	}
	f.res32 = make([]bool, f.nresults, max(f.nresults, cacheLine))[:f.nresults] // a line of its own (see cacheLine)
	for i, t := range f.typ.Results {
		if !numeric(t) {
			f.unsupported = fmt.Errorf("wasmtime: function type %s has a non-numeric result", f.typ)
		}
		f.res32[i] = t == engine.I32 || t == engine.F32
	}
}

func numeric(t engine.ValueType) bool {
	return t == engine.I32 || t == engine.I64 || t == engine.F32 || t == engine.F64
}

// Type returns the function's signature.
func (f *wtFunction) Type() engine.FuncType { return f.typ }

// Call calls the function with one cgo crossing that passes no Go pointer:
// the params are copied to the function's C call block, the shim moves them
// into a raw value buffer on the C stack and calls
// wasmtime_func_call_unchecked, and the results come back the same way.
func (f *wtFunction) Call(ctx context.Context, stack []uint64) error {
	in := f.in
	if in.store == nil {
		return errInstanceClosed
	}
	if len(stack) < f.slots {
		return fmt.Errorf("wasmtime: call of %s: stack has %d values, need %d", f.typ, len(stack), f.slots)
	}
	if f.unsupported != nil {
		return f.unsupported
	}
	if ctx == nil {
		ctx = context.Background()
	}
	if ctx.Done() != nil {
		if err := ctx.Err(); err != nil {
			return interruptedTrap(err)
		}
	}
	copy(f.bstack, stack[:f.nparams])
	in.enter(ctx)
	st := C.aspect_wt_call(C.uintptr_t(uintptr(unsafe.Pointer(f.block))))
	in.leave()
	if st.err != nil || st.trap != nil {
		return in.callError(st, "call")
	}
	for i, is32 := range f.res32 {
		v := f.bstack[i]
		if is32 {
			v &= math.MaxUint32
		}
		stack[i] = v
	}
	return nil
}

// wtMemory is the exported memory "memory" of one instance.
//
// Its base pointer and a lower bound of its size are cached on the
// instance: the engine is configured so that memories never move
// (memory_may_move off, 4 GiB reservation) and wasm memories never shrink, so
// an access within the cached size needs no cgo call; only an access past it
// (or Size after the guest ran) asks wasmtime again.
type wtMemory struct {
	in  *wtInstance
	mem C.wasmtime_memory_t
}

// refresh reads the memory's base and size from wasmtime; ok is false once
// the instance is closed.
func (m *wtMemory) refresh() (ok bool) {
	in := m.in
	if in.store == nil {
		return false
	}
	v := C.aspect_wt_memory(in.cctx, m.mem)
	in.memData, in.memSize, in.memValid = unsafe.Pointer(v.data), uint64(v.size), true
	return true
}

// span returns the memory at [offset, offset+length), or ok false if any of
// it is out of range.
func (m *wtMemory) span(offset, length uint32) (p unsafe.Pointer, ok bool) {
	in := m.in
	end := uint64(offset) + uint64(length)
	if end > in.memSize || in.store == nil {
		if in.memValid || !m.refresh() || end > in.memSize {
			return nil, false
		}
	}
	return unsafe.Add(in.memData, offset), true
}

// Size returns the current size in bytes (at most math.MaxUint32: a full
// 4 GiB memory reports one byte less).
func (m *wtMemory) Size() uint32 {
	if !m.in.memValid && !m.refresh() {
		return 0
	}
	return uint32(min(m.in.memSize, math.MaxUint32))
}

// Read returns length bytes at offset, aliasing the memory, or false if any
// is out of range.
func (m *wtMemory) Read(offset, length uint32) ([]byte, bool) {
	p, ok := m.span(offset, length)
	if !ok {
		return nil, false
	}
	if length == 0 {
		return []byte{}, true
	}
	return unsafe.Slice((*byte)(p), length), true
}

// Write copies data to offset, or returns false (writing nothing) if any
// byte would be out of range.
func (m *wtMemory) Write(offset uint32, data []byte) bool {
	if uint64(len(data)) > math.MaxUint32 {
		return false
	}
	p, ok := m.span(offset, uint32(len(data)))
	if !ok {
		return false
	}
	if len(data) > 0 {
		copy(unsafe.Slice((*byte)(p), len(data)), data)
	}
	return true
}
