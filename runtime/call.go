package runtime

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf16"
	"unsafe"

	"github.com/aspect-rt/aspect-runtime/abi"
	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// runtimeState is the state of a Runtime's instance (see Runtime).
type runtimeState struct {
	module     *Module
	ownsModule bool
	cfg        config
	inst       engine.Instance
	mem        engine.Memory

	mu      sync.Mutex
	closed  bool
	exports map[string]*export
	// lastName and lastExport repeat the last export lookup found, so that
	// calling the same export again skips the map; instantiate clears them
	// with exports.
	lastName   string
	lastExport *export
	alloc      engine.Function
	allocOK    bool // alloc looked up and type-checked
	stack      []uint64
	buf        []byte
	offs       []int
	// pending is the first error raised by a host function (or env.abort)
	// during the current call; it explains the engine's abort of the guest.
	pending error
	curFunc string
	// fault is the error of the last call that failed inside the guest;
	// faultView mirrors it for Fault, which does not take the lock.
	fault     error
	faultView atomic.Pointer[error]
	// hostDepth counts the host functions of this runtime running now
	// (nested when a host function re-enters the guest, e.g. its allocate).
	hostDepth int
	// withAPIs: the instance imports functions of a HostAPIRegistry, which
	// may call back into the runtime (see acquire).
	withAPIs bool
	// exclusive: the runtime's owner runs one operation on it at a time
	// and lends no handle on it, so acquire and release skip mu (set by
	// a pool for its Pool.Call: see internal/exclusive).
	exclusive bool
	// hostBufs are the host functions' result buffers, one per nesting
	// level (see hostCaller.call), hostArgs their argument lists.
	hostBufs [][]byte
	hostArgs [][][]byte
	// allocStack is allocate's stack per host nesting level (see write).
	allocStack [maxHostNesting + 1][1]uint64
	unlockFn   func() // r.release, for callRaw's callers
	// lastCallCtx is the last context made for a call (see callContext).
	lastCallCtx *callContext
	host        []engine.HostFunc
	// shape is the shape of the registry the imports were resolved
	// against; bound is the view whose functions the host calls run now
	// (nil once unbound, see Bind): import slot i calls bound.apis[i].
	shape RegistryShape
	bound atomic.Pointer[registryView]
	wasi  *wasiState // the instance's WASI state, with WithWASI (wasi.go)
	gas   *gasState  // nil unless the module is metered
	// depth is the call-depth and stack-slot counter of an unmetered
	// module's safety instrumentation (nil with WithTrustedCode): back to 0
	// after every call that returns, reset after one that fails.
	depth engine.Global
	snap  *snapshot // the post-start state Reset restores (snapshot.go)
	// dirty records the pages of memory written since the snapshot, when
	// the module tracks them (snapshot.go); nil otherwise.
	dirty *dirtyState

	// callHandle is the handle the call in progress came through when
	// that handle carries its own binding (HandleCell.OpenBound): the
	// call's host functions run the handle's registry, not bound's. Set
	// by acquire and cleared by release, under mu, so that an instance
	// between calls keeps no reference to it.
	callHandle *handle
	// callView is the registry view of the call in progress when it was
	// made by CallWith: its host functions run callView's, not bound's
	// nor the handle's. Set by callHeld and cleared by release (or unlock),
	// under mu, like callHandle.
	callView *registryView
}

// handle is what a Runtime made by Handle refers to.
type handle struct {
	core *Runtime
	// flags holds revokedFlag once the handle is revoked (Close,
	// HandleCell.Revoke and Release, the end of a warm-up) and
	// releasedFlag once HandleCell.Release was called: one word, so that
	// a Release is one atomic operation. childFlag is set from the start
	// on a childHandle.
	flags atomic.Uint32
	// rt is the Runtime value Handle returns: allocated with the handle,
	// so that a lease costs one allocation less.
	rt Runtime
	// warm is set on the handles of a warm-up (see WithWarmup, warmup.go),
	// which run while the instantiation holds the instance's lock.
	warm *warmState
	// view is the handle's own binding, on a handle opened by
	// HandleCell.OpenBound: nil on other handles, unboundView once
	// unbound.
	view atomic.Pointer[registryView]
}

// unboundView is the view of a handle with its own binding that was
// unbound (see Runtime.Unbind): its host functions fail with ErrUnbound.
var unboundView = &registryView{}

// binding returns the handle's own binding: nil if it has none (its
// calls use the instance's), unboundView once unbound.
func (hd *handle) binding() *registryView { return hd.view.Load() }

// revoke revokes the handle.
func (hd *handle) revoke() { hd.flags.Or(revokedFlag) }

// Flags of handle.flags.
const (
	revokedFlag = 1 << iota
	releasedFlag
	// childFlag: the handle is a childHandle, made by Handle from another
	// handle, and revoked with it.
	childFlag
)

// childHandle is a handle made by Handle from another handle, parent: it
// is revoked when parent is, so that a handle made from a lease's runtime
// ends with the lease. A handle field of its own would make every handle,
// and so every pool Lease, a word longer: childFlag marks a handle that is
// the first field of a childHandle.
type childHandle struct {
	handle
	parent *handle
}

// isRevoked reports whether the handle, or the handle it was made from,
// was revoked.
func (hd *handle) isRevoked() bool {
	for {
		f := hd.flags.Load()
		if f&revokedFlag != 0 {
			return true
		}
		if f&childFlag == 0 {
			return false
		}
		hd = (*childHandle)(unsafe.Pointer(hd)).parent
	}
}

