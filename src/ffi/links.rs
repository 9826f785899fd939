//! Links (CONTRACT.md §4, §9): create, update, find, the balancer's views, links info.

use std::ffi::{c_char, c_int};

use log::warn;

use super::boundary::ffi_boundary;
use super::cast::{malloc_addrs, malloc_str, str_in, valid_addr, write_out};
use super::nets::{original, read_view};
use crate::abi::{dap_stream_node_addr_t, DAP_NET_ID_INVALID};
use crate::actor::api::{self, submit, Mode};
use crate::core::addr::NodeAddr;
use crate::core::uplink_host::{check_host, HostError};
use crate::core::view::{NetLinks, Snapshot};
use crate::core::Op;

/// Create the link if needed, give it a client, associate `net_id` (unless `DAP_NET_ID_INVALID`), and
/// stamp the address into the net's hot list. 0; -1 own address; -2 unknown net or net already
/// associated; -3 not initialised; -4 the SDK could not make a client; -5 `addr` NULL or 0.
#[no_mangle]
pub unsafe extern "C" fn dap_link_manager_link_create(addr: *mut dap_stream_node_addr_t, net_id: u64) -> c_int {
    ffi_boundary!("dap_link_manager_link_create", -3, {
        // SAFETY: NULL or a readable address (C contract).
        let Some(a) = (unsafe { valid_addr(addr) }) else {
            warn!("[LM-ERROR] code=-5 link_create: address NULL or zero");
            return -5;
        };
        original("link_create", Op::LinkCreate { addr: a, net: net_id }, -3)
    })
}

/// Validate (on this thread) and queue an uplink address change, applied on the library thread after
/// the current callback returns. 0 queued; -1 `addr` NULL/0 or not initialised; -2 `host` NULL, `port`
/// 0 or host "::"; -6 host does not resolve or is loopback/any/broadcast; -7 out of memory / queue full.
#[no_mangle]
pub unsafe extern "C" fn dap_link_manager_link_update(
    addr: *mut dap_stream_node_addr_t,
    host: *const c_char,
    port: u16,
) -> c_int {
    ffi_boundary!("dap_link_manager_link_update", -7, {
        // SAFETY: NULL or readable (C contract).
        match unsafe { link_update_op(addr, host, port) } {
            Ok(op) => match submit(op, Mode::Queue) {
                Ok(_) => 0,
                Err(crate::actor::LmError::NotInitialized) => -1,
                Err(_) => -7,
            },
            Err(rc) => rc,
        }
    })
}

/// Validate `link_update`'s arguments into an op, or the original error code.
///
/// # Safety
/// `addr` NULL or readable; `host` NULL or a C string.
pub(crate) unsafe fn link_update_op(
    addr: *mut dap_stream_node_addr_t,
    host: *const c_char,
    port: u16,
) -> Result<Op, c_int> {
    // SAFETY: forwarded contract.
    let Some(a) = (unsafe { valid_addr(addr) }) else {
        warn!("[LM-ERROR] code=-1 link_update: address NULL or zero");
        return Err(-1);
    };
    // SAFETY: forwarded contract.
    let Some(h) = (unsafe { str_in(host) }) else {
        warn!("[LM-ERROR] code=-2 link_update {}: host NULL or not text", NodeAddr(a));
        return Err(-2);
    };
    let allow_loopback = api::with_runtime(|rt| rt.cfg.allow_loopback).unwrap_or(false);
    match check_host(h, port, allow_loopback) {
        Ok(()) => Ok(Op::LinkUpdate { addr: a, host: h.into(), port }),
        Err(HostError::Invalid) => {
            warn!("[LM-ERROR] code=-2 link_update {}: bad host {h:?} or port {port}", NodeAddr(a));
            Err(-2)
        }
        Err(HostError::Unusable) => {
            warn!("[LM-ERROR] code=-6 link_update {}: host {h:?} does not resolve to a usable address", NodeAddr(a));
            Err(-6)
        }
    }
}

