// Package peerextism benchmarks the Extism Go SDK
// (github.com/extism/go-sdk v1.7.1), a peer of aspect-runtime, on the work
// of the library's own scenarios (package bench), with a hand-written
// Extism guest (testdata/guest.wat). It is a Go module of its own so that
// the library's go.mod never depends on Extism; `make bench` runs it in
// the cgo-free wazero build and internal/benchreport shows its figures as
// extra rows of the matching scenarios. Extism runs on wazero only; this
// module runs wazero v1.12.0, the library's.
//
// Benchmarks are named Benchmark<Scenario>/wazero/<variant>, as in package
// bench, with <variant>:
//
//   - extism: Plugin.Call on one plugin instance, kept and called again
//     (Echo64B, Echo64KiB: export "echo"; HostCallback: export "greet",
//     which calls the host function hello once; PooledGreet: the Go SDK
//     has no pool, so its pooled call is this kept plugin's call);
//   - extism-call: CompiledPlugin.Instance + Call("greet") + Close
//     (Instantiate).
//
// Every benchmark checks its output: the echoed bytes or the host's
// answer, on every call where that costs a length comparison and in full
// once per run.
package peerextism
