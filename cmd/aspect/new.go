package main

import (
	"bufio"
	"bytes"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"
)

// templates holds the projects `aspect new` writes: templates/LANG/FILE.tmpl
// becomes DIR/FILE, with "__" in FILE a directory separator
// (src__lib.rs.tmpl becomes src/lib.rs, gitignore.tmpl .gitignore).
//
//go:embed templates
var templates embed.FS

// modulePath is this repository's Go module.
const modulePath = "github.com/aspect-rt/aspect-runtime"

const newHelp = `usage: aspect new [--lang as|go|rust] [--sdk DIR] DIR

Writes a new guest project into DIR (which must not exist or be empty),
ready to build outside this repository:

  as   AssemblyScript with the npm package @aspect-runtime/guest:
       npm install, npm run build, npm start
  go   Go with the package github.com/aspect-rt/aspect-runtime/guest:
       make, make run
  rust Rust with the crate aspect-guest (guest/rust), built with rustc
       alone (or cargo): make, make run

The guest libraries are not published yet, so the project points at a
checkout of aspect-runtime (a file: dependency for npm, a replace
directive for go, a path dependency for Rust): --sdk, or else the checkout that contains the current
directory.

`

// newData is what the templates see.
type newData struct {
	Name              string // the project's name: DIR's base name, as an npm/Go name
	CrateName         string // Name as a Rust crate name ('-' is '_')
	Module            string // the Go module path
	SDK               string // absolute path of the aspect-runtime checkout
	ASPackage         string // the npm dependency of @aspect-runtime/guest
	GoVersion         string // the go directive, the checkout's
	GoVersionOfModule string // the required version of aspect-runtime
}

// newCmd writes a guest project from a template: aspect new --lang LANG DIR.
func newCmd(args []string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("new", flag.ContinueOnError)
	fset.SetOutput(stderr)
	lang := fset.String("lang", "as", "the guest's `LANGUAGE`: as (AssemblyScript), go or rust")
	sdk := fset.String("sdk", "", "the aspect-runtime checkout the project uses (`DIR`; default: the one containing the current directory)")
	if err := parseFlags(fset, args, newHelp, stdout); err != nil {
		return err
	}
	if fset.NArg() != 1 {
		return fmt.Errorf("%w: new needs exactly one DIR", errUsage)
	}
	dir := fset.Arg(0)
	switch *lang {
	case "as", "go", "rust":
	default:
		return fmt.Errorf("%w: --lang %q: want as, go or rust", errUsage, *lang)
	}
	root, err := findSDK(*sdk)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(root, "guest", "rust", "Cargo.toml")); *lang == "rust" && err != nil {
		return fmt.Errorf("%w: --lang rust: the checkout %s has no Rust guest crate (guest/rust)", errUsage, root)
	}
	goVersion, err := goDirective(filepath.Join(root, "go.mod"))
	if err != nil {
		return err
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%w: %s exists and is not empty", errUsage, dir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	name := projectName(filepath.Base(abs))
	data := newData{
		Name:              name,
		CrateName:         strings.ReplaceAll(name, "-", "_"),
		Module:            "example.com/" + name,
		SDK:               root,
		ASPackage:         "file:" + filepath.ToSlash(filepath.Join(root, "guest", "assemblyscript")),
		GoVersion:         goVersion,
		GoVersionOfModule: "v0.0.0-00010101000000-000000000000",
	}
	files, err := renderTemplate(*lang, data)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		file := filepath.Join(dir, filepath.FromSlash(f.name))
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(file, f.data, 0o644); err != nil {
			return err
		}
		fmt.Fprintln(stdout, file)
	}
	return nil
}

// newFile is one file of a rendered template.
type newFile struct {
	name string
	data []byte
}

// renderTemplate renders every file of templates/lang.
func renderTemplate(lang string, data newData) ([]newFile, error) {
	base := path.Join("templates", lang)
	entries, err := templates.ReadDir(base)
	if err != nil {
		return nil, err
	}
	var out []newFile
	for _, e := range entries {
		src, err := templates.ReadFile(path.Join(base, e.Name()))
		if err != nil {
			return nil, err
		}
		t, err := template.New(e.Name()).Option("missingkey=error").Parse(string(src))
		if err != nil {
			return nil, err
		}
		var b bytes.Buffer
		if err := t.Execute(&b, data); err != nil {
			return nil, err
		}
		name := strings.ReplaceAll(strings.TrimSuffix(e.Name(), ".tmpl"), "__", "/")
		if name == "gitignore" {
			name = ".gitignore"
		}
		out = append(out, newFile{name: name, data: b.Bytes()})
	}
	return out, nil
}

// findSDK returns the absolute path of the aspect-runtime checkout: dir
// if given (it must be one), else the nearest directory containing the
// current one whose go.mod declares the module.
func findSDK(dir string) (string, error) {
	if dir != "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return "", err
		}
		if !isSDK(abs) {
			return "", fmt.Errorf("%w: --sdk %s: not a checkout of %s (no go.mod declaring it)", errUsage, dir, modulePath)
		}
		return abs, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if isSDK(d) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	return "", fmt.Errorf("%w: the guest libraries are not published yet: run aspect new inside a checkout of %s or give one with --sdk DIR", errUsage, modulePath)
}

// isSDK reports whether dir holds the aspect-runtime module and its
// AssemblyScript package.
func isSDK(dir string) bool {
	mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil || !moduleLine.Match(mod) {
		return false
	}
	_, err = os.Stat(filepath.Join(dir, "guest", "assemblyscript", "package.json"))
	return err == nil
}

var moduleLine = regexp.MustCompile(`(?m)^module\s+` + regexp.QuoteMeta(modulePath) + `\s*$`)

// goDirective returns the version of the go directive of the go.mod file.
func goDirective(gomod string) (string, error) {
	f, err := os.Open(gomod)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "go "); ok {
			return strings.TrimSpace(v), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("%s: no go directive", gomod)
}

// projectName turns a directory name into a name npm and Go accept:
// lower case letters, digits, '-' and '_' ("aspect" when nothing is left).
func projectName(base string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(base) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		case b.Len() > 0:
			b.WriteByte('-')
		}
	}
	name := strings.Trim(b.String(), "-_")
	if name == "" {
		return "aspect"
	}
	return name
}
