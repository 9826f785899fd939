//! How a call reaches the actor: the one routing layer under the three API flavours (original, `_sync`,
//! `_async`). The C boundary (`ffi/`) validates arguments and maps results; everything else is here.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use arc_swap::{ArcSwapOption, Guard};
use log::warn;

use super::mailbox::{Priority, PushError};
use super::reply::ReplySlot;
use super::{priority_of, LmError, Msg, Outcome, Runtime, Sink};
use crate::core::view::{bump_view_generation, Snapshot, VIEW_GENERATION};
use crate::core::{with_current, Op};
use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering::Acquire;
use std::sync::atomic::Ordering::Relaxed;

static RUNTIME: ArcSwapOption<Runtime> = ArcSwapOption::const_empty();
static LIFECYCLE: Mutex<()> = Mutex::new(());

/// Serialises `init`/`deinit` (never taken on a hot path).
pub fn lifecycle() -> MutexGuard<'static, ()> {
    LIFECYCLE.lock().unwrap_or_else(|e| e.into_inner())
}

pub fn install(rt: Arc<Runtime>) {
    RUNTIME.store(Some(rt));
    bump_view_generation();
}

pub fn uninstall() -> Option<Arc<Runtime>> {
    let rt = RUNTIME.swap(None);
    bump_view_generation();
    rt
}

/// The running manager, if `init` ran and `deinit` did not.
pub fn runtime() -> Option<Arc<Runtime>> {
    RUNTIME.load_full()
}

/// Borrow the running manager without touching its reference count (hot getters).
pub fn with_runtime<R>(f: impl FnOnce(&Runtime) -> R) -> Option<R> {
    let g = RUNTIME.load();
    g.as_ref().map(|rt| f(rt))
}

/// True on the actor thread (i.e. inside a callback or completion the library is running).
pub fn on_actor_thread() -> bool {
    with_current(|_| ()).is_some()
}

/// How the caller wants the outcome.
pub enum Mode {
    /// Original fire-and-forget calls: queue it, report only submission errors.
    Queue,
    /// Wait for the outcome (default deadline when None). On the actor thread: run inline.
    Wait(Option<Duration>),
    /// Run the closure with the outcome on the actor thread after the pass published its state; on a
    /// refusal at submission, run it at once on the calling thread.
    Then(Box<dyn FnOnce(Outcome) + Send>),
    /// SDK membership callbacks: applied in place when they come from the library's own SDK call,
    /// queued otherwise.
    InPlace,
}

/// Submit `op`. Facts and CRITICAL requests are never refused for capacity.
pub fn submit(op: Op, mode: Mode) -> Outcome {
    let guard = RUNTIME.load();
    let Some(rt) = guard.as_ref() else {
        warn!("[LM-ERROR] code=not_initialised op={}: the link manager is not initialised", op.name());
        return refuse(mode, LmError::NotInitialized);
    };
    // Membership events the SDK reports from inside the library's own cluster call are effects, not
    // inputs: a replay regenerates them.
    let own_effect = matches!(mode, Mode::InPlace) && with_current(|c| c.in_sdk_call()).unwrap_or(false);
    if !own_effect {
        super::record::op(&op);
    }
    let mode = match mode {
        Mode::Wait(_) | Mode::InPlace if on_actor_thread() => {
            rt.metrics.sync_calls.fetch_add(u64::from(matches!(mode, Mode::Wait(_))), Relaxed);
            let name = op.name();
            return with_current(|core| catch_unwind(AssertUnwindSafe(|| core.reenter(op))))
                .expect("on the actor thread")
                .map_err(|_| {
                    rt.metrics.count_panic();
                    log::error!("[LM-ERROR] code=internal op={name}: inline handler panicked");
                    LmError::Internal
                });
        }
        Mode::InPlace => Mode::Queue,
        m => m,
    };
    let prio = priority_of(&op);
    // The actor thread never waits for room nor is refused: it is the only consumer, so waiting would
    // stall it, and what a callback queues is bounded by the callback itself (CONTRACT.md §10).
    let exempt = op.is_fact() || prio == Priority::Critical || on_actor_thread();
    let timeout = match &mode {
        Mode::Wait(Some(t)) => *t,
        _ => rt.cfg.sync_timeout,
    };
    let deadline = Instant::now() + timeout;
    let (sink, slot) = match mode {
        Mode::Queue | Mode::InPlace => (Sink::None, None),
        Mode::Wait(_) => {
            rt.metrics.sync_calls.fetch_add(1, Relaxed);
            let slot = Arc::new(ReplySlot::new());
            (Sink::Slot(slot.clone()), Some(slot))
        }
        Mode::Then(f) => {
            rt.metrics.async_calls.fetch_add(1, Relaxed);
            (Sink::Then(f), None)
        }
    };
    let name = op.name();
    let msg = Msg::Op { op, sink, queued_ns: rt.queue_stamp() };
    push(rt, prio, msg, exempt, deadline, name)?;
    match slot {
        None => Ok(0),
        Some(slot) => wait(rt, &slot, deadline, name),
    }
}

