//! Sends citizens their messages by email: confirmation (with the appointment as a calendar
//! file), change and cancellation notices, and a reminder before the appointment. Every server
//! runs this; the message streams (see `schalter_events::outbox`) make sure one of them sends
//! each message, and that a message whose sender died is sent after its lease runs out.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use schalter_events::booking::{Booking, BookingEvent, Status};
use schalter_events::outbox::{self, Delivery, Kind};
use schalter_events::store::AppendRequest;
use schalter_events::{decode, Metadata, RecordedEvent};

use crate::state::{AppState, MessageProblem, MessageProblems};

#[derive(Debug, Clone)]
pub struct MailSettings {
    /// e.g. `smtp://mail.example.org:587?tls=required`, `smtps://user:pass@host`, `smtp://localhost:25`
    pub smtp_url: String,
    pub from: String,
    /// Base of the manage links in messages, e.g. `https://termine.example.de`.
    pub public_url: String,
    pub reminder_hours: u32,
    /// How long a claimed message is left to its sender before another server takes it.
    pub lease: Duration,
}

/// A message the log asks for and that is not known to be sent.
#[derive(Debug, Clone)]
struct Pending {
    kind: Kind,
    booking: String,
    due: DateTime<Utc>,
    /// After this, sending makes no sense any more (the appointment is over, or a notice is a
    /// day late); an unsent message is then flagged instead.
    expires: DateTime<Utc>,
    /// Reminders: the start they are for (the booking may have moved since).
    start: Option<DateTime<Utc>>,
}

/// How late a notice may still go out.
const NOTICE_VALID_HOURS: i64 = 24;
/// Due longer than this and still unsent: shown as overdue in the metrics.
const OVERDUE_MINUTES: i64 = 10;

#[derive(Default)]
struct Outbox {
    bookings: HashMap<String, Booking>,
    pending: BTreeMap<String, Pending>,
    deliveries: HashMap<String, Delivery>,
}

impl Outbox {
    fn apply(&mut self, e: &RecordedEvent, reminder_hours: u32, tz_of: &(dyn Fn(&str) -> Tz + Sync)) {
        if let Some(id) = e.stream.strip_prefix("message-") {
            if let Err(err) = self.deliveries.entry(id.to_owned()).or_default().apply(e) {
                tracing::error!(error = %err, "outbox skipped an unreadable message event");
            }
            return;
        }
        if !e.stream.starts_with("booking-") {
            return;
        }
        let mut booking = self.bookings.remove(&e.stream);
        if let Err(err) = Booking::apply(&mut booking, e) {
            tracing::error!(error = %err, "outbox skipped an unreadable booking event");
            return;
        }
        let Some(b) = booking else { return };
        let notice = |kind| Pending {
            kind,
            booking: e.stream.clone(),
            due: e.recorded_at,
            expires: e.recorded_at + Duration::hours(NOTICE_VALID_HOURS),
            start: None,
        };
        let reminder = |b: &Booking| {
            let tz = tz_of(&b.location);
            let hash = booking_hash(&e.stream);
            let id = format!(
                "remind-{}-{}",
                hash.get(..16).unwrap_or(hash),
                b.start.format("%Y%m%dT%H%M")
            );
            let pending = Pending {
                kind: Kind::Reminder,
                booking: e.stream.clone(),
                due: outbox::reminder_due(b.start, reminder_hours, &tz),
                expires: b.start,
                start: Some(b.start),
            };
            (id, pending)
        };
        match decode::<BookingEvent>(e) {
            Ok(BookingEvent::BookingPlaced { .. }) => {
                self.pending
                    .insert(format!("confirm-{}", e.position), notice(Kind::Confirmation));
                let (id, r) = reminder(&b);
                self.pending.insert(id, r);
            }
            Ok(BookingEvent::BookingRescheduled { .. }) => {
                self.pending
                    .insert(format!("change-{}", e.position), notice(Kind::Change));
                let (id, r) = reminder(&b);
                self.pending.insert(id, r);
            }
            Ok(BookingEvent::BookingCancelled { .. }) => {
                self.pending
                    .insert(format!("cancel-{}", e.position), notice(Kind::Cancellation));
            }
            _ => {}
        }
        self.bookings.insert(e.stream.clone(), b);
    }

