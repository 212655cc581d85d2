//go:build wasmer && cgo

package wasmer

// #include "shim.h"
import "C"

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

var _ engine.Serializer = (*wrEngine)(nil)

// Version identifies the wasmer build, platform and host CPU that
// serialized code is valid for. wasmer compiles native code for the host's
// CPU features and does not check them when it loads code, so they are part
// of the version: a cache directory shared with another kind of machine is
// recompiled rather than run.
func (e *wrEngine) Version() string {
	return "wasmer-go-" + PinnedVersion + "-wasmer-" + WasmerVersion + "-" + runtime.GOOS + "-" + runtime.GOARCH + "-cpu-" + cpuFingerprint()
}

var cpuFingerprint = sync.OnceValue(func() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for s.Scan() {
		line := s.Text()
		// "flags" on x86, "Features" on arm64.
		if strings.HasPrefix(line, "flags") || strings.HasPrefix(line, "Features") {
			sum := sha256.Sum256([]byte(line))
			return hex.EncodeToString(sum[:6])
		}
	}
	return "unknown"
})

// serialMagic starts the adapter's serialized modules: the format, then the
// memory limit the module was compiled with (written into its code), then
// wasmer's own serialization.
var serialMagic = []byte("AWRMOD1\x00")

// Serialize returns the compiled code of mod, which must come from this
// engine's Compile or Deserialize.
func (e *wrEngine) Serialize(mod engine.Module) ([]byte, error) {
	m, ok := mod.(*wrModule)
	if !ok || m.eng != e {
		return nil, errors.New("wasmer: serialize: not a module of this engine")
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.ptr == nil {
		return nil, errModuleClosed
	}
	var vec C.wasm_byte_vec_t
	C.wasm_module_serialize(m.ptr, &vec)
	if vec.data == nil || vec.size == 0 {
		return nil, errors.New("wasmer: serialize: wasmer returned no bytes")
	}
	defer C.wasm_byte_vec_delete(&vec)
	out := make([]byte, 0, len(serialMagic)+4+int(vec.size))
	out = append(out, serialMagic...)
	out = binary.LittleEndian.AppendUint32(out, m.memLimit)
	return append(out, unsafe.Slice((*byte)(unsafe.Pointer(vec.data)), int(vec.size))...), nil
}

// Deserialize recreates a module from Serialize's bytes. It must only be
// given bytes Serialize produced (wasmer loads them as native code); the
// runtime guarantees that with a checksum. The memory limit is part of the
// compiled code, so bytes serialized under another limit than cfg's are
// refused (the runtime then recompiles).
func (e *wrEngine) Deserialize(ctx context.Context, data []byte, cfg engine.CompileConfig) (engine.Module, error) {
	if ctx != nil {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	if len(data) <= len(serialMagic)+4 || string(data[:len(serialMagic)]) != string(serialMagic) {
		return nil, errors.New("wasmer: deserialize: not a module serialized by this adapter")
	}
	limit := binary.LittleEndian.Uint32(data[len(serialMagic):])
	if limit != cfg.MemoryLimitPages {
		return nil, fmt.Errorf("wasmer: deserialize: the module was compiled with a memory limit of %d pages, not %d", limit, cfg.MemoryLimitPages)
	}
	code := data[len(serialMagic)+4:]

	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.ptr == nil {
		return nil, errEngineClosed
	}
	// A wasm engine of the module's own, as Compile does: wasmer frees a
	// module's code only with the engine that holds it.
	wasmEngine, store, err := newModuleStore()
	if err != nil {
		return nil, err
	}
	var errText C.aspect_wr_text
	ptr := C.aspect_wr_module_deserialize(store, (*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(code))), C.size_t(len(code)), &errText)
	msg := takeText(errText)
	if ptr == nil {
		dropModuleStore(wasmEngine, store)
		if msg == "" {
			msg = "invalid serialized module"
		}
		return nil, fmt.Errorf("wasmer: deserialize: %s", msg)
	}
	m := &wrModule{eng: e, wasmEngine: wasmEngine, store: store, ptr: ptr, memLimit: limit}
	m.describe()
	return m, nil
}
