package runtime

// HandleCell is room for a handle (see Runtime.Handle) inside an object of
// the caller's: a pool embeds one in each of its leases, so that a lease
// and its handle are one allocation. A cell holds one handle for its whole
// life: it is never reopened, so its handle, once revoked, keeps failing
// with ErrClosed. A HandleCell must not be copied.
type HandleCell struct{ hd handle }

// Open makes the cell a handle on r's instance and returns it, as Handle
// does. It panics if the cell was opened before.
func (c *HandleCell) Open(r *Runtime) *Runtime {
	if c.hd.rt.lent != nil {
		panic("runtime: HandleCell opened twice")
	}
	c.hd.core = r.core()
	c.hd.rt.lent = &c.hd
	return &c.hd.rt
}

// OpenBound is Open for a handle with its own binding: the host functions
// of the calls made through the handle (Call, CallWasm, Reset's start
// code, ...) are reg's, whatever registry r's instance is bound to (see
// Runtime.Bind), and Bind and Unbind on the handle change its binding
// only. So an instance lent to one user after another needs no Bind and
// Unbind per user: between calls it keeps no reference to reg, which the
// cell holds. reg must have the instance's shape (see
// HostAPIRegistry.Shape); otherwise OpenBound returns a *ShapeError and
// leaves the cell unopened. It panics if the cell was opened before.
func (c *HandleCell) OpenBound(r *Runtime, reg *HostAPIRegistry) (*Runtime, error) {
	v := reg.snapshot()
	if core := r.core(); v.shape != core.shape {
		return nil, &ShapeError{Want: core.shape, Got: v.shape}
	}
	h := c.Open(r)
	c.hd.view.Store(v)
	return h, nil
}

// Revoke revokes the cell's handle, as closing it does.
func (c *HandleCell) Revoke() { c.hd.revoke() }

// Release revokes the cell's handle and reports whether this was the
// cell's first Release: of two Releases at once, only one returns true.
// Closing the handle (which revokes it) is no Release.
func (c *HandleCell) Release() bool {
	return c.hd.flags.Or(revokedFlag|releasedFlag)&releasedFlag == 0
}

// Registry returns the registry the cell's handle is bound to, as its
// Runtime.Registry does, also once the handle is revoked.
func (c *HandleCell) Registry() *HostAPIRegistry { return c.hd.rt.Registry() }
