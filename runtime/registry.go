package runtime

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"unique"

	"github.com/aspect-rt/aspect-runtime/abi"
)

// HostAPIRegistry holds the Go functions guests may import. A guest imports
// the function registered as (module, namespace, method) from wasm module
// `module`, field `namespace.method`.
//
// Functions are checked and wrapped by reflection once, in AddAPI; calls do
// not repeat that work. A registry is safe for concurrent use. Runtimes
// resolve their imports when they are created, or when the registry is
// bound to them (Runtime.Bind); functions added later are seen only by
// runtimes created or bound afterwards.
type HostAPIRegistry struct {
	mu   sync.RWMutex
	apis map[hostKey]*hostAPI
	// view is the registry's functions in shape order with its shape,
	// computed on first use and dropped by AddAPI (see snapshot).
	view atomic.Pointer[registryView]
}

// RegistryShape identifies what a HostAPIRegistry offers a guest: the
// module, namespace, method and Go signature of each of its functions, not
// the functions themselves. Registries built the same way have the same
// shape, whatever their functions close over, so a runtime instantiated
// with one can be bound to any other (Runtime.Bind). Shapes are comparable
// with == in constant time; the zero RegistryShape is that of an empty (or
// nil) registry.
type RegistryShape struct{ h unique.Handle[string] }

// String describes the shape: one "module/namespace.method signature" per
// function, sorted, separated by "; ".
func (s RegistryShape) String() string {
	if s == (RegistryShape{}) {
		return ""
	}
	return s.h.Value()
}

// registryView is an immutable snapshot of a registry: its functions sorted
// by (module, field), which is the order of its shape, so a function's
// index (its slot) is the same in every registry of the same shape.
type registryView struct {
	reg   *HostAPIRegistry
	shape RegistryShape
	apis  []*hostAPI
	slots map[hostKey]int
}

// emptyView is the view of a nil registry.
var emptyView = &registryView{slots: map[hostKey]int{}}

// snapshot returns the registry's current view, computing it once per
// change of the registry (a registry changed after first use gets a new
// view and maybe a new shape; runtimes bound to the old view keep it).
func (r *HostAPIRegistry) snapshot() *registryView {
	if r == nil {
		return emptyView
	}
	if v := r.view.Load(); v != nil {
		return v
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if v := r.view.Load(); v != nil {
		return v
	}
	keys := make([]hostKey, 0, len(r.apis))
	for k := range r.apis {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].module != keys[j].module {
			return keys[i].module < keys[j].module
		}
		return keys[i].field < keys[j].field
	})
	v := &registryView{reg: r, apis: make([]*hostAPI, len(keys)), slots: make(map[hostKey]int, len(keys))}
	var b strings.Builder
	for i, k := range keys {
		a := r.apis[k]
		v.apis[i], v.slots[k] = a, i
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(k.module + "/" + k.field + " " + a.sig)
	}
	if b.Len() > 0 {
		v.shape = RegistryShape{unique.Make(b.String())}
	}
	// AddAPI holds mu for writing while it changes apis and drops the view,
	// so the view stored here is never older than apis.
	r.view.Store(v)
	return v
}

// Shape returns the registry's shape, computed once per change of the
// registry. A nil registry has the zero shape, like an empty one.
func (r *HostAPIRegistry) Shape() RegistryShape { return r.snapshot().shape }

type hostKey struct{ module, field string }

// hostAPI is a registered function with its reflected shape.
type hostAPI struct {
	module, namespace, method string
	fn                        reflect.Value
	withContext               bool
	params                    []reflect.Type // ABI parameters (without the context)
	hasResult                 bool
	hasError                  bool
	gas                       GasRule
	// sig is the Go signature of the function as registered, for the
	// registry's shape.
	sig string
	// invoke decodes, calls and encodes (hostfunc.go).
	invoke invoker
}

// APIOption configures one host function.
type APIOption func(*hostAPI)

// NewHostAPIRegistry returns an empty registry.
func NewHostAPIRegistry() *HostAPIRegistry {
	return &HostAPIRegistry{apis: map[hostKey]*hostAPI{}}
}

var (
	contextType = reflect.TypeFor[context.Context]()
	errorType   = reflect.TypeFor[error]()
)

