//! A simulated host for Rust tests: an in-memory SDK (clusters that call back synchronously like the real
//! ones, clients, streams, channel registry) and a scriptable node. Both record what they saw as text
//! lines, so tests assert effects the way the C harness does with the stand-in SDK's journal.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::abi::{dap_link_t, stage};
use crate::core::addr::NodeAddr;
use crate::core::{with_current, Op};
use crate::host::{Addr, ClientRef, ClusterRef, NetId, Node, Sdk};

/// Which library callbacks a simulated cluster calls when members join or leave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClusterRole {
    /// A net's link cluster: `add/remove_links_cluster`.
    Links,
    /// A static cluster: `add/remove_static_links_cluster` with the cluster as argument.
    Static,
    /// No callbacks.
    Plain,
}

#[derive(Debug)]
struct SimCluster {
    name: String,
    role: ClusterRole,
    members: BTreeSet<Addr>,
    enabled: bool,
}

#[derive(Debug, Clone)]
pub struct SimClient {
    pub addr: Addr,
    pub tag: u64,
    pub stage: i32,
    pub stage_target: i32,
    pub host: String,
    pub port: u16,
    pub uuid: u64,
    pub deleted: bool,
    pub always_reconnect: bool,
}

#[derive(Default)]
struct SdkState {
    own: Addr,
    clusters: HashMap<ClusterRef, SimCluster>,
    next_id: usize,
    clients: HashMap<ClientRef, SimClient>,
    streams: HashMap<Addr, Vec<u64>>,
    channels: HashSet<u8>,
    journal: Vec<String>,
    fail_client_new: bool,
}

/// The simulated SDK. Clone it to keep a handle for assertions after handing one to the core.
#[derive(Clone, Default)]
pub struct SimSdk(Arc<Mutex<SdkState>>);

impl SimSdk {
    pub fn new(own: Addr) -> Self {
        let s = SimSdk::default();
        {
            let mut st = s.lock();
            st.own = own;
            st.next_id = 0x1000;
            st.channels.extend(b"RCGEND");
        }
        s
    }

