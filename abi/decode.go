package abi

import (
	"bytes"
	"encoding/binary"
	"math"
	"reflect"
	"strconv"
	"sync"
)

// Decode decodes one encoded value into its generic Go form (see FORMAT.md
// section 3): Int8…Uint64 as int8…uint64, Bool as bool, String as string,
// ByteArray as []byte, Float32/Float64 as float32/float64, List as []any,
// Map as map[any]any, Struct as Struct, Nil as nil.
func Decode(data []byte) (any, error) {
	// A String or ByteArray that is all of data, the most common result,
	// without the generic decoder's calls: the value, and the absence of
	// any error, it would find.
	if len(data) >= HeaderSize && int64(int32(binary.LittleEndian.Uint32(data[2:]))) == int64(len(data)-HeaderSize) {
		switch Tag(int16(binary.LittleEndian.Uint16(data))) {
		case TagString:
			return stringAny(data[HeaderSize:]), nil
		case TagByteArray:
			return bytesAny(data[HeaderSize:]), nil
		}
	}
	d := decodeState{data: data}
	v, end, err := d.generic(0, len(data), 0, true)
	if err != nil {
		return nil, err
	}
	if end != len(data) {
		return nil, d.errorf(end, ErrTrailingData, "%d bytes after the value", len(data)-end)
	}
	return v, nil
}

// Validate reports whether data is exactly one valid encoded value.
func Validate(data []byte) error { return validateAt(data, 0) }

// validateAt is Validate for a value nested inside depth composites.
func validateAt(data []byte, depth int) error {
	d := decodeState{data: data}
	_, end, err := d.generic(0, len(data), depth, false)
	if err != nil {
		return err
	}
	if end != len(data) {
		return d.errorf(end, ErrTrailingData, "%d bytes after the value", len(data)-end)
	}
	return nil
}

// Unmarshal decodes one encoded value into the value pointed to by v, which
// must be a non-nil pointer. Conversions follow FORMAT.md section 3.
func Unmarshal(data []byte, v any) error {
	if unmarshalFast(data, v) {
		return nil
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return &TypeError{Type: typeName(rv), Err: ErrUnsupportedType, Detail: "Unmarshal needs a non-nil pointer"}
	}
	d := decodeState{data: data}
	end, err := d.value(0, len(data), 0, rv.Elem())
	if err != nil {
		return err
	}
	if end != len(data) {
		return d.errorf(end, ErrTrailingData, "%d bytes after the value", len(data)-end)
	}
	return nil
}

// UnmarshalValue is Unmarshal into a reflect.Value, which must be settable.
func UnmarshalValue(data []byte, v reflect.Value) error {
	if !v.CanSet() {
		return &TypeError{Type: typeName(v), Err: ErrUnsupportedType, Detail: "value is not settable"}
	}
	d := decodeState{data: data}
	end, err := d.value(0, len(data), 0, v)
	if err != nil {
		return err
	}
	if end != len(data) {
		return d.errorf(end, ErrTrailingData, "%d bytes after the value", len(data)-end)
	}
	return nil
}

// ValueSize returns the total size (header and payload) of the value whose
// header starts data, checking only the header.
func ValueSize(data []byte) (int, error) {
	d := decodeState{data: data}
	_, _, pEnd, err := d.header(0, len(data))
	return pEnd, err
}

func typeName(v reflect.Value) string {
	if !v.IsValid() {
		return "nil"
	}
	return v.Type().String()
}

type decodeState struct {
	data []byte
}

func (d *decodeState) errorf(off int, err error, format string, args ...any) error {
	e := &DecodeError{Offset: off, Err: err}
	if format != "" {
		e.Detail = sprintf(format, args...)
	}
	return e
}

