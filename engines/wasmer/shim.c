//go:build wasmer && cgo

#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "shim.h"
#include "_cgo_export.h"

_Static_assert(sizeof(wasm_val_t) == 16, "wasm_val_t layout");
_Static_assert(offsetof(wasm_val_t, of) == 8, "wasm_val_t layout");

// The non-empty pointer passed for empty vectors.
static wasm_val_t no_vals[1];

// take_last_error moves wasmer's last error on this thread into a C string.
static aspect_wr_text take_last_error(void) {
  aspect_wr_text t = {NULL, 0};
  int n = wasmer_last_error_length();
  if (n <= 0) {
    return t;
  }
  char *buf = malloc((size_t)n);
  if (buf == NULL) {
    return t;
  }
  int got = wasmer_last_error_message(buf, n);
  if (got <= 0) {
    free(buf);
    return t;
  }
  t.data = buf;
  t.len = strnlen(buf, (size_t)got);
  return t;
}

// clear_last_error drops a stale error left on this thread.
static void clear_last_error(void) {
  aspect_wr_text t = take_last_error();
  free(t.data);
}

static aspect_wr_text copy_text(const char *s, size_t len) {
  aspect_wr_text t = {NULL, 0};
  t.data = malloc(len + 1);
  if (t.data != NULL) {
    memcpy(t.data, s, len);
    t.data[len] = 0;
    t.len = len;
  }
  return t;
}

wasm_module_t *aspect_wr_module_new(wasm_store_t *store, const uint8_t *data, size_t len, aspect_wr_text *err) {
  static const wasm_byte_t empty[1];
  wasm_byte_vec_t bytes;
  bytes.size = len;
  bytes.data = len > 0 ? (wasm_byte_t *)data : (wasm_byte_t *)empty;
  clear_last_error();
  wasm_module_t *m = wasm_module_new(store, &bytes);
  if (m == NULL) {
    *err = take_last_error();
  }
  return m;
}

wasm_module_t *aspect_wr_module_deserialize(wasm_store_t *store, const uint8_t *data, size_t len, aspect_wr_text *err) {
  wasm_byte_vec_t bytes;
  bytes.size = len;
  bytes.data = (wasm_byte_t *)data;
  clear_last_error();
  wasm_module_t *m = wasm_module_deserialize(store, &bytes);
  if (m == NULL) {
    *err = take_last_error();
  }
  return m;
}

static int numeric(wasm_valkind_t k) {
  return k == WASM_I32 || k == WASM_I64 || k == WASM_F32 || k == WASM_F64;
}

// free_functype_vecs frees the param and result vectors a function type
// owns; wasm_functype_delete (and the destructors of the import and export
// types that hold one) leave them allocated in wasmer 2.0.0. The vectors
// are left empty, so a destructor that did free them would find nothing.
static void free_functype_vecs(const wasm_functype_t *ft) {
  if (ft == NULL) {
    return;
  }
  wasm_valtype_vec_delete((wasm_valtype_vec_t *)wasm_functype_params(ft));
  wasm_valtype_vec_delete((wasm_valtype_vec_t *)wasm_functype_results(ft));
}

// free_externtype_vecs frees the vectors an extern type owns: only function
// types have any (global, memory and table types hold plain values and
// boxes, which wasmer frees).
static void free_externtype_vecs(const wasm_externtype_t *et) {
  if (et != NULL && wasm_externtype_kind(et) == WASM_EXTERN_FUNC) {
    free_functype_vecs(wasm_externtype_as_functype_const(et));
  }
}

void aspect_wr_importtype_vec_delete(wasm_importtype_vec_t *v) {
  for (size_t i = 0; i < v->size; i++) {
    const wasm_importtype_t *it = v->data[i];
    if (it == NULL) {
      continue;
    }
    wasm_byte_vec_delete((wasm_name_t *)wasm_importtype_module(it));
    wasm_byte_vec_delete((wasm_name_t *)wasm_importtype_name(it));
    free_externtype_vecs(wasm_importtype_type(it));
  }
  wasm_importtype_vec_delete(v);
}

