//! Appointments: placing, moving and cancelling, decided by pure functions over loaded state.
//!
//! Consistency without locks: every grid unit of a location has a capacity stream
//! (`unit-<location>-<start>`) whose events count bookings taking and releasing it. A booking
//! appends to the streams of all its units, each expected at the version it was decided on, so
//! two citizens racing for the last place cannot both get it: one append fails as a whole and is
//! decided again. The same holds for the per-email limit (`holder-<hash>`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::catalogue::{Catalogue, Location, Service};
use crate::event::{decode, encode, DecodeError, Expectation, NewEvent, RecordedEvent};
use crate::slots::{Schedule, SlotError, Unit};

pub const SCHEMA: i32 = 1;

/// The booking's stream is named by a hash of its code, so the code itself (the citizen's key
/// to the booking) is never stored.
pub fn stream(code_hash: &str) -> String {
    format!("booking-{code_hash}")
}

const UNIT_STAMP: &str = "%Y%m%dT%H%MZ";

pub fn unit_stream(location: &str, start: DateTime<Utc>) -> String {
    format!("unit-{location}-{}", start.format(UNIT_STAMP))
}

/// The location and unit start a [`unit_stream`] name stands for.
pub fn unit_of_stream(stream: &str) -> Option<(&str, DateTime<Utc>)> {
    let (location, stamp) = stream.strip_prefix("unit-")?.rsplit_once('-')?;
    let start = chrono::NaiveDateTime::parse_from_str(stamp, UNIT_STAMP).ok()?;
    Some((location, start.and_utc()))
}

pub fn holder_stream(email_hash: &str) -> String {
    format!("holder-{email_hash}")
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub name: String,
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// Personal data as the log keeps it: sealed with the booking's own data key, which the server
/// keeps outside the log and erases when the retention ends (the ciphertext then stays
/// unreadable for ever). Bookings recorded before the vault carry the contact in plain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Personal {
    Sealed(Sealed),
    Plain(Contact),
}

