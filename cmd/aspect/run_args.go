package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/aspect-rt/aspect-runtime/abi"
	"github.com/aspect-rt/aspect-runtime/internal/abijson"
)

// literalTypes describes what each typed literal wants, for messages.
var literalTypes = map[string]string{
	"s":   "any text",
	"hex": "hex digits, an even number of them",
	"b":   "true or false",
	"i8":  "an integer from -128 to 127 (decimal or 0x hex)",
	"i16": "an integer from -32768 to 32767 (decimal or 0x hex)",
	"i32": "an integer from -2147483648 to 2147483647 (decimal or 0x hex)",
	"i64": "an integer from -9223372036854775808 to 9223372036854775807 (decimal or 0x hex)",
	"u8":  "an integer from 0 to 255 (decimal or 0x hex)",
	"u16": "an integer from 0 to 65535 (decimal or 0x hex)",
	"u32": "an integer from 0 to 4294967295 (decimal or 0x hex)",
	"u64": "an integer from 0 to 18446744073709551615 (decimal or 0x hex)",
	"f32": "a Float32 number (e.g. 1.5, -2e3, NaN, Inf)",
	"f64": "a Float64 number (e.g. 1.5, -2e3, NaN, Inf)",
}

// ParseArg parses a typed literal such as "s:hello" or "u64:7". Its error
// names the type the literal wanted.
func ParseArg(lit string) (any, error) {
	if lit == "nil" {
		return nil, nil
	}
	typ, val, ok := strings.Cut(lit, ":")
	if !ok {
		return nil, fmt.Errorf("argument %q: want TYPE:VALUE, e.g. s:hello or i32:5 (or nil)", lit)
	}
	want, known := literalTypes[typ]
	if !known {
		return nil, fmt.Errorf("argument %q: unknown type %q (want one of s, hex, b, i8, i16, i32, i64, u8, u16, u32, u64, f32, f64)", lit, typ)
	}
	bad := func(err error) (any, error) {
		var ne *strconv.NumError
		if errors.As(err, &ne) {
			err = ne.Err
		}
		return nil, fmt.Errorf("argument %q: %s wants %s: %v", lit, typ, want, err)
	}
	switch typ {
	case "s":
		return val, nil
	case "hex":
		b, err := hex.DecodeString(strings.TrimPrefix(val, "0x"))
		if err != nil {
			return bad(err)
		}
		return b, nil
	case "b":
		b, err := strconv.ParseBool(val)
		if err != nil {
			return bad(err)
		}
		return b, nil
	case "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64":
		x, err := abijson.ParseInteger(typ, val)
		if err != nil {
			return bad(err)
		}
		return x, nil
	case "f32":
		x, err := strconv.ParseFloat(val, 32)
		if err != nil {
			return bad(err)
		}
		return float32(x), nil
	}
	x, err := strconv.ParseFloat(val, 64)
	if err != nil {
		return bad(err)
	}
	return x, nil
}

// FormatValue renders an ABI value for a terminal, the same at the top
// level as nested: strings quoted (Go syntax), Nil as nil, bytes in hex
// (0x…), numbers in decimal, lists in [...], maps in {k: v} with keys
// sorted, structs in {name: v} in field order. It does not show integer
// widths; `--output json` does (abi/JSON.md).
func FormatValue(v any) string {
	var b strings.Builder
	format(&b, v)
	return b.String()
}

func format(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("nil")
	case string:
		b.WriteString(strconv.Quote(x))
	case []byte:
		b.WriteString("0x" + hex.EncodeToString(x))
	case float32:
		b.WriteString(formatFloat(float64(x), 32))
	case float64:
		b.WriteString(formatFloat(x, 64))
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			format(b, e)
		}
		b.WriteByte(']')
	case map[any]any:
		keys := make([]string, 0, len(x))
		vals := map[string]any{}
		for k, e := range x {
			var kb strings.Builder
			format(&kb, k)
			keys = append(keys, kb.String())
			vals[kb.String()] = e
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(k + ": ")
			format(b, vals[k])
		}
		b.WriteByte('}')
	case abi.Struct:
		b.WriteByte('{')
		for i, f := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(f.Name + ": ")
			format(b, f.Value)
		}
		b.WriteByte('}')
	default:
		fmt.Fprint(b, x)
	}
}

func formatFloat(x float64, bits int) string {
	if math.IsInf(x, 1) {
		return "Inf"
	}
	return strconv.FormatFloat(x, 'g', -1, bits)
}
