//! Sends citizens their messages: by email the confirmation (with the appointment as a calendar
//! file), change and cancellation notices and a reminder before the appointment; by SMS, where a
//! gateway is configured, the reminder to bookings that left a phone number and "your turn is
//! near" to walk-in tickets that did; and "your document is ready" to applications (cases) that
//! left an address or a number; years later, a reminder to renew the document before it expires
//! to citizens who asked for one (whose address is erased once it went). Every server runs this; the message streams (see
//! `schalter_events::outbox`) make sure one of them sends each message, and that a message whose
//! sender died is sent after its lease runs out.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use schalter_events::api::{LocalTime, MessageChannel, OutboxMessage};
use schalter_events::booking::{normalise_phone, Booking, BookingEvent, Personal, Status};
use schalter_events::case::{Case, CaseEvent, Step};
use schalter_events::catalogue::Text;
use schalter_events::outbox::{self, Delivery, Kind};
use schalter_events::queue::{self, NumberEvent, TicketEvent};
use schalter_events::renewal::{self, RenewalEvent};
use schalter_events::{decode, ics, Decision, RecordedEvent};

use crate::engine::clock::Clock;
use crate::engine::executor::{Executed, Record, WriteError};
use crate::engine::state::{AppState, DemoMessage, DemoOutbox, MessageProblem, MessageProblems};
use crate::jobs::sms::{HttpGateway, Sms, SmsGateway, SmsSettings};

/// What the sender needs to know; each channel is optional.
#[derive(Debug, Clone)]
pub struct MessageSettings {
    /// Base of the manage links in messages, e.g. `https://termine.example.de`.
    pub public_url: String,
    pub reminder_hours: u32,
    /// How long a claimed message is left to its sender before another server takes it.
    pub lease: Duration,
    pub mail: Option<MailSettings>,
    pub sms: Option<SmsSettings>,
    /// When messages are due, retried, overdue and expired (a test moves it forward).
    pub clock: Clock,
}