/// XChaCha20-Poly1305 ciphertext of the personal data, base64, with the id of its data key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    pub key: String,
    pub nonce: String,
    pub data: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub enum Channel {
    Online,
    Desk,
    Kiosk,
    /// Booked by the desk for a caller (the 115 line, the office's number).
    Phone,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum BookingEvent {
    BookingPlaced {
        location: String,
        service: String,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        /// Grid units taken, in order; capacity is released from exactly these.
        units: Vec<DateTime<Utc>>,
        contact: Personal,
        holder: String,
        channel: Channel,
        /// Set where the location wants bookings confirmed by email: the place is released
        /// (`BookingExpired`) unless `BookingConfirmed` comes first.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        confirm_by: Option<DateTime<Utc>>,
        /// The confirmation is asked because this email missed appointments lately (the
        /// office's [`crate::attendance::NoShowRule`]): the message says so.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        confirm_because_missed: bool,
    },
    /// The citizen confirmed through the emailed link.
    BookingConfirmed { at: DateTime<Utc> },
    /// Booked long ahead at an office that asks for it ([`ReconfirmRule`]): the citizen is
    /// asked to confirm again; unconfirmed `by`, the places are released (`BookingExpired`).
    ReconfirmationAsked { at: DateTime<Utc>, by: DateTime<Utc> },
    /// Not confirmed in time: the places are released.
    BookingExpired { at: DateTime<Utc> },
    BookingRescheduled {
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        units: Vec<DateTime<Utc>>,
    },
    BookingCancelled {
        /// Minutes between cancellation and the appointment: statistics on lead time.
        lead_minutes: i64,
        /// Set when the office cancelled (a closure): the text the citizen is sent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by_office: Option<String>,
    },
    /// The citizen arrived and got a ticket; from now on the queue takes over.
    BookingCheckedIn { at: DateTime<Utc>, ticket: String },
    /// A clerk opened the contact details on the day's list; who is the event's actor. Kept in
    /// the booking's own history, so the citizen's access export shows every look.
    ContactShown {
        at: DateTime<Utc>,
        /// Where and when the appointment is, so the audit names it without a name.
        location: String,
        start: DateTime<Utc>,
    },
    /// The booking's data key was destroyed (retention over, or the citizen asked): its
    /// personal data can no longer be read. Everything else about the booking stays.
    PersonalDataErased { at: DateTime<Utc>, reason: ErasureReason },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErasureReason {
    Retention,
    Request,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum UnitEvent {
    UnitTaken { booking: String },
    UnitReleased { booking: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum HolderEvent {
    HolderBookingAdded { booking: String },
    HolderBookingEnded { booking: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub enum Status {
    /// Waiting for the citizen to confirm by email.
    Pending,
    Confirmed,
    Cancelled,
    /// Not confirmed in time; the places went back.
    Expired,
    #[serde(rename = "checked-in")]
    CheckedIn,
}

/// A booking as its stream tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct Booking {
    pub version: i64,
    pub location: String,
    pub service: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub units: Vec<DateTime<Utc>>,
    pub contact: Personal,
    pub holder: String,
    pub channel: Channel,
    pub status: Status,
    pub erased: bool,
    pub confirm_by: Option<DateTime<Utc>>,
    /// See [`BookingEvent::BookingPlaced`].
    pub confirm_because_missed: bool,
    /// When it was booked (the request's time, as the statistics count it).
    pub placed_at: DateTime<Utc>,
    /// Asked to confirm again (`ReconfirmationAsked`), so an expiry releases a booking the
    /// citizen once had confirmed, and is told so.
    pub reconfirming: bool,
    /// Why the office cancelled it, when it did.
    pub office_note: Option<String>,
}

impl Booking {
    /// Folds a booking stream; `None` for a stream without a placement.
    pub fn fold(events: &[RecordedEvent]) -> Result<Option<Booking>, DecodeError> {
        let mut booking: Option<Booking> = None;
        for e in events {
            Booking::apply(&mut booking, e)?;
        }
        Ok(booking)
    }

    /// Applies the next event of a booking's stream (for readers that go through the whole log).
    pub fn apply(booking: &mut Option<Booking>, e: &RecordedEvent) -> Result<(), DecodeError> {
        let event: BookingEvent = decode(e)?;
        match (event, booking.as_mut()) {
            (
                BookingEvent::BookingPlaced {
                    location,
                    service,
                    start,
                    end,
                    units,
                    contact,
                    holder,
                    channel,
                    confirm_by,
                    confirm_because_missed,
                },
                _,
            ) => {
                *booking = Some(Booking {
                    version: e.version,
                    location,
                    service,
                    start,
                    end,
                    units,
                    contact,
                    holder,
                    channel,
                    status: if confirm_by.is_some() {
                        Status::Pending
                    } else {
                        Status::Confirmed
                    },
                    erased: false,
                    confirm_by,
                    confirm_because_missed,
                    placed_at: e.metadata.requested_at.unwrap_or(e.recorded_at),
                    reconfirming: false,
                    office_note: None,
                })
            }
            (BookingEvent::ReconfirmationAsked { by, .. }, Some(b)) => {
                b.status = Status::Pending;
                b.confirm_by = Some(by);
                b.reconfirming = true;
                b.version = e.version;
            }
            (BookingEvent::BookingConfirmed { .. }, Some(b)) => {
                b.status = Status::Confirmed;
                b.version = e.version;
            }
            (BookingEvent::BookingExpired { .. }, Some(b)) => {
                b.status = Status::Expired;
                b.version = e.version;
            }
            (BookingEvent::BookingRescheduled { start, end, units }, Some(b)) => {
                b.start = start;
                b.end = end;
                b.units = units;
                b.version = e.version;
            }
            (BookingEvent::BookingCancelled { by_office, .. }, Some(b)) => {
                b.status = Status::Cancelled;
                b.office_note = by_office;
                b.version = e.version;
            }
            (BookingEvent::BookingCheckedIn { .. }, Some(b)) => {
                b.status = Status::CheckedIn;
                b.version = e.version;
            }
            (BookingEvent::PersonalDataErased { .. }, Some(b)) => {
                b.erased = true;
                b.version = e.version;
            }
            (BookingEvent::ContactShown { .. }, Some(b)) => {
                b.version = e.version;
            }
            (_, None) => {}
        }
        Ok(())
    }
}

impl Booking {
    /// The booking a placing decision creates, without reading it back from the store.
    pub fn from_placement(decision: &Decision, placed_at: DateTime<Utc>) -> Option<Booking> {
        let first = decision.events.first()?;
        let mut booking = None;
        // A placement is version 1 of its stream; folding reads no position.
        Booking::apply(&mut booking, &first.recorded(1, 1, placed_at)).ok()?;
        booking
    }
}

/// How many bookings currently hold a unit (or an email's active bookings), and the version
/// that count was read at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counter {
    pub stream: String,
    pub version: i64,
    pub count: u32,
}

impl Counter {
    pub fn fold_unit(stream: String, events: &[RecordedEvent]) -> Result<Counter, DecodeError> {
        Counter::fold(stream, events, unit_delta)
    }

    pub fn fold_holder(stream: String, events: &[RecordedEvent]) -> Result<Counter, DecodeError> {
        Counter::fold(stream, events, holder_delta)
    }

    /// Sums each event's `delta` (+1 taken, −1 released) over a counter stream.
    fn fold<E: serde::de::DeserializeOwned>(
        stream: String,
        events: &[RecordedEvent],
        delta: impl Fn(E) -> i64,
    ) -> Result<Counter, DecodeError> {
        let mut count: i64 = 0;
        for e in events {
            count += delta(decode(e)?);
        }
        Ok(Counter::at(
            stream,
            events.last().map(|e| e.version).unwrap_or(0),
            count,
        ))
    }

    fn at(stream: String, version: i64, sum: i64) -> Counter {
        Counter {
            stream,
            version,
            count: sum.max(0) as u32,
        }
    }

    fn expectation(&self) -> (String, Expectation) {
        (self.stream.clone(), Expectation::AtVersion(self.version))
    }
}

fn unit_delta(e: UnitEvent) -> i64 {
    match e {
        UnitEvent::UnitTaken { .. } => 1,
        UnitEvent::UnitReleased { .. } => -1,
    }
}

fn holder_delta(e: HolderEvent) -> i64 {
    match e {
        HolderEvent::HolderBookingAdded { .. } => 1,
        HolderEvent::HolderBookingEnded { .. } => -1,
    }
}

/// Every unit and holder counter as of the events applied so far: what a booking decision
/// would read from the store, kept in memory, and what availability counts as taken. A decision
/// on a counter that another writer has meanwhile moved fails its expectation, so a stale copy
/// costs a retry, never a double booking.
#[derive(Debug, Default)]
pub struct Counters {
    /// Location → unit start → (version, sum of deltas).
    units: HashMap<String, HashMap<DateTime<Utc>, (i64, i64)>>,
    /// Holder stream → (version, sum of deltas).
    holders: HashMap<String, (i64, i64)>,
}

impl Counters {
    pub fn apply(&mut self, event: &RecordedEvent) -> Result<(), DecodeError> {
        let (entry, delta) = if let Some((location, unit)) = unit_of_stream(&event.stream) {
            let delta = unit_delta(decode(event)?);
            let units = self.units.entry(location.to_owned()).or_default();
            (units.entry(unit).or_default(), delta)
        } else if event.stream.starts_with("holder-") {
            let delta = holder_delta(decode(event)?);
            (self.holders.entry(event.stream.clone()).or_default(), delta)
        } else {
            return Ok(());
        };
        entry.0 = event.version;
        entry.1 += delta;
        Ok(())
    }

    /// Places taken at a unit of `location` (availability asks for thousands per request: no
    /// stream name is built).
    pub fn taken(&self, location: &str, unit: DateTime<Utc>) -> u32 {
        self.unit_entry(location, unit).1.max(0) as u32
    }

    /// The counter of a unit (version 0, count 0 if its stream has no events yet).
    pub fn unit(&self, location: &str, unit: DateTime<Utc>) -> Counter {
        let (version, sum) = self.unit_entry(location, unit);
        Counter::at(unit_stream(location, unit), version, sum)
    }

    fn unit_entry(&self, location: &str, unit: DateTime<Utc>) -> (i64, i64) {
        self.units
            .get(location)
            .and_then(|units| units.get(&unit))
            .copied()
            .unwrap_or_default()
    }

    /// The counter of a [`holder_stream`].
    pub fn holder(&self, stream: &str) -> Counter {
        let (version, sum) = self.holders.get(stream).copied().unwrap_or_default();
        Counter::at(stream.to_owned(), version, sum)
    }
}

pub use crate::event::Decision;

/// The secret in a confirmation link: the first 24 characters of the server's keyed hash of the
/// booking code (however the code was typed), so nothing needs storing and only the email that
/// carries the link has it.
pub fn confirm_token(code: &str, keyed_hash: impl FnOnce(&str) -> String) -> String {
    keyed_hash(&code.trim().to_ascii_uppercase()).chars().take(24).collect()
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BookingError {
    #[error("there is no location with this id")]
    UnknownLocation,
    #[error("there is no service with this id")]
    UnknownService,
    #[error("this service is not offered at this location")]
    ServiceNotAtLocation,
    #[error("this service cannot be booked online")]
    NotBookableOnline,
    #[error("this location takes no online bookings yet")]
    NoSchedule,
    #[error(transparent)]
    Slot(#[from] SlotError),
    #[error("this time has just been taken; please choose another")]
    SlotTaken,
    #[error("this email address already holds {0} active appointments, the most allowed")]
    TooManyActiveBookings(u32),
    #[error("there is no booking with this code")]
    UnknownBooking,
    #[error("this booking has been cancelled")]
    AlreadyCancelled,
    #[error("this appointment has already taken place")]
    AlreadyPast,
    #[error("you are already checked in")]
    AlreadyCheckedIn,
    #[error("this appointment is at another location")]
    OtherLocation,
    #[error("check-in opens {0} minutes before the appointment")]
    TooEarly(i64),
    #[error("the appointment started more than {0} minutes ago; please take a ticket")]
    TooLate(i64),
    #[error("{message}")]
    InvalidContact { field: &'static str, message: &'static str },
    #[error("this booking was not confirmed in time; its place has been released")]
    ConfirmationExpired,
    #[error("this booking does not wait for a confirmation")]
    NotPending,
    #[error("please confirm the booking first with the link in the email")]
    NotConfirmed,
}

/// An office's rule against forgotten appointments: one booked more than `booked_days_ahead`
/// days ahead is asked `days_before` days before it to confirm again, and released unless
/// confirmed by a day before it (the place then goes to someone who needs it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconfirmRule {
    pub booked_days_ahead: u32,
    pub days_before: u32,
}

/// When the reconfirmation is asked where the office names no time.
pub const DEFAULT_RECONFIRM_DAYS_BEFORE: u32 = 3;

/// Until when an appointment must be confirmed again: a day before it.
pub const RECONFIRM_HOURS_BEFORE: i64 = 24;

impl ReconfirmRule {
    /// The deadline if `booking` is to be asked at `now`; `None` if not (booked at shorter
    /// notice, not due yet, too late to ask, or not a confirmed booking still to come).
    pub fn ask(&self, booking: &Booking, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let open = booking.status == Status::Confirmed && !booking.reconfirming;
        self.deadline(booking.start, booking.placed_at, now).filter(|_| open)
    }

    /// The timing alone: the deadline if an appointment at `start` booked at `placed_at` is to
    /// be asked at `now` (also what the job's candidates are filtered by).
    pub fn deadline(
        &self,
        start: DateTime<Utc>,
        placed_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let day = chrono::Duration::days(1);
        let by = start - chrono::Duration::hours(RECONFIRM_HOURS_BEFORE);
        let long_ahead = start - placed_at > day * self.booked_days_ahead as i32;
        let due = now >= start - day * self.days_before as i32;
        (long_ahead && due && now < by).then_some(by)
    }
}

/// Asks a booking made long ahead to be confirmed again ([`ReconfirmRule::ask`]).
pub fn ask_reconfirmation(
    booking: &Booking,
    code_hash: &str,
    rule: ReconfirmRule,
    now: DateTime<Utc>,
) -> Option<Decision> {
    let by = rule.ask(booking, now)?;
    Some(Decision::expecting(
        encode(
            stream(code_hash),
            SCHEMA,
            &BookingEvent::ReconfirmationAsked { at: now, by },
        ),
        Expectation::AtVersion(booking.version),
    ))
}

/// How long a booking asked to be confirmed for missed appointments holds its place where the
/// location sets no time of its own.
pub const DEFAULT_CONFIRM_MINUTES: u32 = 120;

/// Everything a booking needs from the catalogue, checked.
pub struct Offer<'a> {
    pub location: &'a Location,
    pub service: &'a Service,
    pub schedule: &'a Schedule,
}

impl<'a> Offer<'a> {
    pub fn find(catalogue: &'a Catalogue, location: &str, service: &str) -> Result<Offer<'a>, BookingError> {
        let location = catalogue.locations.get(location).ok_or(BookingError::UnknownLocation)?;
        let service = catalogue.services.get(service).ok_or(BookingError::UnknownService)?;
        if !service.locations.contains(&location.id) {
            return Err(BookingError::ServiceNotAtLocation);
        }
        if !service.bookable_online {
            return Err(BookingError::NotBookableOnline);
        }
        let schedule = catalogue.schedules.get(&location.id).ok_or(BookingError::NoSchedule)?;
        Ok(Offer {
            location,
            service,
            schedule,
        })
    }

    /// Until when an online booking placed `now` for `start` must be confirmed: where the
    /// location asks it of everyone, or of an email that `missed` appointments lately as often
    /// as its [`crate::attendance::NoShowRule`] allows (then `true`: the message says why).
    /// Never later than the appointment.
    pub fn confirm_by(&self, now: DateTime<Utc>, start: DateTime<Utc>, missed: u32) -> Option<(DateTime<Utc>, bool)> {
        let because_missed = self.schedule.no_show_rule.is_some_and(|rule| rule.applies(missed));
        let minutes = match (self.schedule.confirm_within_minutes, because_missed) {
            (Some(m), _) => m,
            (None, true) => DEFAULT_CONFIRM_MINUTES,
            (None, false) => return None,
        };
        let by = now + chrono::Duration::minutes(i64::from(minutes.max(1)));
        Some((by.min(start), because_missed))
    }

    /// Grid units the service needs (its duration rounded up to whole units).
    pub fn units_needed(&self) -> u32 {
        let unit = self.schedule.unit_minutes.max(1);
        self.service.duration_minutes.div_ceil(unit).max(1)
    }

    /// The unit starts a booking at `start` would take, checked against the grid and timing.
    /// Each with its capacity: the day's grid is computed once per decision.
    pub fn units_for(&self, start: DateTime<Utc>, now: DateTime<Utc>) -> Result<Vec<Unit>, BookingError> {
        self.units_for_as(start, now, crate::slots::Booker::Citizen)
    }

    /// [`Offer::units_for`] as `booker` may book them (staff also take the staff share).
    pub fn units_for_as(
        &self,
        start: DateTime<Utc>,
        now: DateTime<Utc>,
        booker: crate::slots::Booker,
    ) -> Result<Vec<Unit>, BookingError> {
        Ok(self.schedule.units_for_as(start, self.units_needed(), now, booker)?)
    }

    /// Whether `taken` (places taken per unit, as a projection of the log counts them) leaves no
    /// room at `units`: the same rule [`place`] applies to the units' own streams.
    pub fn full(&self, units: &[Unit], taken: impl Fn(DateTime<Utc>) -> u32) -> bool {
        units.iter().any(|unit| taken(unit.start) >= unit.capacity)
    }

    fn end(&self, units: &[Unit]) -> DateTime<Utc> {
        units[units.len() - 1].start + chrono::Duration::minutes(i64::from(self.schedule.unit_minutes))
    }
}

fn starts(units: &[Unit]) -> Vec<DateTime<Utc>> {
    units.iter().map(|u| u.start).collect()
}

fn invalid(field: &'static str, message: &'static str) -> BookingError {
    BookingError::InvalidContact { field, message }
}

/// Normalised, validated contact details.
pub fn check_contact(name: &str, email: &str, phone: Option<&str>) -> Result<Contact, BookingError> {
    let name = check_name(name)?;
    let email = check_email(email)?;
    let phone = check_phone(phone)?;
    Ok(Contact { name, email, phone })
}

/// A caller's details as the desk takes them on the phone or at the counter: a name, and an
/// email address or a mobile number only where the caller gives one (then checked as online).
pub fn check_caller(name: &str, email: &str, phone: Option<&str>) -> Result<Contact, BookingError> {
    let name = check_name(name)?;
    let email = match email.trim() {
        "" => String::new(),
        given => check_email(given)?,
    };
    let phone = check_phone(phone)?;
    Ok(Contact { name, email, phone })
}

/// Where to tell a citizen that their document is ready: an email address, a mobile number,
/// both or neither (they keep the tracking code). No name: the message needs none.
pub fn check_notify(email: &str, phone: Option<&str>) -> Result<Option<Contact>, BookingError> {
    let email = match email.trim() {
        "" => String::new(),
        given => check_email(given)?,
    };
    let phone = check_phone(phone)?;
    Ok((!email.is_empty() || phone.is_some()).then_some(Contact {
        name: String::new(),
        email,
        phone,
    }))
}

fn check_name(name: &str) -> Result<String, BookingError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(invalid("name", "please enter your name"));
    }
    if name.chars().count() > 100 {
        return Err(invalid("name", "the name may have at most 100 characters"));
    }
    Ok(name.to_owned())
}

fn check_email(email: &str) -> Result<String, BookingError> {
    let email = email.trim().to_lowercase();
    let valid_email = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            }
            None => false,
        };
    if !valid_email {
        return Err(invalid("email", "please enter a valid email address"));
    }
    Ok(email)
}

fn check_phone(phone: Option<&str>) -> Result<Option<String>, BookingError> {
    let phone = phone.map(str::trim).filter(|p| !p.is_empty());
    if phone.is_some_and(|p| p.len() > 30 || normalise_phone(p).is_none()) {
        return Err(invalid("phone", "please enter a valid phone number or leave it empty"));
    }
    Ok(phone.map(str::to_owned))
}

/// A phone number as people type it (digits, an optional leading +, spaces, slashes, dashes,
/// brackets) without the decoration, as an SMS gateway wants it; `None` if it is not one.
/// German numbers, also written 0151…, have 6 to 15 digits.
pub fn normalise_phone(input: &str) -> Option<String> {
    let trimmed = input.trim();
    let (plus, rest) = match trimmed.strip_prefix('+') {
        Some(rest) => ("+", rest),
        None => ("", trimmed),
    };
    if !rest
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '/' | '-' | '(' | ')'))
    {
        return None;
    }
    let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
    (6..=15).contains(&digits.len()).then(|| format!("{plus}{digits}"))
}

