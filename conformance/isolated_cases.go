package conformance

// The isolated cases: every hostile guest and misuse of issue 12 ("Survive
// every guest"), each run in a child process by RunIsolated so that a crash
// or a hang fails one case instead of the suite. Each case's Want is what
// the issue demands on every engine: no process death, no hang, the same
// typed error kind (and, metered, the same gas). Where the issue leaves the
// kind open, the case's comment says which one was chosen and why.
//
// Outcomes use ErrorKind.

import (
	"context"
	"errors"
	"fmt"
	goruntime "runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/metering"
	"github.com/aspect-rt/aspect-runtime/pool"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

// IsolatedCases returns every isolated case, pending ones included (see
// isolated_pending.go for those that fail on the current code).
func IsolatedCases() []IsolatedCase {
	var cs []IsolatedCase
	cs = append(cs, isolatedStartCases()...)
	cs = append(cs, isolatedRefusalCases()...)
	cs = append(cs, isolatedRecursionCases()...)
	cs = append(cs, isolatedDeadlineCases()...)
	cs = append(cs, isolatedReentryCases()...)
	cs = append(cs, isolatedPanicCases()...)
	cs = append(cs, isolatedDeterminismCases()...)
	cs = append(cs, isolatedMisuseCases()...)
	cs = append(cs, isolatedCacheCases()...)
	cs = append(cs, isolatedBombCases()...)
	return cs
}

const (
	// isolatedDeadline is the deadline of the cases whose guest never ends.
	isolatedDeadline = 500 * time.Millisecond
	// promptMargin is how long after its deadline such a case may take to
	// return and still be "prompt" (generous: loaded machine, -race).
	promptMargin = 5 * time.Second
	// deadlineCaseTimeout bounds the children of those cases.
	deadlineCaseTimeout = 15 * time.Second
	// blockedAfter is how long an operation that could deadlock may take
	// before the case reports it as "blocked".
	blockedAfter = 10 * time.Second
	// growQuickly bounds how long growing a memory to 65,535 pages may take.
	growQuickly = 2 * time.Second
	// bigBudget is a gas budget no case uses up.
	bigBudget = 1 << 40
)

// newFixture compiles and instantiates a fixture on env's engine without
// registering a cleanup (a case that may leave the runtime locked must not
// wait for it at the end of the test).
func newFixture(ctx context.Context, env *Env, fixture string, reg *runtime.HostAPIRegistry, opts ...runtime.Option) (*runtime.Runtime, error) {
	return runtime.NewWithEngine(ctx, env.Engine, fixtures.MustBytes(fixture), reg, opts...)
}

// mustFixtureRuntime is newFixture for a runtime the case needs: the case
// fails (in the child) if it cannot be created.
func mustFixtureRuntime(t *testing.T, env *Env, fixture string, reg *runtime.HostAPIRegistry, opts ...runtime.Option) *runtime.Runtime {
	t.Helper()
	rt, err := newFixture(context.Background(), env, fixture, reg, opts...)
	if err != nil {
		t.Fatalf("instantiating %s on %s: %v", fixture, env.Engine, err)
	}
	return rt
}

// guarded runs f and returns its outcome, or "panic: <value>" if it panics.
func guarded(f func() string) (out string) {
	defer func() {
		if p := recover(); p != nil {
			out = fmt.Sprintf("panic: %v", p)
		}
	}()
	return f()
}

// within runs f (guarded) and returns its outcome, or "blocked" if it has
// not returned after d; it is then left running.
func within(d time.Duration, f func() string) string {
	done := make(chan string, 1)
	go func() { done <- guarded(f) }()
	select {
	case out := <-done:
		return out
	case <-time.After(d):
		return "blocked"
	}
}

// callKind calls export with args and returns the error kind ("ok" on
// success), "blocked" or "panic: …".
func callKind(ctx context.Context, rt *runtime.Runtime, export string, args ...any) string {
	return within(blockedAfter, func() string {
		_, err := rt.Call(ctx, export, args...)
		return ErrorKind(err)
	})
}

// closeKind closes rt and returns the error kind, "blocked" or "panic: …".
func closeKind(rt *runtime.Runtime) string {
	return within(blockedAfter, func() string { return ErrorKind(rt.Close(context.Background())) })
}

// int32Call calls an export returning an encoded Int32 and formats it.
func int32Call(rt *runtime.Runtime, export string) string {
	return within(blockedAfter, func() string {
		v, err := runtime.CallAs[int32](context.Background(), rt, export)
		if err != nil {
			return ErrorKind(err)
		}
		return fmt.Sprint(v)
	})
}

// isoHost is the host side of wat/iso_host.wasm: test.cb, test.arg and
// test.res, each replaceable.
type isoHost struct {
	cb  any // func(...) for test.cb: no parameters besides a context, no result
	arg any // test.arg: one parameter, no result
	res any // test.res: no parameters, one result
}

func (h isoHost) registry(t *testing.T) *runtime.HostAPIRegistry {
	t.Helper()
	reg := runtime.NewHostAPIRegistry()
	for _, f := range []struct {
		name string
		fn   any
		def  any
	}{
		{"cb", h.cb, func() {}},
		{"arg", h.arg, func(string) {}},
		{"res", h.res, func() string { return "host" }},
	} {
		fn := f.fn
		if fn == nil {
			fn = f.def
		}
		if err := reg.AddAPI("index", "test", f.name, fn); err != nil {
			t.Fatalf("registering test.%s: %v", f.name, err)
		}
	}
	return reg
}

// newFailure describes the error of instantiating a module: "New: <kind>",
// closing the runtime if there was none.
func newFailure(rt *runtime.Runtime, err error) string {
	if err == nil {
		return "New: ok; close: " + closeKind(rt)
	}
	return "New: " + ErrorKind(err)
}

// Item 1: start sections calling host functions.
func isolatedStartCases() []IsolatedCase {
	return []IsolatedCase{
		{
			// The abort must be read from the instance's memory while the
			// start code runs (wasmtime aborted the process, wasmer could
			// not read the message).
			Name: "start-section/abort",
			Want: `New: ErrAbort|abort="boom ✓"@start.ts:11:5`,
			Run: func(t *testing.T, env *Env) string {
				return newFailure(newFixture(context.Background(), env, "wat/iso_start_abort.wasm", nil))
			},
		},
		{
			// test.log and test.hello read their argument; hello's result is
			// written into the guest through allocate during instantiation.
			Name: "start-section/host-reads-argument",
			Want: `New: ok; logged: [start]; result: "greet to start"`,
			Run: func(t *testing.T, env *Env) string {
				var mu sync.Mutex
				var logged []string
				reg := runtime.NewHostAPIRegistry()
				if err := reg.AddAPI("index", "test", "log", func(s string) {
					mu.Lock()
					defer mu.Unlock()
					logged = append(logged, s)
				}); err != nil {
					t.Fatal(err)
				}
				if err := reg.AddAPI("index", "test", "hello", func(s string) string { return "greet to " + s }); err != nil {
					t.Fatal(err)
				}
				rt, err := newFixture(context.Background(), env, "wat/iso_start_host.wasm", reg)
				if err != nil {
					return "New: " + ErrorKind(err)
				}
				res := within(blockedAfter, func() string {
					s, err := runtime.CallAs[string](context.Background(), rt, "result")
					if err != nil {
						return ErrorKind(err)
					}
					return fmt.Sprintf("%q", s)
				})
				closeKind(rt)
				mu.Lock()
				defer mu.Unlock()
				return fmt.Sprintf("New: ok; logged: %v; result: %s", logged, res)
			},
		},
	}
}

// extendedConstModule is
//
//	(module
//	  (global i32 (i32.add (i32.const 1) (i32.const 2)))
//	  (func (export "get") (result i32) global.get 0))
//
// assembled by hand: the extended-const proposal is not part of
// WebAssembly 2.0, and wat2wasm, which builds the fixtures, accepts it only
// behind a flag (the bytes are those of wat2wasm --enable-extended-const).
var extendedConstModule = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
	0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f, // type section: () -> i32
	0x03, 0x02, 0x01, 0x00, // function section: function 0 has type 0
	0x06, 0x09, 0x01, 0x7f, 0x00, 0x41, 0x01, 0x41, 0x02, 0x6a, 0x0b, // global: i32 const = 1 + 2
	0x07, 0x07, 0x01, 0x03, 'g', 'e', 't', 0x00, 0x00, // export "get" = function 0
	0x0a, 0x06, 0x01, 0x04, 0x00, 0x23, 0x00, 0x0b, // code: global.get 0
}

