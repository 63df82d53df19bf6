//! Who changed how the offices run, and when: every change to the catalogue (locations,
//! services, hours, counters, closures), to staff accounts and to devices, with its actor and
//! what it was before and after, read from the log. Appointments and tickets are not here: they
//! are the citizens' business, and their own streams keep their history.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::catalogue::{Catalogue, CatalogueEvent, STREAM as CATALOGUE};
use crate::event::{decode, DecodeError, RecordedEvent};
use crate::slots::{Closure, Schedule};
use crate::staff::{access::AccessEvent, StaffEvent};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub enum Area {
    /// Locations, services, counters, the municipality.
    Offices,
    /// Opening hours, capacity and booking rules.
    Hours,
    Closures,
    Accounts,
    Devices,
    /// A clerk opened the contact details of an appointment on the day's list.
    Contacts,
}

impl Area {
    pub fn parse(s: &str) -> Option<Area> {
        [
            Area::Offices,
            Area::Hours,
            Area::Closures,
            Area::Accounts,
            Area::Devices,
            Area::Contacts,
        ]
        .into_iter()
        .find(|a| a.name() == s)
    }

    pub fn name(self) -> &'static str {
        match self {
            Area::Offices => "offices",
            Area::Hours => "hours",
            Area::Closures => "closures",
            Area::Accounts => "accounts",
            Area::Devices => "devices",
            Area::Contacts => "contacts",
        }
    }
}

/// One change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Change {
    pub position: i64,
    pub at: DateTime<Utc>,
    /// `staff:<name>` for a person, `system:<job>` for the operator's tools.
    pub actor: String,
    pub area: Area,
    /// What was changed: a location, service, counter, account or device id.
    pub subject: String,
    /// The event's name, e.g. `ScheduleSet`.
    pub what: String,
    /// Its state before, one fact per line; empty when it was new.
    pub before: String,
    pub after: String,
}

/// Which changes to list: every field optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub area: Option<Area>,
    /// The actor contains this (case-insensitive).
    pub actor: Option<String>,
    /// First and last day (UTC dates of the change), inclusive.
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

impl Filter {
    fn keeps(&self, c: &Change) -> bool {
        let day = c.at.date_naive();
        self.area.is_none_or(|a| a == c.area)
            && self
                .actor
                .as_deref()
                .is_none_or(|a| c.actor.to_lowercase().contains(&a.to_lowercase()))
            && self.from.is_none_or(|from| from <= day)
            && self.to.is_none_or(|to| day <= to)
    }
}

/// The changes so far, with the catalogue as it stood after each (to say what came before).
#[derive(Debug, Default)]
pub struct Audit {
    changes: Vec<Change>,
    catalogue: Catalogue,
    roles: BTreeMap<String, String>,
}

