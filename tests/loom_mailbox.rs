//! Loom models of the actor's hand-off protocols: mailbox push/park/unpark, notify, close vs drain,
//! and the reply slot. Loom has no clock, so a timed park parks until unparked: a lost wakeup shows
//! up as a deadlock, which loom reports.
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test --release --test loom_mailbox`
//! Under loom the lanes use a loom-visible queue with only relaxed/release/acquire orderings (see
//! `actor::wake::sync`), so these models also show that the mailbox's own fences carry the protocol.
#![cfg(loom)]

use std::sync::atomic::AtomicUsize;
use std::time::{Duration, Instant};

use dap_link_manager::actor::mailbox::{Mailbox, MailboxConfig, Priority, PushError};
use dap_link_manager::actor::reply::{ReplySlot, WaitError};
use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::Arc;
use loom::thread;

const HOUR: Duration = Duration::from_secs(3600);

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    // Bounded preemptions keep the 3-thread models to seconds; 3 finds the classic lost-wakeup orders.
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(3);
    }
    builder.check(f);
}

/// The consumer's actor loop, reduced: pop, else wait.
fn receive(mb: &Mailbox<u32>, wanted: usize) -> Vec<u32> {
    let mut got = Vec::new();
    while got.len() < wanted {
        match mb.pop() {
            Some((_, msg)) => got.push(msg),
            None => {
                mb.wait(HOUR);
            }
        }
    }
    got
}

#[test]
fn push_wakes_a_parking_consumer() {
    model(|| {
        let mb = Arc::new(Mailbox::<u32>::default());
        let consumer = {
            let mb = Arc::clone(&mb);
            thread::spawn(move || receive(&mb, 1))
        };
        mb.push(Priority::Normal, 7, false, None).unwrap();
        assert_eq!(consumer.join().unwrap(), [7]);
    });
}

#[test]
fn two_publishers_never_lose_the_wakeup() {
    model(|| {
        let mb = Arc::new(Mailbox::<u32>::default());
        let consumer = {
            let mb = Arc::clone(&mb);
            thread::spawn(move || receive(&mb, 2))
        };
        let producer = {
            let mb = Arc::clone(&mb);
            thread::spawn(move || mb.push(Priority::Low, 1, false, None).unwrap())
        };
        mb.push(Priority::High, 2, false, None).unwrap();
        producer.join().unwrap();
        let mut got = consumer.join().unwrap();
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
    });
}

#[test]
fn notify_wakes_a_parking_consumer() {
    model(|| {
        let mb = Arc::new(Mailbox::<u32>::default());
        let flag = Arc::new(AtomicBool::new(false));
        let consumer = {
            let (mb, flag) = (Arc::clone(&mb), Arc::clone(&flag));
            thread::spawn(move || {
                while !flag.load(Ordering::Acquire) {
                    mb.wait(HOUR);
                }
            })
        };
        flag.store(true, Ordering::Release);
        mb.notify();
        consumer.join().unwrap();
    });
}

/// Producers race `close`; the final drain delivers exactly the accepted messages.
#[test]
fn close_and_drain_lose_nothing() {
    model(|| {
        let mb = Arc::new(Mailbox::<u32>::new(MailboxConfig::default()));
        let producers: Vec<_> = (0..2)
            .map(|i| {
                let mb = Arc::clone(&mb);
                thread::spawn(move || match mb.push(Priority::ALL[i as usize], i, false, None) {
                    Ok(()) => Some(i),
                    Err(PushError::Closed(_)) => None,
                    Err(e) => panic!("unexpected {e:?}"),
                })
            })
            .collect();
        mb.close();
        assert!(mb.is_closed());
        let mut drained: Vec<u32> = mb.drain().map(|(_, m)| m).collect();
        let mut accepted: Vec<u32> = producers.into_iter().filter_map(|p| p.join().unwrap()).collect();
        assert_eq!(mb.pop(), None, "nothing after the final drain");
        drained.sort_unstable();
        accepted.sort_unstable();
        assert_eq!(drained, accepted);
    });
}

/// Counts drops in a plain std atomic: it is read only after every thread joined.
struct Tracked(std::sync::Arc<AtomicUsize>);

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Which thread waits on the slot.
#[derive(Clone, Copy)]
enum Waiter {
    /// The thread that created it, which `complete` unparks (the real sync-call path).
    Creator,
    /// Another thread: it gets no unpark, and loom's unpark (which also hands over memory) cannot
    /// hide a missing Release/Acquire on the value.
    Other,
}

/// A sync call: a creator thread makes the slot, spawns the actor, which completes it with `reply`,
/// and `caller` runs on the thread `waiter` says. Returns what `caller` and `complete` returned.
/// Loom, unlike std, lets an `unpark` end a `join`, so no unparked thread ever joins here.
fn call<R: Send + 'static>(
    reply: impl FnOnce() -> R + Send + 'static,
    waiter: Waiter,
    caller: impl FnOnce(Arc<ReplySlot<R>>) -> bool + Send + 'static,
) -> (bool, bool) {
    let creator = thread::spawn(move || {
        let slot = Arc::new(ReplySlot::new());
        let actor = {
            let slot = Arc::clone(&slot);
            thread::spawn(move || slot.complete(reply()))
        };
        match waiter {
            Waiter::Creator => (Ok(caller(slot)), actor),
            Waiter::Other => (Err(thread::spawn(move || caller(slot))), actor),
        }
    });
    let (called, actor) = creator.join().unwrap();
    let called = called.unwrap_or_else(|other| other.join().unwrap());
    (called, actor.join().unwrap())
}

#[test]
fn reply_completed_while_waiting_is_received() {
    model(|| {
        let (received, completed) = call(|| 42u32, Waiter::Creator, |slot| slot.wait(Instant::now() + HOUR) == Ok(42));
        assert!(received && completed);
    });
}

/// A waiter whose deadline has passed races the completer: the reply is received or dropped by
/// `complete`, exactly once, and `complete`'s answer says which.
#[test]
fn reply_timeout_races_complete_without_leak() {
    for waiter in [Waiter::Creator, Waiter::Other] {
        model(move || {
            let drops = std::sync::Arc::new(AtomicUsize::new(0));
            let reply = {
                let drops = std::sync::Arc::clone(&drops);
                move || (Tracked(drops), vec![1u8])
            };
            let (received, completed) = call(reply, waiter, |slot| match slot.wait(Instant::now()) {
                // Reading the value checks it was published to this thread (loom flags a race).
                Ok((_tracked, payload)) => payload == [1],
                Err(WaitError::Timeout) => false,
            });
            assert_eq!(received, completed);
            assert_eq!(drops.load(std::sync::atomic::Ordering::SeqCst), 1);
        });
    }
}

/// Nobody waits: the completed reply is dropped with the last `Arc`, whichever thread holds it.
#[test]
fn unclaimed_reply_is_dropped_once() {
    model(|| {
        let drops = std::sync::Arc::new(AtomicUsize::new(0));
        let reply = {
            let drops = std::sync::Arc::clone(&drops);
            move || Tracked(drops)
        };
        let (_, completed) = call(reply, Waiter::Other, |slot| {
            drop(slot);
            true
        });
        assert!(completed);
        assert_eq!(drops.load(std::sync::atomic::Ordering::SeqCst), 1);
    });
}
