//! The actor: one thread owns the [`Core`]; every call is a [`Msg`] in a four-priority [`Mailbox`].
//!
//! Each pass drains up to `batch_size` messages, runs the tick when due, calls `link_count_changed` once
//! if membership changed (coalesced), publishes the view getters read, and only then answers the pass's
//! waiters and runs its async completions, so a caller that got its answer sees its own writes.

pub mod api;
pub mod config;
pub mod mailbox;
pub mod metrics;
pub mod record;
pub mod reply;
pub mod stats;
pub mod wake;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use log::{debug, error, info};

use crate::core::clock::Clock;
use crate::core::view::Snapshot;
use crate::core::{Core, Op};
use crate::host::Sdk;
use config::RuntimeConfig;
use mailbox::{Mailbox, Priority};
use metrics::Metrics;
use reply::ReplySlot;

/// Why a request did not complete. Mapped to `dap_lm_result_t` at the C boundary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LmError {
    InvalidArgument,
    NotInitialized,
    ShuttingDown,
    Timeout,
    QueueFull,
    Internal,
}

/// A request's outcome: the operation's original C code, or why it never ran.
pub type Outcome = Result<i32, LmError>;

/// Where the outcome of a message goes.
pub enum Sink {
    None,
    /// A waiting caller (`_sync` and the original calls that return a code).
    Slot(Arc<ReplySlot<Outcome>>),
    /// An async completion, run on the actor thread after the pass published its state.
    Then(Box<dyn FnOnce(Outcome) + Send>),
}

impl Sink {
    fn complete(self, outcome: Outcome) {
        match self {
            Sink::None => {}
            Sink::Slot(slot) => {
                slot.complete(outcome);
            }
            Sink::Then(f) => {
                if catch_unwind(AssertUnwindSafe(|| f(outcome))).is_err() {
                    error!("[LM-ERROR] an async completion panicked");
                }
            }
        }
    }
}

/// One mailbox entry. Small: large payloads (host strings, closures) are boxed.
pub enum Msg {
    Op {
        op: Op,
        sink: Sink,
        queued_ns: u64,
    },
    /// Answered once everything queued before it at its priority or above has been applied and
    /// published: `_sync` queries read the view after it.
    Barrier {
        sink: Sink,
        queued_ns: u64,
    },
    /// The timer's tick, queued in the NORMAL lane behind what is already there (as the C timer posted
    /// it to its worker): a wake-up never runs ahead of the `link_update`s the previous one queued.
    Tick,
    Shutdown,
}

/// The single place that maps requests to priorities (CONTRACT.md §5: facts share one class).
pub fn priority_of(op: &Op) -> Priority {
    match op {
        Op::Shutdown => Priority::Critical,
        op if op.is_fact() => Priority::High,
        _ => Priority::Normal,
    }
}

/// What getters and callers share with the actor thread.
pub struct Runtime {
    pub mailbox: Mailbox<Msg>,
    pub views: Arc<ArcSwap<Snapshot>>,
    pub clock: Arc<Clock>,
    pub cfg: RuntimeConfig,
    pub metrics: Metrics,
    /// The manager's active flag (`set_condition`), readable without the actor.
    pub active: AtomicBool,
    /// Live cluster reads for `get_net_links_addrs` (the SDK's clusters are thread-safe).
    pub sdk: Arc<dyn Sdk + Send + Sync>,
    /// Automatic ticks stop when tests drive the clock by hand.
    pub auto_tick: AtomicBool,
    thread: Mutex<Option<JoinHandle<()>>>,
    epoch: Instant,
}

impl Runtime {
    /// The enqueue stamp of a message: 1 in 16 messages per thread is timed (0 = not timed), so the
    /// queue-wait and processing histograms cost two clock reads per 16 messages, not three per message
    /// (a clock read costs ~50 ns on these VMs: 11% of the actor's time in an event storm).
    pub fn queue_stamp(&self) -> u64 {
        thread_local!(static N: std::cell::Cell<u32> = const { std::cell::Cell::new(0) });
        let n = N.with(|c| {
            let n = c.get();
            c.set(n.wrapping_add(1));
            n
        });
        if n % 16 == 0 {
            self.mono_ns().max(1)
        } else {
            0
        }
    }

    /// Monotonic nanoseconds since this runtime started (queue-wait accounting).
    pub fn mono_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }
}

/// Builds the core on the actor thread (node callbacks hold raw pointers and need not be Send).
pub type CoreFactory = Box<dyn FnOnce(Arc<Clock>) -> Core + Send>;

/// Start the actor thread. Returns once the core exists and its first view is published.
pub fn start(
    cfg: RuntimeConfig,
    sdk: Arc<dyn Sdk + Send + Sync>,
    clock: Arc<Clock>,
    make_core: CoreFactory,
) -> std::io::Result<Arc<Runtime>> {
    let (tx, rx) = std::sync::mpsc::channel::<Arc<ArcSwap<Snapshot>>>();
    let rt_slot: Arc<Mutex<Option<Arc<Runtime>>>> = Arc::new(Mutex::new(None));
    let rt_for_thread = rt_slot.clone();
    let clock_for_thread = clock.clone();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let handle = std::thread::Builder::new().name("dap_link_manager".into()).spawn(move || {
        let core = make_core(clock_for_thread);
        core.publish();
        if tx.send(core.views().clone()).is_err() || go_rx.recv().is_err() {
            return;
        }
        let rt = rt_for_thread.lock().unwrap_or_else(|e| e.into_inner()).take().expect("runtime set before go");
        run(&rt, &core);
    })?;
    let views = rx.recv().map_err(|_| std::io::Error::other("actor thread failed to start"))?;
    let rt = Arc::new(Runtime {
        mailbox: Mailbox::new(cfg.mailbox),
        views,
        clock,
        cfg,
        metrics: Metrics::default(),
        active: AtomicBool::new(true),
        sdk,
        auto_tick: AtomicBool::new(true),
        thread: Mutex::new(None),
        epoch: Instant::now(),
    });
    rt.mailbox.bind_consumer(handle.thread().clone());
    *rt.thread.lock().unwrap_or_else(|e| e.into_inner()) = Some(handle);
    *rt_slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(rt.clone());
    go_tx.send(()).map_err(|_| std::io::Error::other("actor thread exited early"))?;
    Ok(rt)
}

