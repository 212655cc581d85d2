package runtime

import (
	"context"
	"fmt"
	"reflect"
	"strings"

	"github.com/aspect-rt/aspect-runtime/abi"
)

// Host function calls without reflection. AddAPI checks a function's shape
// once and builds an invoker for it: for the shapes built by Func0…Func3
// and Proc0…Proc3, and for the common plain shapes AddAPI recognizes
// (string and []byte and int64 in, string and []byte out, ...), the invoker
// calls the Go function directly, decodes arguments straight from guest
// memory and encodes the result into a buffer the runtime reuses; any other
// shape goes through reflect, once per call.

// invoker decodes a host function's arguments (raw, each one encoded value
// in guest memory, valid until the guest runs again), calls it and appends
// its encoded result to dst. hasValue is false when there is no result or
// it is nil (a nil pointer or interface: the guest gets pointer 0). An
// argument that cannot be decoded is an *argDecodeError; the function's own
// error is returned as is; a panic is the caller's to recover.
//
// admit, if not nil, runs after the arguments are decoded and before the
// function is called (it charges the call's gas rule); its error is
// returned as is. It is nil when there is nothing to charge, so that an
// unmetered host call makes no call for it.
type invoker func(ctx context.Context, raw [][]byte, admit func() error, dst []byte) (out []byte, hasValue bool, err error)

// admitted runs admit, if any.
func admitted(admit func() error) error {
	if admit == nil {
		return nil
	}
	return admit()
}

// argDecodeError is an argument the invoker could not decode.
type argDecodeError struct {
	index int
	err   error
}

func (e *argDecodeError) Error() string { return fmt.Sprintf("argument %d: %v", e.index, e.err) }
func (e *argDecodeError) Unwrap() error { return e.err }

// resultEncodeError is a result the invoker could not encode.
type resultEncodeError struct{ err error }

func (e *resultEncodeError) Error() string { return "encoding the result: " + e.err.Error() }
func (e *resultEncodeError) Unwrap() error { return e.err }

// Func is a host function with a typed signature, built by Func0…Func3 or
// Proc0…Proc3, for HostAPIRegistry.AddAPI: its calls decode, call and
// encode without reflection.
type Func struct {
	params    []reflect.Type
	hasResult bool
	resultT   reflect.Type
	invoke    invoker
}

// signature is the Go signature of the function f was built from, as
// reflect would print it: func(context.Context, A, ...) (R, error) or
// func(context.Context, A, ...) error.
func (f Func) signature() string {
	var b strings.Builder
	b.WriteString("func(context.Context")
	for _, p := range f.params {
		b.WriteString(", ")
		b.WriteString(p.String())
	}
	if f.hasResult {
		b.WriteString(") (" + f.resultT.String() + ", error)")
	} else {
		b.WriteString(") error")
	}
	return b.String()
}

// decodeArg decodes raw, argument i, into an A (abi.UnmarshalTo: basic
// types without reflection).
func decodeArg[A any](raw []byte, i int) (A, error) {
	a, err := abi.UnmarshalTo[A](raw)
	if err != nil {
		return a, &argDecodeError{index: i, err: err}
	}
	return a, nil
}

// encodeResult appends r's encoding to dst; a nil pointer or interface is
// "no value".
func encodeResult[R any](dst []byte, r R) ([]byte, bool, error) {
	switch any(&r).(type) {
	case *string, *[]byte, *bool, *int64, *int, *int32, *uint64, *uint32, *float64, *float32:
	default:
		if v := any(r); v == nil || isNilRef(v) {
			return dst, false, nil
		}
	}
	out, err := abi.AppendTo(dst, r)
	if err != nil {
		return dst, false, &resultEncodeError{err}
	}
	return out, true, nil
}

// isNilRef reports whether v holds a nil pointer (the only nil results the
// guest sees as "no value", like a nil interface).
func isNilRef(v any) bool {
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}

