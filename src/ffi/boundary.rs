//! The panic boundary: no unwind ever crosses into C.

/// Run an exported function's body; a panic is logged and turned into `$default`.
/// Placed inside each function so cbindgen still sees the signature (rustls-ffi `ffi_panic_boundary!`).
macro_rules! ffi_boundary {
    ($name:literal, $default:expr, $body:block) => {{
        match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| $body)) {
            Ok(v) => v,
            Err(_) => {
                ::log::error!("[LM-ERROR] code=internal {}: panic stopped at the C boundary", $name);
                $default
            }
        }
    }};
}

pub(crate) use ffi_boundary;