// Handle returns a new Runtime value for r's instance and a function that
// revokes it. Until revoked, the handle calls, resets and reports on r's
// instance like r itself; afterwards every operation on it fails with
// ErrClosed, even one that was waiting for a call in progress, and Close on
// it only revokes it (the instance stays r's). A handle made from a handle
// is revoked with it too. A pool lends handles, so that a runtime kept
// past its lease, or any handle made from it, can never reach the
// instance's next user.
func (r *Runtime) Handle() (h *Runtime, revoke func()) {
	c := r.core()
	var hd *handle
	if r.lent != nil && r.lent.warm == nil {
		ch := &childHandle{handle: handle{core: c}, parent: r.lent}
		ch.flags.Store(childFlag)
		hd = &ch.handle
	} else {
		hd = &handle{core: c}
		if r.lent != nil {
			hd.warm = r.lent.warm // a handle of a warm-up ends with it
		}
	}
	hd.rt.lent = hd
	return &hd.rt, hd.revoke
}

// core returns the Runtime that owns the instance r refers to.
func (r *Runtime) core() *Runtime {
	if r.lent != nil {
		return r.lent.core
	}
	return r
}

// export is a cached exported function with its ABI shape.
type export struct {
	fn        engine.Function
	params    int
	hasResult bool
	raw       bool // looked up for CallWasm: any numeric signature
}

// maxHostNesting bounds how deeply host functions and the guest may call
// each other within one call (guest -> host -> guest allocate -> host ...):
// deeper chains fail with ErrCallDepth, on every engine, long before any
// engine's native stack (or Go's) could overflow.
const maxHostNesting = 64

// Engine returns the name of the engine running the instance.
func (r *Runtime) Engine() string { return r.core().module.engineName }

// Module returns the compiled module the runtime was instantiated from.
func (r *Runtime) Module() *Module { return r.core().module }

// Fault returns the error that may have left the instance in an undefined
// state: the last call trapped, aborted, ran out of time, had a host
// function fail, or broke the ABI. It is nil for a healthy instance and after
// Reset. Errors the runtime caught before entering the guest (a missing
// export, a bad argument) are not faults. Fault does not wait for a call in
// progress: it may be called from anywhere, host functions included.
func (r *Runtime) Fault() error {
	if p := r.core().faultView.Load(); p != nil {
		return *p
	}
	return nil
}

// setFault records err (nil to clear) as the instance's fault. r.mu is held.
func (r *Runtime) setFault(err error) error {
	r.fault = err
	if err == nil {
		r.faultView.Store(nil)
	} else {
		// A copy of its own, so that err itself does not escape: a nil
		// fault (every Reset) allocates nothing.
		e := err
		r.faultView.Store(&e)
	}
	return err
}

// inCallKey is the context key under which a callContext answers.
type inCallKey struct{}

// callContext is the context a runtime passes to its engine for a call, and
// so to its host functions: the caller's context, marked with the runtime,
// so that a host function calling back into it is detected (see acquire).
type callContext struct {
	context.Context
	rt *Runtime
	// plainEq: comparing the context with == cannot panic (its type is a
	// pointer, or has no interface, slice, map or func in it), so
	// callContext compares without sameContext's deferred recover.
	plainEq bool
}

// Value implements context.Context.
func (c *callContext) Value(key any) any {
	if key == (inCallKey{}) {
		return c
	}
	return c.Context.Value(key)
}

// callContext returns ctx marked as a call of r, reusing the last one made
// when ctx is the same context (a callContext never changes once made, so a
// host function that keeps it sees the same one).
func (r *Runtime) callContext(ctx context.Context) context.Context {
	if c := r.lastCallCtx; c != nil {
		// The same interface words are the same context, whatever its
		// type, without ==, which calls into the runtime for most context
		// types (and panics for some). Otherwise, with plainEq, == panics
		// neither for another dynamic type (never equal) nor for the same
		// one.
		if sameWords(c.Context, ctx) || c.plainEq && c.Context == ctx || !c.plainEq && sameContext(c.Context, ctx) {
			return c
		}
	}
	c := &callContext{Context: ctx, rt: r, plainEq: plainComparable(reflect.TypeOf(ctx))}
	r.lastCallCtx = c
	return c
}

// plainComparable reports whether == on values of type t never panics.
func plainComparable(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Interface, reflect.Slice, reflect.Map, reflect.Func:
		return false
	case reflect.Struct:
		for i := range t.NumField() {
			if !plainComparable(t.Field(i).Type) {
				return false
			}
		}
	case reflect.Array:
		return plainComparable(t.Elem())
	}
	return true
}

// sameWords reports whether a and b hold the same dynamic type and the
// same data word: then they are the same value (the data word of a
// non-pointer type points to an immutable copy), although equal contexts
// may have different words.
func sameWords(a, b context.Context) bool {
	// Word by word: == on the arrays would call memequal.
	pa, pb := (*[2]unsafe.Pointer)(unsafe.Pointer(&a)), (*[2]unsafe.Pointer)(unsafe.Pointer(&b))
	return pa[0] == pb[0] && pa[1] == pb[1]
}

// sameContext reports whether a and b are the same context, without
// panicking on a context type that is not comparable.
func sameContext(a, b context.Context) (same bool) {
	defer func() {
		if recover() != nil {
			same = false
		}
	}()
	return a == b
}

// runningIn reports whether ctx is (derived from) the context of a call r is
// running.
func runningIn(ctx context.Context, r *Runtime) bool {
	for {
		c, _ := ctx.Value(inCallKey{}).(*callContext)
		if c == nil {
			return false
		}
		if c.rt == r {
			return true
		}
		ctx = c.Context
	}
}

// errNilContext is returned for a nil context.
var errNilContext = fmt.Errorf("%w: nil context.Context", ErrInvalidArgument)

