//! Shared handles for handlers. Read models here are caches of projections of the log,
//! rebuilt on start and kept current by a subscription; nothing authoritative lives in memory:
//! a decision taken on a cached counter still carries its expectation to the store, which
//! refuses it if the counter has moved.

use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use schalter_events::attendance::{Attendance, NoShowRule};
use schalter_events::booking::{Counters, ReconfirmRule};
use schalter_events::catalogue::Catalogue;
use schalter_events::hold::Holds;
use schalter_events::projection::Projection;
use schalter_events::slots::Booker;
use schalter_events::store::{Store, StoreError};
use schalter_events::{decode, queue, staff, RecordedEvent};
use tokio::sync::watch;

use crate::engine::executor::{Command, CommandKey, Executed, Executor};

/// Bookings holding each grid unit, per location (what availability is computed from), and
/// the unit and holder counters bookings decide on first.
#[derive(Default)]
pub struct Taken {
    counters: Counters,
    /// Bookings waiting for their email confirmation, with the time it runs out.
    pending: HashMap<String, DateTime<Utc>>,
    /// Bookings still to arrive (placed, not cancelled, expired or checked in): their stream,
    /// location and start, for check-in by the short number.
    arriving: HashMap<String, (String, DateTime<Utc>)>,
    /// Bookings on the day's lists: as `arriving`, and checked in ones stay; entries of past
    /// days are dropped as new bookings come.
    listed: HashMap<String, (String, DateTime<Utc>)>,
    attendance: Attendance,
    holds: Holds,
    /// Bookings still to come that were made more than a day ahead, not asked to confirm again
    /// yet: location, start and when booked (the reconfirmation job's candidates).
    booked_ahead: HashMap<String, (String, DateTime<Utc>, DateTime<Utc>)>,
}

impl Taken {
    /// Places of a unit as `booker` sees them at `now`: for citizens online, a freed place
    /// still held back (`hold_minutes`, the location's) counts as taken.
    pub fn seen_by(
        &self,
        booker: Booker,
        location: &str,
        unit: DateTime<Utc>,
        now: DateTime<Utc>,
        hold_minutes: u32,
    ) -> u32 {
        let taken = self.counters.taken(location, unit);
        match booker {
            Booker::Citizen => taken + self.holds.held(location, unit, now, hold_minutes),
            Booker::Staff => taken,
        }
    }

    /// Bookings that `rule_of` their location asks to confirm again at `now` (see
    /// [`ReconfirmRule::ask`]; the booking's own state is checked when it is decided).
    pub fn to_reconfirm(
        &self,
        now: DateTime<Utc>,
        rule_of: impl Fn(&str) -> Option<ReconfirmRule>,
    ) -> Vec<(String, ReconfirmRule)> {
        self.booked_ahead
            .iter()
            .filter(|(stream, _)| !self.pending.contains_key(*stream))
            .filter_map(|(stream, (location, start, placed_at))| {
                let rule = rule_of(location)?;
                rule.deadline(*start, *placed_at, now).map(|_| (stream.clone(), rule))
            })
            .collect()
    }

    /// Appointments `holder` missed within the rule's period up to `now`.
    pub fn missed(&self, holder: &str, rule: NoShowRule, now: DateTime<Utc>) -> u32 {
        self.attendance.missed(holder, rule.since(now), now)
    }

    /// Pending bookings whose time to confirm ran out.
    pub fn overdue(&self, now: DateTime<Utc>) -> Vec<String> {
        self.pending
            .iter()
            .filter(|(_, by)| **by < now)
            .map(|(stream, _)| stream.clone())
            .collect()
    }

