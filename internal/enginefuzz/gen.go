package enginefuzz

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// Features are the wasm-opt flags that restrict translate-to-fuzz to what
// the runtime supports: WebAssembly 2.0 (MVP, mutable globals, sign
// extension, non-trapping float-to-int, bulk memory, multi-value, reference
// types) and nothing else (no SIMD, threads, exceptions, GC, tail calls,
// memory64, multi-memory, extended-const, ...).
var Features = []string{
	"--mvp-features",
	"--enable-mutable-globals",
	"--enable-sign-ext",
	"--enable-nontrapping-float-to-int",
	"--enable-bulk-memory",
	"--enable-multivalue",
	"--enable-reference-types",
}

// MaxAttempts bounds the inputs tried for one module: wasm-opt -ttf
// occasionally fails on an input (an internal error of binaryen), and a
// module may import what StubImports cannot replace.
const MaxAttempts = 20

// Generator makes the random modules of the fuzzer with binaryen's wasm-opt.
type Generator struct {
	// WasmOpt is the wasm-opt command (binaryen, pinned by package.json).
	WasmOpt string
	// Dir is a scratch directory for wasm-opt's input and output files.
	Dir string
	// Timeout bounds one wasm-opt run (default 60s).
	Timeout time.Duration
	// Accept, when set, vets a module: one it returns an error for is
	// dropped and the next input tried (see Module.Rejected).
	Accept func(wasm []byte) error
}

// Module is a generated module.
type Module struct {
	Seed  uint64
	Index int
	// Attempt is the number of inputs wasm-opt failed on before this one.
	Attempt int
	// Input is the random input wasm-opt -ttf translated.
	Input []byte
	// Wasm is the module: wasm-opt's output with its imports stubbed.
	Wasm []byte
	// Rejected says why each earlier attempt was dropped.
	Rejected []error
}

// Input returns the random bytes translated into module index of seed at
// the given attempt: a pure function of its arguments, so module i of seed
// S is always the same module (with the same wasm-opt).
func Input(seed uint64, index, attempt int) []byte {
	key := sha256.Sum256(fmt.Appendf(nil, "aspect-runtime/enginefuzz/%d/%d/%d", seed, index, attempt))
	rng := rand.New(rand.NewChaCha8(key))
	// translate-to-fuzz makes a module about as big as its input allows:
	// from a few functions to a few dozen.
	n := 1024 + rng.IntN(31*1024)
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], rng.Uint64())
		copy(b[i:], w[:])
	}
	return b
}

// WasmOptArgs returns the wasm-opt arguments that translate in into out:
// translate-to-fuzz with Features, then --denan, which rewrites every float
// value that could be a NaN to 0 at run time. NaN bit patterns are the one
// thing the specification leaves to the engine (the sign and payload of a
// NaN an arithmetic instruction produces); without denan they would reach
// integers through reinterpretations and memory and make legitimate engine
// differences. Loops and recursion keep translate-to-fuzz's hang limits.
func WasmOptArgs(in, out string) []string {
	args := []string{in, "-ttf"}
	args = append(args, Features...)
	return append(args, "--denan", "-o", out)
}

// Generate returns module index of seed.
func (g *Generator) Generate(ctx context.Context, seed uint64, index int) (*Module, error) {
	var errs []error
	for attempt := 0; attempt < MaxAttempts; attempt++ {
		in := Input(seed, index, attempt)
		wasm, err := g.translate(ctx, in, fmt.Sprintf("m%d-%d-%d", seed, index, attempt))
		if err == nil {
			wasm, err = StubImports(wasm)
		}
		if err == nil && g.Accept != nil {
			err = g.Accept(wasm)
		}
		if err == nil {
			return &Module{Seed: seed, Index: index, Attempt: attempt, Input: in, Wasm: wasm, Rejected: errs}, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		errs = append(errs, fmt.Errorf("attempt %d: %w", attempt, err))
	}
	return nil, fmt.Errorf("enginefuzz: no module for seed %d index %d after %d attempts: %w", seed, index, MaxAttempts, errors.Join(errs...))
}

func (g *Generator) translate(ctx context.Context, input []byte, name string) ([]byte, error) {
	in := filepath.Join(g.Dir, name+".dat")
	out := filepath.Join(g.Dir, name+".wasm")
	defer os.Remove(in)
	defer os.Remove(out)
	if err := os.WriteFile(in, input, 0o644); err != nil {
		return nil, err
	}
	timeout := g.Timeout
	if timeout == 0 {
		timeout = time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, g.WasmOpt, WasmOptArgs(in, out)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := stderr.String()
		if len(msg) > 300 {
			msg = msg[:300] + "..."
		}
		return nil, fmt.Errorf("wasm-opt: %w: %s", err, msg)
	}
	return os.ReadFile(out)
}
