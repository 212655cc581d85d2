package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/runtime"
)

func runFixture(p string) string { return filepath.Join("..", "..", "conformance", "fixtures", p) }

var (
	asHostcalls = runFixture("as/hostcalls.wasm")
	goHostcalls = runFixture("go/hostcalls.wasm")
	goWASI      = runFixture("go/wasi.wasm")
	growWasm    = runFixture("wat/grow.wasm")
)

// TestRunStubImports: --stub-imports satisfies every import, so a module
// whose host functions nobody wrote runs; the README's Go guest (greet and
// greetHost importing index test.hello, as go/hostcalls does) gets Nil
// from test.hello, which its guest.Arg[string] reads as "".
func TestRunStubImports(t *testing.T) {
	for _, eng := range runtime.Engines() {
		t.Run(eng, func(t *testing.T) {
			code, out, stderr := aspect(t, "run", "--engine", eng, asHostcalls, "logIt", "s:x")
			assert.Equal(t, 1, code)
			assert.Contains(t, stderr, "aspect: unresolved import index.test.")
			assert.Contains(t, stderr, "no host function registered (give it with --host or --host-json, or satisfy every such import with --stub-imports or --trap-imports)")
			assert.Empty(t, out)

			code, out, stderr = aspect(t, "run", "--engine", eng, "--stub-imports", asHostcalls, "logIt", "s:x", "--call", "callNothing")
			require.Equal(t, 0, code, stderr)
			assert.Equal(t, "1\nfalse\n", out, "test.log returns nothing, test.nothing a Nil (not pointer 0)")

			code, out, stderr = aspect(t, "run", "--engine", eng, "--wasi", "--stub-imports", goHostcalls, "greetHost", "s:world")
			require.Equal(t, 0, code, stderr)
			assert.Equal(t, "\"\"\n", out)

			code, _, stderr = aspect(t, "run", "--engine", eng, "--stub-imports", goHostcalls, "greetHost", "s:world")
			assert.Equal(t, 1, code)
			assert.Contains(t, stderr, "aspect: unresolved import wasi_snapshot_preview1.")
			assert.Contains(t, stderr, "(the module uses WASI: run it with --wasi)")
		})
	}
}

func TestRunTrapImports(t *testing.T) {
	for _, eng := range runtime.Engines() {
		t.Run(eng, func(t *testing.T) {
			code, out, stderr := aspect(t, "run", "--engine", eng, "--trap-imports", asHostcalls, "greetHost", "s:world")
			assert.Equal(t, 1, code)
			assert.Empty(t, out)
			assert.Equal(t, "aspect: host function index/test.hello: called, but --trap-imports gives it no implementation\n", stderr)
			// Imports that are not called do not matter.
			code, out, stderr = aspect(t, "run", "--engine", eng, "--trap-imports", echoWasm, "greet", "s:x")
			require.Equal(t, 0, code, stderr)
			assert.Equal(t, "\"hello, x\"\n", out)
		})
	}
	code, _, stderr := aspect(t, "run", "--trap-imports", "--stub-imports", asHostcalls, "logIt", "s:x")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "--stub-imports and --trap-imports exclude each other")
}

