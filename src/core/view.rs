//! The immutable view of the manager that the actor publishes after each drain pass, and every query
//! answered from it. Getters on any thread read the latest view without waiting for the actor.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use crate::abi::dap_link_state_t;
use crate::host::{Addr, ClusterRef, NetId};

/// Entries of the hot list older than this are expired (CONTRACT.md §9).
pub const HOT_LIST_COOLING_SECS: u64 = 900;

/// A multiplicative hash for 64-bit keys (addresses and net ids are already well spread; SipHash would
/// cost more than the lookup it serves on the getter hot path).
#[derive(Default, Clone, Copy)]
pub struct U64Hasher(u64);

impl Hasher for U64Hasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(*b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (v ^ (v >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        self.0 ^= self.0 >> 32;
    }
}

pub type FastState = BuildHasherDefault<U64Hasher>;
/// Per net, (address, stamp seconds) of recent dial attempts.
pub type HotLists = Arc<HashMap<NetId, Arc<[(Addr, u64)]>, FastState>>;
pub type LinkMap = imbl::GenericHashMap<Addr, Arc<LinkView>, FastState, imbl::shared_ptr::DefaultSharedPtr>;

/// One link as last published.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkView {
    pub addr: Addr,
    pub is_uplink: bool,
    pub state: dap_link_state_t,
    pub has_client: bool,
    pub attempts: u32,
    pub start_after: u64,
    pub es_uuid: u64,
    pub stream_is_destroyed: bool,
    pub nets: Box<[NetId]>,
    pub active_clusters: Box<[ClusterRef]>,
    pub static_clusters: Box<[ClusterRef]>,
}

/// One net as last published.
#[derive(Clone, Debug, PartialEq)]
pub struct NetView {
    pub id: NetId,
    pub active: bool,
    pub min_links: u32,
    /// Primary-cluster member count cached by the last links-request pass.
    pub uplinks_cached: usize,
    /// Primary-cluster member count when the view was published.
    pub links_count: usize,
    /// Primary first.
    pub clusters: Box<[ClusterRef]>,
}

/// Everything the getters read. Cheap to clone (persistent maps, shared slices).
#[derive(Clone, Default)]
pub struct Snapshot {
    /// Drain-pass sequence number that published this view.
    pub seq: u64,
    pub taken_ns: u64,
    pub active: bool,
    pub nets: Arc<[NetView]>,
    pub links: LinkMap,
    /// Per net, (address, stamp seconds) of recent dial attempts.
    pub hot: HotLists,
}

/// Bumped after every publication of a view (and when a manager starts or stops), so getter threads
/// can keep the view they read last and revalidate it with one load instead of a read-modify-write.
pub static VIEW_GENERATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Mark every cached view stale.
pub fn bump_view_generation() {
    VIEW_GENERATION.fetch_add(1, std::sync::atomic::Ordering::Release);
}

/// The answer to `get_net_links_addrs`: uplinks first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NetLinks {
    pub addrs: Vec<Addr>,
    pub uplinks: usize,
    pub downlinks: usize,
}

impl Snapshot {
    pub fn net(&self, id: NetId) -> Option<&NetView> {
        self.nets.iter().find(|n| n.id == id)
    }

    pub fn net_condition(&self, id: NetId) -> bool {
        self.net(id).is_some_and(|n| n.active)
    }

    pub fn links_count(&self, id: NetId) -> usize {
        self.net(id).map_or(0, |n| n.links_count)
    }

    pub fn required_links_count(&self, id: NetId) -> usize {
        self.net(id).map_or(0, |n| n.min_links as usize)
    }

    pub fn needed_links_count(&self, id: NetId) -> usize {
        self.net(id).map_or(0, |n| (n.min_links as usize).saturating_sub(n.uplinks_cached))
    }

    pub fn established_uplinks_count(&self, id: NetId) -> usize {
        if self.net(id).is_none() {
            return 0;
        }
        self.links
            .values()
            .filter(|l| l.is_uplink && l.state == dap_link_state_t::LINK_STATE_ESTABLISHED && l.nets.contains(&id))
            .count()
    }

    pub fn link_find(&self, addr: Addr, net: NetId) -> bool {
        self.links.get(&addr).is_some_and(|l| l.nets.contains(&net))
    }

    pub fn link_is_established(&self, addr: Addr) -> bool {
        self.links.get(&addr).is_some_and(|l| l.state == dap_link_state_t::LINK_STATE_ESTABLISHED)
    }

    /// Classify the primary-cluster `members` (read live from the SDK by the caller): those with a link,
    /// uplinks first; with `established_only`, uplinks that are not ESTABLISHED are left out.
    pub fn net_links(&self, members: &[Addr], established_only: bool) -> NetLinks {
        let mut up = Vec::new();
        let mut down = Vec::new();
        for a in members {
            let Some(l) = self.links.get(a) else { continue };
            if l.is_uplink {
                if !established_only || l.state == dap_link_state_t::LINK_STATE_ESTABLISHED {
                    up.push(*a);
                }
            } else {
                down.push(*a);
            }
        }
        let (uplinks, downlinks) = (up.len(), down.len());
        up.extend(down);
        NetLinks { addrs: up, uplinks, downlinks }
    }

    /// Hot-list entries of `net` not older than the cooling period at `now_secs`.
    pub fn ignored_addrs(&self, net: NetId, now_secs: u64) -> Vec<Addr> {
        self.hot.get(&net).map_or_else(Vec::new, |list| {
            list.iter().filter(|(_, t)| now_secs.saturating_sub(*t) <= HOT_LIST_COOLING_SECS).map(|(a, _)| *a).collect()
        })
    }
}
