//! Nets (CONTRACT.md §3): add, associate, remove, condition, counts. Getters read the published view
//! and never wait; mutations wait for the actor (they did under locks in C), or run inline in callbacks.

use std::ffi::c_int;

use log::warn;

use super::boundary::ffi_boundary;
use crate::abi::dap_cluster_t;
use crate::actor::api::{self, submit, Mode};
use crate::core::view::Snapshot;
use crate::core::Op;
use crate::host::ClusterRef;

/// Read the view for an original getter; `dflt` before `init` / after `deinit`.
pub(crate) fn read_view<R>(dflt: R, f: impl FnOnce(&Snapshot) -> R) -> R {
    api::with_view(f).unwrap_or(dflt)
}

pub(crate) fn original(name: &str, op: Op, not_init: c_int) -> c_int {
    match submit(op, Mode::Wait(None)) {
        Ok(rc) => rc,
        Err(e) => {
            warn!("[LM-ERROR] code={not_init} {name}: {e:?}");
            not_init
        }
    }
}

/// Manage a net: 0; -2 not initialised, `net_id` 0 or `cluster` NULL; -3 already managed.
/// The net starts inactive; `cluster` becomes its primary cluster.
#[no_mangle]
pub extern "C" fn dap_link_manager_add_net(net_id: u64, cluster: *mut dap_cluster_t, min_links: u32) -> c_int {
    ffi_boundary!("dap_link_manager_add_net", -2, {
        if net_id == 0 || cluster.is_null() {
            warn!("[LM-ERROR] code=-2 add_net: net id 0 or cluster NULL");
            return -2;
        }
        original("add_net", Op::AddNet { net: net_id, cluster: ClusterRef(cluster as usize), min_links }, -2)
    })
}

/// Attach a secondary cluster: 0; -2 not initialised / id 0 / cluster NULL; -3 unknown net; -4 already
/// attached. The cluster takes the net's current status at once (FIX-ASSOC-STATUS).
#[no_mangle]
pub extern "C" fn dap_link_manager_add_net_associate(net_id: u64, cluster: *mut dap_cluster_t) -> c_int {
    ffi_boundary!("dap_link_manager_add_net_associate", -2, {
        if net_id == 0 || cluster.is_null() {
            warn!("[LM-ERROR] code=-2 add_net_associate: net id 0 or cluster NULL");
            return -2;
        }
        original("add_net_associate", Op::AddNetAssociate { net: net_id, cluster: ClusterRef(cluster as usize) }, -2)
    })
}

/// Disable the net (clusters emptied, links released), then forget it. Unknown net: nothing.
#[no_mangle]
pub extern "C" fn dap_link_manager_remove_net(net_id: u64) {
    ffi_boundary!("dap_link_manager_remove_net", (), {
        original("remove_net", Op::RemoveNet(net_id), -2);
    })
}

/// Enable or disable a net: clusters ENABLED/DISABLED; off empties them and releases the net's links.
#[no_mangle]
pub extern "C" fn dap_link_manager_set_net_condition(net_id: u64, active: bool) {
    ffi_boundary!("dap_link_manager_set_net_condition", (), {
        original("set_net_condition", Op::SetNetCondition { net: net_id, on: active }, -2);
    })
}

/// The net's active flag; false for an unknown net. Wait-free (called for every packet).
#[no_mangle]
pub extern "C" fn dap_link_manager_get_net_condition(net_id: u64) -> bool {
    ffi_boundary!("dap_link_manager_get_net_condition", false, { read_view(false, |v| v.net_condition(net_id)) })
}

/// Member count of the net's primary cluster (uplinks and downlinks); 0 if unknown.
#[no_mangle]
pub extern "C" fn dap_link_manager_links_count(net_id: u64) -> usize {
    ffi_boundary!("dap_link_manager_links_count", 0, { read_view(0, |v| v.links_count(net_id)) })
}

/// The net's `min_links`; 0 if unknown.
#[no_mangle]
pub extern "C" fn dap_link_manager_required_links_count(net_id: u64) -> usize {
    ffi_boundary!("dap_link_manager_required_links_count", 0, { read_view(0, |v| v.required_links_count(net_id)) })
}

/// `max(0, min_links - uplinks)` with the uplinks cached by the last links-request pass; 0 if unknown.
#[no_mangle]
pub extern "C" fn dap_link_manager_needed_links_count(net_id: u64) -> usize {
    ffi_boundary!("dap_link_manager_needed_links_count", 0, { read_view(0, |v| v.needed_links_count(net_id)) })
}

/// Links associated with the net that are uplinks in state ESTABLISHED; 0 if unknown.
#[no_mangle]
pub extern "C" fn dap_link_manager_established_uplinks_count(net_id: u64) -> usize {
    ffi_boundary!("dap_link_manager_established_uplinks_count", 0, {
        read_view(0, |v| v.established_uplinks_count(net_id))
    })
}
