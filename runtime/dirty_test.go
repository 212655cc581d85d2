package runtime

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/metering"
	"github.com/aspect-rt/aspect-runtime/wasi"
)

// The dirty-page tests run a module written here byte by byte (the
// pure-Go build has no WAT assembler) whose exports write memory in every
// way the code can — stores of every width, at any offset immediate,
// memory.fill, memory.copy, memory.init — and let the host write it: ABI
// arguments (allocate), WASI random_get and fd_read. Its memory is 80
// pages (5 MiB): more than metering.DirtyBits 4 KiB pages, so that bits
// stand for several pages.

const (
	dirtyMemPages = 80      // 64 KiB pages
	dirtyHeap     = 0x20000 // allocate's first address
	dirtyData     = 0       // the active data segment (see dirtyModule)
	dirtyMemSize  = dirtyMemPages << 16
	dirtyLargeOff = 0x10000 + 12 // store32off's offset immediate
)

// dirtyModule returns the test module.
func dirtyModule() []byte {
	u32 := func(b []byte, v uint32) []byte {
		for v >= 0x80 {
			b = append(b, byte(v)|0x80)
			v >>= 7
		}
		return append(b, byte(v))
	}
	name := func(b []byte, s string) []byte { return append(u32(b, uint32(len(s))), s...) }
	section := func(out []byte, id byte, entries ...[]byte) []byte {
		c := u32(nil, uint32(len(entries)))
		for _, e := range entries {
			c = append(c, e...)
		}
		return append(u32(append(out, id), uint32(len(c))), c...)
	}
	const i32, i64, f64 = 0x7f, 0x7e, 0x7c
	types := [][]byte{
		{0x60, 2, i32, i32, 0},                // 0 (i32, i32)
		{0x60, 2, i32, i64, 0},                // 1 (i32, i64)
		{0x60, 2, i32, f64, 0},                // 2 (i32, f64)
		{0x60, 3, i32, i32, i32, 0},           // 3 (i32, i32, i32)
		{0x60, 1, i32, 1, i32},                // 4 (i32) -> i32
		{0x60, 1, i32, 0},                     // 5 (i32)
		{0x60, 2, i32, i32, 1, i32},           // 6 (i32, i32) -> i32
		{0x60, 4, i32, i32, i32, i32, 1, i32}, // 7 (i32 x4) -> i32
	}
	imports := [][]byte{
		append(name(name(nil, "wasi_snapshot_preview1"), "random_get"), 0, 6),
		append(name(name(nil, "wasi_snapshot_preview1"), "fd_read"), 0, 7),
	}
	type fn struct {
		name string
		typ  byte
		body []byte
	}
	funcs := []fn{
		{"store8", 0, []byte{0x20, 0, 0x20, 1, 0x3a, 0, 0}},
		{"store16", 0, []byte{0x20, 0, 0x20, 1, 0x3b, 1, 0}},
		{"store32", 0, []byte{0x20, 0, 0x20, 1, 0x36, 2, 0}},
		{"store64", 1, []byte{0x20, 0, 0x20, 1, 0x37, 3, 0}},
		{"store64_32", 1, []byte{0x20, 0, 0x20, 1, 0x3e, 2, 0}},
		{"storef64", 2, []byte{0x20, 0, 0x20, 1, 0x39, 3, 0}},
		{"store32off", 0, u32([]byte{0x20, 0, 0x20, 1, 0x36, 2}, dirtyLargeOff)},
		{"store32huge", 0, u32([]byte{0x20, 0, 0x20, 1, 0x36, 2}, 0xfffffff0)}, // traps
		{"fill", 3, []byte{0x20, 0, 0x20, 1, 0x20, 2, 0xfc, 11, 0}},
		{"copy", 3, []byte{0x20, 0, 0x20, 1, 0x20, 2, 0xfc, 10, 0, 0}},
		{"init", 3, []byte{0x20, 0, 0x20, 1, 0x20, 2, 0xfc, 8, 1, 0}}, // the passive segment
		// allocate(n): a bump allocator (global 0, restored by snapshots).
		{"allocate", 4, []byte{0x23, 0, 0x23, 0, 0x20, 0, 0x6a, 0x24, 0}},
		{"take", 5, nil}, // an ABI call whose argument only the host writes
		{"random", 6, []byte{0x20, 0, 0x20, 1, 0x10, 0}},
		{"read", 6, []byte{0x41, 0, 0x20, 0, 0x41, 1, 0x20, 1, 0x10, 1}}, // fd_read(0, iov, 1, res)
	}
	var fsec, esec, csec [][]byte
	for i, f := range funcs {
		fsec = append(fsec, []byte{f.typ})
		esec = append(esec, u32(append(name(nil, f.name), 0), uint32(len(imports)+i)))
		body := append(append([]byte{0}, f.body...), 0x0b)
		csec = append(csec, append(u32(nil, uint32(len(body))), body...))
	}
	esec = append(esec, append(name(nil, "memory"), 2, 0))
	out := []byte{0, 'a', 's', 'm', 1, 0, 0, 0}
	out = section(out, 1, types...)
	out = section(out, 2, imports...)
	out = section(out, 3, fsec...)
	out = section(out, 5, u32([]byte{0}, dirtyMemPages))
	glob := []byte{i32, 1, 0x41}
	glob = appendSLEB(glob, dirtyHeap)
	glob = append(glob, 0x0b)
	out = section(out, 6, glob)
	out = section(out, 7, esec...)
	out = append(out, 12, 1, 2) // data count: 2 segments
	out = section(out, 10, csec...)
	active := append(appendSLEB([]byte{0, 0x41}, dirtyData), 0x0b)
	// The data covers the first bytes of memory, which the code's reset
	// function (metering.DirtyResult.Reset) uses to pass its values: a
	// Reset that does not write them back as they were differs from the
	// snapshot.
	active = name(active, strings.Repeat("the post-start memory is not all zeros; ", 64))
	passive := name([]byte{1}, strings.Repeat("memory.init writes these bytes; ", 300))
	out = section(out, 11, active, passive)
	return out
}

