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

/// Whether a secret someone sent is the one configured, in a time that does not tell how much
/// of it was right (both are hashed first, then every byte is compared).
pub fn same(configured: &[u8], sent: &[u8]) -> bool {
    let (a, b) = (Sha256::digest(configured), Sha256::digest(sent));
    a.iter().zip(b.iter()).fold(0u8, |differ, (x, y)| differ | (x ^ y)) == 0
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

    #[test]
    fn only_the_same_secret_is_the_same() {
        assert!(same(b"metrics-token", b"metrics-token"));
        assert!(!same(b"metrics-token", b"metrics-tokem"));
        assert!(!same(b"metrics-token", b"metrics-token-and-more"));
        assert!(!same(b"metrics-token", b""));
    }
}