// AddAPI registers fn as (module, namespace, method).
//
// fn is a func with any number of parameters of ABI-encodable types (see
// abi/FORMAT.md), optionally preceded by a context.Context, which receives
// the context of the guest call in progress; its results are (), (error),
// (T) or (T, error) with T encodable. A nil pointer or interface result is
// returned to the guest as "no result" (pointer 0). AddAPI returns an error
// matching ErrInvalidAPI for any other shape, for empty names, and for a
// name registered twice.
//
// fn may also be a Func built by Func0…Func3 or Proc0…Proc3, whose calls
// need no reflection at all; common plain shapes (func(string) string,
// func(context.Context, []byte) ([]byte, error), ...) are recognized and
// called without reflection too.
func (r *HostAPIRegistry) AddAPI(module, namespace, method string, fn any, opts ...APIOption) error {
	api, err := newHostAPI(module, namespace, method, fn)
	if err != nil {
		return err
	}
	for _, o := range opts {
		o(api)
	}
	key := hostKey{module, namespace + "." + method}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.apis[key]; dup {
		return fmt.Errorf("%w: %s/%s is already registered", ErrInvalidAPI, module, key.field)
	}
	r.apis[key] = api
	r.view.Store(nil)
	return nil
}

// APIs lists the registered functions as "module/namespace.method", sorted.
func (r *HostAPIRegistry) APIs() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.apis))
	for k := range r.apis {
		out = append(out, k.module+"/"+k.field)
	}
	sort.Strings(out)
	return out
}

func newHostAPI(module, namespace, method string, fn any) (*hostAPI, error) {
	name := module + "/" + namespace + "." + method
	if module == "" || namespace == "" || method == "" {
		return nil, fmt.Errorf("%w: %q: module, namespace and method must be non-empty", ErrInvalidAPI, name)
	}
	if strings.Contains(namespace, ".") {
		return nil, fmt.Errorf("%w: %q: namespace must not contain '.'", ErrInvalidAPI, name)
	}
	if f, ok := fn.(Func); ok {
		return funcHostAPI(module, namespace, method, name, f)
	}
	if fn != nil && !reflect.ValueOf(fn).IsZero() {
		if f, ok := plainFunc(fn); ok {
			api, err := funcHostAPI(module, namespace, method, name, f)
			if api != nil {
				api.sig = reflect.TypeOf(fn).String()
			}
			return api, err
		}
	}
	v := reflect.ValueOf(fn)
	if v.Kind() != reflect.Func || v.IsNil() {
		return nil, fmt.Errorf("%w: %q: %T is not a function", ErrInvalidAPI, name, fn)
	}
	t := v.Type()
	if t.IsVariadic() {
		return nil, fmt.Errorf("%w: %q: variadic functions are not supported", ErrInvalidAPI, name)
	}
	api := &hostAPI{module: module, namespace: namespace, method: method, fn: v, sig: t.String()}
	for i := 0; i < t.NumIn(); i++ {
		p := t.In(i)
		if i == 0 && p == contextType {
			api.withContext = true
			continue
		}
		if p == contextType {
			return nil, fmt.Errorf("%w: %q: context.Context must be the first parameter", ErrInvalidAPI, name)
		}
		if err := abi.CheckType(p); err != nil {
			return nil, fmt.Errorf("%w: %q: parameter %d: %w", ErrInvalidAPI, name, i, err)
		}
		api.params = append(api.params, p)
	}
	switch t.NumOut() {
	case 0:
	case 1:
		if t.Out(0) == errorType {
			api.hasError = true
		} else {
			api.hasResult = true
		}
	case 2:
		if t.Out(1) != errorType {
			return nil, fmt.Errorf("%w: %q: the second result must be error", ErrInvalidAPI, name)
		}
		api.hasResult, api.hasError = true, true
	default:
		return nil, fmt.Errorf("%w: %q: at most two results, (T, error)", ErrInvalidAPI, name)
	}
	if api.hasResult {
		if err := abi.CheckType(t.Out(0)); err != nil {
			return nil, fmt.Errorf("%w: %q: result: %w", ErrInvalidAPI, name, err)
		}
	}
	api.invoke = reflectInvoker(api)
	return api, nil
}

