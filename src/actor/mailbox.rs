//! The actor's mailbox: four lock-free FIFO lanes drained strictly by priority, with per-lane
//! capacity and backpressure, exact depth accounting, race-free close, and a park/unpark hand-off so
//! the idle actor uses no CPU.
//!
//! Threads: any number of producers (`push`, `close`, `notify`, the stats getters) and one consumer,
//! the actor thread (`pop`, `wait`, `drain`). The consumer loop is:
//!
//! ```ignore
//! loop {
//!     while let Some((prio, msg)) = mailbox.pop() { handle(prio, msg) }
//!     if mailbox.is_closed() {
//!         for (prio, msg) in mailbox.drain() { handle(prio, msg) } // every accepted message
//!         break;
//!     }
//!     mailbox.wait(time_to_next_timer);
//! }
//! ```

use std::fmt;
use std::time::{Duration, Instant};

use super::wake::sync::atomic::{AtomicU64, Ordering};
use super::wake::sync::Queue;
use super::wake::{Backoff, ConsumerParker};

/// Message priority; lower value is drained first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Priority {
    /// Drained before everything else (control messages such as shutdown).
    Critical = 0,
    /// Drained before `Normal` and `Low`.
    High = 1,
    /// The default for requests.
    Normal = 2,
    /// Drained only when every other lane is empty.
    Low = 3,
}

impl Priority {
    /// All priorities in drain order.
    pub const ALL: [Priority; 4] = [Priority::Critical, Priority::High, Priority::Normal, Priority::Low];

    /// Index into per-priority arrays such as [`MailboxConfig::capacity`].
    #[inline]
    pub const fn as_index(self) -> usize {
        self as usize
    }

    /// Lower-case name for logs and stats.
    pub const fn name(self) -> &'static str {
        match self {
            Priority::Critical => "critical",
            Priority::High => "high",
            Priority::Normal => "normal",
            Priority::Low => "low",
        }
    }
}

/// What a non-exempt push does when its lane is at capacity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Backpressure {
    /// Fail at once with [`PushError::Full`].
    #[default]
    Reject,
    /// Poll (spin, yield, then sleeps of 20 µs doubling to 1 ms) until there is room, the mailbox
    /// closes, or the deadline passes ([`PushError::Timeout`]). Polling costs the actor nothing, and
    /// a sleeping producer leaves the core to the actor that is behind.
    Wait,
}

/// Construction-time limits of a [`Mailbox`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct MailboxConfig {
    /// Per-priority capacity, indexed by [`Priority::as_index`]; `0` = unbounded.
    pub capacity: [usize; 4],
    /// What a full lane does to a non-exempt push.
    pub policy: Backpressure,
}

/// Why a push failed; every variant gives the message back.
#[derive(PartialEq, Eq)]
pub enum PushError<T> {
    /// The lane was at capacity and the policy is [`Backpressure::Reject`].
    Full(T),
    /// The mailbox was closed; nothing will ever be accepted again.
    Closed(T),
    /// The lane stayed at capacity until the deadline ([`Backpressure::Wait`]).
    Timeout(T),
}

impl<T> PushError<T> {
    /// The message that was not queued.
    pub fn into_inner(self) -> T {
        match self {
            PushError::Full(msg) | PushError::Closed(msg) | PushError::Timeout(msg) => msg,
        }
    }
}

// Manual impls so that `T` need not be `Debug`: messages may hold callbacks or raw pointers.
impl<T> fmt::Debug for PushError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let variant = match self {
            PushError::Full(_) => "Full",
            PushError::Closed(_) => "Closed",
            PushError::Timeout(_) => "Timeout",
        };
        write!(f, "{variant}(..)")
    }
}

impl<T> fmt::Display for PushError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PushError::Full(_) => "mailbox lane is full",
            PushError::Closed(_) => "mailbox is closed",
            PushError::Timeout(_) => "timed out waiting for room in the mailbox",
        })
    }
}

impl<T> std::error::Error for PushError<T> {}

