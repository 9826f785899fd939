//! Mailbox, reply-slot and histogram costs: `cargo bench --bench mailbox`.

use std::hint::black_box;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use dap_link_manager::actor::mailbox::{Mailbox, Priority};
use dap_link_manager::actor::reply::ReplySlot;
use dap_link_manager::actor::stats::LatencyHistogram;

fn push_pop(c: &mut Criterion) {
    let mb: Mailbox<u64> = Mailbox::default();
    c.bench_function("mailbox push+pop, one thread", |b| {
        let mut i = 0u64;
        b.iter(|| {
            i += 1;
            mb.push(Priority::Normal, black_box(i), false, None).unwrap();
            black_box(mb.pop())
        })
    });
}

type Request = (u64, Arc<ReplySlot<u64>>);

/// A caller on this thread, the actor on another: push a request, the actor completes its slot.
fn round_trip(c: &mut Criterion) {
    let mb: Arc<Mailbox<Request>> = Arc::new(Mailbox::default());
    let actor = {
        let mb = Arc::clone(&mb);
        thread::spawn(move || loop {
            while let Some((_, (x, slot))) = mb.pop() {
                slot.complete(x + 1);
            }
            if mb.is_closed() {
                break;
            }
            mb.wait(Duration::from_secs(1));
        })
    };
    c.bench_function("request/reply round trip via mailbox + ReplySlot", |b| {
        let mut i = 0u64;
        b.iter(|| {
            i += 1;
            let slot = Arc::new(ReplySlot::new());
            mb.push(Priority::High, (i, Arc::clone(&slot)), false, None).unwrap();
            let reply = slot.wait(Instant::now() + Duration::from_secs(5)).unwrap();
            assert_eq!(reply, i + 1);
        })
    });
    mb.close();
    actor.join().unwrap();
}

fn histogram_record(c: &mut Criterion) {
    let h = LatencyHistogram::new();
    c.bench_function("LatencyHistogram::record", |b| {
        let mut x = 12_345u64;
        b.iter(|| {
            // Cheap xorshift so samples spread over many buckets.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            h.record(black_box(x >> 30));
        })
    });
    black_box(h.percentile(99.0));
}

criterion_group!(benches, push_pop, round_trip, histogram_record);
criterion_main!(benches);
