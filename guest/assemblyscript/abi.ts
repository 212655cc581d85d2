// Constants and low-level helpers of the aspect ABI, format version 1
// (abi/FORMAT.md in the aspect-runtime repository).

/** The wire-format tags of format version 1. Tag 0 and tags above 17 are invalid. */
export enum Tag {
  Int8 = 1,
  Int16 = 2,
  Int32 = 3,
  Int64 = 4,
  Uint8 = 5,
  Uint16 = 6,
  Uint32 = 7,
  Uint64 = 8,
  Bool = 9,
  String = 10,
  ByteArray = 11,
  Float32 = 12,
  Float64 = 13,
  List = 14,
  Map = 15,
  Struct = 16,
  Nil = 17,
}

/** Size of the value header: `i16` tag, `i32` payload length. */
export const HEADER_SIZE: i32 = 6;
/** Deepest allowed nesting of List/Map/Struct; the outermost value is level 1. */
export const MAX_DEPTH: i32 = 64;
/** Largest payload a header can describe. */
export const MAX_PAYLOAD: i32 = i32.MAX_VALUE;
/** Longest struct field name, in bytes. */
export const MAX_FIELD_NAME: i32 = 65535;

/** Returns the tag's name as in FORMAT.md, e.g. "Int32", or "tag N" for an invalid tag. */
export function tagName(tag: i32): string {
  switch (tag) {
    case Tag.Int8: return "Int8";
    case Tag.Int16: return "Int16";
    case Tag.Int32: return "Int32";
    case Tag.Int64: return "Int64";
    case Tag.Uint8: return "Uint8";
    case Tag.Uint16: return "Uint16";
    case Tag.Uint32: return "Uint32";
    case Tag.Uint64: return "Uint64";
    case Tag.Bool: return "Bool";
    case Tag.String: return "String";
    case Tag.ByteArray: return "ByteArray";
    case Tag.Float32: return "Float32";
    case Tag.Float64: return "Float64";
    case Tag.List: return "List";
    case Tag.Map: return "Map";
    case Tag.Struct: return "Struct";
    case Tag.Nil: return "Nil";
  }
  return "tag " + tag.toString();
}

/** Returns the exact payload length of a fixed-width tag (1–9, 12, 13, 17), or -1. */
export function fixedWidth(tag: i32): i32 {
  switch (tag) {
    case Tag.Int8:
    case Tag.Uint8:
    case Tag.Bool: return 1;
    case Tag.Int16:
    case Tag.Uint16: return 2;
    case Tag.Int32:
    case Tag.Uint32:
    case Tag.Float32: return 4;
    case Tag.Int64:
    case Tag.Uint64:
    case Tag.Float64: return 8;
    case Tag.Nil: return 0;
  }
  return -1;
}

/** Reports whether tag is defined by format version 1. */
export function isKnownTag(tag: i32): bool {
  return tag >= Tag.Int8 && tag <= Tag.Nil;
}

/** Reports whether tag is a signed integer tag (Int8…Int64). */
export function isSignedTag(tag: i32): bool {
  return tag >= Tag.Int8 && tag <= Tag.Int64;
}

/** Reports whether tag is an unsigned integer tag (Uint8…Uint64). */
export function isUnsignedTag(tag: i32): bool {
  return tag >= Tag.Uint8 && tag <= Tag.Uint64;
}

/** Reports whether a value with this tag may be a Map key (integers, Bool, String). */
export function isKeyTag(tag: i32): bool {
  return tag >= Tag.Int8 && tag <= Tag.String;
}

/** Reports whether tag is a composite (List, Map, Struct). */
export function isCompositeTag(tag: i32): bool {
  return tag >= Tag.List && tag <= Tag.Struct;
}

// Violations are reported with `throw new Error("aspect abi: ...")` written
// at the throw site: AssemblyScript passes a message to env.abort only when the
// thrown expression is literally `new Error(message)`.

/** One past the last byte of linear memory, as a u64 (memory can be exactly 4 GiB). */
export function memoryEnd(): u64 {
  return <u64>memory.size() << 16;
}

/** Formats an address for error messages. */
export function hex(addr: u64): string {
  return "0x" + addr.toString(16);
}

/**
 * Checks that the header at ptr and its whole payload lie inside linear
 * memory and that the length is not negative; returns the payload length.
 * The tag is not checked.
 */
export function checkHeader(ptr: usize): i32 {
  const end = memoryEnd();
  const at = <u64>ptr;
  if (at > end) throw new Error("aspect abi: value at " + hex(at) + " is outside memory (" + end.toString() + " bytes)");
  if (end - at < <u64>HEADER_SIZE) {
    throw new Error("aspect abi: header at " + hex(at) + " does not fit in memory (" + end.toString() + " bytes)");
  }
  const len = load<i32>(ptr, 2);
  if (len < 0) {
    throw new Error("aspect abi: negative payload length " + len.toString() + " at " + hex(at));
  }
  if (<u64>len > end - at - <u64>HEADER_SIZE) {
    throw new Error("aspect abi: payload of " + len.toString() + " bytes at " + hex(at) + " extends past the end of memory");
  }
  return len;
}

/** Compares two byte ranges bytewise, a shorter prefix first; returns -1, 0 or 1. */
export function compareRanges(a: usize, alen: usize, b: usize, blen: usize): i32 {
  const n = alen < blen ? alen : blen;
  const c = memory.compare(a, b, n);
  if (c != 0) return c < 0 ? -1 : 1;
  if (alen == blen) return 0;
  return alen < blen ? -1 : 1;
}

/** Compares two buffers bytewise, a shorter prefix first; returns -1, 0 or 1. */
export function compareBytes(a: ArrayBuffer, b: ArrayBuffer): i32 {
  return compareRanges(changetype<usize>(a), <usize>a.byteLength, changetype<usize>(b), <usize>b.byteLength);
}

/** Copies len bytes at ptr into a new ArrayBuffer. */
export function copyToBuffer(ptr: usize, len: i32): ArrayBuffer {
  const buf = new ArrayBuffer(len);
  memory.copy(changetype<usize>(buf), ptr, <usize>len);
  return buf;
}

/** Allocates 6 + len bytes, writes a header and returns the pointer to it. */
export function allocValue(tag: i32, len: i32): usize {
  if (len < 0) throw new Error("aspect abi: " + tagName(tag) + " payload too large");
  const ptr = heap.alloc(<usize>HEADER_SIZE + <usize>len);
  store<i16>(ptr, <i16>tag);
  store<i32>(ptr, len, 2);
  return ptr;
}
