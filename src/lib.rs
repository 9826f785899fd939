//! `dap_link_manager`: the DAP SDK link manager as a single-threaded actor behind the original C ABI.
//!
//! - [`core`]: the link manager state machine (no threads, driven by `Op`s, talks to the host traits).
//! - [`actor`]: the thread that owns the core, its priority mailbox, replies, snapshots and statistics.
//! - [`host`]: the SDK and node seen as traits; the DAP implementation (C imports) and a simulated one.
//! - [`ffi`]: every exported C function (the only place with `#[no_mangle]`).
//! - [`abi`]: `#[repr(C)]` mirrors of the C types, sizes asserted at compile time.
#![deny(unsafe_op_in_unsafe_fn)]

pub mod abi;
pub mod actor;
pub mod core;
pub mod ffi;
pub mod host;
