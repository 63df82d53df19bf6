//! The queue's writes: issue a walk-in ticket, check an appointment in, call the next ticket to
//! a counter, act on a called ticket, open or close a counter. The rules are in
//! `schalter_events::queue`; these load what the rules need.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use schalter_events::api::TicketRequest;
use schalter_events::booking::{self, Personal};
use schalter_events::case::{self, CaseError};
use schalter_events::catalogue::Counter;
use schalter_events::event::Decision;
use schalter_events::queue::{self, Kind, NumberEvent, Ticket};

use crate::engine::codes::case_hash;
use crate::engine::executor::{Attempt, Command, Decided};
use crate::engine::state::AppState;
use crate::engine::streams;
use crate::engine::vault::PersonalData;
use crate::features::bookings::{check_in_number, load_booking, load_by_hash, normalise_check_in_number};
use crate::http::abuse::CHECK_IN_NUMBER_MISSES;
use crate::http::error::ApiError;

/// Appointment tickets share one prefix, so the hall sees who came with an appointment.
pub const APPOINTMENT_PREFIX: &str = "T";

/// When and on which local day a ticket was issued, and for what.
pub struct Issued {
    pub day: NaiveDate,
    pub at: DateTime<Utc>,
    pub prefix: String,
    pub service: String,
    /// Whether a text message will announce the turn.
    pub notify: bool,
}

/// A walk-in ticket. Its number is the version its numbers stream reaches: issuing never
/// conflicts.
pub struct IssueTicket<'a> {
    state: &'a AppState,
    location: String,
    tz: Tz,
    token_hash: String,
    request: TicketRequest,
    prefix: String,
    /// The sealed phone number for "your turn is near".
    contact: Option<Personal>,
    kind: Kind,
    /// The tracking hash of the application a pick-up ticket collects.
    case: Option<String>,
}

impl<'a> IssueTicket<'a> {
    pub fn new(state: &'a AppState, location: String, tz: Tz, token_hash: String, request: TicketRequest) -> Self {
        IssueTicket {
            state,
            location,
            tz,
            token_hash,
            request,
            prefix: String::new(),
            contact: None,
            kind: Kind::WalkIn,
            case: None,
        }
    }
}

impl Command for IssueTicket<'_> {
    type Output = Issued;
    type Error = ApiError;

    /// The service must take walk-ins here; a phone number only where texts can be sent.
    async fn admit(&mut self) -> Result<(), ApiError> {
        self.prefix = {
            let catalogue = self.state.catalogue();
            let service = catalogue
                .services
                .get(&self.request.service)
                .filter(|s| s.locations.contains(&self.location))
                .ok_or_else(not_offered)?;
            if !service.walk_in {
                return Err(ApiError::invalid(
                    "no_walk_in",
                    Some("service"),
                    "this service needs an appointment or is done online",
                ));
            }
            if service.pick_up {
                self.kind = Kind::PickUp;
            }
            service.ticket_prefix.clone()
        };
        if let Some(code) = self.request.case.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            if self.kind != Kind::PickUp {
                return Err(ApiError::invalid(
                    "not_a_pick_up",
                    Some("case"),
                    "a tracking code goes with the service for collecting documents",
                ));
            }
            // A hand scanner reading the receipt's QR code types the whole tracking link.
            let code = code.rsplit('/').next().unwrap_or(code);
            self.case = Some(case_hash(code).ok_or(CaseError::UnknownCase)?);
        }
        let phone = self.request.phone.as_deref().map(str::trim).filter(|p| !p.is_empty());
        let Some(phone) = phone else { return Ok(()) };
        if !self.state.sms {
            return Err(ApiError::invalid(
                "sms_unavailable",
                Some("phone"),
                "this office sends no text messages",
            ));
        }
        let phone = booking::normalise_phone(phone).ok_or_else(|| {
            ApiError::invalid(
                "invalid_phone",
                Some("phone"),
                "please enter a mobile number or leave it empty",
            )
        })?;
        let data = PersonalData {
            name: String::new(),
            email: String::new(),
            phone: Some(phone),
            code: None,
        };
        self.contact = Some(self.state.vault.seal(&data).await?);
        Ok(())
    }

    /// A pick-up ticket looks for one already in today's line for the same application.
    fn reads_projections(&self) -> bool {
        self.case.is_some()
    }

    async fn decide(&mut self, attempt: &Attempt<'_>) -> Result<Decided<Issued>, ApiError> {
        self.office_open(attempt.now)?;
        let day = attempt.now.with_timezone(&self.tz).date_naive();
        let ticket = NumberEvent::TicketIssued {
            service: self.request.service.clone(),
            kind: self.kind,
            slot_start: None,
            token_hash: self.token_hash.clone(),
            issued_at: attempt.now,
            contact: self.contact.clone(),
            booking: None,
            case: self.case.clone(),
        };
        let mut decision = queue::issue(&self.location, day, &self.prefix, &ticket);
        if let Some(hash) = &self.case {
            decision = decision.and(self.ready_for_pick_up(hash, day).await?);
        }
        let issued = Issued {
            day,
            at: attempt.now,
            prefix: self.prefix.clone(),
            service: self.request.service.clone(),
            notify: self.contact.is_some(),
        };
        Ok(Decided::append(decision, issued))
    }
}

