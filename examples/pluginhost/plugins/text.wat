;; A plugin of text functions that needs nothing from the host: upper(s)
;; and count(). spin() never returns, to show that the plugin host's gas
;; limit stops it. Hand-written WebAssembly following the aspect ABI
;; (abi/FORMAT.md); rebuild text.wasm with examples/build-guests.sh.
(module
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

  ;; upper(s String) -> String: s with its ASCII letters in upper case.
  (func (export "upper") (param $s i32) (result i32)
    (local $n i32) (local $out i32) (local $i i32) (local $c i32)
    (if (i32.ne (i32.load16_u (local.get $s)) (i32.const 10)) (then unreachable)) ;; not a String
    (local.set $n (i32.load offset=2 align=2 (local.get $s)))
    (local.set $out (call $allocate (i32.add (local.get $n) (i32.const 6))))
    (i32.store16 (local.get $out) (i32.const 10))
    (i32.store offset=2 align=2 (local.get $out) (local.get $n))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $c (i32.load8_u offset=6 (i32.add (local.get $s) (local.get $i))))
        (if (i32.lt_u (i32.sub (local.get $c) (i32.const 97)) (i32.const 26))
          (then (local.set $c (i32.sub (local.get $c) (i32.const 32)))))
        (i32.store8 offset=6 (i32.add (local.get $out) (local.get $i)) (local.get $c))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $out))

  ;; count() -> Int32: the calls of count on this instance, this one
  ;; included. The plugin host resets instances between requests, so it
  ;; is always 1 there.
  (global $count (mut i32) (i32.const 0))
  (func (export "count") (result i32)
    (local $p i32)
    (global.set $count (i32.add (global.get $count) (i32.const 1)))
    (local.set $p (call $allocate (i32.const 10)))
    (i32.store16 (local.get $p) (i32.const 3))
    (i32.store offset=2 align=2 (local.get $p) (i32.const 4))
    (i32.store offset=6 align=2 (local.get $p) (global.get $count))
    (local.get $p))

  ;; spin() never returns: only gas or the call's context stops it.
  (func (export "spin")
    (loop $forever (br $forever)))
)