/// The view getters read. On the actor thread it is brought up to date first (read-your-writes inside
/// callbacks); elsewhere it is the view of the last drain pass.
pub fn view() -> Result<Guard<Arc<Snapshot>>, LmError> {
    let guard = RUNTIME.load();
    let rt = guard.as_ref().ok_or(LmError::NotInitialized)?;
    with_current(|core| core.publish());
    Ok(rt.views.load())
}

thread_local! {
    /// The view this thread read last, with the generation it was current at.
    static VIEW_CACHE: RefCell<Option<(u64, Arc<Snapshot>)>> = const { RefCell::new(None) };
}

/// Run `f` on the current view: the original getters. Off the actor thread, a thread keeps the view it
/// read last and only reloads it when the generation moved (one load, no read-modify-write: getters
/// on many threads do not bounce a shared cache line). On the actor thread, as [`view`].
pub fn with_view<R>(f: impl FnOnce(&Snapshot) -> R) -> Result<R, LmError> {
    if on_actor_thread() {
        return view().map(|v| f(&v));
    }
    let gen = VIEW_GENERATION.load(Acquire);
    VIEW_CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some((g, snap)) = cache.as_ref() {
            if *g == gen {
                return Ok(f(snap));
            }
        }
        let guard = RUNTIME.load();
        let Some(rt) = guard.as_ref() else {
            *cache = None;
            return Err(LmError::NotInitialized);
        };
        let snap = rt.views.load_full();
        let r = f(&snap);
        *cache = Some((gen, snap));
        Ok(r)
    })
}

/// The view after everything this thread queued earlier has been applied (`_sync` queries).
pub fn view_sync(timeout: Option<Duration>) -> Result<Guard<Arc<Snapshot>>, LmError> {
    barrier(timeout)?;
    view()
}

/// Wait until everything this thread queued before has been applied and published.
pub fn barrier(timeout: Option<Duration>) -> Outcome {
    let guard = RUNTIME.load();
    let Some(rt) = guard.as_ref() else {
        warn!("[LM-ERROR] code=not_initialised waiting call: the link manager is not initialised");
        return Err(LmError::NotInitialized);
    };
    if on_actor_thread() {
        with_current(|core| core.publish());
        return Ok(0);
    }
    rt.metrics.sync_calls.fetch_add(1, Relaxed);
    let deadline = Instant::now() + timeout.unwrap_or(rt.cfg.sync_timeout);
    let slot = Arc::new(ReplySlot::new());
    let msg = Msg::Barrier { sink: Sink::Slot(slot.clone()), queued_ns: rt.queue_stamp() };
    push(rt, Priority::Normal, msg, false, deadline, "barrier")?;
    wait(rt, &slot, deadline, "barrier")
}

/// Run `f` on the actor thread after everything queued before it was applied and published
/// (`_async` queries); on a refusal, run it at once with the error.
pub fn then_view(f: Box<dyn FnOnce(Outcome) + Send>) -> Outcome {
    let guard = RUNTIME.load();
    let Some(rt) = guard.as_ref() else {
        return refuse(Mode::Then(f), LmError::NotInitialized);
    };
    rt.metrics.async_calls.fetch_add(1, Relaxed);
    let deadline = Instant::now() + rt.cfg.sync_timeout;
    let msg = Msg::Barrier { sink: Sink::Then(f), queued_ns: rt.queue_stamp() };
    push(rt, Priority::Normal, msg, on_actor_thread(), deadline, "async_query").map(|_| 0)
}

fn push(rt: &Runtime, prio: Priority, msg: Msg, exempt: bool, deadline: Instant, name: &str) -> Outcome {
    let err = match rt.mailbox.push(prio, msg, exempt, Some(deadline)) {
        Ok(()) => return Ok(0),
        Err(e) => e,
    };
    rt.metrics.rejected.fetch_add(1, Relaxed);
    let (code, msg) = match err {
        PushError::Full(m) | PushError::Timeout(m) => (LmError::QueueFull, m),
        PushError::Closed(m) => (LmError::ShuttingDown, m),
    };
    warn!("[LM-ERROR] code={code:?} op={name} prio={}: request refused", prio.name());
    if let Msg::Op { sink, .. } | Msg::Barrier { sink, .. } = msg {
        if let Sink::Then(f) = sink {
            f(Err(code));
        }
    }
    Err(code)
}

fn wait(rt: &Runtime, slot: &ReplySlot<Outcome>, deadline: Instant, name: &str) -> Outcome {
    match slot.wait(deadline) {
        Ok(outcome) => outcome,
        Err(_) => {
            rt.metrics.timeouts.fetch_add(1, Relaxed);
            warn!("[LM-ERROR] code=timeout op={name}: no answer from the actor before the deadline");
            Err(LmError::Timeout)
        }
    }
}

fn refuse(mode: Mode, e: LmError) -> Outcome {
    if let Mode::Then(f) = mode {
        f(Err(e));
    }
    Err(e)
}
