//! Evaluation figures, defined on events so any period can be recomputed from the log.
//!
//! The projection keeps one small fact per booking and per ticket (no personal data, no staff:
//! the works council forbids figures about individual employees, so neither the actor of an
//! event nor the counter is kept). [`summarise`] turns the facts of a period into figures.
//!
//! Times come from the events' own fields, or for facts without one (a booking's placement)
//! from the command's `requested_at`: a replayed or simulated history counts at the time it
//! happened, not the time it was written.
//!
//! Definitions (also in the dashboard's help and the open-data dictionary):
//! - median: middle value, the mean of the two middle ones for an even count;
//!   p90: nearest rank, the value at rank ⌈0.9·n⌉ of the sorted values.
//! - waiting time: ticket issued (walk-in or check-in) → first call; service time: call or start
//!   of service → finish; throughput time: ticket issued → finish. In minutes.
//! - no-show: an appointment in the past, not cancelled, never checked in, or checked in and
//!   marked no-show at the counter. Rate: no-shows / appointments due (past, not cancelled).
//! - abandoned: a walk-in ticket of a past day never called, or called and marked no-show.
//! - online share: checked-in appointments / (checked-in appointments + walk-ins).
//! - punctuality: share of checked-in appointments first called no later than 5 minutes after
//!   the booked start.
//! - slot utilisation: booked places / offered online places of the period's opening hours.
//! - refilled: a place a citizen cancelled that a later booking took (one starting at the same
//!   time at the same office). Rate: refilled / cancellations by citizens: how much of what the
//!   no-show loop frees reaches someone else.

use std::collections::{BTreeMap, HashMap, VecDeque};

use chrono::{DateTime, Datelike, Duration, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::booking::{unit_of_stream, BookingEvent, Channel, UnitEvent};
use crate::event::{decode, DecodeError, RecordedEvent};
use crate::queue::{self, Kind, NumberEvent, TicketEvent};

/// An appointment as statistics see it.
#[derive(Debug, Clone, PartialEq)]
pub struct BookingFact {
    pub location: String,
    pub service: String,
    pub start: DateTime<Utc>,
    pub places: u32,
    pub placed_at: DateTime<Utc>,
    pub channel: Channel,
    pub cancelled_lead_minutes: Option<i64>,
    /// Cancelled by the office (it closed that time), not by the citizen.
    pub cancelled_by_office: bool,
    pub checked_in: bool,
    /// The appointment's ticket id, once checked in.
    pub ticket: Option<String>,
    /// Cancelled by the citizen, and a later booking took the place.
    pub refilled: bool,
}

/// A ticket as statistics see it.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketFact {
    pub location: String,
    pub service: String,
    pub day: NaiveDate,
    pub kind: Kind,
    /// Walk-ins: issued at a kiosk or by the desk. Appointments: online.
    pub channel: Channel,
    pub issued_at: DateTime<Utc>,
    pub slot_start: Option<DateTime<Utc>>,
    pub first_call: Option<DateTime<Utc>>,
    pub serving_since: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub no_show: bool,
    pub sent_away: Option<crate::queue::SentAwayReason>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    pub bookings: HashMap<String, BookingFact>,
    pub tickets: HashMap<String, TicketFact>,
    /// The last check-in (position, booking stream): the check-in decision appends the
    /// booking's `BookingCheckedIn` and the ticket's `TicketIssued` together, in this order, so
    /// the ticket at the next position is the booking's (its number is not known before).
    last_check_in: Option<(i64, String)>,
    /// Places citizens cancelled, by location and start, oldest first, until a booking takes
    /// them again (see `refilled`).
    freed: HashMap<(String, DateTime<Utc>), VecDeque<String>>,
}

fn when(e: &RecordedEvent) -> DateTime<Utc> {
    e.metadata.requested_at.unwrap_or(e.recorded_at)
}

