;; The Extism guest of the peer benchmarks (bench/peers/extism):
;; hand-written, the least an Extism guest does for the work of the
;; library's scenarios. Assembled with wabt's wat2wasm
;; (bench/peers/build-guests.sh).
;;
;;   echo():  the output is the input block as is (output_set of
;;            input_offset and input_length: no copy in the guest);
;;   greet(): calls the host function hello (extism:host/user) with the
;;            input block and sets the block it returns as the output.
;; Both return 0 (success).
(module
  (import "extism:host/env" "input_offset" (func $input_offset (result i64)))
  (import "extism:host/env" "input_length" (func $input_length (result i64)))
  (import "extism:host/env" "length" (func $length (param i64) (result i64)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (import "extism:host/user" "hello" (func $hello (param i64) (result i64)))
  (memory (export "memory") 1)
  (func (export "echo") (result i32)
    (call $output_set (call $input_offset) (call $input_length))
    (i32.const 0))
  (func (export "greet") (result i32)
    (local $r i64)
    (local.set $r (call $hello (call $input_offset)))
    (call $output_set (local.get $r) (call $length (local.get $r)))
    (i32.const 0)))