void aspect_wr_exporttype_vec_delete(wasm_exporttype_vec_t *v) {
  for (size_t i = 0; i < v->size; i++) {
    const wasm_exporttype_t *et = v->data[i];
    if (et == NULL) {
      continue;
    }
    wasm_byte_vec_delete((wasm_name_t *)wasm_exporttype_name(et));
    free_externtype_vecs(wasm_exporttype_type(et));
  }
  wasm_exporttype_vec_delete(v);
}

void aspect_wr_functype_delete(wasm_functype_t *ft) {
  free_functype_vecs(ft);
  wasm_functype_delete(ft);
}

aspect_wr_fn *aspect_wr_fn_new(wasm_func_t *func, size_t line) {
  wasm_functype_t *ft = wasm_func_type(func);
  if (ft == NULL) {
    return NULL;
  }
  const wasm_valtype_vec_t *params = wasm_functype_params(ft);
  const wasm_valtype_vec_t *results = wasm_functype_results(ft);
  size_t np = params->size, nr = results->size;
  aspect_wr_fn *fn = aspect_alloc_lines(sizeof(aspect_wr_fn) + np + nr, line);
  if (fn == NULL) {
    aspect_wr_functype_delete(ft);
    return NULL;
  }
  fn->func = func;
  fn->nparams = np;
  fn->nresults = nr;
  int ok = 1;
  for (size_t i = 0; i < np; i++) {
    fn->kinds[i] = wasm_valtype_kind(params->data[i]);
    ok = ok && numeric(fn->kinds[i]);
  }
  for (size_t i = 0; i < nr; i++) {
    fn->kinds[np + i] = wasm_valtype_kind(results->data[i]);
    ok = ok && numeric(fn->kinds[np + i]);
  }
  aspect_wr_functype_delete(ft);
  if (!ok) {
    free(fn);
    return NULL;
  }
  return fn;
}

// to_val sets v to the raw value of kind k.
static inline void to_val(wasm_val_t *v, wasm_valkind_t k, uint64_t raw) {
  v->kind = k;
  switch (k) {
  case WASM_I32:
    v->of.i32 = (int32_t)(uint32_t)raw;
    break;
  case WASM_F32: {
    uint32_t bits = (uint32_t)raw;
    memcpy(&v->of.f32, &bits, 4);
    break;
  }
  case WASM_F64:
    memcpy(&v->of.f64, &raw, 8);
    break;
  default:
    v->of.i64 = (int64_t)raw;
  }
}

// from_val returns the raw value of v: 32-bit values zero-extended.
static inline uint64_t from_val(const wasm_val_t *v) {
  switch (v->kind) {
  case WASM_I32:
    return (uint64_t)(uint32_t)v->of.i32;
  case WASM_F32: {
    uint32_t bits;
    memcpy(&bits, &v->of.f32, 4);
    return bits;
  }
  case WASM_F64: {
    uint64_t bits;
    memcpy(&bits, &v->of.f64, 8);
    return bits;
  }
  default:
    return (uint64_t)v->of.i64;
  }
}

#define SMALL 8