// header parses the header at off; the value must end by end. It returns the
// tag and the payload's bounds, checking the fixed-width rules.
func (d *decodeState) header(off, end int) (Tag, int, int, error) {
	if end-off < HeaderSize {
		return 0, 0, 0, d.errorf(off, ErrTruncated, "header needs %d bytes, %d left", HeaderSize, end-off)
	}
	tag := Tag(int16(binary.LittleEndian.Uint16(d.data[off:])))
	n := int64(int32(binary.LittleEndian.Uint32(d.data[off+2:])))
	if !tag.Valid() {
		return 0, 0, 0, d.errorf(off, ErrUnknownTag, "tag %d", int16(tag))
	}
	if n < 0 {
		return 0, 0, 0, d.errorf(off, ErrInvalidLength, "negative length %d", n)
	}
	pOff := off + HeaderSize
	if n > int64(end-pOff) {
		return 0, 0, 0, d.errorf(off, ErrTruncated, "%s payload of %d bytes, %d left", tag, n, end-pOff)
	}
	pEnd := pOff + int(n)
	if w := tag.fixedWidth(); w >= 0 && int(n) != w {
		return 0, 0, 0, d.errorf(off, ErrInvalidLength, "%s needs %d bytes, has %d", tag, w, n)
	}
	if tag == TagBool && d.data[pOff] > 1 {
		return 0, 0, 0, d.errorf(off, ErrInvalidBool, "byte %d", d.data[pOff])
	}
	return tag, pOff, pEnd, nil
}

// count reads the element count of a composite and checks it against the
// payload size, so no count makes the decoder allocate more than the input.
func (d *decodeState) count(tag Tag, pOff, pEnd, depth int) (int, error) {
	if depth+1 > MaxDepth {
		return 0, d.errorf(pOff-HeaderSize, ErrTooDeep, "more than %d levels", MaxDepth)
	}
	if pEnd-pOff < 4 {
		return 0, d.errorf(pOff-HeaderSize, ErrInvalidLength, "%s payload shorter than its count", tag)
	}
	c := uint64(binary.LittleEndian.Uint32(d.data[pOff:]))
	if c > uint64(pEnd-pOff-4)/HeaderSize {
		return 0, d.errorf(pOff-HeaderSize, ErrInvalidLength, "%s count %d exceeds its payload", tag, c)
	}
	return int(c), nil
}

// fieldName reads a struct field name at off. The name aliases the input.
func (d *decodeState) fieldName(off, end int) ([]byte, int, error) {
	if end-off < 2 {
		return nil, 0, d.errorf(off, ErrTruncated, "struct field name length")
	}
	n := int(binary.LittleEndian.Uint16(d.data[off:]))
	if n == 0 {
		return nil, 0, d.errorf(off, ErrNonCanonical, "empty struct field name")
	}
	if n > end-off-2 {
		return nil, 0, d.errorf(off, ErrTruncated, "struct field name of %d bytes", n)
	}
	return d.data[off+2 : off+2+n], off + 2 + n, nil
}

// checkKey checks map key order: keys must be of a key tag and strictly
// increasing. prev is the previous key's header offset, or -1.
func (d *decodeState) checkKey(prev, cur int) error {
	ct := Tag(int16(binary.LittleEndian.Uint16(d.data[cur:])))
	if !ct.isKey() {
		return d.errorf(cur, ErrNonCanonical, "%s is not a map key type", ct)
	}
	if prev >= 0 && compareKeys(d.data[prev:], d.data[cur:]) >= 0 {
		return d.errorf(cur, ErrNonCanonical, "map keys out of order or repeated")
	}
	return nil
}

