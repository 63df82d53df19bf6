//! Citizens' appointments over HTTP: availability, book, view, cancel, reschedule, calendar.
//! Handlers parse, call the pure rules in `schalter_events::booking`, append, and retry the
//! decision when a concurrent booking changed a stream in between.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{NaiveDate, Utc};
use schalter_events::api::{
    Availability, BookingRequest, BookingView, CallerBookingRequest, CallerChannel, Challenge, ConfirmRequest,
    LocalTime, RescheduleRequest, SlotView,
};
use schalter_events::booking::{Booking, BookingError, ErasureReason, Offer, Status};
use schalter_events::ics;
use schalter_events::slots::Booker;
use schalter_events::slots::SlotError;
use schalter_events::store::AppendOutcome;
use schalter_events::CITIZEN;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

mod commands;

use crate::engine::codes::normalise_code;
pub use crate::engine::codes::{check_in_number, code_hash, normalise_check_in_number};
pub(crate) use commands::read_counter;
use commands::{Cancel, Confirm, PlaceBooking, Placed, Reschedule};

use crate::engine::executor::Executed;
use crate::engine::state::AppState;
use crate::engine::vault::{PersonalData, VaultError};
use crate::http::abuse::{self, ClientIp};
use crate::http::auth::{self, StaffUser};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::{ApiJson, ApiPath, ApiQuery, Idempotency};
use crate::jobs::retention;

const MAX_DAYS: u32 = 62;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(availability))
        .routes(routes!(book))
        .routes(routes!(challenge))
        .routes(routes!(view, cancel))
        .routes(routes!(reschedule))
        .routes(routes!(confirm))
        .routes(routes!(calendar))
        .routes(routes!(qr))
        .routes(routes!(erase_personal_data))
}

/// The desk books for callers.
pub fn staff_router(state: &AppState) -> OpenApiRouter<AppState> {
    auth::staff_only(
        OpenApiRouter::new()
            .routes(routes!(book_for_caller))
            .routes(routes!(staff_availability))
            .routes(routes!(view_for_caller, cancel_for_caller))
            .routes(routes!(reschedule_for_caller)),
        state,
        auth::Staff::Desk,
    )
}

/// Each refusal with its stable code: 422 naming the field for what the request got wrong, 409
/// for what the slot's places or the booking's state refuse, 404 for an unknown code.
impl From<BookingError> for ApiError {
    fn from(e: BookingError) -> Self {
        use BookingError::*;
        let message = e.to_string();
        let invalid = |code, field| ApiError::invalid(code, Some(field), message.clone());
        let conflict = |code| ApiError::Conflict {
            code,
            message: message.clone(),
        };
        match &e {
            UnknownLocation => invalid("unknown_location", "location"),
            UnknownService => invalid("unknown_service", "service"),
            ServiceNotAtLocation => invalid("service_not_at_location", "service"),
            NotBookableOnline => invalid("not_bookable_online", "service"),
            NoSchedule => invalid("no_online_booking", "location"),
            Slot(SlotError::InPast) => invalid("in_past", "start"),
            Slot(SlotError::TooSoon(_)) => invalid("too_soon", "start"),
            Slot(SlotError::BeyondWindow(_)) => invalid("beyond_window", "start"),
            Slot(SlotError::Closed) => invalid("closed", "start"),
            Slot(SlotError::NotOnGrid) => invalid("not_on_grid", "start"),
            Slot(SlotError::NotYetReleased(_)) => invalid("not_yet_released", "start"),
            Slot(SlotError::StaffOnly(_)) => invalid("staff_only", "start"),
            Slot(SlotError::UnknownTimeZone(_)) => ApiError::Internal(message.clone()),
            InvalidContact { field, .. } => invalid("invalid_contact", field),
            OtherLocation => invalid("other_location", "code"),
            SlotTaken => conflict("slot_taken"),
            TooManyActiveBookings(_) => conflict("too_many_bookings"),
            AlreadyCancelled => conflict("already_cancelled"),
            AlreadyPast => conflict("already_past"),
            AlreadyCheckedIn => conflict("already_checked_in"),
            TooEarly(_) => conflict("too_early"),
            TooLate(_) => conflict("too_late"),
            ConfirmationExpired => conflict("confirmation_expired"),
            NotPending => conflict("not_pending"),
            NotConfirmed => conflict("not_confirmed"),
            UnknownBooking => ApiError::NotFound(message.clone()),
        }
    }
}

