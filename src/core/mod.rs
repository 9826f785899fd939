//! The link manager itself: a single-threaded state machine over links and nets (CONTRACT.md §2-10).
//!
//! It runs on the actor thread and is driven by [`Op`]s; it talks to the SDK and the node only through the
//! [`Sdk`] and [`Node`] traits. State sits in a `RefCell` that is never borrowed across a node callback,
//! so callbacks may re-enter the library (a `_sync` call from a callback runs inline). SDK cluster calls
//! are made with the state borrowed; the membership callbacks they trigger synchronously are parked in
//! `inplace` and applied right after the SDK call returns.

pub mod addr;
pub mod channels;
pub mod clock;
pub mod link;
pub mod report;
/// cbindgen:ignore
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod uplink_host;
pub mod view;

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use arc_swap::ArcSwap;
use log::{debug, error, info, warn};

use crate::abi::{dap_link_manager_t, DAP_NET_ID_INVALID};
use crate::host::{Addr, ClusterRef, NetId, Node, Sdk};
use addr::NodeAddr;
use clock::Clock;
use link::{set_insert, set_remove, Link};
use view::{FastState, LinkMap, LinkView, NetView, Snapshot};

use crate::abi::dap_link_state::{
    LINK_STATE_CONNECTING as CONNECTING, LINK_STATE_DISCONNECTED as DISCONNECTED, LINK_STATE_ESTABLISHED as ESTABLISHED,
};

/// `[link_manager]` settings the state machine uses (CONTRACT.md §1).
#[derive(Clone, Debug)]
pub struct Config {
    pub max_attempts: u32,
    pub reconnect_delay_secs: u64,
    pub debug_more: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self { max_attempts: 1, reconnect_delay_secs: 20, debug_more: false }
    }
}

/// Which half of the maintenance tick to run (CONTRACT.md §8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TickPhase {
    WakeUp,
    LinksRequest,
}

/// Every state change the manager accepts. Arguments are already validated by the caller's thread where
/// the contract says so (NULL pointers, zero ids, host checks).
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    SetCondition(bool),
    AddNet {
        net: NetId,
        cluster: ClusterRef,
        min_links: u32,
    },
    AddNetAssociate {
        net: NetId,
        cluster: ClusterRef,
    },
    RemoveNet(NetId),
    SetNetCondition {
        net: NetId,
        on: bool,
    },
    LinkCreate {
        addr: Addr,
        net: NetId,
    },
    LinkUpdate {
        addr: Addr,
        host: Box<str>,
        port: u16,
    },
    StreamAdd {
        addr: Addr,
        uplink: bool,
    },
    StreamReplace {
        addr: Addr,
        uplink: bool,
    },
    StreamDelete {
        addr: Addr,
    },
    Accounting {
        net: NetId,
        addr: Addr,
        ok: bool,
    },
    ClusterJoined {
        addr: Addr,
        cluster: ClusterRef,
    },
    ClusterLeft {
        addr: Addr,
        cluster: ClusterRef,
    },
    StaticJoined {
        addr: Addr,
        cluster: ClusterRef,
    },
    StaticLeft {
        addr: Addr,
        cluster: ClusterRef,
    },
    ClientConnected {
        addr: Addr,
        tag: u64,
    },
    ClientError {
        addr: Addr,
        tag: u64,
        last_attempt: bool,
    },
    /// One maintenance tick: the next phase in turn, or the one named.
    Tick(Option<TickPhase>),
    /// Delete every link and forget every net (the first half of `deinit`).
    Shutdown,
    /// Test-only: panic inside the handler (fault injection).
    Panic,
}

/// Names of the operation kinds, by [`Op::index`].
pub const OP_NAMES: [&str; 20] = [
    "set_condition",
    "add_net",
    "add_net_associate",
    "remove_net",
    "set_net_condition",
    "link_create",
    "link_update",
    "stream_add",
    "stream_replace",
    "stream_delete",
    "accounting",
    "cluster_joined",
    "cluster_left",
    "static_joined",
    "static_left",
    "client_connected",
    "client_error",
    "tick",
    "shutdown",
    "panic",
];

impl Op {
    /// Stable index of the operation kind, into [`OP_NAMES`] (per-type statistics).
    pub fn index(&self) -> usize {
        match self {
            Op::SetCondition(_) => 0,
            Op::AddNet { .. } => 1,
            Op::AddNetAssociate { .. } => 2,
            Op::RemoveNet(_) => 3,
            Op::SetNetCondition { .. } => 4,
            Op::LinkCreate { .. } => 5,
            Op::LinkUpdate { .. } => 6,
            Op::StreamAdd { .. } => 7,
            Op::StreamReplace { .. } => 8,
            Op::StreamDelete { .. } => 9,
            Op::Accounting { .. } => 10,
            Op::ClusterJoined { .. } => 11,
            Op::ClusterLeft { .. } => 12,
            Op::StaticJoined { .. } => 13,
            Op::StaticLeft { .. } => 14,
            Op::ClientConnected { .. } => 15,
            Op::ClientError { .. } => 16,
            Op::Tick(_) => 17,
            Op::Shutdown => 18,
            Op::Panic => 19,
        }
    }

    /// Stable short name, used in logs and per-type statistics.
    pub fn name(&self) -> &'static str {
        OP_NAMES[self.index()]
    }

    /// Events that report a fact about a link: never dropped, applied in issue order (FIX-ORDER).
    pub fn is_fact(&self) -> bool {
        matches!(
            self,
            Op::StreamAdd { .. }
                | Op::StreamReplace { .. }
                | Op::StreamDelete { .. }
                | Op::Accounting { .. }
                | Op::ClusterJoined { .. }
                | Op::ClusterLeft { .. }
                | Op::StaticJoined { .. }
                | Op::StaticLeft { .. }
                | Op::ClientConnected { .. }
                | Op::ClientError { .. }
        )
    }
}

