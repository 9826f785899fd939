//! The process-wide list of active channels (FIX-CHANNELS-GLOBAL): starts as "RCGEND", works before
//! `init`, survives `init`/`deinit`.

use std::ffi::CString;
use std::sync::Mutex;

/// The longest channel list (C kept it in a 256-byte buffer).
pub const MAX_CHANNELS: usize = 255;
pub const DEFAULT_CHANNELS: &str = "RCGEND";

struct Channels {
    current: String,
    /// Every string handed to C stays alive until process exit: "valid until the next change" is the
    /// contract, but a reader on another thread may still hold the previous pointer; changes are rare.
    published: Vec<CString>,
}

static CHANNELS: Mutex<Option<Channels>> = Mutex::new(None);

fn with<R>(f: impl FnOnce(&mut Channels) -> R) -> R {
    let mut g = CHANNELS.lock().unwrap_or_else(|e| e.into_inner());
    let ch = g.get_or_insert_with(|| Channels {
        current: DEFAULT_CHANNELS.to_owned(),
        published: vec![CString::new(DEFAULT_CHANNELS).expect("no NUL")],
    });
    f(ch)
}

/// The result of changing the list, with the original C codes.
#[derive(Debug, PartialEq, Eq)]
pub enum ChannelError {
    /// -2: list full (add) or not present (remove).
    Full,
    NotPresent,
    /// -3: no channel processor is registered for it.
    NoProcessor,
}

/// The current list.
pub fn current() -> String {
    with(|c| c.current.clone())
}

/// The current list as a C string pointer, valid until process exit.
pub fn current_c() -> *const std::ffi::c_char {
    with(|c| c.published.last().expect("never empty").as_ptr())
}

/// Add `id` (no-op if present). `registered` tells whether a channel processor exists for it.
pub fn add(id: u8, registered: bool) -> Result<(), ChannelError> {
    with(|c| {
        if c.current.as_bytes().contains(&id) {
            return Ok(());
        }
        if !registered {
            return Err(ChannelError::NoProcessor);
        }
        if c.current.len() >= MAX_CHANNELS || id == 0 {
            return Err(ChannelError::Full);
        }
        c.current.push(id as char);
        c.published.push(CString::new(c.current.clone()).expect("no NUL"));
        Ok(())
    })
}

pub fn remove(id: u8) -> Result<(), ChannelError> {
    with(|c| {
        let Some(pos) = c.current.as_bytes().iter().position(|b| *b == id) else {
            return Err(ChannelError::NotPresent);
        };
        c.current.remove(pos);
        c.published.push(CString::new(c.current.clone()).expect("no NUL"));
        Ok(())
    })
}
