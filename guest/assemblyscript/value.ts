// The generic value tree: any encoded value, decoded, and its canonical encoding.

import {
  Tag, HEADER_SIZE, MAX_DEPTH, MAX_PAYLOAD, MAX_FIELD_NAME,
  tagName, isSignedTag, isUnsignedTag, isKeyTag, compareBytes,
} from "./abi";

/** One Map entry. */
export class MapEntry {
  constructor(public key: Value, public value: Value) {}
}

/** One Struct field; name holds the name's UTF-8 bytes. */
export class Field {
  constructor(public name: ArrayBuffer, public value: Value) {}

  /** The field name as a string. */
  get nameString(): string {
    return String.UTF8.decode(this.name);
  }
}

/**
 * A decoded value of any tag. Scalars keep their bits (integers
 * sign- or zero-extended to 64 bits, Bool 0/1, floats as raw IEEE bits so NaN
 * payloads survive); String and ByteArray keep their bytes unchanged;
 * composites keep their children. `encode()` writes the canonical form.
 */
export class Value {
  /** Scalar payload: integer (extended to 64 bits), Bool 0/1, float bits. */
  bits: u64 = 0;
  /** String (UTF-8) and ByteArray payload. */
  data: ArrayBuffer | null = null;
  /** List elements. */
  items: Array<Value> | null = null;
  /** Map entries, kept in canonical key order. */
  entries: Array<MapEntry> | null = null;
  /** Struct fields in declaration order. */
  fields: Array<Field> | null = null;

  constructor(public readonly tag: i32) {}

  // ---- constructors ------------------------------------------------------

  static int8(v: i8): Value { return Value.withBits(Tag.Int8, <u64><i64>v); }
  static int16(v: i16): Value { return Value.withBits(Tag.Int16, <u64><i64>v); }
  static int32(v: i32): Value { return Value.withBits(Tag.Int32, <u64><i64>v); }
  static int64(v: i64): Value { return Value.withBits(Tag.Int64, <u64>v); }
  static uint8(v: u8): Value { return Value.withBits(Tag.Uint8, <u64>v); }
  static uint16(v: u16): Value { return Value.withBits(Tag.Uint16, <u64>v); }
  static uint32(v: u32): Value { return Value.withBits(Tag.Uint32, <u64>v); }
  static uint64(v: u64): Value { return Value.withBits(Tag.Uint64, v); }
  static boolean(v: bool): Value { return Value.withBits(Tag.Bool, v ? 1 : 0); }
  static float32(v: f32): Value { return Value.withBits(Tag.Float32, <u64>reinterpret<u32>(v)); }
  static float64(v: f64): Value { return Value.withBits(Tag.Float64, reinterpret<u64>(v)); }
  /** A Float32 from its raw IEEE 754 bits. */
  static float32Bits(bits: u32): Value { return Value.withBits(Tag.Float32, <u64>bits); }
  /** A Float64 from its raw IEEE 754 bits. */
  static float64Bits(bits: u64): Value { return Value.withBits(Tag.Float64, bits); }
  /** A String, encoded as UTF-8. */
  static str(s: string): Value { return Value.withData(Tag.String, String.UTF8.encode(s)); }
  /** A String from UTF-8 bytes, kept unchanged. */
  static strBytes(utf8: ArrayBuffer): Value { return Value.withData(Tag.String, utf8); }
  /** A ByteArray. */
  static bytes(b: ArrayBuffer): Value { return Value.withData(Tag.ByteArray, b); }
  /** A List, empty or holding items (not copied). */
  static list(items: Array<Value> = []): Value {
    const v = new Value(Tag.List);
    v.items = items;
    return v;
  }
  /** An empty Map; add entries with set(). */
  static map(): Value {
    const v = new Value(Tag.Map);
    v.entries = [];
    return v;
  }
  /** An empty Struct; add fields in declaration order with field(). */
  static struct(): Value {
    const v = new Value(Tag.Struct);
    v.fields = [];
    return v;
  }
  /** Nil, the absence of a value. */
  static nil(): Value { return new Value(Tag.Nil); }

  static withBits(tag: i32, bits: u64): Value {
    const v = new Value(tag);
    v.bits = bits;
    return v;
  }

