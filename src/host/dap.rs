//! The host over the real DAP SDK: the only file that imports SDK symbols (exactly those of ABI.md §4
//! that it needs), the SDK-facing client callbacks, and the `log` bridge to `_log_it_tag`.
#![allow(non_upper_case_globals)]

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::ptr::{addr_of, null_mut};

use crate::abi::{
    dap_client_t, dap_cluster_member_t, dap_cluster_t, dap_events_socket_uuid_ctrl_t, dap_link_manager_callbacks_t,
    dap_link_manager_t, dap_link_t, dap_list_t, dap_stream_node_addr_t, log_level, stage, SdkClient, SdkCluster,
    CLUSTER_STATUS_DISABLED, CLUSTER_STATUS_ENABLED,
};
use crate::actor::api::{submit, Mode};
use crate::core::Op;
use crate::host::{Addr, ClientRef, ClusterRef, NetId, Node, Sdk};

type ClientCb = Option<unsafe extern "C" fn(*mut dap_client_t, *mut c_void)>;

extern "C" {
    fn dap_cluster_member_add(
        cluster: *mut dap_cluster_t,
        addr: *mut dap_stream_node_addr_t,
        role: c_int,
        info: *mut c_void,
    ) -> *mut dap_cluster_member_t;
    fn dap_cluster_member_delete(cluster: *mut dap_cluster_t, addr: *mut dap_stream_node_addr_t) -> c_int;
    fn dap_cluster_members_count(cluster: *mut dap_cluster_t) -> usize;
    fn dap_cluster_delete_all_members(cluster: *mut dap_cluster_t);
    fn dap_cluster_get_all_members_addrs(
        cluster: *mut dap_cluster_t,
        count: *mut usize,
        role: c_int,
    ) -> *mut dap_stream_node_addr_t;
    fn dap_client_new(error_cb: ClientCb, arg: *mut c_void) -> *mut dap_client_t;
    fn dap_client_go_stage(client: *mut dap_client_t, stage: c_int, done_cb: ClientCb);
    fn dap_client_get_stage(client: *mut dap_client_t) -> c_int;
    fn dap_client_delete_mt(client: *mut dap_client_t);
    fn dap_client_set_uplink_unsafe(
        client: *mut dap_client_t,
        addr: *mut dap_stream_node_addr_t,
        host: *const c_char,
        port: u16,
    );
    fn dap_client_set_is_always_reconnect(client: *mut dap_client_t, on: bool);
    fn dap_client_set_active_channels_unsafe(client: *mut dap_client_t, channels: *const c_char);
    fn dap_stream_find_all_by_addr(addr: *mut dap_stream_node_addr_t) -> *mut dap_list_t;
    fn dap_events_socket_remove_and_delete_mt(worker: *mut c_void, uuid: u64);
    fn dap_stream_ch_proc_find(id: u8) -> *mut c_void;
    fn dap_config_get_item_str_default(
        config: *mut c_void,
        section: *const c_char,
        key: *const c_char,
        dflt: *const c_char,
    ) -> *const c_char;
    fn _log_it_tag(level: c_int, tag: *const c_char, fmt: *const c_char, ...);
    static g_node_addr: dap_stream_node_addr_t;
    static g_config: *mut c_void;
    static g_dap_log_level: c_int;
}

/// What the library stores in each client (`arg`, freed by the SDK since `del_arg` is set, and
/// `_inheritor`): the link address and the client incarnation, so late events resolve on the actor.
#[repr(C)]
struct ClientTag {
    addr: Addr,
    tag: u64,
}

fn cluster_ptr(c: ClusterRef) -> *mut dap_cluster_t {
    c.0 as *mut dap_cluster_t
}

fn client_ptr(c: ClientRef) -> *mut SdkClient {
    c.0 as *mut SdkClient
}

/// The DAP SDK seen as [`Sdk`]. Stateless: every call goes straight to the imported function.
pub struct DapSdk;

impl Sdk for DapSdk {
    fn own_addr(&self) -> Addr {
        // SAFETY: an SDK global, read as a plain 8-byte value (packed, align 1).
        unsafe { std::ptr::read_unaligned(addr_of!(g_node_addr)).uint64 }
    }

