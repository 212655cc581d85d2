package enginefuzz

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeRunner writes a shell script standing in for a runner build.
func fakeRunner(t *testing.T, name, script string) Runner {
	t.Helper()
	path := filepath.Join(t.TempDir(), "runner-"+name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return Runner{Name: name, Path: path}
}

func reportScript(t *testing.T, r *Report) string {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return "cat <<'EOF'\n" + string(b) + "\nEOF"
}

func TestExecute(t *testing.T) {
	ctx := context.Background()
	module := filepath.Join(t.TempDir(), "m.wasm")
	good := fakeRunner(t, "wazero", reportScript(t, sampleReport("wazero")))
	if res := good.Execute(ctx, module, 10*time.Second); res.Report == nil || res.Report.Engine != "wazero" {
		t.Fatalf("a good runner: %+v", res)
	}
	for _, c := range []struct {
		name, script, failure, detail string
	}{
		{"hang", "sleep 30", DiffHang, "no report after"},
		{"signal", "kill -SEGV $$", DiffCrash, "signal"},
		{"exit status", "echo boom >&2; exit 3", DiffCrash, "boom"},
		{"garbage", "echo '{\"engine\": 7}'", DiffCrash, "bad report"},
		{"unknown field", "echo '{\"engine\": \"x\", \"extra\": 1}'", DiffCrash, "bad report"},
	} {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			res := fakeRunner(t, "wasmer", c.script).Execute(ctx, module, 500*time.Millisecond)
			if res.Report != nil || res.Failure != c.failure || !strings.Contains(res.Detail, c.detail) {
				t.Errorf("got report %v, failure %q, detail %q; want %s with %q", res.Report != nil, res.Failure, res.Detail, c.failure, c.detail)
			}
			if time.Since(start) > 10*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
		})
	}
}

// TestCheckModule: a runner that disagrees, one that hangs and one that
// reports another engine are all findings.
func TestCheckModule(t *testing.T) {
	ctx := context.Background()
	wrong := sampleReport("wasmer")
	wrong.Runs[0].Calls[0].Results[0] = "i32:0x00000007"
	runners := []Runner{
		fakeRunner(t, "wasmtime", reportScript(t, sampleReport("wasmtime"))),
		fakeRunner(t, "wazero", reportScript(t, sampleReport("wazero"))),
		fakeRunner(t, "wasmer", reportScript(t, wrong)),
		fakeRunner(t, "slow", "sleep 30"),
		fakeRunner(t, "liar", reportScript(t, sampleReport("wazero"))),
	}
	m := &Module{Seed: 1, Index: 2, Wasm: []byte("\x00asm\x01\x00\x00\x00")}
	res, err := CheckModule(ctx, runners, m, t.TempDir(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, d := range res.Diffs {
		kinds[d.Kind+"/"+strings.Join(d.Engines, ",")] = true
	}
	for _, want := range []string{DiffResult + "/wasmtime,wasmer", DiffHang + "/slow", DiffCrash + "/liar", DiffMetered + "/wasmer"} {
		if !kinds[want] {
			t.Errorf("no %s among %v", want, res.Diffs)
		}
	}
	if kinds[DiffResult+"/wasmtime,wazero"] {
		t.Error("agreeing engines reported")
	}
	dir, err := SaveFinding(t.TempDir(), res, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"module.wasm", "input.dat", "differences.txt", "wasmtime.json", "slow.failure.txt"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}

func TestDropActiveBeforeInit(t *testing.T) {
	wat := `(module
 (memory $0 1 1)
 (data $0 "passive")
 (data $1 (i32.const 4) "active")
 (func $f
  (memory.init $0
   (i32.const 0) (i32.const 0) (i32.const 1))
  (memory.init $1
   (i32.const 0) (i32.const 6) (i32.const 0))
 )
)`
	out, ok := dropActiveBeforeInit(wat)
	if !ok {
		t.Fatal("nothing patched")
	}
	if strings.Count(out, "data.drop") != 1 || !strings.Contains(out, "(data.drop $1)\n(memory.init $1") {
		t.Errorf("patched:\n%s", out)
	}
	if _, ok := dropActiveBeforeInit(strings.ReplaceAll(wat, "memory.init $1", "memory.init $0")); ok {
		t.Error("patched a module that initializes from passive segments only")
	}
}