impl IssueTicket<'_> {
    /// The application is ready here and nobody holds a ticket for it yet today: a second
    /// press at the kiosk must not put the same person in the line twice.
    async fn ready_for_pick_up(&self, hash: &str, day: NaiveDate) -> Result<Decision, ApiError> {
        let case = streams::case(&self.state.store, hash)
            .await?
            .ok_or(CaseError::UnknownCase)?;
        let expectation = case::draw_pick_up(&case, hash, &self.location)?;
        let in_line = self.state.queues().tickets(&self.location, day).iter().any(|t| {
            t.case.as_deref() == Some(hash)
                && matches!(
                    t.state,
                    queue::State::Waiting | queue::State::Called | queue::State::InService
                )
        });
        if in_line {
            return Err(ApiError::Conflict {
                code: "already_in_line",
                message: "a ticket for this application is already in today's line".into(),
            });
        }
        Ok(expectation)
    }

    /// Walk-in tickets only while the office is open (`Schedule::takes_walk_ins`), unless this
    /// server hands them out at any hour (demo, tests).
    fn office_open(&self, now: DateTime<Utc>) -> Result<(), ApiError> {
        if self.state.walk_ins_any_hour {
            return Ok(());
        }
        let catalogue = self.state.catalogue();
        let open = catalogue
            .schedules
            .get(&self.location)
            .is_some_and(|s| s.takes_walk_ins(now).unwrap_or(false));
        if open {
            return Ok(());
        }
        Err(ApiError::Conflict {
            code: "office_closed",
            message: format!(
                "the office is closed: tickets are handed out from {} minutes before opening until closing time",
                schalter_events::slots::TICKETS_BEFORE_OPENING_MINUTES
            ),
        })
    }
}

/// A ticket as this server's projection has it now; 404 for one it does not know.
pub(super) fn current_ticket(
    state: &AppState,
    location: &str,
    day: NaiveDate,
    label: &str,
) -> Result<Ticket, ApiError> {
    state
        .queues()
        .ticket(location, day, label)
        .ok_or_else(|| ApiError::NotFound(format!("there is no ticket {label:?}")))
}

fn not_offered() -> ApiError {
    ApiError::invalid(
        "unknown_service",
        Some("service"),
        "this location does not offer this service",
    )
}

/// Checks an appointment in: the booking is marked and an appointment ticket issued together.
/// `code` is the booking code, or the five-digit check-in number on the appointment's day.
pub struct CheckIn<'a> {
    pub state: &'a AppState,
    pub location: String,
    pub tz: Tz,
    pub code: String,
    pub token_hash: String,
    /// The kiosk or clerk asking, whose mistyped numbers are counted.
    pub issuer: String,
    /// The booking a check-in number stands for.
    resolved: Option<String>,
}

impl<'a> CheckIn<'a> {
    pub fn new(
        state: &'a AppState,
        location: String,
        tz: Tz,
        code: String,
        token_hash: String,
        issuer: String,
    ) -> Self {
        CheckIn {
            state,
            location,
            tz,
            code,
            token_hash,
            issuer,
            resolved: None,
        }
    }

