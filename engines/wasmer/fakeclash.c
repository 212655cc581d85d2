//go:build wasmer && cgo && aspect_wasmer_fakeclash

// Test-only (tag aspect_wasmer_fakeclash): a static definition of one C API
// function, linked into the binary ahead of libwasmer.so's as libwasmtime.a's
// would be. The identity check must refuse to open an engine without ever
// calling it.

#include <stdio.h>
#include <stdlib.h>

#include "shim.h"

wasm_trap_t *wasm_func_call(const wasm_func_t *func, const wasm_val_vec_t *args, wasm_val_vec_t *results) {
  (void)func;
  (void)args;
  (void)results;
  fputs("fakeclash: the foreign wasm_func_call was called\n", stderr);
  abort();
}
