package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aspect-rt/aspect-runtime/runtime"
)

// TestPluginHost runs the program on the committed plugins: results, host
// calls bound per request, state reset between requests, and every kind of
// failing request, answered in order while the host carries on.
func TestPluginHost(t *testing.T) {
	in := strings.Join([]string{
		"text upper hello, plugins",
		"greet greet ann",
		"text count",
		"text count",
		"text spin",
		"nope x",
		"",
		"text",
		"text missing",
		"greet greet",
		"greet greet bob",
	}, "\n") + "\n"
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"-plugins", "plugins", "-gas", "100000", "-workers", "3"}, strings.NewReader(in), &stdout, &stderr)
	if err != nil {
		t.Fatalf("run: %v (stderr %q)", err, stderr.String())
	}
	want := strings.Join([]string{
		"text.upper: HELLO, PLUGINS",
		"greet.greet: Hello, ann! (request 2)",
		"text.count: 1",
		"text.count: 1",
		"text.spin: error: aspect: out of gas in spin (gas used 100000, left 0)",
		`nope.x: error: no plugin "nope"`,
		"text: error: want PLUGIN METHOD [ARGUMENT]",
		`text.missing: error: aspect: missing export: "missing"`,
		`greet.greet: error: aspect: wrong argument count: "greet" takes 1 arguments, got 0`,
		"greet.greet: Hello, bob! (request 10)",
	}, "\n") + "\n"
	if got := stdout.String(); got != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", got, want)
	}
	if got, want := stderr.String(), "pluginhost: loaded greet, text\n"; got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
}

// TestPluginHostConcurrent serves many requests with several workers: each
// answer comes in the order of its request, from that request's own host
// function and a freshly reset instance.
func TestPluginHostConcurrent(t *testing.T) {
	const n = 200
	var in, want strings.Builder
	for i := 1; i <= n; i++ {
		switch i % 3 {
		case 0:
			fmt.Fprintf(&in, "greet greet u%d\n", i)
			fmt.Fprintf(&want, "greet.greet: Hello, u%d! (request %d)\n", i, i)
		case 1:
			fmt.Fprintf(&in, "text count\n")
			fmt.Fprintf(&want, "text.count: 1\n")
		case 2:
			fmt.Fprintf(&in, "text upper u%d\n", i)
			fmt.Fprintf(&want, "text.upper: U%d\n", i)
		}
	}
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"-plugins", "plugins", "-workers", "4"}, strings.NewReader(in.String()), &stdout, &stderr); err != nil {
		t.Fatalf("run: %v (stderr %q)", err, stderr.String())
	}
	if got := stdout.String(); got != want.String() {
		t.Errorf("stdout:\n%s\nwant:\n%s", got, want.String())
	}
}

// TestPluginHostLoadErrors checks that the program refuses to start, with an
// error naming the cause, on a directory without plugins, a plugin that is
// not WebAssembly, and bad flags.
func TestPluginHostLoadErrors(t *testing.T) {
	empty := t.TempDir()
	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, "bad.wasm"), []byte("not wasm"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		is   error  // nil: any error
		msg  string // in the error's message
	}{
		{args: []string{"-plugins", empty}, msg: "no plugins"},
		{args: []string{"-plugins", bad}, is: runtime.ErrCompile, msg: "bad.wasm"},
		{args: []string{"-workers", "0"}, msg: "-workers"},
		{args: []string{"-plugins", "plugins", "extra"}, msg: "unexpected argument"},
		{args: []string{"-h"}, is: flag.ErrHelp},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), tc.args, strings.NewReader("text count\n"), &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), tc.msg) || (tc.is != nil && !errors.Is(err, tc.is)) {
			t.Errorf("%q: error %v, want one matching %v containing %q", tc.args, err, tc.is, tc.msg)
		}
		if stdout.Len() != 0 {
			t.Errorf("%q: stdout %q, want nothing", tc.args, stdout.String())
		}
	}
}