    fn lock(&self) -> MutexGuard<'_, SdkState> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn cluster(&self, name: &str, role: ClusterRole) -> ClusterRef {
        let mut st = self.lock();
        st.next_id += 0x10;
        let c = ClusterRef(st.next_id);
        st.clusters.insert(c, SimCluster { name: name.into(), role, members: BTreeSet::new(), enabled: false });
        c
    }

    pub fn has(&self, c: ClusterRef, addr: Addr) -> bool {
        self.lock().clusters.get(&c).is_some_and(|x| x.members.contains(&addr))
    }

    pub fn members(&self, c: ClusterRef) -> Vec<Addr> {
        self.lock().clusters[&c].members.iter().copied().collect()
    }

    pub fn enabled(&self, c: ClusterRef) -> bool {
        self.lock().clusters[&c].enabled
    }

    /// Lines the library caused, oldest first; `take_journal` empties it.
    pub fn journal(&self) -> Vec<String> {
        self.lock().journal.clone()
    }

    pub fn take_journal(&self) -> Vec<String> {
        std::mem::take(&mut self.lock().journal)
    }

    /// The newest live (not deleted) client of `addr`.
    pub fn client_of(&self, addr: Addr) -> Option<(ClientRef, SimClient)> {
        let st = self.lock();
        st.clients
            .iter()
            .filter(|(_, c)| c.addr == addr && !c.deleted)
            .max_by_key(|(r, _)| r.0)
            .map(|(r, c)| (*r, c.clone()))
    }

    /// Move the newest live client of `addr` to `stage`, as the SDK's client state machine would
    /// (e.g. STREAM_STREAMING once connected). Returns false when `addr` has no live client.
    pub fn set_client_stage(&self, addr: Addr, to: i32) -> bool {
        let Some((r, _)) = self.client_of(addr) else { return false };
        let mut st = self.lock();
        let c = st.clients.get_mut(&r).expect("just found");
        c.stage = to;
        c.stage_target = to;
        true
    }

    pub fn live_clients(&self) -> usize {
        self.lock().clients.values().filter(|c| !c.deleted).count()
    }

    pub fn open_stream(&self, addr: Addr, uuid: u64) {
        self.lock().streams.entry(addr).or_default().push(uuid);
    }

    pub fn streams(&self, addr: Addr) -> Vec<u64> {
        self.lock().streams.get(&addr).cloned().unwrap_or_default()
    }

    pub fn set_fail_client_new(&self, fail: bool) {
        self.lock().fail_client_new = fail;
    }

    pub fn register_channel(&self, id: u8) {
        self.lock().channels.insert(id);
    }

    /// Add a member from outside the library (as other node code would): callbacks fire.
    pub fn external_add(&self, c: ClusterRef, addr: Addr) {
        Sdk::cluster_add(self, c, addr);
    }

    fn log(st: &mut SdkState, line: String) {
        st.journal.push(line);
    }

    /// The membership callback the real SDK would make into the library, synchronously.
    fn member_event(&self, c: ClusterRef, addr: Addr, joined: bool) {
        let role = self.lock().clusters.get(&c).map(|x| x.role);
        let op = match (role, joined) {
            (Some(ClusterRole::Links), true) => Op::ClusterJoined { addr, cluster: c },
            (Some(ClusterRole::Links), false) => Op::ClusterLeft { addr, cluster: c },
            (Some(ClusterRole::Static), true) => Op::StaticJoined { addr, cluster: c },
            (Some(ClusterRole::Static), false) => Op::StaticLeft { addr, cluster: c },
            _ => return,
        };
        if with_current(|core| core.reenter(op.clone())).is_none() {
            // Not on the actor thread: tests feed these themselves through `Harness::external`.
            self.lock().journal.push(format!("pending_event {op:?}"));
        }
    }
}

impl Sdk for SimSdk {
    fn own_addr(&self) -> Addr {
        self.lock().own
    }

    fn cluster_add(&self, c: ClusterRef, addr: Addr) -> bool {
        {
            let mut st = self.lock();
            let Some(cl) = st.clusters.get_mut(&c) else { return false };
            if !cl.members.insert(addr) {
                return false;
            }
            let name = cl.name.clone();
            Self::log(&mut st, format!("cluster_add {name} {}", NodeAddr(addr)));
        }
        self.member_event(c, addr, true);
        true
    }

    fn cluster_delete(&self, c: ClusterRef, addr: Addr) -> bool {
        {
            let mut st = self.lock();
            let Some(cl) = st.clusters.get_mut(&c) else { return false };
            if !cl.members.remove(&addr) {
                return false;
            }
            let name = cl.name.clone();
            Self::log(&mut st, format!("cluster_delete {name} {}", NodeAddr(addr)));
        }
        self.member_event(c, addr, false);
        true
    }

    fn cluster_count(&self, c: ClusterRef) -> usize {
        self.lock().clusters.get(&c).map_or(0, |x| x.members.len())
    }

    fn cluster_clear(&self, c: ClusterRef) {
        let gone: Vec<Addr> = {
            let mut st = self.lock();
            let Some(cl) = st.clusters.get_mut(&c) else { return };
            let gone = std::mem::take(&mut cl.members).into_iter().collect();
            let name = cl.name.clone();
            Self::log(&mut st, format!("cluster_delete_all {name}"));
            gone
        };
        for a in gone {
            self.member_event(c, a, false);
        }
    }

    fn cluster_members(&self, c: ClusterRef) -> Vec<Addr> {
        self.members(c)
    }

    fn cluster_enabled(&self, c: ClusterRef) -> bool {
        self.lock().clusters.get(&c).is_some_and(|x| x.enabled)
    }