func appendSLEB(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// endless is an io.Reader of the bytes 1, 2, 3, ... (never 0, so that
// what fd_read writes differs from the zeros of fresh memory).
type endless struct{ n byte }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		e.n++
		if e.n == 0 {
			e.n = 1
		}
		p[i] = e.n
	}
	return len(p), nil
}

// newDirtyRuntime instantiates the test module on eng, reset once so that
// it has its snapshot, and checks that it tracks dirty pages (or not).
func newDirtyRuntime(t testing.TB, eng string, tracked bool, opts ...Option) *Runtime {
	t.Helper()
	ctx := context.Background()
	var rt *Runtime
	var err error
	opts = append([]Option{WithWASI(wasi.Config{Stdin: &endless{}, Random: &endless{n: 100}})}, opts...)
	rt, err = NewWithEngine(ctx, eng, dirtyModule(), nil, withTracking(tracked, opts)...)
	require.NoError(t, err)
	t.Cleanup(func() { rt.Close(ctx) })
	require.NoError(t, rt.Reset(ctx))
	require.NotNil(t, rt.snap, "the module is restorable")
	if tracked {
		require.NotNil(t, rt.dirty, "the module tracks dirty pages")
		require.NotNil(t, rt.dirty.words[0], "the engine exposes the bitmap")
	} else {
		require.Nil(t, rt.dirty)
	}
	require.Len(t, rt.snap.mem, dirtyMemSize)
	return rt
}

// requireRestored resets rt and checks that its memory is its snapshot,
// byte for byte, and that Reset restored rather than re-instantiated.
func requireRestored(t *testing.T, rt *Runtime, what string) {
	t.Helper()
	inst := rt.inst
	require.NoError(t, rt.Reset(context.Background()), what)
	require.Same(t, inst, rt.inst, "%s: Reset restored the snapshot", what)
	cur, ok := rt.mem.Read(0, rt.mem.Size())
	require.True(t, ok)
	if !bytes.Equal(cur, rt.snap.mem) {
		for i := range cur {
			if cur[i] != rt.snap.mem[i] {
				t.Fatalf("%s: after Reset, memory differs from the snapshot at %#x (page %d, offset %d): %#x, want %#x",
					what, i, i>>12, i&4095, cur[i], rt.snap.mem[i])
			}
		}
	}
	// The bitmaps are clear, ready for the next call.
	if d := rt.dirty; d != nil {
		require.Zero(t, d.host)
		require.Zero(t, d.sum.Get())
		require.Equal(t, uint64(metering.DirtyNoPage), d.last.Get())
		for _, w := range d.words {
			require.Zero(t, w.Get())
		}
	}
}

func wasmCall(t *testing.T, rt *Runtime, fn string, args ...uint64) []uint64 {
	t.Helper()
	out, err := rt.CallWasm(context.Background(), fn, args...)
	require.NoError(t, err, fn)
	return out
}

