//! The citizens' writes: place, move, cancel, confirm and expire a booking. Each loads what its
//! decision needs and calls the rule in `schalter_events::booking`; the executor does the rest.

use schalter_events::slots::Booker;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use schalter_events::api::{BookingRequest, LocalTime, Proof};
use schalter_events::booking::{self, Booking, BookingError, Channel, Counter, Offer, Place};
use schalter_events::slots::Unit;
use schalter_events::store::{DataKey, Store, StoreError};

use crate::engine::codes::{code_hash, new_code};
use crate::engine::executor::{Attempt, Command, Decided, Plan};
use crate::engine::state::AppState;
use crate::engine::streams;
use crate::engine::vault::PersonalData;
use crate::http::abuse;
use crate::http::error::ApiError;

/// A unit's count (`unit`) or an email holder's, as the store has it now: what a booking
/// decision is expected at. Used by the commands and the simulator.
pub(crate) async fn read_counter(store: &Store, stream: String, unit: bool) -> Result<Counter, StoreError> {
    let events = store.read_stream(&stream, 0).await?;
    let counter = if unit {
        Counter::fold_unit(stream, &events)
    } else {
        Counter::fold_holder(stream, &events)
    };
    counter.map_err(|e| StoreError::Corrupt {
        position: e.position,
        reason: e.to_string(),
    })
}

async fn unit_counters(store: &Store, location: &str, units: &[Unit]) -> Result<Vec<Counter>, StoreError> {
    futures::future::try_join_all(
        units
            .iter()
            .map(|unit| read_counter(store, booking::unit_stream(location, unit.start), true)),
    )
    .await
}

/// The booking behind a code's hash, as the store has it now.
pub(crate) async fn load(store: &Store, hash: &str) -> Result<Booking, ApiError> {
    Ok(streams::booking(store, hash)
        .await?
        .ok_or(BookingError::UnknownBooking)?)
}

/// Keyed with the vault's secret: the holder streams name no email that could be guessed.
fn holder_hash(state: &AppState, email: &str) -> String {
    state.vault.keyed_hash("holder", email)
}

/// Whether `proof` solves a challenge of this server and is fresh; spending it is admission's.
fn check_proof(state: &AppState, proof: Option<&Proof>) -> Result<(), ApiError> {
    if !state.abuse.enabled() {
        return Ok(());
    }
    let proof = proof.ok_or_else(|| {
        ApiError::invalid(
            "proof_required",
            Some("proof"),
            "ask GET /api/bookings/challenge and send the proof with the booking",
        )
    })?;
    let vault = state.vault.clone();
    abuse::work::verify(&proof.challenge, proof.nonce, Utc::now(), |b| {
        vault.keyed_hash("pow", b)[..32].to_owned()
    })
    .map_err(|e| match e {
        abuse::work::ProofError::Expired => ApiError::invalid(
            "proof_expired",
            Some("proof"),
            "the challenge is too old; ask for a new one",
        ),
        _ => ApiError::invalid(
            "invalid_proof",
            Some("proof"),
            "the proof does not solve a challenge of this server",
        ),
    })
    .map(drop)
}

/// A new booking. Admission checks the request and seals the personal data once; each attempt
/// then decides only on the places.
pub struct PlaceBooking<'a> {
    state: &'a AppState,
    ip: IpAddr,
    request: BookingRequest,
    start: DateTime<Utc>,
    /// Set when the desk books for a caller: how the caller reached the office.
    by_staff: Option<Channel>,
    admitted: Option<Admitted>,
}

struct Admitted {
    units: Vec<Unit>,
    code: String,
    code_hash: String,
    /// The keyed hash of the email: whose bookings count towards the per-email limit.
    holder: String,
    personal: PersonalData,
    contact: booking::Personal,
    data_key: DataKey,
}

/// A booking just placed, with what only its first answer shows.
pub struct Placed {
    pub booking: Booking,
    pub code: String,
    pub personal: PersonalData,
}

impl<'a> PlaceBooking<'a> {
    /// The booking `request` from `ip`, once this address's limit and the proof of work allow it
    /// (the proof is spent only when the booking is decided, so a retry may carry it again).
    pub fn limited(state: &'a AppState, ip: IpAddr, request: BookingRequest) -> Result<PlaceBooking<'a>, ApiError> {
        state.abuse.check(&format!("book-ip:{ip}"), abuse::BOOK_PER_IP)?;
        check_proof(state, request.proof.as_ref())?;
        Ok(PlaceBooking {
            state,
            ip,
            start: requested_start(&request.start)?,
            request,
            by_staff: None,
            admitted: None,
        })
    }

    /// A booking the desk makes for a caller (`channel`: phone or desk). The caller is told the
    /// privacy notice by the clerk; there is no proof of work and no address limit, and an
    /// email address or mobile number only where the caller gives one.
    pub fn for_caller(
        state: &'a AppState,
        ip: IpAddr,
        request: BookingRequest,
        channel: Channel,
    ) -> Result<PlaceBooking<'a>, ApiError> {
        Ok(PlaceBooking {
            state,
            ip,
            start: requested_start(&request.start)?,
            request,
            by_staff: Some(channel),
            admitted: None,
        })
    }
}