impl Stats {
    pub fn apply(&mut self, e: &RecordedEvent) -> Result<(), DecodeError> {
        if e.stream.starts_with("booking-") {
            match decode::<BookingEvent>(e)? {
                BookingEvent::BookingPlaced {
                    location,
                    service,
                    start,
                    units,
                    channel,
                    ..
                } => {
                    self.bookings.insert(
                        e.stream.clone(),
                        BookingFact {
                            location,
                            service,
                            start,
                            places: units.len() as u32,
                            placed_at: when(e),
                            channel,
                            cancelled_lead_minutes: None,
                            cancelled_by_office: false,
                            checked_in: false,
                            ticket: None,
                            refilled: false,
                        },
                    );
                }
                BookingEvent::BookingRescheduled { start, units, .. } => {
                    if let Some(b) = self.bookings.get_mut(&e.stream) {
                        b.start = start;
                        b.places = units.len() as u32;
                    }
                }
                BookingEvent::BookingCancelled {
                    lead_minutes,
                    by_office,
                } => {
                    if let Some(b) = self.bookings.get_mut(&e.stream) {
                        b.cancelled_lead_minutes = Some(lead_minutes);
                        b.cancelled_by_office = by_office.is_some();
                    }
                }
                BookingEvent::BookingCheckedIn { .. } => {
                    if let Some(b) = self.bookings.get_mut(&e.stream) {
                        b.checked_in = true;
                        self.last_check_in = Some((e.position, e.stream.clone()));
                    }
                }
                // Never confirmed: it was never an appointment.
                BookingEvent::BookingExpired { .. } => {
                    self.bookings.remove(&e.stream);
                }
                BookingEvent::BookingConfirmed { .. }
                | BookingEvent::ReconfirmationAsked { .. }
                | BookingEvent::PersonalDataErased { .. }
                | BookingEvent::ContactShown { .. } => {}
            }
        } else if let Some((location, unit)) = unit_of_stream(&e.stream) {
            self.apply_unit(location, unit, e)?;
        } else if let Some((location, day, prefix)) = queue::parse_numbers_stream(&e.stream) {
            let NumberEvent::TicketIssued {
                service,
                kind,
                slot_start,
                issued_at,
                ..
            } = decode::<NumberEvent>(e)?;
            let channel = match kind {
                Kind::Appointment => Channel::Online,
                _ if e.metadata.actor.as_deref().is_some_and(|a| a.starts_with("device:")) => Channel::Kiosk,
                _ => Channel::Desk,
            };
            let id = queue::ticket_id(location, day, &queue::label(prefix, e.version));
            if kind == Kind::Appointment {
                if let Some((_, booking)) = self.last_check_in.take().filter(|(p, _)| *p == e.position - 1) {
                    if let Some(b) = self.bookings.get_mut(&booking) {
                        b.ticket = Some(id.clone());
                    }
                }
            }
            self.tickets.insert(
                id,
                TicketFact {
                    location: location.to_owned(),
                    service,
                    day,
                    kind,
                    channel,
                    issued_at,
                    slot_start,
                    first_call: None,
                    serving_since: None,
                    finished_at: None,
                    no_show: false,
                    sent_away: None,
                },
            );
        } else if let Some(id) = e.stream.strip_prefix("ticket-") {
            let event = decode::<TicketEvent>(e)?;
            let Some(t) = self.tickets.get_mut(id) else {
                return Ok(());
            };
            match event {
                TicketEvent::TicketCalled { at, .. } => {
                    t.first_call.get_or_insert(at);
                    t.serving_since = Some(at);
                }
                TicketEvent::ServiceStarted { at } => t.serving_since = Some(at),
                TicketEvent::ServiceFinished { at } => t.finished_at = Some(at),
                TicketEvent::TicketNoShow { .. } => t.no_show = true,
                TicketEvent::NoShowUndone { .. } => t.no_show = false,
                TicketEvent::SentAway { reason, .. } => t.sent_away = Some(reason),
                TicketEvent::TicketTransferred { service, .. } => t.service = service,
                TicketEvent::TicketParked { .. } => t.serving_since = None,
                TicketEvent::TicketRecalled { .. } | TicketEvent::ContactErased { .. } => {}
            }
        }
        Ok(())
    }
}

impl Stats {
    /// A cancelled booking's release frees its place; a booking starting there later takes it.
    /// Only the first unit counts, so a place is counted once however long the service.
    fn apply_unit(&mut self, location: &str, unit: DateTime<Utc>, e: &RecordedEvent) -> Result<(), DecodeError> {
        let key = (location.to_owned(), unit);
        match decode::<UnitEvent>(e)? {
            UnitEvent::UnitReleased { booking } => {
                let freed = self
                    .bookings
                    .get(&booking)
                    .is_some_and(|b| b.start == unit && b.cancelled_lead_minutes.is_some() && !b.cancelled_by_office);
                if freed {
                    self.freed.entry(key).or_default().push_back(booking);
                    if self.freed.len().is_multiple_of(256) {
                        self.freed.retain(|(_, start), _| *start > e.recorded_at);
                    }
                }
            }
            UnitEvent::UnitTaken { booking } => {
                if self.bookings.get(&booking).is_none_or(|b| b.start != unit) {
                    return Ok(());
                }
                let Some(waiting) = self.freed.get_mut(&key) else {
                    return Ok(());
                };
                if let Some(freed) = waiting.pop_front() {
                    if let Some(b) = self.bookings.get_mut(&freed) {
                        b.refilled = true;
                    }
                }
                if waiting.is_empty() {
                    self.freed.remove(&key);
                }
            }
        }
        Ok(())
    }
}

/// Which facts a figure covers: local days `from..=to`, optionally one location and service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    pub from: NaiveDate,
    pub to: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

impl Filter {
    /// The period of the same length just before this one (for comparison).
    pub fn previous(&self) -> Filter {
        let days = (self.to - self.from).num_days() + 1;
        Filter {
            from: self.from - Duration::days(days),
            to: self.from - Duration::days(1),
            ..self.clone()
        }
    }

