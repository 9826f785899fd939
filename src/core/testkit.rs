//! The simulated world the property tests (`tests/core_props.rs`) and the `core_ops` fuzz target
//! (`fuzz/`) drive: a [`Core`] over [`SimSdk`]/[`SimNode`] and a virtual clock, the [`Step`]s (API calls and
//! SDK events over a small universe of addresses, nets and clusters), and the invariants checked after
//! every step. Compiled only with the `testkit` feature; this crate's tests enable it through a
//! dev-dependency on the crate itself, so a library build never contains it.
//!
//! [`Step`] implements [`Arbitrary`]: fuzzers decode their input bytes into steps with it, in the mix of
//! the property tests' proptest strategy (same kinds, same weights, same ranges).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use arbitrary::{Arbitrary, Unstructured};

use crate::abi::dap_link_state::LINK_STATE_DISCONNECTED;
use crate::abi::{stage, DAP_NET_ID_INVALID};
use crate::core::clock::Clock;
use crate::core::view::{Snapshot, HOT_LIST_COOLING_SECS};
use crate::core::{Config, Core, Op, TickPhase};
use crate::host::sim::{ClusterRole, SimNode, SimSdk};
use crate::host::{Addr, ClusterRef, NetId, Sdk};

pub const OWN: Addr = 0xF0;
/// Addresses the steps use (the own address among them, to exercise its special cases).
pub const ADDRS: [Addr; 6] = [0xA1, 0xB2, 0xC3, 0xD4, 0xE5, OWN];
/// 0xA1 and 0xB2 answer `disconnected` with true.
pub const PERMANENT: [Addr; 2] = [0xA1, 0xB2];
/// 0xA1 and 0xC3 have a known host (fill_net_info answers 0).
pub const ROUTED: [Addr; 2] = [0xA1, 0xC3];
pub const N1: NetId = 0x1;
pub const N2: NetId = 0x2;
/// Never added.
pub const N3: NetId = 0x3;
pub const NETS: [NetId; 4] = [N1, N2, N3, DAP_NET_ID_INVALID];

/// The core, the simulated host, and a model of what the hot list must answer.
pub struct World {
    pub core: Core,
    pub sdk: SimSdk,
    pub node: SimNode,
    pub clock: Arc<Clock>,
    /// Links-role clusters: n1 (N1 primary), n1b (N1 secondary), n2 (N2 primary), st/st2 (static).
    pub clusters: [ClusterRef; 5],
    /// (net, addr) -> last link_create stamp, seconds.
    stamps: HashMap<(NetId, Addr), u64>,
}

impl World {
    pub fn new(max_attempts: u32) -> Self {
        let sdk = SimSdk::new(OWN);
        let node = SimNode::default();
        let clusters = ["n1", "n1b", "n2", "st", "st2"].map(|n| sdk.cluster(n, ClusterRole::Links));
        for a in PERMANENT {
            node.set_permanent(a, true);
        }
        for a in ROUTED {
            node.set_route(a, "10.1.2.3", 8079);
        }
        let clock = Arc::new(Clock::virtual_at(1_000_000));
        let cfg = Config { max_attempts, ..Config::default() };
        let core = Core::new(Box::new(sdk.clone()), Box::new(node.clone()), cfg, clock.clone(), std::ptr::null_mut());
        Self { core, sdk, node, clock, clusters, stamps: HashMap::new() }
    }

    fn primary(&self, net: NetId) -> ClusterRef {
        if net == N1 {
            self.clusters[0]
        } else {
            self.clusters[2]
        }
    }

    pub fn view(&self) -> Arc<Snapshot> {
        self.core.views().load_full()
    }

    /// One drain pass, with the ops the node queued from inside callbacks applied after them.
    pub fn apply(&mut self, op: Op) {
        if let Op::LinkCreate { addr, net } = op {
            if addr != OWN {
                self.stamps.insert((net, addr), self.clock.now_secs());
            }
        }
        self.core.apply(op);
        loop {
            let queued = self.node.take_outbox();
            if queued.is_empty() {
                break;
            }
            for op in queued {
                self.core.apply(op);
            }
        }
        self.core.end_pass();
        assert!(self.core.publish());
    }