impl Audit {
    pub fn apply(&mut self, e: &RecordedEvent) -> Result<(), DecodeError> {
        let change = |area, subject: &str, before: String, after: String| Change {
            position: e.position,
            at: e.metadata.requested_at.unwrap_or(e.recorded_at),
            actor: e.metadata.actor.clone().unwrap_or_else(|| "unknown".into()),
            area,
            subject: subject.to_owned(),
            what: e.event_type.clone(),
            before,
            after,
        };
        if e.stream == CATALOGUE {
            let event: CatalogueEvent = decode(e)?;
            let c = &self.catalogue;
            let entry = match &event {
                CatalogueEvent::LocationDefined(l) => change(
                    Area::Offices,
                    &l.id,
                    c.locations.get(&l.id).map(describe_location).unwrap_or_default(),
                    describe_location(l),
                ),
                CatalogueEvent::ServiceDefined(s) => change(
                    Area::Offices,
                    &s.id,
                    c.services.get(&s.id).map(describe_service).unwrap_or_default(),
                    describe_service(s),
                ),
                CatalogueEvent::ServiceWithdrawn { id } => change(
                    Area::Offices,
                    id,
                    c.services.get(id).map(describe_service).unwrap_or_default(),
                    String::new(),
                ),
                CatalogueEvent::ScheduleSet { location, schedule } => change(
                    Area::Hours,
                    location,
                    c.schedules.get(location).map(describe_schedule).unwrap_or_default(),
                    describe_schedule(schedule),
                ),
                CatalogueEvent::CounterDefined(k) => change(
                    Area::Offices,
                    &k.id,
                    c.counters
                        .get(&k.id)
                        .map(|old| format!("{} ({})", old.name, old.services.join(", ")))
                        .unwrap_or_default(),
                    format!("{} ({})", k.name, k.services.join(", ")),
                ),
                CatalogueEvent::CounterRemoved { id } => change(
                    Area::Offices,
                    id,
                    c.counters
                        .get(id)
                        .map(|old| format!("{} ({})", old.name, old.services.join(", ")))
                        .unwrap_or_default(),
                    String::new(),
                ),
                CatalogueEvent::ClosureAdded { location, closure } => {
                    change(Area::Closures, location, String::new(), describe_closure(closure))
                }
                CatalogueEvent::MunicipalityDefined(m) => change(
                    Area::Offices,
                    "municipality",
                    c.municipality.as_ref().map(|old| old.name.clone()).unwrap_or_default(),
                    m.name.clone(),
                ),
                CatalogueEvent::CaseKindDefined(k) => {
                    let shown = |k: &crate::catalogue::CaseKind| format!("{} ({} weeks)", k.name.de, k.remind_weeks);
                    change(
                        Area::Offices,
                        &k.id,
                        c.case_kind(&k.id).as_ref().map(shown).unwrap_or_default(),
                        shown(k),
                    )
                }
            };
            self.catalogue.apply(&event);
            self.changes.push(entry);
        } else if let Some(username) = e.stream.strip_prefix("staff-") {
            let (before, after) = match decode(e)? {
                StaffEvent::AccountCreated { role, .. } => {
                    let role = format!("role {role:?}").to_lowercase();
                    let before = self.roles.insert(username.to_owned(), role.clone()).unwrap_or_default();
                    (before, role)
                }
                // Never the hash: only that a new password was set.
                StaffEvent::PasswordSet { .. } => (String::new(), "new password set".into()),
                StaffEvent::AccountDeactivated => ("active".into(), "deactivated".into()),
                StaffEvent::AccountReactivated => ("deactivated".into(), "active".into()),
            };
            self.changes.push(change(Area::Accounts, username, before, after));
        } else if e.stream.starts_with("booking-") && e.event_type == "ContactShown" {
            if let crate::booking::BookingEvent::ContactShown { location, start, .. } = decode(e)? {
                // The appointment by place and time: the audit never names a citizen.
                let what = format!("appointment {}", start.format("%Y-%m-%d %H:%M UTC"));
                self.changes
                    .push(change(Area::Contacts, &location, String::new(), what));
            }
        } else if let Some(id) = e.stream.strip_prefix("device-") {
            match decode(e)? {
                AccessEvent::DeviceRegistered { location, role, .. } => {
                    let after = format!("{role:?} at {location}").to_lowercase();
                    self.changes.push(change(Area::Devices, id, String::new(), after));
                }
                AccessEvent::DeviceRevoked => {
                    self.changes
                        .push(change(Area::Devices, id, "active".into(), "revoked".into()));
                }
                AccessEvent::SessionStarted { .. } | AccessEvent::SessionEnded => {}
            }
        }
        Ok(())
    }

    /// The changes `filter` keeps, newest first.
    pub fn list(&self, filter: &Filter) -> Vec<Change> {
        self.changes.iter().rev().filter(|c| filter.keeps(c)).cloned().collect()
    }
}

fn describe_location(l: &crate::catalogue::Location) -> String {
    format!("{}\n{}\n{}", l.name.de, l.address, l.time_zone)
}

fn describe_service(s: &crate::catalogue::Service) -> String {
    let online = if s.bookable_online { "online" } else { "not online" };
    format!(
        "{}\n{} min, {online}, prefix {}\nat {}",
        s.name.de,
        s.duration_minutes,
        s.ticket_prefix,
        s.locations.join(", ")
    )
}

const WEEKDAYS: [&str; 7] = ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"];

