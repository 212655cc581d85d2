;; A start section that calls the host, which writes memory through Caller.
(module
  (import "env" "init" (func $init (param i32)))
  (memory (export "memory") 1)
  (func $start (call $init (i32.const 42)))
  (start $start)
  (func (export "get") (result i32) (i32.load8_u (i32.const 0)))
)
