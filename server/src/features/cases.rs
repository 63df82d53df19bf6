//! Applications after the visit (cases): the clerk opens one for what was applied for, staff
//! move it on step by step, and the citizen follows it with the tracking code, no login.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use schalter_events::api::{
    CaseMilestone, CaseOpened, CaseRequest, CaseView, ImportOutcome, ImportedStep, LocalTime, OverdueCase, PickUpWay,
    SilentProcedure, StepRequest,
};
use schalter_events::booking;
use schalter_events::case::{self, Case, CaseError, Source};
use schalter_events::staff::access::DeviceRole;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::engine::codes::{case_hash, new_code};
use crate::engine::executor::Executed;
use crate::engine::executor::{Attempt, Command, Decided, Plan};
use crate::engine::state::AppState;
use crate::engine::streams;
use crate::engine::vault::PersonalData;
use crate::features::office::location_tz;
use crate::http::auth::{self, DeviceAuth, StaffUser};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::{ApiJson, ApiPath};
use schalter_events::store::DataKey;

pub fn router(state: &AppState) -> OpenApiRouter<AppState> {
    let desk = OpenApiRouter::new()
        .routes(routes!(open_case))
        .routes(routes!(move_case));
    let admins = OpenApiRouter::new()
        .routes(routes!(overdue))
        .routes(routes!(silent_procedures));
    OpenApiRouter::new()
        .routes(routes!(track))
        .routes(routes!(import_step))
        .merge(auth::staff_only(desk, state, auth::Staff::Desk))
        .merge(auth::staff_only(admins, state, auth::Staff::Admins))
}

impl From<CaseError> for ApiError {
    fn from(e: CaseError) -> Self {
        let message = e.to_string();
        let invalid = |code, field| ApiError::invalid(code, Some(field), message.clone());
        match e {
            CaseError::UnknownKind(_) => invalid("unknown_kind", "kind"),
            CaseError::UnknownLocation => invalid("unknown_location", "location"),
            CaseError::ExpectedInPast => invalid("expected_in_past", "expected_ready"),
            CaseError::ExpectedTooFar => invalid("expected_too_far", "expected_ready"),
            CaseError::UnknownCase => ApiError::NotFound(message),
            CaseError::StepNotAllowed { .. } => ApiError::Conflict {
                code: "step_not_allowed",
                message,
            },
            CaseError::NotReady(_) => ApiError::Conflict {
                code: "case_not_ready",
                message,
            },
            CaseError::OtherLocation => ApiError::Conflict {
                code: "collected_elsewhere",
                message,
            },
        }
    }
}

/// Opens a case for what the citizen applied for. The answer carries the tracking code once:
/// only its hash is kept. An email address or mobile number, if given, is sealed like a
/// booking's contact and used only to say the document is ready.
#[utoipa::path(post, path = "/api/desk/cases", tag = "cases", request_body = CaseRequest,
    responses((status = 201, body = CaseOpened), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn open_case(
    State(state): State<AppState>,
    user: StaffUser,
    ApiJson(req): ApiJson<CaseRequest>,
) -> Result<(StatusCode, Json<CaseOpened>), ApiError> {
    let contact = booking::check_notify(&req.email, req.phone.as_deref())?;
    let code = new_code();
    let hash = case_hash(&code).ok_or_else(|| ApiError::Internal("a new tracking code does not read".into()))?;
    let sealed = contact.map(|c| {
        state.vault.seal_with_key(&PersonalData {
            name: c.name,
            email: c.email,
            phone: c.phone,
            code: Some(code.clone()),
        })
    });
    let command = OpenCase {
        state: &state,
        req: &req,
        hash: &hash,
        sealed,
    };
    state.execute(&user.actor(), None, command).await?;
    let case = streams::case(&state.store, &hash)
        .await?
        .ok_or_else(|| ApiError::Internal("a case just opened is not there".into()))?;
    Ok((
        StatusCode::CREATED,
        Json(CaseOpened {
            code,
            case: view(&state, &case),
        }),
    ))
}

struct OpenCase<'a> {
    state: &'a AppState,
    req: &'a CaseRequest,
    hash: &'a str,
    sealed: Option<(booking::Personal, DataKey)>,
}

