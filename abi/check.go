package abi

import "reflect"

// CheckType reports whether values of type t can be encoded and decoded,
// without needing a value: it returns a *TypeError matching
// ErrUnsupportedType for channels, functions, complex numbers, uintptr,
// unsafe pointers, maps with unsupported key types, and types containing
// them. Interfaces are accepted (their dynamic values are checked when
// encoded); types implementing Marshaler and Unmarshaler are accepted.
func CheckType(t reflect.Type) error {
	return checkType(t, map[reflect.Type]bool{})
}

func checkType(t reflect.Type, seen map[reflect.Type]bool) error {
	if seen[t] {
		return nil
	}
	seen[t] = true
	if t.Implements(marshalerType) || reflect.PointerTo(t).Implements(marshalerType) {
		if reflect.PointerTo(t).Implements(unmarshalerType) || t.Kind() == reflect.Pointer && t.Implements(unmarshalerType) {
			return nil
		}
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Bool, reflect.String, reflect.Float32, reflect.Float64, reflect.Interface:
		return nil
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return checkType(t.Elem(), seen)
	case reflect.Map:
		switch t.Key().Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
			reflect.Bool, reflect.String, reflect.Interface:
		default:
			return &TypeError{Type: t.String(), Err: ErrUnsupportedType, Detail: "map keys must be integers, bools or strings"}
		}
		return checkType(t.Elem(), seen)
	case reflect.Struct:
		fs, err := cachedFields(t)
		if err != nil {
			return err
		}
		for _, f := range fs.list {
			if err := checkType(f.typ, seen); err != nil {
				return &TypeError{Type: t.String(), Err: ErrUnsupportedType, Detail: "field " + f.name + ": " + err.Error()}
			}
		}
		return nil
	}
	return &TypeError{Type: t.String(), Err: ErrUnsupportedType}
}