// Item 2: what an engine cannot handle is refused before it reaches the
// engine, with the same typed error on every engine: ErrCompile, the module
// is refused when it is compiled, before any instance exists.
func isolatedRefusalCases() []IsolatedCase {
	refused := func(name, fixture string) IsolatedCase {
		return IsolatedCase{Name: name, Want: "New: ErrCompile", Run: func(t *testing.T, env *Env) string {
			return newFailure(newFixture(context.Background(), env, fixture, nil))
		}}
	}
	return []IsolatedCase{
		// A 4 GiB minimum: wasmer aborts the process (TryFromIntError).
		refused("refuse/memory-minimum-4gib", "wat/iso_memory_min_4gib.wasm"),
		// v128 in signatures: wasmer's C API aborts ("no v128 type in Wasm
		// C API yet").
		refused("refuse/v128-import", "wat/iso_v128_import.wasm"),
		refused("refuse/v128-export", "wat/iso_v128_export.wasm"),
		{
			// table.grow by 0xFFFFFFF0 elements: wasmer aborted the process
			// (a 32 GiB allocation), wasmtime failed the call with an
			// untyped error; the spec's answer is -1, the table unchanged.
			Name: "table/grow-huge-returns-minus-one",
			Want: "grow_huge: -1; size: 1",
			Run: func(t *testing.T, env *Env) string {
				rt, err := newFixture(context.Background(), env, "wat/iso_table_grow.wasm", nil)
				if err != nil {
					return "New: " + ErrorKind(err)
				}
				out := fmt.Sprintf("grow_huge: %s; size: %s", int32Call(rt, "grow_huge"), int32Call(rt, "size"))
				closeKind(rt)
				return out
			},
		},
	}
}

