;; The waPC guest of the peer benchmarks (bench/peers/wapc): hand-written,
;; the least a waPC guest does for the work of the library's scenarios.
;; Assembled with wabt's wat2wasm (bench/peers/build-guests.sh).
;;
;; __guest_call(operation_len, payload_len) asks the host for the operation
;; name and the payload (__guest_request, written at 16 and 64), then:
;;   - operation "echo": answers the payload as is
;;     (__guest_response from where it was written: no copy in the guest);
;;   - operation "greet": calls the host's test.hello with the
;;     payload (__host_call), reads the host's answer (__host_response) and
;;     answers it.
;; Any other operation fails (returns 0). Payloads up to 131008 bytes fit.
(module
  (import "wapc" "__guest_request" (func $guest_request (param i32 i32)))
  (import "wapc" "__guest_response" (func $guest_response (param i32 i32)))
  (import "wapc" "__host_call"
    (func $host_call (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wapc" "__host_response_len" (func $host_response_len (result i32)))
  (import "wapc" "__host_response" (func $host_response (param i32)))
  (memory (export "memory") 2)
  (data (i32.const 0) "test")
  (data (i32.const 4) "hello")
  (func (export "__guest_call") (param $op_len i32) (param $len i32) (result i32)
    (local $n i32)
    (if (i32.gt_u (local.get $op_len) (i32.const 48))
      (then (return (i32.const 0))))
    (if (i32.gt_u (local.get $len) (i32.const 131008))
      (then (return (i32.const 0))))
    (call $guest_request (i32.const 16) (i32.const 64))
    ;; "echo": 4 bytes, "echo" read as a little-endian i32
    (if (i32.and (i32.eq (local.get $op_len) (i32.const 4))
                 (i32.eq (i32.load (i32.const 16)) (i32.const 0x6f686365)))
      (then
        (call $guest_response (i32.const 64) (local.get $len))
        (return (i32.const 1))))
    ;; "greet": 5 bytes, "gree" as a little-endian i32, then "t"
    (if (i32.eqz (i32.and
          (i32.and (i32.eq (local.get $op_len) (i32.const 5))
                   (i32.eq (i32.load (i32.const 16)) (i32.const 0x65657267)))
          (i32.eq (i32.load8_u (i32.const 20)) (i32.const 0x74))))
      (then (return (i32.const 0))))
    ;; binding "", namespace "test", operation "hello", the payload
    (if (i32.eqz (call $host_call
          (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 4)
          (i32.const 4) (i32.const 5) (i32.const 64) (local.get $len)))
      (then (return (i32.const 0))))
    (local.set $n (call $host_response_len))
    (if (i32.gt_u (local.get $n) (i32.const 131008))
      (then (return (i32.const 0))))
    (call $host_response (i32.const 64))
    (call $guest_response (i32.const 64) (local.get $n))
    (i32.const 1)))
