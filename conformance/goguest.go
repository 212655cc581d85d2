package conformance

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/pool"
	"github.com/aspect-rt/aspect-runtime/runtime"
	"github.com/aspect-rt/aspect-runtime/wasi"
)

// The Go-guest part of the suite. The AssemblyScript cases that use the
// echo and hostcalls fixtures run again on their Go counterparts
// (fixtures/go/echo, fixtures/go/hostcalls, built with the guest library and
// run with runtime.WithWASI), and each asserts that its outcome is identical
// to the AssemblyScript one. The WASI cases use fixtures/go/wasi.

// goFixtures maps the AssemblyScript fixtures to their Go counterparts.
var goFixtures = map[string]string{
	"as/echo.wasm":      "go/echo.wasm",
	"as/hostcalls.wasm": "go/hostcalls.wasm",
}

// goGuest makes Env.New instantiate the Go counterparts of the fixtures,
// with WASI (the Go fixtures are WASI reactors).
func goGuest() *counterpart {
	return &counterpart{lang: "Go", fixtures: goFixtures, instantiate: func(t *testing.T, engine, fixture string, reg *runtime.HostAPIRegistry, opts []runtime.Option) *runtime.Runtime {
		return newGo(t, engine, fixture, reg, append(opts, runtime.WithWASI(wasi.Config{}))...)
	}}
}

// goModules caches the compiled Go fixtures by engine, path and variant
// ("" or "metered"): they are ~3 MB and take seconds to compile, and one
// compilation serves every case. The modules live as long as the test
// process.
var goModules sync.Map // [3]string{engine, fixture, variant} → *goModule

type goModule struct {
	once sync.Once
	mod  *runtime.Module
	err  error
}

// compiledGo returns the fixture compiled for engine, compiling it once.
func compiledGo(t *testing.T, engine, fixture string) *runtime.Module {
	t.Helper()
	return compiledGoVariant(t, engine, fixture, "")
}

// compiledGoVariant is compiledGo for a variant: "" (as is) or "metered"
// (with runtime.WithMetering(goMeteringConfig)).
func compiledGoVariant(t *testing.T, engine, fixture, variant string) *runtime.Module {
	t.Helper()
	v, _ := goModules.LoadOrStore([3]string{engine, fixture, variant}, &goModule{})
	m := v.(*goModule)
	m.once.Do(func() {
		var opts []runtime.Option
		if variant == "metered" {
			opts = append(opts, runtime.WithMetering(goMeteringConfig))
		}
		m.mod, m.err = runtime.CompileWithEngine(context.Background(), engine, fixtures.MustBytes(fixture), opts...)
	})
	require.NoError(t, m.err, "compiling %s (%s) on %s", fixture, variant, engine)
	return m.mod
}

// newGo instantiates a compiled Go fixture, closing it at test end. Pass
// runtime.WithWASI in opts.
func newGo(t *testing.T, engine, fixture string, reg *runtime.HostAPIRegistry, opts ...runtime.Option) *runtime.Runtime {
	t.Helper()
	rt, err := compiledGo(t, engine, fixture).Instantiate(context.Background(), reg, opts...)
	require.NoError(t, err, "instantiating %s on %s", fixture, engine)
	t.Cleanup(func() { require.NoError(t, rt.Close(context.Background())) })
	return rt
}

// mirroredCalls are the call and failure cases that run on the echo
// fixture through Env.New with an engine-independent outcome.
var mirroredCalls = []string{
	"call/greet", "call/add", "call/add/wraps", "call/add/widening", "call/concat", "call/no-params",
	"call/start-ran-once", "call/no-result", "call/state-persists", "call/typed-mismatch",
	"call/missing-export", "call/too-few-args", "call/too-many-args", "call/unsupported-arg", "call/arg-too-deep",
}