    pub fn step(&mut self, s: &Step) {
        match *s {
            Step::AddNet(n) => {
                let cluster = self.primary(n);
                self.apply(Op::AddNet { net: n, cluster, min_links: 2 })
            }
            Step::Associate(n) => {
                let cluster = if n == N1 { self.clusters[1] } else { self.clusters[4] };
                self.apply(Op::AddNetAssociate { net: n, cluster })
            }
            Step::NetCondition(net, on) => self.apply(Op::SetNetCondition { net, on }),
            Step::RemoveNet(n) => self.apply(Op::RemoveNet(n)),
            Step::Create(a, n) => self.apply(Op::LinkCreate { addr: ADDRS[a], net: NETS[n] }),
            Step::Update(a) => self.apply(Op::LinkUpdate { addr: ADDRS[a], host: "10.9.9.9".into(), port: 8090 }),
            Step::StreamAdd(a, up) => self.apply(Op::StreamAdd { addr: ADDRS[a], uplink: up }),
            Step::StreamReplace(a, up) => self.apply(Op::StreamReplace { addr: ADDRS[a], uplink: up }),
            Step::StreamDelete(a) => self.apply(Op::StreamDelete { addr: ADDRS[a] }),
            Step::Accounting(n, a, ok) => self.apply(Op::Accounting { net: NETS[n], addr: ADDRS[a], ok }),
            Step::StaticJoin(c, a) => {
                let cluster = self.clusters[3 + c];
                self.apply(Op::StaticJoined { addr: ADDRS[a], cluster })
            }
            Step::StaticLeave(c, a) => {
                let cluster = self.clusters[3 + c];
                self.apply(Op::StaticLeft { addr: ADDRS[a], cluster })
            }
            Step::EnableStatic(c, on) => self.sdk.cluster_set_enabled(self.clusters[3 + c], on),
            Step::Connected(a) => {
                if let Some((_, c)) = self.sdk.client_of(ADDRS[a]) {
                    self.sdk.set_client_stage(ADDRS[a], stage::STREAM_STREAMING);
                    self.apply(Op::ClientConnected { addr: ADDRS[a], tag: c.tag })
                }
            }
            Step::Error(a, last) => {
                if let Some((_, c)) = self.sdk.client_of(ADDRS[a]) {
                    self.apply(Op::ClientError { addr: ADDRS[a], tag: c.tag, last_attempt: last })
                }
            }
            // an event from some client incarnation, maybe long deleted
            Step::StaleEvent(a, tag, connected) => {
                let addr = ADDRS[a];
                if connected {
                    self.apply(Op::ClientConnected { addr, tag })
                } else {
                    self.apply(Op::ClientError { addr, tag, last_attempt: tag % 2 == 0 })
                }
            }
            Step::ClientStage(a) => {
                self.sdk.set_client_stage(ADDRS[a], stage::STREAM_CTL);
            }
            Step::AnnounceFails(on) => self.node.set_announce_fails(on),
            Step::ClientNewFails(on) => self.sdk.set_fail_client_new(on),
            Step::Tick(p) => self.apply(Op::Tick(p)),
            Step::Condition(on) => self.apply(Op::SetCondition(on)),
            Step::Wait(secs) => self.clock.advance(secs * 1_000_000_000),
        }
    }

    /// Links the contract says no op of this step may delete: permanent, with a client and an active net.
    pub fn protected(&self) -> BTreeSet<Addr> {
        let v = self.view();
        PERMANENT
            .iter()
            .copied()
            .filter(|a| v.links.get(a).is_some_and(|l| l.has_client && l.nets.iter().any(|n| v.net_condition(*n))))
            .collect()
    }

