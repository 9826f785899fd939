//! The manager's clock: real time, or a virtual clock tests move by hand.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds and nanoseconds since the Unix epoch, real or virtual.
#[derive(Debug, Default)]
pub struct Clock {
    virtual_mode: AtomicBool,
    virtual_ns: AtomicU64,
}

impl Clock {
    pub fn real() -> Self {
        Self::default()
    }

    /// A virtual clock starting at `start_secs` that only moves through [`Clock::advance`].
    pub fn virtual_at(start_secs: u64) -> Self {
        let c = Self::default();
        c.set_virtual(start_secs * 1_000_000_000);
        c
    }

    /// Switch to virtual time at `ns` (tests only).
    pub fn set_virtual(&self, ns: u64) {
        self.virtual_ns.store(ns, Ordering::Release);
        self.virtual_mode.store(true, Ordering::Release);
    }

    pub fn is_virtual(&self) -> bool {
        self.virtual_mode.load(Ordering::Acquire)
    }

    /// Move virtual time forward (no effect on a real clock).
    pub fn advance(&self, ns: u64) {
        self.virtual_ns.fetch_add(ns, Ordering::AcqRel);
    }

    pub fn now_ns(&self) -> u64 {
        if self.virtual_mode.load(Ordering::Acquire) {
            return self.virtual_ns.load(Ordering::Acquire);
        }
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
    }

    pub fn now_secs(&self) -> u64 {
        self.now_ns() / 1_000_000_000
    }
}