// TestResetRestoresDirtyPages writes memory in each way there is, on
// chosen pages, and checks that Reset brings back the snapshot exactly,
// on every engine.
func TestResetRestoresDirtyPages(t *testing.T) {
	ctx := context.Background()
	page := func(q int) uint64 { return uint64(q << 12) }
	cases := []struct {
		name string
		do   func(t *testing.T, rt *Runtime)
	}{
		{"store8 on the first page", func(t *testing.T, rt *Runtime) { wasmCall(t, rt, "store8", 1, 0xff) }},
		{"a store to the reset function's scratch bytes", func(t *testing.T, rt *Runtime) {
			wasmCall(t, rt, "store64", 16, math.MaxUint64)
		}},
		{"store16 on the last page", func(t *testing.T, rt *Runtime) { wasmCall(t, rt, "store16", dirtyMemSize-2, 0xffff) }},
		{"stores on pages a bit apart", func(t *testing.T, rt *Runtime) {
			// Pages 3 and 3+DirtyBits share a bit; 5 is marked, then 5
			// again (the last page: not marked twice).
			wasmCall(t, rt, "store32", page(3)+8, 0xdeadbeef)
			wasmCall(t, rt, "store32", page(3+metering.DirtyBits)+12, 0xdeadbeef)
			wasmCall(t, rt, "store32", page(5), 1)
			wasmCall(t, rt, "store32", page(5)+100, 2)
		}},
		{"store64 straddling two pages", func(t *testing.T, rt *Runtime) {
			// The page is marked first (so the straddling store finds it
			// the last page marked), then an 8-byte store at its end
			// writes 4 bytes of the next page.
			wasmCall(t, rt, "store8", page(9), 1)
			wasmCall(t, rt, "store64", page(10)-4, math.MaxUint64)
		}},
		{"store64 straddling the last bit", func(t *testing.T, rt *Runtime) {
			wasmCall(t, rt, "store64", page(metering.DirtyBits)-1, math.MaxUint64)
		}},
		{"i64.store32 and f64.store", func(t *testing.T, rt *Runtime) {
			wasmCall(t, rt, "store64_32", page(20)-2, math.MaxUint64)
			wasmCall(t, rt, "storef64", page(21)+7, math.Float64bits(-1.5))
		}},
		{"a large offset immediate", func(t *testing.T, rt *Runtime) {
			wasmCall(t, rt, "store32off", page(30)-6, 0x01020304) // at page(30)+0x10000+6: page 46
		}},
		{"a trapping store", func(t *testing.T, rt *Runtime) {
			_, err := rt.CallWasm(ctx, "store32huge", 0x100, 1)
			require.ErrorIs(t, err, ErrTrap)
			wasmCall(t, rt, "store8", page(7), 3)
		}},
		{"memory.fill within a page", func(t *testing.T, rt *Runtime) { wasmCall(t, rt, "fill", page(40)+10, 0xaa, 100) }},
		{"memory.fill across pages", func(t *testing.T, rt *Runtime) { wasmCall(t, rt, "fill", page(40)+10, 0xaa, 3*4096) }},
		{"memory.fill of the whole memory", func(t *testing.T, rt *Runtime) { wasmCall(t, rt, "fill", 0, 0x55, dirtyMemSize) }},
		{"memory.fill of nothing", func(t *testing.T, rt *Runtime) { wasmCall(t, rt, "fill", page(50), 0x55, 0) }},
		{"memory.copy", func(t *testing.T, rt *Runtime) { wasmCall(t, rt, "copy", page(60)+4000, dirtyData, 500) }},
		{"memory.copy overlapping", func(t *testing.T, rt *Runtime) {
			wasmCall(t, rt, "fill", page(70), 7, 9000)
			wasmCall(t, rt, "copy", page(70)+1, page(70), 9000)
		}},
		{"memory.init", func(t *testing.T, rt *Runtime) { wasmCall(t, rt, "init", page(80)+4090, 3, 5000) }},
		{"a host-written argument", func(t *testing.T, rt *Runtime) {
			_, err := rt.Call(ctx, "take", strings.Repeat("the host wrote this ", 500))
			require.NoError(t, err)
		}},
		{"WASI random_get", func(t *testing.T, rt *Runtime) {
			require.Equal(t, []uint64{0}, wasmCall(t, rt, "random", page(90)+4000, 6000))
		}},
		{"WASI fd_read", func(t *testing.T, rt *Runtime) {
			// iovec {buf, len} at page 100 (written by the guest), the
			// data at page 120 and the count at page 130, which only the
			// host writes.
			wasmCall(t, rt, "store32", page(100), page(120)+100)
			wasmCall(t, rt, "store32", page(100)+4, 5000)
			require.Equal(t, []uint64{0}, wasmCall(t, rt, "read", page(100), page(130)+2))
			b, ok := rt.mem.Read(uint32(page(130))+2, 4)
			require.True(t, ok)
			require.Equal(t, uint32(5000), binary.LittleEndian.Uint32(b))
		}},
	}
	for _, eng := range Engines() {
		t.Run(eng, func(t *testing.T) {
			rt := newDirtyRuntime(t, eng, true)
			for _, c := range cases {
				before, ok := rt.mem.Read(0, rt.mem.Size())
				require.True(t, ok)
				before = bytes.Clone(before)
				c.do(t, rt)
				after, _ := rt.mem.Read(0, rt.mem.Size())
				if !strings.HasSuffix(c.name, "of nothing") {
					require.NotEqual(t, before, after, "%s: memory changed", c.name)
				}
				requireRestored(t, rt, c.name)
			}
		})
	}
}

