// Self-test of the conformance fixtures in Node.js, run by
// conformance/build-fixtures.sh after every build. It checks the AssemblyScript
// guest library (through fixtures/as/*.wasm) against a small JavaScript
// encoder written from abi/FORMAT.md, and that every WAT fixture does what
// its comments say. It is also a compact executable description of the
// fixtures; the Go conformance suite is the real host-side test.
//
// Usage: node conformance/selftest.mjs

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";

const fixtures = fileURLToPath(new URL("./fixtures/", import.meta.url));
const wasm = (name) => new WebAssembly.Module(readFileSync(fixtures + name + ".wasm"));

// ---- a reference encoder (FORMAT.md §2) ----------------------------------
const utf8 = new TextEncoder();
const value = (tag, payload) => {
  const b = Buffer.alloc(6 + payload.length);
  b.writeInt16LE(tag, 0);
  b.writeInt32LE(payload.length, 2);
  Buffer.from(payload).copy(b, 6);
  return b;
};
const u32 = (n) => { const b = Buffer.alloc(4); b.writeUInt32LE(n >>> 0); return b; };
const num = (tag, size, write) => (v) => { const b = Buffer.alloc(size); write(b, v); return value(tag, b); };
const V = {
  i8: num(1, 1, (b, v) => b.writeInt8(v)),
  i16: num(2, 2, (b, v) => b.writeInt16LE(v)),
  i32: num(3, 4, (b, v) => b.writeInt32LE(v)),
  i64: num(4, 8, (b, v) => b.writeBigInt64LE(BigInt(v))),
  u8: num(5, 1, (b, v) => b.writeUInt8(v)),
  u16: num(6, 2, (b, v) => b.writeUInt16LE(v)),
  u32: num(7, 4, (b, v) => b.writeUInt32LE(v)),
  u64: num(8, 8, (b, v) => b.writeBigUInt64LE(BigInt(v))),
  bool: (v) => value(9, [v ? 1 : 0]),
  str: (s) => value(10, utf8.encode(s)),
  bytes: (b) => value(11, b),
  f32bits: num(12, 4, (b, v) => b.writeUInt32LE(v)),
  f64bits: num(13, 8, (b, v) => b.writeBigUInt64LE(BigInt(v))),
  list: (items) => value(14, Buffer.concat([u32(items.length), ...items])),
  map: (pairs) => value(15, Buffer.concat([u32(pairs.length), ...pairs.flat()])),
  struct: (fields) => value(16, Buffer.concat([u32(fields.length), ...fields.map(([name, v]) => {
    const n = Buffer.from(name); const l = Buffer.alloc(2); l.writeUInt16LE(n.length);
    return Buffer.concat([l, n, v]);
  })])),
  nil: () => value(17, []),
};
const nest = (levels) => { let v = V.i8(1); for (let i = 0; i < levels; i++) v = V.list([v]); return v; };

// ---- a minimal host ---------------------------------------------------------
// Instantiates a fixture with env.abort (decoding AssemblyScript strings) and
// the given extra imports; put/get move encoded values in and out of memory.
function instantiate(name, imports = () => ({})) {
  const self = { aborts: [] };
  const mem = () => Buffer.from(self.exports.memory.buffer);
  const asString = (p) => {
    if (p === 0) return null;
    const m = mem(); const n = m.readUInt32LE(p - 4);
    return m.subarray(p, p + n).toString("utf16le");
  };
  const abort = (msg, file, line, column) => {
    const a = { msg: asString(msg), file: asString(file), line, column };
    self.aborts.push(a);
    throw Object.assign(new Error("abort: " + a.msg), { abort: a });
  };
  self.mem = mem;
  self.put = (bytes) => { const p = self.exports.allocate(bytes.length); mem().set(bytes, p); return p; };
  self.get = (p) => {
    if (p === 0) return null;
    const m = mem(); return Buffer.from(m.subarray(p, p + 6 + m.readInt32LE(p + 2)));
  };
  self.call = (fn, ...args) => self.get(self.exports[fn](...args.map(self.put)));
  self.exports = new WebAssembly.Instance(wasm(name), { env: { abort }, ...imports(self) }).exports;
  return self;
}

