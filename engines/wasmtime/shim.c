//go:build cgo && !wazero && !wasmer

#include "shim.h"
#include "_cgo_export.h"

#include <string.h>

_Static_assert(sizeof(wasmtime_val_raw_t) == 16, "wasmtime_val_raw_t layout");
_Static_assert(sizeof(wasmtime_func_t) == 16, "wasmtime_func_t layout");

wasm_engine_t *aspect_wt_engine_new(void) {
  wasm_config_t *cfg = wasm_config_new();
  if (cfg == NULL) {
    return NULL;
  }
  wasmtime_config_epoch_interruption_set(cfg, true);
  // The feature set of the SPI (MVP, sign extension, non-trapping
  // float-to-int, multi-value, bulk memory, reference types; SIMD as wazero
  // has it). Everything wazero does not implement is turned off so that both
  // engines accept and reject the same modules.
  wasmtime_config_wasm_multi_value_set(cfg, true);
  wasmtime_config_wasm_bulk_memory_set(cfg, true);
  wasmtime_config_wasm_reference_types_set(cfg, true);
  wasmtime_config_wasm_simd_set(cfg, true);
  wasmtime_config_wasm_relaxed_simd_set(cfg, false);
  wasmtime_config_wasm_threads_set(cfg, false);
  wasmtime_config_shared_memory_set(cfg, false);
  wasmtime_config_wasm_tail_call_set(cfg, false);
  wasmtime_config_wasm_gc_set(cfg, false);
  wasmtime_config_wasm_function_references_set(cfg, false);
  wasmtime_config_wasm_multi_memory_set(cfg, false);
  wasmtime_config_wasm_memory64_set(cfg, false);
  wasmtime_config_wasm_wide_arithmetic_set(cfg, false);
  wasmtime_config_wasm_exceptions_set(cfg, false);
  wasmtime_config_wasm_custom_page_sizes_set(cfg, false);
  wasmtime_config_wasm_stack_switching_set(cfg, false);
  // Linear memories live in a 4 GiB reservation and never move, so the Go
  // side may keep a memory's base pointer for the instance's lifetime.
  wasmtime_config_memory_reservation_set(cfg, (uint64_t)1 << 32);
  wasmtime_config_memory_may_move_set(cfg, false);
  return wasm_engine_new_with_config(cfg); // takes ownership of cfg
}

// Called by wasmtime when a store's epoch deadline is reached, that is after
// some context on the engine was cancelled. Interrupts the guest only if one
// of this store's own contexts is done; otherwise the deadline is extended by
// one tick and the guest runs on.
static wasmtime_error_t *aspect_wt_epoch_cb(wasmtime_context_t *ctx,
                                            void *data, uint64_t *delta,
                                            wasmtime_update_deadline_kind_t *kind) {
  (void)ctx;
  if (aspectWasmtimeEpoch((uintptr_t)data)) {
    return wasmtime_error_new("aspect: interrupted: the call's context is done");
  }
  *delta = 1;
  *kind = WASMTIME_UPDATE_DEADLINE_CONTINUE;
  return NULL;
}

wasmtime_store_t *aspect_wt_store_new(wasm_engine_t *engine, uintptr_t handle,
                                      int64_t memory_limit_bytes) {
  wasmtime_store_t *store = wasmtime_store_new(engine, NULL, NULL);
  if (store == NULL) {
    return NULL;
  }
  if (memory_limit_bytes >= 0) {
    wasmtime_store_limiter(store, memory_limit_bytes, -1, -1, -1, -1);
  }
  wasmtime_store_epoch_deadline_callback(store, aspect_wt_epoch_cb,
                                         (void *)handle, NULL);
  wasmtime_context_set_epoch_deadline(wasmtime_store_context(store), 1);
  return store;
}

// The callback of every host function: env is the cgo.Handle of its Go entry.
static wasm_trap_t *aspect_wt_host_tramp(void *env, wasmtime_caller_t *caller,
                                         wasmtime_val_raw_t *args_and_results,
                                         size_t n) {
  (void)caller;
  if (aspectWasmtimeHostCall((uintptr_t)env, args_and_results, n)) {
    static const char msg[] = "aspect: host function failed";
    return wasmtime_trap_new(msg, sizeof msg - 1);
  }
  return NULL;
}

