//! Active channels (CONTRACT.md §9, FIX-CHANNELS-GLOBAL): process-wide, "RCGEND" at start, usable
//! before `init`, kept across `init`/`deinit`.

use std::ffi::{c_char, c_int};

use log::warn;

use super::boundary::ffi_boundary;
use crate::core::channels::{self, ChannelError};
use crate::host::dap::DapSdk;
use crate::host::Sdk;

/// Add a channel: 0 added or already present; -2 list full (255); -3 no channel processor for it.
#[no_mangle]
pub extern "C" fn dap_link_manager_add_active_channel(channel: c_char) -> c_int {
    ffi_boundary!("dap_link_manager_add_active_channel", -2, {
        let id = channel as u8;
        match channels::add(id, DapSdk.channel_registered(id)) {
            Ok(()) => 0,
            Err(ChannelError::NoProcessor) => {
                warn!("[LM-ERROR] code=-3 add_active_channel '{}': no channel processor registered", id as char);
                -3
            }
            Err(_) => {
                warn!("[LM-ERROR] code=-2 add_active_channel '{}': channel list full", id as char);
                -2
            }
        }
    })
}

/// Remove a channel: 0; -2 not present.
#[no_mangle]
pub extern "C" fn dap_link_manager_remove_active_channel(channel: c_char) -> c_int {
    ffi_boundary!("dap_link_manager_remove_active_channel", -2, {
        match channels::remove(channel as u8) {
            Ok(()) => 0,
            Err(_) => {
                warn!("[LM-ERROR] code=-2 remove_active_channel '{}': not present", channel as u8 as char);
                -2
            }
        }
    })
}

/// The current channel list (NUL-terminated, never NULL; valid until the next change, and kept
/// readable until process exit).
#[no_mangle]
pub extern "C" fn dap_link_manager_get_active_channels() -> *const c_char {
    ffi_boundary!("dap_link_manager_get_active_channels", c"".as_ptr(), { channels::current_c() })
}
