//! The aspect ABI (abi/FORMAT.md) for WebAssembly guests written in Rust,
//! built for `wasm32-unknown-unknown` with rustc alone (no dependencies):
//!
//! ```text
//! cargo build --release --target wasm32-unknown-unknown   # crate-type = ["cdylib"]
//! ```
//!
//! Linking this crate exports `allocate`. A guest function is exported with
//! `#[no_mangle] pub extern "C"` and takes one `u32` pointer per argument and
//! returns one `u32` pointer (0 for "no result"), or nothing:
//!
//! ```ignore
//! use aspect_guest::{arg, ret};
//!
//! #[no_mangle]
//! pub extern "C" fn greet(name: u32) -> u32 {
//!     ret(&format!("hello, {}", arg::<String>(name)))
//! }
//! ```
//!
//! Values are encoded by the [`Encode`] trait and decoded by [`Decode`]:
//! integers (`i8`…`u64`, each with its own tag), `bool`, `f32`, `f64`,
//! `String`/`&str`, [`Bytes`] (a ByteArray; `Vec<u8>` is a List of Uint8),
//! `Vec<T>`, slices and `[T; N]` (List), `BTreeMap<K, V>` and `HashMap<K, V>`
//! (Map, keys in canonical order), `Option<T>` (`None` is Nil), [`Value`]
//! (any value) and structs through [`abi_struct!`]. Decoding converts as the
//! Go package abi does: any integer tag into any integer type whose range
//! holds it, Float32 into `f64`, String and ByteArray into each other, Nil
//! into an empty `Vec`/map or `None`, a List into `[T; N]` of N elements.
//!
//! # Host functions
//!
//! Host functions are imported with the module and field the host
//! registered them under and the same pointer convention. [`put`] encodes
//! an argument; [`arg`] (or [`optional`], when the host may return no
//! result) decodes the result:
//!
//! ```ignore
//! #[link(wasm_import_module = "index")]
//! extern "C" {
//!     #[link_name = "test.hello"]
//!     fn hello(name: u32) -> u32;
//! }
//!
//! let greeting: String = aspect_guest::arg(unsafe { hello(aspect_guest::put("world")) });
//! ```
//!
//! # Memory ownership
//!
//! As in the Go guest library, every buffer the host can see is kept in an
//! arena until the export call that uses it ends: `allocate`'s buffers
//! (arguments, host function results) and [`put`]'s. [`ret`], [`ret_raw`]
//! and [`done`] end the call: they release the arena and keep only the new
//! result, until the next of them. So every export must end with exactly one
//! of them. Decoded values never borrow from the arena.
//!
//! # Errors
//!
//! [`arg`] and the other helpers stop the guest with `env.abort` when the
//! host breaks the ABI (a pointer that `allocate` did not return, a
//! malformed value, a value of another type): the host reports
//! `runtime.ErrAbort` with the message and the Rust file and line of the
//! call. [`abort`] does the same for the guest's own errors. A Rust panic
//! traps (`runtime.ErrTrap`) when built with `-C panic=abort`.

mod codec;

pub use codec::*;

use std::cell::RefCell;

thread_local! {
    /// Every buffer the host may read or write, by guest address.
    static ARENA: RefCell<Vec<Box<[u8]>>> = RefCell::new(Vec::new());
}

/// Keeps b until the arena is released and returns its address.
fn pin(b: Box<[u8]>) -> u32 {
    let ptr = b.as_ptr() as usize as u32;
    ARENA.with(|a| a.borrow_mut().push(b));
    ptr
}

/// Drops every buffer the host could see.
fn release() {
    ARENA.with(|a| a.borrow_mut().clear());
}

/// The ABI's allocator: `size` fresh zeroed bytes, kept until the end of
/// the export call they are for.
#[no_mangle]
pub extern "C" fn allocate(size: u32) -> u32 {
    // A zero-size box has a dangling address: always allocate a byte.
    pin(vec![0u8; (size as usize).max(1)].into_boxed_slice())
}

/// Calls f with the encoded value (header and payload) at `ptr`, which must
/// be a pointer `allocate` returned in this call, in place in the arena.
fn with_raw<R>(ptr: u32, f: impl FnOnce(&[u8]) -> R) -> Result<R> {
    ARENA.with(|a| {
        let a = a.borrow();
        let buf = a
            .iter()
            .rev()
            .find(|b| b.as_ptr() as usize as u32 == ptr)
            .ok_or_else(|| Error::Invalid(format!("pointer {:#x} was not returned by allocate in this call", ptr)))?;
        let (_, p, _) = split(buf).map_err(|e| Error::Invalid(format!("value at {:#x}: {}", ptr, e)))?;
        Ok(f(&buf[..HEADER_SIZE + p.len()]))
    })
}

