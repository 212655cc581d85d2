// Package peerwapc benchmarks wapc-go (github.com/wapc/wapc-go v0.7.0), a
// peer of aspect-runtime, on the work of the library's own scenarios
// (package bench), with a hand-written waPC guest (testdata/guest.wat). It
// is a Go module of its own so that the library's go.mod never depends on
// wapc-go; `make bench` runs it beside package bench in every engine build
// and internal/benchreport shows its figures as extra rows of the matching
// scenarios.
//
// Benchmarks are named Benchmark<Scenario>/<engine>/<variant>, as in
// package bench, with <engine> the wapc-go engine (wazero in every build,
// wasmtime in the default cgo build, wasmer with -tags wasmer; wapc-go
// pins wasmtime-go v1.0.0 and wasmer-go v1.0.4, and this module runs
// wazero v1.12.0, the library's) and <variant>:
//
//   - wapc: Instance.Invoke on one warm instance (Echo64B, Echo64KiB:
//     operation "echo"; HostCallback: operation "greet", which calls the
//     host's test.hello once);
//   - wapc-call: Module.Instantiate + Invoke("greet") + Instance.Close
//     (Instantiate);
//   - wapc-pool: wapc.Pool Get + Invoke("greet") + Return (PooledGreet);
//     wapc-go's pool never resets an instance (the library's
//     pool-keep-state).
//
// Every benchmark checks its output: the echoed bytes or the host's
// answer, on every call where that costs a length comparison and in full
// once per run.
package peerwapc
