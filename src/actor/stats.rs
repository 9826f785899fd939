//! Lock-free counters and latency histograms that any thread may update and read.
//!
//! Plain std atomics: nothing here is part of a synchronisation protocol, so loom need not see it.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// Linear sub-buckets per power of two: bucket width / lower bound <= 1/32, so reporting the bucket
/// midpoint is within 1.6% of any value in it.
const SUB_BITS: u32 = 5;
const SUB: u64 = 1 << SUB_BITS;
/// Largest value kept apart: 2^36 - 1 ns, about 68.7 s; larger values land in the last bucket.
const MAX_VALUE: u64 = (1 << 36) - 1;
/// 32 exact buckets for 0..32, then 32 per octave for 2^5 ..= 2^35.
const BUCKETS: usize = (SUB + (36 - SUB_BITS as u64) * SUB) as usize;

fn bucket_of(ns: u64) -> usize {
    let v = ns.min(MAX_VALUE);
    if v < SUB {
        return v as usize;
    }
    let shift = 63 - v.leading_zeros() - SUB_BITS;
    // `v >> shift` keeps the top SUB_BITS + 1 bits: 32..=63.
    ((u64::from(shift) + 1) * SUB + ((v >> shift) - SUB)) as usize
}

/// The value reported for bucket `index`: its midpoint.
fn bucket_value(index: usize) -> u64 {
    let index = index as u64;
    if index < SUB {
        return index;
    }
    let shift = index / SUB - 1;
    let lower = (SUB + index % SUB) << shift;
    lower + ((1 << shift) - 1) / 2
}

/// Latency histogram in nanoseconds, 0 ns ..= ~68.7 s, at most ~1.6% relative error.
///
/// Log-linear buckets of relaxed `AtomicU64`s (8 KiB): `record` is two uncontended atomic adds and
/// never blocks, from any thread. Reads walk the 1024 buckets; under concurrent `record`s they see
/// each bucket's latest value, not one instant.
pub struct LatencyHistogram {
    buckets: Box<[AtomicU64]>,
    sum_ns: AtomicU64,
}

impl LatencyHistogram {
    /// An empty histogram (allocates its 8 KiB of buckets).
    pub fn new() -> Self {
        Self { buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(), sum_ns: AtomicU64::new(0) }
    }

    /// Adds one sample; values above ~68.7 s count as ~68.7 s in percentiles (not in the mean).
    #[inline]
    pub fn record(&self, ns: u64) {
        self.buckets[bucket_of(ns)].fetch_add(1, Ordering::Relaxed);
        self.sum_ns.fetch_add(ns, Ordering::Relaxed);
    }

    /// Samples recorded since construction or the last [`reset`](Self::reset).
    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).sum()
    }

    /// Mean of the samples in ns (0 when empty).
    pub fn mean_ns(&self) -> u64 {
        match self.count() {
            0 => 0,
            count => self.sum_ns.load(Ordering::Relaxed) / count,
        }
    }

    /// The value at percentile `p` (0.0 ..= 100.0, e.g. 50.0, 99.0), in ns; 0 when empty.
    pub fn percentile(&self, p: f64) -> u64 {
        let counts: Vec<u64> = self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return 0;
        }
        // Nearest-rank: the smallest value with at least p% of the samples at or below it.
        let rank = ((p.clamp(0.0, 100.0) / 100.0 * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (index, &count) in counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return bucket_value(index);
            }
        }
        bucket_value(BUCKETS - 1)
    }

    /// Zeroes every bucket. Samples recorded concurrently may be half kept (counted but not summed).
    pub fn reset(&self) {
        for bucket in self.buckets.iter() {
            bucket.store(0, Ordering::Relaxed);
        }
        self.sum_ns.store(0, Ordering::Relaxed);
    }
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for LatencyHistogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LatencyHistogram")
            .field("count", &self.count())
            .field("mean_ns", &self.mean_ns())
            .field("p50_ns", &self.percentile(50.0))
            .field("p99_ns", &self.percentile(99.0))
            .finish()
    }
}

