//! The day's queue at a location: walk-in tickets, checked-in appointments, calling, serving.
//!
//! Streams (see docs/decisions.md):
//! - `numbers-<location>-<YYYYMMDD>-<prefix>`: one `TicketIssued` per ticket, appended without
//!   expectation. The ticket's number IS the stream version the store assigns, so numbers are
//!   unique and gap-free per prefix and day without any retry, however many kiosks print at once.
//! - `ticket-<location>-<YYYYMMDD>-<prefix><number>`: the ticket's life after issue (called,
//!   started, finished, …), each step expected at the version it was decided on, so two counters
//!   can never call the same ticket.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::booking::Personal;
use crate::event::{encode, Decision, Expectation};

pub const SCHEMA: i32 = 1;

pub fn numbers_stream(location: &str, day: NaiveDate, prefix: &str) -> String {
    format!("numbers-{location}-{}-{prefix}", day.format("%Y%m%d"))
}

pub fn ticket_stream(location: &str, day: NaiveDate, label: &str) -> String {
    format!("ticket-{}", ticket_id(location, day, label))
}

/// A ticket's public id: `<location>-<YYYYMMDD>-<label>`, e.g. `buergerbuero-20261202-A-001`;
/// its stream is `ticket-<id>`.
pub fn ticket_id(location: &str, day: NaiveDate, label: &str) -> String {
    format!("{location}-{}-{label}", day.format("%Y%m%d"))
}

/// The inverse of [`numbers_stream`]: (location, day, prefix).
pub fn parse_numbers_stream(stream: &str) -> Option<(&str, NaiveDate, &str)> {
    let mut parts = stream.strip_prefix("numbers-")?.rsplitn(3, '-');
    let (prefix, day, location) = (parts.next()?, parts.next()?, parts.next()?);
    Some((location, NaiveDate::parse_from_str(day, "%Y%m%d").ok()?, prefix))
}

/// The inverse of [`ticket_id`]: (location, day, label).
pub fn parse_ticket_id(id: &str) -> Option<(String, NaiveDate, String)> {
    let mut parts = id.rsplitn(4, '-');
    let (number, prefix, day, location) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let day = NaiveDate::parse_from_str(day, "%Y%m%d").ok()?;
    Some((location.to_owned(), day, format!("{prefix}-{number}")))
}

