package abi_test

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/abi"
)

// TestDecodeWholeString: Decode of a String or ByteArray that is all of
// its input (the common result, which Decode reads without its generic
// walk) gives what Unmarshal into an any gives, and the inputs around it —
// a byte more or less, a length that is not the input's, a negative one —
// the same errors as any other value.
func TestDecodeWholeString(t *testing.T) {
	for _, in := range [][]byte{encStr(""), encStr("greet to world"), encBytes(nil), encBytes([]byte{0, 1, 2})} {
		got, err := abi.Decode(in)
		require.NoError(t, err)
		var want any
		require.NoError(t, abi.Unmarshal(in, &want))
		require.Equal(t, want, got)
		require.IsType(t, want, got)

		// A byte after the value.
		_, err = abi.Decode(append(append([]byte(nil), in...), 0))
		require.ErrorIs(t, err, abi.ErrTrailingData)
		// The payload one byte short.
		if len(in) > abi.HeaderSize {
			_, err = abi.Decode(in[:len(in)-1])
			require.ErrorIs(t, err, abi.ErrTruncated)
		}
		// A length past the input; a negative length.
		for _, n := range []uint32{uint32(len(in)), 1 << 31, 0xffffffff} {
			bad := append([]byte(nil), in...)
			binary.LittleEndian.PutUint32(bad[2:], n)
			_, err = abi.Decode(bad)
			require.Error(t, err)
			if int32(n) < 0 {
				require.ErrorIs(t, err, abi.ErrInvalidLength)
			} else {
				require.ErrorIs(t, err, abi.ErrTruncated)
			}
		}
	}
	// The header alone, short of it, and an unknown tag of the right size.
	_, err := abi.Decode(encStr("")[:abi.HeaderSize-1])
	require.ErrorIs(t, err, abi.ErrTruncated)
	unknown := encStr("x")
	binary.LittleEndian.PutUint16(unknown, 0x7fff)
	_, err = abi.Decode(unknown)
	require.ErrorIs(t, err, abi.ErrUnknownTag)
}