aspect_wt_status aspect_wt_instantiate(wasmtime_context_t *ctx,
                                       const wasmtime_module_t *module,
                                       const wasm_importtype_vec_t *imports,
                                       const uintptr_t *envs,
                                       wasmtime_instance_t *out) {
  aspect_wt_status st = {NULL, NULL};
  size_t n = imports->size;
  wasmtime_extern_t local[16];
  wasmtime_extern_t *ext = local;
  if (n > 16) {
    ext = malloc(n * sizeof *ext);
    if (ext == NULL) {
      st.err = wasmtime_error_new("aspect: out of memory");
      return st;
    }
  }
  for (size_t i = 0; i < n; i++) {
    const wasm_externtype_t *et = wasm_importtype_type(imports->data[i]);
    const wasm_functype_t *ft = wasm_externtype_as_functype_const(et);
    if (ft == NULL) {
      st.err = wasmtime_error_new("aspect: non-function import");
      goto done;
    }
    ext[i].kind = WASMTIME_EXTERN_FUNC;
    wasmtime_func_new_unchecked(ctx, ft, aspect_wt_host_tramp, (void *)envs[i],
                                NULL, &ext[i].of.func);
  }
  st.err = wasmtime_instance_new(ctx, module, ext, n, out, &st.trap);
done:
  if (ext != local) {
    free(ext);
  }
  return st;
}

uint8_t aspect_wt_export_get(wasmtime_context_t *ctx,
                             const wasmtime_instance_t *inst, const char *name,
                             size_t name_len, wasmtime_func_t *fn,
                             wasmtime_memory_t *mem, wasmtime_global_t *global) {
  wasmtime_extern_t item;
  if (!wasmtime_instance_export_get(ctx, inst, name, name_len, &item)) {
    return 0xff;
  }
  switch (item.kind) {
  case WASMTIME_EXTERN_FUNC:
    *fn = item.of.func;
    break;
  case WASMTIME_EXTERN_MEMORY:
    *mem = item.of.memory;
    break;
  case WASMTIME_EXTERN_GLOBAL:
    *global = item.of.global;
    break;
  default:
    break;
  }
  uint8_t kind = item.kind;
  wasmtime_extern_delete(&item);
  return kind;
}

aspect_wt_call_block *aspect_wt_call_block_new(wasmtime_context_t *ctx,
                                               const wasmtime_func_t *fn,
                                               size_t nparams, size_t nresults,
                                               size_t line) {
  size_t n = nparams > nresults ? nparams : nresults;
  if (n == 0) {
    n = 1;
  }
  // Written at every call (the params and results): on lines of its own, so
  // that the blocks of two instances called on two cores share none.
  aspect_wt_call_block *b =
      aspect_alloc_lines(sizeof *b + n * sizeof(uint64_t), line);
  if (b == NULL) {
    return NULL;
  }
  b->ctx = ctx;
  b->fn = *fn;
  b->nparams = nparams;
  b->nresults = nresults;
  b->stack = (uint64_t *)(b + 1);
  return b;
}

#define ASPECT_WT_LOCAL_VALS 16

aspect_wt_status aspect_wt_call(uintptr_t block) {
  aspect_wt_call_block *b = (aspect_wt_call_block *)block;
  aspect_wt_status st = {NULL, NULL};
  size_t n = b->nparams > b->nresults ? b->nparams : b->nresults;
  wasmtime_val_raw_t local[ASPECT_WT_LOCAL_VALS];
  wasmtime_val_raw_t *vals = local;
  if (n > ASPECT_WT_LOCAL_VALS) {
    vals = malloc(n * sizeof *vals);
    if (vals == NULL) {
      st.err = wasmtime_error_new("aspect: out of memory");
      return st;
    }
  }
  // The params are copied out before the guest runs and the results in
  // after it returns, so a nested call of the same export from a host
  // function may reuse the block meanwhile.
  for (size_t i = 0; i < b->nparams; i++) {
    vals[i].i64 = (int64_t)b->stack[i];
  }
  st.err = wasmtime_func_call_unchecked(b->ctx, &b->fn, vals, n, &st.trap);
  if (st.err == NULL && st.trap == NULL) {
    // 32-bit results are zero-extended on the Go side.
    for (size_t i = 0; i < b->nresults; i++) {
      b->stack[i] = (uint64_t)vals[i].i64;
    }
  }
  if (vals != local) {
    free(vals);
  }
  return st;
}

aspect_wt_status aspect_wt_call_raw(uintptr_t block, size_t n) {
  aspect_wt_call_block *b = (aspect_wt_call_block *)block;
  aspect_wt_status st = {NULL, NULL};
  st.err = wasmtime_func_call_unchecked(
      b->ctx, &b->fn, (wasmtime_val_raw_t *)b->stack, n, &st.trap);
  return st;
}