// funcHostAPI checks and registers a Func.
func funcHostAPI(module, namespace, method, name string, f Func) (*hostAPI, error) {
	if f.invoke == nil {
		return nil, fmt.Errorf("%w: %q: the Func was not built by Func0…Func3 or Proc0…Proc3", ErrInvalidAPI, name)
	}
	for i, p := range f.params {
		if p == contextType {
			return nil, fmt.Errorf("%w: %q: context.Context must be the first parameter", ErrInvalidAPI, name)
		}
		if err := abi.CheckType(p); err != nil {
			return nil, fmt.Errorf("%w: %q: parameter %d: %w", ErrInvalidAPI, name, i, err)
		}
	}
	if f.hasResult {
		if err := abi.CheckType(f.resultT); err != nil {
			return nil, fmt.Errorf("%w: %q: result: %w", ErrInvalidAPI, name, err)
		}
	}
	return &hostAPI{module: module, namespace: namespace, method: method, params: f.params,
		hasResult: f.hasResult, invoke: f.invoke, sig: f.signature()}, nil
}

// ErrRegistryShape: a registry bound to a runtime (see Runtime.Bind) does
// not have the shape of the one the runtime was instantiated with (see
// ShapeError).
var ErrRegistryShape = errors.New("aspect: host API registry of another shape")

// ErrUnbound: a guest called a host function of a runtime whose registry
// was unbound (see Runtime.Unbind). The call fails with a HostError that
// matches it.
var ErrUnbound = errors.New("aspect: no host API registry bound")

// ShapeError reports a registry that cannot be bound to a runtime: its
// shape differs from the runtime's. It matches ErrRegistryShape.
type ShapeError struct {
	Want, Got RegistryShape
}

// Error implements error.
func (e *ShapeError) Error() string {
	return fmt.Sprintf("aspect: host API registry of another shape: the runtime's is {%s}, the registry's {%s}", e.Want, e.Got)
}

// Unwrap returns ErrRegistryShape.
func (e *ShapeError) Unwrap() error { return ErrRegistryShape }

// Bind makes the runtime's imports call reg's functions from now on,
// instead of those of the registry it was instantiated with (or last
// bound). reg must have the runtime's shape (see HostAPIRegistry.Shape),
// which its imports were resolved against; otherwise Bind returns a
// *ShapeError and changes nothing. Binding costs one pointer store, so a
// runtime can serve requests whose host functions close over each
// request's state: bind the request's registry, call, Unbind (or, for one
// call, CallWith, which changes no binding). reg's view is
// taken now: functions added to reg later are not seen.
//
// Bind does not wait for a call in progress: the host calls it makes after
// Bind returns run reg's functions. It fails with ErrClosed on a revoked
// handle (see Handle) and is safe for concurrent use. On a handle with its
// own binding (see HandleCell.OpenBound), Bind binds reg to the handle:
// the calls made through it, not the instance's other users, run reg's
// functions.
func (r *Runtime) Bind(reg *HostAPIRegistry) error {
	v := reg.snapshot()
	c := r.core()
	if v.shape != c.shape {
		return &ShapeError{Want: c.shape, Got: v.shape}
	}
	if r.lent != nil && r.lent.isRevoked() {
		return ErrClosed
	}
	if r.lent != nil && r.lent.binding() != nil {
		// A handle with its own binding (HandleCell.OpenBound).
		r.lent.view.Store(v)
		return nil
	}
	c.bound.Store(v)
	return nil
}

// Unbind drops the runtime's registry: the runtime keeps no reference to
// its functions, and until the next Bind a guest calling one of them fails
// with a HostError matching ErrUnbound (imports outside the registry, such
// as WASI's, keep working). It fails with ErrClosed on a revoked handle.
// On a handle with its own binding (see HandleCell.OpenBound), it unbinds
// the handle only.
func (r *Runtime) Unbind() error {
	if r.lent != nil && r.lent.isRevoked() {
		return ErrClosed
	}
	if r.lent != nil && r.lent.binding() != nil {
		r.lent.view.Store(unboundView)
		return nil
	}
	r.core().bound.Store(nil)
	return nil
}