let passed = 0, failed = 0;
function check(name, fn) {
  try { fn(); passed++; } catch (e) { failed++; console.error(`FAIL ${name}\n${e.stack}`); }
}
const abortMessage = (g, re) => (e) => e.message.startsWith("abort: ") && re.test(g.aborts.at(-1).msg);

// ---- as/echo.wasm -------------------------------------------------------
const canonical = [
  V.i8(-128), V.i8(127), V.i16(-32768), V.i32(-5), V.i64(-(2n ** 63n)), V.u8(255), V.u16(65535),
  V.u32(0xffffffff), V.u64(2n ** 64n - 1n), V.bool(true), V.bool(false), V.str(""), V.str("héllo ✓ 😀"),
  V.bytes([0, 1, 255]), V.f32bits(0x7fc00001), V.f32bits(0xff800000), V.f64bits(0x7ff0000000000001n),
  V.f64bits(0x8000000000000000n), V.nil(), V.list([]), V.map([]), V.struct([]),
  V.list([V.u8(1), V.u8(2)]), V.map([[V.str("a"), V.bool(true)]]), V.struct([["x", V.i8(1)]]),
  // every key kind, in canonical order
  V.map([[V.i8(-1), V.nil()], [V.i8(3), V.nil()], [V.i16(-7), V.nil()], [V.i64(-(2n ** 63n)), V.nil()],
    [V.u8(1), V.nil()], [V.u8(200), V.nil()], [V.u64(1n), V.nil()], [V.u64(2n ** 63n), V.nil()],
    [V.bool(false), V.nil()], [V.bool(true), V.nil()],
    [V.str(""), V.nil()], [V.str("a"), V.nil()], [V.str("ab"), V.nil()], [V.str("b"), V.nil()]]),
  V.struct([["name", V.str("bob")], ["inner", V.list([V.map([[V.i64(1), V.struct([["z", V.nil()]])]])])]]),
  nest(64), // 64 List levels around an Int8: the deepest allowed
  V.str("x".repeat(1 << 20)),
];

const invalid = {
  "negative payload length": (() => { const b = V.i32(0); b.writeInt32LE(-1, 2); return b; })(),
  "unknown tag 999": value(999, []),
  "unknown tag 0": value(0, []),
  "Int32 payload must be 4 bytes": value(3, [0, 0]),
  "Nil payload must be 0 bytes": value(17, [0]),
  "Bool byte 7": value(9, [7]),
  "count 4294967295": value(14, u32(0xffffffff)),
  "elements use": value(14, Buffer.concat([u32(1), V.i8(1), Buffer.alloc(1)])),
  "no room for its count": value(15, [0, 0]),
  "nesting deeper than 64": nest(65),
  "out of canonical order": V.map([[V.str("b"), V.i8(1)], [V.str("a"), V.i8(1)]]),
  "out of canonical order ": V.map([[V.u8(1), V.nil()], [V.i8(1), V.nil()]]),
  "duplicate Map key": V.map([[V.str("a"), V.i8(1)], [V.str("a"), V.i8(1)]]),
  "Float64 at": V.map([[V.f64bits(0), V.i8(1)]]),
  "duplicate struct field x": V.struct([["x", V.i8(1)], ["x", V.i8(2)]]),
  "empty struct field name": V.struct([["", V.i8(1)]]),
  "field name at": value(16, Buffer.concat([u32(1), Buffer.from([5, 0, 0x61])])),
};

