// Package abijson maps ABI values (abi/FORMAT.md) to JSON and back,
// losslessly: every value of every tag has one JSON form, and parsing the
// JSON printed for a value gives the same value again (the same encoded
// bytes). abi/JSON.md documents the mapping; in short:
//
//	null                       Nil
//	true, false                Bool
//	"text"                     String
//	[v, ...]                   List
//	{"k": v, ...}              Map with String keys (no key beginning with $)
//	5, -7                      Int64 (input only: a bare integer)
//	1.5, 2e3                   Float64 (input only: a bare non-integer)
//	{"$i8": 5} ... {"$i64": "5"}, {"$u8": 5} ... {"$u64": "5"}
//	                           integers of a width; 64-bit ones are printed
//	                           as strings (JSON numbers lose precision past
//	                           2^53), and accepted as numbers or strings
//	{"$f32": 1.5}, {"$f64": "NaN"}
//	                           floats; "NaN", "Inf", "-Inf" or "0x" and the
//	                           IEEE 754 bits (NaN payloads) as strings
//	{"$bytes": "0aff"}         ByteArray, in hex
//	{"$strhex": "ff"}          a String that is not valid UTF-8, its bytes in hex
//	{"$map": [[k, v], ...]}    Map with any keys (integers, Bool, String)
//	{"$struct": {"f": v, ...}} Struct, fields in the order written
//
// Values are the generic Go form of package abi (abi.Decode): int8 …
// uint64, bool, string, []byte, float32, float64, []any, map[any]any,
// abi.Struct and nil.
package abijson

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aspect-rt/aspect-runtime/abi"
)

// MaxDepth is the deepest nesting of lists, maps and structs accepted,
// the ABI's own limit (abi/FORMAT.md, section 4).
const MaxDepth = 64

// ErrSyntax is matched by every error of Parse and ParseArgs: the text is
// not JSON, or not the JSON form of an ABI value.
var ErrSyntax = errors.New("abijson: invalid value")

// Error reports where the JSON text stops being a valid ABI value.
type Error struct {
	Offset int64  // byte offset in the input, as far as it was read
	Path   string // where in the value, e.g. "[2].name"; "" at the top
	Msg    string
}

// Error implements error.
func (e *Error) Error() string {
	where := ""
	if e.Path != "" {
		where = " at " + e.Path
	}
	return fmt.Sprintf("json%s (offset %d): %s", where, e.Offset, e.Msg)
}

// Unwrap returns ErrSyntax.
func (e *Error) Unwrap() error { return ErrSyntax }

// Parse parses one JSON value, the whole of data, into an ABI value.
func Parse(data []byte) (any, error) {
	p := newParser(bytes.NewReader(data))
	v, err := p.value("", 1)
	if err != nil {
		return nil, err
	}
	return v, p.end()
}

// ParseArgs parses a JSON array, the whole of data, into call arguments:
// one ABI value per element.
func ParseArgs(data []byte) ([]any, error) {
	p := newParser(bytes.NewReader(data))
	tok, err := p.token("")
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, p.errorf("", "want a JSON array of arguments, e.g. [\"world\", {\"$i32\": 5}]")
	}
	args := []any{}
	for p.dec.More() {
		v, err := p.value(fmt.Sprintf("[%d]", len(args)), 1)
		if err != nil {
			return nil, err
		}
		args = append(args, v)
	}
	if _, err := p.token(""); err != nil {
		return nil, err
	}
	return args, p.end()
}

type parser struct{ dec *json.Decoder }

func newParser(r io.Reader) *parser {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	return &parser{dec: dec}
}

func (p *parser) errorf(path, format string, args ...any) error {
	return &Error{Offset: p.dec.InputOffset(), Path: path, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) token(path string) (json.Token, error) {
	tok, err := p.dec.Token()
	if err != nil {
		if err == io.EOF {
			return nil, p.errorf(path, "unexpected end of input")
		}
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, &Error{Offset: se.Offset, Path: path, Msg: se.Error()}
		}
		return nil, p.errorf(path, "%v", err)
	}
	return tok, nil
}

// end checks that nothing but white space follows the value.
func (p *parser) end() error {
	if _, err := p.dec.Token(); err != io.EOF {
		return p.errorf("", "unexpected data after the value")
	}
	return nil
}

func (p *parser) value(path string, depth int) (any, error) {
	tok, err := p.token(path)
	if err != nil {
		return nil, err
	}
	return p.valueFrom(tok, path, depth)
}