    fn cluster_set_enabled(&self, c: ClusterRef, enabled: bool) {
        let mut st = self.lock();
        if let Some(cl) = st.clusters.get_mut(&c) {
            cl.enabled = enabled;
            let line = format!("cluster_status {} {}", cl.name, u8::from(enabled));
            Self::log(&mut st, line);
        }
    }

    fn client_new(&self, addr: Addr, tag: u64) -> Option<ClientRef> {
        let mut st = self.lock();
        if st.fail_client_new {
            return None;
        }
        st.next_id += 0x10;
        let r = ClientRef(st.next_id);
        let uuid = st.next_id as u64;
        st.clients.insert(
            r,
            SimClient {
                addr,
                tag,
                stage: stage::BEGIN,
                stage_target: stage::BEGIN,
                host: String::new(),
                port: 0,
                uuid,
                deleted: false,
                always_reconnect: true,
            },
        );
        Self::log(&mut st, format!("client_new {}", NodeAddr(addr)));
        Some(r)
    }

    fn client_connect(&self, client: ClientRef) {
        let mut st = self.lock();
        let c = st.clients.get_mut(&client).expect("known client");
        c.stage_target = stage::STREAM_STREAMING;
        let line = format!("go_stage {} STREAMING", NodeAddr(c.addr));
        Self::log(&mut st, line);
    }

    fn client_reset(&self, client: ClientRef) {
        let mut st = self.lock();
        let c = st.clients.get_mut(&client).expect("known client");
        c.stage = stage::BEGIN;
        c.stage_target = stage::BEGIN;
        let line = format!("go_stage {} BEGIN", NodeAddr(c.addr));
        Self::log(&mut st, line);
    }

    fn client_stage(&self, client: ClientRef) -> i32 {
        self.lock().clients.get(&client).map_or(stage::UNDEFINED, |c| c.stage)
    }

    fn client_stage_target(&self, client: ClientRef) -> i32 {
        self.lock().clients.get(&client).map_or(stage::UNDEFINED, |c| c.stage_target)
    }

    fn client_delete(&self, client: ClientRef) {
        let mut st = self.lock();
        let c = st.clients.get_mut(&client).expect("known client");
        assert!(!c.deleted, "client deleted twice");
        c.deleted = true;
        let line = format!("client_delete {}", NodeAddr(c.addr));
        Self::log(&mut st, line);
    }

    fn client_set_uplink(&self, client: ClientRef, addr: Addr, host: &str, port: u16) {
        let mut st = self.lock();
        let c = st.clients.get_mut(&client).expect("known client");
        c.host = host.into();
        c.port = port;
        Self::log(&mut st, format!("set_uplink {} {host} {port}", NodeAddr(addr)));
    }

    fn client_set_always_reconnect(&self, client: ClientRef, on: bool) {
        let mut st = self.lock();
        if let Some(c) = st.clients.get_mut(&client) {
            c.always_reconnect = on;
        }
    }

    fn client_set_active_channels(&self, client: ClientRef, channels: &str) {
        let mut st = self.lock();
        let addr = st.clients.get(&client).map_or(0, |c| c.addr);
        Self::log(&mut st, format!("set_channels {} {channels}", NodeAddr(addr)));
    }

    fn client_port(&self, client: ClientRef) -> u16 {
        self.lock().clients.get(&client).map_or(0, |c| c.port)
    }

    fn client_stream_uuid(&self, client: ClientRef) -> u64 {
        self.lock().clients.get(&client).map_or(0, |c| c.uuid)
    }

    fn streams_close(&self, addr: Addr, except: u64) {
        let mut st = self.lock();
        let closed: Vec<u64> = match st.streams.get_mut(&addr) {
            Some(list) => {
                let closed = list.iter().copied().filter(|u| *u != except).collect();
                list.retain(|u| *u == except);
                closed
            }
            None => Vec::new(),
        };
        for u in closed {
            Self::log(&mut st, format!("stream_close {} {u}", NodeAddr(addr)));
        }
    }

    fn channel_registered(&self, id: u8) -> bool {
        self.lock().channels.contains(&id)
    }
}

