//! The value codec of abi/FORMAT.md, version 1: encoding with canonical
//! form, and decoding that enforces every rule of section 2.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::{BuildHasher, Hash};

/// Tags of the encoded values (abi/FORMAT.md, section 2).
pub mod tag {
    pub const I8: i16 = 1;
    pub const I16: i16 = 2;
    pub const I32: i16 = 3;
    pub const I64: i16 = 4;
    pub const U8: i16 = 5;
    pub const U16: i16 = 6;
    pub const U32: i16 = 7;
    pub const U64: i16 = 8;
    pub const BOOL: i16 = 9;
    pub const STRING: i16 = 10;
    pub const BYTES: i16 = 11;
    pub const F32: i16 = 12;
    pub const F64: i16 = 13;
    pub const LIST: i16 = 14;
    pub const MAP: i16 = 15;
    pub const STRUCT: i16 = 16;
    pub const NIL: i16 = 17;
}

/// Size of a value's header: a 2-byte tag and a 4-byte payload length.
pub const HEADER_SIZE: usize = 6;

/// Maximum nesting of List, Map and Struct values.
pub const MAX_DEPTH: usize = 64;

/// Why a value could not be encoded or decoded. The variants mirror the
/// sentinel errors of the Go package abi.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A header or payload extends past the available bytes.
    Truncated,
    /// A fixed-width payload of the wrong length, a negative length, or a
    /// composite whose elements do not consume its payload exactly.
    InvalidLength,
    /// Tag 0 or a tag above 17.
    UnknownTag(i16),
    /// A Bool byte other than 0 or 1.
    InvalidBool(u8),
    /// Nesting deeper than MAX_DEPTH.
    TooDeep,
    /// Map keys out of order, duplicated or of a non-key tag; an empty or
    /// duplicate struct field name; a value larger than the format allows.
    NonCanonical(&'static str),
    /// The value's tag cannot be decoded into the requested type.
    TypeMismatch { want: &'static str, tag: i16 },
    /// An integer does not fit the requested type.
    Overflow { want: &'static str },
    /// A String payload that is not UTF-8 decoded into a Rust String.
    InvalidUtf8,
    /// A value outside the rules of the format (for example a pointer
    /// that allocate did not return).
    Invalid(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Truncated => write!(f, "abi: truncated value"),
            Error::InvalidLength => write!(f, "abi: invalid length"),
            Error::UnknownTag(t) => write!(f, "abi: unknown tag {}", t),
            Error::InvalidBool(b) => write!(f, "abi: invalid bool byte {}", b),
            Error::TooDeep => write!(f, "abi: nesting deeper than {} levels", MAX_DEPTH),
            Error::NonCanonical(why) => write!(f, "abi: non-canonical value: {}", why),
            Error::TypeMismatch { want, tag } => write!(f, "abi: type mismatch: tag {} into {}", tag, want),
            Error::Overflow { want } => write!(f, "abi: value overflows {}", want),
            Error::InvalidUtf8 => write!(f, "abi: string is not UTF-8"),
            Error::Invalid(s) => write!(f, "abi: {}", s),
        }
    }
}

impl std::error::Error for Error {}

/// Result of the codec's functions.
pub type Result<T> = std::result::Result<T, Error>;

// ---------------------------------------------------------------------------
// Reading

/// Splits the value at the start of `b` into its tag, its payload and the
/// bytes after it (rules 1 and 2).
pub fn split(b: &[u8]) -> Result<(i16, &[u8], &[u8])> {
    if b.len() < HEADER_SIZE {
        return Err(Error::Truncated);
    }
    let t = i16::from_le_bytes([b[0], b[1]]);
    let n = i32::from_le_bytes([b[2], b[3], b[4], b[5]]);
    if n < 0 {
        return Err(Error::InvalidLength);
    }
    let n = n as usize;
    if n > b.len() - HEADER_SIZE {
        return Err(Error::Truncated);
    }
    Ok((t, &b[HEADER_SIZE..HEADER_SIZE + n], &b[HEADER_SIZE + n..]))
}

/// Reads the element count of a composite payload (rule 6's bound) and
/// returns it with the elements' bytes.
fn count(p: &[u8]) -> Result<(usize, &[u8])> {
    if p.len() < 4 {
        return Err(Error::InvalidLength);
    }
    let n = u32::from_le_bytes([p[0], p[1], p[2], p[3]]) as usize;
    if n > p.len() / HEADER_SIZE {
        return Err(Error::InvalidLength);
    }
    Ok((n, &p[4..]))
}

fn fixed<const N: usize>(p: &[u8]) -> Result<[u8; N]> {
    if p.len() != N {
        return Err(Error::InvalidLength);
    }
    let mut a = [0u8; N];
    a.copy_from_slice(p);
    Ok(a)
}

/// A type decodable from an encoded value. `depth` is the nesting level of
/// the value (1 for the outermost); composites decode their elements at
/// `depth + 1` and must fail with Error::TooDeep beyond MAX_DEPTH.
pub trait Decode: Sized {
    /// Decodes the value of tag `tag` with payload `payload`.
    fn decode_tagged(tag: i16, payload: &[u8], depth: usize) -> Result<Self>;
}

/// Decodes exactly one complete value from `b` (no bytes may follow).
pub fn decode<T: Decode>(b: &[u8]) -> Result<T> {
    let (t, p, rest) = split(b)?;
    if !rest.is_empty() {
        return Err(Error::InvalidLength);
    }
    T::decode_tagged(t, p, 1)
}

/// Decodes one element of a composite from the front of `b`, returning it
/// and the bytes after it.
pub fn decode_elem<T: Decode>(b: &[u8], depth: usize) -> Result<(T, &[u8])> {
    let (t, p, rest) = split(b)?;
    Ok((T::decode_tagged(t, p, depth)?, rest))
}

/// An integer of any integer tag, widened: signed as i128 covers every tag.
fn integer(t: i16, p: &[u8]) -> Result<Option<i128>> {
    Ok(Some(match t {
        tag::I8 => i8::from_le_bytes(fixed(p)?) as i128,
        tag::I16 => i16::from_le_bytes(fixed(p)?) as i128,
        tag::I32 => i32::from_le_bytes(fixed(p)?) as i128,
        tag::I64 => i64::from_le_bytes(fixed(p)?) as i128,
        tag::U8 => u8::from_le_bytes(fixed(p)?) as i128,
        tag::U16 => u16::from_le_bytes(fixed(p)?) as i128,
        tag::U32 => u32::from_le_bytes(fixed(p)?) as i128,
        tag::U64 => u64::from_le_bytes(fixed(p)?) as i128,
        _ => return Ok(None),
    }))
}

macro_rules! int_codec {
    ($($ty:ty => $tag:expr),*) => {$(
        impl Encode for $ty {
            fn encode(&self, e: &mut Encoder) {
                e.fixed($tag, &self.to_le_bytes());
            }
        }
        impl Decode for $ty {
            fn decode_tagged(t: i16, p: &[u8], _depth: usize) -> Result<Self> {
                match integer(t, p)? {
                    Some(v) => <$ty>::try_from(v).map_err(|_| Error::Overflow { want: stringify!($ty) }),
                    None => Err(mismatch(t, p, stringify!($ty))),
                }
            }
        }
    )*};
}

int_codec!(i8 => tag::I8, i16 => tag::I16, i32 => tag::I32, i64 => tag::I64,
    u8 => tag::U8, u16 => tag::U16, u32 => tag::U32, u64 => tag::U64);

/// A type mismatch for tag t, unless the value itself is malformed (rules 3
/// to 9 are reported before a mismatch).
fn mismatch(t: i16, p: &[u8], want: &'static str) -> Error {
    match Value::decode_tagged(t, p, 1) {
        Err(e) => e,
        Ok(_) => Error::TypeMismatch { want, tag: t },
    }
}

impl Decode for bool {
    fn decode_tagged(t: i16, p: &[u8], _: usize) -> Result<Self> {
        if t != tag::BOOL {
            return Err(mismatch(t, p, "bool"));
        }
        match fixed::<1>(p)?[0] {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(Error::InvalidBool(b)),
        }
    }
}

impl Decode for f32 {
    fn decode_tagged(t: i16, p: &[u8], _: usize) -> Result<Self> {
        match t {
            tag::F32 => Ok(f32::from_bits(u32::from_le_bytes(fixed(p)?))),
            tag::F64 => match f64_to_f32_exact(u64::from_le_bytes(fixed(p)?)) {
                Some(bits) => Ok(f32::from_bits(bits)),
                None => Err(Error::Overflow { want: "f32" }),
            },
            _ => Err(mismatch(t, p, "f32")),
        }
    }
}

impl Decode for f64 {
    fn decode_tagged(t: i16, p: &[u8], _: usize) -> Result<Self> {
        match t {
            tag::F64 => Ok(f64::from_bits(u64::from_le_bytes(fixed(p)?))),
            tag::F32 => Ok(f64::from_bits(f32_to_f64(u32::from_le_bytes(fixed(p)?)))),
            _ => Err(mismatch(t, p, "f64")),
        }
    }
}

// The float conversions work on bits, so that the guest uses no
// f32.demote_f64 or f64.promote_f32, whose NaN results are not
// deterministic in WebAssembly (validate's deterministic profile rejects
// them).

/// The binary32 bits of the binary64 value `b`, if it is exactly
/// representable (a NaN keeps its sign and the top of its payload, quiet).
pub fn f64_to_f32_exact(b: u64) -> Option<u32> {
    let sign = ((b >> 63) as u32) << 31;
    let exp = ((b >> 52) & 0x7ff) as i32;
    let mant = b & ((1u64 << 52) - 1);
    if exp == 0x7ff {
        return Some(if mant == 0 { sign | 0x7f80_0000 } else { sign | 0x7fc0_0000 | (mant >> 29) as u32 });
    }
    if exp == 0 {
        // Zero, or a binary64 subnormal: far below binary32's range.
        return if mant == 0 { Some(sign) } else { None };
    }
    let e = exp - 1023;
    if e > 127 {
        return None;
    }
    if e >= -126 {
        if mant & ((1 << 29) - 1) != 0 {
            return None;
        }
        return Some(sign | (((e + 127) as u32) << 23) | (mant >> 29) as u32);
    }
    if e < -149 {
        return None;
    }
    // A binary32 subnormal: m * 2^-149.
    let s = (1u64 << 52) | mant;
    let shift = (-97 - e) as u32;
    if s & ((1u64 << shift) - 1) != 0 {
        return None;
    }
    Some(sign | (s >> shift) as u32)
}

/// The binary64 bits of the binary32 value `b` (exact; a NaN keeps its
/// sign and payload).
pub fn f32_to_f64(b: u32) -> u64 {
    let sign = ((b >> 31) as u64) << 63;
    let exp = ((b >> 23) & 0xff) as i64;
    let mant = (b & 0x7f_ffff) as u64;
    if exp == 0xff {
        return sign | (0x7ffu64 << 52) | (mant << 29);
    }
    if exp == 0 {
        if mant == 0 {
            return sign;
        }
        let p = 63 - mant.leading_zeros() as i64; // highest set bit, 0..=22
        let e = p - 149 + 1023;
        return sign | ((e as u64) << 52) | ((mant << (52 - p)) & ((1u64 << 52) - 1));
    }
    sign | (((exp - 127 + 1023) as u64) << 52) | (mant << 29)
}

impl Decode for String {
    fn decode_tagged(t: i16, p: &[u8], _: usize) -> Result<Self> {
        match t {
            tag::STRING | tag::BYTES => String::from_utf8(p.to_vec()).map_err(|_| Error::InvalidUtf8),
            _ => Err(mismatch(t, p, "String")),
        }
    }
}

/// A ByteArray (tag 11). `Vec<u8>` is a List of Uint8; use Bytes for bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bytes(pub Vec<u8>);

impl Decode for Bytes {
    fn decode_tagged(t: i16, p: &[u8], _: usize) -> Result<Self> {
        match t {
            tag::STRING | tag::BYTES => Ok(Bytes(p.to_vec())),
            _ => Err(mismatch(t, p, "Bytes")),
        }
    }
}

impl<T: Decode> Decode for Option<T> {
    fn decode_tagged(t: i16, p: &[u8], depth: usize) -> Result<Self> {
        if t == tag::NIL {
            fixed::<0>(p)?;
            return Ok(None);
        }
        T::decode_tagged(t, p, depth).map(Some)
    }
}

impl<T: Decode> Decode for Box<T> {
    fn decode_tagged(t: i16, p: &[u8], depth: usize) -> Result<Self> {
        T::decode_tagged(t, p, depth).map(Box::new)
    }
}

impl<T: Decode> Decode for Vec<T> {
    fn decode_tagged(t: i16, p: &[u8], depth: usize) -> Result<Self> {
        match t {
            tag::LIST => {}
            tag::NIL => {
                fixed::<0>(p)?;
                return Ok(Vec::new());
            }
            _ => return Err(mismatch(t, p, "Vec")),
        }
        if depth > MAX_DEPTH {
            return Err(Error::TooDeep);
        }
        let (n, mut rest) = count(p)?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let (v, r) = decode_elem(rest, depth + 1)?;
            out.push(v);
            rest = r;
        }
        if !rest.is_empty() {
            return Err(Error::InvalidLength);
        }
        Ok(out)
    }
}

