//! Stream events, accounting and cluster membership (CONTRACT.md §5-6). These report facts: called on
//! stream workers or under the cluster lock, they only enqueue, never block, and are never dropped.

use std::ffi::{c_int, c_void};

use log::warn;

use super::boundary::ffi_boundary;
use super::cast::valid_addr;
use crate::abi::{dap_cluster_member_t, dap_stream_node_addr_t};
use crate::actor::api::{self, submit, Mode};
use crate::core::Op;
use crate::host::ClusterRef;

/// A stream to `addr` appeared. 0 queued; -1 `addr` NULL/0, manager inactive or not initialised;
/// -2 out of memory.
#[no_mangle]
pub unsafe extern "C" fn dap_link_manager_stream_add(addr: *mut dap_stream_node_addr_t, uplink: bool) -> c_int {
    ffi_boundary!("dap_link_manager_stream_add", -2, {
        // SAFETY: NULL or readable (C contract).
        let Some(a) = (unsafe { valid_addr(addr) }) else {
            warn!("[LM-ERROR] code=-1 stream_add: address NULL or zero");
            return -1;
        };
        if !api::with_runtime(|rt| rt.active.load(std::sync::atomic::Ordering::Acquire)).unwrap_or(false) {
            warn!("[LM-ERROR] code=-1 stream_add: the link manager is inactive or not initialised");
            return -1;
        }
        match submit(Op::StreamAdd { addr: a, uplink }, Mode::Queue) {
            Ok(_) => 0,
            Err(_) => -1,
        }
    })
}

fn fact(name: &str, addr: *mut dap_stream_node_addr_t, make: impl FnOnce(u64) -> Op) {
    // SAFETY: NULL or readable (C contract of every caller).
    let Some(a) = (unsafe { valid_addr(addr) }) else {
        warn!("[LM-ERROR] {name}: address NULL or zero");
        return;
    };
    let _ = submit(make(a), Mode::Queue);
}

/// The stream to `addr` changed direction. Queued; applied only to a link in active clusters.
#[no_mangle]
pub unsafe extern "C" fn dap_link_manager_stream_replace(addr: *mut dap_stream_node_addr_t, new_is_uplink: bool) {
    ffi_boundary!("dap_link_manager_stream_replace", (), {
        fact("stream_replace", addr, |a| Op::StreamReplace { addr: a, uplink: new_is_uplink })
    })
}

/// The stream to `addr` is gone. Queued.
#[no_mangle]
pub unsafe extern "C" fn dap_link_manager_stream_delete(addr: *mut dap_stream_node_addr_t) {
    ffi_boundary!("dap_link_manager_stream_delete", (), {
        fact("stream_delete", addr, |a| Op::StreamDelete { addr: a })
    })
}

/// The peer `addr` was accounted (ANNOUNCE ok) or refused in `net_id`. Queued in the same class as
/// stream events, so they apply in issue order (FIX-ORDER). Unknown net: nothing.
#[no_mangle]
pub unsafe extern "C" fn dap_link_manager_accounting_link_in_net(
    net_id: u64,
    addr: *mut dap_stream_node_addr_t,
    ok: bool,
) {
    ffi_boundary!("dap_link_manager_accounting_link_in_net", (), {
        fact("accounting_link_in_net", addr, |a| Op::Accounting { net: net_id, addr: a, ok })
    })
}

fn member(
    name: &str,
    m: *mut dap_cluster_member_t,
    arg: Option<*mut c_void>,
    make: impl FnOnce(u64, ClusterRef) -> Op,
) {
    if m.is_null() {
        warn!("[LM-ERROR] {name}: member NULL");
        return;
    }
    // SAFETY: the cluster code passes a live member (it holds the cluster lock or just released it).
    let (addr, cluster) = unsafe { (std::ptr::read_unaligned(std::ptr::addr_of!((*m).addr)).uint64, (*m).cluster) };
    let cluster = arg.unwrap_or(cluster.cast());
    if addr == 0 || cluster.is_null() {
        warn!("[LM-ERROR] {name}: member without address or cluster");
        return;
    }
    let _ = submit(make(addr, ClusterRef(cluster as usize)), Mode::InPlace);
}

/// Members-add callback of a net's link cluster (cluster code, any thread): records the cluster in the
/// link's active clusters. Enqueue only (or applied in place when the library's own call caused it).
#[no_mangle]
pub unsafe extern "C" fn dap_link_manager_add_links_cluster(member_: *mut dap_cluster_member_t, _arg: *mut c_void) {
    ffi_boundary!("dap_link_manager_add_links_cluster", (), {
        member("add_links_cluster", member_, None, |addr, cluster| Op::ClusterJoined { addr, cluster })
    })
}

/// Members-delete callback of a net's link cluster, called with the cluster's lock held: enqueue only.
#[no_mangle]
pub unsafe extern "C" fn dap_link_manager_remove_links_cluster(member_: *mut dap_cluster_member_t, _arg: *mut c_void) {
    ffi_boundary!("dap_link_manager_remove_links_cluster", (), {
        member("remove_links_cluster", member_, None, |addr, cluster| Op::ClusterLeft { addr, cluster })
    })
}

/// Members-add callback of a static cluster; `cluster_arg` is that cluster. Creates the link (with a
/// client, no net) if needed and records the static cluster. Own address ignored.
#[no_mangle]
pub unsafe extern "C" fn dap_link_manager_add_static_links_cluster(
    member_: *mut dap_cluster_member_t,
    cluster_arg: *mut c_void,
) {
    ffi_boundary!("dap_link_manager_add_static_links_cluster", (), {
        member("add_static_links_cluster", member_, Some(cluster_arg), |addr, cluster| Op::StaticJoined {
            addr,
            cluster,
        })
    })
}

/// Members-delete callback of a static cluster (lock held): forgets it; a link left with no cluster
/// is deleted keeping its client alive.
#[no_mangle]
pub unsafe extern "C" fn dap_link_manager_remove_static_links_cluster(
    member_: *mut dap_cluster_member_t,
    cluster_arg: *mut c_void,
) {
    ffi_boundary!("dap_link_manager_remove_static_links_cluster", (), {
        member("remove_static_links_cluster", member_, Some(cluster_arg), |addr, cluster| Op::StaticLeft {
            addr,
            cluster,
        })
    })
}