// TestRunHostAndTrace: --host makes greetHost return the canned answer;
// --trace shows the host call with its decoded argument, its result and
// the gas at the call.
func TestRunHostAndTrace(t *testing.T) {
	for _, eng := range runtime.Engines() {
		t.Run(eng, func(t *testing.T) {
			for _, mod := range []string{asHostcalls, goHostcalls} {
				code, out, stderr := aspect(t, "run", "--engine", eng, "--wasi", "--stub-imports", "--trace", "--gas", "100000000",
					"--host", "index.test.hello=s:canned", "--host", "index.test.add=i64:7", mod, "greetHost", "s:world", "--call", "sum", "i64:1", "i64:2")
				require.Equal(t, 0, code, stderr)
				assert.Equal(t, "\"canned\"\n7\n", out, mod)
				assert.Regexp(t, `(?m)^trace: index\.test\.hello\("world"\) -> "canned" \[gas used \d+, left \d+\]$`, stderr, mod)
				assert.Regexp(t, `(?m)^trace: index\.test\.add\(1, 2\) -> 7 \[gas used \d+, left \d+\]$`, stderr, mod)
				assert.Regexp(t, `(?m)^gas used: \d+ of 100000000$`, stderr, mod)
			}
			code, _, stderr := aspect(t, "run", "--engine", eng, "--stub-imports", "--trace", asHostcalls, "logIt", "s:hi")
			require.Equal(t, 0, code, stderr)
			assert.Equal(t, "trace: index.test.log(\"hi\") -> (returns nothing)\n", stderr, "no gas without --gas")
		})
	}
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--host", "index.test.nope=s:x"}, "index.test.nope is not a host function the module imports (it imports: index.test.add, index.test.boom, index.test.concat3, index.test.echo, index.test.fail, index.test.hello, index.test.log, index.test.nothing, index.test.whoami)"},
		{[]string{"--host", "index.test.hello"}, "want MODULE.NAMESPACE.METHOD=ARG"},
		{[]string{"--host", "index.test.hello=x"}, `argument "x": want TYPE:VALUE`},
		{[]string{"--host", "index.test.log=s:x"}, "--host index.test.log: the import has no result to give"},
		{[]string{"--host", "index.test.hello=s:a", "--host", "index.test.hello=s:b"}, "given twice"},
	} {
		code, _, stderr := aspect(t, append(append([]string{"run"}, tc.args...), asHostcalls, "logIt", "s:x")...)
		assert.Equal(t, 2, code, tc.args)
		assert.Contains(t, stderr, tc.msg, tc.args)
	}
}

func TestRunHostJSON(t *testing.T) {
	dir := t.TempDir()
	table := filepath.Join(dir, "host.json")
	require.NoError(t, os.WriteFile(table, []byte(`{
		"index.test.hello": [
			{"args": ["bob"], "error": "bob is not welcome"},
			{"args": ["world"], "result": "hi, world"},
			{"result": "hi, stranger"}
		],
		"index.test.echo": [
			{"args": [{"$struct": {"a": {"$i32": 1}}}], "result": {"$map": [[{"$u8": 1}, [1.5, null]]]}},
			{"args": ["none"], "noResult": true}
		],
		"index.test.log": [{}]
	}`), 0o644))
	for _, eng := range runtime.Engines() {
		t.Run(eng, func(t *testing.T) {
			run := func(args ...string) (int, string, string) {
				return aspect(t, append([]string{"run", "--engine", eng, "--stub-imports", "--host-json", table, asHostcalls}, args...)...)
			}
			code, out, stderr := run("greetHost", "s:world", "--call", "greetHost", "s:ann", "--call", "logIt", "s:x")
			require.Equal(t, 0, code, stderr)
			assert.Equal(t, "\"hi, world\"\n\"hi, stranger\"\n1\n", out)

			code, out, stderr = aspect(t, "run", "--engine", eng, "--stub-imports", "--host-json", table, "--output", "json", "--args-json", `[{"$struct": {"a": {"$i32": 1}}}]`, asHostcalls, "roundTrip", "--call", "roundTrip", "s:none")
			require.Equal(t, 0, code, stderr)
			assert.Equal(t, `{"call":"roundTrip","result":{"$map":[[{"$u8":1},[{"$f64":1.5},null]]]}}`+"\n"+`{"call":"roundTrip","noResult":true}`+"\n", out)

			code, _, stderr = run("greetHost", "s:bob")
			assert.Equal(t, 1, code)
			assert.Equal(t, "aspect: host function index/test.hello: bob is not welcome\n", stderr)

			code, _, stderr = run("roundTrip", "i32:5")
			assert.Equal(t, 1, code)
			assert.Equal(t, "aspect: host function index/test.echo: --host-json has no answer for index.test.echo(5)\n", stderr)
		})
	}
	for text, msg := range map[string]string{
		`[]`:                                  "want a JSON object",
		`{"index.test.hello": {"result": 1}}`: "want a list of",
		`{"index.test.hello": [{"result": 1, "error": "x"}]}`: "give one of result, noResult and error",
		`{"index.test.hello": [{"resutl": 1}]}`:               `unknown field "resutl"`,
		`{"index.test.hello": [{"result": {"$i8": 300}}]}`:    "$i8 wants an integer",
		`{"index.test.hellx": [{"result": 1}]}`:               "index.test.hellx is not a host function the module imports",
	} {
		require.NoError(t, os.WriteFile(table, []byte(text), 0o644))
		code, _, stderr := aspect(t, "run", "--host-json", table, asHostcalls, "logIt", "s:x")
		assert.Equal(t, 2, code, text)
		assert.Contains(t, stderr, msg, text)
	}
	code, _, stderr := aspect(t, "run", "--host-json", filepath.Join(dir, "missing.json"), asHostcalls, "logIt", "s:x")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "missing.json: no such file")
}

