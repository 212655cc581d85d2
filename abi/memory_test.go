package abi_test

import (
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/abi"
)

// sparseMem is a fake guest memory of size bytes, all zero except data at
// base. Read is careful about uint32 overflow, like a real engine's memory.
type sparseMem struct {
	size uint32
	base uint32
	data []byte
}

func (m *sparseMem) Size() uint32 { return m.size }

func (m *sparseMem) Read(off, n uint32) ([]byte, bool) {
	end := uint64(off) + uint64(n)
	if end > uint64(m.size) {
		return nil, false
	}
	out := make([]byte, n)
	lo, hi := uint64(m.base), uint64(m.base)+uint64(len(m.data))
	for i := uint64(off); i < end; i++ {
		if i >= lo && i < hi {
			out[i-uint64(off)] = m.data[i-lo]
		}
	}
	return out, true
}

// sliceMem is a memory backed by a byte slice, returning aliases.
type sliceMem []byte

func (m sliceMem) Size() uint32 { return uint32(len(m)) }

func (m sliceMem) Read(off, n uint32) ([]byte, bool) {
	end := uint64(off) + uint64(n)
	if end > uint64(len(m)) {
		return nil, false
	}
	return m[off:end], true
}

// liarMem claims success but returns short slices.
type liarMem struct{ size uint32 }

func (m liarMem) Size() uint32                    { return m.size }
func (m liarMem) Read(_, n uint32) ([]byte, bool) { return make([]byte, n/2), true }

func TestReadValue(t *testing.T) {
	v := encStr("hello")
	mem := sliceMem(cat([]byte{0xEE, 0xEE}, v, encNil()))
	got, err := abi.ReadValue(mem, 2)
	require.NoError(t, err)
	require.Equal(t, v, got)
	s, err := abi.Decode(got)
	require.NoError(t, err)
	require.Equal(t, "hello", s)

	// A Nil at the very end of memory.
	got, err = abi.ReadValue(mem, uint32(len(mem)-6))
	require.NoError(t, err)
	require.Equal(t, encNil(), got)

	// ReadValue checks bounds only; Decode validates.
	bad := sliceMem(val(abi.TagBool, []byte{9}))
	got, err = abi.ReadValue(bad, 0)
	require.NoError(t, err)
	_, err = abi.Decode(got)
	require.ErrorIs(t, err, abi.ErrInvalidBool)

	top := uint32(math.MaxUint32)
	tests := []struct {
		name string
		mem  abi.Memory
		ptr  uint32
		err  error
	}{
		{"pointer past the end", mem, uint32(len(mem)) + 10, abi.ErrOutOfBounds},
		{"pointer at the end", mem, uint32(len(mem)), abi.ErrOutOfBounds},
		{"pointer max", mem, top, abi.ErrOutOfBounds},
		{"header past the end", mem, uint32(len(mem)) - 3, abi.ErrOutOfBounds},
		{"empty memory", sliceMem(nil), 0, abi.ErrOutOfBounds},
		{"negative length", sliceMem(h("0a00 ffffffff 00")), 0, abi.ErrInvalidLength},
		{"most negative length", sliceMem(h("0a00 00000080")), 0, abi.ErrInvalidLength},
		{"length past the end", sliceMem(h("0a00 05000000 6869")), 0, abi.ErrOutOfBounds},
		{"length one past the end", sliceMem(h("0900 02000000 01")), 0, abi.ErrOutOfBounds},
		{"max length", sliceMem(h("0b00 ffffff7f 00")), 0, abi.ErrOutOfBounds},
		// ptr + 6 + length wraps around 2^32 in uint32 arithmetic.
		{"ptr+len overflows uint32", &sparseMem{size: top, base: top - 16, data: h("0b00 ffffff7f")}, top - 16, abi.ErrOutOfBounds},
		{"ptr+len overflows uint32 exactly to 0", &sparseMem{size: top, base: top - 9, data: cat(hdr(abi.TagByteArray, 4))}, top - 9, abi.ErrOutOfBounds},
		{"header at the top of a 4 GiB memory", &sparseMem{size: top, base: top - 6}, top - 5, abi.ErrOutOfBounds},
		{"short reads", liarMem{size: 1 << 20}, 0, abi.ErrOutOfBounds},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b []byte
			var err error
			require.NotPanics(t, func() { b, err = abi.ReadValue(tt.mem, tt.ptr) })
			require.Nil(t, b)
			require.ErrorIs(t, err, tt.err)
			if tt.err == abi.ErrOutOfBounds {
				var me *abi.MemoryError
				require.True(t, errors.As(err, &me))
				require.Equal(t, tt.ptr, me.Ptr)
				require.Equal(t, tt.mem.Size(), me.Size)
				require.GreaterOrEqual(t, me.Length, uint64(abi.HeaderSize))
				if _, liar := tt.mem.(liarMem); !liar {
					require.Greater(t, uint64(me.Ptr)+me.Length, uint64(me.Size))
				}
			} else {
				require.ErrorIs(t, err, abi.ErrMalformed)
			}
		})
	}

	// A value that ends exactly at the top of a 4 GiB memory is fine.
	m := &sparseMem{size: top, base: top - 8, data: encBytes([]byte{1, 2})}
	got, err = abi.ReadValue(m, top-8)
	require.NoError(t, err)
	require.Equal(t, encBytes([]byte{1, 2}), got)
}
