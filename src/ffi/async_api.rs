#![allow(non_camel_case_types)]
//! `_async` variants: the completion `cb(rc, arg)` is called exactly once with a `dap_lm_result_t`: on
//! the library thread after the request ran and the state was published, or, when the request is
//! refused at submission (bad argument, not initialised, queue full), at once on the calling thread
//! before the function returns. The function returns DAP_LM_OK when queued, else that same refusal.

use std::ffi::{c_char, c_int, c_void};

use super::boundary::ffi_result;
use super::cast::valid_addr;
use super::links::{link_update_op, net_links};
use super::result::{code, dap_lm_result::*, err};
use super::snapshot::{
    dap_lm_link_snapshot, dap_lm_link_snapshot_free, dap_lm_net_links, dap_lm_net_links_free, link_snapshot_of,
};
use super::sync::{link_create_result, named};
use crate::abi::{dap_cluster_t, dap_stream_node_addr_t};
use crate::actor::api::{self, submit, Mode};
use crate::actor::{LmError, Outcome};
use crate::core::Op;
use crate::host::ClusterRef;

/// Completion of an `_async` call: `rc` is a `dap_lm_result_t`.
pub type dap_lm_completion_cb_t = Option<unsafe extern "C" fn(rc: c_int, arg: *mut c_void)>;
/// Completion of `dap_link_manager_get_net_links_addrs_async`; `result` is NULL unless rc is OK and is
/// valid only during the call.
pub type dap_lm_net_links_cb_t =
    Option<unsafe extern "C" fn(rc: c_int, result: *const dap_lm_net_links, arg: *mut c_void)>;
/// Completion of `dap_link_manager_link_snapshot_async`; `snapshot` valid only during the call.
pub type dap_lm_link_snapshot_cb_t =
    Option<unsafe extern "C" fn(rc: c_int, snapshot: *const dap_lm_link_snapshot, arg: *mut c_void)>;

fn complete(cb: dap_lm_completion_cb_t, arg: usize, rc: c_int) {
    if let Some(f) = cb {
        // SAFETY: the caller's completion, with the caller's argument, called once.
        unsafe { f(rc, arg as *mut c_void) }
    }
}

fn refuse(cb: dap_lm_completion_cb_t, arg: *mut c_void, rc: c_int) -> c_int {
    complete(cb, arg as usize, rc);
    rc
}

fn run(op: Op, cb: dap_lm_completion_cb_t, arg: *mut c_void) -> c_int {
    let name = op.name();
    let created_in = match op {
        Op::LinkCreate { net, .. } => Some(net),
        _ => None,
    };
    let arg = arg as usize;
    let then = Box::new(move |o: Outcome| {
        let rc = match (o, created_in) {
            (Ok(rc), Some(net)) => code(link_create_result(rc, net)),
            (Ok(rc), None) => code(named(name, rc)),
            (Err(e), _) => err(e),
        };
        complete(cb, arg, rc);
    });
    match submit(op, Mode::Then(then)) {
        Ok(_) => code(DAP_LM_OK),
        Err(e) => err(e),
    }
}

macro_rules! addr_or_refuse {
    ($addr:expr, $cb:expr, $arg:expr) => {
        // SAFETY: NULL or readable (C contract).
        match unsafe { valid_addr($addr) } {
            Some(a) => a,
            None => return refuse($cb, $arg, code(DAP_LM_ERR_INVALID_ARGUMENT)),
        }
    };
}

/// `add_net`, completion with OK / EXISTS / ...
#[no_mangle]
pub extern "C" fn dap_link_manager_add_net_async(
    net_id: u64,
    cluster: *mut dap_cluster_t,
    min_links: u32,
    cb: dap_lm_completion_cb_t,
    arg: *mut c_void,
) -> c_int {
    ffi_result!("dap_link_manager_add_net_async", {
        if net_id == 0 || cluster.is_null() {
            return refuse(cb, arg, code(DAP_LM_ERR_INVALID_ARGUMENT));
        }
        run(Op::AddNet { net: net_id, cluster: ClusterRef(cluster as usize), min_links }, cb, arg)
    })
}

