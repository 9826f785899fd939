//! Uplink host validation for `link_update`, done on the caller's thread (CONTRACT.md §4).

use std::net::{IpAddr, ToSocketAddrs};

/// Why a host is refused by `link_update` (original codes -2 and -6).
#[derive(Debug, PartialEq, Eq)]
pub enum HostError {
    Invalid,
    Unusable,
}

/// Validate an uplink host on the caller's thread (FIX-LOOPBACK: real 127.0.0.0/8, any, broadcast,
/// `::`, `::1` checks; loopback allowed only with `allow_loopback_uplinks`).
pub fn check_host(host: &str, port: u16, allow_loopback: bool) -> Result<(), HostError> {
    // CONTRACT §4: -2 is for a NULL host, port 0 or "::"; anything else that does not resolve
    // (an empty name included) is -6.
    if port == 0 || host == "::" {
        return Err(HostError::Invalid);
    }
    if host.is_empty() {
        return Err(HostError::Unusable);
    }
    let ip = match host.parse::<IpAddr>() {
        Ok(ip) => ip,
        Err(_) => match (host, port).to_socket_addrs().ok().and_then(|mut it| it.next()) {
            Some(sa) => sa.ip(),
            None => return Err(HostError::Unusable),
        },
    };
    let bad = match ip {
        IpAddr::V4(v4) => v4.is_unspecified() || v4.is_broadcast() || (v4.is_loopback() && !allow_loopback),
        IpAddr::V6(v6) => {
            v6.is_unspecified()
                || (v6.is_loopback() && !allow_loopback)
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|v4| v4.is_unspecified() || v4.is_broadcast() || (v4.is_loopback() && !allow_loopback))
        }
    };
    if bad {
        Err(HostError::Unusable)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_checks_mean_what_they_say() {
        assert_eq!(check_host("", 80, false), Err(HostError::Unusable));
        assert_eq!(check_host("1.2.3.4", 0, false), Err(HostError::Invalid));
        assert_eq!(check_host("::", 80, false), Err(HostError::Invalid));
        assert_eq!(check_host("127.0.0.1", 80, false), Err(HostError::Unusable));
        assert_eq!(check_host("127.8.9.10", 80, false), Err(HostError::Unusable));
        assert_eq!(check_host("1.0.0.127", 80, false), Ok(()));
        assert_eq!(check_host("0.0.0.0", 80, false), Err(HostError::Unusable));
        assert_eq!(check_host("255.255.255.255", 80, false), Err(HostError::Unusable));
        assert_eq!(check_host("::1", 80, false), Err(HostError::Unusable));
        assert_eq!(check_host("127.0.0.1", 80, true), Ok(()));
        assert_eq!(check_host("0.0.0.0", 80, true), Err(HostError::Unusable));
        assert_eq!(check_host("no-such-host.invalid", 80, false), Err(HostError::Unusable));
    }
}
