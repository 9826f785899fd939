//! Waiting without burning a core: the spin → yield → block backoff shared by the mailbox, the reply
//! slot and backpressured producers, and the park/unpark hand-off that lets the idle actor sleep.
//!
//! Measured on the 2-vCPU targets: waking a parked thread costs 20–45 µs, a hand-off between two
//! spinning threads ~165 ns. So waiters spin only for a few µs, then yield (so that, with more threads
//! than cores, the thread they wait for can run), and only then park.
//!
//! Under `--cfg loom` the [`sync`] shim swaps in loom's atomics, cells, mutex and threads, so the
//! loom models in `tests/loom_mailbox.rs` check these protocols. Loom has no clock: there a timed park
//! parks until unparked, which turns any lost wakeup into a deadlock that loom reports.

use std::time::{Duration, Instant};

use self::sync::atomic::{fence, AtomicBool, AtomicU8, Ordering};
use self::sync::{thread, Mutex, Thread};

/// std or loom, chosen at compile time; everything in `actor` that loom must see goes through here.
pub(crate) mod sync {
    #[cfg(not(loom))]
    pub(crate) use std::{
        sync::{atomic, Mutex},
        thread::{self, Thread},
    };

    #[cfg(loom)]
    pub(crate) use loom::{
        sync::{atomic, Mutex},
        thread::{self, Thread},
    };

    /// `std::thread::park_timeout`; under loom a plain park (loom has no time).
    #[cfg(not(loom))]
    pub(crate) fn park_timeout(timeout: std::time::Duration) {
        std::thread::park_timeout(timeout);
    }

    #[cfg(loom)]
    pub(crate) fn park_timeout(_timeout: std::time::Duration) {
        loom::thread::park();
    }

    /// `std::thread::sleep`; under loom a yield, so that polling loops let the model progress.
    #[cfg(not(loom))]
    pub(crate) fn sleep(duration: std::time::Duration) {
        std::thread::sleep(duration);
    }

    #[cfg(loom)]
    pub(crate) fn sleep(_duration: std::time::Duration) {
        loom::thread::yield_now();
    }

    /// The mailbox's lane queue: crossbeam's `SegQueue`, or a loom-visible stand-in.
    #[cfg(not(loom))]
    pub(crate) use crossbeam_queue::SegQueue as Queue;

    #[cfg(loom)]
    pub(crate) use self::model_queue::Queue;

    /// Loom stand-in for `SegQueue`, whose std atomics loom cannot see (so it would never preempt a
    /// push halfway). It promises only what the mailbox may assume of any MPMC queue: a relaxed slot
    /// claim, a release publish, an acquire take. Weaker than SegQueue, so passing models show the
    /// mailbox's own fences carry the protocol.
    #[cfg(loom)]
    mod model_queue {
        use loom::cell::UnsafeCell;
        use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

        /// Messages per lane a model may push.
        const CAPACITY: usize = 8;

        pub(crate) struct Queue<T> {
            slots: Vec<(AtomicBool, UnsafeCell<Option<T>>)>,
            head: AtomicUsize,
            tail: AtomicUsize,
        }

        // SAFETY: as for SegQueue: values move between threads (`T: Send`), and each slot's cell is
        // touched by one thread at a time, handed over by `tail` (claim) and `written` (publish).
        unsafe impl<T: Send> Send for Queue<T> {}
        // SAFETY: as above.
        unsafe impl<T: Send> Sync for Queue<T> {}

        impl<T> Queue<T> {
            pub(crate) fn new() -> Self {
                Self {
                    slots: (0..CAPACITY).map(|_| (AtomicBool::new(false), UnsafeCell::new(None))).collect(),
                    head: AtomicUsize::new(0),
                    tail: AtomicUsize::new(0),
                }
            }

            pub(crate) fn push(&self, value: T) {
                let index = self.tail.fetch_add(1, Ordering::Relaxed);
                assert!(index < CAPACITY, "loom model queue holds {CAPACITY}");
                let (written, cell) = &self.slots[index];
                // SAFETY: the fetch_add gave this thread the slot; the consumer reads it only after
                // `written`, which is stored below.
                cell.with_mut(|slot| unsafe { *slot = Some(value) });
                written.store(true, Ordering::Release);
            }

