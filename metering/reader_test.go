package metering

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func decodeSigned(b []byte, bits uint) (int64, error) {
	r := &reader{b: b, end: len(b)}
	var v int64
	switch bits {
	case 32:
		v = int64(r.s32())
	case 33:
		v = r.s33()
	default:
		v = r.s64()
	}
	return v, r.err
}

// TestSignedLEB128 checks the signed decoders at every width's bounds, on
// values the encoder writes, and on the encodings the spec rejects.
func TestSignedLEB128(t *testing.T) {
	for _, c := range []struct {
		bits     uint
		min, max int64
	}{{32, math.MinInt32, math.MaxInt32}, {33, -1 << 32, 1<<32 - 1}, {64, math.MinInt64, math.MaxInt64}} {
		for _, v := range []int64{0, 1, -1, 63, -64, 64, -65, c.min, c.max, c.min + 1, c.max - 1, c.max / 3, c.min / 3} {
			got, err := decodeSigned(appendS64(nil, v), c.bits)
			require.NoError(t, err, "s%d %d", c.bits, v)
			assert.Equal(t, v, got, "s%d", c.bits)
		}
	}
	for _, c := range []struct {
		name string
		bits uint
		b    []byte
		want int64
	}{
		{"s32 min, padded", 32, []byte{0x80, 0x80, 0x80, 0x80, 0x78}, math.MinInt32},
		{"s32 -1, padded", 32, []byte{0xff, 0xff, 0xff, 0xff, 0x7f}, -1},
		{"s33 min", 33, []byte{0x80, 0x80, 0x80, 0x80, 0x70}, -1 << 32},
		{"s33 max", 33, []byte{0xff, 0xff, 0xff, 0xff, 0x0f}, 1<<32 - 1},
		{"s64 min", 64, []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f}, math.MinInt64},
		{"s64 max", 64, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00}, math.MaxInt64},
	} {
		got, err := decodeSigned(c.b, c.bits)
		require.NoError(t, err, c.name)
		assert.Equal(t, c.want, got, c.name)
	}
	for _, c := range []struct {
		name string
		bits uint
		b    []byte
	}{
		{"s32 too large", 32, []byte{0x80, 0x80, 0x80, 0x80, 0x08}},
		{"s32 unused bits not the sign", 32, []byte{0xff, 0xff, 0xff, 0xff, 0x4f}},
		{"s32 too long", 32, []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x00}},
		{"s33 too large", 33, []byte{0x80, 0x80, 0x80, 0x80, 0x10}},
		{"s64 too large", 64, []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}},
		{"s64 too long", 64, []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}},
		{"truncated", 64, []byte{0x80, 0x80}},
		{"empty", 32, nil},
	} {
		_, err := decodeSigned(c.b, c.bits)
		assert.ErrorIs(t, err, ErrMalformed, c.name)
	}
}