  static withData(tag: i32, data: ArrayBuffer): Value {
    const v = new Value(tag);
    v.data = data;
    return v;
  }

  // ---- builders ----------------------------------------------------------

  /** Appends an element to a List; returns this. */
  push(item: Value): Value {
    this.expect(Tag.List);
    this.items!.push(item);
    return this;
  }

  /** Sets a Map entry (replacing an equal key), keeping canonical key order; returns this. */
  set(key: Value, value: Value): Value {
    this.expect(Tag.Map);
    if (!isKeyTag(key.tag)) throw new Error("aspect abi: " + tagName(key.tag) + " cannot be a Map key");
    const entries = this.entries!;
    let lo = 0, hi = entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = compareKeys(entries[mid].key, key);
      if (c == 0) {
        entries[mid].value = value;
        return this;
      }
      if (c < 0) lo = mid + 1; else hi = mid;
    }
    const entry = new MapEntry(key, value);
    entries.push(entry);
    for (let i = entries.length - 1; i > lo; i--) entries[i] = entries[i - 1];
    entries[lo] = entry;
    return this;
  }

  /** Appends a Struct field (declaration order); a name must be new, 1–65535 bytes. Returns this. */
  field(name: string, value: Value): Value {
    return this.fieldBytes(String.UTF8.encode(name), value);
  }

  /** field() with the name given as UTF-8 bytes. */
  fieldBytes(name: ArrayBuffer, value: Value): Value {
    this.expect(Tag.Struct);
    const n = name.byteLength;
    if (n < 1 || n > MAX_FIELD_NAME) throw new Error("aspect abi: struct field name of " + n.toString() + " bytes (must be 1 to 65535)");
    const fields = this.fields!;
    for (let i = 0; i < fields.length; i++) {
      if (compareBytes(fields[i].name, name) == 0) {
        throw new Error("aspect abi: duplicate struct field " + String.UTF8.decode(name));
      }
    }
    fields.push(new Field(name, value));
    return this;
  }

  // ---- accessors ---------------------------------------------------------

  /** Throws unless this value has the given tag. */
  expect(tag: i32): void {
    if (this.tag != tag) throw new Error("aspect abi: expected " + tagName(tag) + ", got " + tagName(this.tag));
  }

  get isNil(): bool { return this.tag == Tag.Nil; }

  asI8(): i8 { this.expect(Tag.Int8); return <i8>this.bits; }
  asI16(): i16 { this.expect(Tag.Int16); return <i16>this.bits; }
  asI32(): i32 { this.expect(Tag.Int32); return <i32>this.bits; }
  asI64(): i64 { this.expect(Tag.Int64); return <i64>this.bits; }
  asU8(): u8 { this.expect(Tag.Uint8); return <u8>this.bits; }
  asU16(): u16 { this.expect(Tag.Uint16); return <u16>this.bits; }
  asU32(): u32 { this.expect(Tag.Uint32); return <u32>this.bits; }
  asU64(): u64 { this.expect(Tag.Uint64); return this.bits; }
  asBool(): bool { this.expect(Tag.Bool); return this.bits != 0; }
  asF32(): f32 { this.expect(Tag.Float32); return reinterpret<f32>(<u32>this.bits); }
  asF64(): f64 { this.expect(Tag.Float64); return reinterpret<f64>(this.bits); }
  asString(): string { this.expect(Tag.String); return String.UTF8.decode(this.data!); }
  /** The payload of a String (UTF-8) or ByteArray. */
  asBytes(): ArrayBuffer {
    if (this.tag != Tag.String && this.tag != Tag.ByteArray) {
      throw new Error("aspect abi: expected String or ByteArray, got " + tagName(this.tag));
    }
    return this.data!;
  }
  asList(): Array<Value> { this.expect(Tag.List); return this.items!; }
  asMap(): Array<MapEntry> { this.expect(Tag.Map); return this.entries!; }
  asStruct(): Array<Field> { this.expect(Tag.Struct); return this.fields!; }

  /** Any integer tag as an i64; throws for a Uint64 above i64.MAX_VALUE. */
  toI64(): i64 {
    if (isSignedTag(this.tag)) return <i64>this.bits;
    if (isUnsignedTag(this.tag)) {
      if (this.bits > <u64>i64.MAX_VALUE) throw new Error("aspect abi: " + this.bits.toString() + " overflows i64");
      return <i64>this.bits;
    }
    throw new Error("aspect abi: expected an integer, got " + tagName(this.tag));
  }

  /** Number of List elements, Map entries or Struct fields. */
  get length(): i32 {
    switch (this.tag) {
      case Tag.List: return this.items!.length;
      case Tag.Map: return this.entries!.length;
      case Tag.Struct: return this.fields!.length;
    }
    throw new Error("aspect abi: " + tagName(this.tag) + " has no length");
  }

  /** The Struct field named name, or null. */
  get(name: string): Value | null {
    const fields = this.asStruct();
    const want = String.UTF8.encode(name);
    for (let i = 0; i < fields.length; i++) {
      if (compareBytes(fields[i].name, want) == 0) return fields[i].value;
    }
    return null;
  }

  /** The Map value for key, or null. */
  lookup(key: Value): Value | null {
    const entries = this.asMap();
    let lo = 0, hi = entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = compareKeys(entries[mid].key, key);
      if (c == 0) return entries[mid].value;
      if (c < 0) lo = mid + 1; else hi = mid;
    }
    return null;
  }

  // ---- encoding ----------------------------------------------------------

  /** Encodes this value canonically into fresh memory and returns the pointer. */
  encode(): usize {
    const size = this.encodedSize(1);
    const ptr = heap.alloc(<usize>size);
    const end = this.encodeAt(ptr);
    if (end - ptr != <usize>size) throw new Error("aspect abi: internal error: encoded size mismatch");
    return ptr;
  }

  /** The length of the canonical encoding, header included. depth is this value's nesting level. */
  encodedSize(depth: i32): u64 {
    let payload: u64 = 0;
    switch (this.tag) {
      case Tag.Int8: case Tag.Uint8: case Tag.Bool: payload = 1; break;
      case Tag.Int16: case Tag.Uint16: payload = 2; break;
      case Tag.Int32: case Tag.Uint32: case Tag.Float32: payload = 4; break;
      case Tag.Int64: case Tag.Uint64: case Tag.Float64: payload = 8; break;
      case Tag.Nil: payload = 0; break;
      case Tag.String: case Tag.ByteArray: payload = <u64>this.data!.byteLength; break;
      case Tag.List: {
        checkDepth(depth);
        const items = this.items!;
        payload = 4;
        for (let i = 0; i < items.length; i++) payload += items[i].encodedSize(depth + 1);
        break;
      }
      case Tag.Map: {
        checkDepth(depth);
        const entries = this.entries!;
        payload = 4;
        for (let i = 0; i < entries.length; i++) {
          const e = entries[i];
          if (!isKeyTag(e.key.tag)) throw new Error("aspect abi: " + tagName(e.key.tag) + " cannot be a Map key");
          payload += e.key.encodedSize(depth + 1) + e.value.encodedSize(depth + 1);
        }
        break;
      }
      case Tag.Struct: {
        checkDepth(depth);
        const fields = this.fields!;
        payload = 4;
        for (let i = 0; i < fields.length; i++) {
          payload += 2 + <u64>fields[i].name.byteLength + fields[i].value.encodedSize(depth + 1);
        }
        break;
      }
      default:
        throw new Error("aspect abi: cannot encode " + tagName(this.tag));
    }
    if (payload > <u64>MAX_PAYLOAD) throw new Error("aspect abi: " + tagName(this.tag) + " payload of " + payload.toString() + " bytes is too large");
    return <u64>HEADER_SIZE + payload;
  }

  /** Writes the canonical encoding at ptr (room must have been reserved); returns the end. */
  encodeAt(ptr: usize): usize {
    const tag = this.tag;
    store<i16>(ptr, <i16>tag);
    const p = ptr + <usize>HEADER_SIZE;
    let end: usize = p;
    switch (tag) {
      case Tag.Int8: case Tag.Uint8: case Tag.Bool: store<u8>(p, <u8>this.bits); end = p + 1; break;
      case Tag.Int16: case Tag.Uint16: store<u16>(p, <u16>this.bits); end = p + 2; break;
      case Tag.Int32: case Tag.Uint32: case Tag.Float32: store<u32>(p, <u32>this.bits); end = p + 4; break;
      case Tag.Int64: case Tag.Uint64: case Tag.Float64: store<u64>(p, this.bits); end = p + 8; break;
      case Tag.Nil: break;
      case Tag.String: case Tag.ByteArray: {
        const data = this.data!;
        memory.copy(p, changetype<usize>(data), <usize>data.byteLength);
        end = p + <usize>data.byteLength;
        break;
      }
      case Tag.List: {
        const items = this.items!;
        store<u32>(p, <u32>items.length);
        end = p + 4;
        for (let i = 0; i < items.length; i++) end = items[i].encodeAt(end);
        break;
      }
      case Tag.Map: {
        const entries = canonicalEntries(this.entries!);
        store<u32>(p, <u32>entries.length);
        end = p + 4;
        for (let i = 0; i < entries.length; i++) {
          end = entries[i].key.encodeAt(end);
          end = entries[i].value.encodeAt(end);
        }
        break;
      }
      case Tag.Struct: {
        const fields = this.fields!;
        checkFieldNames(fields);
        store<u32>(p, <u32>fields.length);
        end = p + 4;
        for (let i = 0; i < fields.length; i++) {
          const name = fields[i].name;
          store<u16>(end, <u16>name.byteLength);
          memory.copy(end + 2, changetype<usize>(name), <usize>name.byteLength);
          end = fields[i].value.encodeAt(end + 2 + <usize>name.byteLength);
        }
        break;
      }
      default:
        throw new Error("aspect abi: cannot encode " + tagName(tag));
    }
    store<i32>(ptr, <i32>(end - p), 2);
    return end;
  }
}

