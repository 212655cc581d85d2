// Package bench is the cross-engine benchmark suite behind `make bench` and
// BENCHMARKS.md. It has no API: everything is in its test files, and the
// benchmarks run only with -bench (plain `go test` runs only the fast
// correctness tests of the hand-written baselines).
//
//	go test -run '^$' -bench . ./bench                            # every linked engine
//	go test -run '^$' -bench '/wasmtime' ./bench                  # one engine
//	CGO_ENABLED=0 go test -tags wazero -run '^$' -bench . ./bench # the cgo-free build
//	go test -tags wasmer -run '^$' -bench '/wasmer' ./bench       # wasmer
//
// # Naming scheme
//
// Every benchmark is named Benchmark<Scenario>/<engine>/<variant>, with
// <engine> one of runtime.Engines() (wasmtime, wazero, wasmer) and <variant>
// saying whose code does the work:
//
//   - runtime: the library's public API, package runtime (Runtime.Call,
//     CallAs, Module.Instantiate, Runtime.Reset);
//   - adapter: the engine adapter through the SPI, package runtime/engine
//     (engine.Function.Call, engine.Memory), raw values, no ABI codec;
//   - pool, pool-keep-state: package pool, default policy (reset on put
//     back) or WithKeepState;
//   - fresh-runtime: runtime.NewWithEngine + Call + Close per operation;
//   - reset, reinstantiate: Runtime.Reset, and Module.Instantiate + Close;
//   - runtime-call: Module.Instantiate + Call + Close (Instantiate);
//   - warm: Runtime.Call on one warm instance, the reference of a pooled
//     call (PooledGoGreet);
//   - metered, unmetered: a compute loop instrumented by package metering,
//     and the same loop not instrumented, both through the SPI (Metered) or
//     through the runtime (MeteredSum, MeteredMix: runtime.WithMetering and
//     a Meter per call); metered-deadline: the same with a context deadline
//     (yield checkpoints on wazero and wasmer, epochs on wasmtime);
//   - interleaved: several variants measured in alternating rounds of one
//     benchmark, reported as custom metrics (Throughput: pool and baseline,
//     from 1 and 2 goroutines);
//   - placements: unmetered, metered and metered-deadline interleaved in
//     one benchmark, at several placements of the loop's machine code
//     (MeteredSum), reported as custom metrics: per placement metered /
//     unmetered, and the geometric means over the placements;
//   - baseline: the same work written by hand against the engine's own Go
//     API (wasmtime-go v44's Linker, Func.Call and Memory.UnsafeData;
//     wazero's api.Function.CallWithStack and api.Memory; wasmer-go's
//     NativeFunction and Memory.Data), including the ABI encoding and
//     decoding the library does. It lives in hand_<engine>_test.go.
//
// Scenarios (fixtures from conformance/fixtures):
//
//	Nop            empty export call: nop() of wat/raw.wasm
//	Add            add(i32, i32) -> i32 of wat/raw.wasm, raw values
//	Echo64B        echo(String) of 64 B through wat/raw.wasm's zero-copy echo:
//	Echo4KiB       encode, allocate in the guest, write, call, bounds-check,
//	Echo64KiB      decode; the guest heap is reset every 64 MiB (untimed)
//	Echo1MiB
//	Struct         echo of a struct (string, int32, list, map) decoded into a
//	               Go struct (runtime.CallAs) on wat/raw.wasm
//	HostCallback   greet(String) of wat/greet.wasm, hand-written like the
//	               peers' guests: guest -> host test.hello -> guest allocate
//	               -> guest, one call on a warm instance (runtime-as: the
//	               library's call of as/greet.wasm, the same greet built
//	               with AssemblyScript)
//	Instantiate    a new instance of as/greet.wasm from a compiled module,
//	               with its host imports and start code, then closed (and
//	               the same with one greet call: runtime-call)
//	PooledGreet    lease + greet + put back of wat/greet.wasm through
//	               pool.Pool
//	PooledGoGreet  lease + greet("world") + put back of go/echo.wasm (3 MB,
//	               WASI) through pool.Pool, and greet on a warm instance
//	Reset          Runtime.Reset vs Module.Instantiate + Close (greet.wasm)
//	Metered        sum_to(100000) of wat/raw.wasm, metered vs unmetered,
//	               through the SPI (sum_to takes an i64, which an ABI call
//	               cannot pass)
//	MeteredSum     sum_to_abi(100000) of wat/compute.wasm through the runtime
//	               (ABI-encoded Int64 in and out), metered vs unmetered: a
//	               loop of one machine cycle per iteration, the worst case;
//	               and the same loop at 8 placements of its machine code
//	               (sum_to_abi_p0 … sum_to_abi_p7, variant placements:
//	               issue 15's figure is the geometric mean over them of
//	               metered / unmetered, so that where the code lands, which
//	               decides the speed of a loop this tight, averages out)
//	MeteredMix     mix_abi(20000) of wat/compute.wasm: a xorshift64* loop,
//	               a more typical compute kernel, through the runtime
//	Throughput     how throughput scales from 1 goroutine to 2: pooled greet
//	               (goroutines sharing one pool) and greet by hand (an
//	               instance per goroutine), all four in interleaved rounds of
//	               fixed work in one benchmark (variant interleaved), so that
//	               load on the machine hits them alike, each after a GC and
//	               the finalizers it queued (so that no round runs the
//	               clean-up of another's garbage); it reports each
//	               side's median wall time per call, each scaling (the median
//	               of the rounds' 1-goroutine over 2-goroutine time per call),
//	               the ideal scaling min(2, GOMAXPROCS, CPUs), how long the
//	               goroutines' threads waited for a CPU, and the scalings
//	               over the rounds where they hardly did; ns/op is
//	               meaningless there (see BenchmarkThroughput)
//	IdleMemory     resident memory per idle pooled instance, reported as
//	               B/instance (RSS delta) and heapB/instance (Go heap delta)
//	               over 100 idle instances; ns/op is meaningless there
//
// # Peers
//
// bench/peers holds the same scenarios for the other Go plugin libraries,
// each in a Go module of its own (the library's go.mod never depends on
// them), with hand-written guests in each library's protocol
// (bench/peers/*/testdata/guest.wat, assembled by
// bench/peers/build-guests.sh): wapc-go v0.7.0 (bench/peers/wapc, on its
// wazero, wasmtime and wasmer engines) and the Extism Go SDK v1.7.1
// (bench/peers/extism, wazero only), named like this suite's benchmarks
// (Benchmark<Scenario>/<engine>/<variant>, variants wapc, wapc-call,
// wapc-pool, extism, extism-call; see their doc.go). make bench runs them
// in the same builds.
//
// internal/benchreport maps these names to the tables and targets of
// BENCHMARKS.md: a scenario's library figure is its runtime, adapter or pool
// variant, its reference the baseline (or reinstantiate, or unmetered), and
// the ratio is library / reference.
package bench
