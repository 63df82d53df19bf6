//! Renewal reminders (R5.5): when a citizen collects a new identity card or passport, they may
//! leave its expiry date and an address; some weeks before it expires (as the office set for
//! the kind of document) they are reminded to apply for a new one, with a booking link. The
//! address is sealed like a booking's and its key destroyed once the reminder went out, or
//! earlier when the citizen asks.
//!
//! A reminder belongs to the application it was left at: its stream is named by the same
//! tracking-code hash, so the code that shows the application also withdraws the reminder.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::booking::Personal;
use crate::case::{Case, Step};
use crate::catalogue::CaseKind;
use crate::event::{decode, encode, Decision, DecodeError, Expectation, NewEvent, RecordedEvent};

pub const SCHEMA: i32 = 1;

pub fn stream(tracking_hash: &str) -> String {
    format!("renewal-{tracking_hash}")
}

/// The furthest expiry accepted: a driving licence card is valid for fifteen years.
pub const MAX_DAYS_AHEAD: i64 = 15 * 366;
/// A reminder goes out at this hour of the office's day, not at midnight.
pub const SEND_HOUR: u32 = 9;
/// How late a reminder may still go (a mail server down for days); after that it is dropped
/// and the address erased all the same.
pub const VALID_DAYS: i64 = 14;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum RenewalEvent {
    ReminderRequested {
        kind: String,
        location: String,
        expires_on: NaiveDate,
        /// The office's local day the reminder is due: `expires_on` less the kind's weeks.
        remind_on: NaiveDate,
        /// Email address or mobile number, sealed.
        contact: Personal,
        language: String,
        at: DateTime<Utc>,
    },
    /// The citizen withdrew the reminder; the address's key was destroyed first.
    ReminderCancelled { at: DateTime<Utc> },
    /// The reminder went out, or its time passed: the address's key is destroyed.
    ContactErased { at: DateTime<Utc> },
}

impl RenewalEvent {
    fn to_new_event(&self, tracking_hash: &str) -> NewEvent {
        encode(stream(tracking_hash), SCHEMA, self)
    }
}

/// A renewal reminder as its stream tells it: the last one requested.
#[derive(Debug, Clone, PartialEq)]
pub struct Renewal {
    pub version: i64,
    pub kind: String,
    pub location: String,
    pub expires_on: NaiveDate,
    pub remind_on: NaiveDate,
    pub contact: Personal,
    pub language: String,
    /// Requested and neither withdrawn nor done: the reminder is still to go.
    pub active: bool,
}

impl Renewal {
    pub fn fold(events: &[RecordedEvent]) -> Result<Option<Renewal>, DecodeError> {
        let mut renewal = None;
        for e in events {
            Renewal::apply(&mut renewal, e)?;
        }
        Ok(renewal)
    }

    pub fn apply(renewal: &mut Option<Renewal>, e: &RecordedEvent) -> Result<(), DecodeError> {
        match (decode(e)?, renewal.as_mut()) {
            (
                RenewalEvent::ReminderRequested {
                    kind,
                    location,
                    expires_on,
                    remind_on,
                    contact,
                    language,
                    ..
                },
                _,
            ) => {
                *renewal = Some(Renewal {
                    version: e.version,
                    kind,
                    location,
                    expires_on,
                    remind_on,
                    contact,
                    language,
                    active: true,
                })
            }
            (RenewalEvent::ReminderCancelled { .. } | RenewalEvent::ContactErased { .. }, Some(r)) => {
                r.active = false;
                r.version = e.version;
            }
            (_, None) => {}
        }
        Ok(())
    }

    /// When the reminder is due: [`SEND_HOUR`] o'clock on its day at the office.
    pub fn due(&self, tz: &impl TimeZone) -> DateTime<Utc> {
        due(self.remind_on, tz)
    }

    /// Still holding an address whose reminder can no longer go out at `now`.
    pub fn lapsed(&self, now: DateTime<Utc>, tz: &impl TimeZone) -> bool {
        self.active && now >= self.due(tz) + Duration::days(VALID_DAYS)
    }
}

/// [`SEND_HOUR`] o'clock on `day` in `tz` (the hour after, on the one spring day it is skipped).
pub fn due(day: NaiveDate, tz: &impl TimeZone) -> DateTime<Utc> {
    let local = day.and_hms_opt(SEND_HOUR, 0, 0).expect("a valid hour");
    tz.from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| local.and_utc() + Duration::hours(1))
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RenewalError {
    #[error("no renewal reminder is offered for this kind of document")]
    NotOffered,
    #[error("a reminder is left when the document is ready or collected, not while it is {0:?}")]
    NotCollected(Step),
    #[error("the document expires within {0} weeks: apply for a new one now")]
    ExpiresTooSoon(u32),
    #[error("the expiry date is more than 15 years ahead")]
    ExpiresTooFar,
    #[error("a reminder for this document is already set; withdraw it first to change it")]
    AlreadyRequested,
}

