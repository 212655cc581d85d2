;; Memory with a declared maximum above the adapter's limit.
(module
  (memory (export "memory") 1 100)
  (func (export "grow") (param i32) (result i32)
    (memory.grow (local.get 0)))
)
