package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	goruntime "runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/abi"
	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/metering"
	"github.com/aspect-rt/aspect-runtime/pool"
	"github.com/aspect-rt/aspect-runtime/runtime"
	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// The suite: Benchmark<Scenario>/<engine>/<variant>, see doc.go. Every
// benchmark does its setup inside its own b.Run function, so nothing runs
// without -bench.

var (
	bg        = context.Background()
	rawWasm   = fixtures.MustBytes("wat/raw.wasm")
	greetWasm = fixtures.MustBytes("as/greet.wasm")
	// minGreetWasm is the hand-written greet (wat/greet.wat): the host
	// callback and pooled call scenarios run it, as the peers run their
	// own hand-written guest, so that a row measures the library, not the
	// guest's language (as/greet.wasm converts the string to UTF-16 and
	// back and runs AssemblyScript's allocator).
	minGreetWasm = fixtures.MustBytes("wat/greet.wasm")
)

// forEachEngine runs fn as the sub-benchmark <engine> for every linked
// engine.
func forEachEngine(b *testing.B, fn func(b *testing.B, eng string)) {
	for _, e := range runtime.Engines() {
		b.Run(e, func(b *testing.B) { fn(b, e) })
	}
}

// helloRegistry provides index/test.hello to as/greet.wasm.
func helloRegistry(tb testing.TB) *runtime.HostAPIRegistry {
	tb.Helper()
	reg := runtime.NewHostAPIRegistry()
	require.NoError(tb, reg.AddAPI("index", "test", "hello", hello))
	return reg
}

// newRuntime is runtime.NewWithEngine, closed when tb ends.
func newRuntime(tb testing.TB, eng string, wasm []byte, reg *runtime.HostAPIRegistry) *runtime.Runtime {
	tb.Helper()
	rt, err := runtime.NewWithEngine(bg, eng, wasm, reg)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = rt.Close(bg) })
	return rt
}

// spiModule opens eng through the SPI and compiles wasm; both are closed
// when tb ends.
func spiModule(tb testing.TB, eng string, wasm []byte) engine.Module {
	tb.Helper()
	drv, ok := engine.Lookup(eng)
	require.True(tb, ok, eng)
	e, err := drv.Open(engine.Config{})
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = e.Close(bg) })
	m, err := e.Compile(bg, wasm, engine.CompileConfig{})
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = m.Close(bg) })
	return m
}

// spiInstance instantiates m through the SPI, closed when tb ends.
func spiInstance(tb testing.TB, m engine.Module, host []engine.HostFunc) engine.Instance {
	tb.Helper()
	in, err := m.Instantiate(bg, host, engine.InstanceConfig{})
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = in.Close(bg) })
	return in
}

// warm makes one untimed call of op before a benchmark's loop, so that
// first-call costs (lazy initialization in an engine, page faults) stay out
// of the figure.
func warm(b *testing.B, op func() error) {
	b.Helper()
	if err := op(); err != nil {
		b.Fatal(err)
	}
}

// guestHeap is how much guest memory a benchmark lets a module's allocator
// (which never frees: wat/raw.wasm's bump allocator, AssemblyScript's stub
// runtime) use before the instance is reset, outside the timer: half the
// runtime's default memory limit (runtime.DefaultMemoryLimitPages, 64
// MiB), which a module's own memory and the last call must fit beside.
const guestHeap = 32 << 20

// resetEvery returns how many calls allocating about perCall guest bytes
// fit in guestHeap.
func resetEvery(perCall int) int { return max(1, guestHeap/(perCall+64)) }

// resetting calls reset, with the timer stopped, before every every-th
// call; use it as the first statement of the b.Loop body.
type resetting struct {
	b     *testing.B
	every int
	n     int
	reset func() error
}

// handReinstantiating returns a resetting that closes *in and replaces
// it with a new instance of hm: how the hand-written baselines start over.
func handReinstantiating(b *testing.B, every int, hm handModule, in *handInstance) resetting {
	return resetting{b: b, every: every, reset: func() error {
		(*in).close()
		var err error
		*in, err = hm.instantiate()
		return err
	}}
}

func (r *resetting) tick() {
	r.n++
	if r.n <= r.every {
		return
	}
	r.b.StopTimer()
	if err := r.reset(); err != nil {
		r.b.Fatal(err)
	}
	r.n = 1
	r.b.StartTimer()
}