/// The encoded value at `ptr` (an argument or a host function's result),
/// copied, not decoded. Aborts on a bad pointer or header.
#[track_caller]
pub fn raw(ptr: u32) -> Vec<u8> {
    match with_raw(ptr, |b| b.to_vec()) {
        Ok(b) => b,
        Err(e) => abort(&e.to_string()),
    }
}

/// The payload length in the header of the value at `ptr`, whose payload
/// is not decoded. Aborts on a bad pointer or header.
#[track_caller]
pub fn payload_len(ptr: u32) -> i32 {
    match with_raw(ptr, |b| (b.len() - HEADER_SIZE) as i32) {
        Ok(n) => n,
        Err(e) => abort(&e.to_string()),
    }
}

/// Decodes the value at `ptr` (an argument, or a host function's result)
/// into a T.
pub fn try_arg<T: Decode>(ptr: u32) -> Result<T> {
    with_raw(ptr, decode)?
}

/// Decodes the value at `ptr` into a T, aborting the guest if it cannot.
#[track_caller]
pub fn arg<T: Decode>(ptr: u32) -> T {
    match try_arg(ptr) {
        Ok(v) => v,
        Err(e) => abort(&format!("guest: decoding {}: {}", std::any::type_name::<T>(), e)),
    }
}

/// arg for a host function result that may be absent: None if `ptr` is 0
/// ("no result").
#[track_caller]
pub fn optional<T: Decode>(ptr: u32) -> Option<T> {
    if ptr == 0 {
        None
    } else {
        Some(arg(ptr))
    }
}

/// Encodes v, aborting the guest if it cannot be encoded.
#[track_caller]
fn encoded<T: Encode + ?Sized>(v: &T) -> Box<[u8]> {
    match encode(v) {
        Ok(b) => b.into_boxed_slice(),
        Err(e) => abort(&format!("guest: encoding: {}", e)),
    }
}

/// Encodes v for a host function argument and returns its pointer, valid
/// until the export call ends. Aborts if v cannot be encoded.
#[track_caller]
pub fn put<T: Encode + ?Sized>(v: &T) -> u32 {
    pin(encoded(v))
}

/// Encodes v as the export's result, ends the call (see Memory ownership)
/// and returns the result's pointer.
#[track_caller]
pub fn ret<T: Encode + ?Sized>(v: &T) -> u32 {
    let b = encoded(v);
    release();
    pin(b)
}

/// ret for a value that is already encoded; the bytes are copied, not
/// checked.
pub fn ret_raw(encoded: &[u8]) -> u32 {
    let b: Box<[u8]> = encoded.into();
    release();
    pin(if b.is_empty() { vec![0u8].into_boxed_slice() } else { b })
}

/// Ends a call that has no result (see Memory ownership). An export with a
/// `u32` result returns 0 after it for "no result".
pub fn done() {
    release();
}

#[cfg(target_arch = "wasm32")]
#[link(wasm_import_module = "env")]
extern "C" {
    #[link_name = "abort"]
    fn env_abort(msg: u32, file: u32, line: u32, column: u32);
}

#[cfg(not(target_arch = "wasm32"))]
unsafe fn env_abort(_: u32, _: u32, _: u32, _: u32) {}

/// Stops the guest: the host's call fails with runtime.ErrAbort, reporting
/// msg and the Rust file, line and column that called abort. It does not
/// return.
#[track_caller]
pub fn abort(msg: &str) -> ! {
    let loc = std::panic::Location::caller();
    unsafe { env_abort(as_string(msg), as_string(loc.file()), loc.line(), loc.column()) };
    // The host never returns from env.abort; if it does, stop anyway.
    panic!("guest: abort: {}", msg)
}

/// Lays s out as an AssemblyScript string, which env.abort takes: UTF-16LE
/// code units preceded by their byte length as a u32; the pointer is to
/// the first code unit.
fn as_string(s: &str) -> u32 {
    let units: Vec<u16> = s.encode_utf16().collect();
    let mut b = Vec::with_capacity(4 + 2 * units.len());
    b.extend_from_slice(&((2 * units.len()) as u32).to_le_bytes());
    for u in units {
        b.extend_from_slice(&u.to_le_bytes());
    }
    pin(b.into_boxed_slice()) + 4
}