    /// The booking a check-in number stands for: among this office's bookings due within the
    /// check-in window, the one whose number it is. 404 for none, 409 `ambiguous_number` when
    /// two share it (the citizen then types the code).
    fn resolve_number(&self, number: &str, now: DateTime<Utc>) -> Result<String, ApiError> {
        let key = format!("check-in-number:{}", self.issuer);
        self.state.abuse.exhausted(&key, CHECK_IN_NUMBER_MISSES)?;
        let window = (
            now - chrono::Duration::minutes(booking::CHECK_IN_LATE_MINUTES),
            now + chrono::Duration::minutes(booking::CHECK_IN_EARLY_MINUTES),
        );
        let due = self.state.taken().arriving(&self.location, window.0, window.1);
        let matching: Vec<String> = due
            .into_iter()
            .filter_map(|stream| stream.strip_prefix("booking-").map(str::to_owned))
            .filter(|hash| check_in_number(hash) == number)
            .collect();
        match matching.as_slice() {
            [hash] => Ok(hash.clone()),
            [] => {
                self.state.abuse.check(&key, CHECK_IN_NUMBER_MISSES)?;
                Err(ApiError::NotFound(
                    "no appointment with this number is due here now".into(),
                ))
            }
            _ => Err(ApiError::Conflict {
                code: "ambiguous_number",
                message: "two appointments share this number now; please type the booking code".into(),
            }),
        }
    }
}

impl Command for CheckIn<'_> {
    type Output = Issued;
    type Error = ApiError;

    async fn admit(&mut self) -> Result<(), ApiError> {
        if let Some(number) = normalise_check_in_number(&self.code) {
            self.resolved = Some(self.resolve_number(&number, Utc::now())?);
        }
        Ok(())
    }

    async fn decide(&mut self, attempt: &Attempt<'_>) -> Result<Decided<Issued>, ApiError> {
        let (code_hash, booking) = match &self.resolved {
            Some(hash) => load_by_hash(self.state, hash.clone()).await?,
            None => load_booking(self.state, &self.code).await?,
        };
        let day = attempt.now.with_timezone(&self.tz).date_naive();
        let ticket = NumberEvent::TicketIssued {
            service: booking.service.clone(),
            kind: Kind::Appointment,
            slot_start: Some(booking.start),
            token_hash: self.token_hash.clone(),
            issued_at: attempt.now,
            contact: None,
            booking: Some(booking::stream(&code_hash)),
            case: None,
        };
        let issue = queue::issue(&self.location, day, APPOINTMENT_PREFIX, &ticket);
        let decision = booking::check_in(&booking, &code_hash, &self.location, issue, attempt.now)?;
        let issued = Issued {
            day,
            at: attempt.now,
            prefix: APPOINTMENT_PREFIX.into(),
            service: booking.service,
            notify: false,
        };
        Ok(Decided::append(decision, issued))
    }
}

/// Calls the next ticket by the call policy to a counter (nothing when nobody waits for it), or
/// the waiting ticket the clerk chose (someone who cannot wait, a family called together).
pub struct CallNext<'a> {
    pub state: &'a AppState,
    pub counter: Counter,
    pub tz: Tz,
    /// The ticket id (`location/day/label` as in `/api/tickets/{id}`) the clerk chose.
    pub chosen: Option<String>,
}

impl Command for CallNext<'_> {
    type Output = Option<(NaiveDate, Ticket)>;
    type Error = ApiError;

    async fn admit(&mut self) -> Result<(), ApiError> {
        if !crate::features::office::is_open(self.state, &self.counter.id, Utc::now(), self.tz) {
            return Err(ApiError::Conflict {
                code: "counter_closed",
                message: "open the counter before calling tickets to it".into(),
            });
        }
        Ok(())
    }

    /// The line is this server's projection; another counter may have called the same ticket.
    fn reads_projections(&self) -> bool {
        true
    }

    async fn decide(&mut self, attempt: &Attempt<'_>) -> Result<Decided<Self::Output>, ApiError> {
        let day = attempt.now.with_timezone(&self.tz).date_naive();
        let tickets = self.state.queues().tickets(&self.counter.location, day);
        let max_wait = chrono::Duration::minutes(queue::MAX_WAIT_MINUTES);
        let next = match &self.chosen {
            Some(id) => Some(self.chosen_ticket(&tickets, id, day)?),
            None => queue::next_ticket(&tickets, &self.counter.services, attempt.now, max_wait),
        };
        let Some(next) = next else {
            return Ok(Decided::Nothing(None));
        };
        let decision = queue::call(&self.counter.location, day, next, &self.counter.id, attempt.now);
        let called = Ticket {
            state: queue::State::Called,
            counter: Some(self.counter.id.clone()),
            ..next.clone()
        };
        Ok(Decided::append(decision, Some((day, called))))
    }
}