func (p *parser) valueFrom(tok json.Token, path string, depth int) (any, error) {
	switch t := tok.(type) {
	case nil:
		return nil, nil
	case bool:
		return t, nil
	case string:
		return t, nil
	case json.Number:
		return p.bareNumber(string(t), path)
	case json.Delim:
		switch t {
		case '[':
			if depth > MaxDepth {
				return nil, p.errorf(path, "nested deeper than %d lists, maps and structs", MaxDepth)
			}
			list := []any{}
			for p.dec.More() {
				v, err := p.value(fmt.Sprintf("%s[%d]", path, len(list)), depth+1)
				if err != nil {
					return nil, err
				}
				list = append(list, v)
			}
			_, err := p.token(path)
			return list, err
		case '{':
			return p.object(path, depth)
		}
	}
	return nil, p.errorf(path, "unexpected %v", tok)
}

func (p *parser) bareNumber(s, path string) (any, error) {
	if !strings.ContainsAny(s, ".eE") {
		x, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, p.errorf(path, "%s is out of the range of Int64 (a bare JSON integer); write {\"$u64\": \"%s\"} for a Uint64", s, s)
		}
		return x, nil
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, p.errorf(path, "%s is out of the range of Float64; write {\"$f64\": \"Inf\"} for infinity", s)
	}
	return x, nil
}

// object parses what follows '{': a typed value ({"$tag": ...}, the only
// key) or a Map with String keys.
func (p *parser) object(path string, depth int) (any, error) {
	m := map[any]any{}
	first := true
	for p.dec.More() {
		tok, err := p.token(path)
		if err != nil {
			return nil, err
		}
		key := tok.(string) // json.Decoder guarantees object keys are strings
		if first && strings.HasPrefix(key, "$") {
			v, err := p.typed(key, path, depth)
			if err != nil {
				return nil, err
			}
			if p.dec.More() {
				return nil, p.errorf(path, "an object with a %q key must have no other key (a Map with keys beginning with $ is written {\"$map\": [[key, value], ...]})", key)
			}
			_, err = p.token(path)
			return v, err
		}
		if first && depth > MaxDepth {
			return nil, p.errorf(path, "nested deeper than %d lists, maps and structs", MaxDepth)
		}
		first = false
		if _, dup := m[key]; dup {
			return nil, p.errorf(path, "duplicate map key %q", key)
		}
		v, err := p.value(path+"."+key, depth+1)
		if err != nil {
			return nil, err
		}
		m[key] = v
	}
	if first && depth > MaxDepth {
		return nil, p.errorf(path, "nested deeper than %d lists, maps and structs", MaxDepth)
	}
	_, err := p.token(path)
	return m, err
}

var intBits = map[string]int{"$i8": 8, "$i16": 16, "$i32": 32, "$i64": 64, "$u8": 8, "$u16": 16, "$u32": 32, "$u64": 64}

func (p *parser) typed(key, path string, depth int) (any, error) {
	in := path + "." + key
	if bits, ok := intBits[key]; ok {
		tok, err := p.token(in)
		if err != nil {
			return nil, err
		}
		return p.integer(key, bits, tok, in)
	}
	switch key {
	case "$f32", "$f64":
		tok, err := p.token(in)
		if err != nil {
			return nil, err
		}
		return p.float(key, tok, in)
	case "$bytes", "$strhex":
		tok, err := p.token(in)
		if err != nil {
			return nil, err
		}
		s, ok := tok.(string)
		if !ok {
			return nil, p.errorf(in, "%s wants a string of hex digits, e.g. \"0aff\"", key)
		}
		b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
		if err != nil {
			return nil, p.errorf(in, "%s wants a string of hex digits: %v", key, err)
		}
		if key == "$strhex" {
			return string(b), nil
		}
		return b, nil
	case "$map":
		return p.mapPairs(in, depth)
	case "$struct":
		return p.structFields(in, depth)
	}
	return nil, p.errorf(path, "unknown type %q (want one of $i8 $i16 $i32 $i64 $u8 $u16 $u32 $u64 $f32 $f64 $bytes $strhex $map $struct)", key)
}

