//! The HTTP API's request and answer bodies, compiled into the server (which writes the answers
//! and reads the requests) and into the web app (which does the reverse), so the two cannot
//! drift apart. Kinds and states are the domain's enums; ids configured by an office (locations,
//! services, counters) are text.
//!
//! Times are [`LocalTime`]: RFC 3339 text with the office's offset. The server makes them from
//! chrono values and parses the ones it receives; the app only shows their parts, so phones need
//! no date parser.

use chrono::{DateTime, FixedOffset, TimeZone};
use serde::{Deserialize, Serialize};

use crate::booking::Status;
use crate::catalogue::Text;
use crate::queue::{Kind, SentAwayReason, State};
use crate::staff::{access::DeviceRole, Role};

/// A local time with its offset, e.g. `2026-12-02T09:00:00+01:00`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "utoipa", schema(value_type = String, format = DateTime, example = "2026-12-02T09:00:00+01:00"))]
pub struct LocalTime(String);

/// A [`LocalTime`] that is not an RFC 3339 time with an offset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a time with an offset, e.g. 2026-12-02T09:00:00+01:00")]
pub struct NotATime(pub String);

impl LocalTime {
    /// `t` as the office's clock shows it.
    pub fn at<Tz: TimeZone>(t: DateTime<Tz>) -> Self {
        LocalTime(t.fixed_offset().to_rfc3339())
    }

    pub fn parse(&self) -> Result<DateTime<FixedOffset>, NotATime> {
        DateTime::parse_from_rfc3339(&self.0).map_err(|_| NotATime(self.0.clone()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The local day, `YYYY-MM-DD`.
    pub fn day(&self) -> &str {
        self.0.get(..10).unwrap_or_default()
    }
}

impl From<String> for LocalTime {
    /// As received (a query parameter, a form): checked where it is [parsed](LocalTime::parse).
    fn from(text: String) -> Self {
        LocalTime(text)
    }
}

// ---- errors --------------------------------------------------------------------------------

/// Every refusal: `{"error": "<stable code>", "message": "<human text>", "field": …}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// Stable, machine-readable code, e.g. `slot_taken`.
    pub error: String,
    pub message: String,
    /// The request field that is wrong, where one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// How many things the refusal is about, where it counts them (`bookings_affected`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
}

// ---- bookings ------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct SlotView {
    pub start: LocalTime,
    pub end: LocalTime,
    /// Appointments still free at this time.
    pub free: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Availability {
    pub location: String,
    pub service: String,
    pub duration_minutes: u32,
    pub slots: Vec<SlotView>,
}

/// A proof-of-work challenge for one booking: the app solves it in the background.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Challenge {
    pub challenge: String,
    pub difficulty: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Proof {
    pub challenge: String,
    /// A number such that SHA-256(`challenge:nonce`) starts with `difficulty` zero bits.
    pub nonce: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct BookingRequest {
    pub location: String,
    pub service: String,
    /// A slot start from `/api/availability`.
    pub start: LocalTime,
    pub name: String,
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// The citizen has read the privacy notice.
    pub privacy_accepted: bool,
    /// Answer to `GET /api/bookings/challenge` (required unless abuse protection is off).
    #[serde(default)]
    pub proof: Option<Proof>,
}

/// How a caller reached the office when the desk books for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub enum CallerChannel {
    /// On the phone (the 115 line, the office's number).
    Phone,
    /// In person at the counter.
    Desk,
}

/// A booking the desk makes for a caller who has no internet: the name, and an email address
/// or mobile number only where the caller gives one (then the usual messages go there).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct CallerBookingRequest {
    pub location: String,
    pub service: String,
    pub start: LocalTime,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    pub channel: CallerChannel,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct BookingView {
    /// The citizen's key to this booking; only in the answer that created it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Five digits that check the booking in at the kiosk on its day, instead of the code; for
    /// whoever looks the booking up with its code, while it is still to come.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_in_number: Option<String>,
    pub status: Status,
    pub location: String,
    pub location_name: Text,
    pub address: String,
    pub service: String,
    pub service_name: Text,
    pub documents: Vec<Text>,
    pub fee: Text,
    pub start: LocalTime,
    pub end: LocalTime,
    /// Empty once the personal data is erased.
    pub name: String,
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// True once the data key is destroyed (retention over, or at the citizen's request).
    pub personal_data_erased: bool,
    /// While `pending`: until when the citizen can confirm (the link in the email).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirm_by: Option<LocalTime>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct RescheduleRequest {
    pub start: LocalTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ConfirmRequest {
    /// From the link in the email (`?bestaetigen=`).
    pub token: String,
}

// ---- tickets and counters ------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct TicketRequest {
    pub service: String,
    /// For an SMS when the turn is near (only where an SMS gateway is configured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// The tracking code of the application being collected (pick-up services only): the
    /// ticket is issued only for a document ready here, and the hand-over closes the case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct CheckInRequest {
    /// The booking code, typed or scanned from the QR code.
    pub code: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct TicketIssued {
    /// For the desk's actions: `POST /api/tickets/{id}/{action}`.
    pub id: String,
    /// What the hall screen will call, e.g. `A-017`.
    pub number: String,
    /// Secret for the ticket's status page `/ticket/{token}`.
    pub token: String,
    pub location: String,
    pub service: String,
    pub issued_at: LocalTime,
    /// Whether an SMS will announce the turn.
    pub notify: bool,
}

/// A ticket at a counter, or the one a desk action concerns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct CalledTicket {
    pub id: String,
    pub number: String,
    pub service: String,
    /// The counter's display name, as the hall screen shows it.
    pub counter: String,
    pub kind: Kind,
    pub state: State,
    /// The appointment time, for checked-in bookings: what the clerk prepares for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appointment: Option<LocalTime>,
}

/// The body of `transfer` (other actions send none).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ActionRequest {
    /// For `transfer`: the service the ticket moves to (it keeps its place in the line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct SentAwayRequest {
    pub reason: SentAwayReason,
}

/// A ticket's position and expected wait, for its holder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct TicketStatus {
    pub number: String,
    pub service: String,
    pub state: State,
    /// People who will be called before this ticket (while it waits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ahead: Option<usize>,
    /// Expected wait in minutes as `[from, to]`: a range, never a promise; none while no
    /// counter serving it is open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimate_minutes: Option<[u32; 2]>,
    /// The counter to go to, once called.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counter: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct CounterView {
    pub id: String,
    /// What the hall screen shows, e.g. `3`.
    pub name: String,
    pub services: Vec<String>,
    pub open: bool,
    /// The ticket being called or served here now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<CalledTicket>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct WaitingTicket {
    pub id: String,
    pub number: String,
    pub service: String,
    pub kind: Kind,
    /// Minutes since it joined the line (issue, check-in, or parking).
    pub waiting_minutes: i64,
    /// The appointment time, for checked-in bookings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appointment: Option<LocalTime>,
    /// Set aside by a clerk and back in the line (its waiting time counts from then).
    #[serde(default)]
    pub parked: bool,
}