{
  const g = instantiate("as/echo");
  check("startedCount before __aspect_start__", () => assert.deepEqual(g.call("startedCount"), V.i32(0)));
  g.exports.__aspect_start__();
  g.exports.__aspect_start__(); // AssemblyScript guards its start code: it runs once
  check("startedCount", () => assert.deepEqual(g.call("startedCount"), V.i32(1)));
  check("greet", () => assert.deepEqual(g.call("greet", V.str("world")), V.str("hello, world")));
  for (const v of canonical) {
    const name = v.subarray(0, 12).toString("hex");
    check(`echo ${name}`, () => assert.deepEqual(g.call("echo", v), v));
    check(`echoRaw ${name}`, () => assert.deepEqual(g.call("echoRaw", v), v));
  }
  check("echoRaw copies invalid bytes unchanged", () =>
    assert.deepEqual(g.call("echoRaw", invalid["Bool byte 7"]), invalid["Bool byte 7"]));
  const typed = {
    echoI8: V.i8(-3), echoI16: V.i16(-300), echoI32: V.i32(-70000), echoI64: V.i64(-(2n ** 40n)),
    echoU8: V.u8(250), echoU16: V.u16(60000), echoU32: V.u32(4e9), echoU64: V.u64(2n ** 64n - 2n),
    echoBool: V.bool(true), echoString: V.str("✓ ok"), echoBytes: V.bytes([9, 8, 7]),
    echoF32: V.f32bits(0x7fa00001), echoF64: V.f64bits(0x7ff4000000000001n),
  };
  for (const [fn, v] of Object.entries(typed)) check(fn, () => assert.deepEqual(g.call(fn, v), v));
  check("typed readers are strict", () =>
    assert.throws(() => g.call("echoI32", V.i8(1)), abortMessage(g, /expected Int32 at 0x[0-9a-f]+, got Int8/)));
  check("add wraps", () => assert.deepEqual(g.call("add", V.i32(2147483647), V.i32(1)), V.i32(-2147483648)));
  check("concat", () => assert.deepEqual(g.call("concat", V.str("ab"), V.str("cd")), V.str("abcd")));
  check("answer", () => assert.deepEqual(g.call("answer"), V.i32(42)));
  check("noResult", () => assert.equal(g.exports.noResult(g.put(V.nil())), undefined));
  check("nilResult", () => assert.equal(g.exports.nilResult(g.put(V.nil())), 0));
  check("counter", () => { assert.deepEqual(g.call("counter"), V.i64(1)); assert.deepEqual(g.call("counter"), V.i64(2)); });
  check("person", () => assert.deepEqual(g.call("person", V.str("Ann"), V.i32(33)), V.struct([
    ["name", V.str("Ann")], ["age", V.i32(33)], ["tags", V.list([V.str("a"), V.str("b")])],
    ["scores", V.map([[V.str("x"), V.i64(1)], [V.str("y"), V.i64(2)]])],
    ["address", V.struct([["city", V.str("Paris")], ["zip", V.nil()]])]])));
  check("payloadLen", () => assert.deepEqual(g.call("payloadLen", V.bytes(Buffer.alloc(1 << 20))), V.i32(1 << 20)));
  check("fail", () => {
    assert.throws(() => g.call("fail", V.str("bad ✓")), /abort: bad ✓/);
    const a = g.aborts.at(-1);
    assert.equal(a.file, "fixtures/as/echo.ts");
    assert.ok(a.line > 0 && a.column > 0);
  });
  for (const [msg, bytes] of Object.entries(invalid)) {
    check(`echo rejects: ${msg}`, () => assert.throws(() => g.call("echo", bytes), abortMessage(g, new RegExp(msg.trim()))));
  }
  check("echo rejects a header past the end of memory", () => {
    const m = g.mem(); const p = m.length - 5; m.set(V.i32(1).subarray(0, 5), p);
    assert.throws(() => g.exports.echo(p), abortMessage(g, /does not fit/));
  });
  check("echo rejects a payload past the end of memory", () => {
    const m = g.mem(); const p = m.length - 50; m.set(value(10, Buffer.alloc(40)), p); m.writeInt32LE(100, p + 2);
    assert.throws(() => g.exports.echo(p), abortMessage(g, /extends past/));
  });
  check("echo rejects a pointer outside memory", () =>
    assert.throws(() => g.exports.echo(0xfffffff0), abortMessage(g, /past the end/)));
}