wasm_trap_t *aspect_wr_call(const aspect_wr_fn *fn, uint64_t *stack) {
  wasm_val_t pbuf[SMALL], rbuf[SMALL];
  wasm_val_t *params = pbuf, *results = rbuf;
  size_t np = fn->nparams, nr = fn->nresults;
  if (np > SMALL) {
    params = malloc(np * sizeof(wasm_val_t));
  }
  if (nr > SMALL) {
    results = malloc(nr * sizeof(wasm_val_t));
  }
  if (params == NULL || results == NULL) {
    if (params != pbuf) free(params);
    if (results != rbuf) free(results);
    return NULL; // unreachable in practice; reported as a missing result below
  }
  for (size_t i = 0; i < np; i++) {
    to_val(&params[i], fn->kinds[i], stack[i]);
  }
  for (size_t i = 0; i < nr; i++) {
    results[i].kind = fn->kinds[np + i];
    results[i].of.i64 = 0;
  }
  wasm_val_vec_t args = {np, np > 0 ? params : no_vals};
  wasm_val_vec_t res = {nr, nr > 0 ? results : no_vals};
  wasm_trap_t *trap = wasm_func_call(fn->func, &args, &res);
  if (trap == NULL) {
    for (size_t i = 0; i < nr; i++) {
      stack[i] = from_val(&results[i]);
    }
  }
  if (params != pbuf) free(params);
  if (results != rbuf) free(results);
  return trap;
}

aspect_wr_text aspect_wr_trap_take(wasm_trap_t *trap) {
  wasm_message_t msg;
  msg.size = 0;
  msg.data = NULL;
  wasm_trap_message(trap, &msg);
  size_t len = msg.size;
  while (len > 0 && msg.data[len - 1] == 0) {
    len--;
  }
  aspect_wr_text t = copy_text(msg.data != NULL ? msg.data : "", len);
  if (msg.data != NULL) {
    wasm_byte_vec_delete(&msg);
  }
  wasm_trap_delete(trap);
  return t;
}

// host_callback is the wasm_func_callback_with_env_t of every host function.
//
// wasmer 2.0.0 leaks both vectors of every host call: it builds args and
// results as boxed slices (malloc), passes them to the callback, reads the
// results, and drops the vectors without freeing them (its wasm_val_vec_t
// has no destructor) — 64 bytes per call of an (i32) -> i32 function. The
// callback frees them with wasmer's own wasm_val_vec_delete: args once read;
// results after copying them into the environment's buffer, which wasmer
// then reads (and, having no destructor, never frees). The buffer is reused
// safely by re-entrant calls: wasmer consumes it before the guest resumes.
// This relies on the exact library version, which the identity check pins.
static wasm_trap_t *host_callback(void *env, const wasm_val_vec_t *args, wasm_val_vec_t *results) {
  aspect_wr_env *e = env;
  int rc = aspectWasmerHostCall(e->handle, args->data, args->size, results->data, results->size);
  wasm_val_vec_delete((wasm_val_vec_t *)args);
  if (rc == 0) {
    if (results->size > 0 && results->size == e->nresults && e->results != NULL) {
      memcpy(e->results, results->data, results->size * sizeof(wasm_val_t));
      wasm_val_vec_t theirs = *results;
      results->data = e->results;
      wasm_val_vec_delete(&theirs);
    }
    return NULL;
  }
  // A trap: wasmer does not read the results.
  wasm_val_vec_delete(results);
  // The message includes its terminating NUL, as wasm_message_t requires.
  wasm_message_t msg;
  wasm_byte_vec_new(&msg, sizeof(ASPECT_WR_HOST_TRAP), ASPECT_WR_HOST_TRAP);
  wasm_trap_t *trap = wasm_trap_new(e->store, &msg);
  wasm_byte_vec_delete(&msg);
  return trap;
}

wasm_func_t *aspect_wr_func_new(wasm_store_t *store, const wasm_functype_t *ft, aspect_wr_env *env) {
  return wasm_func_new_with_env(store, ft, host_callback, env, NULL);
}

wasm_instance_t *aspect_wr_instantiate(wasm_store_t *store, const wasm_module_t *module, wasm_extern_t **imports,
                                       size_t n, wasm_trap_t **trap, aspect_wr_text *err) {
  static wasm_extern_t *none[1];
  wasm_extern_vec_t vec = {n, n > 0 ? imports : none};
  wasm_trap_t *t = NULL;
  clear_last_error();
  wasm_instance_t *inst = wasm_instance_new(store, module, &vec, &t);
  if (inst == NULL) {
    *trap = t;
    if (t == NULL) {
      *err = take_last_error();
    }
  } else if (t != NULL) {
    wasm_trap_delete(t);
  }
  return inst;
}

