//! The actor runtime end to end with the simulated host: routing, priorities, read-your-writes,
//! re-entrant calls from callbacks, panic isolation, shutdown with waiters, async exactly-once.
//! Tests share the process-wide runtime slot, so they run one at a time (TEST_LOCK).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use dap_link_manager::abi::dap_link_t;
use dap_link_manager::actor::api::{self, submit, Mode};
use dap_link_manager::actor::config::RuntimeConfig;
use dap_link_manager::actor::{self, LmError, Runtime};
use dap_link_manager::core::clock::Clock;
use dap_link_manager::core::{Config, Core, Op};
use dap_link_manager::host::sim::{ClusterRole, SimNode, SimSdk};
use dap_link_manager::host::{ClusterRef, NetId, Node};

static TEST_LOCK: Mutex<()> = Mutex::new(());
const OWN: u64 = 0x1;
const NET: NetId = 0x77;

struct Fixture {
    rt: Arc<Runtime>,
    sdk: SimSdk,
    cluster: ClusterRef,
    _guard: MutexGuard<'static, ()>,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some(rt) = api::uninstall() {
            actor::stop(&rt);
        }
    }
}

fn start_with(node: Box<dyn Node + Send>, cfg: RuntimeConfig) -> Fixture {
    let guard = TEST_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let sdk = SimSdk::new(OWN);
    let cluster = sdk.cluster("net", ClusterRole::Links);
    let s2 = sdk.clone();
    let rt = actor::start(
        cfg,
        Arc::new(sdk.clone()),
        Arc::new(Clock::virtual_at(1_000)),
        Box::new(move |clock| Core::new(Box::new(s2), node, Config::default(), clock, std::ptr::null_mut())),
    )
    .expect("actor starts");
    api::install(rt.clone());
    Fixture { rt, sdk, cluster, _guard: guard }
}

fn start() -> (Fixture, SimNode) {
    let node = SimNode::default();
    (start_with(Box::new(node.clone()), RuntimeConfig::default()), node)
}

fn wait() -> Mode {
    Mode::Wait(Some(Duration::from_secs(5)))
}

#[test]
fn read_your_writes_through_the_mailbox() {
    let (f, _node) = start();
    assert_eq!(submit(Op::AddNet { net: NET, cluster: f.cluster, min_links: 2 }, wait()), Ok(0));
    assert_eq!(submit(Op::AddNet { net: NET, cluster: f.cluster, min_links: 2 }, wait()), Ok(-3));
    // A queued fact, then a barrier from the same thread: the view must show it.
    assert_eq!(submit(Op::StreamAdd { addr: 0x42, uplink: false }, Mode::Queue), Ok(0));
    let v = api::view_sync(None).expect("view");
    assert!(v.links.contains_key(&0x42), "the queued stream_add is visible after the barrier");
    assert_eq!(v.required_links_count(NET), 2);
}

#[test]
fn facts_overtake_normal_requests_but_keep_their_order() {
    let (f, _node) = start();
    submit(Op::AddNet { net: NET, cluster: f.cluster, min_links: 1 }, wait()).unwrap();
    submit(Op::SetNetCondition { net: NET, on: true }, wait()).unwrap();
    // add / accounting / delete of one downlink, issued in order from one thread (FIX-ORDER):
    for a in 0x100..0x180u64 {
        submit(Op::StreamAdd { addr: a, uplink: false }, Mode::Queue).unwrap();
        submit(Op::Accounting { net: NET, addr: a, ok: true }, Mode::Queue).unwrap();
        submit(Op::StreamDelete { addr: a }, Mode::Queue).unwrap();
    }
    let v = api::view_sync(None).unwrap();
    assert_eq!(v.links.len(), 0, "no ghost links");
    assert_eq!(v.links_count(NET), 0);
    assert!(f.sdk.members(f.cluster).is_empty());
}

#[test]
fn handler_panic_fails_one_request_and_the_actor_goes_on() {
    let (f, _node) = start();
    assert_eq!(submit(Op::Panic, wait()), Err(LmError::Internal));
    assert_eq!(submit(Op::AddNet { net: NET, cluster: f.cluster, min_links: 1 }, wait()), Ok(0));
    assert_eq!(f.rt.metrics.panics.load(Ordering::Relaxed), 1);
    assert!(api::view().unwrap().net(NET).is_some());
}