/// Today's line at a location for the desk: only what the clerk needs, no names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct WaitingLine {
    /// In the order the call policy will call them (across all services).
    pub waiting: Vec<WaitingTicket>,
    /// Called or being served now.
    pub active: Vec<CalledTicket>,
    pub finished: usize,
    pub no_shows: usize,
}

// ---- the hall screen's stream --------------------------------------------------------------

/// A `call` event: a ticket called to a counter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct CallView {
    pub number: String,
    /// The counter's display name.
    pub counter: String,
    pub at: LocalTime,
    /// Called again (the citizen did not come at the first call).
    pub recall: bool,
    /// Someone collecting a finished document: the screen marks it.
    #[serde(default)]
    pub pick_up: bool,
}

/// One service's line as the hall screen shows it (a `waiting` event is a list of these).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct WaitingGroup {
    pub service: String,
    pub name: Text,
    pub waiting: usize,
    /// Expected wait in minutes for someone joining now, `[from, to]`; none while no counter
    /// serving it is open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimate_minutes: Option<[u32; 2]>,
}

/// The `snapshot` event a screen gets when it connects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Snapshot {
    pub location: Text,
    /// Newest first.
    pub calls: Vec<CallView>,
    pub waiting: Vec<WaitingGroup>,
}

// ---- staff and devices ---------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// The signed-in staff member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Me {
    pub username: String,
    pub role: Role,
}

/// The paired device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct DeviceMe {
    pub id: String,
    pub location: String,
    pub role: DeviceRole,
}

// ---- the demo outbox -----------------------------------------------------------------------

/// How a message would have gone out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub enum MessageChannel {
    Mail,
    Sms,
}

