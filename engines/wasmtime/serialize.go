//go:build cgo && !wazero && !wasmer

package wasmtime

// #include "shim.h"
import "C"

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"github.com/aspect-rt/aspect-runtime/internal/wasmbin"
	"github.com/aspect-rt/aspect-runtime/runtime/engine"
)

var _ engine.Serializer = (*wtEngine)(nil)

// configRevision names the engine configuration of aspect_wt_engine_new; bump
// it when that configuration changes. (wasmtime also refuses code compiled
// under another configuration, so a stale entry is recompiled either way.)
const configRevision = "cfg1"

// Version identifies the wasmtime build and configuration that serialized
// code is valid for.
func (e *wtEngine) Version() string {
	return "wasmtime-go-" + PinnedVersion + "-" + configRevision + "-" + runtime.GOOS + "-" + runtime.GOARCH
}

// serialMagic starts the adapter's serialized modules: the format, then the
// module's memory limits, then wasmtime's own serialization.
var serialMagic = []byte("AWTMOD1\x00")

// Serialize returns the compiled code of m, which must come from this
// engine's Compile or Deserialize.
func (e *wtEngine) Serialize(mod engine.Module) ([]byte, error) {
	m, ok := mod.(*wtModule)
	if !ok || m.eng != e {
		return nil, errors.New("wasmtime: serialize: not a module of this engine")
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.ptr == nil {
		return nil, errModuleClosed
	}
	var vec C.wasm_byte_vec_t
	if werr := C.wasmtime_module_serialize(m.ptr, &vec); werr != nil {
		msg := takeMessage(C.aspect_wt_status{err: werr})
		return nil, fmt.Errorf("wasmtime: serialize: %s", errorMessage(msg.text))
	}
	defer C.wasm_byte_vec_delete(&vec)

	out := make([]byte, 0, len(serialMagic)+4+17*len(m.mems)+int(vec.size))
	out = append(out, serialMagic...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(m.mems)))
	for _, l := range m.mems {
		out = binary.LittleEndian.AppendUint64(out, l.Min)
		out = binary.LittleEndian.AppendUint64(out, l.Max)
		hasMax := byte(0)
		if l.HasMax {
			hasMax = 1
		}
		out = append(out, hasMax)
	}
	return append(out, unsafe.Slice((*byte)(unsafe.Pointer(vec.data)), int(vec.size))...), nil
}

// Deserialize recreates a module from Serialize's bytes. It must only be
// given bytes Serialize produced (wasmtime loads them as native code); the
// runtime guarantees that with a checksum. The memory limit of cfg is checked
// as Compile checks it.
func (e *wtEngine) Deserialize(ctx context.Context, data []byte, cfg engine.CompileConfig) (engine.Module, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	mems, code, err := parseSerialized(data)
	if err != nil {
		return nil, err
	}
	if err := checkLimits(mems, cfg.MemoryLimitPages); err != nil {
		return nil, err
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.ptr == nil {
		return nil, errEngineClosed
	}
	var ptr *C.wasmtime_module_t
	werr := C.wasmtime_module_deserialize(e.ptr, (*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(code))), C.size_t(len(code)), &ptr)
	if werr != nil {
		msg := takeMessage(C.aspect_wt_status{err: werr})
		return nil, fmt.Errorf("wasmtime: deserialize: %s", errorMessage(msg.text))
	}
	return e.newModule(ptr, mems, cfg), nil
}

// parseSerialized splits Serialize's output into the memory limits and
// wasmtime's code.
func parseSerialized(data []byte) ([]wasmbin.Memory, []byte, error) {
	bad := errors.New("wasmtime: deserialize: not a module serialized by this adapter")
	if len(data) < len(serialMagic)+4 || string(data[:len(serialMagic)]) != string(serialMagic) {
		return nil, nil, bad
	}
	data = data[len(serialMagic):]
	n := binary.LittleEndian.Uint32(data)
	data = data[4:]
	if uint64(n)*17 > uint64(len(data)) {
		return nil, nil, bad
	}
	mems := make([]wasmbin.Memory, n)
	for i := range mems {
		mems[i] = wasmbin.Memory{
			Min:    binary.LittleEndian.Uint64(data),
			Max:    binary.LittleEndian.Uint64(data[8:]),
			HasMax: data[16] != 0,
		}
		data = data[17:]
	}
	if len(data) == 0 {
		return nil, nil, bad
	}
	return mems, data, nil
}