// isoRecurseFixture is the fixture of unbounded recursion whose every frame
// keeps n i64 locals live across the recursive call (see recurseWAT).
func isoRecurseFixture(n int) string { return fmt.Sprintf("wat/iso_recurse_%d.wasm", n) }

// isoRecurseLocals are the frame sizes of the recursion cases.
var isoRecurseLocals = []int{700, 2000}

// Item 3: deep recursion with large frames. Metered or not, the runtime's
// deterministic call-depth and stack-slot limits stop it before any native
// stack overflows (wasmer's native overflow with frames larger than its
// guard page is a SIGSEGV; wasmtime's 512 KiB stack ran out before a
// call-count limit of 1000): ErrCallDepth, with the same gas everywhere
// when metered.
func isolatedRecursionCases() []IsolatedCase {
	var cs []IsolatedCase
	for _, n := range isoRecurseLocals {
		cs = append(cs,
			IsolatedCase{
				Name: fmt.Sprintf("recursion/locals-%d/unmetered", n),
				Want: "ErrCallDepth",
				Run: func(t *testing.T, env *Env) string {
					rt := mustFixtureRuntime(t, env, isoRecurseFixture(n), nil)
					out := callKind(context.Background(), rt, "recurse")
					closeKind(rt)
					return out
				},
			},
			IsolatedCase{
				Name: fmt.Sprintf("recursion/locals-%d/metered", n),
				Want: "ErrCallDepth; gas {n}",
				Run: func(t *testing.T, env *Env) string {
					rt := mustFixtureRuntime(t, env, isoRecurseFixture(n), nil, runtime.WithMetering(metering.Config{}))
					m := runtime.NewMeter(bigBudget)
					out := callKind(runtime.WithMeter(context.Background(), m), rt, "recurse")
					closeKind(rt)
					return fmt.Sprintf("%s; gas %d", out, m.Used())
				},
			},
		)
	}
	// Item 4: an allocate that calls a host function with a result: guest
	// -> host -> guest without end (wazero died of a Go stack overflow,
	// wasmer of SIGSEGV, wasmtime nested its message 377 times). The chain
	// is bounded like recursion: ErrCallDepth, reported once, as the cause
	// of the failed allocation.
	reentrant := func(name string, opts []runtime.Option, metered bool) IsolatedCase {
		want := "ErrABI|ErrAllocate|ErrCallDepth; messages: 1"
		if metered {
			want += "; gas {n}"
		}
		return IsolatedCase{Name: name, Want: want, Run: func(t *testing.T, env *Env) string {
			reg := runtime.NewHostAPIRegistry()
			if err := reg.AddAPI("index", "test", "get", func() string { return "x" }); err != nil {
				t.Fatal(err)
			}
			rt := mustFixtureRuntime(t, env, "wat/iso_reenter_alloc.wasm", reg, opts...)
			m := runtime.NewMeter(bigBudget)
			ctx := context.Background()
			if metered {
				ctx = runtime.WithMeter(ctx, m)
			}
			out := within(blockedAfter, func() string {
				_, err := rt.Call(ctx, "f")
				if err == nil {
					return "ok"
				}
				return fmt.Sprintf("%s; messages: %d", ErrorKind(err), strings.Count(err.Error(), "guest allocation failed"))
			})
			closeKind(rt)
			if metered {
				out += fmt.Sprintf("; gas %d", m.Used())
			}
			return out
		}}
	}
	cs = append(cs,
		reentrant("reentrant-allocate/unmetered", nil, false),
		reentrant("reentrant-allocate/metered", []runtime.Option{runtime.WithMetering(meteringConfig)}, true),
	)
	return cs
}

// elapsedNote is "prompt" if a call that had the deadline isolatedDeadline
// returned in time, or how late it was.
func elapsedNote(elapsed time.Duration) string {
	if elapsed < isolatedDeadline+promptMargin {
		return "prompt"
	}
	return fmt.Sprintf("late (%s)", elapsed.Round(100*time.Millisecond))
}

