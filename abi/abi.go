// Package abi is the codec for values exchanged between host and guest.
//
// The format, specified in FORMAT.md beside this file, is a 6-byte header
// (little-endian int16 tag, int32 payload length) followed by the payload.
// Tags 1–11 are byte-compatible with existing aspects; 12–17 add floats,
// lists, maps, structs and nil. Every value has exactly one (canonical)
// encoding, and the decoder rejects anything else.
//
// The entry points mirror encoding/json: [Marshal] and [Unmarshal] for Go
// values, [Decode] for a generic value, and [Marshaler] / [Unmarshaler] for
// types that encode themselves. Per-type work is done once and cached.
//
// Decoding never panics and never allocates more than the input justifies:
// malformed input yields an error matching [ErrMalformed].
package abi

import (
	"errors"
	"fmt"
)

// Tag identifies the type of an encoded value.
type Tag int16

// The tags of format version 1. Tags 1–11 are frozen for compatibility with
// existing aspects.
const (
	TagInt8      Tag = 1
	TagInt16     Tag = 2
	TagInt32     Tag = 3
	TagInt64     Tag = 4
	TagUint8     Tag = 5
	TagUint16    Tag = 6
	TagUint32    Tag = 7
	TagUint64    Tag = 8
	TagBool      Tag = 9
	TagString    Tag = 10
	TagByteArray Tag = 11
	TagFloat32   Tag = 12
	TagFloat64   Tag = 13
	TagList      Tag = 14
	TagMap       Tag = 15
	TagStruct    Tag = 16
	TagNil       Tag = 17
)

// Version is the format version this package implements.
const Version = 1

// HeaderSize is the size of a value's header in bytes.
const HeaderSize = 6

// MaxDepth is the deepest nesting of lists, maps and structs the codec
// accepts; the outermost composite is level 1.
const MaxDepth = 64

// MaxPayload is the largest payload one value can have (the header's range).
const MaxPayload = 1<<31 - 1

var tagNames = [...]string{
	TagInt8: "Int8", TagInt16: "Int16", TagInt32: "Int32", TagInt64: "Int64",
	TagUint8: "Uint8", TagUint16: "Uint16", TagUint32: "Uint32", TagUint64: "Uint64",
	TagBool: "Bool", TagString: "String", TagByteArray: "ByteArray",
	TagFloat32: "Float32", TagFloat64: "Float64",
	TagList: "List", TagMap: "Map", TagStruct: "Struct", TagNil: "Nil",
}

// String returns the tag's name, e.g. "Int32".
func (t Tag) String() string {
	if t.Valid() {
		return tagNames[t]
	}
	return fmt.Sprintf("Tag(%d)", int16(t))
}

// Valid reports whether t is a tag of format version 1.
func (t Tag) Valid() bool { return t >= TagInt8 && t <= TagNil }

// fixedWidth returns the payload size of fixed-width tags, or -1.
func (t Tag) fixedWidth() int {
	switch t {
	case TagInt8, TagUint8, TagBool:
		return 1
	case TagInt16, TagUint16:
		return 2
	case TagInt32, TagUint32, TagFloat32:
		return 4
	case TagInt64, TagUint64, TagFloat64:
		return 8
	case TagNil:
		return 0
	}
	return -1
}

// isKey reports whether values of tag t may be map keys.
func (t Tag) isKey() bool { return t >= TagInt8 && t <= TagString }

// Errors. Every decoding failure matches ErrMalformed and, more precisely,
// one of the errors below it; encoding failures match ErrUnsupportedType,
// ErrTooLarge or ErrTooDeep (nesting beyond MaxDepth, e.g. a cycle); typed
// decoding adds ErrTypeMismatch and ErrOverflow.
var (
	// ErrMalformed: the bytes are not a valid encoded value.
	ErrMalformed = errors.New("abi: malformed value")
	// ErrTruncated: a header or payload extends past the available bytes.
	ErrTruncated = errors.New("abi: truncated value")
	// ErrInvalidLength: a negative length, or a length that does not fit the tag.
	ErrInvalidLength = errors.New("abi: invalid length")
	// ErrUnknownTag: a tag that format version 1 does not define.
	ErrUnknownTag = errors.New("abi: unknown tag")
	// ErrInvalidBool: a Bool byte other than 0 or 1.
	ErrInvalidBool = errors.New("abi: invalid bool")
	// ErrTooDeep: lists, maps and structs nested deeper than MaxDepth. When
	// encoding it also reports a cycle (through composites or pointers).
	ErrTooDeep = errors.New("abi: nesting too deep")
	// ErrNonCanonical: map keys out of order or repeated, an invalid key type,
	// or a repeated or empty struct field name.
	ErrNonCanonical = errors.New("abi: non-canonical value")
	// ErrTrailingData: bytes left over after a complete value.
	ErrTrailingData = errors.New("abi: trailing data")

	// ErrUnsupportedType: a Go type the format cannot represent.
	ErrUnsupportedType = errors.New("abi: unsupported type")
	// ErrTooLarge: a value whose payload exceeds MaxPayload.
	ErrTooLarge = errors.New("abi: value too large")
	// ErrTypeMismatch: an encoded value that cannot be stored in the Go type.
	ErrTypeMismatch = errors.New("abi: type mismatch")
	// ErrOverflow: an integer that does not fit the Go type.
	ErrOverflow = errors.New("abi: integer overflow")
	// ErrOutOfBounds: a value in guest memory lies outside the memory.
	ErrOutOfBounds = errors.New("abi: out of bounds")
)

// DecodeError describes malformed input. It matches ErrMalformed and Err.
type DecodeError struct {
	Offset int   // offset of the offending value's header in the input
	Err    error // one of the sentinel errors above
	Detail string
}

// Error implements error.
func (e *DecodeError) Error() string {
	msg := fmt.Sprintf("%v at offset %d", e.Err, e.Offset)
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// Unwrap returns the specific error and ErrMalformed.
func (e *DecodeError) Unwrap() []error { return []error{e.Err, ErrMalformed} }

// TypeError reports a Go type or value the codec cannot handle. It matches
// Err (ErrUnsupportedType, ErrTypeMismatch, ErrOverflow, ErrTooLarge, or
// ErrTooDeep when encoding nests too deep).
type TypeError struct {
	Type   string // the Go type involved
	Tag    Tag    // the encoded tag involved, for decoding; 0 when encoding
	Err    error
	Detail string
}

// Error implements error.
func (e *TypeError) Error() string {
	msg := e.Err.Error() + ": "
	if e.Tag != 0 {
		msg += e.Tag.String() + " into "
	}
	msg += e.Type
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// Unwrap returns Err.
func (e *TypeError) Unwrap() error { return e.Err }

// Marshaler is implemented by types that encode themselves. MarshalABI
// returns one complete encoded value (header and payload), typically built
// with Marshal; the encoder checks it.
type Marshaler interface {
	MarshalABI() ([]byte, error)
}

// Unmarshaler is implemented by types that decode themselves. UnmarshalABI
// receives one complete, already validated, encoded value. It must copy the
// bytes if it keeps them.
type Unmarshaler interface {
	UnmarshalABI(data []byte) error
}

// Struct is a struct value decoded without a Go type: its fields in wire
// order. Encoding a Struct produces a Struct value with the same fields.
type Struct []Field

// Field is one field of a Struct.
type Field struct {
	Name  string
	Value any
}

// Get returns the value of the field named name.
func (s Struct) Get(name string) (any, bool) {
	for _, f := range s {
		if f.Name == name {
			return f.Value, true
		}
	}
	return nil, false
}
