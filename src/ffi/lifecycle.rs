//! Lifecycle (CONTRACT.md §2): init, deinit, the manager object, the active flag, version.

use std::cell::UnsafeCell;
use std::ffi::{c_char, c_int};
use std::ptr::{addr_of_mut, null_mut};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use log::{error, info, warn};

use super::boundary::ffi_boundary;
use super::result::{code, dap_lm_result::*, err};
use crate::abi::{dap_link_manager_callbacks_t, dap_link_manager_t, pthread_rwlock_t};
use crate::actor;
use crate::actor::api::{self, submit, Mode};
use crate::actor::config::RuntimeConfig;
use crate::core::clock::Clock;
use crate::core::{Config, Core, Op};
use crate::host::dap::{self, DapNode, DapSdk};

/// The process's one manager object: static, so `get_default()` pointers never dangle across
/// `deinit`/`init`. Only `callbacks` (read at every callback) and `active` are meaningful.
struct ManagerCell(UnsafeCell<dap_link_manager_t>);

// SAFETY: written under the lifecycle lock (init/deinit) and by `set_condition` (a plain bool); the node
// may write `callbacks` itself, as it did with the C version; the actor reads them volatile.
unsafe impl Sync for ManagerCell {}

static MANAGER: ManagerCell = ManagerCell(UnsafeCell::new(dap_link_manager_t {
    active: false,
    max_attempts_num: 0,
    reconnect_delay: 0,
    nets: null_mut(),
    links: null_mut(),
    links_lock: pthread_rwlock_t { opaque: [0; 7] },
    nets_lock: pthread_rwlock_t { opaque: [0; 7] },
    callbacks: dap_link_manager_callbacks_t {
        connected: None,
        disconnected: None,
        error: None,
        fill_net_info: None,
        link_request: None,
        link_count_changed: None,
    },
}));

fn manager() -> *mut dap_link_manager_t {
    MANAGER.0.get()
}

/// Mirror the active flag into the C object: an atomic store, since `set_condition` may run on several
/// threads at once (a plain write there is a data race, found by ThreadSanitizer).
fn set_manager_active(on: bool) {
    // SAFETY: `active` is a properly aligned bool inside the static object, accessed only atomically
    // by this library.
    unsafe { std::sync::atomic::AtomicBool::from_ptr(addr_of_mut!((*manager()).active)) }.store(on, Ordering::Release);
}

/// Panics are caught (at the C boundary and around each handler); report them through the SDK log
/// instead of the default hook's stderr backtrace. Installed once; chains to the previous hook only for
/// threads that are not ours.
fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let ours = std::thread::current().name() == Some("dap_link_manager") || api::on_actor_thread();
            error!("[LM-ERROR] code=internal panic: {info}");
            if !ours {
                prev(info);
            }
        }));
    });
}

/// Start the link manager: copies the callbacks, reads `[link_manager]` from `g_config`, starts the
/// library's thread and the maintenance tick.
///
/// Returns 0; -2 already initialised, `callbacks` NULL or `callbacks->fill_net_info` NULL;
/// -1 the thread could not start. May be called again after `dap_link_manager_deinit`.
#[no_mangle]
pub unsafe extern "C" fn dap_link_manager_init(callbacks: *const dap_link_manager_callbacks_t) -> c_int {
    ffi_boundary!("dap_link_manager_init", -1, {
        dap::install_logger();
        install_panic_hook();
        let _life = api::lifecycle();
        if api::runtime().is_some() {
            warn!("[LM-ERROR] code=-2 init: the link manager is already initialised");
            return -2;
        }
        if callbacks.is_null() {
            error!("[LM-ERROR] code=-2 init: callbacks are NULL");
            return -2;
        }
        // SAFETY: non-NULL; the caller passes a readable callbacks struct (copied here).
        let cb = unsafe { callbacks.read() };
        if cb.fill_net_info.is_none() {
            error!("[LM-ERROR] code=-2 init: the fill_net_info callback is mandatory");
            return -2;
        }
        if cb.link_request.is_none() {
            warn!("init: no link_request callback: nets below their link target will not ask for links");
        }
        let cfg = RuntimeConfig::from_lookup(&dap::config_get);
        let m = manager();
        // SAFETY: under the lifecycle lock; no actor is running, so nothing reads the object now.
        unsafe {
            addr_of_mut!((*m).callbacks).write_volatile(cb);
            (*m).max_attempts_num = cfg.core.max_attempts;
            (*m).reconnect_delay = cfg.core.reconnect_delay_secs as u32;
        }
        set_manager_active(true);
        let core_cfg: Config = cfg.core.clone();
        let mgr_addr = m as usize;
        let make_core: actor::CoreFactory = Box::new(move |clock: Arc<Clock>| {
            let node = DapNode { manager: mgr_addr as *mut dap_link_manager_t };
            Core::new(Box::new(DapSdk), Box::new(node), core_cfg, clock, mgr_addr as *mut dap_link_manager_t)
        });
        let clock = Arc::new(Clock::real());
        if let Some(path) = cfg.trace_file.clone() {
            let mut header: Vec<String> = actor::config::KEYS
                .iter()
                .filter_map(|k| dap::config_get(k).map(|v| format!("config {k} {v}")))
                .collect();
            header.push(format!("own {}", crate::core::addr::NodeAddr(crate::host::Sdk::own_addr(&DapSdk))));
            actor::record::start(&path, &header, clock.clone());
        }
        match actor::start(cfg, Arc::new(DapSdk), clock, make_core) {
            Ok(rt) => {
                api::install(rt);
                info!("link manager initialised");
                0
            }
            Err(e) => {
                error!("[LM-ERROR] code=-1 init: the actor thread could not start: {e}");
                set_manager_active(false);
                -1
            }
        }
    })
}

