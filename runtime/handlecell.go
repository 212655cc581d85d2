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

// Revoke revokes the cell's handle, as closing it does.
func (c *HandleCell) Revoke() { c.hd.revoked.Store(true) }