// acquire locks the Runtime that owns r's instance for an operation on
// behalf of ctx and returns it. It fails, without waiting, with
// ErrReentrant when ctx belongs to a call that runtime is running (a host
// function calling back into its own runtime would wait for itself), and
// with ErrClosed once it is closed or r is a revoked handle.
func (r *Runtime) acquire(ctx context.Context, op string) (*Runtime, error) {
	if ctx == nil {
		return nil, errNilContext
	}
	if r == nil || r.lent == nil && r.runtimeState == nil {
		// A nil *Runtime or a zero Runtime, never instantiated.
		return nil, ErrClosed
	}
	c := r.core()
	if r.lent == nil && c.exclusive {
		if c.closed {
			return nil, ErrClosed
		}
		return c, nil
	}
	if r.lent != nil {
		if r.lent.isRevoked() {
			return nil, ErrClosed
		}
		if r.lent.warm != nil {
			return r.lent.warm.acquire(c, op)
		}
	}
	if !c.mu.TryLock() {
		if runningIn(ctx, c) {
			return nil, &ReentrantError{Op: op}
		}
		c.mu.Lock()
	}
	// Revoked first: a revoked handle reads nothing of the instance's, which
	// its owner may be using without the lock (see exclusive).
	if r.lent != nil && r.lent.isRevoked() || c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	if r.lent != nil && r.lent.binding() != nil {
		c.callHandle = r.lent
	}
	return c, nil
}

// unlock undoes r's acquire, which returned c.
func (r *Runtime) unlock(c *Runtime) {
	if r.lent != nil && r.lent.warm != nil {
		c.callView = nil
		r.lent.warm.mu.Unlock()
		return
	}
	c.release()
}

// release unlocks c, locked by acquire, dropping the call's handle.
func (c *Runtime) release() {
	// Each stored only when set: a pointer store costs a write barrier
	// while the collector marks.
	if c.callHandle != nil {
		c.callHandle = nil
	}
	if c.callView != nil {
		c.callView = nil
	}
	if !c.exclusive {
		c.mu.Unlock()
	}
}

// Reset returns the instance to the state it had right after instantiation
// (start code run, and the warm-up of WithWarmup if given; no other call
// made), discarding all guest state. When it can, it restores a snapshot of
// the instance's memory and globals taken after start, far cheaper than a
// new instance; otherwise (the module changes tables or drops segments, the
// memory grew, ...) it re-instantiates, running the start code and the
// warm-up again under ctx (see WithStartGas).
//
// Snapshots are taken once they are useful: the first Reset of any
// instance of a Module re-instantiates, and from then on every new instance
// of the Module (this one included) records its post-start state. So a
// runtime that is never reset pays nothing for it, and a pool pays one
// re-instantiation per instance it had before its first reset. Instances
// whose post-start memory is the same (deterministic start code: for a
// WASI guest, a fixed wasi.Config.Random and a FakeClock) share one copy of
// it; otherwise each keeps its own.
func (r *Runtime) Reset(ctx context.Context) error {
	r, err := r.acquire(ctx, "Reset")
	if err != nil {
		return err
	}
	defer r.release()
	if r.restoreSnapshot(ctx) {
		return nil
	}
	r.module.snapshots.Store(true)
	if r.inst != nil {
		inst := r.inst
		r.inst, r.mem = nil, nil
		if err := inst.Close(ctx); err != nil {
			return err
		}
	}
	return r.instantiate(ctx)
}

// Registry returns the host API registry whose functions the runtime's
// imports call: the one it was instantiated with, or the last one bound to
// it (see Bind); nil if none.
func (r *Runtime) Registry() *HostAPIRegistry {
	v := r.core().bound.Load()
	if r.lent != nil {
		if hv := r.lent.binding(); hv != nil {
			v = hv
		}
	}
	if v != nil && v != unboundView {
		return v.reg
	}
	return nil
}

// Close releases the instance, and the module if the runtime was created by
// New. It is idempotent; calls after Close return ErrClosed. A nil ctx is
// taken as context.Background(). On a handle (see Handle), Close revokes
// the handle only.
func (r *Runtime) Close(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if r == nil {
		return nil
	}
	if r.lent != nil {
		if r.lent.warm != nil && !r.lent.warm.ended() {
			return &ReentrantError{Op: "Close", warmup: true}
		}
		r.lent.revoke()
		return nil
	}
	r, err := r.acquire(ctx, "Close")
	if err != nil {
		if errors.Is(err, ErrClosed) {
			return nil
		}
		return err
	}
	defer r.release()
	r.closed = true
	if r.inst != nil {
		err = r.inst.Close(ctx)
		r.inst, r.mem = nil, nil
	}
	err = errors.Join(err, r.module.release(ctx, r.ownsModule))
	return err
}

// Call calls the guest export method with args, each encoded with the ABI
// codec, and returns the decoded result in its generic form (see
// abi.Decode), or nil if the guest returned no result.
func (r *Runtime) Call(ctx context.Context, method string, args ...any) (any, error) {
	return r.callDecoded(ctx, nil, method, args)
}

// callDecoded is Call, with the call's own binding view if not nil (CallWith).
func (r *Runtime) callDecoded(ctx context.Context, view *registryView, method string, args []any) (any, error) {
	c, raw, err := r.callHeld(ctx, view, method, args)
	if err != nil || raw == nil {
		return nil, err
	}
	v, err := abi.Decode(raw) // does not panic: no deferred unlock needed
	if err != nil {
		err = c.consumeAllOnFailure(ctx, &ABIError{Func: method, Detail: "result", Err: err})
		r.unlock(c)
		return nil, err
	}
	r.unlock(c)
	return v, nil
}

// CallInto is Call, decoding the result into out, which must be a non-nil
// pointer (see abi.Unmarshal for the conversions). If the guest returns no
// result, *out is set to its zero value.
func (r *Runtime) CallInto(ctx context.Context, out any, method string, args ...any) (err error) {
	ov := reflect.ValueOf(out)
	if ov.Kind() != reflect.Pointer || ov.IsNil() {
		return &ArgumentError{Func: method, Index: -1, Err: fmt.Errorf("%w: CallInto needs a non-nil pointer, got %T", abi.ErrUnsupportedType, out)}
	}
	raw, release, err := r.callRaw(ctx, method, args)
	if err != nil {
		return err
	}
	if raw == nil {
		ov.Elem().SetZero()
		return nil
	}
	// One deferred call, which the compiler open-codes (three were not).
	defer func() {
		// The result's own UnmarshalABI may panic: that is the caller's
		// type failing, reported like an argument that cannot be decoded.
		if p := recover(); p != nil {
			err = &ArgumentError{Func: method, Index: -1, Err: &PanicError{Value: p, Stack: debug.Stack()}}
		}
		if err != nil {
			r.core().consumeAllOnFailure(ctx, err)
		}
		release()
	}()
	if err := abi.Unmarshal(raw, out); err != nil {
		if !errors.Is(err, abi.ErrMalformed) {
			// A type mismatch is reported as such only for a well-formed
			// value: malformed bytes are the guest's fault whatever the type.
			if verr := abi.Validate(raw); verr != nil {
				err = verr
			}
		}
		if errors.Is(err, abi.ErrMalformed) {
			return &ABIError{Func: method, Detail: "result", Err: err}
		}
		return err
	}
	return nil
}