/// Stop the actor: a CRITICAL shutdown deletes every link and net, queued requests are answered
/// "shutting down", the thread is joined. Idempotent.
pub fn stop(rt: &Runtime) {
    rt.active.store(false, Ordering::Release);
    let _ = rt.mailbox.push(Priority::Critical, Msg::Shutdown, true, None);
    let handle = rt.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(h) = handle {
        if h.thread().id() == std::thread::current().id() {
            error!("[LM-ERROR] deinit called from inside a callback: the actor stops after this pass");
            return;
        }
        let _ = h.join();
    }
}

fn run(rt: &Runtime, core: &Core) {
    let _entered = core.enter();
    let batch = rt.cfg.batch_size.max(1);
    let period = rt.cfg.tick_period;
    let mut next_tick = Instant::now() + period;
    let mut tick_queued = false;
    let mut done: Vec<(Sink, Outcome)> = Vec::with_capacity(batch);
    info!("link manager actor started (tick {} ms, batch {batch})", period.as_millis());
    loop {
        let mut n = 0;
        let mut shutdown = false;
        while n < batch {
            let Some((prio, msg)) = rt.mailbox.pop() else {
                break;
            };
            n += 1;
            match msg {
                Msg::Shutdown => {
                    shutdown = true;
                    break;
                }
                Msg::Tick => {
                    tick_queued = false;
                    // Recorded with its phase, so a replay runs the same half of the tick.
                    let tick = Op::Tick(Some(core.next_tick_phase()));
                    record::op(&tick);
                    apply_guarded(rt, core, tick, Priority::Normal).ok();
                }
                Msg::Barrier { sink, queued_ns } => {
                    if queued_ns != 0 {
                        rt.metrics.record_wait(rt.mono_ns().saturating_sub(queued_ns));
                    }
                    done.push((sink, Ok(0)));
                }
                Msg::Op { op, sink, queued_ns } => {
                    let outcome = if queued_ns != 0 {
                        let now = rt.mono_ns();
                        rt.metrics.record_wait(now.saturating_sub(queued_ns));
                        let outcome = apply_guarded(rt, core, op, prio);
                        rt.metrics.record_proc(rt.mono_ns().saturating_sub(now));
                        outcome
                    } else {
                        apply_guarded(rt, core, op, prio)
                    };
                    done.push((sink, outcome));
                }
            }
        }
        if rt.auto_tick.load(Ordering::Relaxed) && !tick_queued && Instant::now() >= next_tick {
            next_tick = Instant::now() + period;
            // Exempt: the actor never waits for room in its own mailbox.
            tick_queued = rt.mailbox.push(Priority::Normal, Msg::Tick, true, None).is_ok();
        }
        if catch_unwind(AssertUnwindSafe(|| core.end_pass())).is_err() {
            rt.metrics.count_panic();
            error!("[LM-ERROR] code=internal link_count_changed callback panicked");
        }
        core.publish();
        rt.metrics.count_pass(n);
        for (sink, outcome) in done.drain(..) {
            sink.complete(outcome);
        }
        if shutdown {
            break;
        }
        if n == 0 {
            let wait = next_tick.saturating_duration_since(Instant::now()).max(Duration::from_micros(50));
            rt.mailbox.wait(wait);
        }
    }
    // Shutdown: delete everything, publish an empty view, answer whatever is still queued.
    apply_guarded(rt, core, Op::Shutdown, Priority::Critical).ok();
    let _ = catch_unwind(AssertUnwindSafe(|| core.end_pass()));
    core.publish();
    rt.mailbox.close();
    let mut answered = 0usize;
    for (_, msg) in rt.mailbox.drain() {
        match msg {
            Msg::Op { sink, .. } | Msg::Barrier { sink, .. } => {
                sink.complete(Err(LmError::ShuttingDown));
                answered += 1;
            }
            Msg::Shutdown | Msg::Tick => {}
        }
    }
    info!("link manager actor stopped ({answered} queued requests answered \"shutting down\")");
}

fn apply_guarded(rt: &Runtime, core: &Core, op: Op, prio: Priority) -> Outcome {
    let name = op.name();
    rt.metrics.count_op(&op);
    match catch_unwind(AssertUnwindSafe(|| core.apply(op))) {
        Ok(code) => {
            debug!("[LM-PERF] op={name} prio={} result={code}", prio.name());
            Ok(code)
        }
        Err(_) => {
            rt.metrics.count_panic();
            error!("[LM-ERROR] code=internal op={name}: handler panicked; request failed, actor goes on");
            Err(LmError::Internal)
        }
    }
}
