// C memory on cache lines of its own, for the cgo shims of the engine
// adapters (engines/wasmtime, engines/wasmer), which include this header
// through their #cgo CFLAGS (-I.../internal/cacheline): see package
// cacheline for why the objects every call writes get whole lines.

#ifndef ASPECT_ALLOC_LINES_H
#define ASPECT_ALLOC_LINES_H

#include <stdlib.h>
#include <string.h>

// aspect_alloc_lines returns size bytes of zeroed memory that start a cache
// line of line bytes (a power of two) and fill whole lines, sharing none
// with other allocations; NULL if out of memory. Free it with free.
static inline void *aspect_alloc_lines(size_t size, size_t line) {
  size = (size + line - 1) & ~(line - 1);
  if (size == 0) {
    size = line;
  }
  void *p = NULL;
  if (posix_memalign(&p, line, size) != 0) {
    return NULL;
  }
  memset(p, 0, size);
  return p;
}

#endif