            /// Single consumer (the models pop from one thread).
            pub(crate) fn pop(&self) -> Option<T> {
                let head = self.head.load(Ordering::Relaxed);
                if head == self.tail.load(Ordering::Relaxed) {
                    return None;
                }
                let (written, cell) = &self.slots[head];
                // Like SegQueue, wait for a claimed slot's value.
                while !written.load(Ordering::Acquire) {
                    loom::thread::yield_now();
                }
                self.head.store(head + 1, Ordering::Relaxed);
                // SAFETY: `written` (acquired) says the producer is done with the slot; only the
                // single consumer takes from it, once, as `head` moved past it.
                cell.with_mut(|slot| unsafe { (*slot).take() })
            }

            pub(crate) fn is_empty(&self) -> bool {
                self.head.load(Ordering::Relaxed) == self.tail.load(Ordering::Relaxed)
            }
        }
    }

    /// `UnsafeCell` with loom's closure API, so loom can check every access for data races.
    #[cfg(loom)]
    pub(crate) use loom::cell::UnsafeCell;

    #[cfg(not(loom))]
    #[derive(Debug)]
    pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    #[cfg(not(loom))]
    impl<T> UnsafeCell<T> {
        pub(crate) const fn new(value: T) -> Self {
            Self(std::cell::UnsafeCell::new(value))
        }

        /// Gives the raw pointer to `f`; the caller's protocol decides when dereferencing is sound.
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }
}

/// Spin phases before yielding: 1 + 2 + … + 64 pause instructions, a few µs in all, which covers a
/// running peer's typical ~165 ns hand-off without sitting on the core for long.
const SPIN_STEPS: u32 = if cfg!(loom) { 0 } else { 7 };
/// Yields before blocking: lets a preempted peer (more threads than cores) run before we sleep.
const YIELD_STEPS: u32 = if cfg!(loom) { 0 } else { 8 };
/// Bounds of the sleeps of a polling waiter (backpressure, shutdown drain) once it has stopped yielding.
const MIN_SLEEP: Duration = Duration::from_micros(20);
const MAX_SLEEP: Duration = Duration::from_millis(1);

/// Exponential backoff for one wait: spin, then yield, then (for pollers) sleep.
pub(crate) struct Backoff {
    step: u32,
    sleep: Duration,
}

impl Backoff {
    pub(crate) fn new() -> Self {
        Self { step: 0, sleep: MIN_SLEEP }
    }

    /// One spin or yield step; `false` once both phases are spent and the caller should block.
    // Under loom both step counts are 0, which makes the comparisons constant.
    #[cfg_attr(loom, allow(clippy::absurd_extreme_comparisons))]
    pub(crate) fn snooze(&mut self) -> bool {
        if self.step < SPIN_STEPS {
            for _ in 0..1u32 << self.step {
                std::hint::spin_loop();
            }
        } else if self.step < SPIN_STEPS + YIELD_STEPS {
            thread::yield_now();
        } else {
            return false;
        }
        self.step += 1;
        true
    }

    /// For waiters nobody will unpark: spin, yield, then sleep doubling intervals, never past `deadline`.
    pub(crate) fn pause(&mut self, deadline: Option<Instant>) {
        if self.snooze() {
            return;
        }
        let mut nap = self.sleep;
        if let Some(deadline) = deadline {
            nap = nap.min(deadline.saturating_duration_since(Instant::now()));
        }
        sync::sleep(nap);
        self.sleep = (self.sleep * 2).min(MAX_SLEEP);
    }
}

/// Consumer busy (or spinning): producers do not unpark.
const RUNNING: u8 = 0;
/// Consumer parked or about to park: the next publisher unparks it.
const PARKED: u8 = 1;
/// A wakeup is pending: the consumer's next check returns at once.
const NOTIFIED: u8 = 2;

/// Park/unpark hand-off between many publishers and one consumer thread.
///
/// Dekker-style: the consumer stores `PARKED` then re-checks for work; a publisher publishes work then
/// loads the state; a `SeqCst` fence on each side guarantees at least one of them sees the other, so a
/// wakeup is never lost while the publisher's fast path is one fence and one relaxed load.
pub(crate) struct ConsumerParker {
    state: AtomicU8,
    /// The thread to unpark. Locked by publishers only to unpark (a 20–45 µs operation anyway), and
    /// by the consumer only to bind, before anyone can target it with an unpark.
    consumer: Mutex<Option<Thread>>,
    /// Set once a consumer is bound, so that `wait` does not lock on every park.
    bound: AtomicBool,
}

