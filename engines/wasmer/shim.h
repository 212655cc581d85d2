//go:build wasmer && cgo

// The C side of the wasmer adapter: thin helpers over wasmer's C API (the
// standard wasm.h plus wasmer.h) so that each SPI operation crosses the cgo
// boundary once, and so that wasmer's thread-local "last error" is read on
// the thread that set it.

#ifndef ASPECT_WASMER_SHIM_H
#define ASPECT_WASMER_SHIM_H

#include <stddef.h>
#include <stdint.h>

#include "alloc_lines.h"
#include "wasmer.h"

// The message of the trap a failing host function raises. The Go error
// itself stays on the instance; this text only marks the trap as ours.
#define ASPECT_WR_HOST_TRAP "aspect: host function failed"

// A string in C memory (malloc) that Go copies and frees with free.
typedef struct aspect_wr_text {
  char *data;
  size_t len;
} aspect_wr_text;

// An exported function of an instance, with its signature, ready to call.
// func is borrowed from the instance's export vector.
typedef struct aspect_wr_fn {
  wasm_func_t *func;
  size_t nparams;
  size_t nresults;
  // kinds[0:nparams] are the param kinds, kinds[nparams:] the result kinds.
  wasm_valkind_t kinds[];
} aspect_wr_fn;

// The environment of one host function: the Go handle of its entry and the
// store its traps are created in. Owned by the instance (freed by Go).
typedef struct aspect_wr_env {
  uintptr_t handle;
  wasm_store_t *store;
  // results holds the function's results for wasmer to read after the
  // callback returns (see host_callback); nresults entries, NULL if none.
  // Allocated and freed by Go with the environment.
  wasm_val_t *results;
  size_t nresults;
} aspect_wr_env;

// aspect_wr_module_new compiles a module. On failure it returns NULL and
// wasmer's error message in *err.
wasm_module_t *aspect_wr_module_new(wasm_store_t *store, const uint8_t *data, size_t len, aspect_wr_text *err);

// aspect_wr_module_deserialize loads a module serialized by
// wasm_module_serialize. On failure it returns NULL and wasmer's error
// message in *err.
wasm_module_t *aspect_wr_module_deserialize(wasm_store_t *store, const uint8_t *data, size_t len, aspect_wr_text *err);

// aspect_wr_fn_new describes func for calls, in memory of whole cache lines
// of line bytes (aspect_alloc_lines); NULL if its type has a
// non-numeric value type. Free with free.
aspect_wr_fn *aspect_wr_fn_new(wasm_func_t *func, size_t line);

// aspect_wr_call calls fn with the raw params in stack[0:nparams] and writes
// the raw results to stack[0:nresults]. It returns the trap, or NULL.
wasm_trap_t *aspect_wr_call(const aspect_wr_fn *fn, uint64_t *stack);

// aspect_wr_trap_take returns the trap's message (without the terminating
// NUL) and deletes the trap.
aspect_wr_text aspect_wr_trap_take(wasm_trap_t *trap);

// aspect_wr_func_new creates a host function of type ft calling back into
// Go (aspectWasmerHostCall) with env.
wasm_func_t *aspect_wr_func_new(wasm_store_t *store, const wasm_functype_t *ft, aspect_wr_env *env);

// aspect_wr_instantiate instantiates module with imports[0:n]. On failure it
// returns NULL and either *trap (a trap in the start function) or wasmer's
// error message in *err.
wasm_instance_t *aspect_wr_instantiate(wasm_store_t *store, const wasm_module_t *module, wasm_extern_t **imports,
                                       size_t n, wasm_trap_t **trap, aspect_wr_text *err);

// Type descriptions. wasmer 2.0.0's destructors of type objects free the
// objects but not the vectors inside them: a wasm_name_t (wasm_byte_vec_t)
// and a function type's param and result wasm_valtype_vec_t have no
// destructor of their own there. These helpers free those vectors with
// wasmer's vector destructors (which empty them), then call wasmer's own
// destructor. They rely on the exact library version, which the identity
// check pins.

// aspect_wr_importtype_vec_delete deletes the vector wasm_module_imports
// filled, and everything its import types own.
void aspect_wr_importtype_vec_delete(wasm_importtype_vec_t *v);

// aspect_wr_exporttype_vec_delete deletes the vector wasm_module_exports
// filled, and everything its export types own.
void aspect_wr_exporttype_vec_delete(wasm_exporttype_vec_t *v);

// aspect_wr_functype_delete deletes a function type returned as owned (by
// wasm_func_type), with its param and result vectors.
void aspect_wr_functype_delete(wasm_functype_t *ft);

// aspect_wr_import_functype returns the function type of import i, or NULL.
// Borrowed from imports.
const wasm_functype_t *aspect_wr_import_functype(const wasm_importtype_vec_t *imports, size_t i);

// aspect_wr_valkind returns the kind of v->data[i].
wasm_valkind_t aspect_wr_valkind(const wasm_valtype_vec_t *v, size_t i);

// Globals: the value kind and mutability of g, and raw get and set.
wasm_valkind_t aspect_wr_global_kind(const wasm_global_t *g, int *mutable_);
uint64_t aspect_wr_global_get(const wasm_global_t *g);
void aspect_wr_global_set(wasm_global_t *g, wasm_valkind_t kind, uint64_t raw);

// The data pointer and size of a memory.
typedef struct aspect_wr_view {
  uint8_t *data;
  size_t size;
} aspect_wr_view;
aspect_wr_view aspect_wr_memory(wasm_memory_t *m);

// Identity probe. aspect_wr_symbol returns the address through which this
// shim reaches the C API function of index i (NULL past the end) and its
// name; aspect_wr_object_of names the object file (executable or shared
// library) that contains addr, or NULL.
const void *aspect_wr_symbol(int i, const char **name);
const char *aspect_wr_object_of(const void *addr);
// aspect_wr_wasmer_object names the object that defines wasmer_version, a
// function only wasmer has.
const char *aspect_wr_wasmer_object(void);
// aspect_wr_symbol_in returns the address of name as defined in the shared
// object at path (already loaded), or NULL.
const void *aspect_wr_symbol_in(const char *path, const char *name);
// aspect_wr_compile_garbage returns wasmer's last error message on this
// thread (empty if none) after compiling bytes that are not a module.
aspect_wr_text aspect_wr_compile_garbage(wasm_store_t *store);
// aspect_wr_local_symbol is a function of the shim itself, a stand-in for a
// foreign definition in tests.
void aspect_wr_local_symbol(void);

#endif