struct Net {
    id: NetId,
    /// Primary first.
    clusters: Vec<ClusterRef>,
    min_links: u32,
    active: bool,
    uplinks_cached: usize,
}

#[derive(Default)]
struct State {
    active: bool,
    links: HashMap<Addr, Link, FastState>,
    nets: Vec<Net>,
    hot: HashMap<NetId, HashMap<Addr, u64, FastState>, FastState>,
    next_phase_is_wakeup: bool,
    next_client_tag: u64,
    count_changed: bool,
    // publication bookkeeping
    dirty_links: Vec<Addr>,
    nets_dirty: bool,
    hot_dirty: Vec<NetId>,
    published_links: LinkMap,
    published_hot: view::HotLists,
    seq: u64,
}

/// The link manager state machine. Single-threaded: owned and driven by the actor thread.
pub struct Core {
    st: RefCell<State>,
    sdk: Box<dyn Sdk>,
    node: Box<dyn Node>,
    cfg: Config,
    clock: Arc<Clock>,
    manager: *mut dap_link_manager_t,
    /// Membership callbacks the SDK made synchronously while the state was borrowed.
    inplace: RefCell<VecDeque<Op>>,
    sdk_depth: Cell<u32>,
    /// Nesting of `apply` (re-entrant `_sync` calls from callbacks).
    depth: Cell<u32>,
    /// Link records deleted while a callback may still hold their pointer; freed at depth 0.
    graveyard: RefCell<Vec<Link>>,
    /// The view getters read; replaced by [`Core::publish`].
    views: Arc<ArcSwap<Snapshot>>,
}

thread_local! {
    /// The core whose `apply`/`end_pass` is running on this thread (the actor thread), for re-entry.
    static CURRENT: Cell<*const Core> = const { Cell::new(std::ptr::null()) };
}

/// Run `f` with the core currently driving this thread, if any (i.e. we are inside one of its calls:
/// a node callback or an SDK callback on the actor thread).
pub fn with_current<R>(f: impl FnOnce(&Core) -> R) -> Option<R> {
    let p = CURRENT.with(|c| c.get());
    // SAFETY: CURRENT is set only by `Entered` for the duration of a `&self` method of that core on
    // this thread, so the core outlives this use; Core is used through `&` only (interior mutability).
    (!p.is_null()).then(|| f(unsafe { &*p }))
}

/// Marks this thread as driving `core` until dropped (restores the previous value: nesting is fine).
pub struct Entered(*const Core);

impl Entered {
    fn new(core: &Core) -> Self {
        Entered(CURRENT.with(|c| c.replace(core as *const Core)))
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.0));
    }
}

impl Core {
    /// `manager` is the C-visible manager object stored in every `dap_link_t::link_manager`.
    pub fn new(
        sdk: Box<dyn Sdk>,
        node: Box<dyn Node>,
        cfg: Config,
        clock: Arc<Clock>,
        manager: *mut dap_link_manager_t,
    ) -> Self {
        // The first tick is a links request, as in C (`s_update_states` starts with wake-up mode off).
        let st = State { active: true, next_phase_is_wakeup: false, nets_dirty: true, ..State::default() };
        Self {
            st: RefCell::new(st),
            sdk,
            node,
            cfg,
            clock,
            manager,
            inplace: RefCell::new(VecDeque::new()),
            sdk_depth: Cell::new(0),
            depth: Cell::new(0),
            graveyard: RefCell::new(Vec::new()),
            views: Arc::new(ArcSwap::from_pointee(Snapshot::default())),
        }
    }

    /// Mark the calling thread as the one driving this core (the actor thread does so for its life), so
    /// calls made on it from callbacks find the core through [`with_current`].
    pub fn enter(&self) -> Entered {
        Entered::new(self)
    }

    /// The published view, shared with getter threads.
    pub fn views(&self) -> &Arc<ArcSwap<Snapshot>> {
        &self.views
    }

    /// A call made on the actor thread from inside a callback: facts the SDK reports synchronously from
    /// one of our own calls are applied right after that call returns; anything else runs inline now.
    pub fn reenter(&self, op: Op) -> i32 {
        if self.in_sdk_call() || !self.can_enter() {
            self.defer_inplace(op);
            return 0;
        }
        self.apply(op)
    }

    /// True while the core is inside an SDK call that may call back synchronously.
    pub fn in_sdk_call(&self) -> bool {
        self.sdk_depth.get() > 0
    }

    /// True when the state is free, i.e. a re-entrant call can run inline now.
    pub fn can_enter(&self) -> bool {
        self.st.try_borrow_mut().is_ok()
    }

    /// Park a membership event the SDK reported synchronously from inside one of our calls.
    pub fn defer_inplace(&self, op: Op) {
        self.inplace.borrow_mut().push_back(op);
    }

    /// Apply one operation. Returns the original C result code of the operation (0 when it has none).
    pub fn apply(&self, op: Op) -> i32 {
        let _entered = Entered::new(self);
        self.depth.set(self.depth.get() + 1);
        let guard = DepthGuard(self);
        let rc = self.dispatch(op);
        drop(guard);
        rc
    }

