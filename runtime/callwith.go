package runtime

import "context"

// CallWith is Call with reg's host functions for this call only: the
// imports of the call run reg's functions, whatever registry the runtime
// (or the handle, see HandleCell.OpenBound) is bound to, also after a
// Bind during the call, and once it returns the runtime keeps no
// reference to reg. reg must have the runtime's shape (see
// HostAPIRegistry.Shape); otherwise CallWith returns a *ShapeError and
// calls nothing. It is the cheap way to serve one request with its own
// host functions: Bind, Call and Unbind give the same result but change
// the runtime's binding twice, visible to its other users in between,
// where CallWith only sets the call's own under the runtime's lock.
func (r *Runtime) CallWith(ctx context.Context, reg *HostAPIRegistry, method string, args ...any) (any, error) {
	view := reg.snapshot()
	if r == nil || r.lent == nil && r.runtimeState == nil {
		return nil, ErrClosed
	}
	if c := r.core(); view.shape != c.shape {
		return nil, &ShapeError{Want: c.shape, Got: view.shape}
	}
	return r.callDecoded(ctx, view, method, args)
}
