package abi_test

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/abi"
)

// This file builds encoded values by hand, independently of the encoder, so
// that tests compare the encoder's output with bytes derived from FORMAT.md.

// h decodes hex, ignoring spaces.
func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// hdr is a header with an explicit (possibly bogus) length.
func hdr(tag abi.Tag, n int32) []byte {
	b := binary.LittleEndian.AppendUint16(nil, uint16(tag))
	return binary.LittleEndian.AppendUint32(b, uint32(n))
}

// val is a value whose header length is the payload's real length.
func val(tag abi.Tag, payload ...[]byte) []byte {
	p := cat(payload...)
	return cat(hdr(tag, int32(len(p))), p)
}

func u16(n uint16) []byte { return binary.LittleEndian.AppendUint16(nil, n) }
func u32(n uint32) []byte { return binary.LittleEndian.AppendUint32(nil, n) }
func u64(n uint64) []byte { return binary.LittleEndian.AppendUint64(nil, n) }

func encI8(v int8) []byte      { return val(abi.TagInt8, []byte{byte(v)}) }
func encI16(v int16) []byte    { return val(abi.TagInt16, u16(uint16(v))) }
func encI32(v int32) []byte    { return val(abi.TagInt32, u32(uint32(v))) }
func encI64(v int64) []byte    { return val(abi.TagInt64, u64(uint64(v))) }
func encU8(v uint8) []byte     { return val(abi.TagUint8, []byte{v}) }
func encU16(v uint16) []byte   { return val(abi.TagUint16, u16(v)) }
func encU32(v uint32) []byte   { return val(abi.TagUint32, u32(v)) }
func encU64(v uint64) []byte   { return val(abi.TagUint64, u64(v)) }
func encStr(s string) []byte   { return val(abi.TagString, []byte(s)) }
func encBytes(b []byte) []byte { return val(abi.TagByteArray, b) }
func encF32(bits uint32) []byte {
	return val(abi.TagFloat32, u32(bits))
}
func encF64(bits uint64) []byte { return val(abi.TagFloat64, u64(bits)) }
func encNil() []byte            { return val(abi.TagNil) }
func encBool(b bool) []byte {
	if b {
		return val(abi.TagBool, []byte{1})
	}
	return val(abi.TagBool, []byte{0})
}

// encList is a List of already encoded elements.
func encList(elems ...[]byte) []byte {
	return val(abi.TagList, u32(uint32(len(elems))), cat(elems...))
}

// encMap is a Map of already encoded key, value, key, value, ... in the
// order given.
func encMap(kvs ...[]byte) []byte {
	if len(kvs)%2 != 0 {
		panic("encMap: odd number of arguments")
	}
	return val(abi.TagMap, u32(uint32(len(kvs)/2)), cat(kvs...))
}

// fld is one struct field for encStruct.
type fld struct {
	name string
	val  []byte
}

func encStruct(fields ...fld) []byte {
	var body []byte
	for _, f := range fields {
		body = cat(body, u16(uint16(len(f.name))), []byte(f.name), f.val)
	}
	return val(abi.TagStruct, u32(uint32(len(fields))), body)
}

// nestedLists is depth Lists, each holding the next; the innermost is empty.
func nestedLists(depth int) []byte {
	b := encList()
	for i := 1; i < depth; i++ {
		b = encList(b)
	}
	return b
}

// requireDecodeError checks that err is a *DecodeError at offset matching
// ErrMalformed and want.
func requireDecodeError(t *testing.T, err error, want error, offset int) {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, want)
	require.ErrorIs(t, err, abi.ErrMalformed)
	var de *abi.DecodeError
	require.True(t, errors.As(err, &de), "%T is not a *abi.DecodeError: %v", err, err)
	require.Equal(t, offset, de.Offset, "offset of %v", err)
	require.Contains(t, err.Error(), want.Error())
}

// requireTypeError checks that err is a *TypeError matching want (and not
// ErrMalformed).
func requireTypeError(t *testing.T, err error, want error) {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, want)
	require.NotErrorIs(t, err, abi.ErrMalformed)
	var te *abi.TypeError
	require.True(t, errors.As(err, &te), "%T is not a *abi.TypeError: %v", err, err)
}
