package abi

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
)

// Marshal returns the canonical encoding of v (see FORMAT.md section 3).
func Marshal(v any) ([]byte, error) {
	return Append(nil, v)
}

// Append appends the canonical encoding of v to dst and returns the extended
// buffer. On error dst's contents up to its original length are unchanged.
func Append(dst []byte, v any) ([]byte, error) {
	if out, ok, err := appendFast(dst, v); ok {
		if err != nil {
			return dst[:len(dst):len(dst)], err
		}
		return out, nil
	}
	e := encodeState{buf: dst}
	if err := e.value(reflect.ValueOf(v), 0); err != nil {
		return dst[:len(dst):len(dst)], err
	}
	return e.buf, nil
}

// AppendValue is Append for a reflect.Value.
func AppendValue(dst []byte, v reflect.Value) ([]byte, error) {
	e := encodeState{buf: dst}
	if err := e.value(v, 0); err != nil {
		return dst[:len(dst):len(dst)], err
	}
	return e.buf, nil
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

type encodeState struct {
	buf      []byte
	indirect int // pointer and interface levels, to stop cycles without composites
}

// maxIndirect bounds pointer/interface chains (a cycle through pointers alone
// never reaches MaxDepth composites).
const maxIndirect = 1024

func (e *encodeState) header(tag Tag, n int) {
	e.buf = binary.LittleEndian.AppendUint16(e.buf, uint16(tag))
	e.buf = binary.LittleEndian.AppendUint32(e.buf, uint32(n))
}

// open starts a composite: header with a placeholder length and the count.
func (e *encodeState) open(tag Tag, count, depth int) (int, error) {
	if depth+1 > MaxDepth {
		return 0, &TypeError{Type: tag.String(), Err: ErrTooDeep, Detail: fmt.Sprintf("nesting deeper than %d (a cycle?)", MaxDepth)}
	}
	start := len(e.buf)
	e.header(tag, 0)
	e.buf = binary.LittleEndian.AppendUint32(e.buf, uint32(count))
	return start, nil
}

// close patches a composite's payload length.
func (e *encodeState) close(start int) error {
	n := len(e.buf) - start - HeaderSize
	if n > MaxPayload {
		return &TypeError{Type: "composite", Err: ErrTooLarge, Detail: fmt.Sprintf("%d bytes", n)}
	}
	binary.LittleEndian.PutUint32(e.buf[start+2:], uint32(n))
	return nil
}

func (e *encodeState) bytes(tag Tag, b []byte) error {
	if len(b) > MaxPayload {
		return &TypeError{Type: tag.String(), Err: ErrTooLarge, Detail: fmt.Sprintf("%d bytes", len(b))}
	}
	e.header(tag, len(b))
	e.buf = append(e.buf, b...)
	return nil
}

func (e *encodeState) value(v reflect.Value, depth int) error {
	if !v.IsValid() {
		e.header(TagNil, 0)
		return nil
	}
	return typeEncoder(v.Type())(e, v, depth)
}

type encoderFunc func(e *encodeState, v reflect.Value, depth int) error

var encoderCache sync.Map // reflect.Type -> encoderFunc

var marshalerType = reflect.TypeFor[Marshaler]()

func typeEncoder(t reflect.Type) encoderFunc {
	if f, ok := encoderCache.Load(t); ok {
		return f.(encoderFunc)
	}
	var (
		wg sync.WaitGroup
		f  encoderFunc
	)
	wg.Add(1)
	fi, loaded := encoderCache.LoadOrStore(t, encoderFunc(func(e *encodeState, v reflect.Value, depth int) error {
		wg.Wait()
		return f(e, v, depth)
	}))
	if loaded {
		return fi.(encoderFunc)
	}
	f = newTypeEncoder(t, true)
	wg.Done()
	encoderCache.Store(t, f)
	return f
}

func unsupported(t reflect.Type, detail string) encoderFunc {
	err := &TypeError{Type: t.String(), Err: ErrUnsupportedType, Detail: detail}
	return func(*encodeState, reflect.Value, int) error { return err }
}

func newTypeEncoder(t reflect.Type, allowAddr bool) encoderFunc {
	// An interface type is never encoded through its own MarshalABI: it may be
	// nil, and its dynamic value is dispatched on below (which finds the
	// Marshaler if it is one).
	if t.Kind() != reflect.Interface && t.Implements(marshalerType) {
		return marshalerEncoder
	}
	if t.Kind() != reflect.Pointer && allowAddr && reflect.PointerTo(t).Implements(marshalerType) {
		plain := newTypeEncoder(t, false)
		return func(e *encodeState, v reflect.Value, depth int) error {
			if v.CanAddr() {
				return marshalerEncoder(e, v.Addr(), depth)
			}
			return plain(e, v, depth)
		}
	}
	switch t.Kind() {
	case reflect.Int8:
		return func(e *encodeState, v reflect.Value, _ int) error {
			e.header(TagInt8, 1)
			e.buf = append(e.buf, byte(v.Int()))
			return nil
		}
	case reflect.Int16:
		return func(e *encodeState, v reflect.Value, _ int) error {
			e.header(TagInt16, 2)
			e.buf = binary.LittleEndian.AppendUint16(e.buf, uint16(v.Int()))
			return nil
		}
	case reflect.Int32:
		return func(e *encodeState, v reflect.Value, _ int) error {
			e.header(TagInt32, 4)
			e.buf = binary.LittleEndian.AppendUint32(e.buf, uint32(v.Int()))
			return nil
		}
	case reflect.Int64, reflect.Int:
		return func(e *encodeState, v reflect.Value, _ int) error {
			e.header(TagInt64, 8)
			e.buf = binary.LittleEndian.AppendUint64(e.buf, uint64(v.Int()))
			return nil
		}
	case reflect.Uint8:
		return func(e *encodeState, v reflect.Value, _ int) error {
			e.header(TagUint8, 1)
			e.buf = append(e.buf, byte(v.Uint()))
			return nil
		}
	case reflect.Uint16:
		return func(e *encodeState, v reflect.Value, _ int) error {
			e.header(TagUint16, 2)
			e.buf = binary.LittleEndian.AppendUint16(e.buf, uint16(v.Uint()))
			return nil
		}
	case reflect.Uint32:
		return func(e *encodeState, v reflect.Value, _ int) error {
			e.header(TagUint32, 4)
			e.buf = binary.LittleEndian.AppendUint32(e.buf, uint32(v.Uint()))
			return nil
		}
	case reflect.Uint64, reflect.Uint:
		return func(e *encodeState, v reflect.Value, _ int) error {
			e.header(TagUint64, 8)
			e.buf = binary.LittleEndian.AppendUint64(e.buf, v.Uint())
			return nil
		}
	case reflect.Bool:
		return func(e *encodeState, v reflect.Value, _ int) error {
			e.header(TagBool, 1)
			b := byte(0)
			if v.Bool() {
				b = 1
			}
			e.buf = append(e.buf, b)
			return nil
		}
	case reflect.Float32:
		return func(e *encodeState, v reflect.Value, _ int) error {
			e.header(TagFloat32, 4)
			e.buf = binary.LittleEndian.AppendUint32(e.buf, math.Float32bits(float32Of(v)))
			return nil
		}
	case reflect.Float64:
		return func(e *encodeState, v reflect.Value, _ int) error {
			e.header(TagFloat64, 8)
			e.buf = binary.LittleEndian.AppendUint64(e.buf, math.Float64bits(v.Float()))
			return nil
		}
	case reflect.String:
		return func(e *encodeState, v reflect.Value, _ int) error {
			s := v.String()
			if len(s) > MaxPayload {
				return &TypeError{Type: "string", Err: ErrTooLarge, Detail: fmt.Sprintf("%d bytes", len(s))}
			}
			e.header(TagString, len(s))
			e.buf = append(e.buf, s...)
			return nil
		}
	case reflect.Interface:
		return func(e *encodeState, v reflect.Value, depth int) error {
			if v.IsNil() {
				e.header(TagNil, 0)
				return nil
			}
			return e.indirectValue(v.Elem(), depth)
		}
	case reflect.Pointer:
		return func(e *encodeState, v reflect.Value, depth int) error {
			if v.IsNil() {
				e.header(TagNil, 0)
				return nil
			}
			return e.indirectValue(v.Elem(), depth)
		}
	case reflect.Slice:
		if t == structType {
			return structValueEncoder
		}
		if t.Elem().Kind() == reflect.Uint8 && !t.Elem().Implements(marshalerType) && !reflect.PointerTo(t.Elem()).Implements(marshalerType) {
			return func(e *encodeState, v reflect.Value, _ int) error {
				return e.bytes(TagByteArray, v.Bytes())
			}
		}
		return newListEncoder(t)
	case reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && !t.Elem().Implements(marshalerType) && !reflect.PointerTo(t.Elem()).Implements(marshalerType) {
			return func(e *encodeState, v reflect.Value, _ int) error {
				if !v.CanAddr() {
					// Bytes needs an addressable array; reflect.Copy would
					// reject a named byte element type.
					c := reflect.New(v.Type()).Elem()
					c.Set(v)
					v = c
				}
				return e.bytes(TagByteArray, v.Bytes())
			}
		}
		return newListEncoder(t)
	case reflect.Map:
		switch t.Key().Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
			reflect.Bool, reflect.String, reflect.Interface:
		default:
			return unsupported(t, "map keys must be integers, bools or strings")
		}
		if t.Key().Implements(marshalerType) || reflect.PointerTo(t.Key()).Implements(marshalerType) {
			return unsupported(t, "map keys cannot be Marshalers")
		}
		return newMapEncoder(t)
	case reflect.Struct:
		fields, err := cachedFields(t)
		if err != nil {
			return func(*encodeState, reflect.Value, int) error { return err }
		}
		return newStructEncoder(fields)
	}
	return unsupported(t, "")
}

