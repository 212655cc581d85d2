package abi

import (
	"encoding/binary"
	"math"
	"reflect"
)

// Fast paths for the values calls carry most: a plain string, []byte,
// bool, integer or float (not a named type, which may be a Marshaler) is
// encoded and decoded without reflection. They produce exactly the bytes,
// values and errors of the reflective codec (TestFastPathsMatch).

// appendFast appends the encoding of v if it is a basic value; ok is false
// otherwise.
func appendFast(dst []byte, v any) (out []byte, ok bool, err error) {
	switch x := v.(type) {
	case string:
		out, err := AppendString(dst, x)
		return out, true, err
	case []byte:
		out, err := AppendBytes(dst, x)
		return out, true, err
	case bool:
		b := byte(0)
		if x {
			b = 1
		}
		return append(appendHeader(dst, TagBool, 1), b), true, nil
	case int8:
		return append(appendHeader(dst, TagInt8, 1), byte(x)), true, nil
	case int16:
		return binary.LittleEndian.AppendUint16(appendHeader(dst, TagInt16, 2), uint16(x)), true, nil
	case int32:
		return binary.LittleEndian.AppendUint32(appendHeader(dst, TagInt32, 4), uint32(x)), true, nil
	case int64:
		return binary.LittleEndian.AppendUint64(appendHeader(dst, TagInt64, 8), uint64(x)), true, nil
	case int:
		return binary.LittleEndian.AppendUint64(appendHeader(dst, TagInt64, 8), uint64(x)), true, nil
	case uint8:
		return append(appendHeader(dst, TagUint8, 1), x), true, nil
	case uint16:
		return binary.LittleEndian.AppendUint16(appendHeader(dst, TagUint16, 2), x), true, nil
	case uint32:
		return binary.LittleEndian.AppendUint32(appendHeader(dst, TagUint32, 4), x), true, nil
	case uint64:
		return binary.LittleEndian.AppendUint64(appendHeader(dst, TagUint64, 8), x), true, nil
	case uint:
		return binary.LittleEndian.AppendUint64(appendHeader(dst, TagUint64, 8), uint64(x)), true, nil
	case float32:
		return binary.LittleEndian.AppendUint32(appendHeader(dst, TagFloat32, 4), math.Float32bits(x)), true, nil
	case float64:
		return binary.LittleEndian.AppendUint64(appendHeader(dst, TagFloat64, 8), math.Float64bits(x)), true, nil
	case nil:
		return appendHeader(dst, TagNil, 0), true, nil
	}
	return dst, false, nil
}

func appendHeader(dst []byte, tag Tag, n int) []byte {
	dst = binary.LittleEndian.AppendUint16(dst, uint16(tag))
	return binary.LittleEndian.AppendUint32(dst, uint32(n))
}

// unmarshalFast decodes data into v if v points to a string or []byte and
// data is exactly one String or ByteArray, or to a basic scalar and data is
// one value with its own tag; ok is false otherwise (the reflective decoder
// then decodes it, or reports the exact error).
func unmarshalFast(data []byte, v any) (ok bool) {
	switch p := v.(type) {
	case *int64:
		return p != nil && fastScalar(data, p)
	case *int32:
		return p != nil && fastScalar(data, p)
	case *uint64:
		return p != nil && fastScalar(data, p)
	case *uint32:
		return p != nil && fastScalar(data, p)
	case *bool:
		return p != nil && fastScalar(data, p)
	case *float64:
		return p != nil && fastScalar(data, p)
	case *string:
		if b, ok := fastPayload(data); ok && p != nil {
			*p = string(b)
			return true
		}
	case *[]byte:
		if b, ok := fastPayload(data); ok && p != nil {
			*p = append(make([]byte, 0, len(b)), b...)
			return true
		}
	}
	return false
}

// fastPayload returns the payload of data if it is exactly one String or
// ByteArray.
func fastPayload(data []byte) ([]byte, bool) {
	if len(data) < HeaderSize {
		return nil, false
	}
	tag := Tag(int16(binary.LittleEndian.Uint16(data)))
	n := int64(int32(binary.LittleEndian.Uint32(data[2:])))
	if tag != TagString && tag != TagByteArray || n != int64(len(data)-HeaderSize) {
		return nil, false
	}
	return data[HeaderSize:], true
}

// AppendString appends the encoding of s as a String; it is Append for a
// string, without the interface conversion.
func AppendString(dst []byte, s string) ([]byte, error) {
	if len(s) > MaxPayload {
		return dst[:len(dst):len(dst)], &TypeError{Type: "string", Err: ErrTooLarge, Detail: sprintf("%d bytes", len(s))}
	}
	return append(appendHeader(dst, TagString, len(s)), s...), nil
}

// AppendBytes appends the encoding of b as a ByteArray; it is Append for a
// []byte, without the interface conversion.
func AppendBytes(dst []byte, b []byte) ([]byte, error) {
	if len(b) > MaxPayload {
		return dst[:len(dst):len(dst)], &TypeError{Type: TagByteArray.String(), Err: ErrTooLarge, Detail: sprintf("%d bytes", len(b))}
	}
	return append(appendHeader(dst, TagByteArray, len(b)), b...), nil
}

