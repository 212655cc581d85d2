;; memory.init from an active data segment, no start section, no
;; table.init: only the data segments are dropped.
(module
  (memory (export "memory") 1)
  (data $active (i32.const 0) "abcd")
  (table 1 funcref)
  (elem (i32.const 0) func $f)
  (func $f)
  (func (export "init") (param i32 i32 i32) (memory.init $active (local.get 0) (local.get 1) (local.get 2)))
  (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0))))
