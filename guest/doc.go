// Package guest is the aspect ABI (abi/FORMAT.md) for guests written in Go,
// built with the standard Go toolchain alone:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o greet.wasm .
//
// The result is a WASI reactor: the host runs it with runtime.WithWASI,
// which calls its `_initialize` export (the Go runtime and package init
// functions) once per instance. Importing this package exports `allocate`;
// the guest's functions are exported with //go:wasmexport and take one
// uint32 pointer per argument and return one uint32 pointer (or nothing):
//
//	//go:wasmexport greet
//	func greet(name uint32) uint32 {
//		return guest.Return("hello, " + guest.Arg[string](name))
//	}
//
// Values are encoded and decoded with package abi, so the Go types of abi's
// mapping work unchanged: integers, bools, floats, strings, []byte, slices,
// maps, structs with `abi:"name"` tags, pointers, any.
//
// # Host functions
//
// Host functions are imported with //go:wasmimport, module and field as the
// host registered them, with the same pointer convention. Put encodes an
// argument; Arg (or Optional, when the host may return no result) decodes
// the result:
//
//	//go:wasmimport index test.hello
//	func hello(name uint32) uint32
//
//	greeting := guest.Arg[string](hello(guest.Put("world")))
//
// # Memory ownership
//
// The host writes into memory it obtained from allocate and reads results
// after the export returned, so every buffer the host can see stays
// reachable from this package's arena (Go's garbage collector does not move
// objects, so a reachable buffer keeps its address):
//
//   - allocate's buffers (arguments, host function results) and Put's
//     buffers live until the end of the export call that uses them;
//   - Return, ReturnRaw and Done end the call: they release the arena and
//     keep only the new result, until the next of them.
//
// So every export must end with exactly one of Return, ReturnRaw (a result)
// or Done (no result); an export that does not keeps the arena growing until
// one of them runs. Decoded values never depend on the arena: keep them as
// long as you like. Raw's bytes are the arena's: copy them to keep them past
// the call.
//
// # Errors
//
// Arg and the other helpers stop the guest with env.abort when the host
// breaks the ABI (a pointer that allocate did not return, a malformed value,
// a value of another type); the host reports it as runtime.ErrAbort with the
// message and the Go file and line of the call. Abort and Fail do the same
// for the guest's own errors. An unrecovered Go panic prints the panic to
// the WASI stderr and then traps (a library built with -buildmode=c-shared
// crashes rather than exits): the host sees runtime.ErrTrap, and the
// instance must be reset. os.Exit ends the call with a *wasi.ExitError.
//
// # Pools
//
// A host that resets an instance to its post-start state after each call
// (a pool, by default) has every call start where _initialize left the Go
// runtime. So that such a call costs about what a call on a warm instance
// does, the package's init makes the Go allocator's first allocations that
// its own paths need (the arena's table, and the byte slices of values up
// to 256 bytes): for greet of the conformance fixture, 23,940 gas instead
// of 45,548 (21,891 on a warm instance). Work a guest's own code does
// lazily on its first call (building caches for its types, say) is still
// redone after each reset: runtime.WithWarmup does it once per instance.
//
// The package is empty except when built for GOOS=wasip1.
package guest