/// The event that records the erasure of a booking's personal data (its data key is destroyed
/// outside the log first), expected at the version seen; `None` when it already happened.
pub fn erase_personal_data(
    booking: &Booking,
    code_hash: &str,
    reason: ErasureReason,
    now: DateTime<Utc>,
) -> Option<(NewEvent, Expectation)> {
    if booking.erased {
        return None;
    }
    let event = BookingEvent::PersonalDataErased { at: now, reason };
    Some((
        encode(stream(code_hash), SCHEMA, &event),
        Expectation::AtVersion(booking.version),
    ))
}

pub struct Place<'a> {
    pub offer: &'a Offer<'a>,
    pub code_hash: &'a str,
    pub start: DateTime<Utc>,
    /// From [`Offer::units_for`].
    pub units: Vec<Unit>,
    pub contact: Personal,
    pub holder: String,
    pub channel: Channel,
    /// Current counts of the units, in the order of `units`.
    pub unit_counts: Vec<Counter>,
    pub holder_count: Counter,
    pub max_active_per_email: u32,
    /// From [`Offer::confirm_by`]: where set, the booking waits for the citizen's confirmation.
    pub confirm_by: Option<DateTime<Utc>>,
    /// From [`Offer::confirm_by`]: the confirmation is asked for missed appointments.
    pub confirm_because_missed: bool,
}

