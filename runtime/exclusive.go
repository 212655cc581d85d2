package runtime

import "github.com/aspect-rt/aspect-runtime/internal/exclusive"

func init() {
	exclusive.Set = func(rt any, on bool) {
		r := rt.(*Runtime)
		if r.lent != nil {
			panic("runtime: exclusive.Set on a handle")
		}
		r.exclusive = on
	}
}
