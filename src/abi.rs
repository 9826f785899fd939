//! `#[repr(C)]` mirrors of every C type the library exposes or touches (shared/spec/ABI.md §2-3).
//!
//! The public types (`dap_link_t`, `dap_link_manager_t`, `dap_link_manager_callbacks_t`,
//! `dap_link_state_t`) are rendered into `include/dap_link_manager.h` by cbindgen. The SDK types are
//! mirrored only as far as the library touches them and are excluded from the header (the node gets them
//! from the SDK's own headers). Every size and offset is asserted at compile time below.
#![allow(non_camel_case_types)]

use core::ffi::{c_char, c_int, c_void};
use core::mem::{offset_of, size_of};

/// "No net": `UINT64_C(~0)`.
pub const DAP_NET_ID_INVALID: u64 = u64::MAX;

/// A node address: packed 8-byte union `{ uint64; words[4]; raw[8] }`, align 1 (SDK `dap_common.h`).
#[repr(C, packed)]
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct dap_stream_node_addr_t {
    pub uint64: u64,
}

/// SDK doubly linked list node (utlist style). The library never builds one for C; it only frees the
/// ones `dap_stream_find_all_by_addr` returns.
#[repr(C)]
pub struct dap_list_t {
    pub data: *mut c_void,
    pub next: *mut dap_list_t,
    pub prev: *mut dap_list_t,
}

/// uthash handle: opaque, 56 bytes. Kept zeroed (the library does not use uthash).
#[repr(C)]
pub struct UT_hash_handle {
    pub opaque: [*mut c_void; 7],
}

/// glibc `pthread_rwlock_t`, opaque, 56 bytes on x86_64. Kept zeroed (never locked: there is no lock).
#[repr(C)]
pub struct pthread_rwlock_t {
    pub opaque: [u64; 7],
}

/// Uplink state of a link (ABI.md §2).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum dap_link_state {
    LINK_STATE_DISCONNECTED = 0,
    LINK_STATE_CONNECTING = 1,
    LINK_STATE_ESTABLISHED = 2,
}
pub type dap_link_state_t = dap_link_state;

/// Opaque SDK client (`dap_client.h`), mirrored in [`SdkClient`] where the library reads it.
#[repr(C)]
pub struct dap_client_t {
    _private: [u8; 0],
}

/// Opaque SDK cluster (`dap_stream_cluster.h`), mirrored in [`SdkCluster`] where the library reads it.
#[repr(C)]
pub struct dap_cluster_t {
    _private: [u8; 0],
}

/// The uplink half of a link record (`dap_link_t::uplink`).
#[repr(C)]
pub struct dap_link_uplink {
    /// Written by the library only; the node reads it.
    pub state: dap_link_state,
    pub attempts_count: u32,
    /// The client this link dials out with, or NULL for a downlink-only link. Owned by the library.
    pub client: *mut dap_client_t,
    /// Always NULL in this implementation (the nets live in the library's own table).
    pub associated_nets: *mut dap_list_t,
    /// Do not dial before this time (seconds).
    pub start_after: u64,
    pub es_uuid: u64,
    /// Written by the node in `fill_net_info` after it called `link_update`: "start connecting".
    pub ready: bool,
}
pub type dap_link_uplink_t = dap_link_uplink;

/// One link record. The pointer a callback receives is the live record, valid during the call only.
/// `active_clusters`, `uplink.associated_nets` and `static_clusters` are always NULL here: the library
/// keeps those sets in its own tables (ask `dap_link_manager_link_snapshot` for them).
#[repr(C)]
pub struct dap_link {
    pub addr: dap_stream_node_addr_t,
    pub is_uplink: bool,
    pub active_clusters: *mut dap_list_t,
    pub uplink: dap_link_uplink,
    pub static_clusters: *mut dap_list_t,
    pub link_manager: *mut dap_link_manager,
    pub stream_is_destroyed: bool,
    pub hh: UT_hash_handle,
}
pub type dap_link_t = dap_link;

pub type dap_link_manager_callback_t = Option<unsafe extern "C" fn(*mut dap_link_t, u64)>;
pub type dap_link_manager_callback_disconnected_t = Option<unsafe extern "C" fn(*mut dap_link_t, u64, c_int) -> bool>;
pub type dap_link_manager_callback_error_t = Option<unsafe extern "C" fn(*mut dap_link_t, u64, c_int)>;
pub type dap_link_manager_callback_fill_net_info_t = Option<unsafe extern "C" fn(*mut dap_link_t) -> c_int>;
pub type dap_link_manager_callback_link_request_t = Option<unsafe extern "C" fn(u64) -> c_int>;
pub type dap_link_manager_callback_link_count_changed_t = Option<unsafe extern "C" fn() -> c_int>;