    fn dispatch(&self, op: Op) -> i32 {
        match op {
            Op::SetCondition(on) => {
                let mut st = self.st.borrow_mut();
                st.active = on;
                st.nets_dirty = true;
                0
            }
            Op::AddNet { net, cluster, min_links } => self.add_net(net, cluster, min_links),
            Op::AddNetAssociate { net, cluster } => self.add_net_associate(net, cluster),
            Op::RemoveNet(net) => {
                self.set_net_condition(net, false);
                let mut st = self.st.borrow_mut();
                // A net that was already inactive is still forgotten by its links (C kept a dangling
                // pointer to the freed net in them).
                if st.nets.iter().any(|n| n.id == net) {
                    self.detach_net(&mut st, net);
                }
                st.nets.retain(|n| n.id != net);
                st.nets_dirty = true;
                0
            }
            Op::SetNetCondition { net, on } => {
                self.set_net_condition(net, on);
                0
            }
            Op::LinkCreate { addr, net } => self.link_create(addr, net),
            Op::LinkUpdate { addr, host, port } => {
                self.link_update(addr, &host, port);
                0
            }
            Op::StreamAdd { addr, uplink } => {
                self.stream_add(addr, uplink);
                0
            }
            Op::StreamReplace { addr, uplink } => {
                self.stream_replace(addr, uplink);
                0
            }
            Op::StreamDelete { addr } => {
                self.stream_delete(addr);
                0
            }
            Op::Accounting { net, addr, ok } => {
                self.accounting(net, addr, ok);
                0
            }
            op @ (Op::ClusterJoined { .. }
            | Op::ClusterLeft { .. }
            | Op::StaticJoined { .. }
            | Op::StaticLeft { .. }) => {
                let mut st = self.st.borrow_mut();
                self.membership(&mut st, op);
                0
            }
            Op::ClientConnected { addr, tag } => {
                self.client_connected(addr, tag);
                0
            }
            Op::ClientError { addr, tag, last_attempt } => {
                self.client_error(addr, tag, last_attempt);
                0
            }
            Op::Tick(phase) => {
                self.tick(phase);
                0
            }
            Op::Shutdown => {
                self.shutdown();
                0
            }
            Op::Panic => panic!("injected fault"),
        }
    }

    // ---------------------------------------------------------------- nets (§3)

    fn add_net(&self, net: NetId, cluster: ClusterRef, min_links: u32) -> i32 {
        let mut st = self.st.borrow_mut();
        if st.nets.iter().any(|n| n.id == net) {
            warn!("[LM-ERROR] code=-3 net 0x{net:016X} is already managed");
            return -3;
        }
        st.nets.push(Net { id: net, clusters: vec![cluster], min_links, active: false, uplinks_cached: 0 });
        st.nets_dirty = true;
        info!("net 0x{net:016X} added, min links {min_links}");
        0
    }

    fn add_net_associate(&self, net: NetId, cluster: ClusterRef) -> i32 {
        let mut st = self.st.borrow_mut();
        let Some(n) = st.nets.iter_mut().find(|n| n.id == net) else {
            warn!("[LM-ERROR] code=-3 associate: net 0x{net:016X} is not managed");
            return -3;
        };
        if n.clusters.contains(&cluster) {
            warn!("[LM-ERROR] code=-4 associate: cluster already attached to net 0x{net:016X}");
            return -4;
        }
        n.clusters.push(cluster);
        let on = n.active;
        st.nets_dirty = true;
        // FIX-ASSOC-STATUS: the new cluster takes the net's current status at once.
        self.sdk_call(&mut st, |sdk| sdk.cluster_set_enabled(cluster, on));
        0
    }

    fn set_net_condition(&self, net: NetId, on: bool) {
        let mut st = self.st.borrow_mut();
        let Some(n) = st.nets.iter_mut().find(|n| n.id == net) else { return };
        if n.active == on {
            return;
        }
        n.active = on;
        let clusters = n.clusters.clone();
        st.nets_dirty = true;
        info!("net 0x{net:016X} {}", if on { "enabled" } else { "disabled" });
        for c in &clusters {
            self.sdk_call(&mut st, |sdk| {
                sdk.cluster_set_enabled(*c, on);
                if !on {
                    sdk.cluster_clear(*c);
                }
            });
        }
        if on {
            return;
        }
        st.count_changed = true;
        self.detach_net(&mut st, net);
    }

    /// Remove `net` from every link; a link left with no net is deleted (static links keep their client).
    fn detach_net(&self, st: &mut State, net: NetId) {
        let mut changed = Vec::new();
        for l in st.links.values_mut() {
            if set_remove(&mut l.nets, &net) {
                changed.push((l.addr, l.nets.is_empty()));
            }
        }
        changed.sort_unstable(); // deterministic order of the SDK calls, for tests and replays
        for (a, _) in &changed {
            Self::mark(st, *a);
        }
        for (a, orphan) in changed {
            if orphan {
                self.delete_link(st, a, false, false);
            }
        }
    }

    // ---------------------------------------------------------------- links (§4)

    fn link_create(&self, addr: Addr, net: NetId) -> i32 {
        let mut st = self.st.borrow_mut();
        if addr == self.sdk.own_addr() {
            warn!("[LM-ERROR] code=-1 link_create: {} is this node's own address", NodeAddr(addr));
            return -1;
        }
        let rc = self.link_create_in(&mut st, addr, net);
        // Always stamped, whatever the outcome (C stamps after the attempt, for any net id).
        let now = self.clock.now_secs();
        st.hot.entry(net).or_default().insert(addr, now);
        if !st.hot_dirty.contains(&net) {
            st.hot_dirty.push(net);
        }
        rc
    }