// Items 5 and 6: start code and calls that never end are stopped at the
// deadline of their context on every engine, metered or not (an interrupted
// call is billed its whole budget), and metered start code without a Meter
// is bounded by the runtime's default start budget (ErrOutOfGas).
func isolatedDeadlineCases() []IsolatedCase {
	const interrupted = "New: ErrInterrupted|context.DeadlineExceeded; prompt"
	startDeadline := func(name, fixture string, metered bool) IsolatedCase {
		want := interrupted
		if metered {
			want += fmt.Sprintf("; gas %d", uint64(bigBudget))
		}
		return IsolatedCase{Name: name, Want: want, Timeout: deadlineCaseTimeout, Run: func(t *testing.T, env *Env) string {
			ctx, cancel := context.WithTimeout(context.Background(), isolatedDeadline)
			defer cancel()
			var opts []runtime.Option
			m := runtime.NewMeter(bigBudget)
			if metered {
				opts = append(opts, runtime.WithMetering(meteringConfig))
				ctx = runtime.WithMeter(ctx, m)
			}
			start := time.Now()
			rt, err := newFixture(ctx, env, fixture, nil, opts...)
			out := newFailure(rt, err) + "; " + elapsedNote(time.Since(start))
			if metered {
				out += fmt.Sprintf("; gas %d", m.Used())
			}
			return out
		}}
	}
	noMeter := func(name, fixture string) IsolatedCase {
		return IsolatedCase{Name: name, Want: "New: ErrOutOfGas", Run: func(t *testing.T, env *Env) string {
			return newFailure(newFixture(context.Background(), env, fixture, nil, runtime.WithMetering(meteringConfig)))
		}}
	}
	return []IsolatedCase{
		startDeadline("start-section/loop/unmetered-deadline", "wat/iso_start_loop.wasm", false),
		startDeadline("start-section/loop/metered-deadline", "wat/iso_start_loop.wasm", true),
		noMeter("start-section/loop/metered-default-budget", "wat/iso_start_loop.wasm"),
		startDeadline("aspect-start/loop/unmetered-deadline", "wat/iso_aspect_start_loop.wasm", false),
		startDeadline("aspect-start/loop/metered-deadline", "wat/iso_aspect_start_loop.wasm", true),
		noMeter("aspect-start/loop/metered-default-budget", "wat/iso_aspect_start_loop.wasm"),
		{
			// runtime.WithStartGas sets the start code's own budget.
			Name: "aspect-start/loop/metered-start-gas",
			Want: "New: ErrOutOfGas",
			Run: func(t *testing.T, env *Env) string {
				return newFailure(newFixture(context.Background(), env, "wat/iso_aspect_start_loop.wasm", nil,
					runtime.WithMetering(meteringConfig), runtime.WithStartGas(1_000_000)))
			},
		},
		{
			// runtime.WithStartTimeout gives start code a deadline when the
			// context has none (what the pool does for PutBack).
			Name: "aspect-start/loop/start-timeout",
			Want: "New: ErrInterrupted|context.DeadlineExceeded",
			Run: func(t *testing.T, env *Env) string {
				return newFailure(newFixture(context.Background(), env, "wat/iso_aspect_start_loop.wasm", nil,
					runtime.WithStartTimeout(50*time.Millisecond)))
			},
		},
		{
			// What `aspect run --gas 100000` does to a looping
			// __aspect_start__: the Meter in New's context pays for the
			// start code and runs out.
			Name: "aspect-start/loop/metered-meter-100000",
			Want: "New: ErrOutOfGas; gas 100000",
			Run: func(t *testing.T, env *Env) string {
				m := runtime.NewMeter(100_000)
				ctx := runtime.WithMeter(context.Background(), m)
				rt, err := newFixture(ctx, env, "wat/iso_aspect_start_loop.wasm", nil, runtime.WithMetering(meteringConfig))
				return fmt.Sprintf("%s; gas %d", newFailure(rt, err), m.Used())
			},
		},
		{
			// An unmetered guest looping under a deadline while another
			// goroutine collects garbage: on wazero the stop-the-world
			// waited forever for the guest, freezing the process.
			Name:    "deadline/unmetered-loop-with-gc",
			Want:    "ErrInterrupted|context.DeadlineExceeded; prompt; then echo: ok",
			Timeout: deadlineCaseTimeout,
			Run: func(t *testing.T, env *Env) string {
				rt := mustFixtureRuntime(t, env, "wat/raw.wasm", nil)
				ctx, cancel := context.WithTimeout(context.Background(), isolatedDeadline)
				defer cancel()
				gcDone := make(chan struct{})
				go func() {
					defer close(gcDone)
					for ctx.Err() == nil {
						goruntime.GC()
						time.Sleep(time.Millisecond)
					}
				}()
				start := time.Now()
				_, err := rt.Call(ctx, "loop_forever")
				out := ErrorKind(err) + "; " + elapsedNote(time.Since(start))
				cancel()
				<-gcDone
				out += "; then echo: " + callKind(context.Background(), rt, "echo", "x")
				closeKind(rt)
				return out
			},
		},
	}
}