func (p *parser) integer(key string, bits int, tok json.Token, path string) (any, error) {
	var s string
	switch t := tok.(type) {
	case json.Number:
		s = string(t)
		if strings.ContainsAny(s, ".eE") {
			return nil, p.errorf(path, "%s wants an integer, got %s", key, s)
		}
	case string:
		s = t
	default:
		return nil, p.errorf(path, "%s wants an integer (a number, or a string in decimal or 0x hex)", key)
	}
	x, err := ParseInteger(key[1:], s)
	if err != nil {
		if key[1] == 'i' {
			return nil, p.errorf(path, "%s wants an integer from %d to %d, got %q", key, int64(-1)<<(bits-1), int64(1)<<(bits-1)-1, s)
		}
		return nil, p.errorf(path, "%s wants an integer from 0 to %d, got %q", key, uint64(math.MaxUint64)>>(64-bits), s)
	}
	return x, nil
}

// ParseInteger parses s, in decimal or 0x hex, as the integer type kind
// names ("i8", "i16", "i32", "i64", "u8", "u16", "u32" or "u64") and
// returns it as that Go type (int8 … uint64), the type the ABI codec
// encodes with kind's tag. The error is strconv's.
func ParseInteger(kind, s string) (any, error) {
	bits := 0
	switch kind[min(len(kind), 1):] {
	case "8", "16", "32", "64":
		bits, _ = strconv.Atoi(kind[1:])
	}
	if bits == 0 || kind[0] != 'i' && kind[0] != 'u' {
		return nil, fmt.Errorf("unknown integer type %q", kind)
	}
	if kind[0] == 'i' {
		x, err := strconv.ParseInt(s, 0, bits)
		if err != nil {
			return nil, err
		}
		switch bits {
		case 8:
			return int8(x), nil
		case 16:
			return int16(x), nil
		case 32:
			return int32(x), nil
		}
		return x, nil
	}
	x, err := strconv.ParseUint(s, 0, bits)
	if err != nil {
		return nil, err
	}
	switch bits {
	case 8:
		return uint8(x), nil
	case 16:
		return uint16(x), nil
	case 32:
		return uint32(x), nil
	}
	return x, nil
}

func (p *parser) float(key string, tok json.Token, path string) (any, error) {
	bits := 64
	if key == "$f32" {
		bits = 32
	}
	var x float64
	switch t := tok.(type) {
	case json.Number:
		var err error
		if x, err = strconv.ParseFloat(string(t), bits); err != nil {
			return nil, p.errorf(path, "%s: %s is out of range; write \"Inf\" or \"-Inf\" for infinity", key, t)
		}
	case string:
		switch t {
		case "NaN":
			if bits == 32 {
				return math.Float32frombits(canonicalNaN32), nil
			}
			return math.Float64frombits(canonicalNaN64), nil
		case "Inf", "+Inf":
			x = math.Inf(1)
		case "-Inf":
			x = math.Inf(-1)
		default:
			if !strings.HasPrefix(t, "0x") {
				return nil, p.errorf(path, "%s wants a number, \"NaN\", \"Inf\", \"-Inf\" or \"0x\" and the IEEE 754 bits in hex, got %q", key, t)
			}
			u, err := strconv.ParseUint(t[2:], 16, bits)
			if err != nil {
				return nil, p.errorf(path, "%s: %q is not %d bits in hex", key, t, bits)
			}
			if bits == 32 {
				return math.Float32frombits(uint32(u)), nil
			}
			return math.Float64frombits(u), nil
		}
	default:
		return nil, p.errorf(path, "%s wants a number or one of \"NaN\", \"Inf\", \"-Inf\"", key)
	}
	if bits == 32 {
		return float32(x), nil
	}
	return x, nil
}

func (p *parser) open(path, what string, want json.Delim) error {
	tok, err := p.token(path)
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return p.errorf(path, "%s", what)
	}
	return nil
}

func (p *parser) mapPairs(path string, depth int) (any, error) {
	const want = "$map wants a list of [key, value] pairs, e.g. [[{\"$i32\": 1}, \"one\"]]"
	if depth > MaxDepth {
		return nil, p.errorf(path, "nested deeper than %d lists, maps and structs", MaxDepth)
	}
	if err := p.open(path, want, '['); err != nil {
		return nil, err
	}
	m := map[any]any{}
	for i := 0; p.dec.More(); i++ {
		in := fmt.Sprintf("%s[%d]", path, i)
		if err := p.open(in, want, '['); err != nil {
			return nil, err
		}
		k, err := p.value(in+"[0]", depth+1)
		if err != nil {
			return nil, err
		}
		switch k.(type) {
		case int8, int16, int32, int64, uint8, uint16, uint32, uint64, bool, string:
		default:
			return nil, p.errorf(in+"[0]", "a map key must be an integer, a Bool or a String, not %s", typeName(k))
		}
		if _, dup := m[k]; dup {
			return nil, p.errorf(in+"[0]", "duplicate map key %s", Format(k))
		}
		v, err := p.value(in+"[1]", depth+1)
		if err != nil {
			return nil, err
		}
		m[k] = v
		if p.dec.More() {
			return nil, p.errorf(in, "%s", want)
		}
		if _, err := p.token(in); err != nil {
			return nil, err
		}
	}
	_, err := p.token(path)
	return m, err
}

