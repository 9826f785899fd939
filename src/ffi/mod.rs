//! The C ABI: the only place with `#[no_mangle]`, one file per API area. Every body runs inside
//! `ffi_boundary!` (no unwind into C); pointer reads go through `cast`.

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
pub mod streams;
