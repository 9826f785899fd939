#![allow(non_camel_case_types)]
//! Result codes of the functions this library adds (the original functions keep their integers).

use std::ffi::{c_char, c_int};

use crate::actor::LmError;

/// Results of the `_sync`, `_async`, snapshot and stats functions. Never renumbered.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum dap_lm_result {
    DAP_LM_OK = 0,
    /// NULL pointer, zero address or net id, bad channel, ...
    DAP_LM_ERR_INVALID_ARGUMENT = 1,
    /// Called before `dap_link_manager_init` or after `dap_link_manager_deinit`.
    DAP_LM_ERR_NOT_INITIALIZED = 2,
    /// The manager shut down before the request ran.
    DAP_LM_ERR_SHUTTING_DOWN = 3,
    /// No answer before the deadline (the request may still run later).
    DAP_LM_ERR_TIMEOUT = 4,
    /// The request's queue was at capacity (backpressure); counted in the stats.
    DAP_LM_ERR_QUEUE_FULL = 5,
    /// The handler failed (a panic was caught); the manager goes on.
    DAP_LM_ERR_INTERNAL = 6,
    /// Unknown net or link.
    DAP_LM_ERR_NOT_FOUND = 7,
    /// Already there (net managed, cluster associated, net associated with the link).
    DAP_LM_ERR_EXISTS = 8,
    /// The address is this node's own.
    DAP_LM_ERR_OWN_ADDRESS = 9,
    /// The host does not resolve, or resolves to loopback/any/broadcast.
    DAP_LM_ERR_BAD_HOST = 10,
    DAP_LM_ERR_NO_MEMORY = 11,
    /// The manager is inactive (`set_condition(false)`).
    DAP_LM_ERR_INACTIVE = 12,
}
pub type dap_lm_result_t = dap_lm_result;

use dap_lm_result::*;

impl From<LmError> for dap_lm_result_t {
    fn from(e: LmError) -> Self {
        match e {
            LmError::InvalidArgument => DAP_LM_ERR_INVALID_ARGUMENT,
            LmError::NotInitialized => DAP_LM_ERR_NOT_INITIALIZED,
            LmError::ShuttingDown => DAP_LM_ERR_SHUTTING_DOWN,
            LmError::Timeout => DAP_LM_ERR_TIMEOUT,
            LmError::QueueFull => DAP_LM_ERR_QUEUE_FULL,
            LmError::Internal => DAP_LM_ERR_INTERNAL,
        }
    }
}

pub fn code(r: dap_lm_result_t) -> c_int {
    r as c_int
}

pub fn err(e: LmError) -> c_int {
    code(e.into())
}

/// A static, NUL-terminated description of a `dap_lm_result_t` value (never NULL, never freed).
#[no_mangle]
pub extern "C" fn dap_link_manager_strerror(result: c_int) -> *const c_char {
    let s: &'static std::ffi::CStr = match result {
        0 => c"ok",
        1 => c"invalid argument",
        2 => c"link manager not initialised",
        3 => c"link manager shutting down",
        4 => c"timed out",
        5 => c"queue full",
        6 => c"internal error",
        7 => c"not found",
        8 => c"already exists",
        9 => c"own address",
        10 => c"bad host",
        11 => c"out of memory",
        12 => c"link manager inactive",
        _ => c"unknown result code",
    };
    s.as_ptr()
}

/// Log a non-OK result of a new-API function (NOT_FOUND is an answer, logged at debug level).
pub fn log_result(name: &str, rc: c_int) {
    if rc == code(DAP_LM_OK) {
        return;
    }
    // SAFETY: strerror returns a static NUL-terminated string.
    let text = unsafe { std::ffi::CStr::from_ptr(dap_link_manager_strerror(rc)) }.to_string_lossy();
    if rc == code(DAP_LM_ERR_NOT_FOUND) {
        log::debug!("{name}: {text}");
    } else {
        log::warn!("[LM-ERROR] code={rc} {name}: {text}");
    }
}
