;; Non-function imports, in an order the adapter must keep.
(module
  (import "env" "f" (func (param i32 i64) (result f32)))
  (import "env" "mem" (memory 1))
  (import "env" "tbl" (table 1 funcref))
  (import "env" "glob" (global i32))
  (import "env" "g" (func))
  (func (export "z"))
  (export "mem2" (memory 0))
  (export "a" (func 0))
)