/// A message the demo would have sent (demo mode only, for the admins' outbox viewer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct OutboxMessage {
    pub id: String,
    pub channel: MessageChannel,
    /// When it would have been sent, on the office's clock.
    pub at: LocalTime,
    /// The email address or phone number.
    pub to: String,
    /// Empty for text messages.
    pub subject: String,
    pub text: String,
    /// Whether a calendar file is attached (`…/calendar.ics`).
    pub calendar: bool,
}

// ---- closures ------------------------------------------------------------------------------

/// What becomes of the bookings a closure meets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub enum BookingsChoice {
    /// They stay (served over capacity, or the office calls the citizens itself).
    Keep,
    /// Each is cancelled and its citizen sent `message` with a link to book again.
    Cancel,
}

/// Closing a location from `from` (at `from_time`, else all day) until `to` (until
/// `until_time`, else all day), local time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "utoipa", schema(example = json!({
    "from": "2026-12-09", "to": "2026-12-09", "from_time": "13:00",
    "reason": {"de": "Krankheit", "en": "Illness"},
    "bookings": "cancel", "message": "Das Bürgerbüro bleibt heute Nachmittag geschlossen."
})))]
pub struct ClosureRequest {
    #[cfg_attr(feature = "utoipa", schema(value_type = String, format = Date))]
    pub from: chrono::NaiveDate,
    #[cfg_attr(feature = "utoipa", schema(value_type = String, format = Date))]
    pub to: chrono::NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>))]
    pub from_time: Option<chrono::NaiveTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>))]
    pub until_time: Option<chrono::NaiveTime>,
    /// Shown to citizens where the days would be.
    pub reason: Text,
    /// Needed when the closure meets booked appointments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bookings: Option<BookingsChoice>,
    /// The text each citizen whose booking is cancelled is sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// A booked appointment a closure would meet: no name, no contact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct AffectedBooking {
    pub start: LocalTime,
    pub service: String,
    pub service_name: Text,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
/// The booked appointments a change would take places from (closure, shorter hours, lower
/// capacity, a withdrawn service).
pub struct Impact {
    pub bookings: Vec<AffectedBooking>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
/// What became of the booked appointments a change met.
pub struct BookingsDone {
    /// Bookings cancelled, their citizens told.
    pub cancelled: u32,
    /// Bookings kept.
    pub kept: u32,
}

// ---- operations ----------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Health {
    /// `ok` when the event store answers.
    pub status: String,
    /// `sqlite` or `postgres`.
    pub store: String,
    pub version: String,
    /// Position of the last event in the log.
    pub head: i64,
    /// Whether text messages can be sent (walk-ins may then leave a phone number).
    pub sms: bool,
}

/// A process that runs and answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Liveness {
    /// `live`.
    pub status: String,
    pub version: String,
}

