//! The one place that formats node addresses.

use std::fmt;

/// `XXXX::XXXX::XXXX::XXXX`: the four 16-bit words, most significant (words[3]) first.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct NodeAddr(pub u64);

impl fmt::Display for NodeAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = self.0;
        write!(
            f,
            "{:04X}::{:04X}::{:04X}::{:04X}",
            (a >> 48) & 0xffff,
            (a >> 32) & 0xffff,
            (a >> 16) & 0xffff,
            a & 0xffff
        )
    }
}

impl fmt::Debug for NodeAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::NodeAddr;

    #[test]
    fn formats_words_most_significant_first() {
        assert_eq!(NodeAddr(0x0001_0002_00AB_FFFF).to_string(), "0001::0002::00AB::FFFF");
        assert_eq!(NodeAddr(0).to_string(), "0000::0000::0000::0000");
    }
}