    /// As C's `s_link_manager_link_create`: find or make the link, give it a client, then associate the
    /// net; on -2 a link made here is rolled back (its client deleted).
    fn link_create_in(&self, st: &mut State, addr: Addr, net: NetId) -> i32 {
        let created = !st.links.contains_key(&addr);
        if created {
            st.links.insert(addr, Link::new(addr, self.manager));
        }
        let needs_client = st.links.get(&addr).is_some_and(|l| l.client.is_none());
        if needs_client {
            st.next_client_tag += 1;
            let tag = st.next_client_tag;
            match self.sdk.client_new(addr, tag) {
                Some(c) => {
                    let l = st.links.get_mut(&addr).expect("link present");
                    l.set_client(Some(c), tag);
                }
                None => {
                    error!("[LM-ERROR] code=-4 link_create {}: the SDK could not make a client", NodeAddr(addr));
                    if created {
                        st.links.remove(&addr);
                    }
                    return -4;
                }
            }
        }
        if net != DAP_NET_ID_INVALID {
            let known = st.nets.iter().any(|n| n.id == net);
            let l = st.links.get_mut(&addr).expect("link present");
            if !known || !set_insert(&mut l.nets, net) {
                if known {
                    debug!("link_create {}: net 0x{net:016X} already associated", NodeAddr(addr));
                } else {
                    warn!("[LM-ERROR] code=-2 link_create {}: net 0x{net:016X} is not managed", NodeAddr(addr));
                }
                if created {
                    let l = st.links.remove(&addr).expect("link present");
                    if let Some(c) = l.client {
                        self.sdk.client_delete(c);
                    }
                } else if needs_client {
                    Self::mark(st, addr);
                }
                return -2;
            }
        }
        Self::mark(st, addr);
        if self.cfg.debug_more {
            debug!("[LM-TRACE] link {} created/associated with net 0x{net:016X}", NodeAddr(addr));
        }
        0
    }

    fn link_update(&self, addr: Addr, host: &str, port: u16) {
        let mut st = self.st.borrow_mut();
        let Some(l) = st.links.get_mut(&addr) else {
            warn!("link_update {}: no such link", NodeAddr(addr));
            return;
        };
        let Some(client) = l.client else {
            warn!("link_update {}: link has no client", NodeAddr(addr));
            return;
        };
        if l.state() != DISCONNECTED {
            l.rec.get_mut().uplink.ready = false;
            debug!("link_update {}: link is not disconnected, update ignored", NodeAddr(addr));
            return;
        }
        let ready = std::mem::replace(&mut l.rec.get_mut().uplink.ready, false);
        self.sdk.client_set_uplink(client, addr, host, port);
        self.sdk.client_set_always_reconnect(client, false);
        self.sdk.client_set_active_channels(client, &channels::current());
        if ready {
            Self::connect(self.sdk.as_ref(), l);
        }
        Self::mark(&mut st, addr);
    }

    fn connect(sdk: &dyn Sdk, l: &mut Link) {
        let Some(client) = l.client else { return };
        l.set_state(CONNECTING);
        sdk.client_connect(client);
    }

    // ---------------------------------------------------------------- streams (§5)

    fn stream_add(&self, addr: Addr, uplink: bool) {
        let nets = {
            let mut st = self.st.borrow_mut();
            if uplink && !st.links.contains_key(&addr) {
                error!("[LM-ERROR] stream_add: uplink {} has no link", NodeAddr(addr));
                return;
            }
            st.links.entry(addr).or_insert_with(|| Link::new(addr, self.manager));
            let l = &st.links[&addr];
            if l.in_active_clusters() {
                debug!("stream_add {}: link already in active clusters", NodeAddr(addr));
                return;
            }
            let statics = l.static_clusters.clone();
            for c in statics {
                if self.sdk.cluster_enabled(c) {
                    self.sdk_call(&mut st, |sdk| sdk.cluster_add(c, addr));
                    st.count_changed = true;
                }
            }
            Self::mark(&mut st, addr);
            let Some(l) = st.links.get(&addr) else { return };
            let active: Vec<NetId> =
                l.nets.iter().copied().filter(|n| st.nets.iter().any(|x| x.id == *n && x.active)).collect();
            if uplink {
                active
            } else {
                Vec::new()
            }
        };
        for net in nets {
            self.call_node_on(addr, |node, p| node.connected(p, net));
        }
        let mut st = self.st.borrow_mut();
        if let Some(l) = st.links.get_mut(&addr) {
            l.rec.get_mut().is_uplink = uplink;
            Self::mark(&mut st, addr);
        }
    }

    fn stream_replace(&self, addr: Addr, uplink: bool) {
        let mut st = self.st.borrow_mut();
        let Some(l) = st.links.get_mut(&addr) else { return };
        if !l.in_active_clusters() {
            return;
        }
        if l.rec.get().is_uplink && !uplink {
            // FIX-REPLACE-NOCLIENT: a link without a client just changes direction.
            if let Some(c) = l.client {
                self.sdk.client_reset(c);
                l.set_state(DISCONNECTED);
            }
        }
        l.rec.get_mut().is_uplink = uplink;
        Self::mark(&mut st, addr);
    }