// compareKeys orders two encoded keys (header first) canonically.
func compareKeys(a, b []byte) int {
	ta, tb := Tag(int16(binary.LittleEndian.Uint16(a))), Tag(int16(binary.LittleEndian.Uint16(b)))
	if ta != tb {
		if ta < tb {
			return -1
		}
		return 1
	}
	la := int(binary.LittleEndian.Uint32(a[2:]))
	lb := int(binary.LittleEndian.Uint32(b[2:]))
	pa, pb := a[HeaderSize:HeaderSize+la], b[HeaderSize:HeaderSize+lb]
	switch ta {
	case TagInt8, TagInt16, TagInt32, TagInt64:
		x, y := signed(ta, pa), signed(tb, pb)
		return cmp3(x < y, x > y)
	case TagUint8, TagUint16, TagUint32, TagUint64, TagBool:
		x, y := unsigned(ta, pa), unsigned(tb, pb)
		return cmp3(x < y, x > y)
	}
	return bytes.Compare(pa, pb)
}

func cmp3(less, greater bool) int {
	switch {
	case less:
		return -1
	case greater:
		return 1
	}
	return 0
}

func signed(t Tag, p []byte) int64 {
	switch t {
	case TagInt8:
		return int64(int8(p[0]))
	case TagInt16:
		return int64(int16(binary.LittleEndian.Uint16(p)))
	case TagInt32:
		return int64(int32(binary.LittleEndian.Uint32(p)))
	}
	return int64(binary.LittleEndian.Uint64(p))
}

func unsigned(t Tag, p []byte) uint64 {
	switch t {
	case TagUint8, TagBool:
		return uint64(p[0])
	case TagUint16:
		return uint64(binary.LittleEndian.Uint16(p))
	case TagUint32:
		return uint64(binary.LittleEndian.Uint32(p))
	}
	return binary.LittleEndian.Uint64(p)
}

// generic decodes (build) or only validates (!build) the value at off.
func (d *decodeState) generic(off, end, depth int, build bool) (any, int, error) {
	tag, pOff, pEnd, err := d.header(off, end)
	if err != nil {
		return nil, 0, err
	}
	p := d.data[pOff:pEnd]
	if !build {
		switch tag {
		case TagList, TagMap, TagStruct:
		default:
			return nil, pEnd, nil
		}
	}
	switch tag {
	case TagInt8:
		return int8(p[0]), pEnd, nil
	case TagInt16:
		return int16(binary.LittleEndian.Uint16(p)), pEnd, nil
	case TagInt32:
		return int32(binary.LittleEndian.Uint32(p)), pEnd, nil
	case TagInt64:
		return int64(binary.LittleEndian.Uint64(p)), pEnd, nil
	case TagUint8:
		return p[0], pEnd, nil
	case TagUint16:
		return binary.LittleEndian.Uint16(p), pEnd, nil
	case TagUint32:
		return binary.LittleEndian.Uint32(p), pEnd, nil
	case TagUint64:
		return binary.LittleEndian.Uint64(p), pEnd, nil
	case TagBool:
		return p[0] == 1, pEnd, nil
	case TagString:
		return stringAny(p), pEnd, nil
	case TagByteArray:
		return bytesAny(p), pEnd, nil
	case TagFloat32:
		return math.Float32frombits(binary.LittleEndian.Uint32(p)), pEnd, nil
	case TagFloat64:
		return math.Float64frombits(binary.LittleEndian.Uint64(p)), pEnd, nil
	case TagNil:
		return nil, pEnd, nil
	}
	n, err := d.count(tag, pOff, pEnd, depth)
	if err != nil {
		return nil, 0, err
	}
	cur := pOff + 4
	var out any
	switch tag {
	case TagList:
		var list []any
		if build {
			list = make([]any, n)
		}
		for i := 0; i < n; i++ {
			var e any
			if e, cur, err = d.generic(cur, pEnd, depth+1, build); err != nil {
				return nil, 0, err
			}
			if build {
				list[i] = e
			}
		}
		out = list
	case TagMap:
		var m map[any]any
		if build {
			m = make(map[any]any, n)
		}
		prev := -1
		for i := 0; i < n; i++ {
			keyOff := cur
			var k, v any
			if k, cur, err = d.generic(cur, pEnd, depth+1, build); err != nil {
				return nil, 0, err
			}
			if err = d.checkKey(prev, keyOff); err != nil {
				return nil, 0, err
			}
			prev = keyOff
			if v, cur, err = d.generic(cur, pEnd, depth+1, build); err != nil {
				return nil, 0, err
			}
			if build {
				m[k] = v
			}
		}
		out = m
	case TagStruct:
		var s Struct
		if build {
			s = make(Struct, 0, n)
		}
		var seen fieldSet[[]byte]
		for i := 0; i < n; i++ {
			nameOff := cur
			var name []byte
			if name, cur, err = d.fieldName(cur, pEnd); err != nil {
				return nil, 0, err
			}
			if !seen.add(name) {
				return nil, 0, d.errorf(nameOff, ErrNonCanonical, "struct field %q repeated", name)
			}
			var v any
			if v, cur, err = d.generic(cur, pEnd, depth+1, build); err != nil {
				return nil, 0, err
			}
			if build {
				s = append(s, Field{Name: string(name), Value: v})
			}
		}
		out = s
	}
	if cur != pEnd {
		return nil, 0, d.errorf(off, ErrInvalidLength, "%s elements end %d bytes before its payload", tag, pEnd-cur)
	}
	return out, pEnd, nil
}