/// Hours and rules, one line each: what a person compares before and after.
fn describe_schedule(s: &Schedule) -> String {
    let mut lines: Vec<String> = s
        .opening
        .iter()
        .map(|p| {
            let day = WEEKDAYS.get(usize::from(p.weekday.max(1)) - 1).copied().unwrap_or("?");
            let valid = match (p.valid_from, p.valid_until) {
                (None, None) => String::new(),
                (from, until) => format!(
                    ", {}–{}",
                    from.map(|d| d.to_string()).unwrap_or_default(),
                    until.map(|d| d.to_string()).unwrap_or_default()
                ),
            };
            let staff = match p.staff_capacity {
                0 => String::new(),
                n => format!(", {n} staff"),
            };
            format!(
                "{day} {}–{} ({} online{staff}{valid})",
                p.open.format("%H:%M"),
                p.close.format("%H:%M"),
                p.online_capacity
            )
        })
        .collect();
    lines.push(format!(
        "window {} days, lead {} min, {} per email",
        s.booking_window_days, s.min_lead_minutes, s.max_active_per_email
    ));
    lines.extend(s.closures.iter().map(|c| format!("closed {}", describe_closure(c))));
    lines.join("\n")
}

fn describe_closure(c: &Closure) -> String {
    let at = |d: NaiveDate, t: Option<chrono::NaiveTime>| match t {
        Some(t) => format!("{d} {}", t.format("%H:%M")),
        None => d.to_string(),
    };
    format!(
        "{} – {}: {}",
        at(c.from, c.from_time),
        at(c.to, c.until_time),
        c.reason.de
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{encode, Metadata};

    fn recorded(position: i64, event: crate::event::NewEvent, actor: &str, at: &str) -> RecordedEvent {
        let mut e = event.recorded(position, position, at.parse().unwrap());
        e.metadata = Metadata {
            actor: Some(actor.into()),
            ..Metadata::default()
        };
        e
    }

    #[test]
    fn a_change_of_hours_shows_before_and_after_with_its_actor() {
        let demo = crate::catalogue::demo();
        let mut audit = Audit::default();
        let mut position = 0;
        for event in demo.to_events() {
            position += 1;
            audit
                .apply(&recorded(
                    position,
                    event.to_new_event(),
                    "system:import-config",
                    "2026-11-01T08:00:00Z",
                ))
                .unwrap();
        }
        let (location, schedule) = demo.schedules.iter().next().unwrap();
        let mut shorter = schedule.clone();
        shorter.opening[0].close = chrono::NaiveTime::from_hms_opt(11, 0, 0).unwrap();
        let set = CatalogueEvent::ScheduleSet {
            location: location.clone(),
            schedule: shorter,
        };
        audit
            .apply(&recorded(
                position + 1,
                set.to_new_event(),
                "staff:root",
                "2026-12-01T09:00:00Z",
            ))
            .unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 12, 9).unwrap();
        let closed = CatalogueEvent::ClosureAdded {
            location: location.clone(),
            closure: Closure::days(day, day, crate::catalogue::Text::new("Betriebsausflug", "")),
        };
        audit
            .apply(&recorded(
                position + 2,
                closed.to_new_event(),
                "staff:root",
                "2026-12-01T09:05:00Z",
            ))
            .unwrap();
        let account = encode(
            "staff-anna",
            1,
            &StaffEvent::AccountCreated {
                username: "anna".into(),
                role: crate::staff::Role::Desk,
                password_hash: "x".into(),
            },
        );
        audit
            .apply(&recorded(position + 3, account, "system:cli", "2026-12-01T09:10:00Z"))
            .unwrap();

        let by_root = audit.list(&Filter {
            actor: Some("ROOT".into()),
            ..Filter::default()
        });
        assert_eq!(by_root.len(), 2);
        let (closure, hours) = (&by_root[0], &by_root[1]);
        assert_eq!((hours.area, hours.what.as_str()), (Area::Hours, "ScheduleSet"));
        assert_ne!(hours.before, hours.after);
        let changed: Vec<_> = hours.after.lines().filter(|l| !hours.before.contains(l)).collect();
        assert_eq!(changed.len(), 1, "one period shorter: {changed:?}");
        assert!(changed[0].contains("–11:00"), "{changed:?}");
        assert_eq!(closure.area, Area::Closures);
        assert_eq!(closure.after, "2026-12-09 – 2026-12-09: Betriebsausflug");
        assert!(closure.before.is_empty());

        let december = Filter {
            from: Some(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()),
            ..Filter::default()
        };
        assert_eq!(audit.list(&december).len(), 3, "the import in November is not");
        let accounts = Filter {
            area: Some(Area::Accounts),
            ..Filter::default()
        };
        assert_eq!(audit.list(&accounts)[0].after, "role desk");
        assert_eq!(Area::parse("closures"), Some(Area::Closures));
        assert_eq!(Area::parse("bookings"), None);
    }
}