    /// The contract's invariants over the published view and the simulated SDK; panics on a violation.
    pub fn check_invariants(&self, after: &Step) {
        let v = self.view();
        let now = self.clock.now_secs();
        assert_eq!(v.links.len(), self.core.link_count(), "every link is published");

        // Links-role clusters and the links' active clusters agree, both ways.
        for (addr, l) in v.links.iter() {
            let inside: BTreeSet<ClusterRef> =
                self.clusters.iter().copied().filter(|c| self.sdk.members(*c).contains(addr)).collect();
            let recorded: BTreeSet<ClusterRef> = l.active_clusters.iter().copied().collect();
            assert_eq!(recorded.len(), l.active_clusters.len(), "no duplicate cluster in {l:?}");
            assert_eq!(recorded, inside, "active clusters of {addr:#x} vs the SDK");
            let nets: BTreeSet<NetId> = l.nets.iter().copied().collect();
            assert_eq!(nets.len(), l.nets.len(), "no duplicate net in {l:?}");
            assert!(l.nets.iter().all(|n| v.net(*n).is_some()), "{addr:#x} refers to a forgotten net: {l:?}");
            if !l.has_client {
                assert_eq!(l.state, LINK_STATE_DISCONNECTED);
                assert!(l.nets.is_empty(), "a client-less link has no net: {l:?}");
            }
        }
        for c in self.clusters {
            for m in self.sdk.members(c) {
                assert!(v.links.contains_key(&m), "member {m:#x} of {c:?} has no link");
            }
        }

        // One live client per link that has one (and no client deleted twice: the sim asserts that).
        let with_client = v.links.values().filter(|l| l.has_client).count();
        assert_eq!(self.sdk.live_clients(), with_client, "live clients vs links with a client");

        // Counts are consistent and never "negative".
        for n in v.nets.iter() {
            assert_eq!(v.links_count(n.id), self.sdk.members(n.clusters[0]).len());
            assert_eq!(v.needed_links_count(n.id), (n.min_links as usize).saturating_sub(n.uplinks_cached));
            assert!(v.needed_links_count(n.id) <= v.required_links_count(n.id));
            assert!(v.established_uplinks_count(n.id) <= v.links.len());
            let members = self.sdk.members(n.clusters[0]);
            let all = v.net_links(&members, false);
            let est = v.net_links(&members, true);
            assert_eq!(all.addrs.len(), all.uplinks + all.downlinks);
            assert!(est.uplinks <= all.uplinks && est.downlinks == all.downlinks);
        }
        for n in [N3, DAP_NET_ID_INVALID] {
            if v.net(n).is_none() {
                assert_eq!((v.links_count(n), v.needed_links_count(n), v.established_uplinks_count(n)), (0, 0, 0));
            }
        }

        // The hot list answers exactly the stamps younger than the cooling period.
        for net in NETS {
            let mut got = v.ignored_addrs(net, now);
            got.sort_unstable();
            let mut want: Vec<Addr> = self
                .stamps
                .iter()
                .filter(|((n, _), t)| *n == net && now - **t <= HOT_LIST_COOLING_SECS)
                .map(|((_, a), _)| *a)
                .collect();
            want.sort_unstable();
            assert_eq!(got, want, "hot list of net {net:#x}");
        }
        if matches!(after, Step::Tick(_)) && v.active {
            for list in v.hot.values() {
                assert!(list.iter().all(|(_, t)| now - t <= HOT_LIST_COOLING_SECS), "a tick expires old entries");
            }
        }
    }
}

/// One thing that happens to the manager: an API call, an SDK event, a node decision, or time passing.
/// `usize` fields index [`ADDRS`], [`NETS`] or the two static clusters.
#[derive(Clone, Debug)]
pub enum Step {
    AddNet(NetId),
    Associate(NetId),
    NetCondition(NetId, bool),
    RemoveNet(NetId),
    /// (address index, net index)
    Create(usize, usize),
    Update(usize),
    StreamAdd(usize, bool),
    StreamReplace(usize, bool),
    StreamDelete(usize),
    Accounting(usize, usize, bool),
    /// (static cluster index 0..2, address index)
    StaticJoin(usize, usize),
    StaticLeave(usize, usize),
    EnableStatic(usize, bool),
    Connected(usize),
    Error(usize, bool),
    /// (address index, client tag 1..16, connected or error)
    StaleEvent(usize, u64, bool),
    ClientStage(usize),
    AnnounceFails(bool),
    /// The SDK refuses (true) or makes again (false) new clients.
    ClientNewFails(bool),
    Tick(Option<TickPhase>),
    Condition(bool),
    /// Seconds of virtual time (0..30 or 100..1000).
    Wait(u64),
}

impl Step {
    /// Steps allowed to delete a permanent link: the net itself goes away.
    pub fn may_drop_permanent(&self) -> bool {
        matches!(self, Step::NetCondition(_, false) | Step::RemoveNet(_))
    }
}

/// Weight of each step kind, in the order of the `match` in `Step::arbitrary` (the weights of the
/// proptest strategy in `tests/core_props.rs`).
const STEP_WEIGHTS: [u32; 22] = [2, 1, 3, 1, 6, 2, 4, 2, 3, 5, 2, 2, 1, 4, 4, 2, 1, 1, 1, 6, 1, 4];