// argDecoder returns decodeArg[A], picked once when the function is built:
// for a plain string or []byte, one that decodes it directly, without the
// type switches decodeArg goes through on every call (same values, same
// errors: abi.UnmarshalTo decodes those two types the same way).
func argDecoder[A any]() func(raw []byte, i int) (A, error) {
	var f any
	switch any((*A)(nil)).(type) {
	case *string:
		f = func(raw []byte, i int) (string, error) {
			s, err := abi.DecodeString(raw)
			if err != nil {
				return s, &argDecodeError{index: i, err: err}
			}
			return s, nil
		}
	case *[]byte:
		f = func(raw []byte, i int) ([]byte, error) {
			b, err := abi.DecodeBytes(raw)
			if err != nil {
				return b, &argDecodeError{index: i, err: err}
			}
			return b, nil
		}
	default:
		return decodeArg[A]
	}
	return f.(func([]byte, int) (A, error))
}

// resultEncoder returns encodeResult[R], picked once like argDecoder: for
// a plain string or []byte, one that encodes it directly.
func resultEncoder[R any]() func(dst []byte, r R) ([]byte, bool, error) {
	var f any
	switch any((*R)(nil)).(type) {
	case *string:
		f = func(dst []byte, s string) ([]byte, bool, error) {
			out, err := abi.AppendString(dst, s)
			if err != nil {
				return dst, false, &resultEncodeError{err}
			}
			return out, true, nil
		}
	case *[]byte:
		f = func(dst []byte, b []byte) ([]byte, bool, error) {
			out, err := abi.AppendBytes(dst, b)
			if err != nil {
				return dst, false, &resultEncodeError{err}
			}
			return out, true, nil
		}
	default:
		return encodeResult[R]
	}
	return f.(func([]byte, R) ([]byte, bool, error))
}

// args2 and args3 decode a host function's first two or three arguments
// with the decoders of their types.
type args2[A, B any] struct {
	a func([]byte, int) (A, error)
	b func([]byte, int) (B, error)
}

func newArgs2[A, B any]() args2[A, B] { return args2[A, B]{argDecoder[A](), argDecoder[B]()} }

func (d args2[A, B]) decode(raw [][]byte) (a A, b B, err error) {
	if a, err = d.a(raw[0], 0); err != nil {
		return
	}
	b, err = d.b(raw[1], 1)
	return
}

type args3[A, B, C any] struct {
	ab args2[A, B]
	c  func([]byte, int) (C, error)
}

func newArgs3[A, B, C any]() args3[A, B, C] {
	return args3[A, B, C]{newArgs2[A, B](), argDecoder[C]()}
}

func (d args3[A, B, C]) decode(raw [][]byte) (a A, b B, c C, err error) {
	if a, b, err = d.ab.decode(raw); err != nil {
		return
	}
	c, err = d.c(raw[2], 2)
	return
}

func typesOf(ts ...reflect.Type) []reflect.Type { return ts }

// Func0 returns the host function fn, which takes no argument besides the
// call's context and returns a value or an error.
func Func0[R any](fn func(context.Context) (R, error)) Func {
	encode := resultEncoder[R]()
	return Func{hasResult: true, resultT: reflect.TypeFor[R](), invoke: func(ctx context.Context, raw [][]byte, admit func() error, dst []byte) ([]byte, bool, error) {
		if err := admitted(admit); err != nil {
			return dst, false, err
		}
		r, err := fn(ctx)
		if err != nil {
			return dst, false, err
		}
		return encode(dst, r)
	}}
}

// Func1 returns the host function fn of one argument.
func Func1[A, R any](fn func(context.Context, A) (R, error)) Func {
	if f, ok := any(fn).(func(context.Context, string) (string, error)); ok {
		return stringFunc(stringCall{withCtx: f})
	}
	decode, encode := argDecoder[A](), resultEncoder[R]()
	return Func{params: typesOf(reflect.TypeFor[A]()), hasResult: true, resultT: reflect.TypeFor[R](),
		invoke: func(ctx context.Context, raw [][]byte, admit func() error, dst []byte) ([]byte, bool, error) {
			a, err := decode(raw[0], 0)
			if err != nil {
				return dst, false, err
			}
			if err := admitted(admit); err != nil {
				return dst, false, err
			}
			r, err := fn(ctx, a)
			if err != nil {
				return dst, false, err
			}
			return encode(dst, r)
		}}
}

