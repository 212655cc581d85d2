// Package enginefuzz is the differential engine fuzzer of the runtime (make
// fuzz-engines): random valid WebAssembly modules, every export run on the
// wasmtime, wazero and wasmer builds, unmetered and metered, and any
// difference in results, error kinds or gas reported.
//
// The pieces:
//
//   - Generator makes module i of seed S (always the same bytes for the
//     same wasm-opt): binaryen's wasm-opt -ttf (translate-to-fuzz, pinned by
//     package.json and package-lock.json beside this file) turns random
//     bytes from Input into a valid module restricted to WebAssembly 2.0
//     (Features), with its hang limits on loops and recursion kept and
//     --denan applied (WasmOptArgs says why); StubImports then replaces
//     binaryen's fuzzing imports by defined functions and globals, since the
//     runtime satisfies only imports it knows.
//   - cmd/runner, built once per engine build, loads a module and prints a
//     Report: every numeric export called through runtime.CallWasm with
//     deterministic arguments (Args), in export order on one instance per
//     run, unmetered and metered (ample, exact, exact−1 and small budgets,
//     with and without forced yield checkpoints), each outcome canonical
//     (FormatValue; error kinds from the runtime's sentinels, never from
//     messages).
//   - Compare and Check find the differences between engines and within
//     one engine's report; cmd/fuzz, the driver, runs the runners in child
//     processes with a hard timeout (Runner.Execute: a hang or a crash is a
//     finding, never a hung driver), saves every module with differences
//     (SaveFinding) and prints a summary. Triage says when a known
//     divergence of the runtime explains a finding (KnownDivergences).
//
// See README.md beside this file for how to run it and read its output.
package enginefuzz
