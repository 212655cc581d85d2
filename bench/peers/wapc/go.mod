module github.com/aspect-rt/aspect-runtime/bench/peers/wapc

go 1.25.0

require github.com/wapc/wapc-go v0.7.0

require (
	github.com/Workiva/go-datastructures v1.1.5 // indirect
	github.com/bytecodealliance/wasmtime-go v1.0.0 // indirect
	github.com/tetratelabs/wazero v1.12.0 // indirect
	github.com/wasmerio/wasmer-go v1.0.4 // indirect
	golang.org/x/sys v0.44.0 // indirect
)
