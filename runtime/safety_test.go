package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/metering"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

// hostcallsRegistry returns the host functions the hostcalls fixture
// imports; test.hello runs hello.
func hostcallsRegistry(t *testing.T, hello func(ctx context.Context, s string) (string, error)) *runtime.HostAPIRegistry {
	t.Helper()
	reg := runtime.NewHostAPIRegistry()
	add := func(method string, fn any) { require.NoError(t, reg.AddAPI("index", "test", method, fn)) }
	add("hello", hello)
	add("add", func(a, b int64) int64 { return a + b })
	add("concat3", func(a, b, c string) string { return a + b + c })
	add("log", func(s string) {})
	add("fail", func(s string) (string, error) { return "", errors.New(s) })
	add("boom", func() { panic("boom") })
	add("whoami", func() string { return "" })
	add("echo", func(v any) any { return v })
	add("nothing", func() any { return nil })
	return reg
}

// TestHostFunctionReentry: a host function that calls Call, CallWasm,
// Reset or Close on the runtime running it gets ErrReentrant (it used to
// deadlock), Fault answers, and the runtime keeps working afterwards.
func TestHostFunctionReentry(t *testing.T) {
	ctx := context.Background()
	for _, eng := range runtime.Engines() {
		t.Run(eng, func(t *testing.T) {
			var rt *runtime.Runtime
			var got []error
			derived := false
			reg := hostcallsRegistry(t, func(ctx context.Context, s string) (string, error) {
				if derived {
					var cancel context.CancelFunc
					ctx, cancel = context.WithCancel(ctx)
					defer cancel()
				}
				_, err := rt.Call(ctx, "greetHost", "again")
				got = append(got, err)
				_, err = rt.CallWasm(ctx, "whoAmI")
				got = append(got, err)
				got = append(got, rt.Reset(ctx))
				got = append(got, rt.Close(ctx))
				_ = rt.Fault() // must not block
				return "hi " + s, nil
			})
			var err error
			rt, err = runtime.NewWithEngine(ctx, eng, fixtures.MustBytes("as/hostcalls.wasm"), reg)
			require.NoError(t, err)
			defer rt.Close(ctx)
			for _, d := range []bool{false, true} {
				derived, got = d, nil
				out, err := runtime.CallAs[string](ctx, rt, "greetHost", "x")
				require.NoError(t, err)
				assert.Equal(t, "hi x", out)
				require.Len(t, got, 4)
				for _, e := range got {
					require.ErrorIs(t, e, runtime.ErrReentrant)
					var re *runtime.ReentrantError
					require.ErrorAs(t, e, &re)
				}
			}
			// Other goroutines still wait for the call in progress rather
			// than failing: only the runtime's own host functions re-enter.
			var wg sync.WaitGroup
			for i := 0; i < 4; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					out, err := runtime.CallAs[int64](ctx, rt, "sum", int64(i), int64(1))
					assert.NoError(t, err)
					assert.Equal(t, int64(i+1), out)
				}()
			}
			wg.Wait()
		})
	}
}

// panicky panics in MarshalABI and UnmarshalABI.
type panicky struct{}

func (panicky) MarshalABI() ([]byte, error)  { panic("marshal boom") }
func (*panicky) UnmarshalABI(b []byte) error { panic("unmarshal boom") }

// TestPanicsAndNilContextLeaveTheRuntimeUsable: a panicking MarshalABI or
// UnmarshalABI of an argument or result and a nil context give typed
// errors, and the runtime keeps working (its lock used to stay held).
func TestPanicsAndNilContextLeaveTheRuntimeUsable(t *testing.T) {
	ctx := context.Background()
	for _, eng := range runtime.Engines() {
		t.Run(eng, func(t *testing.T) {
			rt, err := runtime.NewWithEngine(ctx, eng, fixtures.MustBytes("as/echo.wasm"), nil)
			require.NoError(t, err)
			defer rt.Close(ctx)

			_, err = rt.Call(ctx, "echo", panicky{})
			require.ErrorIs(t, err, runtime.ErrInvalidArgument)
			require.ErrorContains(t, err, "marshal boom")

			var out panicky
			err = rt.CallInto(ctx, &out, "echo", "x")
			require.ErrorIs(t, err, runtime.ErrInvalidArgument)
			require.ErrorContains(t, err, "unmarshal boom")

			//nolint:staticcheck // a nil context is what is tested
			_, err = rt.Call(nil, "greet", "x") //lint:ignore SA1012 tested
			require.ErrorIs(t, err, runtime.ErrInvalidArgument)
			//nolint:staticcheck
			require.ErrorIs(t, rt.Reset(nil), runtime.ErrInvalidArgument) //lint:ignore SA1012 tested

			got, err := runtime.CallAs[string](ctx, rt, "greet", "world")
			require.NoError(t, err)
			assert.Equal(t, "hello, world", got)
			require.NoError(t, rt.Reset(ctx))
		})
	}
}

