//! The time the background jobs act on. Production reads the system clock; a test moves a clock
//! forward by hand to let an hour pass in a second (retries, overdue flags, expiry) while
//! everything else stays real.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// Milliseconds added to the system clock; `None` for the plain system clock.
    ahead: Option<Arc<AtomicI64>>,
}

impl Clock {
    pub fn system() -> Clock {
        Clock::default()
    }

    /// A clock that runs with the system clock until its hand moves it forward.
    pub fn with_hand() -> (Clock, ClockHand) {
        let ahead = Arc::new(AtomicI64::new(0));
        (
            Clock {
                ahead: Some(ahead.clone()),
            },
            ClockHand(ahead),
        )
    }

    pub fn now(&self) -> DateTime<Utc> {
        let ahead = self.ahead.as_ref().map_or(0, |a| a.load(Ordering::Relaxed));
        Utc::now() + Duration::milliseconds(ahead)
    }
}

/// Moves a [`Clock::with_hand`] forward; it never goes back, as real time does not.
#[derive(Debug, Clone)]
pub struct ClockHand(Arc<AtomicI64>);

impl ClockHand {
    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(by.num_milliseconds().max(0), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hand_moves_its_clock_forward_only() {
        let (clock, hand) = Clock::with_hand();
        let before = clock.now();
        hand.advance(Duration::hours(1));
        hand.advance(Duration::hours(-5));
        let after = clock.now();
        assert!(after - before >= Duration::hours(1), "{before} → {after}");
        assert!(
            after - before < Duration::hours(1) + Duration::seconds(5),
            "{before} → {after}"
        );
        assert!((Clock::system().now() - Utc::now()).num_seconds().abs() < 5);
    }
}