/// Places a booking if every unit has room and the email is under its limit.
pub fn place(cmd: Place<'_>) -> Result<Decision, BookingError> {
    if cmd.holder_count.count >= cmd.max_active_per_email {
        return Err(BookingError::TooManyActiveBookings(cmd.max_active_per_email));
    }
    for (unit, counter) in cmd.units.iter().zip(&cmd.unit_counts) {
        if counter.count >= unit.capacity {
            return Err(BookingError::SlotTaken);
        }
    }
    let booking = stream(cmd.code_hash);
    let mut events = vec![encode(
        booking.clone(),
        SCHEMA,
        &BookingEvent::BookingPlaced {
            location: cmd.offer.location.id.clone(),
            service: cmd.offer.service.id.clone(),
            start: cmd.start,
            end: cmd.offer.end(&cmd.units),
            units: starts(&cmd.units),
            contact: cmd.contact,
            holder: cmd.holder.clone(),
            channel: cmd.channel,
            confirm_by: cmd.confirm_by,
            confirm_because_missed: cmd.confirm_because_missed,
        },
    )];
    let mut expectations = vec![(booking.clone(), Expectation::NoStream)];
    for counter in &cmd.unit_counts {
        events.push(encode(
            counter.stream.clone(),
            SCHEMA,
            &UnitEvent::UnitTaken {
                booking: booking.clone(),
            },
        ));
        expectations.push(counter.expectation());
    }
    events.push(encode(
        cmd.holder_count.stream.clone(),
        SCHEMA,
        &HolderEvent::HolderBookingAdded {
            booking: booking.clone(),
        },
    ));
    expectations.push(cmd.holder_count.expectation());
    Ok(Decision { events, expectations })
}

fn active(booking: &Booking, now: DateTime<Utc>) -> Result<(), BookingError> {
    match booking.status {
        Status::Cancelled => return Err(BookingError::AlreadyCancelled),
        Status::Expired => return Err(BookingError::ConfirmationExpired),
        Status::CheckedIn => return Err(BookingError::AlreadyCheckedIn),
        Status::Confirmed | Status::Pending => {}
    }
    if booking.start <= now {
        return Err(BookingError::AlreadyPast);
    }
    Ok(())
}

/// Confirms a pending booking, if its time to confirm has not run out.
pub fn confirm(booking: &Booking, code_hash: &str, now: DateTime<Utc>) -> Result<Decision, BookingError> {
    active(booking, now)?;
    if booking.status != Status::Pending {
        return Err(BookingError::NotPending);
    }
    if booking.confirm_by.is_some_and(|by| now > by) {
        return Err(BookingError::ConfirmationExpired);
    }
    let stream_name = stream(code_hash);
    Ok(Decision {
        events: vec![encode(
            stream_name.clone(),
            SCHEMA,
            &BookingEvent::BookingConfirmed { at: now },
        )],
        expectations: vec![(stream_name, Expectation::AtVersion(booking.version))],
    })
}

/// Releases a pending booking whose time to confirm ran out; `None` while it may still be
/// confirmed (or is not pending).
pub fn expire(booking: &Booking, code_hash: &str, now: DateTime<Utc>) -> Option<Decision> {
    let overdue = booking.status == Status::Pending && booking.confirm_by.is_some_and(|by| now > by);
    if !overdue {
        return None;
    }
    let mut decision = release(booking, code_hash, BookingEvent::BookingExpired { at: now });
    decision.expectations = vec![(stream(code_hash), Expectation::AtVersion(booking.version))];
    Some(decision)
}

