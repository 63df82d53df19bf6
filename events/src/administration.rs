//! The rules an office's setup must keep, for an admin editing it in the browser and for an
//! operator importing a TOML file alike. Each rule names the field it is about, so a form can
//! point at it while the admin types (the app runs these same functions) and the server can
//! refuse with 422 naming it. A change that passes becomes one catalogue event.

use chrono::Timelike;

use crate::catalogue::{CaseKind, Catalogue, CatalogueEvent, Counter, Location, Service};
use crate::slots::{OpeningPeriod, Schedule};

/// What is wrong with an edit: the field (a path such as `opening[2].close`), a stable code and
/// a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Invalid {
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

fn invalid(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Invalid {
    Invalid {
        field: field.into(),
        code,
        message: message.into(),
    }
}

/// Longest text a name, address or note may have; descriptions and reasons are longer.
const SHORT_TEXT: usize = 200;
const LONG_TEXT: usize = 2_000;

/// Ids appear in URLs and stream names: lower-case letters, digits and `-`, at most 60.
pub fn is_slug(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 60
        && !id.starts_with('-')
        && id
            .chars()
            .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-')
}

fn check_id(id: &str) -> Result<(), Invalid> {
    if is_slug(id) {
        Ok(())
    } else {
        Err(invalid(
            "id",
            "invalid_id",
            format!("{id:?} is not usable as an id: use lower-case letters, digits and '-' (at most 60)"),
        ))
    }
}

fn check_text(field: &str, value: &str, required: bool, max: usize) -> Result<(), Invalid> {
    if required && value.trim().is_empty() {
        return Err(invalid(field, "missing", format!("{field} is needed")));
    }
    if value.chars().count() > max {
        return Err(invalid(
            field,
            "too_long",
            format!("{field} may have at most {max} characters"),
        ));
    }
    Ok(())
}

pub fn check_location(l: &Location) -> Result<(), Invalid> {
    check_id(&l.id)?;
    check_text("name.de", &l.name.de, true, SHORT_TEXT)?;
    check_text("name.en", &l.name.en, false, SHORT_TEXT)?;
    check_text("address", &l.address, true, SHORT_TEXT)?;
    check_text("accessibility.de", &l.accessibility.de, false, LONG_TEXT)?;
    check_text("accessibility.en", &l.accessibility.en, false, LONG_TEXT)?;
    check_text("directions.de", &l.directions.de, false, LONG_TEXT)?;
    check_text("directions.en", &l.directions.en, false, LONG_TEXT)?;
    if l.time_zone.parse::<chrono_tz::Tz>().is_err() {
        return Err(invalid(
            "time_zone",
            "unknown_time_zone",
            format!("{:?} is not a time zone name such as Europe/Berlin", l.time_zone),
        ));
    }
    Ok(())
}

/// A ticket prefix is part of ticket numbers (`A-017`) and their stream names: one to three
/// capital letters. Services that share one share a number range, so they are offered at the
/// same locations: a number then names its office.
pub fn check_service(c: &Catalogue, s: &Service) -> Result<(), Invalid> {
    check_id(&s.id)?;
    check_text("name.de", &s.name.de, true, SHORT_TEXT)?;
    check_text("name.en", &s.name.en, false, SHORT_TEXT)?;
    check_text("description.de", &s.description.de, false, LONG_TEXT)?;
    check_text("description.en", &s.description.en, false, LONG_TEXT)?;
    check_text("fee.de", &s.fee.de, false, SHORT_TEXT)?;
    check_text("fee.en", &s.fee.en, false, SHORT_TEXT)?;
    for (i, d) in s.documents.iter().enumerate() {
        check_text(&format!("documents[{i}].de"), &d.de, true, SHORT_TEXT)?;
        check_text(&format!("documents[{i}].en"), &d.en, false, SHORT_TEXT)?;
    }
    if !(1..=480).contains(&s.duration_minutes) {
        return Err(invalid(
            "duration_minutes",
            "invalid_duration",
            "the duration must be 1 to 480 minutes",
        ));
    }
    if s.locations.is_empty() {
        return Err(invalid(
            "locations",
            "missing",
            "offer the service at one location at least",
        ));
    }
    if let Some(unknown) = s.locations.iter().find(|l| !c.locations.contains_key(*l)) {
        return Err(invalid(
            "locations",
            "unknown_location",
            format!("there is no location {unknown:?}"),
        ));
    }
    let prefix = &s.ticket_prefix;
    if !(1..=3).contains(&prefix.len()) || !prefix.chars().all(|ch| ch.is_ascii_uppercase()) {
        return Err(invalid(
            "ticket_prefix",
            "invalid_ticket_prefix",
            "the ticket prefix is one to three capital letters (A–Z)",
        ));
    }
    let places = |service: &Service| {
        let mut l = service.locations.clone();
        l.sort();
        l.dedup();
        l
    };
    if let Some(other) = c
        .services
        .values()
        .find(|other| other.id != s.id && &other.ticket_prefix == prefix && places(other) != places(s))
    {
        return Err(invalid(
            "ticket_prefix",
            "duplicate_ticket_prefix",
            format!(
                "{prefix} already numbers the tickets of {:?} elsewhere; services share a prefix only where they share their locations",
                other.id
            ),
        ));
    }
    if let Some(link) = &s.online_elsewhere {
        if !link.starts_with("https://") || link.len() > SHORT_TEXT * 2 {
            return Err(invalid(
                "online_elsewhere",
                "invalid_link",
                "the link to the online service starts with https://",
            ));
        }
    }
    if s.leika_key
        .as_ref()
        .is_some_and(|k| k.len() != 14 || !k.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(invalid("leika_key", "invalid_leika_key", "a LeiKa key has 14 digits"));
    }
    if !s.bookable_online && !s.walk_in && s.online_elsewhere.is_none() {
        return Err(invalid(
            "online_elsewhere",
            "missing",
            "a service neither booked nor drawn as a ticket needs the link where it is handled",
        ));
    }
    Ok(())
}

/// A renewal reminder more than a year ahead of expiry would be forgotten before it helps.
pub const MAX_REMIND_WEEKS: u32 = 52;

pub fn check_case_kind(k: &CaseKind) -> Result<(), Invalid> {
    check_id(&k.id)?;
    check_text("name.de", &k.name.de, true, SHORT_TEXT)?;
    check_text("name.en", &k.name.en, false, SHORT_TEXT)?;
    if k.remind_weeks > MAX_REMIND_WEEKS {
        return Err(invalid(
            "remind_weeks",
            "invalid_remind_weeks",
            format!("a reminder goes at most {MAX_REMIND_WEEKS} weeks before expiry"),
        ));
    }
    Ok(())
}

/// Defines a kind of application, or changes one (a built-in one too: its name, its reminder).
/// Cases already opened keep their kind's id, so nothing else changes.
pub fn define_case_kind(k: CaseKind) -> Result<CatalogueEvent, Invalid> {
    check_case_kind(&k)?;
    Ok(CatalogueEvent::CaseKindDefined(k))
}

pub fn check_counter(c: &Catalogue, counter: &Counter) -> Result<(), Invalid> {
    check_id(&counter.id)?;
    check_text("name", &counter.name, true, 40)?;
    if !c.locations.contains_key(&counter.location) {
        return Err(invalid(
            "location",
            "unknown_location",
            format!("there is no location {:?}", counter.location),
        ));
    }
    if counter.services.is_empty() {
        return Err(invalid("services", "missing", "a counter serves one service at least"));
    }
    if let Some(s) = counter.services.iter().find(|s| {
        !c.services
            .get(*s)
            .is_some_and(|service| service.locations.contains(&counter.location))
    }) {
        return Err(invalid(
            "services",
            "unknown_service",
            format!("the service {s:?} is not offered at {:?}", counter.location),
        ));
    }
    Ok(())
}

/// Counters at `location`: the most appointments one unit of time can hold.
pub fn counters_at(c: &Catalogue, location: &str) -> u32 {
    c.counters.values().filter(|k| k.location == location).count() as u32
}

/// The rules of a schedule on its own; `counters` bounds the online capacity (None: not known
/// yet, as while a file is read before its counters).
pub fn check_schedule(s: &Schedule, counters: Option<u32>) -> Result<(), Invalid> {
    if s.tz().is_err() {
        return Err(invalid(
            "time_zone",
            "unknown_time_zone",
            format!("{:?} is not a time zone name such as Europe/Berlin", s.time_zone),
        ));
    }
    if !(5..=60).contains(&s.unit_minutes) || 60 % s.unit_minutes != 0 {
        return Err(invalid(
            "unit_minutes",
            "invalid_unit",
            "a unit divides an hour: 5, 6, 10, 12, 15, 20, 30 or 60 minutes",
        ));
    }
    for (i, o) in s.opening.iter().enumerate() {
        check_period(s, i, o, counters)?;
    }
    for (i, c) in s.closures.iter().enumerate() {
        if let Some((field, message)) = c.problem() {
            return Err(invalid(format!("closures[{i}].{field}"), "invalid_closure", message));
        }
    }
    if !(1..=366).contains(&s.booking_window_days) {
        return Err(invalid(
            "booking_window_days",
            "invalid_window",
            "citizens book 1 to 366 days ahead",
        ));
    }
    if s.min_lead_minutes > 60 * 24 * 30 {
        return Err(invalid(
            "min_lead_minutes",
            "invalid_lead_time",
            "the notice before an appointment is at most 30 days",
        ));
    }
    if s.release_time.is_some_and(|t| t.second() != 0 || t.nanosecond() != 0) {
        return Err(invalid(
            "release_time",
            "invalid_release_time",
            "the release time is a whole minute",
        ));
    }
    if s.staff_only_days > s.booking_window_days {
        return Err(invalid(
            "staff_only_days",
            "invalid_staff_days",
            "the days kept for staff lie within the booking window",
        ));
    }
    if !(1..=20).contains(&s.max_active_per_email) {
        return Err(invalid(
            "max_active_per_email",
            "invalid_limit",
            "one email address holds 1 to 20 appointments",
        ));
    }
    if s.confirm_within_minutes.is_some_and(|m| !(1..=60 * 24).contains(&m)) {
        return Err(invalid(
            "confirm_within_minutes",
            "invalid_cooling_off",
            "a booking waits 1 minute to 24 hours for its confirmation",
        ));
    }
    if let Some(rule) = s.no_show_rule {
        if !(1..=10).contains(&rule.after) {
            return Err(invalid(
                "confirm_after_no_shows",
                "invalid_no_show_count",
                "confirmation is asked after 1 to 10 missed appointments",
            ));
        }
        if !(1..=crate::attendance::LONGEST_PERIOD_DAYS).contains(&rule.within_days) {
            return Err(invalid(
                "no_show_days",
                "invalid_no_show_days",
                "missed appointments count for 1 to 365 days",
            ));
        }
    }
    if let Some(rule) = s.reconfirm {
        if !(1..=366).contains(&rule.booked_days_ahead) {
            return Err(invalid(
                "reconfirm_booked_days_ahead",
                "invalid_reconfirm_ahead",
                "reconfirmation is asked of appointments booked 1 to 366 days ahead",
            ));
        }
        if !(2..=14).contains(&rule.days_before) {
            return Err(invalid(
                "reconfirm_days_before",
                "invalid_reconfirm_days",
                "reconfirmation is asked 2 to 14 days before the appointment",
            ));
        }
    }
    if s.release_hold_minutes > crate::hold::MAX_HOLD_MINUTES {
        return Err(invalid(
            "release_hold_minutes",
            "invalid_hold",
            "a freed place is held at most 60 minutes",
        ));
    }
    Ok(())
}

fn check_period(s: &Schedule, i: usize, o: &OpeningPeriod, counters: Option<u32>) -> Result<(), Invalid> {
    let at = |field: &str| format!("opening[{i}].{field}");
    if !(1..=7).contains(&o.weekday) {
        return Err(invalid(
            at("weekday"),
            "invalid_weekday",
            "weekdays are 1 (Monday) to 7 (Sunday)",
        ));
    }
    if o.close <= o.open {
        return Err(invalid(
            at("close"),
            "ends_before_start",
            format!(
                "closing {} is not after opening {}",
                o.close.format("%H:%M"),
                o.open.format("%H:%M")
            ),
        ));
    }
    let on_grid = |t: chrono::NaiveTime| t.second() == 0 && t.minute().is_multiple_of(s.unit_minutes);
    if !on_grid(o.open) {
        return Err(invalid(
            at("open"),
            "off_grid",
            format!("opening must fall on the {}-minute grid", s.unit_minutes),
        ));
    }
    if !on_grid(o.close) {
        return Err(invalid(
            at("close"),
            "off_grid",
            format!("closing must fall on the {}-minute grid", s.unit_minutes),
        ));
    }
    if let (Some(from), Some(until)) = (o.valid_from, o.valid_until) {
        if until < from {
            return Err(invalid(
                at("valid_until"),
                "ends_before_start",
                format!("valid until {until} is before valid from {from}"),
            ));
        }
    }
    if let Some(other) = s.opening[..i]
        .iter()
        .find(|p| p.shares_days_with(o) && p.open < o.close && o.open < p.close)
    {
        return Err(invalid(
            at("open"),
            "overlapping_hours",
            format!(
                "{}–{} overlaps {}–{} on the same weekday and days; a break is two periods",
                o.open.format("%H:%M"),
                o.close.format("%H:%M"),
                other.open.format("%H:%M"),
                other.close.format("%H:%M")
            ),
        ));
    }
    if let Some(n) = counters {
        let booked = o.online_capacity + o.staff_capacity;
        if booked > n {
            let field = if o.staff_capacity > 0 {
                "staff_capacity"
            } else {
                "online_capacity"
            };
            return Err(invalid(
                at(field),
                "capacity_above_counters",
                format!("{booked} appointments at a time need {booked} counters; the location has {n}"),
            ));
        }
    }
    Ok(())
}

/// Defines (creates or replaces) a location.
pub fn define_location(l: Location) -> Result<CatalogueEvent, Invalid> {
    check_location(&l)?;
    Ok(CatalogueEvent::LocationDefined(l))
}

pub fn define_service(c: &Catalogue, s: Service) -> Result<CatalogueEvent, Invalid> {
    check_service(c, &s)?;
    // Counters keep serving what they served; a location dropped here must not leave a
    // counter calling a service no longer offered there.
    if let Some(k) = c
        .counters
        .values()
        .find(|k| k.services.contains(&s.id) && !s.locations.contains(&k.location))
    {
        return Err(invalid(
            "locations",
            "service_at_counter",
            format!(
                "counter {:?} at {:?} still serves it; change the counter first",
                k.id, k.location
            ),
        ));
    }
    Ok(CatalogueEvent::ServiceDefined(s))
}

pub fn define_counter(c: &Catalogue, counter: Counter) -> Result<CatalogueEvent, Invalid> {
    check_counter(c, &counter)?;
    Ok(CatalogueEvent::CounterDefined(counter))
}

/// Sets a location's hours and booking rules; the time zone is the location's and closures
/// already recorded stay (they are added and shown on their own).
pub fn set_schedule(c: &Catalogue, location: &str, mut schedule: Schedule) -> Result<CatalogueEvent, Invalid> {
    let l = c.locations.get(location).ok_or_else(|| {
        invalid(
            "location",
            "unknown_location",
            format!("there is no location {location:?}"),
        )
    })?;
    schedule.time_zone = l.time_zone.clone();
    schedule.closures = c
        .schedules
        .get(location)
        .map(|s| s.closures.clone())
        .unwrap_or_default();
    check_schedule(&schedule, Some(counters_at(c, location)))?;
    Ok(CatalogueEvent::ScheduleSet {
        location: location.to_owned(),
        schedule,
    })
}

/// Removes a counter. The hours' capacity must still fit the counters left, and every service
/// the location offers keeps a counter that calls it: the admin changes those first.
pub fn remove_counter(c: &Catalogue, id: &str) -> Result<CatalogueEvent, Invalid> {
    let counter = c
        .counters
        .get(id)
        .ok_or_else(|| invalid("id", "unknown_counter", format!("there is no counter {id:?}")))?;
    let mut after = c.clone();
    let event = CatalogueEvent::CounterRemoved { id: id.to_owned() };
    after.apply(&event);
    let left = counters_at(&after, &counter.location);
    if let Some(schedule) = after.schedules.get(&counter.location) {
        if let Err(e) = check_schedule(schedule, Some(left)) {
            return Err(invalid(
                "id",
                "capacity_above_counters",
                format!("{left} counters would be left, too few for the hours: {}", e.message),
            ));
        }
    }
    let orphaned = counter.services.iter().find(|s| {
        !after
            .counters
            .values()
            .any(|k| k.location == counter.location && k.services.contains(s))
    });
    if let Some(service) = orphaned {
        return Err(invalid(
            "id",
            "service_without_counter",
            format!("no other counter here calls {service:?}; give it to one first"),
        ));
    }
    Ok(event)
}

/// Withdraws a service everywhere; the counters that called it stop calling it. A counter that
/// would be left with nothing to call is changed first by the admin.
pub fn withdraw_service(c: &Catalogue, id: &str) -> Result<Vec<CatalogueEvent>, Invalid> {
    if !c.services.contains_key(id) {
        return Err(invalid("id", "unknown_service", format!("there is no service {id:?}")));
    }
    let mut events = vec![CatalogueEvent::ServiceWithdrawn { id: id.to_owned() }];
    for k in c.counters.values().filter(|k| k.services.iter().any(|s| s == id)) {
        if k.services.len() == 1 {
            return Err(invalid(
                "id",
                "service_at_counter",
                format!("counter {:?} calls only this service; give it another first", k.id),
            ));
        }
        events.push(CatalogueEvent::CounterDefined(Counter {
            services: k.services.iter().filter(|s| *s != id).cloned().collect(),
            ..k.clone()
        }));
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attendance::NoShowRule;
    use crate::catalogue::demo;
    use chrono::NaiveTime;

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn service(c: &Catalogue) -> Service {
        Service {
            id: "gewerbe-anmeldung".into(),
            ticket_prefix: "G".into(),
            ..c.services["meldebescheinigung"].clone()
        }
    }

    #[test]
    fn the_demo_keeps_every_rule() {
        let c = demo();
        for l in c.locations.values() {
            check_location(l).unwrap();
            check_schedule(&c.schedules[&l.id], Some(counters_at(&c, &l.id))).unwrap();
        }
        for s in c.services.values() {
            check_service(&c, s).unwrap();
        }
        for k in c.counters.values() {
            check_counter(&c, k).unwrap();
        }
    }

    #[test]
    fn each_broken_service_names_its_field() {
        let c = demo();
        type Break = fn(&mut Service);
        let cases: &[(Break, &str, &str)] = &[
            (|s| s.id = "Gewerbe Anmeldung".into(), "id", "invalid_id"),
            (|s| s.name.de = " ".into(), "name.de", "missing"),
            (|s| s.duration_minutes = 0, "duration_minutes", "invalid_duration"),
            (|s| s.duration_minutes = 481, "duration_minutes", "invalid_duration"),
            (
                |s| s.locations = vec!["atlantis".into()],
                "locations",
                "unknown_location",
            ),
            (|s| s.locations.clear(), "locations", "missing"),
            (
                |s| s.ticket_prefix = "a".into(),
                "ticket_prefix",
                "invalid_ticket_prefix",
            ),
            (
                |s| s.ticket_prefix = "A-".into(),
                "ticket_prefix",
                "invalid_ticket_prefix",
            ),
            (
                |s| s.ticket_prefix = "K".into(),
                "ticket_prefix",
                "duplicate_ticket_prefix",
            ),
            (|s| s.documents[0].de.clear(), "documents[0].de", "missing"),
            (
                |s| s.online_elsewhere = Some("javascript:alert(1)".into()),
                "online_elsewhere",
                "invalid_link",
            ),
            (
                |s| {
                    s.bookable_online = false;
                    s.walk_in = false;
                },
                "online_elsewhere",
                "missing",
            ),
        ];
        for (i, (break_it, field, code)) in cases.iter().enumerate() {
            let mut s = service(&c);
            break_it(&mut s);
            let e = define_service(&c, s).unwrap_err();
            assert_eq!((e.field.as_str(), e.code), (*field, *code), "case {i}: {e}");
        }
        // Sharing a prefix within the location is how services share a queue.
        let mut same_queue = service(&c);
        same_queue.ticket_prefix = "C".into();
        define_service(&c, same_queue).unwrap();
    }

    #[test]
    fn a_service_a_counter_serves_cannot_leave_the_counters_location() {
        let c = demo();
        let mut moved = c.services["reisepass"].clone();
        moved.locations = vec!["kfz-zulassung".into()];
        moved.ticket_prefix = "K".into();
        let e = define_service(&c, moved).unwrap_err();
        assert_eq!(e.code, "service_at_counter");
    }

    #[test]
    fn each_broken_schedule_names_its_field() {
        let c = demo();
        type Break = fn(&mut Schedule);
        let cases: &[(Break, &str, &str)] = &[
            (
                |s| s.opening[0].close = s.opening[0].open,
                "opening[0].close",
                "ends_before_start",
            ),
            (
                |s| s.opening[1].close = t(7, 0),
                "opening[1].close",
                "ends_before_start",
            ),
            (|s| s.opening[1].open = t(12, 0), "opening[1].open", "overlapping_hours"),
            (|s| s.opening[2].open = t(8, 5), "opening[2].open", "off_grid"),
            (|s| s.opening[0].weekday = 0, "opening[0].weekday", "invalid_weekday"),
            (
                |s| s.opening[3].online_capacity = 5,
                "opening[3].online_capacity",
                "capacity_above_counters",
            ),
            (
                |s| {
                    s.opening[0].valid_from = chrono::NaiveDate::from_ymd_opt(2027, 1, 1);
                    s.opening[0].valid_until = chrono::NaiveDate::from_ymd_opt(2026, 12, 31);
                },
                "opening[0].valid_until",
                "ends_before_start",
            ),
            (
                |s| {
                    // New Monday hours from 2027 overlap the old ones still valid then.
                    let mut later = s.opening[0].clone();
                    later.valid_from = chrono::NaiveDate::from_ymd_opt(2027, 1, 1);
                    s.opening[0].valid_until = chrono::NaiveDate::from_ymd_opt(2027, 1, 4);
                    s.opening.push(later);
                },
                "opening[8].open",
                "overlapping_hours",
            ),
            (|s| s.unit_minutes = 0, "unit_minutes", "invalid_unit"),
            (|s| s.unit_minutes = 7, "unit_minutes", "invalid_unit"),
            (|s| s.booking_window_days = 0, "booking_window_days", "invalid_window"),
            (|s| s.max_active_per_email = 0, "max_active_per_email", "invalid_limit"),
            (
                |s| s.confirm_within_minutes = Some(0),
                "confirm_within_minutes",
                "invalid_cooling_off",
            ),
            (
                |s| {
                    s.no_show_rule = Some(NoShowRule {
                        after: 0,
                        within_days: 90,
                    })
                },
                "confirm_after_no_shows",
                "invalid_no_show_count",
            ),
            (
                |s| {
                    s.no_show_rule = Some(NoShowRule {
                        after: 2,
                        within_days: 366,
                    })
                },
                "no_show_days",
                "invalid_no_show_days",
            ),
            (|s| s.release_hold_minutes = 61, "release_hold_minutes", "invalid_hold"),
            (
                |s| {
                    s.reconfirm = Some(crate::booking::ReconfirmRule {
                        booked_days_ahead: 14,
                        days_before: 1,
                    })
                },
                "reconfirm_days_before",
                "invalid_reconfirm_days",
            ),
        ];
        for (i, (break_it, field, code)) in cases.iter().enumerate() {
            let mut s = c.schedules["buergerbuero"].clone();
            break_it(&mut s);
            let e = set_schedule(&c, "buergerbuero", s).unwrap_err();
            assert_eq!((e.field.as_str(), e.code), (*field, *code), "case {i}: {e}");
        }
        // New Monday hours from the day after the old ones end: no overlap.
        let mut changed = c.schedules["buergerbuero"].clone();
        let mut later = changed.opening[0].clone();
        later.open = t(7, 0);
        later.close = t(12, 0);
        later.valid_from = chrono::NaiveDate::from_ymd_opt(2027, 1, 1);
        changed.opening[0].valid_until = chrono::NaiveDate::from_ymd_opt(2026, 12, 31);
        changed.opening.push(later);
        set_schedule(&c, "buergerbuero", changed).unwrap();
        // Four counters hold four at a time.
        let mut full = c.schedules["buergerbuero"].clone();
        full.opening[3].online_capacity = 4;
        set_schedule(&c, "buergerbuero", full).unwrap();
        assert_eq!(
            set_schedule(&c, "atlantis", c.schedules["buergerbuero"].clone())
                .unwrap_err()
                .code,
            "unknown_location"
        );
    }

    #[test]
    fn a_counter_goes_only_when_the_hours_and_its_services_do_without_it() {
        let mut c = demo();
        assert_eq!(
            remove_counter(&c, "buergerbuero-9").unwrap_err().code,
            "unknown_counter"
        );
        // Four counters for three online places: the pick-up counter can go.
        c.apply(&remove_counter(&c, "buergerbuero-4").unwrap());
        assert_eq!(counters_at(&c, "buergerbuero"), 3);
        // Three places need three counters.
        let e = remove_counter(&c, "buergerbuero-3").unwrap_err();
        assert_eq!((e.field.as_str(), e.code), ("id", "capacity_above_counters"), "{e}");
        // The only counter calling a service stays until another one calls it.
        let mut c = demo();
        for n in 1..=3 {
            let k = c.counters[&format!("buergerbuero-{n}")].clone();
            let services = k
                .services
                .iter()
                .filter(|s| *s != "ausweis-abholung")
                .cloned()
                .collect();
            c.apply(&CatalogueEvent::CounterDefined(Counter { services, ..k }));
        }
        let e = remove_counter(&c, "buergerbuero-4").unwrap_err();
        assert_eq!(e.code, "service_without_counter", "{e}");
        assert!(e.message.contains("ausweis-abholung"), "{e}");
    }

    #[test]
    fn a_new_schedule_keeps_the_zone_and_the_closures_recorded() {
        let mut c = demo();
        let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 24).unwrap();
        c.apply(&CatalogueEvent::ClosureAdded {
            location: "buergerbuero".into(),
            closure: crate::slots::Closure::days(day, day, crate::catalogue::Text::new("Heiligabend", "")),
        });
        let mut s = c.schedules["buergerbuero"].clone();
        s.time_zone = "Asia/Tokyo".into();
        s.closures.clear();
        s.min_lead_minutes = 120;
        let CatalogueEvent::ScheduleSet { schedule, .. } = set_schedule(&c, "buergerbuero", s).unwrap() else {
            panic!("not a schedule");
        };
        assert_eq!(schedule.time_zone, "Europe/Berlin");
        assert_eq!(schedule.closures.len(), 1);
        assert_eq!(schedule.min_lead_minutes, 120);
    }

    #[test]
    fn a_withdrawn_service_leaves_the_counters_that_called_it() {
        let c = demo();
        let events = withdraw_service(&c, "reisepass").unwrap();
        // The service, and the three counters at the citizen office that called it.
        assert_eq!(events.len(), 4);
        let mut after = c.clone();
        events.iter().for_each(|e| after.apply(e));
        assert!(after
            .counters
            .values()
            .all(|k| !k.services.contains(&"reisepass".to_owned())));
        // Counter 4 calls only pick-ups: the admin gives it another service first.
        assert_eq!(
            withdraw_service(&c, "ausweis-abholung").unwrap_err().code,
            "service_at_counter"
        );
        assert_eq!(withdraw_service(&c, "atlantis").unwrap_err().code, "unknown_service");
    }

    #[test]
    fn counters_serve_only_what_their_location_offers() {
        let c = demo();
        let mut k = c.counters["buergerbuero-1"].clone();
        k.id = "buergerbuero-9".into();
        define_counter(&c, k.clone()).unwrap();
        k.services.push("kfz-abmeldung".into());
        assert_eq!(define_counter(&c, k.clone()).unwrap_err().field, "services");
        k.services.clear();
        assert_eq!(define_counter(&c, k.clone()).unwrap_err().code, "missing");
        k.location = "atlantis".into();
        assert_eq!(define_counter(&c, k).unwrap_err().code, "unknown_location");
    }

    #[test]
    fn locations_need_a_name_an_address_and_a_real_zone() {
        let c = demo();
        let mut l = c.locations["buergerbuero"].clone();
        l.time_zone = "Mars/Olympus".into();
        assert_eq!(define_location(l.clone()).unwrap_err().field, "time_zone");
        l.time_zone = "Europe/Berlin".into();
        l.address.clear();
        assert_eq!(define_location(l).unwrap_err().field, "address");
    }
}