// Item 7: a host function calling Call, Close, Reset or Fault on the
// Runtime running it, with the context it was given. Each fails at once
// with ErrReentrant (Fault, which only reads, answers: no fault yet)
// instead of waiting for itself forever; the host function returns that
// error, so the call fails with ErrHost, and the runtime works after.
func isolatedReentryCases() []IsolatedCase {
	reentry := func(op string, want string, do func(ctx context.Context, rt *runtime.Runtime) error, propagate bool) IsolatedCase {
		return IsolatedCase{Name: "reentry/" + op, Want: want, Run: func(t *testing.T, env *Env) string {
			var rt *runtime.Runtime
			var inner string
			cb := func(ctx context.Context) error {
				err := do(ctx, rt)
				inner = ErrorKind(err)
				if propagate {
					return err
				}
				return nil
			}
			rt = mustFixtureRuntime(t, env, "wat/iso_host.wasm", isoHost{cb: cb}.registry(t))
			outer := callKind(context.Background(), rt, "call_cb")
			if outer == "blocked" {
				return "outer: blocked"
			}
			out := fmt.Sprintf("inner: %s; outer: %s; then: %s", inner, outer, callKind(context.Background(), rt, "nop"))
			closeKind(rt)
			return out
		}}
	}
	const refused = "inner: ErrReentrant; outer: ErrHost|ErrReentrant; then: ok"
	return []IsolatedCase{
		reentry("call", refused, func(ctx context.Context, rt *runtime.Runtime) error {
			_, err := rt.Call(ctx, "nop")
			return err
		}, true),
		reentry("close", refused, func(ctx context.Context, rt *runtime.Runtime) error { return rt.Close(ctx) }, true),
		reentry("reset", refused, func(ctx context.Context, rt *runtime.Runtime) error { return rt.Reset(ctx) }, true),
		reentry("fault", "inner: ok; outer: ok; then: ok", func(ctx context.Context, rt *runtime.Runtime) error { return rt.Fault() }, false),
	}
}

// panicMarshaler's MarshalABI panics.
type panicMarshaler struct{}

// MarshalABI implements abi.Marshaler by panicking.
func (panicMarshaler) MarshalABI() ([]byte, error) { panic("MarshalABI boom") }

// panicUnmarshaler's UnmarshalABI panics.
type panicUnmarshaler struct{}

// UnmarshalABI implements abi.Unmarshaler by panicking.
func (*panicUnmarshaler) UnmarshalABI([]byte) error { panic("UnmarshalABI boom") }

