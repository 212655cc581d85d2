;; A plugin that greets through the host: greet(name) returns what the
;; plugin host's index/host.greeting returns for name. Hand-written
;; WebAssembly following the aspect ABI (abi/FORMAT.md); rebuild greet.wasm
;; with examples/build-guests.sh.
(module
  ;; index/host.greeting(String) -> String, provided by the plugin host.
  (import "index" "host.greeting" (func $greeting (param i32) (result i32)))

  (memory (export "memory") 1)

  ;; Bump allocator: 8-byte aligned, grows memory as needed, traps when it
  ;; cannot.
  (global $heap (mut i32) (i32.const 1024))
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

  ;; greet(name String) -> String (the argument is passed on as it is,
  ;; already encoded).
  (func (export "greet") (param $name i32) (result i32)
    (call $greeting (local.get $name)))
)
