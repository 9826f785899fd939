//! What the link manager needs from its surroundings, as two traits:
//! [`Sdk`] (clusters, clients, streams, channel registry, own address: the DAP SDK) and [`Node`] (the
//! node's callbacks). `dap.rs` implements them over the real C imports; `sim.rs` simulates them for Rust
//! tests, so `cargo test` never needs the SDK symbols.

#[cfg(feature = "sdk")]
pub mod dap;
pub mod sim;

use crate::abi::dap_link_t;

/// A node address (`dap_stream_node_addr_t::uint64`). 0 is invalid.
pub type Addr = u64;
/// A net id. 0 is invalid, `u64::MAX` means "no net".
pub type NetId = u64;

/// A cluster, by identity (the `dap_cluster_t *` value in the DAP host).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct ClusterRef(pub usize);

/// A client, by identity (the `dap_client_t *` value in the DAP host).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct ClientRef(pub usize);

/// The SDK services the manager calls, always from the actor thread.
///
/// Cluster calls may call back into the library synchronously (member add/delete callbacks): the
/// library routes those re-entrant calls itself (see `actor::reentry`), implementations just call the SDK.
pub trait Sdk {
    /// This node's own address (`g_node_addr`).
    fn own_addr(&self) -> Addr;

    fn cluster_add(&self, cluster: ClusterRef, addr: Addr) -> bool;
    fn cluster_delete(&self, cluster: ClusterRef, addr: Addr) -> bool;
    fn cluster_count(&self, cluster: ClusterRef) -> usize;
    fn cluster_clear(&self, cluster: ClusterRef);
    fn cluster_members(&self, cluster: ClusterRef) -> Vec<Addr>;
    fn cluster_enabled(&self, cluster: ClusterRef) -> bool;
    fn cluster_set_enabled(&self, cluster: ClusterRef, enabled: bool);

    /// A new client for `addr`, its error callback armed; `tag` identifies this client incarnation in
    /// the connected/error events it will report. None when the SDK cannot make one.
    fn client_new(&self, addr: Addr, tag: u64) -> Option<ClientRef>;
    /// Ask the client to go to the streaming stage; the SDK reports "connected" or an error later.
    fn client_connect(&self, client: ClientRef);
    /// Send the client back to stage BEGIN.
    fn client_reset(&self, client: ClientRef);
    fn client_stage(&self, client: ClientRef) -> i32;
    fn client_stage_target(&self, client: ClientRef) -> i32;
    /// Asynchronous deletion: late events from this client may still arrive.
    fn client_delete(&self, client: ClientRef);
    fn client_set_uplink(&self, client: ClientRef, addr: Addr, host: &str, port: u16);
    fn client_set_always_reconnect(&self, client: ClientRef, on: bool);
    fn client_set_active_channels(&self, client: ClientRef, channels: &str);
    fn client_port(&self, client: ClientRef) -> u16;
    /// The uuid of the client's stream socket (0 if none).
    fn client_stream_uuid(&self, client: ClientRef) -> u64;

    /// Close every stream to `addr` except the one with uuid `except` (0: close all).
    fn streams_close(&self, addr: Addr, except: u64);
    /// Is a channel processor registered for `id`?
    fn channel_registered(&self, id: u8) -> bool;
}

/// The node's callbacks (CONTRACT.md §10), called on the actor thread with no state borrowed, so they
/// may call any API function. `link` is the live record, valid for the duration of the call only.
pub trait Node {
    fn connected(&self, link: *mut dap_link_t, net: NetId);
    /// true: keep the link as permanent. A missing callback answers false.
    fn disconnected(&self, link: *mut dap_link_t, net: NetId, count: i32) -> bool;
    fn error(&self, link: *mut dap_link_t, net: NetId, stage: i32);
    /// 0: handled (the node called `link_update` and set `ready`); non-zero: no info.
    fn fill_net_info(&self, link: *mut dap_link_t) -> i32;
    /// None when the node gave no `link_request` callback.
    fn link_request(&self, net: NetId) -> Option<i32>;
    fn link_count_changed(&self);
}