/// A server that may take requests: the store answers and the projections are up to date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Readiness {
    /// `ready`.
    pub status: String,
    /// Position of the last event in the log.
    pub head: i64,
    /// Position up to which this server's read models have applied the log.
    pub applied: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    #[test]
    fn a_local_time_is_written_with_the_offices_offset_and_read_back() {
        let tz: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
        let winter = Utc.with_ymd_and_hms(2026, 12, 2, 8, 0, 0).unwrap().with_timezone(&tz);
        let summer = Utc.with_ymd_and_hms(2026, 7, 2, 7, 0, 0).unwrap().with_timezone(&tz);
        assert_eq!(LocalTime::at(winter).as_str(), "2026-12-02T09:00:00+01:00");
        assert_eq!(LocalTime::at(summer).as_str(), "2026-07-02T09:00:00+02:00");
        assert_eq!(LocalTime::at(winter).day(), "2026-12-02");
        assert_eq!(LocalTime::at(winter).parse().unwrap(), winter.fixed_offset());
    }

    #[test]
    fn text_that_is_not_a_time_is_refused_when_parsed() {
        for bad in [
            "tomorrow at nine",
            "2026-13-45T99:00:00+01:00",
            "2026-12-02T09:00:00",
            "",
        ] {
            assert_eq!(
                LocalTime::from(bad.to_owned()).parse(),
                Err(NotATime(bad.to_owned())),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_local_time_is_plain_text_on_the_wire() {
        let t = LocalTime::from("2026-12-02T09:00:00+01:00".to_owned());
        assert_eq!(serde_json::to_string(&t).unwrap(), "\"2026-12-02T09:00:00+01:00\"");
        let back: LocalTime = serde_json::from_str("\"2026-12-02T09:00:00+01:00\"").unwrap();
        assert_eq!(back, t);
    }

    #[test]
    fn kinds_and_states_travel_as_their_lower_case_names() {
        let ticket = CalledTicket {
            id: "bb-20261202-A-001".into(),
            number: "A-001".into(),
            service: "pass".into(),
            counter: "3".into(),
            kind: Kind::WalkIn,
            state: State::InService,
            appointment: None,
        };
        let json = serde_json::to_value(&ticket).unwrap();
        assert_eq!(
            (json["kind"].as_str(), json["state"].as_str()),
            (Some("walkin"), Some("in-service"))
        );
        assert!(json.get("appointment").is_none(), "absent, not null: {json}");
        assert_eq!(serde_json::from_value::<CalledTicket>(json).unwrap(), ticket);
    }
}

/// A location's opening hours and booking rules as an admin sets them; the time zone is the
/// location's and closures are added on their own (`…/closures`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "utoipa", schema(example = json!({
    "unit_minutes": 10, "region": "rhineland-palatinate",
    "opening": [{"weekday": 1, "open": "08:00", "close": "12:30", "online_capacity": 3}],
    "booking_window_days": 60, "min_lead_minutes": 60, "max_active_per_email": 2
})))]
pub struct ScheduleRequest {
    /// Length of one unit of the day's grid: 5, 6, 10, 12, 15, 20, 30 or 60 minutes.
    pub unit_minutes: u32,
    /// Whose public holidays close the office.
    pub region: crate::calendar::Region,
    /// Opening periods; a break is two periods on one weekday.
    pub opening: Vec<OpeningHours>,
    /// How many days ahead citizens may book (today is day 0).
    pub booking_window_days: u32,
    /// Minimum notice before an appointment starts.
    pub min_lead_minutes: u32,
    /// Appointments one email address may hold at once.
    pub max_active_per_email: u32,
    /// If set, a booking holds its place this long until confirmed through the emailed link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirm_within_minutes: Option<u32>,
    /// The local time the newest day of the window opens for online booking (e.g. `07:00`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>, example = "07:00"))]
    pub release_time: Option<chrono::NaiveTime>,
    /// The nearest days (today is day 0) only staff book, for callers and at the counter.
    #[serde(default)]
    pub staff_only_days: u32,
    /// If set, an email that missed this many appointments within `no_show_days` (not
    /// cancelled, not arrived, or marked no-show) confirms its next online booking by email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirm_after_no_shows: Option<u32>,
    /// The days the no-show rule looks back on; unset: 90.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_show_days: Option<u32>,
    /// Minutes (0–60) a freed place stays hidden from online booking before it is public
    /// again, at a moment between one and two such spans nobody can predict; 0: at once.
    #[serde(default)]
    pub release_hold_minutes: u32,
    /// If set, an appointment booked more than this many days ahead is asked to be confirmed
    /// again `reconfirm_days_before` days before it, and released unless confirmed a day
    /// before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconfirm_booked_days_ahead: Option<u32>,
    /// When the reconfirmation is asked; unset: 3 days before the appointment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconfirm_days_before: Option<u32>,
    /// Needed when the new hours or capacity leave booked appointments without a place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bookings: Option<BookingsChoice>,
    /// The text each citizen whose booking is cancelled is sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Withdrawing a service: it is no longer offered anywhere.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct WithdrawRequest {
    /// Needed when appointments for it are booked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bookings: Option<BookingsChoice>,
    /// The text each citizen whose booking is cancelled is sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct OpeningHours {
    /// ISO weekday: 1 = Monday … 7 = Sunday.
    pub weekday: u8,
    #[cfg_attr(feature = "utoipa", schema(value_type = String, example = "08:00"))]
    pub open: chrono::NaiveTime,
    #[cfg_attr(feature = "utoipa", schema(value_type = String, example = "12:30"))]
    pub close: chrono::NaiveTime,
    /// Appointments per unit of time citizens book online.
    pub online_capacity: u32,
    /// More appointments per unit only staff book (phone, counter); online and staff together
    /// are at most the location's counters, the rest is the walk-in reserve.
    #[serde(default)]
    pub staff_capacity: u32,
    /// The first day the period holds, e.g. new hours from 1 January; unset: always has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>, format = Date))]
    pub valid_from: Option<chrono::NaiveDate>,
    /// The last day the period holds; unset: until changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>, format = Date))]
    pub valid_until: Option<chrono::NaiveDate>,
}

