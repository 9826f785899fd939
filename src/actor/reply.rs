//! One-shot reply slot for synchronous callers: the caller creates it, sends an `Arc` clone with its
//! request, and waits; the actor completes it once.
//!
//! Lock-free: one atomic state byte guards an `UnsafeCell<MaybeUninit<R>>`. The waiter's thread is
//! captured at creation, so completing needs no registration handshake: the completer always unparks
//! it, which costs one atomic swap when the waiter is not parked (a stray unpark token only makes a
//! later park return early, and every park loop re-checks its condition).

use std::fmt;
use std::mem::MaybeUninit;
use std::time::Instant;

use super::wake::sync::atomic::{AtomicU8, Ordering};
use super::wake::sync::{self, thread, Thread, UnsafeCell};
use super::wake::Backoff;

/// No value yet; the waiter may still give up.
const EMPTY: u8 = 0;
/// A completer owns the cell and is writing the value.
const WRITING: u8 = 1;
/// The value is in the cell.
const READY: u8 = 2;
/// The waiter took the value (terminal).
const TAKEN: u8 = 3;
/// The waiter gave up; a late value is dropped by its completer (terminal).
const ABANDONED: u8 = 4;

/// Why [`ReplySlot::wait`] returned without a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitError {
    /// The deadline passed first. The slot is abandoned: a later `complete` drops its value.
    Timeout,
}

impl fmt::Display for WaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("timed out waiting for the reply")
    }
}

impl std::error::Error for WaitError {}

/// A one-shot reply cell shared by `Arc` between one waiting caller and the actor.
///
/// Contract: create it on the thread that will [`wait`](Self::wait) (that thread is the one unparked);
/// the actor calls [`complete`](Self::complete) once. Misuse is safe: a second `complete` is refused,
/// a `wait` on another thread still sees the value (at its deadline at the latest), and a `wait`
/// after the value was taken or after a timeout returns `Timeout` at once.
pub struct ReplySlot<R> {
    state: AtomicU8,
    value: UnsafeCell<MaybeUninit<R>>,
    waiter: Thread,
}

// SAFETY: the slot hands an `R` from the completing thread to the waiting one, so `R: Send` is needed
// and enough. The cell is accessed only by the single thread that won the EMPTY→WRITING exchange
// (write) or the READY→TAKEN exchange (read), or by `Drop` with exclusive access: never concurrently.
unsafe impl<R: Send> Send for ReplySlot<R> {}
// SAFETY: as above; `&ReplySlot` gives no access to the value except through those exchanges.
unsafe impl<R: Send> Sync for ReplySlot<R> {}

impl<R> ReplySlot<R> {
    /// A fresh slot whose waiter is the calling thread.
    pub fn new() -> Self {
        Self { state: AtomicU8::new(EMPTY), value: UnsafeCell::new(MaybeUninit::uninit()), waiter: thread::current() }
    }

    /// Stores the reply and wakes the waiter; any thread (the actor). Returns `false`, dropping
    /// `reply` here, if the slot was already completed or the waiter gave up.
    pub fn complete(&self, reply: R) -> bool {
        if self.state.compare_exchange(EMPTY, WRITING, Ordering::Acquire, Ordering::Acquire).is_err() {
            return false;
        }
        // SAFETY: winning EMPTY→WRITING gives this thread sole access to the cell: the waiter reads it
        // only after READY, which only we can store now, and nobody else can leave EMPTY for WRITING.
        self.value.with_mut(|cell| unsafe { (*cell).write(reply) });
        // Only WRITING's owner changes the state from here, so a plain store suffices; Release
        // publishes the value to the waiter's Acquire load.
        self.state.store(READY, Ordering::Release);
        self.waiter.unpark();
        true
    }

    /// Waits for the reply until `deadline`; the waiting thread (see the type's contract).
    ///
    /// Spins a few µs, yields a few times, then parks until unparked or the deadline. On `Timeout`
    /// the slot is abandoned, so a late reply is dropped by its completer, never leaked. A reply that
    /// is being written when the deadline passes is still returned.
    pub fn wait(&self, deadline: Instant) -> Result<R, WaitError> {
        let mut backoff = Backoff::new();
        loop {
            match self.state.load(Ordering::Acquire) {
                READY => return self.take(),
                TAKEN | ABANDONED => return Err(WaitError::Timeout),
                WRITING => {
                    // The value is a few instructions away; yield in case its writer was preempted.
                    if !backoff.snooze() {
                        thread::yield_now();
                    }
                    continue;
                }
                _ => {}
            }
            if backoff.snooze() {
                continue;
            }
            let now = Instant::now();
            if now >= deadline {
                match self.state.compare_exchange(EMPTY, ABANDONED, Ordering::Acquire, Ordering::Acquire) {
                    Ok(_) => return Err(WaitError::Timeout),
                    // A completer got in first: take its value on the next turn.
                    Err(_) => continue,
                }
            }
            sync::park_timeout(deadline - now);
        }
    }

    /// Reads the value out once READY was seen.
    fn take(&self) -> Result<R, WaitError> {
        // Guards against two concurrent `wait`s reading the value twice.
        if self.state.compare_exchange(READY, TAKEN, Ordering::Acquire, Ordering::Acquire).is_err() {
            return Err(WaitError::Timeout);
        }
        // SAFETY: READY means the completer initialised the cell and released it (its Release store,
        // our Acquire exchange); winning READY→TAKEN makes us its only reader, and TAKEN keeps
        // `Drop` from dropping it again.
        Ok(self.value.with_mut(|cell| unsafe { (*cell).assume_init_read() }))
    }
}