// TestHostTypePanicIsHostPanic: a panicking UnmarshalABI of a host
// function's parameter type is ErrHostPanic, like a panic of the function.
func TestHostTypePanicIsHostPanic(t *testing.T) {
	ctx := context.Background()
	for _, eng := range runtime.Engines() {
		t.Run(eng, func(t *testing.T) {
			reg2 := runtime.NewHostAPIRegistry()
			add := func(method string, fn any) { require.NoError(t, reg2.AddAPI("index", "test", method, fn)) }
			add("hello", func(s string) string { return s })
			add("add", func(a, b int64) int64 { return a + b })
			add("concat3", func(a, b, c string) string { return a + b + c })
			add("log", func(s string) {})
			add("fail", func(s string) (string, error) { return "", errors.New(s) })
			add("boom", func() {})
			add("whoami", func() string { return "" })
			add("echo", func(v *panicky) any { return nil })
			add("nothing", func() any { return nil })
			rt, err := runtime.NewWithEngine(ctx, eng, fixtures.MustBytes("as/hostcalls.wasm"), reg2)
			require.NoError(t, err)
			defer rt.Close(ctx)
			_, err = rt.Call(ctx, "roundTrip", "x")
			require.ErrorIs(t, err, runtime.ErrHostPanic)
			require.ErrorIs(t, err, runtime.ErrHost)
			require.ErrorContains(t, err, "unmarshal boom")
			require.NoError(t, rt.Reset(ctx))
		})
	}
}

// TestSharedRuntimeFaultsAreTheirOwn: 16 goroutines share one runtime,
// mixing faulting calls, good calls and Resets; every call gets its own
// result or error (the fault used to be read after unlocking, so a call
// could return another call's error, or nil).
func TestSharedRuntimeFaultsAreTheirOwn(t *testing.T) {
	ctx := context.Background()
	n := 200
	if testing.Short() {
		n = 50
	}
	for _, eng := range runtime.Engines() {
		t.Run(eng, func(t *testing.T) {
			rt, err := runtime.NewWithEngine(ctx, eng, fixtures.MustBytes("as/echo.wasm"), nil)
			require.NoError(t, err)
			defer rt.Close(ctx)
			var wg sync.WaitGroup
			for g := 0; g < 16; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < n; i++ {
						msg := fmt.Sprintf("g%d-%d", g, i)
						switch (g + i) % 3 {
						case 0:
							err := func() error { _, err := rt.Call(ctx, "fail", msg); return err }()
							var ae *runtime.AbortError
							if !assert.ErrorAs(t, err, &ae) || !assert.Equal(t, msg, ae.Message) {
								return
							}
						case 1:
							out, err := runtime.CallAs[string](ctx, rt, "greet", msg)
							if !assert.NoError(t, err) || !assert.Equal(t, "hello, "+msg, out) {
								return
							}
						default:
							if !assert.NoError(t, rt.Reset(ctx)) {
								return
							}
						}
					}
				}()
			}
			wg.Wait()
		})
	}
}

// TestMeterOnUnmeteredModule: a Meter cannot bound a module compiled
// without metering; the call says so instead of running unbounded.
func TestMeterOnUnmeteredModule(t *testing.T) {
	ctx := context.Background()
	for _, eng := range runtime.Engines() {
		t.Run(eng, func(t *testing.T) {
			rt, err := runtime.NewWithEngine(ctx, eng, fixtures.MustBytes("as/echo.wasm"), nil)
			require.NoError(t, err)
			defer rt.Close(ctx)
			m := runtime.NewMeter(10)
			_, err = rt.Call(runtime.WithMeter(ctx, m), "greet", "x")
			require.ErrorIs(t, err, runtime.ErrNotMetered)
			assert.Equal(t, uint64(10), m.Left())
			require.NoError(t, rt.Fault(), "refused before the guest ran")
		})
	}
}

