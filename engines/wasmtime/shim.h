//go:build cgo && !wazero && !wasmer

// C side of the wasmtime adapter: a few small functions over the wasmtime C
// API so that each hot operation crosses the cgo boundary once. The headers
// under include/ are a verbatim copy of the ones wasmtime-go v44.0.0 builds
// against (see include/README.md); headers_test.go keeps them identical.

#ifndef ASPECT_WT_SHIM_H
#define ASPECT_WT_SHIM_H

#include <stdint.h>
#include <stdlib.h>
#include <wasm.h>
#include <wasmtime/config.h>
#include <wasmtime/engine.h>
#include <wasmtime/error.h>
#include <wasmtime/extern.h>
#include <wasmtime/func.h>
#include <wasmtime/instance.h>
#include <wasmtime/memory.h>
#include <wasmtime/module.h>
#include <wasmtime/store.h>
#include <wasmtime/trap.h>
#include <wasmtime/val.h>

// The outcome of a call into wasm: at most one of err and trap is set.
typedef struct {
  wasmtime_error_t *err;
  wasm_trap_t *trap;
} aspect_wt_status;

// The data pointer and byte size of a linear memory.
typedef struct {
  uint8_t *data;
  size_t size;
} aspect_wt_mem_view;

// A message taken from an error or trap, with its trap code if it has one.
typedef struct {
  wasm_byte_vec_t msg; // owned; free with wasm_byte_vec_delete
  size_t len;          // bytes of msg to use (without a trailing NUL)
  int has_code;
  wasmtime_trap_code_t code;
} aspect_wt_message;

wasm_engine_t *aspect_wt_engine_new(void);

wasmtime_store_t *aspect_wt_store_new(wasm_engine_t *engine, uintptr_t handle,
                                      int64_t memory_limit_bytes);

aspect_wt_status aspect_wt_instantiate(wasmtime_context_t *ctx,
                                       const wasmtime_module_t *module,
                                       const wasm_importtype_vec_t *imports,
                                       const uintptr_t *envs,
                                       wasmtime_instance_t *out);

// Looks up export name; returns its kind, or 0xff if there is none. Funcs
// are written to *fn and memories to *mem.
uint8_t aspect_wt_export_get(wasmtime_context_t *ctx,
                             const wasmtime_instance_t *inst, const char *name,
                             size_t name_len, wasmtime_func_t *fn,
                             wasmtime_memory_t *mem);

// Calls fn with params stack[:nparams] and writes the results to
// stack[:nresults]; stack values are 64-bit raw values.
aspect_wt_status aspect_wt_call(wasmtime_context_t *ctx, wasmtime_func_t fn,
                                uint64_t *stack, size_t nparams,
                                size_t nresults);

// The baseline the benchmarks compare against: wasmtime_func_call_unchecked
// with a caller-provided raw buffer and nothing else.
aspect_wt_status aspect_wt_call_raw(wasmtime_context_t *ctx, wasmtime_func_t fn,
                                    wasmtime_val_raw_t *vals, size_t n);

// Calls fn n times with the same raw buffer in a C loop (benchmark baseline
// without any cgo crossing per call). Stops at the first failure.
aspect_wt_status aspect_wt_call_raw_loop(wasmtime_context_t *ctx,
                                         wasmtime_func_t fn,
                                         wasmtime_val_raw_t *vals, size_t n,
                                         int64_t iterations);

aspect_wt_mem_view aspect_wt_memory(const wasmtime_context_t *ctx,
                                    wasmtime_memory_t mem);

// Takes (deletes) err or trap and returns its message and trap code.
aspect_wt_message aspect_wt_take(aspect_wt_status st);

// Valtype kind of v->data[i].
uint8_t aspect_wt_valkind(const wasm_valtype_vec_t *v, size_t i);

#endif