// Item 8: panics and Goexit inside Call. The runtime's lock is released
// whatever happens, so the runtime works after. The caller's own types
// panicking while Call encodes an argument or decodes the result are
// reported as an invalid argument caused by a panic (ErrInvalidArgument
// and ErrHostPanic: the panic is not the guest's, and it does not escape
// Call); in a host function's parameter or result types, as a host panic
// (ErrHost, ErrHostPanic), like a panic in the function itself.
func isolatedPanicCases() []IsolatedCase {
	then := func(rt *runtime.Runtime) string {
		return within(blockedAfter, func() string {
			out, err := rt.Call(context.Background(), "echo", "again")
			if err != nil {
				return ErrorKind(err)
			}
			if out != "again" {
				return fmt.Sprintf("wrong result %v", out)
			}
			return "ok"
		})
	}
	withRuntime := func(name, want string, host isoHost, do func(rt *runtime.Runtime) string) IsolatedCase {
		return IsolatedCase{Name: name, Want: want, Run: func(t *testing.T, env *Env) string {
			rt := mustFixtureRuntime(t, env, "wat/iso_host.wasm", host.registry(t))
			out := do(rt)
			if out == "blocked" {
				return out
			}
			out += "; then: " + then(rt)
			closeKind(rt)
			return out
		}}
	}
	return []IsolatedCase{
		withRuntime("panic/marshal-argument", "ErrInvalidArgument|ErrHostPanic; then: ok", isoHost{}, func(rt *runtime.Runtime) string {
			return callKind(context.Background(), rt, "echo", panicMarshaler{})
		}),
		withRuntime("panic/unmarshal-result", "ErrInvalidArgument|ErrHostPanic; then: ok", isoHost{}, func(rt *runtime.Runtime) string {
			return within(blockedAfter, func() string {
				var out panicUnmarshaler
				return ErrorKind(rt.CallInto(context.Background(), &out, "echo", "x"))
			})
		}),
		withRuntime("panic/host-parameter-unmarshal", "ErrHost|ErrHostPanic; then: ok", isoHost{arg: func(panicUnmarshaler) {}}, func(rt *runtime.Runtime) string {
			return callKind(context.Background(), rt, "call_arg")
		}),
		withRuntime("panic/host-result-marshal", "ErrHost|ErrHostPanic; then: ok", isoHost{res: func() panicMarshaler { return panicMarshaler{} }}, func(rt *runtime.Runtime) string {
			return callKind(context.Background(), rt, "call_res")
		}),
		// A nil context is an invalid argument, not a nil-pointer panic
		// with the lock held.
		withRuntime("misuse/nil-context", "ErrInvalidArgument; then: ok", isoHost{}, func(rt *runtime.Runtime) string {
			var nilCtx context.Context
			return callKind(nilCtx, rt, "nop")
		}),
		{
			// runtime.Goexit in a host function ends the calling goroutine
			// (nothing can undo that); the instance it left mid-call cannot
			// be trusted, so the runtime drops it: Fault and later calls
			// report ErrClosed, and Reset starts over with a new instance.
			Name: "goexit/host-function",
			Want: "call returned: false; fault: ErrClosed; call: ErrClosed; reset: ok; call after reset: ok; close: ok",
			Run: func(t *testing.T, env *Env) string {
				rt := mustFixtureRuntime(t, env, "wat/iso_host.wasm", isoHost{cb: func() { goruntime.Goexit() }}.registry(t))
				done := make(chan struct{})
				returned := false
				go func() {
					defer close(done)
					_, _ = rt.Call(context.Background(), "call_cb")
					returned = true
				}()
				select {
				case <-done:
				case <-time.After(blockedAfter):
					return "call: blocked"
				}
				fault := within(blockedAfter, func() string { return ErrorKind(rt.Fault()) })
				call := callKind(context.Background(), rt, "nop")
				reset := within(blockedAfter, func() string { return ErrorKind(rt.Reset(context.Background())) })
				after := callKind(context.Background(), rt, "nop")
				return fmt.Sprintf("call returned: %t; fault: %s; call: %s; reset: %s; call after reset: %s; close: %s",
					returned, fault, call, reset, after, closeKind(rt))
			},
		},
		{
			// Item 9: one Runtime shared by 16 goroutines mixing good and
			// trapping calls with Resets: every call gets its own result or
			// error (the fault used to be read after the lock was released,
			// so a call could return another's error, or none).
			Name: "race/shared-runtime",
			Want: "16 goroutines x 200 calls and resets: all correct",
			Run: func(t *testing.T, env *Env) string {
				rt := mustFixtureRuntime(t, env, "wat/iso_host.wasm", isoHost{}.registry(t))
				const goroutines, calls = 16, 200
				var mu sync.Mutex
				var wrong []string
				note := func(format string, args ...any) {
					mu.Lock()
					defer mu.Unlock()
					if len(wrong) < 5 {
						wrong = append(wrong, fmt.Sprintf(format, args...))
					}
				}
				var wg sync.WaitGroup
				for g := range goroutines {
					wg.Go(func() {
						ctx := context.Background()
						for i := range calls {
							switch {
							case i%25 == 24:
								if err := rt.Reset(ctx); err != nil {
									note("goroutine %d: Reset: %v", g, err)
								}
							case i%4 == 0:
								_, err := rt.Call(ctx, "trap")
								var te *runtime.TrapError
								if !errors.As(err, &te) || te.Code != runtime.TrapUnreachable || te.Func != "trap" {
									note("goroutine %d: trap call %d returned %v", g, i, err)
								}
							default:
								want := fmt.Sprintf("g%d-%d", g, i)
								got, err := rt.Call(ctx, "echo", want)
								if err != nil || got != want {
									note("goroutine %d: echo %q returned %v, %v", g, want, got, err)
								}
							}
						}
					})
				}
				done := make(chan struct{})
				go func() { wg.Wait(); close(done) }()
				select {
				case <-done:
				case <-time.After(time.Minute):
					return "blocked"
				}
				closeKind(rt)
				if len(wrong) > 0 {
					return "wrong: " + strings.Join(wrong, "; ")
				}
				return fmt.Sprintf("%d goroutines x %d calls and resets: all correct", goroutines, calls)
			},
		},
	}
}

