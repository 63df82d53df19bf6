//! Taking places away from booked appointments: closing an office for a time (a staff meeting
//! planned weeks ahead, or the morning a clerk calls in ill and the afternoon must go), shorter
//! hours, lower capacity, a service withdrawn. Such a change is only recorded once the admin
//! has chosen what becomes of the bookings it meets: kept (served over capacity) or cancelled,
//! each citizen told with a text the admin writes.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};

use crate::booking::{self, Booking, BookingError, Status};
use crate::catalogue::{Catalogue, CatalogueEvent};
use crate::event::{Decision, Expectation};
use crate::slots::{Closure, Schedule};

/// The longest text an admin may send to the citizens whose bookings a closure cancels.
pub const MAX_NOTE_CHARS: usize = 1000;

/// What the admin chose for the bookings a closure meets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// They stay; the office serves them (or calls them) itself.
    Keep,
    /// Each is cancelled and its citizen sent this text.
    Cancel { note: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClosingError {
    #[error("there is no location with this id")]
    UnknownLocation,
    #[error("{message}")]
    Invalid { field: &'static str, message: String },
    #[error("the closure is over before now")]
    InPast,
    #[error("the closure meets {0} booked appointments: keep them or cancel them with a message to each citizen")]
    BookingsAffected(u32),
    #[error("cancelling needs the message each citizen is sent (at most {MAX_NOTE_CHARS} characters)")]
    NoteMissing,
    #[error(transparent)]
    Booking(#[from] BookingError),
}

/// Whether `booking` is one the closure takes away: at the location, still to come, and its
/// time meets the closure. `closure_meets` answers for its start and end instants.
pub fn meets(
    booking: &Booking,
    location: &str,
    now: DateTime<Utc>,
    closure_meets: impl Fn(DateTime<Utc>, DateTime<Utc>) -> bool,
) -> bool {
    booking.location == location
        && matches!(booking.status, Status::Confirmed | Status::Pending)
        && booking.start > now
        && closure_meets(booking.start, booking.end)
}

/// Checks the closure and, given the bookings it meets (`(code hash, booking)`, found with
/// [`meets`]), decides it: the closure, and with [`Choice::Cancel`] each booking's cancellation,
/// expected at the version it was read at so a booking changed meanwhile makes it decide again.
pub fn close(
    catalogue: &Catalogue,
    location: &str,
    closure: &Closure,
    hit: &[(String, Booking)],
    choice: Option<&Choice>,
    now: DateTime<Utc>,
) -> Result<Decision, ClosingError> {
    let schedule = catalogue
        .schedules
        .get(location)
        .filter(|_| catalogue.locations.contains_key(location))
        .ok_or(ClosingError::UnknownLocation)?;
    if let Some((field, message)) = closure.problem() {
        return Err(ClosingError::Invalid { field, message });
    }
    let tz = schedule.tz().map_err(BookingError::from)?;
    let today = now.with_timezone(&tz).naive_local();
    if !closure.meets(today, chrono::NaiveDateTime::MAX) {
        return Err(ClosingError::InPast);
    }
    let decision = Decision::unconditional(vec![CatalogueEvent::ClosureAdded {
        location: location.to_owned(),
        closure: closure.clone(),
    }
    .to_new_event()]);
    with_bookings(decision, hit, choice, now)
}

/// Adds to `decision` (a change that takes places away) what becomes of the bookings it hits:
/// refused without a choice; kept as read (one changed meanwhile makes it decide again); or
/// each cancelled with the admin's note.
pub fn with_bookings(
    mut decision: Decision,
    hit: &[(String, Booking)],
    choice: Option<&Choice>,
    now: DateTime<Utc>,
) -> Result<Decision, ClosingError> {
    if let Some(Choice::Cancel { note }) = choice {
        if note.trim().is_empty() || note.chars().count() > MAX_NOTE_CHARS {
            return Err(ClosingError::NoteMissing);
        }
    }
    match (choice, hit.len()) {
        (_, 0) => {}
        (None, n) => return Err(ClosingError::BookingsAffected(n as u32)),
        (Some(Choice::Keep), _) => decision.expectations.extend(
            hit.iter()
                .map(|(hash, b)| (booking::stream(hash), Expectation::AtVersion(b.version))),
        ),
        (Some(Choice::Cancel { note }), _) => {
            let cancel = cancel_all(hit, note.trim(), now)?;
            decision.events.extend(cancel.events);
            decision.expectations.extend(cancel.expectations);
        }
    }
    Ok(decision)
}

/// Which of `booked` (a location's bookings still to come, in the order they were placed) a
/// new schedule no longer holds: one whose units are not all in its hours any more, and where a
/// unit holds more bookings than its new capacity, those placed last. Closures are left out:
/// what they met was decided when they were added.
pub fn displaced(schedule: &Schedule, booked: &[(String, Booking)]) -> Result<Vec<(String, Booking)>, BookingError> {
    let open = Schedule {
        closures: Vec::new(),
        ..schedule.clone()
    };
    let tz = open.tz().map_err(BookingError::from)?;
    let mut grid: HashMap<NaiveDate, HashMap<DateTime<Utc>, u32>> = HashMap::new();
    let mut used: HashMap<DateTime<Utc>, u32> = HashMap::new();
    let mut out = Vec::new();
    for (hash, b) in booked {
        let mut capacities = Vec::with_capacity(b.units.len());
        for unit in &b.units {
            let day = unit.with_timezone(&tz).date_naive();
            let units = match grid.entry(day) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    let units = open.units(day).map_err(BookingError::from)?;
                    e.insert(units.into_iter().map(|u| (u.start, u.capacity)).collect())
                }
            };
            capacities.push(units.get(unit).copied().unwrap_or(0));
        }
        let fits = b
            .units
            .iter()
            .zip(&capacities)
            .all(|(unit, capacity)| used.get(unit).copied().unwrap_or(0) < *capacity);
        if fits {
            for unit in &b.units {
                *used.entry(*unit).or_default() += 1;
            }
        } else {
            out.push((hash.clone(), b.clone()));
        }
    }
    Ok(out)
}

/// The office cancels each of `hit` (`(code hash, booking)`) and tells its citizen `note`, in
/// one decision, each booking expected at the version read.
pub fn cancel_all(hit: &[(String, Booking)], note: &str, now: DateTime<Utc>) -> Result<Decision, BookingError> {
    let mut decision = Decision::default();
    for (code_hash, booking) in hit {
        let cancel = booking::cancel_by_office(booking, code_hash, note, now)?;
        decision.events.extend(cancel.events);
        decision.expectations.extend(cancel.expectations);
    }
    Ok(decision)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::booking::{Channel, Personal, Sealed};
    use crate::catalogue::Text;
    use chrono::{NaiveDate, NaiveTime};

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn booking(location: &str, start: &str, status: Status) -> Booking {
        let start = at(start);
        Booking {
            version: 1,
            location: location.into(),
            service: "s".into(),
            start,
            end: start + chrono::Duration::minutes(20),
            units: vec![start, start + chrono::Duration::minutes(10)],
            contact: Personal::Sealed(Sealed {
                key: "k".into(),
                nonce: "n".into(),
                data: "d".into(),
            }),
            holder: "h".into(),
            channel: Channel::Online,
            status,
            erased: false,
            confirm_by: None,
            confirm_because_missed: false,
            placed_at: DateTime::UNIX_EPOCH,
            reconfirming: false,
            office_note: None,
        }
    }

    /// Wednesday 9 December 2026 from 13:00 Berlin time (12:00 UTC).
    fn afternoon() -> Closure {
        let day = NaiveDate::from_ymd_opt(2026, 12, 9).unwrap();
        Closure {
            from_time: NaiveTime::from_hms_opt(13, 0, 0),
            ..Closure::days(day, day, Text::new("Krankheit", "Illness"))
        }
    }

    #[test]
    fn the_admin_chooses_what_becomes_of_the_bookings_a_closure_meets() {
        let catalogue = crate::catalogue::demo();
        let location = catalogue.schedules.keys().next().unwrap().clone();
        let now = at("2026-12-09T07:00:00Z");
        let closure = afternoon();
        let schedule = &catalogue.schedules[&location];
        let met = |b: &Booking| meets(b, &location, now, |s, e| schedule.closure_between(s, e).is_some());
        let all = [
            booking(&location, "2026-12-09T12:00:00Z", Status::Confirmed),
            booking(&location, "2026-12-09T14:00:00Z", Status::Pending),
            booking(&location, "2026-12-09T11:50:00Z", Status::Confirmed), // ends 12:10 UTC: met
            booking(&location, "2026-12-09T11:00:00Z", Status::Confirmed), // the morning
            booking(&location, "2026-12-09T12:30:00Z", Status::Cancelled),
            booking("elsewhere", "2026-12-09T12:30:00Z", Status::Confirmed),
        ];
        let mut schedule_with = schedule.clone();
        schedule_with.closures.push(closure.clone());
        let hit: Vec<(String, Booking)> = all
            .iter()
            .filter(|b| meets(b, &location, now, |s, e| schedule_with.closure_between(s, e).is_some()))
            .enumerate()
            .map(|(i, b)| (format!("hash{i}"), b.clone()))
            .collect();
        assert!(
            all.iter().all(|b| !met(b)),
            "the schedule without the closure meets none"
        );
        assert_eq!(hit.len(), 3);

        let nothing_chosen = close(&catalogue, &location, &closure, &hit, None, now);
        assert_eq!(nothing_chosen, Err(ClosingError::BookingsAffected(3)));
        let empty = Choice::Cancel { note: "  ".into() };
        assert_eq!(
            close(&catalogue, &location, &closure, &hit, Some(&empty), now),
            Err(ClosingError::NoteMissing)
        );

        let keep = close(&catalogue, &location, &closure, &hit, Some(&Choice::Keep), now).unwrap();
        assert_eq!(keep.events.len(), 1, "the closure alone");
        assert_eq!(keep.expectations.len(), 3, "each kept booking as read");

        let note = Choice::Cancel {
            note: "Wegen Krankheit geschlossen.".into(),
        };
        let cancel = close(&catalogue, &location, &closure, &hit, Some(&note), now).unwrap();
        // The closure; per booking its cancellation, two units released, the holder's count.
        assert_eq!(cancel.events.len(), 1 + 3 * 4);
        assert_eq!(cancel.expectations.len(), 3);
        let cancelled: Vec<_> = cancel
            .events
            .iter()
            .filter(|e| e.event_type == "BookingCancelled")
            .map(|e| e.data["by_office"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(cancelled, vec!["Wegen Krankheit geschlossen."; 3]);

        let none = close(&catalogue, &location, &closure, &[], None, now).unwrap();
        assert_eq!(none.events[0].event_type, "ClosureAdded");
    }

    #[test]
    fn a_closure_is_checked_before_anything_is_decided() {
        let catalogue = crate::catalogue::demo();
        let location = catalogue.schedules.keys().next().unwrap().clone();
        let now = at("2026-12-09T07:00:00Z");
        assert_eq!(
            close(&catalogue, "nowhere", &afternoon(), &[], None, now),
            Err(ClosingError::UnknownLocation)
        );
        let backwards = Closure {
            until_time: NaiveTime::from_hms_opt(12, 0, 0),
            ..afternoon()
        };
        assert!(matches!(
            close(&catalogue, &location, &backwards, &[], None, now),
            Err(ClosingError::Invalid {
                field: "until_time",
                ..
            })
        ));
        assert_eq!(
            close(
                &catalogue,
                &location,
                &afternoon(),
                &[],
                None,
                at("2026-12-09T23:30:00Z")
            ),
            Err(ClosingError::InPast),
            "00:30 on the next day"
        );
        assert!(
            close(
                &catalogue,
                &location,
                &afternoon(),
                &[],
                None,
                at("2026-12-09T13:00:00Z")
            )
            .is_ok(),
            "the rest of an afternoon already begun"
        );
    }

    #[test]
    fn shorter_hours_and_lower_capacity_displace_the_bookings_placed_last() {
        let catalogue = crate::catalogue::demo();
        let before = &catalogue.schedules["buergerbuero"];
        // Monday 7 December 2026, Berlin = UTC + 1: 12:10 local is 11:10 UTC.
        let late = booking("buergerbuero", "2026-12-07T11:10:00Z", Status::Confirmed);
        let early = |n| {
            (
                format!("early{n}"),
                booking("buergerbuero", "2026-12-07T08:00:00Z", Status::Confirmed),
            )
        };
        let booked = vec![early(1), early(2), early(3), ("late".to_owned(), late)];
        assert!(
            displaced(before, &booked).unwrap().is_empty(),
            "today's schedule holds them all"
        );

        let mut shorter = before.clone();
        shorter.opening[0].close = NaiveTime::from_hms_opt(12, 0, 0).unwrap();
        let hit = displaced(&shorter, &booked).unwrap();
        assert_eq!(hit.iter().map(|(h, _)| h.as_str()).collect::<Vec<_>>(), ["late"]);

        let mut fewer = before.clone();
        fewer.opening[0].online_capacity = 1;
        let hit = displaced(&fewer, &booked).unwrap();
        assert_eq!(
            hit.iter().map(|(h, _)| h.as_str()).collect::<Vec<_>>(),
            ["early2", "early3"]
        );

        // A closure already decided on is not asked about again.
        let mut closed = before.clone();
        let day = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        closed.closures.push(Closure::days(day, day, Text::new("Umzug", "")));
        assert!(displaced(&closed, &booked).unwrap().is_empty());

        let catalogue_event = crate::event::Decision::default();
        assert_eq!(
            with_bookings(catalogue_event, &hit, None, at("2026-12-01T00:00:00Z")).unwrap_err(),
            ClosingError::BookingsAffected(2)
        );
    }
}
