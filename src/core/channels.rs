//! The process-wide list of active channels (FIX-CHANNELS-GLOBAL): starts as "RCGEND", works before
//! `init`, survives `init`/`deinit`.

use std::ffi::CString;
use std::sync::Mutex;

/// The longest channel list (C kept it in a 256-byte buffer).
pub const MAX_CHANNELS: usize = 255;
pub const DEFAULT_CHANNELS: &str = "RCGEND";

struct Channels {
    current: Vec<u8>,
    /// Every string handed to C stays alive until process exit: "valid until the next change" is the
    /// contract, but a reader on another thread may still hold the previous pointer; changes are rare.
    published: Vec<CString>,
}

static CHANNELS: Mutex<Option<Channels>> = Mutex::new(None);

fn with<R>(f: impl FnOnce(&mut Channels) -> R) -> R {
    let mut g = CHANNELS.lock().unwrap_or_else(|e| e.into_inner());
    let ch = g.get_or_insert_with(|| Channels {
        current: DEFAULT_CHANNELS.as_bytes().to_vec(),
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
    with(|c| String::from_utf8_lossy(&c.current).into_owned())
}

/// The current list as a C string pointer, valid until process exit.
pub fn current_c() -> *const std::ffi::c_char {
    with(|c| c.published.last().expect("never empty").as_ptr())
}

/// Add `id` (no-op if present). `registered` tells whether a channel processor exists for it.
pub fn add(id: u8, registered: bool) -> Result<(), ChannelError> {
    with(|c| {
        if c.current.contains(&id) {
            return Ok(());
        }
        if !registered {
            return Err(ChannelError::NoProcessor);
        }
        if c.current.len() >= MAX_CHANNELS || id == 0 {
            return Err(ChannelError::Full);
        }
        c.current.push(id);
        c.published.push(CString::new(c.current.clone()).expect("no NUL"));
        Ok(())
    })
}

pub fn remove(id: u8) -> Result<(), ChannelError> {
    with(|c| {
        let Some(pos) = c.current.iter().position(|b| *b == id) else {
            return Err(ChannelError::NotPresent);
        };
        c.current.remove(pos);
        c.published.push(CString::new(c.current.clone()).expect("no NUL"));
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // One test: the list is process-wide state.
    #[test]
    fn channel_list_rules() {
        assert_eq!(current(), DEFAULT_CHANNELS);
        assert_eq!(add(b'R', true), Ok(()), "already present is fine");
        assert_eq!(add(b'X', false), Err(ChannelError::NoProcessor));
        assert_eq!(add(b'X', true), Ok(()));
        assert_eq!(current(), "RCGENDX");
        // SAFETY: current_c returns a NUL-terminated string kept alive for the process.
        let c = unsafe { std::ffi::CStr::from_ptr(current_c()) };
        assert_eq!(c.to_str(), Ok("RCGENDX"));
        assert_eq!(remove(b'X'), Ok(()));
        assert_eq!(remove(b'X'), Err(ChannelError::NotPresent));
        for id in 1..=255u8 {
            let _ = add(id, true);
        }
        // SAFETY: as above.
        let bytes = unsafe { std::ffi::CStr::from_ptr(current_c()) }.to_bytes().len();
        assert_eq!(bytes, MAX_CHANNELS, "the list fills up to 255 channels and stops");
        assert_eq!(add(b'a', true), Ok(()), "present: fine even when full");
        assert_eq!(remove(0xFF), Ok(()));
        assert_eq!(add(0xFF, true), Ok(()));
        assert_eq!(remove(b'X'), Ok(()), "X was added again by the loop");
        assert_eq!(add(b'X', true), Ok(()));
    }
}