// ---- as/hostcalls.wasm --------------------------------------------------
{
  const log = [];
  const str = (g, p) => g.get(p).subarray(6).toString();
  const g = instantiate("as/hostcalls", (g) => ({
    index: {
      "test.hello": (p) => g.put(V.str("hello, " + str(g, p))),
      "test.add": (a, b) => g.put(V.i64(g.get(a).readBigInt64LE(6) + g.get(b).readBigInt64LE(6))),
      "test.concat3": (a, b, c) => g.put(V.str(str(g, a) + str(g, b) + str(g, c))),
      "test.log": (p) => { log.push(str(g, p)); },
      "test.fail": (p) => { throw new Error("host failed: " + str(g, p)); },
      "test.boom": () => { log.push("boom"); },
      "test.whoami": () => g.put(V.str("node")),
      "test.echo": (p) => g.put(g.get(p)),
      "test.nothing": () => 0,
    },
  }));
  g.exports.__aspect_start__();
  check("greetHost", () => assert.deepEqual(g.call("greetHost", V.str("x")), V.str("hello, x")));
  check("sum", () => assert.deepEqual(g.call("sum", V.i64(2n ** 40n), V.i64(-1)), V.i64(2n ** 40n - 1n)));
  check("join3", () => assert.deepEqual(g.call("join3", V.str("a"), V.str("b"), V.str("c")), V.str("abc")));
  check("logIt", () => assert.deepEqual(g.call("logIt", V.str("hello log")), V.i32(1)));
  check("callFail", () => assert.throws(() => g.call("callFail", V.str("x")), /host failed: x/));
  check("callBoom", () => assert.deepEqual(g.call("callBoom"), V.i32(1)));
  check("whoAmI", () => assert.deepEqual(g.call("whoAmI"), V.str("node")));
  const v = V.struct([["k", V.map([[V.u16(1), V.list([V.f32bits(0x7fc00000), V.nil()])]])]]);
  check("roundTrip", () => assert.deepEqual(g.call("roundTrip", v), v));
  check("callNothing", () => assert.deepEqual(g.call("callNothing"), V.bool(true)));
  check("host log", () => assert.deepEqual(log, ["hello log", "boom"]));
}

// ---- wat/*.wasm ------------------------------------------------------------
const exportsOf = (name) => Object.fromEntries(WebAssembly.Module.exports(wasm(name)).map((e) => [e.name, e.kind]));
const importsOf = (name) => WebAssembly.Module.imports(wasm(name)).map((i) => `${i.module}.${i.name}`);