/// Point-in-time copy of the mailbox counters, indexed by [`Priority::as_index`].
///
/// Each field is read atomically but not all together, so under load the fields may be a few
/// messages apart; at rest they are exact and `pushed - popped == depth`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MailboxStats {
    /// Accepted and not yet popped.
    pub depth: [u64; 4],
    /// Highest depth seen since construction (high-water mark).
    pub peak: [u64; 4],
    /// Accepted pushes.
    pub pushed: [u64; 4],
    /// Messages handed to the consumer.
    pub popped: [u64; 4],
    /// Pushes refused with [`PushError::Full`].
    pub rejected: [u64; 4],
    /// Pushes refused with [`PushError::Timeout`].
    pub timed_out: [u64; 4],
}

impl MailboxStats {
    /// Accepted pushes over all priorities.
    pub fn total_pushed(&self) -> u64 {
        self.pushed.iter().sum()
    }

    /// Popped messages over all priorities.
    pub fn total_popped(&self) -> u64 {
        self.popped.iter().sum()
    }
}

/// Set in `Lane::accepted` by `close`: no reservation can succeed after it.
const CLOSED: u64 = 1 << 63;
const COUNT: u64 = !CLOSED;

/// Keeps the producer-written and the consumer-written counters on separate cache lines.
#[repr(align(128))]
struct Padded<T>(T);

/// One priority's queue and counters.
///
/// A push first *reserves* by incrementing `accepted` (which enforces the capacity exactly and is the
/// point where the message counts as accepted), then enqueues. `close` sets `CLOSED` in the same
/// word, so after it the accepted count is frozen and the final drain knows exactly how many messages
/// it still owes, including those of producers caught between reservation and enqueue.
struct Lane<T> {
    queue: Queue<T>,
    /// 0 = unbounded.
    capacity: u64,
    /// Accepted pushes (reservations), plus the `CLOSED` bit.
    accepted: Padded<AtomicU64>,
    /// Messages popped; written by the consumer only, in practice.
    popped: Padded<AtomicU64>,
    // Cold counters, written on peaks and failures only.
    peak: AtomicU64,
    rejected: AtomicU64,
    timed_out: AtomicU64,
}

/// Why a reservation failed, before the message is handed back.
enum Refusal {
    Full,
    Closed,
    Timeout,
}

/// Multi-producer, single-consumer priority mailbox. See the module docs for the consumer loop.
///
/// All counters are relaxed atomics: they publish no data (the queues order the messages), and each
/// is exact on its own.
pub struct Mailbox<T> {
    lanes: [Lane<T>; 4],
    policy: Backpressure,
    parker: ConsumerParker,
}

impl<T> Mailbox<T> {
    /// An open, empty mailbox with no consumer bound yet.
    pub fn new(config: MailboxConfig) -> Self {
        Self {
            lanes: config.capacity.map(|capacity| Lane {
                queue: Queue::new(),
                capacity: capacity as u64,
                accepted: Padded(AtomicU64::new(0)),
                popped: Padded(AtomicU64::new(0)),
                peak: AtomicU64::new(0),
                rejected: AtomicU64::new(0),
                timed_out: AtomicU64::new(0),
            }),
            policy: config.policy,
            parker: ConsumerParker::new(),
        }
    }

    /// Queues `msg` at `prio`; any thread.
    ///
    /// `exempt` pushes (facts the actor must not lose, and CRITICAL requests) ignore the capacity and
    /// fail only with `Closed`. Others, at capacity: `Reject` fails with `Full` at once; `Wait` polls
    /// until there is room or `deadline` passes (`None` = no deadline; still ends on close).
    /// On success, wakes the consumer if it is parked (fast path: one fence and one load).
    pub fn push(&self, prio: Priority, msg: T, exempt: bool, deadline: Option<Instant>) -> Result<(), PushError<T>> {
        let lane = &self.lanes[prio.as_index()];
        match self.reserve(lane, exempt, deadline) {
            Ok(()) => {}
            Err(Refusal::Full) => return Err(PushError::Full(msg)),
            Err(Refusal::Closed) => return Err(PushError::Closed(msg)),
            Err(Refusal::Timeout) => return Err(PushError::Timeout(msg)),
        }
        // Nothing between the reservation and this line can fail: the final drain counts on it.
        lane.queue.push(msg);
        self.parker.publish();
        Ok(())
    }