// Func2 returns the host function fn of two arguments.
func Func2[A, B, R any](fn func(context.Context, A, B) (R, error)) Func {
	args, encode := newArgs2[A, B](), resultEncoder[R]()
	return Func{params: typesOf(reflect.TypeFor[A](), reflect.TypeFor[B]()), hasResult: true, resultT: reflect.TypeFor[R](),
		invoke: func(ctx context.Context, raw [][]byte, admit func() error, dst []byte) ([]byte, bool, error) {
			a, b, err := args.decode(raw)
			if err != nil {
				return dst, false, err
			}
			if err := admitted(admit); err != nil {
				return dst, false, err
			}
			r, err := fn(ctx, a, b)
			if err != nil {
				return dst, false, err
			}
			return encode(dst, r)
		}}
}

// Func3 returns the host function fn of three arguments.
func Func3[A, B, C, R any](fn func(context.Context, A, B, C) (R, error)) Func {
	args, encode := newArgs3[A, B, C](), resultEncoder[R]()
	return Func{params: typesOf(reflect.TypeFor[A](), reflect.TypeFor[B](), reflect.TypeFor[C]()), hasResult: true, resultT: reflect.TypeFor[R](),
		invoke: func(ctx context.Context, raw [][]byte, admit func() error, dst []byte) ([]byte, bool, error) {
			a, b, c, err := args.decode(raw)
			if err != nil {
				return dst, false, err
			}
			if err := admitted(admit); err != nil {
				return dst, false, err
			}
			r, err := fn(ctx, a, b, c)
			if err != nil {
				return dst, false, err
			}
			return encode(dst, r)
		}}
}

// Proc0 returns the host function fn, which returns no value.
func Proc0(fn func(context.Context) error) Func {
	return Func{invoke: func(ctx context.Context, raw [][]byte, admit func() error, dst []byte) ([]byte, bool, error) {
		if err := admitted(admit); err != nil {
			return dst, false, err
		}
		return dst, false, fn(ctx)
	}}
}

// Proc1 returns the host function fn of one argument, which returns no
// value.
func Proc1[A any](fn func(context.Context, A) error) Func {
	decode := argDecoder[A]()
	return Func{params: typesOf(reflect.TypeFor[A]()), invoke: func(ctx context.Context, raw [][]byte, admit func() error, dst []byte) ([]byte, bool, error) {
		a, err := decode(raw[0], 0)
		if err != nil {
			return dst, false, err
		}
		if err := admitted(admit); err != nil {
			return dst, false, err
		}
		return dst, false, fn(ctx, a)
	}}
}

// Proc2 returns the host function fn of two arguments, which returns no
// value.
func Proc2[A, B any](fn func(context.Context, A, B) error) Func {
	args := newArgs2[A, B]()
	return Func{params: typesOf(reflect.TypeFor[A](), reflect.TypeFor[B]()), invoke: func(ctx context.Context, raw [][]byte, admit func() error, dst []byte) ([]byte, bool, error) {
		a, b, err := args.decode(raw)
		if err != nil {
			return dst, false, err
		}
		if err := admitted(admit); err != nil {
			return dst, false, err
		}
		return dst, false, fn(ctx, a, b)
	}}
}

// Proc3 returns the host function fn of three arguments, which returns no
// value.
func Proc3[A, B, C any](fn func(context.Context, A, B, C) error) Func {
	args := newArgs3[A, B, C]()
	return Func{params: typesOf(reflect.TypeFor[A](), reflect.TypeFor[B](), reflect.TypeFor[C]()), invoke: func(ctx context.Context, raw [][]byte, admit func() error, dst []byte) ([]byte, bool, error) {
		a, b, c, err := args.decode(raw)
		if err != nil {
			return dst, false, err
		}
		if err := admitted(admit); err != nil {
			return dst, false, err
		}
		return dst, false, fn(ctx, a, b, c)
	}}
}