// TestExportsAreTheModules: Module.Exports lists the module's own exports,
// not what the runtime added (snapshot globals, gas counters).
func TestExportsAreTheModules(t *testing.T) {
	ctx := context.Background()
	for _, eng := range runtime.Engines() {
		for _, metered := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/metered=%v", eng, metered), func(t *testing.T) {
				var opts []runtime.Option
				if metered {
					opts = append(opts, runtime.WithMetering(metering.Config{}))
				}
				m, err := runtime.CompileWithEngine(ctx, eng, fixtures.MustBytes("as/echo.wasm"), opts...)
				require.NoError(t, err)
				defer m.Close(ctx)
				names := map[string]bool{}
				for _, e := range m.Exports() {
					names[e.Name] = true
					assert.False(t, strings.HasPrefix(e.Name, "__aspect_global_") || strings.HasPrefix(e.Name, "__gas") ||
						e.Name == metering.CallDepthExport || e.Name == metering.YieldCountdownExport, "synthetic export %q", e.Name)
				}
				assert.True(t, names["greet"] && names["memory"] && names["allocate"], "%v", names)
			})
		}
	}
}

// TestModuleCloseWhileInstancesLive: closing a Module refuses new instances
// but leaves the live ones working; the code is released with the last.
func TestModuleCloseWhileInstancesLive(t *testing.T) {
	ctx := context.Background()
	for _, eng := range runtime.Engines() {
		t.Run(eng, func(t *testing.T) {
			m, err := runtime.CompileWithEngine(ctx, eng, fixtures.MustBytes("as/echo.wasm"))
			require.NoError(t, err)
			rt, err := m.Instantiate(ctx, nil)
			require.NoError(t, err)
			require.NoError(t, m.Close(ctx))
			_, err = m.Instantiate(ctx, nil)
			require.ErrorIs(t, err, runtime.ErrClosed)
			out, err := runtime.CallAs[string](ctx, rt, "greet", "still")
			require.NoError(t, err)
			assert.Equal(t, "hello, still", out)
			require.NoError(t, rt.Reset(ctx))
			out, err = runtime.CallAs[string](ctx, rt, "greet", "again")
			require.NoError(t, err)
			assert.Equal(t, "hello, again", out)
			require.NoError(t, rt.Close(ctx))
			_, err = rt.Call(ctx, "greet", "x")
			require.ErrorIs(t, err, runtime.ErrClosed)
		})
	}
}

// TestDefaultMemoryLimit: without WithMemoryLimitPages a guest's memory
// stops at DefaultMemoryLimitPages on every engine (it used to grow to
// 4 GiB); the limit can be raised, and a module that starts above it is
// refused.
func TestDefaultMemoryLimit(t *testing.T) {
	ctx := context.Background()
	code := fixtures.MustBytes("wat/grow.wasm")
	for _, eng := range runtime.Engines() {
		t.Run(eng, func(t *testing.T) {
			for _, c := range []struct {
				opts []runtime.Option
				want int32
			}{
				{nil, runtime.DefaultMemoryLimitPages},
				{[]runtime.Option{runtime.WithMemoryLimitPages(2048)}, 2048},
				{[]runtime.Option{runtime.WithMemoryLimitPages(16)}, 16},
			} {
				rt, err := runtime.NewWithEngine(ctx, eng, code, nil, c.opts...)
				require.NoError(t, err)
				got, err := runtime.CallAs[int32](ctx, rt, "grow_until_fail")
				require.NoError(t, err)
				assert.Equal(t, c.want, got)
				require.NoError(t, rt.Close(ctx))
			}
			// (module (memory 1025))
			_, err := runtime.CompileWithEngine(ctx, eng, []byte("\x00asm\x01\x00\x00\x00\x05\x04\x01\x00\x81\x08"))
			require.ErrorIs(t, err, runtime.ErrCompile)
		})
	}
}