// CallAs calls method like Runtime.Call and decodes the result into a T.
func CallAs[T any](ctx context.Context, r *Runtime, method string, args ...any) (T, error) {
	var out T
	err := r.CallInto(ctx, &out, method, args...)
	return out, err
}

// CallWasm calls the export method with raw WebAssembly values and returns
// its raw results: for exports outside the ABI's pointer convention, of any
// numeric signature (i32, i64, f32, f64 in, any number out). Values are
// encoded as in engine.Function.Call: an i32 as uint64(uint32(x)), an f32 as
// uint64(math.Float32bits(x)), and so on. Metering, deadlines, host
// functions and errors are those of Call.
func (r *Runtime) CallWasm(ctx context.Context, method string, params ...uint64) ([]uint64, error) {
	h := r
	r, err := r.acquire(ctx, "CallWasm")
	if err != nil {
		return nil, err
	}
	defer h.unlock(r)
	if r.inst == nil {
		return nil, r.lost()
	}
	e, err := r.lookupRaw(method)
	if err != nil {
		return nil, err
	}
	t := e.fn.Type()
	if len(params) != len(t.Params) {
		return nil, fmt.Errorf("%w: %q takes %d arguments, got %d", ErrArgCount, method, len(t.Params), len(params))
	}
	if err := ctxDone(ctx, method); err != nil {
		return nil, err
	}
	stack := make([]uint64, max(len(t.Params), len(t.Results)))
	copy(stack, params)
	for i, p := range t.Params {
		if p == engine.I32 || p == engine.F32 {
			stack[i] &= math.MaxUint32
		}
	}
	if err := r.run(ctx, method, e, stack); err != nil {
		return nil, err
	}
	return stack[:len(t.Results)], nil
}

// callRaw runs the call and returns the encoded result, still in guest
// memory, with the runtime locked until release is called. raw is nil (and
// the lock released) on error or when there is no result.
func (r *Runtime) callRaw(ctx context.Context, method string, args []any) (raw []byte, release func(), err error) {
	c, raw, err := r.callHeld(ctx, nil, method, args)
	if err != nil || raw == nil {
		return nil, nil, err
	}
	if r.lent != nil && r.lent.warm != nil {
		return raw, r.lent.warm.mu.Unlock, nil
	}
	if c.unlockFn == nil {
		c.unlockFn = c.release // made once, so that a call does not allocate it
	}
	return raw, c.unlockFn, nil
}

// callHeld is callRaw for callers that unlock themselves: it returns the
// Runtime r.acquire locked, which r.unlock releases, and the result, still
// in guest memory. raw is nil (and the lock released) on error or when
// there is no result. A non-nil view is the call's own binding (CallWith),
// until the unlock.
func (r *Runtime) callHeld(ctx context.Context, view *registryView, method string, args []any) (*Runtime, []byte, error) {
	c, err := r.acquire(ctx, "Call")
	if err != nil {
		return nil, nil, err
	}
	if view != nil {
		c.callView = view
	}
	locked := true
	defer func() {
		if locked {
			r.unlock(c)
		}
	}()
	if c.inst == nil {
		return nil, nil, c.lost()
	}
	ptr, err := c.call(ctx, method, args)
	if err != nil || ptr == 0 {
		return nil, nil, err
	}
	if c.mem == nil {
		return nil, nil, c.consumeAllOnFailure(ctx, c.setFault(&ABIError{Func: method, Detail: "module exports no memory", Err: abi.ErrOutOfBounds}))
	}
	raw, err := abi.ReadValue(c.mem, ptr)
	if err != nil {
		return nil, nil, c.consumeAllOnFailure(ctx, c.setFault(&ABIError{Func: method, Detail: fmt.Sprintf("result pointer %#x", ptr), Err: err}))
	}
	locked = false
	return c, raw, nil
}

// lost is the error of a call on a runtime whose instance was dropped (a
// Goexit unwound a call, or a re-instantiation failed): it matches
// ErrClosed, with the reason when there is one. Reset starts over.
func (r *Runtime) lost() error {
	if r.fault != nil && errors.Is(r.fault, ErrClosed) {
		return r.fault
	}
	return ErrClosed
}

// lookup returns the cached export method, checking its ABI shape.
func (r *Runtime) lookup(method string) (*export, error) {
	if e := r.lastExport; e != nil && sameString(r.lastName, method) {
		return e, nil
	}
	if e, ok := r.exports[method]; ok && !e.raw {
		r.lastName, r.lastExport = method, e
		return e, nil
	}
	fn := r.inst.Function(method)
	if fn == nil || r.dirtyExport(method) {
		return nil, fmt.Errorf("%w: %q", ErrMissingExport, method)
	}
	t := fn.Type()
	for _, p := range t.Params {
		if p != engine.I32 {
			return nil, fmt.Errorf("%w: %q is %s; the ABI takes one i32 pointer per argument", ErrSignature, method, t)
		}
	}
	if len(t.Results) > 1 || len(t.Results) == 1 && t.Results[0] != engine.I32 {
		return nil, fmt.Errorf("%w: %q is %s; the ABI returns one i32 pointer or nothing", ErrSignature, method, t)
	}
	e := &export{fn: fn, params: len(t.Params), hasResult: len(t.Results) == 1}
	r.exports[method] = e
	r.lastName, r.lastExport = method, e
	return e, nil
}