func (e *encodeState) indirectValue(v reflect.Value, depth int) error {
	e.indirect++
	defer func() { e.indirect-- }()
	if e.indirect > maxIndirect {
		return &TypeError{Type: v.Type().String(), Err: ErrTooDeep, Detail: fmt.Sprintf("more than %d pointers or interfaces in a chain (a cycle?)", maxIndirect)}
	}
	return typeEncoder(v.Type())(e, v, depth)
}

func marshalerEncoder(e *encodeState, v reflect.Value, depth int) error {
	if v.Kind() == reflect.Pointer && v.IsNil() {
		e.header(TagNil, 0)
		return nil
	}
	b, err := v.Interface().(Marshaler).MarshalABI()
	if err != nil {
		return &TypeError{Type: v.Type().String(), Err: ErrUnsupportedType, Detail: "MarshalABI: " + err.Error()}
	}
	// Validate at the current depth, so the Marshaler's nesting counts
	// towards MaxDepth like everything else.
	if err := validateAt(b, depth); err != nil {
		sentinel := ErrUnsupportedType
		if errors.Is(err, ErrTooDeep) {
			sentinel = ErrTooDeep
		}
		return &TypeError{Type: v.Type().String(), Err: sentinel, Detail: "MarshalABI returned an invalid value: " + err.Error()}
	}
	e.buf = append(e.buf, b...)
	return nil
}

