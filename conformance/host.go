package conformance

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/runtime"
)

// HostFailure is the typed error the test.fail host function returns.
type HostFailure struct{ Msg string }

// Error reports the message the guest passed to test.fail.
func (e *HostFailure) Error() string { return "host failure: " + e.Msg }

// ErrHostSentinel is wrapped by HostFailure results, for errors.Is.
var ErrHostSentinel = errors.New("conformance host sentinel")

type whoKey struct{}

// WithWho returns a context whose value the test.whoami host function reads.
func WithWho(ctx context.Context, who string) context.Context {
	return context.WithValue(ctx, whoKey{}, who)
}

// Registry returns the host functions the hostcalls fixture imports, logging
// into env.
func (e *Env) Registry(t *testing.T) *runtime.HostAPIRegistry {
	t.Helper()
	reg := runtime.NewHostAPIRegistry()
	add := func(method string, fn any) { require.NoError(t, reg.AddAPI("index", "test", method, fn)) }
	add("hello", func(s string) string { return "greet to " + s })
	add("add", func(a, b int64) int64 { return a + b })
	add("concat3", func(a, b, c string) string { return a + b + c })
	add("log", func(s string) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.logs = append(e.logs, s)
	})
	add("fail", func(s string) (string, error) {
		return "", fmt.Errorf("%w: %w", &HostFailure{Msg: s}, ErrHostSentinel)
	})
	add("boom", func() { panic("boom from the host") })
	add("whoami", func(ctx context.Context) (string, error) {
		who, ok := ctx.Value(whoKey{}).(string)
		if !ok {
			return "", errors.New("no who in the context")
		}
		return who, nil
	})
	add("echo", func(v any) any { return v })
	add("nothing", func() any { return nil })
	return reg
}

func (e *Env) hostcalls(t *testing.T) *runtime.Runtime {
	return e.New(t, "as/hostcalls.wasm", e.Registry(t))
}

func hostValueCase[T any](name, export string, want T, args ...any) Case {
	return Case{Name: name, Run: func(t *testing.T, env *Env) string {
		rt := env.hostcalls(t)
		got, err := callAs[T](rt, export, args...)
		require.NoError(t, err)
		require.Equal(t, want, got)
		return encoded(t, got)
	}}
}

func hostCases() []Case {
	return []Case{
		hostValueCase("host/one-arg", "greetHost", "greet to world", "world"),
		hostValueCase("host/int64-args", "sum", int64(42), int64(40), int64(2)),
		hostValueCase("host/several-args", "join3", "a-b✓c", "a", "-b✓", "c"),
		hostValueCase("host/nil-result", "callNothing", true),
		{Name: "host/round-trip", Run: func(t *testing.T, env *Env) string {
			rt := env.hostcalls(t)
			got, err := rt.Call(context.Background(), "roundTrip", nestedValue())
			require.NoError(t, err)
			require.Equal(t, encoded(t, nestedValue()), encoded(t, got), "guest -> host -> guest preserves the value exactly")
			return encoded(t, got)
		}},
		{Name: "host/no-result", Run: func(t *testing.T, env *Env) string {
			rt := env.hostcalls(t)
			got, err := callAs[int32](rt, "logIt", "line one")
			require.NoError(t, err)
			require.Equal(t, int32(1), got)
			require.Equal(t, []string{"line one"}, env.Logs())
			return "logged"
		}},
		{Name: "host/error", Run: func(t *testing.T, env *Env) string {
			rt := env.hostcalls(t)
			_, err := rt.Call(context.Background(), "callFail", "disk full")
			require.ErrorIs(t, err, runtime.ErrHost)
			require.ErrorIs(t, err, ErrHostSentinel, "the host's own error is reachable")
			var hf *HostFailure
			require.ErrorAs(t, err, &hf)
			require.Equal(t, "disk full", hf.Msg)
			var he *runtime.HostError
			require.ErrorAs(t, err, &he)
			require.Equal(t, [3]string{"index", "test", "fail"}, [3]string{he.Module, he.Namespace, he.Method})
			return ErrorKind(err)
		}},
		{Name: "host/panic", Run: func(t *testing.T, env *Env) string {
			rt := env.hostcalls(t)
			_, err := rt.Call(context.Background(), "callBoom")
			require.ErrorIs(t, err, runtime.ErrHostPanic)
			require.ErrorIs(t, err, runtime.ErrHost)
			var pe *runtime.PanicError
			require.ErrorAs(t, err, &pe)
			require.Equal(t, "boom from the host", pe.Value)
			// The instance survives and answers the next call.
			got, err := callAs[string](rt, "greetHost", "again")
			require.NoError(t, err)
			require.Equal(t, "greet to again", got)
			return ErrorKind(err)
		}},
		{Name: "host/context-per-instance", Run: func(t *testing.T, env *Env) string {
			reg := env.Registry(t)
			a := env.New(t, "as/hostcalls.wasm", reg)
			b := env.New(t, "as/hostcalls.wasm", reg)
			var wg sync.WaitGroup
			errs := make(chan error, 2)
			for _, p := range []struct {
				rt  *runtime.Runtime
				who string
			}{{a, "alice"}, {b, "bob"}} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ctx := WithWho(context.Background(), p.who)
					for i := 0; i < 500; i++ {
						got, err := runtime.CallAs[string](ctx, p.rt, "whoAmI")
						if err != nil {
							errs <- err
							return
						}
						if got != p.who {
							errs <- fmt.Errorf("call %d: instance of %s saw %q", i, p.who, got)
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				require.NoError(t, err)
			}
			return "isolated"
		}},
		{Name: "host/missing-context-value", Run: func(t *testing.T, env *Env) string {
			rt := env.hostcalls(t)
			_, err := rt.Call(context.Background(), "whoAmI")
			require.ErrorIs(t, err, runtime.ErrHost)
			return ErrorKind(err)
		}},
		{Name: "host/rejected-before-guest", Run: func(t *testing.T, env *Env) string {
			rt := env.hostcalls(t)
			_, err := rt.Call(context.Background(), "logIt", make(chan int))
			require.ErrorIs(t, err, runtime.ErrInvalidArgument)
			require.Empty(t, env.Logs(), "the guest must not run when an argument cannot be encoded")
			return ErrorKind(err)
		}},
	}
}
