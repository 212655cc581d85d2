//go:build wasmer && cgo

package wasmer

// #include "shim.h"
import "C"

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"unsafe"

	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

// The identity check. The adapter calls the standard C API (wasm_*), which
// every engine implements under the same names. If another engine's
// definitions were linked into the binary — libwasmtime.a's, statically —
// the dynamic linker would bind the shim's calls to them instead of to
// libwasmer.so, silently: calls would run on the wrong engine or crash on
// mismatched struct layouts. The build constraints make that combination
// impossible; this check catches it anyway, before an engine is opened.
//
// It runs in two stages, the second only if the first passes, so that no
// foreign function is ever called:
//
//  1. Symbols: every C API function the shim relies on must resolve, as the
//     shim's own code reaches it, to the definition in the shared object
//     that defines wasmer_version (a wasmer-only symbol), and that object
//     must be libwasmer. Its version must be the one the headers describe.
//  2. Behaviour: compiling bytes that are not a module must leave wasmer's
//     own thread-local error message ("Validation error: ...", read with
//     wasmer_last_error_message, which no other engine sets), and the trap of
//     an unreachable instruction must carry wasmer's exact message,
//     "unreachable" (wasmtime says "wasm trap: wasm `unreachable`
//     instruction executed", wazero has no C API).

// symbolFact is where one C API function resolves.
type symbolFact struct {
	name string
	// addr is the address the shim's code reaches the function at; object
	// is the file (executable or shared library) that contains it.
	addr   uintptr
	object string
	// wasmerAddr is the function's definition in the object that defines
	// wasmer_version, 0 if that object has none.
	wasmerAddr uintptr
}

// identityFacts are the observations the check judges.
type identityFacts struct {
	// wasmerObject is the file that defines wasmer_version; version is
	// what wasmer_version returns.
	wasmerObject string
	version      string
	symbols      []symbolFact
}

// behaviourFacts are what the C API does when the adapter runs it.
type behaviourFacts struct {
	// compileError is wasmer's last error after compiling garbage.
	compileError string
	// trapMessage is the message of the probe's unreachable trap, and
	// trapErr the error of the probe call when it did not trap.
	trapMessage string
	probeErr    error
}

// identityProbe gathers the facts; tests substitute their own.
type identityProbe struct {
	symbols   func() identityFacts
	behaviour func() behaviourFacts
}

var realProbe = identityProbe{symbols: probeSymbols, behaviour: probeBehaviour}

var (
	identityOnce sync.Once
	identityErr  error
)

// checkIdentityOnce runs the identity check on the real C API once per
// process and returns its verdict.
func checkIdentityOnce() error {
	identityOnce.Do(func() { identityErr = checkIdentity(realProbe) })
	return identityErr
}

// ErrNotWasmer is matched by the error Open returns when the identity check
// finds that the C API functions the adapter calls are not wasmer's.
var ErrNotWasmer = errors.New("wasmer: the wasm C API linked into this binary is not wasmer's")

// checkIdentity judges the facts p gathers.
func checkIdentity(p identityProbe) error {
	f := p.symbols()
	if err := checkSymbols(f); err != nil {
		return err
	}
	return checkBehaviour(p.behaviour())
}

func checkSymbols(f identityFacts) error {
	if f.wasmerObject == "" {
		return fmt.Errorf("%w: cannot locate the shared object that defines wasmer_version", ErrNotWasmer)
	}
	if base := filepath.Base(f.wasmerObject); !strings.HasPrefix(base, "libwasmer") {
		return fmt.Errorf("%w: wasmer_version is defined in %s, not in libwasmer", ErrNotWasmer, f.wasmerObject)
	}
	if f.version != WasmerVersion {
		return fmt.Errorf("%w: %s is wasmer %q, the adapter's headers are for %q", ErrNotWasmer, f.wasmerObject, f.version, WasmerVersion)
	}
	if len(f.symbols) == 0 {
		return fmt.Errorf("%w: no C API symbols to check", ErrNotWasmer)
	}
	var foreign []string
	for _, s := range f.symbols {
		if s.addr == 0 || s.addr != s.wasmerAddr {
			where := s.object
			if where == "" {
				where = "an unknown object"
			}
			foreign = append(foreign, fmt.Sprintf("%s (in %s)", s.name, where))
		}
	}
	if len(foreign) > 0 {
		return fmt.Errorf("%w: the shim reaches %s, not the definitions in %s; another engine's C API "+
			"(wasmtime's?) is linked into the binary: build with -tags wasmer, which excludes the wasmtime adapter",
			ErrNotWasmer, strings.Join(foreign, ", "), f.wasmerObject)
	}
	return nil
}

