//go:build cgo && !wazero && !wasmer

// C side of the wasmtime adapter: a few small functions over the wasmtime C
// API so that each hot operation crosses the cgo boundary once. The headers
// under include/ are a verbatim copy of the ones wasmtime-go v44.0.0 builds
// against (see include/README.md); headers_test.go keeps them identical.

#ifndef ASPECT_WT_SHIM_H
#define ASPECT_WT_SHIM_H

#include <stdint.h>
#include <stdlib.h>
#include "alloc_lines.h"
#include <wasm.h>
#include <wasmtime/config.h>
#include <wasmtime/engine.h>
#include <wasmtime/error.h>
#include <wasmtime/extern.h>
#include <wasmtime/func.h>
#include <wasmtime/global.h>
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
// are written to *fn, memories to *mem and globals to *global.
uint8_t aspect_wt_export_get(wasmtime_context_t *ctx,
                             const wasmtime_instance_t *inst, const char *name,
                             size_t name_len, wasmtime_func_t *fn,
                             wasmtime_memory_t *mem, wasmtime_global_t *global);

// The value of a numeric global as a 64-bit raw value (0 for other types).
uint64_t aspect_wt_global_get(wasmtime_context_t *ctx, wasmtime_global_t g);

// Sets a numeric global of valkind kind from a 64-bit raw value; does
// nothing if the global is immutable.
void aspect_wt_global_set(wasmtime_context_t *ctx, wasmtime_global_t g,
                          uint8_t kind, uint64_t raw);

// The valkind and mutability (1 for var) of an exported global's type, or
// 0xff as kind if et is not a global.
uint8_t aspect_wt_globaltype(const wasm_externtype_t *et, int *mutable_);

// Everything a call of one export needs, in C memory so that the call
// passes no Go pointer (and cgo checks none): Go writes the params to
// stack[:nparams] and reads the results from stack[:nresults], as 64-bit raw
// values. stack points just past the struct, in the same allocation.
typedef struct {
  wasmtime_context_t *ctx;
  wasmtime_func_t fn;
  size_t nparams;
  size_t nresults;
  uint64_t *stack;
} aspect_wt_call_block;

// Allocates a call block with room for max(nparams, nresults, 1) values, in
// memory of whole cache lines of line bytes (aspect_alloc_lines); free it
// with free().
aspect_wt_call_block *aspect_wt_call_block_new(wasmtime_context_t *ctx,
                                               const wasmtime_func_t *fn,
                                               size_t nparams, size_t nresults,
                                               size_t line);

// Calls the block's function. block is an aspect_wt_call_block pointer,
// passed as an integer: it is C memory.
aspect_wt_status aspect_wt_call(uintptr_t block);

// The baseline the benchmarks compare against: wasmtime_func_call_unchecked
// on the block's function with a raw value buffer (block->stack reused as
// n 16-byte values: the block must have room for 2n) and nothing else.
aspect_wt_status aspect_wt_call_raw(uintptr_t block, size_t n);

// Calls the block's function iterations times from a C loop (benchmark
// baseline without any cgo crossing per call), re-setting the first two raw
// values (as i32) before each call. Stops at the first failure.
aspect_wt_status aspect_wt_call_raw_loop(uintptr_t block, size_t n,
                                         int64_t iterations);

aspect_wt_mem_view aspect_wt_memory(const wasmtime_context_t *ctx,
                                    wasmtime_memory_t mem);

// Takes (deletes) err or trap and returns its message and trap code.
aspect_wt_message aspect_wt_take(aspect_wt_status st);

// Valtype kind of v->data[i].
uint8_t aspect_wt_valkind(const wasm_valtype_vec_t *v, size_t i);

#endif