impl ScheduleRequest {
    /// The schedule it sets; zone and closures are filled in from the location.
    pub fn to_schedule(&self) -> crate::slots::Schedule {
        crate::slots::Schedule {
            time_zone: String::new(),
            unit_minutes: self.unit_minutes,
            region: self.region,
            opening: self
                .opening
                .iter()
                .map(|o| crate::slots::OpeningPeriod {
                    weekday: o.weekday,
                    open: o.open,
                    close: o.close,
                    online_capacity: o.online_capacity,
                    staff_capacity: o.staff_capacity,
                    valid_from: o.valid_from,
                    valid_until: o.valid_until,
                })
                .collect(),
            closures: Vec::new(),
            booking_window_days: self.booking_window_days,
            min_lead_minutes: self.min_lead_minutes,
            max_active_per_email: self.max_active_per_email,
            confirm_within_minutes: self.confirm_within_minutes,
            release_time: self.release_time,
            staff_only_days: self.staff_only_days,
            no_show_rule: self.confirm_after_no_shows.map(|after| crate::attendance::NoShowRule {
                after,
                within_days: self.no_show_days.unwrap_or(crate::attendance::DEFAULT_PERIOD_DAYS),
            }),
            release_hold_minutes: self.release_hold_minutes,
            reconfirm: self
                .reconfirm_booked_days_ahead
                .map(|ahead| crate::booking::ReconfirmRule {
                    booked_days_ahead: ahead,
                    days_before: self
                        .reconfirm_days_before
                        .unwrap_or(crate::booking::DEFAULT_RECONFIRM_DAYS_BEFORE),
                }),
        }
    }

    pub fn of(s: &crate::slots::Schedule) -> ScheduleRequest {
        ScheduleRequest {
            unit_minutes: s.unit_minutes,
            region: s.region,
            opening: s
                .opening
                .iter()
                .map(|o| OpeningHours {
                    weekday: o.weekday,
                    open: o.open,
                    close: o.close,
                    online_capacity: o.online_capacity,
                    staff_capacity: o.staff_capacity,
                    valid_from: o.valid_from,
                    valid_until: o.valid_until,
                })
                .collect(),
            booking_window_days: s.booking_window_days,
            min_lead_minutes: s.min_lead_minutes,
            max_active_per_email: s.max_active_per_email,
            confirm_within_minutes: s.confirm_within_minutes,
            release_time: s.release_time,
            staff_only_days: s.staff_only_days,
            confirm_after_no_shows: s.no_show_rule.map(|r| r.after),
            no_show_days: s.no_show_rule.map(|r| r.within_days),
            release_hold_minutes: s.release_hold_minutes,
            reconfirm_booked_days_ahead: s.reconfirm.map(|r| r.booked_days_ahead),
            reconfirm_days_before: s.reconfirm.map(|r| r.days_before),
            bookings: None,
            message: None,
        }
    }
}

/// A location as the admin page shows it: with its hours, closures and how many counters it has.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct LocationSetup {
    pub location: crate::catalogue::Location,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ScheduleRequest>,
    pub closures: Vec<crate::slots::Closure>,
    pub counters: u32,
}

/// Everything an admin edits: locations with their hours, services (also those not bookable
/// online) and counters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct OfficeSetup {
    pub locations: Vec<LocationSetup>,
    pub services: Vec<crate::catalogue::Service>,
    pub counters: Vec<crate::catalogue::Counter>,
    /// Every kind of application followed, built-in and the office's own.
    #[serde(default)]
    pub case_kinds: Vec<crate::catalogue::CaseKind>,
}

impl OfficeSetup {
    pub fn of(c: &crate::catalogue::Catalogue) -> OfficeSetup {
        OfficeSetup {
            locations: c
                .locations
                .values()
                .map(|l| LocationSetup {
                    location: l.clone(),
                    schedule: c.schedules.get(&l.id).map(ScheduleRequest::of),
                    closures: c.schedules.get(&l.id).map(|s| s.closures.clone()).unwrap_or_default(),
                    counters: crate::administration::counters_at(c, &l.id),
                })
                .collect(),
            services: c.services.values().cloned().collect(),
            counters: c.counters.values().cloned().collect(),
            case_kinds: c.case_kinds(),
        }
    }

