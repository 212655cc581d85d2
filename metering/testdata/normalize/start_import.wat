;; The start function is an imported host function: Normalize calls it
;; through an added function, so that it runs with the instance as its
;; caller.
(module
  (import "env" "hello" (func $hello))
  (memory (export "memory") 1)
  (start $hello)
  (func (export "read") (result i32) (i32.load (i32.const 16))))
