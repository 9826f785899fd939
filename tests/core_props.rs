//! Property tests: random sequences of API calls and SDK events drive the core; after every step the
//! published view must agree with the simulated SDK and with the contract's invariants.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use proptest::prelude::*;

use dap_link_manager::abi::{stage, DAP_NET_ID_INVALID};
use dap_link_manager::core::clock::Clock;
use dap_link_manager::core::view::{Snapshot, HOT_LIST_COOLING_SECS};
use dap_link_manager::core::{channels, Config, Core, Op, TickPhase};
use dap_link_manager::host::sim::{ClusterRole, SimNode, SimSdk};
use dap_link_manager::host::{Addr, ClusterRef, NetId};

const OWN: Addr = 0xF0;
/// Addresses the sequences use (the own address among them, to exercise its special cases).
const ADDRS: [Addr; 6] = [0xA1, 0xB2, 0xC3, 0xD4, 0xE5, OWN];
/// 0xA1 and 0xB2 answer `disconnected` with true.
const PERMANENT: [Addr; 2] = [0xA1, 0xB2];
/// 0xA1 and 0xC3 have a known host (fill_net_info answers 0).
const ROUTED: [Addr; 2] = [0xA1, 0xC3];
const N1: NetId = 0x1;
const N2: NetId = 0x2;
/// Never added.
const N3: NetId = 0x3;
const NETS: [NetId; 4] = [N1, N2, N3, DAP_NET_ID_INVALID];

/// The core, the simulated host, and a model of what the hot list must answer.
struct World {
    core: Core,
    sdk: SimSdk,
    node: SimNode,
    clock: Arc<Clock>,
    /// Links-role clusters: n1 (N1 primary), n1b (N1 secondary), n2 (N2 primary), st/st2 (static).
    clusters: [ClusterRef; 5],
    /// (net, addr) -> last link_create stamp, seconds.
    stamps: HashMap<(NetId, Addr), u64>,
}

