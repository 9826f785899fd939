//! `_sync` variants: through the mailbox with a deadline, so they see every earlier call of the same
//! thread (read-your-writes). Return a `dap_lm_result_t`; out-parameters are written only on success.
//! `timeout_ms` 0 means the configured default (`[link_manager] sync_timeout_ms`, 5000). Called from
//! inside a callback they run inline on the library thread instead of waiting.

use std::ffi::{c_char, c_int};
use std::time::Duration;

use super::boundary::ffi_result;
use super::cast::{malloc_addrs, valid_addr, write_out};
use super::links::{link_update_op, net_links};
use super::result::{code, dap_lm_result, dap_lm_result::*, err};
use super::snapshot::{
    dap_lm_link_snapshot, dap_lm_net_links, dap_lm_nets_snapshot, link_snapshot_of, nets_snapshot_of,
};
use crate::abi::{dap_cluster_t, dap_stream_node_addr_t};
use crate::actor::api::{self, submit, Mode};
use crate::core::view::Snapshot;
use crate::core::Op;
use crate::host::ClusterRef;

pub(crate) fn timeout(ms: u32) -> Option<Duration> {
    (ms > 0).then(|| Duration::from_millis(u64::from(ms)))
}

/// Named result of an operation's original code.
pub(crate) fn named(op: &str, rc: i32) -> dap_lm_result {
    match (op, rc) {
        (_, 0) => DAP_LM_OK,
        ("add_net", -3) | ("add_net_associate", -4) => DAP_LM_ERR_EXISTS,
        ("add_net_associate", -3) => DAP_LM_ERR_NOT_FOUND,
        ("link_create", -1) => DAP_LM_ERR_OWN_ADDRESS,
        ("link_create", -2) => DAP_LM_ERR_EXISTS,
        ("link_create", -4) => DAP_LM_ERR_NO_MEMORY,
        ("tick", _) => DAP_LM_OK,
        _ => DAP_LM_ERR_INTERNAL,
    }
}

/// `link_create`'s -2 means "unknown net" or "net already associated": the view tells which.
pub(crate) fn link_create_result(rc: i32, net_id: u64) -> dap_lm_result {
    if rc == -2 && !api::view().is_ok_and(|v| v.net(net_id).is_some()) {
        return DAP_LM_ERR_NOT_FOUND;
    }
    named("link_create", rc)
}

fn run(op: Op, timeout_ms: u32) -> c_int {
    let name = op.name();
    match submit(op, Mode::Wait(timeout(timeout_ms))) {
        Ok(rc) => code(named(name, rc)),
        Err(e) => err(e),
    }
}

fn query<R>(timeout_ms: u32, out: *mut R, f: impl FnOnce(&Snapshot) -> Option<R>) -> c_int {
    if out.is_null() {
        return code(DAP_LM_ERR_INVALID_ARGUMENT);
    }
    match api::view_sync(timeout(timeout_ms)) {
        Ok(v) => match f(&v) {
            Some(r) => {
                // SAFETY: checked non-NULL; the caller passes a writable out-parameter.
                unsafe { write_out(out, r) };
                code(DAP_LM_OK)
            }
            None => code(DAP_LM_ERR_NOT_FOUND),
        },
        Err(e) => err(e),
    }
}

/// `add_net`, waiting: OK, INVALID_ARGUMENT (id 0 / cluster NULL), EXISTS, NOT_INITIALIZED, TIMEOUT, ...
#[no_mangle]
pub extern "C" fn dap_link_manager_add_net_sync(
    net_id: u64,
    cluster: *mut dap_cluster_t,
    min_links: u32,
    timeout_ms: u32,
) -> c_int {
    ffi_result!("dap_link_manager_add_net_sync", {
        if net_id == 0 || cluster.is_null() {
            return code(DAP_LM_ERR_INVALID_ARGUMENT);
        }
        run(Op::AddNet { net: net_id, cluster: ClusterRef(cluster as usize), min_links }, timeout_ms)
    })
}

/// `add_net_associate`, waiting: OK, INVALID_ARGUMENT, NOT_FOUND (unknown net), EXISTS, ...
#[no_mangle]
pub extern "C" fn dap_link_manager_add_net_associate_sync(
    net_id: u64,
    cluster: *mut dap_cluster_t,
    timeout_ms: u32,
) -> c_int {
    ffi_result!("dap_link_manager_add_net_associate_sync", {
        if net_id == 0 || cluster.is_null() {
            return code(DAP_LM_ERR_INVALID_ARGUMENT);
        }
        run(Op::AddNetAssociate { net: net_id, cluster: ClusterRef(cluster as usize) }, timeout_ms)
    })
}