/// An event counter any thread may bump and read; `const`, so it can be a `static`.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// A counter at zero.
    pub const fn new() -> Self {
        Self(AtomicU64::new(0))
    }

    /// Adds `n` events.
    #[inline]
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// Adds one event.
    #[inline]
    pub fn incr(&self) {
        self.add(1);
    }

    /// Events so far.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    /// Reads and zeroes in one step, so no event is lost between a report and its reset.
    pub fn take(&self) -> u64 {
        self.0.swap(0, Ordering::Relaxed)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn assert_close(got: u64, want: u64, tolerance: f64) {
        let err = (got as f64 - want as f64).abs() / want as f64;
        assert!(err <= tolerance, "got {got}, want {want} ± {tolerance}");
    }

    #[test]
    fn buckets_cover_the_range_with_small_error() {
        assert_eq!(BUCKETS, 1024);
        assert_eq!(bucket_of(MAX_VALUE), BUCKETS - 1);
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
        for v in 0..64 {
            assert_eq!(bucket_value(bucket_of(v)), v, "small values are exact");
        }
        // Geometric sweep 1 ns .. 60 s, plus the neighbours of every power of two.
        let mut v = 1.0f64;
        while v < 60e9 {
            let ns = v as u64;
            for x in [ns, ns.saturating_sub(1).max(1), ns + 1] {
                assert_close(bucket_value(bucket_of(x)), x, 0.016);
            }
            v *= 1.01;
        }
        for shift in 1..36 {
            let p = 1u64 << shift;
            for x in [p - 1, p, p + 1] {
                assert_close(bucket_value(bucket_of(x)), x, 0.016);
            }
        }
        // Buckets are monotonic.
        let mut last = 0;
        for i in 0..BUCKETS {
            assert!(i == 0 || bucket_value(i) > last);
            last = bucket_value(i);
            assert_eq!(bucket_of(last), i);
        }
    }

    #[test]
    fn percentiles_of_a_uniform_distribution() {
        let h = LatencyHistogram::new();
        assert_eq!((h.count(), h.mean_ns(), h.percentile(50.0)), (0, 0, 0));
        for ns in 1..=100_000 {
            h.record(ns);
        }
        assert_eq!(h.count(), 100_000);
        assert_eq!(h.mean_ns(), 50_000); // 50_000.5 rounded down
        assert_close(h.percentile(50.0), 50_000, 0.03);
        assert_close(h.percentile(99.0), 99_000, 0.03);
        assert_close(h.percentile(100.0), 100_000, 0.03);
        assert_eq!(h.percentile(0.0), 1);
        h.reset();
        assert_eq!((h.count(), h.mean_ns(), h.percentile(99.0)), (0, 0, 0));
    }

    #[test]
    fn percentiles_of_a_bimodal_distribution() {
        // 98% fast (1 µs), 2% slow (40 ms): p50 must be fast, p99 slow.
        let h = LatencyHistogram::new();
        for i in 0..10_000 {
            h.record(if i % 50 == 0 { 40_000_000 } else { 1_000 });
        }
        assert_close(h.percentile(50.0), 1_000, 0.03);
        assert_close(h.percentile(98.0), 1_000, 0.03);
        assert_close(h.percentile(99.0), 40_000_000, 0.03);
    }

    #[test]
    fn concurrent_records_are_all_counted() {
        let h = LatencyHistogram::new();
        std::thread::scope(|s| {
            for t in 0..4u64 {
                let h = &h;
                s.spawn(move || {
                    for i in 0..50_000 {
                        h.record(t * 1_000 + i % 1_000);
                    }
                });
            }
        });
        assert_eq!(h.count(), 200_000);
    }

    #[test]
    fn counter_adds_and_takes() {
        static EVENTS: Counter = Counter::new();
        EVENTS.incr();
        EVENTS.add(41);
        assert_eq!(EVENTS.get(), 42);
        assert_eq!(EVENTS.take(), 42);
        assert_eq!(EVENTS.get(), 0);
    }
}