aspect_wt_status aspect_wt_call_raw_loop(uintptr_t block, size_t n,
                                         int64_t iterations) {
  aspect_wt_call_block *b = (aspect_wt_call_block *)block;
  wasmtime_val_raw_t *vals = (wasmtime_val_raw_t *)b->stack;
  aspect_wt_status st = {NULL, NULL};
  int32_t x = vals[0].i32, y = vals[1].i32;
  for (int64_t i = 0; i < iterations; i++) {
    vals[0].i32 = x;
    vals[1].i32 = y;
    st.err = wasmtime_func_call_unchecked(b->ctx, &b->fn, vals, n, &st.trap);
    if (st.err != NULL || st.trap != NULL) {
      break;
    }
  }
  return st;
}

uint64_t aspect_wt_global_get(wasmtime_context_t *ctx, wasmtime_global_t g) {
  wasmtime_val_t v;
  wasmtime_global_get(ctx, &g, &v);
  uint64_t raw = 0;
  switch (v.kind) {
  case WASMTIME_I32:
    raw = (uint32_t)v.of.i32;
    break;
  case WASMTIME_I64:
    raw = (uint64_t)v.of.i64;
    break;
  case WASMTIME_F32:
    memcpy(&raw, &v.of.f32, sizeof v.of.f32);
    break;
  case WASMTIME_F64:
    memcpy(&raw, &v.of.f64, sizeof v.of.f64);
    break;
  default:
    break;
  }
  wasmtime_val_unroot(&v);
  return raw;
}

void aspect_wt_global_set(wasmtime_context_t *ctx, wasmtime_global_t g,
                          uint8_t kind, uint64_t raw) {
  wasmtime_val_t v;
  memset(&v, 0, sizeof v);
  switch (kind) {
  case WASM_I32:
    v.kind = WASMTIME_I32;
    v.of.i32 = (int32_t)(uint32_t)raw;
    break;
  case WASM_I64:
    v.kind = WASMTIME_I64;
    v.of.i64 = (int64_t)raw;
    break;
  case WASM_F32: {
    uint32_t bits = (uint32_t)raw;
    v.kind = WASMTIME_F32;
    memcpy(&v.of.f32, &bits, sizeof bits);
    break;
  }
  case WASM_F64:
    v.kind = WASMTIME_F64;
    memcpy(&v.of.f64, &raw, sizeof raw);
    break;
  default:
    return;
  }
  wasmtime_error_t *err = wasmtime_global_set(ctx, &g, &v);
  if (err != NULL) { // immutable
    wasmtime_error_delete(err);
  }
}

uint8_t aspect_wt_globaltype(const wasm_externtype_t *et, int *mutable_) {
  const wasm_globaltype_t *gt = wasm_externtype_as_globaltype_const(et);
  if (gt == NULL) {
    return 0xff;
  }
  *mutable_ = wasm_globaltype_mutability(gt) == WASM_VAR;
  return wasm_valtype_kind(wasm_globaltype_content(gt));
}

aspect_wt_mem_view aspect_wt_memory(const wasmtime_context_t *ctx,
                                    wasmtime_memory_t mem) {
  aspect_wt_mem_view v;
  v.data = wasmtime_memory_data(ctx, &mem);
  v.size = wasmtime_memory_data_size(ctx, &mem);
  return v;
}

aspect_wt_message aspect_wt_take(aspect_wt_status st) {
  aspect_wt_message m;
  memset(&m, 0, sizeof m);
  if (st.trap != NULL) {
    m.has_code = wasmtime_trap_code(st.trap, &m.code) ? 1 : 0;
    wasm_trap_message(st.trap, &m.msg);
    m.len = m.msg.size;
    // wasm_trap_message includes a trailing NUL byte.
    if (m.len > 0 && m.msg.data[m.len - 1] == 0) {
      m.len--;
    }
    wasm_trap_delete(st.trap);
  }
  if (st.err != NULL) {
    if (st.trap == NULL) {
      wasmtime_error_message(st.err, &m.msg);
      m.len = m.msg.size;
    }
    wasmtime_error_delete(st.err);
  }
  return m;
}

uint8_t aspect_wt_valkind(const wasm_valtype_vec_t *v, size_t i) {
  return wasm_valtype_kind(v->data[i]);
}