impl World {
    fn new(max_attempts: u32) -> Self {
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

    fn view(&self) -> Arc<Snapshot> {
        self.core.views().load_full()
    }

    /// One drain pass, with the ops the node queued from inside callbacks applied after them.
    fn apply(&mut self, op: Op) {
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

    fn step(&mut self, s: &Step) {
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
            Step::EnableStatic(c, on) => {
                use dap_link_manager::host::Sdk;
                self.sdk.cluster_set_enabled(self.clusters[3 + c], on)
            }
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
            Step::Tick(p) => self.apply(Op::Tick(p)),
            Step::Condition(on) => self.apply(Op::SetCondition(on)),
            Step::Wait(secs) => self.clock.advance(secs * 1_000_000_000),
        }
    }

    /// Links the contract says no op of this step may delete: permanent, with a client and an active net.
    fn protected(&self) -> BTreeSet<Addr> {
        let v = self.view();
        PERMANENT
            .iter()
            .copied()
            .filter(|a| v.links.get(a).is_some_and(|l| l.has_client && l.nets.iter().any(|n| v.net_condition(*n))))
            .collect()
    }

    fn check_invariants(&self, after: &Step) {
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
                assert_eq!(l.state, dap_link_manager::abi::dap_link_state::LINK_STATE_DISCONNECTED);
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

#[derive(Clone, Debug)]
enum Step {
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
    StaleEvent(usize, u64, bool),
    ClientStage(usize),
    AnnounceFails(bool),
    Tick(Option<TickPhase>),
    Condition(bool),
    Wait(u64),
}

impl Step {
    /// Steps allowed to delete a permanent link: the net itself goes away.
    fn may_drop_permanent(&self) -> bool {
        matches!(self, Step::NetCondition(_, false) | Step::RemoveNet(_))
    }
}

fn step() -> impl Strategy<Value = Step> {
    let a = 0..ADDRS.len();
    let net = prop_oneof![Just(N1), Just(N2)];
    let phase = prop_oneof![Just(None), Just(Some(TickPhase::WakeUp)), Just(Some(TickPhase::LinksRequest))];
    prop_oneof![
        2 => net.clone().prop_map(Step::AddNet),
        1 => net.clone().prop_map(Step::Associate),
        3 => (net.clone(), prop::bool::weighted(0.7)).prop_map(|(n, on)| Step::NetCondition(n, on)),
        1 => net.prop_map(Step::RemoveNet),
        6 => (a.clone(), 0..NETS.len()).prop_map(|(a, n)| Step::Create(a, n)),
        2 => a.clone().prop_map(Step::Update),
        4 => (a.clone(), any::<bool>()).prop_map(|(a, up)| Step::StreamAdd(a, up)),
        2 => (a.clone(), any::<bool>()).prop_map(|(a, up)| Step::StreamReplace(a, up)),
        3 => a.clone().prop_map(Step::StreamDelete),
        5 => (0..3usize, a.clone(), prop::bool::weighted(0.6)).prop_map(|(n, a, ok)| Step::Accounting(n, a, ok)),
        2 => (0..2usize, a.clone()).prop_map(|(c, a)| Step::StaticJoin(c, a)),
        2 => (0..2usize, a.clone()).prop_map(|(c, a)| Step::StaticLeave(c, a)),
        1 => (0..2usize, any::<bool>()).prop_map(|(c, on)| Step::EnableStatic(c, on)),
        4 => a.clone().prop_map(Step::Connected),
        4 => (a.clone(), any::<bool>()).prop_map(|(a, last)| Step::Error(a, last)),
        2 => (a.clone(), 1..16u64, any::<bool>()).prop_map(|(a, t, c)| Step::StaleEvent(a, t, c)),
        1 => a.prop_map(Step::ClientStage),
        1 => any::<bool>().prop_map(Step::AnnounceFails),
        6 => phase.prop_map(Step::Tick),
        1 => prop::bool::weighted(0.8).prop_map(Step::Condition),
        4 => prop_oneof![0..30u64, 100..1000u64].prop_map(Step::Wait),
    ]
}

fn run(steps: &[Step], max_attempts: u32) {
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

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_after_every_step(steps in prop::collection::vec(step(), 1..80)) {
        run(&steps, 1);
    }

    #[test]
    fn invariants_hold_with_several_attempts(steps in prop::collection::vec(step(), 1..80)) {
        run(&steps, 3);
    }
}

/// Long walks: the same steps and invariants over one World for many steps, so slow effects
/// (hot-list expiry, reconnect cadence, attempts) accumulate. `LM_WALK_STEPS` sets the total
/// (default 1,000,000 across the walks in an optimised build, which CI runs with
/// `cargo test --release --test core_props`; 50,000 in a debug build), `LM_WALK_SEED` the first seed.
#[test]
fn long_random_walks_keep_the_invariants() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let total: usize = std::env::var("LM_WALK_STEPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if cfg!(debug_assertions) { 50_000 } else { 1_000_000 });
    let seed: u64 = std::env::var("LM_WALK_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x5eed);
    const WALK: usize = 20_000;
    let strategy = step();
    let mut done = 0usize;
    let mut walk = 0u64;
    while done < total {
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&(seed + walk).to_le_bytes());
        let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &bytes);
        let mut runner = TestRunner::new_with_rng(Config::default(), rng);
        let n = WALK.min(total - done);
        let steps: Vec<Step> = (0..n).map(|_| strategy.new_tree(&mut runner).expect("a step").current()).collect();
        run(&steps, 1 + (walk % 3) as u32);
        done += n;
        walk += 1;
    }
    eprintln!("{done} steps in {walk} walks, invariants checked after every step");
}

/// §9: link_update hands the client the current process-wide channel list (FIX-CHANNELS-GLOBAL). Lives
/// here, not with the rounds, because it changes process-wide state that their journals include.
#[test]
fn link_update_sets_the_current_active_channels() {
    let mut w = World::new(1);
    w.apply(Op::AddNet { net: N1, cluster: w.clusters[0], min_links: 1 });
    w.apply(Op::LinkCreate { addr: 0xC3, net: N1 });
    assert_eq!(channels::add(b'X', true), Ok(()));
    w.sdk.take_journal();
    w.apply(Op::LinkUpdate { addr: 0xC3, host: "10.0.0.1".into(), port: 1 });
    let lines = w.sdk.take_journal();
    assert_eq!(channels::remove(b'X'), Ok(()));
    assert!(lines.iter().any(|l| l.starts_with("set_channels") && l.ends_with(" RCGENDX")), "{lines:?}");
}