    /// Streams of the bookings at `location` starting within `from..=to` and not yet arrived.
    pub fn arriving(&self, location: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<String> {
        self.arriving
            .iter()
            .filter(|(_, (l, start))| l == location && from <= *start && *start <= to)
            .map(|(stream, _)| stream.clone())
            .collect()
    }

    /// Streams of the bookings at `location` starting within `from..to` that are still on the
    /// day's list (not cancelled or expired).
    pub fn listed(&self, location: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<String> {
        self.listed
            .iter()
            .filter(|(_, (l, start))| l == location && from <= *start && *start < to)
            .map(|(stream, _)| stream.clone())
            .collect()
    }

    /// Counters as far as this projection has applied the log.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    fn apply(&mut self, event: &RecordedEvent) {
        if let Err(e) = self.counters.apply(event) {
            skipped("counter", &e);
        }
        if let Err(e) = self.attendance.apply(event) {
            skipped("attendance", &e);
        }
        if let Err(e) = self.holds.apply(event) {
            skipped("hold", &e);
        }
        if event.stream.starts_with("booking-") {
            use schalter_events::booking::BookingEvent;
            match decode::<BookingEvent>(event) {
                Ok(BookingEvent::BookingPlaced {
                    location,
                    start,
                    confirm_by,
                    ..
                }) => {
                    if let Some(by) = confirm_by {
                        self.pending.insert(event.stream.clone(), by);
                    }
                    let placed_at = event.metadata.requested_at.unwrap_or(event.recorded_at);
                    if start - placed_at > chrono::Duration::days(1) {
                        self.booked_ahead
                            .insert(event.stream.clone(), (location.clone(), start, placed_at));
                        // Missed appointments end nothing: they are dropped once past.
                        if self.booked_ahead.len().is_multiple_of(1024) {
                            self.booked_ahead.retain(|_, (_, start, _)| *start > event.recorded_at);
                        }
                    }
                    self.arriving.insert(event.stream.clone(), (location.clone(), start));
                    self.listed.insert(event.stream.clone(), (location, start));
                    if self.listed.len().is_multiple_of(1024) {
                        let past = event.recorded_at - chrono::Duration::days(2);
                        self.listed.retain(|_, (_, start)| *start > past);
                    }
                }
                Ok(BookingEvent::BookingConfirmed { .. }) => {
                    self.pending.remove(&event.stream);
                }
                Ok(BookingEvent::ReconfirmationAsked { by, .. }) => {
                    self.pending.insert(event.stream.clone(), by);
                    self.booked_ahead.remove(&event.stream);
                }
                Ok(BookingEvent::BookingRescheduled { start, .. }) => {
                    if let Some((_, at, _)) = self.booked_ahead.get_mut(&event.stream) {
                        *at = start;
                    }
                    if let Some((_, at)) = self.arriving.get_mut(&event.stream) {
                        *at = start;
                    }
                    if let Some((_, at)) = self.listed.get_mut(&event.stream) {
                        *at = start;
                    }
                }
                Ok(BookingEvent::BookingExpired { .. } | BookingEvent::BookingCancelled { .. }) => {
                    self.pending.remove(&event.stream);
                    self.booked_ahead.remove(&event.stream);
                    self.arriving.remove(&event.stream);
                    self.listed.remove(&event.stream);
                }
                Ok(
                    BookingEvent::BookingCheckedIn { .. }
                    // Erased (the retention period after a no-show): never arriving now.
                    | BookingEvent::PersonalDataErased { .. },
                ) => {
                    self.pending.remove(&event.stream);
                    self.arriving.remove(&event.stream);
                    self.booked_ahead.remove(&event.stream);
                }
                _ => {}
            }
        }
    }
}

/// A call as the hall screen shows it: number and counter, nothing about the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// Log position of the call: the SSE event id a display resumes from.
    pub position: i64,
    pub number: String,
    pub counter: String,
    pub at: DateTime<Utc>,
    pub kind: CallKind,
    /// Someone collecting a finished document: the screen marks it.
    pub pick_up: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    Call,
    /// Called again: the citizen did not come at the first call.
    Recall,
    /// Taken back: the ticket was parked or transferred and waits again, so the screen must
    /// stop showing it as called.
    Withdrawn,
}

/// How many measured service durations the estimate remembers per service.
const RECENT_DURATIONS: usize = 20;

/// Today's (and recent days') tickets per location, as the queue streams tell them.
#[derive(Default)]
pub struct Queues {
    days: HashMap<(String, chrono::NaiveDate), std::collections::BTreeMap<String, queue::Ticket>>,
    /// Status-page token hash → (location, day, label).
    by_token: HashMap<String, (String, chrono::NaiveDate, String)>,
    /// Checked-in booking's stream → its ticket (location, day, label), for the day's list.
    by_booking: HashMap<String, (String, chrono::NaiveDate, String)>,
    /// Calls per location and day, in log order.
    calls: HashMap<(String, chrono::NaiveDate), Vec<Call>>,
    /// Recent service durations in minutes per (location, service), newest last.
    durations: HashMap<(String, String), std::collections::VecDeque<u32>>,
    /// When each counter was last opened (None once closed).
    opened: HashMap<String, DateTime<Utc>>,
}

