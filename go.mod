module github.com/aspect-rt/aspect-runtime

go 1.25

require (
	github.com/bytecodealliance/wasmtime-go/v44 v44.0.0 // indirect
	github.com/stretchr/testify v1.11.1 // indirect
	github.com/tetratelabs/wazero v1.12.0 // indirect
	golang.org/x/sys v0.44.0 // indirect
)