func (p *parser) structFields(path string, depth int) (any, error) {
	if depth > MaxDepth {
		return nil, p.errorf(path, "nested deeper than %d lists, maps and structs", MaxDepth)
	}
	if err := p.open(path, "$struct wants an object of fields, e.g. {\"name\": \"Ann\"}", '{'); err != nil {
		return nil, err
	}
	s := abi.Struct{}
	seen := map[string]bool{}
	for p.dec.More() {
		tok, err := p.token(path)
		if err != nil {
			return nil, err
		}
		name := tok.(string)
		if name == "" || len(name) > math.MaxUint16 || seen[name] {
			return nil, p.errorf(path, "invalid or repeated struct field name %q (1 to 65535 bytes, each name once)", name)
		}
		seen[name] = true
		v, err := p.value(path+"."+name, depth+1)
		if err != nil {
			return nil, err
		}
		s = append(s, abi.Field{Name: name, Value: v})
	}
	_, err := p.token(path)
	return s, err
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "Nil"
	case float32:
		return "Float32"
	case float64:
		return "Float64"
	case []byte:
		return "ByteArray"
	case []any:
		return "List"
	case map[any]any:
		return "Map"
	case abi.Struct:
		return "Struct"
	}
	return fmt.Sprintf("%T", v)
}

// Marshal returns the JSON form of an ABI value in its generic Go form.
func Marshal(v any) ([]byte, error) {
	return Append(nil, v)
}

// Append appends the JSON form of v to dst.
func Append(dst []byte, v any) ([]byte, error) {
	return appendValue(dst, v, 1)
}

// Format is the JSON form of v, or a Go-syntax rendering if v is not an
// ABI value; for messages.
func Format(v any) string {
	b, err := Marshal(v)
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return string(b)
}

func appendTyped(dst []byte, key string, val string) []byte {
	dst = append(dst, `{"`...)
	dst = append(dst, key...)
	dst = append(dst, `": `...)
	dst = append(dst, val...)
	return append(dst, '}')
}

func appendValue(dst []byte, v any, depth int) ([]byte, error) {
	if depth > MaxDepth+1 {
		return nil, fmt.Errorf("abijson: nested deeper than %d lists, maps and structs", MaxDepth)
	}
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case bool:
		return strconv.AppendBool(dst, x), nil
	case string:
		if !utf8.ValidString(x) {
			return appendTyped(dst, "$strhex", `"`+hex.EncodeToString([]byte(x))+`"`), nil
		}
		return appendString(dst, x), nil
	case int8:
		return appendTyped(dst, "$i8", strconv.FormatInt(int64(x), 10)), nil
	case int16:
		return appendTyped(dst, "$i16", strconv.FormatInt(int64(x), 10)), nil
	case int32:
		return appendTyped(dst, "$i32", strconv.FormatInt(int64(x), 10)), nil
	case int64:
		return appendTyped(dst, "$i64", `"`+strconv.FormatInt(x, 10)+`"`), nil
	case int:
		return appendTyped(dst, "$i64", `"`+strconv.FormatInt(int64(x), 10)+`"`), nil
	case uint8:
		return appendTyped(dst, "$u8", strconv.FormatUint(uint64(x), 10)), nil
	case uint16:
		return appendTyped(dst, "$u16", strconv.FormatUint(uint64(x), 10)), nil
	case uint32:
		return appendTyped(dst, "$u32", strconv.FormatUint(uint64(x), 10)), nil
	case uint64:
		return appendTyped(dst, "$u64", `"`+strconv.FormatUint(x, 10)+`"`), nil
	case uint:
		return appendTyped(dst, "$u64", `"`+strconv.FormatUint(uint64(x), 10)+`"`), nil
	case float32:
		return appendTyped(dst, "$f32", floatJSON(float64(x), 32, uint64(math.Float32bits(x)), canonicalNaN32)), nil
	case float64:
		return appendTyped(dst, "$f64", floatJSON(x, 64, math.Float64bits(x), canonicalNaN64)), nil
	case []byte:
		return appendTyped(dst, "$bytes", `"`+hex.EncodeToString(x)+`"`), nil
	case []any:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ", "...)
			}
			var err error
			if dst, err = appendValue(dst, e, depth+1); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	case map[any]any:
		return appendMap(dst, x, depth)
	case abi.Struct:
		dst = append(dst, `{"$struct": {`...)
		for i, f := range x {
			if i > 0 {
				dst = append(dst, ", "...)
			}
			dst = appendString(dst, f.Name)
			dst = append(dst, ": "...)
			var err error
			if dst, err = appendValue(dst, f.Value, depth+1); err != nil {
				return nil, err
			}
		}
		return append(dst, "}}"...), nil
	}
	return nil, fmt.Errorf("abijson: %T is not an ABI value in its generic form", v)
}

