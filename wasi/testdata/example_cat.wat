;; The guest of the wasi package's example: cat(path) copies a file of the
;; first mounted directory (pre-opened descriptor 3) to stdout. Hand-written
;; WebAssembly following the aspect ABI (abi/FORMAT.md) and calling WASI
;; preview 1 directly; rebuild the .wasm beside it with
;; examples/build-guests.sh.
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read"
    (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close"
    (func $fd_close (param i32) (result i32)))

  ;; 0..63: scratch (opened fd, byte counts, iovecs, the result);
  ;; 4096..8191: the copy buffer; 8192..: the heap.
  (memory (export "memory") 1)

  ;; Bump allocator: 8-byte aligned, grows memory as needed, traps when it
  ;; cannot.
  (global $heap (mut i32) (i32.const 8192))
  (func $allocate (export "allocate") (param $size i32) (result i32)
    (local $p i32) (local $end i64) (local $have i64)
    (if (i32.lt_s (local.get $size) (i32.const 0)) (then unreachable))
    (local.set $p (global.get $heap))
    (local.set $end
      (i64.and
        (i64.add
          (i64.add (i64.extend_i32_u (local.get $p)) (i64.extend_i32_u (local.get $size)))
          (i64.const 7))
        (i64.const -8)))
    (if (i64.ge_u (local.get $end) (i64.const 0x100000000)) (then unreachable))
    (local.set $have (i64.shl (i64.extend_i32_u (memory.size)) (i64.const 16)))
    (if (i64.gt_u (local.get $end) (local.get $have))
      (then
        (if (i32.lt_s
              (memory.grow
                (i32.wrap_i64
                  (i64.shr_u
                    (i64.add (i64.sub (local.get $end) (local.get $have)) (i64.const 0xffff))
                    (i64.const 16))))
              (i32.const 0))
          (then unreachable))))
    (global.set $heap (i32.wrap_i64 (local.get $end)))
    (local.get $p))

  ;; cat(path String) -> Int32: the WASI errno of the first step that failed,
  ;; 0 when the whole file was written to stdout.
  (func (export "cat") (param $path i32) (result i32)
    (local $fd i32) (local $errno i32) (local $n i32)
    (block $done
      ;; path_open(dirfd 3, no flags, path, len, no oflags, rights fd_read, 0, 0, &fd at 0)
      (local.set $errno
        (call $path_open (i32.const 3) (i32.const 0)
          (i32.add (local.get $path) (i32.const 6))
          (i32.load offset=2 align=2 (local.get $path))
          (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 0)))
      (br_if $done (local.get $errno))
      (local.set $fd (i32.load (i32.const 0)))
      (loop $copy
        ;; fd_read(fd, iovec {4096, 4096} at 16, 1, &n at 4)
        (i32.store (i32.const 16) (i32.const 4096))
        (i32.store (i32.const 20) (i32.const 4096))
        (local.set $errno (call $fd_read (local.get $fd) (i32.const 16) (i32.const 1) (i32.const 4)))
        (br_if $done (local.get $errno))
        (local.set $n (i32.load (i32.const 4)))
        (if (local.get $n)
          (then
            ;; fd_write(stdout, iovec {4096, n} at 24, 1, &written at 8)
            (i32.store (i32.const 24) (i32.const 4096))
            (i32.store (i32.const 28) (local.get $n))
            (local.set $errno (call $fd_write (i32.const 1) (i32.const 24) (i32.const 1) (i32.const 8)))
            (br_if $done (local.get $errno))
            (br $copy))))
      (local.set $errno (call $fd_close (local.get $fd))))
    ;; The result, an encoded Int32, at 32.
    (i32.store16 (i32.const 32) (i32.const 3))
    (i32.store offset=34 align=2 (i32.const 0) (i32.const 4))
    (i32.store offset=38 align=2 (i32.const 0) (local.get $errno))
    (i32.const 32))
)