/// `add_net_associate`, completion with OK / NOT_FOUND / EXISTS / ...
#[no_mangle]
pub extern "C" fn dap_link_manager_add_net_associate_async(
    net_id: u64,
    cluster: *mut dap_cluster_t,
    cb: dap_lm_completion_cb_t,
    arg: *mut c_void,
) -> c_int {
    ffi_result!("dap_link_manager_add_net_associate_async", {
        if net_id == 0 || cluster.is_null() {
            return refuse(cb, arg, code(DAP_LM_ERR_INVALID_ARGUMENT));
        }
        run(Op::AddNetAssociate { net: net_id, cluster: ClusterRef(cluster as usize) }, cb, arg)
    })
}

/// `remove_net`.
#[no_mangle]
pub extern "C" fn dap_link_manager_remove_net_async(
    net_id: u64,
    cb: dap_lm_completion_cb_t,
    arg: *mut c_void,
) -> c_int {
    ffi_result!("dap_link_manager_remove_net_async", { run(Op::RemoveNet(net_id), cb, arg) })
}

/// `set_net_condition`.
#[no_mangle]
pub extern "C" fn dap_link_manager_set_net_condition_async(
    net_id: u64,
    active: bool,
    cb: dap_lm_completion_cb_t,
    arg: *mut c_void,
) -> c_int {
    ffi_result!("dap_link_manager_set_net_condition_async", {
        run(Op::SetNetCondition { net: net_id, on: active }, cb, arg)
    })
}

/// `set_condition` (the flag read by `get_condition` changes at once; the tick sees it when applied).
#[no_mangle]
pub extern "C" fn dap_link_manager_set_condition_async(
    active: bool,
    cb: dap_lm_completion_cb_t,
    arg: *mut c_void,
) -> c_int {
    ffi_result!("dap_link_manager_set_condition_async", {
        let arg_u = arg as usize;
        let then = Box::new(move |o: Outcome| complete(cb, arg_u, o.map_or_else(err, |_| code(DAP_LM_OK))));
        super::lifecycle::set_condition(active, Mode::Then(then))
    })
}

/// `link_create`, completion with OK / OWN_ADDRESS / NOT_FOUND (unknown net) / EXISTS / NO_MEMORY / ...
#[no_mangle]
pub unsafe extern "C" fn dap_link_manager_link_create_async(
    addr: *mut dap_stream_node_addr_t,
    net_id: u64,
    cb: dap_lm_completion_cb_t,
    arg: *mut c_void,
) -> c_int {
    ffi_result!("dap_link_manager_link_create_async", {
        let a = addr_or_refuse!(addr, cb, arg);
        run(Op::LinkCreate { addr: a, net: net_id }, cb, arg)
    })
}

/// `link_update` (host validated now, on this thread: INVALID_ARGUMENT / BAD_HOST are refusals).
#[no_mangle]
pub unsafe extern "C" fn dap_link_manager_link_update_async(
    addr: *mut dap_stream_node_addr_t,
    host: *const c_char,
    port: u16,
    cb: dap_lm_completion_cb_t,
    arg: *mut c_void,
) -> c_int {
    ffi_result!("dap_link_manager_link_update_async", {
        // SAFETY: NULL or valid (C contract).
        match unsafe { link_update_op(addr, host, port) } {
            Ok(op) => run(op, cb, arg),
            Err(-6) => refuse(cb, arg, code(DAP_LM_ERR_BAD_HOST)),
            Err(_) => refuse(cb, arg, code(DAP_LM_ERR_INVALID_ARGUMENT)),
        }
    })
}

/// `stream_add` (INACTIVE refusal while the manager is inactive).
#[no_mangle]
pub unsafe extern "C" fn dap_link_manager_stream_add_async(
    addr: *mut dap_stream_node_addr_t,
    uplink: bool,
    cb: dap_lm_completion_cb_t,
    arg: *mut c_void,
) -> c_int {
    ffi_result!("dap_link_manager_stream_add_async", {
        let a = addr_or_refuse!(addr, cb, arg);
        match api::with_runtime(|rt| rt.active.load(std::sync::atomic::Ordering::Acquire)) {
            None => refuse(cb, arg, err(LmError::NotInitialized)),
            Some(false) => refuse(cb, arg, code(DAP_LM_ERR_INACTIVE)),
            Some(true) => run(Op::StreamAdd { addr: a, uplink }, cb, arg),
        }
    })
}

/// `stream_replace`.
#[no_mangle]
pub unsafe extern "C" fn dap_link_manager_stream_replace_async(
    addr: *mut dap_stream_node_addr_t,
    new_is_uplink: bool,
    cb: dap_lm_completion_cb_t,
    arg: *mut c_void,
) -> c_int {
    ffi_result!("dap_link_manager_stream_replace_async", {
        let a = addr_or_refuse!(addr, cb, arg);
        run(Op::StreamReplace { addr: a, uplink: new_is_uplink }, cb, arg)
    })
}

