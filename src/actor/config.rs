//! Runtime settings: the `[link_manager]` keys of CONTRACT.md §1 plus the keys this library adds.
//! Bad values are rejected with a logged reason and the default is used.

use std::time::Duration;

use log::warn;

use super::mailbox::{Backpressure, MailboxConfig, Priority};
use crate::core::Config as CoreConfig;

/// Everything read from the node config at `init`.
#[derive(Clone, Debug)]
pub struct RuntimeConfig {
    pub core: CoreConfig,
    /// `timer_update_states`: tick period (ms).
    pub tick_period: Duration,
    /// `allow_loopback_uplinks`: accept loopback hosts in `link_update` (local test networks).
    pub allow_loopback: bool,
    pub mailbox: MailboxConfig,
    /// `sync_timeout_ms`: default deadline of waiting calls.
    pub sync_timeout: Duration,
    /// `batch_size`: messages drained per pass before state is published.
    pub batch_size: usize,
    /// `trace_file`: append every call received to this file (record mode), if set.
    pub trace_file: Option<String>,
}

/// Defaults of the keys this library adds.
pub const DEFAULT_CAPACITY: [usize; 4] = [0, 0, 65_536, 16_384];
pub const DEFAULT_SYNC_TIMEOUT_MS: u64 = 5_000;
pub const DEFAULT_BATCH: usize = 256;

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            core: CoreConfig::default(),
            tick_period: Duration::from_millis(5_000),
            allow_loopback: false,
            mailbox: MailboxConfig { capacity: DEFAULT_CAPACITY, policy: Backpressure::Wait },
            sync_timeout: Duration::from_millis(DEFAULT_SYNC_TIMEOUT_MS),
            batch_size: DEFAULT_BATCH,
            trace_file: None,
        }
    }
}

/// Every key this library reads (recorded in a trace header by record mode).
pub const KEYS: &[&str] = &[
    "timer_update_states",
    "max_attempts_num",
    "reconnect_delay",
    "debug_more",
    "allow_loopback_uplinks",
    "queue_capacity_critical",
    "queue_capacity_high",
    "queue_capacity_normal",
    "queue_capacity_low",
    "backpressure",
    "sync_timeout_ms",
    "batch_size",
];

/// The config section this library reads.
pub const SECTION: &str = "link_manager";

impl RuntimeConfig {
    /// Build from a key lookup (`get(key)` returns the raw text of `[link_manager] key`, if set).
    pub fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Self {
        let mut c = Self::default();
        let num = |key: &str, min: u64, max: u64, dflt: u64| -> u64 {
            let Some(raw) = get(key) else { return dflt };
            match raw.trim().parse::<u64>() {
                Ok(v) if (min..=max).contains(&v) => v,
                _ => {
                    warn!("[LM-ERROR] config [{SECTION}] {key}={raw:?} is not a number in {min}..={max}; using {dflt}");
                    dflt
                }
            }
        };
        let flag = |key: &str, dflt: bool| -> bool {
            let Some(raw) = get(key) else { return dflt };
            match raw.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => true,
                "false" | "0" | "no" | "off" => false,
                _ => {
                    warn!("[LM-ERROR] config [{SECTION}] {key}={raw:?} is not a boolean; using {dflt}");
                    dflt
                }
            }
        };
        c.tick_period = Duration::from_millis(num("timer_update_states", 10, 3_600_000, 5_000));
        c.core.max_attempts = num("max_attempts_num", 1, 1_000, 1) as u32;
        c.core.reconnect_delay_secs = num("reconnect_delay", 0, 86_400, 20);
        c.core.debug_more = flag("debug_more", false);
        c.allow_loopback = flag("allow_loopback_uplinks", false);
        for p in Priority::ALL {
            let key = format!("queue_capacity_{}", p.name());
            let dflt = DEFAULT_CAPACITY[p.as_index()] as u64;
            c.mailbox.capacity[p.as_index()] = num(&key, 0, 1 << 30, dflt) as usize;
        }
        if let Some(raw) = get("backpressure") {
            match raw.trim() {
                "reject" => c.mailbox.policy = Backpressure::Reject,
                "wait" => c.mailbox.policy = Backpressure::Wait,
                _ => warn!("[LM-ERROR] config [{SECTION}] backpressure={raw:?} is not reject|wait; using wait"),
            }
        }
        c.sync_timeout = Duration::from_millis(num("sync_timeout_ms", 1, 3_600_000, DEFAULT_SYNC_TIMEOUT_MS));
        c.batch_size = num("batch_size", 1, 1 << 20, DEFAULT_BATCH as u64) as usize;
        c.trace_file = get("trace_file").filter(|s| !s.trim().is_empty());
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(pairs: &[(&str, &str)]) -> RuntimeConfig {
        let m: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        RuntimeConfig::from_lookup(&|k| m.get(k).cloned())
    }

    #[test]
    fn defaults_without_keys() {
        let c = cfg(&[]);
        assert_eq!(c.tick_period, Duration::from_millis(5000));
        assert_eq!(c.core.max_attempts, 1);
        assert_eq!(c.core.reconnect_delay_secs, 20);
        assert_eq!(c.mailbox.capacity, DEFAULT_CAPACITY);
        assert_eq!(c.mailbox.policy, Backpressure::Wait);
        assert!(!c.allow_loopback);
    }

    #[test]
    fn good_values_are_taken_bad_ones_fall_back() {
        let c = cfg(&[
            ("timer_update_states", "250"),
            ("max_attempts_num", "3"),
            ("reconnect_delay", "abc"),
            ("queue_capacity_normal", "1000"),
            ("backpressure", "reject"),
            ("allow_loopback_uplinks", "true"),
            ("batch_size", "0"),
        ]);
        assert_eq!(c.tick_period, Duration::from_millis(250));
        assert_eq!(c.core.max_attempts, 3);
        assert_eq!(c.core.reconnect_delay_secs, 20);
        assert_eq!(c.mailbox.capacity[Priority::Normal.as_index()], 1000);
        assert_eq!(c.mailbox.policy, Backpressure::Reject);
        assert!(c.allow_loopback);
        assert_eq!(c.batch_size, DEFAULT_BATCH);
    }
}
