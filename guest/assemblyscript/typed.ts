// Typed helpers: read one value of a known tag at a pointer, or encode one
// into fresh memory and return its pointer. Readers are strict: the tag must
// be exactly the one asked for (an Int32 reader rejects an Int8).

import {
  Tag, HEADER_SIZE, tagName, fixedWidth, hex, checkHeader, copyToBuffer, allocValue,
} from "./abi";
import { Value } from "./value";
import { decodeAt } from "./decode";

/** Validates the value at ptr as one of tag (bounds, width, Bool byte) and returns its payload pointer. */
export function payloadOf(ptr: usize, tag: i32): usize {
  const len = checkHeader(ptr);
  const got = <i32>load<i16>(ptr);
  if (got != tag) throw new Error("aspect abi: expected " + tagName(tag) + " at " + hex(ptr) + ", got " + tagName(got));
  const width = fixedWidth(tag);
  if (width >= 0 && len != width) {
    throw new Error("aspect abi: " + tagName(tag) + " payload must be " + width.toString() + " bytes, got " + len.toString() + " at " + hex(ptr));
  }
  const p = ptr + <usize>HEADER_SIZE;
  if (tag == Tag.Bool && load<u8>(p) > 1) {
    throw new Error("aspect abi: Bool byte " + load<u8>(p).toString() + " at " + hex(p) + " is not 0 or 1");
  }
  return p;
}

// ---- header-only access (no payload validation) ----------------------------

/** The tag of the value at ptr (header and payload bounds checked, tag not validated). */
export function tagOf(ptr: usize): i32 {
  checkHeader(ptr);
  return <i32>load<i16>(ptr);
}

/** The payload length in the header at ptr (header and payload bounds checked). */
export function payloadLength(ptr: usize): i32 {
  return checkHeader(ptr);
}

/** 6 + payload length: the number of bytes the value at ptr occupies. */
export function encodedLength(ptr: usize): i32 {
  return HEADER_SIZE + checkHeader(ptr);
}

/** Copies the encoded value at ptr unchanged (bounds checked, not decoded); returns the copy. */
export function copyEncoded(ptr: usize): usize {
  const n = <usize>HEADER_SIZE + <usize>checkHeader(ptr);
  const out = heap.alloc(n);
  memory.copy(out, ptr, n);
  return out;
}

// ---- readers ---------------------------------------------------------------

export function readI8(ptr: usize): i8 { return load<i8>(payloadOf(ptr, Tag.Int8)); }
export function readI16(ptr: usize): i16 { return load<i16>(payloadOf(ptr, Tag.Int16)); }
export function readI32(ptr: usize): i32 { return load<i32>(payloadOf(ptr, Tag.Int32)); }
export function readI64(ptr: usize): i64 { return load<i64>(payloadOf(ptr, Tag.Int64)); }
export function readU8(ptr: usize): u8 { return load<u8>(payloadOf(ptr, Tag.Uint8)); }
export function readU16(ptr: usize): u16 { return load<u16>(payloadOf(ptr, Tag.Uint16)); }
export function readU32(ptr: usize): u32 { return load<u32>(payloadOf(ptr, Tag.Uint32)); }
export function readU64(ptr: usize): u64 { return load<u64>(payloadOf(ptr, Tag.Uint64)); }
export function readBool(ptr: usize): bool { return load<u8>(payloadOf(ptr, Tag.Bool)) != 0; }
/** A Float32; the bits are loaded as an integer and reinterpreted, so NaN payloads are kept. */
export function readF32(ptr: usize): f32 { return reinterpret<f32>(load<u32>(payloadOf(ptr, Tag.Float32))); }
export function readF64(ptr: usize): f64 { return reinterpret<f64>(load<u64>(payloadOf(ptr, Tag.Float64))); }
/** A String, decoded from UTF-8 (invalid sequences become U+FFFD; use readStringBytes to keep them). */
export function readString(ptr: usize): string {
  const p = payloadOf(ptr, Tag.String);
  return String.UTF8.decodeUnsafe(p, <usize>load<i32>(ptr, 2));
}
/** A String's UTF-8 bytes, unchanged. */
export function readStringBytes(ptr: usize): ArrayBuffer {
  const p = payloadOf(ptr, Tag.String);
  return copyToBuffer(p, load<i32>(ptr, 2));
}
/** A ByteArray's bytes. */
export function readBytes(ptr: usize): ArrayBuffer {
  const p = payloadOf(ptr, Tag.ByteArray);
  return copyToBuffer(p, load<i32>(ptr, 2));
}
/** Throws unless the value at ptr is Nil. */
export function readNil(ptr: usize): void { payloadOf(ptr, Tag.Nil); }
/** Any value, fully validated, as a Value tree. */
export function readValue(ptr: usize): Value { return decodeAt(ptr); }
/** readValue, or null when ptr is 0 ("no result"). */
export function readOptional(ptr: usize): Value | null { return ptr == 0 ? null : decodeAt(ptr); }

