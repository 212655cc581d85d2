;; The guest of the runtime, pool and metering examples (the same source is
;; in runtime/, pool/ and metering/testdata/example_guest.wat; rebuild the
;; .wasm beside each with examples/build-guests.sh). Hand-written WebAssembly
;; following the aspect ABI (abi/FORMAT.md), so that it needs no toolchain
;; but wat2wasm and stays a few hundred bytes.
(module
  ;; index/test.hello(String) -> String, provided by the host.
  (import "index" "test.hello" (func $hello (param i32) (result i32)))

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

  ;; greet(name String) -> String: what index/test.hello returns for name
  ;; (the argument is passed on as it is, already encoded).
  (func (export "greet") (param $name i32) (result i32)
    (call $hello (local.get $name)))

  ;; count() -> Int32: how many times count has been called on this
  ;; instance, this call included (state kept in the guest's global).
  (global $count (mut i32) (i32.const 0))
  (func (export "count") (result i32)
    (local $p i32)
    (global.set $count (i32.add (global.get $count) (i32.const 1)))
    (local.set $p (call $allocate (i32.const 10)))
    (i32.store16 (local.get $p) (i32.const 3))                          ;; tag Int32
    (i32.store offset=2 align=2 (local.get $p) (i32.const 4))           ;; length
    (i32.store offset=6 align=2 (local.get $p) (global.get $count))     ;; value
    (local.get $p))

  ;; fail() traps: unreachable.
  (func (export "fail") (result i32)
    unreachable)

  ;; spin() never returns: only gas or the call's context stops it.
  (func (export "spin")
    (loop $forever (br $forever)))
)
