package peerextism

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"testing"

	extism "github.com/extism/go-sdk"
	"github.com/tetratelabs/wazero"
)

var bg = context.Background()

// guest is testdata/guest.wasm (see guest.wat).
var guest = func() []byte {
	b, err := os.ReadFile("testdata/guest.wasm")
	if err != nil {
		panic(err)
	}
	return b
}()

// hello is the host function extism:host/user.hello: "greet to " + its
// input, the library's hello (bench/hand_test.go).
var hello = extism.NewHostFunctionWithStack("hello",
	func(_ context.Context, p *extism.CurrentPlugin, stack []uint64) {
		name, err := p.ReadString(stack[0])
		if err != nil {
			panic(err)
		}
		out, err := p.WriteString("greet to " + name)
		if err != nil {
			panic(err)
		}
		stack[0] = out
	},
	[]extism.ValueType{extism.ValueTypePTR}, []extism.ValueType{extism.ValueTypePTR})

const wantGreet = "greet to world"

var world = []byte("world")

// compile compiles the guest (no WASI: the guest imports none), closed
// when tb ends.
func compile(tb testing.TB) *extism.CompiledPlugin {
	tb.Helper()
	manifest := extism.Manifest{Wasm: []extism.Wasm{extism.WasmData{Data: guest}}}
	cp, err := extism.NewCompiledPlugin(bg, manifest, extism.PluginConfig{}, []extism.HostFunction{hello})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = cp.Close(bg) })
	return cp
}

// instance is a plugin instance of cp.
func instance(cp *extism.CompiledPlugin) (*extism.Plugin, error) {
	return cp.Instance(bg, extism.PluginInstanceConfig{ModuleConfig: wazero.NewModuleConfig()})
}

// newPlugin is a plugin instance of a newly compiled guest, closed when tb
// ends.
func newPlugin(tb testing.TB) *extism.Plugin {
	tb.Helper()
	p, err := instance(compile(tb))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = p.Close(bg) })
	return p
}

// call calls export fn with in and checks the exit code and the output's
// length.
func call(p *extism.Plugin, fn string, in []byte, wantLen int) ([]byte, error) {
	rc, out, err := p.Call(fn, in)
	switch {
	case err != nil:
		return nil, err
	case rc != 0:
		return nil, fmt.Errorf("%s returned %d", fn, rc)
	case len(out) != wantLen:
		return nil, fmt.Errorf("%s returned %d bytes, want %d", fn, len(out), wantLen)
	}
	return out, nil
}

func greet(p *extism.Plugin) ([]byte, error) { return call(p, "greet", world, len(wantGreet)) }

func checkGreet(b *testing.B, out []byte) {
	b.Helper()
	if string(out) != wantGreet {
		b.Fatalf("greet returned %q, want %q", out, wantGreet)
	}
}

// wazeroOnly runs fn as the sub-benchmark "wazero", Extism's only engine.
func wazeroOnly(b *testing.B, variant string, fn func(b *testing.B)) {
	b.Run("wazero", func(b *testing.B) { b.Run(variant, fn) })
}

func BenchmarkEcho64B(b *testing.B)   { benchEcho(b, 64) }
func BenchmarkEcho64KiB(b *testing.B) { benchEcho(b, 64<<10) }

// benchEcho: Call("echo") of size bytes on one kept plugin.
func benchEcho(b *testing.B, size int) {
	payload := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	wazeroOnly(b, "extism", func(b *testing.B) {
		p := newPlugin(b)
		b.SetBytes(int64(size))
		out, err := call(p, "echo", payload, size)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if out, err = call(p, "echo", payload, size); err != nil {
				b.Fatal(err)
			}
		}
		if !bytes.Equal(out, payload) {
			b.Fatal("echo returned other bytes")
		}
	})
}

// benchGreet: Call("greet") on one kept plugin; the guest calls the host
// function hello once.
func benchGreet(b *testing.B) {
	p := newPlugin(b)
	out, err := greet(p)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if out, err = greet(p); err != nil {
			b.Fatal(err)
		}
	}
	checkGreet(b, out)
}

func BenchmarkHostCallback(b *testing.B) { wazeroOnly(b, "extism", benchGreet) }

// BenchmarkPooledGreet: the Go SDK has no pool; its pooled call is a kept
// plugin called again (the same work as HostCallback, measured in the
// pooled table's run).
func BenchmarkPooledGreet(b *testing.B) { wazeroOnly(b, "extism", benchGreet) }

// BenchmarkInstantiate: CompiledPlugin.Instance + Call("greet") + Close.
func BenchmarkInstantiate(b *testing.B) {
	wazeroOnly(b, "extism-call", func(b *testing.B) {
		cp := compile(b)
		once := func() ([]byte, error) {
			p, err := instance(cp)
			if err != nil {
				return nil, err
			}
			out, err := greet(p)
			if cerr := p.Close(bg); err == nil {
				err = cerr
			}
			return out, err
		}
		out, err := once()
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if out, err = once(); err != nil {
				b.Fatal(err)
			}
		}
		checkGreet(b, out)
	})
}

// TestGuest checks the guest: echo returns its input (0, 64 B and 64 KiB),
// greet the host's answer, on two instances, twice each. It runs in `go
// test` (no -bench), in milliseconds.
func TestGuest(t *testing.T) {
	cp := compile(t)
	for range 2 {
		p, err := instance(cp)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.Close(bg) })
		for _, size := range []int{0, 64, 64 << 10} {
			payload := bytes.Repeat([]byte{'x'}, size)
			out, err := call(p, "echo", payload, size)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, payload) {
				t.Fatalf("echo of %d bytes returned other bytes", size)
			}
		}
		for range 2 {
			out, err := greet(p)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != wantGreet {
				t.Fatalf("greet returned %q", out)
			}
		}
	}
}