    /// The catalogue it shows, for checking an edit with the server's rules while it is typed.
    pub fn to_catalogue(&self) -> crate::catalogue::Catalogue {
        let mut c = crate::catalogue::Catalogue::default();
        for l in &self.locations {
            c.locations.insert(l.location.id.clone(), l.location.clone());
            if let Some(s) = &l.schedule {
                let mut schedule = s.to_schedule();
                schedule.time_zone = l.location.time_zone.clone();
                schedule.closures = l.closures.clone();
                c.schedules.insert(l.location.id.clone(), schedule);
            }
        }
        for s in &self.services {
            c.services.insert(s.id.clone(), s.clone());
        }
        for k in &self.counters {
            c.counters.insert(k.id.clone(), k.clone());
        }
        c
    }
}

#[cfg(test)]
mod setup_tests {
    use super::OfficeSetup;

    #[test]
    fn the_setup_shows_the_whole_catalogue() {
        let mut demo = crate::catalogue::demo();
        demo.municipality = None;
        let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 24).unwrap();
        demo.apply(&crate::catalogue::CatalogueEvent::ClosureAdded {
            location: "buergerbuero".into(),
            closure: crate::slots::Closure::days(day, day, crate::catalogue::Text::new("Heiligabend", "")),
        });
        assert_eq!(OfficeSetup::of(&demo).to_catalogue(), demo);
    }
}

/// One appointment on the desk's list of the day: no name until a clerk asks for the contact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct DayEntry {
    /// Names the entry for `…/contact`.
    pub id: String,
    pub start: LocalTime,
    pub end: LocalTime,
    pub service: String,
    pub service_name: Text,
    pub channel: crate::booking::Channel,
    pub state: crate::booking::DayState,
    /// The ticket number once checked in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
}

/// A booking's contact details, shown on a clerk's explicit request (recorded).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ContactView {
    pub name: String,
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// A staff account as admins see it (never a password hash).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct UserView {
    pub username: String,
    #[cfg_attr(feature = "utoipa", schema(value_type = String, example = "desk"))]
    pub role: Role,
    /// False once deactivated: sign-in refused, sessions ended.
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct NewUser {
    /// 2 to 40 of a–z, 0–9, `.`, `-`, `_`.
    #[cfg_attr(feature = "utoipa", schema(pattern = "^[a-z0-9._-]{2,40}$"))]
    pub username: String,
    /// Checked by the server rather than by the JSON reader, so a wrong one is named
    /// (`unknown_role`).
    #[cfg_attr(feature = "utoipa", schema(value_type = Role))]
    pub role: String,
    /// At least 10 characters.
    #[cfg_attr(feature = "utoipa", schema(min_length = 10))]
    pub password: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct NewPassword {
    /// At least 10 characters.
    #[cfg_attr(feature = "utoipa", schema(min_length = 10))]
    pub password: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct DeviceView {
    pub id: String,
    pub location: String,
    #[cfg_attr(feature = "utoipa", schema(value_type = String, example = "display"))]
    pub role: DeviceRole,
    pub revoked: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct NewDevice {
    pub location: String,
    /// Checked by the server rather than by the JSON reader, so a wrong one is named
    /// (`unknown_role`).
    #[cfg_attr(feature = "utoipa", schema(value_type = DeviceRole))]
    pub role: String,
}

/// A new device's token, shown only now (the server keeps a hash).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct DeviceAdded {
    pub id: String,
    pub token: String,
    /// The pairing address on this site: open it once on the device (`/kiosk/{location}?token=…`
    /// or `/display/{location}?token=…`); the device remembers the token.
    pub path: String,
}

/// Opening a case for what was applied for at the end of a visit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "utoipa", schema(example = json!({
    "kind": "personalausweis", "location": "buergerbuero", "expected_ready": "2026-12-22",
    "reference": "PA-2026-4711", "email": "erika@example.org", "language": "de"
})))]
pub struct CaseRequest {
    /// `personalausweis`, `reisepass`, `fuehrerschein`, `fahrzeugpapiere` or a kind the office
    /// defined (`GET /api/case-kinds`).
    pub kind: String,
    pub location: String,
    #[cfg_attr(feature = "utoipa", schema(value_type = String, format = Date))]
    pub expected_ready: chrono::NaiveDate,
    /// The specialist procedure's number for the application, which its imports name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Where "ready" is sent; empty when the citizen only keeps the code.
    #[serde(default)]
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// `de` (the default) or `en`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

/// A case just opened: its tracking code, shown and printed once, and how it stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct CaseOpened {
    pub code: String,
    pub case: CaseView,
}