// ---- writers: each returns a pointer to a freshly encoded value --------------

export function writeI8(v: i8): usize { const p = allocValue(Tag.Int8, 1); store<i8>(p, v, HEADER_SIZE); return p; }
export function writeI16(v: i16): usize { const p = allocValue(Tag.Int16, 2); store<i16>(p, v, HEADER_SIZE); return p; }
export function writeI32(v: i32): usize { const p = allocValue(Tag.Int32, 4); store<i32>(p, v, HEADER_SIZE); return p; }
export function writeI64(v: i64): usize { const p = allocValue(Tag.Int64, 8); store<i64>(p, v, HEADER_SIZE); return p; }
export function writeU8(v: u8): usize { const p = allocValue(Tag.Uint8, 1); store<u8>(p, v, HEADER_SIZE); return p; }
export function writeU16(v: u16): usize { const p = allocValue(Tag.Uint16, 2); store<u16>(p, v, HEADER_SIZE); return p; }
export function writeU32(v: u32): usize { const p = allocValue(Tag.Uint32, 4); store<u32>(p, v, HEADER_SIZE); return p; }
export function writeU64(v: u64): usize { const p = allocValue(Tag.Uint64, 8); store<u64>(p, v, HEADER_SIZE); return p; }
export function writeBool(v: bool): usize { const p = allocValue(Tag.Bool, 1); store<u8>(p, v ? 1 : 0, HEADER_SIZE); return p; }
/** A Float32; stored through its bits, so NaN payloads are kept. */
export function writeF32(v: f32): usize { const p = allocValue(Tag.Float32, 4); store<u32>(p, reinterpret<u32>(v), HEADER_SIZE); return p; }
export function writeF64(v: f64): usize { const p = allocValue(Tag.Float64, 8); store<u64>(p, reinterpret<u64>(v), HEADER_SIZE); return p; }
/** A String, encoded as UTF-8. */
export function writeString(s: string): usize {
  const n = String.UTF8.byteLength(s);
  const p = allocValue(Tag.String, n);
  String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, p + <usize>HEADER_SIZE);
  return p;
}
/** A String from UTF-8 bytes, unchanged. */
export function writeStringBytes(utf8: ArrayBuffer): usize { return writeData(Tag.String, utf8); }
/** A ByteArray. */
export function writeBytes(b: ArrayBuffer): usize { return writeData(Tag.ByteArray, b); }
/** Nil. */
export function writeNil(): usize { return allocValue(Tag.Nil, 0); }
/** Any value, canonically (same as v.encode()). */
export function writeValue(v: Value): usize { return v.encode(); }

function writeData(tag: i32, b: ArrayBuffer): usize {
  const p = allocValue(tag, b.byteLength);
  memory.copy(p + <usize>HEADER_SIZE, changetype<usize>(b), <usize>b.byteLength);
  return p;
}

// ---- host calls ---------------------------------------------------------

/**
 * For results of imported host functions: throws, naming fn, if the host
 * returned 0 ("no result"); otherwise returns ptr.
 */
export function expectResult(ptr: usize, fn: string): usize {
  if (ptr == 0) throw new Error("aspect abi: host function " + fn + " returned no result");
  return ptr;
}
