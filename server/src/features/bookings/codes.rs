//! Booking codes: what the citizen keeps instead of an account. Only their hash is stored.

use crate::engine::secrets::hash;

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// 80 random bits in Crockford base32, grouped for reading aloud: `K7QM-3XZP-9RTA-WB2C`.
pub(super) fn new_code() -> String {
    let random = uuid::Uuid::new_v4().into_bytes();
    // The first 10 bytes of a v4 UUID are random except for 4 version bits in byte 6.
    let mut bits: u128 = 0;
    for (i, b) in random.iter().enumerate().take(11) {
        let b = if i == 6 { b & 0x0f | (random[15] << 4) } else { *b };
        bits = (bits << 8) | u128::from(b);
    }
    let mut code = String::with_capacity(19);
    for i in 0..16 {
        if i > 0 && i % 4 == 0 {
            code.push('-');
        }
        code.push(ALPHABET[((bits >> (5 * i)) & 31) as usize] as char);
    }
    code
}

/// Case, dashes, spaces and the look-alikes O/I/L do not matter when a code is typed in.
pub(super) fn normalise_code(code: &str) -> Option<String> {
    let c: String = code
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        })
        .collect();
    (c.len() == 16 && c.bytes().all(|b| ALPHABET.contains(&b))).then_some(c)
}

pub fn code_hash(code: &str) -> Option<String> {
    normalise_code(code).map(|c| hash("booking-code", &c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_80_bits_and_survive_sloppy_typing() {
        let a = new_code();
        assert_eq!(a.len(), 19);
        assert_eq!(normalise_code(&a).unwrap().len(), 16);
        assert_ne!(a, new_code());
        let sloppy = a.to_lowercase().replace('-', " ").replace('0', "o").replace('1', "l");
        assert_eq!(normalise_code(&sloppy), normalise_code(&a));
        assert_eq!(normalise_code("too-short"), None);
        assert_eq!(normalise_code("UUUU-UUUU-UUUU-UUUU"), None, "U is not in the alphabet");
    }
}