// plainFunc returns the Func for the common plain shapes of host function
// (without a context, without an error, or both), or false.
func plainFunc(fn any) (Func, bool) {
	switch f := fn.(type) {
	case func(string) string:
		return stringFunc(stringCall{plain: f}), true
	case func(string) (string, error):
		return stringFunc(stringCall{withErr: f}), true
	case func(context.Context, string) (string, error):
		return stringFunc(stringCall{withCtx: f}), true
	case func(context.Context, string) string:
		return stringFunc(stringCall{ctxOnly: f}), true
	case func([]byte) []byte:
		return Func1(func(_ context.Context, a []byte) ([]byte, error) { return f(a), nil }), true
	case func([]byte) ([]byte, error):
		return Func1(func(_ context.Context, a []byte) ([]byte, error) { return f(a) }), true
	case func(context.Context, []byte) ([]byte, error):
		return Func1(f), true
	case func(string):
		return Proc1(func(_ context.Context, a string) error { f(a); return nil }), true
	case func(string) error:
		return Proc1(func(_ context.Context, a string) error { return f(a) }), true
	case func(context.Context, string) error:
		return Proc1(f), true
	case func() string:
		return Func0(func(context.Context) (string, error) { return f(), nil }), true
	case func(context.Context) (string, error):
		return Func0(f), true
	case func(int64, int64) int64:
		return Func2(func(_ context.Context, a, b int64) (int64, error) { return f(a, b), nil }), true
	case func(string, string) string:
		return Func2(func(_ context.Context, a, b string) (string, error) { return f(a, b), nil }), true
	case func(string, string, string) string:
		return Func3(func(_ context.Context, a, b, c string) (string, error) { return f(a, b, c), nil }), true
	}
	return Func{}, false
}

// stringCall is a host function of a string to a string, in one of the
// plain shapes: exactly one field is set.
type stringCall struct {
	plain   func(string) string
	withErr func(string) (string, error)
	withCtx func(context.Context, string) (string, error)
	ctxOnly func(context.Context, string) string
}

// stringFunc is Func1 for a string -> string host function, the most
// common shape, with the argument decoded and the result encoded inline:
// a call makes no call of a decoder, an encoder or an adapter closure,
// only of the function itself. Values and errors are Func1's.
func stringFunc(c stringCall) Func {
	t := reflect.TypeFor[string]()
	return Func{params: typesOf(t), hasResult: true, resultT: t,
		invoke: func(ctx context.Context, raw [][]byte, admit func() error, dst []byte) ([]byte, bool, error) {
			a, err := abi.DecodeString(raw[0])
			if err != nil {
				return dst, false, &argDecodeError{index: 0, err: err}
			}
			if err := admitted(admit); err != nil {
				return dst, false, err
			}
			var r string
			switch {
			case c.plain != nil:
				r = c.plain(a)
			case c.withCtx != nil:
				r, err = c.withCtx(ctx, a)
			case c.withErr != nil:
				r, err = c.withErr(a)
			default:
				r = c.ctxOnly(ctx, a)
			}
			if err != nil {
				return dst, false, err
			}
			out, err := abi.AppendString(dst, r)
			if err != nil {
				return dst, false, &resultEncodeError{err}
			}
			return out, true, nil
		}}
}

// reflectInvoker is the invoker of any other shape: reflect.Value.Call.
func reflectInvoker(a *hostAPI) invoker {
	return func(ctx context.Context, raw [][]byte, admit func() error, dst []byte) ([]byte, bool, error) {
		in := make([]reflect.Value, 0, len(a.params)+1)
		if a.withContext {
			in = append(in, reflect.ValueOf(ctx))
		}
		for i, pt := range a.params {
			v := reflect.New(pt).Elem()
			if err := abi.UnmarshalValue(raw[i], v); err != nil {
				return dst, false, &argDecodeError{index: i, err: err}
			}
			in = append(in, v)
		}
		if err := admitted(admit); err != nil {
			return dst, false, err
		}
		out := a.fn.Call(in)
		if a.hasError {
			if e := out[len(out)-1].Interface(); e != nil {
				return dst, false, e.(error)
			}
		}
		if !a.hasResult {
			return dst, false, nil
		}
		res := out[0]
		if (res.Kind() == reflect.Pointer || res.Kind() == reflect.Interface) && res.IsNil() {
			return dst, false, nil
		}
		enc, err := abi.AppendValue(dst, res)
		if err != nil {
			return dst, false, &resultEncodeError{err}
		}
		return enc, true, nil
	}
}
