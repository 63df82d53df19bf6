//! Booking codes: what the citizen keeps instead of an account. Only their hash is stored.
//! Here rather than in the bookings feature because the outbox (a job) needs them too.

use crate::engine::secrets::hash;

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// 80 random bits in Crockford base32, grouped for reading aloud: `K7QM-3XZP-9RTA-WB2C`.
pub(crate) fn new_code() -> String {
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
pub(crate) fn normalise_code(code: &str) -> Option<String> {
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

/// A case's tracking code has the booking code's form and its own hash: one code never opens
/// the other kind of record.
pub fn case_hash(code: &str) -> Option<String> {
    normalise_code(code).map(|c| hash("case-code", &c))
}

/// The short number (five digits) a citizen types at the kiosk instead of the code, on the
/// appointment's day: derived from the code's hash, so only someone who holds the code learns
/// it and nothing more is stored. It identifies a booking only among the few due at that office
/// within the check-in window (`features::queue` resolves it there).
pub fn check_in_number(code_hash: &str) -> String {
    let digest = hash("check-in-number", code_hash);
    let n = u64::from_str_radix(&digest[..12], 16).unwrap_or(0) % 100_000;
    format!("{n:05}")
}

/// The check-in number in what was typed at the kiosk (spaces do not matter), or None when it
/// is no check-in number (a booking code, say): the twin of [`normalise_code`].
pub fn normalise_check_in_number(input: &str) -> Option<String> {
    let digits: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    (digits.len() == 5 && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
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

    #[test]
    fn check_in_numbers_are_five_digits_of_the_code() {
        let hash = code_hash(&new_code()).unwrap();
        let n = check_in_number(&hash);
        assert_eq!(n.len(), 5);
        assert_eq!(normalise_check_in_number(&n), Some(n.clone()));
        assert_eq!(n, check_in_number(&hash), "the same every time");
        assert_eq!(normalise_check_in_number(" 012 34 "), Some("01234".into()));
        assert_eq!(normalise_check_in_number("1234"), None);
        assert_eq!(normalise_check_in_number("K7QM-3XZP-9RTA-WB2C"), None);
        // Spread: 2,000 codes give far more than 1,900 different numbers.
        let distinct: std::collections::HashSet<String> = (0..2000)
            .map(|_| check_in_number(&code_hash(&new_code()).unwrap()))
            .collect();
        assert!(distinct.len() > 1_900, "{}", distinct.len());
    }
}
