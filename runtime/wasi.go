package runtime

import (
	"context"
	"fmt"
	"runtime/debug"
	"slices"

	"github.com/aspect-rt/aspect-runtime/runtime/engine"
	"github.com/aspect-rt/aspect-runtime/wasi"
)

// WithWASI gives the guest WASI preview 1: its `wasi_snapshot_preview1`
// imports are satisfied by package wasi, with what cfg lets the guest see
// (arguments, environment, stdio writers, clock, random source, read-only
// mounts — nothing else of the host), and a reactor's `_initialize` export
// is called once per instance, before StartFunction and the first call.
//
// WASI is implemented once, in Go, above the engine SPI, so it behaves the
// same on every engine: the same output, errno values, clock and random
// bytes. Each Runtime has its own descriptor table, restored when the
// instance is reset; the writers, readers and clock in cfg are shared by
// every instance created with the option. Without WithWASI, a module that
// imports WASI fails to instantiate with a LinkError.
//
// A guest's proc_exit ends the call in progress with a *wasi.ExitError
// carrying the exit code; the instance must then be reset or closed (see
// Runtime.Fault).
//
// Pass the option to Compile or Instantiate (or both: the last one given
// wins).
func WithWASI(cfg wasi.Config) Option {
	return func(c *config) {
		provide := func(rt *Runtime, imp engine.Import) (engine.HostFunc, bool, error) {
			return rt.wasiImport(cfg, imp)
		}
		// Prepended, into a new slice: a later WithWASI is asked first, and
		// a Module's config is never modified by an Instantiate option.
		c.providers = append([]importProvider{provide}, c.providers...)
		if !slices.Contains(c.initExports, wasi.InitializeFunction) {
			c.initExports = append(slices.Clip(c.initExports), wasi.InitializeFunction)
		}
	}
}

// wasiState is the WASI host of one Runtime and the engine instance it
// serves. When the Runtime's instance is replaced (Reset), the first WASI
// call of the new instance restores the descriptor table.
type wasiState struct {
	host *wasi.Host
	inst engine.Instance
}

// bind ties the state to the current instance cur, resetting the
// descriptor table when the instance changed. cur is nil while an instance
// is being created (its start section runs): the state then starts afresh
// and is bound on the first call after instantiation.
func (s *wasiState) bind(cur engine.Instance) {
	if cur == s.inst {
		return
	}
	if s.inst != nil {
		s.host.Reset()
	}
	s.inst = cur
}

// wasiImport is WithWASI's import provider.
func (r *Runtime) wasiImport(cfg wasi.Config, imp engine.Import) (engine.HostFunc, bool, error) {
	if imp.Module != wasi.ModuleName || imp.Kind != engine.ExternFunc {
		return engine.HostFunc{}, false, nil
	}
	want, ok := wasi.Signature(imp.Name)
	if !ok {
		return engine.HostFunc{}, false, fmt.Errorf("%s is not a WASI preview 1 function", imp.Name)
	}
	if !imp.Type.Equal(want) {
		return engine.HostFunc{}, false, fmt.Errorf("the guest imports it as %s, WASI preview 1 defines %s", imp.Type, want)
	}
	if r.wasi == nil {
		h, err := wasi.New(cfg)
		if err != nil {
			return engine.HostFunc{}, false, err
		}
		r.wasi = &wasiState{host: h}
	}
	st := r.wasi
	fn, _ := st.host.HostFunc(imp.Name)
	call := fn.Call
	fn.Call = func(ctx context.Context, caller engine.Caller, stack []uint64) (err error) {
		defer func() {
			if p := recover(); p != nil {
				r.cfg.logger.WarnContext(ctx, "aspect WASI function panicked", "function", imp.Name, "panic", fmt.Sprint(p))
				err = r.fail(&HostError{Module: wasi.ModuleName, Method: imp.Name, Err: &PanicError{Value: p, Stack: debug.Stack()}})
			}
		}()
		st.bind(r.inst)
		if err := call(ctx, caller, stack); err != nil {
			if _, exited := wasi.ExitCode(err); exited {
				return r.fail(err)
			}
			if ctx.Err() != nil {
				return r.fail(&InterruptError{Func: r.curFunc, Cause: context.Cause(ctx)})
			}
			return r.fail(&HostError{Module: wasi.ModuleName, Method: imp.Name, Err: err})
		}
		return nil
	}
	return fn, true, nil
}
