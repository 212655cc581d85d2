package main

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/runtime"
)

// Short runs only: these tests check what bench prints, never how fast
// anything is.

func TestBenchOnEveryEngine(t *testing.T) {
	for _, eng := range runtime.Engines() {
		t.Run(eng, func(t *testing.T) {
			code, out, stderr := aspect(t, "bench", "--engine", eng, "--runs", "3", "--warmup", "2", "--duration", "30ms", echoWasm, "greet", "s:x")
			require.Equal(t, 0, code, stderr)
			assert.Contains(t, out, "module:    "+echoWasm+" on "+eng+"\n")
			assert.Contains(t, out, "call:      greet s:x\n")
			assert.Contains(t, out, `result:    "hello, x"`+"\n")
			assert.Regexp(t, `runs:      3 runs, \d+ calls in [0-9.]+ (ns|µs|ms|s), after 2 untimed warm-up calls`, out)
			assert.Regexp(t, `per call:  median [0-9.]+ (ns|µs|ms|s)  p10 [0-9.]+ (ns|µs|ms|s)  p90 [0-9.]+ (ns|µs|ms|s)  min [0-9.]+ (ns|µs|ms|s)  max [0-9.]+ (ns|µs|ms|s)`, out)
			assert.Regexp(t, `calls/s:   [0-9.]+( k| M)? \(at the median\), [0-9.]+( k| M)? overall`, out)
			assert.Contains(t, out, "gas used:  not metered (--gas N meters every call)\n")
			assert.Empty(t, stderr, "no progress line when stderr is not a terminal")
		})
	}
}

func TestBenchOneCallPerRun(t *testing.T) {
	code, out, stderr := aspect(t, "bench", "--runs", "4", "--warmup", "0", "--duration", "0", echoWasm, "add", "i32:40", "i32:2")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "result:    42\n")
	assert.Contains(t, out, "runs:      4 runs, 4 calls in ")
	assert.Contains(t, out, "after 1 untimed warm-up calls")
}

func TestBenchGas(t *testing.T) {
	code, out, stderr := aspect(t, "bench", "--gas", "1000000", "--runs", "2", "--duration", "10ms", echoWasm, "greet", "s:x")
	require.Equal(t, 0, code, stderr)
	m := regexp.MustCompile(`gas used:  (\d+) per call \(limit 1000000\)`).FindStringSubmatch(out)
	require.NotNil(t, m, out)
	assert.NotEqual(t, "0", m[1])

	code, _, stderr = aspect(t, "bench", "--gas", "10", "--runs", "1", echoWasm, "greet", "s:x")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "out of gas")
}

func TestBenchErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"missing function", []string{"bench", echoWasm}, 2, "bench needs MODULE.wasm and FUNCTION"},
		{"zero runs", []string{"bench", "--runs", "0", echoWasm, "greet", "s:x"}, 2, "--runs must be at least 1"},
		{"negative warm-up", []string{"bench", "--warmup", "-1", echoWasm, "greet", "s:x"}, 2, "--warmup must not be negative"},
		{"negative duration", []string{"bench", "--duration", "-1s", echoWasm, "greet", "s:x"}, 2, "--duration must not be negative"},
		{"bad duration", []string{"bench", "--duration", "soon", echoWasm, "greet", "s:x"}, 2, "invalid value"},
		{"bad runs", []string{"bench", "--runs", "many", echoWasm, "greet", "s:x"}, 2, "invalid value"},
		{"unknown flag", []string{"bench", "--fast", echoWasm, "greet", "s:x"}, 2, "flag provided but not defined"},
		{"help is not an error", []string{"bench", "-h"}, 0, ""},
		{"untyped literal", []string{"bench", echoWasm, "greet", "x"}, 2, "TYPE:VALUE"},
		{"missing file", []string{"bench", "nope.wasm", "f"}, 1, "no such file"},
		{"unknown engine", []string{"bench", "--engine", "v8", echoWasm, "greet", "s:x"}, 1, "unknown engine"},
		{"missing export", []string{"bench", "--runs", "1", echoWasm, "nope"}, 1, "missing export"},
		{"guest abort", []string{"bench", "--runs", "1", echoWasm, "fail", "s:bad"}, 1, "guest aborted: bad"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, stderr := aspect(t, tc.args...)
			assert.Equal(t, tc.code, code)
			assert.Contains(t, stderr, tc.msg)
			if tc.code == 0 {
				assert.Contains(t, out, "usage: aspect bench [flags] MODULE.wasm FUNCTION [ARG...]")
				assert.Contains(t, out, "-cache-dir DIR")
				return
			}
			assert.Empty(t, out)
		})
	}
}

func TestBenchProgress(t *testing.T) {
	var buf bytes.Buffer
	p := &progress{w: &buf, start: time.Now(), after: time.Hour}
	p.update(1, 4)
	p.clear()
	assert.Empty(t, buf.String(), "nothing before the run is older than p.after")

	p.after = 0
	p.update(1, 4)
	p.update(4, 4)
	assert.Equal(t, "\rbenchmarking:  25% (1/4 runs)\rbenchmarking: 100% (4/4 runs)", buf.String())
	p.clear()
	assert.True(t, strings.HasSuffix(buf.String(), "\r"+strings.Repeat(" ", 40)+"\r"))

	assert.Nil(t, newProgress(&buf).w, "only a terminal gets a progress line")
}

