package main

import (
	"regexp"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aspect-rt/aspect-runtime/runtime"
)

func TestVersionCommand(t *testing.T) {
	for _, arg := range []string{"--version", "-version", "version"} {
		code, out, stderr := aspect(t, arg)
		require.Equal(t, 0, code, stderr)
		assert.Empty(t, stderr)
		assert.Regexp(t, `^aspect github.com/aspect-rt/aspect-runtime \S+.*\ngo:      go1\.\d+`, out)
		m := regexp.MustCompile(`\nengines: (.*)\n$`).FindStringSubmatch(out)
		require.NotNil(t, m, out)
		var names []string
		for _, e := range strings.Split(m[1], ", ") {
			names = append(names, strings.Fields(e)[0])
			if strings.HasPrefix(e, runtime.DefaultEngine()+" ") {
				assert.True(t, strings.HasSuffix(e, " (default)"), e)
			}
		}
		assert.Equal(t, runtime.Engines(), names, "the engines linked into this build")
	}
}

func TestVersionText(t *testing.T) {
	bi := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "github.com/aspect-rt/aspect-runtime", Version: "v1.2.3"},
		Deps: []*debug.Module{
			{Path: "github.com/bytecodealliance/wasmtime-go/v44", Version: "v44.0.0"},
			{Path: "github.com/tetratelabs/wazero", Version: "v1.12.0"},
			{Path: "github.com/wasmerio/wasmer-go", Version: "v1.0.4", Replace: &debug.Module{Path: "../wasmer-go", Version: ""}},
		},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "true"}},
	}
	assert.Equal(t, "aspect github.com/aspect-rt/aspect-runtime v1.2.3 (revision 0123456789ab, modified)\n"+
		"go:      go1.26.8\n"+
		"engines: wasmtime v44.0.0 (default), wazero v1.12.0\n",
		versionText(bi, []string{"wasmtime", "wazero"}, "wasmtime"))
	assert.Equal(t, "aspect github.com/aspect-rt/aspect-runtime v1.2.3 (revision 0123456789ab, modified)\n"+
		"go:      go1.26.8\n"+
		"engines: wasmer (replaced) (default), wazero v1.12.0\n",
		versionText(bi, []string{"wasmer", "wazero"}, "wasmer"))
	assert.Equal(t, "aspect github.com/aspect-rt/aspect-runtime (devel)\ngo:      unknown\nengines: none\n", versionText(nil, nil, ""))
}
