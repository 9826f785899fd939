//! The panic boundary: no unwind ever crosses into C.

/// Run an exported function's body; a panic is logged and turned into `$default`.
/// Placed inside each function so cbindgen still sees the signature (rustls-ffi `ffi_panic_boundary!`).
macro_rules! ffi_boundary {
    ($name:literal, $default:expr, $body:block) => {{
        // Log lines of calls made before the first `init` reach the SDK log too.
        $crate::host::dap::install_logger();
        match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| $body)) {
            Ok(v) => v,
            Err(_) => {
                ::log::error!("[LM-ERROR] code=internal {}: panic stopped at the C boundary", $name);
                $default
            }
        }
    }};
}

/// `ffi_boundary!` for the functions that return a `dap_lm_result_t`: a panic becomes
/// DAP_LM_ERR_INTERNAL, and every non-OK result is logged here, in one place, with its name.
macro_rules! ffi_result {
    ($name:literal, $body:block) => {{
        let rc: ::std::ffi::c_int = $crate::ffi::boundary::ffi_boundary!(
            $name,
            $crate::ffi::result::code($crate::ffi::result::dap_lm_result::DAP_LM_ERR_INTERNAL),
            $body
        );
        $crate::ffi::result::log_result($name, rc);
        rc
    }};
}

pub(crate) use ffi_boundary;
pub(crate) use ffi_result;