// fieldSet detects repeated struct field names without allocating for small
// structs.
type fieldSet[T string | []byte] struct {
	n     int
	small [16]T
	large map[string]struct{}
}

func (s *fieldSet[T]) add(name T) bool {
	if s.large != nil {
		if _, ok := s.large[string(name)]; ok {
			return false
		}
		s.large[string(name)] = struct{}{}
		return true
	}
	for _, n := range s.small[:s.n] {
		if string(n) == string(name) {
			return false
		}
	}
	if s.n < len(s.small) {
		s.small[s.n] = name
		s.n++
		return true
	}
	s.large = make(map[string]struct{}, 2*len(s.small))
	for _, n := range s.small {
		s.large[string(n)] = struct{}{}
	}
	s.large[string(name)] = struct{}{}
	return true
}

// decoderFunc decodes a value whose header has been parsed into v.
type decoderFunc func(d *decodeState, tag Tag, pOff, pEnd, depth int, v reflect.Value) error

var decoderCache sync.Map // reflect.Type -> decoderFunc

var (
	unmarshalerType = reflect.TypeFor[Unmarshaler]()
	structType      = reflect.TypeFor[Struct]()
)

// value decodes the value at off into v and returns where it ends.
func (d *decodeState) value(off, end, depth int, v reflect.Value) (int, error) {
	tag, pOff, pEnd, err := d.header(off, end)
	if err != nil {
		return 0, err
	}
	if err := typeDecoder(v.Type())(d, tag, pOff, pEnd, depth, v); err != nil {
		return 0, err
	}
	return pEnd, nil
}

func typeDecoder(t reflect.Type) decoderFunc {
	if f, ok := decoderCache.Load(t); ok {
		return f.(decoderFunc)
	}
	// Recursive types: publish an indirect func first, like encoding/json.
	var (
		wg sync.WaitGroup
		f  decoderFunc
	)
	wg.Add(1)
	fi, loaded := decoderCache.LoadOrStore(t, decoderFunc(func(d *decodeState, tag Tag, pOff, pEnd, depth int, v reflect.Value) error {
		wg.Wait()
		return f(d, tag, pOff, pEnd, depth, v)
	}))
	if loaded {
		return fi.(decoderFunc)
	}
	f = newTypeDecoder(t)
	wg.Done()
	decoderCache.Store(t, f)
	return f
}

func mismatch(tag Tag, v reflect.Value) error {
	return &TypeError{Type: v.Type().String(), Tag: tag, Err: ErrTypeMismatch}
}