// sameString is a == b, without a call to compare the bytes when both are
// the same bytes (a caller passing the same method name again).
func sameString(a, b string) bool {
	return len(a) == len(b) && (unsafe.StringData(a) == unsafe.StringData(b) || a == b)
}

// lookupRaw returns the export method for CallWasm.
func (r *Runtime) lookupRaw(method string) (*export, error) {
	if e, ok := r.exports[method]; ok {
		return e, nil
	}
	fn := r.inst.Function(method)
	if fn == nil || r.dirtyExport(method) {
		return nil, fmt.Errorf("%w: %q", ErrMissingExport, method)
	}
	e := &export{fn: fn, params: len(fn.Type().Params), raw: true}
	r.exports[method] = e
	return e, nil
}

// ctxDone refuses a call whose context has already ended.
func ctxDone(ctx context.Context, method string) error {
	if ctx.Done() != nil {
		if err := ctx.Err(); err != nil {
			return &InterruptError{Func: method, Cause: err}
		}
	}
	return nil
}

// call encodes args into guest memory, calls method and returns the result
// pointer (0 for none). r.mu is held.
func (r *Runtime) call(ctx context.Context, method string, args []any) (uint32, error) {
	e, err := r.lookup(method)
	if err != nil {
		return 0, err
	}
	if len(args) != e.params {
		return 0, fmt.Errorf("%w: %q takes %d arguments, got %d", ErrArgCount, method, e.params, len(args))
	}
	if err := ctxDone(ctx, method); err != nil {
		return 0, err
	}
	// Encode every argument before entering the guest.
	if err := r.encodeArgs(method, args); err != nil {
		return 0, err
	}
	n := max(e.params, 1)
	if cap(r.stack) < n {
		r.stack = make([]uint64, n, max(n, cacheLine/8)) // a line of its own (see cacheLine)
	}
	stack := r.stack[:n]
	if err := r.run(ctx, method, e, stack); err != nil {
		return 0, err
	}
	if !e.hasResult {
		return 0, nil
	}
	return uint32(stack[0]), nil
}

// encodeArgs encodes args into r.buf (r.offs marks where each starts). A
// panicking MarshalABI is reported as an invalid argument.
func (r *Runtime) encodeArgs(method string, args []any) error {
	if cap(r.buf) < cacheLine { // lines of their own (see cacheLine)
		r.buf = make([]byte, 0, cacheLine)
	}
	if cap(r.offs) < cacheLine/8 {
		r.offs = make([]int, 0, cacheLine/8)
	}
	r.buf, r.offs = r.buf[:0], r.offs[:0]
	for i, a := range args {
		var err error
		if s, ok := a.(string); ok {
			// The most common argument, without Append's type switch.
			r.offs = append(r.offs, len(r.buf))
			r.buf, err = abi.AppendString(r.buf, s)
		} else {
			if !basicArg(a) {
				return r.encodeArgsFrom(method, args, i)
			}
			r.offs = append(r.offs, len(r.buf))
			r.buf, err = abi.Append(r.buf, a)
		}
		if err != nil {
			return &ArgumentError{Func: method, Index: i, Err: err}
		}
	}
	return nil
}

// basicArg reports whether abi.Append encodes v without running any code
// of its type (no MarshalABI, nothing that can panic): the plain basic
// types. encodeArgs needs no deferred recover for those.
func basicArg(v any) bool {
	switch v.(type) {
	case string, []byte, bool, int8, int16, int32, int64, int, uint8, uint16, uint32, uint64, uint, float32, float64, nil:
		return true
	}
	return false
}

// encodeArgsFrom is encodeArgs from args[i] on, recovering a panicking
// MarshalABI.
func (r *Runtime) encodeArgsFrom(method string, args []any, i int) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &ArgumentError{Func: method, Index: i, Err: &PanicError{Value: p, Stack: debug.Stack()}}
		}
	}()
	for ; i < len(args); i++ {
		r.offs = append(r.offs, len(r.buf))
		if r.buf, err = abi.Append(r.buf, args[i]); err != nil {
			return &ArgumentError{Func: method, Index: i, Err: err}
		}
	}
	return nil
}

// run writes the encoded arguments of an ABI call (in r.buf, none for
// CallWasm) into the guest and calls the export, metered if the module is.
// r.mu is held.
func (r *Runtime) run(ctx context.Context, method string, e *export, stack []uint64) (err error) {
	if r.gas == nil {
		if MeterFrom(ctx) != nil {
			return fmt.Errorf("%w: %q: the module was compiled without WithMetering", ErrNotMetered, method)
		}
	} else {
		finish := r.beginMetered(ctx)
		defer func() { err = finish(err) }()
	}
	if r.withAPIs {
		ctx = r.callContext(ctx)
	}
	// normal: run returned; calling: the export's call is running;
	// allocating: the guest's allocate is running, writing an argument.
	// A panic out of either is the engine's, recovered here, so that a
	// call makes one deferred call, not one per engine call.
	normal, calling, allocating := false, false, false
	defer func() {
		if !normal {
			if calling || allocating {
				if p := recover(); p != nil {
					if allocating {
						// What write returns for an allocate that fails.
						if r.depth != nil {
							r.depth.Set(0)
						}
						err = r.setFault(r.allocFailed(ctx, enginePanic(p)))
						return
					}
					err = r.callFailed(ctx, method, enginePanic(p))
					return
				}
			}
			// A panic or runtime.Goexit unwound through the engine (from
			// code that is not the host functions', whose panics are
			// recovered): the instance cannot be trusted any more. It is
			// dropped without closing it (the engine may still be inside
			// it), so later calls fail with ErrClosed and Reset starts over.
			r.inst, r.mem, r.snap = nil, nil, nil
			r.hostDepth = 0
			r.setFault(fmt.Errorf("%w: the call of %q was unwound by a panic or runtime.Goexit; the instance was dropped", ErrClosed, method))
		}
	}()
	// Written only when they change: each pointer store costs a write
	// barrier while the garbage collector marks.
	if r.pending != nil {
		r.pending = nil
	}
	if !sameString(r.curFunc, method) {
		r.curFunc = method
	}
	if !e.raw {
		nargs := len(r.offs)
		for i := 0; i < nargs; i++ {
			end := len(r.buf)
			if i+1 < nargs {
				end = r.offs[i+1]
			}
			ptr, err := r.write(ctx, r.inst, nil, r.buf[r.offs[i]:end], &allocating)
			if err != nil {
				normal = true
				if r.depth != nil {
					r.depth.Set(0)
				}
				return r.setFault(err) // already classified
			}
			stack[i] = uint64(ptr)
		}
	}
	calling = true
	err = e.fn.Call(ctx, stack)
	normal = true
	if err != nil {
		return r.callFailed(ctx, method, err)
	}
	return nil
}

