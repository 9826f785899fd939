//! Counters and latency histograms the actor keeps for `dap_link_manager_get_stats`.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::stats::LatencyHistogram;
use crate::core::{Op, OP_NAMES};

/// Written by the actor and the calling threads, read by anyone; every counter is monotonic.
#[derive(Default)]
pub struct Metrics {
    pub processed: AtomicU64,
    pub passes: AtomicU64,
    pub max_batch: AtomicU64,
    pub sync_calls: AtomicU64,
    pub async_calls: AtomicU64,
    pub timeouts: AtomicU64,
    /// Requests refused at submission (queue full, shutting down, not initialised, bad argument).
    pub rejected: AtomicU64,
    pub panics: AtomicU64,
    pub per_op: [AtomicU64; OP_NAMES.len()],
    pub proc_ns: LatencyHistogram,
    pub wait_ns: LatencyHistogram,
}

impl Metrics {
    pub fn count_op(&self, op: &Op) {
        self.processed.fetch_add(1, Relaxed);
        self.per_op[op.index()].fetch_add(1, Relaxed);
    }

    pub fn count_pass(&self, n: usize) {
        if n > 0 {
            self.passes.fetch_add(1, Relaxed);
            self.max_batch.fetch_max(n as u64, Relaxed);
        }
    }

    pub fn count_panic(&self) {
        self.panics.fetch_add(1, Relaxed);
    }

    pub fn record_proc(&self, ns: u64) {
        self.proc_ns.record(ns);
    }

    pub fn record_wait(&self, ns: u64) {
        self.wait_ns.record(ns);
    }
}