#[test]
fn async_completion_runs_once_after_publish() {
    let (f, _node) = start();
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let then = Box::new(move |o: actor::Outcome| {
        assert_eq!(o, Ok(0));
        // Runs on the actor after the pass was published: the net is visible.
        assert!(api::view().unwrap().net(NET).is_some());
        h.fetch_add(1, Ordering::SeqCst);
    });
    assert_eq!(submit(Op::AddNet { net: NET, cluster: f.cluster, min_links: 1 }, Mode::Then(then)), Ok(0));
    api::barrier(None).unwrap();
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

/// A node whose `connected` re-enters the library with a waiting call and an original getter.
struct ReentrantNode {
    inline_results: Arc<Mutex<Vec<String>>>,
}

impl Node for ReentrantNode {
    fn connected(&self, link: *mut dap_link_t, net: NetId) {
        // SAFETY: the live record, valid during the callback.
        let addr = unsafe { (*link).addr.uint64 };
        // `_sync` from a callback runs inline (would deadlock if it waited for the actor).
        let rc = submit(Op::Accounting { net, addr, ok: true }, Mode::Wait(Some(Duration::from_millis(200))));
        let count = api::view().unwrap().links_count(net);
        self.inline_results.lock().unwrap().push(format!("{rc:?} links={count}"));
    }
    fn disconnected(&self, _: *mut dap_link_t, _: NetId, _: i32) -> bool {
        false
    }
    fn error(&self, _: *mut dap_link_t, _: NetId, _: i32) {}
    fn fill_net_info(&self, _: *mut dap_link_t) -> i32 {
        -1
    }
    fn link_request(&self, _: NetId) -> Option<i32> {
        None
    }
    fn link_count_changed(&self) {
        // An original getter from inside a callback answers at once.
        let _ = api::view().map(|v| v.links_count(NET));
    }
}

#[test]
fn sync_call_from_a_callback_runs_inline_and_sees_its_write() {
    let results = Arc::new(Mutex::new(Vec::new()));
    let f = start_with(Box::new(ReentrantNode { inline_results: results.clone() }), RuntimeConfig::default());
    submit(Op::AddNet { net: NET, cluster: f.cluster, min_links: 1 }, wait()).unwrap();
    submit(Op::SetNetCondition { net: NET, on: true }, wait()).unwrap();
    submit(Op::LinkCreate { addr: 0x55, net: NET }, wait()).unwrap();
    assert_eq!(submit(Op::StreamAdd { addr: 0x55, uplink: true }, wait()), Ok(0));
    assert_eq!(*results.lock().unwrap(), vec!["Ok(0) links=1".to_string()]);
    assert_eq!(f.sdk.members(f.cluster), vec![0x55]);
}

#[test]
fn shutdown_answers_every_waiter_and_later_calls_are_refused() {
    let (f, _node) = start();
    submit(Op::AddNet { net: NET, cluster: f.cluster, min_links: 1 }, wait()).unwrap();
    let answered = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..6)
        .map(|t| {
            let answered = answered.clone();
            std::thread::spawn(move || {
                for i in 0..2_000u64 {
                    let r = submit(Op::LinkCreate { addr: 0x1000 + t * 10_000 + i, net: NET }, Mode::Wait(None));
                    answered.fetch_add(1, Ordering::Relaxed);
                    match r {
                        Ok(_) => {}
                        Err(LmError::ShuttingDown | LmError::NotInitialized) => break,
                        Err(e) => panic!("unexpected {e:?}"),
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(20));
    let rt = api::uninstall().expect("installed");
    actor::stop(&rt);
    for w in workers {
        w.join().expect("no worker hangs or panics");
    }
    assert!(answered.load(Ordering::Relaxed) >= 6);
    assert_eq!(submit(Op::RemoveNet(NET), wait()), Err(LmError::NotInitialized));
    assert_eq!(f.sdk.live_clients(), 0, "shutdown deleted every client");
}

#[test]
fn reject_policy_refuses_normal_requests_but_never_facts() {
    let mut cfg = RuntimeConfig::default();
    cfg.mailbox.capacity[2] = 4; // normal
    cfg.mailbox.policy = actor::mailbox::Backpressure::Reject;
    let f = start_with(Box::new(SimNode::default()), cfg);
    let mut full = 0;
    let mut facts = 0;
    for i in 0..20_000u64 {
        if submit(Op::LinkUpdate { addr: i + 2, host: "10.0.0.1".into(), port: 1 }, Mode::Queue)
            == Err(LmError::QueueFull)
        {
            full += 1;
        }
        assert_eq!(submit(Op::StreamDelete { addr: i + 2 }, Mode::Queue), Ok(0), "facts are never refused");
        facts += 1;
    }
    // A barrier is a normal request too: under `reject` it may be refused while the lane is full.
    while api::barrier(Some(Duration::from_secs(10))) == Err(LmError::QueueFull) {
        std::thread::yield_now();
    }
    assert!(full > 0, "the bound of 4 was hit at least once in 20k pushes");
    assert_eq!(f.rt.metrics.per_op[9].load(Ordering::Relaxed), facts, "every stream_delete applied");
    assert!(f.rt.mailbox.peak(actor::mailbox::Priority::Normal) <= 4);
}