/// `A-017`: what the hall screen shows and the clerk calls out.
pub fn label(prefix: &str, number: i64) -> String {
    format!("{prefix}-{number:03}")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub enum Kind {
    WalkIn,
    Appointment,
    /// A walk-in for a pick-up service: someone collecting a finished document.
    PickUp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum NumberEvent {
    TicketIssued {
        service: String,
        kind: Kind,
        /// The appointment's start, for checked-in bookings.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        slot_start: Option<DateTime<Utc>>,
        /// Hash of the ticket's status token (the `/ticket/:token` page).
        token_hash: String,
        issued_at: DateTime<Utc>,
        /// A phone number for "your turn is near", sealed like a booking's contact (walk-ins
        /// who chose to leave one).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        contact: Option<Personal>,
        /// The booking's stream, for checked-in bookings: the day's list follows the ticket.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        booking: Option<String>,
        /// The application being collected (its tracking hash), for pick-up tickets drawn
        /// with the tracking code: the hand-over closes it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        case: Option<String>,
    },
}

/// Why a citizen left the counter without the service: counted, so an office sees how often
/// its "what to bring" lists fail people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub enum SentAwayReason {
    DocumentsMissing,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum TicketEvent {
    TicketCalled {
        counter: String,
        at: DateTime<Utc>,
    },
    TicketRecalled {
        at: DateTime<Utc>,
    },
    ServiceStarted {
        at: DateTime<Utc>,
    },
    ServiceFinished {
        at: DateTime<Utc>,
    },
    TicketNoShow {
        at: DateTime<Utc>,
    },
    /// The no-show was a mis-tap: the citizen is at the counter after all, called as before.
    NoShowUndone {
        at: DateTime<Utc>,
    },
    /// Set aside (e.g. a missing document); waits again from `at`.
    TicketParked {
        at: DateTime<Utc>,
    },
    /// The clerk sent the citizen away without the service done; the ticket is over.
    SentAway {
        reason: SentAwayReason,
        at: DateTime<Utc>,
    },
    /// Another service or counter group; keeps its place in the queue.
    TicketTransferred {
        service: String,
        at: DateTime<Utc>,
    },
    /// The phone number's data key was destroyed (the day after the ticket).
    ContactErased {
        at: DateTime<Utc>,
    },
}

/// Issues a ticket with `prefix` at `location` on `day`; its number is the version the store
/// assigns to the event.
pub fn issue(location: &str, day: NaiveDate, prefix: &str, ticket: &NumberEvent) -> Decision {
    Decision::expecting(
        encode(numbers_stream(location, day, prefix), SCHEMA, ticket),
        Expectation::Any,
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub enum State {
    Waiting,
    Called,
    InService,
    Finished,
    NoShow,
}

/// One ticket as the queue projection knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub label: String,
    pub service: String,
    pub kind: Kind,
    pub slot_start: Option<DateTime<Utc>>,
    /// When it (last) joined the waiting line: issue time, or the time it was parked.
    pub waiting_since: DateTime<Utc>,
    pub state: State,
    pub counter: Option<String>,
    /// When service began: the start, or the call if the clerk skipped "start".
    pub serving_since: Option<DateTime<Utc>>,
    /// Version of the ticket's own stream (0 before it was first called).
    pub version: i64,
    /// The sealed phone number, until erased.
    pub contact: Option<Personal>,
    /// Set aside by a clerk and back in the line, until it is called again: the desk marks it.
    pub parked: bool,
    /// The application a pick-up ticket collects (its tracking hash).
    pub case: Option<String>,
}

impl Ticket {
    pub fn issued(label: String, event: &NumberEvent) -> Ticket {
        let NumberEvent::TicketIssued {
            service,
            kind,
            slot_start,
            issued_at,
            contact,
            case,
            ..
        } = event;
        Ticket {
            label,
            service: service.clone(),
            kind: *kind,
            slot_start: *slot_start,
            waiting_since: *issued_at,
            state: State::Waiting,
            counter: None,
            serving_since: None,
            version: 0,
            contact: contact.clone(),
            parked: false,
            case: case.clone(),
        }
    }

    /// Applies one step of the ticket's life; returns the minutes it was served for when the
    /// step finishes it (what the waiting-time estimate learns from).
    pub fn apply(&mut self, event: &TicketEvent, version: i64) -> Option<u32> {
        self.version = version;
        match event {
            TicketEvent::TicketCalled { counter, at } => {
                self.state = State::Called;
                self.parked = false;
                self.counter = Some(counter.clone());
                self.serving_since = Some(*at);
            }
            TicketEvent::TicketRecalled { .. } => self.state = State::Called,
            TicketEvent::ServiceStarted { at } => {
                self.state = State::InService;
                self.serving_since = Some(*at);
            }
            TicketEvent::ServiceFinished { at } => {
                self.state = State::Finished;
                let since = self.serving_since?;
                return Some(((*at - since).num_seconds().max(0) as f64 / 60.0).round() as u32);
            }
            TicketEvent::TicketNoShow { .. } => self.state = State::NoShow,
            TicketEvent::NoShowUndone { .. } => self.state = State::Called,
            // Over, but not served: no duration for the estimates to learn from.
            TicketEvent::SentAway { .. } => self.state = State::Finished,
            TicketEvent::TicketParked { at } => {
                self.state = State::Waiting;
                self.parked = true;
                self.counter = None;
                self.waiting_since = *at;
            }
            TicketEvent::TicketTransferred { service, .. } => {
                self.state = State::Waiting;
                self.counter = None;
                self.service = service.clone();
            }
            TicketEvent::ContactErased { .. } => self.contact = None,
        }
        None
    }
}

/// How long a service takes at the desk, for estimates: the median of the recent measured
/// durations once there are enough of them to mean something, else the planned duration.
pub fn typical_service_minutes(recent: &[u32], planned: u32) -> u32 {
    const ENOUGH: usize = 3;
    if recent.len() < ENOUGH {
        return planned;
    }
    let mut sorted = recent.to_vec();
    sorted.sort_unstable();
    sorted[sorted.len() / 2].max(1)
}

/// A counter's own stream: opened and closed by the clerk working there.
pub fn counter_stream(counter: &str) -> String {
    format!("counter-{counter}")
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum CounterEvent {
    CounterOpened { at: DateTime<Utc> },
    CounterClosed { at: DateTime<Utc> },
}

/// Whether a counter is open at `now`: opened today (local day of `now`) and not closed since.
/// A counter left open in the evening is closed the next morning without anyone recording it.
pub fn counter_open<Tz: chrono::TimeZone>(opened_at: Option<DateTime<Utc>>, now: DateTime<Utc>, tz: &Tz) -> bool {
    opened_at.is_some_and(|at| at.with_timezone(tz).date_naive() == now.with_timezone(tz).date_naive())
}

/// The event that opens (`open = true`) or closes a counter, or nothing if it already is.
/// Opening and closing race harmlessly (the last one wins), so nothing is expected.
pub fn open_or_close(counter: &str, is_open: bool, open: bool, now: DateTime<Utc>) -> Option<Decision> {
    if is_open == open {
        return None;
    }
    let event = if open {
        CounterEvent::CounterOpened { at: now }
    } else {
        CounterEvent::CounterClosed { at: now }
    };
    Some(Decision::unconditional(vec![encode(
        counter_stream(counter),
        SCHEMA,
        &event,
    )]))
}

/// A walk-in waiting longer than this counts as due, like an appointment whose time has come
/// (the call policy, the waiting line, messages and the simulator all use it).
pub const MAX_WAIT_MINUTES: i64 = 45;

/// The call policy, deterministic and in this order:
/// 1. due work, earliest due first: checked-in appointments whose slot has started (due at the
///    slot start) and walk-ins waiting longer than `max_wait` (due at arrival + `max_wait`);
/// 2. pick-ups, by arrival: a hand-over takes a few minutes, and nobody should wait behind a
///    passport application to collect one (where a counter serves both);
/// 3. other walk-ins, by arrival;
/// 4. appointments that arrived early, by slot start.
///
/// Only tickets for services the counter handles count. Ties keep the label order, so every
/// instance computes the same answer.
pub fn next_ticket<'a>(
    waiting: impl IntoIterator<Item = &'a Ticket>,
    counter_services: &[String],
    now: DateTime<Utc>,
    max_wait: Duration,
) -> Option<&'a Ticket> {
    call_order(waiting, counter_services, now, max_wait).into_iter().next()
}

/// Waiting tickets for `services` in the order the call policy would call them.
pub fn call_order<'a>(
    tickets: impl IntoIterator<Item = &'a Ticket>,
    services: &[String],
    now: DateTime<Utc>,
    max_wait: Duration,
) -> Vec<&'a Ticket> {
    let mut candidates: Vec<(u8, DateTime<Utc>, &Ticket)> = tickets
        .into_iter()
        .filter(|t| t.state == State::Waiting && services.contains(&t.service))
        .map(|t| match (t.kind, t.slot_start) {
            (Kind::Appointment, Some(slot)) if slot <= now => (0, slot, t),
            (Kind::Appointment, Some(slot)) => (3, slot, t),
            (Kind::Appointment, None) => (2, t.waiting_since, t),
            (Kind::WalkIn | Kind::PickUp, _) if now - t.waiting_since >= max_wait => (0, t.waiting_since + max_wait, t),
            (Kind::PickUp, _) => (1, t.waiting_since, t),
            (Kind::WalkIn, _) => (2, t.waiting_since, t),
        })
        .collect();
    candidates.sort_by(|a, b| (a.0, a.1, &a.2.label).cmp(&(b.0, b.1, &b.2.label)));
    candidates.into_iter().map(|c| c.2).collect()
}