    fn stream_delete(&self, addr: Addr) {
        let mut st = self.st.borrow_mut();
        let Some(l) = st.links.get_mut(&addr) else { return };
        if !l.in_active_clusters() {
            // FIX-GHOST-DOWNLINK: a client-less record with no cluster at all is gone with its stream.
            if l.client.is_none() && l.static_clusters.is_empty() {
                self.delete_link(&mut st, addr, true, false);
            }
            return;
        }
        l.rec.get_mut().stream_is_destroyed = true;
        let clusters = l.active_clusters.clone();
        for c in clusters {
            self.sdk_call(&mut st, |sdk| sdk.cluster_delete(c, addr));
            if let Some(l) = st.links.get_mut(&addr) {
                set_remove(&mut l.active_clusters, &c);
            }
        }
        st.count_changed = true;
        Self::mark(&mut st, addr);
        if st.links.get(&addr).is_some_and(|l| l.client.is_none()) {
            self.delete_link(&mut st, addr, false, false);
        }
    }

    // ---------------------------------------------------------------- accounting, clusters (§6)

    fn accounting(&self, net: NetId, addr: Addr, ok: bool) {
        let primary = {
            let mut st = self.st.borrow_mut();
            let Some(n) = st.nets.iter().find(|n| n.id == net) else { return };
            let clusters = n.clusters.clone();
            let Some(l) = st.links.get(&addr) else { return };
            if ok {
                let statics = l.static_clusters.clone();
                for (i, c) in clusters.iter().enumerate() {
                    if i == 0 || statics.contains(c) {
                        self.sdk_call(&mut st, |sdk| sdk.cluster_add(*c, addr));
                        st.count_changed = true;
                    }
                }
                Self::mark(&mut st, addr);
                return;
            }
            for c in &clusters {
                self.sdk_call(&mut st, |sdk| sdk.cluster_delete(*c, addr));
                if let Some(l) = st.links.get_mut(&addr) {
                    set_remove(&mut l.active_clusters, c);
                }
            }
            st.count_changed = true;
            let delay = self.cfg.reconnect_delay_secs;
            let now = self.clock.now_secs();
            if let Some(l) = st.links.get_mut(&addr) {
                l.rec.get_mut().uplink.start_after = now + delay;
            }
            Self::mark(&mut st, addr);
            clusters[0]
        };
        let count = self.sdk.cluster_count(primary) as i32;
        let permanent = self.call_node_on(addr, |node, p| node.disconnected(p, net, count)).unwrap_or(false);
        if permanent {
            return;
        }
        let mut st = self.st.borrow_mut();
        let Some(l) = st.links.get_mut(&addr) else { return };
        set_remove(&mut l.nets, &net);
        let gone = l.client.is_some() && l.nets.is_empty() && l.static_clusters.is_empty();
        Self::mark(&mut st, addr);
        if gone {
            self.delete_link(&mut st, addr, false, false);
        }
    }

    fn membership(&self, st: &mut State, op: Op) {
        match op {
            Op::ClusterJoined { addr, cluster } => {
                if let Some(l) = st.links.get_mut(&addr) {
                    set_insert(&mut l.active_clusters, cluster);
                    Self::mark(st, addr);
                }
                self.refresh_counts_of(st, cluster);
            }
            Op::ClusterLeft { addr, cluster } => {
                if let Some(l) = st.links.get_mut(&addr) {
                    set_remove(&mut l.active_clusters, &cluster);
                    Self::mark(st, addr);
                }
                self.refresh_counts_of(st, cluster);
            }
            Op::StaticJoined { addr, cluster } => {
                if addr == self.sdk.own_addr() {
                    return;
                }
                st.links.entry(addr).or_insert_with(|| Link::new(addr, self.manager));
                if st.links[&addr].client.is_none() {
                    st.next_client_tag += 1;
                    let tag = st.next_client_tag;
                    match self.sdk.client_new(addr, tag) {
                        Some(c) => st.links.get_mut(&addr).expect("present").set_client(Some(c), tag),
                        None => error!("[LM-ERROR] static link {}: the SDK could not make a client", NodeAddr(addr)),
                    }
                }
                let l = st.links.get_mut(&addr).expect("present");
                set_insert(&mut l.static_clusters, cluster);
                Self::mark(st, addr);
            }
            Op::StaticLeft { addr, cluster } => {
                if addr == self.sdk.own_addr() {
                    return;
                }
                let Some(l) = st.links.get_mut(&addr) else { return };
                set_remove(&mut l.static_clusters, &cluster);
                let orphan = l.static_clusters.is_empty() && l.active_clusters.is_empty();
                Self::mark(st, addr);
                if orphan {
                    self.delete_link(st, addr, false, true);
                }
            }
            other => unreachable!("not a membership op: {other:?}"),
        }
    }

    /// Net views cache the primary-cluster count; a membership change of a primary cluster dirties them.
    fn refresh_counts_of(&self, st: &mut State, cluster: ClusterRef) {
        if st.nets.iter().any(|n| n.clusters[0] == cluster) {
            st.nets_dirty = true;
        }
    }

    // ---------------------------------------------------------------- uplink state machine (§7)

    fn client_connected(&self, addr: Addr, tag: u64) {
        let mut st = self.st.borrow_mut();
        let Some(l) = st.links.get_mut(&addr).filter(|l| l.client.is_some() && l.client_tag == tag) else {
            info!("client of {} connected, but the link was already dropped", NodeAddr(addr));
            return;
        };
        let uuid = self.sdk.client_stream_uuid(l.client.expect("checked"));
        let rec = l.rec.get_mut();
        rec.uplink.attempts_count = 0;
        rec.uplink.state = ESTABLISHED;
        rec.uplink.es_uuid = uuid;
        info!("uplink {} established", NodeAddr(addr));
        Self::mark(&mut st, addr);
    }

