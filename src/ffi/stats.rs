//! Statistics and metrics: a C struct, JSON text, Prometheus text exposition.

use std::ffi::{c_char, c_int};
use std::fmt::Write;
use std::sync::atomic::Ordering::Relaxed;

use super::boundary::{ffi_boundary, ffi_result};
use super::cast::{malloc_str, write_out};
use super::result::{code, dap_lm_result::*, err};
use crate::actor::api;
use crate::actor::mailbox::Priority;
use crate::actor::{LmError, Runtime};
use crate::core::OP_NAMES;

/// Number of per-type counters in [`dap_lm_stats`] (`per_type[i]` counts operation kind i, see
/// `dap_link_manager_op_name`).
pub const DAP_LM_OP_KINDS: usize = 20;
const _: () = assert!(OP_NAMES.len() == DAP_LM_OP_KINDS);

/// Counters of the running manager. Arrays of 4 are per priority: critical, high, normal, low.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct dap_lm_stats {
    pub messages_processed: u64,
    pub messages_queued: u64,
    pub queue_depth: [u64; 4],
    pub queue_peak: [u64; 4],
    /// 0 = unbounded.
    pub queue_capacity: [u64; 4],
    /// Refused for capacity (reject policy) or after waiting (wait policy).
    pub queue_rejected: [u64; 4],
    pub proc_avg_ns: u64,
    pub proc_p50_ns: u64,
    pub proc_p99_ns: u64,
    pub wait_avg_ns: u64,
    pub wait_p50_ns: u64,
    pub wait_p99_ns: u64,
    pub sync_calls: u64,
    pub async_calls: u64,
    pub timeouts: u64,
    /// Every refusal at submission (queue full, shutting down).
    pub rejected: u64,
    /// Handler panics caught (each failed one request).
    pub panics: u64,
    pub passes: u64,
    pub max_batch: u64,
    pub links: u64,
    pub nets: u64,
    /// Estimate of the heap used by link records, the published view and queued messages.
    pub memory_bytes: u64,
    pub per_type: [u64; DAP_LM_OP_KINDS],
}

/// Estimated bytes per link: the record, its C struct, the hash-map slot and its published view.
pub const BYTES_PER_LINK: u64 = 512;

fn collect(rt: &Runtime) -> dap_lm_stats {
    let m = &rt.metrics;
    let mb = rt.mailbox.stats();
    let v = rt.views.load();
    let mut s = dap_lm_stats {
        messages_processed: m.processed.load(Relaxed),
        messages_queued: mb.depth.iter().sum(),
        queue_depth: mb.depth,
        queue_peak: mb.peak,
        queue_capacity: [0; 4],
        queue_rejected: [0; 4],
        proc_avg_ns: m.proc_ns.mean_ns(),
        proc_p50_ns: m.proc_ns.percentile(50.0),
        proc_p99_ns: m.proc_ns.percentile(99.0),
        wait_avg_ns: m.wait_ns.mean_ns(),
        wait_p50_ns: m.wait_ns.percentile(50.0),
        wait_p99_ns: m.wait_ns.percentile(99.0),
        sync_calls: m.sync_calls.load(Relaxed),
        async_calls: m.async_calls.load(Relaxed),
        timeouts: m.timeouts.load(Relaxed),
        rejected: m.rejected.load(Relaxed),
        panics: m.panics.load(Relaxed),
        passes: m.passes.load(Relaxed),
        max_batch: m.max_batch.load(Relaxed),
        links: v.links.len() as u64,
        nets: v.nets.len() as u64,
        memory_bytes: 0,
        per_type: [0; DAP_LM_OP_KINDS],
    };
    for p in Priority::ALL {
        let i = p.as_index();
        s.queue_capacity[i] = rt.mailbox.capacity(p) as u64;
        s.queue_rejected[i] = mb.rejected[i] + mb.timed_out[i];
    }
    for (i, c) in m.per_op.iter().enumerate() {
        s.per_type[i] = c.load(Relaxed);
    }
    s.memory_bytes = s.links * BYTES_PER_LINK + s.messages_queued * std::mem::size_of::<crate::actor::Msg>() as u64;
    s
}

/// Fill `*out` with the current counters: OK, INVALID_ARGUMENT (NULL), NOT_INITIALIZED.
#[no_mangle]
pub unsafe extern "C" fn dap_link_manager_get_stats(out: *mut dap_lm_stats) -> c_int {
    ffi_result!("dap_link_manager_get_stats", {
        if out.is_null() {
            return code(DAP_LM_ERR_INVALID_ARGUMENT);
        }
        match api::with_runtime(collect) {
            Some(s) => {
                // SAFETY: checked non-NULL; caller-provided struct.
                unsafe { write_out(out, s) };
                code(DAP_LM_OK)
            }
            None => err(LmError::NotInitialized),
        }
    })
}

/// Name of operation kind `i` (index of `dap_lm_stats::per_type`), or NULL when out of range. Static.
#[no_mangle]
pub extern "C" fn dap_link_manager_op_name(i: c_int) -> *const c_char {
    const NAMES: [&std::ffi::CStr; DAP_LM_OP_KINDS] = [
        c"set_condition",
        c"add_net",
        c"add_net_associate",
        c"remove_net",
        c"set_net_condition",
        c"link_create",
        c"link_update",
        c"stream_add",
        c"stream_replace",
        c"stream_delete",
        c"accounting",
        c"cluster_joined",
        c"cluster_left",
        c"static_joined",
        c"static_left",
        c"client_connected",
        c"client_error",
        c"tick",
        c"shutdown",
        c"panic",
    ];
    usize::try_from(i).ok().and_then(|i| NAMES.get(i)).map_or(std::ptr::null(), |n| n.as_ptr())
}