/// Calls f on every entry of a Map payload, enforcing rules 6 and 8.
fn map_entries<'a>(p: &'a [u8], depth: usize, mut f: impl FnMut(i16, &'a [u8], i16, &'a [u8]) -> Result<()>) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(Error::TooDeep);
    }
    let (n, mut rest) = count(p)?;
    if n > p.len() / (2 * HEADER_SIZE) {
        return Err(Error::InvalidLength);
    }
    let mut prev: Option<Value> = None;
    for _ in 0..n {
        let (kt, kp, r) = split(rest)?;
        if !(tag::I8..=tag::STRING).contains(&kt) {
            return Err(Error::NonCanonical("map key of a non-key tag"));
        }
        let key = Value::decode_tagged(kt, kp, depth + 1)?;
        if let Some(prev) = &prev {
            if key_cmp(prev, &key) != std::cmp::Ordering::Less {
                return Err(Error::NonCanonical("map keys out of order or duplicated"));
            }
        }
        prev = Some(key);
        let (vt, vp, r) = split(r)?;
        f(kt, kp, vt, vp)?;
        rest = r;
    }
    if !rest.is_empty() {
        return Err(Error::InvalidLength);
    }
    Ok(())
}

impl<K: Decode + Ord, V: Decode> Decode for BTreeMap<K, V> {
    fn decode_tagged(t: i16, p: &[u8], depth: usize) -> Result<Self> {
        match t {
            tag::MAP => {}
            tag::NIL => {
                fixed::<0>(p)?;
                return Ok(BTreeMap::new());
            }
            _ => return Err(mismatch(t, p, "BTreeMap")),
        }
        let mut out = BTreeMap::new();
        map_entries(p, depth, |kt, kp, vt, vp| {
            let k = K::decode_tagged(kt, kp, depth + 1)?;
            let v = V::decode_tagged(vt, vp, depth + 1)?;
            out.insert(k, v);
            Ok(())
        })?;
        Ok(out)
    }
}