func newListEncoder(t reflect.Type) encoderFunc {
	elem := t.Elem()
	return func(e *encodeState, v reflect.Value, depth int) error {
		n := v.Len()
		start, err := e.open(TagList, n, depth)
		if err != nil {
			return err
		}
		enc := typeEncoder(elem)
		for i := 0; i < n; i++ {
			if err := enc(e, v.Index(i), depth+1); err != nil {
				return err
			}
		}
		return e.close(start)
	}
}

// mapEntry locates one encoded entry inside encodeState.buf.
type mapEntry struct{ key, val, end int }

func newMapEncoder(t reflect.Type) encoderFunc {
	return func(e *encodeState, v reflect.Value, depth int) error {
		n := v.Len()
		start, err := e.open(TagMap, n, depth)
		if err != nil {
			return err
		}
		body := len(e.buf)
		entries := make([]mapEntry, 0, n)
		it := v.MapRange()
		for it.Next() {
			ent := mapEntry{key: len(e.buf)}
			if err := e.value(it.Key(), depth+1); err != nil {
				return err
			}
			if t := Tag(int16(binary.LittleEndian.Uint16(e.buf[ent.key:]))); !t.isKey() {
				return &TypeError{Type: it.Key().Type().String(), Err: ErrUnsupportedType, Detail: t.String() + " cannot be a map key"}
			}
			ent.val = len(e.buf)
			if err := e.value(it.Value(), depth+1); err != nil {
				return err
			}
			ent.end = len(e.buf)
			entries = append(entries, ent)
		}
		enc := e.buf[body:]
		slices.SortFunc(entries, func(a, b mapEntry) int {
			return compareKeys(enc[a.key-body:], enc[b.key-body:])
		})
		for i := 1; i < len(entries); i++ {
			if compareKeys(enc[entries[i-1].key-body:], enc[entries[i].key-body:]) == 0 {
				return &TypeError{Type: t.String(), Err: ErrUnsupportedType, Detail: "two keys encode the same"}
			}
		}
		sorted := make([]byte, 0, len(enc))
		for _, ent := range entries {
			sorted = append(sorted, enc[ent.key-body:ent.end-body]...)
		}
		copy(enc, sorted)
		return e.close(start)
	}
}