impl Queues {
    pub fn calls_since(&self, location: &str, day: chrono::NaiveDate, after: i64) -> Vec<Call> {
        self.calls
            .get(&(location.to_owned(), day))
            .map(|c| c.iter().filter(|c| c.position > after).cloned().collect())
            .unwrap_or_default()
    }

    /// Log position of the day's newest call, recall or withdrawal (0 before the first).
    pub fn newest_call_position(&self, location: &str, day: chrono::NaiveDate) -> i64 {
        self.calls
            .get(&(location.to_owned(), day))
            .and_then(|c| c.last())
            .map_or(0, |c| c.position)
    }

    /// The newest `n` calls still standing, newest first: a withdrawn call and the calls of its
    /// number before it are left out.
    pub fn latest_calls(&self, location: &str, day: chrono::NaiveDate, n: usize) -> Vec<Call> {
        let Some(calls) = self.calls.get(&(location.to_owned(), day)) else {
            return Vec::new();
        };
        let mut withdrawn = std::collections::HashSet::new();
        calls
            .iter()
            .rev()
            .filter(|c| {
                if c.kind == CallKind::Withdrawn {
                    withdrawn.insert(c.number.as_str());
                }
                !withdrawn.contains(c.number.as_str())
            })
            .take(n)
            .cloned()
            .collect()
    }

    pub fn typical_minutes(&self, location: &str, service: &str, planned: u32) -> u32 {
        let recent = self
            .durations
            .get(&(location.to_owned(), service.to_owned()))
            .map(|d| d.iter().copied().collect::<Vec<_>>())
            .unwrap_or_default();
        queue::typical_service_minutes(&recent, planned)
    }

    pub fn opened_at(&self, counter: &str) -> Option<DateTime<Utc>> {
        self.opened.get(counter).copied()
    }

    /// The ticket a checked-in booking (its stream) was given.
    pub fn of_booking(&self, booking_stream: &str) -> Option<queue::Ticket> {
        let (location, day, label) = self.by_booking.get(booking_stream)?;
        self.ticket(location, *day, label)
    }

    pub fn by_token(&self, token_hash: &str) -> Option<&(String, chrono::NaiveDate, String)> {
        self.by_token.get(token_hash)
    }

    /// One ticket as it stands now.
    pub fn ticket(&self, location: &str, day: chrono::NaiveDate, label: &str) -> Option<queue::Ticket> {
        self.days.get(&(location.to_owned(), day))?.get(label).cloned()
    }

    pub fn tickets(&self, location: &str, day: chrono::NaiveDate) -> Vec<queue::Ticket> {
        self.days
            .get(&(location.to_owned(), day))
            .map(|d| d.values().cloned().collect())
            .unwrap_or_default()
    }