/// Calls f with the name and the encoded value of every field of a Struct
/// payload, enforcing rules 6, 7 and 9.
pub fn struct_fields<'a>(p: &'a [u8], depth: usize, mut f: impl FnMut(&'a str, i16, &'a [u8]) -> Result<()>) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(Error::TooDeep);
    }
    let (n, mut rest) = count(p)?;
    let mut seen: Vec<&[u8]> = Vec::new();
    for _ in 0..n {
        if rest.len() < 2 {
            return Err(Error::Truncated);
        }
        let len = u16::from_le_bytes([rest[0], rest[1]]) as usize;
        if len == 0 {
            return Err(Error::NonCanonical("empty struct field name"));
        }
        if rest.len() - 2 < len {
            return Err(Error::Truncated);
        }
        let name = &rest[2..2 + len];
        if seen.contains(&name) {
            return Err(Error::NonCanonical("duplicate struct field name"));
        }
        seen.push(name);
        let name = std::str::from_utf8(name).map_err(|_| Error::InvalidUtf8)?;
        let (vt, vp, r) = split(&rest[2 + len..])?;
        f(name, vt, vp)?;
        rest = r;
    }
    if !rest.is_empty() {
        return Err(Error::InvalidLength);
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The generic form

/// Any encoded value, decoded: the generic form (Go's `any`).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    I8(i8),
    I16(i16),
    I32(i32),
    I64(i64),
    U8(u8),
    U16(u16),
    U32(u32),
    U64(u64),
    Bool(bool),
    /// A String; decoding fails with Error::InvalidUtf8 if it is not UTF-8.
    String(String),
    Bytes(Vec<u8>),
    F32(f32),
    F64(f64),
    List(Vec<Value>),
    /// Entries in canonical key order (the encoder sorts them anyway).
    Map(Vec<(Value, Value)>),
    /// Fields in order.
    Struct(Vec<(String, Value)>),
    Nil,
}

/// The default Value is Nil.
impl Default for Value {
    fn default() -> Self {
        Value::Nil
    }
}