/// Stop the link manager: every link deleted (clients deleted, downlink streams closed), every net
/// removed, the tick and the thread stopped, queued requests answered "shutting down". Afterwards every
/// call answers "not initialised" until `dap_link_manager_init` runs again. Do not call it from a callback.
#[no_mangle]
pub extern "C" fn dap_link_manager_deinit() {
    ffi_boundary!("dap_link_manager_deinit", (), {
        let _life = api::lifecycle();
        let Some(rt) = api::uninstall() else {
            warn!("deinit: the link manager is not initialised");
            return;
        };
        actor::stop(&rt);
        actor::record::stop();
        set_manager_active(false);
        info!("link manager stopped");
    })
}

/// A new manager object with `callbacks` copied, allocated with `calloc` (the caller frees it with
/// `free()`). NULL if `callbacks` or `callbacks->fill_net_info` is NULL. It is not the running manager:
/// see `dap_link_manager_get_default`.
#[no_mangle]
pub unsafe extern "C" fn dap_link_manager_new(
    callbacks: *const dap_link_manager_callbacks_t,
) -> *mut dap_link_manager_t {
    ffi_boundary!("dap_link_manager_new", null_mut(), {
        if callbacks.is_null() {
            error!("[LM-ERROR] new: callbacks are NULL");
            return null_mut();
        }
        // SAFETY: non-NULL readable struct per the C contract.
        let cb = unsafe { callbacks.read() };
        if cb.fill_net_info.is_none() {
            error!("[LM-ERROR] new: the fill_net_info callback is mandatory");
            return null_mut();
        }
        // SAFETY: calloc'd zeroed object of the right size; all-zero is a valid dap_link_manager_t.
        unsafe {
            let m = libc::calloc(1, std::mem::size_of::<dap_link_manager_t>()).cast::<dap_link_manager_t>();
            if m.is_null() {
                return m;
            }
            (*m).callbacks = cb;
            (*m).active = true;
            (*m).max_attempts_num = 1;
            (*m).reconnect_delay = 20;
            m
        }
    })
}

/// The manager object made by `init`, or NULL before `init` / after `deinit`. The object itself is
/// static: a pointer kept across `deinit` stays readable.
#[no_mangle]
pub extern "C" fn dap_link_manager_get_default() -> *mut dap_link_manager_t {
    ffi_boundary!("dap_link_manager_get_default", null_mut(), {
        if api::runtime().is_some() {
            manager()
        } else {
            null_mut()
        }
    })
}

/// Set the manager's active flag. Inactive: the tick does nothing and `stream_add` is refused with -1.
#[no_mangle]
pub extern "C" fn dap_link_manager_set_condition(active: bool) {
    ffi_boundary!("dap_link_manager_set_condition", (), {
        set_condition(active, Mode::Queue);
    })
}

pub(crate) fn set_condition(active: bool, mode: Mode) -> c_int {
    // The flag changes only once the request is accepted: a refused call (queue full, shutting down,
    // not initialised) leaves it as it was.
    match submit(Op::SetCondition(active), mode) {
        Ok(_) => {
            api::with_runtime(|rt| rt.active.store(active, Ordering::Release));
            set_manager_active(active);
            code(DAP_LM_OK)
        }
        Err(e) => {
            warn!("[LM-ERROR] set_condition({active}) refused: {e:?}");
            err(e)
        }
    }
}

/// The manager's active flag (false before `init` / after `deinit`). Never waits.
#[no_mangle]
pub extern "C" fn dap_link_manager_get_condition() -> bool {
    ffi_boundary!("dap_link_manager_get_condition", false, {
        api::with_runtime(|rt| rt.active.load(Ordering::Acquire)).unwrap_or(false)
    })
}

/// This library's version, "MAJOR.MINOR.PATCH" (static string), equal to DAP_LINK_MANAGER_VERSION_STRING.
#[no_mangle]
pub extern "C" fn dap_link_manager_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}