impl Command for PlaceBooking<'_> {
    type Output = Placed;
    type Error = ApiError;

    async fn admit(&mut self) -> Result<(), ApiError> {
        let (state, req, ip) = (self.state, &self.request, self.ip);
        // In the form's order, so the first answer names the first field that is wrong.
        if self.by_staff.is_some() {
            let contact = booking::check_caller(&req.name, &req.email, req.phone.as_deref())?;
            return self.admit_checked(contact);
        }
        let contact = booking::check_contact(&req.name, &req.email, req.phone.as_deref())?;
        if !req.privacy_accepted {
            return Err(ApiError::invalid(
                "consent_required",
                Some("privacy_accepted"),
                "please confirm that you have read the privacy notice",
            ));
        }
        let holder = holder_hash(state, &contact.email);
        if let Some(proof) = req.proof.as_ref().filter(|_| state.abuse.enabled()) {
            state.abuse.spend_proof(&proof.challenge)?;
        }
        state
            .abuse
            .check(&format!("book-email:{holder}"), abuse::BOOK_PER_EMAIL)?;
        state.abuse.may_book(self.start, &[holder, ip.to_string()])?;
        self.admit_checked(contact)
    }

    /// Citizens who book the same time at the same moment take turns; see the executor.
    fn turn(&self) -> Option<String> {
        Some(format!("{}@{}", self.request.location, self.start))
    }

    async fn decide(&mut self, attempt: &Attempt<'_>) -> Result<Decided<Placed>, ApiError> {
        self.decide_places(attempt).await
    }
}

impl PlaceBooking<'_> {
    /// The places still free, the code, and the sealed contact: what every decision needs.
    fn admit_checked(&mut self, contact: booking::Contact) -> Result<(), ApiError> {
        let (state, req) = (self.state, &self.request);
        let start = self.start;
        let code = new_code();
        let code_hash = code_hash(&code).expect("generated codes are valid");
        // A caller without an email address counts towards no one's limit.
        let holder = if contact.email.is_empty() {
            holder_hash(state, &format!("caller:{code}"))
        } else {
            holder_hash(state, &contact.email)
        };
        // Most of a rush comes too late for the time it chose. This server's projection holds
        // every booking it wrote (writes wait for it), so a time it shows full is full, or is
        // being freed by another server this very moment, which no citizen could tell from
        // someone else taking it. Answering from it spares the store the reads of everyone who
        // is too late.
        let units = {
            let catalogue = state.catalogue();
            let offer = Offer::find(&catalogue, &req.location, &req.service)?;
            let booker = match self.by_staff {
                Some(_) => Booker::Staff,
                None => Booker::Citizen,
            };
            let now = Utc::now();
            let units = offer.units_for_as(start, now, booker)?;
            let taken = state.taken();
            let hold = offer.schedule.release_hold_minutes;
            if offer.full(&units, |unit| taken.seen_by(booker, &req.location, unit, now, hold)) {
                return Err(BookingError::SlotTaken.into());
            }
            units
        };
        let personal = PersonalData {
            name: contact.name,
            email: contact.email,
            phone: contact.phone,
            code: Some(code.clone()),
        };
        let (contact, data_key) = state.vault.seal_with_key(&personal);
        self.admitted = Some(Admitted {
            units,
            code,
            code_hash,
            holder,
            personal,
            contact,
            data_key,
        });
        Ok(())
    }

    async fn decide_places(&mut self, attempt: &Attempt<'_>) -> Result<Decided<Placed>, ApiError> {
        let a = self
            .admitted
            .as_ref()
            .ok_or_else(|| ApiError::Internal("deciding before admission".into()))?;
        let (units, holder) = self.counters(a, attempt.is_retry()).await?;
        let units: Vec<Counter> = units.into_iter().map(|c| attempt.latest(c)).collect();
        let holder = attempt.latest(holder);
        let reserve: Vec<Counter> = units.iter().chain([&holder]).cloned().collect();
        let decision = {
            let catalogue = self.state.catalogue();
            let offer = Offer::find(&catalogue, &self.request.location, &self.request.service)?;
            // The desk has the caller on the line: nothing to confirm by email.
            let confirm = match (self.by_staff, offer.schedule.no_show_rule) {
                (Some(_), _) => None,
                (None, rule) => {
                    let missed = rule.map_or(0, |rule| self.state.taken().missed(&a.holder, rule, attempt.now));
                    offer.confirm_by(attempt.now, self.start, missed)
                }
            };
            booking::place(Place {
                offer: &offer,
                code_hash: &a.code_hash,
                start: self.start,
                units: a.units.clone(),
                contact: a.contact.clone(),
                holder: a.holder.clone(),
                channel: self.by_staff.unwrap_or(Channel::Online),
                unit_counts: units,
                holder_count: holder,
                max_active_per_email: offer.schedule.max_active_per_email,
                confirm_by: confirm.map(|(by, _)| by),
                confirm_because_missed: confirm.is_some_and(|(_, missed)| missed),
            })?
        };
        let booking = Booking::from_placement(&decision, attempt.now)
            .ok_or_else(|| ApiError::Internal("placing without a placement".into()))?;
        Ok(Decided::Append(Plan {
            decision,
            data_key: Some(a.data_key.clone()),
            reserve,
            value: Placed {
                booking,
                code: a.code.clone(),
                personal: a.personal.clone(),
            },
        }))
    }
}

