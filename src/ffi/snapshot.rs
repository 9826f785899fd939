//! Immutable snapshots handed to C: each owned by the caller and released with its own `*_free`
//! (which accepts NULL). Built from the published view; the non-`_sync` forms never wait.

use std::ffi::c_int;

use super::boundary::ffi_result;
use super::cast::{give_slice, take_slice, valid_addr, write_out};
use super::result::{code, dap_lm_result::*};
use crate::abi::{dap_cluster_t, dap_link_state, dap_stream_node_addr_t};
use crate::actor::api;
use crate::core::view::{NetLinks, Snapshot};
use crate::host::ClusterRef;

/// A full copy of one link.
#[repr(C)]
pub struct dap_lm_link_snapshot {
    pub addr: dap_stream_node_addr_t,
    pub is_uplink: bool,
    pub state: dap_link_state,
    pub attempts_count: u32,
    pub has_client: bool,
    pub stream_is_destroyed: bool,
    pub start_after: u64,
    pub es_uuid: u64,
    pub nets_count: usize,
    pub nets: *mut u64,
    pub active_clusters_count: usize,
    pub active_clusters: *mut *mut dap_cluster_t,
    pub static_clusters_count: usize,
    pub static_clusters: *mut *mut dap_cluster_t,
    /// When the view it was copied from was published (ns since the epoch, manager clock).
    pub snapshot_time_ns: u64,
}

/// One net in a [`dap_lm_nets_snapshot`].
#[repr(C)]
pub struct dap_lm_net_info {
    pub net_id: u64,
    pub active: bool,
    pub min_links: u32,
    pub links_count: usize,
    pub uplinks_cached: usize,
    pub needed_links: usize,
    pub established_uplinks: usize,
    /// Primary first.
    pub clusters_count: usize,
    pub clusters: *mut *mut dap_cluster_t,
}

/// Every managed net.
#[repr(C)]
pub struct dap_lm_nets_snapshot {
    pub count: usize,
    pub nets: *mut dap_lm_net_info,
    pub snapshot_time_ns: u64,
}

/// The links of one net (members of its primary cluster with a link): uplinks first.
#[repr(C)]
pub struct dap_lm_net_links {
    pub net_id: u64,
    pub uplinks_count: usize,
    pub downlinks_count: usize,
    /// `uplinks_count + downlinks_count` addresses; NULL when both are 0.
    pub addrs: *mut dap_stream_node_addr_t,
    pub snapshot_time_ns: u64,
}

fn clusters(c: &[ClusterRef]) -> (*mut *mut dap_cluster_t, usize) {
    give_slice(c.iter().map(|c| c.0 as *mut dap_cluster_t).collect())
}

pub(crate) fn link_snapshot_of(v: &Snapshot, addr: u64) -> Option<*mut dap_lm_link_snapshot> {
    let l = v.links.get(&addr)?;
    let (nets, nets_count) = give_slice(l.nets.to_vec());
    let (active_clusters, active_clusters_count) = clusters(&l.active_clusters);
    let (static_clusters, static_clusters_count) = clusters(&l.static_clusters);
    Some(Box::into_raw(Box::new(dap_lm_link_snapshot {
        addr: dap_stream_node_addr_t { uint64: addr },
        is_uplink: l.is_uplink,
        state: l.state,
        attempts_count: l.attempts,
        has_client: l.has_client,
        stream_is_destroyed: l.stream_is_destroyed,
        start_after: l.start_after,
        es_uuid: l.es_uuid,
        nets_count,
        nets,
        active_clusters_count,
        active_clusters,
        static_clusters_count,
        static_clusters,
        snapshot_time_ns: v.taken_ns,
    })))
}

pub(crate) fn nets_snapshot_of(v: &Snapshot) -> *mut dap_lm_nets_snapshot {
    let nets: Vec<dap_lm_net_info> = v
        .nets
        .iter()
        .map(|n| {
            let (clusters, clusters_count) = clusters(&n.clusters);
            dap_lm_net_info {
                net_id: n.id,
                active: n.active,
                min_links: n.min_links,
                links_count: n.links_count,
                uplinks_cached: n.uplinks_cached,
                needed_links: v.needed_links_count(n.id),
                established_uplinks: v.established_uplinks_count(n.id),
                clusters_count,
                clusters,
            }
        })
        .collect();
    let (nets, count) = give_slice(nets);
    Box::into_raw(Box::new(dap_lm_nets_snapshot { count, nets, snapshot_time_ns: v.taken_ns }))
}