func newTypeDecoder(t reflect.Type) decoderFunc {
	if t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(unmarshalerType) {
		return unmarshalerDecoder
	}
	var f decoderFunc
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		f = intDecoder
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		f = uintDecoder
	case reflect.Bool:
		f = boolDecoder
	case reflect.Float32, reflect.Float64:
		f = floatDecoder
	case reflect.String:
		f = stringDecoder
	case reflect.Interface:
		f = interfaceDecoder
	case reflect.Pointer:
		f = newPointerDecoder(t)
	case reflect.Slice:
		if t == structType {
			f = interfaceDecoder
		} else if isPlainByte(t.Elem()) {
			f = bytesDecoder
		} else {
			f = newSliceDecoder(t)
		}
	case reflect.Array:
		if isPlainByte(t.Elem()) {
			f = byteArrayDecoder
		} else {
			f = newArrayDecoder(t)
		}
	case reflect.Map:
		f = newMapDecoder(t)
	case reflect.Struct:
		f = newStructDecoder(t)
	default:
		return func(d *decodeState, tag Tag, pOff, pEnd, depth int, v reflect.Value) error {
			return &TypeError{Type: t.String(), Tag: tag, Err: ErrUnsupportedType}
		}
	}
	if t.Kind() == reflect.Pointer || t.Kind() == reflect.Interface {
		return f
	}
	// Nil decodes to the zero value of every other type.
	return func(d *decodeState, tag Tag, pOff, pEnd, depth int, v reflect.Value) error {
		if tag == TagNil {
			v.SetZero()
			return nil
		}
		return f(d, tag, pOff, pEnd, depth, v)
	}
}

func unmarshalerDecoder(d *decodeState, tag Tag, pOff, pEnd, depth int, v reflect.Value) error {
	off := pOff - HeaderSize
	// Validate the whole value first: an Unmarshaler receives valid bytes.
	if _, _, err := d.generic(off, pEnd, depth, false); err != nil {
		return err
	}
	if !v.CanAddr() {
		return &TypeError{Type: v.Type().String(), Tag: tag, Err: ErrUnsupportedType, Detail: "Unmarshaler is not addressable"}
	}
	if err := v.Addr().Interface().(Unmarshaler).UnmarshalABI(d.data[off:pEnd]); err != nil {
		return &TypeError{Type: v.Type().String(), Tag: tag, Err: ErrTypeMismatch, Detail: err.Error()}
	}
	return nil
}

func intDecoder(d *decodeState, tag Tag, pOff, pEnd, depth int, v reflect.Value) error {
	p := d.data[pOff:pEnd]
	var x int64
	switch tag {
	case TagInt8, TagInt16, TagInt32, TagInt64:
		x = signed(tag, p)
	case TagUint8, TagUint16, TagUint32, TagUint64:
		u := unsigned(tag, p)
		if u > math.MaxInt64 {
			return &TypeError{Type: v.Type().String(), Tag: tag, Err: ErrOverflow, Detail: strconv.FormatUint(u, 10)}
		}
		x = int64(u)
	default:
		return mismatch(tag, v)
	}
	if v.OverflowInt(x) {
		return &TypeError{Type: v.Type().String(), Tag: tag, Err: ErrOverflow, Detail: strconv.FormatInt(x, 10)}
	}
	v.SetInt(x)
	return nil
}

func uintDecoder(d *decodeState, tag Tag, pOff, pEnd, depth int, v reflect.Value) error {
	p := d.data[pOff:pEnd]
	var u uint64
	switch tag {
	case TagInt8, TagInt16, TagInt32, TagInt64:
		x := signed(tag, p)
		if x < 0 {
			return &TypeError{Type: v.Type().String(), Tag: tag, Err: ErrOverflow, Detail: strconv.FormatInt(x, 10)}
		}
		u = uint64(x)
	case TagUint8, TagUint16, TagUint32, TagUint64:
		u = unsigned(tag, p)
	default:
		return mismatch(tag, v)
	}
	if v.OverflowUint(u) {
		return &TypeError{Type: v.Type().String(), Tag: tag, Err: ErrOverflow, Detail: strconv.FormatUint(u, 10)}
	}
	v.SetUint(u)
	return nil
}

