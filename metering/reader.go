package metering

import "unicode/utf8"

// reader decodes the binary format from b. It has a sticky error: after the
// first failure every read returns zero values and err stays set, so callers
// check err once per construct rather than after every read.
type reader struct {
	b   []byte
	pos int
	end int
	err error
}

func newReader(b []byte, start, end int) reader {
	return reader{b: b, pos: start, end: end}
}

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
	r.pos = r.end
}

func (r *reader) failf(format string, args ...any) {
	r.fail(malformed(r.pos, format, args...))
}

func (r *reader) remaining() int { return r.end - r.pos }

func (r *reader) byte() byte {
	if r.pos >= r.end {
		r.failf("unexpected end")
		return 0
	}
	c := r.b[r.pos]
	r.pos++
	return c
}

func (r *reader) peek() (byte, bool) {
	if r.pos >= r.end {
		return 0, false
	}
	return r.b[r.pos], true
}

func (r *reader) skip(n int) {
	if n < 0 || n > r.end-r.pos {
		r.failf("unexpected end")
		return
	}
	r.pos += n
}

// u32 decodes an unsigned LEB128 32-bit integer (at most 5 bytes, unused bits
// of the last byte zero).
func (r *reader) u32() uint32 {
	if r.pos < r.end {
		if c := r.b[r.pos]; c < 0x80 {
			r.pos++
			return uint32(c)
		}
	}
	return r.u32slow()
}

func (r *reader) u32slow() uint32 {
	start := r.pos
	var v uint32
	var shift uint
	for i := 0; i < 5; i++ {
		if r.pos >= r.end {
			r.fail(malformed(start, "unexpected end of integer"))
			return 0
		}
		c := r.b[r.pos]
		r.pos++
		if i == 4 && c&0xf0 != 0 {
			r.fail(malformed(start, "integer too large or representation too long"))
			return 0
		}
		v |= uint32(c&0x7f) << shift
		if c < 0x80 {
			return v
		}
		shift += 7
	}
	r.fail(malformed(start, "integer representation too long"))
	return 0
}

// s32 decodes a signed LEB128 32-bit integer.
func (r *reader) s32() int32 { return int32(r.sleb(32)) }

// s33 decodes a signed LEB128 33-bit integer (block types).
func (r *reader) s33() int64 { return r.sleb(33) }

// s64 decodes a signed LEB128 64-bit integer.
func (r *reader) s64() int64 { return r.sleb(64) }

// sleb decodes a signed LEB128 integer of the given width: at most
// ceil(bits/7) bytes, the unused bits of the last byte a copy of the sign
// bit; the result is sign-extended to 64 bits.
func (r *reader) sleb(bits uint) int64 {
	start := r.pos
	maxBytes := int(bits+6) / 7
	// In the last byte, the bits from the sign bit up must all be equal.
	used := bits - 7*uint(maxBytes-1)
	signMask := byte(0x7f) &^ (1<<(used-1) - 1)
	var v int64
	var shift uint
	for i := 0; i < maxBytes; i++ {
		if r.pos >= r.end {
			r.fail(malformed(start, "unexpected end of integer"))
			return 0
		}
		c := r.b[r.pos]
		r.pos++
		v |= int64(c&0x7f) << shift
		shift += 7
		if c < 0x80 {
			if i == maxBytes-1 {
				hi := c & signMask
				if hi != 0 && hi != signMask {
					r.fail(malformed(start, "integer too large"))
					return 0
				}
				if hi != 0 && shift < 64 {
					v |= -1 << shift
				}
			} else if c&0x40 != 0 {
				v |= -1 << shift
			}
			return v
		}
	}
	r.fail(malformed(start, "integer representation too long"))
	return 0
}

// count reads a vector length and checks that at least minSize*n bytes remain
// and that n <= max, so no allocation sized by n can exceed the input.
func (r *reader) count(minSize int, max int, what string) int {
	off := r.pos
	n := r.u32()
	if r.err != nil {
		return 0
	}
	if int64(n) > int64(max) {
		r.fail(tooLarge(off, "too many %s: %d (limit %d)", what, n, max))
		return 0
	}
	if int64(n)*int64(minSize) > int64(r.end-r.pos) {
		r.fail(malformed(off, "%s count %d larger than the remaining bytes", what, n))
		return 0
	}
	return int(n)
}

const maxNameLen = 100000

// name reads a UTF-8 name and returns its bytes (a sub-slice of the input).
func (r *reader) name(what string) []byte {
	off := r.pos
	n := r.u32()
	if r.err != nil {
		return nil
	}
	if n > maxNameLen {
		r.fail(tooLarge(off, "%s too long: %d bytes", what, n))
		return nil
	}
	if int(n) > r.end-r.pos {
		r.fail(malformed(off, "%s length out of bounds", what))
		return nil
	}
	s := r.b[r.pos : r.pos+int(n)]
	r.pos += int(n)
	if !utf8.Valid(s) {
		r.fail(malformed(off, "%s is not valid UTF-8", what))
		return nil
	}
	return s
}

// Encoding helpers.

func appendU32(b []byte, v uint32) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func appendS64(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func appendName(b []byte, s string) []byte {
	b = appendU32(b, uint32(len(s)))
	return append(b, s...)
}