    fn covers(&self, location: &str, service: &str, day: NaiveDate) -> bool {
        day >= self.from
            && day <= self.to
            && self.location.as_deref().is_none_or(|l| l == location)
            && self.service.as_deref().is_none_or(|s| s == service)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// Cases the figure is based on.
    pub n: u32,
    pub median: Option<f64>,
    pub p90: Option<f64>,
}

impl Spread {
    pub fn of(mut values: Vec<f64>) -> Spread {
        values.sort_by(f64::total_cmp);
        let n = values.len();
        if n == 0 {
            return Spread::default();
        }
        let median = if n % 2 == 1 {
            values[n / 2]
        } else {
            (values[n / 2 - 1] + values[n / 2]) / 2.0
        };
        let rank = (n * 9).div_ceil(10).max(1);
        Spread {
            n: n as u32,
            median: Some(round1(median)),
            p90: Some(round1(values[rank - 1])),
        }
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn share(part: u32, whole: u32) -> Option<f64> {
    (whole > 0).then(|| (f64::from(part) / f64::from(whole) * 1000.0).round() / 1000.0)
}

fn minutes(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_seconds() as f64 / 60.0
}

/// The key figures of a period.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// Appointments in the period (by the appointment's day), cancelled ones included.
    pub bookings: u32,
    /// Of those, booked online by the citizen, by the desk for a caller on the phone, and by the
    /// desk for someone at the counter: the non-digital way in is counted, not assumed.
    #[serde(default)]
    pub bookings_online: u32,
    #[serde(default)]
    pub bookings_phone: u32,
    #[serde(default)]
    pub bookings_desk: u32,
    pub cancellations: u32,
    /// Of the cancellations, those the office made (closures); the rest were the citizens'.
    #[serde(default)]
    pub cancellations_by_office: u32,
    /// Hours between cancellation and the appointment.
    pub cancellation_lead_hours: Spread,
    pub no_shows: u32,
    pub no_show_rate: Option<f64>,
    pub walk_ins: u32,
    pub walk_ins_kiosk: u32,
    pub walk_ins_desk: u32,
    /// Of the walk-ins, people collecting a finished document (pick-up services).
    #[serde(default)]
    pub pick_ups: u32,
    pub online_share: Option<f64>,
    pub served: u32,
    /// Citizens sent away from the counter because documents were missing.
    pub sent_away_documents_missing: u32,
    pub abandoned: u32,
    pub waiting_minutes: Spread,
    pub service_minutes: Spread,
    pub throughput_minutes: Spread,
    pub punctuality: Option<f64>,
    /// Booked places / offered online places; `None` when no offer is known.
    pub slot_utilisation: Option<f64>,
    /// Of the citizens' cancellations, those whose place a later booking took.
    #[serde(default)]
    pub refilled: u32,
    #[serde(default)]
    pub refill_rate: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HourRow {
    pub hour: u32,
    pub arrivals: u32,
    pub waiting_minutes: Spread,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WeekRow {
    /// Monday of the ISO week.
    pub week: NaiveDate,
    pub bookings: u32,
    pub walk_ins: u32,
    pub no_shows: u32,
    pub no_show_rate: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HeatCell {
    /// 1 = Monday … 7 = Sunday.
    pub weekday: u32,
    pub hour: u32,
    pub arrivals: u32,
}

/// Everything the dashboard shows for one filter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub filter: Filter,
    pub figures: Figures,
    pub previous: Figures,
    pub by_hour: Vec<HourRow>,
    pub by_week: Vec<WeekRow>,
    pub heatmap: Vec<HeatCell>,
}

/// One row of the export: a day at a location for a service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayRow {
    pub day: NaiveDate,
    pub location: String,
    pub service: String,
    pub figures: Figures,
}

/// What the figures need besides the facts: the clock and the catalogue's view of time zones
/// and offered places.
pub struct Context<'a> {
    pub now: DateTime<Utc>,
    pub tz_of: &'a dyn Fn(&str) -> Tz,
    /// Offered online places (grid units × capacity) on a local day at a location, or at all
    /// locations for `None`; `None` when unknown.
    pub offered: &'a dyn Fn(Option<&str>, NaiveDate) -> Option<u32>,
}

impl Stats {
    fn booking_day(&self, b: &BookingFact, cx: &Context) -> NaiveDate {
        b.start.with_timezone(&(cx.tz_of)(&b.location)).date_naive()
    }

    fn selected<'a>(&'a self, filter: &'a Filter, cx: &'a Context) -> (Vec<&'a BookingFact>, Vec<&'a TicketFact>) {
        let bookings = self
            .bookings
            .values()
            .filter(|b| filter.covers(&b.location, &b.service, self.booking_day(b, cx)))
            .collect();
        let tickets = self
            .tickets
            .values()
            .filter(|t| filter.covers(&t.location, &t.service, t.day))
            .collect();
        (bookings, tickets)
    }

