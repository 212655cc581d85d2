package main

import (
	"bytes"
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/abi"
	"github.com/aspect-rt/aspect-runtime/runtime"
)

var echoWasm = filepath.Join("..", "..", "conformance", "fixtures", "as", "echo.wasm")

func aspect(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return aspectIn(t, "", args...)
}

// aspectIn runs the command line args with stdin, and returns the exit
// status, stdout and stderr. No message ever says "aspect: aspect:".
func aspectIn(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := runIO(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	assert.NotContains(t, errb.String(), "aspect: aspect:")
	return code, out.String(), errb.String()
}

func TestRunGreetOnEveryEngine(t *testing.T) {
	for _, eng := range runtime.Engines() {
		t.Run(eng, func(t *testing.T) {
			code, out, stderr := aspect(t, "run", "--engine", eng, echoWasm, "greet", "s:world")
			require.Equal(t, 0, code, stderr)
			assert.Equal(t, "\"hello, world\"\n", out)
		})
	}
}

func TestRunTypedArgs(t *testing.T) {
	code, out, stderr := aspect(t, "run", echoWasm, "add", "i32:40", "i32:0x2")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "42\n", out)

	code, out, stderr = aspect(t, "run", echoWasm, "person", "s:Ann", "i32:30")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, `{name: "Ann", age: 30, tags: ["a", "b"], scores: {"x": 1, "y": 2}, address: {city: "Paris", zip: nil}}`+"\n", out)

	code, out, stderr = aspect(t, "run", echoWasm, "echoBytes", "hex:0aff")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "0x0aff\n", out)
}

func TestRunErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no command", nil, 2, "usage"},
		{"unknown command", []string{"jump"}, 2, "unknown command"},
		{"missing function", []string{"run", echoWasm}, 2, "needs MODULE.wasm and FUNCTION"},
		{"untyped literal", []string{"run", echoWasm, "greet", "world"}, 2, "TYPE:VALUE"},
		{"unknown type", []string{"run", echoWasm, "greet", "q:1"}, 2, "unknown type"},
		{"out of range", []string{"run", echoWasm, "add", "i32:99999999999", "i32:1"}, 2, "out of range"},
		{"bad hex", []string{"run", echoWasm, "echoBytes", "hex:zz"}, 2, "invalid byte"},
		{"missing file", []string{"run", "nope.wasm", "f"}, 2, "aspect: open nope.wasm: no such file"},
		{"unknown engine", []string{"run", "--engine", "v8", echoWasm, "greet", "s:x"}, 2, `unknown engine "v8" (this build has `},
		{"missing export", []string{"run", echoWasm, "nope"}, 1, "missing export"},
		{"wrong arg count", []string{"run", echoWasm, "greet"}, 1, "wrong argument count"},
		{"guest abort", []string{"run", echoWasm, "fail", "s:bad"}, 1, "aspect: fail: guest aborted: bad (fixtures/as/echo.ts:106:3)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := aspect(t, tc.args...)
			assert.Equal(t, tc.code, code)
			assert.Contains(t, stderr, tc.msg)
		})
	}
}

func TestEnginesCommand(t *testing.T) {
	code, out, _ := aspect(t, "engines")
	require.Equal(t, 0, code)
	assert.Contains(t, out, runtime.DefaultEngine()+" (default)")
}

func TestParseArg(t *testing.T) {
	for lit, want := range map[string]any{
		"s:": "", "s:a:b": "a:b", "i8:-128": int8(math.MinInt8), "i16:7": int16(7), "i32:-5": int32(-5),
		"i64:9223372036854775807": int64(math.MaxInt64), "u8:255": uint8(255), "u16:1": uint16(1),
		"u32:4294967295": uint32(math.MaxUint32), "u64:18446744073709551615": uint64(math.MaxUint64),
		"b:true": true, "b:false": false, "f32:1.5": float32(1.5), "f64:-2.25": -2.25,
		"hex:": []byte{}, "hex:00ff": []byte{0, 0xff}, "nil": nil,
	} {
		got, err := ParseArg(lit)
		require.NoError(t, err, lit)
		assert.Equal(t, want, got, lit)
	}
}