/// The node's callbacks. `fill_net_info` is mandatory; the others may be NULL.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct dap_link_manager_callbacks {
    pub connected: dap_link_manager_callback_t,
    pub disconnected: dap_link_manager_callback_disconnected_t,
    pub error: dap_link_manager_callback_error_t,
    pub fill_net_info: dap_link_manager_callback_fill_net_info_t,
    pub link_request: dap_link_manager_callback_link_request_t,
    pub link_count_changed: dap_link_manager_callback_link_count_changed_t,
}
pub type dap_link_manager_callbacks_t = dap_link_manager_callbacks;

/// The manager object, C layout kept for node builds that read or write `callbacks` directly.
/// `nets`, `links` are always NULL and the two locks are never used: the state lives on the actor.
#[repr(C)]
pub struct dap_link_manager {
    pub active: bool,
    pub max_attempts_num: u32,
    pub reconnect_delay: u32,
    pub nets: *mut dap_list_t,
    pub links: *mut dap_link,
    pub links_lock: pthread_rwlock_t,
    pub nets_lock: pthread_rwlock_t,
    pub callbacks: dap_link_manager_callbacks,
}
pub type dap_link_manager_t = dap_link_manager;

// ---- SDK types the library reads or writes (never in the public header) ----

pub const CLUSTER_STATUS_DISABLED: c_int = 0;
pub const CLUSTER_STATUS_ENABLED: c_int = 1;

/// `dap_cluster_t` (240 bytes): only `status` is touched directly.
#[repr(C)]
pub struct SdkCluster {
    pub _head: [u8; 8],
    pub guuid: [u8; 16],
    pub type_: c_int,
    pub status: c_int,
    pub _tail: [u8; 208],
}

/// `dap_cluster_member_t` (88 bytes).
#[repr(C)]
pub struct dap_cluster_member_t {
    pub addr: dap_stream_node_addr_t,
    pub role: c_int,
    pub persistent: bool,
    pub info: *mut c_void,
    pub cluster: *mut dap_cluster_t,
    pub _tail: [u8; 56],
}

/// `dap_client_t` (336 bytes), the fields the library reads.
#[repr(C)]
pub struct SdkClient {
    pub active_channels: *mut c_char,
    pub link_info_node_addr: dap_stream_node_addr_t,
    pub uplink_addr: [c_char; 256],
    pub uplink_port: [u8; 2],
    pub _pad0: [u8; 14],
    pub always_reconnect: bool,
    pub _pad1: u8,
    pub del_arg: bool,
    pub _pad2: u8,
    pub stage_target: c_int,
    pub _pad3: [u8; 24],
    pub internal: *mut SdkClientInternal,
    pub inheritor: *mut c_void,
}

/// The private part behind `dap_client_t::_internal`: only `stream_es` @24 is read.
#[repr(C)]
pub struct SdkClientInternal {
    pub _head: [u8; 24],
    pub stream_es: *mut SdkEventsSocket,
}

/// `dap_events_socket_t`: only `uuid` @16 is read.
#[repr(C)]
pub struct SdkEventsSocket {
    pub _head: [u8; 16],
    pub uuid: u64,
}

/// `dap_events_socket_uuid_ctrl_t` (16 bytes): the data of `dap_stream_find_all_by_addr` list nodes.
#[repr(C)]
pub struct dap_events_socket_uuid_ctrl_t {
    pub uuid: u64,
    pub worker: *mut c_void,
}

/// Client stages (`dap_client.h`).
pub mod stage {
    use core::ffi::c_int;
    pub const UNDEFINED: c_int = -1;
    pub const BEGIN: c_int = 0;
    pub const ENC_INIT: c_int = 1;
    pub const STREAM_CTL: c_int = 2;
    pub const STREAM_SESSION: c_int = 3;
    pub const STREAM_CONNECTED: c_int = 4;
    pub const STREAM_STREAMING: c_int = 5;
}

/// SDK log levels (`enum dap_log_level`).
pub mod log_level {
    use core::ffi::c_int;
    pub const L_DEBUG: c_int = 0;
    pub const L_INFO: c_int = 1;
    pub const L_NOTICE: c_int = 2;
    pub const L_MSG: c_int = 3;
    pub const L_DAP: c_int = 4;
    pub const L_WARNING: c_int = 5;
    pub const L_ATT: c_int = 6;
    pub const L_ERROR: c_int = 7;
    pub const L_CRITICAL: c_int = 8;
}

