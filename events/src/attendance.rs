//! Who stayed away: the appointments each email address missed, for the office's rule that
//! whoever missed several lately confirms their next online booking by email
//! ([`NoShowRule`]). Berlin's offices lose a fifth to a quarter of their appointments to
//! no-shows; a confirmation link costs a reliable citizen nothing and a place held by someone
//! who will not come is released when they do not click.
//!
//! Missed as the statistics count it: the appointment is over, it was neither cancelled nor
//! released, and the citizen never checked in, or checked in and was marked no-show at the
//! counter (a no-show taken back is not one). Holders are the keyed email hashes bookings
//! already carry: nothing here names a person.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::booking::BookingEvent;
use crate::event::{decode, DecodeError, RecordedEvent};
use crate::queue::{self, NumberEvent, TicketEvent};

/// An office's rule: `after` missed appointments within `within_days` make the next online
/// booking wait for the citizen's email confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct NoShowRule {
    pub after: u32,
    pub within_days: u32,
}

impl NoShowRule {
    /// Whether someone who missed `missed` appointments in the rule's period must confirm.
    pub fn applies(&self, missed: u32) -> bool {
        missed >= self.after
    }

    /// The start of the period the rule looks back on.
    pub fn since(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - Duration::days(i64::from(self.within_days))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Visit {
    /// Booked and not (yet) arrived: missed once its end has passed.
    Expected,
    /// Cancelled, or released unconfirmed: nothing was missed.
    Released,
    Arrived,
    /// Checked in, then marked no-show at the counter.
    MarkedAbsent,
}

#[derive(Debug, Clone)]
struct Appointment {
    end: DateTime<Utc>,
    visit: Visit,
}

/// The period a rule looks back on where the office names none.
pub const DEFAULT_PERIOD_DAYS: u32 = 90;

/// The longest period a rule may look back on; older appointments are forgotten.
pub const LONGEST_PERIOD_DAYS: u32 = 365;

#[derive(Debug, Clone, Default)]
pub struct Attendance {
    appointments: HashMap<String, Appointment>,
    by_holder: HashMap<String, Vec<String>>,
    /// Appointment tickets' ids and the bookings they came from.
    tickets: HashMap<String, String>,
}

impl Attendance {
    pub fn apply(&mut self, e: &RecordedEvent) -> Result<(), DecodeError> {
        if e.stream.starts_with("booking-") {
            self.apply_booking(e)
        } else if let Some((location, day, prefix)) = queue::parse_numbers_stream(&e.stream) {
            let NumberEvent::TicketIssued { booking, .. } = decode::<NumberEvent>(e)?;
            if let Some(booking) = booking.filter(|b| self.appointments.contains_key(b)) {
                let id = queue::ticket_id(location, day, &queue::label(prefix, e.version));
                self.tickets.insert(id, booking);
            }
            Ok(())
        } else if let Some(id) = e.stream.strip_prefix("ticket-") {
            let Some(booking) = self.tickets.get(id) else {
                return Ok(());
            };
            let visit = match decode::<TicketEvent>(e)? {
                TicketEvent::TicketNoShow { .. } => Visit::MarkedAbsent,
                TicketEvent::NoShowUndone { .. } => Visit::Arrived,
                _ => return Ok(()),
            };
            if let Some(a) = self.appointments.get_mut(booking) {
                a.visit = visit;
            }
            Ok(())
        } else {
            Ok(())
        }
    }

    fn apply_booking(&mut self, e: &RecordedEvent) -> Result<(), DecodeError> {
        match decode::<BookingEvent>(e)? {
            BookingEvent::BookingPlaced { holder, end, .. } => {
                self.by_holder.entry(holder).or_default().push(e.stream.clone());
                self.appointments.insert(
                    e.stream.clone(),
                    Appointment {
                        end,
                        visit: Visit::Expected,
                    },
                );
                if self.appointments.len().is_multiple_of(4096) {
                    self.forget_before(e.recorded_at - Duration::days(i64::from(LONGEST_PERIOD_DAYS)));
                }
            }
            BookingEvent::BookingRescheduled { end, .. } => {
                if let Some(a) = self.appointments.get_mut(&e.stream) {
                    a.end = end;
                }
            }
            BookingEvent::BookingCancelled { .. } | BookingEvent::BookingExpired { .. } => {
                if let Some(a) = self.appointments.get_mut(&e.stream) {
                    a.visit = Visit::Released;
                }
            }
            BookingEvent::BookingCheckedIn { .. } => {
                if let Some(a) = self.appointments.get_mut(&e.stream) {
                    a.visit = Visit::Arrived;
                }
            }
            BookingEvent::BookingConfirmed { .. }
            | BookingEvent::ReconfirmationAsked { .. }
            | BookingEvent::ContactShown { .. }
            | BookingEvent::PersonalDataErased { .. } => {}
        }
        Ok(())
    }

    /// Appointments of `holder` that ended within `since..now` and were missed.
    pub fn missed(&self, holder: &str, since: DateTime<Utc>, now: DateTime<Utc>) -> u32 {
        let Some(bookings) = self.by_holder.get(holder) else {
            return 0;
        };
        let missed = bookings
            .iter()
            .filter_map(|b| self.appointments.get(b))
            .filter(|a| since <= a.end && a.end <= now)
            .filter(|a| matches!(a.visit, Visit::Expected | Visit::MarkedAbsent))
            .count();
        u32::try_from(missed).unwrap_or(u32::MAX)
    }

    fn forget_before(&mut self, before: DateTime<Utc>) {
        self.appointments.retain(|_, a| a.end >= before);
        let appointments = &self.appointments;
        self.by_holder.retain(|_, bookings| {
            bookings.retain(|b| appointments.contains_key(b));
            !bookings.is_empty()
        });
        self.tickets.retain(|_, b| appointments.contains_key(b));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::booking::{Channel, Contact, Personal};
    use crate::event::{encode, Metadata};
    use chrono::TimeZone;

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0).unwrap()
    }

    struct Log {
        attendance: Attendance,
        position: i64,
        versions: HashMap<String, i64>,
    }

    impl Log {
        fn new() -> Log {
            Log {
                attendance: Attendance::default(),
                position: 0,
                versions: HashMap::new(),
            }
        }

        fn record<T: Serialize>(&mut self, stream: &str, event: &T) {
            let new = encode(stream.to_owned(), 1, event);
            self.position += 1;
            let version = self.versions.entry(stream.to_owned()).or_default();
            *version += 1;
            let e = RecordedEvent {
                position: self.position,
                stream: new.stream,
                version: *version,
                event_type: new.event_type,
                schema: new.schema,
                data: new.data,
                metadata: Metadata::default(),
                recorded_at: at(30, 8),
            };
            self.attendance.apply(&e).unwrap();
        }

        fn book(&mut self, booking: &str, holder: &str, start: DateTime<Utc>) {
            self.record(
                booking,
                &BookingEvent::BookingPlaced {
                    location: "buergerbuero".into(),
                    service: "personalausweis".into(),
                    start,
                    end: start + Duration::minutes(20),
                    units: vec![start],
                    contact: Personal::Plain(Contact {
                        name: "N".into(),
                        email: "n@example.org".into(),
                        phone: None,
                    }),
                    holder: holder.into(),
                    channel: Channel::Online,
                    confirm_by: None,
                    confirm_because_missed: false,
                },
            );
        }

        /// Checks `booking` in; its ticket is the numbers stream's next label.
        fn arrive(&mut self, booking: &str, start: DateTime<Utc>) -> String {
            self.record(
                booking,
                &BookingEvent::BookingCheckedIn {
                    at: start,
                    ticket: String::new(),
                },
            );
            let numbers = queue::numbers_stream("buergerbuero", start.date_naive(), "A");
            self.record(
                &numbers,
                &NumberEvent::TicketIssued {
                    service: "personalausweis".into(),
                    kind: queue::Kind::Appointment,
                    slot_start: Some(start),
                    token_hash: "t".into(),
                    issued_at: start,
                    contact: None,
                    booking: Some(booking.into()),
                    case: None,
                },
            );
            let label = queue::label("A", self.versions[&numbers]);
            queue::ticket_stream("buergerbuero", start.date_naive(), &label)
        }
    }

    #[test]
    fn an_appointment_is_missed_when_it_ended_without_a_check_in_or_cancellation() {
        let mut log = Log::new();
        log.book("booking-1", "h", at(2, 9)); // missed
        log.book("booking-2", "h", at(3, 9)); // cancelled
        log.record(
            "booking-2",
            &BookingEvent::BookingCancelled {
                lead_minutes: 60,
                by_office: None,
            },
        );
        log.book("booking-3", "h", at(4, 9)); // released unconfirmed
        log.record("booking-3", &BookingEvent::BookingExpired { at: at(1, 9) });
        log.book("booking-4", "h", at(5, 9)); // came
        log.arrive("booking-4", at(5, 9));
        log.book("booking-5", "h", at(6, 9)); // came, marked absent at the counter
        let ticket = log.arrive("booking-5", at(6, 9));
        log.record(&ticket, &TicketEvent::TicketNoShow { at: at(6, 10) });
        log.book("booking-6", "h", at(7, 9)); // marked absent by a mis-tap, taken back
        let ticket = log.arrive("booking-6", at(7, 9));
        log.record(&ticket, &TicketEvent::TicketNoShow { at: at(7, 10) });
        log.record(&ticket, &TicketEvent::NoShowUndone { at: at(7, 10) });
        log.book("booking-7", "someone else", at(2, 9));
        log.book("booking-8", "h", at(30, 9)); // still to come

        let a = &log.attendance;
        assert_eq!(a.missed("h", at(1, 0), at(30, 8)), 2, "booking-1 and booking-5");
        assert_eq!(a.missed("someone else", at(1, 0), at(30, 8)), 1);
        assert_eq!(a.missed("nobody", at(1, 0), at(30, 8)), 0);
        // The period: booking-1 ended before it, booking-8 has not ended yet.
        assert_eq!(a.missed("h", at(3, 0), at(30, 8)), 1);
        assert_eq!(a.missed("h", at(1, 0), at(30, 10)), 3, "booking-8 is over at 09:20");
    }

    #[test]
    fn a_moved_appointment_is_missed_at_its_new_time() {
        let mut log = Log::new();
        log.book("booking-1", "h", at(2, 9));
        log.record(
            "booking-1",
            &BookingEvent::BookingRescheduled {
                start: at(20, 9),
                end: at(20, 10),
                units: vec![at(20, 9)],
            },
        );
        assert_eq!(log.attendance.missed("h", at(1, 0), at(19, 0)), 0);
        assert_eq!(log.attendance.missed("h", at(1, 0), at(20, 11)), 1);
    }

    #[test]
    fn the_rule_applies_from_its_count_within_its_days() {
        let rule = NoShowRule {
            after: 2,
            within_days: 90,
        };
        assert!(!rule.applies(1));
        assert!(rule.applies(2));
        assert_eq!(rule.since(at(30, 8)), at(30, 8) - Duration::days(90));
    }
}