/// An application as the citizen follows it: no name, no contact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct CaseView {
    pub kind: String,
    pub kind_name: crate::catalogue::Text,
    pub location: String,
    pub location_name: crate::catalogue::Text,
    #[cfg_attr(feature = "utoipa", schema(value_type = String, format = Date))]
    pub expected_ready: chrono::NaiveDate,
    pub step: crate::case::Step,
    /// Every step reached, oldest first, the first one the application itself.
    pub history: Vec<CaseMilestone>,
    /// How to collect it, while it is ready and the office has a pick-up service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pick_up: Option<PickUpWay>,
    /// A reminder before the new document expires, offered once it is ready or collected and
    /// where its kind expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewal: Option<RenewalOffer>,
}

/// The renewal reminder a citizen may leave for a collected document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct RenewalOffer {
    /// How many weeks before expiry the reminder goes.
    pub remind_weeks: u32,
    /// The reminder set and still to go; none before one is left, or once it went out or was
    /// withdrawn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminder: Option<RenewalView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct RenewalView {
    #[cfg_attr(feature = "utoipa", schema(value_type = String, format = Date))]
    pub expires_on: chrono::NaiveDate,
    #[cfg_attr(feature = "utoipa", schema(value_type = String, format = Date))]
    pub remind_on: chrono::NaiveDate,
}

/// Leaving a renewal reminder: the new document's expiry date and where to write (an email
/// address, or a mobile number where the office sends text messages).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "utoipa", schema(example = json!({
    "expires_on": "2036-11-30", "email": "erika@example.org", "language": "de"
})))]
pub struct RenewalRequest {
    #[cfg_attr(feature = "utoipa", schema(value_type = String, format = Date))]
    pub expires_on: chrono::NaiveDate,
    #[serde(default)]
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// `de` (the default) or `en`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

/// How a ready document is collected at its office.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct PickUpWay {
    /// The pick-up service, for booking a pick-up time (`/?service=…&location=…`).
    pub service: String,
    /// A pick-up time can be booked online.
    pub bookable_online: bool,
    /// A pick-up ticket can be drawn at the kiosk with the tracking code.
    pub kiosk: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct CaseMilestone {
    pub step: crate::case::Step,
    pub at: LocalTime,
}

/// Moving a case on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct StepRequest {
    pub step: crate::case::Step,
}

/// A specialist procedure reports where one of its applications stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "utoipa", schema(example = json!({"reference": "PA-2026-4711", "step": "ready"})))]
pub struct ImportedStep {
    /// The procedure's number for the application, as given when the case was opened.
    pub reference: String,
    pub step: crate::case::Step,
}

/// What an imported step did: `changed` is false when the case already stood there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ImportOutcome {
    pub reference: String,
    pub step: crate::case::Step,
    pub changed: bool,
}

/// What a CSV file of steps did, row by row: each row is imported on its own, so one wrong
/// row does not hold back the others.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct StepFileOutcome {
    pub changed: usize,
    /// Rows naming the step the application already had.
    pub unchanged: usize,
    pub refused: Vec<RefusedRow>,
}

/// A row of a CSV file that was not imported, and why (the code a single import would answer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct RefusedRow {
    /// The file's line, the header being line 1.
    pub line: usize,
    pub reference: String,
    pub error: String,
    pub message: String,
}

/// A case past its expected date with no news since: what admins chase (no name, no code).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct OverdueCase {
    pub kind: String,
    pub kind_name: crate::catalogue::Text,
    pub location: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[cfg_attr(feature = "utoipa", schema(value_type = String, format = Date))]
    pub expected_ready: chrono::NaiveDate,
    pub step: crate::case::Step,
    /// When the case last moved.
    pub updated_at: LocalTime,
}

/// A specialist procedure that has sent no import for longer than a weekend and a holiday
/// (R9.6: a transfer that stopped): the device admins check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct SilentProcedure {
    /// The device id of its key.
    pub device: String,
    pub location: String,
    /// Its last import, or its registration when it never sent one.
    pub heard_at: LocalTime,
    pub never_imported: bool,
}