impl Value {
    /// The value's tag.
    pub fn tag(&self) -> i16 {
        match self {
            Value::I8(_) => tag::I8,
            Value::I16(_) => tag::I16,
            Value::I32(_) => tag::I32,
            Value::I64(_) => tag::I64,
            Value::U8(_) => tag::U8,
            Value::U16(_) => tag::U16,
            Value::U32(_) => tag::U32,
            Value::U64(_) => tag::U64,
            Value::Bool(_) => tag::BOOL,
            Value::String(_) => tag::STRING,
            Value::Bytes(_) => tag::BYTES,
            Value::F32(_) => tag::F32,
            Value::F64(_) => tag::F64,
            Value::List(_) => tag::LIST,
            Value::Map(_) => tag::MAP,
            Value::Struct(_) => tag::STRUCT,
            Value::Nil => tag::NIL,
        }
    }

    /// A String value.
    pub fn str(s: &str) -> Value {
        Value::String(s.to_string())
    }

    /// Inserts or replaces a Map entry, keeping keys in canonical order.
    /// Panics if self is not a Map.
    pub fn set(mut self, key: Value, value: Value) -> Value {
        if let Value::Map(entries) = &mut self {
            match entries.binary_search_by(|(k, _)| key_cmp(k, &key)) {
                Ok(i) => entries[i].1 = value,
                Err(i) => entries.insert(i, (key, value)),
            }
        } else {
            panic!("Value::set on a {} value", self.tag());
        }
        self
    }
}

/// Canonical order of Map keys: by tag, then by value.
pub fn key_cmp(a: &Value, b: &Value) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    use Value::*;
    match a.tag().cmp(&b.tag()) {
        Ordering::Equal => {}
        o => return o,
    }
    match (a, b) {
        (I8(x), I8(y)) => x.cmp(y),
        (I16(x), I16(y)) => x.cmp(y),
        (I32(x), I32(y)) => x.cmp(y),
        (I64(x), I64(y)) => x.cmp(y),
        (U8(x), U8(y)) => x.cmp(y),
        (U16(x), U16(y)) => x.cmp(y),
        (U32(x), U32(y)) => x.cmp(y),
        (U64(x), U64(y)) => x.cmp(y),
        (Bool(x), Bool(y)) => x.cmp(y),
        (String(x), String(y)) => x.as_bytes().cmp(y.as_bytes()),
        _ => Ordering::Equal,
    }
}

impl Decode for Value {
    fn decode_tagged(t: i16, p: &[u8], depth: usize) -> Result<Self> {
        Ok(match t {
            tag::I8 => Value::I8(i8::from_le_bytes(fixed(p)?)),
            tag::I16 => Value::I16(i16::from_le_bytes(fixed(p)?)),
            tag::I32 => Value::I32(i32::from_le_bytes(fixed(p)?)),
            tag::I64 => Value::I64(i64::from_le_bytes(fixed(p)?)),
            tag::U8 => Value::U8(u8::from_le_bytes(fixed(p)?)),
            tag::U16 => Value::U16(u16::from_le_bytes(fixed(p)?)),
            tag::U32 => Value::U32(u32::from_le_bytes(fixed(p)?)),
            tag::U64 => Value::U64(u64::from_le_bytes(fixed(p)?)),
            tag::BOOL => Value::Bool(bool::decode_tagged(t, p, depth)?),
            tag::STRING => Value::String(String::from_utf8(p.to_vec()).map_err(|_| Error::InvalidUtf8)?),
            tag::BYTES => Value::Bytes(p.to_vec()),
            tag::F32 => Value::F32(f32::from_bits(u32::from_le_bytes(fixed(p)?))),
            tag::F64 => Value::F64(f64::from_bits(u64::from_le_bytes(fixed(p)?))),
            tag::LIST => Value::List(Vec::decode_tagged(t, p, depth)?),
            tag::MAP => {
                let mut out = Vec::new();
                map_entries(p, depth, |kt, kp, vt, vp| {
                    out.push((Value::decode_tagged(kt, kp, depth + 1)?, Value::decode_tagged(vt, vp, depth + 1)?));
                    Ok(())
                })?;
                Value::Map(out)
            }
            tag::STRUCT => {
                let mut out = Vec::new();
                struct_fields(p, depth, |name, vt, vp| {
                    out.push((name.to_string(), Value::decode_tagged(vt, vp, depth + 1)?));
                    Ok(())
                })?;
                Value::Struct(out)
            }
            tag::NIL => {
                fixed::<0>(p)?;
                Value::Nil
            }
            _ => return Err(Error::UnknownTag(t)),
        })
    }
}

// ---------------------------------------------------------------------------
// Writing

/// Accumulates encoded values. The first error (nesting too deep, an empty
/// struct field name, a payload over 2^31 - 1 bytes) is kept and returned
/// by finish.
#[derive(Default)]
pub struct Encoder {
    buf: Vec<u8>,
    depth: usize,
    err: Option<Error>,
}

impl Encoder {
    /// A new, empty encoder.
    pub fn new() -> Encoder {
        Encoder::default()
    }

    /// Records err unless an error is already recorded.
    pub fn fail(&mut self, err: Error) {
        if self.err.is_none() {
            self.err = Some(err);
        }
    }

    /// Writes a value of tag t with the given payload.
    pub fn fixed(&mut self, t: i16, payload: &[u8]) {
        if payload.len() > i32::MAX as usize {
            self.fail(Error::NonCanonical("payload larger than 2^31 - 1 bytes"));
            return;
        }
        self.buf.extend_from_slice(&t.to_le_bytes());
        self.buf.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(payload);
    }

    /// Writes bytes that are already a complete encoded value, unchecked.
    pub fn raw(&mut self, encoded: &[u8]) {
        self.buf.extend_from_slice(encoded);
    }