func boolDecoder(d *decodeState, tag Tag, pOff, pEnd, depth int, v reflect.Value) error {
	if tag != TagBool {
		return mismatch(tag, v)
	}
	v.SetBool(d.data[pOff] == 1)
	return nil
}

func floatDecoder(d *decodeState, tag Tag, pOff, pEnd, depth int, v reflect.Value) error {
	p := d.data[pOff:pEnd]
	switch tag {
	case TagFloat32:
		f := math.Float32frombits(binary.LittleEndian.Uint32(p))
		if v.Kind() == reflect.Float32 {
			// Not SetFloat: its float64 round trip would quiet a signalling NaN.
			setFloat32(v, f)
		} else {
			v.SetFloat(float64(f))
		}
	case TagFloat64:
		f := math.Float64frombits(binary.LittleEndian.Uint64(p))
		if v.Kind() == reflect.Float32 && !math.IsNaN(f) && float64(float32(f)) != f {
			return &TypeError{Type: v.Type().String(), Tag: tag, Err: ErrTypeMismatch, Detail: "not exactly representable as float32"}
		}
		v.SetFloat(f)
	default:
		return mismatch(tag, v)
	}
	return nil
}

func stringDecoder(d *decodeState, tag Tag, pOff, pEnd, depth int, v reflect.Value) error {
	if tag != TagString && tag != TagByteArray {
		return mismatch(tag, v)
	}
	v.SetString(string(d.data[pOff:pEnd]))
	return nil
}

func bytesDecoder(d *decodeState, tag Tag, pOff, pEnd, depth int, v reflect.Value) error {
	if tag != TagString && tag != TagByteArray {
		if tag == TagList {
			return newSliceDecoder(v.Type())(d, tag, pOff, pEnd, depth, v)
		}
		return mismatch(tag, v)
	}
	b := make([]byte, pEnd-pOff)
	copy(b, d.data[pOff:pEnd])
	v.SetBytes(b)
	return nil
}

func byteArrayDecoder(d *decodeState, tag Tag, pOff, pEnd, depth int, v reflect.Value) error {
	if tag == TagList {
		return newArrayDecoder(v.Type())(d, tag, pOff, pEnd, depth, v)
	}
	if tag != TagByteArray && tag != TagString {
		return mismatch(tag, v)
	}
	if pEnd-pOff != v.Len() {
		return &TypeError{Type: v.Type().String(), Tag: tag, Err: ErrTypeMismatch, Detail: "length " + strconv.Itoa(pEnd-pOff)}
	}
	// v is settable, hence addressable, so Bytes works even for a named byte
	// element type (reflect.Copy would not).
	copy(v.Bytes(), d.data[pOff:pEnd])
	return nil
}

func interfaceDecoder(d *decodeState, tag Tag, pOff, pEnd, depth int, v reflect.Value) error {
	if v.Kind() == reflect.Interface && !v.IsNil() && v.NumMethod() > 0 {
		// A non-empty interface holding a pointer: decode into what it points to.
		if e := v.Elem(); e.Kind() == reflect.Pointer && !e.IsNil() {
			_, err := d.value(pOff-HeaderSize, pEnd, depth, e.Elem())
			return err
		}
	}
	g, _, err := d.generic(pOff-HeaderSize, pEnd, depth, true)
	if err != nil {
		return err
	}
	if g == nil {
		v.SetZero()
		return nil
	}
	gv := reflect.ValueOf(g)
	if !gv.Type().AssignableTo(v.Type()) {
		return mismatch(tag, v)
	}
	v.Set(gv)
	return nil
}