// callFailed records the failure err of the call of method as the
// instance's fault, classified, and returns it. r.mu is held.
func (r *Runtime) callFailed(ctx context.Context, method string, err error) error {
	if r.depth != nil {
		r.depth.Set(0)
	}
	return r.setFault(r.wrapCallErr(ctx, method, err))
}

func (r *Runtime) wrapCallErr(ctx context.Context, method string, err error) error {
	if ge := r.guestError(ctx, method, err); ge != nil {
		return ge
	}
	return err
}

// enginePanic is the error of an engine that panicked with p.
func enginePanic(p any) error {
	return fmt.Errorf("%w: the engine panicked: %v", ErrEngine, p)
}

// guestError classifies an error returned by the engine for a call of fn.
func (r *Runtime) guestError(ctx context.Context, fn string, err error) error {
	if p := r.pending; p != nil {
		r.pending = nil
		var ae *AbortError
		if errors.As(p, &ae) && ae.Func == "" {
			ae.Func = fn
		}
		var ge *GasError
		if errors.As(p, &ge) && ge.Func == "" {
			ge.Func = fn
		}
		return p
	}
	var trap *engine.Trap
	if errors.As(err, &trap) {
		if trap.Code == engine.TrapInterrupted {
			cause := context.Cause(ctx)
			if cause == nil {
				cause = context.DeadlineExceeded
			}
			return &InterruptError{Func: fn, Cause: cause}
		}
		return &TrapError{Func: fn, Code: trap.Code, Err: trap}
	}
	return err
}

// allocator returns the guest's allocate export, checked once.
func (r *Runtime) allocator(inst engineFuncs) (engine.Function, error) {
	if r.allocOK {
		return r.alloc, nil
	}
	fn := inst.Function(AllocateFunction)
	if fn == nil {
		return nil, &ABIError{Func: AllocateFunction, Detail: "the module exports no allocate(i32) -> i32", Err: ErrAllocate}
	}
	t := fn.Type()
	if len(t.Params) != 1 || t.Params[0] != engine.I32 || len(t.Results) != 1 || t.Results[0] != engine.I32 {
		return nil, &ABIError{Func: AllocateFunction, Detail: "allocate is " + t.String() + ", want (i32) -> (i32)", Err: ErrAllocate}
	}
	if r.inst != nil {
		r.alloc, r.allocOK = fn, true
	}
	return fn, nil
}

// engineFuncs is what both engine.Instance and engine.Caller offer: an
// alias of engine.Caller, so that a host call's caller is passed on
// without an interface conversion (an itab lookup each time).
type engineFuncs = engine.Caller

// write allocates len(data) bytes in the guest and copies data there. mem
// is inst's memory if the caller has it already (a host call that read
// its arguments), else nil.
//
// write does not recover a panic of the engine in allocate: *allocating
// is true while allocate runs, and the caller's own deferred recover
// (Runtime.run's, hostCaller.done's) reports such a panic as write would
// report allocate's failure, with allocFailed (one deferred call less per
// guest allocation).
func (r *Runtime) write(ctx context.Context, inst engineFuncs, mem engine.Memory, data []byte, allocating *bool) (uint32, error) {
	alloc := r.alloc
	if !r.allocOK {
		var err error
		if alloc, err = r.allocator(inst); err != nil {
			return 0, err
		}
	}
	if mem == nil {
		if mem = inst.Memory(); mem == nil {
			return 0, &ABIError{Func: AllocateFunction, Detail: "the module exports no memory", Err: ErrAllocate}
		}
	}
	st := r.allocStack[min(r.hostDepth, maxHostNesting)][:]
	st[0] = uint64(uint32(len(data)))
	*allocating = true
	err := alloc.Call(ctx, st)
	*allocating = false
	if err != nil {
		return 0, r.allocFailed(ctx, err)
	}
	ptr := uint32(st[0])
	// Write checks the bounds itself: the memory's size is asked only to
	// explain a failure (one call of the memory per write, not two).
	if ptr == 0 || !mem.Write(ptr, data) {
		if ptr == 0 || uint64(ptr)+uint64(len(data)) > uint64(mem.Size()) {
			return 0, &ABIError{Func: AllocateFunction, Detail: fmt.Sprintf("allocate(%d) returned %#x, outside the %d-byte memory", len(data), ptr, mem.Size()), Err: ErrAllocate}
		}
		return 0, &ABIError{Func: AllocateFunction, Detail: "write failed", Err: ErrAllocate}
	}
	if r.dirty != nil {
		r.dirty.mark(ptr, len(data)) // markWrite, which is not inlined
	}
	return ptr, nil
}

// allocFailed classifies err, the failure of the guest's allocate (an
// engine panic as enginePanic's error), as write reports it.
func (r *Runtime) allocFailed(ctx context.Context, err error) error {
	if ge := r.guestError(ctx, AllocateFunction, err); ge != nil {
		err = ge
	}
	var ae *allocError
	if errors.As(err, &ae) {
		// A nested allocation failed (allocate called a host function
		// that allocated): report the innermost failure once.
		return ae
	}
	return &allocError{err: err}
}

