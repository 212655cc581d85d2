;; memory.init and table.init from active, passive and declarative
;; segments. The specification drops active (and declarative) segments once
;; instantiation applied them, before the start function runs: init from
;; them traps unless it copies nothing from offset 0.
(module
  (memory (export "memory") 1)
  (data $active (i32.const 0) "abcd")
  (data $passive "wxyz")
  (data $active2 (i32.const 8) "efgh")
  (table $t 4 funcref)
  (elem $eactive (i32.const 0) func $one)
  (elem $edecl declare func $two)
  (elem $epassive func $one $two)
  (type $r (func (result i32)))
  (global $starts (mut i32) (i32.const 0))
  (func $start (global.set $starts (i32.add (global.get $starts) (i32.const 1))))
  (start $start)
  (func $one (result i32) (i32.const 1))
  (func $two (result i32) (i32.const 2))
  (func (export "init_active") (param i32 i32 i32) (memory.init $active (local.get 0) (local.get 1) (local.get 2)))
  (func (export "init_active2") (param i32 i32 i32) (memory.init $active2 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "init_passive") (param i32 i32 i32) (memory.init $passive (local.get 0) (local.get 1) (local.get 2)))
  (func (export "tinit_active") (param i32 i32 i32) (table.init $t $eactive (local.get 0) (local.get 1) (local.get 2)))
  (func (export "tinit_decl") (param i32 i32 i32) (table.init $t $edecl (local.get 0) (local.get 1) (local.get 2)))
  (func (export "tinit_passive") (param i32 i32 i32) (table.init $t $epassive (local.get 0) (local.get 1) (local.get 2)))
  (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "call") (param i32) (result i32) (call_indirect (type $r) (local.get 0)))
  (func (export "starts") (result i32) (global.get $starts))
  (func (export "ref_two") (drop (ref.func $two))))