    /// The figures for `filter`.
    pub fn figures(&self, filter: &Filter, cx: &Context) -> Figures {
        let (bookings, tickets) = self.selected(filter, cx);
        let mut figures = figures(&bookings, &tickets, &self.tickets, cx);
        // Capacity belongs to the location, not to a service: with a service filter this is the
        // share of the location's online places that service took.
        let mut offered = 0u32;
        let mut known = false;
        let mut day = filter.from;
        while day <= filter.to {
            if let Some(n) = (cx.offered)(filter.location.as_deref(), day) {
                offered += n;
                known = true;
            }
            day += Duration::days(1);
        }
        figures.slot_utilisation = utilisation(&bookings, known.then_some(offered));
        figures
    }

    /// The dashboard's view: figures, the previous period's, and the charts' series.
    pub fn summarise(&self, filter: &Filter, cx: &Context) -> Summary {
        let (bookings, tickets) = self.selected(filter, cx);
        let local = |t: &TicketFact| t.issued_at.with_timezone(&(cx.tz_of)(&t.location));
        let mut hours: BTreeMap<u32, (u32, Vec<f64>)> = BTreeMap::new();
        let mut heat: BTreeMap<(u32, u32), u32> = BTreeMap::new();
        for t in &tickets {
            let at = local(t);
            let row = hours.entry(at.hour()).or_default();
            row.0 += 1;
            if let Some(call) = t.first_call {
                row.1.push(minutes(t.issued_at, call));
            }
            *heat.entry((at.weekday().number_from_monday(), at.hour())).or_default() += 1;
        }
        let monday = |d: NaiveDate| d - Duration::days(i64::from(d.weekday().num_days_from_monday()));
        let mut weeks: BTreeMap<NaiveDate, (Vec<&BookingFact>, Vec<&TicketFact>)> = BTreeMap::new();
        let mut week = monday(filter.from);
        while week <= filter.to {
            weeks.insert(week, Default::default());
            week += Duration::days(7);
        }
        for b in &bookings {
            if let Some(w) = weeks.get_mut(&monday(self.booking_day(b, cx))) {
                w.0.push(b);
            }
        }
        for t in &tickets {
            if let Some(w) = weeks.get_mut(&monday(t.day)) {
                w.1.push(t);
            }
        }
        Summary {
            filter: filter.clone(),
            figures: self.figures(filter, cx),
            previous: self.figures(&filter.previous(), cx),
            by_hour: hours
                .into_iter()
                .map(|(hour, (arrivals, waits))| HourRow {
                    hour,
                    arrivals,
                    waiting_minutes: Spread::of(waits),
                })
                .collect(),
            by_week: weeks
                .into_iter()
                .map(|(week, (b, t))| {
                    let f = figures(&b, &t, &self.tickets, cx);
                    WeekRow {
                        week,
                        bookings: f.bookings,
                        walk_ins: f.walk_ins,
                        no_shows: f.no_shows,
                        no_show_rate: f.no_show_rate,
                    }
                })
                .collect(),
            heatmap: heat
                .into_iter()
                .map(|((weekday, hour), arrivals)| HeatCell {
                    weekday,
                    hour,
                    arrivals,
                })
                .collect(),
        }
    }

