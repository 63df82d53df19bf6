//! `schalter simulate --days N --seed S`: realistic past days for the dashboard, demos and
//! benchmarks. It drives the real decisions (`booking::place`, `cancel`, `check_in`,
//! `queue::issue`, the call policy `queue::next_ticket`) with a virtual clock and appends what
//! they decide, as the handlers do; every event's `requested_at` is the virtual time, which is
//! what the statistics count by.
//!
//! A day at each office: bookings made 1–28 days ahead fill about 80 % of the online places,
//! 8 % are cancelled, 90 % of the rest come (a few minutes early) and check in; walk-ins arrive
//! by an hourly profile (busy mornings), 80 % at the kiosk; every counter calls by the real
//! policy and serves for about the service's planned duration (0.6–1.6×); a few called walk-ins
//! have left (no-show), and walk-ins still waiting at closing time are abandoned.
//!
//! Deterministic: the same seed on the same catalogue and start day gives the same history.
//! Simulated events carry the correlation `simulation`; simulated bookings a fixed fake contact.
//! The message sender ignores them.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use schalter_events::booking::{self, Booking, Channel, Contact, Counter, Decision, Offer, Personal, Place};
use schalter_events::catalogue::Catalogue;
use schalter_events::queue::{self, Kind, NumberEvent, State, Ticket, TicketEvent};
use schalter_events::store::{Store, StoreError};
use schalter_events::Metadata;
use schalter_events::CITIZEN;

use crate::engine::executor::{Executed, Executor, Record, WriteError};

#[derive(Debug, thiserror::Error)]
pub enum SimulationError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a run produced.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub days: u32,
    pub bookings: u32,
    pub cancellations: u32,
    pub check_ins: u32,
    pub walk_ins: u32,
    pub served: u32,
    pub no_shows: u32,
    pub events: u64,
}

/// splitmix64: small, fast, good enough for a simulation, and no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        (!items.is_empty()).then(|| &items[self.below(items.len() as u64) as usize])
    }
}

/// Walk-ins per open counter and hour, by local hour of day: busy mornings, a quiet lunch.
fn hourly_walk_ins(hour: u32) -> f64 {
    match hour {
        7 => 0.8,
        8..=10 => 1.4,
        11 => 1.1,
        12 | 13 => 0.7,
        14..=16 => 0.9,
        17 => 0.6,
        _ => 0.4,
    }
}

struct Sim<'a> {
    store: &'a Store,
    executor: Executor,
    catalogue: &'a Catalogue,
    rng: Rng,
    report: Report,
    serial: u64,
}

