//! The core as a pure state machine, in geth's table style (`p2p/dial_test.go runDialTest`): each round
//! moves the virtual clock, feeds ops (API calls and SDK events), and asserts exactly what the simulated
//! SDK and node saw, plus answers read from the published `Snapshot`.

use std::sync::Arc;

use dap_link_manager::abi::{dap_link_state_t, stage, DAP_NET_ID_INVALID};
use dap_link_manager::core::addr::NodeAddr;
use dap_link_manager::core::clock::Clock;
use dap_link_manager::core::view::{NetLinks, Snapshot, HOT_LIST_COOLING_SECS};
use dap_link_manager::core::{Config, Core, Op, TickPhase};
use dap_link_manager::host::sim::{ClusterRole, SimNode, SimSdk};
use dap_link_manager::host::{Addr, ClusterRef, NetId, Sdk};

use dap_link_manager::abi::dap_link_state::{
    LINK_STATE_CONNECTING as CONNECTING, LINK_STATE_DISCONNECTED as DISCONNECTED, LINK_STATE_ESTABLISHED as ESTABLISHED,
};

const OWN: Addr = 0xF0;
const A: Addr = 0xA1;
const B: Addr = 0xB2;
const C: Addr = 0xC3;
const N1: NetId = 0x1;
const N2: NetId = 0x2;
const START: u64 = 1_000_000;

// ------------------------------------------------------------------------------------------ harness

/// The core wired to a simulated SDK and node, a virtual clock, and the clusters every test uses:
/// `n1` (net 1 primary), `n1b` (a secondary links cluster), `n2` (net 2 primary), `st`/`st2` (static).
struct Harness {
    core: Core,
    sdk: SimSdk,
    node: SimNode,
    clock: Arc<Clock>,
    n1: ClusterRef,
    n1b: ClusterRef,
    n2: ClusterRef,
    st: ClusterRef,
    st2: ClusterRef,
    /// Every pass: how many `link_count_changed` calls it made (for the coalescing rule).
    passes_count_changed: Vec<usize>,
}

impl Harness {
    fn new() -> Self {
        Self::with(Config::default())
    }

    fn with(cfg: Config) -> Self {
        let sdk = SimSdk::new(OWN);
        let node = SimNode::default();
        let n1 = sdk.cluster("n1", ClusterRole::Links);
        let n1b = sdk.cluster("n1b", ClusterRole::Links);
        let n2 = sdk.cluster("n2", ClusterRole::Links);
        // The static clusters a link records (the `cluster_arg` of the static callbacks) are links
        // clusters: joining one is reported as `add_links_cluster`.
        let st = sdk.cluster("st", ClusterRole::Links);
        let st2 = sdk.cluster("st2", ClusterRole::Links);
        let clock = Arc::new(Clock::virtual_at(START));
        let core = Core::new(Box::new(sdk.clone()), Box::new(node.clone()), cfg, clock.clone(), std::ptr::null_mut());
        Self { core, sdk, node, clock, n1, n1b, n2, st, st2, passes_count_changed: Vec::new() }
    }

    /// One drain pass: the op, then the ops the node queued from inside callbacks (in production they go
    /// through the mailbox and run after the callback returns), then `end_pass` and `publish`.
    fn apply(&mut self, op: Op) -> i32 {
        let before = self.count_changed_calls();
        let rc = self.core.apply(op);
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
        assert!(self.core.publish(), "publish refused outside any call");
        self.passes_count_changed.push(self.count_changed_calls() - before);
        rc
    }

    fn count_changed_calls(&self) -> usize {
        self.node.calls().iter().filter(|l| *l == "link_count_changed").count()
    }

    fn view(&self) -> Arc<Snapshot> {
        self.core.views().load_full()
    }

    fn now(&self) -> u64 {
        self.clock.now_secs()
    }

    fn wait(&self, secs: u64) {
        self.clock.advance(secs * 1_000_000_000);
    }

    fn tag(&self, addr: Addr) -> u64 {
        self.sdk.client_of(addr).map(|(_, c)| c.tag).expect("a live client")
    }

    fn feed(&mut self, ev: Ev) -> i32 {
        match ev {
            Ev::Op(op) => self.apply(op),
            Ev::Wait(secs) => {
                self.wait(secs);
                0
            }
            Ev::Connected(addr) => {
                let tag = self.tag(addr);
                self.sdk.set_client_stage(addr, stage::STREAM_STREAMING);
                self.apply(Op::ClientConnected { addr, tag })
            }
            Ev::Error(addr, last_attempt) => {
                let tag = self.tag(addr);
                self.apply(Op::ClientError { addr, tag, last_attempt })
            }
            Ev::Stage(addr, to) => {
                assert!(self.sdk.set_client_stage(addr, to));
                0
            }
            Ev::StaticJoin(cluster, addr) => self.apply(Op::StaticJoined { addr, cluster }),
            Ev::StaticLeave(cluster, addr) => self.apply(Op::StaticLeft { addr, cluster }),
            Ev::Enable(c, on) => {
                self.sdk.cluster_set_enabled(c, on);
                0
            }
        }
    }

    /// The SDK journal since the last call, without the "pending_event" notes the sim writes for
    /// membership changes made from outside the core (the harness feeds those itself).
    fn sdk_lines(&self) -> Vec<String> {
        self.sdk.take_journal().into_iter().filter(|l| !l.starts_with("pending_event")).collect()
    }

    /// Add and enable a net in one go (journal and calls drained).
    fn net_on(&mut self, net: NetId, cluster: ClusterRef, min_links: u32) {
        assert_eq!(self.apply(Op::AddNet { net, cluster, min_links }), 0);
        self.apply(Op::SetNetCondition { net, on: true });
        self.drain();
    }

    fn drain(&self) {
        self.sdk.take_journal();
        self.node.take_calls();
    }

    fn link(&self, addr: Addr) -> Option<dap_link_manager::core::view::LinkView> {
        self.view().links.get(&addr).map(|l| (**l).clone())
    }

    fn state(&self, addr: Addr) -> dap_link_state_t {
        self.link(addr).expect("link present").state
    }
}

/// One input of a round.
enum Ev {
    Op(Op),
    /// Advance the virtual clock by this many seconds.
    Wait(u64),
    /// The SDK reports the current client of the address connected (its stage becomes STREAMING).
    Connected(Addr),
    /// The SDK reports an error from the current client of the address (flag: last attempt).
    Error(Addr, bool),
    /// The SDK moves the client of the address to a stage.
    Stage(Addr, i32),
    /// `add_static_links_cluster(member addr, cluster_arg)` from the cluster code.
    StaticJoin(ClusterRef, Addr),
    /// `remove_static_links_cluster(member addr, cluster_arg)`.
    StaticLeave(ClusterRef, Addr),
    /// The SDK sets a cluster's status (as other node code would).
    Enable(ClusterRef, bool),
}

impl From<Op> for Ev {
    fn from(op: Op) -> Self {
        Ev::Op(op)
    }
}

type Check = Box<dyn Fn(&Harness)>;

/// One round: inputs, then exactly the SDK journal lines and node calls they caused, in order.
/// In expected lines, `@hex` stands for that address formatted as `XXXX::XXXX::XXXX::XXXX`.
#[derive(Default)]
struct Round {
    ev: Vec<Ev>,
    /// Result codes of the inputs, checked when not empty.
    rc: Vec<i32>,
    sdk: Vec<&'static str>,
    node: Vec<&'static str>,
    check: Option<Check>,
}

