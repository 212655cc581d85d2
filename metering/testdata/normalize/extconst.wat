;; Extended constant expressions (i32/i64 add, sub, mul) and global.get of
;; earlier globals of the module in global initializers, data and element
;; offsets and element items. Assembled with --enable-extended-const
;; --no-check (wabt does not accept global.get of a defined global).
(module
  (memory (export "memory") 1)
  (table 8 funcref)
  (global $base i32 (i32.const 100))
  (global $off (export "off") i32 (i32.add (global.get $base) (i32.mul (i32.const 4) (i32.const 5))))
  (global $neg (export "neg") i64 (i64.sub (i64.const 0) (i64.mul (i64.const 0x100000000) (i64.const 3))))
  (global $wrap (export "wrap") i32 (i32.mul (i32.const 0x10000) (i32.const 0x10001)))
  (global $min (export "min") i32 (i32.sub (i32.const 0x80000000) (i32.const 1)))
  (global $f (export "f") f64 (f64.const 1.5))
  (global $gf (export "gf") f64 (global.get $f))
  (global $chain (export "chain") i64 (i64.add (global.get $neg) (i64.const 7)))
  (global $r funcref (ref.func $x))
  (global $rr funcref (global.get $r))
  (global $counter (mut i32) (global.get $off))
  (data (i32.add (global.get $off) (i32.const 8)) "hi")
  (elem (i32.sub (i32.const 10) (i32.const 7)) func $x)
  (elem (i32.const 4) funcref (global.get $rr) (ref.null func))
  (type $t (func (result i32)))
  (func $x (result i32) (i32.const 7))
  (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "call") (param i32) (result i32) (call_indirect (type $t) (local.get 0)))
  (func (export "counter") (result i32) (global.get $counter))
  (func (export "callrr") (result i32) (table.set 0 (i32.const 5) (global.get $rr)) (call_indirect (type $t) (i32.const 5))))
