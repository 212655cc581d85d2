package metering

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

const hashRounds = 2000

// hashModule builds a compute module: hash(rounds) runs rounds outer
// iterations, each hashing the 256 little-endian words of a 1 KiB data
// segment (inner loop, FNV-1a style on words) and then mixing in the round
// number through a call.
func hashModule() []byte {
	w := &wmod{}
	tMix := w.typ([]byte{i64, i64}, []byte{i64})
	tHash := w.typ([]byte{i64}, []byte{i64})
	w.memory(1)
	mix := w.fn(tMix, nil, lget(0), lget(1), op(0x85), i64c(0x100000001b3), op(0x7e))
	// locals: 1 = h (i64), 2 = r (i64), 3 = i (i32)
	hash := w.fn(tHash, locals(2, i64, 1, i32),
		i64c(-3750763034362895579), lset(1),
		block(empty), loop(empty),
		lget(2), lget(0), op(0x5a), brIf(1), // r >= rounds: done
		i32c(0), lset(3),
		loop(empty),
		lget(1), lget(3), i32c(2), op(0x74), op(0x28), memarg(2, 0), op(0xad), op(0x85),
		i64c(0x100000001b3), op(0x7e), lset(1),
		lget(3), i32c(1), op(0x6a), ltee(3), i32c(256), op(0x48), brIf(0),
		end,
		lget(1), lget(2), call(mix), lset(1),
		lget(2), i64c(1), op(0x7c), lset(2),
		br(0),
		end, end,
		lget(1))
	w.export("hash", 0, hash)
	w.datas = append(w.datas, cat([]byte{0}, i32c(0), end, u32(1024), hashData()))
	return w.bytes()
}

func hashData() []byte {
	d := make([]byte, 1024)
	for k := range d {
		d[k] = byte(k*7 + 3)
	}
	return d
}

func hashRef(rounds uint64) uint64 {
	d := hashData()
	h := uint64(0xcbf29ce484222325)
	for r := uint64(0); r < rounds; r++ {
		for i := 0; i < 256; i++ {
			v := uint64(d[4*i]) | uint64(d[4*i+1])<<8 | uint64(d[4*i+2])<<16 | uint64(d[4*i+3])<<24
			h = (h ^ v) * 0x100000001b3
		}
		h = (h ^ r) * 0x100000001b3
	}
	return h
}

var (
	goWasmOnce sync.Once
	goWasm     []byte
	goWasmErr  string
)

const goGuest = `package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

func main() {
	words := strings.Fields("the quick brown fox jumps over the lazy dog")
	sort.Strings(words)
	b, _ := json.Marshal(map[string]any{"words": words, "n": len(words)})
	fmt.Println(string(b))
	if len(os.Args) > 1 {
		os.Exit(3)
	}
}
`

// goModule builds (once) a wasip1 module with the standard Go toolchain. It
// skips the test if no go toolchain can be found.
func goModule(t testing.TB) []byte {
	goWasmOnce.Do(func() {
		gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, err := os.Stat(gobin); err != nil {
			if gobin, err = exec.LookPath("go"); err != nil {
				goWasmErr = "go toolchain not found: " + err.Error()
				return
			}
		}
		dir, err := os.MkdirTemp("", "metering-go")
		if err != nil {
			goWasmErr = err.Error()
			return
		}
		defer os.RemoveAll(dir)
		if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(goGuest), 0o644); err != nil {
			goWasmErr = err.Error()
			return
		}
		if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module guest\n\ngo 1.21\n"), 0o644); err != nil {
			goWasmErr = err.Error()
			return
		}
		cmd := exec.Command(gobin, "build", "-o", "x.wasm", ".")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "GOFLAGS=", "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			goWasmErr = "go build failed: " + err.Error() + "\n" + string(out)
			return
		}
		goWasm, err = os.ReadFile(filepath.Join(dir, "x.wasm"))
		if err != nil {
			goWasmErr = err.Error()
		}
	})
	if goWasm == nil {
		if goWasmErr != "" && goWasmErr[:8] == "go toolc" {
			t.Skip(goWasmErr)
		}
		t.Fatal(goWasmErr)
	}
	return goWasm
}
