//! Text reports of the published view: `get_links_info` JSON.

use std::fmt::Write;

use super::addr::NodeAddr;
use super::view::Snapshot;
use crate::abi::dap_link_state_t;

pub fn state_name(s: dap_link_state_t) -> &'static str {
    match s {
        dap_link_state_t::LINK_STATE_DISCONNECTED => "disconnected",
        dap_link_state_t::LINK_STATE_CONNECTING => "connecting",
        dap_link_state_t::LINK_STATE_ESTABLISHED => "established",
    }
}

/// `{"nets":[...],"links":[...]}`, links sorted by address so the text is stable.
pub fn links_json(v: &Snapshot) -> String {
    let mut s = String::with_capacity(128 + v.links.len() * 160);
    let _ = write!(s, "{{\"active\":{},\"nets\":[", v.active);
    for (i, n) in v.nets.iter().enumerate() {
        let _ = write!(
            s,
            "{}{{\"id\":\"0x{:016X}\",\"active\":{},\"min_links\":{},\"links\":{},\"uplinks_cached\":{},\"clusters\":{}}}",
            if i > 0 { "," } else { "" },
            n.id,
            n.active,
            n.min_links,
            n.links_count,
            n.uplinks_cached,
            n.clusters.len()
        );
    }
    s.push_str("],\"links\":[");
    let mut links: Vec<_> = v.links.values().collect();
    links.sort_by_key(|l| l.addr);
    for (i, l) in links.iter().enumerate() {
        let _ = write!(
            s,
            "{}{{\"addr\":\"{}\",\"direction\":\"{}\",\"state\":\"{}\",\"attempts\":{},\"client\":{},\"nets\":[",
            if i > 0 { "," } else { "" },
            NodeAddr(l.addr),
            if l.is_uplink { "uplink" } else { "downlink" },
            state_name(l.state),
            l.attempts,
            l.has_client
        );
        for (j, n) in l.nets.iter().enumerate() {
            let _ = write!(s, "{}\"0x{n:016X}\"", if j > 0 { "," } else { "" });
        }
        let _ = write!(
            s,
            "],\"active_clusters\":{},\"static_clusters\":{}}}",
            l.active_clusters.len(),
            l.static_clusters.len()
        );
    }
    s.push_str("]}");
    s
}