    /// One row per day, location and service with any activity (the CSV export).
    pub fn day_rows(&self, filter: &Filter, cx: &Context) -> Vec<DayRow> {
        let (bookings, tickets) = self.selected(filter, cx);
        type Key = (NaiveDate, String, String);
        let mut groups: BTreeMap<Key, (Vec<&BookingFact>, Vec<&TicketFact>)> = BTreeMap::new();
        for b in bookings {
            let key = (self.booking_day(b, cx), b.location.clone(), b.service.clone());
            groups.entry(key).or_default().0.push(b);
        }
        for t in tickets {
            let key = (t.day, t.location.clone(), t.service.clone());
            groups.entry(key).or_default().1.push(t);
        }
        groups
            .into_iter()
            .map(|((day, location, service), (b, t))| {
                let mut figures = figures(&b, &t, &self.tickets, cx);
                figures.slot_utilisation = utilisation(&b, (cx.offered)(Some(&location), day));
                DayRow {
                    day,
                    location,
                    service,
                    figures,
                }
            })
            .collect()
    }
}

/// Booked places of the bookings kept, out of `offered`.
fn utilisation(bookings: &[&BookingFact], offered: Option<u32>) -> Option<f64> {
    let booked: u32 = bookings
        .iter()
        .filter(|b| b.cancelled_lead_minutes.is_none())
        .map(|b| b.places)
        .sum();
    offered.and_then(|offered| share(booked, offered.max(booked)))
}

/// The figures of a set of facts (slot utilisation aside, which needs the offer).
fn figures(
    bookings: &[&BookingFact],
    tickets: &[&TicketFact],
    all: &HashMap<String, TicketFact>,
    cx: &Context,
) -> Figures {
    let mut f = Figures {
        bookings: bookings.len() as u32,
        ..Figures::default()
    };
    let mut lead_hours = Vec::new();
    let mut due = 0;
    for b in bookings {
        match b.channel {
            Channel::Online => f.bookings_online += 1,
            Channel::Phone => f.bookings_phone += 1,
            Channel::Desk | Channel::Kiosk => f.bookings_desk += 1,
        }
        if let Some(lead) = b.cancelled_lead_minutes {
            f.cancellations += 1;
            f.cancellations_by_office += u32::from(b.cancelled_by_office);
            f.refilled += u32::from(b.refilled);
            lead_hours.push(lead as f64 / 60.0);
            continue;
        }
        if b.start >= cx.now {
            continue;
        }
        due += 1;
        let marked = b.ticket.as_ref().and_then(|id| all.get(id)).is_some_and(|t| t.no_show);
        if !b.checked_in || marked {
            f.no_shows += 1;
        }
    }
    f.cancellation_lead_hours = Spread::of(lead_hours);
    f.no_show_rate = share(f.no_shows, due);
    f.refill_rate = share(f.refilled, f.cancellations - f.cancellations_by_office);
    let (mut waits, mut services, mut throughputs) = (Vec::new(), Vec::new(), Vec::new());
    let (mut appointments, mut punctual) = (0, 0);
    let today = |t: &TicketFact| cx.now.with_timezone(&(cx.tz_of)(&t.location)).date_naive();
    for t in tickets {
        match t.kind {
            Kind::WalkIn | Kind::PickUp => {
                f.walk_ins += 1;
                if t.kind == Kind::PickUp {
                    f.pick_ups += 1;
                }
                match t.channel {
                    Channel::Kiosk => f.walk_ins_kiosk += 1,
                    _ => f.walk_ins_desk += 1,
                }
                if t.no_show || (t.first_call.is_none() && t.day < today(t)) {
                    f.abandoned += 1;
                }
            }
            Kind::Appointment => {
                appointments += 1;
                if let (Some(slot), Some(call)) = (t.slot_start, t.first_call) {
                    if call <= slot + Duration::minutes(5) {
                        punctual += 1;
                    }
                }
            }
        }
        if let Some(call) = t.first_call {
            waits.push(minutes(t.issued_at, call));
        }
        if t.sent_away == Some(crate::queue::SentAwayReason::DocumentsMissing) {
            f.sent_away_documents_missing += 1;
        }
        if let Some(done) = t.finished_at {
            f.served += 1;
            throughputs.push(minutes(t.issued_at, done));
            if let Some(since) = t.serving_since {
                services.push(minutes(since, done));
            }
        }
    }
    f.online_share = share(appointments, appointments + f.walk_ins);
    f.punctuality = share(punctual, appointments);
    f.waiting_minutes = Spread::of(waits);
    f.service_minutes = Spread::of(services);
    f.throughput_minutes = Spread::of(throughputs);
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::booking::{Contact, Personal};
    use crate::event::{encode, Metadata};
    use serde::Serialize;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    struct Log(Vec<RecordedEvent>);

    impl Log {
        fn add<E: Serialize>(&mut self, stream: &str, version: i64, event: &E, when: &str, actor: &str) {
            let mut e = encode(stream, 1, event).recorded(self.0.len() as i64 + 1, version, at("2027-01-01T00:00:00Z"));
            e.metadata = Metadata::by(actor, at(when));
            self.0.push(e);
        }

        fn stats(&self) -> Stats {
            let mut stats = Stats::default();
            for e in &self.0 {
                stats.apply(e).unwrap();
            }
            stats
        }

        fn placed(&mut self, stream: &str, start: &str, placed: &str) {
            let start = at(start);
            let event = BookingEvent::BookingPlaced {
                location: "bb".into(),
                service: "pa".into(),
                start,
                end: start + Duration::minutes(20),
                units: vec![start, start + Duration::minutes(10)],
                contact: Personal::Plain(Contact {
                    name: "Distinct Name".into(),
                    email: "x@example.org".into(),
                    phone: None,
                }),
                holder: "h".into(),
                channel: Channel::Online,
                confirm_by: None,
                confirm_because_missed: false,
            };
            self.add(stream, 1, &event, placed, "citizen");
        }

        fn issued(&mut self, prefix: &str, number: i64, kind: Kind, issued: &str, slot: Option<&str>, actor: &str) {
            let event = NumberEvent::TicketIssued {
                service: "pa".into(),
                kind,
                slot_start: slot.map(at),
                token_hash: "t".into(),
                issued_at: at(issued),
                contact: None,
                booking: None,
                case: None,
            };
            self.add(&format!("numbers-bb-20261201-{prefix}"), number, &event, issued, actor);
        }

        fn step(&mut self, label: &str, version: i64, event: TicketEvent) {
            self.add(
                &format!("ticket-bb-20261201-{label}"),
                version,
                &event,
                "2026-12-01T12:00:00Z",
                "staff:anna",
            );
        }
    }

    /// The figures of Tuesday 1 December 2026, all offices, no offer known, Berlin time.
    fn tuesday(stats: &Stats) -> Figures {
        let berlin = |_: &str| chrono_tz::Europe::Berlin;
        let offered = |_: Option<&str>, _: NaiveDate| None;
        let day = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let filter = Filter {
            from: day,
            to: day,
            location: None,
            service: None,
        };
        stats.figures(&filter, &context(&offered, &berlin))
    }

    fn context<'a>(
        offered: &'a dyn Fn(Option<&str>, NaiveDate) -> Option<u32>,
        tz: &'a dyn Fn(&str) -> Tz,
    ) -> Context<'a> {
        Context {
            now: at("2026-12-02T12:00:00Z"),
            tz_of: tz,
            offered,
        }
    }

    #[test]
    fn cancellations_by_the_office_are_counted_apart_from_the_citizens() {
        let mut log = Log(Vec::new());
        log.placed("booking-c1", "2026-12-01T08:00:00Z", "2026-11-20T10:00:00Z");
        log.placed("booking-c2", "2026-12-01T09:00:00Z", "2026-11-20T10:00:00Z");
        log.placed("booking-c3", "2026-12-01T10:00:00Z", "2026-11-20T10:00:00Z");
        let citizen = BookingEvent::BookingCancelled {
            lead_minutes: 600,
            by_office: None,
        };
        log.add("booking-c1", 2, &citizen, "2026-11-30T22:00:00Z", "citizen");
        let office = BookingEvent::BookingCancelled {
            lead_minutes: 120,
            by_office: Some("Wegen Krankheit geschlossen.".into()),
        };
        log.add("booking-c2", 2, &office, "2026-12-01T07:00:00Z", "staff:admin");
        let f = tuesday(&log.stats());
        assert_eq!((f.bookings, f.cancellations, f.cancellations_by_office), (3, 2, 1));
        assert_eq!((f.bookings_online, f.bookings_phone, f.bookings_desk), (3, 0, 0));
        assert_eq!(f.no_shows, 1, "only c3 was due");
    }

    #[test]
    fn a_cancelled_place_counts_as_refilled_when_a_later_booking_takes_it() {
        let mut log = Log(Vec::new());
        let cancelled = BookingEvent::BookingCancelled {
            lead_minutes: 600,
            by_office: None,
        };
        let (eight, nine) = ("unit-bb-20261201T0800Z", "unit-bb-20261201T0900Z");
        // Two citizens cancel 08:00; one later booking takes it: the first cancelled is refilled.
        let taken = |booking: &str| UnitEvent::UnitTaken {
            booking: booking.into(),
        };
        let released = |booking: &str| UnitEvent::UnitReleased {
            booking: booking.into(),
        };
        log.placed("booking-a", "2026-12-01T08:00:00Z", "2026-11-20T10:00:00Z");
        log.add(eight, 1, &taken("booking-a"), "2026-11-20T10:00:00Z", "citizen");
        log.placed("booking-b", "2026-12-01T08:00:00Z", "2026-11-20T11:00:00Z");
        log.add(eight, 2, &taken("booking-b"), "2026-11-20T11:00:00Z", "citizen");
        log.add("booking-a", 2, &cancelled, "2026-11-25T10:00:00Z", "citizen");
        log.add(eight, 3, &released("booking-a"), "2026-11-25T10:00:00Z", "citizen");
        log.add("booking-b", 2, &cancelled, "2026-11-26T10:00:00Z", "citizen");
        log.add(eight, 4, &released("booking-b"), "2026-11-26T10:00:00Z", "citizen");
        log.placed("booking-c", "2026-12-01T08:00:00Z", "2026-11-27T10:00:00Z");
        log.add(eight, 5, &taken("booking-c"), "2026-11-27T10:00:00Z", "citizen");
        // 09:00 cancelled; a booking at 08:50 takes its first unit too, but starts elsewhere.
        log.placed("booking-d", "2026-12-01T09:00:00Z", "2026-11-20T10:00:00Z");
        log.add("booking-d", 2, &cancelled, "2026-11-25T10:00:00Z", "citizen");
        log.add(nine, 1, &released("booking-d"), "2026-11-25T10:00:00Z", "citizen");
        log.placed("booking-e", "2026-12-01T08:50:00Z", "2026-11-28T10:00:00Z");
        log.add(nine, 2, &taken("booking-e"), "2026-11-28T10:00:00Z", "citizen");
        let stats = log.stats();
        assert!(stats.bookings["booking-a"].refilled, "the oldest cancelled place first");
        assert!(!stats.bookings["booking-b"].refilled);
        assert!(!stats.bookings["booking-d"].refilled);
        let f = tuesday(&stats);
        assert_eq!((f.cancellations, f.refilled), (3, 1));
        assert_eq!(f.refill_rate, Some(0.333));
    }

    /// A Tuesday at one office, every figure computed by hand (see the comments).
    fn scripted_day() -> Stats {
        let mut log = Log(Vec::new());
        let call = |s: &str| TicketEvent::TicketCalled {
            counter: "bb-1".into(),
            at: at(s),
        };
        // B1 09:00 local, checked in 08:50, called 09:02 (punctual), served 15 min.
        log.placed("booking-b1", "2026-12-01T08:00:00Z", "2026-11-20T10:00:00Z");
        log.add(
            "booking-b1",
            2,
            &BookingEvent::BookingCheckedIn {
                at: at("2026-12-01T07:50:00Z"),
                ticket: "numbers-bb-20261201-T".into(),
            },
            "2026-12-01T07:50:00Z",
            "device:k1",
        );
        log.issued(
            "T",
            1,
            Kind::Appointment,
            "2026-12-01T07:50:00Z",
            Some("2026-12-01T08:00:00Z"),
            "device:k1",
        );
        log.step("T-001", 1, call("2026-12-01T08:02:00Z"));
        log.step(
            "T-001",
            2,
            TicketEvent::ServiceFinished {
                at: at("2026-12-01T08:17:00Z"),
            },
        );
        // B2 10:00 local, never came.
        log.placed("booking-b2", "2026-12-01T09:00:00Z", "2026-11-21T10:00:00Z");
        // B3 11:00 local, cancelled a day ahead.
        log.placed("booking-b3", "2026-12-01T10:00:00Z", "2026-11-22T10:00:00Z");
        log.add(
            "booking-b3",
            2,
            &BookingEvent::BookingCancelled {
                lead_minutes: 1440,
                by_office: None,
            },
            "2026-11-30T10:00:00Z",
            "citizen",
        );
        // B4 12:00 local, checked in 11:55, called 12:10 (late), then marked no-show.
        log.placed("booking-b4", "2026-12-01T11:00:00Z", "2026-11-23T10:00:00Z");
        log.add(
            "booking-b4",
            2,
            &BookingEvent::BookingCheckedIn {
                at: at("2026-12-01T10:55:00Z"),
                ticket: "numbers-bb-20261201-T".into(),
            },
            "2026-12-01T10:55:00Z",
            "staff:anna",
        );
        log.issued(
            "T",
            2,
            Kind::Appointment,
            "2026-12-01T10:55:00Z",
            Some("2026-12-01T11:00:00Z"),
            "staff:anna",
        );
        log.step("T-002", 1, call("2026-12-01T11:10:00Z"));
        log.step(
            "T-002",
            2,
            TicketEvent::TicketNoShow {
                at: at("2026-12-01T11:20:00Z"),
            },
        );
        // Walk-ins: A-001 kiosk 09:00, wait 10, served 20; A-002 kiosk 09:05, wait 20, started
        // 2 min after the call, served 10; A-003 at the desk 10:30, never called; A-004 kiosk
        // 10:40, wait 5, no-show, came to collect a document (a pick-up is a walk-in too).
        log.issued("A", 1, Kind::WalkIn, "2026-12-01T08:00:00Z", None, "device:k1");
        log.issued("A", 2, Kind::WalkIn, "2026-12-01T08:05:00Z", None, "device:k1");
        log.issued("A", 3, Kind::WalkIn, "2026-12-01T09:30:00Z", None, "staff:anna");
        log.issued("A", 4, Kind::PickUp, "2026-12-01T09:40:00Z", None, "device:k1");
        log.step("A-001", 1, call("2026-12-01T08:10:00Z"));
        // Marked absent by a mis-tap and taken back at once: served, not a no-show.
        log.step(
            "A-001",
            2,
            TicketEvent::TicketNoShow {
                at: at("2026-12-01T08:11:00Z"),
            },
        );
        log.step(
            "A-001",
            3,
            TicketEvent::NoShowUndone {
                at: at("2026-12-01T08:11:30Z"),
            },
        );
        log.step(
            "A-001",
            4,
            TicketEvent::ServiceFinished {
                at: at("2026-12-01T08:30:00Z"),
            },
        );
        log.step("A-002", 1, call("2026-12-01T08:25:00Z"));
        log.step(
            "A-002",
            2,
            TicketEvent::ServiceStarted {
                at: at("2026-12-01T08:27:00Z"),
            },
        );
        log.step(
            "A-002",
            3,
            TicketEvent::ServiceFinished {
                at: at("2026-12-01T08:37:00Z"),
            },
        );
        log.step("A-004", 1, call("2026-12-01T09:45:00Z"));
        log.step(
            "A-004",
            2,
            TicketEvent::TicketNoShow {
                at: at("2026-12-01T09:50:00Z"),
            },
        );
        log.stats()
    }

    fn spread(n: u32, median: f64, p90: f64) -> Spread {
        Spread {
            n,
            median: Some(median),
            p90: Some(p90),
        }
    }

    #[test]
    fn a_scripted_day_gives_the_hand_computed_figures() {
        let stats = scripted_day();
        let berlin = |_: &str| chrono_tz::Europe::Berlin;
        let offered =
            |_: Option<&str>, d: NaiveDate| (d == NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()).then_some(40);
        let cx = context(&offered, &berlin);
        let day = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let filter = Filter {
            from: day,
            to: day,
            location: Some("bb".into()),
            service: None,
        };
        let f = stats.figures(&filter, &cx);
        assert_eq!(
            f,
            Figures {
                bookings: 4,
                bookings_online: 4,
                bookings_phone: 0,
                bookings_desk: 0,
                cancellations: 1,
                cancellations_by_office: 0,
                cancellation_lead_hours: spread(1, 24.0, 24.0),
                // B2 never came, B4 was marked no-show: 2 of the 3 appointments due.
                no_shows: 2,
                no_show_rate: Some(0.667),
                walk_ins: 4,
                walk_ins_kiosk: 3,
                walk_ins_desk: 1,
                pick_ups: 1,
                // 2 appointments checked in, 4 walk-ins.
                online_share: Some(0.333),
                served: 3,
                sent_away_documents_missing: 0,
                abandoned: 2,
                // 12, 15 (appointments), 10, 20, 5: sorted 5 10 12 15 20; p90 = rank 5.
                waiting_minutes: spread(5, 12.0, 20.0),
                // 15, 20, 10.
                service_minutes: spread(3, 15.0, 20.0),
                // 27, 30, 32.
                throughput_minutes: spread(3, 30.0, 32.0),
                punctuality: Some(0.5),
                // 3 bookings kept × 2 places of 40 offered.
                slot_utilisation: Some(0.15),
                // B3's place, cancelled by its citizen, was not booked again.
                refilled: 0,
                refill_rate: Some(0.0),
            }
        );
        let summary = stats.summarise(&filter, &cx);
        assert_eq!(summary.previous.bookings, 0);
        let hours: Vec<(u32, u32)> = summary.by_hour.iter().map(|h| (h.hour, h.arrivals)).collect();
        assert_eq!(hours, [(8, 1), (9, 2), (10, 2), (11, 1)], "local hours");
        assert_eq!(summary.by_hour[1].waiting_minutes.median, Some(15.0));
        assert!(summary.heatmap.iter().all(|c| c.weekday == 2), "a Tuesday");
        assert_eq!(summary.by_week.len(), 1);
        assert_eq!(summary.by_week[0].week, NaiveDate::from_ymd_opt(2026, 11, 30).unwrap());
        // A service filter narrows; the other location has nothing.
        let other = Filter {
            location: Some("kfz".into()),
            ..filter.clone()
        };
        assert_eq!(stats.figures(&other, &cx).bookings, 0);
        let rows = stats.day_rows(&filter, &cx);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].figures.served, 3);
    }

    #[test]
    fn even_counts_take_the_mean_of_the_middle_and_p90_is_nearest_rank() {
        assert_eq!(Spread::of(vec![4.0, 1.0, 3.0, 2.0]), spread(4, 2.5, 4.0));
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(Spread::of(ten), spread(10, 5.5, 9.0));
        assert_eq!(Spread::of(vec![]), Spread::default());
    }

    #[test]
    fn arrivals_on_dst_days_count_in_their_local_hour() {
        let mut log = Log(Vec::new());
        for (n, (issued, day)) in [
            ("2026-03-29T07:30:00Z", "20260329"),
            ("2026-10-25T07:30:00Z", "20261025"),
        ]
        .iter()
        .enumerate()
        {
            let event = NumberEvent::TicketIssued {
                service: "pa".into(),
                kind: Kind::WalkIn,
                slot_start: None,
                token_hash: "t".into(),
                issued_at: at(issued),
                contact: None,
                booking: None,
                case: None,
            };
            log.add(
                &format!("numbers-bb-{day}-A"),
                n as i64 + 1,
                &event,
                issued,
                "device:k1",
            );
        }
        let stats = log.stats();
        let berlin = |_: &str| chrono_tz::Europe::Berlin;
        let offered = |_: Option<&str>, _: NaiveDate| None;
        let cx = context(&offered, &berlin);
        let hour_on = |d: &str| {
            let day = NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
            let s = stats.summarise(
                &Filter {
                    from: day,
                    to: day,
                    location: None,
                    service: None,
                },
                &cx,
            );
            s.by_hour.iter().map(|h| h.hour).collect::<Vec<_>>()
        };
        assert_eq!(hour_on("2026-03-29"), [9], "07:30 UTC is 09:30 CEST");
        assert_eq!(hour_on("2026-10-25"), [8], "07:30 UTC is 08:30 CET");
    }
}