    fn cluster_add(&self, cluster: ClusterRef, addr: Addr) -> bool {
        let mut a = dap_stream_node_addr_t { uint64: addr };
        // SAFETY: the cluster pointer came from the node (add_net / static cluster callbacks) and
        // clusters outlive their nets; the address is copied by the SDK.
        !unsafe { dap_cluster_member_add(cluster_ptr(cluster), &mut a, 0, null_mut()) }.is_null()
    }

    fn cluster_delete(&self, cluster: ClusterRef, addr: Addr) -> bool {
        let mut a = dap_stream_node_addr_t { uint64: addr };
        // SAFETY: as in cluster_add.
        unsafe { dap_cluster_member_delete(cluster_ptr(cluster), &mut a) == 0 }
    }

    fn cluster_count(&self, cluster: ClusterRef) -> usize {
        // SAFETY: as in cluster_add.
        unsafe { dap_cluster_members_count(cluster_ptr(cluster)) }
    }

    fn cluster_clear(&self, cluster: ClusterRef) {
        // SAFETY: as in cluster_add.
        unsafe { dap_cluster_delete_all_members(cluster_ptr(cluster)) }
    }

    fn cluster_members(&self, cluster: ClusterRef) -> Vec<Addr> {
        let mut count = 0usize;
        // SAFETY: as in cluster_add; the result is a malloc'd array of `count` addresses we free.
        unsafe {
            let p = dap_cluster_get_all_members_addrs(cluster_ptr(cluster), &mut count, -1);
            if p.is_null() {
                return Vec::new();
            }
            let v = (0..count).map(|i| std::ptr::read_unaligned(p.add(i)).uint64).collect();
            libc::free(p.cast());
            v
        }
    }

    fn cluster_enabled(&self, cluster: ClusterRef) -> bool {
        // SAFETY: `status` is an int at offset 28 of dap_cluster_t (ABI.md §3).
        unsafe {
            std::ptr::read_volatile(addr_of!((*(cluster.0 as *const SdkCluster)).status)) == CLUSTER_STATUS_ENABLED
        }
    }

    fn cluster_set_enabled(&self, cluster: ClusterRef, enabled: bool) {
        let v = if enabled { CLUSTER_STATUS_ENABLED } else { CLUSTER_STATUS_DISABLED };
        // SAFETY: as in cluster_enabled; the SDK reads this field without a lock too.
        unsafe { std::ptr::write_volatile(std::ptr::addr_of_mut!((*(cluster.0 as *mut SdkCluster)).status), v) }
    }

    fn client_new(&self, addr: Addr, tag: u64) -> Option<ClientRef> {
        // SAFETY: malloc'd so the SDK can free() it (del_arg); every field written before use.
        unsafe {
            let arg = libc::malloc(std::mem::size_of::<ClientTag>()).cast::<ClientTag>();
            if arg.is_null() {
                return None;
            }
            arg.write(ClientTag { addr, tag });
            let c = dap_client_new(Some(on_client_error), arg.cast()).cast::<SdkClient>();
            if c.is_null() {
                libc::free(arg.cast());
                return None;
            }
            (*c).del_arg = true;
            (*c).inheritor = arg.cast();
            Some(ClientRef(c as usize))
        }
    }

    fn client_connect(&self, client: ClientRef) {
        // SAFETY: a live client of ours (deleted only through client_delete, after which we drop it).
        unsafe { dap_client_go_stage(client_ptr(client).cast(), stage::STREAM_STREAMING, Some(on_client_connected)) }
    }

    fn client_reset(&self, client: ClientRef) {
        // SAFETY: as in client_connect.
        unsafe { dap_client_go_stage(client_ptr(client).cast(), stage::BEGIN, None) }
    }

    fn client_stage(&self, client: ClientRef) -> i32 {
        // SAFETY: as in client_connect.
        unsafe { dap_client_get_stage(client_ptr(client).cast()) }
    }

    fn client_stage_target(&self, client: ClientRef) -> i32 {
        // SAFETY: field of a live client (ABI.md §3, offset 292).
        unsafe { (*client_ptr(client)).stage_target }
    }

    fn client_delete(&self, client: ClientRef) {
        // SAFETY: as in client_connect; the core forgets the client right after.
        unsafe { dap_client_delete_mt(client_ptr(client).cast()) }
    }

