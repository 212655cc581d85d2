package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestMain points the user cache directory, where run and bench keep
// compiled code by default (--cache-dir), at a temporary directory, so
// that the tests never write into the real one. The go command keeps its
// own build cache (the README test builds the CLI).
func TestMain(m *testing.M) {
	if os.Getenv("GOCACHE") == "" {
		if d, err := os.UserCacheDir(); err == nil {
			os.Setenv("GOCACHE", filepath.Join(d, "go-build"))
		}
	}
	tmp, err := os.MkdirTemp("", "aspect-cli-cache")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("XDG_CACHE_HOME", tmp) // os.UserCacheDir on Linux and the BSDs
	os.Setenv("LocalAppData", tmp)   // on Windows
	code := m.Run()
	os.RemoveAll(tmp)
	os.Exit(code)
}