// TestDirtyPagesHidden checks that the bitmap's globals are not among the
// module's exports nor restored as its globals.
func TestDirtyPagesHidden(t *testing.T) {
	for _, eng := range Engines() {
		rt := newDirtyRuntime(t, eng, true)
		for _, e := range rt.Module().Exports() {
			require.False(t, strings.HasPrefix(e.Name, metering.DirtyExportPrefix), e.Name)
		}
		for _, g := range rt.module.prep.snapshot.globals {
			require.False(t, strings.HasPrefix(g, metering.DirtyExportPrefix), g)
		}
		require.Contains(t, rt.module.prep.snapshot.globals, metering.GlobalExportPrefix+"0", "allocate's heap pointer")
	}
}

// TestResetDirtyPagesProperty makes random sequences of writes of every
// kind (some trapping) at random places and checks after each sequence
// that Reset gives back the snapshot byte for byte, the dirty pages
// tracked or not, on every engine.
func TestResetDirtyPagesProperty(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(14, 3))
	// addr is an address anywhere, near page edges often, out of bounds
	// sometimes.
	addr := func() uint64 {
		switch rng.IntN(4) {
		case 0:
			return uint64(rng.IntN(dirtyMemPages*16))<<12 - uint64(rng.IntN(9))
		case 1:
			return uint64(rng.IntN(dirtyMemSize + 64))
		default:
			return uint64(rng.IntN(dirtyMemPages*16)<<12 + rng.IntN(4096))
		}
	}
	length := func() uint64 {
		if rng.IntN(8) == 0 {
			return uint64(rng.IntN(dirtyMemSize / 2))
		}
		return uint64(rng.IntN(9000))
	}
	for _, eng := range Engines() {
		for _, tracked := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/tracked=%v", eng, tracked), func(t *testing.T) {
				rt := newDirtyRuntime(t, eng, tracked)
				rounds := 40
				if testing.Short() {
					rounds = 10
				}
				for round := range rounds {
					n := 1 + rng.IntN(30)
					var ops []string
					for range n {
						var err error
						op := ""
						switch k := rng.IntN(12); k {
						case 0, 1, 2, 3, 4, 5:
							op = []string{"store8", "store16", "store32", "store64", "store64_32", "storef64"}[k]
							_, err = rt.CallWasm(ctx, op, addr(), rng.Uint64()&math.MaxUint32)
						case 6:
							op = "store32off"
							_, err = rt.CallWasm(ctx, op, addr(), rng.Uint64()&math.MaxUint32)
						case 7:
							op = "fill"
							_, err = rt.CallWasm(ctx, op, addr(), uint64(rng.IntN(256)), length())
						case 8:
							op = "copy"
							_, err = rt.CallWasm(ctx, op, addr(), addr(), length())
						case 9:
							op = "init"
							_, err = rt.CallWasm(ctx, op, addr(), uint64(rng.IntN(9000)), uint64(rng.IntN(9000)))
						case 10:
							op = "take"
							_, err = rt.Call(ctx, op, strings.Repeat("h", rng.IntN(20000)))
						case 11:
							op = "random"
							_, err = rt.CallWasm(ctx, op, addr(), length())
						}
						ops = append(ops, op)
						if err != nil {
							require.ErrorIs(t, err, ErrTrap, op) // out of bounds
						}
					}
					requireRestored(t, rt, fmt.Sprintf("round %d: %v", round, ops))
				}
			})
		}
	}
}