    fn client_set_uplink(&self, client: ClientRef, addr: Addr, host: &str, port: u16) {
        let Ok(h) = CString::new(host) else { return };
        let mut a = dap_stream_node_addr_t { uint64: addr };
        // SAFETY: as in client_connect; the SDK copies host and address.
        unsafe { dap_client_set_uplink_unsafe(client_ptr(client).cast(), &mut a, h.as_ptr(), port) }
    }

    fn client_set_always_reconnect(&self, client: ClientRef, on: bool) {
        // SAFETY: as in client_connect.
        unsafe { dap_client_set_is_always_reconnect(client_ptr(client).cast(), on) }
    }

    fn client_set_active_channels(&self, client: ClientRef, channels: &str) {
        let Ok(c) = CString::new(channels) else { return };
        // SAFETY: as in client_connect; the SDK copies the string.
        unsafe { dap_client_set_active_channels_unsafe(client_ptr(client).cast(), c.as_ptr()) }
    }

    fn client_port(&self, client: ClientRef) -> u16 {
        // SAFETY: field of a live client (ABI.md §3: uplink_port @272, inside a packed struct).
        unsafe { u16::from_ne_bytes((*client_ptr(client)).uplink_port) }
    }

    fn client_stream_uuid(&self, client: ClientRef) -> u64 {
        // SAFETY: `_internal` and its `stream_es` may be NULL; both checked (ABI.md §3 offsets).
        unsafe {
            let internal = (*client_ptr(client)).internal;
            if internal.is_null() || (*internal).stream_es.is_null() {
                return 0;
            }
            (*(*internal).stream_es).uuid
        }
    }

    fn streams_close(&self, addr: Addr, except: u64) {
        let mut a = dap_stream_node_addr_t { uint64: addr };
        // SAFETY: the SDK returns a calloc'd list of malloc'd uuid records we own and free.
        unsafe {
            let mut node = dap_stream_find_all_by_addr(&mut a);
            while !node.is_null() {
                let next = (*node).next;
                let ctrl = (*node).data.cast::<dap_events_socket_uuid_ctrl_t>();
                if !ctrl.is_null() {
                    if (*ctrl).uuid != except {
                        dap_events_socket_remove_and_delete_mt((*ctrl).worker, (*ctrl).uuid);
                    }
                    libc::free(ctrl.cast());
                }
                libc::free(node.cast());
                node = next;
            }
        }
    }

    fn channel_registered(&self, id: u8) -> bool {
        // SAFETY: a plain lookup in the SDK's processor table.
        !unsafe { dap_stream_ch_proc_find(id) }.is_null()
    }
}

/// SDK client error callback (client worker thread): `flag` non-NULL means "disconnected, last attempt".
unsafe extern "C" fn on_client_error(client: *mut dap_client_t, flag: *mut c_void) {
    // SAFETY: the SDK passes a live client whose `_inheritor` we set to its ClientTag in client_new.
    let tag = unsafe { client_tag(client, (*client.cast::<SdkClient>()).inheritor) };
    if let Some(t) = tag {
        let _ = submit(Op::ClientError { addr: t.addr, tag: t.tag, last_attempt: !flag.is_null() }, Mode::Queue);
    }
}

/// SDK stage-done callback for STREAMING (client worker thread): `arg` is the client's ClientTag.
unsafe extern "C" fn on_client_connected(client: *mut dap_client_t, arg: *mut c_void) {
    // SAFETY: `arg` is the ClientTag we gave dap_client_new; the SDK frees it only with the client.
    if let Some(t) = unsafe { client_tag(client, arg) } {
        let _ = submit(Op::ClientConnected { addr: t.addr, tag: t.tag }, Mode::Queue);
    }
}

/// # Safety
/// `tag` is NULL or the ClientTag of a client that is still alive.
unsafe fn client_tag(client: *mut dap_client_t, tag: *mut c_void) -> Option<ClientTag> {
    if client.is_null() || tag.is_null() {
        log::warn!("[LM-ERROR] client callback without a client or its tag: ignored");
        return None;
    }
    // SAFETY: per the function contract.
    let t = unsafe { &*tag.cast::<ClientTag>() };
    Some(ClientTag { addr: t.addr, tag: t.tag })
}

/// The node's callbacks, read from the manager object at every call (some node builds write
/// `dap_link_manager_get_default()->callbacks` directly).
pub struct DapNode {
    pub manager: *mut dap_link_manager_t,
}