/// `remove_net`, waiting (unknown net: OK, nothing done).
#[no_mangle]
pub extern "C" fn dap_link_manager_remove_net_sync(net_id: u64, timeout_ms: u32) -> c_int {
    ffi_result!("dap_link_manager_remove_net_sync", { run(Op::RemoveNet(net_id), timeout_ms) })
}

/// `set_net_condition`, waiting (unknown net: OK, nothing done).
#[no_mangle]
pub extern "C" fn dap_link_manager_set_net_condition_sync(net_id: u64, active: bool, timeout_ms: u32) -> c_int {
    ffi_result!("dap_link_manager_set_net_condition_sync", {
        run(Op::SetNetCondition { net: net_id, on: active }, timeout_ms)
    })
}

/// `set_condition`, waiting until the library thread applied it.
#[no_mangle]
pub extern "C" fn dap_link_manager_set_condition_sync(active: bool, timeout_ms: u32) -> c_int {
    ffi_result!("dap_link_manager_set_condition_sync", {
        super::lifecycle::set_condition(active, Mode::Wait(timeout(timeout_ms)))
    })
}

/// `link_create`, waiting: OK, INVALID_ARGUMENT (NULL/0), OWN_ADDRESS, NOT_FOUND (unknown net),
/// EXISTS (net already associated), NO_MEMORY (no client), ...
#[no_mangle]
pub unsafe extern "C" fn dap_link_manager_link_create_sync(
    addr: *mut dap_stream_node_addr_t,
    net_id: u64,
    timeout_ms: u32,
) -> c_int {
    ffi_result!("dap_link_manager_link_create_sync", {
        // SAFETY: NULL or readable (C contract).
        let Some(a) = (unsafe { valid_addr(addr) }) else { return code(DAP_LM_ERR_INVALID_ARGUMENT) };
        match submit(Op::LinkCreate { addr: a, net: net_id }, Mode::Wait(timeout(timeout_ms))) {
            Ok(rc) => code(link_create_result(rc, net_id)),
            Err(e) => err(e),
        }
    })
}

/// `link_update`, waiting until applied: OK, INVALID_ARGUMENT (NULL address, host, port 0, "::"),
/// BAD_HOST (does not resolve / loopback / any / broadcast), ...
#[no_mangle]
pub unsafe extern "C" fn dap_link_manager_link_update_sync(
    addr: *mut dap_stream_node_addr_t,
    host: *const c_char,
    port: u16,
    timeout_ms: u32,
) -> c_int {
    ffi_result!("dap_link_manager_link_update_sync", {
        // SAFETY: NULL or valid (C contract).
        match unsafe { link_update_op(addr, host, port) } {
            Ok(op) => run(op, timeout_ms),
            Err(-6) => code(DAP_LM_ERR_BAD_HOST),
            Err(_) => code(DAP_LM_ERR_INVALID_ARGUMENT),
        }
    })
}

/// `stream_add`, waiting until applied: OK, INVALID_ARGUMENT, INACTIVE, NOT_INITIALIZED, ...
#[no_mangle]
pub unsafe extern "C" fn dap_link_manager_stream_add_sync(
    addr: *mut dap_stream_node_addr_t,
    uplink: bool,
    timeout_ms: u32,
) -> c_int {
    ffi_result!("dap_link_manager_stream_add_sync", {
        // SAFETY: NULL or readable.
        let Some(a) = (unsafe { valid_addr(addr) }) else { return code(DAP_LM_ERR_INVALID_ARGUMENT) };
        match api::with_runtime(|rt| rt.active.load(std::sync::atomic::Ordering::Acquire)) {
            None => code(DAP_LM_ERR_NOT_INITIALIZED),
            Some(false) => code(DAP_LM_ERR_INACTIVE),
            Some(true) => run(Op::StreamAdd { addr: a, uplink }, timeout_ms),
        }
    })
}

