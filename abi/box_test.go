package abi_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/abi"
)

// TestDecodeStringValues: a decoded String is a string like any other:
// type, value, equality with other interface values, map keys, printing,
// inside a List too, whatever its length.
func TestDecodeStringValues(t *testing.T) {
	for _, n := range []int{0, 1, 7, 8, 15, 16, 17, 31, 100, 4096, 1<<16 + 3} {
		s := strings.Repeat("aé€", n)[:n] // not valid UTF-8 at every n: the ABI does not care
		enc, err := abi.Append(nil, s)
		require.NoError(t, err)
		v, err := abi.Decode(enc)
		require.NoError(t, err)
		require.Equal(t, reflect.TypeFor[string](), reflect.TypeOf(v))
		got, ok := v.(string)
		require.True(t, ok)
		require.Equal(t, s, got)
		require.True(t, v == any(s), "n=%d: v == any(s)", n)
		require.Equal(t, 1, map[any]int{s: 1}[v], "n=%d: map key", n)
		require.Equal(t, s, fmt.Sprint(v))
		require.Equal(t, s, reflect.ValueOf(v).String())

		list, err := abi.Append(nil, []any{s, int64(n), s})
		require.NoError(t, err)
		lv, err := abi.Decode(list)
		require.NoError(t, err)
		require.Equal(t, []any{s, int64(n), s}, lv)
	}
}

// TestDecodedStringsSurviveGC: decoded strings, kept as interface values
// or as strings taken out of them, keep their contents through garbage
// collections while other memory is allocated and freed.
func TestDecodedStringsSurviveGC(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 5000
	want := make([]string, n)
	asAny := make([]any, n)
	asString := make([]string, n)
	for i := range want {
		b := make([]byte, 1+rng.IntN(300))
		for j := range b {
			b[j] = byte('a' + rng.IntN(26))
		}
		want[i] = string(b)
		enc, err := abi.Append(nil, want[i])
		require.NoError(t, err)
		v, err := abi.Decode(enc)
		require.NoError(t, err)
		clear(enc) // the decoded value owns its bytes
		if i%2 == 0 {
			asAny[i] = v
		} else {
			asString[i] = v.(string)[1:] // an interior pointer only
		}
	}
	churnHeap()
	for i := range want {
		if i%2 == 0 {
			require.Equal(t, want[i], asAny[i].(string), "any %d", i)
		} else {
			require.Equal(t, want[i][1:], asString[i], "string %d", i)
		}
	}
}

// TestDecodeStringAllocatesOnce: decoding a String into its generic form
// allocates once (the string and its interface box share one block).
func TestDecodeStringAllocatesOnce(t *testing.T) {
	enc, err := abi.Append(nil, "greet to world")
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := abi.Decode(enc); err != nil {
			t.Fatal(err)
		}
	})
	require.Equal(t, 1.0, allocs)
}

// TestDecodeBytesValues: a decoded ByteArray is a []byte like any other,
// a copy of its own whose capacity is its length, whatever its length.
func TestDecodeBytesValues(t *testing.T) {
	for _, n := range []int{0, 1, 7, 8, 23, 24, 25, 100, 4096, 1<<16 + 3} {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i * 7)
		}
		enc, err := abi.Append(nil, b)
		require.NoError(t, err)
		v, err := abi.Decode(enc)
		require.NoError(t, err)
		require.Equal(t, reflect.TypeFor[[]byte](), reflect.TypeOf(v))
		got, ok := v.([]byte)
		require.True(t, ok)
		require.NotNil(t, got)
		require.Equal(t, b, got)
		require.Equal(t, len(got), cap(got))
		require.Equal(t, b, reflect.ValueOf(v).Bytes())

		v2, err := abi.Decode(enc)
		require.NoError(t, err)
		if n > 0 {
			got[0]++ // a copy of its own: neither the input nor another decode changes
			require.Equal(t, b, v2.([]byte))
			require.Equal(t, b[0], enc[abi.HeaderSize])
			grown := append(got, 1, 2, 3)
			require.Equal(t, n+3, len(grown))
			require.Equal(t, b[1:], grown[1:n])
		}
	}
}

// TestDecodedBytesSurviveGC: TestDecodedStringsSurviveGC for ByteArrays.
func TestDecodedBytesSurviveGC(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 5000
	want := make([][]byte, n)
	asAny := make([]any, n)
	asBytes := make([][]byte, n)
	for i := range want {
		want[i] = make([]byte, 1+rng.IntN(300))
		for j := range want[i] {
			want[i][j] = byte(rng.IntN(256))
		}
		enc, err := abi.Append(nil, want[i])
		require.NoError(t, err)
		v, err := abi.Decode(enc)
		require.NoError(t, err)
		clear(enc)
		if i%2 == 0 {
			asAny[i] = v
		} else {
			asBytes[i] = v.([]byte)[1:]
		}
	}
	churnHeap()
	for i := range want {
		if i%2 == 0 {
			require.Equal(t, want[i], asAny[i].([]byte), "any %d", i)
		} else {
			require.Equal(t, want[i][1:], asBytes[i], "bytes %d", i)
		}
	}
}

// TestDecodeBytesAllocatesOnce: decoding a ByteArray into its generic form
// allocates once.
func TestDecodeBytesAllocatesOnce(t *testing.T) {
	enc, err := abi.Append(nil, []byte("greet to world"))
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := abi.Decode(enc); err != nil {
			t.Fatal(err)
		}
	})
	require.Equal(t, 1.0, allocs)
}

// churnHeap allocates and drops garbage through three collections, so that
// memory a decoded value still needs would be reused if the collector
// thought it free.
func churnHeap() {
	var garbage [][]byte
	for round := 0; round < 3; round++ {
		for i := 0; i < 20000; i++ {
			garbage = append(garbage, make([]byte, 16+i%200))
			if len(garbage) > 1000 {
				garbage = garbage[:0]
			}
		}
		runtime.GC()
	}
}