// TestRunJSONRoundTrip: a list, a map and a struct argument given as JSON,
// and a 1 MiB string from stdin, round-trip through the echo fixture with
// --output json, on every engine of the build.
func TestRunJSONRoundTrip(t *testing.T) {
	list := `["a",{"$i32":-1},null,true,{"$bytes":"00ff"},[{"$f64":"NaN"},{"$f32":"-Inf"}]]`
	mapv := `{"$map":[[{"$i8":-3},"i8"],[{"$u64":"18446744073709551615"},{"$i64":"-9223372036854775808"}],[false,{}],["k",{"x":{"$u16":7}}]]}`
	structv := `{"$struct":{"name":"Ann","age":{"$u8":30},"tags":["x"],"nested":{"$struct":{"deep":{"$f64":-0}}}}}`
	big := strings.Repeat("é", 1<<19) // 1 MiB of UTF-8
	bigJSON, err := json.Marshal([]string{big})
	require.NoError(t, err)
	for _, eng := range runtime.Engines() {
		t.Run(eng, func(t *testing.T) {
			script := `[{"call":"echo","args":[` + list + `]},{"call":"echo","args":[` + mapv + `]},{"call":"echo","args":[` + structv + `]}]`
			code, out, stderr := aspect(t, "run", "--engine", eng, "--output", "json", "--script", script, echoWasm)
			require.Equal(t, 0, code, stderr)
			assert.Equal(t, `{"call":"echo","result":`+list+"}\n"+`{"call":"echo","result":`+mapv+"}\n"+`{"call":"echo","result":`+structv+"}\n", out)

			code, out, stderr = aspect(t, "run", "--engine", eng, "--output", "json", "--args-json", "["+mapv+"]", echoWasm, "echo")
			require.Equal(t, 0, code, stderr)
			assert.Equal(t, `{"call":"echo","result":`+mapv+"}\n", out)

			code, out, stderr = aspectIn(t, string(bigJSON), "run", "--engine", eng, "--output", "json", "--args-json", "-", echoWasm, "echoString")
			require.Equal(t, 0, code, stderr)
			var got struct{ Result string }
			require.NoError(t, json.Unmarshal([]byte(out), &got))
			assert.True(t, got.Result == big, "the 1 MiB string comes back unchanged (%d bytes)", len(got.Result))
		})
	}
}

func TestRunArgsJSONSources(t *testing.T) {
	file := filepath.Join(t.TempDir(), "args.json")
	require.NoError(t, os.WriteFile(file, []byte(`[{"$i32": 40}, {"$i32": 2}]`), 0o644))
	code, out, stderr := aspect(t, "run", "--args-json", "@"+file, echoWasm, "add")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "42\n", out)
	code, out, stderr = aspectIn(t, `[{"call":"counter"},{"call":"counter"},{"call":"add","args":[{"$i32":1},{"$i32":2}]}]`, "run", "--script", "-", echoWasm)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "1\n2\n3\n", out)
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--args-json", "[1", echoWasm, "echo"}, "--args-json: json (offset 2): unexpected end of input"},
		{[]string{"--args-json", `{"a":1}`, echoWasm, "echo"}, "want a JSON array of arguments"},
		{[]string{"--args-json", `[1]`, echoWasm, "echo", "s:x"}, "either as literals or with --args-json"},
		{[]string{"--args-json", "@" + file + ".missing", echoWasm, "echo"}, "no such file"},
		{[]string{"--script", `[{"call":"echo"}]`, echoWasm, "echo"}, "no FUNCTION or --call after MODULE.wasm"},
		{[]string{"--script", `[{"cal":"echo"}]`, echoWasm}, `unknown field "cal"`},
		{[]string{"--script", `[]`, echoWasm}, "no calls"},
		{[]string{"--script", "-", "--args-json", "-", echoWasm}, "cannot both read stdin"},
		{[]string{echoWasm, "greet", "s:x", "--call"}, "--call needs a FUNCTION"},
		{[]string{echoWasm, "greet", "--gas", "5"}, `argument "--gas": want TYPE:VALUE`},
		{[]string{"--output", "yaml", echoWasm, "greet"}, `--output "yaml": want text or json`},
	} {
		code, _, stderr := aspect(t, append([]string{"run"}, tc.args...)...)
		assert.Equal(t, 2, code, tc.args)
		assert.Contains(t, stderr, tc.msg, tc.args)
	}
}