    fn reserve(&self, lane: &Lane<T>, exempt: bool, deadline: Option<Instant>) -> Result<(), Refusal> {
        let bounded = lane.capacity != 0 && !exempt;
        let mut backoff = Backoff::new();
        let mut current = lane.accepted.0.load(Ordering::Relaxed);
        loop {
            if current & CLOSED != 0 {
                return Err(Refusal::Closed);
            }
            // `popped` may be newer than `current`; then the exchange below fails and we retry.
            let depth = current.saturating_sub(lane.popped.0.load(Ordering::Relaxed));
            if bounded && depth >= lane.capacity {
                match self.policy {
                    Backpressure::Reject => {
                        lane.rejected.fetch_add(1, Ordering::Relaxed);
                        return Err(Refusal::Full);
                    }
                    Backpressure::Wait => {
                        if deadline.is_some_and(|d| Instant::now() >= d) {
                            lane.timed_out.fetch_add(1, Ordering::Relaxed);
                            return Err(Refusal::Timeout);
                        }
                        backoff.pause(deadline);
                        current = lane.accepted.0.load(Ordering::Relaxed);
                        continue;
                    }
                }
            }
            // A CAS rather than fetch_add: capacity and CLOSED are checked against the value replaced.
            match lane.accepted.0.compare_exchange_weak(current, current + 1, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => {
                    let depth = depth + 1;
                    if depth > lane.peak.load(Ordering::Relaxed) {
                        lane.peak.fetch_max(depth, Ordering::Relaxed);
                    }
                    return Ok(());
                }
                Err(actual) => current = actual,
            }
        }
    }

    /// Takes the oldest message of the highest non-empty priority. Consumer thread.
    pub fn pop(&self) -> Option<(Priority, T)> {
        for (lane, prio) in self.lanes.iter().zip(Priority::ALL) {
            // SegQueue::pop of an empty queue costs a SeqCst fence; is_empty is two plain loads.
            if lane.queue.is_empty() {
                continue;
            }
            if let Some(msg) = lane.queue.pop() {
                lane.popped.0.fetch_add(1, Ordering::Relaxed);
                return Some((prio, msg));
            }
        }
        None
    }

    /// Blocks the consumer until a message may be available, [`notify`](Self::notify) was called, the
    /// mailbox is closed, or `timeout` passed (then `false`). Consumer thread only.
    ///
    /// Spins a few µs, yields a few times, then parks; an idle consumer uses no CPU. The first park
    /// binds the calling thread as the one producers unpark, unless [`bind_consumer`](Self::bind_consumer)
    /// already named it.
    pub fn wait(&self, timeout: Duration) -> bool {
        self.parker.wait(timeout, || self.has_pending())
    }

    /// Names the consumer thread that producers unpark; optional, as the first parking `wait` binds
    /// its caller. Waiting on any other thread than the bound one ends only by timeout.
    pub fn bind_consumer(&self, consumer: std::thread::Thread) {
        self.parker.bind(consumer);
    }

    /// Wakes the consumer without a message (e.g. a timer was rescheduled), or makes its next `wait`
    /// return at once. Any thread; notifications coalesce.
    pub fn notify(&self) {
        self.parker.notify();
    }

    fn has_pending(&self) -> bool {
        self.lanes.iter().any(|lane| !lane.queue.is_empty()) || self.is_closed()
    }

    /// Refuses all further pushes with [`PushError::Closed`] and wakes the consumer. Any thread;
    /// idempotent; never blocks. Messages accepted before are kept for [`drain`](Self::drain).
    pub fn close(&self) {
        for lane in &self.lanes {
            lane.accepted.0.fetch_or(CLOSED, Ordering::Relaxed);
        }
        self.parker.notify();
    }