impl Command for OpenCase<'_> {
    type Output = ();
    type Error = ApiError;

    async fn decide(&mut self, attempt: &Attempt<'_>) -> Result<Decided<()>, ApiError> {
        let known_location = self.state.catalogue().locations.contains_key(&self.req.location);
        let today = match location_tz(self.state, &self.req.location) {
            Ok(tz) => attempt.now.with_timezone(&tz).date_naive(),
            Err(_) => attempt.now.date_naive(),
        };
        let kinds: Vec<&str> = case::KINDS.iter().map(|(id, _, _)| *id).collect();
        let decision = case::open(case::Open {
            tracking_hash: self.hash,
            kind: &self.req.kind,
            kinds: &kinds,
            location: &self.req.location,
            known_location,
            today,
            expected_ready: self.req.expected_ready,
            reference: self.req.reference.clone().filter(|r| !r.trim().is_empty()),
            contact: self.sealed.as_ref().map(|(p, _)| p.clone()),
            language: self.req.language.as_deref().unwrap_or("de"),
            now: attempt.now,
        })?;
        Ok(Decided::Append(Plan {
            decision,
            data_key: self.sealed.as_ref().map(|(_, k)| k.clone()),
            reserve: Vec::new(),
            value: (),
        }))
    }
}

/// Moves a case on (in production, documents missing, ready, picked up, withdrawn). The step
/// it already has answers 200 and records nothing; a step that may not follow now is 409.
#[utoipa::path(post, path = "/api/desk/cases/{code}/step", tag = "cases", params(("code" = String, Path)),
    request_body = StepRequest,
    responses((status = 200, body = CaseView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn move_case(
    State(state): State<AppState>,
    user: StaffUser,
    ApiPath(code): ApiPath<String>,
    ApiJson(req): ApiJson<StepRequest>,
) -> Result<Json<CaseView>, ApiError> {
    let hash = case_hash(&code).ok_or(CaseError::UnknownCase)?;
    let command = MoveCase {
        state: &state,
        hash: &hash,
        step: req.step,
        source: Source::Staff,
        procedure: None,
    };
    state.execute(&user.actor(), None, command).await?;
    let case = streams::case(&state.store, &hash)
        .await?
        .ok_or(CaseError::UnknownCase)?;
    Ok(Json(view(&state, &case)))
}

pub(crate) struct MoveCase<'a> {
    pub(crate) state: &'a AppState,
    pub(crate) hash: &'a str,
    pub(crate) step: case::Step,
    pub(crate) source: Source,
    /// The procedure whose accepted import this is: its arrival is noted (hourly at most), so
    /// admins learn when its transfers stop.
    pub(crate) procedure: Option<&'a str>,
}

impl Command for MoveCase<'_> {
    /// Whether the case changed.
    type Output = bool;
    type Error = ApiError;

    async fn decide(&mut self, attempt: &Attempt<'_>) -> Result<Decided<bool>, ApiError> {
        let case = streams::case(&self.state.store, self.hash)
            .await?
            .ok_or(CaseError::UnknownCase)?;
        let moved = case::reach(&case, self.hash, self.step, self.source.clone(), attempt.now)?;
        let arrived = self
            .procedure
            .and_then(|id| self.state.cases().procedure(id).cloned())
            .and_then(|procedure| case::arrival(&procedure, attempt.now));
        let changed = moved.is_some();
        Ok(match (moved, arrived) {
            (Some(moved), Some(arrived)) => Decided::append(moved.and(arrived), changed),
            (Some(decision), None) | (None, Some(decision)) => Decided::append(decision, changed),
            (None, None) => Decided::Nothing(false),
        })
    }
}

