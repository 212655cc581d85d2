;; Host calls: results, errors, re-entry through the caller.
(module
  (import "env" "h" (func $h (param i32) (result i32)))
  (import "env" "fail" (func $fail))
  (import "env" "reenter" (func $reenter (param i32) (result i32)))
  (import "other" "down" (func $down (param i32) (result i32)))
  (memory (export "memory") 1)
  (global $next (mut i32) (i32.const 1024))
  (func (export "call_h") (param i32) (result i32)
    (call $h (local.get 0)))
  (func (export "call_fail") (param i32) (result i32)
    (call $fail)
    (local.get 0))
  ;; bump allocator the host calls from inside reenter
  (func (export "allocate") (param i32) (result i32)
    (global.get $next)
    (global.set $next (i32.add (global.get $next) (local.get 0))))
  ;; returns the first byte at the offset the host returns
  (func (export "call_reenter") (param i32) (result i32)
    (i32.load8_u (call $reenter (local.get 0))))
  ;; rec(n) = n == 0 ? 0 : 1 + down(n - 1), where the host's down calls rec
  (func (export "rec") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $down (i32.sub (local.get 0) (i32.const 1)))))))
  ;; loop calling h n times, for the benchmark
  (func (export "loop_h") (param i32) (result i32)
    (local $acc i32)
    (block $done
      (loop $l
        (br_if $done (i32.eqz (local.get 0)))
        (local.set $acc (i32.add (local.get $acc) (call $h (local.get 0))))
        (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
        (br $l)))
    (local.get $acc))
)