/// `stream_replace`, waiting until applied.
#[no_mangle]
pub unsafe extern "C" fn dap_link_manager_stream_replace_sync(
    addr: *mut dap_stream_node_addr_t,
    new_is_uplink: bool,
    timeout_ms: u32,
) -> c_int {
    ffi_result!("dap_link_manager_stream_replace_sync", {
        // SAFETY: NULL or readable.
        let Some(a) = (unsafe { valid_addr(addr) }) else { return code(DAP_LM_ERR_INVALID_ARGUMENT) };
        run(Op::StreamReplace { addr: a, uplink: new_is_uplink }, timeout_ms)
    })
}

/// `stream_delete`, waiting until applied.
#[no_mangle]
pub unsafe extern "C" fn dap_link_manager_stream_delete_sync(
    addr: *mut dap_stream_node_addr_t,
    timeout_ms: u32,
) -> c_int {
    ffi_result!("dap_link_manager_stream_delete_sync", {
        // SAFETY: NULL or readable.
        let Some(a) = (unsafe { valid_addr(addr) }) else { return code(DAP_LM_ERR_INVALID_ARGUMENT) };
        run(Op::StreamDelete { addr: a }, timeout_ms)
    })
}

/// `accounting_link_in_net`, waiting until applied.
#[no_mangle]
pub unsafe extern "C" fn dap_link_manager_accounting_link_in_net_sync(
    net_id: u64,
    addr: *mut dap_stream_node_addr_t,
    ok: bool,
    timeout_ms: u32,
) -> c_int {
    ffi_result!("dap_link_manager_accounting_link_in_net_sync", {
        // SAFETY: NULL or readable.
        let Some(a) = (unsafe { valid_addr(addr) }) else { return code(DAP_LM_ERR_INVALID_ARGUMENT) };
        run(Op::Accounting { net: net_id, addr: a, ok }, timeout_ms)
    })
}

/// Wait until everything this thread queued before has been applied and published.
#[no_mangle]
pub extern "C" fn dap_link_manager_sync(timeout_ms: u32) -> c_int {
    ffi_result!("dap_link_manager_sync", {
        match api::barrier(timeout(timeout_ms)) {
            Ok(_) => code(DAP_LM_OK),
            Err(e) => err(e),
        }
    })
}

/// The manager's active flag after every earlier call of this thread applied.
#[no_mangle]
pub unsafe extern "C" fn dap_link_manager_get_condition_sync(out: *mut bool, timeout_ms: u32) -> c_int {
    ffi_result!("dap_link_manager_get_condition_sync", { query(timeout_ms, out, |v| Some(v.active)) })
}

/// The net's active flag: NOT_FOUND for an unknown net.
#[no_mangle]
pub unsafe extern "C" fn dap_link_manager_get_net_condition_sync(
    net_id: u64,
    out: *mut bool,
    timeout_ms: u32,
) -> c_int {
    ffi_result!("dap_link_manager_get_net_condition_sync", {
        query(timeout_ms, out, |v| v.net(net_id).map(|n| n.active))
    })
}

/// `links_count`: NOT_FOUND for an unknown net.
#[no_mangle]
pub unsafe extern "C" fn dap_link_manager_links_count_sync(net_id: u64, out: *mut usize, timeout_ms: u32) -> c_int {
    ffi_result!("dap_link_manager_links_count_sync", {
        query(timeout_ms, out, |v| v.net(net_id).map(|_| v.links_count(net_id)))
    })
}

/// `required_links_count`: NOT_FOUND for an unknown net.
#[no_mangle]
pub unsafe extern "C" fn dap_link_manager_required_links_count_sync(
    net_id: u64,
    out: *mut usize,
    timeout_ms: u32,
) -> c_int {
    ffi_result!("dap_link_manager_required_links_count_sync", {
        query(timeout_ms, out, |v| v.net(net_id).map(|_| v.required_links_count(net_id)))
    })
}

/// `needed_links_count`: NOT_FOUND for an unknown net.
#[no_mangle]
pub unsafe extern "C" fn dap_link_manager_needed_links_count_sync(
    net_id: u64,
    out: *mut usize,
    timeout_ms: u32,
) -> c_int {
    ffi_result!("dap_link_manager_needed_links_count_sync", {
        query(timeout_ms, out, |v| v.net(net_id).map(|_| v.needed_links_count(net_id)))
    })
}

/// `established_uplinks_count`: NOT_FOUND for an unknown net.
#[no_mangle]
pub unsafe extern "C" fn dap_link_manager_established_uplinks_count_sync(
    net_id: u64,
    out: *mut usize,
    timeout_ms: u32,
) -> c_int {
    ffi_result!("dap_link_manager_established_uplinks_count_sync", {
        query(timeout_ms, out, |v| v.net(net_id).map(|_| v.established_uplinks_count(net_id)))
    })
}