/// The link exists and `net_id` is among its nets. Never waits.
#[no_mangle]
pub unsafe extern "C" fn dap_link_manager_link_find(addr: *mut dap_stream_node_addr_t, net_id: u64) -> bool {
    ffi_boundary!("dap_link_manager_link_find", false, {
        // SAFETY: NULL or readable.
        let Some(a) = (unsafe { valid_addr(addr) }) else { return false };
        read_view(false, |v| v.link_find(a, net_id))
    })
}

/// The link exists and its uplink is ESTABLISHED. Never waits.
#[no_mangle]
pub unsafe extern "C" fn dap_link_manager_link_is_established(addr: *mut dap_stream_node_addr_t) -> bool {
    ffi_boundary!("dap_link_manager_link_is_established", false, {
        // SAFETY: NULL or readable.
        let Some(a) = (unsafe { valid_addr(addr) }) else { return false };
        read_view(false, |v| v.link_is_established(a))
    })
}

/// The net's links from the primary cluster's members (read live) classified by the view; None for an
/// unknown net.
pub(crate) fn net_links(v: &Snapshot, net_id: u64, established_only: bool) -> Option<NetLinks> {
    let net = v.net(net_id)?;
    let members = api::with_runtime(|rt| rt.sdk.cluster_members(net.clusters[0])).unwrap_or_default();
    Some(v.net_links(&members, established_only))
}

/// Members of the net's primary cluster that have a link: uplinks first `[0, *uplinks)`, then
/// downlinks. With `established_only`, uplinks not ESTABLISHED are left out. Unknown net: NULL, counts
/// untouched; else counts written and a `malloc`'d array (free it with `free()`), NULL when both are 0.
#[no_mangle]
pub unsafe extern "C" fn dap_link_manager_get_net_links_addrs(
    net_id: u64,
    uplinks: *mut usize,
    downlinks: *mut usize,
    established_only: bool,
) -> *mut dap_stream_node_addr_t {
    ffi_boundary!("dap_link_manager_get_net_links_addrs", std::ptr::null_mut(), {
        let Some(r) = read_view(None, |v| net_links(v, net_id, established_only)) else {
            return std::ptr::null_mut();
        };
        // SAFETY: NULL or writable out-parameters.
        unsafe {
            write_out(uplinks, r.uplinks);
            write_out(downlinks, r.downlinks);
        }
        malloc_addrs(&r.addrs)
    })
}

/// Recently dialed addresses of the net (hot list, 900 s cooling): a `malloc`'d array with `*count`
/// set (free it with `free()`), or NULL with `*count` untouched when there are none.
#[no_mangle]
pub unsafe extern "C" fn dap_link_manager_get_ignored_addrs(
    count: *mut usize,
    net_id: u64,
) -> *mut dap_stream_node_addr_t {
    ffi_boundary!("dap_link_manager_get_ignored_addrs", std::ptr::null_mut(), {
        let now = api::with_runtime(|rt| rt.clock.now_secs()).unwrap_or(0);
        let list = read_view(Vec::new(), |v| v.ignored_addrs(net_id, now));
        if list.is_empty() || net_id == DAP_NET_ID_INVALID {
            return std::ptr::null_mut();
        }
        // SAFETY: NULL or writable.
        unsafe { write_out(count, list.len()) };
        malloc_addrs(&list)
    })
}

/// JSON text of every link and net (address, direction, state, attempts, nets, cluster counts),
/// `malloc`'d and NUL-terminated: free it with `free()`. NULL before `init`.
#[no_mangle]
pub extern "C" fn dap_link_manager_get_links_info() -> *mut c_char {
    ffi_boundary!("dap_link_manager_get_links_info", std::ptr::null_mut(), {
        match api::view() {
            Ok(v) => malloc_str(&crate::core::report::links_json(&v)),
            Err(_) => std::ptr::null_mut(),
        }
    })
}
