//! Test-only entry points (feature `test-hooks`, CMake `DAP_LM_TEST_HOOKS`): a virtual clock, a manual
//! tick, fault injection. Not for production builds.

use std::ffi::c_int;
use std::sync::atomic::Ordering;

use super::boundary::ffi_result;
use super::result::{code, dap_lm_result::*, err};
use super::sync::{named, timeout};
use crate::actor::api::{self, submit, Mode};
use crate::actor::LmError;
use crate::core::{Op, TickPhase};

/// Switch the manager to a virtual clock at `ns` (ns since the epoch) and stop automatic ticks.
#[no_mangle]
pub extern "C" fn dap_link_manager_test_clock_set(ns: u64) -> c_int {
    ffi_result!("dap_link_manager_test_clock_set", {
        match api::with_runtime(|rt| {
            rt.auto_tick.store(false, Ordering::Release);
            rt.clock.set_virtual(ns);
        }) {
            Some(()) => code(DAP_LM_OK),
            None => err(LmError::NotInitialized),
        }
    })
}

/// Move the virtual clock forward by `ns` (switches to virtual time at "now" first if needed).
#[no_mangle]
pub extern "C" fn dap_link_manager_test_clock_advance(ns: u64) -> c_int {
    ffi_result!("dap_link_manager_test_clock_advance", {
        match api::with_runtime(|rt| {
            if !rt.clock.is_virtual() {
                rt.auto_tick.store(false, Ordering::Release);
                rt.clock.set_virtual(rt.clock.now_ns());
            }
            rt.clock.advance(ns);
        }) {
            Some(()) => code(DAP_LM_OK),
            None => err(LmError::NotInitialized),
        }
    })
}

/// Stop (false) or restart (true) the automatic tick.
#[no_mangle]
pub extern "C" fn dap_link_manager_test_auto_tick(on: bool) -> c_int {
    ffi_result!("dap_link_manager_test_auto_tick", {
        match api::with_runtime(|rt| rt.auto_tick.store(on, Ordering::Release)) {
            Some(()) => code(DAP_LM_OK),
            None => err(LmError::NotInitialized),
        }
    })
}

/// Run one tick now and wait for it: `phase` -1 = the next in turn, 0 = wake-up, 1 = links request.
#[no_mangle]
pub extern "C" fn dap_link_manager_test_tick(phase: c_int, timeout_ms: u32) -> c_int {
    ffi_result!("dap_link_manager_test_tick", {
        let phase = match phase {
            -1 => None,
            0 => Some(TickPhase::WakeUp),
            1 => Some(TickPhase::LinksRequest),
            _ => return code(DAP_LM_ERR_INVALID_ARGUMENT),
        };
        match submit(Op::Tick(phase), Mode::Wait(timeout(timeout_ms))) {
            Ok(rc) => code(named("tick", rc)),
            Err(e) => err(e),
        }
    })
}

/// Make the next handler panic (fault injection): returns DAP_LM_ERR_INTERNAL when the actor caught it.
#[no_mangle]
pub extern "C" fn dap_link_manager_test_inject_panic(timeout_ms: u32) -> c_int {
    ffi_result!("dap_link_manager_test_inject_panic", {
        match submit(Op::Panic, Mode::Wait(timeout(timeout_ms))) {
            Ok(_) => code(DAP_LM_OK),
            Err(e) => err(e),
        }
    })
}