func TestFormat(t *testing.T) {
	assert.Equal(t, `"plain"`, FormatValue("plain"))
	assert.Equal(t, `"nil"`, FormatValue("nil"))
	assert.Equal(t, `nil`, FormatValue(nil))
	assert.Equal(t, `["nil", nil]`, FormatValue([]any{"nil", nil}), "nested strings are quoted as top-level ones")
	assert.Equal(t, `["a", 1, nil, 0x01]`, FormatValue([]any{"a", int8(1), nil, []byte{1}}))
	assert.Equal(t, `{"a": true, "b": 1.5}`, FormatValue(map[any]any{"b": 1.5, "a": true}))
	assert.Equal(t, `{x: NaN}`, FormatValue(abi.Struct{{Name: "x", Value: math.NaN()}}))
}

func TestRunWithGas(t *testing.T) {
	for _, eng := range runtime.Engines() {
		t.Run(eng, func(t *testing.T) {
			code, out, stderr := aspect(t, "run", "--engine", eng, "--gas", "1000000", echoWasm, "greet", "s:world")
			require.Equal(t, 0, code, stderr)
			assert.Equal(t, "\"hello, world\"\n", out)
			assert.Regexp(t, `gas used: [1-9][0-9]* of 1000000`, stderr)

			code, _, stderr = aspect(t, "run", "--engine", eng, "--gas", "10", echoWasm, "greet", "s:world")
			assert.Equal(t, 1, code)
			assert.Contains(t, stderr, "out of gas")
			assert.Contains(t, stderr, "gas used: ")
		})
	}
}

// TestRunGasBoundsStartCode: --gas and --timeout bound the start code too
// (a looping __aspect_start__ used to hang `aspect run --gas` on every
// engine).
func TestRunGasBoundsStartCode(t *testing.T) {
	loop := filepath.Join("..", "..", "conformance", "fixtures", "wat", "start_loop.wasm")
	for _, eng := range runtime.Engines() {
		t.Run(eng, func(t *testing.T) {
			code, _, stderr := aspect(t, "run", "--engine", eng, "--gas", "100000", loop, "allocate", "i32:1")
			assert.Equal(t, 1, code, stderr)
			assert.Contains(t, stderr, "out of gas")
			assert.Contains(t, stderr, "gas used: 100000 of 100000")

			code, _, stderr = aspect(t, "run", "--engine", eng, "--timeout", "50ms", loop, "allocate", "i32:1")
			assert.Equal(t, 1, code, stderr)
			assert.Contains(t, stderr, "interrupted")
		})
	}
}

func TestRunWithTimeout(t *testing.T) {
	raw := filepath.Join("..", "..", "conformance", "fixtures", "wat", "raw.wasm")
	// The loop never ends: the deadline stops it on engines that can be
	// interrupted, and the gas limit everywhere.
	code, _, stderr := aspect(t, "run", "--gas", "100000000", "--timeout", "50ms", raw, "loop_forever")
	assert.Equal(t, 1, code)
	assert.Regexp(t, `out of gas|interrupted`, stderr)
	// Without a gas limit, the deadline stops it on every engine.
	for _, e := range runtime.Engines() {
		code, _, stderr = aspect(t, "run", "--engine", e, "--timeout", "50ms", raw, "loop_forever")
		assert.Equal(t, 1, code, e)
		assert.Contains(t, stderr, "interrupted", e)
		assert.Contains(t, stderr, "deadline exceeded", e)
	}
	code, _, stderr = aspect(t, "run", "--timeout", "nope", echoWasm, "greet", "s:x")
	assert.Equal(t, 2, code, stderr)
}