    /// `true` once [`close`](Self::close) has closed every lane.
    pub fn is_closed(&self) -> bool {
        self.lanes.iter().all(|lane| lane.accepted.0.load(Ordering::Relaxed) & CLOSED != 0)
    }

    /// Pops in priority order until empty. Consumer thread.
    ///
    /// Once [`is_closed`](Self::is_closed) is true, the iterator yields exactly the accepted messages
    /// not yet popped, each once: it waits out producers caught between their (successful) reservation
    /// and their enqueue. Before that it stops at the first empty look, like repeated `pop`.
    pub fn drain(&self) -> Drain<'_, T> {
        Drain { mailbox: self, backoff: Backoff::new() }
    }

    /// Accepted messages not yet popped, over all priorities.
    pub fn len(&self) -> usize {
        Priority::ALL.iter().map(|&p| self.depth(p)).sum()
    }

    /// `len() == 0`.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Accepted messages of `prio` not yet popped.
    pub fn depth(&self, prio: Priority) -> usize {
        let lane = &self.lanes[prio.as_index()];
        // Read `popped` first: every pop follows its push's reservation, so `accepted` read later is
        // at least as large.
        let popped = lane.popped.0.load(Ordering::Relaxed);
        let accepted = lane.accepted.0.load(Ordering::Relaxed) & COUNT;
        accepted.saturating_sub(popped) as usize
    }

    /// Highest depth `prio` ever reached.
    pub fn peak(&self, prio: Priority) -> usize {
        self.lanes[prio.as_index()].peak.load(Ordering::Relaxed) as usize
    }

    /// The configured capacity of `prio` (0 = unbounded).
    pub fn capacity(&self, prio: Priority) -> usize {
        self.lanes[prio.as_index()].capacity as usize
    }

    /// Copies all counters; any thread.
    pub fn stats(&self) -> MailboxStats {
        let mut stats = MailboxStats::default();
        for (i, lane) in self.lanes.iter().enumerate() {
            let popped = lane.popped.0.load(Ordering::Relaxed);
            let pushed = lane.accepted.0.load(Ordering::Relaxed) & COUNT;
            stats.depth[i] = pushed.saturating_sub(popped);
            stats.peak[i] = lane.peak.load(Ordering::Relaxed);
            stats.pushed[i] = pushed;
            stats.popped[i] = popped;
            stats.rejected[i] = lane.rejected.load(Ordering::Relaxed);
            stats.timed_out[i] = lane.timed_out.load(Ordering::Relaxed);
        }
        stats
    }

    /// `true` while a closed lane still owes accepted messages (a producer is between reservation
    /// and enqueue).
    fn owes_messages(&self) -> bool {
        self.lanes.iter().any(|lane| {
            let accepted = lane.accepted.0.load(Ordering::Relaxed);
            accepted & CLOSED != 0 && accepted & COUNT != lane.popped.0.load(Ordering::Relaxed)
        })
    }
}

impl<T> Default for Mailbox<T> {
    /// Unbounded lanes.
    fn default() -> Self {
        Self::new(MailboxConfig::default())
    }
}

impl<T> fmt::Debug for Mailbox<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailbox")
            .field("policy", &self.policy)
            .field("closed", &self.is_closed())
            .field("stats", &self.stats())
            .finish()
    }
}

/// Iterator returned by [`Mailbox::drain`].
pub struct Drain<'a, T> {
    mailbox: &'a Mailbox<T>,
    backoff: Backoff,
}