impl Default for MessageSettings {
    fn default() -> Self {
        MessageSettings {
            public_url: String::new(),
            reminder_hours: 24,
            lease: Duration::seconds(120),
            mail: None,
            sms: None,
            clock: Clock::system(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct MailSettings {
    /// e.g. `smtp://mail.example.org:587?tls=required`, `smtps://user:pass@host`, `smtp://localhost:25`
    pub smtp_url: String,
    pub from: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Channel {
    Mail,
    Sms,
}

/// Whom a message is about.
#[derive(Debug, Clone, PartialEq, Eq)]
enum About {
    /// The booking's stream.
    Booking(String),
    /// A walk-in ticket's id.
    Ticket(String),
    /// The case's stream.
    Case(String),
    /// The renewal reminder's stream.
    Renewal(String),
}

/// A walk-in ticket whose holder left a phone number, until it is called or the day is over.
#[derive(Debug, Clone)]
struct Watched {
    location: String,
    day: chrono::NaiveDate,
    label: String,
    contact: Personal,
}

/// A message the log asks for and that is not known to be sent.
#[derive(Debug, Clone)]
struct Pending {
    kind: Kind,
    channel: Channel,
    about: About,
    due: DateTime<Utc>,
    /// After this, sending makes no sense any more (the appointment is over, or a notice is a
    /// day late); an unsent message is then flagged instead.
    expires: DateTime<Utc>,
    /// Reminders: the start they are for (the booking may have moved since).
    start: Option<DateTime<Utc>>,
}

/// A renewal reminder waiting for its day.
#[derive(Debug, Clone, Copy)]
struct Scheduled {
    due: DateTime<Utc>,
    /// The request's position, which names its messages.
    position: i64,
    /// Its messages are queued (its day has come).
    queued: bool,
}

/// How late a notice may still go out.
const NOTICE_VALID_HOURS: i64 = 24;
/// A document waits weeks to be picked up: its notice is still worth sending days late.
const READY_VALID_DAYS: i64 = 7;
/// Due longer than this and still unsent: shown as overdue in the metrics.
const OVERDUE_MINUTES: i64 = 10;

struct Outbox {
    mail: bool,
    sms: bool,
    reminder_hours: u32,
    bookings: HashMap<String, Booking>,
    tickets: HashMap<String, Watched>,
    /// Open cases that left a contact: the ones a "ready" notice may be for.
    cases: HashMap<String, Case>,
    /// Renewal reminders still to go, by stream. They wait years for their day, so only when
    /// is kept; the reminder itself is read from its stream when it is sent.
    renewals: HashMap<String, Scheduled>,
    pending: BTreeMap<String, Pending>,
    deliveries: HashMap<String, Delivery>,
}

impl Outbox {
    fn new(settings: &MessageSettings) -> Outbox {
        Outbox {
            mail: settings.mail.is_some(),
            sms: settings.sms.is_some(),
            reminder_hours: settings.reminder_hours,
            bookings: HashMap::new(),
            tickets: HashMap::new(),
            cases: HashMap::new(),
            renewals: HashMap::new(),
            pending: BTreeMap::new(),
            deliveries: HashMap::new(),
        }
    }

    fn done(&self, id: &str) -> bool {
        self.deliveries.get(id).is_some_and(Delivery::finished)
    }

    fn apply(&mut self, e: &RecordedEvent, tz_of: &(dyn Fn(&str) -> Tz + Sync)) {
        if let Some(id) = e.stream.strip_prefix("message-") {
            if let Err(err) = self.deliveries.entry(id.to_owned()).or_default().apply(e) {
                tracing::error!(error = %err, "outbox skipped an unreadable message event");
            }
            return;
        }
        if self.sms && e.stream.starts_with("numbers-") {
            self.watch(e);
            return;
        }
        if let Some(id) = e.stream.strip_prefix("ticket-") {
            if let Ok(TicketEvent::ContactErased { .. }) = decode::<TicketEvent>(e) {
                self.tickets.remove(id);
            }
            return;
        }
        let simulated = e.metadata.correlation.as_deref() == Some(schalter_events::SIMULATED);
        if e.stream.starts_with("case-") && !simulated {
            self.apply_case(e);
            return;
        }
        if e.stream.starts_with("renewal-") {
            self.apply_renewal(e, tz_of);
            return;
        }
        if !e.stream.starts_with("booking-") || simulated {
            return;
        }
        let mut booking = self.bookings.remove(&e.stream);
        if let Err(err) = Booking::apply(&mut booking, e) {
            tracing::error!(error = %err, "outbox skipped an unreadable booking event");
            return;
        }
        let Some(b) = booking else { return };
        // A job's event is stamped with the jobs' clock (a test moves it forward).
        let at = e.metadata.requested_at.unwrap_or(e.recorded_at);
        let notice = |kind| Pending {
            kind,
            channel: Channel::Mail,
            about: About::Booking(e.stream.clone()),
            due: at,
            expires: at + Duration::hours(NOTICE_VALID_HOURS),
            start: None,
        };
        let mut notices = Vec::new();
        match decode::<BookingEvent>(e) {
            Ok(BookingEvent::BookingPlaced { .. }) => {
                notices.push((format!("confirm-{}", e.position), notice(Kind::Confirmation)));
                notices.extend(self.reminders(&e.stream, &b, e.recorded_at, tz_of));
            }
            Ok(BookingEvent::BookingRescheduled { .. }) => {
                notices.push((format!("change-{}", e.position), notice(Kind::Change)));
                notices.extend(self.reminders(&e.stream, &b, e.recorded_at, tz_of));
            }
            Ok(BookingEvent::ReconfirmationAsked { .. }) => {
                notices.push((format!("reconfirm-{}", e.position), notice(Kind::Reconfirmation)));
            }
            // A first confirmation that never came may be a mistyped address: only a booking
            // once confirmed is told that it was released.
            Ok(BookingEvent::BookingExpired { .. }) if b.reconfirming => {
                notices.push((format!("released-{}", e.position), notice(Kind::Released)));
            }
            Ok(BookingEvent::BookingCancelled { by_office, .. }) => {
                notices.push((format!("cancel-{}", e.position), notice(Kind::Cancellation)));
                // The citizen did not cancel: where they left a number, a text too.
                if by_office.is_some() {
                    let by_sms = Pending {
                        channel: Channel::Sms,
                        ..notice(Kind::Cancellation)
                    };
                    notices.push((format!("sms-cancel-{}", e.position), by_sms));
                }
            }
            _ => {}
        }
        for (id, pending) in notices {
            let wanted = match pending.channel {
                Channel::Mail => self.mail,
                Channel::Sms => self.sms,
            };
            if wanted {
                self.pending.insert(id, pending);
            }
        }
        self.bookings.insert(e.stream.clone(), b);
    }

    /// A case reaching "ready" asks for its notice by mail and by SMS (which of them the
    /// citizen left is only known once the sealed contact is opened at sending time).
    fn apply_case(&mut self, e: &RecordedEvent) {
        let mut folded = self.cases.remove(&e.stream);
        if let Err(err) = Case::apply(&mut folded, e) {
            tracing::error!(error = %err, "outbox skipped an unreadable case event");
            return;
        }
        let Some(c) = folded.filter(|c| c.contact.is_some()) else {
            return;
        };
        if let Ok(CaseEvent::StepReached { step: Step::Ready, .. }) = decode::<CaseEvent>(e) {
            for (id, channel, wanted) in [
                (format!("ready-{}", e.position), Channel::Mail, self.mail),
                (format!("sms-ready-{}", e.position), Channel::Sms, self.sms),
            ] {
                if wanted {
                    let pending = Pending {
                        kind: Kind::CaseReady,
                        channel,
                        about: About::Case(e.stream.clone()),
                        due: e.recorded_at,
                        expires: e.recorded_at + Duration::days(READY_VALID_DAYS),
                        start: None,
                    };
                    self.pending.insert(id, pending);
                }
            }
        }
        if !c.step.is_closed() {
            self.cases.insert(e.stream.clone(), c);
        }
    }

    /// A renewal reminder is scheduled for its day; withdrawn or erased, it is forgotten.
    fn apply_renewal(&mut self, e: &RecordedEvent, tz_of: &(dyn Fn(&str) -> Tz + Sync)) {
        match decode::<RenewalEvent>(e) {
            Ok(RenewalEvent::ReminderRequested {
                location, remind_on, ..
            }) => {
                let scheduled = Scheduled {
                    due: renewal::due(remind_on, &tz_of(&location)),
                    position: e.position,
                    queued: false,
                };
                self.renewals.insert(e.stream.clone(), scheduled);
            }
            Ok(RenewalEvent::ReminderCancelled { .. } | RenewalEvent::ContactErased { .. }) => {
                self.renewals.remove(&e.stream);
            }
            Err(err) => tracing::error!(error = %err, "outbox skipped an unreadable renewal event"),
        }
    }

    /// Queues the mail and the SMS of each renewal reminder whose day has come (which of them
    /// the citizen left is only known once the sealed address is opened at sending time).
    fn renewals_due(&mut self, now: DateTime<Utc>) {
        for (stream, s) in self.renewals.iter_mut().filter(|(_, s)| !s.queued && s.due <= now) {
            s.queued = true;
            for (id, channel, wanted) in [
                (format!("renew-{}", s.position), Channel::Mail, self.mail),
                (format!("sms-renew-{}", s.position), Channel::Sms, self.sms),
            ] {
                if wanted && !self.deliveries.get(&id).is_some_and(Delivery::finished) {
                    let pending = Pending {
                        kind: Kind::Renewal,
                        channel,
                        about: About::Renewal(stream.clone()),
                        due: s.due,
                        expires: s.due + Duration::days(renewal::VALID_DAYS),
                        start: None,
                    };
                    self.pending.insert(id, pending);
                }
            }
        }
    }

    /// Renewal reminders whose messages were queued and are all sent, dropped or expired: their
    /// addresses are to be erased now.
    fn renewals_done(&self) -> Vec<String> {
        let waiting: std::collections::HashSet<&str> = self
            .pending
            .values()
            .filter_map(|p| match &p.about {
                About::Renewal(stream) => Some(stream.as_str()),
                _ => None,
            })
            .collect();
        self.renewals
            .iter()
            .filter(|(stream, s)| s.queued && !waiting.contains(stream.as_str()))
            .map(|(stream, _)| stream.clone())
            .collect()
    }

    /// The reminder by mail and, for holders who left a phone number, by SMS (whether they did
    /// is only known once the sealed contact is opened at sending time).
    /// The reminders for `b`'s time; never due before `decided` (when the booking was made or
    /// moved), so that a booking made within the reminder window gets its confirmation first.
    fn reminders(
        &self,
        stream: &str,
        b: &Booking,
        decided: DateTime<Utc>,
        tz_of: &(dyn Fn(&str) -> Tz + Sync),
    ) -> Vec<(String, Pending)> {
        let hash = booking_hash(stream);
        let id = format!(
            "remind-{}-{}",
            hash.get(..16).unwrap_or(hash),
            b.start.format("%Y%m%dT%H%M")
        );
        let pending = Pending {
            kind: Kind::Reminder,
            channel: Channel::Mail,
            about: About::Booking(stream.to_owned()),
            due: outbox::reminder_due(b.start, self.reminder_hours, &tz_of(&b.location)).max(decided),
            expires: b.start,
            start: Some(b.start),
        };
        let by_sms = Pending {
            channel: Channel::Sms,
            ..pending.clone()
        };
        vec![(format!("sms-{id}"), by_sms), (id, pending)]
    }

    /// Remembers walk-in tickets with a phone number.
    fn watch(&mut self, e: &RecordedEvent) {
        let Some((location, day, prefix)) = queue::parse_numbers_stream(&e.stream) else {
            return;
        };
        if let Ok(NumberEvent::TicketIssued {
            contact: Some(contact), ..
        }) = decode::<NumberEvent>(e)
        {
            let label = queue::label(prefix, e.version);
            self.tickets.insert(
                queue::ticket_id(location, day, &label),
                Watched {
                    location: location.to_owned(),
                    day,
                    label,
                    contact,
                },
            );
        }
    }

    /// Queues "your turn is near" for watched tickets with at most `near_ahead` people before
    /// them; forgets tickets already called or of past days.
    fn tickets_near(
        &mut self,
        state: &AppState,
        near_ahead: usize,
        now: DateTime<Utc>,
        tz_of: &(dyn Fn(&str) -> Tz + Sync),
    ) {
        let mut forget = Vec::new();
        for (id, t) in &self.tickets {
            let message = format!("near-{id}");
            if self.done(&message) {
                forget.push(id.clone());
                continue;
            }
            if self.pending.contains_key(&message) {
                continue;
            }
            if t.day < now.with_timezone(&tz_of(&t.location)).date_naive() {
                forget.push(id.clone());
                continue;
            }
            let tickets = state.queues().tickets(&t.location, t.day);
            let max_wait = Duration::minutes(schalter_events::queue::MAX_WAIT_MINUTES);
            match queue::ahead_of(&tickets, &t.label, now, max_wait) {
                Some(ahead) if ahead <= near_ahead => {
                    self.pending.insert(
                        message,
                        Pending {
                            kind: Kind::TurnNear,
                            channel: Channel::Sms,
                            about: About::Ticket(id.clone()),
                            due: now,
                            expires: now + Duration::hours(1),
                            start: None,
                        },
                    );
                }
                Some(_) => {}
                // Called, served or gone: nothing to announce any more.
                None if tickets.iter().any(|x| x.label == t.label) => forget.push(id.clone()),
                None => {}
            }
        }
        for id in forget {
            self.tickets.remove(&id);
        }
    }

    /// Forgets what can no longer lead to a message, so memory stays bounded.
    fn prune(&mut self, now: DateTime<Utc>) {
        let deliveries = &self.deliveries;
        self.pending.retain(|id, p| {
            let done = deliveries.get(id).is_some_and(Delivery::finished);
            if !done && p.expires < now {
                metrics::counter!("schalter_messages_expired_total").increment(1);
                tracing::warn!(message = %id, "message expired unsent");
            }
            !done && p.expires >= now
        });
        // Every second: one pass over the pending messages, not one per booking.
        let wanted: std::collections::HashSet<&str> = self
            .pending
            .values()
            .filter_map(|p| match &p.about {
                About::Booking(stream) => Some(stream.as_str()),
                About::Ticket(_) | About::Case(_) | About::Renewal(_) => None,
            })
            .collect();
        self.bookings
            .retain(|stream, b| b.end > now - Duration::days(1) || wanted.contains(stream.as_str()));
        let overdue = self
            .pending
            .values()
            .filter(|p| p.due + Duration::minutes(OVERDUE_MINUTES) < now)
            .count();
        metrics::gauge!("schalter_messages_overdue").set(overdue as f64);
    }

    /// What an admin should look at, without any personal data.
    fn problems(&self, now: DateTime<Utc>, expired: &[MessageProblem]) -> MessageProblems {
        let problem = |id: &String, p: &Pending| {
            let d = self.deliveries.get(id).cloned().unwrap_or_default();
            MessageProblem {
                id: id.clone(),
                kind: kind_name(p.kind, p.channel).into(),
                due: p.due,
                attempts: d.attempts,
                given_up: d.given_up,
                last_error: d.last_error.as_deref().map(without_addresses),
            }
        };
        MessageProblems {
            failing: self
                .pending
                .iter()
                .filter(|(id, _)| {
                    self.deliveries
                        .get(*id)
                        .is_some_and(|d| d.last_error.is_some() && !d.sent)
                })
                .map(|(id, p)| problem(id, p))
                .collect(),
            overdue: self
                .pending
                .iter()
                .filter(|(_, p)| p.due + Duration::minutes(OVERDUE_MINUTES) < now)
                .map(|(id, p)| problem(id, p))
                .collect(),
            expired: expired.to_vec(),
        }
    }
}

/// How a message goes out.
enum Outgoing {
    Mail(Box<Letter>),
    Sms(Sms),
}

/// An email's parts, before it becomes a MIME message (or a demo outbox entry).
struct Letter {
    to: String,
    subject: String,
    text: String,
    calendar: Option<Calendar>,
}

/// A calendar file and its iCalendar method (`PUBLISH`, or `CANCEL` for a cancellation).
struct Calendar {
    text: String,
    method: &'static str,
}

enum MailTransport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Demo(DemoOutbox),
}

struct Transports {
    mail: Option<(MailSettings, MailTransport)>,
    sms: Option<(SmsSettings, Arc<dyn SmsGateway>)>,
}

/// The demo municipality's clock, for the times the demo outbox shows.
const DEMO_TZ: Tz = chrono_tz::Europe::Berlin;

/// Text messages in demo mode: into the demo outbox instead of a gateway.
struct DemoGateway(DemoOutbox);

#[async_trait::async_trait]
impl SmsGateway for DemoGateway {
    async fn send(&self, sms: &Sms) -> Result<(), String> {
        self.0.push(DemoMessage {
            view: OutboxMessage {
                id: sms.id.clone(),
                channel: MessageChannel::Sms,
                at: LocalTime::at(Utc::now().with_timezone(&DEMO_TZ)),
                to: sms.to.clone(),
                subject: String::new(),
                text: sms.text.clone(),
                calendar: false,
            },
            calendar: None,
        });
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("SMTP: {0}")]
    Mail(#[from] lettre::transport::smtp::Error),
    #[error("SMS gateway: {0}")]
    Sms(String),
}

/// Starts the sender if any channel is configured; it first reads the whole log, then follows it.
pub fn spawn(state: AppState, settings: MessageSettings) -> Result<(), SetupError> {
    // In demo mode without a mail server or gateway, both channels go to the demo outbox.
    let demo = state.demo_outbox.clone();
    let mail = match (&settings.mail, &demo) {
        (Some(mail), Some(outbox)) => Some((mail.clone(), MailTransport::Demo(outbox.clone()))),
        (Some(mail), None) => {
            let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&mail.smtp_url)?
                .timeout(Some(StdDuration::from_secs(30)))
                .build();
            Some((mail.clone(), MailTransport::Smtp(transport)))
        }
        (None, _) => None,
    };
    let sms = match (&settings.sms, demo) {
        (Some(sms), Some(outbox)) => {
            let gateway: Arc<dyn SmsGateway> = Arc::new(DemoGateway(outbox));
            Some((sms.clone(), gateway))
        }
        (Some(sms), None) => {
            let gateway: Arc<dyn SmsGateway> = Arc::new(HttpGateway::new(sms).map_err(SetupError::Sms)?);
            Some((sms.clone(), gateway))
        }
        (None, _) => None,
    };
    if mail.is_none() && sms.is_none() {
        return Ok(());
    }
    let transports = Transports { mail, sms };
    tokio::spawn(async move {
        if let Err(e) = run(state, settings, transports).await {
            tracing::error!(error = %e, "the message sender stopped");
        }
    });
    Ok(())
}

async fn run(
    state: AppState,
    settings: MessageSettings,
    transports: Transports,
) -> Result<(), schalter_events::store::StoreError> {
    let tz_of = {
        let state = state.clone();
        move |location: &str| -> Tz { state.catalogue().time_zone(location) }
    };
    let mut outbox = Outbox::new(&settings);
    let mut position = 0;
    let mut batches = state.store.read_ahead(0, 2000);
    while let Some(batch) = batches.recv().await {
        let batch = batch?;
        position = batch.last().map_or(position, |e| e.position);
        for e in &batch {
            outbox.apply(e, &tz_of);
        }
    }
    let mut subscription = state.store.subscribe_from(None, position);
    let mut shutdown = state.shutdown.clone();
    let mut tick = tokio::time::interval(StdDuration::from_secs(1));
    let mut expired: Vec<MessageProblem> = Vec::new();
    loop {
        tokio::select! {
            batch = subscription.next_batch() => match batch {
                Ok(batch) => {
                    for e in &batch {
                        outbox.apply(e, &tz_of);
                    }
                    // A confirmation leaves with the booking, not at the next tick.
                    send_due(&state, &settings, &transports, &mut outbox, &tz_of).await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "message sender could not read the log; retrying");
                    tokio::time::sleep(StdDuration::from_secs(1)).await;
                }
            },
            _ = tick.tick() => {
                let now = settings.clock.now();
                if let Some((sms, _)) = &transports.sms {
                    // The projections must have seen at least what this sender has.
                    state.caught_up(subscription.position()).await;
                    outbox.tickets_near(&state, sms.near_ahead, now, &tz_of);
                }
                for (id, p) in outbox.pending.iter().filter(|(id, p)| p.expires < now && !outbox.done(id)) {
                    expired.push(MessageProblem {
                        id: id.clone(),
                        kind: kind_name(p.kind, p.channel).into(),
                        due: p.due,
                        attempts: outbox.deliveries.get(id).map(|d| d.attempts).unwrap_or(0),
                        given_up: false,
                        last_error: None,
                    });
                }
                let keep = expired.len().saturating_sub(100);
                expired.drain(..keep);
                outbox.prune(now);
                erase_renewals(&state, &mut outbox).await;
                outbox.renewals_due(now);
                *state.message_problems.write().unwrap_or_else(|e| e.into_inner()) = outbox.problems(now, &expired);
                send_due(&state, &settings, &transports, &mut outbox, &tz_of).await;
            }
            _ = shutdown.changed() => return Ok(()),
        }
    }
}

/// Sends every message that is due and not being sent elsewhere, in the order things happened
/// (a change notice before the cancellation after it).
async fn send_due(
    state: &AppState,
    settings: &MessageSettings,
    transports: &Transports,
    outbox: &mut Outbox,
    tz_of: &(dyn Fn(&str) -> Tz + Sync),
) {
    let now = settings.clock.now();
    // Due at the same moment (a booking within the reminder window): the notice first.
    let mut due: Vec<(DateTime<Utc>, bool, String)> = outbox
        .pending
        .iter()
        .filter(|(id, p)| p.due <= now && outbox.deliveries.get(*id).is_none_or(|d| d.may_start(now)))
        .map(|(id, p)| (p.due, p.kind == Kind::Reminder, id.clone()))
        .collect();
    due.sort();
    for (_, _, id) in due {
        deliver(state, settings, transports, outbox, &id, tz_of).await;
    }
}

/// The message for `pending`, or `None` when there is nothing (any more) to send: a reminder for
/// a time the booking no longer has, personal data erased, no email address (a caller booked by
/// the desk) or no phone number for an SMS.
async fn prepare(
    state: &AppState,
    settings: &MessageSettings,
    transports: &Transports,
    outbox: &Outbox,
    id: &str,
    pending: &Pending,
    tz_of: &(dyn Fn(&str) -> Tz + Sync),
) -> Result<Option<Result<Outgoing, String>>, crate::engine::vault::VaultError> {
    if let About::Case(stream) = &pending.about {
        return case_message(state, settings, transports, outbox, id, pending, stream).await;
    }
    if let About::Renewal(stream) = &pending.about {
        return renewal_message(state, settings, transports, id, pending, stream).await;
    }
    let (contact, booking) = match &pending.about {
        About::Booking(stream) => {
            let Some(booking) = outbox.bookings.get(stream) else {
                return Ok(None);
            };
            let moved = pending.start != Some(booking.start) || booking.status != Status::Confirmed;
            let answered = pending.kind == Kind::Reconfirmation && booking.status != Status::Pending;
            if booking.erased || (pending.kind == Kind::Reminder && moved) || answered {
                return Ok(None);
            }
            (&booking.contact, Some(booking))
        }
        About::Ticket(ticket) => match outbox.tickets.get(ticket) {
            Some(t) => (&t.contact, None),
            None => return Ok(None),
        },
        About::Case(_) | About::Renewal(_) => return Ok(None),
    };
    let Some(personal) = state.vault.open(contact).await? else {
        return Ok(None);
    };
    let message = match (pending.channel, booking) {
        (Channel::Mail, Some(booking)) => {
            // A caller the desk booked for may have given no address.
            if transports.mail.is_none() || personal.email.is_empty() {
                return Ok(None);
            }
            let tz = tz_of(&booking.location);
            compose(state, settings, pending, booking, &personal, tz).map(|l| Outgoing::Mail(Box::new(l)))
        }
        (Channel::Sms, _) => {
            let text = match (&pending.about, booking) {
                (_, Some(booking)) if pending.kind == Kind::Cancellation => {
                    office_cancellation_text(state, settings, booking, tz_of(&booking.location))
                }
                (_, Some(booking)) => reminder_text(state, settings, booking, &personal, tz_of(&booking.location)),
                (About::Ticket(ticket), None) => match outbox.tickets.get(ticket) {
                    Some(t) => turn_near_text(state, t),
                    None => return Ok(None),
                },
                _ => return Ok(None),
            };
            match text_message(transports, &personal, id, text) {
                Some(sms) => Ok(sms),
                None => return Ok(None),
            }
        }
        (Channel::Mail, None) => return Ok(None),
    };
    Ok(Some(message))
}

/// "Your document is ready", by mail or SMS, in the language the citizen chose first; nothing
/// once the case moved on (picked up, withdrawn) or its contact is erased.
async fn case_message(
    state: &AppState,
    settings: &MessageSettings,
    transports: &Transports,
    outbox: &Outbox,
    id: &str,
    pending: &Pending,
    stream: &str,
) -> Result<Option<Result<Outgoing, String>>, crate::engine::vault::VaultError> {
    let Some(c) = outbox.cases.get(stream).filter(|c| c.step == Step::Ready && !c.erased) else {
        return Ok(None);
    };
    let Some(contact) = &c.contact else { return Ok(None) };
    let Some(personal) = state.vault.open(contact).await? else {
        return Ok(None);
    };
    let kind = state.catalogue().case_kind_name(&c.kind);
    let (location, address) = {
        let catalogue = state.catalogue();
        let place = catalogue.locations.get(&c.location);
        (
            place.map(|l| l.name.clone()).unwrap_or_default(),
            place.map(|l| l.address.clone()).unwrap_or_default(),
        )
    };
    let code = personal.code.clone().unwrap_or_default();
    let link = format!("{}/case/{code}", settings.public_url.trim_end_matches('/'));
    match pending.channel {
        Channel::Mail => {
            if transports.mail.is_none() || personal.email.is_empty() {
                return Ok(None);
            }
            let de = format!(
                "Guten Tag,\n\nIhr Dokument liegt zur Abholung bereit: {kind}\n{location}, {address}\n\n\
                 Bitte bringen Sie diesen Code und Ihr bisheriges Dokument (falls vorhanden) mit.\n\
                 Code: {code}\nStand ansehen: {link}\n\nOhne Internet: telefonisch unter 115.\n",
                kind = kind.de,
                location = location.de,
            );
            let en = format!(
                "Hello,\n\nYour document is ready for pick-up: {kind}\n{location}, {address}\n\n\
                 Please bring this code and your old document (if you have one).\n\
                 Code: {code}\nSee the status: {link}\n\nNo internet? Call 115.\n",
                kind = kind.en,
                location = location.en,
            );
            let de = (format!("Abholbereit: {}", kind.de), de);
            let en = (format!("Ready for pick-up: {}", kind.en), en);
            Ok(Some(Ok(bilingual(&personal.email, &c.language, de, en))))
        }
        Channel::Sms => {
            let text = match c.language.as_str() {
                "en" => format!(
                    "{}: your document ({}) is ready for pick-up. Status: {link}",
                    location.en, kind.en
                ),
                _ => format!(
                    "{}: Ihr Dokument ({}) ist abholbereit. Stand: {link}",
                    location.de, kind.de
                ),
            };
            Ok(text_message(transports, &personal, id, text).map(Ok))
        }
    }
}

/// "Your document expires soon: apply for a new one", by mail or SMS, in the citizen's language
/// first, with a link to book: the service of the same id as the kind of document where the
/// office offers one online (the demo's `personalausweis`, `reisepass`), else the start page.
async fn renewal_message(
    state: &AppState,
    settings: &MessageSettings,
    transports: &Transports,
    id: &str,
    pending: &Pending,
    stream: &str,
) -> Result<Option<Result<Outgoing, String>>, crate::engine::vault::VaultError> {
    let hash = stream.trim_start_matches("renewal-");
    let renewal = crate::engine::streams::renewal(&state.store, hash)
        .await
        .map_err(crate::engine::vault::VaultError::Store)?;
    let Some(r) = renewal.filter(|r| r.active) else {
        return Ok(None);
    };
    let Some(personal) = state.vault.open(&r.contact).await? else {
        return Ok(None);
    };
    let base = settings.public_url.trim_end_matches('/');
    let (kind, location, address, link) = {
        let catalogue = state.catalogue();
        let place = catalogue.locations.get(&r.location);
        let bookable = catalogue
            .services
            .get(&r.kind)
            .is_some_and(|s| s.bookable_online && s.locations.contains(&r.location));
        let link = match bookable {
            true => format!("{base}/?service={}&location={}", r.kind, r.location),
            false => format!("{base}/"),
        };
        (
            catalogue.case_kind_name(&r.kind),
            place.map(|l| l.name.clone()).unwrap_or_default(),
            place.map(|l| l.address.clone()).unwrap_or_default(),
            link,
        )
    };
    let date = r.expires_on.format("%d.%m.%Y");
    match pending.channel {
        Channel::Mail => {
            if transports.mail.is_none() || personal.email.is_empty() {
                return Ok(None);
            }
            let de = format!(
                "Guten Tag,\n\nIhr Dokument läuft am {date} ab: {kind}\n\
                 Ein neues braucht einige Wochen. Bitte beantragen Sie es rechtzeitig.\n\n\
                 Termin buchen: {link}\n{location}, {address}\n\n\
                 Sie hatten bei der Abholung um diese Erinnerung gebeten. Ihre Adresse ist mit diesem \
                 Schreiben gelöscht.\nOhne Internet: telefonisch unter 115.\n",
                kind = kind.de,
                location = location.de,
            );
            let en = format!(
                "Hello,\n\nYour document expires on {date}: {kind}\n\
                 A new one takes a few weeks. Please apply in good time.\n\n\
                 Book an appointment: {link}\n{location}, {address}\n\n\
                 You asked for this reminder when you collected it. Your address is erased with this \
                 message.\nNo internet? Call 115.\n",
                kind = kind.en,
                location = location.en,
            );
            let de = (format!("Läuft am {date} ab: {}", kind.de), de);
            let en = (format!("Expires on {date}: {}", kind.en), en);
            Ok(Some(Ok(bilingual(&personal.email, &r.language, de, en))))
        }
        Channel::Sms => {
            let text = match r.language.as_str() {
                "en" => format!(
                    "{}: your {} expires on {date}. Apply for a new one in good time: {link}",
                    location.en, kind.en
                ),
                _ => format!(
                    "{}: Ihr Dokument ({}) läuft am {date} ab. Bitte rechtzeitig neu beantragen: {link}",
                    location.de, kind.de
                ),
            };
            Ok(text_message(transports, &personal, id, text).map(Ok))
        }
    }
}

/// Erases the addresses of renewal reminders that are done (see [`Outbox::renewals_done`]); a
/// failure is tried again at the next tick, and the daily retention run erases what lapsed.
async fn erase_renewals(state: &AppState, outbox: &mut Outbox) {
    for stream in outbox.renewals_done() {
        let hash = stream.trim_start_matches("renewal-");
        let erased = crate::jobs::retention::erase_renewal(
            &state.executor,
            &state.vault,
            hash,
            crate::jobs::retention::Erasure::Done,
            "system:outbox",
        );
        match erased.await {
            Ok(_) => {
                outbox.renewals.remove(&stream);
            }
            Err(e) => tracing::warn!(error = %e, "cannot erase a renewal reminder's address yet"),
        }
    }
}

/// A mail to `to` with the subject and text (`de` and `en`, each a subject and a text) in the
/// citizen's `language`, and the other language's text below.
fn bilingual(to: &str, language: &str, de: (String, String), en: (String, String)) -> Outgoing {
    let ((subject, first), second) = match language {
        "en" => (en, de.1),
        _ => (de, en.1),
    };
    Outgoing::Mail(Box::new(Letter {
        to: to.to_owned(),
        subject,
        text: format!("{first}\n---\n\n{second}"),
        calendar: None,
    }))
}

/// `text` as an SMS to the number the citizen left, through the configured gateway; `None`
/// without a gateway or a number.
fn text_message(
    transports: &Transports,
    personal: &crate::engine::vault::PersonalData,
    id: &str,
    text: String,
) -> Option<Outgoing> {
    let (sms, _) = transports.sms.as_ref()?;
    let to = personal.phone.as_deref().and_then(normalise_phone)?;
    Some(Outgoing::Sms(Sms {
        id: id.to_owned(),
        to,
        from: sms.sender.clone(),
        text,
    }))
}

async fn deliver(
    state: &AppState,
    settings: &MessageSettings,
    transports: &Transports,
    outbox: &mut Outbox,
    id: &str,
    tz_of: &(dyn Fn(&str) -> Tz + Sync),
) {
    let Some(pending) = outbox.pending.get(id).cloned() else {
        return;
    };
    let message = match prepare(state, settings, transports, outbox, id, &pending, tz_of).await {
        Ok(Some(message)) => message,
        Ok(None) => {
            outbox.pending.remove(id);
            return;
        }
        Err(e) => {
            tracing::error!(error = %e, message = %id, "cannot open the personal data for a message");
            return;
        }
    };
    let now = settings.clock.now();
    let delivery = outbox.deliveries.get(id).cloned().unwrap_or_default();
    let (claim, expectation) = outbox::start(id, &delivery, now, settings.lease);
    let claim = Record::<WriteError>::new(Decision::expecting(claim, expectation));
    match state.execute("system:outbox", None, claim).await {
        Ok(Executed::Done(true, _)) => {}
        // Another server took it (or it moved on): learn its state from the log.
        Ok(_) => {
            if let Ok(events) = state.store.read_stream(&outbox::stream(id), 0).await {
                let mut d = Delivery::default();
                for e in &events {
                    let _ = d.apply(e);
                }
                outbox.deliveries.insert(id.to_owned(), d);
            }
            return;
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot claim a message");
            return;
        }
    }
    let attempt = delivery.attempts + 1;
    let outcome = match message {
        Ok(Outgoing::Mail(letter)) => match &transports.mail {
            Some((mail, MailTransport::Smtp(transport))) => {
                match mime(&letter, &mail.from, id, &message_host(settings)) {
                    Ok(message) => transport.send(message).await.map(|_| ()).map_err(|e| e.to_string()),
                    Err(e) => Err(e),
                }
            }
            Some((_, MailTransport::Demo(outbox))) => {
                outbox.push(demo_message(*letter, id, settings.clock.now()));
                Ok(())
            }
            None => Err("no mail server configured".into()),
        },
        Ok(Outgoing::Sms(sms)) => match &transports.sms {
            Some((_, gateway)) => gateway.send(&sms).await,
            None => Err("no SMS gateway configured".into()),
        },
        Err(e) => Err(e),
    };
    let now = settings.clock.now();
    let (event, label) = match &outcome {
        Ok(()) => (outbox::sent(id, now), "sent"),
        Err(error) => {
            tracing::warn!(message = %id, attempt, error = %error, "sending failed");
            (outbox::failed(id, attempt, error, now), "failed")
        }
    };
    metrics::counter!("schalter_messages_total", "kind" => kind_name(pending.kind, pending.channel), "outcome" => label)
        .increment(1);
    let report = Record::<WriteError>::new(Decision::unconditional(vec![event]));
    if let Err(e) = state.execute("system:outbox", None, report).await {
        // The lease runs out and the message is tried again: at least once.
        tracing::error!(error = %e, message = %id, "cannot record the delivery");
    }
}

fn kind_name(kind: Kind, channel: Channel) -> &'static str {
    match (kind, channel) {
        (Kind::Confirmation, _) => "confirmation",
        (Kind::Change, _) => "change",
        (Kind::Cancellation, Channel::Sms) => "cancellation-sms",
        (Kind::Cancellation, _) => "cancellation",
        (Kind::Reminder, Channel::Mail) => "reminder",
        (Kind::Reminder, Channel::Sms) => "reminder-sms",
        (Kind::TurnNear, _) => "turn-near-sms",
        (Kind::CaseReady, Channel::Mail) => "case-ready",
        (Kind::CaseReady, Channel::Sms) => "case-ready-sms",
        (Kind::Renewal, Channel::Mail) => "renewal",
        (Kind::Renewal, Channel::Sms) => "renewal-sms",
        (Kind::Reconfirmation, _) => "reconfirmation",
        (Kind::Released, _) => "released",
    }
}

/// An SMS is short: German, then the essentials in English.
fn reminder_text(
    state: &AppState,
    settings: &MessageSettings,
    booking: &Booking,
    personal: &crate::engine::vault::PersonalData,
    tz: Tz,
) -> String {
    let (service, location) = {
        let catalogue = state.catalogue();
        (
            catalogue
                .services
                .get(&booking.service)
                .map(|s| s.name.de.clone())
                .unwrap_or_default(),
            catalogue
                .locations
                .get(&booking.location)
                .map(|l| l.name.de.clone())
                .unwrap_or_default(),
        )
    };
    let local = booking.start.with_timezone(&tz);
    let code = personal.code.clone().unwrap_or_default();
    let number = crate::engine::codes::code_hash(&code)
        .map(|hash| crate::engine::codes::check_in_number(&hash))
        .unwrap_or_default();
    let link = cant_come_link(settings, &code);
    format!(
        "Erinnerung: {service}, {date} um {time} Uhr, {location}. Anmeldenummer am Automaten: \
         {number}. Sie können nicht kommen? Bitte absagen: {link} (Reminder: {date}, {time}, check-in {number}; \
         can't come? Please cancel)",
        date = local.format("%d.%m.%Y"),
        time = local.format("%H:%M"),
    )
}

/// The reminder's "I can't come": the manage page with the cancel question already open. A link
/// only opens it; the cancelling is the page's button (a POST), because mail scanners and
/// link previews open every link in a message.
fn cant_come_link(settings: &MessageSettings, code: &str) -> String {
    format!("{}/booking/{code}?absagen=1", settings.public_url.trim_end_matches('/'))
}

/// The office cancelled: its text, and where to book again.
fn office_cancellation_text(state: &AppState, settings: &MessageSettings, booking: &Booking, tz: Tz) -> String {
    let service = state
        .catalogue()
        .services
        .get(&booking.service)
        .map(|s| s.name.de.clone())
        .unwrap_or_default();
    let local = booking.start.with_timezone(&tz);
    format!(
        "Ihr Termin {service} am {date} um {time} Uhr ist abgesagt: {note} Neuen Termin: {site}/ \
         (Your appointment is cancelled by the office.)",
        date = local.format("%d.%m.%Y"),
        time = local.format("%H:%M"),
        note = booking.office_note.as_deref().unwrap_or_default().trim(),
        site = settings.public_url.trim_end_matches('/'),
    )
}

fn turn_near_text(state: &AppState, ticket: &Watched) -> String {
    let location = state
        .catalogue()
        .locations
        .get(&ticket.location)
        .map(|l| l.name.de.clone())
        .unwrap_or_default();
    format!(
        "{location}: Ihre Nummer {label} ist bald dran. Bitte kommen Sie in den Wartebereich. \
         (Your number {label} will be called soon.)",
        label = ticket.label,
    )
}

/// The message, German first with English below: the booking does not record a language, and
/// municipal mail to citizens is German.
#[allow(clippy::too_many_arguments)]
/// The email for a booking: German first, then English, with the calendar file.
fn compose(
    state: &AppState,
    settings: &MessageSettings,
    pending: &Pending,
    booking: &Booking,
    personal: &crate::engine::vault::PersonalData,
    tz: Tz,
) -> Result<Letter, String> {
    let (service, location, address, documents, fee) = {
        let catalogue = state.catalogue();
        let service = catalogue.services.get(&booking.service);
        let location = catalogue.locations.get(&booking.location);
        (
            service
                .map(|s| (s.name.de.clone(), s.name.en.clone()))
                .unwrap_or_default(),
            location.map(|l| l.name.de.clone()).unwrap_or_default(),
            location.map(|l| l.address.clone()).unwrap_or_default(),
            service
                .map(|s| {
                    let list = |pick: fn(&Text) -> &String| s.documents.iter().map(pick).cloned().collect::<Vec<_>>();
                    (list(|t| &t.de).join(", "), list(|t| &t.en).join(", "))
                })
                .unwrap_or_default(),
            service
                .map(|s| (s.fee.de.clone(), s.fee.en.clone()))
                .unwrap_or_default(),
        )
    };
    let local = booking.start.with_timezone(&tz);
    let (date, time) = (local.format("%d.%m.%Y").to_string(), local.format("%H:%M").to_string());
    let code = personal.code.clone().unwrap_or_default();
    let number = crate::engine::codes::code_hash(&code)
        .map(|hash| crate::engine::codes::check_in_number(&hash))
        .unwrap_or_default();
    let mut link = format!("{}/booking/{code}", settings.public_url.trim_end_matches('/'));
    let asks = matches!(pending.kind, Kind::Confirmation | Kind::Reconfirmation);
    if asks && booking.confirm_by.is_some() {
        link.push_str(&format!("?bestaetigen={}", state.vault.confirm_token(&code)));
    }
    let (subject, de_intro, en_intro) = match pending.kind {
        Kind::Confirmation => (
            format!("Terminbestätigung: {} am {date} um {time} Uhr", service.0),
            "Ihr Termin ist gebucht.",
            "Your appointment is booked.",
        ),
        Kind::Change => (
            format!("Termin verschoben: {} am {date} um {time} Uhr", service.0),
            "Ihr Termin wurde verschoben. Es gilt die neue Zeit.",
            "Your appointment was moved. The new time applies.",
        ),
        Kind::Cancellation => (
            format!("Termin abgesagt: {} am {date}", service.0),
            "Ihr Termin ist abgesagt. Sie müssen nichts weiter tun.",
            "Your appointment is cancelled. There is nothing else to do.",
        ),
        Kind::Reconfirmation => (
            format!(
                "Bitte bestätigen Sie Ihren Termin: {} am {date} um {time} Uhr",
                service.0
            ),
            "",
            "",
        ),
        Kind::Released => (format!("Termin freigegeben: {} am {date}", service.0), "", ""),
        Kind::Reminder | Kind::TurnNear | Kind::CaseReady | Kind::Renewal => (
            format!("Erinnerung: {} am {date} um {time} Uhr", service.0),
            "Wir erinnern Sie an Ihren Termin.",
            "A reminder of your appointment.",
        ),
    };
    // Where the location asks for confirmation, the first message asks for it; where the office
    // cancelled, the message says so with the office's own text.
    let (subject, de_intro, en_intro) = match (pending.kind, booking.confirm_by) {
        (Kind::Cancellation, _) if booking.office_note.is_some() => (
            format!("Termin vom Amt abgesagt: {} am {date}", service.0),
            format!(
                "Wir müssen Ihren Termin leider absagen.\n\n{}",
                booking.office_note.as_deref().unwrap_or_default().trim()
            ),
            "We are sorry: the office had to cancel your appointment (see the message above). Please book a new one."
                .to_owned(),
        ),
        (Kind::Reconfirmation, Some(by)) => {
            let by = by.with_timezone(&tz);
            let (by_date, by_time) = (by.format("%d.%m.%Y"), by.format("%H:%M"));
            (
                subject,
                format!("Sie haben diesen Termin vor längerer Zeit gebucht. Bitte bestätigen Sie bis {by_date}, {by_time} Uhr, über den Link unten (Schaltfläche „Termin bestätigen“), dass Sie kommen. Ohne Bestätigung wird der Termin freigegeben, damit ihn jemand anderes bekommt. Wenn Sie nicht kommen können, sagen Sie bitte über denselben Link ab."),
                format!("You booked this appointment a while ago. Please confirm by {by_date}, {by_time}, with the link below (button \"Confirm appointment\") that you are coming. Without confirmation the time is released for someone else. If you cannot come, please cancel with the same link."),
            )
        }
        (Kind::Released, _) => (
            subject,
            "Sie haben Ihren Termin nicht rechtzeitig bestätigt. Er ist daher freigegeben und steht anderen zur Verfügung. Sie können jederzeit einen neuen Termin buchen.".to_owned(),
            "You did not confirm your appointment in time, so it was released for others. You can book a new one at any time.".to_owned(),
        ),
        (Kind::Confirmation, Some(by)) => {
            let by = by.with_timezone(&tz).format("%H:%M").to_string();
            // Said plainly, so the request is not taken for distrust of everyone.
            let (why_de, why_en) = if booking.confirm_because_missed {
                (
                    "Zu Ihrer E-Mail-Adresse sind zuletzt mehrere Termine nicht wahrgenommen und nicht abgesagt worden. ",
                    "Several recent appointments for your email address were neither kept nor cancelled. ",
                )
            } else {
                ("", "")
            };
            (
                format!("Bitte bestätigen bis {by} Uhr: {} am {date} um {time} Uhr", service.0),
                format!("{why_de}Bitte bestätigen Sie Ihren Termin bis {by} Uhr über den Link unten (Schaltfläche „Termin bestätigen“). Ohne Bestätigung wird der Termin wieder freigegeben."),
                format!("{why_en}Please confirm your appointment by {by} with the link below (button \"Confirm appointment\"). Without confirmation the time is released again."),
            )
        }
        _ => (subject, de_intro.to_owned(), en_intro.to_owned()),
    };
    let site = format!("{}/", settings.public_url.trim_end_matches('/'));
    // A cancelled appointment needs nothing brought and has nothing left to manage.
    let (bring_de, bring_en, manage_de, manage_en) = if matches!(pending.kind, Kind::Cancellation | Kind::Released) {
        (
            String::new(),
            String::new(),
            format!("Neuen Termin buchen: {site}"),
            format!("Book a new appointment: {site}"),
        )
    } else {
        let (bring_de, bring_en) = if documents.0.is_empty() {
            (String::new(), String::new())
        } else {
            (
                format!("Bitte mitbringen: {}\nGebühr: {}\n\n", documents.0, fee.0),
                format!("Please bring: {}\nFee: {}\n\n", documents.1, fee.1),
            )
        };
        (
            bring_de,
            bring_en,
            format!(
                "Buchungscode: {code}\nAnmeldenummer am Automaten am Termintag: {number}\nAnsehen, verschieben, absagen: {link}"
            ),
            format!("Booking code: {code}\nCheck-in number at the kiosk on the day: {number}\nView, move or cancel: {link}"),
        )
    };
    // A reminder asks first of all for a word if the citizen cannot come: Berlin's offices lose a
    // fifth to a quarter of their appointments to no-shows, and a cancelled place is free again.
    let (cant_de, cant_en) = if pending.kind == Kind::Reminder {
        let link = cant_come_link(settings, &code);
        (
            format!("Sie können nicht kommen? Bitte sagen Sie ab, dann bekommt jemand anderes den Termin:\n{link}\n\n"),
            format!("Can't come? Please cancel, so that someone else gets the time:\n{link}\n\n"),
        )
    } else {
        (String::new(), String::new())
    };
    let body = format!(
        "Guten Tag {name},\n\n{de_intro}\n\n{service_de}\n{date}, {time} Uhr\n{location}, {address}\n\n{cant_de}{bring_de}\
         {manage_de}\n\nOhne Internet: telefonisch unter 115.\n\n\
         ---\n\nHello {name},\n\n{en_intro}\n\n{service_en}\n{date}, {time}\n{location}, {address}\n\n{cant_en}{bring_en}\
         {manage_en}\n\nNo internet? Call 115.\n",
        name = personal.name,
        service_de = service.0,
        service_en = service.1,
    );
    // Every mail about a booking carries its calendar file; a cancellation's removes the event.
    let About::Booking(stream) = &pending.about else {
        return Err("a mail about a ticket".into());
    };
    let appointment = ics::Appointment {
        booking,
        code_hash: booking_hash(stream),
        site: &site,
    };
    let calendar = Some(Calendar {
        text: ics::appointment(&state.catalogue(), &appointment, settings.clock.now()),
        method: ics::method(booking),
    });
    Ok(Letter {
        to: personal.email.clone(),
        subject,
        text: body,
        calendar,
    })
}

/// The letter as a MIME message from `from`.
fn mime(letter: &Letter, from: &str, id: &str, host: &str) -> Result<Message, String> {
    let from: Mailbox = from.parse().map_err(|e| format!("bad sender address: {e}"))?;
    let to: Mailbox = letter.to.parse().map_err(|e| format!("bad recipient address: {e}"))?;
    let builder = Message::builder()
        .from(from)
        .to(to)
        .subject(letter.subject.clone())
        // Unique across installations and rebuilt databases (ids like `confirm-26` repeat), or
        // mail services drop later messages as duplicates.
        .message_id(Some(format!("<{id}.{}@{host}>", uuid::Uuid::new_v4().simple())));
    let text = SinglePart::plain(letter.text.clone());
    let message = match &letter.calendar {
        None => builder.singlepart(text),
        Some(calendar) => {
            let kind = ContentType::parse(&format!("text/calendar; charset=utf-8; method={}", calendar.method))
                .map_err(|e| e.to_string())?;
            builder.multipart(
                MultiPart::mixed()
                    .singlepart(text)
                    .singlepart(Attachment::new("termin.ics".into()).body(calendar.text.clone(), kind)),
            )
        }
    };
    message.map_err(|e| e.to_string())
}

/// The host part of Message-IDs: the public address's host.
fn message_host(settings: &MessageSettings) -> String {
    let url = settings.public_url.split("://").nth(1).unwrap_or(&settings.public_url);
    let host = url.split(['/', ':']).next().unwrap_or_default();
    if host.is_empty() {
        "schalter.invalid".to_owned()
    } else {
        host.to_owned()
    }
}

fn demo_message(letter: Letter, id: &str, now: DateTime<Utc>) -> DemoMessage {
    DemoMessage {
        view: OutboxMessage {
            id: id.to_owned(),
            channel: MessageChannel::Mail,
            at: LocalTime::at(now.with_timezone(&DEMO_TZ)),
            to: letter.to,
            subject: letter.subject,
            text: letter.text,
            calendar: letter.calendar.is_some(),
        },
        calendar: letter.calendar.map(|c| c.text),
    }
}

fn booking_hash(stream: &str) -> &str {
    stream.trim_start_matches("booking-")
}

/// Mail servers quote addresses in their errors; admins need the reason, not the address.
fn without_addresses(error: &str) -> String {
    error
        .split_whitespace()
        .map(|w| if w.contains('@') { "<address>" } else { w })
        .collect::<Vec<_>>()
        .join(" ")
}
