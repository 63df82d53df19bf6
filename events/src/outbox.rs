//! Messages to citizens (confirmation, change, cancellation, reminder) and their delivery.
//!
//! Which messages exist follows from the booking events; how far each got is its own stream
//! `message-<id>`: a sender first claims it (`DeliveryStarted`, expected at the version it saw,
//! so one server wins), then records `MessageSent` or `DeliveryFailed` with the time to retry.
//! A claim whose sender died expires after its lease and is taken again: at least once, with a
//! stable message id so a duplicate can be recognised.

use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::event::{decode, encode, DecodeError, Expectation, NewEvent, RecordedEvent};

pub const SCHEMA: i32 = 1;
/// After this many failed attempts a message is given up (and shown to admins).
pub const MAX_ATTEMPTS: u32 = 8;

pub fn stream(id: &str) -> String {
    format!("message-{id}")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Confirmation,
    Change,
    Cancellation,
    Reminder,
    /// A walk-in ticket is nearly called (SMS to the number its holder left).
    TurnNear,
    /// An application's document is ready for pick-up (mail and SMS, as the citizen left).
    CaseReady,
    /// A document collected years ago expires soon: apply for a new one (mail and SMS).
    Renewal,
    /// An appointment booked long ahead: please confirm again (mail).
    Reconfirmation,
    /// Not confirmed again in time: the appointment was released (mail).
    Released,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum MessageEvent {
    DeliveryStarted {
        attempt: u32,
        at: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    },
    MessageSent {
        at: DateTime<Utc>,
    },
    /// `retry_at` is `None` when the message is given up.
    DeliveryFailed {
        attempt: u32,
        at: DateTime<Utc>,
        error: String,
        retry_at: Option<DateTime<Utc>>,
    },
}

/// How far one message got.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivery {
    pub version: i64,
    pub attempts: u32,
    pub sent: bool,
    pub given_up: bool,
    pub claimed_until: Option<DateTime<Utc>>,
    pub retry_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

impl Delivery {
    pub fn apply(&mut self, e: &RecordedEvent) -> Result<(), DecodeError> {
        self.version = e.version;
        match decode::<MessageEvent>(e)? {
            MessageEvent::DeliveryStarted {
                attempt, lease_until, ..
            } => {
                self.attempts = attempt;
                self.claimed_until = Some(lease_until);
            }
            MessageEvent::MessageSent { .. } => {
                self.sent = true;
                self.claimed_until = None;
            }
            MessageEvent::DeliveryFailed { error, retry_at, .. } => {
                self.claimed_until = None;
                self.retry_at = retry_at;
                self.given_up = retry_at.is_none();
                self.last_error = Some(error);
            }
        }
        Ok(())
    }

    /// Sent, or given up: nothing more will happen to it.
    pub fn finished(&self) -> bool {
        self.sent || self.given_up
    }

    /// Whether a sender may claim it now: not sent, not given up, no live claim, retry due.
    pub fn may_start(&self, now: DateTime<Utc>) -> bool {
        !self.sent
            && !self.given_up
            && self.claimed_until.is_none_or(|until| until <= now)
            && self.retry_at.is_none_or(|at| at <= now)
    }
}

/// The claim for the next attempt, expected at the version the sender saw.
pub fn start(id: &str, delivery: &Delivery, now: DateTime<Utc>, lease: Duration) -> (NewEvent, Expectation) {
    let event = MessageEvent::DeliveryStarted {
        attempt: delivery.attempts + 1,
        at: now,
        lease_until: now + lease,
    };
    let expectation = if delivery.version == 0 {
        Expectation::NoStream
    } else {
        Expectation::AtVersion(delivery.version)
    };
    (encode(stream(id), SCHEMA, &event), expectation)
}

pub fn sent(id: &str, now: DateTime<Utc>) -> NewEvent {
    encode(stream(id), SCHEMA, &MessageEvent::MessageSent { at: now })
}

/// A failed attempt: retried after 1, 2, 4 … minutes (at most an hour), given up after
/// [`MAX_ATTEMPTS`].
pub fn failed(id: &str, attempt: u32, error: &str, now: DateTime<Utc>) -> NewEvent {
    let retry_at = (attempt < MAX_ATTEMPTS).then(|| now + backoff(attempt));
    let event = MessageEvent::DeliveryFailed {
        attempt,
        at: now,
        error: error.chars().take(300).collect(),
        retry_at,
    };
    encode(stream(id), SCHEMA, &event)
}

pub fn backoff(attempt: u32) -> Duration {
    let minutes = 1i64 << attempt.saturating_sub(1).min(6);
    Duration::minutes(minutes.min(60))
}

/// When to remind: `hours` before the appointment, counted on the local clock for whole days
/// (24 h before 10:00 is 10:00 the day before, also across a DST change), the rest in real hours.
pub fn reminder_due<Tz: TimeZone>(start: DateTime<Utc>, hours: u32, tz: &Tz) -> DateTime<Utc> {
    let local: NaiveDateTime = start.with_timezone(tz).naive_local();
    let days = i64::from(hours / 24);
    let rest = Duration::hours(i64::from(hours % 24));
    let day_before = local - Duration::days(days);
    let at_day_before = tz
        .from_local_datetime(&day_before)
        .earliest()
        // That clock time does not exist that day (spring forward): an hour later does.
        .or_else(|| tz.from_local_datetime(&(day_before + Duration::hours(1))).earliest())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(start - Duration::days(days));
    at_day_before - rest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorded(events: &[NewEvent]) -> Vec<RecordedEvent> {
        events
            .iter()
            .enumerate()
            .map(|(i, e)| e.recorded(i as i64 + 1, i as i64 + 1, Utc::now()))
            .collect()
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_delivery_is_claimed_once_retried_with_backoff_and_given_up() {
        let now = at("2026-12-01T08:00:00Z");
        let mut d = Delivery::default();
        assert!(d.may_start(now));
        let (claim, expectation) = start("m1", &d, now, Duration::minutes(2));
        assert_eq!(expectation, Expectation::NoStream);
        for e in recorded(&[claim]) {
            d.apply(&e).unwrap();
        }
        assert!(!d.may_start(now + Duration::seconds(30)), "claimed");
        assert!(
            d.may_start(now + Duration::minutes(2)),
            "the lease ran out: the sender died"
        );
        let mut history = vec![start("m1", &Delivery::default(), now, Duration::minutes(2)).0];
        history.push(failed("m1", 1, "connection refused", now));
        let mut d = Delivery::default();
        for e in recorded(&history) {
            d.apply(&e).unwrap();
        }
        assert!(!d.may_start(now + Duration::seconds(59)));
        assert!(d.may_start(now + Duration::minutes(1)));
        assert_eq!(start("m1", &d, now, Duration::minutes(2)).1, Expectation::AtVersion(2));
        assert_eq!(
            (backoff(1), backoff(3), backoff(8)),
            (Duration::minutes(1), Duration::minutes(4), Duration::minutes(60))
        );
        let last = recorded(&[failed("m1", MAX_ATTEMPTS, "still refused", now)]);
        d.apply(&last[0]).unwrap();
        assert!(d.given_up && !d.may_start(now + Duration::days(1)));
        let mut done = Delivery::default();
        done.apply(&recorded(&[sent("m1", now)])[0]).unwrap();
        assert!(done.sent && !done.may_start(now + Duration::days(1)));
    }

    #[test]
    fn reminders_keep_the_local_time_across_dst() {
        let berlin = chrono_tz::Europe::Berlin;
        // Monday 30 March 2026, 10:00 CEST (08:00 UTC); the clocks went forward on Sunday.
        let start = at("2026-03-30T08:00:00Z");
        assert_eq!(
            reminder_due(start, 24, &berlin),
            at("2026-03-29T08:00:00Z"),
            "10:00 CEST"
        );
        // Monday 26 October 2026, 10:00 CET (09:00 UTC); the clocks went back on Sunday.
        let start = at("2026-10-26T09:00:00Z");
        assert_eq!(
            reminder_due(start, 24, &berlin),
            at("2026-10-25T09:00:00Z"),
            "10:00 CET"
        );
        // Sunday 29 March 10:00 CEST, 48 h before: Friday 10:00 CET.
        let start = at("2026-03-29T08:00:00Z");
        assert_eq!(reminder_due(start, 48, &berlin), at("2026-03-27T09:00:00Z"));
        // Hours beyond whole days are real hours.
        let start = at("2026-12-02T09:00:00Z");
        assert_eq!(reminder_due(start, 26, &berlin), at("2026-12-01T07:00:00Z"));
        // 02:30 on 29 March does not exist: an hour later does.
        let start = at("2026-03-30T00:30:00Z"); // 02:30 CEST on Monday
        assert_eq!(
            reminder_due(start, 24, &berlin),
            at("2026-03-29T01:30:00Z"),
            "03:30 CEST"
        );
    }
}