/// `stream_delete`.
#[no_mangle]
pub unsafe extern "C" fn dap_link_manager_stream_delete_async(
    addr: *mut dap_stream_node_addr_t,
    cb: dap_lm_completion_cb_t,
    arg: *mut c_void,
) -> c_int {
    ffi_result!("dap_link_manager_stream_delete_async", {
        let a = addr_or_refuse!(addr, cb, arg);
        run(Op::StreamDelete { addr: a }, cb, arg)
    })
}

/// `accounting_link_in_net`.
#[no_mangle]
pub unsafe extern "C" fn dap_link_manager_accounting_link_in_net_async(
    net_id: u64,
    addr: *mut dap_stream_node_addr_t,
    ok: bool,
    cb: dap_lm_completion_cb_t,
    arg: *mut c_void,
) -> c_int {
    ffi_result!("dap_link_manager_accounting_link_in_net_async", {
        let a = addr_or_refuse!(addr, cb, arg);
        run(Op::Accounting { net: net_id, addr: a, ok }, cb, arg)
    })
}

/// The net's links, delivered to `cb` on the library thread after everything queued before was
/// applied; the result is valid during the call only. NOT_FOUND for an unknown net.
#[no_mangle]
pub extern "C" fn dap_link_manager_get_net_links_addrs_async(
    net_id: u64,
    established_only: bool,
    cb: dap_lm_net_links_cb_t,
    arg: *mut c_void,
) -> c_int {
    ffi_result!("dap_link_manager_get_net_links_addrs_async", {
        let arg = arg as usize;
        let deliver = move |rc: c_int, r: *mut dap_lm_net_links| {
            if let Some(f) = cb {
                // SAFETY: the caller's callback; `r` lives until freed right after.
                unsafe { f(rc, r, arg as *mut c_void) }
            }
            // SAFETY: made by boxed (or NULL), freed once.
            unsafe { dap_lm_net_links_free(r) };
        };
        let then = Box::new(move |o: Outcome| {
            if let Err(e) = o {
                return deliver(err(e), std::ptr::null_mut());
            }
            match api::view().ok().and_then(|v| {
                net_links(&v, net_id, established_only).map(|r| dap_lm_net_links::boxed(net_id, r, v.taken_ns))
            }) {
                Some(r) => deliver(code(DAP_LM_OK), r),
                None => deliver(code(DAP_LM_ERR_NOT_FOUND), std::ptr::null_mut()),
            }
        });
        match api::then_view(then) {
            Ok(_) => code(DAP_LM_OK),
            Err(e) => err(e),
        }
    })
}

/// A copy of one link delivered to `cb` on the library thread; valid during the call only.
#[no_mangle]
pub unsafe extern "C" fn dap_link_manager_link_snapshot_async(
    addr: *mut dap_stream_node_addr_t,
    cb: dap_lm_link_snapshot_cb_t,
    arg: *mut c_void,
) -> c_int {
    ffi_result!("dap_link_manager_link_snapshot_async", {
        let arg = arg as usize;
        let deliver = move |rc: c_int, s: *mut dap_lm_link_snapshot| {
            if let Some(f) = cb {
                // SAFETY: the caller's callback; `s` lives until freed right after.
                unsafe { f(rc, s, arg as *mut c_void) }
            }
            // SAFETY: made by link_snapshot_of (or NULL), freed once.
            unsafe { dap_lm_link_snapshot_free(s) };
        };
        // SAFETY: NULL or readable.
        let Some(a) = (unsafe { valid_addr(addr) }) else {
            deliver(code(DAP_LM_ERR_INVALID_ARGUMENT), std::ptr::null_mut());
            return code(DAP_LM_ERR_INVALID_ARGUMENT);
        };
        let then = Box::new(move |o: Outcome| {
            if let Err(e) = o {
                return deliver(err(e), std::ptr::null_mut());
            }
            match api::view().ok().and_then(|v| link_snapshot_of(&v, a)) {
                Some(s) => deliver(code(DAP_LM_OK), s),
                None => deliver(code(DAP_LM_ERR_NOT_FOUND), std::ptr::null_mut()),
            }
        });
        match api::then_view(then) {
            Ok(_) => code(DAP_LM_OK),
            Err(e) => err(e),
        }
    })
}
