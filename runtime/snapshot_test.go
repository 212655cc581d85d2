package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/conformance/fixtures"
	"github.com/aspect-rt/aspect-runtime/metering"
	"github.com/aspect-rt/aspect-runtime/runtime/engine"
	"github.com/aspect-rt/aspect-runtime/wasi"
)

// state returns a copy of the instance's memory and the values of its
// mutable globals (read afresh through the engine).
func state(t *testing.T, r *Runtime) ([]byte, []uint64) {
	t.Helper()
	var mem []byte
	if r.mem != nil {
		b, ok := r.mem.Read(0, r.mem.Size())
		require.True(t, ok)
		mem = bytes.Clone(b)
	}
	var globals []uint64
	for _, name := range r.module.prep.snapshot.globals {
		g := r.inst.Global(name)
		require.NotNil(t, g, name)
		globals = append(globals, g.Get())
	}
	return mem, globals
}

// reset resets r and reports whether it restored the snapshot (the engine
// instance is the same) rather than re-instantiating.
func reset(t *testing.T, r *Runtime) (restored bool) {
	t.Helper()
	inst := r.inst
	require.NoError(t, r.Reset(context.Background()))
	require.NoError(t, r.Fault())
	return r.inst == inst
}

func counter(t *testing.T, r *Runtime) int64 {
	t.Helper()
	n, err := CallAs[int64](context.Background(), r, "counter")
	require.NoError(t, err)
	return n
}

func TestResetRestoresSnapshot(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		fixture string
		opts    []Option
	}{
		{"as/echo.wasm", nil},
		{"as/echo.wasm", []Option{WithMetering(metering.Config{})}},
		{"go/echo.wasm", []Option{WithWASI(wasi.Config{})}},
	} {
		for _, eng := range Engines() {
			name := eng + "/" + c.fixture
			if c.opts != nil && !strings.HasPrefix(c.fixture, "go/") {
				name += "/metered"
			}
			t.Run(name, func(t *testing.T) {
				rt, err := NewWithEngine(ctx, eng, fixtures.MustBytes(c.fixture), nil, c.opts...)
				require.NoError(t, err)
				defer rt.Close(ctx)
				// Snapshots are taken once the module was reset.
				require.Nil(t, rt.snap, "a snapshot before any Reset")
				require.False(t, reset(t, rt), "the first Reset of the module re-instantiates")
				require.NotNil(t, rt.snap, "the fixture is restorable")
				postMem, postGlobals := state(t, rt)

				for i := int64(1); i <= 3; i++ {
					require.Equal(t, i, counter(t, rt))
				}
				out, err := CallAs[string](ctx, rt, "greet", strings.Repeat("snapshot ", 100))
				require.NoError(t, err)
				require.True(t, strings.HasPrefix(out, "hello, snapshot"))
				mem, globals := state(t, rt)
				require.NotEqual(t, postMem, mem, "the calls changed memory")
				require.NotEqual(t, postGlobals, globals, "the calls changed globals")

				require.True(t, reset(t, rt), "Reset restored the snapshot")
				mem, globals = state(t, rt)
				require.True(t, bytes.Equal(postMem, mem), "memory is the post-start memory")
				require.Equal(t, postGlobals, globals)
				require.Equal(t, int64(1), counter(t, rt))

				// After a guest failure too.
				_, err = rt.Call(ctx, "fail", "boom")
				require.ErrorIs(t, err, ErrAbort)
				require.Error(t, rt.Fault())
				require.True(t, reset(t, rt), "Reset after an abort restored the snapshot")
				require.Equal(t, int64(1), counter(t, rt))
			})
		}
	}
}

func TestResetReinstantiatesWhenMemoryGrew(t *testing.T) {
	ctx := context.Background()
	for _, eng := range Engines() {
		t.Run(eng, func(t *testing.T) {
			rt, err := NewWithEngine(ctx, eng, fixtures.MustBytes("as/echo.wasm"), nil)
			require.NoError(t, err)
			defer rt.Close(ctx)
			size := rt.mem.Size()
			require.Equal(t, int64(1), counter(t, rt))
			_, err = rt.Call(ctx, "echo", strings.Repeat("x", 200_000))
			require.NoError(t, err)
			require.Greater(t, rt.mem.Size(), size, "the call grew memory")
			require.False(t, reset(t, rt), "a grown memory cannot be restored")
			require.Equal(t, size, rt.mem.Size())
			require.Equal(t, int64(1), counter(t, rt))
			// The new instance has its own snapshot.
			require.NotNil(t, rt.snap)
			require.Equal(t, int64(2), counter(t, rt))
			require.True(t, reset(t, rt))
			require.Equal(t, int64(1), counter(t, rt))
		})
	}
}