    /// Forgets what can no longer lead to a message, so memory stays bounded.
    fn prune(&mut self, now: DateTime<Utc>) {
        let deliveries = &self.deliveries;
        self.pending.retain(|id, p| {
            let done = deliveries.get(id).is_some_and(|d| d.sent || d.given_up);
            if !done && p.expires < now {
                metrics::counter!("schalter_messages_expired_total").increment(1);
                tracing::warn!(message = %id, "message expired unsent");
            }
            !done && p.expires >= now
        });
        let pending = &self.pending;
        self.bookings
            .retain(|stream, b| b.end > now - Duration::days(1) || pending.values().any(|p| &p.booking == stream));
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
                kind: kind_name(p.kind).into(),
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

/// Starts the sender; it first reads the whole log, then follows it.
pub fn spawn(state: AppState, settings: MailSettings) -> Result<(), lettre::transport::smtp::Error> {
    let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&settings.smtp_url)?
        .timeout(Some(StdDuration::from_secs(30)))
        .build();
    tokio::spawn(async move {
        if let Err(e) = run(state, settings, transport).await {
            tracing::error!(error = %e, "the message sender stopped");
        }
    });
    Ok(())
}

async fn run(
    state: AppState,
    settings: MailSettings,
    transport: AsyncSmtpTransport<Tokio1Executor>,
) -> Result<(), schalter_events::store::StoreError> {
    let tz_of = {
        let state = state.clone();
        move |location: &str| -> Tz {
            state
                .catalogue()
                .locations
                .get(location)
                .and_then(|l| l.time_zone.parse().ok())
                .unwrap_or(chrono_tz::Europe::Berlin)
        }
    };
    let mut outbox = Outbox::default();
    let mut position = 0;
    loop {
        let batch = state.store.read_all(position, 2000).await?;
        let Some(last) = batch.last() else { break };
        position = last.position;
        for e in &batch {
            outbox.apply(e, settings.reminder_hours, &tz_of);
        }
    }
    let mut subscription = state.store.subscribe_from(None, position);
    let mut shutdown = state.shutdown.clone();
    let mut tick = tokio::time::interval(StdDuration::from_secs(1));
    let mut expired: Vec<MessageProblem> = Vec::new();
    loop {
        tokio::select! {
            batch = subscription.next_batch() => match batch {
                Ok(batch) => for e in &batch {
                    outbox.apply(e, settings.reminder_hours, &tz_of);
                },
                Err(e) => {
                    tracing::warn!(error = %e, "message sender could not read the log; retrying");
                    tokio::time::sleep(StdDuration::from_secs(1)).await;
                }
            },
            _ = tick.tick() => {
                let now = Utc::now();
                for (id, p) in outbox.pending.iter().filter(|(id, p)| {
                    p.expires < now && !outbox.deliveries.get(*id).is_some_and(|d| d.sent || d.given_up)
                }) {
                    expired.push(MessageProblem {
                        id: id.clone(),
                        kind: kind_name(p.kind).into(),
                        due: p.due,
                        attempts: outbox.deliveries.get(id).map(|d| d.attempts).unwrap_or(0),
                        given_up: false,
                        last_error: None,
                    });
                }
                let keep = expired.len().saturating_sub(100);
                expired.drain(..keep);
                outbox.prune(now);
                *state.message_problems.write().unwrap_or_else(|e| e.into_inner()) = outbox.problems(now, &expired);
                // In the order things happened: a change notice before the cancellation after it.
                let mut due: Vec<(DateTime<Utc>, String)> = outbox
                    .pending
                    .iter()
                    .filter(|(id, p)| p.due <= now && outbox.deliveries.get(*id).is_none_or(|d| d.may_start(now)))
                    .map(|(id, p)| (p.due, id.clone()))
                    .collect();
                due.sort();
                let due = due.into_iter().map(|(_, id)| id);
                for id in due {
                    deliver(&state, &settings, &transport, &mut outbox, &id, &tz_of).await;
                }
            }
            _ = shutdown.changed() => return Ok(()),
        }
    }
}

async fn deliver(
    state: &AppState,
    settings: &MailSettings,
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    outbox: &mut Outbox,
    id: &str,
    tz_of: &(dyn Fn(&str) -> Tz + Sync),
) {
    let Some(pending) = outbox.pending.get(id).cloned() else {
        return;
    };
    let Some(booking) = outbox.bookings.get(&pending.booking).cloned() else {
        outbox.pending.remove(id);
        return;
    };
    // A reminder for a time the booking no longer has, or for a booking no longer on.
    if pending.kind == Kind::Reminder && (booking.status != Status::Confirmed || pending.start != Some(booking.start)) {
        outbox.pending.remove(id);
        return;
    }
    let personal = match state.vault.open(&booking.contact).await {
        Ok(Some(p)) if !booking.erased => p,
        Ok(_) => {
            outbox.pending.remove(id);
            return;
        }
        Err(e) => {
            tracing::error!(error = %e, message = %id, "cannot open the personal data for a message");
            return;
        }
    };
    let now = Utc::now();
    let delivery = outbox.deliveries.get(id).cloned().unwrap_or_default();
    let (claim, expectation) = outbox::start(id, &delivery, now, settings.lease);
    let request = AppendRequest::new(vec![claim.clone()])
        .expect(claim.stream.clone(), expectation)
        .metadata(Metadata::by("system:outbox", now));
    match state.store.append(&request).await {
        Ok(_) => {}
        // Another server took it (or it moved on): learn its state from the log.
        Err(e) if e.is_conflict() => {
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
    let outcome = match compose(
        state,
        settings,
        id,
        &pending,
        &booking,
        &personal,
        tz_of(&booking.location),
    ) {
        Ok(message) => transport.send(message).await.map(|_| ()).map_err(|e| e.to_string()),
        Err(e) => Err(e),
    };
    let now = Utc::now();
    let (event, label) = match &outcome {
        Ok(()) => (outbox::sent(id, now), "sent"),
        Err(error) => {
            tracing::warn!(message = %id, attempt, error = %error, "sending failed");
            (outbox::failed(id, attempt, error, now), "failed")
        }
    };
    metrics::counter!("schalter_messages_total", "kind" => kind_name(pending.kind), "outcome" => label).increment(1);
    let request = AppendRequest::new(vec![event]).metadata(Metadata::by("system:outbox", now));
    if let Err(e) = state.store.append(&request).await {
        // The lease runs out and the message is tried again: at least once.
        tracing::error!(error = %e, message = %id, "cannot record the delivery");
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Confirmation => "confirmation",
        Kind::Change => "change",
        Kind::Cancellation => "cancellation",
        Kind::Reminder => "reminder",
    }
}

/// The message, German first with English below: the booking does not record a language, and
/// municipal mail to citizens is German.
fn compose(
    state: &AppState,
    settings: &MailSettings,
    id: &str,
    pending: &Pending,
    booking: &Booking,
    personal: &crate::vault::PersonalData,
    tz: Tz,
) -> Result<Message, String> {
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
                .map(|s| s.documents.iter().map(|d| d.de.clone()).collect::<Vec<_>>().join(", "))
                .unwrap_or_default(),
            service.map(|s| s.fee.de.clone()).unwrap_or_default(),
        )
    };
    let local = booking.start.with_timezone(&tz);
    let (date, time) = (local.format("%d.%m.%Y").to_string(), local.format("%H:%M").to_string());
    let code = personal.code.clone().unwrap_or_default();
    let link = format!("{}/booking/{code}", settings.public_url.trim_end_matches('/'));
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
        Kind::Reminder => (
            format!("Erinnerung: {} am {date} um {time} Uhr", service.0),
            "Wir erinnern Sie an Ihren Termin.",
            "A reminder of your appointment.",
        ),
    };
    let bring = if documents.is_empty() {
        String::new()
    } else {
        format!("Bitte mitbringen: {documents}\nGebühr: {fee}\n\n")
    };
    let body = format!(
        "Guten Tag {name},\n\n{de_intro}\n\n{service_de}\n{date}, {time} Uhr\n{location}, {address}\n\n{bring}\
         Termin-Code: {code}\nAnsehen, verschieben, absagen: {link}\n\nOhne Internet: telefonisch unter 115.\n\n\
         ---\n\nHello {name},\n\n{en_intro}\n\n{service_en}\n{date}, {time}\n{location}, {address}\n\n\
         Booking code: {code}\nView, move or cancel: {link}\n",
        name = personal.name,
        service_de = service.0,
        service_en = service.1,
    );
    let from: Mailbox = settings.from.parse().map_err(|e| format!("bad sender address: {e}"))?;
    let to: Mailbox = personal
        .email
        .parse()
        .map_err(|e| format!("bad recipient address: {e}"))?;
    let builder = Message::builder()
        .from(from)
        .to(to)
        .subject(subject)
        .message_id(Some(format!("<{id}@schalter>")));
    let text = SinglePart::plain(body);
    let message = if pending.kind == Kind::Cancellation {
        builder.singlepart(text)
    } else {
        let hash = booking_hash(&pending.booking);
        let calendar = crate::bookings::ics(state, booking, hash, &link);
        let kind = ContentType::parse("text/calendar; charset=utf-8; method=PUBLISH").map_err(|e| e.to_string())?;
        builder.multipart(
            MultiPart::mixed()
                .singlepart(text)
                .singlepart(Attachment::new("termin.ics".into()).body(calendar, kind)),
        )
    };
    message.map_err(|e| e.to_string())
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