    /// Writes a composite of tag t with n elements, which f writes.
    pub fn composite(&mut self, t: i16, n: usize, f: impl FnOnce(&mut Encoder)) {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.fail(Error::TooDeep);
        }
        let start = self.buf.len();
        self.buf.extend_from_slice(&t.to_le_bytes());
        self.buf.extend_from_slice(&[0; 4]);
        self.buf.extend_from_slice(&(n as u32).to_le_bytes());
        if self.err.is_none() {
            f(self);
        }
        self.depth -= 1;
        let len = self.buf.len() - start - HEADER_SIZE;
        if len > i32::MAX as usize {
            self.fail(Error::NonCanonical("payload larger than 2^31 - 1 bytes"));
        }
        self.buf[start + 2..start + 6].copy_from_slice(&(len as u32).to_le_bytes());
    }

    /// Writes a struct field's name; its value must follow.
    pub fn field_name(&mut self, name: &str) {
        if name.is_empty() || name.len() > u16::MAX as usize {
            self.fail(Error::NonCanonical("struct field name of 0 or more than 65535 bytes"));
            return;
        }
        self.buf.extend_from_slice(&(name.len() as u16).to_le_bytes());
        self.buf.extend_from_slice(name.as_bytes());
    }

    /// Returns the encoded bytes, or the first error.
    pub fn finish(self) -> Result<Vec<u8>> {
        match self.err {
            Some(e) => Err(e),
            None => Ok(self.buf),
        }
    }
}

/// A type encodable as a value.
pub trait Encode {
    /// Writes the value to e.
    fn encode(&self, e: &mut Encoder);
}

/// Encodes v as one value.
pub fn encode<T: Encode + ?Sized>(v: &T) -> Result<Vec<u8>> {
    let mut e = Encoder::new();
    v.encode(&mut e);
    e.finish()
}

impl Encode for bool {
    fn encode(&self, e: &mut Encoder) {
        e.fixed(tag::BOOL, &[*self as u8]);
    }
}

impl Encode for f32 {
    fn encode(&self, e: &mut Encoder) {
        e.fixed(tag::F32, &self.to_bits().to_le_bytes());
    }
}

impl Encode for f64 {
    fn encode(&self, e: &mut Encoder) {
        e.fixed(tag::F64, &self.to_bits().to_le_bytes());
    }
}

impl Encode for str {
    fn encode(&self, e: &mut Encoder) {
        e.fixed(tag::STRING, self.as_bytes());
    }
}

impl Encode for String {
    fn encode(&self, e: &mut Encoder) {
        e.fixed(tag::STRING, self.as_bytes());
    }
}

impl Encode for Bytes {
    fn encode(&self, e: &mut Encoder) {
        e.fixed(tag::BYTES, &self.0);
    }
}

impl<T: Encode + ?Sized> Encode for &T {
    fn encode(&self, e: &mut Encoder) {
        (**self).encode(e)
    }
}

impl<T: Encode + ?Sized> Encode for Box<T> {
    fn encode(&self, e: &mut Encoder) {
        (**self).encode(e)
    }
}

impl<T: Encode> Encode for Option<T> {
    fn encode(&self, e: &mut Encoder) {
        match self {
            Some(v) => v.encode(e),
            None => e.fixed(tag::NIL, &[]),
        }
    }
}

impl<T: Encode> Encode for [T] {
    fn encode(&self, e: &mut Encoder) {
        e.composite(tag::LIST, self.len(), |e| {
            for v in self {
                v.encode(e);
            }
        });
    }
}

impl<T: Encode> Encode for Vec<T> {
    fn encode(&self, e: &mut Encoder) {
        self.as_slice().encode(e)
    }
}

/// BTreeMap's order is the canonical order for keys of one Rust integer
/// type, bool or String.
impl<K: Encode, V: Encode> Encode for BTreeMap<K, V> {
    fn encode(&self, e: &mut Encoder) {
        e.composite(tag::MAP, self.len(), |e| {
            for (k, v) in self {
                k.encode(e);
                v.encode(e);
            }
        });
    }
}

impl Encode for Value {
    fn encode(&self, e: &mut Encoder) {
        match self {
            Value::I8(v) => v.encode(e),
            Value::I16(v) => v.encode(e),
            Value::I32(v) => v.encode(e),
            Value::I64(v) => v.encode(e),
            Value::U8(v) => v.encode(e),
            Value::U16(v) => v.encode(e),
            Value::U32(v) => v.encode(e),
            Value::U64(v) => v.encode(e),
            Value::Bool(v) => v.encode(e),
            Value::String(v) => v.encode(e),
            Value::Bytes(v) => e.fixed(tag::BYTES, v),
            Value::F32(v) => v.encode(e),
            Value::F64(v) => v.encode(e),
            Value::List(v) => v.encode(e),
            Value::Map(entries) => {
                let mut sorted: Vec<&(Value, Value)> = entries.iter().collect();
                sorted.sort_by(|a, b| key_cmp(&a.0, &b.0));
                for w in sorted.windows(2) {
                    if key_cmp(&w[0].0, &w[1].0) == std::cmp::Ordering::Equal {
                        e.fail(Error::NonCanonical("duplicate map key"));
                    }
                }
                for (k, _) in &sorted {
                    if !(tag::I8..=tag::STRING).contains(&k.tag()) {
                        e.fail(Error::NonCanonical("map key of a non-key tag"));
                    }
                }
                e.composite(tag::MAP, sorted.len(), |e| {
                    for (k, v) in sorted {
                        k.encode(e);
                        v.encode(e);
                    }
                });
            }
            Value::Struct(fields) => {
                for (i, (name, _)) in fields.iter().enumerate() {
                    if fields[..i].iter().any(|(n, _)| n == name) {
                        e.fail(Error::NonCanonical("duplicate struct field name"));
                    }
                }
                e.composite(tag::STRUCT, fields.len(), |e| {
                    for (name, v) in fields {
                        e.field_name(name);
                        v.encode(e);
                    }
                });
            }
            Value::Nil => e.fixed(tag::NIL, &[]),
        }
    }
}

/// Builds a Struct field by field, in order, without a Rust type.
pub struct StructBuilder {
    fields: Vec<(String, Value)>,
}