func BenchmarkNop(b *testing.B) {
	forEachEngine(b, func(b *testing.B, eng string) {
		b.Run("runtime", func(b *testing.B) {
			rt := newRuntime(b, eng, rawWasm, nil)
			warm(b, func() error { _, err := rt.Call(bg, "nop"); return err })
			for b.Loop() {
				if _, err := rt.Call(bg, "nop"); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("adapter", func(b *testing.B) {
			fn := spiInstance(b, spiModule(b, eng, rawWasm), nil).Function("nop")
			stack := make([]uint64, 1)
			warm(b, func() error { return fn.Call(bg, stack) })
			for b.Loop() {
				if err := fn.Call(bg, stack); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("baseline", func(b *testing.B) {
			in := handInstantiate(b, openHand(b, eng, rawWasm))
			warm(b, in.nop)
			for b.Loop() {
				if err := in.nop(); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

func BenchmarkAdd(b *testing.B) {
	forEachEngine(b, func(b *testing.B, eng string) {
		b.Run("adapter", func(b *testing.B) {
			fn := spiInstance(b, spiModule(b, eng, rawWasm), nil).Function("add")
			stack := make([]uint64, 2)
			warm(b, func() error { return fn.Call(bg, stack) })
			for i := 0; b.Loop(); i++ {
				stack[0], stack[1] = uint64(uint32(i)), 1
				if err := fn.Call(bg, stack); err != nil {
					b.Fatal(err)
				}
				if uint32(stack[0]) != uint32(i+1) {
					b.Fatalf("add(%d, 1) = %d", i, uint32(stack[0]))
				}
			}
		})
		b.Run("baseline", func(b *testing.B) {
			in := handInstantiate(b, openHand(b, eng, rawWasm))
			warm(b, func() error { _, err := in.add(1, 2); return err })
			for i := 0; b.Loop(); i++ {
				r, err := in.add(int32(i), 1)
				if err != nil {
					b.Fatal(err)
				}
				if r != int32(i+1) {
					b.Fatalf("add(%d, 1) = %d", i, r)
				}
			}
		})
	})
}

func BenchmarkEcho64B(b *testing.B)   { benchEcho(b, 64) }
func BenchmarkEcho4KiB(b *testing.B)  { benchEcho(b, 4<<10) }
func BenchmarkEcho64KiB(b *testing.B) { benchEcho(b, 64<<10) }
func BenchmarkEcho1MiB(b *testing.B)  { benchEcho(b, 1<<20) }

// benchEcho: echo(String) of size bytes on wat/raw.wasm, whose echo returns
// its argument's pointer, so only the host side of an ABI call is measured.
func benchEcho(b *testing.B, size int) {
	payload := strings.Repeat("0123456789abcdef", size/16)
	every := resetEvery(headerSize + size)
	forEachEngine(b, func(b *testing.B, eng string) {
		b.Run("runtime", func(b *testing.B) {
			rt := newRuntime(b, eng, rawWasm, nil)
			r := resetting{b: b, every: every, reset: func() error { return rt.Reset(bg) }}
			b.SetBytes(int64(size))
			warm(b, func() error { _, err := rt.Call(bg, "echo", payload); return err })
			var out any
			var err error
			for b.Loop() {
				r.tick()
				if out, err = rt.Call(bg, "echo", payload); err != nil {
					b.Fatal(err)
				}
				if s, _ := out.(string); len(s) != size {
					b.Fatalf("echo returned %d bytes", len(s))
				}
			}
			require.Equal(b, payload, out)
		})
		b.Run("adapter", func(b *testing.B) {
			m := spiModule(b, eng, rawWasm)
			in := spiInstance(b, m, nil)
			var alloc, echo engine.Function
			var mem engine.Memory
			bind := func() { alloc, echo, mem = in.Function("allocate"), in.Function("echo"), in.Memory() }
			bind()
			r := resetting{b: b, every: every, reset: func() error {
				_ = in.Close(bg)
				var err error
				in, err = m.Instantiate(bg, nil, engine.InstanceConfig{})
				if err == nil {
					bind()
				}
				return err
			}}
			defer func() { _ = in.Close(bg) }()
			b.SetBytes(int64(size))
			buf := make([]byte, 0, headerSize+size)
			stack := make([]uint64, 1)
			warm(b, func() error {
				_, err := adapterCall(alloc, echo, mem, stack, appendString(buf[:0], payload))
				return err
			})
			var out string
			var err error
			for b.Loop() {
				r.tick()
				buf = appendString(buf[:0], payload)
				if out, err = adapterCall(alloc, echo, mem, stack, buf); err != nil {
					b.Fatal(err)
				}
				if len(out) != size {
					b.Fatalf("echo returned %d bytes", len(out))
				}
			}
			require.Equal(b, payload, out)
		})
		b.Run("baseline", func(b *testing.B) {
			hm := openHand(b, eng, rawWasm)
			in := handInstantiate(b, hm)
			r := handReinstantiating(b, every, hm, &in)
			defer func() { in.close() }()
			b.SetBytes(int64(size))
			buf := make([]byte, 0, headerSize+size)
			warm(b, func() error { _, err := in.call("echo", appendString(buf[:0], payload)); return err })
			var out string
			for b.Loop() {
				r.tick()
				buf = appendString(buf[:0], payload)
				view, err := in.call("echo", buf)
				if err != nil {
					b.Fatal(err)
				}
				if out, err = readString(view); err != nil {
					b.Fatal(err)
				}
				if len(out) != size {
					b.Fatalf("echo returned %d bytes", len(out))
				}
			}
			require.Equal(b, payload, out)
		})
	})
}

// adapterCall is an ABI call of a one-String function through the SPI:
// allocate, write, call, read the result's header and payload, copy the
// string out.
func adapterCall(alloc, fn engine.Function, mem engine.Memory, stack []uint64, enc []byte) (string, error) {
	stack[0] = uint64(len(enc))
	if err := alloc.Call(bg, stack); err != nil {
		return "", err
	}
	p := uint32(stack[0])
	if !mem.Write(p, enc) {
		return "", errBounds
	}
	stack[0] = uint64(p)
	if err := fn.Call(bg, stack); err != nil {
		return "", err
	}
	r := uint32(stack[0])
	hdr, ok := mem.Read(r, headerSize)
	if !ok {
		return "", errBounds
	}
	view, ok := mem.Read(r, headerSize+binary.LittleEndian.Uint32(hdr[2:]))
	if !ok {
		return "", errBounds
	}
	return readString(view)
}

// person is the struct of the Struct scenario.
type person struct {
	Name   string           `abi:"name"`
	Age    int32            `abi:"age"`
	Tags   []string         `abi:"tags"`
	Scores map[string]int32 `abi:"scores"`
}

var benchPerson = person{Name: "Ann", Age: 30, Tags: []string{"a", "b"}, Scores: map[string]int32{"x": 1, "y": 2}}

// BenchmarkStruct: a struct encoded, echoed by wat/raw.wasm and decoded into
// a Go struct.
func BenchmarkStruct(b *testing.B) {
	every := resetEvery(128)
	forEachEngine(b, func(b *testing.B, eng string) {
		b.Run("runtime", func(b *testing.B) {
			rt := newRuntime(b, eng, rawWasm, nil)
			r := resetting{b: b, every: every, reset: func() error { return rt.Reset(bg) }}
			warm(b, func() error { _, err := runtime.CallAs[person](bg, rt, "echo", benchPerson); return err })
			var out person
			var err error
			for b.Loop() {
				r.tick()
				if out, err = runtime.CallAs[person](bg, rt, "echo", benchPerson); err != nil {
					b.Fatal(err)
				}
			}
			require.Equal(b, benchPerson, out)
		})
		b.Run("baseline", func(b *testing.B) {
			hm := openHand(b, eng, rawWasm)
			in := handInstantiate(b, hm)
			r := handReinstantiating(b, every, hm, &in)
			defer func() { in.close() }()
			buf := make([]byte, 0, 128)
			warm(b, func() error {
				enc, err := abi.Append(nil, benchPerson)
				if err == nil {
					_, err = handStruct(in, enc)
				}
				return err
			})
			var out person
			for b.Loop() {
				r.tick()
				var err error
				if buf, err = abi.Append(buf[:0], benchPerson); err != nil {
					b.Fatal(err)
				}
				if out, err = handStruct(in, buf); err != nil {
					b.Fatal(err)
				}
			}
			require.Equal(b, benchPerson, out)
		})
	})
}

// handStruct echoes the encoded struct enc and decodes the result.
func handStruct(in handInstance, enc []byte) (person, error) {
	var out person
	view, err := in.call("echo", enc)
	if err != nil {
		return out, err
	}
	n, err := abi.ValueSize(view)
	if err != nil {
		return out, err
	}
	return out, abi.Unmarshal(view[:n], &out)
}

// BenchmarkHostCallback: greet(String) of the hand-written wat/greet.wasm,
// which calls the host's test.hello, which allocates its answer in the
// guest; runtime-as is the library's call of as/greet.wasm, the same greet
// compiled from AssemblyScript.
func BenchmarkHostCallback(b *testing.B) {
	every := resetEvery(512)
	const want = "greet to world"
	forEachEngine(b, func(b *testing.B, eng string) {
		for _, v := range []struct {
			name string
			wasm []byte
		}{{"runtime", minGreetWasm}, {"runtime-as", greetWasm}} {
			b.Run(v.name, func(b *testing.B) {
				rt := newRuntime(b, eng, v.wasm, helloRegistry(b))
				r := resetting{b: b, every: every, reset: func() error { return rt.Reset(bg) }}
				warm(b, func() error { _, err := rt.Call(bg, "greet", "world"); return err })
				var out any
				var err error
				for b.Loop() {
					r.tick()
					if out, err = rt.Call(bg, "greet", "world"); err != nil {
						b.Fatal(err)
					}
				}
				require.Equal(b, want, out)
			})
		}
		b.Run("baseline", func(b *testing.B) {
			hm := openHand(b, eng, minGreetWasm)
			in := handInstantiate(b, hm)
			r := handReinstantiating(b, every, hm, &in)
			defer func() { in.close() }()
			warm(b, func() error { _, err := handGreet(in); return err })
			var out string
			for b.Loop() {
				r.tick()
				var err error
				if out, err = handGreet(in); err != nil {
					b.Fatal(err)
				}
			}
			require.Equal(b, want, out)
		})
	})
}

// handGreet calls greet("world") by hand.
func handGreet(in handInstance) (string, error) {
	var buf [headerSize + 5]byte
	view, err := in.call("greet", appendString(buf[:0], "world"))
	if err != nil {
		return "", err
	}
	return readString(view)
}

// BenchmarkInstantiate: a new instance of as/greet.wasm from a compiled
// module (host imports resolved, start code run), then closed; and the
// same with one greet call before the close (runtime-call: what a peer
// without reset pays for a clean instance per call).
func BenchmarkInstantiate(b *testing.B) {
	forEachEngine(b, func(b *testing.B, eng string) {
		b.Run("runtime", func(b *testing.B) { benchReinstantiate(b, eng) })
		b.Run("runtime-call", func(b *testing.B) {
			m, err := runtime.CompileWithEngine(bg, eng, greetWasm)
			require.NoError(b, err)
			defer m.Close(bg)
			reg := helloRegistry(b)
			once := func() error {
				rt, err := m.Instantiate(bg, reg)
				if err != nil {
					return err
				}
				out, err := rt.Call(bg, "greet", "world")
				if err == nil && out != "greet to world" {
					err = fmt.Errorf("greet returned %v", out)
				}
				if cerr := rt.Close(bg); err == nil {
					err = cerr
				}
				return err
			}
			warm(b, once)
			for b.Loop() {
				if err := once(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("baseline", func(b *testing.B) {
			hm := openHand(b, eng, greetWasm)
			warm(b, func() error {
				in, err := hm.instantiate()
				if err == nil {
					in.close()
				}
				return err
			})
			for b.Loop() {
				in, err := hm.instantiate()
				if err != nil {
					b.Fatal(err)
				}
				in.close()
			}
		})
	})
}

func benchReinstantiate(b *testing.B, eng string) {
	m, err := runtime.CompileWithEngine(bg, eng, greetWasm)
	require.NoError(b, err)
	defer m.Close(bg)
	reg := helloRegistry(b)
	warm(b, func() error {
		rt, err := m.Instantiate(bg, reg)
		if err == nil {
			err = rt.Close(bg)
		}
		return err
	})
	for b.Loop() {
		rt, err := m.Instantiate(bg, reg)
		if err != nil {
			b.Fatal(err)
		}
		if err := rt.Close(bg); err != nil {
			b.Fatal(err)
		}
	}
}

// pooledGreet is one pooled call of as/greet.wasm: lease, greet, put back.
func pooledGreet(p *pool.Pool, eng string, reg *runtime.HostAPIRegistry) error {
	return pooledGreetOf(p, eng, greetWasm, reg)
}

// pooledGreetOf is one pooled call of code's greet: lease, greet, put back.
func pooledGreetOf(p *pool.Pool, eng string, code []byte, reg *runtime.HostAPIRegistry) error {
	l, err := p.Runtime(bg, eng, code, reg)
	if err != nil {
		return err
	}
	defer p.PutBack(l)
	out, err := l.Runtime.Call(bg, "greet", "world")
	if err == nil && out != "greet to world" {
		err = fmt.Errorf("greet returned %v", out)
	}
	return err
}

// pooledGreetCall is one pooled call of code's greet through Pool.Call.
func pooledGreetCall(p *pool.Pool, eng string, code []byte, reg *runtime.HostAPIRegistry) error {
	out, err := p.Call(bg, eng, code, reg, "greet", "world")
	if err == nil && out != "greet to world" {
		err = fmt.Errorf("greet returned %v", out)
	}
	return err
}

// resetPooled resets the instance a lease of code from p gets (the one
// pooledGreetOf gets next, from one goroutine).
func resetPooled(p *pool.Pool, eng string, code []byte, reg *runtime.HostAPIRegistry) error {
	l, err := p.Runtime(bg, eng, code, reg)
	if err != nil {
		return err
	}
	defer p.PutBack(l)
	return l.Runtime.Reset(bg)
}

// BenchmarkPooledGreet: greet(String) of wat/greet.wasm (one host
// callback) through a pool: lease + call + put back with reset on put back
// (pool) or WithKeepState, the same in one Pool.Call, a fresh runtime per
// call, and the hand-written greet on a warm instance (baseline).
func BenchmarkPooledGreet(b *testing.B) {
	forEachEngine(b, func(b *testing.B, eng string) {
		for _, v := range []struct {
			name string
			opts []pool.Option
			call func(*pool.Pool, string, []byte, *runtime.HostAPIRegistry) error
		}{
			{"pool", nil, pooledGreetOf},
			{"pool-keep-state", []pool.Option{pool.WithKeepState()}, pooledGreetOf},
			// Pool.Call: lease, call and put back in one, no handle.
			{"pool-keep-state-call", []pool.Option{pool.WithKeepState()}, pooledGreetCall},
		} {
			b.Run(v.name, func(b *testing.B) {
				p := pool.New(4, v.opts...)
				defer p.Close(bg)
				reg := helloRegistry(b)
				require.NoError(b, v.call(p, eng, minGreetWasm, reg)) // compile and warm up, untimed
				// With keep state the guest's heap, never freed, fills up
				// (its growth was timed, and it traps after about 600,000
				// calls): start over, untimed, as the warm call does.
				r := resetting{b: b, every: resetEvery(512), reset: func() error { return resetPooled(p, eng, minGreetWasm, reg) }}
				for b.Loop() {
					r.tick()
					if err := v.call(p, eng, minGreetWasm, reg); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		b.Run("fresh-runtime", func(b *testing.B) {
			reg := helloRegistry(b)
			warm(b, func() error { return newRuntime(b, eng, minGreetWasm, reg).Close(bg) })
			for b.Loop() {
				rt, err := runtime.NewWithEngine(bg, eng, minGreetWasm, reg)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := rt.Call(bg, "greet", "world"); err != nil {
					b.Fatal(err)
				}
				if err := rt.Close(bg); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("baseline", func(b *testing.B) {
			// wat/greet.wasm frees nothing: a new instance every 512
			// calls, untimed, as in BenchmarkHostCallback.
			hm := openHand(b, eng, minGreetWasm)
			in := handInstantiate(b, hm)
			r := handReinstantiating(b, resetEvery(512), hm, &in)
			defer func() { in.close() }()
			warm(b, func() error { _, err := handGreet(in); return err })
			for b.Loop() {
				r.tick()
				if _, err := handGreet(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// BenchmarkReset: Runtime.Reset vs a new instance from the compiled module
// (what the pool would otherwise do), on as/greet.wasm.
func BenchmarkReset(b *testing.B) {
	forEachEngine(b, func(b *testing.B, eng string) {
		b.Run("reset", func(b *testing.B) {
			rt := newRuntime(b, eng, greetWasm, helloRegistry(b))
			warm(b, func() error { return rt.Reset(bg) })
			for b.Loop() {
				if err := rt.Reset(bg); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("reinstantiate", func(b *testing.B) { benchReinstantiate(b, eng) })
	})
}

// sumN is the argument of sum_to in the Metered scenario: a loop of sumN
// iterations per call.
const sumN = 100000

var (
	errOutOfGas   = errors.New("out of gas")
	errDepthLimit = errors.New("call depth exceeded")
)

// meteringHost provides the imports metering injects.
func meteringHost(m engine.Module) []engine.HostFunc {
	var host []engine.HostFunc
	for _, imp := range m.Imports() {
		if imp.Kind != engine.ExternFunc {
			continue
		}
		err := fmt.Errorf("unexpected import %s.%s", imp.Module, imp.Name)
		if imp.Module == metering.ImportModule {
			switch imp.Name {
			case metering.OutOfGasImport:
				err = errOutOfGas
			case metering.CallDepthExceededImport:
				err = errDepthLimit
			}
		}
		host = append(host, engine.HostFunc{Module: imp.Module, Name: imp.Name, Type: imp.Type,
			Call: func(context.Context, engine.Caller, []uint64) error { return err }})
	}
	return host
}

// BenchmarkMetered: sum_to(sumN) of wat/raw.wasm as is and instrumented by
// package metering (what runtime.WithMetering compiles), called through the
// SPI: sum_to takes an i64, which an ABI call cannot pass, and the SPI
// isolates the cost of the instrumentation. The metered variant sets the gas
// counter before every call, as the runtime does, and reports the gas one
// call uses.
func BenchmarkMetered(b *testing.B) {
	want := uint64(sumN * (sumN + 1) / 2)
	run := func(b *testing.B, in engine.Instance, gas engine.Global) {
		fn := in.Function("sum_to")
		stack := make([]uint64, 1)
		warm(b, func() error {
			if gas != nil {
				gas.Set(math.MaxInt64)
			}
			stack[0] = sumN
			return fn.Call(bg, stack)
		})
		for b.Loop() {
			if gas != nil {
				gas.Set(math.MaxInt64)
			}
			stack[0] = sumN
			if err := fn.Call(bg, stack); err != nil {
				b.Fatal(err)
			}
			if stack[0] != want {
				b.Fatalf("sum_to(%d) = %d", sumN, stack[0])
			}
		}
		if gas != nil {
			b.ReportMetric(float64(math.MaxInt64-int64(gas.Get())), "gas/op")
		}
	}
	forEachEngine(b, func(b *testing.B, eng string) {
		b.Run("unmetered", func(b *testing.B) {
			run(b, spiInstance(b, spiModule(b, eng, rawWasm), nil), nil)
		})
		b.Run("metered", func(b *testing.B) {
			res, err := metering.Instrument(rawWasm, metering.Config{})
			require.NoError(b, err)
			m := spiModule(b, eng, res.Module)
			in := spiInstance(b, m, meteringHost(m))
			gas := in.Global(metering.GasCounterExport)
			require.NotNil(b, gas)
			run(b, in, gas)
		})
	})
}

// BenchmarkThroughput: how pooled throughput scales from 1 goroutine to 2,
// next to the hand-written baseline's own scaling, measured so that load on
// a shared machine hits every side alike. Each b.Loop iteration is one round
// of four sides, each a fixed number of greet calls (calibrated once per
// engine to take about scalingRoundTime from one goroutine): pooled greet
// from 1 and from 2 goroutines sharing one pool, and greet by hand from 1
// and from 2 goroutines on an instance each. The order alternates between
// rounds (pool 1, pool 2, baseline 1, baseline 2, then the reverse), so the
// two halves of a scaling are always adjacent in time. A side's figure for a
// round is the wall time per call; see scalingSide.round for how a round
// runs. It reports, over the rounds of one run:
//
//   - pool-1g-ns/call, pool-2g-ns/call, baseline-1g-ns/call,
//     baseline-2g-ns/call: the median wall time per call of each side;
//   - pool-scaling, baseline-scaling: the median over the rounds of the
//     round's 1-goroutine over 2-goroutine time per call (2x is perfect);
//   - 1g-waited-%, 2g-waited-%: the median over the 1-goroutine and the
//     2-goroutine rounds (pool and baseline) of the share of the goroutines'
//     thread time spent waiting for a CPU, from /proc/thread-self/schedstat
//     (Linux only): about 0 when the process had its cores to itself; when
//     other work on the machine took them, the scalings are understated;
//   - pool-quiet-scaling, baseline-quiet-scaling: the same median over the
//     quiet rounds only, those whose 1- and 2-goroutine rounds both waited
//     for a CPU under quietWait of their thread time (when there are at
//     least scalingMinQuiet), and pool-quiet-rounds, baseline-quiet-rounds,
//     how many there were: what the code does when the machine lets it,
//     beside the figure of every round;
//   - ideal-scaling: min(2, GOMAXPROCS, CPUs), the most two goroutines can
//     scale here: a scaling above it is noise, not a measurement;
//   - rounds: the number of rounds (at least scalingMinRounds).
//
// ns/op is the time of one round of the four sides, with a GC before each
// and the finalizers it queued run (see drainFinalizers: left to run during
// the round, those of the hand-written wasmtime and wasmer bindings slowed
// the 1-goroutine rounds only, which overstated the baseline's scaling,
// 2.09x to 2.17x on wasmtime); it is not a figure of the library. The hand-written instances are
// re-created (untimed) before their guest heap, which AssemblyScript's stub
// runtime never frees, would pass guestHeap.
func BenchmarkThroughput(b *testing.B) {
	forEachEngine(b, func(b *testing.B, eng string) {
		var s *scalingBench
		owner := b // set up once for the -count runs (the same work in each), closed after the last
		b.Run("interleaved", func(b *testing.B) {
			if s == nil {
				s = newScalingBench(b, owner, eng)
			}
			s.run(b)
		})
	})
}

// scalingRoundTime is about how long one round of a side takes from one
// goroutine.
const scalingRoundTime = 2 * time.Millisecond

// scalingMinRounds is the fewest rounds a run of BenchmarkThroughput makes,
// however short its -benchtime.
const scalingMinRounds = 21

// scalingChunk is how many calls a goroutine takes from the round's counter
// at a time.
const scalingChunk = 8

// scalingBench is the setup of BenchmarkThroughput for one engine: a pool
// with two idle instances, two hand-written instances (when this build has
// a baseline for the engine) and the calls per round of each.
type scalingBench struct {
	pool, base scalingSide
	hasBase    bool
}

// scalingSide is what one side of a scaling calls: call(i) from goroutine i,
// n calls per round, prepare before each round (outside the clock).
type scalingSide struct {
	call    func(i int) error
	prepare func(n int) error
	n       int
}

// newScalingBench sets up BenchmarkThroughput for eng in b; what it creates is
// closed when owner ends.
func newScalingBench(b, owner *testing.B, eng string) *scalingBench {
	s := &scalingBench{}
	reg := helloRegistry(owner)
	p := pool.New(4)
	owner.Cleanup(func() { _ = p.Close(bg) })
	// Compile and create two idle instances, untimed.
	var leases []*pool.Lease
	for range 2 {
		l, err := p.Runtime(bg, eng, greetWasm, reg)
		require.NoError(b, err)
		leases = append(leases, l)
	}
	for _, l := range leases {
		p.PutBack(l)
	}
	s.pool = scalingSide{call: func(int) error { return pooledGreet(p, eng, reg) }}
	if open, ok := hands[eng]; ok {
		s.hasBase = true
		every := resetEvery(512)
		var (
			hms  [2]handModule
			ins  [2]handInstance
			used [2]int // calls since the instance was created
		)
		for i := range ins {
			hms[i] = open(owner, greetWasm) // a store (wasmer: a module) per goroutine
			in, err := hms[i].instantiate()
			require.NoError(b, err)
			ins[i] = in
			owner.Cleanup(func() { ins[i].close(); hms[i].close() })
		}
		// prepare re-creates an instance when the next round could fill its
		// guest heap.
		s.base.prepare = func(n int) error {
			for i := range ins {
				if used[i]+n <= every {
					continue
				}
				ins[i].close()
				in, err := hms[i].instantiate()
				if err != nil {
					return err
				}
				ins[i], used[i] = in, 0
			}
			return nil
		}
		s.base.call = func(i int) error {
			used[i]++
			_, err := handGreet(ins[i])
			return err
		}
	}
	for _, side := range s.sides() {
		require.NoError(b, side.calibrate())
	}
	return s
}

func (s *scalingBench) sides() []*scalingSide {
	if s.hasBase {
		return []*scalingSide{&s.pool, &s.base}
	}
	return []*scalingSide{&s.pool}
}

// calibrate warms the side up from both goroutines and sets its calls per
// round to take about scalingRoundTime from one goroutine: n grows until a
// round takes at least a quarter of it, and the fastest of three rounds of
// that n sets the time per call (a round slowed by load on the machine
// would otherwise make every round of the side short).
func (side *scalingSide) calibrate() error {
	if _, err := side.round(2, 64); err != nil {
		return err
	}
	n := 64
	for {
		r, err := side.round(1, n)
		if err != nil {
			return err
		}
		if d := time.Duration(r.perCall * float64(n)); d >= scalingRoundTime/4 || n >= 1<<20 {
			perCall := r.perCall
			for range 2 {
				if r, err = side.round(1, n); err != nil {
					return err
				}
				perCall = min(perCall, r.perCall)
			}
			side.n = max(4*scalingChunk, int(float64(scalingRoundTime)/perCall)/scalingChunk*scalingChunk)
			return nil
		}
		n *= 4
	}
}

// roundResult is the outcome of one round of a side.
type roundResult struct {
	// perCall is the wall time per call, ns.
	perCall float64
	// waited is the share of the round's thread time (goroutines × wall
	// time) the goroutines' threads spent waiting for a CPU, or -1 where
	// unknown (not Linux, or a goroutine changed threads).
	waited float64
}

// threadWaitSince returns how long the calling thread waited for a CPU
// since threadWait returned tid and wait0, or -1 when it is another thread
// or unknown.
func threadWaitSince(tid int, wait0 int64, ok bool) int64 {
	tid1, wait1, ok1 := threadWait()
	if !ok || !ok1 || tid1 != tid {
		return -1
	}
	return wait1 - wait0
}

// round prepares the side, runs a GC and the finalizers it queued, then
// makes n calls from g goroutines (1 or 2). The calling goroutine makes
// calls itself; with g = 2 a second
// goroutine does too, and the clock starts only once both are running at
// the same time (so on two Ps): how soon the Go scheduler moves a new
// goroutine to an idle P is not what is measured (with goroutines making
// back-to-back cgo calls it can leave both on one P for milliseconds, which
// made 2 ms rounds on wasmer show no scaling at all). The goroutines take
// calls from a shared counter in chunks of scalingChunk, so whichever is
// running does the work, and the clock stops when the last call ends: each
// goroutine notes when its calls ended, and one that made none (with
// GOMAXPROCS 1, the second finds the work done) does not count. Each
// goroutine reads its thread's run-queue delay before and after its calls,
// outside the clock (about 10 µs a read: inside it, they cost a 2-goroutine
// round of 100 calls a quarter of its time).
func (side *scalingSide) round(g, n int) (roundResult, error) {
	if side.prepare != nil {
		if err := side.prepare(n); err != nil {
			return roundResult{}, err
		}
	}
	goruntime.GC()
	drainFinalizers()
	var next atomic.Int64
	// work makes calls until all n are taken and reports whether it made
	// any.
	work := func(i int) (bool, error) {
		made := false
		for {
			hi := next.Add(scalingChunk)
			for c := hi - scalingChunk; c < min(hi, int64(n)); c++ {
				made = true
				if err := side.call(i); err != nil {
					next.Store(int64(n)) // the other goroutine stops too
					return true, err
				}
			}
			if hi >= int64(n) {
				return made, nil
			}
		}
	}
	var (
		done, reported atomic.Bool
		err1           error
		wait1          int64
		// called1 and end1: whether the second goroutine made calls and
		// when they ended (written before done is set).
		called1 bool
		end1    time.Time
	)
	if g == 2 {
		// The handshake: the second goroutine sets state to spinning and
		// spins without yielding for a while, then takes spinning back and
		// yields (so that it cannot keep a P the first goroutine needs); the
		// first goroutine starts the clock only by taking state from
		// spinning to running, that is while the second one runs.
		const (
			idle int32 = iota
			spinning
			running
		)
		var state atomic.Int32
		go func() {
			var (
				tid   int
				wait0 int64
				ok    bool
			)
			for {
				tid, wait0, ok = threadWait()
				if !state.CompareAndSwap(idle, spinning) { // running already: GOMAXPROCS 1
					break
				}
				for t := time.Now(); state.Load() == spinning && time.Since(t) < 50*time.Microsecond; {
				}
				if !state.CompareAndSwap(spinning, idle) { // running
					break
				}
				goruntime.Gosched()
			}
			called1, err1 = work(1)
			end1 = time.Now()
			done.Store(true)
			wait1 = threadWaitSince(tid, wait0, ok)
			reported.Store(true)
		}()
		if goruntime.GOMAXPROCS(0) < 2 {
			state.Store(running) // the two can never run at the same time: no handshake
		}
		for state.Load() != running && !state.CompareAndSwap(spinning, running) {
			goruntime.Gosched()
		}
	}
	tid, wait0, ok := threadWait()
	t0 := time.Now()
	_, err0 := work(0)
	end := time.Now()
	var wait int64
	if g == 2 { // before yielding, which may move this goroutine to another thread
		wait = threadWaitSince(tid, wait0, ok)
		for !done.Load() {
			goruntime.Gosched()
		}
		if called1 && end1.After(end) {
			end = end1
		}
	}
	wall := end.Sub(t0)
	r := roundResult{perCall: float64(wall.Nanoseconds()) / float64(n), waited: -1}
	if g == 1 {
		wait = threadWaitSince(tid, wait0, ok)
	}
	for g == 2 && !reported.Load() {
		goruntime.Gosched()
	}
	if g == 2 && wait1 < 0 {
		wait = -1
	}
	if wait >= 0 && wall > 0 {
		r.waited = float64(wait+max(wait1, 0)) / float64(g) / float64(wall.Nanoseconds())
	}
	return r, errors.Join(err0, err1)
}

// run is one -count run: rounds of the four sides until b.Loop ends, then
// the medians.
func (s *scalingBench) run(b *testing.B) {
	sides := s.sides()
	per := make([][2][]roundResult, len(sides)) // per side and goroutine count - 1, the rounds
	type step struct{ side, g int }
	var order []step
	for i := range sides {
		order = append(order, step{i, 1}, step{i, 2})
	}
	roundOf := func(r int) {
		for k := range order {
			st := order[k]
			if r%2 == 1 { // the reverse order every other round
				st = order[len(order)-1-k]
			}
			res, err := sides[st.side].round(st.g, sides[st.side].n)
			if err != nil {
				b.Fatal(err)
			}
			per[st.side][st.g-1] = append(per[st.side][st.g-1], res)
		}
	}
	r := 0
	for ; b.Loop(); r++ {
		roundOf(r)
	}
	for ; r < scalingMinRounds; r++ { // a loaded machine or a short -benchtime
		roundOf(r)
	}
	names := []string{"pool", "baseline"}
	var waited [2][]float64 // per goroutine count - 1, over both sides
	for i := range sides {
		g1, g2 := per[i][0], per[i][1]
		var t1, t2, scaling, quiet []float64
		for r := range g1 {
			t1 = append(t1, g1[r].perCall)
			t2 = append(t2, g2[r].perCall)
			scaling = append(scaling, g1[r].perCall/g2[r].perCall)
			if isQuiet(g1[r]) && isQuiet(g2[r]) {
				quiet = append(quiet, scaling[r])
			}
		}
		for g, rounds := range per[i] {
			for _, r := range rounds {
				if r.waited >= 0 {
					waited[g] = append(waited[g], r.waited)
				}
			}
		}
		b.ReportMetric(median(t1), names[i]+"-1g-ns/call")
		b.ReportMetric(median(t2), names[i]+"-2g-ns/call")
		b.ReportMetric(median(scaling), names[i]+"-scaling")
		if len(quiet) >= scalingMinQuiet {
			b.ReportMetric(median(quiet), names[i]+"-quiet-scaling")
		}
		if waited[0] != nil || waited[1] != nil {
			b.ReportMetric(float64(len(quiet)), names[i]+"-quiet-rounds")
		}
	}
	for g, w := range waited {
		if len(w) > 0 {
			b.ReportMetric(100*median(w), fmt.Sprintf("%dg-waited-%%", g+1))
		}
	}
	b.ReportMetric(float64(min(2, goruntime.GOMAXPROCS(0), goruntime.NumCPU())), "ideal-scaling")
	b.ReportMetric(float64(len(per[0][0])), "rounds")
}

// drainFinalizers waits until the finalizers and cleanups queued by the
// last GC have run (up to 50 ms): those of a side's earlier calls (the
// hand-written wasmtime and wasmer instances' bindings set one on most
// objects they allocate per call) would otherwise run during the next
// round, on the idle core of a 1-goroutine round, slowing it down through
// the engine's and the C allocator's shared state, and not during a
// 2-goroutine round, which leaves them no P: the side's scaling would be
// overstated. It queues a finalizer of its own after the GC's and waits for
// it, GC after GC, three times (a finalizer's object is freed by the GC
// after it ran, which can queue more).
func drainFinalizers() {
	deadline := time.Now().Add(50 * time.Millisecond)
	for range 3 {
		var done atomic.Bool
		x := new([64]byte)
		goruntime.SetFinalizer(x, func(*[64]byte) { done.Store(true) })
		x = nil
		goruntime.GC()
		for !done.Load() && time.Now().Before(deadline) {
			time.Sleep(20 * time.Microsecond)
		}
	}
}

// quietWait is the most a round's goroutines may have waited for a CPU, as
// a share of their thread time, for the round to count as quiet.
const quietWait = 0.02

// scalingMinQuiet is the fewest quiet rounds a quiet scaling is reported
// from.
const scalingMinQuiet = 3

// isQuiet reports whether the round's goroutines had the CPUs to themselves
// (as far as Linux's run-queue delay tells).
func isQuiet(r roundResult) bool { return r.waited >= 0 && r.waited < quietWait }

// median returns the median of v (the mean of the middle two for an even
// count), or 0 for none.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// idleN is the number of idle instances IdleMemory measures.
const idleN = 100

// idleChildEnv names the environment variable that makes
// TestIdleMemoryChild measure, in a child process: "ENGINE/VARIANT".
const idleChildEnv = "ASPECT_BENCH_IDLE_MEMORY"

// BenchmarkIdleMemory: memory per idle instance of as/greet.wasm, kept idle
// by a pool or created by hand, as the growth of the process's resident
// set (B/instance) and of the Go heap (heapB/instance) over idleN
// instances. Each measurement runs in a fresh child process (this test
// binary running TestIdleMemoryChild): in a process that has already freed
// memory, new instances reuse it and the resident set does not grow. ns/op
// is the time one measurement takes, child process included; it is not a
// figure of the library.
func BenchmarkIdleMemory(b *testing.B) {
	forEachEngine(b, func(b *testing.B, eng string) {
		for _, variant := range []string{"pool", "baseline"} {
			b.Run(variant, func(b *testing.B) {
				if _, ok := hands[eng]; !ok && variant == "baseline" {
					b.Skipf("no hand-written baseline for engine %q in this build", eng)
				}
				var rss, heap float64
				rssOK := true
				n := 0
				for b.Loop() {
					m, err := idleMemoryChild(eng, variant)
					if err != nil {
						b.Fatal(err)
					}
					rss += m.rss
					heap += m.heap
					rssOK = rssOK && m.rssOK
					n++
				}
				if rssOK {
					b.ReportMetric(rss/float64(n), "B/instance")
				}
				b.ReportMetric(heap/float64(n), "heapB/instance")
			})
		}
	})
}

// idleGrowth is the memory growth per idle instance.
type idleGrowth struct {
	rss, heap float64
	rssOK     bool
}

// idleMemoryChild runs TestIdleMemoryChild in a child process and returns
// what it measured.
func idleMemoryChild(eng, variant string) (idleGrowth, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestIdleMemoryChild$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), idleChildEnv+"="+eng+"/"+variant)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return idleGrowth{}, fmt.Errorf("idle memory child: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "IDLE-MEMORY "); ok {
			var g idleGrowth
			if _, err := fmt.Sscanf(rest, "%g %g %t", &g.rss, &g.heap, &g.rssOK); err != nil {
				return g, fmt.Errorf("idle memory child: %q: %v", line, err)
			}
			return g, nil
		}
	}
	return idleGrowth{}, fmt.Errorf("idle memory child printed no result:\n%s", out)
}

// TestIdleMemoryChild is BenchmarkIdleMemory's measurement; it runs only in
// the child process the benchmark starts (and skips otherwise).
func TestIdleMemoryChild(t *testing.T) {
	spec := os.Getenv(idleChildEnv)
	if spec == "" {
		t.Skip("run by BenchmarkIdleMemory in a child process")
	}
	eng, variant, _ := strings.Cut(spec, "/")
	var before, after memory
	switch variant {
	case "pool":
		p := pool.New(idleN + 1)
		defer p.Close(bg)
		reg := helloRegistry(t)
		require.NoError(t, pooledGreet(p, eng, reg)) // compile, one idle instance
		before = measureMemory()
		leases := make([]*pool.Lease, 0, idleN+1)
		for range idleN + 1 {
			l, err := p.Runtime(bg, eng, greetWasm, reg)
			require.NoError(t, err)
			leases = append(leases, l)
		}
		for _, l := range leases {
			p.PutBack(l)
		}
		require.Equal(t, idleN+1, p.Stats().Idle)
		after = measureMemory()
	case "baseline":
		hm := openHand(t, eng, greetWasm)
		first := handInstantiate(t, hm)
		_, err := handGreet(first)
		require.NoError(t, err)
		before = measureMemory()
		for range idleN {
			handInstantiate(t, hm)
		}
		after = measureMemory()
	default:
		t.Fatalf("unknown variant %q", variant)
	}
	per := func(a, b uint64) float64 { return (float64(a) - float64(b)) / idleN }
	fmt.Printf("IDLE-MEMORY %g %g %t\n", per(after.rss, before.rss), per(after.heap, before.heap), before.rssOK && after.rssOK)
}

// memory is a snapshot of the process's memory use.
type memory struct {
	rss, heap uint64
	rssOK     bool
}

// measureMemory collects garbage, returns freed memory to the OS and reads
// the resident set size (Linux: /proc/self/statm) and the live Go heap.
func measureMemory() memory {
	debug.FreeOSMemory()
	var ms goruntime.MemStats
	goruntime.ReadMemStats(&ms)
	m := memory{heap: ms.HeapAlloc}
	if data, err := os.ReadFile("/proc/self/statm"); err == nil {
		if f := strings.Fields(string(data)); len(f) > 1 {
			if pages, err := strconv.ParseUint(f[1], 10, 64); err == nil {
				m.rss, m.rssOK = pages*uint64(os.Getpagesize()), true
			}
		}
	}
	return m
}