impl DapNode {
    fn callbacks(&self) -> dap_link_manager_callbacks_t {
        // SAFETY: the manager object is static and lives for the process.
        unsafe { std::ptr::read_volatile(addr_of!((*self.manager).callbacks)) }
    }
}

// The core passes the live record of an existing link (CONTRACT.md §10): the node may dereference it.
#[allow(clippy::not_unsafe_ptr_arg_deref)]
impl Node for DapNode {
    fn connected(&self, link: *mut dap_link_t, net: NetId) {
        if let Some(f) = self.callbacks().connected {
            // SAFETY: the node's callback, with the live record (CONTRACT.md §10).
            unsafe { f(link, net) }
        }
    }

    fn disconnected(&self, link: *mut dap_link_t, net: NetId, count: i32) -> bool {
        // SAFETY: as in connected.
        let permanent = self.callbacks().disconnected.is_some_and(|f| unsafe { f(link, net, count) });
        if permanent && crate::actor::record::is_on() {
            // SAFETY: the live record, valid during this call.
            let addr = unsafe { std::ptr::read_unaligned(addr_of!((*link).addr)) }.uint64;
            crate::actor::record::line(&format!("node permanent {} 1", crate::core::addr::NodeAddr(addr)));
        }
        permanent
    }

    fn error(&self, link: *mut dap_link_t, net: NetId, stage: i32) {
        if let Some(f) = self.callbacks().error {
            // SAFETY: as in connected.
            unsafe { f(link, net, stage) }
        }
    }

    fn fill_net_info(&self, link: *mut dap_link_t) -> i32 {
        // SAFETY: as in connected. Mandatory at init; a node that cleared it later gets "no info".
        self.callbacks().fill_net_info.map_or(-1, |f| unsafe { f(link) })
    }

    fn link_request(&self, net: NetId) -> Option<i32> {
        // SAFETY: as in connected.
        self.callbacks().link_request.map(|f| unsafe { f(net) })
    }

    fn link_count_changed(&self) {
        if let Some(f) = self.callbacks().link_count_changed {
            // SAFETY: as in connected; called with no arguments (CONTRACT.md §12.13).
            unsafe {
                f();
            }
        }
    }
}

/// Read `[link_manager] key` as text (None when unset or when there is no config).
pub fn config_get(key: &str) -> Option<String> {
    let section = c"link_manager";
    let k = CString::new(key).ok()?;
    // SAFETY: g_config may be NULL (then: defaults); the SDK returns a string it owns or our default.
    unsafe {
        let cfg = std::ptr::read_volatile(addr_of!(g_config));
        if cfg.is_null() {
            return None;
        }
        let p = dap_config_get_item_str_default(cfg, section.as_ptr(), k.as_ptr(), std::ptr::null());
        (!p.is_null()).then(|| CStr::from_ptr(p).to_string_lossy().into_owned())
    }
}

/// The `log` facade bridged to `_log_it_tag`, honouring `g_dap_log_level` at each call.
pub struct SdkLogger;

pub static LOGGER: SdkLogger = SdkLogger;

fn sdk_level(l: log::Level) -> c_int {
    match l {
        log::Level::Error => log_level::L_ERROR,
        log::Level::Warn => log_level::L_WARNING,
        log::Level::Info => log_level::L_INFO,
        log::Level::Debug | log::Level::Trace => log_level::L_DEBUG,
    }
}

impl log::Log for SdkLogger {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        // SAFETY: an SDK global int.
        sdk_level(m.level()) >= unsafe { std::ptr::read_volatile(addr_of!(g_dap_log_level)) }
    }

    fn log(&self, r: &log::Record<'_>) {
        if !self.enabled(r.metadata()) {
            return;
        }
        let text = format!("{}", r.args()).replace('\0', " ");
        let Ok(msg) = CString::new(text) else { return };
        // SAFETY: "%s" with one NUL-terminated string argument.
        unsafe { _log_it_tag(sdk_level(r.level()), c"link_manager".as_ptr(), c"%s".as_ptr(), msg.as_ptr()) }
    }

    fn flush(&self) {}
}

/// Install the SDK logger (once per process; later calls cost one atomic load).
pub fn install_logger() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if log::set_logger(&LOGGER).is_ok() {
            log::set_max_level(log::LevelFilter::Trace);
        }
    });
}