// Item 10: engine differences normalized so every engine agrees with the
// spec (WebAssembly 2.0).
func isolatedDeterminismCases() []IsolatedCase {
	activeSegment := func(metered bool) IsolatedCase {
		name, want := "segments/memory-init-from-active/unmetered", "ErrTrap|trap=out of bounds memory access"
		if metered {
			name, want = "segments/memory-init-from-active/metered", want+"; gas 1000000"
		}
		return IsolatedCase{Name: name, Want: want, Run: func(t *testing.T, env *Env) string {
			var opts []runtime.Option
			ctx := context.Background()
			m := runtime.NewMeter(1_000_000)
			if metered {
				opts = append(opts, runtime.WithMetering(meteringConfig))
				ctx = runtime.WithMeter(ctx, m)
			}
			rt := mustFixtureRuntime(t, env, "wat/iso_active_segment.wasm", nil, opts...)
			out := callKind(ctx, rt, "init")
			closeKind(rt)
			if metered {
				out += fmt.Sprintf("; gas %d", m.Used())
			}
			return out
		}}
	}
	return []IsolatedCase{
		{
			// Extended constant expressions ran on wasmtime only; the
			// runtime folds them before any engine sees the module, so
			// every engine runs it, with the value the spec gives.
			Name: "normalize/extended-const",
			Want: "New: ok; get: 3",
			Run: func(t *testing.T, env *Env) string {
				rt, err := runtime.NewWithEngine(context.Background(), env.Engine, extendedConstModule, nil)
				if err != nil {
					return "New: " + ErrorKind(err)
				}
				get := within(blockedAfter, func() string {
					res, err := rt.CallWasm(context.Background(), "get")
					if err != nil {
						return ErrorKind(err)
					}
					return fmt.Sprint(res)
				})
				closeKind(rt)
				return "New: ok; get: " + strings.Trim(get, "[]")
			},
		},
		// Active segments are dropped once applied (wazero kept them).
		activeSegment(false),
		activeSegment(true),
		{
			// The 4 GiB boundary: wazero broke at exactly 65,536 pages
			// (every access trapped, the size read 0), wasmer grows only to
			// 65,535, wasmtime to 65,536. The engines agree on wasmer's
			// limit: growing to 65,536 pages returns -1, as the spec lets
			// memory.grow do, and the memory keeps its size.
			Name: "memory/grow-to-4gib-refused",
			Want: "grow_full: -1; size: 1",
			Run: func(t *testing.T, env *Env) string {
				rt := mustFixtureRuntime(t, env, "wat/iso_memory_4gib.wasm", nil)
				out := fmt.Sprintf("grow_full: %s; size: %s", int32Call(rt, "grow_full"), int32Call(rt, "size"))
				closeKind(rt)
				return out
			},
		},
		{
			// 65,535 pages work on every engine, to their last byte, and
			// growing to them is quick (the memory is reserved, not
			// written: at most growQuickly).
			Name: "memory/65535-pages-usable",
			Want: "grow_almost: 1; size: 65535; touch_last: 42",
			Run: func(t *testing.T, env *Env) string {
				// The largest limit: the default (runtime.DefaultMemoryLimitPages)
				// would refuse the growth.
				rt := mustFixtureRuntime(t, env, "wat/iso_memory_4gib.wasm", nil, runtime.WithMemoryLimitPages(runtime.MaxMemoryLimitPages))
				start := time.Now()
				grow := int32Call(rt, "grow_almost")
				if d := time.Since(start); d > growQuickly {
					grow += fmt.Sprintf(" (slow: %s)", d.Round(100*time.Millisecond))
				}
				out := fmt.Sprintf("grow_almost: %s; size: %s; touch_last: %s", grow, int32Call(rt, "size"), int32Call(rt, "touch_last"))
				closeKind(rt)
				return out
			},
		},
	}
}