/// The booking's personal data, `None` once erased.
async fn personal_of(state: &AppState, booking: &Booking) -> Result<Option<PersonalData>, ApiError> {
    if booking.erased {
        return Ok(None);
    }
    Ok(state.vault.open(&booking.contact).await?)
}

/// The booking behind a code as typed or scanned, with its code's hash.
pub(crate) async fn load_booking(state: &AppState, code: &str) -> Result<(String, Booking), ApiError> {
    let hash = code_hash(code).ok_or(BookingError::UnknownBooking)?;
    load_by_hash(state, hash).await
}

/// A booking by its code's hash (what the check-in number resolves to).
pub(crate) async fn load_by_hash(state: &AppState, hash: String) -> Result<(String, Booking), ApiError> {
    let booking = commands::load(&state.store, &hash).await?;
    Ok((hash, booking))
}

// ---- views ---------------------------------------------------------------------------------

fn view_of(state: &AppState, booking: &Booking, code: Option<String>, personal: Option<&PersonalData>) -> BookingView {
    let catalogue = state.catalogue();
    let tz = catalogue.time_zone(&booking.location);
    let location = catalogue.locations.get(&booking.location);
    let service = catalogue.services.get(&booking.service);
    BookingView {
        code,
        check_in_number: None,
        status: booking.status,
        location: booking.location.clone(),
        location_name: location.map(|l| l.name.clone()).unwrap_or_default(),
        address: location.map(|l| l.address.clone()).unwrap_or_default(),
        service: booking.service.clone(),
        service_name: service.map(|s| s.name.clone()).unwrap_or_default(),
        documents: service.map(|s| s.documents.clone()).unwrap_or_default(),
        fee: service.map(|s| s.fee.clone()).unwrap_or_default(),
        start: LocalTime::at(booking.start.with_timezone(&tz)),
        end: LocalTime::at(booking.end.with_timezone(&tz)),
        name: personal.map(|p| p.name.clone()).unwrap_or_default(),
        email: personal.map(|p| p.email.clone()).unwrap_or_default(),
        phone: personal.and_then(|p| p.phone.clone()),
        confirm_by: booking
            .confirm_by
            .filter(|_| booking.status == Status::Pending)
            .map(|by| LocalTime::at(by.with_timezone(&tz))),
        personal_data_erased: personal.is_none(),
    }
}

// ---- handlers ------------------------------------------------------------------------------

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AvailabilityQuery {
    location: String,
    service: String,
    /// First day (local date, `YYYY-MM-DD`); default today.
    from: Option<NaiveDate>,
    /// Number of days, 1 to 62; default 14.
    #[param(minimum = 1, maximum = 62)]
    days: Option<u32>,
}