    fn apply(&mut self, event: &RecordedEvent) {
        if event.stream.starts_with("numbers-") {
            let Some((location, day, prefix)) = queue::parse_numbers_stream(&event.stream) else {
                return;
            };
            match decode::<queue::NumberEvent>(event) {
                Ok(issued) => {
                    let label = queue::label(prefix, event.version);
                    let queue::NumberEvent::TicketIssued {
                        token_hash, booking, ..
                    } = &issued;
                    self.by_token
                        .insert(token_hash.clone(), (location.to_owned(), day, label.clone()));
                    if let Some(stream) = booking {
                        self.by_booking
                            .insert(stream.clone(), (location.to_owned(), day, label.clone()));
                    }
                    let ticket = queue::Ticket::issued(label.clone(), &issued);
                    self.days
                        .entry((location.to_owned(), day))
                        .or_default()
                        .insert(label, ticket);
                }
                Err(e) => skipped("queue", &e),
            }
        } else if let Some(rest) = event.stream.strip_prefix("ticket-") {
            let Some((location, day, label)) = queue::parse_ticket_id(rest) else {
                return;
            };
            let location = location.as_str();
            let ticket = self
                .days
                .get_mut(&(location.to_owned(), day))
                .and_then(|d| d.get_mut(&label));
            match (ticket, decode::<queue::TicketEvent>(event)) {
                (Some(ticket), Ok(e)) => {
                    let called_to = ticket.counter.clone();
                    let served = ticket.apply(&e, event.version);
                    let call = match &e {
                        queue::TicketEvent::TicketCalled { at, .. } => {
                            Some((*at, CallKind::Call, ticket.counter.clone()))
                        }
                        queue::TicketEvent::TicketRecalled { at } => {
                            Some((*at, CallKind::Recall, ticket.counter.clone()))
                        }
                        queue::TicketEvent::TicketParked { at } | queue::TicketEvent::TicketTransferred { at, .. } => {
                            Some((*at, CallKind::Withdrawn, called_to))
                        }
                        _ => None,
                    };
                    if let Some((at, kind, Some(counter))) = call {
                        self.calls.entry((location.to_owned(), day)).or_default().push(Call {
                            position: event.position,
                            number: label.clone(),
                            counter,
                            at,
                            kind,
                            pick_up: ticket.kind == queue::Kind::PickUp,
                        });
                    }
                    if let Some(minutes) = served {
                        let recent = self
                            .durations
                            .entry((location.to_owned(), ticket.service.clone()))
                            .or_default();
                        recent.push_back(minutes);
                        if recent.len() > RECENT_DURATIONS {
                            recent.pop_front();
                        }
                    }
                }
                (None, _) => tracing::error!(stream = %event.stream, "queue event for an unknown ticket"),
                (_, Err(e)) => skipped("queue", &e),
            }
        } else if let Some(counter) = event.stream.strip_prefix("counter-") {
            match decode::<queue::CounterEvent>(event) {
                Ok(queue::CounterEvent::CounterOpened { at }) => {
                    self.opened.insert(counter.to_owned(), at);
                }
                Ok(queue::CounterEvent::CounterClosed { .. }) => {
                    self.opened.remove(counter);
                }
                Err(e) => skipped("counter", &e),
            }
        }
    }
}

/// Staff accounts and devices, for the admin pages (authorisation itself reads the streams).
#[derive(Default)]
pub struct Directory {
    pub accounts: std::collections::BTreeMap<String, staff::Role>,
    /// Accounts an admin deactivated: their sessions are refused.
    pub deactivated: std::collections::BTreeSet<String>,
    pub devices: std::collections::BTreeMap<String, staff::access::Device>,
}

impl Directory {
    fn apply(&mut self, event: &RecordedEvent) {
        if event.stream.starts_with("staff-") {
            match decode::<staff::StaffEvent>(event) {
                Ok(staff::StaffEvent::AccountCreated { username, role, .. }) => {
                    self.accounts.insert(username, role);
                }
                Ok(staff::StaffEvent::AccountDeactivated) => {
                    self.deactivated.insert(event.stream["staff-".len()..].to_owned());
                }
                Ok(staff::StaffEvent::AccountReactivated) => {
                    self.deactivated.remove(&event.stream["staff-".len()..]);
                }
                Ok(staff::StaffEvent::PasswordSet { .. }) => {}
                Err(e) => skipped("directory", &e),
            }
        } else if let Some(id) = event.stream.strip_prefix("device-") {
            match decode::<staff::access::AccessEvent>(event) {
                Ok(staff::access::AccessEvent::DeviceRegistered {
                    id,
                    location,
                    role,
                    token_hash,
                }) => {
                    let device = staff::access::Device {
                        id: id.clone(),
                        location,
                        role,
                        token_hash,
                        revoked: false,
                    };
                    self.devices.insert(id, device);
                }
                Ok(staff::access::AccessEvent::DeviceRevoked) => {
                    if let Some(d) = self.devices.get_mut(id) {
                        d.revoked = true;
                    }
                }
                Ok(_) => {}
                Err(e) => skipped("directory", &e),
            }
        }
    }
}

/// What the demo would have sent, newest last, for the admins' outbox viewer: `serve --demo`
/// without a mail server or SMS gateway sends here instead. Outside demo mode there is none.
#[derive(Clone, Default)]
pub struct DemoOutbox(Arc<std::sync::Mutex<std::collections::VecDeque<DemoMessage>>>);

/// A message as the viewer shows it, with its calendar file if it has one.
#[derive(Clone)]
pub struct DemoMessage {
    pub view: schalter_events::api::OutboxMessage,
    pub calendar: Option<String>,
}

impl DemoOutbox {
    /// A demo runs for days at most; the newest messages are what anyone looks at.
    const KEPT: usize = 500;

