package runtime

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"

	"github.com/aspect-rt/aspect-runtime/abi"
)

// HostAPIRegistry holds the Go functions guests may import. A guest imports
// the function registered as (module, namespace, method) from wasm module
// `module`, field `namespace.method`.
//
// Functions are checked and wrapped by reflection once, in AddAPI; calls do
// not repeat that work. A registry is safe for concurrent use. Runtimes
// resolve their imports when they are created; functions added later are
// seen only by runtimes created afterwards.
type HostAPIRegistry struct {
	mu   sync.RWMutex
	apis map[hostKey]*hostAPI
}

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

func (r *HostAPIRegistry) lookup(module, field string) *hostAPI {
	if r == nil {
		return nil
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.apis[hostKey{module, field}]
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
			return funcHostAPI(module, namespace, method, name, f)
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
	api := &hostAPI{module: module, namespace: namespace, method: method, fn: v}
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
		hasResult: f.hasResult, invoke: f.invoke}, nil
}
