// The validating decoder: every rule of FORMAT.md "Rules a decoder enforces".

import {
  Tag, HEADER_SIZE, MAX_DEPTH,
  tagName, fixedWidth, isKnownTag, isKeyTag, hex, memoryEnd, copyToBuffer,
} from "./abi";
import { Value, MapEntry, Field, compareKeys, checkDistinctNames } from "./value";

/**
 * Decodes encoded values from linear memory between pos and end, never
 * reading outside that range. Positions are u64 so that a memory of exactly
 * 4 GiB and hostile lengths cannot overflow.
 */
export class Decoder {
  constructor(public pos: u64, public end: u64) {}

  /** Decodes the value at pos (at nesting level depth, 1 for the outermost) and moves pos past it. */
  value(depth: i32): Value {
    const at = this.pos;
    if (at > this.end) throw new Error("aspect abi: value at " + hex(at) + " is past the end (" + hex(this.end) + ")");
    if (this.end - at < <u64>HEADER_SIZE) {
      throw new Error("aspect abi: header at " + hex(at) + " does not fit in the " + (this.end - at).toString() + " bytes available");
    }
    const tag = <i32>load<i16>(<usize>at);
    const len = load<i32>(<usize>at, 2);
    if (len < 0) throw new Error("aspect abi: negative payload length " + len.toString() + " at " + hex(at));
    const p = at + <u64>HEADER_SIZE;
    const pend = p + <u64>len;
    if (pend > this.end) {
      throw new Error("aspect abi: " + tagName(tag) + " payload of " + len.toString() + " bytes at " + hex(at) + " extends past the " + (this.end - p).toString() + " bytes available");
    }
    if (!isKnownTag(tag)) throw new Error("aspect abi: unknown tag " + tag.toString() + " at " + hex(at));
    const width = fixedWidth(tag);
    if (width >= 0 && len != width) {
      throw new Error("aspect abi: " + tagName(tag) + " payload must be " + width.toString() + " bytes, got " + len.toString() + " at " + hex(at));
    }
    const ptr = <usize>p;
    let v: Value;
    switch (tag) {
      case Tag.Int8: v = Value.withBits(tag, <u64><i64>load<i8>(ptr)); break;
      case Tag.Int16: v = Value.withBits(tag, <u64><i64>load<i16>(ptr)); break;
      case Tag.Int32: v = Value.withBits(tag, <u64><i64>load<i32>(ptr)); break;
      case Tag.Int64: v = Value.withBits(tag, load<u64>(ptr)); break;
      case Tag.Uint8: v = Value.withBits(tag, <u64>load<u8>(ptr)); break;
      case Tag.Uint16: v = Value.withBits(tag, <u64>load<u16>(ptr)); break;
      case Tag.Uint32: v = Value.withBits(tag, <u64>load<u32>(ptr)); break;
      case Tag.Uint64: v = Value.withBits(tag, load<u64>(ptr)); break;
      case Tag.Bool: {
        const b = load<u8>(ptr);
        if (b > 1) throw new Error("aspect abi: Bool byte " + b.toString() + " at " + hex(p) + " is not 0 or 1");
        v = Value.withBits(tag, <u64>b);
        break;
      }
      case Tag.Float32: v = Value.withBits(tag, <u64>load<u32>(ptr)); break;
      case Tag.Float64: v = Value.withBits(tag, load<u64>(ptr)); break;
      case Tag.Nil: v = Value.nil(); break;
      case Tag.String:
      case Tag.ByteArray: v = Value.withData(tag, copyToBuffer(ptr, len)); break;
      default: v = this.composite(tag, at, len, depth);
    }
    this.pos = pend;
    return v;
  }

  private composite(tag: i32, at: u64, len: i32, depth: i32): Value {
    if (depth > MAX_DEPTH) throw new Error("aspect abi: nesting deeper than " + MAX_DEPTH.toString() + " levels at " + hex(at));
    if (len < 4) throw new Error("aspect abi: " + tagName(tag) + " payload of " + len.toString() + " bytes at " + hex(at) + " has no room for its count");
    const p = at + <u64>HEADER_SIZE;
    const count = load<u32>(<usize>p);
    if (count > <u32>len / 6) {
      throw new Error("aspect abi: " + tagName(tag) + " count " + count.toString() + " at " + hex(at) + " is larger than its " + len.toString() + "-byte payload allows");
    }
    const n = <i32>count;
    const outer = this.end;
    const pend = p + <u64>len;
    this.end = pend;
    this.pos = p + 4;
    let v: Value;
    if (tag == Tag.List) {
      const items = new Array<Value>(0);
      for (let i = 0; i < n; i++) items.push(this.value(depth + 1));
      v = Value.list(items);
    } else if (tag == Tag.Map) {
      v = Value.map();
      const entries = v.entries!;
      for (let i = 0; i < n; i++) {
        const kat = this.pos;
        const key = this.value(depth + 1);
        if (!isKeyTag(key.tag)) throw new Error("aspect abi: " + tagName(key.tag) + " at " + hex(kat) + " cannot be a Map key");
        if (i > 0) {
          const c = compareKeys(entries[i - 1].key, key);
          if (c == 0) throw new Error("aspect abi: duplicate Map key at " + hex(kat));
          if (c > 0) throw new Error("aspect abi: Map key at " + hex(kat) + " is out of canonical order");
        }
        entries.push(new MapEntry(key, this.value(depth + 1)));
      }
    } else {
      v = Value.struct();
      const fields = v.fields!;
      const names = new Array<ArrayBuffer>(0);
      for (let i = 0; i < n; i++) {
        const fat = this.pos;
        if (pend - fat < 2) throw new Error("aspect abi: struct field name length at " + hex(fat) + " extends past its struct");
        const nlen = <i32>load<u16>(<usize>fat);
        if (nlen == 0) throw new Error("aspect abi: empty struct field name at " + hex(fat));
        if (pend - fat - 2 < <u64>nlen) throw new Error("aspect abi: struct field name at " + hex(fat) + " extends past its struct");
        const name = copyToBuffer(<usize>fat + 2, nlen);
        this.pos = fat + 2 + <u64>nlen;
        names.push(name);
        fields.push(new Field(name, this.value(depth + 1)));
      }
      checkDistinctNames(names);
    }
    if (this.pos != pend) {
      throw new Error("aspect abi: " + tagName(tag) + " at " + hex(at) + ": elements use " + (this.pos - p).toString() + " of its " + len.toString() + " payload bytes");
    }
    this.end = outer;
    return v;
  }
}

/** Decodes and validates the value at ptr (anywhere in linear memory). */
export function decodeAt(ptr: usize): Value {
  return new Decoder(<u64>ptr, memoryEnd()).value(1);
}