impl<T> Iterator for Drain<'_, T> {
    type Item = (Priority, T);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.mailbox.pop() {
                return Some(item);
            }
            if !self.mailbox.is_closed() || !self.mailbox.owes_messages() {
                return None;
            }
            // The owing producer is a few instructions from its enqueue, unless it was preempted.
            self.backoff.pause(None);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::sync::atomic::AtomicBool;
    use std::sync::{Arc, Barrier};
    use std::thread;

    fn bounded(capacity: [usize; 4], policy: Backpressure) -> Mailbox<u32> {
        Mailbox::new(MailboxConfig { capacity, policy })
    }

    fn pop_all<T>(mb: &Mailbox<T>) -> Vec<(Priority, T)> {
        std::iter::from_fn(|| mb.pop()).collect()
    }

    #[test]
    fn drains_by_priority_then_fifo() {
        let mb = Mailbox::default();
        let pushes = [
            (Priority::Low, 1),
            (Priority::Normal, 2),
            (Priority::Low, 3),
            (Priority::Critical, 4),
            (Priority::High, 5),
            (Priority::Normal, 6),
            (Priority::Critical, 7),
            (Priority::High, 8),
        ];
        for (prio, msg) in pushes {
            mb.push(prio, msg, false, None).unwrap();
        }
        assert_eq!(mb.len(), 8);
        let got: Vec<u32> = pop_all(&mb).into_iter().map(|(_, m)| m).collect();
        assert_eq!(got, [4, 7, 5, 8, 2, 6, 1, 3]);
        assert!(mb.is_empty());
        assert_eq!(mb.stats().total_pushed(), 8);
        assert_eq!(mb.stats().total_popped(), 8);
    }

    #[test]
    fn priority_helpers_agree() {
        for (i, prio) in Priority::ALL.into_iter().enumerate() {
            assert_eq!(prio.as_index(), i);
        }
        assert_eq!(Priority::Critical.name(), "critical");
        assert_eq!(Priority::Low.name(), "low");
        assert!(Priority::Critical < Priority::Low);
    }

    #[test]
    fn reject_policy_bounds_each_lane_and_counts() {
        let mb = bounded([0, 0, 2, 1], Backpressure::Reject);
        mb.push(Priority::Normal, 1, false, None).unwrap();
        mb.push(Priority::Normal, 2, false, None).unwrap();
        assert_eq!(mb.push(Priority::Normal, 3, false, None), Err(PushError::Full(3)));
        mb.push(Priority::Low, 4, false, None).unwrap();
        assert_eq!(mb.push(Priority::Low, 5, false, None).unwrap_err().into_inner(), 5);
        assert_eq!(mb.push(Priority::Low, 6, false, None), Err(PushError::Full(6)));
        // Unbounded lanes take anything.
        for i in 0..1000 {
            mb.push(Priority::High, i, false, None).unwrap();
        }
        let stats = mb.stats();
        assert_eq!(stats.rejected, [0, 0, 1, 2]);
        assert_eq!(stats.depth, [0, 1000, 2, 1]);
        assert_eq!(mb.peak(Priority::Normal), 2);
        assert_eq!(mb.capacity(Priority::Normal), 2);
        // Room again after a pop.
        while mb.depth(Priority::High) > 0 {
            mb.pop();
        }
        assert_eq!(mb.pop(), Some((Priority::Normal, 1)));
        mb.push(Priority::Normal, 7, false, None).unwrap();
        assert_eq!(mb.depth(Priority::Normal), 2);
        assert_eq!(mb.peak(Priority::Normal), 2);
        assert_eq!(mb.peak(Priority::High), 1000);
    }

    #[test]
    fn exempt_push_is_never_refused_for_capacity() {
        for policy in [Backpressure::Reject, Backpressure::Wait] {
            let mb = bounded([1, 1, 1, 1], policy);
            for prio in Priority::ALL {
                for i in 0..100 {
                    mb.push(prio, i, true, Some(Instant::now())).unwrap();
                }
            }
            assert_eq!(mb.len(), 400);
            assert_eq!(mb.peak(Priority::Low), 100);
            let stats = mb.stats();
            assert_eq!(stats.rejected, [0; 4]);
            assert_eq!(stats.timed_out, [0; 4]);
            mb.close();
            assert_eq!(mb.push(Priority::Critical, 0, true, None), Err(PushError::Closed(0)));
        }
    }

    #[test]
    fn wait_policy_succeeds_once_the_consumer_makes_room() {
        let mb = Arc::new(bounded([0, 0, 1, 0], Backpressure::Wait));
        mb.push(Priority::Normal, 1, false, None).unwrap();
        let consumer = {
            let mb = Arc::clone(&mb);
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(30));
                mb.pop()
            })
        };
        let start = Instant::now();
        let deadline = start + Duration::from_secs(10);
        mb.push(Priority::Normal, 2, false, Some(deadline)).unwrap();
        let waited = start.elapsed();
        assert_eq!(consumer.join().unwrap(), Some((Priority::Normal, 1)));
        assert!(waited >= Duration::from_millis(25), "did not wait: {waited:?}");
        assert!(waited < Duration::from_secs(5), "missed the room: {waited:?}");
        assert_eq!(mb.pop(), Some((Priority::Normal, 2)));
        assert_eq!(mb.stats().timed_out, [0; 4]);
    }

    #[test]
    fn wait_policy_times_out_when_nobody_drains() {
        let mb = bounded([0, 1, 0, 0], Backpressure::Wait);
        mb.push(Priority::High, 1, false, None).unwrap();
        let start = Instant::now();
        let deadline = start + Duration::from_millis(40);
        assert_eq!(mb.push(Priority::High, 2, false, Some(deadline)), Err(PushError::Timeout(2)));
        assert!(start.elapsed() >= Duration::from_millis(40));
        assert!(start.elapsed() < Duration::from_secs(2));
        assert_eq!(mb.stats().timed_out, [0, 1, 0, 0]);
        assert_eq!(mb.stats().rejected, [0; 4]);
        assert_eq!(mb.len(), 1);
    }

    #[test]
    fn wait_policy_ends_on_close() {
        let mb = Arc::new(bounded([0, 0, 0, 1], Backpressure::Wait));
        mb.push(Priority::Low, 1, false, None).unwrap();
        let closer = {
            let mb = Arc::clone(&mb);
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(20));
                mb.close();
            })
        };
        assert_eq!(mb.push(Priority::Low, 2, false, None), Err(PushError::Closed(2)));
        closer.join().unwrap();
        assert_eq!(pop_all(&mb), [(Priority::Low, 1)]);
    }

    #[test]
    fn close_refuses_pushes_but_keeps_queued_messages() {
        let mb = Mailbox::default();
        mb.push(Priority::High, 1, false, None).unwrap();
        mb.push(Priority::Low, 2, false, None).unwrap();
        assert!(!mb.is_closed());
        mb.close();
        mb.close();
        assert!(mb.is_closed());
        assert_eq!(mb.push(Priority::Normal, 3, false, None), Err(PushError::Closed(3)));
        // A closed mailbox never lets the consumer sleep.
        assert!(mb.wait(Duration::from_secs(10)));
        let drained: Vec<_> = mb.drain().collect();
        assert_eq!(drained, [(Priority::High, 1), (Priority::Low, 2)]);
        assert_eq!(mb.drain().next(), None);
    }

    /// N producers race `close` while the consumer pops: every push that returned Ok is delivered
    /// exactly once, in per-producer FIFO order.
    #[test]
    fn close_races_producers_without_loss_or_duplicates() {
        const PRODUCERS: u32 = 4;
        let rounds = if cfg!(miri) { 3 } else { 40 };
        for round in 0..rounds {
            let mb: Arc<Mailbox<(u32, u32)>> = Arc::new(Mailbox::default());
            let start = Arc::new(Barrier::new(PRODUCERS as usize + 1));
            let producers: Vec<_> = (0..PRODUCERS)
                .map(|p| {
                    let (mb, start) = (Arc::clone(&mb), Arc::clone(&start));
                    thread::spawn(move || {
                        start.wait();
                        let prio = Priority::ALL[(p % 4) as usize];
                        let mut ok = 0;
                        while mb.push(prio, (p, ok), false, None).is_ok() {
                            ok += 1;
                        }
                        ok
                    })
                })
                .collect();
            start.wait();
            let mut delivered = Vec::new();
            let close_at = Instant::now() + Duration::from_micros(200 + 50 * round);
            while Instant::now() < close_at {
                delivered.extend(mb.pop().map(|(_, m)| m));
            }
            mb.close();
            delivered.extend(mb.drain().map(|(_, m)| m));
            let accepted: Vec<u32> = producers.into_iter().map(|h| h.join().unwrap()).collect();
            assert_eq!(mb.pop(), None);

            let total: u32 = accepted.iter().sum();
            assert_eq!(delivered.len() as u32, total, "round {round}");
            let unique: HashSet<_> = delivered.iter().collect();
            assert_eq!(unique.len(), delivered.len(), "duplicate in round {round}");
            for p in 0..PRODUCERS {
                let seq: Vec<u32> = delivered.iter().filter(|m| m.0 == p).map(|m| m.1).collect();
                assert_eq!(seq, (0..accepted[p as usize]).collect::<Vec<_>>());
            }
            let stats = mb.stats();
            assert_eq!(stats.total_pushed(), u64::from(total));
            assert_eq!(stats.total_popped(), u64::from(total));
            assert_eq!(mb.len(), 0);
        }
    }

    #[test]
    #[cfg_attr(miri, ignore = "miri has no thread CPU clock")]
    fn wait_returns_false_on_timeout_without_burning_cpu() {
        let mb: Mailbox<()> = Mailbox::default();
        let cpu_before = thread_cpu_time();
        let start = Instant::now();
        assert!(!mb.wait(Duration::from_millis(200)));
        let wall = start.elapsed();
        let cpu = thread_cpu_time() - cpu_before;
        assert!(wall >= Duration::from_millis(200), "{wall:?}");
        assert!(cpu < Duration::from_millis(20), "idle wait used {cpu:?} of CPU");
    }

    #[test]
    fn notify_wakes_or_is_remembered() {
        let mb: Arc<Mailbox<()>> = Arc::new(Mailbox::default());
        mb.notify();
        let start = Instant::now();
        assert!(mb.wait(Duration::from_secs(10)));
        assert!(start.elapsed() < Duration::from_secs(1));
        // Consumed: the next wait times out.
        assert!(!mb.wait(Duration::from_millis(5)));

        let notifier = {
            let mb = Arc::clone(&mb);
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(20));
                mb.notify();
            })
        };
        let start = Instant::now();
        assert!(mb.wait(Duration::from_secs(10)));
        assert!(start.elapsed() < Duration::from_secs(5));
        notifier.join().unwrap();
    }

    /// A consumer parked for long is woken promptly by every push: a lost wakeup would cost the full
    /// 10 s timeout.
    #[test]
    fn push_wakes_a_parked_consumer_every_time() {
        const ROUNDS: u32 = if cfg!(miri) { 20 } else { 300 };
        let mb: Arc<Mailbox<Instant>> = Arc::new(Mailbox::default());
        let done = Arc::new(AtomicBool::new(false));
        let consumer = {
            let (mb, done) = (Arc::clone(&mb), Arc::clone(&done));
            thread::spawn(move || {
                mb.bind_consumer(thread::current());
                let mut worst = Duration::ZERO;
                let mut received = 0;
                while received < ROUNDS {
                    while let Some((_, sent)) = mb.pop() {
                        worst = worst.max(sent.elapsed());
                        received += 1;
                    }
                    if received < ROUNDS {
                        mb.wait(Duration::from_secs(10));
                    }
                }
                done.store(true, std::sync::atomic::Ordering::SeqCst);
                worst
            })
        };
        for round in 0..ROUNDS {
            // Vary the gap so pushes land in every phase of `wait`: spinning, yielding, parking.
            match round % 3 {
                0 => thread::sleep(Duration::from_micros(500)),
                1 => thread::yield_now(),
                _ => {}
            }
            mb.push(Priority::Normal, Instant::now(), false, None).unwrap();
        }
        let worst = consumer.join().unwrap();
        assert!(done.load(std::sync::atomic::Ordering::SeqCst));
        assert!(worst < Duration::from_secs(2), "slow wakeup: {worst:?}");
    }

    /// CPU time of the calling thread, to tell parking from spinning.
    fn thread_cpu_time() -> Duration {
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: `ts` is a valid, writable timespec; CLOCK_THREAD_CPUTIME_ID needs no other input.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        assert_eq!(rc, 0);
        Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
    }
}