// allocError is a failure inside the guest's allocate: it matches ErrABI,
// ErrAllocate and the cause (e.g. a TrapError).
type allocError struct{ err error }

func (e *allocError) Error() string   { return "aspect: guest allocation failed: " + inner(e.err) }
func (e *allocError) Unwrap() []error { return []error{ErrABI, ErrAllocate, e.err} }

// resolveImports builds the host functions for every import of the module.
func (r *Runtime) resolveImports(reg *HostAPIRegistry) ([]engine.HostFunc, error) {
	var host []engine.HostFunc
	view := reg.snapshot()
	r.shape = view.shape
	r.bound.Store(view)
imports:
	for _, imp := range r.module.imports {
		for _, provide := range r.cfg.providers {
			fn, ok, err := provide(r, imp)
			if err != nil {
				return nil, &LinkError{Module: imp.Module, Name: imp.Name, Detail: err.Error()}
			}
			if ok {
				host = append(host, fn)
				continue imports
			}
		}
		if imp.Kind != engine.ExternFunc {
			return nil, &LinkError{Module: imp.Module, Name: imp.Name, Detail: "only function imports are supported, this is a " + imp.Kind.String()}
		}
		if imp.Module == "env" && imp.Name == "abort" {
			want := engine.FuncType{Params: []engine.ValueType{engine.I32, engine.I32, engine.I32, engine.I32}}
			if !imp.Type.Equal(want) {
				return nil, &LinkError{Module: imp.Module, Name: imp.Name, Detail: "env.abort is " + imp.Type.String() + ", want " + want.String()}
			}
			host = append(host, engine.HostFunc{Module: imp.Module, Name: imp.Name, Type: want, Call: r.abort})
			continue
		}
		slot, ok := view.slots[hostKey{imp.Module, imp.Name}]
		if !ok {
			return nil, &LinkError{Module: imp.Module, Name: imp.Name, Detail: "no host function registered"}
		}
		api := view.apis[slot]
		want := api.funcType()
		if !imp.Type.Equal(want) {
			return nil, &LinkError{Module: imp.Module, Name: imp.Name, Detail: "the guest imports it as " + imp.Type.String() + ", the host function is " + want.String()}
		}
		host = append(host, engine.HostFunc{Module: imp.Module, Name: imp.Name, Type: want, Call: r.hostCall(api, slot)})
		r.withAPIs = true
	}
	// The one place every host function passes: what they write into
	// guest memory is recorded for Reset (snapshot.go).
	return r.trackHostWrites(host), nil
}

func (a *hostAPI) funcType() engine.FuncType {
	t := engine.FuncType{Params: make([]engine.ValueType, len(a.params))}
	for i := range t.Params {
		t.Params[i] = engine.I32
	}
	if a.hasResult {
		t.Results = []engine.ValueType{engine.I32}
	}
	return t
}

// fail records err as the reason the guest is being aborted and returns it.
func (r *Runtime) fail(err error) error {
	if r.pending == nil {
		r.pending = err
	}
	return err
}

// hostCaller adapts a registered Go function to the engine's raw calling
// convention for one runtime: read the argument pointers, decode, call,
// encode the result into the guest.
type hostCaller struct {
	r *Runtime
	// a is the function bound to the slot, while a call of it runs (see
	// Bind): nil between calls, so an unbound runtime keeps no function.
	a                 *hostAPI
	slot              int
	module, namespace string
	method, name      string
	// argBytes is the size of the current call's encoded arguments, for
	// admit (set before the invoker runs; a nested call of the same
	// function happens only after admit, while the result is written).
	argBytes uint64
	admitFn  func() error
	// Read at every host call: on cache lines of its own (see cacheLine).
	_ [24]byte
}

// gasAdmitError marks the error of admit: the call's gas rule failed.
type gasAdmitError struct{ err error }

func (e *gasAdmitError) Error() string { return e.err.Error() }

// admit charges the function's gas rule before it runs.
func (h *hostCaller) admit() error {
	if h.r.gas != nil && h.a.gas != (GasRule{}) {
		if err := h.r.chargeHost(h.a.gas, h.argBytes, len(h.a.params)); err != nil {
			return &gasAdmitError{err}
		}
	}
	return nil
}

// hostCall returns the engine.HostFunc call of a for r.
func (r *Runtime) hostCall(a *hostAPI, slot int) func(ctx context.Context, caller engine.Caller, stack []uint64) error {
	h := &hostCaller{r: r, slot: slot, module: a.module, namespace: a.namespace, method: a.method, name: a.namespace + "." + a.method}
	h.admitFn = h.admit
	// The closure is the host call itself, not a method value of it: a
	// method value would add a frame (its wrapper) to every host call.
	return func(ctx context.Context, caller engine.Caller, stack []uint64) (err error) {
		r := h.r
		v := r.callView
		if v == nil {
			v = r.bound.Load()
			if hd := r.callHandle; hd != nil {
				v = hd.binding()
			}
		}
		if v == nil || v == unboundView {
			return r.fail(&HostError{Module: h.module, Namespace: h.namespace, Method: h.method, Err: ErrUnbound})
		}
		if r.hostDepth >= maxHostNesting {
			return r.fail(&GasError{Func: h.name, Err: ErrCallDepth, unmetered: r.gas == nil,
				detail: fmt.Sprintf("more than %d nested host calls", maxHostNesting)})
		}
		a, prev := v.apis[h.slot], h.a
		h.a = a
		depth := r.hostDepth
		r.hostDepth++
		// One deferred call, and one return after it, so that the compiler
		// open-codes it: with several defers and many returns it would
		// not, and each host call would pay for defer records.
		allocating := false
		defer h.done(ctx, a, prev, depth, &err, &allocating)
		return h.run(ctx, caller, stack, a, depth, &allocating)
	}
}