fn index(u: &mut Unstructured<'_>, len: usize) -> arbitrary::Result<usize> {
    u.int_in_range(0..=len - 1)
}

impl<'a> Arbitrary<'a> for Step {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let mut pick = u.int_in_range(0..=STEP_WEIGHTS.iter().sum::<u32>() - 1)?;
        let kind = STEP_WEIGHTS
            .iter()
            .position(|w| {
                let here = pick < *w;
                pick = pick.saturating_sub(*w);
                here
            })
            .expect("pick is below the total weight");
        let a = |u: &mut Unstructured<'a>| index(u, ADDRS.len());
        let net = |u: &mut Unstructured<'a>| Ok(if u.arbitrary()? { N2 } else { N1 });
        Ok(match kind {
            0 => Step::AddNet(net(u)?),
            1 => Step::Associate(net(u)?),
            2 => Step::NetCondition(net(u)?, u.ratio(7u8, 10)?),
            3 => Step::RemoveNet(net(u)?),
            4 => Step::Create(a(u)?, index(u, NETS.len())?),
            5 => Step::Update(a(u)?),
            6 => Step::StreamAdd(a(u)?, u.arbitrary()?),
            7 => Step::StreamReplace(a(u)?, u.arbitrary()?),
            8 => Step::StreamDelete(a(u)?),
            9 => Step::Accounting(index(u, 3)?, a(u)?, u.ratio(6u8, 10)?),
            10 => Step::StaticJoin(index(u, 2)?, a(u)?),
            11 => Step::StaticLeave(index(u, 2)?, a(u)?),
            12 => Step::EnableStatic(index(u, 2)?, u.arbitrary()?),
            13 => Step::Connected(a(u)?),
            14 => Step::Error(a(u)?, u.arbitrary()?),
            15 => Step::StaleEvent(a(u)?, u.int_in_range(1..=15)?, u.arbitrary()?),
            16 => Step::ClientStage(a(u)?),
            17 => Step::AnnounceFails(u.arbitrary()?),
            18 => Step::ClientNewFails(u.ratio(3u8, 10)?),
            19 => Step::Tick([None, Some(TickPhase::WakeUp), Some(TickPhase::LinksRequest)][index(u, 3)?]),
            20 => Step::Condition(u.ratio(8u8, 10)?),
            _ => Step::Wait(if u.arbitrary()? { u.int_in_range(0..=29)? } else { u.int_in_range(100..=999)? }),
        })
    }
}

/// Longest scenario a fuzz input decodes to (each step is a few bytes; libFuzzer's default input
/// limit, 4096 bytes, stays below it).
pub const MAX_SCENARIO_STEPS: usize = 2048;

/// A whole run: `max_attempts` (1..=3) and the steps, decoded from the input until it is used up.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub max_attempts: u32,
    pub steps: Vec<Step>,
}

impl<'a> Arbitrary<'a> for Scenario {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let max_attempts = u.int_in_range(1..=3)?;
        let mut steps = Vec::new();
        while !u.is_empty() && steps.len() < MAX_SCENARIO_STEPS {
            steps.push(Step::arbitrary(u)?);
        }
        Ok(Scenario { max_attempts, steps })
    }
}

impl Scenario {
    pub fn run(&self) {
        run(&self.steps, self.max_attempts);
    }
}

/// Drive a fresh [`World`] through `steps`, checking after each that no protected permanent link was
/// deleted and [`World::check_invariants`]; then shut down and check everything went, each client once.
/// Panics on a violation.
pub fn run(steps: &[Step], max_attempts: u32) {
    let mut w = World::new(max_attempts);
    for s in steps {
        let protected = w.protected();
        w.step(s);
        if !s.may_drop_permanent() {
            let v = w.view();
            for a in protected {
                assert!(v.links.contains_key(&a), "permanent link {a:#x} deleted by {s:?}");
            }
        }
        w.check_invariants(s);
    }
    // deinit: everything goes, each client exactly once (the sim panics on a second delete)
    w.apply(Op::Shutdown);
    let v = w.view();
    assert!(v.links.is_empty() && v.nets.is_empty() && !v.active);
    assert_eq!(w.sdk.live_clients(), 0);
    assert!(w.clusters.iter().all(|c| w.sdk.members(*c).is_empty()));
}
