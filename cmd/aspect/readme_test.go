package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/runtime"
)

// The README's own commands: every `aspect` command line it shows in a
// shell block is run, with the CLI built once for this build's engines,
// and must succeed (or exit with the status its "# exits N" comment
// gives) and print what its "# prints: TEXT" comment says. A shell line
// that mentions aspect but is not recognized as a command, or as one of
// the few lines that only move the binary around, fails the test, so a
// new example cannot go unrun.

// fence is a fenced code block of the README.
type fence struct {
	lang  string
	lines []string
	line  int // of the opening fence, 1-based
}

func readmeFences(t *testing.T) []fence {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	var out []fence
	var cur *fence
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur == nil && strings.HasPrefix(line, "```"):
			cur = &fence{lang: strings.TrimPrefix(line, "```"), line: n}
		case cur != nil && line == "```":
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.lines = append(cur.lines, line)
		}
	}
	require.Nil(t, cur, "unterminated code block")
	return out
}

// aspectCall matches the CLI where a shell command starts: `go run
// ./cmd/aspect`, `aspect`, or a path ending in /aspect run through ssh.
var aspectCall = regexp.MustCompile(`(^|[|;&(]\s*)(go run \./cmd/aspect|aspect|ssh \S+ /\S*/aspect)(\s|$)`)

// mentionsAspect matches a shell line that names the CLI (not
// __aspect_start__ or aspect-runtime).
var mentionsAspect = regexp.MustCompile(`(^|[\s/])aspect(\s|$)`)

// notCommands are the shell lines naming aspect that do not run it.
var notCommands = map[string]bool{
	"scp dist/wasmer/aspect dist/wasmer/libwasmer.so host:/opt/aspect/   # keep them together": true,
}

// readmeCommand is a command of the README to run.
type readmeCommand struct {
	line   int
	shell  string // as the README shows it, without its comment
	prints *string
	exits  int
	dir    string // "" for the repository's root
}

var (
	printsComment = regexp.MustCompile(`#\s*prints:\s?(.*)$`)
	exitsComment  = regexp.MustCompile(`#.*\bexits (\d+)`)
)

// guestExample names the guest example a fence holds: "ts" for the
// AssemblyScript one, "go" for the Go one (a go block with the wasip1
// build constraint), "" for any other.
func guestExample(f fence) string {
	switch {
	case f.lang == "ts":
		return "ts"
	case f.lang == "go" && len(f.lines) > 0 && f.lines[0] == "//go:build wasip1":
		return "go"
	}
	return ""
}

// readmeCommands extracts the commands. The shell block right after a
// guest example builds it and runs it: it runs in exampleDir of that
// example, where the test put the module the example builds.
func readmeCommands(t *testing.T, fences []fence, exampleDir map[string]string) []readmeCommand {
	t.Helper()
	var cmds []readmeCommand
	for i, f := range fences {
		if f.lang != "sh" {
			continue
		}
		dir := ""
		if i > 0 {
			dir = exampleDir[guestExample(fences[i-1])]
		}
		for j, l := range f.lines {
			if !mentionsAspect.MatchString(l) || notCommands[l] {
				continue
			}
			loc := aspectCall.FindStringIndex(l)
			require.NotNil(t, loc, "README.md:%d: a shell line names aspect but is no command the test runs: %q", f.line+1+j, l)
			c := readmeCommand{line: f.line + 1 + j, shell: l, dir: dir}
			if k := strings.Index(l, "  #"); k >= 0 {
				c.shell = strings.TrimSpace(l[:k])
				if m := printsComment.FindStringSubmatch(l[k:]); m != nil {
					c.prints = &m[1]
				}
				if m := exitsComment.FindStringSubmatch(l[k:]); m != nil {
					c.exits, _ = strconv.Atoi(m[1])
				}
			}
			cmds = append(cmds, c)
		}
	}
	return cmds
}

// buildCLI builds cmd/aspect once with the engines of this test binary's
// build.
func buildCLI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "aspect")
	args := []string{"build", "-o", bin}
	env := os.Environ()
	switch engines := runtime.Engines(); {
	case slices.Contains(engines, "wasmer"):
		args = append(args, "-tags", "wasmer")
	case !slices.Contains(engines, "wasmtime"):
		args = append(args, "-tags", "wazero")
		env = append(env, "CGO_ENABLED=0")
	}
	cmd := exec.Command("go", append(args, ".")...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// buildGoExample builds the README's Go guest example (its go block) as
// the README says, into dir/greet.wasm, as a package of this module (an
// overlay: nothing is written into the repository).
func buildGoExample(t *testing.T, src, dir string) {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	tmp := t.TempDir()
	mainGo := filepath.Join(tmp, "main.go")
	require.NoError(t, os.WriteFile(mainGo, []byte(src), 0o644))
	overlay, err := json.Marshal(map[string]any{"Replace": map[string]string{filepath.Join(root, "internal", "readmeexample", "main.go"): mainGo}})
	require.NoError(t, err)
	overlayFile := filepath.Join(tmp, "overlay.json")
	require.NoError(t, os.WriteFile(overlayFile, overlay, 0o644))
	cmd := exec.Command("go", "build", "-overlay", overlayFile, "-buildmode=c-shared", "-o", filepath.Join(dir, "greet.wasm"), "./internal/readmeexample")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "building the README's Go example: %s", out)
}