/// The booking's closing event, then its places and its holder's count given back.
fn release(booking: &Booking, code_hash: &str, closing: BookingEvent) -> Decision {
    let stream_name = stream(code_hash);
    let mut events = vec![encode(stream_name.clone(), SCHEMA, &closing)];
    for unit in &booking.units {
        events.push(encode(
            unit_stream(&booking.location, *unit),
            SCHEMA,
            &UnitEvent::UnitReleased {
                booking: stream_name.clone(),
            },
        ));
    }
    events.push(encode(
        holder_stream(&booking.holder),
        SCHEMA,
        &HolderEvent::HolderBookingEnded { booking: stream_name },
    ));
    Decision {
        events,
        expectations: Vec::new(),
    }
}

/// Cancels a future booking and frees its units at once.
pub fn cancel(booking: &Booking, code_hash: &str, now: DateTime<Utc>) -> Result<Decision, BookingError> {
    active(booking, now)?;
    let closing = BookingEvent::BookingCancelled {
        lead_minutes: (booking.start - now).num_minutes(),
        by_office: None,
    };
    let mut decision = release(booking, code_hash, closing);
    decision.expectations = vec![(stream(code_hash), Expectation::AtVersion(booking.version))];
    Ok(decision)
}

/// The office cancels a future booking (it closed that time) and tells the citizen `note`.
pub fn cancel_by_office(
    booking: &Booking,
    code_hash: &str,
    note: &str,
    now: DateTime<Utc>,
) -> Result<Decision, BookingError> {
    let mut decision = cancel(booking, code_hash, now)?;
    decision.events[0] = encode(
        stream(code_hash),
        SCHEMA,
        &BookingEvent::BookingCancelled {
            lead_minutes: (booking.start - now).num_minutes(),
            by_office: Some(note.to_owned()),
        },
    );
    Ok(decision)
}

/// Records that a clerk opened the booking's contact details. Any version: a look does not
/// compete with the citizen moving or cancelling.
pub fn show_contact(booking: &Booking, code_hash: &str, now: DateTime<Utc>) -> Option<Decision> {
    (!booking.erased).then(|| {
        Decision::expecting(
            encode(
                stream(code_hash),
                SCHEMA,
                &BookingEvent::ContactShown {
                    at: now,
                    location: booking.location.clone(),
                    start: booking.start,
                },
            ),
            Expectation::Any,
        )
    })
}

/// Where an appointment on the day's list stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub enum DayState {
    /// Waiting for the citizen's email confirmation.
    Unconfirmed,
    Booked,
    CheckedIn,
    Called,
    InService,
    Served,
    /// Called and did not come to the counter.
    NoShow,
    /// Never checked in, and check-in has closed.
    Missed,
}

impl DayState {
    /// A booking's state, from its own stream and, once checked in, its ticket's; `None` for
    /// one that is no longer coming (cancelled, expired).
    pub fn of(booking: &Booking, ticket: Option<crate::queue::State>, now: DateTime<Utc>) -> Option<DayState> {
        use crate::queue::State;
        Some(match (booking.status, ticket) {
            (Status::Cancelled | Status::Expired, _) => return None,
            (Status::Pending, _) => DayState::Unconfirmed,
            (Status::Confirmed, _) if now > booking.start + chrono::Duration::minutes(CHECK_IN_LATE_MINUTES) => {
                DayState::Missed
            }
            (Status::Confirmed, _) => DayState::Booked,
            (Status::CheckedIn, None | Some(State::Waiting)) => DayState::CheckedIn,
            (Status::CheckedIn, Some(State::Called)) => DayState::Called,
            (Status::CheckedIn, Some(State::InService)) => DayState::InService,
            (Status::CheckedIn, Some(State::Finished)) => DayState::Served,
            (Status::CheckedIn, Some(State::NoShow)) => DayState::NoShow,
        })
    }
}

/// Check-in opens this long before the appointment…
pub const CHECK_IN_EARLY_MINUTES: i64 = 60;
/// …and closes this long after its start (later arrivals take a walk-in ticket).
pub const CHECK_IN_LATE_MINUTES: i64 = 15;

/// Checks a booking in at `location`: the booking is marked and an appointment ticket issued,
/// in one append. `ticket_stream` and `ticket` come from `queue::issue`.
pub fn check_in(
    booking: &Booking,
    code_hash: &str,
    location: &str,
    ticket: Decision,
    now: DateTime<Utc>,
) -> Result<Decision, BookingError> {
    match booking.status {
        Status::Cancelled => return Err(BookingError::AlreadyCancelled),
        Status::CheckedIn => return Err(BookingError::AlreadyCheckedIn),
        Status::Expired => return Err(BookingError::ConfirmationExpired),
        Status::Pending => return Err(BookingError::NotConfirmed),
        Status::Confirmed => {}
    }
    if booking.location != location {
        return Err(BookingError::OtherLocation);
    }
    if now < booking.start - chrono::Duration::minutes(CHECK_IN_EARLY_MINUTES) {
        return Err(BookingError::TooEarly(CHECK_IN_EARLY_MINUTES));
    }
    if now > booking.start + chrono::Duration::minutes(CHECK_IN_LATE_MINUTES) {
        return Err(BookingError::TooLate(CHECK_IN_LATE_MINUTES));
    }
    let ticket_stream = ticket.events.first().map(|e| e.stream.clone()).unwrap_or_default();
    let checked_in = encode(
        stream(code_hash),
        SCHEMA,
        &BookingEvent::BookingCheckedIn {
            at: now,
            ticket: ticket_stream,
        },
    );
    let mut decision = Decision::expecting(checked_in, Expectation::AtVersion(booking.version));
    decision.events.extend(ticket.events);
    decision.expectations.extend(ticket.expectations);
    Ok(decision)
}