// TestDirtyTrackingKeepsGas checks that the tracking code costs no gas: a
// metered call uses the same gas with and without it.
func TestDirtyTrackingKeepsGas(t *testing.T) {
	ctx := context.Background()
	for _, eng := range Engines() {
		used := map[bool]uint64{}
		for _, tracked := range []bool{true, false} {
			rt := newDirtyRuntime(t, eng, tracked, WithMetering(metering.Config{}))
			m := NewMeter(1 << 40)
			mctx := WithMeter(ctx, m)
			for _, c := range []struct {
				fn   string
				args []uint64
			}{
				{"store32", []uint64{0x5000, 1}},
				{"store64", []uint64{0x9ffc, 2}},
				{"fill", []uint64{0x3000, 1, 20000}},
				{"copy", []uint64{0x8000, 0x100, 300}},
				{"init", []uint64{0xa000, 0, 300}},
			} {
				_, err := rt.CallWasm(mctx, c.fn, c.args...)
				require.NoError(t, err)
			}
			_, err := rt.Call(mctx, "take", "gas")
			require.NoError(t, err)
			used[tracked] = m.Used()
			requireRestored(t, rt, "metered")
		}
		require.NotZero(t, used[true])
		require.Equal(t, used[false], used[true], "%s: gas with and without dirty-page tracking", eng)
	}
}

// TestDirtyResetFunction checks the one-call reset of a module that tracks
// dirty pages (metering.DirtyResult.Reset: the module's mutable globals set
// and the code's bitmap taken by one guest function): Reset uses it, and
// brings back the post-start globals and memory exactly, metered or not,
// on every engine.
func TestDirtyResetFunction(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name, fixture string
		opts          []Option
	}{
		{"as", "as/echo.wasm", nil},
		{"as-metered", "as/echo.wasm", []Option{WithMetering(metering.Config{})}},
		{"go", "go/echo.wasm", []Option{WithWASI(wasi.Config{})}},
	} {
		for _, eng := range Engines() {
			t.Run(eng+"/"+c.name, func(t *testing.T) {
				rt, err := NewWithEngine(ctx, eng, fixtures.MustBytes(c.fixture), nil, withTracking(true, c.opts)...)
				require.NoError(t, err)
				defer rt.Close(ctx)
				require.False(t, reset(t, rt), "the first Reset of the module re-instantiates")
				require.NotNil(t, rt.dirty)
				require.NotNil(t, rt.dirty.reset, "the module has a reset function")
				require.Len(t, rt.module.prep.snapshot.globals, rt.module.prep.snapshot.dirty.ResetGlobals)
				// The post-start state as the snapshot recorded it, read
				// before the reset function ever ran (the snapshot calls it
				// to clear the bitmap).
				postMem, postGlobals := bytes.Clone(rt.snap.mem), slices.Clone(rt.snap.values)
				mem, globals := state(t, rt)
				require.True(t, bytes.Equal(postMem, mem), "memory is the post-start memory")
				require.Equal(t, postGlobals, globals, "globals are the post-start globals")
				// Not callable by name: it would clear the bitmap.
				_, err = rt.CallWasm(ctx, rt.module.prep.snapshot.dirty.Reset, postGlobals...)
				require.ErrorIs(t, err, ErrMissingExport)
				_, err = rt.Call(ctx, rt.module.prep.snapshot.dirty.Reset)
				require.ErrorIs(t, err, ErrMissingExport)
				for round := range 3 {
					for i := int64(1); i <= 3; i++ {
						require.Equal(t, i, counter(t, rt))
					}
					out, err := CallAs[string](ctx, rt, "greet", strings.Repeat("reset ", 1000))
					require.NoError(t, err)
					require.True(t, strings.HasPrefix(out, "hello, reset"))
					mem, globals = state(t, rt)
					require.NotEqual(t, postMem, mem, "the calls changed memory")
					require.NotEqual(t, postGlobals, globals, "the calls changed globals")

					require.True(t, reset(t, rt), "round %d: Reset restored the snapshot", round)
					mem, globals = state(t, rt)
					require.True(t, bytes.Equal(postMem, mem), "round %d: memory is the post-start memory", round)
					require.Equal(t, postGlobals, globals, "round %d: globals are the post-start globals", round)
					for _, w := range rt.dirty.words {
						require.Zero(t, w.Get(), "round %d: the bitmap is clear", round)
					}
					require.Equal(t, uint64(metering.DirtyNoPage), rt.dirty.last.Get())
				}
			})
		}
	}
}