const wasm_functype_t *aspect_wr_import_functype(const wasm_importtype_vec_t *imports, size_t i) {
  if (i >= imports->size) {
    return NULL;
  }
  const wasm_externtype_t *et = wasm_importtype_type(imports->data[i]);
  if (et == NULL || wasm_externtype_kind(et) != WASM_EXTERN_FUNC) {
    return NULL;
  }
  return wasm_externtype_as_functype_const(et);
}

wasm_valkind_t aspect_wr_valkind(const wasm_valtype_vec_t *v, size_t i) {
  return wasm_valtype_kind(v->data[i]);
}

wasm_valkind_t aspect_wr_global_kind(const wasm_global_t *g, int *mutable_) {
  wasm_globaltype_t *gt = wasm_global_type(g);
  if (gt == NULL) {
    *mutable_ = 0;
    return WASM_ANYREF;
  }
  wasm_valkind_t k = wasm_valtype_kind(wasm_globaltype_content(gt));
  *mutable_ = wasm_globaltype_mutability(gt) == WASM_VAR;
  wasm_globaltype_delete(gt);
  return k;
}

uint64_t aspect_wr_global_get(const wasm_global_t *g) {
  wasm_val_t v;
  memset(&v, 0, sizeof v);
  wasm_global_get(g, &v);
  return from_val(&v);
}

void aspect_wr_global_set(wasm_global_t *g, wasm_valkind_t kind, uint64_t raw) {
  wasm_val_t v;
  to_val(&v, kind, raw);
  wasm_global_set(g, &v);
}

aspect_wr_view aspect_wr_memory(wasm_memory_t *m) {
  aspect_wr_view v;
  v.data = (uint8_t *)wasm_memory_data(m);
  v.size = wasm_memory_data_size(m);
  return v;
}

// Identity probe.

const void *aspect_wr_symbol(int i, const char **name) {
  // Addresses are taken at run time in code compiled with -fPIC, so they
  // come from the GOT: they are the definitions this shim's calls bind to.
  switch (i) {
#define SYM(n, f)                                                                                                     \
  case n:                                                                                                             \
    *name = #f;                                                                                                       \
    return (const void *)&f;
    SYM(0, wasm_engine_new)
    SYM(1, wasm_store_new)
    SYM(2, wasm_module_new)
    SYM(3, wasm_instance_new)
    SYM(4, wasm_func_call)
    SYM(5, wasm_func_new_with_env)
    SYM(6, wasm_trap_message)
    SYM(7, wasm_memory_data)
    SYM(8, wasm_global_get)
    SYM(9, wasm_instance_exports)
#undef SYM
  }
  *name = NULL;
  return NULL;
}

const char *aspect_wr_object_of(const void *addr) {
  Dl_info info;
  if (addr == NULL || dladdr(addr, &info) == 0) {
    return NULL;
  }
  return info.dli_fname;
}

const char *aspect_wr_wasmer_object(void) {
  return aspect_wr_object_of((const void *)&wasmer_version);
}

const void *aspect_wr_symbol_in(const char *path, const char *name) {
  void *h = dlopen(path, RTLD_LAZY | RTLD_NOLOAD);
  if (h == NULL) {
    return NULL;
  }
  void *p = dlsym(h, name);
  dlclose(h);
  return p;
}

aspect_wr_text aspect_wr_compile_garbage(wasm_store_t *store) {
  static const uint8_t garbage[] = "not a wasm module";
  aspect_wr_text err = {NULL, 0};
  wasm_module_t *m = aspect_wr_module_new(store, garbage, sizeof garbage - 1, &err);
  if (m != NULL) {
    wasm_module_delete(m);
  }
  return err;
}

void aspect_wr_local_symbol(void) {}