/// Moves a booking to `units` in one step: the new units are taken and the old ones freed, or
/// nothing happens. Units in both the old and the new time stay taken.
pub fn reschedule(
    booking: &Booking,
    code_hash: &str,
    offer: &Offer<'_>,
    start: DateTime<Utc>,
    units: Vec<Unit>,
    new_unit_counts: &[Counter],
    now: DateTime<Utc>,
) -> Result<Decision, BookingError> {
    active(booking, now)?;
    if booking.status == Status::Pending {
        return Err(BookingError::NotConfirmed);
    }
    let stream_name = stream(code_hash);
    let mut events = vec![encode(
        stream_name.clone(),
        SCHEMA,
        &BookingEvent::BookingRescheduled {
            start,
            end: offer.end(&units),
            units: starts(&units),
        },
    )];
    let mut expectations = vec![(stream_name.clone(), Expectation::AtVersion(booking.version))];
    for (unit, counter) in units.iter().zip(new_unit_counts) {
        if booking.units.contains(&unit.start) {
            continue;
        }
        if counter.count >= unit.capacity {
            return Err(BookingError::SlotTaken);
        }
        events.push(encode(
            counter.stream.clone(),
            SCHEMA,
            &UnitEvent::UnitTaken {
                booking: stream_name.clone(),
            },
        ));
        expectations.push(counter.expectation());
    }
    for unit in booking.units.iter().filter(|u| !units.iter().any(|n| n.start == **u)) {
        events.push(encode(
            unit_stream(&booking.location, *unit),
            SCHEMA,
            &UnitEvent::UnitReleased {
                booking: stream_name.clone(),
            },
        ));
    }
    Ok(Decision { events, expectations })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confirm_tokens_ignore_how_the_code_was_typed() {
        let hash = |s: &str| format!("{s}-{}", "0123456789".repeat(4));
        let token = confirm_token(" k7qm-3xzp ", hash);
        assert_eq!(token, "K7QM-3XZP-01234567890123");
        assert_eq!(token.len(), 24);
        assert_eq!(confirm_token("K7QM-3XZP", hash), token);
        assert_ne!(confirm_token("K7QM-3XZQ", hash), token);
    }
    use crate::catalogue::demo;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn now() -> DateTime<Utc> {
        utc("2026-11-25T10:00:00Z")
    }

    /// Wednesday 2 December 2026, 09:00 in Berlin.
    fn start() -> DateTime<Utc> {
        utc("2026-12-02T08:00:00Z")
    }

    fn counter(stream: &str, version: i64, count: u32) -> Counter {
        Counter {
            stream: stream.into(),
            version,
            count,
        }
    }

    fn contact() -> Contact {
        check_contact(" Erika Mustermann ", "Erika@Example.org", Some("+49 621 504-0")).unwrap()
    }

    fn placing<'a>(offer: &'a Offer<'a>, counts: Vec<u32>, holder: u32) -> Place<'a> {
        let units = offer.units_for(start(), now()).unwrap();
        Place {
            offer,
            code_hash: "abc",
            start: start(),
            unit_counts: units
                .iter()
                .zip(counts)
                .map(|(u, n)| counter(&unit_stream("buergerbuero", u.start), 4, n))
                .collect(),
            units,
            contact: Personal::Plain(contact()),
            holder: "h1".into(),
            channel: Channel::Online,
            holder_count: counter("holder-h1", 1, holder),
            max_active_per_email: 2,
            confirm_by: None,
            confirm_because_missed: false,
        }
    }

    /// The booking that placing at `start()` with empty units creates.
    fn placed(offer: &Offer<'_>) -> Booking {
        Booking::fold(&recorded(&place(placing(offer, vec![0, 0], 0)).unwrap()))
            .unwrap()
            .unwrap()
    }

    fn recorded(decision: &Decision) -> Vec<RecordedEvent> {
        decision
            .events
            .iter()
            .filter(|e| e.stream.starts_with("booking-"))
            .enumerate()
            .map(|(i, e)| e.recorded(i as i64 + 1, i as i64 + 1, now()))
            .collect()
    }

    #[test]
    fn contact_details_are_normalised_and_checked() {
        let c = contact();
        assert_eq!(
            (c.name.as_str(), c.email.as_str()),
            ("Erika Mustermann", "erika@example.org")
        );
        for (name, email, phone) in [
            ("", "a@b.de", None),
            ("A", "no-at-sign", None),
            ("A", "a@nodot", None),
            ("A", "a b@c.de", None),
            ("A", "a@b.de", Some("call me")),
            (&"x".repeat(101) as &str, "a@b.de", None),
        ] {
            assert!(
                check_contact(name, email, phone).is_err(),
                "{name:?} {email:?} {phone:?}"
            );
        }
        assert_eq!(check_contact("A", "a@b.de", Some("  ")).unwrap().phone, None);
    }

    #[test]
    fn phone_numbers_are_normalised_or_refused() {
        assert_eq!(
            normalise_phone(" +49 151 / 234-567 89 ").as_deref(),
            Some("+4915123456789")
        );
        assert_eq!(normalise_phone("0151 2345678").as_deref(), Some("01512345678"));
        assert_eq!(normalise_phone("(06131) 12345").as_deref(), Some("0613112345"));
        for bad in [
            "",
            "12345",
            "0151 abc",
            "+49 151 2345678 ext 9",
            "1234567890123456",
            "++49123456",
        ] {
            assert_eq!(normalise_phone(bad), None, "{bad}");
        }
    }

    #[test]
    fn an_id_card_needs_two_ten_minute_units() {
        let catalogue = demo();
        let offer = Offer::find(&catalogue, "buergerbuero", "personalausweis").unwrap();
        assert_eq!(offer.units_needed(), 2);
        assert_eq!(
            starts(&offer.units_for(start(), now()).unwrap()),
            vec![start(), utc("2026-12-02T08:10:00Z")]
        );
        assert!(matches!(
            Offer::find(&catalogue, "kfz-zulassung", "personalausweis"),
            Err(BookingError::ServiceNotAtLocation)
        ));
        assert!(matches!(
            Offer::find(&catalogue, "kfz-zulassung", "wunschkennzeichen"),
            Err(BookingError::NotBookableOnline)
        ));
        assert!(matches!(
            Offer::find(&catalogue, "mond", "reisepass"),
            Err(BookingError::UnknownLocation)
        ));
    }

    #[test]
    fn placing_takes_every_unit_and_expects_what_was_read() {
        let catalogue = demo();
        let offer = Offer::find(&catalogue, "buergerbuero", "personalausweis").unwrap();
        let d = place(placing(&offer, vec![0, 2], 1)).unwrap();
        let streams: Vec<&str> = d.events.iter().map(|e| e.stream.as_str()).collect();
        assert_eq!(
            streams,
            vec![
                "booking-abc",
                "unit-buergerbuero-20261202T0800Z",
                "unit-buergerbuero-20261202T0810Z",
                "holder-h1"
            ]
        );
        assert!(d.expectations.contains(&("booking-abc".into(), Expectation::NoStream)));
        assert!(d
            .expectations
            .contains(&("unit-buergerbuero-20261202T0810Z".into(), Expectation::AtVersion(4))));
        assert!(d
            .expectations
            .contains(&("holder-h1".into(), Expectation::AtVersion(1))));
        let booking = Booking::fold(&recorded(&d)).unwrap().unwrap();
        assert_eq!((booking.start, booking.end), (start(), utc("2026-12-02T08:20:00Z")));
        assert_eq!(Booking::from_placement(&d, now()).as_ref(), Some(&booking));
        assert_eq!(booking.status, Status::Confirmed);
    }

    #[test]
    fn a_full_unit_or_a_full_email_refuses() {
        let catalogue = demo();
        let offer = Offer::find(&catalogue, "buergerbuero", "personalausweis").unwrap();
        assert_eq!(
            place(placing(&offer, vec![0, 3], 0)).unwrap_err(),
            BookingError::SlotTaken
        );
        assert_eq!(
            place(placing(&offer, vec![0, 0], 2)).unwrap_err(),
            BookingError::TooManyActiveBookings(2)
        );
        // A projection's counts give the same answer as the units' own streams.
        let units = offer.units_for(start(), now()).unwrap();
        let second = units[1];
        assert!(offer.full(&units, |u| if u == second.start { 3 } else { 0 }));
        assert!(!offer.full(&units, |u| if u == second.start { 2 } else { 0 }));
        assert!(place(placing(&offer, vec![0, 2], 0)).is_ok());
    }

    #[test]
    fn an_appointment_booked_long_ahead_is_confirmed_again_or_released() {
        let catalogue = demo();
        let offer = Offer::find(&catalogue, "buergerbuero", "personalausweis").unwrap();
        let placed = place(placing(&offer, vec![0, 0], 0)).unwrap();
        let day = chrono::Duration::days(1);
        let rule = ReconfirmRule {
            booked_days_ahead: 14,
            days_before: 3,
        };
        let booked = |placed_at: DateTime<Utc>| Booking::from_placement(&placed, placed_at).unwrap();
        let start = start();
        let long_ahead = booked(start - day * 20);
        // Asked from three days before until a day before; the deadline is a day before.
        assert_eq!(rule.ask(&long_ahead, start - day * 4), None, "not yet");
        assert_eq!(rule.ask(&long_ahead, start - day * 3), Some(start - day));
        assert_eq!(rule.ask(&long_ahead, start - day * 2), Some(start - day));
        assert_eq!(rule.ask(&long_ahead, start - day), None, "too late to ask");
        assert_eq!(
            rule.ask(&booked(start - day * 10), start - day * 2),
            None,
            "booked at short notice"
        );
        let mut pending = long_ahead.clone();
        pending.status = Status::Pending;
        assert_eq!(
            rule.ask(&pending, start - day * 2),
            None,
            "still to confirm the first time"
        );

        let asked_at = start - day * 2;
        let asked = ask_reconfirmation(&long_ahead, "abc", rule, asked_at).unwrap();
        assert_eq!(
            asked.expectations,
            vec![("booking-abc".into(), Expectation::AtVersion(1))]
        );
        let mut events = recorded(&placed);
        events.extend(recorded(&asked).into_iter().map(|mut e| {
            e.version = 2;
            e
        }));
        let again = Booking::fold(&events).unwrap().unwrap();
        assert_eq!(
            (again.status, again.confirm_by, again.reconfirming),
            (Status::Pending, Some(start - day), true)
        );
        assert_eq!(rule.ask(&again, asked_at), None, "asked once");
        // Confirmed in time, it stands; not confirmed, its places go back.
        assert!(confirm(&again, "abc", start - day - chrono::Duration::minutes(1)).is_ok());
        assert!(expire(&again, "abc", start - day).is_none());
        let released = expire(&again, "abc", start - day + chrono::Duration::minutes(1)).unwrap();
        assert_eq!(
            released
                .events
                .iter()
                .filter(|e| e.event_type == "UnitReleased")
                .count(),
            2
        );
    }

    #[test]
    fn an_email_that_missed_appointments_lately_confirms_its_next_booking() {
        let mut catalogue = demo();
        let schedule = catalogue.schedules.get_mut("buergerbuero").unwrap();
        schedule.confirm_within_minutes = None;
        schedule.no_show_rule = Some(crate::attendance::NoShowRule {
            after: 2,
            within_days: 90,
        });
        let offer = Offer::find(&catalogue, "buergerbuero", "personalausweis").unwrap();
        let (now, start) = (now(), start());
        let by_default = now + chrono::Duration::minutes(i64::from(DEFAULT_CONFIRM_MINUTES));
        assert_eq!(offer.confirm_by(now, start, 0), None);
        assert_eq!(offer.confirm_by(now, start, 1), None);
        assert_eq!(offer.confirm_by(now, start, 2), Some((by_default, true)));
        assert_eq!(offer.confirm_by(now, start, 5), Some((by_default, true)));
        // Never after the appointment has begun.
        let soon = now + chrono::Duration::minutes(30);
        assert_eq!(offer.confirm_by(now, soon, 2), Some((soon, true)));

        // Where the location asks everyone, its own time holds; the reason is still told.
        let schedule = catalogue.schedules.get_mut("buergerbuero").unwrap();
        schedule.confirm_within_minutes = Some(15);
        let offer = Offer::find(&catalogue, "buergerbuero", "personalausweis").unwrap();
        let by = now + chrono::Duration::minutes(15);
        assert_eq!(offer.confirm_by(now, start, 0), Some((by, false)));
        assert_eq!(offer.confirm_by(now, start, 2), Some((by, true)));
        let placed = place(Place {
            confirm_by: Some(by),
            confirm_because_missed: true,
            ..placing(&offer, vec![0, 0], 0)
        })
        .unwrap();
        let booking = Booking::fold(&recorded(&placed)).unwrap().unwrap();
        assert_eq!(
            (booking.status, booking.confirm_because_missed),
            (Status::Pending, true)
        );
    }

    #[test]
    fn a_booking_to_confirm_holds_its_place_until_confirmed_or_expired() {
        let catalogue = demo();
        let offer = Offer::find(&catalogue, "buergerbuero", "personalausweis").unwrap();
        let by = now() + chrono::Duration::minutes(30);
        let placed = place(Place {
            confirm_by: Some(by),
            ..placing(&offer, vec![0, 0], 0)
        })
        .unwrap();
        // The places are taken from the start: nobody else gets them meanwhile.
        assert_eq!(placed.events.iter().filter(|e| e.event_type == "UnitTaken").count(), 2);
        let booking = Booking::fold(&recorded(&placed)).unwrap().unwrap();
        assert_eq!((booking.status, booking.confirm_by), (Status::Pending, Some(by)));
        let ticket = crate::queue::issue(
            "buergerbuero",
            start().date_naive(),
            "A",
            &crate::queue::NumberEvent::TicketIssued {
                service: "personalausweis".into(),
                kind: crate::queue::Kind::Appointment,
                slot_start: Some(start()),
                token_hash: "t".into(),
                issued_at: start(),
                contact: None,
                booking: None,
                case: None,
            },
        );
        assert_eq!(
            check_in(&booking, "abc", "buergerbuero", ticket, start()).unwrap_err(),
            BookingError::NotConfirmed
        );
        assert!(expire(&booking, "abc", by).is_none(), "still in time");
        let confirmed = confirm(&booking, "abc", by).unwrap();
        assert_eq!(
            confirmed.expectations,
            vec![("booking-abc".into(), Expectation::AtVersion(1))]
        );
        let mut events = recorded(&placed);
        events.extend(recorded(&confirmed).into_iter().map(|mut e| {
            e.version = 2;
            e
        }));
        let done = Booking::fold(&events).unwrap().unwrap();
        assert_eq!(done.status, Status::Confirmed);
        assert_eq!(confirm(&done, "abc", by).unwrap_err(), BookingError::NotPending);
        assert!(expire(&done, "abc", by + chrono::Duration::hours(1)).is_none());

        // Too late: confirming fails, expiring releases both places and the holder's count.
        let late = by + chrono::Duration::seconds(1);
        assert_eq!(
            confirm(&booking, "abc", late).unwrap_err(),
            BookingError::ConfirmationExpired
        );
        let expired = expire(&booking, "abc", late).unwrap();
        let types: Vec<&str> = expired.events.iter().map(|e| e.event_type.as_str()).collect();
        assert_eq!(
            types,
            ["BookingExpired", "UnitReleased", "UnitReleased", "HolderBookingEnded"]
        );
        let mut events = recorded(&placed);
        events.extend(recorded(&expired).into_iter().map(|mut e| {
            e.version = 2;
            e
        }));
        let gone = Booking::fold(&events).unwrap().unwrap();
        assert_eq!(gone.status, Status::Expired);
        assert_eq!(
            cancel(&gone, "abc", late).unwrap_err(),
            BookingError::ConfirmationExpired
        );
    }

    #[test]
    fn cancelling_frees_the_units_once() {
        let catalogue = demo();
        let offer = Offer::find(&catalogue, "buergerbuero", "personalausweis").unwrap();
        let placed = place(placing(&offer, vec![0, 0], 0)).unwrap();
        let booking = Booking::fold(&recorded(&placed)).unwrap().unwrap();
        let d = cancel(&booking, "abc", now()).unwrap();
        let released = d.events.iter().filter(|e| e.event_type == "UnitReleased").count();
        assert_eq!(released, 2);
        assert_eq!(d.expectations, vec![("booking-abc".into(), Expectation::AtVersion(1))]);
        let mut events = recorded(&placed);
        events.extend(recorded(&d).into_iter().map(|mut e| {
            e.version = 2;
            e
        }));
        let cancelled = Booking::fold(&events).unwrap().unwrap();
        assert_eq!(cancelled.status, Status::Cancelled);
        assert_eq!(
            cancel(&cancelled, "abc", now()).unwrap_err(),
            BookingError::AlreadyCancelled
        );
        assert_eq!(
            cancel(&booking, "abc", utc("2026-12-02T08:05:00Z")).unwrap_err(),
            BookingError::AlreadyPast
        );
    }

    #[test]
    fn counters_in_memory_equal_the_folded_streams() {
        let catalogue = demo();
        let offer = Offer::find(&catalogue, "buergerbuero", "personalausweis").unwrap();
        let placed = place(placing(&offer, vec![0, 0], 0)).unwrap();
        let booking = Booking::fold(&recorded(&placed)).unwrap().unwrap();
        let cancelled = cancel(&booking, "abc", now()).unwrap();
        // The log as the store would number it: positions in order, versions per stream.
        let mut versions = std::collections::HashMap::<String, i64>::new();
        let log: Vec<RecordedEvent> = placed
            .events
            .iter()
            .chain(&cancelled.events)
            .enumerate()
            .map(|(i, e)| {
                let v = versions.entry(e.stream.clone()).or_default();
                *v += 1;
                e.recorded(i as i64 + 1, *v, now())
            })
            .collect();
        let mut counters = Counters::default();
        for (upto, e) in log.iter().enumerate() {
            counters.apply(e).unwrap();
            for stream in versions.keys().filter(|s| !s.starts_with("booking-")) {
                let events: Vec<_> = log[..=upto].iter().filter(|e| &e.stream == stream).cloned().collect();
                let (kept, folded) = match unit_of_stream(stream) {
                    Some((location, unit)) => {
                        let folded = Counter::fold_unit(stream.clone(), &events).unwrap();
                        assert_eq!(counters.taken(location, unit), folded.count);
                        (counters.unit(location, unit), folded)
                    }
                    None => (
                        counters.holder(stream),
                        Counter::fold_holder(stream.clone(), &events).unwrap(),
                    ),
                };
                assert_eq!(kept, folded, "after event {upto}");
            }
        }
        let unit = placed.events[1].stream.clone();
        let (location, start_of_unit) = unit_of_stream(&unit).unwrap();
        assert_eq!(
            (location, unit_stream(location, start_of_unit)),
            ("buergerbuero", unit.clone())
        );
        assert_eq!(counters.unit(location, start_of_unit).version, 2);
        assert_eq!(counters.unit(location, start_of_unit).count, 0);
        assert_eq!(
            counters.unit("nowhere", start()),
            Counter::at("unit-nowhere-20261202T0800Z".into(), 0, 0)
        );
        assert_eq!(unit_of_stream("holder-abc"), None);
    }

    #[test]
    fn check_in_window_and_once_only() {
        let catalogue = demo();
        let offer = Offer::find(&catalogue, "buergerbuero", "personalausweis").unwrap();
        let booking = placed(&offer);
        let ticket = || {
            Decision::expecting(
                NewEvent {
                    stream: "numbers-buergerbuero-20261202-T".into(),
                    event_type: "TicketIssued".into(),
                    schema: 1,
                    data: serde_json::Value::Null,
                },
                Expectation::Any,
            )
        };
        // Appointment at 08:00 UTC.
        let check = |at: &str| check_in(&booking, "abc", "buergerbuero", ticket(), utc(at));
        assert_eq!(check("2026-12-02T06:59:00Z").unwrap_err(), BookingError::TooEarly(60));
        assert!(check("2026-12-02T07:00:00Z").is_ok());
        assert!(check("2026-12-02T08:15:00Z").is_ok());
        assert_eq!(check("2026-12-02T08:16:00Z").unwrap_err(), BookingError::TooLate(15));
        assert_eq!(
            check_in(&booking, "abc", "kfz-zulassung", ticket(), utc("2026-12-02T07:30:00Z")).unwrap_err(),
            BookingError::OtherLocation
        );
        let d = check("2026-12-02T07:30:00Z").unwrap();
        assert_eq!(d.expectations[0], ("booking-abc".into(), Expectation::AtVersion(1)));
        let mut events = recorded(&place(placing(&offer, vec![0, 0], 0)).unwrap());
        events.extend(recorded(&d).into_iter().map(|mut e| {
            e.version = 2;
            e
        }));
        let checked = Booking::fold(&events).unwrap().unwrap();
        assert_eq!(checked.status, Status::CheckedIn);
        assert_eq!(
            check_in(&checked, "abc", "buergerbuero", ticket(), utc("2026-12-02T07:40:00Z")).unwrap_err(),
            BookingError::AlreadyCheckedIn
        );
        assert_eq!(
            cancel(&checked, "abc", utc("2026-12-02T07:40:00Z")).unwrap_err(),
            BookingError::AlreadyCheckedIn
        );
    }

    #[test]
    fn rescheduling_by_one_unit_keeps_the_shared_unit() {
        let catalogue = demo();
        let offer = Offer::find(&catalogue, "buergerbuero", "personalausweis").unwrap();
        let booking = placed(&offer);
        let new_start = utc("2026-12-02T08:10:00Z");
        let units = offer.units_for(new_start, now()).unwrap();
        let counts: Vec<Counter> = units
            .iter()
            .map(|u| counter(&unit_stream("buergerbuero", u.start), 1, 1))
            .collect();
        let d = reschedule(&booking, "abc", &offer, new_start, units, &counts, now()).unwrap();
        let summary: Vec<(&str, &str)> = d
            .events
            .iter()
            .map(|e| (e.event_type.as_str(), e.stream.as_str()))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("BookingRescheduled", "booking-abc"),
                ("UnitTaken", "unit-buergerbuero-20261202T0820Z"),
                ("UnitReleased", "unit-buergerbuero-20261202T0800Z"),
            ]
        );
        // The target is full: nothing moves.
        let full: Vec<Counter> = counts.iter().map(|c| Counter { count: 3, ..c.clone() }).collect();
        let units = offer.units_for(new_start, now()).unwrap();
        assert_eq!(
            reschedule(&booking, "abc", &offer, new_start, units, &full, now()).unwrap_err(),
            BookingError::SlotTaken
        );
    }
}