    fn client_error(&self, addr: Addr, tag: u64, last_attempt: bool) {
        let (nets, client) = {
            let st = self.st.borrow();
            let Some(l) = st.links.get(&addr).filter(|l| l.client.is_some() && l.client_tag == tag) else {
                info!("error from a client of {}, but the link was already dropped", NodeAddr(addr));
                return;
            };
            (l.nets.clone(), l.client.expect("checked"))
        };
        if last_attempt {
            self.uplink_lost(addr);
            return;
        }
        let stage = self.sdk.client_stage_target(client);
        for net in nets {
            self.call_node_on(addr, |node, p| node.error(p, net, stage));
        }
        let mut st = self.st.borrow_mut();
        let Some(l) = st.links.get_mut(&addr).filter(|l| l.client_tag == tag) else { return };
        if l.state() == ESTABLISHED {
            l.rec.get_mut().stream_is_destroyed = true;
            self.delete_link(&mut st, addr, false, true);
        } else if l.in_active_clusters() {
            if let Some(c) = l.client {
                self.sdk.client_reset(c);
            }
            l.set_state(DISCONNECTED);
            Self::mark(&mut st, addr);
        }
    }

    /// The uplink is down ("drop as disconnected", CONTRACT.md §7 flag set; also the §8 wake-up with no
    /// address): DISCONNECTED, next try after `reconnect_delay`; past `max_attempts` the nets decide.
    fn uplink_lost(&self, addr: Addr) {
        let mut st = self.st.borrow_mut();
        let Some(l) = st.links.get_mut(&addr) else { return };
        let Some(client) = l.client else { return };
        let now = self.clock.now_secs();
        let rec = l.rec.get_mut();
        rec.uplink.state = DISCONNECTED;
        rec.uplink.start_after = now + self.cfg.reconnect_delay_secs;
        rec.uplink.attempts_count += 1;
        let attempts = rec.uplink.attempts_count;
        Self::mark(&mut st, addr);
        if attempts < self.cfg.max_attempts {
            self.sdk.client_reset(client);
            debug!("uplink {} lost, attempt {attempts} of {}", NodeAddr(addr), self.cfg.max_attempts);
            return;
        }
        drop(st);
        self.drop_disconnected(addr);
    }

    /// The link is disconnected for good this round: each active net decides through `disconnected`
    /// whether to keep it (permanent); a link left with nothing is deleted, else its client is reset.
    fn drop_disconnected(&self, addr: Addr) {
        let nets = match self.st.borrow().links.get(&addr) {
            Some(l) => l.nets.clone(),
            None => return,
        };
        let mut keep = Vec::new();
        for net in nets {
            let info = {
                let st = self.st.borrow();
                st.nets.iter().find(|n| n.id == net).map(|n| (n.active, n.clusters[0]))
            };
            let Some((true, primary)) = info else { continue };
            let count = self.sdk.cluster_count(primary) as i32;
            if self.call_node_on(addr, |node, p| node.disconnected(p, net, count)).unwrap_or(false) {
                keep.push(net);
            }
        }
        let mut st = self.st.borrow_mut();
        let Some(l) = st.links.get_mut(&addr) else { return };
        l.nets.retain(|n| keep.contains(n));
        l.rec.get_mut().uplink.attempts_count = 0;
        let orphan = l.active_clusters.is_empty() && l.nets.is_empty() && l.static_clusters.is_empty();
        let client = l.client;
        Self::mark(&mut st, addr);
        if orphan {
            info!("uplink {} dropped: no net keeps it", NodeAddr(addr));
            self.delete_link(&mut st, addr, false, false);
        } else if let Some(c) = client {
            self.sdk.client_reset(c);
        }
    }

    /// Delete a link (CONTRACT.md §7 "Delete link"): out of every active cluster, client reset or deleted,
    /// downlink streams closed; the record is kept when preserved.
    fn delete_link(&self, st: &mut State, addr: Addr, force: bool, preserve_client: bool) {
        let Some(l) = st.links.get(&addr) else { return };
        let clusters = l.active_clusters.clone();
        let had_clusters = !clusters.is_empty();
        let was_uplink = l.rec.get().is_uplink;
        for c in clusters {
            self.sdk_call(st, |sdk| sdk.cluster_delete(c, addr));
        }
        let Some(l) = st.links.get_mut(&addr) else { return };
        // (the membership callbacks of the deletes above have already emptied it)
        l.active_clusters.clear();
        if had_clusters && was_uplink && !l.nets.is_empty() {
            st.count_changed = true;
        }
        let l = st.links.get_mut(&addr).expect("present");
        let preserve = (preserve_client || !l.static_clusters.is_empty()) && !force;
        // As C's s_link_delete: a preserved link whose stream is already destroyed keeps its nets, client
        // and state (the client's own error/drop events decide what happens to it next).
        if !l.rec.get().stream_is_destroyed || !preserve {
            let own_uuid = if l.client.is_some() { l.rec.get().uplink.es_uuid } else { 0 };
            if let Some(c) = l.client {
                l.nets.clear();
                if !preserve {
                    self.sdk.client_delete(c);
                    l.set_client(None, 0);
                } else if l.state() != DISCONNECTED {
                    self.sdk.client_reset(c);
                    l.set_state(DISCONNECTED);
                }
            }
            self.sdk.streams_close(addr, own_uuid);
        }
        Self::mark(st, addr);
        if !preserve {
            if let Some(l) = st.links.remove(&addr) {
                self.graveyard.borrow_mut().push(l);
            }
            debug!("link {} deleted", NodeAddr(addr));
        }
    }

