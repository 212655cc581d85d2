// StructBuilder: builds a Struct field by field, in declaration order.

import { Value } from "./value";

/**
 * Builds a Struct in declaration order:
 *
 *     new StructBuilder().string("name", name).int32("age", age).build()
 *
 * Every method appends one field; a repeated or empty name throws.
 */
export class StructBuilder {
  private readonly v: Value = Value.struct();

  value(name: string, v: Value): StructBuilder { this.v.field(name, v); return this; }
  int8(name: string, v: i8): StructBuilder { return this.value(name, Value.int8(v)); }
  int16(name: string, v: i16): StructBuilder { return this.value(name, Value.int16(v)); }
  int32(name: string, v: i32): StructBuilder { return this.value(name, Value.int32(v)); }
  int64(name: string, v: i64): StructBuilder { return this.value(name, Value.int64(v)); }
  uint8(name: string, v: u8): StructBuilder { return this.value(name, Value.uint8(v)); }
  uint16(name: string, v: u16): StructBuilder { return this.value(name, Value.uint16(v)); }
  uint32(name: string, v: u32): StructBuilder { return this.value(name, Value.uint32(v)); }
  uint64(name: string, v: u64): StructBuilder { return this.value(name, Value.uint64(v)); }
  boolean(name: string, v: bool): StructBuilder { return this.value(name, Value.boolean(v)); }
  float32(name: string, v: f32): StructBuilder { return this.value(name, Value.float32(v)); }
  float64(name: string, v: f64): StructBuilder { return this.value(name, Value.float64(v)); }
  str(name: string, v: string): StructBuilder { return this.value(name, Value.str(v)); }
  bytes(name: string, v: ArrayBuffer): StructBuilder { return this.value(name, Value.bytes(v)); }
  nil(name: string): StructBuilder { return this.value(name, Value.nil()); }

  /** The Struct built so far. */
  build(): Value { return this.v; }
  /** Encodes the Struct and returns its pointer. */
  encode(): usize { return this.v.encode(); }
}