func TestBenchHelpers(t *testing.T) {
	st := summarize([]float64{300, 100, 200, 400, 500})
	assert.Equal(t, stats{median: 300, p10: 140, p90: 460, min: 100, max: 500}, st)
	assert.Equal(t, 1, callsFor(time.Millisecond, time.Second))
	assert.Equal(t, 1000, callsFor(time.Millisecond, time.Microsecond))
	assert.Equal(t, 1000000, callsFor(time.Millisecond, 0))
	assert.Equal(t, "812 ns", fmtDuration(812))
	assert.Equal(t, "1.50 µs", fmtDuration(1500))
	assert.Equal(t, "12.3 ms", fmtDuration(12.34e6))
	assert.Equal(t, "1.23 M", fmtRate(1.234e6))
}

// TestBenchWASI: --wasi lets bench run a Go guest (it failed to link
// before), and --cache-dir keeps its compiled code: the second run loads
// the entries the first wrote, without rewriting them.
func TestBenchWASI(t *testing.T) {
	goEcho := fixture("go/echo.wasm")
	for _, eng := range runtime.Engines() {
		t.Run(eng, func(t *testing.T) {
			cache := t.TempDir()
			args := []string{"bench", "--engine", eng, "--wasi", "--cache-dir", cache, "--runs", "2", "--warmup", "1", "--duration", "0", goEcho, "greet", "s:go"}
			code, out, stderr := aspect(t, args...)
			require.Equal(t, 0, code, stderr)
			assert.Contains(t, out, "module:    "+goEcho+" on "+eng+"\n")
			assert.Contains(t, out, `result:    "hello, go"`+"\n")
			assert.Contains(t, out, "runs:      2 runs, 2 calls in ")
			entries := cacheEntries(t, cache)
			require.NotEmpty(t, entries, "compiled code written to --cache-dir")

			code, out, stderr = aspect(t, args...)
			require.Equal(t, 0, code, stderr)
			assert.Contains(t, out, `result:    "hello, go"`+"\n")
			assert.Equal(t, entries, cacheEntries(t, cache), "loaded from the cache, not compiled and written again")
		})
	}
	code, _, stderr := aspect(t, "bench", "--runs", "1", "--cache-dir", "", goEcho, "greet", "s:go")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "wasi_snapshot_preview1")
}

// cacheEntries lists the files under dir with their modification times.
func cacheEntries(t *testing.T, dir string) map[string]time.Time {
	t.Helper()
	out := map[string]time.Time{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		out[p] = fi.ModTime()
		return nil
	})
	require.NoError(t, err)
	return out
}

// TestBenchWASIEnvAndDir: --env sets the guest's environment and --dir
// mounts a host directory read-only, at the guest path given or at the
// host path; both imply --wasi.
func TestBenchWASIEnvAndDir(t *testing.T) {
	wasiGuest := fixture("go/wasi.wasm")
	data := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(data, "hello.txt"), []byte("hi from the host"), 0o644))
	cache := t.TempDir()
	bench := func(args ...string) (int, string, string) {
		return aspect(t, append([]string{"bench", "--wasi", "--cache-dir", cache, "--runs", "1", "--warmup", "0", "--duration", "0"}, args...)...)
	}
	code, out, stderr := bench("--env", "MODE=test", "--env", "EMPTY=", wasiGuest, "environ")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, `result:    ["MODE=test", "EMPTY="]`+"\n")

	code, out, stderr = bench("--dir", data+":/data", wasiGuest, "readFile", "s:/data/hello.txt")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, `hi from the host`)

	// --env alone implies --wasi.
	code, out, stderr = aspect(t, "bench", "--env", "MODE=implied", "--cache-dir", cache, "--runs", "1", "--warmup", "0", "--duration", "0", wasiGuest, "getenv", "s:MODE")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, `result:    "implied"`+"\n")

	code, out, stderr = bench("--dir", data, wasiGuest, "readFile", "s:"+filepath.ToSlash(filepath.Join(data, "hello.txt")))
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, `hi from the host`)

	code, out, stderr = bench("--dir", data+":/data", wasiGuest, "writeFile", "s:/data/new.txt")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "Read-only file system")
	assert.NoFileExists(t, filepath.Join(data, "new.txt"), "mounts are read-only")

	code, out, stderr = bench(wasiGuest, "readFile", "s:/data/hello.txt")
	require.Equal(t, 0, code, stderr)
	assert.NotContains(t, out, `hi from the host`, "nothing mounted without --dir")
}

func TestBenchWASIErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		msg  string
	}{
		{"env without =", []string{"--env", "A"}, `--env "A": want K=V`},
		{"env without key", []string{"--wasi", "--env", "=1"}, `--env "=1": want K=V`},
		{"relative guest path", []string{"--dir", dir + ":data"}, `the guest path "data" must be absolute`},
		{"empty dir", []string{"--wasi", "--dir", ""}, `--dir "": want HOST[:GUEST]`},
		{"missing dir", []string{"--dir", filepath.Join(dir, "nope")}, "nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, stderr := aspect(t, append(append([]string{"bench", "--runs", "1"}, tc.args...), echoWasm, "greet", "s:x")...)
			assert.Equal(t, 2, code, stderr)
			assert.Empty(t, out)
			assert.Contains(t, stderr, tc.msg)
		})
	}
}