{
  const t = instantiate("wat/traps");
  const traps = {
    unreachable: /unreachable/, div_zero: /divide by zero/, int_overflow: /divide result unrepresentable/,
    oob_load: /memory access out of bounds/, bad_conversion: /float unrepresentable/,
    stack_overflow: /call stack/, indirect_mismatch: /signature mismatch/, table_oob: /table index is out of bounds/,
  };
  for (const [fn, re] of Object.entries(traps)) check(`traps.${fn}`, () => assert.throws(() => t.exports[fn](), re));
}
{
  const h = instantiate("wat/hostile");
  const e = instantiate("as/echo");
  e.exports.__aspect_start__();
  const end = () => h.mem().length;
  check("hostile.ptr_oob", () => assert.equal(h.exports.ptr_oob() >>> 0, 0xfffffff0));
  check("hostile.ptr_at_end", () => assert.equal(h.exports.ptr_at_end(), end() - 3));
  check("hostile.len_past_end", () => {
    const p = h.exports.len_past_end();
    assert.equal(p, end() - 50);
    assert.equal(h.mem().readInt16LE(p), 10);
    assert.equal(h.mem().readInt32LE(p + 2), 100);
  });
  // Copy each value (its header, and its payload where that is sane) into
  // echo.wasm and check that the AssemblyScript decoder rejects it for the
  // intended reason.
  const expected = {
    len_negative: /negative payload length -1/, len_huge: /String payload of 2147483647 bytes .* extends past/,
    tag_unknown: /unknown tag 999/, tag_zero: /unknown tag 0/, bad_bool: /Bool byte 7/,
    wrong_width: /Int32 payload must be 4 bytes, got 2/, list_count_huge: /count 4294967295/,
    deep_nesting: /nesting deeper than 64/, map_unsorted: /out of canonical order/, map_dup: /duplicate Map key/,
    struct_dup: /duplicate struct field x/,
  };
  for (const [fn, re] of Object.entries(expected)) {
    check(`hostile.${fn}`, () => {
      const p = h.exports[fn]();
      const m = h.mem(); const len = m.readInt32LE(p + 2);
      const size = len >= 0 && p + 6 + len <= m.length ? 6 + len : 6;
      assert.throws(() => e.exports.echo(e.put(m.subarray(p, p + size))), abortMessage(e, re));
    });
  }
  check("hostile.identity", () => assert.equal(h.exports.identity(1234), 1234));
}
check("no_allocate", () => {
  assert.deepEqual(exportsOf("wat/no_allocate"), { memory: "memory", f: "function" });
  assert.equal(instantiate("wat/no_allocate").exports.f(7), 7);
});
check("alloc_trap", () => assert.throws(() => instantiate("wat/alloc_trap").exports.allocate(8), /unreachable/));
check("alloc_oob", () => assert.equal(instantiate("wat/alloc_oob").exports.allocate(8) >>> 0, 0xffffff00));
check("no_memory", () => {
  assert.deepEqual(exportsOf("wat/no_memory"), { allocate: "function", f: "function" });
  const x = new WebAssembly.Instance(wasm("wat/no_memory")).exports;
  assert.equal(x.allocate(1), 8);
  assert.equal(x.f(), 8);
});
check("missing_import", () => assert.deepEqual(importsOf("wat/missing_import"), ["index.test.nonexistent"]));
check("bad_import_sig", () => assert.deepEqual(importsOf("wat/bad_import_sig"), ["index.test.hello"]));
check("raw", () => {
  const r = instantiate("wat/raw").exports;
  assert.equal(r.add(2, 3), 5);
  assert.equal(r.nop(), undefined);
  assert.equal(r.f64_id(-1.5), -1.5);
  assert.equal(r.echo(99), 99);
  assert.equal(r.grow(1), 1);
  assert.equal(r.memory.buffer.byteLength, 2 << 16);
  assert.equal(r.grow(70000), -1);
  assert.equal(r.sum_to(10n), 55n);
  assert.equal(r.sum_to(0n), 0n);
  assert.equal(r.sum_to(1000000n), 500000500000n);
  assert.ok("loop_forever" in r);
});
check("raw allocate", () => {
  const r = instantiate("wat/raw").exports;
  const a = r.allocate(3), b = r.allocate(100000), c = r.allocate(0), d = r.allocate(1);
  assert.deepEqual([a, b, c, d], [1024, 1032, 101032, 101032]);
  assert.equal(r.memory.buffer.byteLength, 2 << 16);
  assert.throws(() => r.allocate(-1), /unreachable/);
});
check("start", () => {
  const s = instantiate("wat/start");
  assert.deepEqual(s.get(s.exports.starts()), V.i32(0));
  s.exports.__aspect_start__();
  assert.deepEqual(s.get(s.exports.starts()), V.i32(1));
});
check("start_trap", () => {
  const s = instantiate("wat/start_trap");
  assert.throws(() => s.exports.__aspect_start__(), /unreachable/);
  assert.equal(s.exports.f(), 0);
});
check("abort", () => {
  const a = instantiate("wat/abort");
  assert.throws(() => a.exports.f(), /abort: boom ✓/);
  assert.deepEqual(a.aborts.at(-1), { msg: "boom ✓", file: "file.ts", line: 7, column: 3 });
});
check("abort f_bad", () => {
  let args;
  const x = new WebAssembly.Instance(wasm("wat/abort"), { env: { abort: (...a) => { args = a; throw new Error("stop"); } } });
  assert.throws(() => x.exports.f_bad(), /stop/);
  assert.equal(args[0] >>> 0, 0xfffffff0);
});

console.log(`selftest: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
