//! Core handler costs with the simulated host (no actor, no mailbox): `cargo bench --bench core`.
//!
//! What one drain pass spends per message, by kind, and what publishing the getters' view costs as the
//! number of links grows. The simulated SDK formats a journal line per cluster call and takes a mutex,
//! like the C stand-in, so the handler figures include a host cost of the same order as the real one.
//! Regression tracking: compare with `cargo bench --bench core -- --save-baseline <name>` /
//! `--baseline <name>`. The C benchmark (`lm_bench`, BENCHMARKS.md) compares against the C baseline.

// Built as a libtest bench until Cargo.toml declares it with `harness = false`; nothing here is dead.
#![cfg_attr(test, allow(dead_code))]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use dap_link_manager::core::clock::Clock;
use dap_link_manager::core::view::Snapshot;
use dap_link_manager::core::{Config, Core, Op};
use dap_link_manager::host::sim::{ClusterRole, SimNode, SimSdk};
use dap_link_manager::host::{Addr, ClusterRef, NetId};

const OWN: Addr = 0xF0;
const NET: NetId = 0x101;
/// Messages per drain pass (the actor's default `batch_size`): the view is published once per pass.
const BATCH: u64 = 256;

fn addr(stream: u64, i: u64) -> Addr {
    0x1000_0000_0000_0000 | (stream << 40) | (i + 1)
}

/// The core on a simulated host: one active net whose primary cluster holds `links` accounted downlinks,
/// published once.
struct Host {
    core: Core,
    sdk: SimSdk,
    node: SimNode,
    /// A cluster of no net: joining it marks a link dirty without SDK work.
    plain: ClusterRef,
    links: u64,
}

impl Host {
    fn new(links: u64) -> Self {
        let sdk = SimSdk::new(OWN);
        let node = SimNode::default();
        let primary = sdk.cluster("net", ClusterRole::Links);
        let plain = sdk.cluster("plain", ClusterRole::Plain);
        let clock = Arc::new(Clock::virtual_at(1_000_000));
        let core =
            Core::new(Box::new(sdk.clone()), Box::new(node.clone()), Config::default(), clock, std::ptr::null_mut());
        let host = Self { core, sdk, node, plain, links };
        host.core.apply(Op::AddNet { net: NET, cluster: primary, min_links: 5 });
        host.core.apply(Op::SetNetCondition { net: NET, on: true });
        for i in 0..links {
            host.core.apply(Op::StreamAdd { addr: addr(1, i), uplink: false });
            host.core.apply(Op::Accounting { net: NET, addr: addr(1, i), ok: true });
            if i % BATCH == BATCH - 1 {
                host.pass();
            }
        }
        host.pass();
        host.forget_effects();
        host
    }

    /// The end of a drain pass, as the actor runs it.
    fn pass(&self) {
        self.core.end_pass();
        self.core.publish();
    }

    /// The simulated host records every call; drop the records so they do not grow.
    fn forget_effects(&self) {
        self.sdk.take_journal();
        self.node.take_calls();
    }

    fn view(&self) -> Arc<Snapshot> {
        self.core.views().load_full()
    }

    /// Runs `per_message` `iters` times, a pass every BATCH messages (timed: it is part of the cost),
    /// forgetting the host's records every 4096 messages (not timed).
    fn timed(&self, iters: u64, mut per_message: impl FnMut(u64)) -> Duration {
        let mut total = Duration::ZERO;
        let mut start = Instant::now();
        for i in 0..iters {
            per_message(i);
            if i % BATCH == BATCH - 1 {
                self.pass();
            }
            if i % 4096 == 4095 {
                total += start.elapsed();
                self.forget_effects();
                start = Instant::now();
            }
        }
        self.pass();
        total + start.elapsed()
    }
}

