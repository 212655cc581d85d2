package enginefuzz

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Known is a divergence between engines that the runtime is known to have
// (a bug being fixed), recognized by a patch of the module's text that
// removes its cause without changing what the module means under the
// specification. When the patched module agrees on every engine, the known
// divergence explains the differences of the original. A module so
// explained still counts as a finding: the fuzzer never hides a
// difference, it only says where it comes from.
type Known struct {
	Name string
	// Patch rewrites the module's text (as wasm-opt --print writes it);
	// ok is false when there is nothing to patch.
	Patch func(wat string) (patched string, ok bool)
}

// KnownDivergences are the divergences triage looks for.
var KnownDivergences = []Known{
	{
		Name:  "active-data-segment",
		Patch: dropActiveBeforeInit,
	},
}

var (
	activeData = regexp.MustCompile(`\(data \$(\S+) \(`)
	memoryInit = regexp.MustCompile(`\(memory\.init \$([^\s()]+)`)
)

// dropActiveBeforeInit puts a data.drop of the segment before every
// memory.init of an active data segment. An active segment is dropped once
// the module is instantiated, so under the specification the data.drop
// changes nothing; wazero keeps active segments (memory.init copies from
// one where it must trap), and the explicit drop makes it follow the
// specification.
func dropActiveBeforeInit(wat string) (string, bool) {
	active := map[string]bool{}
	for _, m := range activeData.FindAllStringSubmatch(wat, -1) {
		active[m[1]] = true
	}
	n := 0
	out := memoryInit.ReplaceAllStringFunc(wat, func(s string) string {
		seg := memoryInit.FindStringSubmatch(s)[1]
		if !active[seg] {
			return s
		}
		n++
		return "(data.drop $" + seg + ")\n(memory.init $" + seg
	})
	return out, n > 0
}

// Triage looks for a known divergence that explains the differences of res:
// it patches the module for each applicable one (then for all of them
// together) and checks the patched module again. It returns the names of
// the divergences whose patch made every engine agree, or "" when none did.
func Triage(ctx context.Context, runners []Runner, res *ModuleResult, dir, wasmOpt string, timeout time.Duration) (string, error) {
	m := res.Module
	wasmPath := filepath.Join(dir, fmt.Sprintf("triage-%d-%d.wasm", m.Seed, m.Index))
	if err := os.WriteFile(wasmPath, m.Wasm, 0o644); err != nil {
		return "", err
	}
	defer os.Remove(wasmPath)
	args := append([]string{wasmPath}, Features...)
	wat, err := exec.CommandContext(ctx, wasmOpt, append(args, "--print")...).Output()
	if err != nil {
		return "", fmt.Errorf("wasm-opt --print: %w", err)
	}
	try := func(text string) (bool, error) {
		watPath := filepath.Join(dir, fmt.Sprintf("triage-%d-%d.wat", m.Seed, m.Index))
		defer os.Remove(watPath)
		if err := os.WriteFile(watPath, []byte(text), 0o644); err != nil {
			return false, err
		}
		cmd := exec.CommandContext(ctx, wasmOpt, append(append([]string{watPath}, Features...), "-o", wasmPath)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			return false, nil // the patch did not assemble: not explained
		}
		wasm, err := os.ReadFile(wasmPath)
		if err != nil {
			return false, err
		}
		patched := *m
		patched.Wasm = wasm
		pr, err := CheckModule(ctx, runners, &patched, dir, timeout)
		if err != nil {
			return false, err
		}
		return len(pr.Diffs) == 0, nil
	}
	var names []string
	all := string(wat)
	for _, k := range KnownDivergences {
		p, ok := k.Patch(string(wat))
		if !ok {
			continue
		}
		agreed, err := try(p)
		if err != nil {
			return "", err
		}
		if agreed {
			return k.Name, nil
		}
		all, _ = k.Patch(all)
		names = append(names, k.Name)
	}
	if len(names) < 2 {
		return "", nil
	}
	agreed, err := try(all)
	if err != nil || !agreed {
		return "", err
	}
	return strings.Join(names, "+"), nil
}