// Modules whose state includes a table or a dropped segment are
// re-instantiated: restoring memory and globals would leave the table
// changed, the segment dropped.
func TestResetReinstantiatesUnrestorable(t *testing.T) {
	ctx := context.Background()
	int32Result := func(t *testing.T, rt *Runtime, fn string) int32 {
		t.Helper()
		v, err := CallAs[int32](ctx, rt, fn)
		require.NoError(t, err)
		return v
	}
	for _, eng := range Engines() {
		t.Run(eng+"/table.set", func(t *testing.T) {
			rt, err := NewWithEngine(ctx, eng, fixtures.MustBytes("wat/table_set.wasm"), nil)
			require.NoError(t, err)
			defer rt.Close(ctx)
			require.Nil(t, rt.module.prep.snapshot)
			require.Nil(t, rt.snap)
			require.Equal(t, int32(1), int32Result(t, rt, "which"))
			_, err = rt.Call(ctx, "swap")
			require.NoError(t, err)
			require.Equal(t, int32(2), int32Result(t, rt, "which"))
			require.Equal(t, int32(2), int32Result(t, rt, "calls"))
			require.False(t, reset(t, rt), "Reset re-instantiated")
			require.Equal(t, int32(1), int32Result(t, rt, "which"), "the table is restored")
			require.Equal(t, int32(1), int32Result(t, rt, "calls"))
		})
		t.Run(eng+"/data.drop", func(t *testing.T) {
			rt, err := NewWithEngine(ctx, eng, fixtures.MustBytes("wat/data_drop.wasm"), nil)
			require.NoError(t, err)
			defer rt.Close(ctx)
			require.Nil(t, rt.snap)
			require.Equal(t, int32('h'), int32Result(t, rt, "load"))
			_, err = rt.Call(ctx, "load")
			require.ErrorIs(t, err, ErrTrap, "the segment is dropped")
			require.False(t, reset(t, rt), "Reset re-instantiated")
			require.Equal(t, int32('h'), int32Result(t, rt, "load"), "the segment is back")
		})
	}
}

// After a failure the runtime cannot classify (an engine error), Reset does
// not trust the instance: it re-instantiates.
func TestResetReinstantiatesAfterEngineFailure(t *testing.T) {
	ctx := context.Background()
	rt, err := New(ctx, fixtures.MustBytes("as/echo.wasm"), nil)
	require.NoError(t, err)
	defer rt.Close(ctx)
	require.Equal(t, int64(1), counter(t, rt))
	rt.fault = errors.New("aspect: engine panicked: test")
	require.False(t, reset(t, rt))
	require.Equal(t, int64(1), counter(t, rt))
	rt.fault = &TrapError{Func: "x", Code: TrapUnreachable}
	require.True(t, reset(t, rt))
}

// A module the metering parser rejects is compiled as given, and the
// engine's error is reported as before.
func TestPrepareSnapshotPassesThrough(t *testing.T) {
	for _, code := range [][]byte{nil, []byte("\x00asm\x01\x00\x00\x00\xff"), fixtures.MustBytes("wat/table_set.wasm")} {
		out, plan, err := prepareSnapshot(code, false)
		require.NoError(t, err)
		assert.Nil(t, plan)
		assert.Equal(t, code, out)
	}
	_, err := New(context.Background(), []byte("\x00asm\x01\x00\x00\x00\xff"), nil)
	require.ErrorIs(t, err, ErrCompile)
}

// memBuf is an engine.Memory over a byte slice.
type memBuf []byte

func (m memBuf) Size() uint32 { return uint32(len(m)) }
func (m memBuf) Read(off, n uint32) ([]byte, bool) {
	if uint64(off)+uint64(n) > uint64(len(m)) {
		return nil, false
	}
	return m[off : off+n], true
}
func (m memBuf) Write(off uint32, data []byte) bool {
	if uint64(off)+uint64(len(data)) > uint64(len(m)) {
		return false
	}
	copy(m[off:], data)
	return true
}

var _ engine.Memory = memBuf(nil)