// TestRunResultsPrintDifferently: a returned String "nil", a Nil value and
// no result print differently, in text and in JSON; a top-level string is
// quoted as a nested one is.
func TestRunResultsPrintDifferently(t *testing.T) {
	code, out, stderr := aspect(t, "run", echoWasm, "echoString", "s:nil", "--call", "echo", "nil", "--call", "nilResult", "s:x",
		"--call", "noResult", "s:x", "--call", "echo", "s:a b", "--call", "concat", "s:x", "s:y")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "\"nil\"\nnil\n(no result)\n(no result)\n\"a b\"\n\"xy\"\n", out)
	code, out, stderr = aspect(t, "run", "--output", "json", echoWasm, "echoString", "s:nil", "--call", "echo", "nil", "--call", "nilResult", "s:x")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, `{"call":"echoString","result":"nil"}`+"\n"+`{"call":"echo","result":null}`+"\n"+`{"call":"nilResult","noResult":true}`+"\n", out)
}

// TestRunSeveralCalls: --call makes calls on one instance, so its state
// carries over.
func TestRunSeveralCalls(t *testing.T) {
	for _, eng := range runtime.Engines() {
		code, out, stderr := aspect(t, "run", "--engine", eng, "--gas", "1000000", echoWasm, "counter", "--call", "counter", "--call", "greet", "s:x", "--call", "counter")
		require.Equal(t, 0, code, stderr)
		assert.Equal(t, "1\n2\n\"hello, x\"\n3\n", out, eng)
		assert.Regexp(t, `^gas used: \d+ of 1000000\n$`, stderr, "the gas of every call together, once")
		// A failing call stops the run; the results before it are printed.
		code, out, stderr = aspect(t, "run", "--engine", eng, echoWasm, "counter", "--call", "fail", "s:no", "--call", "counter")
		assert.Equal(t, 1, code)
		assert.Equal(t, "1\n", out)
		assert.Contains(t, stderr, "aspect: fail: guest aborted: no")
	}
}

func TestRunJSONErrors(t *testing.T) {
	for _, eng := range runtime.Engines() {
		t.Run(eng, func(t *testing.T) {
			code, out, stderr := aspect(t, "run", "--engine", eng, "--output", "json", echoWasm, "fail", "s:bad")
			assert.Equal(t, 1, code)
			assert.Empty(t, stderr)
			assert.Equal(t, `{"call":"fail","error":{"kind":"abort","message":"fail: guest aborted: bad (fixtures/as/echo.ts:106:3)","abort":{"message":"bad","file":"fixtures/as/echo.ts","line":106,"column":3}}}`+"\n", out)

			code, out, _ = aspect(t, "run", "--engine", eng, "--output", "json", runFixture("wat/traps.wasm"), "div_zero")
			assert.Equal(t, 1, code)
			assert.Equal(t, `{"call":"div_zero","error":{"kind":"trap","message":"div_zero: guest trapped: integer divide by zero","trapCode":"integer divide by zero"}}`+"\n", out)

			code, out, _ = aspect(t, "run", "--engine", eng, "--output", "json", "--gas", "1000", growWasm, "grow_until_fail")
			assert.Equal(t, 1, code)
			assert.Equal(t, `{"call":"grow_until_fail","error":{"kind":"out-of-gas","message":"out of gas in grow_until_fail: its next charge (a block of code, a memory.grow, a host call) needed more than the 992 gas left; 8 of 1000 used","gasUsed":8,"gasLeft":992},"gas":{"used":8,"limit":1000}}`+"\n", out)

			code, out, _ = aspect(t, "run", "--engine", eng, "--output", "json", asHostcalls, "logIt", "s:x")
			assert.Equal(t, 1, code)
			assert.Regexp(t, `^\{"call":"","error":\{"kind":"link","message":"unresolved import index\.test\.\w+: no host function registered \(give it with`, out)
		})
	}
}

