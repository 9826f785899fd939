//! The C ABI: the only place with `#[no_mangle]`, one file per API area. Every body runs inside
//! `ffi_boundary!` (no unwind into C); pointer reads go through `cast`.
//!
//! # Safety (every `unsafe extern "C"` function here)
//! Each pointer argument is NULL or valid for reads (in) or writes (out) of its C type for the
//! duration of the call; strings are NUL-terminated. NULL is always detected and reported with the
//! function's documented error code. Nothing passed in is kept after the call returns.
#![allow(clippy::missing_safety_doc)]

#[cfg(feature = "sdk")]
pub mod async_api;
#[cfg(feature = "sdk")]
pub(crate) mod boundary;
pub mod cast;
#[cfg(feature = "sdk")]
pub mod channels;
#[cfg(feature = "sdk")]
pub mod lifecycle;
#[cfg(feature = "sdk")]
pub mod links;
#[cfg(feature = "sdk")]
pub mod nets;
#[cfg(feature = "sdk")]
pub mod result;
#[cfg(feature = "sdk")]
pub mod snapshot;
#[cfg(feature = "sdk")]
pub mod stats;
#[cfg(feature = "sdk")]
pub mod streams;
#[cfg(feature = "sdk")]
pub mod sync;
#[cfg(all(feature = "sdk", feature = "test-hooks"))]
pub mod test_hooks;
