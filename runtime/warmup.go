package runtime

import (
	"context"
	"reflect"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// Warm-up (WithWarmup). The warm-up function runs inside instantiate,
// which holds the instance's lock (a Reset re-instantiating holds it
// anyway; Module.Instantiate takes it for the purpose), so it gets a
// handle of its own whose operations are serialized by the warm-up's own
// lock instead, and which ends with the warm-up. The context it gets is
// marked as a call of the instance, so that reaching the instance's own
// Runtime through it fails with ErrReentrant instead of waiting for the
// lock the instantiation holds.

// warmState is the state shared by the handles of one warm-up.
type warmState struct {
	// mu serializes the operations of the warm-up's handles, as the
	// instance's lock does those of a Runtime.
	mu   sync.Mutex
	done atomic.Bool // the warm-up returned: its handles are closed
}

// ended reports whether the warm-up is over.
func (w *warmState) ended() bool { return w.done.Load() }

// acquire is Runtime.acquire for a handle of the warm-up: it locks the
// warm-up's lock and returns the instance c (whose own lock the
// instantiation holds). Reset is refused.
func (w *warmState) acquire(c *Runtime, op string) (*Runtime, error) {
	if op == "Reset" {
		if w.ended() {
			return nil, ErrClosed
		}
		return nil, &ReentrantError{Op: op, warmup: true}
	}
	w.mu.Lock()
	if w.ended() || c.closed {
		w.mu.Unlock()
		return nil, ErrClosed
	}
	return c, nil
}

// warmUp runs the warm-up function on the instance just started. r.mu is
// held. It returns a *WarmupError if the function fails, panics or leaves
// the instance faulted or dropped; the caller then closes the instance.
func (r *Runtime) warmUp(ctx context.Context) (err error) {
	w := &warmState{}
	hd := &handle{core: r, warm: w}
	hd.rt.lent = hd
	wctx := &callContext{Context: ctx, rt: r, plainEq: plainComparable(reflect.TypeOf(ctx))}
	fn := r.cfg.warmup
	func() {
		defer func() {
			if p := recover(); p != nil {
				err = &WarmupError{Panicked: true, Panic: p, Stack: debug.Stack()}
			}
		}()
		if ferr := fn(wctx, &hd.rt); ferr != nil {
			err = &WarmupError{Err: ferr}
		}
	}()
	// Close the warm-up's handles, and wait for an operation one of them
	// may still be running on a goroutine the function started.
	w.done.Store(true)
	hd.revoke()
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		return err
	}
	if r.inst == nil {
		// A panic or runtime.Goexit unwound a call: the instance was
		// dropped (see run).
		return &WarmupError{Err: r.lost()}
	}
	if r.fault != nil {
		return &WarmupError{Err: r.fault}
	}
	return nil
}
