//! Keeping bots and slot traders from the appointments citizens need: request limits per client
//! address and per email, and a cooling-off after a cancellation so the same client cannot
//! cancel and re-grab a slot to hold it. On by default; `SCHALTER_ABUSE_PROTECTION=off` turns it
//! off for load tests and trusted networks. Limits are per server process.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use chrono::{DateTime, Utc};

use crate::http::error::ApiError;

/// A limit: at most `count` requests per `window`.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub count: u32,
    pub window: Duration,
}

const fn per(count: u32, seconds: u64) -> Limit {
    Limit {
        count,
        window: Duration::from_secs(seconds),
    }
}

/// Bookings from one address: a family or a clerk booking for others stays far below this.
pub const BOOK_PER_IP: Limit = per(20, 3600);
/// Booking attempts for one email address.
pub const BOOK_PER_EMAIL: Limit = per(6, 3600);
pub const CHANGE_PER_IP: Limit = per(30, 3600);
pub const AVAILABILITY_PER_IP: Limit = per(300, 60);
pub const LOGIN_PER_ACCOUNT: Limit = per(10, 900);
/// Mistyped check-in numbers one kiosk (or clerk) may enter: enough for clumsy fingers, far
/// too few to guess one of the day's numbers (only misses count).
pub const CHECK_IN_NUMBER_MISSES: Limit = per(10, 600);
/// A cancelled slot stays out of reach of whoever cancelled it for this long.
pub const COOLING_OFF: Duration = Duration::from_secs(15 * 60);

pub struct Abuse {
    enabled: bool,
    windows: Mutex<HashMap<String, (Instant, u32)>>,
    cooling: Mutex<HashMap<(DateTime<Utc>, String), Instant>>,
    spent: Mutex<HashMap<String, Instant>>,
}

impl Abuse {
    pub fn new(enabled: bool) -> Abuse {
        Abuse {
            enabled,
            windows: Mutex::default(),
            cooling: Mutex::default(),
            spent: Mutex::default(),
        }
    }

    /// Counts one request for `key`; 429 with the seconds to wait once over the limit.
    pub fn check(&self, key: &str, limit: Limit) -> Result<(), ApiError> {
        if !self.enabled {
            return Ok(());
        }
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() > 50_000 {
            windows.retain(|_, (start, _)| now.duration_since(*start) < Duration::from_secs(3600));
        }
        let (start, count) = windows.entry(key.to_owned()).or_insert((now, 0));
        if now.duration_since(*start) >= limit.window {
            *start = now;
            *count = 0;
        }
        if *count >= limit.count {
            let retry_after = limit.window.saturating_sub(now.duration_since(*start)).as_secs().max(1);
            return Err(ApiError::RateLimited { retry_after });
        }
        *count += 1;
        Ok(())
    }

    /// Remembers who cancelled the slot at `start`.
    /// 429 if `key` has used up `limit` in its current window, without counting a request:
    /// for limits that count only failures.
    pub fn exhausted(&self, key: &str, limit: Limit) -> Result<(), ApiError> {
        if !self.enabled {
            return Ok(());
        }
        let now = Instant::now();
        let windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        match windows.get(key) {
            Some((start, count)) if now.duration_since(*start) < limit.window && *count >= limit.count => {
                let retry_after = limit.window.saturating_sub(now.duration_since(*start)).as_secs().max(1);
                Err(ApiError::RateLimited { retry_after })
            }
            _ => Ok(()),
        }
    }

    pub fn cancelled(&self, start: DateTime<Utc>, who: &[String]) {
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        let mut cooling = self.cooling.lock().unwrap_or_else(|e| e.into_inner());
        cooling.retain(|_, at| now.duration_since(*at) < COOLING_OFF);
        for w in who {
            cooling.insert((start, w.clone()), now);
        }
    }

    /// 409 `cooling_off` if one of `who` cancelled the slot at `start` a moment ago.
    pub fn may_book(&self, start: DateTime<Utc>, who: &[String]) -> Result<(), ApiError> {
        if !self.enabled {
            return Ok(());
        }
        let now = Instant::now();
        let cooling = self.cooling.lock().unwrap_or_else(|e| e.into_inner());
        let recent = who.iter().any(|w| {
            cooling
                .get(&(start, w.clone()))
                .is_some_and(|at| now.duration_since(*at) < COOLING_OFF)
        });
        if recent {
            return Err(ApiError::Conflict {
                code: "cooling_off",
                message: "this time was just cancelled from here; it is open to others first, please choose another"
                    .into(),
            });
        }
        Ok(())
    }
}