// The canonical quiet NaNs (WebAssembly's), which "NaN" stands for. Other
// NaNs are written with their bits.
const (
	canonicalNaN32 = 0x7fc00000
	canonicalNaN64 = 0x7ff8000000000000
)

// floatJSON is a float's JSON form: a number when finite, "NaN", "Inf" or
// "-Inf", or its bits in hex for a NaN other than Go's (its payload).
func floatJSON(x float64, bits int, raw, canonicalNaN uint64) string {
	switch {
	case math.IsInf(x, 1):
		return `"Inf"`
	case math.IsInf(x, -1):
		return `"-Inf"`
	case math.IsNaN(x):
		if raw == canonicalNaN {
			return `"NaN"`
		}
		return fmt.Sprintf(`"0x%0*x"`, bits/4, raw)
	}
	return strconv.FormatFloat(x, 'g', -1, bits)
}

func appendString(dst []byte, s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return append(dst, bytes.TrimSuffix(b.Bytes(), []byte("\n"))...)
}

// keyRank orders map keys canonically (abi/FORMAT.md): by tag, then by
// value.
func keyRank(k any) int {
	switch k.(type) {
	case int8:
		return 1
	case int16:
		return 2
	case int32:
		return 3
	case int64, int:
		return 4
	case uint8:
		return 5
	case uint16:
		return 6
	case uint32:
		return 7
	case uint64, uint:
		return 8
	case bool:
		return 9
	case string:
		return 10
	}
	return 11
}

func keyLess(a, b any) bool {
	ra, rb := keyRank(a), keyRank(b)
	if ra != rb {
		return ra < rb
	}
	switch x := a.(type) {
	case bool:
		return !x && b.(bool)
	case string:
		return x < b.(string)
	}
	if ra <= 4 {
		return signedOf(a) < signedOf(b)
	}
	return unsignedOf(a) < unsignedOf(b)
}

func signedOf(v any) int64 {
	switch x := v.(type) {
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case int64:
		return x
	case int:
		return int64(x)
	}
	return 0
}

func unsignedOf(v any) uint64 {
	switch x := v.(type) {
	case uint8:
		return uint64(x)
	case uint16:
		return uint64(x)
	case uint32:
		return uint64(x)
	case uint64:
		return x
	case uint:
		return uint64(x)
	}
	return 0
}

func appendMap(dst []byte, m map[any]any, depth int) ([]byte, error) {
	keys := make([]any, 0, len(m))
	plain := true
	for k := range m {
		s, ok := k.(string)
		if !ok || strings.HasPrefix(s, "$") || !utf8.ValidString(s) {
			plain = false
		}
		if keyRank(k) > 10 {
			return nil, fmt.Errorf("abijson: a map key of type %T is not an ABI map key", k)
		}
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keyLess(keys[i], keys[j]) })
	var err error
	if plain {
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ", "...)
			}
			dst = appendString(dst, k.(string))
			dst = append(dst, ": "...)
			if dst, err = appendValue(dst, m[k], depth+1); err != nil {
				return nil, err
			}
		}
		return append(dst, '}'), nil
	}
	dst = append(dst, `{"$map": [`...)
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ", "...)
		}
		dst = append(dst, '[')
		if dst, err = appendValue(dst, k, depth+1); err != nil {
			return nil, err
		}
		dst = append(dst, ", "...)
		if dst, err = appendValue(dst, m[k], depth+1); err != nil {
			return nil, err
		}
		dst = append(dst, ']')
	}
	return append(dst, "]}"...), nil
}