impl<R> Default for ReplySlot<R> {
    fn default() -> Self {
        Self::new()
    }
}

impl<R> Drop for ReplySlot<R> {
    fn drop(&mut self) {
        // A completed reply nobody took (the waiter never waited) is dropped with the slot.
        if self.state.load(Ordering::Acquire) == READY {
            // SAFETY: `&mut self` excludes every other access; READY means initialised and not taken.
            self.value.with_mut(|cell| unsafe { (*cell).assume_init_drop() });
        }
    }
}

impl<R> fmt::Debug for ReplySlot<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state.load(Ordering::Relaxed) {
            EMPTY => "empty",
            WRITING => "writing",
            READY => "ready",
            TAKEN => "taken",
            _ => "abandoned",
        };
        f.debug_struct("ReplySlot").field("state", &state).finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;
    use std::time::Duration;

    /// Counts its drops, to prove a reply is dropped exactly once on every path.
    struct Tracked<'a>(u64, &'a AtomicUsize);

    impl Drop for Tracked<'_> {
        fn drop(&mut self) {
            self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    fn drops(counter: &AtomicUsize) -> usize {
        counter.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn far() -> Instant {
        Instant::now() + Duration::from_secs(10)
    }

    #[test]
    fn complete_before_wait() {
        let slot = ReplySlot::new();
        assert!(slot.complete(String::from("pong")));
        assert_eq!(slot.wait(far()).unwrap(), "pong");
        // Taken: a second wait does not see it again.
        assert_eq!(slot.wait(far()), Err(WaitError::Timeout));
    }

    #[test]
    fn wait_then_complete_from_another_thread() {
        let slot = Arc::new(ReplySlot::new());
        let actor = {
            let slot = Arc::clone(&slot);
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(30));
                slot.complete(vec![1u8, 2, 3])
            })
        };
        let start = Instant::now();
        assert_eq!(slot.wait(far()).unwrap(), [1, 2, 3]);
        assert!(start.elapsed() >= Duration::from_millis(25));
        assert!(start.elapsed() < Duration::from_secs(5), "missed the unpark");
        assert!(actor.join().unwrap());
    }

    #[test]
    fn timeout_then_late_complete_drops_the_reply() {
        let dropped = AtomicUsize::new(0);
        let slot = ReplySlot::new();
        let start = Instant::now();
        assert_eq!(slot.wait(start + Duration::from_millis(20)).err(), Some(WaitError::Timeout));
        assert!(start.elapsed() >= Duration::from_millis(20));
        assert!(!slot.complete(Tracked(7, &dropped)));
        assert_eq!(drops(&dropped), 1);
        assert!(slot.wait(far()).is_err());
        drop(slot);
        assert_eq!(drops(&dropped), 1);
    }

    #[test]
    fn second_complete_is_refused_and_dropped() {
        let dropped = AtomicUsize::new(0);
        let slot = ReplySlot::new();
        assert!(slot.complete(Tracked(1, &dropped)));
        assert!(!slot.complete(Tracked(2, &dropped)));
        assert_eq!(drops(&dropped), 1);
        let got = slot.wait(far()).unwrap();
        assert_eq!(got.0, 1);
        drop(got);
        drop(slot);
        assert_eq!(drops(&dropped), 2);
    }

    #[test]
    fn unclaimed_reply_is_dropped_with_the_slot() {
        let dropped = AtomicUsize::new(0);
        let slot = ReplySlot::new();
        assert!(slot.complete(Tracked(1, &dropped)));
        assert_eq!(drops(&dropped), 0);
        drop(slot);
        assert_eq!(drops(&dropped), 1);
    }

    #[test]
    fn past_deadline_still_returns_a_ready_reply() {
        let slot = ReplySlot::new();
        slot.complete(5u32);
        assert_eq!(slot.wait(Instant::now() - Duration::from_millis(1)), Ok(5));
    }

    /// Completions racing deadlines: each reply is either received or dropped by `complete`, once.
    #[test]
    fn racing_deadlines_never_leak_or_double_drop() {
        static DROPPED: AtomicUsize = AtomicUsize::new(0);
        // Miri runs the same races, fewer of them.
        const ROUNDS: u64 = if cfg!(miri) { 100 } else { 2000 };
        let mut received = 0;
        let mut refused = 0;
        for i in 0..ROUNDS {
            let slot = Arc::new(ReplySlot::new());
            let actor = {
                let slot = Arc::clone(&slot);
                std::thread::spawn(move || slot.complete(Tracked(i, &DROPPED)))
            };
            let deadline = Instant::now() + Duration::from_micros(i % 50);
            match slot.wait(deadline) {
                Ok(reply) => {
                    assert_eq!(reply.0, i);
                    received += 1;
                }
                Err(WaitError::Timeout) => {}
            }
            if !actor.join().unwrap() {
                refused += 1;
            }
        }
        assert_eq!(received + refused, ROUNDS, "every reply went one way");
        assert_eq!(drops(&DROPPED) as u64, ROUNDS, "every reply dropped once");
    }
}