    // ---------------------------------------------------------------- tick (§8)

    /// The phase the next `Tick(None)` will run.
    pub fn next_tick_phase(&self) -> TickPhase {
        if self.st.borrow().next_phase_is_wakeup {
            TickPhase::WakeUp
        } else {
            TickPhase::LinksRequest
        }
    }

    fn tick(&self, phase: Option<TickPhase>) {
        let phase = {
            let mut st = self.st.borrow_mut();
            if !st.active {
                return;
            }
            let next = if st.next_phase_is_wakeup { TickPhase::WakeUp } else { TickPhase::LinksRequest };
            let phase = phase.unwrap_or(next);
            st.next_phase_is_wakeup = phase == TickPhase::LinksRequest;
            self.expire_hot(&mut st);
            phase
        };
        match phase {
            TickPhase::LinksRequest => self.links_request(),
            TickPhase::WakeUp => self.wake_up(),
        }
    }

    fn expire_hot(&self, st: &mut State) {
        let now = self.clock.now_secs();
        let mut changed = Vec::new();
        for (net, list) in st.hot.iter_mut() {
            let before = list.len();
            list.retain(|_, t| now.saturating_sub(*t) <= view::HOT_LIST_COOLING_SECS);
            if list.len() != before {
                changed.push(*net);
            }
        }
        for n in changed {
            if !st.hot_dirty.contains(&n) {
                st.hot_dirty.push(n);
            }
        }
    }

    fn links_request(&self) {
        let wanted: Vec<NetId> = {
            let mut st = self.st.borrow_mut();
            let mut wanted = Vec::new();
            for i in 0..st.nets.len() {
                if !st.nets[i].active {
                    continue;
                }
                let count = self.sdk.cluster_count(st.nets[i].clusters[0]);
                let n = &mut st.nets[i];
                n.uplinks_cached = count;
                if count < n.min_links as usize {
                    wanted.push(n.id);
                }
            }
            st.nets_dirty = true;
            wanted
        };
        for net in wanted {
            if self.node.link_request(net).is_none() {
                debug!("net 0x{net:016X} needs links, but the node gave no link_request callback");
            }
        }
    }

    fn wake_up(&self) {
        let now = self.clock.now_secs();
        let mut addrs: Vec<Addr> =
            self.st.borrow().links.values().filter(|l| l.client.is_some()).map(|l| l.addr).collect();
        addrs.sort_unstable(); // deterministic order for tests and replays
                               // Who is in each primary cluster, read once per pass from the SDK under the cluster's lock (not
                               // from the member callbacks: a member added before its link existed was never recorded on it,
                               // and not with the unlocked `dap_cluster_member_find_unsafe`).
        let primaries: Vec<ClusterRef> = self.st.borrow().nets.iter().map(|n| n.clusters[0]).collect();
        let members: HashMap<ClusterRef, std::collections::HashSet<Addr>> =
            primaries.into_iter().map(|c| (c, self.sdk.cluster_members(c).into_iter().collect())).collect();
        for addr in addrs {
            self.wake_up_link(addr, now, &members);
        }
    }

    fn wake_up_link(&self, addr: Addr, now: u64, members: &HashMap<ClusterRef, std::collections::HashSet<Addr>>) {
        let (established, start_after, nets) = {
            let st = self.st.borrow();
            let Some(l) = st.links.get(&addr) else { return };
            (l.state() == ESTABLISHED, l.rec.get().uplink.start_after, l.nets.clone())
        };
        if established && start_after < now {
            for net in nets {
                let unaccounted = {
                    let st = self.st.borrow();
                    let primary = st.nets.iter().find(|n| n.id == net).map(|n| n.clusters[0]);
                    primary.is_some_and(|p| !members.get(&p).is_some_and(|m| m.contains(&addr)))
                };
                if unaccounted {
                    self.call_node_on(addr, |node, p| node.connected(p, net));
                }
            }
        }
        let client = {
            let mut st = self.st.borrow_mut();
            let st = &mut *st;
            let Some(l) = st.links.get(&addr) else { return };
            let Some(client) = l.client else { return };
            let has_static_on = l.static_clusters.iter().any(|c| self.sdk.cluster_enabled(*c));
            if l.in_active_clusters()
                || l.state() != DISCONNECTED
                || (l.nets.is_empty() && !has_static_on)
                || l.rec.get().uplink.start_after >= now
            {
                return;
            }
            if self.sdk.client_stage(client) != crate::abi::stage::BEGIN {
                self.sdk.client_reset(client);
                return;
            }
            client
        };
        let rc = self.call_node_on(addr, |node, p| node.fill_net_info(p));
        let Some(rc) = rc else { return };
        if rc == 0 {
            return;
        }
        let mut st = self.st.borrow_mut();
        let Some(l) = st.links.get_mut(&addr).filter(|l| l.client == Some(client)) else { return };
        if self.sdk.client_port(client) != 0 {
            Self::connect(self.sdk.as_ref(), l);
            Self::mark(&mut st, addr);
            return;
        }
        drop(st);
        info!("no address known for uplink {}: dropped as disconnected", NodeAddr(addr));
        self.uplink_lost(addr);
    }

    // ---------------------------------------------------------------- shutdown