// asExample checks that the README's AssemblyScript example is
// testdata/readme/greet.ts and copies the committed greet.wasm into dir;
// with the pinned AssemblyScript compiler installed (conformance/node_modules,
// which links the guest package @aspect-runtime/guest), it also checks that
// greet.wasm is what the README's asc flags build from it.
func asExample(t *testing.T, src, dir string) {
	t.Helper()
	committed, err := os.ReadFile(filepath.Join("testdata", "readme", "greet.ts"))
	require.NoError(t, err)
	assert.Equal(t, src, string(committed),
		"the README's AssemblyScript example and cmd/aspect/testdata/readme/greet.ts differ: update the file and rebuild its greet.wasm")
	wasm, err := os.ReadFile(filepath.Join("testdata", "readme", "greet.wasm"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "greet.wasm"), wasm, 0o644))
	asc, err := filepath.Abs(filepath.Join("..", "..", "conformance", "node_modules", ".bin", "asc"))
	require.NoError(t, err)
	if _, err := os.Stat(asc); err == nil {
		out := filepath.Join(t.TempDir(), "greet.wasm")
		cmd := exec.Command(asc, "greet.ts", "--path", filepath.Join("..", "..", "..", "..", "conformance", "node_modules"), "--runtime", "stub", "--exportRuntime", "--exportStart", "__aspect_start__", "-O3", "-o", out)
		cmd.Dir = filepath.Join("testdata", "readme")
		msg, err := cmd.CombinedOutput()
		require.NoError(t, err, "asc: %s", msg)
		rebuilt, err := os.ReadFile(out)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(wasm, rebuilt), "testdata/readme/greet.wasm is not what asc builds from greet.ts: rebuild it")
	}
}

func TestREADMECommands(t *testing.T) {
	fences := readmeFences(t)
	examples := map[string]string{}
	for _, f := range fences {
		if ex := guestExample(f); ex != "" {
			require.NotContains(t, examples, ex, "README.md:%d: a second guest example", f.line)
			examples[ex] = strings.Join(f.lines, "\n") + "\n"
		}
	}
	require.Len(t, examples, 2, "the README's Go and AssemblyScript guest examples")
	dirs := map[string]string{"go": t.TempDir(), "ts": t.TempDir()}
	buildGoExample(t, examples["go"], dirs["go"])
	asExample(t, examples["ts"], dirs["ts"])

	cmds := readmeCommands(t, fences, dirs)
	require.NotEmpty(t, cmds)
	assert.Equal(t, "go run ./cmd/aspect run conformance/fixtures/as/echo.wasm greet s:world", cmds[0].shell, "the README's first command")
	for _, want := range []string{"run", "bench", "validate", "inspect", "engines", "--version"} {
		assert.True(t, slices.ContainsFunc(cmds, func(c readmeCommand) bool {
			return regexp.MustCompile(`aspect ` + regexp.QuoteMeta(want) + `\b`).MatchString(c.shell)
		}), "no README command runs aspect %s", want)
	}
	for _, dir := range dirs {
		require.NoError(t, os.Symlink(mustAbs(t, filepath.Join("..", "..", "conformance")), filepath.Join(dir, "conformance")))
	}

	bin := buildCLI(t)
	root := mustAbs(t, filepath.Join("..", ".."))
	for _, c := range cmds {
		t.Run(strconv.Itoa(c.line), func(t *testing.T) {
			shell := aspectCall.ReplaceAllString(c.shell, "${1}"+strconv.Quote(bin)+"${3}")
			cmd := exec.Command("sh", "-c", shell)
			cmd.Dir = root
			if c.dir != "" {
				cmd.Dir = c.dir
			}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, c.exits, code, "README.md:%d: %s\nstdout: %s\nstderr: %s", c.line, c.shell, stdout.String(), stderr.String())
			if c.prints != nil {
				assert.Equal(t, *c.prints, strings.TrimRight(stdout.String(), "\n"), "README.md:%d: %s", c.line, c.shell)
			}
		})
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	abs, err := filepath.Abs(p)
	require.NoError(t, err)
	return abs
}

// TestREADMEDocumentsEveryFlag: the README's CLI section names every flag
// of every command, as `--flag`.
func TestREADMEDocumentsEveryFlag(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	readme := string(data)
	start := strings.Index(readme, "## The command-line tool")
	require.GreaterOrEqual(t, start, 0)
	section := readme[start:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	flagLine := regexp.MustCompile(`(?m)^  -(\S+)`)
	for _, cmd := range []string{"run", "bench", "validate", "inspect"} {
		_, out, stderr := aspect(t, cmd, "-h")
		flags := flagLine.FindAllStringSubmatch(out+stderr, -1)
		require.NotEmpty(t, flags, "aspect %s -h lists no flags", cmd)
		for _, f := range flags {
			assert.Contains(t, section, "`--"+f[1], "README's CLI section does not document aspect %s --%s", cmd, f[1])
		}
	}
}