impl PlaceBooking<'_> {
    /// The unit and holder counters to decide on. First as this server's projection has them:
    /// exact for everything the server wrote itself (writes wait for the projection, and
    /// bookings for one start take turns), so only another server's booking a moment ago makes
    /// the append fail its expectation; after that (`from_store`) as the store has them.
    async fn counters(&self, a: &Admitted, from_store: bool) -> Result<(Vec<Counter>, Counter), StoreError> {
        let location = &self.request.location;
        let holder = booking::holder_stream(&a.holder);
        if from_store {
            let store = &self.state.store;
            return tokio::try_join!(
                unit_counters(store, location, &a.units),
                read_counter(store, holder, false)
            );
        }
        let taken = self.state.taken();
        let counters = taken.counters();
        let units = a.units.iter().map(|u| counters.unit(location, u.start)).collect();
        Ok((units, counters.holder(&holder)))
    }
}

/// Moves a booking to another start at its office.
pub struct Reschedule<'a> {
    pub state: &'a AppState,
    pub code_hash: String,
    pub start: DateTime<Utc>,
    /// Whose cooling-off and limits apply, besides the booking's holder; `None` when the desk
    /// moves it for a caller (no limits, and the staff share is open).
    pub ip: Option<IpAddr>,
}

impl Command for Reschedule<'_> {
    type Output = ();
    type Error = ApiError;

    async fn decide(&mut self, attempt: &Attempt<'_>) -> Result<Decided<()>, ApiError> {
        let booking = load(&self.state.store, &self.code_hash).await?;
        let booker = match self.ip {
            Some(ip) => {
                let holders = [booking.holder.clone(), ip.to_string()];
                self.state.abuse.may_book(self.start, &holders)?;
                Booker::Citizen
            }
            None => Booker::Staff,
        };
        let units = {
            let catalogue = self.state.catalogue();
            let offer = Offer::find(&catalogue, &booking.location, &booking.service)?;
            let units = offer.units_for_as(self.start, attempt.now, booker)?;
            // A place held back after its release is as taken for a move as for a booking;
            // the booking's own places are its to keep.
            let taken = self.state.taken();
            let hold = offer.schedule.release_hold_minutes;
            let seen = |unit| {
                let own = u32::from(booking.units.contains(&unit));
                taken
                    .seen_by(booker, &booking.location, unit, attempt.now, hold)
                    .saturating_sub(own)
            };
            if hold > 0 && offer.full(&units, seen) {
                return Err(BookingError::SlotTaken.into());
            }
            units
        };
        let counts = unit_counters(&self.state.store, &booking.location, &units).await?;
        let catalogue = self.state.catalogue();
        let offer = Offer::find(&catalogue, &booking.location, &booking.service)?;
        let decision = booking::reschedule(
            &booking,
            &self.code_hash,
            &offer,
            self.start,
            units,
            &counts,
            attempt.now,
        )?;
        Ok(Decided::append(decision, ()))
    }
}

/// Cancels a booking; the answer is the booking as it was before.
pub struct Cancel<'a> {
    pub store: &'a Store,
    pub code_hash: String,
}

impl Command for Cancel<'_> {
    type Output = Booking;
    type Error = ApiError;

    async fn decide(&mut self, attempt: &Attempt<'_>) -> Result<Decided<Booking>, ApiError> {
        let booking = load(self.store, &self.code_hash).await?;
        let decision = booking::cancel(&booking, &self.code_hash, attempt.now)?;
        Ok(Decided::append(decision, booking))
    }
}

/// Confirms a booking with the emailed link (where the office asks for it).
pub struct Confirm<'a> {
    pub store: &'a Store,
    pub code_hash: String,
}

impl Command for Confirm<'_> {
    type Output = ();
    type Error = ApiError;

    async fn decide(&mut self, attempt: &Attempt<'_>) -> Result<Decided<()>, ApiError> {
        let booking = load(self.store, &self.code_hash).await?;
        Ok(Decided::append(
            booking::confirm(&booking, &self.code_hash, attempt.now)?,
            (),
        ))
    }
}

/// The time a citizen asked for, as the rules need it.
pub(crate) fn requested_start(start: &LocalTime) -> Result<DateTime<Utc>, ApiError> {
    start
        .parse()
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| ApiError::invalid("invalid_body", Some("start"), e.to_string()))
}
