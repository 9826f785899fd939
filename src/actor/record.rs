//! Record mode (`[link_manager] trace_file=<path>`): every call and SDK event the library receives is
//! appended to a text trace in the format of `c_tests/replay` (README "The hybrid flag and differential
//! replay"), so a trace captured from a real node can be replayed against both implementations.
//!
//! Off by default; when off, the cost on the call path is one relaxed atomic load.

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use log::{error, info};

use crate::abi::DAP_NET_ID_INVALID;
use crate::core::addr::NodeAddr;
use crate::core::clock::Clock;
use crate::core::{Op, TickPhase};
use crate::host::ClusterRef;

static ON: AtomicBool = AtomicBool::new(false);
static LAST_SECS: AtomicU64 = AtomicU64::new(0);
static OUT: Mutex<Option<(BufWriter<File>, Arc<Clock>)>> = Mutex::new(None);
/// Clusters already declared in the trace (a `cluster <token> links|static` line before first use).
static DECLARED: Mutex<Vec<usize>> = Mutex::new(Vec::new());

/// The declaration a cluster needs before `op` uses it, if any: static clusters call the static member
/// callbacks in a replay, the others the links ones.
fn declaration(op: &Op) -> Option<String> {
    let (c, kind) = match op {
        Op::StaticJoined { cluster, .. } | Op::StaticLeft { cluster, .. } => (*cluster, "static"),
        Op::AddNet { cluster, .. }
        | Op::AddNetAssociate { cluster, .. }
        | Op::ClusterJoined { cluster, .. }
        | Op::ClusterLeft { cluster, .. } => (*cluster, "links"),
        _ => return None,
    };
    let mut d = DECLARED.lock().unwrap_or_else(|e| e.into_inner());
    if d.contains(&c.0) {
        return None;
    }
    d.push(c.0);
    Some(format!("cluster {} {kind}", cluster(c)))
}

fn net(n: u64) -> String {
    if n == DAP_NET_ID_INVALID {
        "INVALID".into()
    } else {
        format!("0x{n:X}")
    }
}

fn cluster(c: ClusterRef) -> String {
    format!("c_{:x}", c.0)
}

/// The trace line of an op, or None for ops that are not inputs (shutdown, fault injection).
pub fn line_of(op: &Op) -> Option<String> {
    let a = |x: &u64| NodeAddr(*x);
    let dir = |up: &bool| if *up { "up" } else { "down" };
    Some(match op {
        Op::SetCondition(on) => format!("set_condition {}", u8::from(*on)),
        Op::AddNet { net: n, cluster: c, min_links } => format!("add_net {} {} {min_links}", net(*n), cluster(*c)),
        Op::AddNetAssociate { net: n, cluster: c } => format!("add_net_associate {} {}", net(*n), cluster(*c)),
        Op::RemoveNet(n) => format!("remove_net {}", net(*n)),
        Op::SetNetCondition { net: n, on } => format!("set_net_condition {} {}", net(*n), u8::from(*on)),
        Op::LinkCreate { addr, net: n } => format!("link_create {} {}", a(addr), net(*n)),
        Op::LinkUpdate { addr, host, port } => format!("link_update {} {host} {port}", a(addr)),
        Op::StreamAdd { addr, uplink } => format!("stream_add {} {}", a(addr), dir(uplink)),
        Op::StreamReplace { addr, uplink } => format!("stream_replace {} {}", a(addr), dir(uplink)),
        Op::StreamDelete { addr } => format!("stream_delete {}", a(addr)),
        Op::Accounting { net: n, addr, ok } => {
            format!("accounting {} {} {}", net(*n), a(addr), if *ok { "ok" } else { "fail" })
        }
        Op::ClusterJoined { addr, cluster: c } => format!("member_add {} {}", cluster(*c), a(addr)),
        Op::ClusterLeft { addr, cluster: c } => format!("member_del {} {}", cluster(*c), a(addr)),
        Op::StaticJoined { addr, cluster: c } => format!("member_add {} {}", cluster(*c), a(addr)),
        Op::StaticLeft { addr, cluster: c } => format!("member_del {} {}", cluster(*c), a(addr)),
        Op::ClientConnected { addr, .. } => format!("client_connected {}", a(addr)),
        Op::ClientError { addr, last_attempt, .. } => {
            format!("client_error {} {}", a(addr), if *last_attempt { "last" } else { "transient" })
        }
        Op::Tick(Some(TickPhase::WakeUp)) => "tick wakeup".into(),
        Op::Tick(Some(TickPhase::LinksRequest)) => "tick request".into(),
        Op::Tick(None) | Op::Shutdown | Op::Panic => return None,
    })
}