/// What a simulated node callback sees and answers.
#[derive(Default)]
struct NodeState {
    calls: Vec<String>,
    permanent: HashSet<Addr>,
    /// fill_net_info answers: address -> (host, port); absent -> "no info" (-1).
    routes: HashMap<Addr, (String, u16)>,
    /// Ops the node issues from inside callbacks through the queued (original) API.
    outbox: Vec<Op>,
    /// Send an accounting(!ok) from `connected`, as the node does when ANNOUNCE fails.
    announce_fails: bool,
    link_request_missing: bool,
}

/// The simulated node. Clone to keep a handle.
#[derive(Clone, Default)]
pub struct SimNode(Arc<Mutex<NodeState>>);

impl SimNode {
    fn lock(&self) -> MutexGuard<'_, NodeState> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Callback lines, oldest first; `take_calls` empties them.
    pub fn calls(&self) -> Vec<String> {
        self.lock().calls.clone()
    }

    pub fn take_calls(&self) -> Vec<String> {
        std::mem::take(&mut self.lock().calls)
    }

    pub fn set_permanent(&self, addr: Addr, on: bool) {
        let mut st = self.lock();
        if on {
            st.permanent.insert(addr);
        } else {
            st.permanent.remove(&addr);
        }
    }

    pub fn set_route(&self, addr: Addr, host: &str, port: u16) {
        self.lock().routes.insert(addr, (host.into(), port));
    }

    pub fn set_announce_fails(&self, on: bool) {
        self.lock().announce_fails = on;
    }

    pub fn set_link_request_missing(&self, on: bool) {
        self.lock().link_request_missing = on;
    }

    pub fn take_outbox(&self) -> Vec<Op> {
        std::mem::take(&mut self.lock().outbox)
    }
}

fn link_addr(link: *mut dap_link_t) -> Addr {
    // SAFETY: the core passes the live record, valid during the callback.
    unsafe { (*link).addr.uint64 }
}

// The core passes the live record of an existing link (CONTRACT.md §10).
#[allow(clippy::not_unsafe_ptr_arg_deref)]
impl Node for SimNode {
    fn connected(&self, link: *mut dap_link_t, net: NetId) {
        let addr = link_addr(link);
        let mut st = self.lock();
        st.calls.push(format!("connected {} {net:#x}", NodeAddr(addr)));
        if st.announce_fails {
            st.outbox.push(Op::Accounting { net, addr, ok: false });
        }
    }

    fn disconnected(&self, link: *mut dap_link_t, net: NetId, count: i32) -> bool {
        let addr = link_addr(link);
        let mut st = self.lock();
        st.calls.push(format!("disconnected {} {net:#x} {count}", NodeAddr(addr)));
        st.permanent.contains(&addr)
    }

    fn error(&self, link: *mut dap_link_t, net: NetId, stage: i32) {
        let addr = link_addr(link);
        self.lock().calls.push(format!("error {} {net:#x} {stage}", NodeAddr(addr)));
    }

    fn fill_net_info(&self, link: *mut dap_link_t) -> i32 {
        let addr = link_addr(link);
        let mut st = self.lock();
        st.calls.push(format!("fill_net_info {}", NodeAddr(addr)));
        let Some((host, port)) = st.routes.get(&addr).cloned() else { return -1 };
        // As the node does: queue link_update, then mark the live record ready after "returning".
        st.outbox.push(Op::LinkUpdate { addr, host: host.into(), port });
        // SAFETY: live record, valid during the callback; the node writes `ready` (CONTRACT.md §10).
        unsafe { (*link).uplink.ready = true };
        0
    }

    fn link_request(&self, net: NetId) -> Option<i32> {
        let mut st = self.lock();
        if st.link_request_missing {
            return None;
        }
        st.calls.push(format!("link_request {net:#x}"));
        Some(0)
    }

    fn link_count_changed(&self) {
        self.lock().calls.push("link_count_changed".into());
    }
}