const PRIO: [&str; 4] = ["critical", "high", "normal", "low"];

pub fn stats_json(s: &dap_lm_stats) -> String {
    let arr = |a: &[u64]| a.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
    let mut out = format!(
        "{{\"messages_processed\":{},\"messages_queued\":{},\"queue_depth\":[{}],\"queue_peak\":[{}],\
         \"queue_capacity\":[{}],\"queue_rejected\":[{}],\"proc_ns\":{{\"avg\":{},\"p50\":{},\"p99\":{}}},\
         \"wait_ns\":{{\"avg\":{},\"p50\":{},\"p99\":{}}},\"sync_calls\":{},\"async_calls\":{},\"timeouts\":{},\
         \"rejected\":{},\"panics\":{},\"passes\":{},\"max_batch\":{},\"links\":{},\"nets\":{},\"memory_bytes\":{},\"per_type\":{{",
        s.messages_processed, s.messages_queued, arr(&s.queue_depth), arr(&s.queue_peak), arr(&s.queue_capacity),
        arr(&s.queue_rejected), s.proc_avg_ns, s.proc_p50_ns, s.proc_p99_ns, s.wait_avg_ns, s.wait_p50_ns,
        s.wait_p99_ns, s.sync_calls, s.async_calls, s.timeouts, s.rejected, s.panics, s.passes, s.max_batch,
        s.links, s.nets, s.memory_bytes
    );
    for (i, n) in OP_NAMES.iter().enumerate() {
        let _ = write!(out, "{}\"{n}\":{}", if i > 0 { "," } else { "" }, s.per_type[i]);
    }
    out.push_str("}}");
    out
}

pub fn stats_prometheus(s: &dap_lm_stats) -> String {
    let mut o = String::with_capacity(4096);
    let mut metric = |name: &str, kind: &str, help: &str, samples: &[(String, u64)]| {
        let _ = writeln!(o, "# HELP dap_link_manager_{name} {help}\n# TYPE dap_link_manager_{name} {kind}");
        for (labels, v) in samples {
            let _ = writeln!(o, "dap_link_manager_{name}{labels} {v}");
        }
    };
    let one = |v: u64| vec![(String::new(), v)];
    let per_prio = |a: &[u64; 4]| (0..4).map(|i| (format!("{{priority=\"{}\"}}", PRIO[i]), a[i])).collect::<Vec<_>>();
    metric("messages_processed_total", "counter", "Requests applied by the actor.", &one(s.messages_processed));
    metric("queue_depth", "gauge", "Messages queued, by priority.", &per_prio(&s.queue_depth));
    metric("queue_peak", "gauge", "Highest queue depth seen, by priority.", &per_prio(&s.queue_peak));
    metric(
        "queue_capacity",
        "gauge",
        "Configured queue bound, by priority (0 = unbounded).",
        &per_prio(&s.queue_capacity),
    );
    metric(
        "queue_rejected_total",
        "counter",
        "Requests refused for capacity, by priority.",
        &per_prio(&s.queue_rejected),
    );
    let q = |a, b, c| {
        vec![
            ("{quantile=\"avg\"}".to_string(), a),
            ("{quantile=\"0.5\"}".to_string(), b),
            ("{quantile=\"0.99\"}".to_string(), c),
        ]
    };
    metric("processing_ns", "gauge", "Handler time per request.", &q(s.proc_avg_ns, s.proc_p50_ns, s.proc_p99_ns));
    metric(
        "queue_wait_ns",
        "gauge",
        "Time from submission to handling.",
        &q(s.wait_avg_ns, s.wait_p50_ns, s.wait_p99_ns),
    );
    metric("sync_calls_total", "counter", "Waiting calls.", &one(s.sync_calls));
    metric("async_calls_total", "counter", "Calls with a completion callback.", &one(s.async_calls));
    metric("timeouts_total", "counter", "Waiting calls that hit their deadline.", &one(s.timeouts));
    metric("rejected_total", "counter", "Requests refused at submission.", &one(s.rejected));
    metric("panics_total", "counter", "Handler panics caught.", &one(s.panics));
    metric("links", "gauge", "Link records.", &one(s.links));
    metric("nets", "gauge", "Managed nets.", &one(s.nets));
    metric("memory_bytes", "gauge", "Estimated heap in use.", &one(s.memory_bytes));
    let per: Vec<(String, u64)> =
        OP_NAMES.iter().enumerate().map(|(i, n)| (format!("{{op=\"{n}\"}}"), s.per_type[i])).collect();
    metric("ops_total", "counter", "Requests applied, by operation.", &per);
    o
}

/// The counters as JSON text, `malloc`'d (free with `free()`); NULL when not initialised.
#[no_mangle]
pub extern "C" fn dap_link_manager_stats_json() -> *mut c_char {
    ffi_boundary!("dap_link_manager_stats_json", std::ptr::null_mut(), {
        api::with_runtime(collect).map_or(std::ptr::null_mut(), |s| malloc_str(&stats_json(&s)))
    })
}

/// The counters in Prometheus text exposition format (with the configured limits next to usage),
/// `malloc`'d (free with `free()`); NULL when not initialised.
#[no_mangle]
pub extern "C" fn dap_link_manager_metrics_prometheus() -> *mut c_char {
    ffi_boundary!("dap_link_manager_metrics_prometheus", std::ptr::null_mut(), {
        api::with_runtime(collect).map_or(std::ptr::null_mut(), |s| malloc_str(&stats_prometheus(&s)))
    })
}