impl CallNext<'_> {
    /// The chosen ticket: one of today's at this counter's office, waiting, for a service the
    /// counter handles (otherwise transfer it first).
    fn chosen_ticket<'t>(&self, tickets: &'t [Ticket], id: &str, day: NaiveDate) -> Result<&'t Ticket, ApiError> {
        let not_found = || ApiError::NotFound(format!("there is no ticket {id:?} waiting here today"));
        let (location, ticket_day, label) = queue::parse_ticket_id(id).ok_or_else(not_found)?;
        if location != self.counter.location || ticket_day != day {
            return Err(not_found());
        }
        let ticket = tickets.iter().find(|t| t.label == label).ok_or_else(not_found)?;
        if ticket.state != queue::State::Waiting {
            return Err(queue::QueueError::NotAllowed {
                action: queue::Action::Recall,
                state: ticket.state,
            }
            .into());
        }
        if !self.counter.services.contains(&ticket.service) {
            return Err(ApiError::Conflict {
                code: "not_served_here",
                message: "this counter does not handle the ticket's service; transfer it first".into(),
            });
        }
        Ok(ticket)
    }
}

/// Recall, start, finish, no-show, park or transfer a ticket, as its state allows.
pub struct ActOnTicket<'a> {
    pub state: &'a AppState,
    pub location: String,
    pub day: NaiveDate,
    pub label: String,
    pub action: queue::Action,
    pub to_service: Option<String>,
}

impl Command for ActOnTicket<'_> {
    type Output = ();
    type Error = ApiError;

    /// A transfer goes to a service this office offers.
    async fn admit(&mut self) -> Result<(), ApiError> {
        if let Some(service) = &self.to_service {
            let catalogue = self.state.catalogue();
            let offered = catalogue
                .services
                .get(service)
                .is_some_and(|s| s.locations.contains(&self.location));
            if !offered {
                return Err(not_offered());
            }
        }
        Ok(())
    }

    fn reads_projections(&self) -> bool {
        true
    }

    async fn decide(&mut self, attempt: &Attempt<'_>) -> Result<Decided<()>, ApiError> {
        let ticket = current_ticket(self.state, &self.location, self.day, &self.label)?;
        if self.action == queue::Action::UndoNoShow {
            self.counter_free(&ticket)?;
        }
        let mut decision = queue::act(
            &self.location,
            self.day,
            &ticket,
            self.action,
            self.to_service.as_deref(),
            attempt.now,
        )?;
        if let (queue::Action::Finish, Some(hash)) = (self.action, &ticket.case) {
            let case = streams::case(&self.state.store, hash).await?;
            if let Some(handed) = case.and_then(|case| case::hand_over(&case, hash, attempt.now)) {
                decision = decision.and(handed);
            }
        }
        Ok(Decided::append(decision, ()))
    }
}

impl ActOnTicket<'_> {
    /// A no-show is taken back only while its counter has called nobody since: the citizen
    /// goes back to the counter they were called to.
    fn counter_free(&self, ticket: &Ticket) -> Result<(), ApiError> {
        let busy = self.state.queues().tickets(&self.location, self.day).iter().any(|t| {
            t.label != ticket.label
                && t.counter == ticket.counter
                && matches!(t.state, queue::State::Called | queue::State::InService)
        });
        if busy {
            return Err(ApiError::Conflict {
                code: "counter_busy",
                message: "the counter has called another ticket since; call this one again instead".into(),
            });
        }
        Ok(())
    }
}

/// Sends the citizen at the counter away, as the ticket now stands in this server's projection.
pub struct SendAway<'a> {
    pub state: &'a AppState,
    pub location: String,
    pub day: NaiveDate,
    pub label: String,
    pub reason: queue::SentAwayReason,
}

impl Command for SendAway<'_> {
    type Output = ();
    type Error = ApiError;

    fn reads_projections(&self) -> bool {
        true
    }

    async fn decide(&mut self, attempt: &Attempt<'_>) -> Result<Decided<()>, ApiError> {
        let ticket = current_ticket(self.state, &self.location, self.day, &self.label)?;
        let decision = queue::send_away(&self.location, self.day, &ticket, self.reason, attempt.now)?;
        Ok(Decided::append(decision, ()))
    }
}

/// Opens or closes a counter; nothing when it already is.
pub struct OpenOrClose<'a> {
    pub state: &'a AppState,
    pub counter: String,
    pub tz: Tz,
    pub open: bool,
}

impl Command for OpenOrClose<'_> {
    type Output = ();
    type Error = ApiError;

    async fn decide(&mut self, attempt: &Attempt<'_>) -> Result<Decided<()>, ApiError> {
        let is_open = crate::features::office::is_open(self.state, &self.counter, attempt.now, self.tz);
        Ok(
            match queue::open_or_close(&self.counter, is_open, self.open, attempt.now) {
                Some(decision) => Decided::append(decision, ()),
                None => Decided::Nothing(()),
            },
        )
    }
}