/// How many tickets for the same service will be called before `label` (None once it is no
/// longer waiting).
pub fn ahead_of(tickets: &[Ticket], label: &str, now: DateTime<Utc>, max_wait: Duration) -> Option<usize> {
    let ticket = tickets.iter().find(|t| t.label == label)?;
    call_order(tickets, std::slice::from_ref(&ticket.service), now, max_wait)
        .iter()
        .position(|t| t.label == label)
}

/// Expected wait as a range in minutes, never a promise: people ahead times the service's
/// duration, shared by the counters that serve it, from 75 % to 150 %, in steps of 5 minutes.
pub fn wait_estimate(ahead: usize, service_minutes: u32, counters: usize) -> (u32, u32) {
    let expected = ahead as f64 * f64::from(service_minutes) / counters.max(1) as f64;
    let round5 = |m: f64| ((m / 5.0).round() * 5.0) as u32;
    (round5(expected * 0.75), round5(expected * 1.5).max(5))
}

/// Expected wait as a range for someone with `ahead` people before them: the typical service
/// time shared by the `open` counters that serve the line. None while none is open: nobody
/// knows when the first one opens, and "0–5 min." in an empty hall before opening misleads.
pub fn wait_range(ahead: usize, service_minutes: u32, open: usize) -> Option<(u32, u32)> {
    (open > 0).then(|| wait_estimate(ahead, service_minutes, open))
}