/// Stream and accounting handlers, one message per iteration, with 10k links present.
fn handlers(c: &mut Criterion) {
    let mut g = c.benchmark_group("core handlers (10k links)");
    g.throughput(Throughput::Elements(1));
    let h = Host::new(10_000);
    let mut next = 0u64;

    // A downlink that comes and goes without being accounted (FIX-GHOST-DOWNLINK deletes it).
    g.bench_function("stream_add + stream_delete, unaccounted downlink (per message)", |b| {
        b.iter_custom(|iters| {
            let d = h.timed(iters, |i| {
                let a = addr(2, next + i / 2);
                if i % 2 == 0 {
                    h.core.apply(Op::StreamAdd { addr: a, uplink: false });
                } else {
                    h.core.apply(Op::StreamDelete { addr: a });
                }
            });
            next += iters;
            d
        })
    });

    // The storm unit of lm_bench W2: add, accounting(ok) (cluster add + its member callback), delete
    // (cluster delete + its member callback, the link freed).
    g.bench_function("stream_add + accounting(ok) + stream_delete (per message)", |b| {
        b.iter_custom(|iters| {
            let d = h.timed(iters, |i| {
                let a = addr(3, next + i / 3);
                match i % 3 {
                    0 => h.core.apply(Op::StreamAdd { addr: a, uplink: false }),
                    1 => h.core.apply(Op::Accounting { net: NET, addr: a, ok: true }),
                    _ => h.core.apply(Op::StreamDelete { addr: a }),
                };
            });
            next += iters;
            d
        })
    });

    // Accounting of a present link, in and out of the primary cluster.
    g.bench_function("accounting(ok) / accounting(!ok) of a present link (per message)", |b| {
        b.iter_custom(|iters| {
            h.timed(iters, |i| {
                let a = addr(1, (i / 2) % h.links);
                h.core.apply(Op::Accounting { net: NET, addr: a, ok: i % 2 == 1 });
            })
        })
    });
    g.finish();
}

/// Publishing the view after a pass that changed N links, with 10k and 100k links present: the
/// persistent map copies the paths of the changed entries, so the cost follows N, not the link count.
fn publish(c: &mut Criterion) {
    let mut g = c.benchmark_group("publish the view");
    for links in [10_000u64, 100_000] {
        let h = Host::new(links);
        for dirty in [1u64, 16, 256, 4096] {
            g.throughput(Throughput::Elements(dirty));
            let mut round = 0u64;
            g.bench_with_input(BenchmarkId::new(format!("{links} links, N dirty"), dirty), &dirty, |b, &dirty| {
                b.iter_batched(
                    || {
                        // Join or leave a cluster of no net: each link is marked dirty, nothing else.
                        round += 1;
                        for k in 0..dirty {
                            let a = addr(1, (round * 7919 + k * 104_729) % links);
                            let op = if round % 2 == 1 {
                                Op::ClusterJoined { addr: a, cluster: h.plain }
                            } else {
                                Op::ClusterLeft { addr: a, cluster: h.plain }
                            };
                            h.core.apply(op);
                        }
                    },
                    |()| black_box(h.core.publish()),
                    BatchSize::PerIteration,
                )
            });
        }
    }
    g.finish();
}

/// What the original getters run on a published Snapshot (no arc-swap load: see lm_bench W1 for that).
fn getters(c: &mut Criterion) {
    let mut g = c.benchmark_group("Snapshot getters (100k links)");
    let h = Host::new(100_000);
    let view = h.view();
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    g.bench_function("link_find (random present link)", |b| {
        b.iter(|| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            black_box(view.link_find(addr(1, x % h.links), NET))
        })
    });
    g.bench_function("net_condition", |b| b.iter(|| black_box(view.net_condition(black_box(NET)))));
    g.bench_function("links_count", |b| b.iter(|| black_box(view.links_count(black_box(NET)))));
    let members: Vec<Addr> = (0..100).map(|i| addr(1, i)).collect();
    g.throughput(Throughput::Elements(members.len() as u64));
    g.bench_function("net_links of 100 members (get_net_links_addrs minus the SDK read)", |b| {
        b.iter(|| black_box(view.net_links(black_box(&members), false)))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(3));
    targets = handlers, publish, getters
}
criterion_main!(benches);
