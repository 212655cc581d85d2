package main

import (
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"github.com/aspect-rt/aspect-runtime/runtime"
	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// engineModules maps each engine to the Go module that implements it, for
// the versions `aspect --version` prints.
var engineModules = map[string]string{
	"wasmtime": "github.com/bytecodealliance/wasmtime-go",
	"wazero":   "github.com/tetratelabs/wazero",
	"wasmer":   "github.com/wasmerio/wasmer-go",
}

// versionCmd implements `aspect --version`: the module's version (with
// its VCS revision when the binary records one), the Go release, and the
// engines linked into this build with their Go modules' versions.
func versionCmd(stdout io.Writer) error {
	bi, _ := debug.ReadBuildInfo()
	fmt.Fprint(stdout, versionText(bi, engine.Drivers(), runtime.DefaultEngine()))
	return nil
}

// versionText formats the version report from bi (nil when the binary has
// no build information) and the engines linked.
func versionText(bi *debug.BuildInfo, engines []string, def string) string {
	var b strings.Builder
	path, version, goVersion := "github.com/aspect-rt/aspect-runtime", "(devel)", "unknown"
	deps := map[string]string{}
	var rev, modified string
	if bi != nil {
		if bi.Main.Path != "" {
			path = bi.Main.Path
		}
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		goVersion = bi.GoVersion
		for _, d := range bi.Deps {
			v := d.Version
			if d.Replace != nil {
				v = strings.TrimSpace(d.Replace.Version + " (replaced)")
			}
			deps[d.Path] = v
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
	}
	fmt.Fprintf(&b, "aspect %s %s", path, version)
	if rev != "" {
		fmt.Fprintf(&b, " (revision %.12s", rev)
		if modified == "true" {
			b.WriteString(", modified")
		}
		b.WriteString(")")
	}
	fmt.Fprintf(&b, "\ngo:      %s\nengines:", goVersion)
	if len(engines) == 0 {
		b.WriteString(" none")
	}
	for i, e := range engines {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(" " + e)
		if v := moduleVersion(deps, engineModules[e]); v != "" {
			b.WriteString(" " + v)
		}
		if e == def {
			b.WriteString(" (default)")
		}
	}
	b.WriteString("\n")
	return b.String()
}

// moduleVersion returns the version of the dependency whose path is mod
// or mod followed by a major version suffix (/v44), "" if none.
func moduleVersion(deps map[string]string, mod string) string {
	if mod == "" {
		return ""
	}
	for p, v := range deps {
		if p == mod || strings.HasPrefix(p, mod+"/v") {
			return v
		}
	}
	return ""
}