impl StructBuilder {
    /// An empty struct.
    pub fn new() -> StructBuilder {
        StructBuilder { fields: Vec::new() }
    }

    /// Appends a field.
    pub fn field(mut self, name: &str, v: Value) -> StructBuilder {
        self.fields.push((name.to_string(), v));
        self
    }

    /// The struct as a Value.
    pub fn build(self) -> Value {
        Value::Struct(self.fields)
    }
}

impl Default for StructBuilder {
    fn default() -> Self {
        StructBuilder::new()
    }
}

/// Implements Encode and Decode for a struct with named fields, each
/// encoded under the given name, in the order listed (declaration order is
/// the canonical order). Decoding matches fields by name, ignores unknown
/// ones and leaves missing ones at their Default value, so the struct must
/// implement Default:
///
/// ```ignore
/// #[derive(Default)]
/// struct Address { city: String, zip: Option<String> }
/// aspect_guest::abi_struct!(Address { city: "city", zip: "zip" });
/// ```
#[macro_export]
macro_rules! abi_struct {
    ($ty:ty { $($field:ident : $name:expr),* $(,)? }) => {
        impl $crate::Encode for $ty {
            fn encode(&self, e: &mut $crate::Encoder) {
                let n = 0usize $(+ { let _ = stringify!($field); 1 })*;
                e.composite($crate::tag::STRUCT, n, |e| {
                    $(
                        e.field_name($name);
                        $crate::Encode::encode(&self.$field, e);
                    )*
                });
            }
        }
        impl $crate::Decode for $ty {
            fn decode_tagged(t: i16, p: &[u8], depth: usize) -> $crate::Result<Self> {
                let mut out = <$ty as ::core::default::Default>::default();
                if t == $crate::tag::NIL && p.is_empty() {
                    return Ok(out);
                }
                if t != $crate::tag::STRUCT {
                    return Err($crate::Error::TypeMismatch { want: stringify!($ty), tag: t });
                }
                $crate::struct_fields(p, depth, |name, vt, vp| {
                    $(
                        if name == $name {
                            out.$field = $crate::Decode::decode_tagged(vt, vp, depth + 1)?;
                            return Ok(());
                        }
                    )*
                    // An unknown field is ignored, but must be well formed.
                    <$crate::Value as $crate::Decode>::decode_tagged(vt, vp, depth + 1).map(|_| ())
                })?;
                Ok(out)
            }
        }
    };
}

// ---------------------------------------------------------------------------
// HashMap and arrays. They come after the rest of the codec: placed beside
// Vec and BTreeMap, they changed the bytes rustc 1.63 builds for the Rust
// fixtures (conformance/fixtures/rust), which use neither.

/// A HashMap decodes as a BTreeMap does (every Map key tag is of a type
/// with an order), then takes its entries.
impl<K: Decode + Ord + Eq + Hash, V: Decode, S: BuildHasher + Default> Decode for HashMap<K, V, S> {
    fn decode_tagged(t: i16, p: &[u8], depth: usize) -> Result<Self> {
        if t != tag::MAP && t != tag::NIL {
            return Err(mismatch(t, p, "HashMap"));
        }
        Ok(BTreeMap::<K, V>::decode_tagged(t, p, depth)?.into_iter().collect())
    }
}

/// An array decodes from a List of exactly N elements, as the Go package
/// abi decodes into a Go array; another count (Nil is an empty List here)
/// is a type mismatch.
impl<T: Decode, const N: usize> Decode for [T; N] {
    fn decode_tagged(t: i16, p: &[u8], depth: usize) -> Result<Self> {
        if t != tag::LIST && t != tag::NIL {
            return Err(mismatch(t, p, "array"));
        }
        let v = Vec::<T>::decode_tagged(t, p, depth)?;
        v.try_into().map_err(|_| Error::TypeMismatch { want: "array", tag: t })
    }
}

/// A HashMap encodes as its BTreeMap would: its keys sorted, the
/// canonical order for keys of one Rust integer type, bool or String.
impl<K: Encode + Ord, V: Encode, S> Encode for HashMap<K, V, S> {
    fn encode(&self, e: &mut Encoder) {
        let mut entries: Vec<(&K, &V)> = self.iter().collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
        e.composite(tag::MAP, entries.len(), |e| {
            for (k, v) in entries {
                k.encode(e);
                v.encode(e);
            }
        });
    }
}