impl Sim<'_> {
    async fn append(
        &mut self,
        events: Vec<schalter_events::NewEvent>,
        expectations: Vec<(String, schalter_events::Expectation)>,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<schalter_events::store::AppendOutcome>, StoreError> {
        let n = events.len() as u64;
        let metadata = Metadata {
            correlation: Some(schalter_events::SIMULATED.into()),
            ..Metadata::by(actor, at)
        };
        let record = Record::<WriteError>::new(Decision { events, expectations });
        match self.executor.execute_as(metadata, record).await {
            Ok(Executed::Done(true, outcome)) => {
                self.report.events += n;
                Ok(outcome)
            }
            Ok(_) => Ok(None),
            Err(WriteError::Store(e)) => Err(e),
            // A record is decided once: it never retries.
            Err(WriteError::Busy(_)) => Ok(None),
        }
    }

    async fn decision(&mut self, decision: Decision, actor: &str, at: DateTime<Utc>) -> Result<bool, StoreError> {
        Ok(self
            .append(decision.events, decision.expectations, actor, at)
            .await?
            .is_some())
    }

    async fn counter(&self, stream: String, unit: bool) -> Result<Counter, SimulationError> {
        Ok(crate::features::bookings::read_counter(self.store, stream, unit).await?)
    }

    fn code_hash(&mut self) -> String {
        format!("{:016x}{:016x}", self.rng.next(), self.rng.next())
    }

    /// Books the office's online places for `day` as citizens would have, days ahead.
    async fn book_day(&mut self, location: &str, day: NaiveDate) -> Result<Vec<(String, Booking)>, SimulationError> {
        let catalogue = self.catalogue;
        let Some(schedule) = catalogue.schedules.get(location) else {
            return Ok(Vec::new());
        };
        let units = schedule.units(day).unwrap_or_default();
        let services: Vec<&str> = catalogue
            .services
            .values()
            .filter(|s| s.bookable_online && s.locations.iter().any(|l| l == location))
            .map(|s| s.id.as_str())
            .collect();
        // Leave the counters room for walk-ins: appointments take about 65 % of their time.
        let counters = catalogue.counters.values().filter(|c| c.location == location).count() as f64;
        let average = services
            .iter()
            .filter_map(|s| catalogue.services.get(*s))
            .map(|s| f64::from(s.duration_minutes))
            .sum::<f64>()
            / services.len().max(1) as f64;
        let capacity = units.iter().map(|u| u.capacity).max().unwrap_or(1) as f64;
        let fill = (0.65 * counters * f64::from(schedule.unit_minutes) / (capacity * average.max(1.0))).min(0.8);
        let mut booked = Vec::new();
        let max_lead = i64::from(schedule.booking_window_days.clamp(2, 28));
        for unit in &units {
            for _ in 0..unit.capacity {
                if !self.rng.chance(fill) {
                    continue;
                }
                let Some(service) = self.rng.pick(&services).copied() else {
                    continue;
                };
                let lead = Duration::days(1 + self.rng.below(max_lead as u64 - 1) as i64)
                    + Duration::minutes(self.rng.below(600) as i64);
                let placed_at = unit.start - lead;
                let Ok(offer) = Offer::find(catalogue, location, service) else {
                    continue;
                };
                let Ok(needed) = offer.units_for(unit.start, placed_at) else {
                    continue;
                };
                let mut counts = Vec::with_capacity(needed.len());
                for u in &needed {
                    counts.push(self.counter(booking::unit_stream(location, u.start), true).await?);
                }
                let hash = self.code_hash();
                self.serial += 1;
                let holder = format!("simulated-{}", self.serial);
                let holder_count = self.counter(booking::holder_stream(&holder), false).await?;
                let Ok(decision) = booking::place(Place {
                    offer: &offer,
                    code_hash: &hash,
                    start: unit.start,
                    units: needed,
                    contact: Personal::Plain(Contact {
                        name: "Simulation".into(),
                        email: "simulation@example.invalid".into(),
                        phone: None,
                    }),
                    holder,
                    channel: Channel::Online,
                    unit_counts: counts,
                    holder_count,
                    max_active_per_email: schedule.max_active_per_email,
                    // Simulated citizens confirm at once (an expiry would be a cancellation).
                    confirm_by: None,
                    confirm_because_missed: false,
                }) else {
                    continue;
                };
                let Some(placed) = Booking::from_placement(&decision, placed_at) else {
                    continue;
                };
                if !self.decision(decision, CITIZEN, placed_at).await? {
                    continue;
                }
                self.report.bookings += 1;
                if self.rng.chance(0.08) {
                    let before = Duration::hours(1 + self.rng.below(lead.num_hours().max(2) as u64 - 1) as i64);
                    let at = placed.start - before;
                    if let Ok(decision) = booking::cancel(&placed, &hash, at) {
                        if self.decision(decision, CITIZEN, at).await? {
                            self.report.cancellations += 1;
                            continue;
                        }
                    }
                }
                booked.push((hash, placed));
            }
        }
        Ok(booked)
    }

    /// The day in the hall: arrivals, check-ins, calls and service at every counter.
    async fn run_day(
        &mut self,
        location: &str,
        day: NaiveDate,
        bookings: Vec<(String, Booking)>,
    ) -> Result<(), SimulationError> {
        let catalogue = self.catalogue;
        let Some(schedule) = catalogue.schedules.get(location) else {
            return Ok(());
        };
        let tz = schedule.tz().unwrap_or(chrono_tz::Europe::Berlin);
        let units = schedule.units(day).unwrap_or_default();
        let (Some(first), Some(last)) = (units.first(), units.last()) else {
            return Ok(());
        };
        let open = first.start;
        let close = last.start + Duration::minutes(i64::from(schedule.unit_minutes));
        let counters: Vec<(String, Vec<String>)> = catalogue
            .counters
            .values()
            .filter(|c| c.location == location)
            .map(|c| (c.id.clone(), c.services.clone()))
            .collect();
        if counters.is_empty() {
            return Ok(());
        }
        let walk_in_services: Vec<(&str, &str)> = catalogue
            .services
            .values()
            .filter(|s| s.walk_in && s.locations.iter().any(|l| l == location))
            .map(|s| (s.id.as_str(), s.ticket_prefix.as_str()))
            .collect();
        // Arrivals: (time, Some(booking) | None for a walk-in).
        let mut arrivals: Vec<(DateTime<Utc>, Option<usize>, &str, &str)> = Vec::new();
        for (i, (_, b)) in bookings.iter().enumerate() {
            if self.rng.chance(0.9) {
                let early = Duration::minutes(self.rng.below(15) as i64);
                arrivals.push((b.start - early, Some(i), "", ""));
            }
        }
        let mut minute = open;
        while minute < close - Duration::minutes(30) {
            use chrono::Timelike;
            let hour = minute.with_timezone(&tz).hour();
            let expected = hourly_walk_ins(hour) * counters.len() as f64 * 0.8 / 60.0;
            if self.rng.chance(expected.min(1.0)) {
                if let Some((service, prefix)) = self.rng.pick(&walk_in_services).copied() {
                    arrivals.push((
                        minute + Duration::seconds(self.rng.below(60) as i64),
                        None,
                        service,
                        prefix,
                    ));
                }
            }
            minute += Duration::minutes(1);
        }
        arrivals.sort_by_key(|a| a.0);
        let mut arrivals = arrivals.into_iter().peekable();
        let mut tickets: Vec<Ticket> = Vec::new();
        let mut free_at: Vec<DateTime<Utc>> = vec![open; counters.len()];
        let max_wait = Duration::minutes(schalter_events::queue::MAX_WAIT_MINUTES);
        let mut now = open - Duration::minutes(20);
        while now < close + Duration::minutes(60) {
            while let Some((at, booking, service, prefix)) = arrivals.next_if(|a| a.0 <= now) {
                match booking {
                    Some(i) => {
                        let (hash, b) = &bookings[i];
                        let Some(prefix) = catalogue.services.get(&b.service).map(|s| s.ticket_prefix.clone()) else {
                            continue;
                        };
                        let issued = NumberEvent::TicketIssued {
                            service: b.service.clone(),
                            kind: Kind::Appointment,
                            slot_start: Some(b.start),
                            token_hash: self.code_hash(),
                            issued_at: at,
                            contact: None,
                            booking: None,
                            case: None,
                        };
                        let ticket = queue::issue(location, day, &prefix, &issued);
                        let Ok(decision) = booking::check_in(b, hash, location, ticket, at) else {
                            continue;
                        };
                        let stream = queue::numbers_stream(location, day, &prefix);
                        if let Some(outcome) = self
                            .append(decision.events, decision.expectations, "device:kiosk", at)
                            .await?
                        {
                            if let Some(s) = outcome.streams.iter().find(|s| s.stream == stream) {
                                tickets.push(Ticket::issued(queue::label(&prefix, s.version), &issued));
                                self.report.check_ins += 1;
                            }
                        }
                    }
                    None => {
                        let pick_up = catalogue.services.get(service).is_some_and(|s| s.pick_up);
                        let issued = NumberEvent::TicketIssued {
                            service: service.to_owned(),
                            kind: if pick_up { Kind::PickUp } else { Kind::WalkIn },
                            slot_start: None,
                            token_hash: self.code_hash(),
                            issued_at: at,
                            contact: None,
                            booking: None,
                            case: None,
                        };
                        let decision = queue::issue(location, day, prefix, &issued);
                        let stream = queue::numbers_stream(location, day, prefix);
                        let actor = if self.rng.chance(0.8) {
                            "device:kiosk"
                        } else {
                            "staff:desk"
                        };
                        if let Some(outcome) = self.append(decision.events, decision.expectations, actor, at).await? {
                            if let Some(s) = outcome.streams.iter().find(|s| s.stream == stream) {
                                tickets.push(Ticket::issued(queue::label(prefix, s.version), &issued));
                                self.report.walk_ins += 1;
                            }
                        }
                    }
                }
            }
            for (c, (counter, services)) in counters.iter().enumerate() {
                if free_at[c] > now {
                    continue;
                }
                let Some(label) = queue::next_ticket(&tickets, services, now, max_wait).map(|t| t.label.clone()) else {
                    continue;
                };
                let Some(ticket) = tickets.iter_mut().find(|t| t.label == label) else {
                    continue;
                };
                let planned = catalogue
                    .services
                    .get(&ticket.service)
                    .map(|s| s.duration_minutes)
                    .unwrap_or(15);
                let called = TicketEvent::TicketCalled {
                    counter: counter.clone(),
                    at: now,
                };
                let (mut events, done) = if ticket.kind != Kind::Appointment && self.rng.chance(0.04) {
                    let gone = now + Duration::minutes(3);
                    ticket.state = State::NoShow;
                    self.report.no_shows += 1;
                    (vec![called, TicketEvent::TicketNoShow { at: gone }], gone)
                } else {
                    let factor = 0.6 + self.rng.unit();
                    let started = now + Duration::minutes(1);
                    let finished = started + Duration::seconds((f64::from(planned) * 60.0 * factor) as i64);
                    ticket.state = State::Finished;
                    self.report.served += 1;
                    (
                        vec![
                            called,
                            TicketEvent::ServiceStarted { at: started },
                            TicketEvent::ServiceFinished { at: finished },
                        ],
                        finished,
                    )
                };
                free_at[c] = done;
                let stream = queue::ticket_stream(location, day, &label);
                let events: Vec<_> = events
                    .drain(..)
                    .map(|e| schalter_events::encode(stream.clone(), queue::SCHEMA, &e))
                    .collect();
                self.append(
                    events,
                    vec![(stream, schalter_events::Expectation::NoStream)],
                    "staff:desk",
                    now,
                )
                .await?;
            }
            now += Duration::minutes(1);
        }
        Ok(())
    }
}

/// Simulates the `days` days before `today` at every office of `catalogue`.
pub async fn run(
    store: &Store,
    catalogue: &Catalogue,
    today: NaiveDate,
    days: u32,
    seed: u64,
) -> Result<Report, SimulationError> {
    let mut sim = Sim {
        store,
        executor: Executor::new(store.clone()),
        catalogue,
        rng: Rng(seed),
        report: Report::default(),
        serial: 0,
    };
    let locations: Vec<String> = catalogue.locations.keys().cloned().collect();
    for n in (1..=days).rev() {
        let day = today - Duration::days(i64::from(n));
        for location in &locations {
            let bookings = sim.book_day(location, day).await?;
            sim.run_day(location, day, bookings).await?;
        }
        sim.report.days += 1;
    }
    Ok(sim.report)
}