#[utoipa::path(get, path = "/api/availability", tag = "citizens", params(AvailabilityQuery),
    responses((status = 200, body = Availability), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn availability(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiQuery(q): ApiQuery<AvailabilityQuery>,
) -> Result<Json<Availability>, ApiError> {
    state
        .abuse
        .check(&format!("availability-ip:{ip}"), abuse::AVAILABILITY_PER_IP)?;
    free_times(&state, &q, Booker::Citizen)
}

/// Free times as staff booking for a caller see them: with the staff share of each period and
/// the near days kept for staff, and no wait for the release time.
#[utoipa::path(get, path = "/api/desk/availability", tag = "staff", params(AvailabilityQuery),
    responses((status = 200, body = Availability), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn staff_availability(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<AvailabilityQuery>,
) -> Result<Json<Availability>, ApiError> {
    free_times(&state, &q, Booker::Staff)
}

fn free_times(state: &AppState, q: &AvailabilityQuery, booker: Booker) -> Result<Json<Availability>, ApiError> {
    let days = q.days.unwrap_or(14);
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(ApiError::invalid(
            "invalid_days",
            Some("days"),
            format!("days must be 1 to {MAX_DAYS}"),
        ));
    }
    let now = Utc::now();
    let catalogue = state.catalogue();
    let offer = Offer::find(&catalogue, &q.location, &q.service)?;
    let tz = offer.schedule.tz().map_err(|e| ApiError::Internal(e.to_string()))?;
    let from = q.from.unwrap_or_else(|| now.with_timezone(&tz).date_naive());
    let k = offer.units_needed();
    let taken = state.taken();
    let hold = offer.schedule.release_hold_minutes;
    let mut slots = Vec::new();
    for day in from.iter_days().take(days as usize) {
        let day_slots = offer
            .schedule
            .slots_as(
                day,
                k,
                |unit| taken.seen_by(booker, &q.location, unit, now, hold),
                now,
                booker,
            )
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        slots.extend(day_slots.into_iter().map(|s| SlotView {
            start: LocalTime::at(s.start.with_timezone(&tz)),
            end: LocalTime::at(s.end.with_timezone(&tz)),
            free: s.free,
        }));
    }
    Ok(Json(Availability {
        location: q.location.clone(),
        service: q.service.clone(),
        duration_minutes: offer.service.duration_minutes,
        slots,
    }))
}

/// A proof-of-work challenge for one booking: the app solves it in the background.
#[utoipa::path(get, path = "/api/bookings/challenge", tag = "citizens",
    responses((status = 200, body = Challenge)))]
pub async fn challenge(State(state): State<AppState>) -> Json<Challenge> {
    let random = crate::engine::secrets::new_token();
    let vault = state.vault.clone();
    Json(Challenge {
        challenge: abuse::work::challenge(Utc::now(), &random[..16.min(random.len())], |b| {
            vault.keyed_hash("pow", b)[..32].to_owned()
        }),
        difficulty: abuse::work::DIFFICULTY,
    })
}