func newPointerDecoder(t reflect.Type) decoderFunc {
	elem := t.Elem()
	cyclic := pointerCycle(t)
	return func(d *decodeState, tag Tag, pOff, pEnd, depth int, v reflect.Value) error {
		if tag == TagNil {
			v.SetZero()
			return nil
		}
		if cyclic {
			// type P *P: only Nil ends the chain; anything else would recurse forever.
			return &TypeError{Type: t.String(), Tag: tag, Err: ErrUnsupportedType, Detail: "pointer type that points to itself"}
		}
		if v.IsNil() {
			v.Set(reflect.New(elem))
		}
		return typeDecoder(elem)(d, tag, pOff, pEnd, depth, v.Elem())
	}
}

func newSliceDecoder(t reflect.Type) decoderFunc {
	elem := t.Elem()
	return func(d *decodeState, tag Tag, pOff, pEnd, depth int, v reflect.Value) error {
		if tag != TagList {
			return mismatch(tag, v)
		}
		n, err := d.count(tag, pOff, pEnd, depth)
		if err != nil {
			return err
		}
		// The count is bounded by the payload, but n elements of a large Go
		// type could still be far more memory than the input: preallocate
		// only what the payload justifies and grow as elements decode.
		s := reflect.New(t).Elem()
		s.Set(reflect.MakeSlice(t, 0, sliceCap(n, elem.Size(), pEnd-pOff)))
		dec := typeDecoder(elem)
		cur := pOff + 4
		for i := 0; i < n; i++ {
			etag, eOff, eEnd, err := d.header(cur, pEnd)
			if err != nil {
				return err
			}
			if i == s.Cap() {
				s.Grow(1)
			}
			s.SetLen(i + 1)
			if err := dec(d, etag, eOff, eEnd, depth+1, s.Index(i)); err != nil {
				return err
			}
			cur = eEnd
		}
		if cur != pEnd {
			return d.errorf(pOff-HeaderSize, ErrInvalidLength, "List elements end %d bytes before its payload", pEnd-cur)
		}
		v.Set(s)
		return nil
	}
}

func newArrayDecoder(t reflect.Type) decoderFunc {
	elem := t.Elem()
	return func(d *decodeState, tag Tag, pOff, pEnd, depth int, v reflect.Value) error {
		if tag != TagList {
			return mismatch(tag, v)
		}
		n, err := d.count(tag, pOff, pEnd, depth)
		if err != nil {
			return err
		}
		if n != v.Len() {
			return &TypeError{Type: t.String(), Tag: tag, Err: ErrTypeMismatch, Detail: "List of " + strconv.Itoa(n) + " elements"}
		}
		dec := typeDecoder(elem)
		cur := pOff + 4
		for i := 0; i < n; i++ {
			etag, eOff, eEnd, err := d.header(cur, pEnd)
			if err != nil {
				return err
			}
			if err := dec(d, etag, eOff, eEnd, depth+1, v.Index(i)); err != nil {
				return err
			}
			cur = eEnd
		}
		if cur != pEnd {
			return d.errorf(pOff-HeaderSize, ErrInvalidLength, "List elements end %d bytes before its payload", pEnd-cur)
		}
		return nil
	}
}