// mirrored reports whether the AssemblyScript case name has a Go twin.
func mirrored(name string) bool {
	return strings.HasPrefix(name, "codec/") || strings.HasPrefix(name, "host/") || slices.Contains(mirroredCalls, name)
}

// mirror runs c on the Go fixtures and on the AssemblyScript ones, and
// asserts identical outcomes.
func mirror(c Case) Case { return mirrorOn(c, "go", goGuest) }

func goGuestCases() []Case {
	var cs []Case
	for _, c := range slices.Concat(codecCases(), callCases(), hostCases(), failureCases()) {
		if mirrored(c.Name) {
			cs = append(cs, mirror(c))
		}
	}
	cs = append(cs,
		Case{Name: "go/abort/guest-abort", Run: func(t *testing.T, env *Env) string {
			// The AssemblyScript fixture throws; the Go one calls guest.Abort.
			// Both reach env.abort: the kind and message are the same, the
			// location is the guest's own source.
			rt := newGo(t, env.Engine, "go/echo.wasm", nil, runtime.WithWASI(wasi.Config{}))
			_, err := rt.Call(context.Background(), "fail", "bad thing ✓")
			require.ErrorIs(t, err, runtime.ErrAbort)
			var ae *runtime.AbortError
			require.ErrorAs(t, err, &ae)
			require.Equal(t, "bad thing ✓", ae.Message)
			require.Equal(t, "fail", ae.Func)
			require.True(t, strings.HasSuffix(ae.File, "conformance/fixtures/go/echo/main.go"), ae.File)
			require.NotZero(t, ae.Line)
			return ErrorKind(err)
		}},
		Case{Name: "go/abort/bad-argument", Run: func(t *testing.T, env *Env) string {
			rt := newGo(t, env.Engine, "go/echo.wasm", nil, runtime.WithWASI(wasi.Config{}))
			_, err := rt.Call(context.Background(), "echoI8", "not an int8")
			require.ErrorIs(t, err, runtime.ErrAbort)
			var ae *runtime.AbortError
			require.ErrorAs(t, err, &ae)
			require.Contains(t, ae.Message, "type mismatch")
			return "ErrAbort"
		}},
		Case{Name: "go/link/without-wasi", Run: func(t *testing.T, env *Env) string {
			_, err := compiledGo(t, env.Engine, "go/echo.wasm").Instantiate(context.Background(), nil)
			require.ErrorIs(t, err, runtime.ErrLink)
			var le *runtime.LinkError
			require.ErrorAs(t, err, &le)
			require.Equal(t, wasi.ModuleName, le.Module)
			return ErrorKind(err)
		}},
		Case{Name: "go/link/missing-host-function", Run: func(t *testing.T, env *Env) string {
			_, err := compiledGo(t, env.Engine, "go/hostcalls.wasm").Instantiate(context.Background(), nil, runtime.WithWASI(wasi.Config{}))
			require.ErrorIs(t, err, runtime.ErrLink)
			var le *runtime.LinkError
			require.ErrorAs(t, err, &le)
			require.Equal(t, "index", le.Module)
			return ErrorKind(err)
		}},
		Case{Name: "go/pool/compiled-once", Run: func(t *testing.T, env *Env) string {
			ctx := context.Background()
			p := pool.New(2, pool.WithRuntimeOptions(runtime.WithWASI(wasi.Config{})))
			defer func() { require.NoError(t, p.Close(ctx)) }()
			for i := 0; i < 3; i++ {
				l, err := p.Runtime(ctx, env.Engine, fixtures.MustBytes("go/echo.wasm"), nil)
				require.NoError(t, err)
				n, err := runtime.CallAs[int64](ctx, l.Runtime, "counter")
				require.NoError(t, err)
				require.Equal(t, int64(1), n, "lease %d saw state of an earlier lease", i)
				p.PutBack(l)
			}
			require.Equal(t, uint64(1), p.Stats().Compiles)
			return "1"
		}},
	)
	return append(cs, wasiCases()...)
}