fn expand(lines: &[&str]) -> Vec<String> {
    lines
        .iter()
        .map(|l| {
            l.split(' ')
                .map(|w| match w.strip_prefix('@') {
                    Some(hex) => NodeAddr(u64::from_str_radix(hex, 16).expect("hex address")).to_string(),
                    None => w.to_owned(),
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

fn run(h: &mut Harness, rounds: Vec<Round>) {
    for (i, r) in rounds.into_iter().enumerate() {
        let rcs: Vec<i32> = r.ev.into_iter().map(|e| h.feed(e)).collect();
        if !r.rc.is_empty() {
            assert_eq!(rcs, r.rc, "round {i}: result codes");
        }
        assert_eq!(h.sdk_lines(), expand(&r.sdk), "round {i}: SDK journal");
        assert_eq!(h.node.take_calls(), expand(&r.node), "round {i}: node callbacks");
        if let Some(check) = r.check {
            check(h);
        }
    }
}

fn op(o: Op) -> Ev {
    Ev::Op(o)
}

fn tick(phase: TickPhase) -> Ev {
    Ev::Op(Op::Tick(Some(phase)))
}

fn create(addr: Addr, net: NetId) -> Ev {
    Ev::Op(Op::LinkCreate { addr, net })
}

fn accounting(net: NetId, addr: Addr, ok: bool) -> Ev {
    Ev::Op(Op::Accounting { net, addr, ok })
}

fn stream_add(addr: Addr, uplink: bool) -> Ev {
    Ev::Op(Op::StreamAdd { addr, uplink })
}

fn set_net(net: NetId, on: bool) -> Ev {
    Ev::Op(Op::SetNetCondition { net, on })
}

fn check(f: impl Fn(&Harness) + 'static) -> Option<Check> {
    Some(Box::new(f))
}

const D: Addr = 0xD4;
const E: Addr = 0xE5;
/// A member of a cluster that has no link.
const X: Addr = 0xEE;
const N3: NetId = 0x3;

fn sorted(mut v: Vec<Addr>) -> Vec<Addr> {
    v.sort_unstable();
    v
}

fn ignored(h: &Harness, net: NetId) -> Vec<Addr> {
    sorted(h.view().ignored_addrs(net, h.now()))
}

// ------------------------------------------------------------------------------ §3 nets

#[test]
fn nets_add_duplicate_associate_and_assoc_status() {
    let mut h = Harness::new();
    let (n1, n1b, n2) = (h.n1, h.n1b, h.n2);
    run(
        &mut h,
        vec![
            Round {
                ev: vec![
                    op(Op::AddNet { net: N1, cluster: n1, min_links: 2 }),
                    op(Op::AddNet { net: N1, cluster: n2, min_links: 1 }),
                ],
                rc: vec![0, -3],
                check: check(|h| {
                    let v = h.view();
                    assert!(!v.net_condition(N1), "a net starts inactive");
                    assert_eq!(v.required_links_count(N1), 2);
                    assert_eq!(v.needed_links_count(N1), 2);
                    assert_eq!(v.links_count(N1), 0);
                    assert_eq!(v.net(N1).unwrap().clusters[..], [h.n1]);
                    // unknown net: every getter answers 0 / false
                    assert!(v.net(N2).is_none() && !v.net_condition(N2));
                    assert_eq!((v.links_count(N2), v.required_links_count(N2), v.needed_links_count(N2)), (0, 0, 0));
                    assert_eq!(v.established_uplinks_count(N2), 0);
                }),
                ..Round::default()
            },
            // FIX-ASSOC-STATUS: a cluster attached to an inactive net takes its status (DISABLED)
            Round {
                ev: vec![
                    op(Op::AddNetAssociate { net: N2, cluster: n1b }),
                    op(Op::AddNetAssociate { net: N1, cluster: n1b }),
                    op(Op::AddNetAssociate { net: N1, cluster: n1b }),
                    op(Op::AddNetAssociate { net: N1, cluster: n1 }),
                ],
                rc: vec![-3, 0, -4, -4],
                sdk: vec!["cluster_status n1b 0"],
                ..Round::default()
            },
            // on: every cluster ENABLED; a repeated condition is a no-op
            Round {
                ev: vec![set_net(N1, true), set_net(N1, true)],
                sdk: vec!["cluster_status n1 1", "cluster_status n1b 1"],
                check: check(|h| {
                    assert!(h.view().net_condition(N1));
                    assert!(h.sdk.enabled(h.n1) && h.sdk.enabled(h.n1b));
                }),
                ..Round::default()
            },
            // FIX-ASSOC-STATUS: attached to an active net, the cluster is ENABLED at once
            Round {
                ev: vec![op(Op::AddNetAssociate { net: N1, cluster: n2 })],
                rc: vec![0],
                sdk: vec!["cluster_status n2 1"],
                check: check(|h| {
                    assert!(h.sdk.enabled(h.n2));
                    assert_eq!(h.view().net(N1).unwrap().clusters[..], [h.n1, h.n1b, h.n2]);
                }),
                ..Round::default()
            },
        ],
    );
}

#[test]
fn net_off_empties_clusters_and_deletes_orphan_links() {
    let mut h = Harness::new();
    h.net_on(N1, h.n1, 2);
    h.net_on(N2, h.n2, 1);
    let st = h.st;
    run(
        &mut h,
        vec![
            Round {
                ev: vec![
                    create(A, N1),
                    create(B, N1),
                    create(B, N2),
                    accounting(N1, A, true),
                    accounting(N1, B, true),
                    Ev::StaticJoin(st, C),
                    create(C, N1),
                ],
                rc: vec![0; 7],
                sdk: vec![
                    "client_new @a1",
                    "client_new @b2",
                    "cluster_add n1 @a1",
                    "cluster_add n1 @b2",
                    "client_new @c3",
                ],
                node: vec!["link_count_changed", "link_count_changed"],
                check: check(|h| assert_eq!(h.view().links_count(N1), 2)),
            },
            // off: clusters DISABLED and emptied; A (only N1) deleted; B keeps N2; C (static) keeps its client
            Round {
                ev: vec![set_net(N1, false)],
                sdk: vec!["cluster_status n1 0", "cluster_delete_all n1", "client_delete @a1"],
                node: vec!["link_count_changed"],
                check: check(|h| {
                    let v = h.view();
                    assert!(!v.net_condition(N1));
                    assert!(h.sdk.members(h.n1).is_empty());
                    assert_eq!(v.links_count(N1), 0);
                    assert!(h.link(A).is_none());
                    assert!(!v.link_find(B, N1) && v.link_find(B, N2));
                    assert!(h.link(B).unwrap().active_clusters.is_empty());
                    let c = h.link(C).expect("static link kept");
                    assert!(c.has_client && c.nets.is_empty() && c.static_clusters[..] == [h.st]);
                    assert_eq!(h.sdk.live_clients(), 2);
                }),
                ..Round::default()
            },
            Round { ev: vec![set_net(N1, false)], ..Round::default() },
            Round { ev: vec![set_net(N1, true)], sdk: vec!["cluster_status n1 1"], ..Round::default() },
        ],
    );
}

#[test]
fn remove_net_disables_then_forgets_it() {
    let mut h = Harness::new();
    h.net_on(N1, h.n1, 1);
    let (n1, n2) = (h.n1, h.n2);
    run(
        &mut h,
        vec![
            Round {
                ev: vec![create(A, N1), accounting(N1, A, true)],
                sdk: vec!["client_new @a1", "cluster_add n1 @a1"],
                node: vec!["link_count_changed"],
                ..Round::default()
            },
            Round {
                ev: vec![op(Op::RemoveNet(N1))],
                sdk: vec!["cluster_status n1 0", "cluster_delete_all n1", "client_delete @a1"],
                node: vec!["link_count_changed"],
                check: check(|h| {
                    let v = h.view();
                    assert!(v.net(N1).is_none() && h.link(A).is_none());
                    assert_eq!((v.links_count(N1), v.required_links_count(N1), v.needed_links_count(N1)), (0, 0, 0));
                }),
                ..Round::default()
            },
            // an inactive net is forgotten by its links too (a link left with no net is deleted)
            Round {
                ev: vec![op(Op::AddNet { net: N2, cluster: n2, min_links: 1 }), create(B, N2), op(Op::RemoveNet(N2))],
                rc: vec![0, 0, 0],
                sdk: vec!["client_new @b2", "client_delete @b2"],
                check: check(|h| assert!(h.link(B).is_none() && !h.view().link_find(B, N2))),
                ..Round::default()
            },
            Round {
                ev: vec![op(Op::RemoveNet(N3)), op(Op::AddNet { net: N1, cluster: n1, min_links: 3 })],
                rc: vec![0, 0],
                check: check(|h| assert_eq!(h.view().required_links_count(N1), 3)),
                ..Round::default()
            },
        ],
    );
}

// ------------------------------------------------------------------------------ §4 links

#[test]
fn link_create_codes_and_rollback() {
    let mut h = Harness::new();
    h.net_on(N1, h.n1, 1);
    run(
        &mut h,
        vec![
            // -1: own address; nothing made, nothing stamped
            Round {
                ev: vec![create(OWN, N1)],
                rc: vec![-1],
                check: check(|h| assert!(h.link(OWN).is_none() && ignored(h, N1).is_empty())),
                ..Round::default()
            },
            // -2 unknown net: the link made by this call is rolled back, its client deleted; still stamped
            Round {
                ev: vec![create(A, N2)],
                rc: vec![-2],
                sdk: vec!["client_new @a1", "client_delete @a1"],
                check: check(|h| {
                    assert!(h.link(A).is_none());
                    assert_eq!(ignored(h, N2), [A]);
                    assert_eq!(h.sdk.live_clients(), 0);
                }),
                ..Round::default()
            },
            // -2 already associated: the existing link stays
            Round {
                ev: vec![create(A, N1), create(A, N1)],
                rc: vec![0, -2],
                sdk: vec!["client_new @a1"],
                check: check(|h| {
                    let a = h.link(A).unwrap();
                    assert!(a.has_client && a.nets[..] == [N1] && h.view().link_find(A, N1));
                    assert_eq!(ignored(h, N1), [A]);
                }),
                ..Round::default()
            },
            // DAP_NET_ID_INVALID: a link with a client and no net
            Round {
                ev: vec![create(A, DAP_NET_ID_INVALID), create(B, DAP_NET_ID_INVALID)],
                rc: vec![0, 0],
                sdk: vec!["client_new @b2"],
                check: check(|h| {
                    let b = h.link(B).unwrap();
                    assert!(b.has_client && b.nets.is_empty() && !h.view().link_find(B, N1));
                }),
                ..Round::default()
            },
            // a client-less downlink gets a client
            Round {
                ev: vec![stream_add(C, false), create(C, N1)],
                rc: vec![0, 0],
                sdk: vec!["client_new @c3"],
                check: check(|h| assert!(h.link(C).unwrap().has_client && h.view().link_find(C, N1))),
                ..Round::default()
            },
            // unknown net on a link this call did not make: -2, the link (now with a client) stays
            Round {
                ev: vec![stream_add(D, false), create(D, N2)],
                rc: vec![0, -2],
                sdk: vec!["client_new @d4"],
                check: check(|h| {
                    let d = h.link(D).unwrap();
                    assert!(d.has_client && d.nets.is_empty());
                }),
                ..Round::default()
            },
        ],
    );
}

#[test]
fn hot_list_stamped_by_every_create_and_expired_after_900_s() {
    let mut h = Harness::new();
    h.net_on(N1, h.n1, 0);
    let hot_len = |h: &Harness| h.view().hot.get(&N1).map_or(0, |l| l.len());
    run(
        &mut h,
        vec![
            Round {
                ev: vec![create(A, N1), create(B, N1)],
                sdk: vec!["client_new @a1", "client_new @b2"],
                check: check(|h| assert_eq!(ignored(h, N1), [A, B])),
                ..Round::default()
            },
            // a failing create (-2, already associated) stamps A again
            Round { ev: vec![Ev::Wait(600), create(A, N1)], rc: vec![0, -2], ..Round::default() },
            // an entry exactly as old as the cooling period is kept
            Round {
                ev: vec![Ev::Wait(HOT_LIST_COOLING_SECS - 600)],
                check: check(|h| assert_eq!(ignored(h, N1), [A, B])),
                ..Round::default()
            },
            // older: left out at once by the query, dropped from the table by the next tick
            Round {
                ev: vec![Ev::Wait(1)],
                check: check(move |h| {
                    assert_eq!(ignored(h, N1), [A]);
                    assert_eq!(hot_len(h), 2);
                }),
                ..Round::default()
            },
            Round {
                ev: vec![tick(TickPhase::LinksRequest)],
                check: check(move |h| {
                    assert_eq!(hot_len(h), 1);
                    assert_eq!(h.view().hot[&N1][..], [(A, START + 600)]);
                }),
                ..Round::default()
            },
            Round {
                ev: vec![Ev::Wait(600), tick(TickPhase::LinksRequest)],
                check: check(move |h| {
                    assert!(ignored(h, N1).is_empty());
                    assert_eq!(hot_len(h), 0);
                }),
                ..Round::default()
            },
        ],
    );
}

#[test]
fn link_update_applies_only_when_disconnected_and_connects_only_when_ready() {
    let mut h = Harness::new();
    h.net_on(N1, h.n1, 0);
    h.apply(Op::LinkCreate { addr: A, net: N1 });
    h.drain();
    let update = |addr, host: &str, port| op(Op::LinkUpdate { addr, host: host.into(), port });
    run(
        &mut h,
        vec![
            // not ready: host/port set, always-reconnect off, channels set, no connect
            Round {
                ev: vec![update(A, "10.0.0.1", 8079)],
                sdk: vec!["set_uplink @a1 10.0.0.1 8079", "set_channels @a1 RCGEND"],
                check: check(|h| {
                    assert_eq!(h.state(A), DISCONNECTED);
                    let (_, c) = h.sdk.client_of(A).unwrap();
                    assert_eq!((c.host.as_str(), c.port, c.always_reconnect), ("10.0.0.1", 8079, false));
                    assert_eq!(c.stage_target, stage::BEGIN);
                }),
                ..Round::default()
            },
            // no such link; a link without client
            Round {
                ev: vec![update(B, "10.0.0.1", 8079), stream_add(C, false), update(C, "10.0.0.1", 8079)],
                ..Round::default()
            },
        ],
    );
    // ready (set by the node inside fill_net_info, after its queued link_update): connect
    h.node.set_route(A, "10.0.0.2", 8080);
    run(
        &mut h,
        vec![
            Round {
                ev: vec![tick(TickPhase::WakeUp)],
                sdk: vec!["set_uplink @a1 10.0.0.2 8080", "set_channels @a1 RCGEND", "go_stage @a1 STREAMING"],
                node: vec!["fill_net_info @a1"],
                check: check(|h| assert_eq!(h.state(A), CONNECTING)),
                ..Round::default()
            },
            // not DISCONNECTED: ignored
            Round {
                ev: vec![update(A, "10.0.0.3", 8081)],
                check: check(|h| {
                    assert_eq!(h.state(A), CONNECTING);
                    assert_eq!(h.sdk.client_of(A).unwrap().1.port, 8080);
                }),
                ..Round::default()
            },
        ],
    );

    // An update that finds the link no longer DISCONNECTED clears `ready`: a later update does not connect.
    h.node.set_route(B, "10.0.0.4", 8082);
    h.node.set_permanent(B, true);
    h.apply(Op::LinkCreate { addr: B, net: N1 });
    h.core.apply(Op::Tick(Some(TickPhase::WakeUp))); // fill_net_info(B) sets ready; its update is held
    let held = h.node.take_outbox();
    assert_eq!(held, [Op::LinkUpdate { addr: B, host: "10.0.0.4".into(), port: 8082 }]);
    h.feed(Ev::Connected(B));
    h.drain();
    run(
        &mut h,
        vec![
            Round { ev: held.into_iter().map(Ev::Op).collect(), ..Round::default() },
            Round {
                ev: vec![Ev::Error(B, true)],
                sdk: vec!["go_stage @b2 BEGIN"],
                node: vec!["disconnected @b2 0x1 0"],
                ..Round::default()
            },
            Round {
                ev: vec![update(B, "10.0.0.4", 8082)],
                sdk: vec!["set_uplink @b2 10.0.0.4 8082", "set_channels @b2 RCGEND"],
                check: check(|h| assert_eq!(h.state(B), DISCONNECTED)),
                ..Round::default()
            },
        ],
    );
}

// ------------------------------------------------------------------------------ §5 stream events

#[test]
fn stream_add_uplink_downlink_and_static_clusters() {
    let mut h = Harness::new();
    h.net_on(N1, h.n1, 1);
    h.apply(Op::AddNet { net: N2, cluster: h.n2, min_links: 1 }); // stays inactive
    let (st, st2) = (h.st, h.st2);
    run(
        &mut h,
        vec![
            Round {
                ev: vec![create(A, N1), create(A, N2), Ev::Enable(st, true)],
                sdk: vec!["client_new @a1", "cluster_status st 1"],
                ..Round::default()
            },
            // uplink: `connected` for each ACTIVE associated net, then is_uplink
            Round {
                ev: vec![stream_add(A, true)],
                node: vec!["connected @a1 0x1"],
                check: check(|h| assert!(h.link(A).unwrap().is_uplink)),
                ..Round::default()
            },
            // not yet in active clusters: again
            Round { ev: vec![stream_add(A, true)], node: vec!["connected @a1 0x1"], ..Round::default() },
            Round {
                ev: vec![accounting(N1, A, true)],
                sdk: vec!["cluster_add n1 @a1"],
                node: vec!["link_count_changed"],
                ..Round::default()
            },
            // already in active clusters: nothing, direction unchanged
            Round {
                ev: vec![stream_add(A, true), stream_add(A, false)],
                check: check(|h| assert!(h.link(A).unwrap().is_uplink)),
                ..Round::default()
            },
            // uplink with no link: nothing; downlink with no link: a client-less link
            Round {
                ev: vec![stream_add(B, true), stream_add(C, false)],
                check: check(|h| {
                    assert!(h.link(B).is_none());
                    let c = h.link(C).unwrap();
                    assert!(!c.has_client && !c.is_uplink && c.nets.is_empty() && c.active_clusters.is_empty());
                    assert_eq!(c.state, DISCONNECTED);
                }),
                ..Round::default()
            },
            // added to every ENABLED static cluster of the link (st, not the disabled st2)
            Round {
                ev: vec![Ev::StaticJoin(st, D), Ev::StaticJoin(st2, D), stream_add(D, false)],
                sdk: vec!["client_new @d4", "cluster_add st @d4"],
                node: vec!["link_count_changed"],
                check: check(|h| {
                    let d = h.link(D).unwrap();
                    assert_eq!(d.active_clusters[..], [h.st]);
                    assert!(!d.is_uplink);
                }),
                ..Round::default()
            },
        ],
    );
}

#[test]
fn stream_replace_up_to_down_resets_the_client() {
    let mut h = Harness::new();
    h.net_on(N1, h.n1, 1);
    run(
        &mut h,
        vec![
            Round {
                ev: vec![create(A, N1), Ev::Connected(A), stream_add(A, true), accounting(N1, A, true)],
                sdk: vec!["client_new @a1", "cluster_add n1 @a1"],
                node: vec!["connected @a1 0x1", "link_count_changed"],
                check: check(|h| assert_eq!(h.state(A), ESTABLISHED)),
                ..Round::default()
            },
            Round {
                ev: vec![op(Op::StreamReplace { addr: A, uplink: false })],
                sdk: vec!["go_stage @a1 BEGIN"],
                check: check(|h| {
                    let a = h.link(A).unwrap();
                    assert!(!a.is_uplink && a.state == DISCONNECTED && a.active_clusters[..] == [h.n1]);
                }),
                ..Round::default()
            },
            Round {
                ev: vec![op(Op::StreamReplace { addr: A, uplink: true })],
                check: check(|h| assert!(h.link(A).unwrap().is_uplink && h.state(A) == DISCONNECTED)),
                ..Round::default()
            },
            // only a link in active clusters is touched
            Round {
                ev: vec![create(B, N1), op(Op::StreamReplace { addr: B, uplink: true })],
                sdk: vec!["client_new @b2"],
                check: check(|h| assert!(!h.link(B).unwrap().is_uplink)),
                ..Round::default()
            },
            // FIX-REPLACE-NOCLIENT: up -> down on a link without client just changes direction
            Round {
                ev: vec![
                    stream_add(C, false),
                    accounting(N1, C, true),
                    op(Op::StreamReplace { addr: C, uplink: true }),
                    op(Op::StreamReplace { addr: C, uplink: false }),
                    op(Op::StreamReplace { addr: X, uplink: false }),
                ],
                sdk: vec!["cluster_add n1 @c3"],
                node: vec!["link_count_changed"],
                check: check(|h| {
                    let c = h.link(C).unwrap();
                    assert!(!c.is_uplink && !c.has_client && c.state == DISCONNECTED);
                }),
                ..Round::default()
            },
        ],
    );
}

#[test]
fn stream_delete_and_fix_ghost_downlink() {
    let mut h = Harness::new();
    h.net_on(N1, h.n1, 1);
    h.sdk.open_stream(C, 77);
    h.sdk.open_stream(D, 88);
    run(
        &mut h,
        vec![
            Round {
                ev: vec![create(A, N1), Ev::Connected(A), stream_add(A, true), accounting(N1, A, true)],
                sdk: vec!["client_new @a1", "cluster_add n1 @a1"],
                node: vec!["connected @a1 0x1", "link_count_changed"],
                ..Round::default()
            },
            // a link with a client: out of its clusters, kept
            Round {
                ev: vec![op(Op::StreamDelete { addr: A })],
                sdk: vec!["cluster_delete n1 @a1"],
                node: vec!["link_count_changed"],
                check: check(|h| {
                    let a = h.link(A).unwrap();
                    assert!(a.stream_is_destroyed && a.active_clusters.is_empty() && a.has_client);
                    assert_eq!(h.view().links_count(N1), 0);
                }),
                ..Round::default()
            },
            // an accounted downlink: out of its clusters, deleted, its streams closed
            Round {
                ev: vec![stream_add(C, false), accounting(N1, C, true), op(Op::StreamDelete { addr: C })],
                sdk: vec!["cluster_add n1 @c3", "cluster_delete n1 @c3", "stream_close @c3 77"],
                node: vec!["link_count_changed", "link_count_changed"],
                check: check(|h| assert!(h.link(C).is_none() && h.sdk.streams(C).is_empty())),
                ..Round::default()
            },
            // unknown address; a link with a client in no cluster: nothing
            Round {
                ev: vec![op(Op::StreamDelete { addr: X }), create(B, N1), op(Op::StreamDelete { addr: B })],
                sdk: vec!["client_new @b2"],
                check: check(|h| assert!(h.link(B).is_some())),
                ..Round::default()
            },
            // FIX-GHOST-DOWNLINK: a downlink never accounted is deleted by its stream_delete
            Round {
                ev: vec![stream_add(D, false), op(Op::StreamDelete { addr: D })],
                sdk: vec!["stream_close @d4 88"],
                check: check(|h| assert!(h.link(D).is_none())),
                ..Round::default()
            },
            // FIX-GHOST-DOWNLINK: ... and one un-accounted by accounting(!ok)
            Round {
                ev: vec![stream_add(E, false), accounting(N1, E, true), accounting(N1, E, false)],
                sdk: vec!["cluster_add n1 @e5", "cluster_delete n1 @e5"],
                node: vec!["link_count_changed", "disconnected @e5 0x1 0", "link_count_changed"],
                check: check(|h| assert!(h.link(E).unwrap().active_clusters.is_empty())),
                ..Round::default()
            },
            Round {
                ev: vec![op(Op::StreamDelete { addr: E })],
                check: check(|h| assert!(h.link(E).is_none())),
                ..Round::default()
            },
        ],
    );
}

// ------------------------------------------------------------------------------ §6 accounting, clusters

#[test]
fn accounting_ok_adds_primary_and_static_secondary_clusters() {
    let mut h = Harness::new();
    h.net_on(N1, h.n1, 1);
    h.apply(Op::AddNetAssociate { net: N1, cluster: h.n1b });
    h.apply(Op::AddNetAssociate { net: N1, cluster: h.st2 });
    h.drain();
    let n1b = h.n1b;
    run(
        &mut h,
        vec![
            Round { ev: vec![create(A, N1), Ev::StaticJoin(n1b, A)], sdk: vec!["client_new @a1"], ..Round::default() },
            // primary, plus the secondary n1b that is one of A's static clusters (not st2); one call
            Round {
                ev: vec![accounting(N1, A, true)],
                sdk: vec!["cluster_add n1 @a1", "cluster_add n1b @a1"],
                node: vec!["link_count_changed"],
                check: check(|h| {
                    assert_eq!(
                        sorted(h.link(A).unwrap().active_clusters.iter().map(|c| c.0 as u64).collect()),
                        sorted(vec![h.n1.0 as u64, h.n1b.0 as u64])
                    );
                    assert_eq!(h.view().links_count(N1), 1);
                }),
                ..Round::default()
            },
            Round {
                ev: vec![create(B, N1), accounting(N1, B, true)],
                sdk: vec!["client_new @b2", "cluster_add n1 @b2"],
                node: vec!["link_count_changed"],
                check: check(|h| assert_eq!(h.view().links_count(N1), 2)),
                ..Round::default()
            },
            // unknown net; no link: nothing
            Round {
                ev: vec![accounting(N2, A, true), accounting(N1, X, true), accounting(N1, X, false)],
                ..Round::default()
            },
        ],
    );
}

#[test]
fn accounting_not_ok_asks_disconnected_and_keeps_permanent_links() {
    let mut h = Harness::new();
    h.net_on(N1, h.n1, 2);
    h.node.set_permanent(B, true);
    let st = h.st;
    run(
        &mut h,
        vec![
            Round {
                ev: vec![create(A, N1), create(B, N1), accounting(N1, A, true), accounting(N1, B, true)],
                sdk: vec!["client_new @a1", "client_new @b2", "cluster_add n1 @a1", "cluster_add n1 @b2"],
                node: vec!["link_count_changed", "link_count_changed"],
                ..Round::default()
            },
            // not permanent: removed, `disconnected` gets the primary count, the net goes, the link is deleted
            Round {
                ev: vec![accounting(N1, A, false)],
                sdk: vec!["cluster_delete n1 @a1", "client_delete @a1"],
                node: vec!["disconnected @a1 0x1 1", "link_count_changed"],
                check: check(|h| assert!(h.link(A).is_none() && h.view().links_count(N1) == 1)),
                ..Round::default()
            },
            // permanent: removed from the clusters, but keeps its net; retried after reconnect_delay
            Round {
                ev: vec![Ev::Wait(5), accounting(N1, B, false)],
                sdk: vec!["cluster_delete n1 @b2"],
                node: vec!["disconnected @b2 0x1 0", "link_count_changed"],
                check: check(|h| {
                    let b = h.link(B).unwrap();
                    assert!(b.has_client && h.view().link_find(B, N1) && b.active_clusters.is_empty());
                    assert_eq!(b.start_after, h.now() + 20);
                }),
                ..Round::default()
            },
            // a link with a static cluster loses the net but stays
            Round {
                ev: vec![Ev::StaticJoin(st, C), create(C, N1), accounting(N1, C, false)],
                sdk: vec!["client_new @c3"],
                node: vec!["disconnected @c3 0x1 0", "link_count_changed"],
                check: check(|h| {
                    let c = h.link(C).unwrap();
                    assert!(c.has_client && c.nets.is_empty() && !h.view().link_find(C, N1));
                }),
                ..Round::default()
            },
            // unknown net; gone link: nothing
            Round { ev: vec![accounting(N2, B, false), accounting(N1, A, false)], ..Round::default() },
        ],
    );
}

#[test]
fn static_clusters_create_record_and_release_links() {
    let mut h = Harness::new();
    h.net_on(N1, h.n1, 1);
    let (st, st2) = (h.st, h.st2);
    run(
        &mut h,
        vec![
            // own address ignored; a new static link gets a client and no net
            Round {
                ev: vec![Ev::StaticJoin(st, OWN), Ev::StaticJoin(st, A), Ev::StaticJoin(st2, A)],
                sdk: vec!["client_new @a1"],
                check: check(|h| {
                    assert!(h.link(OWN).is_none());
                    let a = h.link(A).unwrap();
                    assert!(a.has_client && a.nets.is_empty() && a.static_clusters[..] == [h.st, h.st2]);
                }),
                ..Round::default()
            },
            Round {
                ev: vec![Ev::StaticLeave(st, A)],
                check: check(|h| assert_eq!(h.link(A).unwrap().static_clusters[..], [h.st2])),
                ..Round::default()
            },
            // last static cluster gone, no active cluster: deleted preserving the client (record kept);
            // an ESTABLISHED client goes back to BEGIN
            Round {
                ev: vec![Ev::Connected(A), Ev::StaticLeave(st2, A)],
                sdk: vec!["go_stage @a1 BEGIN"],
                check: check(|h| {
                    let a = h.link(A).unwrap();
                    assert!(a.has_client && a.static_clusters.is_empty() && a.state == DISCONNECTED);
                    assert_eq!(h.sdk.live_clients(), 1);
                }),
                ..Round::default()
            },
            Round { ev: vec![Ev::StaticLeave(st, OWN), Ev::StaticLeave(st, X)], ..Round::default() },
            // still in an active cluster: kept as it is
            Round {
                ev: vec![Ev::StaticJoin(st, C), create(C, N1), accounting(N1, C, true), Ev::StaticLeave(st, C)],
                sdk: vec!["client_new @c3", "cluster_add n1 @c3"],
                node: vec!["link_count_changed"],
                check: check(|h| {
                    let c = h.link(C).unwrap();
                    assert!(c.static_clusters.is_empty() && c.nets[..] == [N1] && c.active_clusters[..] == [h.n1]);
                }),
                ..Round::default()
            },
        ],
    );
}

// ------------------------------------------------------------------------------ §7 uplink state machine

#[test]
fn uplink_connects_establishes_and_is_dropped() {
    let mut h = Harness::new();
    h.net_on(N1, h.n1, 1);
    h.node.set_route(A, "10.0.0.1", 8079);
    h.apply(Op::LinkCreate { addr: A, net: N1 });
    h.drain();
    run(
        &mut h,
        vec![
            Round {
                ev: vec![tick(TickPhase::WakeUp)],
                sdk: vec!["set_uplink @a1 10.0.0.1 8079", "set_channels @a1 RCGEND", "go_stage @a1 STREAMING"],
                node: vec!["fill_net_info @a1"],
                check: check(|h| {
                    assert_eq!(h.state(A), CONNECTING);
                    assert!(!h.view().link_is_established(A));
                }),
                ..Round::default()
            },
            // connected: attempts 0, ESTABLISHED, stream uuid remembered
            Round {
                ev: vec![Ev::Connected(A)],
                check: check(|h| {
                    let a = h.link(A).unwrap();
                    assert_eq!((a.state, a.attempts), (ESTABLISHED, 0));
                    assert_eq!(a.es_uuid, h.sdk.client_of(A).unwrap().1.uuid);
                    assert!(h.view().link_is_established(A));
                    assert_eq!(h.view().established_uplinks_count(N1), 0, "not an uplink until stream_add");
                }),
                ..Round::default()
            },
            Round {
                ev: vec![stream_add(A, true), accounting(N1, A, true)],
                sdk: vec!["cluster_add n1 @a1"],
                node: vec!["connected @a1 0x1", "link_count_changed"],
                check: check(|h| assert_eq!(h.view().established_uplinks_count(N1), 1)),
                ..Round::default()
            },
            // error, flag clear, ESTABLISHED: `error` per net with the client's stage target, stream marked
            // destroyed, link deleted preserving the client (stream destroyed: nets, client, state kept)
            Round {
                ev: vec![Ev::Error(A, false)],
                sdk: vec!["cluster_delete n1 @a1"],
                node: vec!["error @a1 0x1 5", "link_count_changed"],
                check: check(|h| {
                    let a = h.link(A).unwrap();
                    assert!(a.stream_is_destroyed && a.active_clusters.is_empty() && a.has_client);
                    assert_eq!((a.state, &a.nets[..]), (ESTABLISHED, &[N1][..]));
                }),
                ..Round::default()
            },
        ],
    );
    let old_tag = h.tag(A);
    run(
        &mut h,
        vec![
            // last attempt (max_attempts 1): `disconnected` per active net; not permanent: deleted
            Round {
                ev: vec![Ev::Error(A, true)],
                sdk: vec!["client_delete @a1"],
                node: vec!["disconnected @a1 0x1 0"],
                check: check(|h| assert!(h.link(A).is_none() && h.sdk.live_clients() == 0)),
                ..Round::default()
            },
            // late events for the deleted link: harmless (FIX-CLIENT-UAF: resolved by address and tag)
            Round {
                ev: vec![
                    op(Op::ClientConnected { addr: A, tag: old_tag }),
                    op(Op::ClientError { addr: A, tag: old_tag, last_attempt: false }),
                    op(Op::ClientError { addr: A, tag: old_tag, last_attempt: true }),
                ],
                check: check(|h| assert!(h.link(A).is_none())),
                ..Round::default()
            },
            // late events from the old client of a re-created link: harmless too
            Round {
                ev: vec![
                    create(A, N1),
                    op(Op::ClientConnected { addr: A, tag: old_tag }),
                    op(Op::ClientError { addr: A, tag: old_tag, last_attempt: true }),
                    op(Op::ClientError { addr: A, tag: old_tag, last_attempt: false }),
                ],
                sdk: vec!["client_new @a1"],
                check: check(|h| {
                    let a = h.link(A).unwrap();
                    assert_eq!((a.state, a.attempts, a.has_client), (DISCONNECTED, 0, true));
                }),
                ..Round::default()
            },
        ],
    );
}

#[test]
fn client_error_flag_clear_when_not_established() {
    let mut h = Harness::new();
    h.net_on(N1, h.n1, 1);
    h.node.set_route(A, "10.0.0.1", 8079);
    h.apply(Op::LinkCreate { addr: A, net: N1 });
    h.apply(Op::Tick(Some(TickPhase::WakeUp)));
    h.drain();
    run(
        &mut h,
        vec![
            // connecting, in no cluster: only the `error` callback
            Round {
                ev: vec![Ev::Error(A, false)],
                node: vec!["error @a1 0x1 5"],
                check: check(|h| assert_eq!(h.state(A), CONNECTING)),
                ..Round::default()
            },
            // in active clusters: client back to BEGIN, DISCONNECTED
            Round {
                ev: vec![accounting(N1, A, true), Ev::Error(A, false)],
                sdk: vec!["cluster_add n1 @a1", "go_stage @a1 BEGIN"],
                node: vec!["link_count_changed", "error @a1 0x1 5"],
                check: check(|h| {
                    let a = h.link(A).unwrap();
                    assert_eq!((a.state, &a.active_clusters[..]), (DISCONNECTED, &[h.n1][..]));
                }),
                ..Round::default()
            },
        ],
    );
}

#[test]
fn attempts_count_up_to_max_attempts() {
    let mut h = Harness::with(Config { max_attempts: 3, ..Config::default() });
    h.net_on(N1, h.n1, 1);
    h.node.set_permanent(B, true);
    h.apply(Op::LinkCreate { addr: A, net: N1 });
    h.apply(Op::LinkCreate { addr: B, net: N1 });
    h.drain();
    let attempts = |addr| {
        move |h: &Harness| {
            let l = h.link(addr).unwrap();
            assert_eq!(l.state, DISCONNECTED);
            assert_eq!(l.start_after, h.now() + 20);
            l.attempts
        }
    };
    run(
        &mut h,
        vec![
            Round {
                ev: vec![Ev::Error(A, true)],
                sdk: vec!["go_stage @a1 BEGIN"],
                check: check(move |h| assert_eq!(attempts(A)(h), 1)),
                ..Round::default()
            },
            Round {
                ev: vec![Ev::Error(A, true)],
                sdk: vec!["go_stage @a1 BEGIN"],
                check: check(move |h| assert_eq!(attempts(A)(h), 2)),
                ..Round::default()
            },
            // connected resets the count
            Round {
                ev: vec![Ev::Connected(A)],
                check: check(|h| assert_eq!(h.link(A).unwrap().attempts, 0)),
                ..Round::default()
            },
            Round {
                ev: vec![Ev::Error(A, true), Ev::Error(A, true)],
                sdk: vec!["go_stage @a1 BEGIN", "go_stage @a1 BEGIN"],
                ..Round::default()
            },
            // the third: the nets decide; not permanent -> deleted
            Round {
                ev: vec![Ev::Error(A, true)],
                sdk: vec!["client_delete @a1"],
                node: vec!["disconnected @a1 0x1 0"],
                check: check(|h| assert!(h.link(A).is_none())),
                ..Round::default()
            },
            // permanent: kept, client to BEGIN, attempts back to 0
            Round {
                ev: vec![Ev::Error(B, true), Ev::Error(B, true), Ev::Error(B, true)],
                sdk: vec!["go_stage @b2 BEGIN", "go_stage @b2 BEGIN", "go_stage @b2 BEGIN"],
                node: vec!["disconnected @b2 0x1 0"],
                check: check(move |h| {
                    assert_eq!(attempts(B)(h), 0);
                    assert!(h.view().link_find(B, N1));
                }),
                ..Round::default()
            },
        ],
    );
}

#[test]
fn dropped_uplink_waits_reconnect_delay() {
    let mut h = Harness::new();
    h.net_on(N1, h.n1, 1);
    h.node.set_route(A, "10.0.0.1", 8079);
    h.node.set_permanent(A, true);
    h.apply(Op::LinkCreate { addr: A, net: N1 });
    h.apply(Op::Tick(Some(TickPhase::WakeUp)));
    h.drain();
    run(
        &mut h,
        vec![
            Round {
                ev: vec![Ev::Error(A, true)],
                sdk: vec!["go_stage @a1 BEGIN"],
                node: vec!["disconnected @a1 0x1 0"],
                check: check(|h| assert_eq!(h.link(A).unwrap().start_after, START + 20)),
                ..Round::default()
            },
            Round { ev: vec![Ev::Wait(10), tick(TickPhase::WakeUp)], ..Round::default() },
            // start_after >= now: still waiting
            Round { ev: vec![Ev::Wait(10), tick(TickPhase::WakeUp)], ..Round::default() },
            Round {
                ev: vec![Ev::Wait(1), tick(TickPhase::WakeUp)],
                sdk: vec!["set_uplink @a1 10.0.0.1 8079", "set_channels @a1 RCGEND", "go_stage @a1 STREAMING"],
                node: vec!["fill_net_info @a1"],
                ..Round::default()
            },
        ],
    );
}

#[test]
fn last_attempt_drops_inactive_nets_without_asking() {
    let mut h = Harness::new();
    h.net_on(N1, h.n1, 1);
    h.apply(Op::AddNet { net: N2, cluster: h.n2, min_links: 1 });
    h.node.set_permanent(A, true);
    h.node.set_permanent(B, true);
    for ev in [create(A, N1), create(A, N2), create(B, N2)] {
        h.feed(ev);
    }
    h.drain();
    run(
        &mut h,
        vec![
            Round {
                ev: vec![Ev::Error(A, true)],
                sdk: vec!["go_stage @a1 BEGIN"],
                node: vec!["disconnected @a1 0x1 0"],
                check: check(|h| assert_eq!(h.link(A).unwrap().nets[..], [N1])),
                ..Round::default()
            },
            // only an inactive net: nobody is asked, the link is deleted even though "permanent"
            Round {
                ev: vec![Ev::Error(B, true)],
                sdk: vec!["client_delete @b2"],
                check: check(|h| assert!(h.link(B).is_none())),
                ..Round::default()
            },
        ],
    );
}

// ------------------------------------------------------------------------------ §8 maintenance tick

#[test]
fn tick_alternates_starting_with_links_request_and_idles_while_inactive() {
    let mut h = Harness::new();
    h.net_on(N1, h.n1, 1);
    let t = || op(Op::Tick(None));
    run(
        &mut h,
        vec![
            Round { ev: vec![create(A, N1)], sdk: vec!["client_new @a1"], ..Round::default() },
            Round { ev: vec![t()], node: vec!["link_request 0x1"], ..Round::default() },
            // wake-up: no info, no port: dropped as disconnected
            Round {
                ev: vec![t()],
                sdk: vec!["client_delete @a1"],
                node: vec!["fill_net_info @a1", "disconnected @a1 0x1 0"],
                ..Round::default()
            },
            Round {
                ev: vec![t(), create(B, N1)],
                sdk: vec!["client_new @b2"],
                node: vec!["link_request 0x1"],
                ..Round::default()
            },
            Round {
                ev: vec![op(Op::SetCondition(false)), t(), t(), t()],
                check: check(|h| assert!(!h.view().active)),
                ..Round::default()
            },
            // the phase that was due when the manager went inactive
            Round {
                ev: vec![op(Op::SetCondition(true)), t()],
                sdk: vec!["client_delete @b2"],
                node: vec!["fill_net_info @b2", "disconnected @b2 0x1 0"],
                ..Round::default()
            },
            Round { ev: vec![t()], node: vec!["link_request 0x1"], ..Round::default() },
        ],
    );
}

#[test]
fn links_request_below_min_links_and_needed_count() {
    let mut h = Harness::new();
    h.net_on(N1, h.n1, 2);
    h.apply(Op::AddNet { net: N2, cluster: h.n2, min_links: 1 }); // inactive
    h.net_on(N3, h.n1b, 0);
    run(
        &mut h,
        vec![
            Round {
                ev: vec![tick(TickPhase::LinksRequest)],
                node: vec!["link_request 0x1"],
                check: check(|h| {
                    let v = h.view();
                    assert_eq!(
                        (v.needed_links_count(N1), v.needed_links_count(N2), v.needed_links_count(N3)),
                        (2, 1, 0)
                    );
                }),
                ..Round::default()
            },
            // needed_links_count uses the count cached by the last links request
            Round {
                ev: vec![create(A, N1), create(B, N1), accounting(N1, A, true), accounting(N1, B, true)],
                sdk: vec!["client_new @a1", "client_new @b2", "cluster_add n1 @a1", "cluster_add n1 @b2"],
                node: vec!["link_count_changed", "link_count_changed"],
                check: check(|h| assert_eq!((h.view().links_count(N1), h.view().needed_links_count(N1)), (2, 2))),
                ..Round::default()
            },
            Round {
                ev: vec![tick(TickPhase::LinksRequest)],
                check: check(|h| assert_eq!(h.view().needed_links_count(N1), 0)),
                ..Round::default()
            },
        ],
    );
    // a node without link_request: the pass still refreshes the cache
    h.node.set_link_request_missing(true);
    run(
        &mut h,
        vec![Round {
            ev: vec![accounting(N1, A, false), tick(TickPhase::LinksRequest)],
            sdk: vec!["cluster_delete n1 @a1", "client_delete @a1"],
            node: vec!["disconnected @a1 0x1 1", "link_count_changed"],
            check: check(|h| assert_eq!(h.view().needed_links_count(N1), 1)),
            ..Round::default()
        }],
    );
}

#[test]
fn wake_up_fill_net_info_outcomes() {
    let mut h = Harness::new();
    h.net_on(N1, h.n1, 1);
    h.node.set_route(A, "10.0.0.1", 8079);
    run(
        &mut h,
        vec![
            Round {
                ev: vec![
                    create(A, N1),
                    create(B, N1),
                    op(Op::LinkUpdate { addr: B, host: "10.0.0.2".into(), port: 8080 }),
                    create(C, N1),
                ],
                sdk: vec![
                    "client_new @a1",
                    "client_new @b2",
                    "set_uplink @b2 10.0.0.2 8080",
                    "set_channels @b2 RCGEND",
                    "client_new @c3",
                ],
                ..Round::default()
            },
            // A: 0, the node's link_update runs after the callback and connects (ready);
            // B: non-zero but the client has a port: connect at once;
            // C: non-zero and no port: dropped as disconnected
            Round {
                ev: vec![tick(TickPhase::WakeUp)],
                sdk: vec![
                    "go_stage @b2 STREAMING",
                    "client_delete @c3",
                    "set_uplink @a1 10.0.0.1 8079",
                    "set_channels @a1 RCGEND",
                    "go_stage @a1 STREAMING",
                ],
                node: vec!["fill_net_info @a1", "fill_net_info @b2", "fill_net_info @c3", "disconnected @c3 0x1 0"],
                check: check(|h| {
                    assert_eq!((h.state(A), h.state(B)), (CONNECTING, CONNECTING));
                    assert!(h.link(C).is_none());
                }),
                ..Round::default()
            },
        ],
    );
}

#[test]
fn wake_up_skips_links_it_must_not_dial_and_resets_a_client_off_begin() {
    let mut h = Harness::new();
    h.net_on(N1, h.n1, 1);
    let st2 = h.st2;
    run(
        &mut h,
        vec![
            // in active clusters (DISCONNECTED): skipped
            Round {
                ev: vec![create(A, N1), accounting(N1, A, true), tick(TickPhase::WakeUp)],
                sdk: vec!["client_new @a1", "cluster_add n1 @a1"],
                node: vec!["link_count_changed"],
                ..Round::default()
            },
            // no net and no ENABLED static cluster: skipped
            Round {
                ev: vec![Ev::StaticJoin(st2, C), tick(TickPhase::WakeUp)],
                sdk: vec!["client_new @c3"],
                ..Round::default()
            },
            // an ENABLED static cluster is enough; a static link is never deleted by the drop
            Round {
                ev: vec![Ev::Enable(st2, true), tick(TickPhase::WakeUp)],
                sdk: vec!["cluster_status st2 1", "go_stage @c3 BEGIN"],
                node: vec!["fill_net_info @c3"],
                check: check(|h| assert!(h.link(C).is_some())),
                ..Round::default()
            },
            // start_after >= now: skipped
            Round { ev: vec![Ev::Wait(20), tick(TickPhase::WakeUp)], ..Round::default() },
            Round {
                ev: vec![Ev::Wait(1), tick(TickPhase::WakeUp)],
                sdk: vec!["go_stage @c3 BEGIN"],
                node: vec!["fill_net_info @c3"],
                ..Round::default()
            },
            // client not at BEGIN: sent there, dialed on the next pass
            Round {
                ev: vec![create(D, N1), Ev::Stage(D, stage::STREAM_CTL), tick(TickPhase::WakeUp)],
                sdk: vec!["client_new @d4", "go_stage @d4 BEGIN"],
                ..Round::default()
            },
            Round {
                ev: vec![tick(TickPhase::WakeUp)],
                sdk: vec!["client_delete @d4"],
                node: vec!["fill_net_info @d4", "disconnected @d4 0x1 1"],
                ..Round::default()
            },
        ],
    );
    // not DISCONNECTED (CONNECTING): skipped
    h.node.set_route(E, "10.0.0.5", 8085);
    h.apply(Op::LinkCreate { addr: E, net: N1 });
    h.apply(Op::Tick(Some(TickPhase::WakeUp)));
    assert_eq!(h.state(E), CONNECTING);
    h.drain();
    run(
        &mut h,
        vec![Round {
            ev: vec![Ev::Wait(100), tick(TickPhase::WakeUp)],
            sdk: vec!["go_stage @c3 BEGIN"],
            node: vec!["fill_net_info @c3"],
            ..Round::default()
        }],
    );
}

#[test]
fn wake_up_repeats_connected_until_accounted() {
    let mut h = Harness::new();
    h.net_on(N1, h.n1, 1);
    for a in [A, B] {
        h.node.set_route(a, "10.0.0.1", 8079);
        h.apply(Op::LinkCreate { addr: a, net: N1 });
    }
    h.apply(Op::Tick(Some(TickPhase::WakeUp)));
    h.feed(Ev::Connected(A));
    h.drain();
    run(
        &mut h,
        vec![
            Round { ev: vec![tick(TickPhase::WakeUp)], node: vec!["connected @a1 0x1"], ..Round::default() },
            Round { ev: vec![tick(TickPhase::WakeUp)], node: vec!["connected @a1 0x1"], ..Round::default() },
            Round {
                ev: vec![accounting(N1, A, true), tick(TickPhase::WakeUp)],
                sdk: vec!["cluster_add n1 @a1"],
                node: vec!["link_count_changed"],
                ..Round::default()
            },
        ],
    );
    // the node's ANNOUNCE fails inside `connected`: its accounting(!ok) runs after the callback
    h.feed(Ev::Connected(B));
    h.node.set_announce_fails(true);
    h.drain();
    run(
        &mut h,
        vec![Round {
            ev: vec![tick(TickPhase::WakeUp)],
            sdk: vec!["client_delete @b2"],
            node: vec!["connected @b2 0x1", "disconnected @b2 0x1 1", "link_count_changed"],
            check: check(|h| assert!(h.link(B).is_none())),
            ..Round::default()
        }],
    );
    // permanent: kept, and `connected` waits for start_after
    h.node.set_announce_fails(false);
    h.node.set_permanent(C, true);
    h.node.set_route(C, "10.0.0.1", 8079);
    h.apply(Op::LinkCreate { addr: C, net: N1 });
    h.apply(Op::Tick(Some(TickPhase::WakeUp)));
    h.feed(Ev::Connected(C));
    h.node.set_announce_fails(true);
    h.drain();
    run(
        &mut h,
        vec![
            Round {
                ev: vec![tick(TickPhase::WakeUp)],
                node: vec!["connected @c3 0x1", "disconnected @c3 0x1 1", "link_count_changed"],
                check: check(|h| assert_eq!(h.state(C), ESTABLISHED)),
                ..Round::default()
            },
            Round { ev: vec![Ev::Wait(10), tick(TickPhase::WakeUp)], ..Round::default() },
            Round {
                ev: vec![Ev::Wait(11), tick(TickPhase::WakeUp)],
                node: vec!["connected @c3 0x1", "disconnected @c3 0x1 1", "link_count_changed"],
                ..Round::default()
            },
        ],
    );
}

/// §12.14: a permanent link with an unreachable host is never deleted and keeps its retry cadence
/// (one try per reconnect_delay, rounded up to the wake-up period: every 30 s with 20 s and 10 s).
#[test]
fn permanent_link_with_unreachable_host_keeps_its_cadence() {
    let mut h = Harness::new();
    h.net_on(N1, h.n1, 0);
    h.node.set_permanent(A, true);
    h.apply(Op::LinkCreate { addr: A, net: N1 });
    h.drain();
    let try_lines = Round {
        sdk: vec!["go_stage @a1 BEGIN"],
        node: vec!["fill_net_info @a1", "disconnected @a1 0x1 0"],
        ..Round::default()
    };
    // one wake-up every 10 s (the tick period is 5 s and wake-ups alternate with links requests)
    let mut rounds = Vec::new();
    for k in 0..13u64 {
        let mut r = if k % 3 == 0 { try_lines.clone_lines() } else { Round::default() };
        r.ev = vec![tick(TickPhase::WakeUp), Ev::Wait(10)];
        r.check = check(|h| {
            let a = h.link(A).expect("a permanent link is never deleted");
            assert!(a.has_client && a.nets[..] == [N1]);
        });
        rounds.push(r);
    }
    run(&mut h, rounds);
    assert_eq!(h.sdk.live_clients(), 1);
}

impl Round {
    fn clone_lines(&self) -> Round {
        Round { sdk: self.sdk.clone(), node: self.node.clone(), ..Round::default() }
    }
}

// ------------------------------------------------------------------------------ link_count_changed

#[test]
fn link_count_changed_is_coalesced_to_one_call_per_pass() {
    let mut h = Harness::new();
    h.net_on(N1, h.n1, 1);
    h.apply(Op::AddNetAssociate { net: N1, cluster: h.n1b });
    let (n1b, st, st2) = (h.n1b, h.st, h.st2);
    for ev in [Ev::Enable(st, true), Ev::Enable(st2, true), create(A, N1), Ev::StaticJoin(n1b, A)] {
        h.feed(ev);
    }
    h.drain();
    let last = |h: &Harness| *h.passes_count_changed.last().unwrap();
    run(
        &mut h,
        vec![
            Round {
                ev: vec![accounting(N1, A, true)],
                sdk: vec!["cluster_add n1 @a1", "cluster_add n1b @a1"],
                node: vec!["link_count_changed"],
                check: check(move |h| assert_eq!(last(h), 1)),
                ..Round::default()
            },
            Round {
                ev: vec![Ev::StaticJoin(st, D), Ev::StaticJoin(st2, D), stream_add(D, false)],
                sdk: vec!["client_new @d4", "cluster_add st @d4", "cluster_add st2 @d4"],
                node: vec!["link_count_changed"],
                check: check(move |h| assert_eq!(last(h), 1)),
                ..Round::default()
            },
            Round {
                ev: vec![tick(TickPhase::LinksRequest)],
                check: check(move |h| assert_eq!(last(h), 0)),
                ..Round::default()
            },
            Round {
                ev: vec![set_net(N1, false)],
                // A keeps its record: n1b is one of its static clusters
                sdk: vec![
                    "cluster_status n1 0",
                    "cluster_delete_all n1",
                    "cluster_status n1b 0",
                    "cluster_delete_all n1b",
                ],
                node: vec!["link_count_changed"],
                check: check(move |h| assert_eq!(last(h), 1)),
                ..Round::default()
            },
        ],
    );
    assert!(h.passes_count_changed.iter().all(|n| *n <= 1), "{:?}", h.passes_count_changed);
}

// ------------------------------------------------------------------------------ §9 queries

#[test]
fn net_links_addrs_uplinks_first_and_established_only() {
    let mut h = Harness::new();
    h.net_on(N1, h.n1, 3);
    for ev in [
        create(A, N1),
        Ev::Connected(A),
        stream_add(A, true),
        accounting(N1, A, true),
        create(B, N1),
        op(Op::LinkUpdate { addr: B, host: "10.0.0.2".into(), port: 8080 }),
        tick(TickPhase::WakeUp), // B has a port: CONNECTING
        stream_add(B, true),
        accounting(N1, B, true),
        stream_add(C, false),
        accounting(N1, C, true),
    ] {
        h.feed(ev);
    }
    // a member without a link (added by other node code)
    h.sdk.external_add(h.n1, X);
    h.apply(Op::ClusterJoined { addr: X, cluster: h.n1 });
    let v = h.view();
    let members = h.sdk.members(h.n1);
    assert_eq!(members, [A, B, C, X]);
    assert_eq!(v.links_count(N1), 4);
    assert_eq!(v.net_links(&members, false), NetLinks { addrs: vec![A, B, C], uplinks: 2, downlinks: 1 });
    assert_eq!(v.net_links(&members, true), NetLinks { addrs: vec![A, C], uplinks: 1, downlinks: 1 });
    assert_eq!(v.established_uplinks_count(N1), 1);
    assert!(v.link_is_established(A) && !v.link_is_established(B) && !v.link_is_established(X));
    assert!(v.link_find(A, N1) && !v.link_find(C, N1) && !v.link_find(X, N1));
    assert!(v.net(N2).is_none());
}

// ------------------------------------------------------------------------------ §2 deinit

#[test]
fn shutdown_force_deletes_every_link_and_net() {
    let mut h = Harness::new();
    h.net_on(N1, h.n1, 1);
    h.sdk.open_stream(C, 7);
    let st = h.st;
    for ev in
        [create(A, N1), accounting(N1, A, true), Ev::StaticJoin(st, B), stream_add(C, false), accounting(N1, C, true)]
    {
        h.feed(ev);
    }
    h.drain();
    h.apply(Op::Shutdown);
    let mut lines = h.sdk_lines();
    lines.sort();
    assert_eq!(
        lines,
        expand(&[
            "client_delete @a1",
            "client_delete @b2",
            "cluster_delete n1 @a1",
            "cluster_delete n1 @c3",
            "cluster_delete_all n1",
            "cluster_status n1 0",
            "stream_close @c3 7",
        ])
    );
    assert!(h.node.take_calls().is_empty());
    let v = h.view();
    assert!(!v.active && v.links.is_empty() && v.nets.is_empty());
    assert!(v.hot.values().all(|l| l.is_empty()), "the hot list is cleared too");
    assert_eq!(h.sdk.live_clients(), 0);
    assert_eq!(h.core.link_count(), 0);
}

// ------------------------------------------------------------------------------ §12 regressions

/// §12.3/§12.15 (FIX-ORDER at the core): bursts of add/accounting/delete for many downlinks, applied in
/// issue order, leave no ghost link and no cluster member.
#[test]
fn downlink_bursts_leave_no_ghost_links() {
    let mut h = Harness::new();
    h.net_on(N1, h.n1, 1);
    let addrs: Vec<Addr> = (0x1000..0x1040).collect();
    for a in &addrs {
        h.feed(stream_add(*a, false));
        h.feed(accounting(N1, *a, true));
    }
    assert_eq!(h.view().links_count(N1), addrs.len());
    for a in &addrs {
        h.feed(op(Op::StreamDelete { addr: *a }));
    }
    let v = h.view();
    assert!(v.links.is_empty() && v.links_count(N1) == 0 && h.sdk.members(h.n1).is_empty());
    assert_eq!(h.core.link_count(), 0);
}