/// Start recording to `path` (appending), with the config and own address as the trace header.
pub fn start(path: &str, header: &[String], clock: Arc<Clock>) {
    let file = match OpenOptions::new().create(true).append(true).open(path) {
        Ok(f) => f,
        Err(e) => {
            error!("[LM-ERROR] trace_file {path:?} cannot be opened: {e}; record mode off");
            return;
        }
    };
    let mut w = BufWriter::new(file);
    let mut text = String::from("# recorded by dap_link_manager\n");
    for h in header {
        let _ = writeln!(text, "{h}");
    }
    text.push_str("init\n");
    let _ = w.write_all(text.as_bytes());
    LAST_SECS.store(clock.now_secs(), Ordering::Relaxed);
    DECLARED.lock().unwrap_or_else(|e| e.into_inner()).clear();
    *OUT.lock().unwrap_or_else(|e| e.into_inner()) = Some((w, clock));
    ON.store(true, Ordering::Release);
    info!("record mode: writing the call trace to {path}");
}

/// Stop recording (at deinit): writes `deinit` and flushes.
pub fn stop() {
    if !ON.swap(false, Ordering::AcqRel) {
        return;
    }
    if let Some((mut w, _)) = OUT.lock().unwrap_or_else(|e| e.into_inner()).take() {
        let _ = w.write_all(b"deinit\n");
        let _ = w.flush();
    }
}

/// Append the line of `op` (and an `advance` line first when the clock moved on).
pub fn op(op: &Op) {
    if !ON.load(Ordering::Relaxed) {
        return;
    }
    if let Some(l) = line_of(op) {
        if let Some(d) = declaration(op) {
            line(&d);
        }
        line(&l);
    }
}

/// Append a free-form line (e.g. `node permanent <ADDR> 1` when the node answered so).
pub fn line(text: &str) {
    if !ON.load(Ordering::Relaxed) {
        return;
    }
    let mut g = OUT.lock().unwrap_or_else(|e| e.into_inner());
    let Some((w, clock)) = g.as_mut() else { return };
    let now = clock.now_secs();
    let last = LAST_SECS.swap(now, Ordering::Relaxed);
    if now > last {
        let _ = writeln!(w, "advance {}", now - last);
    }
    let _ = writeln!(w, "{text}");
    let _ = w.flush();
}

pub fn is_on() -> bool {
    ON.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_follow_the_replay_format() {
        let c = ClusterRef(0xab);
        assert_eq!(line_of(&Op::AddNet { net: 0x10, cluster: c, min_links: 3 }).unwrap(), "add_net 0x10 c_ab 3");
        assert_eq!(
            line_of(&Op::LinkCreate { addr: 0x1_0002_0003_0004, net: DAP_NET_ID_INVALID }).unwrap(),
            "link_create 0001::0002::0003::0004 INVALID"
        );
        assert_eq!(
            line_of(&Op::Accounting { net: 1, addr: 5, ok: false }).unwrap(),
            "accounting 0x1 0000::0000::0000::0005 fail"
        );
        assert_eq!(
            line_of(&Op::ClientError { addr: 5, tag: 9, last_attempt: true }).unwrap(),
            "client_error 0000::0000::0000::0005 last"
        );
        assert_eq!(line_of(&Op::Tick(Some(TickPhase::LinksRequest))).unwrap(), "tick request");
        assert!(line_of(&Op::Shutdown).is_none());
    }
}
