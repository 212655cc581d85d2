package peerwapc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	goruntime "runtime"
	"sort"
	"testing"
	"time"

	"github.com/wapc/wapc-go"
)

var bg = context.Background()

// engines maps a wapc-go engine's name to the engine; each
// engine_<name>_test.go adds its own under the build constraints of its
// wapc-go package.
var engines = map[string]wapc.Engine{}

// guest is testdata/guest.wasm (see guest.wat).
var guest = func() []byte {
	b, err := os.ReadFile("testdata/guest.wasm")
	if err != nil {
		panic(err)
	}
	return b
}()

var errUnknownHost = errors.New("unknown host function")

// hostCall provides test.hello: "greet to " + its payload, the library's
// hello (bench/hand_test.go).
func hostCall(_ context.Context, _, namespace, operation string, payload []byte) ([]byte, error) {
	if namespace != "test" || operation != "hello" {
		return nil, fmt.Errorf("%w: %s.%s", errUnknownHost, namespace, operation)
	}
	return append([]byte("greet to "), payload...), nil
}

const wantGreet = "greet to world"

var world = []byte("world")

// forEachEngine runs fn as the sub-benchmark <engine> for every engine of
// this build, in name order.
func forEachEngine(b *testing.B, fn func(b *testing.B, eng wapc.Engine)) {
	names := make([]string, 0, len(engines))
	for name := range engines {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		b.Run(name, func(b *testing.B) { fn(b, engines[name]) })
	}
}

// newModule compiles the guest with eng, closed when tb ends.
func newModule(tb testing.TB, eng wapc.Engine) wapc.Module {
	tb.Helper()
	m, err := eng.New(bg, hostCall, guest, &wapc.ModuleConfig{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = m.Close(bg) })
	return m
}

// newInstance instantiates m, closed when tb ends.
func newInstance(tb testing.TB, m wapc.Module) wapc.Instance {
	tb.Helper()
	in, err := m.Instantiate(bg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = in.Close(bg) })
	return in
}

// greet invokes "greet" with "world" and checks the answer's length.
func greet(in wapc.Instance) ([]byte, error) {
	out, err := in.Invoke(bg, "greet", world)
	if err == nil && len(out) != len(wantGreet) {
		err = fmt.Errorf("greet returned %q", out)
	}
	return out, err
}

func checkGreet(b *testing.B, out []byte) {
	b.Helper()
	if string(out) != wantGreet {
		b.Fatalf("greet returned %q, want %q", out, wantGreet)
	}
}

func BenchmarkEcho64B(b *testing.B)   { benchEcho(b, 64) }
func BenchmarkEcho64KiB(b *testing.B) { benchEcho(b, 64<<10) }

// benchEcho: Invoke("echo") of size bytes on one warm instance.
func benchEcho(b *testing.B, size int) {
	payload := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	forEachEngine(b, func(b *testing.B, eng wapc.Engine) {
		b.Run("wapc", func(b *testing.B) {
			in := newInstance(b, newModule(b, eng))
			b.SetBytes(int64(size))
			if _, err := in.Invoke(bg, "echo", payload); err != nil {
				b.Fatal(err)
			}
			var out []byte
			var err error
			for b.Loop() {
				if out, err = in.Invoke(bg, "echo", payload); err != nil {
					b.Fatal(err)
				}
				if len(out) != size {
					b.Fatalf("echo returned %d bytes", len(out))
				}
			}
			if !bytes.Equal(out, payload) {
				b.Fatal("echo returned other bytes")
			}
		})
	})
}

// BenchmarkHostCallback: Invoke("greet") on one warm instance; the guest
// calls the host's test.hello once.
func BenchmarkHostCallback(b *testing.B) {
	forEachEngine(b, func(b *testing.B, eng wapc.Engine) {
		b.Run("wapc", func(b *testing.B) {
			in := newInstance(b, newModule(b, eng))
			out, err := greet(in)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if out, err = greet(in); err != nil {
					b.Fatal(err)
				}
			}
			checkGreet(b, out)
		})
	})
}

// restartEvery is how many instances BenchmarkInstantiate creates from one
// module before it starts over with a new module, untimed: wapc-go's
// wasmtime engine keeps every instance in the module's store until the
// module is closed (Instance.Close only drops references), and its wasmer
// engine frees instances by finalizer.
const restartEvery = 1000

// BenchmarkInstantiate: Module.Instantiate + Invoke("greet") + Close.
func BenchmarkInstantiate(b *testing.B) {
	forEachEngine(b, func(b *testing.B, eng wapc.Engine) {
		b.Run("wapc-call", func(b *testing.B) {
			m, err := eng.New(bg, hostCall, guest, &wapc.ModuleConfig{})
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = m.Close(bg) }()
			call := func() ([]byte, error) {
				in, err := m.Instantiate(bg)
				if err != nil {
					return nil, err
				}
				out, err := greet(in)
				if cerr := in.Close(bg); err == nil {
					err = cerr
				}
				return out, err
			}
			out, err := call()
			if err != nil {
				b.Fatal(err)
			}
			n := 1
			for b.Loop() {
				if n++; n > restartEvery {
					b.StopTimer()
					_ = m.Close(bg)
					goruntime.GC()
					if m, err = eng.New(bg, hostCall, guest, &wapc.ModuleConfig{}); err != nil {
						b.Fatal(err)
					}
					n = 1
					b.StartTimer()
				}
				if out, err = call(); err != nil {
					b.Fatal(err)
				}
			}
			checkGreet(b, out)
		})
	})
}

// BenchmarkPooledGreet: wapc.Pool Get + Invoke("greet") + Return, from one
// goroutine (a pool of 4, as the library's).
func BenchmarkPooledGreet(b *testing.B) {
	forEachEngine(b, func(b *testing.B, eng wapc.Engine) {
		b.Run("wapc-pool", func(b *testing.B) {
			p, err := wapc.NewPool(bg, newModule(b, eng), 4)
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close(bg)
			call := func() ([]byte, error) {
				in, err := p.Get(time.Second)
				if err != nil {
					return nil, err
				}
				out, err := greet(in)
				if rerr := p.Return(in); err == nil {
					err = rerr
				}
				return out, err
			}
			out, err := call()
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if out, err = call(); err != nil {
					b.Fatal(err)
				}
			}
			checkGreet(b, out)
		})
	})
}

// TestGuest checks the guest on every engine of this build: echo returns
// its payload (0, 64 B and 64 KiB), greet the host's answer, an unknown
// operation fails. It runs in `go test` (no -bench), in milliseconds.
func TestGuest(t *testing.T) {
	if len(engines) == 0 {
		t.Fatal("no wapc-go engine in this build")
	}
	for name, eng := range engines {
		t.Run(name, func(t *testing.T) {
			m := newModule(t, eng)
			for range 2 {
				in := newInstance(t, m)
				for _, size := range []int{0, 64, 64 << 10} {
					payload := bytes.Repeat([]byte{'x'}, size)
					out, err := in.Invoke(bg, "echo", payload)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(out, payload) {
						t.Fatalf("echo of %d bytes returned %d bytes", size, len(out))
					}
				}
				for range 2 {
					out, err := in.Invoke(bg, "greet", world)
					if err != nil {
						t.Fatal(err)
					}
					if string(out) != wantGreet {
						t.Fatalf("greet returned %q", out)
					}
				}
				if _, err := in.Invoke(bg, "ekho", world); err == nil {
					t.Fatal("an unknown operation succeeded")
				}
			}
		})
	}
}