/// The client's address: the peer, or behind a reverse proxy on this host or network the
/// address the proxy appended to `X-Forwarded-For`.
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let local_proxy = is_local_proxy(peer);
        let forwarded = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse::<IpAddr>().ok());
        Ok(ClientIp(match (local_proxy, forwarded) {
            (true, Some(ip)) => ip,
            _ => peer,
        }))
    }
}

/// A peer that may be a reverse proxy in front of Schalter (this machine, a private network):
/// it speaks for many clients, so its `X-Forwarded-For` is believed and it has no
/// per-address connection cap.
pub fn is_local_proxy(peer: IpAddr) -> bool {
    match peer {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_private(),
        IpAddr::V6(v6) => v6.is_loopback(),
    }
}

/// Proof of work on booking: the browser spends a fraction of a second hashing, invisibly; a
/// script booking thousands of slots spends that for every one. No third party, no puzzle.
pub mod work {
    use chrono::{DateTime, Duration, Utc};

    /// Leading zero bits required: about 65,000 hashes, 0.05–0.3 s in a phone's browser.
    pub const DIFFICULTY: u32 = 16;
    pub const VALID_FOR: Duration = Duration::minutes(10);

    #[derive(Debug, PartialEq, Eq)]
    pub enum ProofError {
        Malformed,
        Expired,
        TooLittleWork,
    }

    /// `<unix seconds>.<random>.<mac>`: the server keeps no state until the proof comes back.
    pub fn challenge(now: DateTime<Utc>, random: &str, mac: impl Fn(&str) -> String) -> String {
        let body = format!("{}.{random}", now.timestamp());
        format!("{body}.{}", mac(&body))
    }

    pub use schalter_events::work::leading_zero_bits;

    pub fn verify(
        challenge: &str,
        nonce: u64,
        now: DateTime<Utc>,
        mac: impl Fn(&str) -> String,
    ) -> Result<DateTime<Utc>, ProofError> {
        let (body, tag) = challenge.rsplit_once('.').ok_or(ProofError::Malformed)?;
        if mac(body) != tag {
            return Err(ProofError::Malformed);
        }
        let issued = body
            .split('.')
            .next()
            .and_then(|s| s.parse::<i64>().ok())
            .and_then(|s| DateTime::from_timestamp(s, 0))
            .ok_or(ProofError::Malformed)?;
        if now - issued > VALID_FOR || issued > now + Duration::minutes(1) {
            return Err(ProofError::Expired);
        }
        if leading_zero_bits(challenge, nonce) < DIFFICULTY {
            return Err(ProofError::TooLittleWork);
        }
        Ok(issued)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn mac(body: &str) -> String {
            format!("m{}", body.len())
        }

        #[test]
        fn proofs_are_checked_for_origin_age_and_work() {
            let now = DateTime::parse_from_rfc3339("2026-12-01T08:00:00Z")
                .unwrap()
                .with_timezone(&Utc);
            let c = challenge(now, "abc", mac);
            let nonce = (0..).find(|n| leading_zero_bits(&c, *n) >= DIFFICULTY).unwrap();
            assert!(verify(&c, nonce, now + Duration::minutes(9), mac).is_ok());
            assert_eq!(
                verify(&c, nonce, now + Duration::minutes(11), mac),
                Err(ProofError::Expired)
            );
            let lazy = (0..).find(|n| leading_zero_bits(&c, *n) < 4).unwrap();
            assert_eq!(verify(&c, lazy, now, mac), Err(ProofError::TooLittleWork));
            assert_eq!(
                verify(&c.replace("abc", "abd"), nonce, now, |_| "x".into()),
                Err(ProofError::Malformed)
            );
            assert_eq!(verify("garbage", 1, now, mac), Err(ProofError::Malformed));
        }
    }
}

impl Abuse {
    /// A proof may be used once.
    pub fn spend_proof(&self, challenge: &str) -> Result<(), ApiError> {
        let now = Instant::now();
        let mut spent = self.spent.lock().unwrap_or_else(|e| e.into_inner());
        spent.retain(|_, at| now.duration_since(*at) < Duration::from_secs(15 * 60));
        if spent.insert(challenge.to_owned(), now).is_some() {
            return Err(ApiError::Conflict {
                code: "proof_used",
                message: "this proof was already used; ask for a new challenge".into(),
            });
        }
        Ok(())
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }
}
