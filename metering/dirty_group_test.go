package metering

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
)

// dirtyGroupModule exports functions (a, v i32) whose stores share a base
// local in the ways the grouping of TrackDirtyPages must get right, and a
// memory of 5 pages (80 4 KiB pages).
func dirtyGroupModule() ([]byte, []string) {
	w := &wmod{}
	w.memory(5)
	t2 := w.typ([]byte{i32, i32}, nil)
	sink := w.fn(w.typ([]byte{i32}, nil), nil)
	st := func(base uint32, off uint32) []byte { return cat(lget(base), lget(1), op(0x36), memarg(2, off)) }
	add := func(l uint32, n int32) []byte { return cat(lget(l), i32c(n), op(0x6a), lset(l)) }
	funcs := []struct {
		name string
		code [][]byte
	}{
		// A group: offsets 0 and 4000 (on the page of a or the next).
		{"window", [][]byte{st(0, 0), st(0, 4000), st(0, 2000)}},
		// A group led by its middle offset.
		{"middle", [][]byte{st(0, 2000), st(0, 0), st(0, 4090)}},
		// Offsets too far apart for one group.
		{"far", [][]byte{st(0, 0), st(0, 5000), st(0, 9000)}},
		// The base is reassigned between two stores.
		{"reassigned", [][]byte{st(0, 0), add(0, 8192), st(0, 4)}},
		// The address is pushed, then the local reassigned before the
		// store (Go's code does this around calls): the store writes at
		// the old value, the next at the new.
		{"pushed-before", [][]byte{st(0, 0), lget(0), add(0, 8192), lget(1), op(0x36), memarg(2, 8), st(0, 12)}},
		// local.tee produces the base.
		{"tee", [][]byte{lget(0), i32c(4096), op(0x6a), ltee(0), lget(1), op(0x36), memarg(2, 0), st(0, 100)}},
		// Stores in the arms of an if do not cover the store after it.
		{"if", [][]byte{lget(1), i32c(1), op(0x71), ifb(0x40), st(0, 0), op(0x05), st(0, 4000), end, st(0, 8)}},
		// A store before a loop does not cover the loop's stores, whose
		// base moves each iteration (v&3 iterations after the first).
		{"loop", [][]byte{st(0, 0), loop(0x40), st(0, 8), add(0, 4096),
			lget(1), i32c(3), op(0x71), lget(1), i32c(-1), op(0x6a), lset(1), lget(1), i32c(3), op(0x71), op(0x49), brIf(0), end}},
		// A store before a block covers the block's stores and those
		// after it; not those after a reassignment in the block.
		// A call takes its arguments off the stack: the store's address
		// is local 2 (a+8192), pushed before the call's argument, local 0.
		{"call", [][]byte{lget(0), i32c(8192), op(0x6a), lset(2), st(0, 0), lget(2), lget(0), call(sink), lget(1), op(0x36), memarg(2, 4)}},
		{"block", [][]byte{st(0, 16), block(0x40), st(0, 24), lget(1), brIf(0), add(0, 12288), end, st(0, 32)}},
	}
	var names []string
	for _, f := range funcs {
		w.export(f.name, 0, w.fn(t2, locals(1, i32), f.code...))
		names = append(names, f.name)
	}
	return w.bytes(), names
}

// TestTrackDirtyPagesGroups runs each function of dirtyGroupModule at
// random addresses (near page ends mostly) and checks that every byte it
// changed is on a marked page, or within the 7 bytes after a marked page;
// the grouping must leave stores without a check of their own.
func TestTrackDirtyPagesGroups(t *testing.T) {
	ctx := context.Background()
	code, names := dirtyGroupModule()
	res, err := TrackDirtyPages(code)
	require.NoError(t, err)
	require.NotZero(t, res.Covered, "some stores are covered by a group")
	t.Logf("%d stores checked, %d covered", res.Stores, res.Covered)
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	cm, err := rt.CompileModule(ctx, res.Module)
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(14, 8))
	const size = 5 << 16
	for _, name := range names {
		for round := range 200 {
			mod, err := rt.InstantiateModule(ctx, cm, wazero.NewModuleConfig().WithName(""))
			require.NoError(t, err)
			before, _ := mod.Memory().Read(0, size)
			before = append([]byte(nil), before...)
			var a uint32
			if rng.IntN(2) == 0 {
				a = uint32(rng.IntN(size/4096))<<12 - uint32(rng.IntN(4100))
			} else {
				a = uint32(rng.IntN(size))
			}
			v := uint32(rng.IntN(8)) | 0xf0f0f000
			_, callErr := mod.ExportedFunction(name).Call(ctx, uint64(a), uint64(v))
			var bm [DirtyWords]uint64
			for i, w := range res.Words {
				bm[i] = mod.ExportedGlobal(w).Get()
			}
			marked := func(q int) bool { return q >= 0 && bm[(q/64)%DirtyWords]&(1<<(q%64)) != 0 }
			after, _ := mod.Memory().Read(0, size)
			for x := range after {
				if after[x] != before[x] {
					q := x >> DirtyPageShift
					require.True(t, marked(q) || (x&(1<<DirtyPageShift-1) < 7 && marked(q-1)),
						fmt.Sprintf("%s(%#x, %#x) round %d (err %v): byte %#x changed, page %d not marked", name, a, v, round, callErr, x, q))
				}
			}
			require.NoError(t, mod.Close(ctx))
		}
	}
}