// wasiRuntime instantiates the WASI fixture with cfg.
func wasiRuntime(t *testing.T, env *Env, cfg wasi.Config) *runtime.Runtime {
	t.Helper()
	return newGo(t, env.Engine, "go/wasi.wasm", nil, runtime.WithWASI(cfg))
}

// fileResult is what the WASI fixture's file functions return.
type fileResult struct {
	Data  string `abi:"data"`
	Err   string `abi:"err"`
	Errno uint32 `abi:"errno"`
}

// wasiErrno calls a file function of the WASI fixture and returns the errno
// of its failure, requiring one.
func wasiErrno(t *testing.T, rt *runtime.Runtime, export string, args ...any) wasi.Errno {
	t.Helper()
	r, err := callAs[fileResult](rt, export, args...)
	require.NoError(t, err)
	require.NotEmpty(t, r.Err, "%s%q succeeded, read %q", export, args, r.Data)
	require.Empty(t, r.Data)
	return wasi.Errno(r.Errno)
}

// captureStdio runs f with os.Stdout and os.Stderr redirected to a pipe and
// returns what was written to them.
func captureStdio(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	stdout, stderr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = w, w
	func() {
		defer func() { os.Stdout, os.Stderr = stdout, stderr }()
		f()
	}()
	require.NoError(t, w.Close())
	got, err := io.ReadAll(r)
	require.NoError(t, err)
	require.NoError(t, r.Close())
	return string(got)
}

// deterministic returns a config whose clock and random source are fixed.
func deterministic(stdout io.Writer) wasi.Config {
	return wasi.Config{
		Stdout: stdout,
		Clock:  wasi.NewFakeClock(time.Date(2024, 2, 29, 12, 30, 0, 0, time.UTC)),
		Random: rand.NewChaCha8([32]byte{'a', 's', 'p', 'e', 'c', 't'}),
	}
}