// Items 11 to 13: misuse the runtime must catch with a typed error.
func isolatedMisuseCases() []IsolatedCase {
	return []IsolatedCase{
		{
			// A Meter on a module compiled without WithMetering used to be
			// ignored: the user believed the call was bounded.
			Name: "meter/on-unmetered-module",
			Want: "ErrNotMetered; used 0",
			Run: func(t *testing.T, env *Env) string {
				rt := mustFixtureRuntime(t, env, "wat/raw.wasm", nil)
				m := runtime.NewMeter(10)
				out := callKind(runtime.WithMeter(context.Background(), m), rt, "nop")
				closeKind(rt)
				return fmt.Sprintf("%s; used %d", out, m.Used())
			},
		},
		{
			// Module.Exports lists the module's own exports, not those the
			// runtime adds to the code it compiles (gas counters, snapshot
			// exports such as __aspect_global_N).
			Name: "module/exports-are-the-modules-own",
			Want: "memory memory, func allocate, func call_cb, func call_arg, func call_res, func nop, func echo, func trap",
			Run: func(t *testing.T, env *Env) string {
				m, err := runtime.CompileWithEngine(context.Background(), env.Engine, fixtures.MustBytes("wat/iso_host.wasm"), runtime.WithMetering(meteringConfig))
				if err != nil {
					return "Compile: " + ErrorKind(err)
				}
				defer m.Close(context.Background())
				var names []string
				for _, e := range m.Exports() {
					names = append(names, e.Kind.String()+" "+e.Name)
				}
				return strings.Join(names, ", ")
			},
		},
		{
			// Error texts say "aspect:" once: a wrapped runtime error does
			// not repeat the prefix (a failed allocation read "aspect: guest
			// allocation failed: aspect: allocate: guest trapped: …").
			Name: "errors/prefix-said-once",
			Want: "repeated: none",
			Run: func(t *testing.T, env *Env) string {
				ctx := context.Background()
				errs := map[string]error{}
				_, errs["compile"] = runtime.NewWithEngine(ctx, env.Engine, []byte("not wasm"), nil)
				_, errs["link"] = newFixture(ctx, env, "wat/iso_host.wasm", nil)
				rt := mustFixtureRuntime(t, env, "wat/iso_host.wasm", isoHost{cb: func() error { return errors.New("host says no") }}.registry(t))
				_, errs["trap"] = rt.Call(ctx, "trap")
				_, errs["host"] = rt.Call(ctx, "call_cb")
				closeKind(rt)
				rt = mustFixtureRuntime(t, env, "wat/alloc_trap.wasm", nil)
				_, errs["allocate"] = rt.Call(ctx, "f", "x")
				closeKind(rt)
				rt = mustFixtureRuntime(t, env, "wat/abort.wasm", nil)
				_, errs["abort"] = rt.Call(ctx, "f")
				closeKind(rt)
				var repeated []string
				for _, name := range sortedKeys(errs) {
					if errs[name] == nil {
						repeated = append(repeated, name+" (no error)")
					} else if strings.Count(errs[name].Error(), "aspect:") > 1 {
						repeated = append(repeated, name)
					}
				}
				if len(repeated) == 0 {
					return "repeated: none"
				}
				return "repeated: " + strings.Join(repeated, ", ")
			},
		},
		{
			// Module.Close while one of its instances runs: the call in
			// progress finishes, the instance keeps working (the code is
			// released with the last instance), new instances are refused
			// with ErrClosed. It used to fail with untyped errors (wazero:
			// "module closed with exit_code(0)", then a misleading
			// ErrAllocate).
			Name: "module/close-while-running",
			Want: "Module.Close: ok; running call: ok; then: ok; Instantiate: ErrClosed; Runtime.Close: ok",
			Run: func(t *testing.T, env *Env) string {
				ctx := context.Background()
				m, err := runtime.CompileWithEngine(ctx, env.Engine, fixtures.MustBytes("wat/iso_host.wasm"))
				if err != nil {
					t.Fatal(err)
				}
				entered, release := make(chan struct{}), make(chan struct{})
				var once sync.Once
				reg := isoHost{cb: func() {
					once.Do(func() { close(entered) })
					<-release
				}}.registry(t)
				rt, err := m.Instantiate(ctx, reg)
				if err != nil {
					t.Fatal(err)
				}
				running := make(chan string, 1)
				go func() { running <- callKind(ctx, rt, "call_cb") }()
				select {
				case <-entered:
				case <-time.After(blockedAfter):
					return "call_cb never reached the host"
				}
				closed := within(blockedAfter, func() string { return ErrorKind(m.Close(ctx)) })
				close(release)
				call := <-running
				then := callKind(ctx, rt, "nop")
				inst := within(blockedAfter, func() string {
					rt2, err := m.Instantiate(ctx, reg)
					if err == nil {
						closeKind(rt2)
					}
					return ErrorKind(err)
				})
				return fmt.Sprintf("Module.Close: %s; running call: %s; then: %s; Instantiate: %s; Runtime.Close: %s",
					closed, call, then, inst, closeKind(rt))
			},
		},
		{
			// A PreRunFunc that panics: the pool recovers it into an error
			// (ErrHostPanic: the host's code panicked), closes the instance
			// (it left Stats().Live at +1, neither handed out nor closed)
			// and keeps working.
			Name: "pool/prerun-panics",
			Want: "Runtime: ErrHostPanic; live 0; idle 0; next lease: ok; pool close: ok",
			Run: func(t *testing.T, env *Env) string {
				ctx := context.Background()
				p := pool.New(2)
				code := fixtures.MustBytes("wat/raw.wasm")
				got := within(blockedAfter, func() string {
					l, err := p.Runtime(ctx, env.Engine, code, nil, pool.PreRunFunc(func(context.Context, *runtime.Runtime) error {
						panic("PreRunFunc boom")
					}))
					if err == nil {
						p.PutBack(l)
					}
					return ErrorKind(err)
				})
				s := p.Stats()
				next := within(blockedAfter, func() string {
					l, err := p.Runtime(ctx, env.Engine, code, nil)
					if err != nil {
						return ErrorKind(err)
					}
					defer p.PutBack(l)
					_, err = l.Runtime.Call(ctx, "nop")
					return ErrorKind(err)
				})
				closed := within(blockedAfter, func() string { return ErrorKind(p.Close(ctx)) })
				return fmt.Sprintf("Runtime: %s; live %d; idle %d; next lease: %s; pool close: %s", got, s.Live, s.Idle, next, closed)
			},
		},
		{
			// A Lease used after PutBack: it must not reach the instance,
			// which now serves another lease (it used to run there and see
			// that lease's state). The stale lease is closed: ErrClosed.
			Name: "pool/lease-used-after-putback",
			Want: "stale lease: ErrClosed; next lease's counter: 1",
			Run: func(t *testing.T, env *Env) string {
				ctx := context.Background()
				p := pool.New(1)
				defer func() { within(blockedAfter, func() string { return ErrorKind(p.Close(ctx)) }) }()
				code := mustFixture("as/echo.wasm")
				l1, err := p.Runtime(ctx, env.Engine, code, nil)
				if err != nil {
					t.Fatal(err)
				}
				stale := l1.Runtime
				p.PutBack(l1)
				l2, err := p.Runtime(ctx, env.Engine, code, nil)
				if err != nil {
					t.Fatal(err)
				}
				defer p.PutBack(l2)
				staleOut := callKind(ctx, stale, "counter")
				counter := within(blockedAfter, func() string {
					n, err := runtime.CallAs[int64](ctx, l2.Runtime, "counter")
					if err != nil {
						return ErrorKind(err)
					}
					return fmt.Sprint(n)
				})
				return fmt.Sprintf("stale lease: %s; next lease's counter: %s", staleOut, counter)
			},
		},
	}
}