/// The event that calls `ticket` to `counter`, expected at the version it was chosen at.
pub fn call(location: &str, day: NaiveDate, ticket: &Ticket, counter: &str, now: DateTime<Utc>) -> Decision {
    let expectation = if ticket.version == 0 {
        Expectation::NoStream
    } else {
        Expectation::AtVersion(ticket.version)
    };
    let event = TicketEvent::TicketCalled {
        counter: counter.to_owned(),
        at: now,
    };
    Decision::expecting(
        encode(ticket_stream(location, day, &ticket.label), SCHEMA, &event),
        expectation,
    )
}

/// Sends the citizen at the counter away (`reason`): only a ticket called or in service.
pub fn send_away(
    location: &str,
    day: NaiveDate,
    ticket: &Ticket,
    reason: SentAwayReason,
    now: DateTime<Utc>,
) -> Result<Decision, QueueError> {
    if !matches!(ticket.state, State::Called | State::InService) {
        return Err(QueueError::NotAtCounter(ticket.state));
    }
    let event = TicketEvent::SentAway { reason, at: now };
    Ok(Decision::expecting(
        encode(ticket_stream(location, day, &ticket.label), SCHEMA, &event),
        Expectation::AtVersion(ticket.version),
    ))
}

/// What a clerk can do with a ticket after calling it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Recall,
    Start,
    Finish,
    NoShow,
    /// Takes a no-show back (a mis-tap): the ticket is called to its counter again.
    UndoNoShow,
    Park,
    Transfer,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    #[error("a ticket that is {state:?} cannot be given {action:?}")]
    NotAllowed { action: Action, state: State },
    #[error("a ticket that is {0:?} is not at a counter")]
    NotAtCounter(State),
    #[error("say which service the ticket moves to")]
    TransferNeedsService,
    #[error("the ticket is already for this service")]
    TransferToSameService,
}