    fn shutdown(&self) {
        let mut st = self.st.borrow_mut();
        st.active = false;
        let addrs: Vec<Addr> = st.links.keys().copied().collect();
        for a in addrs {
            self.delete_link(&mut st, a, true, false);
        }
        let nets: Vec<NetId> = st.nets.iter().map(|n| n.id).collect();
        drop(st);
        for n in nets {
            self.set_net_condition(n, false);
        }
        let mut st = self.st.borrow_mut();
        st.nets.clear();
        let hot: Vec<NetId> = st.hot.drain().map(|(net, _)| net).collect();
        for net in hot {
            if !st.hot_dirty.contains(&net) {
                st.hot_dirty.push(net);
            }
        }
        st.nets_dirty = true;
        st.count_changed = false;
    }

    // ---------------------------------------------------------------- plumbing

    fn mark(st: &mut State, addr: Addr) {
        if let Some(l) = st.links.get_mut(&addr) {
            if l.dirty {
                return;
            }
            l.dirty = true;
        }
        st.dirty_links.push(addr);
    }

    /// Make an SDK call that may call back synchronously with membership events, then apply them.
    fn sdk_call<R>(&self, st: &mut State, f: impl FnOnce(&dyn Sdk) -> R) -> R {
        self.sdk_depth.set(self.sdk_depth.get() + 1);
        let r = f(self.sdk.as_ref());
        self.sdk_depth.set(self.sdk_depth.get() - 1);
        loop {
            let next = self.inplace.borrow_mut().pop_front();
            match next {
                Some(op) => self.membership(st, op),
                None => break,
            }
        }
        r
    }

    /// Call a node callback with the live record of `addr`, state not borrowed. None if the link is gone.
    fn call_node_on<R>(&self, addr: Addr, f: impl FnOnce(&dyn Node, *mut crate::abi::dap_link_t) -> R) -> Option<R> {
        let ptr = self.st.borrow().links.get(&addr).map(|l| l.rec.as_ptr())?;
        Some(f(self.node.as_ref(), ptr))
    }

    /// End of a drain pass: one `link_count_changed` for all membership changes of the pass (coalesced),
    /// then free the records deleted during it.
    pub fn end_pass(&self) {
        let _entered = Entered::new(self);
        let changed = std::mem::take(&mut self.st.borrow_mut().count_changed);
        if changed {
            self.node.link_count_changed();
        }
        if self.depth.get() == 0 {
            self.graveyard.borrow_mut().clear();
        }
    }

    /// Publish the current state for getters if anything changed (reusing every unchanged part of the
    /// previous view). Returns false when the state is borrowed (called from inside an SDK call).
    pub fn publish(&self) -> bool {
        let Ok(st) = self.st.try_borrow() else { return false };
        let dirty = st.nets_dirty || !st.dirty_links.is_empty() || !st.hot_dirty.is_empty();
        drop(st);
        if dirty {
            let prev = self.views.load_full();
            let next = self.build_view(&prev);
            self.views.store(Arc::new(next));
            view::bump_view_generation();
        }
        true
    }

    fn build_view(&self, prev: &Snapshot) -> Snapshot {
        let mut st = self.st.borrow_mut();
        let st = &mut *st;
        st.seq += 1;
        let dirty = std::mem::take(&mut st.dirty_links);
        for a in dirty {
            match st.links.get_mut(&a) {
                Some(l) => {
                    l.dirty = false;
                    st.published_links.insert(a, Arc::new(Self::view_of(l)));
                }
                None => {
                    st.published_links.remove(&a);
                }
            }
        }
        let nets: Arc<[NetView]> = if std::mem::take(&mut st.nets_dirty) || prev.nets.len() != st.nets.len() {
            st.nets
                .iter()
                .map(|n| NetView {
                    id: n.id,
                    active: n.active,
                    min_links: n.min_links,
                    uplinks_cached: n.uplinks_cached,
                    links_count: self.sdk.cluster_count(n.clusters[0]),
                    clusters: n.clusters.clone().into_boxed_slice(),
                })
                .collect()
        } else {
            prev.nets.clone()
        };
        let hot_dirty = std::mem::take(&mut st.hot_dirty);
        if !hot_dirty.is_empty() {
            let mut hot = (*st.published_hot).clone();
            for net in hot_dirty {
                match st.hot.get(&net) {
                    Some(list) => {
                        hot.insert(net, list.iter().map(|(a, t)| (*a, *t)).collect());
                    }
                    None => {
                        hot.remove(&net);
                    }
                }
            }
            st.published_hot = Arc::new(hot);
        }
        Snapshot {
            seq: st.seq,
            taken_ns: self.clock.now_ns(),
            active: st.active,
            nets,
            links: st.published_links.clone(),
            hot: st.published_hot.clone(),
        }
    }

    fn view_of(l: &Link) -> LinkView {
        let rec = l.rec.get();
        LinkView {
            addr: l.addr,
            is_uplink: rec.is_uplink,
            state: rec.uplink.state,
            has_client: l.client.is_some(),
            attempts: rec.uplink.attempts_count,
            start_after: rec.uplink.start_after,
            es_uuid: rec.uplink.es_uuid,
            stream_is_destroyed: rec.stream_is_destroyed,
            nets: l.nets.clone().into_boxed_slice(),
            active_clusters: l.active_clusters.clone().into_boxed_slice(),
            static_clusters: l.static_clusters.clone().into_boxed_slice(),
        }
    }

    /// Number of link records (including preserved ones).
    pub fn link_count(&self) -> usize {
        self.st.borrow().links.len()
    }
}

struct DepthGuard<'a>(&'a Core);

impl Drop for DepthGuard<'_> {
    fn drop(&mut self) {
        let d = self.0.depth.get() - 1;
        self.0.depth.set(d);
        if d == 0 && !std::thread::panicking() {
            self.0.graveyard.borrow_mut().clear();
        }
    }
}