func TestRestoreMemory(t *testing.T) {
	snap := make([]byte, 10*restorePage+123)
	for i := range snap {
		snap[i] = byte(i * 7)
	}
	for _, dirty := range [][]int{nil, {0}, {5}, {3, 4, 5}, {0, 9, 10}, {10}} {
		mem := memBuf(bytes.Clone(snap))
		for _, p := range dirty {
			mem[p*restorePage+min(17, len(mem)-p*restorePage-1)]++
		}
		require.True(t, restoreMemory(mem, snap))
		require.True(t, bytes.Equal(snap, mem), "%v", dirty)
	}
	require.False(t, restoreMemory(memBuf(make([]byte, 10)), snap))
}

// BenchmarkRestoreMemory compares the two ways of restoring memory: writing
// it all back (copy) or comparing it page by page and writing the pages that
// differ (compare), for memories of AssemblyScript (64 KiB) to Go guest
// (4 MiB) size, with a few dirty pages (a typical call) or all of them.
func BenchmarkRestoreMemory(b *testing.B) {
	for _, size := range []int{64 << 10, 1 << 20, 4 << 20} {
		snap := make([]byte, size)
		for i := range snap {
			snap[i] = byte(i)
		}
		for _, dirty := range []string{"few", "all"} {
			mem := memBuf(bytes.Clone(snap))
			dirtyIt := func() {
				if dirty == "all" { // the worst case: every page differs in its last byte
					for p := restorePage - 1; p < size; p += restorePage {
						mem[p]++
					}
					return
				}
				for _, p := range []int{0, 1, size/restorePage - 1} { // stack, data, heap top
					mem[p*restorePage]++
				}
			}
			b.Run(fmt.Sprintf("%dKiB/%s/copy", size>>10, dirty), func(b *testing.B) {
				b.SetBytes(int64(size))
				for b.Loop() {
					dirtyIt()
					mem.Write(0, snap)
				}
			})
			b.Run(fmt.Sprintf("%dKiB/%s/compare", size>>10, dirty), func(b *testing.B) {
				b.SetBytes(int64(size))
				for b.Loop() {
					dirtyIt()
					restoreMemory(mem, snap)
				}
			})
		}
	}
}

// TestSnapshotsStartWithTheFirstReset checks that no instance pays for a
// snapshot before its module is reset, and that every instance made after
// the module's first Reset restores cheaply.
func TestSnapshotsStartWithTheFirstReset(t *testing.T) {
	ctx := context.Background()
	for _, eng := range Engines() {
		t.Run(eng, func(t *testing.T) {
			m, err := CompileWithEngine(ctx, eng, fixtures.MustBytes("as/echo.wasm"))
			require.NoError(t, err)
			defer m.Close(ctx)
			a, err := m.Instantiate(ctx, nil)
			require.NoError(t, err)
			defer a.Close(ctx)
			b, err := m.Instantiate(ctx, nil)
			require.NoError(t, err)
			defer b.Close(ctx)
			require.Nil(t, a.snap)
			require.Nil(t, b.snap)

			require.Equal(t, int64(1), counter(t, a))
			require.False(t, reset(t, a), "the module's first Reset re-instantiates")
			require.Equal(t, int64(1), counter(t, a), "state is reset")
			require.True(t, reset(t, a), "then the instance restores its snapshot")
			require.Equal(t, int64(1), counter(t, a))

			c, err := m.Instantiate(ctx, nil)
			require.NoError(t, err)
			defer c.Close(ctx)
			require.NotNil(t, c.snap, "instances made after the first Reset take a snapshot")
			// Their post-start memory is the same: one copy serves both.
			require.True(t, a.snap.shared && c.snap.shared)
			require.Same(t, &a.snap.mem[0], &c.snap.mem[0])
			require.Equal(t, int64(1), counter(t, c))
			_, err = c.Call(ctx, "echoString", strings.Repeat("c was here ", 1000))
			require.NoError(t, err)
			mem, _ := state(t, c)
			require.Contains(t, string(mem), "c was here")
			require.True(t, reset(t, c))
			require.Equal(t, int64(1), counter(t, c))
			mem, _ = state(t, c)
			require.NotContains(t, string(mem), "c was here")
			require.NotContains(t, string(a.snap.mem), "c was here", "the shared copy is never written")

			require.Equal(t, int64(1), counter(t, b))
			require.False(t, reset(t, b), "an instance made before re-instantiates once")
			require.True(t, reset(t, b))
			require.Equal(t, int64(1), counter(t, b))
		})
	}
}