/// The event for `action` on `ticket`, if its state allows it, expected at the version seen.
/// `to_service` (transfer only) must already be checked to be offered at the location.
pub fn act(
    location: &str,
    day: NaiveDate,
    ticket: &Ticket,
    action: Action,
    to_service: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Decision, QueueError> {
    use State::*;
    let allowed = match action {
        Action::Recall | Action::Start | Action::NoShow => ticket.state == Called,
        Action::UndoNoShow => ticket.state == NoShow,
        Action::Finish | Action::Park => matches!(ticket.state, Called | InService),
        Action::Transfer => matches!(ticket.state, Waiting | Called | InService),
    };
    if !allowed {
        return Err(QueueError::NotAllowed {
            action,
            state: ticket.state,
        });
    }
    let event = match action {
        Action::Recall => TicketEvent::TicketRecalled { at: now },
        Action::Start => TicketEvent::ServiceStarted { at: now },
        Action::Finish => TicketEvent::ServiceFinished { at: now },
        Action::NoShow => TicketEvent::TicketNoShow { at: now },
        Action::UndoNoShow => TicketEvent::NoShowUndone { at: now },
        Action::Park => TicketEvent::TicketParked { at: now },
        Action::Transfer => {
            let service = to_service.ok_or(QueueError::TransferNeedsService)?;
            if service == ticket.service {
                return Err(QueueError::TransferToSameService);
            }
            TicketEvent::TicketTransferred {
                service: service.to_owned(),
                at: now,
            }
        }
    };
    let expectation = if ticket.version == 0 {
        Expectation::NoStream
    } else {
        Expectation::AtVersion(ticket.version)
    };
    Ok(Decision::expecting(
        encode(ticket_stream(location, day, &ticket.label), SCHEMA, &event),
        expectation,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_and_estimate() {
        let tickets = vec![
            walk_in("A-001", "ausweis", "08:00"),
            walk_in("A-002", "ausweis", "08:05"),
            walk_in("C-001", "meldung", "08:01"),
            appointment("T-001", "ausweis", "08:10", "08:08"),
            walk_in("A-003", "ausweis", "08:09"),
        ];
        let wait = Duration::minutes(45);
        assert_eq!(
            ahead_of(&tickets, "A-001", at("08:12"), wait),
            Some(1),
            "the due appointment goes first"
        );
        assert_eq!(ahead_of(&tickets, "A-003", at("08:12"), wait), Some(3));
        assert_eq!(
            ahead_of(&tickets, "C-001", at("08:12"), wait),
            Some(0),
            "other services do not count"
        );
        assert_eq!(ahead_of(&tickets, "X-001", at("08:12"), wait), None);
        assert_eq!(wait_estimate(0, 20, 3), (0, 5));
        assert_eq!(wait_estimate(6, 20, 3), (30, 60));
        assert_eq!(wait_estimate(3, 10, 0), (25, 45), "no counter open: counted as one");
    }

    #[test]
    fn actions_follow_the_ticket_lifecycle() {
        use Action::{Finish, Park, Recall, Start, Transfer};
        use State::{Called, Finished, InService, Waiting};
        // (state, action, allowed)
        let table = [
            (Waiting, Recall, false),
            (Waiting, Start, false),
            (Waiting, Finish, false),
            (Waiting, Action::NoShow, false),
            (Waiting, Park, false),
            (Waiting, Transfer, true),
            (Called, Recall, true),
            (Called, Start, true),
            (Called, Finish, true),
            (Called, Action::NoShow, true),
            (Called, Park, true),
            (Called, Transfer, true),
            (InService, Recall, false),
            (InService, Start, false),
            (InService, Finish, true),
            (InService, Action::NoShow, false),
            (InService, Park, true),
            (InService, Transfer, true),
            (Finished, Finish, false),
            (Finished, Transfer, false),
            (State::NoShow, Start, false),
            (State::NoShow, Park, false),
            (State::NoShow, Action::UndoNoShow, true),
            (Waiting, Action::UndoNoShow, false),
            (Called, Action::UndoNoShow, false),
            (InService, Action::UndoNoShow, false),
            (Finished, Action::UndoNoShow, false),
        ];
        for (state, action, allowed) in table {
            let ticket = Ticket {
                state,
                version: 2,
                ..walk_in("A-001", "ausweis", "08:00")
            };
            let result = act(
                "x",
                at("08:00").date_naive(),
                &ticket,
                action,
                Some("meldung"),
                at("08:30"),
            );
            assert_eq!(result.is_ok(), allowed, "{state:?} + {action:?}");
            if let Ok(decision) = result {
                assert_eq!(decision.expectations[0].1, Expectation::AtVersion(2));
            }
        }
        let called = Ticket {
            state: Called,
            version: 1,
            ..walk_in("A-001", "ausweis", "08:00")
        };
        let day = at("08:00").date_naive();
        assert_eq!(
            act("x", day, &called, Transfer, None, at("08:30")),
            Err(QueueError::TransferNeedsService)
        );
        assert_eq!(
            act("x", day, &called, Transfer, Some("ausweis"), at("08:30")),
            Err(QueueError::TransferToSameService)
        );
        assert_eq!(serde_json::from_str::<Action>("\"no-show\"").ok(), Some(Action::NoShow));
        assert!(serde_json::from_str::<Action>("\"teleport\"").is_err());
    }

    fn at(hm: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(&format!("2026-12-02T{hm}:00Z"))
            .unwrap()
            .with_timezone(&Utc)
    }

    fn walk_in(label: &str, service: &str, since: &str) -> Ticket {
        Ticket {
            label: label.into(),
            service: service.into(),
            kind: Kind::WalkIn,
            slot_start: None,
            waiting_since: at(since),
            state: State::Waiting,
            counter: None,
            serving_since: None,
            version: 0,
            contact: None,
            parked: false,
            case: None,
        }
    }

    fn pick_up(label: &str, since: &str) -> Ticket {
        Ticket {
            kind: Kind::PickUp,
            ..walk_in(label, "abholung", since)
        }
    }

    fn appointment(label: &str, service: &str, slot: &str, arrived: &str) -> Ticket {
        Ticket {
            kind: Kind::Appointment,
            slot_start: Some(at(slot)),
            ..walk_in(label, service, arrived)
        }
    }

    fn services(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    /// (situation, tickets, counter services, now, expected label)
    type Case<'a> = (&'a str, Vec<Ticket>, &'a Vec<String>, &'a str, Option<&'a str>);

    #[test]
    fn call_policy_table() {
        let max_wait = Duration::minutes(45);
        let ausweis = services(&["ausweis"]);
        let both = services(&["ausweis", "meldung"]);
        let with_pick_up = services(&["ausweis", "abholung"]);
        let cases: Vec<Case> = vec![
            ("empty queue", vec![], &both, "09:00", None),
            (
                "walk-ins by arrival",
                vec![
                    walk_in("A-002", "ausweis", "08:10"),
                    walk_in("A-001", "ausweis", "08:05"),
                ],
                &both,
                "08:20",
                Some("A-001"),
            ),
            (
                "a due appointment goes before earlier walk-ins",
                vec![
                    walk_in("A-001", "ausweis", "08:05"),
                    appointment("T-001", "ausweis", "08:30", "08:25"),
                ],
                &both,
                "08:31",
                Some("T-001"),
            ),
            (
                "an early appointment waits for walk-ins",
                vec![
                    walk_in("A-001", "ausweis", "08:05"),
                    appointment("T-001", "ausweis", "09:00", "08:25"),
                ],
                &both,
                "08:31",
                Some("A-001"),
            ),
            (
                "an early appointment is called when nobody else waits",
                vec![appointment("T-001", "ausweis", "09:00", "08:25")],
                &both,
                "08:31",
                Some("T-001"),
            ),
            (
                "due appointments by slot time, not arrival",
                vec![
                    appointment("T-002", "ausweis", "08:30", "08:00"),
                    appointment("T-001", "ausweis", "08:20", "08:15"),
                ],
                &both,
                "08:40",
                Some("T-001"),
            ),
            (
                "a walk-in past the maximum wait counts as due from arrival + max wait",
                vec![
                    walk_in("A-001", "ausweis", "08:00"),
                    appointment("T-001", "ausweis", "08:50", "08:40"),
                ],
                &both,
                "08:55",
                Some("A-001"), // due 08:45 < slot 08:50
            ),
            (
                "…but an appointment due earlier still goes first",
                vec![
                    walk_in("A-001", "ausweis", "08:00"),
                    appointment("T-001", "ausweis", "08:40", "08:30"),
                ],
                &both,
                "08:55",
                Some("T-001"), // slot 08:40 < due 08:45
            ),
            (
                "a pick-up goes before a registration walk-in who came earlier",
                vec![walk_in("A-001", "ausweis", "08:05"), pick_up("B-001", "08:15")],
                &with_pick_up,
                "08:20",
                Some("B-001"),
            ),
            (
                "pick-ups among themselves by arrival",
                vec![pick_up("B-002", "08:10"), pick_up("B-001", "08:12")],
                &with_pick_up,
                "08:20",
                Some("B-002"),
            ),
            (
                "…but not before a walk-in past the maximum wait",
                vec![walk_in("A-001", "ausweis", "08:00"), pick_up("B-001", "08:40")],
                &with_pick_up,
                "08:50",
                Some("A-001"),
            ),
            (
                "…nor before an appointment whose time has come",
                vec![
                    pick_up("B-001", "08:00"),
                    appointment("T-001", "ausweis", "08:30", "08:25"),
                ],
                &with_pick_up,
                "08:31",
                Some("T-001"),
            ),
            (
                "a pick-up goes before an appointment that came early",
                vec![
                    appointment("T-001", "ausweis", "09:00", "08:00"),
                    pick_up("B-001", "08:25"),
                ],
                &with_pick_up,
                "08:31",
                Some("B-001"),
            ),
            (
                "a pick-up waiting past the maximum counts as due from arrival + max wait",
                vec![
                    pick_up("B-001", "08:00"),
                    appointment("T-001", "ausweis", "08:50", "08:40"),
                ],
                &with_pick_up,
                "08:55",
                Some("B-001"),
            ),
            (
                "a counter without the pick-up service never calls a pick-up",
                vec![pick_up("B-001", "08:00")],
                &ausweis,
                "08:20",
                None,
            ),
            (
                "skills: a counter only calls services it handles",
                vec![
                    walk_in("C-001", "meldung", "08:00"),
                    walk_in("A-001", "ausweis", "08:10"),
                ],
                &ausweis,
                "08:20",
                Some("A-001"),
            ),
            (
                "nothing this counter can serve",
                vec![walk_in("C-001", "meldung", "08:00")],
                &ausweis,
                "08:20",
                None,
            ),
            (
                "tickets already called are not called again",
                vec![
                    Ticket {
                        state: State::Called,
                        ..walk_in("A-001", "ausweis", "08:00")
                    },
                    walk_in("A-002", "ausweis", "08:05"),
                ],
                &both,
                "08:20",
                Some("A-002"),
            ),
            (
                "equal times: label order decides, the same on every server",
                vec![
                    walk_in("A-002", "ausweis", "08:00"),
                    walk_in("A-001", "ausweis", "08:00"),
                ],
                &both,
                "08:20",
                Some("A-001"),
            ),
        ];
        for (situation, tickets, counter, now, expected) in cases {
            let got = next_ticket(&tickets, counter, at(now), max_wait).map(|t| t.label.as_str());
            assert_eq!(got, expected, "{situation}");
        }
    }

    #[test]
    fn parking_rejoins_the_line_and_transfer_keeps_the_place() {
        let mut t = walk_in("A-001", "ausweis", "08:00");
        t.apply(
            &TicketEvent::TicketCalled {
                counter: "3".into(),
                at: at("08:10"),
            },
            1,
        );
        assert_eq!((t.state, t.counter.as_deref()), (State::Called, Some("3")));
        t.apply(&TicketEvent::TicketParked { at: at("08:15") }, 2);
        assert_eq!((t.state, t.waiting_since, t.version), (State::Waiting, at("08:15"), 2));
        assert!(t.parked, "the desk marks a parked ticket in the line");
        t.apply(
            &TicketEvent::TicketTransferred {
                service: "meldung".into(),
                at: at("08:20"),
            },
            3,
        );
        assert_eq!(
            (t.state, t.service.as_str(), t.waiting_since),
            (State::Waiting, "meldung", at("08:15"))
        );
        let called = call("buergerbuero", at("08:00").date_naive(), &t, "4", at("08:30"));
        assert_eq!(called.expectations[0].1, Expectation::AtVersion(3));
        assert_eq!(called.events[0].stream, "ticket-buergerbuero-20261202-A-001");
    }

    #[test]
    fn stream_names_parse_back() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        let stream = numbers_stream("kfz-zulassung", day, "K");
        assert_eq!(parse_numbers_stream(&stream), Some(("kfz-zulassung", day, "K")));
        assert_eq!(parse_numbers_stream("numbers-x-2026130-K"), None);
        let id = ticket_id("kfz-zulassung", day, "K-007");
        assert_eq!(
            parse_ticket_id(&id),
            Some(("kfz-zulassung".into(), day, "K-007".into()))
        );
    }

    #[test]
    fn numbers_come_from_the_stream_version() {
        let day = at("08:00").date_naive();
        let ticket = NumberEvent::TicketIssued {
            service: "kfz-umschreibung".into(),
            kind: Kind::WalkIn,
            slot_start: None,
            token_hash: "h".into(),
            issued_at: at("08:00"),
            contact: None,
            booking: None,
            case: None,
        };
        let issued = issue("kfz-zulassung", day, "K", &ticket);
        assert_eq!(issued.events[0].stream, "numbers-kfz-zulassung-20261202-K");
        assert_eq!(
            issued.expectations[0].1,
            Expectation::Any,
            "the store's version is the number"
        );
        assert_eq!(label("K", 7), "K-007");
        assert_eq!(label("K", 1234), "K-1234");
        let fresh = walk_in("A-001", "ausweis", "08:00");
        assert_eq!(
            call("x", day, &fresh, "1", at("08:01")).expectations[0].1,
            Expectation::NoStream
        );
    }

    #[test]
    fn waits_are_shared_by_the_open_counters_and_unknown_before_any_opens() {
        // 6 ahead, 10 minutes each: 60 minutes of work.
        assert_eq!(wait_range(6, 10, 2), Some((25, 45)), "two open counters share it");
        assert_eq!(wait_range(6, 10, 0), None, "no counter open: no estimate");
        assert_eq!(wait_range(0, 10, 0), None, "not even for the first in line");
        assert_eq!(wait_range(0, 10, 1), Some((0, 5)), "next in line: at most five minutes");
    }

    #[test]
    fn only_a_citizen_at_the_counter_can_be_sent_away() {
        let day = at("08:00").date_naive();
        let waiting = walk_in("A-001", "ausweis", "08:00");
        assert_eq!(
            send_away("x", day, &waiting, SentAwayReason::DocumentsMissing, at("08:10")),
            Err(QueueError::NotAtCounter(State::Waiting))
        );
        let mut called = Ticket {
            state: State::Called,
            version: 1,
            ..waiting
        };
        let decision = send_away("x", day, &called, SentAwayReason::DocumentsMissing, at("08:10")).unwrap();
        assert_eq!(decision.expectations[0].1, Expectation::AtVersion(1));
        assert_eq!(decision.events[0].event_type, "SentAway");
        let event = TicketEvent::SentAway {
            reason: SentAwayReason::DocumentsMissing,
            at: at("08:10"),
        };
        assert_eq!(called.apply(&event, 2), None, "not served: nothing to learn");
        assert_eq!((called.state, called.version), (State::Finished, 2));
    }

    #[test]
    fn service_minutes_are_learned_from_finished_tickets() {
        let mut ticket = walk_in("A-001", "ausweis", "08:00");
        let called = TicketEvent::TicketCalled {
            counter: "c1".into(),
            at: at("08:10"),
        };
        assert_eq!(ticket.apply(&called, 1), None);
        assert_eq!(ticket.apply(&TicketEvent::ServiceStarted { at: at("08:12") }, 2), None);
        assert_eq!(
            ticket.apply(&TicketEvent::ServiceFinished { at: at("08:30") }, 3),
            Some(18),
            "from the start, not the call"
        );
        let mut skipped_start = walk_in("A-002", "ausweis", "08:00");
        skipped_start.apply(&called, 1);
        assert_eq!(
            skipped_start.apply(&TicketEvent::ServiceFinished { at: at("08:21") }, 2),
            Some(11),
            "from the call when nobody pressed start"
        );
        assert_eq!(typical_service_minutes(&[], 20), 20, "nothing measured: planned");
        assert_eq!(typical_service_minutes(&[5, 40], 20), 20, "two are not enough");
        assert_eq!(typical_service_minutes(&[30, 8, 12], 20), 12, "median");
        assert_eq!(typical_service_minutes(&[0, 0, 0], 20), 1, "never zero");
    }

    #[test]
    fn counters_open_for_the_day() {
        let berlin = chrono_tz::Europe::Berlin;
        // 22:30 UTC on 2 Dec is 23:30 in Berlin, still the same local day.
        assert!(counter_open(Some(at("07:00")), at("22:30"), &berlin));
        assert!(!counter_open(Some(at("07:00")), at("23:30"), &berlin), "next local day");
        assert!(!counter_open(None, at("08:00"), &berlin));
        assert!(open_or_close("c1", false, false, at("08:00")).is_none());
        assert!(open_or_close("c1", true, true, at("08:00")).is_none());
        let opened = open_or_close("c1", false, true, at("08:00")).unwrap();
        assert_eq!(opened.events[0].stream, "counter-c1");
        assert_eq!(opened.events[0].event_type, "CounterOpened");
        assert!(opened.expectations.is_empty(), "the last change wins");
        assert_eq!(
            open_or_close("c1", true, false, at("08:00")).unwrap().events[0].event_type,
            "CounterClosed"
        );
    }
}