    pub fn push(&self, message: DemoMessage) {
        let mut messages = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if messages.len() == Self::KEPT {
            messages.pop_front();
        }
        messages.push_back(message);
    }

    /// Newest first.
    pub fn list(&self) -> Vec<schalter_events::api::OutboxMessage> {
        let messages = self.0.lock().unwrap_or_else(|e| e.into_inner());
        messages.iter().rev().map(|m| m.view.clone()).collect()
    }

    pub fn get(&self, id: &str) -> Option<DemoMessage> {
        let messages = self.0.lock().unwrap_or_else(|e| e.into_inner());
        messages.iter().find(|m| m.view.id == id).cloned()
    }
}

/// Messages that need an admin's eye: failing, given up, overdue, or expired unsent.
#[derive(Default, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct MessageProblems {
    /// Sending failed at least once and the message is not sent (yet).
    pub failing: Vec<MessageProblem>,
    /// Due more than 10 minutes ago and not sent (the sender may be stuck or unconfigured).
    pub overdue: Vec<MessageProblem>,
    /// Its moment passed unsent (e.g. a confirmation more than a day late).
    pub expired: Vec<MessageProblem>,
}

#[derive(Clone, serde::Serialize, utoipa::ToSchema)]
pub struct MessageProblem {
    pub id: String,
    pub kind: String,
    #[schema(value_type = String)]
    pub due: DateTime<Utc>,
    pub attempts: u32,
    pub given_up: bool,
    /// The mail server's last answer, with addresses removed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub vault: crate::engine::vault::Vault,
    pub abuse: Arc<crate::http::abuse::Abuse>,
    /// Whether an SMS gateway is configured (the kiosk then offers "your turn is near").
    pub sms: bool,
    /// Whether the municipality publishes open data (`SCHALTER_OPEN_DATA=on`).
    pub open_data: bool,
    /// Walk-in tickets at any hour, not only while the office is open (`Settings`).
    pub walk_ins_any_hour: bool,
    /// Grants `/metrics` to other machines (see `Settings::metrics_token`).
    pub metrics_token: Option<Arc<str>>,
    /// Where messages go in demo mode without a mail server or SMS gateway.
    pub demo_outbox: Option<DemoOutbox>,
    /// The address citizens reach Schalter at (`SCHALTER_PUBLIC_URL`, else the listen address),
    /// for links in calendar files.
    pub public_url: Arc<str>,
    stats: Arc<RwLock<schalter_events::stats::Stats>>,
    catalogue: Arc<RwLock<Catalogue>>,
    taken: Arc<RwLock<Taken>>,
    queues: Arc<RwLock<Queues>>,
    directory: Arc<RwLock<Directory>>,
    audit: Arc<RwLock<schalter_events::audit::Audit>>,
    cases: Arc<RwLock<schalter_events::case::Cases>>,
    /// Kept current by the message sender (empty when no mail server is configured).
    pub message_problems: Arc<RwLock<MessageProblems>>,
    /// Position up to which the projections above have applied the log.
    applied: Arc<watch::Sender<i64>>,
    /// Flips to true when the server shuts down; long-lived responses (SSE) end on it.
    pub shutdown: watch::Receiver<bool>,
    /// Runs every write (see [`crate::engine::executor`]).
    pub executor: Executor,
}

fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

impl AppState {
    /// Folds the whole log into the in-memory projections and returns the position reached.
    pub async fn load(
        store: Store,
        vault: crate::engine::vault::Vault,
        shutdown: watch::Receiver<bool>,
    ) -> Result<(AppState, i64), StoreError> {
        let applied = Arc::new(watch::channel(0).0);
        let state = AppState {
            executor: Executor::with_projections(store.clone(), applied.clone()),
            store,
            vault,
            abuse: Arc::new(crate::http::abuse::Abuse::new(true)),
            sms: false,
            open_data: false,
            walk_ins_any_hour: false,
            metrics_token: None,
            demo_outbox: None,
            public_url: Arc::from(""),
            stats: Arc::default(),
            catalogue: Arc::default(),
            taken: Arc::default(),
            queues: Arc::default(),
            directory: Arc::default(),
            audit: Arc::default(),
            cases: Arc::default(),
            message_problems: Arc::default(),
            applied,
            shutdown,
        };
        let mut position = 0;
        let mut batches = state.store.read_ahead(0, 2000);
        while let Some(batch) = batches.recv().await {
            let batch = batch?;
            position = batch.last().map_or(position, |e| e.position);
            state.apply(&batch);
        }
        Ok((state, position))
    }