func TestRunWASI(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.txt"), []byte("mounted\n"), 0o644))
	for _, eng := range runtime.Engines() {
		t.Run(eng, func(t *testing.T) {
			code, out, stderr := aspect(t, "run", "--engine", eng, "--wasi", "--dir", dir+":/data", goWASI, "readFile", "s:/data/a.txt")
			require.Equal(t, 0, code, stderr)
			assert.Equal(t, "{data: \"mounted\\n\", err: \"\", errno: 0}\n", out)
			// Read-only, and nothing else is visible.
			code, out, stderr = aspect(t, "run", "--engine", eng, "--dir", dir+":/data", goWASI, "writeFile", "s:/data/b.txt", "--call", "readFile", "s:/etc/passwd")
			require.Equal(t, 0, code, stderr)
			assert.Equal(t, "{data: \"\", err: \"open /data/b.txt: Read-only file system\", errno: 69}\n{data: \"\", err: \"open /etc/passwd: Bad file number\", errno: 8}\n", out)
			assert.NoFileExists(t, filepath.Join(dir, "b.txt"))

			code, out, stderr = aspect(t, "run", "--engine", eng, "--wasi-exit", goWASI, "exit", "i32:3")
			assert.Equal(t, 3, code, stderr)
			assert.Empty(t, out)
			assert.Empty(t, stderr)
			code, _, stderr = aspect(t, "run", "--engine", eng, "--wasi-exit", goWASI, "exit", "i32:0")
			assert.Equal(t, 0, code, stderr)
			code, _, stderr = aspect(t, "run", "--engine", eng, "--wasi", goWASI, "exit", "i32:3")
			assert.Equal(t, 1, code)
			assert.Equal(t, "aspect: the guest exited with status 3 (proc_exit); --wasi-exit makes that the exit status of aspect\n", stderr)

			code, out, stderr = aspect(t, "run", "--engine", eng, "--env", "MODE=test", goWASI, "getenv", "s:MODE", "--call", "getenv", "s:HOME")
			require.Equal(t, 0, code, stderr)
			assert.Equal(t, "\"test\"\n\"\"\n", out, "only --env, never the host's environment")

			code, out, stderr = aspectIn(t, "from stdin", "run", "--engine", eng, "--wasi", goWASI, "stdin", "--call", "hello", "s:you")
			require.Equal(t, 0, code, stderr)
			assert.Equal(t, "{data: \"from stdin\", err: \"\", errno: 0}\nhello, you\n\"ok\"\n", out)
			assert.Equal(t, "greeted you\n", stderr)
		})
	}
	code, _, stderr := aspect(t, "run", "--dir", filepath.Join(dir, "nope"), goWASI, "hello", "s:x")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "--dir")
	code, _, stderr = aspect(t, "run", "--env", "NOEQUALS", goWASI, "hello", "s:x")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `--env "NOEQUALS": want K=V`)
}

func TestRunMemoryLimitAndCache(t *testing.T) {
	for _, eng := range runtime.Engines() {
		cache := t.TempDir()
		for range 2 { // compiled, then loaded from the cache
			code, out, stderr := aspect(t, "run", "--engine", eng, "--cache-dir", cache, "--memory-limit", "1MiB", growWasm, "grow_until_fail")
			require.Equal(t, 0, code, stderr)
			assert.Equal(t, "16\n", out, "1 MiB is 16 pages")
		}
		entries, err := os.ReadDir(cache)
		require.NoError(t, err)
		assert.NotEmpty(t, entries, eng)
	}
	for _, tc := range []struct{ arg, msg string }{
		{"5", `"5" has no unit: write it with one, e.g. 5MiB`},
		{"1KiB", "want 64KiB to 4095 MiB"},
		{"lots", "want a size with a unit"},
	} {
		code, _, stderr := aspect(t, "run", "--memory-limit", tc.arg, growWasm, "grow_until_fail")
		assert.Equal(t, 2, code, tc.arg)
		assert.Contains(t, stderr, tc.msg, tc.arg)
	}
}