// sandbox lays out a directory to mount, beside a file that is not mounted,
// and returns both paths.
func sandbox(t *testing.T) (mounted, secret string) {
	t.Helper()
	root := t.TempDir()
	mounted = filepath.Join(root, "mounted")
	secret = filepath.Join(root, "secret.txt")
	require.NoError(t, os.MkdirAll(filepath.Join(mounted, "sub"), 0o755))
	require.NoError(t, os.WriteFile(secret, []byte("host secret"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(mounted, "hello.txt"), []byte("hello from the mount\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(mounted, "sub", "n.txt"), []byte("nested"), 0o644))
	require.NoError(t, os.Symlink("../secret.txt", filepath.Join(mounted, "escape")))
	return mounted, secret
}

func wasiCases() []Case {
	return []Case{
		{Name: "wasi/reactor-initialized-once", Run: func(t *testing.T, env *Env) string {
			ctx := context.Background()
			// env.New passes the option to Compile and to Instantiate.
			rt := env.New(t, "wat/wasi_reactor.wasm", nil, runtime.WithWASI(wasi.Config{}))
			for i := 0; i < 3; i++ {
				n, err := callAs[int32](rt, "inits")
				require.NoError(t, err)
				require.Equal(t, int32(1), n, "_initialize runs once per instance")
			}
			require.NoError(t, rt.Reset(ctx))
			n, err := callAs[int32](rt, "inits")
			require.NoError(t, err)
			require.Equal(t, int32(1), n, "and once per reset instance")
			return sprintf("%d", n)
		}},
		{Name: "wasi/last-option-wins", Run: func(t *testing.T, env *Env) string {
			ctx := context.Background()
			m, err := runtime.CompileWithEngine(ctx, env.Engine, mustFixture("wat/wasi_reactor.wasm"), runtime.WithWASI(wasi.Config{Args: []string{"compile"}}))
			require.NoError(t, err)
			defer func() { require.NoError(t, m.Close(ctx)) }()
			var got []int32
			for _, opts := range [][]runtime.Option{nil, {runtime.WithWASI(wasi.Config{Args: []string{"a", "b", "c"}})}} {
				rt, err := m.Instantiate(ctx, nil, opts...)
				require.NoError(t, err)
				n, err := runtime.CallAs[int32](ctx, rt, "argc")
				require.NoError(t, err)
				inits, err := runtime.CallAs[int32](ctx, rt, "inits")
				require.NoError(t, err)
				require.Equal(t, int32(1), inits)
				require.NoError(t, rt.Close(ctx))
				got = append(got, n)
			}
			require.Equal(t, []int32{1, 3}, got, "the Instantiate option overrides the Compile one")
			return sprintf("%v", got)
		}},
		{Name: "wasi/output-and-bad-pointers", Run: func(t *testing.T, env *Env) string {
			var stdout bytes.Buffer
			rt := env.New(t, "wat/wasi_reactor.wasm", nil, runtime.WithWASI(wasi.Config{Stdout: &stdout}))
			errno, err := callAs[int32](rt, "print")
			require.NoError(t, err)
			require.Equal(t, int32(wasi.ErrnoSuccess), errno)
			require.Equal(t, "hi from wat\n", stdout.String())
			errnos, err := callAs[int32](rt, "bad_pointers")
			require.NoError(t, err, "a bad pointer is an errno, not a trap")
			require.Equal(t, int32(wasi.ErrnoFault)|int32(wasi.ErrnoFault)<<8, errnos)
			require.Equal(t, "hi from wat\n", stdout.String(), "nothing written from a bad iovec")
			return sprintf("%q %#x", stdout.String(), errnos)
		}},
		{Name: "wasi/proc-exit", Run: func(t *testing.T, env *Env) string {
			rt := env.New(t, "wat/wasi_reactor.wasm", nil, runtime.WithWASI(wasi.Config{}))
			_, err := rt.Call(context.Background(), "exit7")
			var ee *wasi.ExitError
			require.ErrorAs(t, err, &ee)
			require.Equal(t, uint32(7), ee.Code)
			require.NotErrorIs(t, err, runtime.ErrTrap, "the guest's unreachable after proc_exit never runs")
			return ee.Error()
		}},
		{Name: "wasi/writer-failures", Run: func(t *testing.T, env *Env) string {
			rt := env.New(t, "wat/wasi_reactor.wasm", nil, runtime.WithWASI(wasi.Config{Stdout: failingWriter{}}))
			errno, err := callAs[int32](rt, "print")
			require.NoError(t, err)
			require.Equal(t, int32(wasi.ErrnoIo), errno, "a writer's error is the guest's EIO")
			rt = env.New(t, "wat/wasi_reactor.wasm", nil, runtime.WithWASI(wasi.Config{Stdout: panickingWriter{}}))
			_, err = rt.Call(context.Background(), "print")
			require.ErrorIs(t, err, runtime.ErrHostPanic)
			var he *runtime.HostError
			require.ErrorAs(t, err, &he)
			require.Equal(t, [2]string{wasi.ModuleName, "fd_write"}, [2]string{he.Module, he.Method})
			n, err := callAs[int32](rt, "inits")
			require.NoError(t, err, "the instance survives a recovered panic")
			require.Equal(t, int32(1), n)
			return ErrorKind(err)
		}},
		newErrCase("wasi/link-without-option", fixture("wat/wasi_reactor.wasm"), nil, runtime.ErrLink),
		{Name: "go/guest/arena-is-released-every-call", Run: func(t *testing.T, env *Env) string {
			// The guest library keeps what the host may touch only until
			// the next call ends: 20 calls with 1 MiB in and out must not
			// keep 20 MiB alive.
			rt := wasiRuntime(t, env, wasi.Config{})
			heap := func() uint64 {
				n, err := callAs[uint64](rt, "heapAfterGC")
				require.NoError(t, err)
				return n
			}
			before := heap()
			for i := 0; i < 20; i++ {
				got, err := callAs[string](rt, "echo", mib(1))
				require.NoError(t, err)
				require.Len(t, got, 1<<20)
			}
			after := heap()
			require.Less(t, after, before+4<<20, "live heap grew from %d to %d bytes", before, after)
			return "bounded"
		}},
		{Name: "go/wasi/stdio-goes-only-to-the-writers", Run: func(t *testing.T, env *Env) string {
			var stdout, stderr bytes.Buffer
			rt := wasiRuntime(t, env, wasi.Config{Stdout: &stdout, Stderr: &stderr})
			leaked := captureStdio(t, func() {
				got, err := callAs[string](rt, "hello", "world ✓")
				require.NoError(t, err)
				require.Equal(t, "ok", got)
			})
			require.Equal(t, "hello, world ✓\n", stdout.String())
			require.Equal(t, "greeted world ✓\n", stderr.String())
			require.Empty(t, leaked, "guest output reached the host's stdout or stderr")

			// Without writers, output is discarded: it reaches nothing.
			quiet := wasiRuntime(t, env, wasi.Config{})
			leaked = captureStdio(t, func() {
				_, err := callAs[string](quiet, "hello", "nobody")
				require.NoError(t, err)
			})
			require.Empty(t, leaked, "with no writers, guest output reached the host's stdout or stderr")
			return stdout.String() + stderr.String()
		}},
		{Name: "go/wasi/args-and-environment", Run: func(t *testing.T, env *Env) string {
			t.Setenv("ASPECT_HOST_SECRET", "must not leak")
			cfg := wasi.Config{Args: []string{"aspect", "-v", "✓"}, Env: []string{"A=1", "B=two=2"}}
			rt := wasiRuntime(t, env, cfg)
			args, err := callAs[[]string](rt, "args")
			require.NoError(t, err)
			require.Equal(t, cfg.Args, args)
			environ, err := callAs[[]string](rt, "environ")
			require.NoError(t, err)
			require.Equal(t, cfg.Env, environ, "the guest sees exactly Config.Env")
			for key, want := range map[string]string{"B": "two=2", "ASPECT_HOST_SECRET": "", "PATH": ""} {
				got, err := callAs[string](rt, "getenv", key)
				require.NoError(t, err)
				require.Equal(t, want, got, "getenv(%s)", key)
			}
			return strings.Join(args, " ") + "|" + strings.Join(environ, " ")
		}},
		{Name: "go/wasi/mounts-are-readable", Run: func(t *testing.T, env *Env) string {
			mounted, _ := sandbox(t)
			rt := wasiRuntime(t, env, wasi.Config{Mounts: []wasi.Mount{
				{FS: os.DirFS(mounted), GuestPath: "/data"},
				{FS: fstest.MapFS{"x.txt": {Data: []byte("in memory")}}, GuestPath: "/mem"},
			}})
			var out []string
			for _, path := range []string{"/data/hello.txt", "/data/sub/n.txt", "hello.txt", "/data/sub/../hello.txt", "/mem/x.txt"} {
				r, err := callAs[fileResult](rt, "readFile", path)
				require.NoError(t, err)
				require.Empty(t, r.Err, "reading %s", path)
				out = append(out, r.Data)
			}
			require.Equal(t, []string{"hello from the mount\n", "nested", "hello from the mount\n", "hello from the mount\n", "in memory"}, out)
			names, err := callAs[[]string](rt, "listDir", "/data")
			require.NoError(t, err)
			require.Equal(t, []string{"escape", "hello.txt", "sub"}, names)
			return strings.Join(append(out, names...), "|")
		}},
		{Name: "go/wasi/unmounted-files-are-invisible", Run: func(t *testing.T, env *Env) string {
			mounted, secret := sandbox(t)
			root, err := os.OpenRoot(mounted)
			require.NoError(t, err)
			t.Cleanup(func() { _ = root.Close() })
			rt := wasiRuntime(t, env, wasi.Config{Mounts: []wasi.Mount{{FS: root.FS(), GuestPath: "/data"}}})
			got := map[string]wasi.Errno{
				// No mount covers a host path: the Go guest has no descriptor for it.
				"host path":    wasiErrno(t, rt, "readFile", secret),
				"dotdot":       wasiErrno(t, rt, "readFile", "/data/../secret.txt"),
				"root":         wasiErrno(t, rt, "readFile", "/etc/hostname"),
				"raw dotdot":   wasiErrno(t, rt, "openAt", int32(3), "../secret.txt"),
				"raw deep":     wasiErrno(t, rt, "openAt", int32(3), "sub/../../secret.txt"),
				"raw absolute": wasiErrno(t, rt, "openAt", int32(3), secret),
				"symlink out":  wasiErrno(t, rt, "readFile", "/data/escape"),
				"write":        wasiErrno(t, rt, "writeFile", "/data/new.txt"),
				"overwrite":    wasiErrno(t, rt, "writeFile", "/data/hello.txt"),
			}
			require.Equal(t, map[string]wasi.Errno{
				"host path": wasi.ErrnoBadf, "dotdot": wasi.ErrnoBadf, "root": wasi.ErrnoBadf,
				"raw dotdot": wasi.ErrnoNotcapable, "raw deep": wasi.ErrnoNotcapable, "raw absolute": wasi.ErrnoNotcapable,
				"symlink out": wasi.ErrnoNotcapable, "write": wasi.ErrnoRofs, "overwrite": wasi.ErrnoRofs,
			}, got)
			_, err = os.Stat(filepath.Join(mounted, "new.txt"))
			require.ErrorIs(t, err, os.ErrNotExist, "the guest created a file")

			// Without mounts, not even a mounted path is visible.
			bare := wasiRuntime(t, env, wasi.Config{})
			require.Equal(t, wasi.ErrnoBadf, wasiErrno(t, bare, "readFile", filepath.Join(mounted, "hello.txt")))
			names := make([]string, 0, len(got))
			for k := range got {
				names = append(names, k)
			}
			slices.Sort(names)
			var b strings.Builder
			for _, k := range names {
				b.WriteString(k + "=" + got[k].String() + " ")
			}
			return b.String()
		}},
		{Name: "go/wasi/deterministic-clock-and-random", Run: func(t *testing.T, env *Env) string {
			run := func() string {
				var stdout bytes.Buffer
				rt := wasiRuntime(t, env, deterministic(&stdout))
				type reading struct {
					Wall  int64  `abi:"wall"`
					Since int64  `abi:"since"`
					Text  string `abi:"text"`
				}
				before, err := callAs[reading](rt, "clock")
				require.NoError(t, err)
				require.Equal(t, "2024-02-29T12:30:00Z", before.Text)
				slept, err := callAs[int64](rt, "sleep", int64(1500*time.Millisecond))
				require.NoError(t, err)
				require.Equal(t, int64(1500*time.Millisecond), slept, "a fake clock advances by exactly the sleep")
				after, err := callAs[reading](rt, "clock")
				require.NoError(t, err)
				require.Equal(t, before.Wall+int64(1500*time.Millisecond), after.Wall)
				random, err := callAs[[]byte](rt, "random", int32(16))
				require.NoError(t, err)
				n, err := callAs[uint64](rt, "mathRand")
				require.NoError(t, err)
				_, err = callAs[string](rt, "hello", after.Text)
				require.NoError(t, err)
				return sprintf("%s %d %s %x %d %q", before.Text, after.Since, after.Text, random, n, stdout.String())
			}
			first := run()
			require.Equal(t, first, run(), "two instances with the same clock and seed differ")
			return first
		}},
		{Name: "go/wasi/exit-is-a-typed-error", Run: func(t *testing.T, env *Env) string {
			var stderr bytes.Buffer
			rt := wasiRuntime(t, env, wasi.Config{Stderr: &stderr})
			var codes []string
			for _, c := range []struct {
				export string
				arg    any
				code   uint32
			}{{"exit", int32(3), 3}, {"exit", int32(0), 0}, {"panics", "boom ✓", 0}} {
				_, err := rt.Call(context.Background(), c.export, c.arg)
				require.Error(t, err, "%s(%v) must end the call", c.export, c.arg)
				require.Equal(t, err, rt.Fault(), "the instance is faulted")
				if c.export == "panics" {
					// A Go reactor crashes on an unrecovered panic: it prints
					// the panic to stderr, then traps.
					require.ErrorIs(t, err, runtime.ErrTrap)
					require.NotErrorIs(t, err, wasi.ErrExit)
					require.Contains(t, stderr.String(), "panic: boom ✓")
					codes = append(codes, ErrorKind(err))
				} else {
					require.ErrorIs(t, err, wasi.ErrExit)
					var ee *wasi.ExitError
					require.ErrorAs(t, err, &ee)
					require.Equal(t, c.code, ee.Code)
					code, ok := wasi.ExitCode(err)
					require.True(t, ok)
					codes = append(codes, sprintf("exit=%d", code))
				}
				require.NoError(t, rt.Reset(context.Background()))
				require.NoError(t, rt.Fault())
				args, err := callAs[[]string](rt, "args")
				require.NoError(t, err, "the reset instance works")
				require.Empty(t, args)
			}
			return strings.Join(codes, " ")
		}},
		{Name: "go/wasi/reset-restores-descriptors", Run: func(t *testing.T, env *Env) string {
			mounted, _ := sandbox(t)
			rt := wasiRuntime(t, env, wasi.Config{Mounts: []wasi.Mount{{FS: os.DirFS(mounted), GuestPath: "/data"}}})
			open := func() int32 {
				fd, err := callAs[int32](rt, "openKeep", "/data/hello.txt")
				require.NoError(t, err)
				require.Positive(t, fd)
				return fd
			}
			first := open()
			require.Equal(t, first+1, open(), "the first descriptor is still open")
			require.NoError(t, rt.Reset(context.Background()))
			require.Equal(t, first, open(), "Reset did not close the guest's descriptors")
			return sprintf("%d", first)
		}},
		{Name: "go/wasi/stdin", Run: func(t *testing.T, env *Env) string {
			rt := wasiRuntime(t, env, wasi.Config{Stdin: strings.NewReader("line one\nline ✓\n")})
			r, err := callAs[fileResult](rt, "stdin")
			require.NoError(t, err)
			require.Equal(t, fileResult{Data: "line one\nline ✓\n"}, r)
			empty := wasiRuntime(t, env, wasi.Config{})
			r, err = callAs[fileResult](empty, "stdin")
			require.NoError(t, err)
			require.Equal(t, fileResult{}, r, "no Stdin is an empty input")
			return r.Data
		}},
		{Name: "go/wasi/sleep-honours-the-context", Run: func(t *testing.T, env *Env) string {
			rt := wasiRuntime(t, env, wasi.Config{})
			start := time.Now()
			slept, err := callAs[int64](rt, "sleep", int64(20*time.Millisecond))
			require.NoError(t, err)
			require.GreaterOrEqual(t, slept, int64(20*time.Millisecond), "the system clock sleeps")
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			_, err = runtime.CallAs[int64](ctx, rt, "sleep", int64(time.Hour))
			require.ErrorIs(t, err, runtime.ErrInterrupted)
			require.ErrorIs(t, err, context.DeadlineExceeded)
			require.Less(t, time.Since(start), time.Minute)
			require.True(t, errors.Is(rt.Fault(), runtime.ErrInterrupted))
			return ErrorKind(err)
		}},
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

type panickingWriter struct{}

func (panickingWriter) Write([]byte) (int, error) { panic("writer exploded") }
