//! A link record: the C-visible `dap_link_t` the node's callbacks receive, plus the sets the library
//! keeps in its own tables (nets, active clusters, static clusters).

use std::ptr::{null_mut, NonNull};

use crate::abi::{
    dap_client_t, dap_link_manager_t, dap_link_state_t, dap_link_t, dap_link_uplink_t, dap_stream_node_addr_t,
    UT_hash_handle,
};
use crate::host::{Addr, ClientRef, ClusterRef, NetId};

/// The live `dap_link_t`, heap-allocated once so its address is stable for the link's whole life.
///
/// Rust code reaches it only through `&self`/`&mut self` of this owner and never holds such a reference
/// across a node callback; during a callback the node may write `uplink.ready` through the raw pointer.
pub struct LiveLink(NonNull<dap_link_t>);

// SAFETY: the record is owned by the core, which lives on the actor thread; C code touches it only on that
// thread, inside callbacks the actor makes.
unsafe impl Send for LiveLink {}

impl LiveLink {
    pub fn new(addr: Addr, manager: *mut dap_link_manager_t) -> Self {
        let rec = Box::new(dap_link_t {
            addr: dap_stream_node_addr_t { uint64: addr },
            is_uplink: false,
            active_clusters: null_mut(),
            uplink: dap_link_uplink_t {
                state: dap_link_state_t::LINK_STATE_DISCONNECTED,
                attempts_count: 0,
                client: null_mut(),
                associated_nets: null_mut(),
                start_after: 0,
                es_uuid: 0,
                ready: false,
            },
            static_clusters: null_mut(),
            link_manager: manager,
            stream_is_destroyed: false,
            hh: UT_hash_handle { opaque: [null_mut(); 7] },
        });
        Self(NonNull::from(Box::leak(rec)))
    }

    /// The pointer handed to node callbacks.
    pub fn as_ptr(&self) -> *mut dap_link_t {
        self.0.as_ptr()
    }

    pub fn get(&self) -> &dap_link_t {
        // SAFETY: allocated in `new`, freed only in `drop`; no mutable alias is live (type-level doc).
        unsafe { self.0.as_ref() }
    }

    pub fn get_mut(&mut self) -> &mut dap_link_t {
        // SAFETY: as in `get`; `&mut self` makes this the only Rust reference.
        unsafe { self.0.as_mut() }
    }
}

impl Drop for LiveLink {
    fn drop(&mut self) {
        // SAFETY: made by Box::leak in `new`, dropped once.
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
    }
}

/// One link and the library-side sets around it.
pub struct Link {
    pub rec: LiveLink,
    pub addr: Addr,
    pub client: Option<ClientRef>,
    /// Identifies the current client incarnation in its connected/error events.
    pub client_tag: u64,
    pub nets: Vec<NetId>,
    pub active_clusters: Vec<ClusterRef>,
    pub static_clusters: Vec<ClusterRef>,
    /// Set while the link is queued for the next published snapshot (`State::dirty_links`).
    pub dirty: bool,
}

impl Link {
    pub fn new(addr: Addr, manager: *mut dap_link_manager_t) -> Self {
        Self {
            rec: LiveLink::new(addr, manager),
            addr,
            client: None,
            client_tag: 0,
            nets: Vec::new(),
            active_clusters: Vec::new(),
            static_clusters: Vec::new(),
            // Not queued yet: the caller's `mark` queues it (a new link flagged here would never be).
            dirty: false,
        }
    }

    pub fn state(&self) -> dap_link_state_t {
        self.rec.get().uplink.state
    }

    pub fn set_state(&mut self, s: dap_link_state_t) {
        self.rec.get_mut().uplink.state = s;
    }

    pub fn set_client(&mut self, client: Option<ClientRef>, tag: u64) {
        self.client = client;
        self.client_tag = tag;
        self.rec.get_mut().uplink.client = client.map_or(null_mut(), |c| c.0 as *mut dap_client_t);
    }

    pub fn in_active_clusters(&self) -> bool {
        !self.active_clusters.is_empty()
    }
}

/// Add `v` to a small set kept as a Vec; false if it was there.
pub fn set_insert<T: PartialEq>(set: &mut Vec<T>, v: T) -> bool {
    if set.contains(&v) {
        return false;
    }
    set.push(v);
    true
}

/// Remove `v` from a small set kept as a Vec; false if it was absent.
pub fn set_remove<T: PartialEq>(set: &mut Vec<T>, v: &T) -> bool {
    match set.iter().position(|x| x == v) {
        Some(i) => {
            set.remove(i);
            true
        }
        None => false,
    }
}