// TestRunMessages: the messages of issue 16, each with its exit status.
func TestRunMessages(t *testing.T) {
	code, out, stderr := aspect(t, "run", "-h")
	assert.Equal(t, 0, code)
	assert.Empty(t, stderr)
	assert.True(t, strings.HasPrefix(out, "usage: aspect run [flags] MODULE.wasm"), out)
	for _, flag := range []string{"-stub-imports", "-trap-imports", "-host MODULE.NS.METHOD=ARG", "-host-json FILE", "-trace", "-args-json JSON",
		"-output text", "-script JSON", "-dir HOST[:GUEST]", "-env K=V", "-wasi-exit", "-cache-dir DIR", "-memory-limit SIZE", "-gas", "-timeout", "-engine"} {
		assert.Contains(t, out, "  "+flag, flag)
	}
	code, out2, _ := aspect(t, "run", "--help", echoWasm)
	assert.Equal(t, 0, code)
	assert.Equal(t, out, out2)

	code, _, stderr = aspect(t, "run", "--nope", echoWasm, "greet")
	assert.Equal(t, 2, code)
	assert.Equal(t, "aspect: flag provided but not defined: -nope\n'aspect run -h' prints its usage and flags\n", stderr)

	code, _, stderr = aspect(t, "run", echoWasm, "add", "i32:abc", "i32:1")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `aspect: argument "i32:abc": i32 wants an integer from -2147483648 to 2147483647 (decimal or 0x hex): invalid syntax`)

	code, _, stderr = aspect(t, "run", "--timeout", "5", echoWasm, "greet", "s:x")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `aspect: invalid value "5" for flag -timeout: "5" has no unit: write it with one, e.g. 5s or 5ms`)

	code, _, stderr = aspect(t, "run", "--timeout", "soon", echoWasm, "greet", "s:x")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `want a number and a unit (ns, us, ms, s, m, h)`)

	for eng, how := range engineBuilds {
		if checkEngine(eng) == nil {
			continue
		}
		code, _, stderr = aspect(t, "run", "--engine", eng, echoWasm, "greet", "s:x")
		assert.Equal(t, 2, code)
		assert.Contains(t, stderr, "aspect: engine \""+eng+"\" is not in this build (it has ")
		assert.Contains(t, stderr, "build with "+how)
	}
	if checkEngine("wasmer") != nil {
		assert.Contains(t, checkEngine("wasmer").Error(), "build with -tags wasmer")
	}

	code, _, stderr = aspect(t, "run", "nope.wasm", "f")
	assert.Equal(t, 2, code)
	assert.Equal(t, "aspect: open nope.wasm: no such file or directory\n", stderr)

	// A charge that does not fit is not spent: the message says what
	// happened instead of "gas used 8, left 992".
	for _, eng := range runtime.Engines() {
		code, _, stderr = aspect(t, "run", "--engine", eng, "--gas", "1000", growWasm, "grow_until_fail")
		assert.Equal(t, 1, code)
		assert.Equal(t, "gas used: 8 of 1000\naspect: out of gas in grow_until_fail: its next charge (a block of code, a memory.grow, a host call) needed more than the 992 gas left; 8 of 1000 used\n", stderr, eng)
		code, _, stderr = aspect(t, "run", "--engine", eng, "--gas", "10", echoWasm, "greet", "s:x")
		assert.Equal(t, 1, code)
		assert.Regexp(t, regexp.MustCompile(`^gas used: (\d) of 10\naspect: out of gas in \w+: its next charge .* needed more than the \d gas left; \d of 10 used\n$`), stderr, eng)
	}
}
