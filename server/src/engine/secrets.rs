//! Random tokens and the one-way hashes under which they are stored. The database never holds
//! a token that would let its reader act as a citizen, a clerk or a device.

use sha2::{Digest, Sha256};

/// 244 random bits as 64 hex characters (two v4 UUIDs, from the OS's random source).
pub fn new_token() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

/// A short, stable, purpose-separated hash: 128 bits of SHA-256 as hex.
pub fn hash(purpose: &str, value: &str) -> String {
    let digest = Sha256::new()
        .chain_update(purpose)
        .chain_update(b":")
        .chain_update(value)
        .finalize();
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_fresh_and_hashes_depend_on_purpose() {
        assert_ne!(new_token(), new_token());
        assert_eq!(new_token().len(), 64);
        assert_eq!(hash("a", "x"), hash("a", "x"));
        assert_ne!(hash("a", "x"), hash("b", "x"));
        assert_eq!(hash("a", "x").len(), 32);
    }
}
