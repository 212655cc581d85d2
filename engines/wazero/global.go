package wazero

import (
	"reflect"
	"unsafe"

	"github.com/tetratelabs/wazero/api"
)

// Globals written while the guest runs.
//
// The runtime interrupts a metered guest by setting a global from another
// goroutine while the guest runs (engine.Global). wazero's compiled code
// reads globals from memory that Go code does not read at the same time, so
// api.MutableGlobal.Set is fine there. wazero's interpreter (used on
// platforms its compiler does not support) reads a global's value in Go,
// without synchronization: a concurrent Set is a data race the race
// detector reports, although an aligned word read observes either value and
// the flag only ever goes from 0 to 1 while the guest runs. For interpreted
// code the adapter therefore writes the value itself, with a store the race
// detector does not instrument (storeNoRace).

// interpretedValue returns the address of the value of g if g is a mutable
// numeric global of interpreted code, else nil. wazero exposes no such
// address: it is found by reflection on wazero's global types (a struct
// holding a pointer g to a GlobalInstance, whose Val is the value and whose
// Me is the module engine of compiled code, nil for the interpreter); if
// they change shape, nil is returned and Set uses api.MutableGlobal.Set
// (TestInterpretedGlobal fails then).
func interpretedValue(g api.Global) *uint64 {
	if _, ok := g.(api.MutableGlobal); !ok {
		return nil
	}
	switch g.Type() {
	case api.ValueTypeI32, api.ValueTypeI64, api.ValueTypeF32, api.ValueTypeF64:
	default:
		return nil // a vector's value has a second word
	}
	v := reflect.ValueOf(g)
	if v.Kind() != reflect.Struct {
		return nil
	}
	p := v.FieldByName("g")
	if !p.IsValid() || p.Kind() != reflect.Pointer || p.IsNil() || p.Type().Elem().Kind() != reflect.Struct {
		return nil
	}
	inst := p.Type().Elem()
	val, ok := inst.FieldByName("Val")
	if !ok || val.Type.Kind() != reflect.Uint64 || len(val.Index) != 1 {
		return nil
	}
	me, ok := inst.FieldByName("Me")
	if !ok || me.Type.Kind() != reflect.Interface {
		return nil
	}
	base := p.UnsafePointer()
	if !reflect.NewAt(inst, base).Elem().FieldByIndex(me.Index).IsNil() {
		return nil // compiled code
	}
	return (*uint64)(unsafe.Add(base, val.Offset))
}

// storeNoRace stores v at p, a word the interpreter reads without
// synchronization; the race detector does not see the store.
//
//go:norace
func storeNoRace(p *uint64, v uint64) { *p = v }