#[utoipa::path(post, path = "/api/bookings", tag = "citizens", request_body = BookingRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe retries")),
    responses((status = 201, body = BookingView), (status = 200, description = "A repeated request: the booking, without its code", body = BookingView),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn book(
    State(state): State<AppState>,
    Idempotency(key): Idempotency,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<BookingRequest>,
) -> Result<Response, ApiError> {
    // Limits come before the key: a used key must not be a way around them.
    let command = PlaceBooking::limited(&state, ip, req)?;
    match state.execute(CITIZEN, key, command).await? {
        Executed::Done(placed, outcome) => {
            refuse_if_closed(&state, &placed, outcome.as_ref()).await?;
            let view = view_of(&state, &placed.booking, Some(placed.code), Some(&placed.personal));
            Ok((StatusCode::CREATED, Json(view)).into_response())
        }
        Executed::Repeated(outcome) => repeated_booking(&state, &outcome).await,
    }
}

/// The desk books for a caller (phone or counter): the answer carries the code to read out or
/// print; a confirmation goes by email only where the caller gave an address. The same places,
/// rules and refusals as online; the channel is recorded for the statistics.
#[utoipa::path(post, path = "/api/desk/bookings", tag = "staff", request_body = CallerBookingRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "repeat-safe retries")),
    responses((status = 201, body = BookingView), (status = 200, body = BookingView, description = "a repeated request"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn book_for_caller(
    State(state): State<AppState>,
    user: StaffUser,
    Idempotency(key): Idempotency,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<CallerBookingRequest>,
) -> Result<Response, ApiError> {
    let channel = match req.channel {
        CallerChannel::Phone => schalter_events::booking::Channel::Phone,
        CallerChannel::Desk => schalter_events::booking::Channel::Desk,
    };
    let request = BookingRequest {
        location: req.location,
        service: req.service,
        start: req.start,
        name: req.name,
        email: req.email.unwrap_or_default(),
        phone: req.phone,
        // The clerk tells the caller how their data is used.
        privacy_accepted: true,
        proof: None,
    };
    let command = PlaceBooking::for_caller(&state, ip, request, channel)?;
    match state.execute(&user.actor(), key, command).await? {
        Executed::Done(placed, outcome) => {
            refuse_if_closed(&state, &placed, outcome.as_ref()).await?;
            let mut view = view_of(
                &state,
                &placed.booking,
                Some(placed.code.clone()),
                Some(&placed.personal),
            );
            view.check_in_number = code_hash(&placed.code).map(|h| check_in_number(&h));
            Ok((StatusCode::CREATED, Json(view)).into_response())
        }
        Executed::Repeated(outcome) => repeated_booking(&state, &outcome).await,
    }
}

/// A booking just written for a time a closure took meanwhile is cancelled and refused (see
/// `features::closures`).
async fn refuse_if_closed(state: &AppState, placed: &Placed, outcome: Option<&AppendOutcome>) -> Result<(), ApiError> {
    match (outcome, code_hash(&placed.code)) {
        (Some(outcome), Some(hash)) => {
            let position = outcome.last_position;
            crate::features::closures::refuse_if_closed(state, &hash, &placed.booking, position).await
        }
        _ => Ok(()),
    }
}

/// The code is not stored (only its hash), so a repeat cannot return it; the confirmation
/// email carries it.
async fn repeated_booking(state: &AppState, outcome: &AppendOutcome) -> Result<Response, ApiError> {
    let stream = crate::http::repeated_stream(outcome, "booking-")?;
    let booking = commands::load(&state.store, stream.trim_start_matches("booking-")).await?;
    let personal = personal_of(state, &booking).await?;
    Ok((StatusCode::OK, Json(view_of(state, &booking, None, personal.as_ref()))).into_response())
}

#[utoipa::path(get, path = "/api/bookings/{code}", tag = "citizens", params(("code" = String, Path)),
    responses((status = 200, body = BookingView), (status = 404, body = ErrorBody)))]
pub async fn view(
    State(state): State<AppState>,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<BookingView>, ApiError> {
    let (hash, booking) = load_booking(&state, &code).await?;
    let personal = personal_of(&state, &booking).await?;
    let mut view = view_of(&state, &booking, None, personal.as_ref());
    if matches!(booking.status, Status::Confirmed | Status::Pending) {
        view.check_in_number = Some(check_in_number(&hash));
    }
    Ok(Json(view))
}

#[utoipa::path(delete, path = "/api/bookings/{code}", tag = "citizens", params(("code" = String, Path)),
    responses((status = 200, body = BookingView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn cancel(
    State(state): State<AppState>,
    Idempotency(key): Idempotency,
    ClientIp(ip): ClientIp,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<BookingView>, ApiError> {
    state.abuse.check(&format!("change-ip:{ip}"), abuse::CHANGE_PER_IP)?;
    cancel_booking(&state, CITIZEN, key, &code, Some(ip)).await
}

/// Cancels a booking; `ip` is the citizen's (counted with the holder for the cooling-off), or
/// `None` when the desk cancels it for a caller.
async fn cancel_booking(
    state: &AppState,
    actor: &str,
    key: Option<crate::engine::executor::CommandKey>,
    code: &str,
    ip: Option<std::net::IpAddr>,
) -> Result<Json<BookingView>, ApiError> {
    let code_hash = code_hash(code).ok_or(BookingError::UnknownBooking)?;
    let command = Cancel {
        store: &state.store,
        code_hash,
    };
    if let Executed::Done(before, _) = state.execute(actor, key, command).await? {
        let holders: Vec<String> = std::iter::once(before.holder)
            .chain(ip.map(|ip| ip.to_string()))
            .collect();
        state.abuse.cancelled(before.start, &holders);
    }
    current_view(state, code).await
}

/// The booking as it is now, for the answer to a change.
async fn current_view(state: &AppState, code: &str) -> Result<Json<BookingView>, ApiError> {
    let (_, booking) = load_booking(state, code).await?;
    let personal = personal_of(state, &booking).await?;
    Ok(Json(view_of(state, &booking, None, personal.as_ref())))
}

/// Confirms a booking where the location asks for confirmation by email (the emailed link
/// opens the manage page, whose button sends this: mail scanners that follow links confirm
/// nothing).
#[utoipa::path(post, path = "/api/bookings/{code}/confirm", tag = "citizens", params(("code" = String, Path)),
    request_body = ConfirmRequest,
    responses((status = 200, body = BookingView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn confirm(
    State(state): State<AppState>,
    ApiPath(code): ApiPath<String>,
    ApiJson(req): ApiJson<ConfirmRequest>,
) -> Result<Json<BookingView>, ApiError> {
    // Only the emailed link carries the token: whoever booked with a mistyped address (or a
    // bot with a made-up one) cannot confirm.
    if req.token != state.vault.confirm_token(&code) {
        return Err(ApiError::invalid(
            "invalid_confirmation",
            Some("token"),
            "this confirmation link is not valid for this booking",
        ));
    }
    let code_hash = code_hash(&code).ok_or(BookingError::UnknownBooking)?;
    let command = Confirm {
        store: &state.store,
        code_hash,
    };
    state.execute(CITIZEN, None, command).await?;
    current_view(&state, &code).await
}

#[utoipa::path(post, path = "/api/bookings/{code}/reschedule", tag = "citizens", params(("code" = String, Path)),
    request_body = RescheduleRequest,
    responses((status = 200, body = BookingView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn reschedule(
    State(state): State<AppState>,
    Idempotency(key): Idempotency,
    ClientIp(ip): ClientIp,
    ApiPath(code): ApiPath<String>,
    ApiJson(req): ApiJson<RescheduleRequest>,
) -> Result<Json<BookingView>, ApiError> {
    state.abuse.check(&format!("change-ip:{ip}"), abuse::CHANGE_PER_IP)?;
    move_booking(&state, CITIZEN, key, &code, &req, Some(ip)).await
}

/// Moves a booking; `ip` is the citizen's (limits apply), or `None` when the desk moves it.
async fn move_booking(
    state: &AppState,
    actor: &str,
    key: Option<crate::engine::executor::CommandKey>,
    code: &str,
    req: &RescheduleRequest,
    ip: Option<std::net::IpAddr>,
) -> Result<Json<BookingView>, ApiError> {
    let hash = code_hash(code).ok_or(BookingError::UnknownBooking)?;
    let command = Reschedule {
        state,
        code_hash: hash.clone(),
        start: commands::requested_start(&req.start)?,
        ip,
    };
    if let Executed::Done(_, Some(outcome)) = state.execute(actor, key, command).await? {
        let moved = commands::load(&state.store, &hash).await?;
        crate::features::closures::refuse_if_closed(state, &hash, &moved, outcome.last_position).await?;
    }
    current_view(state, code).await
}

/// Moves a caller's booking (they read out the code): the staff view of free times applies.
#[utoipa::path(post, path = "/api/desk/bookings/{code}/reschedule", tag = "staff", params(("code" = String, Path)),
    request_body = RescheduleRequest,
    responses((status = 200, body = BookingView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn reschedule_for_caller(
    State(state): State<AppState>,
    user: StaffUser,
    Idempotency(key): Idempotency,
    ApiPath(code): ApiPath<String>,
    ApiJson(req): ApiJson<RescheduleRequest>,
) -> Result<Json<BookingView>, ApiError> {
    move_booking(&state, &user.actor(), key, &code, &req, None).await
}

/// Cancels a caller's booking (they read out the code); recorded with the clerk as actor.
#[utoipa::path(delete, path = "/api/desk/bookings/{code}", tag = "staff", params(("code" = String, Path)),
    responses((status = 200, body = BookingView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn cancel_for_caller(
    State(state): State<AppState>,
    user: StaffUser,
    Idempotency(key): Idempotency,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<BookingView>, ApiError> {
    cancel_booking(&state, &user.actor(), key, &code, None).await
}

/// A caller's booking as the desk looks it up by the code they read out.
#[utoipa::path(get, path = "/api/desk/bookings/{code}", tag = "staff", params(("code" = String, Path)),
    responses((status = 200, body = BookingView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn view_for_caller(
    State(state): State<AppState>,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<BookingView>, ApiError> {
    current_view(&state, &code).await
}

/// The booking code as a QR code, for checking in at the kiosk's scanner.
#[utoipa::path(get, path = "/api/bookings/{code}/qr.svg", tag = "citizens", params(("code" = String, Path)),
    responses((status = 200, content_type = "image/svg+xml", body = String), (status = 404, body = ErrorBody)))]
pub async fn qr(State(state): State<AppState>, ApiPath(code): ApiPath<String>) -> Result<Response, ApiError> {
    load_booking(&state, &code).await?;
    let normalised = normalise_code(&code).ok_or(BookingError::UnknownBooking)?;
    qr_svg(&normalised)
}

/// `text` as a QR code in SVG, sized for print and screens.
pub fn qr_svg(text: &str) -> Result<Response, ApiError> {
    let svg = qrcode::QrCode::new(text.as_bytes())
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(148, 148)
        .quiet_zone(true)
        .build();
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "private, max-age=86400"),
        ],
        svg,
    )
        .into_response())
}

#[utoipa::path(get, path = "/api/bookings/{code}/calendar.ics", tag = "citizens", params(("code" = String, Path)),
    responses((status = 200, content_type = "text/calendar", body = String), (status = 404, body = ErrorBody)))]
pub async fn calendar(State(state): State<AppState>, ApiPath(code): ApiPath<String>) -> Result<Response, ApiError> {
    let (hash, booking) = load_booking(&state, &code).await?;
    let site = format!("{}/", state.public_url.trim_end_matches('/'));
    Ok((
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"termin.ics\""),
        ],
        ics::appointment(
            &state.catalogue(),
            &ics::Appointment {
                booking: &booking,
                code_hash: &hash,
                site: &site,
            },
            Utc::now(),
        ),
    )
        .into_response())
}

impl From<VaultError> for ApiError {
    fn from(e: VaultError) -> Self {
        match e {
            VaultError::Store(s) => s.into(),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

/// Erases the booking's personal data now, at the citizen's request (GDPR art. 17). An upcoming
/// appointment must be cancelled first: the office needs to know who is coming.
#[utoipa::path(delete, path = "/api/bookings/{code}/personal-data", tag = "citizens", params(("code" = String, Path)),
    responses((status = 200, body = BookingView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn erase_personal_data(
    State(state): State<AppState>,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<BookingView>, ApiError> {
    let (hash, booking) = load_booking(&state, &code).await?;
    if booking.status == Status::Confirmed && booking.end > Utc::now() {
        return Err(ApiError::Conflict {
            code: "booking_active",
            message: "cancel the appointment first, then ask again".into(),
        });
    }
    let erased = retention::erase(&state.executor, &state.vault, &hash, ErasureReason::Request, CITIZEN).await;
    erased.map_err(|e| match e {
        retention::PurgeError::Store(s) => ApiError::from(s),
        retention::PurgeError::Busy(b) => ApiError::from(b),
        other => ApiError::Internal(other.to_string()),
    })?;
    let (_, booking) = load_booking(&state, &code).await?;
    Ok(Json(view_of(&state, &booking, None, None)))
}