/// A specialist procedure reports a step of one of its applications at its location, named by
/// the procedure's reference. Sent twice, the second changes nothing (`changed: false`); a step
/// that may not follow now is 409 and stores nothing. Authorised by a device token of the
/// `procedure` kind (`schalter device add --role procedure`).
#[utoipa::path(post, path = "/api/import/case-steps", tag = "cases", security(("device_token" = [])),
    request_body = ImportedStep,
    responses((status = 200, body = ImportOutcome), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn import_step(
    State(state): State<AppState>,
    device: DeviceAuth,
    ApiJson(req): ApiJson<ImportedStep>,
) -> Result<Json<ImportOutcome>, ApiError> {
    device.require(DeviceRole::Procedure)?;
    let procedure = &device.0;
    let hash = state
        .cases()
        .by_reference(&procedure.location, req.reference.trim())
        .map(str::to_owned)
        .ok_or_else(|| ApiError::NotFound(format!("there is no application {:?} at this office", req.reference)))?;
    let command = MoveCase {
        state: &state,
        hash: &hash,
        step: req.step,
        source: Source::Import {
            system: procedure.id.clone(),
        },
        procedure: Some(&procedure.id),
    };
    let changed = match state
        .execute(&format!("device:{}", procedure.id), None, command)
        .await?
    {
        Executed::Done(changed, _) => changed,
        Executed::Repeated(_) => false,
    };
    Ok(Json(ImportOutcome {
        reference: req.reference,
        step: req.step,
        changed,
    }))
}

/// Cases past their expected date with no news since (R9.6: a transfer from the procedure that
/// never came), oldest expected date first. No name, no tracking code.
#[utoipa::path(get, path = "/api/admin/cases/overdue", tag = "cases",
    responses((status = 200, body = [OverdueCase]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn overdue(State(state): State<AppState>) -> Json<Vec<OverdueCase>> {
    Json(overdue_cases(&state, chrono::Utc::now()))
}

/// The overdue cases at `now`, each judged by its office's local date.
pub fn overdue_cases(state: &AppState, now: chrono::DateTime<chrono::Utc>) -> Vec<OverdueCase> {
    let tz = |location: &str| location_tz(state, location).unwrap_or(chrono_tz::Europe::Berlin);
    let cases = state.cases();
    cases
        .overdue(
            |location| now.with_timezone(&tz(location)).date_naive(),
            |location, at| at.with_timezone(&tz(location)).date_naive(),
        )
        .into_iter()
        .map(|c| OverdueCase {
            kind: c.kind.clone(),
            kind_name: case::kind_name(&c.kind).unwrap_or_default(),
            location: c.location.clone(),
            reference: c.reference.clone(),
            expected_ready: c.expected_ready,
            step: c.step,
            updated_at: LocalTime::at(c.updated_at().with_timezone(&tz(&c.location))),
        })
        .collect()
}

/// Specialist procedures that sent no import for three days (R9.6: a transfer that stopped),
/// longest quiet first.
#[utoipa::path(get, path = "/api/admin/cases/silent-procedures", tag = "cases",
    responses((status = 200, body = [SilentProcedure]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn silent_procedures(State(state): State<AppState>) -> Json<Vec<SilentProcedure>> {
    Json(silent(&state, chrono::Utc::now()))
}

/// The procedures quiet for too long at `now`.
pub fn silent(state: &AppState, now: chrono::DateTime<chrono::Utc>) -> Vec<SilentProcedure> {
    let cases = state.cases();
    cases
        .silent_procedures(now)
        .into_iter()
        .map(|p| {
            let tz = location_tz(state, &p.location).unwrap_or(chrono_tz::Europe::Berlin);
            SilentProcedure {
                device: p.id.clone(),
                location: p.location.clone(),
                heard_at: LocalTime::at(p.heard_at().with_timezone(&tz)),
                never_imported: p.last_import.is_none(),
            }
        })
        .collect()
}

/// Where an application stands, for the citizen holding its tracking code: what, where, when
/// it is expected, and each step so far. No name, no contact.
#[utoipa::path(get, path = "/api/cases/{code}", tag = "cases", params(("code" = String, Path)),
    responses((status = 200, body = CaseView), (status = 404, body = ErrorBody)))]
pub async fn track(State(state): State<AppState>, ApiPath(code): ApiPath<String>) -> Result<Json<CaseView>, ApiError> {
    let hash = case_hash(&code).ok_or(CaseError::UnknownCase)?;
    let case = streams::case(&state.store, &hash)
        .await?
        .ok_or(CaseError::UnknownCase)?;
    Ok(Json(view(&state, &case)))
}

fn view(state: &AppState, case: &Case) -> CaseView {
    let tz = location_tz(state, &case.location).unwrap_or(chrono_tz::Europe::Berlin);
    let catalogue = state.catalogue();
    let location_name = catalogue
        .locations
        .get(&case.location)
        .map(|l| l.name.clone())
        .unwrap_or_default();
    let pick_up = catalogue
        .pick_up_service(&case.location)
        .filter(|_| case.step == case::Step::Ready)
        .map(|s| PickUpWay {
            service: s.id.clone(),
            bookable_online: s.bookable_online,
            kiosk: s.walk_in,
        });
    CaseView {
        kind: case.kind.clone(),
        kind_name: case::kind_name(&case.kind).unwrap_or_default(),
        location: case.location.clone(),
        location_name,
        expected_ready: case.expected_ready,
        step: case.step,
        history: case
            .history
            .iter()
            .map(|(step, at)| CaseMilestone {
                step: *step,
                at: LocalTime::at(at.with_timezone(&tz)),
            })
            .collect(),
        pick_up,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_booking_code_never_opens_a_case() {
        let code = new_code();
        assert_ne!(case_hash(&code), crate::engine::codes::code_hash(&code));
    }
}
