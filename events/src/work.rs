//! The proof of work a booking carries: shared by the server that checks it, the app that
//! solves it, and the tests.

use sha2::{Digest, Sha256};

/// Leading zero bits of SHA-256(`challenge:nonce`).
pub fn leading_zero_bits(challenge: &str, nonce: u64) -> u32 {
    let digest = Sha256::digest(format!("{challenge}:{nonce}").as_bytes());
    let mut bits = 0;
    for byte in digest {
        if byte == 0 {
            bits += 8;
        } else {
            bits += byte.leading_zeros();
            break;
        }
    }
    bits
}

/// The first nonce that does the work.
pub fn solve(challenge: &str, difficulty: u32) -> u64 {
    (0u64..)
        .find(|n| leading_zero_bits(challenge, *n) >= difficulty)
        .unwrap_or(0)
}
