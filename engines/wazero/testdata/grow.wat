;; Test module: grow(n) grows the memory one page at a time, n times,
;; touching one byte of each new page, and returns the final size in pages.
;; Built with the pinned wat2wasm (conformance/node_modules/.bin/wat2wasm).
(module
  (memory (export "memory") 1)
  (func (export "allocate") (param i32) (result i32) (i32.const 8))
  ;; grow(n): memory.grow(1) n times, touching one byte of each new page; returns the final size in pages
  (func (export "grow") (param $n i32) (result i32)
    (local $i i32)
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (if (i32.lt_s (memory.grow (i32.const 1)) (i32.const 0)) (then (br $done)))
      (i32.store8 (i32.mul (i32.sub (memory.size) (i32.const 1)) (i32.const 65536)) (i32.const 1))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (memory.size)))
