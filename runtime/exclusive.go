package runtime

import "github.com/aspect-rt/aspect-runtime/internal/exclusive"

func init() {
	exclusive.Set = func(rt any, on bool) {
		r := rt.(*Runtime)
		if r.lent != nil {
			panic("runtime: exclusive.Set on a handle")
		}
		if !on || r.exclusive {
			r.exclusive = on
			return
		}
		// An operation through a handle revoked since it began may still
		// hold the lock: wait for it. A later one finds its handle
		// revoked and fails without reading the instance (see acquire).
		r.mu.Lock()
		r.exclusive = true
		r.mu.Unlock()
	}
}