// done ends a host call of a begun by hostCall's function: it drops the
// references to guest memory the call's arguments held, restores the
// nesting depth and the slot's outer function, and turns a panic of the
// Go function (or of its types' MarshalABI or UnmarshalABI) into a
// HostError; a panic of the engine while allocating the result
// (*allocating) into the error write would return for it.
func (h *hostCaller) done(ctx context.Context, a, prev *hostAPI, depth int, err *error, allocating *bool) {
	r := h.r
	if depth < len(r.hostArgs) {
		// No reference to guest memory outlives the call: run set at most
		// the first len(a.params) slots (the others are nil, cleared by
		// the calls that set them). A counted loop: the compiler turns a
		// range loop storing nil, like clear, into a call of the runtime's
		// memclrHasPointers and its bulk write barrier, for a slot or two.
		raw := r.hostArgs[depth]
		n := min(len(a.params), len(raw))
		for i := 0; i < n; i++ {
			raw[i] = nil
		}
	}
	r.hostDepth--
	if p := recover(); p != nil {
		if *allocating {
			*err = r.fail(r.allocFailed(ctx, enginePanic(p)))
			h.a = prev
			return
		}
		r.cfg.logger.WarnContext(ctx, "aspect host function panicked", "module", a.module, "function", h.name, "panic", fmt.Sprint(p))
		*err = r.fail(&HostError{Module: a.module, Namespace: a.namespace, Method: a.method, Err: &PanicError{Value: p, Stack: debug.Stack()}})
	}
	h.a = prev
}

// run reads the arguments of a host call of a at nesting depth depth,
// calls a and writes its result into the guest.
func (h *hostCaller) run(ctx context.Context, caller engine.Caller, stack []uint64, a *hostAPI, depth int, allocating *bool) error {
	r := h.r
	n := len(a.params)
	var mem engine.Memory
	if n > 0 {
		if mem = caller.Memory(); mem == nil {
			return r.fail(&ABIError{Func: h.name, Detail: "the module exports no memory", Err: abi.ErrOutOfBounds})
		}
	}
	if r.hostArgs == nil {
		// Read at every host call: on lines of their own (see cacheLine),
		// 8 levels of 24 bytes each.
		r.hostArgs = make([][][]byte, 0, 8)
		r.hostBufs = make([][]byte, 0, 8)
	}
	for len(r.hostArgs) <= depth {
		r.hostArgs = append(r.hostArgs, nil)
		r.hostBufs = append(r.hostBufs, make([]byte, 0, cacheLine))
	}
	// hostArgs[depth] is as long as its capacity; done clears the slots
	// set here.
	raw := r.hostArgs[depth]
	if len(raw) < n {
		raw = make([][]byte, max(n, 8)) // lines of their own (see cacheLine)
		r.hostArgs[depth] = raw
	}
	raw = raw[:n]
	var argBytes uint64
	for i := range n {
		v, err := abi.ReadValue(mem, uint32(stack[i]))
		if err != nil {
			return r.fail(&ABIError{Func: h.name, Detail: fmt.Sprintf("argument %d", i), Err: err})
		}
		argBytes += uint64(len(v))
		raw[i] = v // done clears it
	}
	h.argBytes = argBytes
	// One result buffer per nesting level: a nested host call (from the
	// allocate that writes this result) must not overwrite it.
	// admit only when there is something to charge: otherwise the invoker
	// makes no call for it.
	var admit func() error
	if r.gas != nil && a.gas != (GasRule{}) {
		admit = h.admitFn
	}
	enc, hasValue, err := a.invoke(ctx, raw, admit, r.hostBufs[depth][:0])
	if cap(enc) <= maxKeptHostBuf && cap(enc) != cap(r.hostBufs[depth]) {
		r.hostBufs[depth] = enc[:0] // append moved it to a larger array
	}
	if err != nil {
		var ge *gasAdmitError
		var de *argDecodeError
		switch {
		case errors.As(err, &ge):
			return r.fail(ge.err)
		case errors.As(err, &de):
			return r.fail(&ABIError{Func: h.name, Detail: fmt.Sprintf("argument %d", de.index), Err: de.err})
		}
		return r.fail(&HostError{Module: a.module, Namespace: a.namespace, Method: a.method, Err: err})
	}
	if !a.hasResult {
		return nil
	}
	if !hasValue {
		stack[0] = 0
		return nil
	}
	ptr, err := r.write(ctx, caller, mem, enc, allocating)
	if err != nil {
		return r.fail(err)
	}
	stack[0] = uint64(ptr)
	return nil
}

// maxKeptHostBuf bounds the result buffers a runtime keeps between host
// calls (bytes); a larger result's buffer is dropped after use.
const maxKeptHostBuf = 64 << 10

// maxAbortString bounds how much of an abort message is read (bytes).
const maxAbortString = 64 << 10

// abort implements env.abort(msg, file, line, column) for AssemblyScript.
func (r *Runtime) abort(ctx context.Context, caller engine.Caller, stack []uint64) error {
	mem := caller.Memory()
	return r.fail(&AbortError{
		Message: readASString(mem, uint32(stack[0])),
		File:    readASString(mem, uint32(stack[1])),
		Line:    uint32(stack[2]),
		Column:  uint32(stack[3]),
	})
}

// readASString decodes an AssemblyScript string (UTF-16LE, byte length as a
// u32 at ptr-4), or describes why it cannot.
func readASString(mem engine.Memory, ptr uint32) string {
	if ptr == 0 {
		return ""
	}
	if mem == nil || ptr < 4 {
		return fmt.Sprintf("<unreadable string at %#x>", ptr)
	}
	hdr, ok := mem.Read(ptr-4, 4)
	if !ok {
		return fmt.Sprintf("<unreadable string at %#x>", ptr)
	}
	n := binary.LittleEndian.Uint32(hdr)
	truncated := false
	if n > maxAbortString {
		n, truncated = maxAbortString, true
	}
	n &^= 1
	b, ok := mem.Read(ptr, n)
	if !ok {
		return fmt.Sprintf("<unreadable string at %#x>", ptr)
	}
	u := make([]uint16, n/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	s := string(utf16.Decode(u))
	if truncated {
		s += "…"
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