/// A citizen asks to be reminded before the document of `case` expires.
pub struct Request<'a> {
    pub tracking_hash: &'a str,
    pub case: &'a Case,
    pub kind: &'a CaseKind,
    /// The reminder left earlier for this document, if any.
    pub existing: Option<&'a Renewal>,
    pub expires_on: NaiveDate,
    /// The office's local date.
    pub today: NaiveDate,
    pub contact: Personal,
    pub language: &'a str,
    pub now: DateTime<Utc>,
}

pub fn request(r: Request<'_>) -> Result<Decision, RenewalError> {
    if r.kind.remind_weeks == 0 {
        return Err(RenewalError::NotOffered);
    }
    if !matches!(r.case.step, Step::Ready | Step::PickedUp) {
        return Err(RenewalError::NotCollected(r.case.step));
    }
    if r.existing.is_some_and(|e| e.active) {
        return Err(RenewalError::AlreadyRequested);
    }
    let remind_on = r.expires_on - Duration::weeks(r.kind.remind_weeks.into());
    if remind_on <= r.today {
        return Err(RenewalError::ExpiresTooSoon(r.kind.remind_weeks));
    }
    if r.expires_on > r.today + Duration::days(MAX_DAYS_AHEAD) {
        return Err(RenewalError::ExpiresTooFar);
    }
    let event = RenewalEvent::ReminderRequested {
        kind: r.case.kind.clone(),
        location: r.case.location.clone(),
        expires_on: r.expires_on,
        remind_on,
        contact: r.contact,
        language: if r.language == "en" { "en" } else { "de" }.to_owned(),
        at: r.now,
    };
    let expectation = match r.existing {
        Some(e) => Expectation::AtVersion(e.version),
        None => Expectation::NoStream,
    };
    Ok(Decision::expecting(event.to_new_event(r.tracking_hash), expectation))
}

/// The citizen withdraws the reminder; nothing when none is set (withdrawing twice is fine).
/// The caller destroys the address's key first.
pub fn cancel(renewal: &Renewal, tracking_hash: &str, now: DateTime<Utc>) -> Option<Decision> {
    renewal.active.then(|| {
        Decision::expecting(
            RenewalEvent::ReminderCancelled { at: now }.to_new_event(tracking_hash),
            Expectation::AtVersion(renewal.version),
        )
    })
}