func newMapDecoder(t reflect.Type) decoderFunc {
	kt, vt := t.Key(), t.Elem()
	return func(d *decodeState, tag Tag, pOff, pEnd, depth int, v reflect.Value) error {
		if tag != TagMap {
			return mismatch(tag, v)
		}
		n, err := d.count(tag, pOff, pEnd, depth)
		if err != nil {
			return err
		}
		m := reflect.MakeMapWithSize(t, n)
		kdec, vdec := typeDecoder(kt), typeDecoder(vt)
		cur, prev := pOff+4, -1
		for i := 0; i < n; i++ {
			ktag, kOff, kEnd, err := d.header(cur, pEnd)
			if err != nil {
				return err
			}
			if err := d.checkKey(prev, cur); err != nil {
				return err
			}
			prev = cur
			k := reflect.New(kt).Elem()
			if err := kdec(d, ktag, kOff, kEnd, depth+1, k); err != nil {
				return err
			}
			vtag, vOff, vEnd, err := d.header(kEnd, pEnd)
			if err != nil {
				return err
			}
			e := reflect.New(vt).Elem()
			if err := vdec(d, vtag, vOff, vEnd, depth+1, e); err != nil {
				return err
			}
			if m.MapIndex(k).IsValid() {
				// Distinct (valid, canonical) wire keys converting to one Go
				// key, e.g. Int8 1 and Int64 1: information would be lost.
				return &TypeError{Type: t.String(), Tag: ktag, Err: ErrTypeMismatch, Detail: "distinct keys convert to the same Go key"}
			}
			m.SetMapIndex(k, e)
			cur = vEnd
		}
		if cur != pEnd {
			return d.errorf(pOff-HeaderSize, ErrInvalidLength, "Map entries end %d bytes before its payload", pEnd-cur)
		}
		v.Set(m)
		return nil
	}
}

func newStructDecoder(t reflect.Type) decoderFunc {
	fields, err := cachedFields(t)
	return func(d *decodeState, tag Tag, pOff, pEnd, depth int, v reflect.Value) error {
		if err != nil {
			return err
		}
		if tag != TagStruct {
			return mismatch(tag, v)
		}
		n, err := d.count(tag, pOff, pEnd, depth)
		if err != nil {
			return err
		}
		v.SetZero()
		var seen fieldSet[[]byte]
		cur := pOff + 4
		for i := 0; i < n; i++ {
			nameOff := cur
			var name []byte
			if name, cur, err = d.fieldName(cur, pEnd); err != nil {
				return err
			}
			if !seen.add(name) {
				return d.errorf(nameOff, ErrNonCanonical, "struct field %q repeated", name)
			}
			f := fields.byName(string(name)) // no allocation for a map lookup
			if f == nil {
				if _, cur, err = d.generic(cur, pEnd, depth+1, false); err != nil {
					return err
				}
				continue
			}
			ftag, fOff, fEnd, err := d.header(cur, pEnd)
			if err != nil {
				return err
			}
			if err := typeDecoder(f.typ)(d, ftag, fOff, fEnd, depth+1, v.Field(f.index)); err != nil {
				return err
			}
			cur = fEnd
		}
		if cur != pEnd {
			return d.errorf(pOff-HeaderSize, ErrInvalidLength, "Struct fields end %d bytes before its payload", pEnd-cur)
		}
		return nil
	}
}

// isPlainByte reports whether t is a byte type that does not decode itself,
// so that slices and arrays of it take ByteArray and String.
func isPlainByte(t reflect.Type) bool {
	return t.Kind() == reflect.Uint8 && !reflect.PointerTo(t).Implements(unmarshalerType)
}

// setFloat32 stores f in v (settable, of kind Float32) bit for bit.
func setFloat32(v reflect.Value, f float32) {
	*v.Addr().Convert(float32PtrType).Interface().(*float32) = f
}

// pointerCycle reports whether the pointer type t leads back to itself
// through pointer types alone (type P *P).
func pointerCycle(t reflect.Type) bool {
	seen := map[reflect.Type]bool{}
	for t.Kind() == reflect.Pointer {
		if seen[t] {
			return true
		}
		seen[t] = true
		t = t.Elem()
	}
	return false
}

// sliceCap is the capacity to preallocate for n elements of size bytes each,
// decoded from a payload of p bytes: all n unless that is much more memory
// than the payload (the slice then grows as elements actually decode).
func sliceCap(n int, size uintptr, p int) int {
	budget := 4*uint64(p) + 4096
	if size == 0 || uint64(n) <= budget/uint64(size) {
		return n
	}
	return int(budget / uint64(size))
}