// DecodeString decodes data, exactly one encoded value, into a string: it
// is Unmarshal into a *string (a String or a ByteArray; anything else is a
// type mismatch), without the interface conversion.
func DecodeString(data []byte) (string, error) {
	if b, ok := fastPayload(data); ok {
		return string(b), nil
	}
	var s string
	err := UnmarshalValue(data, reflect.ValueOf(&s).Elem())
	return s, err
}

// DecodeBytes decodes data, exactly one encoded value, into a []byte: it
// is Unmarshal into a *[]byte, without the interface conversion.
func DecodeBytes(data []byte) ([]byte, error) {
	if b, ok := fastPayload(data); ok {
		return append(make([]byte, 0, len(b)), b...), nil
	}
	var b []byte
	err := UnmarshalValue(data, reflect.ValueOf(&b).Elem())
	return b, err
}

// UnmarshalTo decodes data, exactly one encoded value, into a T: it is
// Unmarshal into a *T. For strings, byte slices, and booleans, integers and
// floats encoded with their own tag (an Int64 into an int64, ...), it
// decodes without reflection and without allocating anything but a
// string's or slice's bytes.
func UnmarshalTo[T any](data []byte) (T, error) {
	var v T
	if fastScalar(data, &v) {
		return v, nil
	}
	var err error
	switch p := any(&v).(type) {
	case *string:
		*p, err = DecodeString(data)
		return v, err
	case *[]byte:
		*p, err = DecodeBytes(data)
		return v, err
	}
	pv := new(T)
	err = Unmarshal(data, pv)
	return *pv, err
}

// fastScalar decodes data into *v when T is a basic boolean, integer or
// float type and data is exactly one value with T's own tag.
func fastScalar[T any](data []byte, v *T) bool {
	if len(data) < HeaderSize {
		return false
	}
	tag := Tag(int16(binary.LittleEndian.Uint16(data)))
	n := int(int32(binary.LittleEndian.Uint32(data[2:])))
	p := data[HeaderSize:]
	if n != len(p) || tag.fixedWidth() != n || n == 0 {
		return false
	}
	switch q := any(v).(type) {
	case *int64:
		if tag != TagInt64 {
			return false
		}
		*q = int64(binary.LittleEndian.Uint64(p))
	case *int32:
		if tag != TagInt32 {
			return false
		}
		*q = int32(binary.LittleEndian.Uint32(p))
	case *int16:
		if tag != TagInt16 {
			return false
		}
		*q = int16(binary.LittleEndian.Uint16(p))
	case *int8:
		if tag != TagInt8 {
			return false
		}
		*q = int8(p[0])
	case *uint64:
		if tag != TagUint64 {
			return false
		}
		*q = binary.LittleEndian.Uint64(p)
	case *uint32:
		if tag != TagUint32 {
			return false
		}
		*q = binary.LittleEndian.Uint32(p)
	case *uint16:
		if tag != TagUint16 {
			return false
		}
		*q = binary.LittleEndian.Uint16(p)
	case *uint8:
		if tag != TagUint8 {
			return false
		}
		*q = p[0]
	case *bool:
		if tag != TagBool || p[0] > 1 {
			return false
		}
		*q = p[0] == 1
	case *float64:
		if tag != TagFloat64 {
			return false
		}
		*q = math.Float64frombits(binary.LittleEndian.Uint64(p))
	case *float32:
		if tag != TagFloat32 {
			return false
		}
		*q = math.Float32frombits(binary.LittleEndian.Uint32(p))
	default:
		return false
	}
	return true
}

// AppendTo appends the encoding of v: it is Append, without the interface
// conversion (and its allocation) for strings, byte slices, booleans,
// integers and floats.
func AppendTo[T any](dst []byte, v T) ([]byte, error) {
	switch p := any(&v).(type) {
	case *string:
		return AppendString(dst, *p)
	case *[]byte:
		return AppendBytes(dst, *p)
	case *bool:
		b := byte(0)
		if *p {
			b = 1
		}
		return append(appendHeader(dst, TagBool, 1), b), nil
	case *int64:
		return binary.LittleEndian.AppendUint64(appendHeader(dst, TagInt64, 8), uint64(*p)), nil
	case *int:
		return binary.LittleEndian.AppendUint64(appendHeader(dst, TagInt64, 8), uint64(*p)), nil
	case *int32:
		return binary.LittleEndian.AppendUint32(appendHeader(dst, TagInt32, 4), uint32(*p)), nil
	case *uint64:
		return binary.LittleEndian.AppendUint64(appendHeader(dst, TagUint64, 8), *p), nil
	case *uint32:
		return binary.LittleEndian.AppendUint32(appendHeader(dst, TagUint32, 4), *p), nil
	case *float64:
		return binary.LittleEndian.AppendUint64(appendHeader(dst, TagFloat64, 8), math.Float64bits(*p)), nil
	case *float32:
		return binary.LittleEndian.AppendUint32(appendHeader(dst, TagFloat32, 4), math.Float32bits(*p)), nil
	}
	return Append(dst, any(v))
}