/// An array encodes as a List, as a slice does (`[u8; N]` too: a List of
/// Uint8; use Bytes for a ByteArray).
impl<T: Encode, const N: usize> Encode for [T; N] {
    fn encode(&self, e: &mut Encoder) {
        self.as_slice().encode(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    fn round_trip(v: &Value) -> Value {
        let b = encode(v).unwrap();
        let d: Value = decode(&b).unwrap();
        assert_eq!(encode(&d).unwrap(), b);
        d
    }

    #[test]
    fn format_examples() {
        // abi/FORMAT.md, section 6.
        assert_eq!(encode(&5i32).unwrap(), hex("0300 04000000 05000000"));
        assert_eq!(encode(&true).unwrap(), hex("0900 01000000 01"));
        assert_eq!(encode("hi").unwrap(), hex("0a00 02000000 6869"));
        assert_eq!(encode(&vec![1u8, 2]).unwrap(), hex("0e00 12000000 02000000 0500 01000000 01 0500 01000000 02"));
        let mut m = BTreeMap::new();
        m.insert("a".to_string(), true);
        assert_eq!(encode(&m).unwrap(), hex("0f00 12000000 01000000 0a00 01000000 61 0900 01000000 01"));
        let s = StructBuilder::new().field("x", Value::I8(1)).build();
        assert_eq!(encode(&s).unwrap(), hex("1000 0e000000 01000000 0100 78 0100 01000000 01"));
        assert_eq!(encode(&Value::Nil).unwrap(), hex("1100 00000000"));
        assert_eq!(encode(&Option::<i8>::None).unwrap(), hex("1100 00000000"));
        assert_eq!(encode(&Bytes(vec![7])).unwrap(), hex("0b00 01000000 07"));
    }

    #[test]
    fn every_tag_round_trips() {
        let v = Value::List(vec![
            Value::I8(-1),
            Value::I16(-300),
            Value::I32(i32::MIN),
            Value::I64(i64::MAX),
            Value::U8(255),
            Value::U16(65535),
            Value::U32(u32::MAX),
            Value::U64(u64::MAX),
            Value::Bool(false),
            Value::str("héllo ✓"),
            Value::Bytes(vec![0, 255]),
            Value::F32(f32::from_bits(0x7fc0_0001)),
            Value::F64(f64::from_bits(0x7ff8_0000_0000_0001)),
            Value::Map(vec![(Value::str("b"), Value::Nil), (Value::I8(3), Value::Nil), (Value::Bool(true), Value::Nil)]),
            StructBuilder::new().field("z", Value::Nil).field("a", Value::I64(1)).build(),
            Value::Nil,
        ]);
        let d = round_trip(&v);
        // The encoder sorted the map by key tag, then key.
        if let Value::List(items) = &d {
            assert_eq!(items[13], Value::Map(vec![(Value::I8(3), Value::Nil), (Value::Bool(true), Value::Nil), (Value::str("b"), Value::Nil)]));
            if let Value::F32(f) = items[11] {
                assert_eq!(f.to_bits(), 0x7fc0_0001, "NaN payload kept");
            }
        } else {
            panic!("not a list");
        }
    }

    #[test]
    fn integer_conversions() {
        let b = encode(&-128i64).unwrap();
        assert_eq!(decode::<i8>(&b), Ok(-128));
        assert_eq!(decode::<u8>(&b), Err(Error::Overflow { want: "u8" }));
        assert_eq!(decode::<i8>(&encode(&128u64).unwrap()), Err(Error::Overflow { want: "i8" }));
        assert_eq!(decode::<u64>(&encode(&7i8).unwrap()), Ok(7));
        assert_eq!(decode::<i32>(&encode("x").unwrap()), Err(Error::TypeMismatch { want: "i32", tag: tag::STRING }));
    }

    #[test]
    fn float_conversions_match_the_hardware() {
        let f32s: [u32; 12] = [0, 0x8000_0000, 1, 0x007f_ffff, 0x0080_0000, 0x3fc0_0000, 0x7f7f_ffff, 0xff7f_ffff, 0x7f80_0000, 0xff80_0000, 0x8000_0001, 0x0040_0000];
        for b in f32s {
            let want = (f32::from_bits(b) as f64).to_bits();
            assert_eq!(f32_to_f64(b), want, "{:#x}", b);
            assert_eq!(f64_to_f32_exact(want), Some(b), "{:#x} back", want);
        }
        for v in [0.1f64, 1e300, 1e-300, f64::MIN_POSITIVE, 1.0 + f64::EPSILON, 2f64.powi(-150)] {
            assert_eq!(f64_to_f32_exact(v.to_bits()), None, "{} is not a binary32", v);
        }
        assert_eq!(f64_to_f32_exact(2f64.powi(-149).to_bits()), Some(1));
        assert!(f32::from_bits(f64_to_f32_exact(f64::NAN.to_bits()).unwrap()).is_nan());
        assert!(f64::from_bits(f32_to_f64(0x7fc0_0001)).is_nan());
    }

    #[test]
    fn typed_structs() {
        #[derive(Default, Debug, PartialEq)]
        struct Address {
            city: String,
            zip: Option<String>,
        }
        crate::abi_struct!(Address { city: "city", zip: "zip" });
        let a = Address { city: "Paris".into(), zip: None };
        let b = encode(&a).unwrap();
        assert_eq!(decode::<Address>(&b), Ok(a));
        // Unknown fields are ignored, missing ones keep their default.
        let other = StructBuilder::new().field("x", Value::I8(1)).field("zip", Value::str("75")).build();
        assert_eq!(decode::<Address>(&encode(&other).unwrap()), Ok(Address { city: String::new(), zip: Some("75".into()) }));
    }

    #[test]
    fn hash_maps() {
        // Encoded in the canonical order, whatever the HashMap's order: the
        // bytes of the BTreeMap of the same entries.
        let mut h: HashMap<String, i64> = HashMap::new();
        let mut b = BTreeMap::new();
        for (i, k) in ["zeta", "a", "mid", "", "b", "aa", "\u{e9}", "Z"].iter().enumerate() {
            h.insert(k.to_string(), i as i64 - 3);
            b.insert(k.to_string(), i as i64 - 3);
        }
        let enc = encode(&h).unwrap();
        assert_eq!(enc, encode(&b).unwrap());
        assert_eq!(decode::<HashMap<String, i64>>(&enc).unwrap(), h);
        let mut n: HashMap<u32, bool> = HashMap::new();
        for k in [7u32, 0, u32::MAX, 300, 1] {
            n.insert(k, k % 2 == 0);
        }
        let enc = encode(&n).unwrap();
        assert_eq!(enc, encode(&n.iter().map(|(k, v)| (*k, *v)).collect::<BTreeMap<_, _>>()).unwrap());
        assert_eq!(decode::<HashMap<u32, bool>>(&enc).unwrap(), n);
        // abi/FORMAT.md's example, and Nil as an empty map.
        let m: HashMap<String, bool> = decode(&hex("0f00 12000000 01000000 0a00 01000000 61 0900 01000000 01")).unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(m["a"], true);
        assert!(decode::<HashMap<String, bool>>(&hex("1100 00000000")).unwrap().is_empty());
        // The decoder rules hold as for BTreeMap: keys out of order, and a
        // List is no map.
        let unsorted = hex("0f00 20000000 02000000 0a00 01000000 62 0900 01000000 01 0a00 01000000 61 0900 01000000 01");
        assert_eq!(decode::<HashMap<String, bool>>(&unsorted), Err(Error::NonCanonical("map keys out of order or duplicated")));
        assert_eq!(decode::<BTreeMap<String, bool>>(&unsorted), Err(Error::NonCanonical("map keys out of order or duplicated")));
        assert_eq!(decode::<HashMap<u8, u8>>(&encode(&vec![1u8]).unwrap()), Err(Error::TypeMismatch { want: "HashMap", tag: tag::LIST }));
    }

    #[test]
    fn arrays() {
        let a = [3i32, -1, 7];
        let enc = encode(&a).unwrap();
        assert_eq!(enc, encode(&a.to_vec()).unwrap());
        assert_eq!(decode::<[i32; 3]>(&enc), Ok(a));
        // Elements convert as a Vec's do; nested arrays.
        assert_eq!(decode::<[i64; 3]>(&enc), Ok([3, -1, 7]));
        let nested = [[1u8, 2], [3, 4]];
        assert_eq!(decode::<[[u8; 2]; 2]>(&encode(&nested).unwrap()), Ok(nested));
        // Another count is a type mismatch, as for a Go array; so is Nil,
        // an empty List, unless the array is empty.
        assert_eq!(decode::<[i32; 2]>(&enc), Err(Error::TypeMismatch { want: "array", tag: tag::LIST }));
        assert_eq!(decode::<[i32; 4]>(&enc), Err(Error::TypeMismatch { want: "array", tag: tag::LIST }));
        assert_eq!(decode::<[i32; 2]>(&hex("1100 00000000")), Err(Error::TypeMismatch { want: "array", tag: tag::NIL }));
        assert_eq!(decode::<[i32; 0]>(&hex("1100 00000000")), Ok([]));
        assert_eq!(decode::<[u8; 1]>(&encode(&Bytes(vec![1])).unwrap()), Err(Error::TypeMismatch { want: "array", tag: tag::BYTES }));
        // A malformed element is reported as such.
        assert_eq!(decode::<[bool; 1]>(&hex("0e00 0b000000 01000000 0900 01000000 02")), Err(Error::InvalidBool(2)));
        assert_eq!(decode::<[i8; 1]>(&hex("0e00 0b000000 01000000 0100 01000000")), Err(Error::Truncated));
    }

    #[test]
    fn decoder_rules() {
        let bad: &[(&str, Error)] = &[
            ("0300 0400", Error::Truncated),                                      // rule 1
            ("0300 ffffffff", Error::InvalidLength),                              // negative length
            ("0300 04000000 0500", Error::Truncated),                             // rule 2
            ("0300 02000000 0500", Error::InvalidLength),                         // rule 3
            ("1100 01000000 00", Error::InvalidLength),                           // rule 3, Nil
            ("0900 01000000 02", Error::InvalidBool(2)),                          // rule 4
            ("0000 00000000", Error::UnknownTag(0)),                              // rule 5
            ("1200 00000000", Error::UnknownTag(18)),                             // rule 5
            ("0e00 0a000000 01000000 1100 00000000 00", Error::InvalidLength),    // rule 6, left over
            ("0e00 04000000 02000000", Error::InvalidLength),                     // rule 6, count
            ("0f00 04000000 01000000", Error::InvalidLength),                     // rule 6, count of a map
            ("0f00 10000000 01000000 1100 00000000 1100 00000000", Error::NonCanonical("map key of a non-key tag")),
            ("0f00 1e000000 02000000 0a00 01000000 62 1100 00000000 0a00 01000000 61 1100 00000000", Error::NonCanonical("map keys out of order or duplicated")),
            ("0f00 1e000000 02000000 0a00 01000000 61 1100 00000000 0a00 01000000 61 1100 00000000", Error::NonCanonical("map keys out of order or duplicated")),
            ("1000 0c000000 01000000 0000 1100 00000000", Error::NonCanonical("empty struct field name")),
            ("1000 16000000 02000000 0100 61 1100 00000000 0100 61 1100 00000000", Error::NonCanonical("duplicate struct field name")),
        ];
        for (h, want) in bad {
            assert_eq!(decode::<Value>(&hex(h)).as_ref(), Err(want), "{}", h);
        }
        // A value followed by more bytes is not one value.
        assert_eq!(decode::<Value>(&hex("1100 00000000 00")), Err(Error::InvalidLength));
    }

    #[test]
    fn depth_limit() {
        let mut v = Value::I8(1);
        for _ in 0..MAX_DEPTH {
            v = Value::List(vec![v]);
        }
        let b = encode(&v).unwrap();
        assert!(decode::<Value>(&b).is_ok(), "64 levels");
        let deeper = Value::List(vec![v]);
        assert_eq!(encode(&deeper), Err(Error::TooDeep));
        // Build 65 levels by hand: each level is a list of one element.
        let mut b = b;
        let mut outer = Vec::new();
        outer.extend_from_slice(&tag::LIST.to_le_bytes());
        outer.extend_from_slice(&((b.len() + 4) as u32).to_le_bytes());
        outer.extend_from_slice(&1u32.to_le_bytes());
        outer.append(&mut b);
        assert_eq!(decode::<Value>(&outer), Err(Error::TooDeep));
        assert_eq!(decode::<Vec<Value>>(&outer), Err(Error::TooDeep));
    }

    #[test]
    fn encoder_rejects() {
        let dup = Value::Struct(vec![("a".into(), Value::Nil), ("a".into(), Value::Nil)]);
        assert!(encode(&dup).is_err());
        assert!(encode(&Value::Struct(vec![(String::new(), Value::Nil)])).is_err());
        assert!(encode(&Value::Map(vec![(Value::Nil, Value::Nil)])).is_err());
        assert!(encode(&Value::Map(vec![(Value::I8(1), Value::Nil), (Value::I8(1), Value::Nil)])).is_err());
    }
}