function checkDepth(depth: i32): void {
  if (depth > MAX_DEPTH) throw new Error("aspect abi: nesting deeper than " + MAX_DEPTH.toString() + " levels");
}

/**
 * Canonical Map key order: by tag, then by value (signed and unsigned
 * integers numerically, false < true, Strings bytewise with a shorter prefix
 * first). Returns -1, 0 or 1.
 */
export function compareKeys(a: Value, b: Value): i32 {
  if (a.tag != b.tag) return a.tag < b.tag ? -1 : 1;
  if (isSignedTag(a.tag)) {
    const x = <i64>a.bits, y = <i64>b.bits;
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.tag == Tag.String || a.tag == Tag.ByteArray) return compareBytes(a.data!, b.data!);
  return a.bits < b.bits ? -1 : a.bits > b.bits ? 1 : 0;
}

/** entries in canonical order; throws on a duplicate key. */
function canonicalEntries(entries: Array<MapEntry>): Array<MapEntry> {
  let sorted = true;
  for (let i = 1; i < entries.length; i++) {
    if (compareKeys(entries[i - 1].key, entries[i].key) >= 0) { sorted = false; break; }
  }
  if (sorted) return entries;
  const out = entries.slice(0);
  out.sort((a: MapEntry, b: MapEntry): i32 => compareKeys(a.key, b.key));
  for (let i = 1; i < out.length; i++) {
    if (compareKeys(out[i - 1].key, out[i].key) == 0) throw new Error("aspect abi: duplicate Map key");
  }
  return out;
}

/** Throws if a field name is empty, too long or appears twice. */
export function checkFieldNames(fields: Array<Field>): void {
  const names = new Array<ArrayBuffer>(0);
  for (let i = 0; i < fields.length; i++) {
    const n = fields[i].name.byteLength;
    if (n < 1 || n > MAX_FIELD_NAME) throw new Error("aspect abi: struct field name of " + n.toString() + " bytes (must be 1 to 65535)");
    names.push(fields[i].name);
  }
  checkDistinctNames(names);
}

/** Throws if two of names are equal (sorts a copy: O(n log n) for hostile inputs). */
export function checkDistinctNames(names: Array<ArrayBuffer>): void {
  if (names.length < 2) return;
  const sorted = names.slice(0);
  sorted.sort((a: ArrayBuffer, b: ArrayBuffer): i32 => compareBytes(a, b));
  for (let i = 1; i < sorted.length; i++) {
    if (compareBytes(sorted[i - 1], sorted[i]) == 0) {
      throw new Error("aspect abi: duplicate struct field " + String.UTF8.decode(sorted[i]));
    }
  }
}