func checkBehaviour(b behaviourFacts) error {
	if !strings.HasPrefix(b.compileError, "Validation error:") {
		return fmt.Errorf("%w: compiling garbage left wasmer's last error %q, want wasmer's \"Validation error: ...\"",
			ErrNotWasmer, b.compileError)
	}
	if b.probeErr != nil {
		return fmt.Errorf("%w: the probe module failed: %v", ErrNotWasmer, b.probeErr)
	}
	if b.trapMessage != "unreachable" {
		return fmt.Errorf("%w: the unreachable trap says %q, wasmer says \"unreachable\"", ErrNotWasmer, b.trapMessage)
	}
	return nil
}

// probeSymbols looks up where the shim's C API functions resolve.
func probeSymbols() identityFacts {
	var f identityFacts
	if p := C.aspect_wr_wasmer_object(); p != nil {
		f.wasmerObject = C.GoString(p)
	}
	f.version = C.GoString(C.wasmer_version())
	for i := 0; ; i++ {
		var name *C.char
		addr := C.aspect_wr_symbol(C.int(i), &name)
		if name == nil {
			break
		}
		f.symbols = append(f.symbols, symbolFact{
			name:   C.GoString(name),
			addr:   uintptr(addr),
			object: objectOf(addr),
		})
	}
	if f.wasmerObject != "" {
		cpath := C.CString(f.wasmerObject)
		defer C.free(unsafe.Pointer(cpath))
		for i := range f.symbols {
			cname := C.CString(f.symbols[i].name)
			f.symbols[i].wasmerAddr = uintptr(C.aspect_wr_symbol_in(cpath, cname))
			C.free(unsafe.Pointer(cname))
		}
	}
	return f
}

// objectOf names the file that contains addr.
func objectOf(addr unsafe.Pointer) string {
	if p := C.aspect_wr_object_of(addr); p != nil {
		return C.GoString(p)
	}
	return ""
}

// probeWasm is (module (func (export "u") unreachable)).
var probeWasm = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
	0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type section: () -> ()
	0x03, 0x02, 0x01, 0x00, // function section
	0x07, 0x05, 0x01, 0x01, 'u', 0x00, 0x00, // export "u" func 0
	0x0a, 0x05, 0x01, 0x03, 0x00, 0x00, 0x0b, // code: unreachable
}

// probeBehaviour runs the probe through the adapter itself.
func probeBehaviour() behaviourFacts {
	var b behaviourFacts
	e, err := newEngine()
	if err != nil {
		b.probeErr = err
		return b
	}
	ctx := context.Background()
	defer e.Close(ctx)

	store := C.wasm_store_new(e.ptr)
	if store == nil {
		b.probeErr = errors.New("cannot create a store")
		return b
	}
	b.compileError = takeText(C.aspect_wr_compile_garbage(store))
	C.wasm_store_delete(store)

	m, err := e.Compile(ctx, probeWasm, engine.CompileConfig{})
	if err != nil {
		b.probeErr = err
		return b
	}
	defer m.Close(ctx)
	in, err := m.Instantiate(ctx, nil, engine.InstanceConfig{})
	if err != nil {
		b.probeErr = err
		return b
	}
	defer in.Close(ctx)
	f := in.Function("u")
	if f == nil {
		b.probeErr = errors.New(`the probe module has no export "u"`)
		return b
	}
	var trap *engine.Trap
	switch err := f.Call(ctx, nil); {
	case err == nil:
		b.probeErr = errors.New("unreachable did not trap")
	case errors.As(err, &trap):
		b.trapMessage = trap.Message
	default:
		b.probeErr = err
	}
	return b
}

// localSymbol is the address of a function of the shim itself, in the
// executable: a stand-in for a foreign definition in tests.
func localSymbol() unsafe.Pointer { return unsafe.Pointer(C.aspect_wr_local_symbol) }