// ---- layout assertions (ABI.md figures, x86_64 / any LP64) ----
#[cfg(target_pointer_width = "64")]
const _: () = {
    assert!(size_of::<dap_stream_node_addr_t>() == 8);
    assert!(core::mem::align_of::<dap_stream_node_addr_t>() == 1);
    assert!(size_of::<dap_list_t>() == 24);
    assert!(size_of::<UT_hash_handle>() == 56);
    assert!(size_of::<pthread_rwlock_t>() == 56);
    assert!(size_of::<dap_link_state_t>() == 4);

    assert!(size_of::<dap_link_t>() == 152);
    assert!(core::mem::align_of::<dap_link_t>() == 8);
    assert!(offset_of!(dap_link_t, addr) == 0);
    assert!(offset_of!(dap_link_t, is_uplink) == 8);
    assert!(offset_of!(dap_link_t, active_clusters) == 16);
    assert!(offset_of!(dap_link_t, uplink) == 24);
    assert!(offset_of!(dap_link_t, uplink) + offset_of!(dap_link_uplink_t, state) == 24);
    assert!(offset_of!(dap_link_t, uplink) + offset_of!(dap_link_uplink_t, attempts_count) == 28);
    assert!(offset_of!(dap_link_t, uplink) + offset_of!(dap_link_uplink_t, client) == 32);
    assert!(offset_of!(dap_link_t, uplink) + offset_of!(dap_link_uplink_t, associated_nets) == 40);
    assert!(offset_of!(dap_link_t, uplink) + offset_of!(dap_link_uplink_t, start_after) == 48);
    assert!(offset_of!(dap_link_t, uplink) + offset_of!(dap_link_uplink_t, es_uuid) == 56);
    assert!(offset_of!(dap_link_t, uplink) + offset_of!(dap_link_uplink_t, ready) == 64);
    assert!(offset_of!(dap_link_t, static_clusters) == 72);
    assert!(offset_of!(dap_link_t, link_manager) == 80);
    assert!(offset_of!(dap_link_t, stream_is_destroyed) == 88);
    assert!(offset_of!(dap_link_t, hh) == 96);

    assert!(size_of::<dap_link_manager_callbacks_t>() == 48);
    assert!(size_of::<dap_link_manager_t>() == 192);
    assert!(offset_of!(dap_link_manager_t, active) == 0);
    assert!(offset_of!(dap_link_manager_t, max_attempts_num) == 4);
    assert!(offset_of!(dap_link_manager_t, reconnect_delay) == 8);
    assert!(offset_of!(dap_link_manager_t, nets) == 16);
    assert!(offset_of!(dap_link_manager_t, links) == 24);
    assert!(offset_of!(dap_link_manager_t, links_lock) == 32);
    assert!(offset_of!(dap_link_manager_t, nets_lock) == 88);
    assert!(offset_of!(dap_link_manager_t, callbacks) == 144);

    assert!(size_of::<SdkCluster>() == 240);
    assert!(offset_of!(SdkCluster, guuid) == 8);
    assert!(offset_of!(SdkCluster, type_) == 24);
    assert!(offset_of!(SdkCluster, status) == 28);

    assert!(size_of::<dap_cluster_member_t>() == 88);
    assert!(offset_of!(dap_cluster_member_t, role) == 8);
    assert!(offset_of!(dap_cluster_member_t, persistent) == 12);
    assert!(offset_of!(dap_cluster_member_t, info) == 16);
    assert!(offset_of!(dap_cluster_member_t, cluster) == 24);

    assert!(size_of::<SdkClient>() == 336);
    assert!(offset_of!(SdkClient, link_info_node_addr) == 8);
    assert!(offset_of!(SdkClient, uplink_addr) == 16);
    assert!(offset_of!(SdkClient, uplink_port) == 272);
    assert!(offset_of!(SdkClient, always_reconnect) == 288);
    assert!(offset_of!(SdkClient, del_arg) == 290);
    assert!(offset_of!(SdkClient, stage_target) == 292);
    assert!(offset_of!(SdkClient, internal) == 320);
    assert!(offset_of!(SdkClient, inheritor) == 328);
    assert!(offset_of!(SdkClientInternal, stream_es) == 24);
    assert!(offset_of!(SdkEventsSocket, uuid) == 16);
    assert!(size_of::<dap_events_socket_uuid_ctrl_t>() == 16);
};