impl dap_lm_net_links {
    pub(crate) fn boxed(net_id: u64, r: NetLinks, taken_ns: u64) -> *mut dap_lm_net_links {
        let addrs: Vec<dap_stream_node_addr_t> =
            r.addrs.iter().map(|a| dap_stream_node_addr_t { uint64: *a }).collect();
        let (addrs, _) = give_slice(addrs);
        Box::into_raw(Box::new(dap_lm_net_links {
            net_id,
            uplinks_count: r.uplinks,
            downlinks_count: r.downlinks,
            addrs,
            snapshot_time_ns: taken_ns,
        }))
    }
}

/// A copy of one link from the last published view (never waits): OK and `*out` set, NOT_FOUND,
/// INVALID_ARGUMENT, NOT_INITIALIZED. Free with `dap_lm_link_snapshot_free`.
#[no_mangle]
pub unsafe extern "C" fn dap_link_manager_link_snapshot(
    addr: *mut dap_stream_node_addr_t,
    out: *mut *mut dap_lm_link_snapshot,
) -> c_int {
    ffi_result!("dap_link_manager_link_snapshot", {
        // SAFETY: NULL or readable.
        let Some(a) = (unsafe { valid_addr(addr) }) else { return code(DAP_LM_ERR_INVALID_ARGUMENT) };
        if out.is_null() {
            return code(DAP_LM_ERR_INVALID_ARGUMENT);
        }
        let Ok(v) = api::view() else { return code(DAP_LM_ERR_NOT_INITIALIZED) };
        match link_snapshot_of(&v, a) {
            Some(s) => {
                // SAFETY: checked non-NULL.
                unsafe { write_out(out, s) };
                code(DAP_LM_OK)
            }
            None => code(DAP_LM_ERR_NOT_FOUND),
        }
    })
}

/// Every net from the last published view (never waits). Free with `dap_lm_nets_snapshot_free`.
#[no_mangle]
pub unsafe extern "C" fn dap_link_manager_nets_snapshot(out: *mut *mut dap_lm_nets_snapshot) -> c_int {
    ffi_result!("dap_link_manager_nets_snapshot", {
        if out.is_null() {
            return code(DAP_LM_ERR_INVALID_ARGUMENT);
        }
        let Ok(v) = api::view() else { return code(DAP_LM_ERR_NOT_INITIALIZED) };
        // SAFETY: checked non-NULL.
        unsafe { write_out(out, nets_snapshot_of(&v)) };
        code(DAP_LM_OK)
    })
}

/// Free a link snapshot (NULL accepted).
#[no_mangle]
pub unsafe extern "C" fn dap_lm_link_snapshot_free(s: *mut dap_lm_link_snapshot) {
    if s.is_null() {
        return;
    }
    // SAFETY: made by link_snapshot_of (Box + give_slice), freed once by the caller's contract.
    unsafe {
        let s = Box::from_raw(s);
        take_slice(s.nets, s.nets_count);
        take_slice(s.active_clusters, s.active_clusters_count);
        take_slice(s.static_clusters, s.static_clusters_count);
    }
}

/// Free a nets snapshot (NULL accepted).
#[no_mangle]
pub unsafe extern "C" fn dap_lm_nets_snapshot_free(s: *mut dap_lm_nets_snapshot) {
    if s.is_null() {
        return;
    }
    // SAFETY: made by nets_snapshot_of, freed once.
    unsafe {
        let s = Box::from_raw(s);
        if !s.nets.is_null() {
            for i in 0..s.count {
                let n = &*s.nets.add(i);
                take_slice(n.clusters, n.clusters_count);
            }
        }
        take_slice(s.nets, s.count);
    }
}

/// Free a net-links result (NULL accepted).
#[no_mangle]
pub unsafe extern "C" fn dap_lm_net_links_free(r: *mut dap_lm_net_links) {
    if r.is_null() {
        return;
    }
    // SAFETY: made by dap_lm_net_links::boxed, freed once.
    unsafe {
        let r = Box::from_raw(r);
        take_slice(r.addrs, r.uplinks_count + r.downlinks_count);
    }
}
