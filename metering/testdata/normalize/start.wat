;; A start section that writes memory and calls an import that reads it
;; through the calling instance's memory. The start function is also
;; exported as "init" (Normalize exports it a second time, as
;; __aspect_wasm_start__).
(module
  (import "env" "note" (func $note (param i32)))
  (memory (export "memory") 1)
  (global $starts (mut i32) (i32.const 0))
  (func $start (export "init")
    (i32.store (i32.const 16) (i32.const 42))
    (global.set $starts (i32.add (global.get $starts) (i32.const 1)))
    (call $note (i32.const 16)))
  (start $start)
  (func (export "read") (result i32) (i32.load (i32.const 16)))
  (func (export "starts") (result i32) (global.get $starts)))