/// `link_find`: `*out` true when the link exists and `net_id` is among its nets.
#[no_mangle]
pub unsafe extern "C" fn dap_link_manager_link_find_sync(
    addr: *mut dap_stream_node_addr_t,
    net_id: u64,
    out: *mut bool,
    timeout_ms: u32,
) -> c_int {
    ffi_result!("dap_link_manager_link_find_sync", {
        // SAFETY: NULL or readable.
        let Some(a) = (unsafe { valid_addr(addr) }) else { return code(DAP_LM_ERR_INVALID_ARGUMENT) };
        query(timeout_ms, out, |v| Some(v.link_find(a, net_id)))
    })
}

/// `link_is_established`.
#[no_mangle]
pub unsafe extern "C" fn dap_link_manager_link_is_established_sync(
    addr: *mut dap_stream_node_addr_t,
    out: *mut bool,
    timeout_ms: u32,
) -> c_int {
    ffi_result!("dap_link_manager_link_is_established_sync", {
        // SAFETY: NULL or readable.
        let Some(a) = (unsafe { valid_addr(addr) }) else { return code(DAP_LM_ERR_INVALID_ARGUMENT) };
        query(timeout_ms, out, |v| Some(v.link_is_established(a)))
    })
}

/// The net's links (uplinks first) as a `dap_lm_net_links_t` freed with `dap_lm_net_links_free`.
/// NOT_FOUND for an unknown net.
#[no_mangle]
pub unsafe extern "C" fn dap_link_manager_get_net_links_addrs_sync(
    net_id: u64,
    established_only: bool,
    out: *mut *mut dap_lm_net_links,
    timeout_ms: u32,
) -> c_int {
    ffi_result!("dap_link_manager_get_net_links_addrs_sync", {
        query(timeout_ms, out, |v| {
            net_links(v, net_id, established_only).map(|r| dap_lm_net_links::boxed(net_id, r, v.taken_ns))
        })
    })
}

/// The hot list of the net: `*out_addrs` a `malloc`'d array (free it with `free()`, NULL when empty)
/// and `*out_count`. NOT_FOUND for an unknown net.
#[no_mangle]
pub unsafe extern "C" fn dap_link_manager_get_ignored_addrs_sync(
    net_id: u64,
    out_addrs: *mut *mut dap_stream_node_addr_t,
    out_count: *mut usize,
    timeout_ms: u32,
) -> c_int {
    ffi_result!("dap_link_manager_get_ignored_addrs_sync", {
        if out_count.is_null() {
            return code(DAP_LM_ERR_INVALID_ARGUMENT);
        }
        let now = api::with_runtime(|rt| rt.clock.now_secs()).unwrap_or(0);
        let mut n = 0usize;
        let rc = query(timeout_ms, out_addrs, |v| {
            v.net(net_id)?;
            let list = v.ignored_addrs(net_id, now);
            n = list.len();
            Some(malloc_addrs(&list))
        });
        if rc == code(DAP_LM_OK) {
            // SAFETY: checked non-NULL.
            unsafe { write_out(out_count, n) };
        }
        rc
    })
}

/// A full copy of one link as of now (after this thread's earlier calls), freed with
/// `dap_lm_link_snapshot_free`. NOT_FOUND when there is no such link.
#[no_mangle]
pub unsafe extern "C" fn dap_link_manager_link_snapshot_sync(
    addr: *mut dap_stream_node_addr_t,
    out: *mut *mut dap_lm_link_snapshot,
    timeout_ms: u32,
) -> c_int {
    ffi_result!("dap_link_manager_link_snapshot_sync", {
        // SAFETY: NULL or readable.
        let Some(a) = (unsafe { valid_addr(addr) }) else { return code(DAP_LM_ERR_INVALID_ARGUMENT) };
        query(timeout_ms, out, |v| link_snapshot_of(v, a))
    })
}

/// Every net as of now, freed with `dap_lm_nets_snapshot_free`.
#[no_mangle]
pub unsafe extern "C" fn dap_link_manager_nets_snapshot_sync(
    out: *mut *mut dap_lm_nets_snapshot,
    timeout_ms: u32,
) -> c_int {
    ffi_result!("dap_link_manager_nets_snapshot_sync", { query(timeout_ms, out, |v| Some(nets_snapshot_of(v))) })
}