impl ConsumerParker {
    pub(crate) fn new() -> Self {
        Self { state: AtomicU8::new(RUNNING), consumer: Mutex::new(None), bound: AtomicBool::new(false) }
    }

    /// Records the consumer thread; [`Self::wait`] binds its caller if nobody is bound yet.
    ///
    /// Takes a std thread even under loom, so callers need no cfg; loom threads bind in `wait`.
    pub(crate) fn bind(&self, consumer: std::thread::Thread) {
        #[cfg(not(loom))]
        self.set_consumer(consumer);
        #[cfg(loom)]
        drop(consumer);
    }

    fn set_consumer(&self, consumer: Thread) {
        *self.consumer.lock().unwrap_or_else(|e| e.into_inner()) = Some(consumer);
        self.bound.store(true, Ordering::Release);
    }

    /// Called by a publisher right after making work visible to the consumer's `ready` check.
    #[inline]
    pub(crate) fn publish(&self) {
        // Pairs with the fence in `wait`: either the consumer's final check sees our work, or we see
        // its PARKED.
        fence(Ordering::SeqCst);
        if self.state.load(Ordering::Relaxed) == PARKED
            && self.state.compare_exchange(PARKED, NOTIFIED, Ordering::SeqCst, Ordering::Relaxed).is_ok()
        {
            // Only the publisher that won the exchange pays for the unpark.
            self.unpark();
        }
    }

    /// Wakes the consumer, or makes its next `wait` return at once; notifications coalesce.
    pub(crate) fn notify(&self) {
        if self.state.swap(NOTIFIED, Ordering::SeqCst) == PARKED {
            self.unpark();
        }
    }

    fn unpark(&self) {
        if let Some(consumer) = &*self.consumer.lock().unwrap_or_else(|e| e.into_inner()) {
            consumer.unpark();
        }
    }

    /// Consumes a pending notification.
    fn take_notification(&self) -> bool {
        // Load first: a swap on every spin step would bounce the cache line off the publishers.
        self.state.load(Ordering::Relaxed) == NOTIFIED && self.state.swap(RUNNING, Ordering::Acquire) == NOTIFIED
    }

    /// Consumer side: returns `true` as soon as `ready()` holds or a notification arrives, `false`
    /// once `timeout` has passed. Must be called by one thread at a time (the consumer).
    pub(crate) fn wait(&self, timeout: Duration, ready: impl Fn() -> bool) -> bool {
        let mut backoff = Backoff::new();
        loop {
            if self.take_notification() || ready() {
                return true;
            }
            if !backoff.snooze() {
                break;
            }
        }
        let deadline = Instant::now().checked_add(timeout);
        self.bind_current_once();
        loop {
            // Only this thread stores PARKED, so the exchange fails only on NOTIFIED. Every reset to
            // RUNNING is an Acquire RMW, never a store: a notification it consumes or overwrites must
            // also hand over what the notifier wrote before it (loom finds the lost wakeup otherwise).
            if self.state.compare_exchange(RUNNING, PARKED, Ordering::SeqCst, Ordering::Acquire).is_err() {
                self.state.swap(RUNNING, Ordering::Acquire);
                return true;
            }
            fence(Ordering::SeqCst); // pairs with the fence in `publish`
            if ready() {
                // A publisher may still unpark us: a stray token only makes a later park return early.
                self.state.swap(RUNNING, Ordering::Acquire);
                return true;
            }
            match deadline {
                None => sync::park_timeout(Duration::MAX),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return self.state.swap(RUNNING, Ordering::Acquire) == NOTIFIED;
                    }
                    sync::park_timeout(deadline - now);
                }
            }
            // Woken, timed out or spurious: NOTIFIED tells a real wakeup apart.
            if self.state.swap(RUNNING, Ordering::Acquire) == NOTIFIED || ready() {
                return true;
            }
        }
    }

    /// Binds the calling thread unless a consumer is bound already.
    fn bind_current_once(&self) {
        if !self.bound.load(Ordering::Acquire) {
            self.set_consumer(thread::current());
        }
    }
}