/// The reminder went out (or lapsed): the address is erased. The caller destroys its key first.
pub fn erase(renewal: &Renewal, tracking_hash: &str, now: DateTime<Utc>) -> Option<Decision> {
    renewal.active.then(|| {
        Decision::expecting(
            RenewalEvent::ContactErased { at: now }.to_new_event(tracking_hash),
            Expectation::AtVersion(renewal.version),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::booking::Contact;

    fn now() -> DateTime<Utc> {
        "2026-12-01T10:00:00Z".parse().unwrap()
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn case(step: Step) -> Case {
        Case {
            version: 3,
            kind: "personalausweis".into(),
            location: "buergerbuero".into(),
            reference: None,
            contact: None,
            language: "de".into(),
            expected_ready: day("2026-12-20"),
            step,
            history: vec![(step, now())],
            erased: false,
        }
    }

    fn kind(remind_weeks: u32) -> CaseKind {
        CaseKind {
            id: "personalausweis".into(),
            name: crate::catalogue::Text::new("Personalausweis", "Identity card"),
            remind_weeks,
        }
    }

    fn contact() -> Personal {
        Personal::Plain(Contact {
            name: String::new(),
            email: "erika@example.org".into(),
            phone: None,
        })
    }

    fn ask(case: &Case, kind: &CaseKind, existing: Option<&Renewal>, expires: &str) -> Result<Decision, RenewalError> {
        request(Request {
            tracking_hash: "h",
            case,
            kind,
            existing,
            expires_on: day(expires),
            today: day("2026-12-01"),
            contact: contact(),
            language: "en",
            now: now(),
        })
    }

    fn recorded(events: &[NewEvent]) -> Vec<RecordedEvent> {
        (1..).zip(events).map(|(i, e)| e.recorded(i, i, now())).collect()
    }

    #[test]
    fn a_reminder_is_left_for_a_document_in_hand_and_falls_due_weeks_before_it_expires() {
        let decision = ask(&case(Step::PickedUp), &kind(8), None, "2036-11-30").unwrap();
        assert_eq!(decision.expectations, vec![(stream("h"), Expectation::NoStream)]);
        let renewal = Renewal::fold(&recorded(&decision.events)).unwrap().unwrap();
        assert_eq!(renewal.remind_on, day("2036-10-05"), "eight weeks before");
        assert_eq!((renewal.active, renewal.language.as_str()), (true, "en"));
        assert_eq!(
            renewal.due(&chrono_tz::Europe::Berlin),
            "2036-10-05T07:00:00Z".parse::<DateTime<Utc>>().unwrap(),
            "09:00 at the office in summer time"
        );
        // Ready at the counter counts too: the citizen is there to collect it.
        assert!(ask(&case(Step::Ready), &kind(8), None, "2036-11-30").is_ok());
    }

    #[test]
    fn refused_reminders() {
        let table: &[(Step, u32, &str, RenewalError)] = &[
            (Step::PickedUp, 0, "2036-11-30", RenewalError::NotOffered),
            (
                Step::Received,
                8,
                "2036-11-30",
                RenewalError::NotCollected(Step::Received),
            ),
            (
                Step::InProduction,
                8,
                "2036-11-30",
                RenewalError::NotCollected(Step::InProduction),
            ),
            (
                Step::Withdrawn,
                8,
                "2036-11-30",
                RenewalError::NotCollected(Step::Withdrawn),
            ),
            // The reminder's day must lie after today.
            (Step::PickedUp, 8, "2027-01-26", RenewalError::ExpiresTooSoon(8)),
            (Step::PickedUp, 8, "2026-11-01", RenewalError::ExpiresTooSoon(8)),
            (Step::PickedUp, 8, "2042-12-31", RenewalError::ExpiresTooFar),
        ];
        for (step, weeks, expires, error) in table {
            assert_eq!(
                ask(&case(*step), &kind(*weeks), None, expires).unwrap_err(),
                *error,
                "{step:?} {weeks} {expires}"
            );
        }
        // The first day that leaves a reminder day after today.
        assert!(ask(&case(Step::PickedUp), &kind(8), None, "2027-01-27").is_ok());
    }

    #[test]
    fn a_reminder_is_withdrawn_or_erased_once_and_may_then_be_left_again() {
        let first = ask(&case(Step::PickedUp), &kind(8), None, "2036-11-30").unwrap();
        let mut events = first.events.clone();
        let renewal = Renewal::fold(&recorded(&events)).unwrap().unwrap();
        assert_eq!(
            ask(&case(Step::PickedUp), &kind(8), Some(&renewal), "2036-11-30").unwrap_err(),
            RenewalError::AlreadyRequested
        );
        let cancelled = cancel(&renewal, "h", now()).unwrap();
        assert_eq!(cancelled.expectations, vec![(stream("h"), Expectation::AtVersion(1))]);
        events.extend(cancelled.events);
        let renewal = Renewal::fold(&recorded(&events)).unwrap().unwrap();
        assert!(!renewal.active);
        assert!(
            cancel(&renewal, "h", now()).is_none(),
            "withdrawn twice records nothing"
        );
        assert!(erase(&renewal, "h", now()).is_none());
        let again = ask(&case(Step::PickedUp), &kind(8), Some(&renewal), "2036-12-31").unwrap();
        assert_eq!(again.expectations, vec![(stream("h"), Expectation::AtVersion(2))]);
        events.extend(again.events);
        let renewal = Renewal::fold(&recorded(&events)).unwrap().unwrap();
        assert!(renewal.active);
        assert!(matches!(
            decode::<RenewalEvent>(&recorded(&erase(&renewal, "h", now()).unwrap().events)[0]).unwrap(),
            RenewalEvent::ContactErased { .. }
        ));
    }

    #[test]
    fn a_reminder_lapses_two_weeks_after_its_day() {
        let renewal = Renewal::fold(&recorded(
            &ask(&case(Step::PickedUp), &kind(8), None, "2036-11-30").unwrap().events,
        ))
        .unwrap()
        .unwrap();
        let tz = chrono_tz::Europe::Berlin;
        let due = renewal.due(&tz);
        assert!(!renewal.lapsed(due + Duration::days(VALID_DAYS) - Duration::seconds(1), &tz));
        assert!(renewal.lapsed(due + Duration::days(VALID_DAYS), &tz));
    }
}