// field is one encodable struct field.
type field struct {
	name  string
	index int
	typ   reflect.Type
}

type structFields struct {
	list  []field
	index map[string]int
}

func (s *structFields) byName(name string) *field {
	if i, ok := s.index[name]; ok {
		return &s.list[i]
	}
	return nil
}

var fieldCache sync.Map // reflect.Type -> *structFields or error

func cachedFields(t reflect.Type) (*structFields, error) {
	if f, ok := fieldCache.Load(t); ok {
		if err, isErr := f.(error); isErr {
			return nil, err
		}
		return f.(*structFields), nil
	}
	fs := &structFields{index: map[string]int{}}
	var ferr error
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name := sf.Name
		if tag, ok := sf.Tag.Lookup("abi"); ok {
			tag, _, _ = strings.Cut(tag, ",")
			if tag == "-" {
				continue
			}
			if tag != "" {
				name = tag
			}
		}
		if len(name) > math.MaxUint16 {
			ferr = &TypeError{Type: t.String(), Err: ErrUnsupportedType, Detail: "field name longer than 65535 bytes"}
			break
		}
		if _, dup := fs.index[name]; dup {
			ferr = &TypeError{Type: t.String(), Err: ErrUnsupportedType, Detail: fmt.Sprintf("two fields named %q", name)}
			break
		}
		fs.index[name] = len(fs.list)
		fs.list = append(fs.list, field{name: name, index: i, typ: sf.Type})
	}
	if ferr != nil {
		fieldCache.Store(t, ferr)
		return nil, ferr
	}
	fieldCache.Store(t, fs)
	return fs, nil
}

func newStructEncoder(fs *structFields) encoderFunc {
	return func(e *encodeState, v reflect.Value, depth int) error {
		start, err := e.open(TagStruct, len(fs.list), depth)
		if err != nil {
			return err
		}
		for i := range fs.list {
			f := &fs.list[i]
			e.buf = binary.LittleEndian.AppendUint16(e.buf, uint16(len(f.name)))
			e.buf = append(e.buf, f.name...)
			if err := typeEncoder(f.typ)(e, v.Field(f.index), depth+1); err != nil {
				return err
			}
		}
		return e.close(start)
	}
}

// structValueEncoder encodes an abi.Struct.
func structValueEncoder(e *encodeState, v reflect.Value, depth int) error {
	s := v.Interface().(Struct)
	start, err := e.open(TagStruct, len(s), depth)
	if err != nil {
		return err
	}
	var seen fieldSet[string]
	for _, f := range s {
		if f.Name == "" || len(f.Name) > math.MaxUint16 || !seen.add(f.Name) {
			return &TypeError{Type: "abi.Struct", Err: ErrUnsupportedType, Detail: fmt.Sprintf("invalid or repeated field name %q", f.Name)}
		}
		e.buf = binary.LittleEndian.AppendUint16(e.buf, uint16(len(f.Name)))
		e.buf = append(e.buf, f.Name...)
		if err := e.value(reflect.ValueOf(f.Value), depth+1); err != nil {
			return err
		}
	}
	return e.close(start)
}

var (
	float32Type    = reflect.TypeFor[float32]()
	float32PtrType = reflect.TypeFor[*float32]()
)

// float32Of returns the float32 in v (of kind Float32) bit for bit.
// v.Float() converts to float64, which quiets a signalling NaN on common
// hardware; reflect converts between float32 types without that round trip.
func float32Of(v reflect.Value) float32 {
	if v.CanAddr() {
		return *v.Addr().Convert(float32PtrType).Interface().(*float32)
	}
	return v.Convert(float32Type).Interface().(float32)
}