    /// Changes to how the offices run, for the admins' audit view.
    pub fn audit(&self) -> RwLockReadGuard<'_, schalter_events::audit::Audit> {
        read(&self.audit)
    }

    /// Every case in brief (no contact): lookups by reference, the overdue ones.
    pub fn cases(&self) -> RwLockReadGuard<'_, schalter_events::case::Cases> {
        read(&self.cases)
    }

    pub fn stats(&self) -> RwLockReadGuard<'_, schalter_events::stats::Stats> {
        read(&self.stats)
    }

    pub fn catalogue(&self) -> RwLockReadGuard<'_, Catalogue> {
        read(&self.catalogue)
    }

    pub fn taken(&self) -> RwLockReadGuard<'_, Taken> {
        read(&self.taken)
    }

    pub fn queues(&self) -> RwLockReadGuard<'_, Queues> {
        read(&self.queues)
    }

    pub fn directory(&self) -> RwLockReadGuard<'_, Directory> {
        read(&self.directory)
    }

    /// The log position the projections have applied.
    pub fn applied(&self) -> i64 {
        *self.applied.borrow()
    }

    /// Wakes whenever the projections have applied more of the log (SSE streams wait on it).
    pub fn changes(&self) -> watch::Receiver<i64> {
        self.applied.subscribe()
    }

    pub fn apply(&self, events: &[RecordedEvent]) {
        {
            let mut directory = self.directory.write().unwrap_or_else(|e| e.into_inner());
            let mut catalogue = self.catalogue.write().unwrap_or_else(|e| e.into_inner());
            let mut taken = self.taken.write().unwrap_or_else(|e| e.into_inner());
            let mut queues = self.queues.write().unwrap_or_else(|e| e.into_inner());
            let mut stats = self.stats.write().unwrap_or_else(|e| e.into_inner());
            let mut audit = self.audit.write().unwrap_or_else(|e| e.into_inner());
            let mut cases = self.cases.write().unwrap_or_else(|e| e.into_inner());
            for e in events {
                if let Err(err) = cases.apply(e) {
                    skipped("cases", &err);
                }
                if let Err(err) = audit.apply(e) {
                    skipped("audit", &err);
                }
                if let Err(err) = stats.apply(e) {
                    skipped("statistics", &err);
                }
                if let Err(err) = Projection::apply(&mut *catalogue, e) {
                    skipped("catalogue", &err);
                }
                taken.apply(e);
                queues.apply(e);
                directory.apply(e);
            }
        }
        if let Some(last) = events.last() {
            self.applied.send_if_modified(|p| {
                let newer = last.position > *p;
                if newer {
                    *p = last.position;
                }
                newer
            });
        }
    }

    /// Runs a write (see [`Executor::execute`]).
    pub async fn execute<C: Command>(
        &self,
        actor: &str,
        key: Option<CommandKey>,
        command: C,
    ) -> Result<Executed<C::Output>, C::Error> {
        self.executor.execute(actor, key, command).await
    }

    /// Read-your-writes: waits (briefly) until the projections include `position`, so a client
    /// that just booked sees the slot as taken on its next request to this instance.
    pub async fn caught_up(&self, position: i64) {
        self.executor.caught_up(position).await
    }

    /// Keeps the projections current, also with events appended by other server instances.
    pub fn follow(&self, from: i64) -> tokio::task::JoinHandle<()> {
        let state = self.clone();
        let mut subscription = self.store.subscribe_from(None, from);
        let mut shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    batch = subscription.next_batch() => match batch {
                        Ok(batch) => state.apply(&batch),
                        Err(e) => {
                            tracing::warn!(error = %e, "projection follower could not read the log; retrying");
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                    },
                    _ = shutdown.changed() => break,
                }
            }
        })
    }
}

/// An event a projection cannot read is skipped, logged and counted: after an upgrade the
/// metric must stay absent (`schalter_projection_unreadable_events_total`).
fn skipped(projection: &'static str, error: &dyn std::fmt::Display) {
    tracing::error!(error = %error, projection, "a projection skipped an unreadable event");
    metrics::counter!("schalter_projection_unreadable_events_total", "projection" => projection).increment(1);
}
