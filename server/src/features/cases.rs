//! Applications after the visit (cases): the clerk opens one for what was applied for, staff
//! move it on step by step, and the citizen follows it with the tracking code, no login.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use schalter_events::api::{
    CaseMilestone, CaseOpened, CaseRequest, CaseView, ImportOutcome, ImportedStep, LocalTime, OverdueCase, PickUpWay,
    RefusedRow, RenewalOffer, RenewalRequest, RenewalView, SilentProcedure, StepFileOutcome, StepRequest,
};
use schalter_events::booking;
use schalter_events::case::{self, Case, CaseError, Source};
use schalter_events::catalogue::CaseKind;
use schalter_events::renewal::{self, Renewal, RenewalError};
use schalter_events::staff::access::{Device, DeviceRole};
use schalter_events::CITIZEN;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::engine::codes::{case_hash, new_code};
use crate::engine::executor::Executed;
use crate::engine::executor::{Attempt, Command, Decided, Plan};
use crate::engine::state::AppState;
use crate::engine::streams;
use crate::engine::vault::PersonalData;
use crate::features::office::{location_tz, zones};
use crate::http::abuse::{self, ClientIp};
use crate::http::auth::{self, DeviceAuth, StaffUser};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::{ApiJson, ApiPath, TextBody};
use crate::jobs::retention::{self, Erasure};
use schalter_events::store::DataKey;

pub fn router(state: &AppState) -> OpenApiRouter<AppState> {
    let desk = OpenApiRouter::new()
        .routes(routes!(open_case))
        .routes(routes!(move_case));
    let admins = OpenApiRouter::new()
        .routes(routes!(overdue))
        .routes(routes!(silent_procedures));
    OpenApiRouter::new()
        .routes(routes!(case_kinds))
        .routes(routes!(track))
        .routes(routes!(request_renewal, cancel_renewal))
        .routes(routes!(import_step))
        .routes(routes!(import_step_file))
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

impl From<RenewalError> for ApiError {
    fn from(e: RenewalError) -> Self {
        let message = e.to_string();
        match e {
            RenewalError::NotOffered => ApiError::invalid("renewal_not_offered", None, message),
            RenewalError::NotCollected(_) => ApiError::Conflict {
                code: "case_not_ready",
                message,
            },
            RenewalError::ExpiresTooSoon(_) => ApiError::invalid("expires_too_soon", Some("expires_on"), message),
            RenewalError::ExpiresTooFar => ApiError::invalid("expires_too_far", Some("expires_on"), message),
            RenewalError::AlreadyRequested => ApiError::Conflict {
                code: "reminder_exists",
                message,
            },
        }
    }
}

/// Every kind of application followed: the built-in ones as the office left them, then its own.
#[utoipa::path(get, path = "/api/case-kinds", tag = "cases", responses((status = 200, body = [CaseKind])))]
pub async fn case_kinds(State(state): State<AppState>) -> Json<Vec<CaseKind>> {
    Json(state.catalogue().case_kinds())
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
            case: view(&state, &case, None),
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
        let kinds = self.state.catalogue().case_kinds();
        let kinds: Vec<&str> = kinds.iter().map(|k| k.id.as_str()).collect();
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
    Ok(Json(view_of(&state, &hash).await?))
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
    let changed = import_one(&state, &device.0, &req.reference, req.step).await?;
    Ok(Json(ImportOutcome {
        reference: req.reference,
        step: req.step,
        changed,
    }))
}

/// One step reported by `procedure` for its application `reference`; whether the case moved.
async fn import_one(state: &AppState, procedure: &Device, reference: &str, step: case::Step) -> Result<bool, ApiError> {
    let hash = state
        .cases()
        .by_reference(&procedure.location, reference.trim())
        .map(str::to_owned)
        .ok_or_else(|| ApiError::NotFound(format!("there is no application {reference:?} at this office")))?;
    let command = MoveCase {
        state,
        hash: &hash,
        step,
        source: Source::Import {
            system: procedure.id.clone(),
        },
        procedure: Some(&procedure.id),
    };
    Ok(
        match state
            .execute(&format!("device:{}", procedure.id), None, command)
            .await?
        {
            Executed::Done(changed, _) => changed,
            Executed::Repeated(_) => false,
        },
    )
}

/// The same import for a file the procedure exports: a header line naming the columns
/// `reference` and `step` (others are ignored), then one application per line, separated by `,`
/// or `;` (as German spreadsheets write). Each row is imported on its own, as a single import
/// would be: the answer counts what changed and lists every refused row with its line and code.
/// A file without those columns is 422 `invalid_csv` and imports nothing.
#[utoipa::path(post, path = "/api/import/case-steps.csv", tag = "cases", security(("device_token" = [])),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = StepFileOutcome), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn import_step_file(
    State(state): State<AppState>,
    device: DeviceAuth,
    TextBody(text): TextBody,
) -> Result<Json<StepFileOutcome>, ApiError> {
    device.require(DeviceRole::Procedure)?;
    let mut outcome = StepFileOutcome::default();
    for row in step_rows(&text)? {
        let imported = match parse_step(&row.step) {
            Some(step) => import_one(&state, &device.0, &row.reference, step).await,
            None => Err(ApiError::invalid(
                "unknown_step",
                Some("step"),
                format!("there is no step {:?}", row.step),
            )),
        };
        match imported {
            Ok(true) => outcome.changed += 1,
            Ok(false) => outcome.unchanged += 1,
            Err(e) if e.is_refusal() => outcome.refused.push(RefusedRow {
                line: row.line,
                reference: row.reference,
                error: e.code().to_owned(),
                message: e.to_string(),
            }),
            Err(e) => return Err(e),
        }
    }
    Ok(Json(outcome))
}

/// One data row of a step file.
#[derive(Debug, PartialEq)]
struct StepRow {
    line: usize,
    reference: String,
    step: String,
}

fn step_rows(text: &str) -> Result<Vec<StepRow>, ApiError> {
    let invalid = |message: &str| ApiError::invalid("invalid_csv", None, message.to_owned());
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line))
        .filter(|(_, line)| !line.trim().is_empty());
    let (_, header) = lines.next().ok_or_else(|| invalid("the file is empty"))?;
    // Spreadsheets save UTF-8 with a byte-order mark.
    let header = header.trim_start_matches('\u{feff}');
    let separator = if header.contains(';') { ';' } else { ',' };
    let columns = cells(header, separator);
    let at = |name: &str| columns.iter().position(|c| c.eq_ignore_ascii_case(name));
    let (Some(reference_at), Some(step_at)) = (at("reference"), at("step")) else {
        return Err(invalid("the first line names the columns: reference and step"));
    };
    Ok(lines
        .map(|(line, text)| {
            let mut cells = cells(text, separator);
            let mut take = |i: usize| cells.get_mut(i).map(std::mem::take).unwrap_or_default();
            StepRow {
                line,
                reference: take(reference_at),
                step: take(step_at),
            }
        })
        .collect())
}

fn cells(line: &str, separator: char) -> Vec<String> {
    line.split(separator)
        .map(|cell| cell.trim().trim_matches('"').trim().to_owned())
        .collect()
}

/// A step as the JSON import names it (`in-production`, …), in any case.
fn parse_step(name: &str) -> Option<case::Step> {
    serde_json::from_value(serde_json::Value::String(name.to_ascii_lowercase())).ok()
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
    let tz = zones(state);
    let kinds = state.catalogue().clone();
    let cases = state.cases();
    cases
        .overdue(
            |location| now.with_timezone(&tz(location)).date_naive(),
            |location, at| at.with_timezone(&tz(location)).date_naive(),
        )
        .into_iter()
        .map(|c| OverdueCase {
            kind: c.kind.clone(),
            kind_name: kinds.case_kind_name(&c.kind),
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
    let tz = zones(state);
    let cases = state.cases();
    cases
        .silent_procedures(now)
        .into_iter()
        .map(|p| SilentProcedure {
            device: p.id.clone(),
            location: p.location.clone(),
            heard_at: LocalTime::at(p.heard_at().with_timezone(&tz(&p.location))),
            never_imported: p.last_import.is_none(),
        })
        .collect()
}

/// Where an application stands, for the citizen holding its tracking code: what, where, when
/// it is expected, and each step so far. No name, no contact.
#[utoipa::path(get, path = "/api/cases/{code}", tag = "cases", params(("code" = String, Path)),
    responses((status = 200, body = CaseView), (status = 404, body = ErrorBody)))]
pub async fn track(State(state): State<AppState>, ApiPath(code): ApiPath<String>) -> Result<Json<CaseView>, ApiError> {
    let hash = case_hash(&code).ok_or(CaseError::UnknownCase)?;
    Ok(Json(view_of(&state, &hash).await?))
}

/// Leaves a reminder to renew the document before it expires: its expiry date and an email
/// address (or a mobile number where the office sends text messages). The address is sealed and
/// erased once the reminder went out; the reminder goes the weeks before expiry that the office
/// set for the kind of document. Offered once the document is ready or collected.
#[utoipa::path(post, path = "/api/cases/{code}/renewal", tag = "cases", params(("code" = String, Path)),
    request_body = RenewalRequest,
    responses((status = 201, body = CaseView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn request_renewal(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiPath(code): ApiPath<String>,
    ApiJson(req): ApiJson<RenewalRequest>,
) -> Result<(StatusCode, Json<CaseView>), ApiError> {
    state.abuse.check(&format!("change-ip:{ip}"), abuse::CHANGE_PER_IP)?;
    let hash = case_hash(&code).ok_or(CaseError::UnknownCase)?;
    let contact = booking::check_notify(&req.email, req.phone.as_deref())?.ok_or_else(|| {
        ApiError::invalid(
            "missing_contact",
            Some("email"),
            "an email address or a mobile number is needed for the reminder",
        )
    })?;
    if contact.email.is_empty() && !state.sms {
        return Err(ApiError::invalid(
            "sms_unavailable",
            Some("phone"),
            "this office sends no text messages: please enter an email address",
        ));
    }
    let sealed = state.vault.seal_with_key(&PersonalData {
        name: String::new(),
        email: contact.email,
        phone: contact.phone,
        code: None,
    });
    let command = RequestRenewal {
        state: &state,
        hash: &hash,
        req: &req,
        sealed,
    };
    state.execute(CITIZEN, None, command).await?;
    Ok((StatusCode::CREATED, Json(view_of(&state, &hash).await?)))
}

struct RequestRenewal<'a> {
    state: &'a AppState,
    hash: &'a str,
    req: &'a RenewalRequest,
    sealed: (booking::Personal, DataKey),
}

impl Command for RequestRenewal<'_> {
    type Output = ();
    type Error = ApiError;

    async fn decide(&mut self, attempt: &Attempt<'_>) -> Result<Decided<()>, ApiError> {
        let case = streams::case(&self.state.store, self.hash)
            .await?
            .ok_or(CaseError::UnknownCase)?;
        let existing = streams::renewal(&self.state.store, self.hash).await?;
        let kind = self
            .state
            .catalogue()
            .case_kind(&case.kind)
            .ok_or(RenewalError::NotOffered)?;
        let today = attempt
            .now
            .with_timezone(&self.state.catalogue().time_zone(&case.location))
            .date_naive();
        let decision = renewal::request(renewal::Request {
            tracking_hash: self.hash,
            case: &case,
            kind: &kind,
            existing: existing.as_ref(),
            expires_on: self.req.expires_on,
            today,
            contact: self.sealed.0.clone(),
            language: self.req.language.as_deref().unwrap_or(&case.language),
            now: attempt.now,
        })?;
        Ok(Decided::Append(Plan {
            decision,
            data_key: Some(self.sealed.1.clone()),
            reserve: Vec::new(),
            value: (),
        }))
    }
}

/// Withdraws the renewal reminder: the address is erased at once. Withdrawing one that is not
/// set (or already went out) changes nothing.
#[utoipa::path(delete, path = "/api/cases/{code}/renewal", tag = "cases", params(("code" = String, Path)),
    responses((status = 200, body = CaseView), (status = 404, body = ErrorBody)))]
pub async fn cancel_renewal(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<CaseView>, ApiError> {
    state.abuse.check(&format!("change-ip:{ip}"), abuse::CHANGE_PER_IP)?;
    let hash = case_hash(&code).ok_or(CaseError::UnknownCase)?;
    // An unknown case has no reminder to erase; its view below answers 404.
    retention::erase_renewal(&state.executor, &state.vault, &hash, Erasure::Withdrawn, CITIZEN).await?;
    Ok(Json(view_of(&state, &hash).await?))
}

/// The case behind `hash` as its citizen sees it, with the renewal reminder left at it.
async fn view_of(state: &AppState, hash: &str) -> Result<CaseView, ApiError> {
    let case = streams::case(&state.store, hash).await?.ok_or(CaseError::UnknownCase)?;
    let renewal = streams::renewal(&state.store, hash).await?;
    Ok(view(state, &case, renewal.as_ref()))
}

fn view(state: &AppState, case: &Case, renewal: Option<&Renewal>) -> CaseView {
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
    let renewal = catalogue
        .case_kind(&case.kind)
        .filter(|k| k.remind_weeks > 0 && matches!(case.step, case::Step::Ready | case::Step::PickedUp))
        .map(|k| RenewalOffer {
            remind_weeks: k.remind_weeks,
            reminder: renewal.filter(|r| r.active).map(|r| RenewalView {
                expires_on: r.expires_on,
                remind_on: r.remind_on,
            }),
        });
    CaseView {
        kind: case.kind.clone(),
        kind_name: catalogue.case_kind_name(&case.kind),
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
        renewal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_file_is_read_by_its_header_with_either_separator() {
        let rows =
            step_rows("\u{feff}Step;Reference;Note\r\nready;\"PA-1\";x\n\n in-production ; PA-2\nready\n").unwrap();
        let row = |line, reference: &str, step: &str| StepRow {
            line,
            reference: reference.into(),
            step: step.into(),
        };
        assert_eq!(
            rows,
            [
                row(2, "PA-1", "ready"),
                row(4, "PA-2", "in-production"),
                row(5, "", "ready")
            ]
        );
        assert_eq!(
            step_rows("reference,step\nPA-3,Ready").unwrap(),
            [row(2, "PA-3", "Ready")]
        );
        assert_eq!(parse_step("Ready"), Some(case::Step::Ready));
        assert_eq!(parse_step("lost"), None);
        for broken in ["", "\n\n", "number,status\nPA-1,ready"] {
            assert_eq!(step_rows(broken).unwrap_err().code(), "invalid_csv", "{broken:?}");
        }
    }

    #[test]
    fn a_booking_code_never_opens_a_case() {
        let code = new_code();
        assert_ne!(case_hash(&code), crate::engine::codes::code_hash(&code));
    }
}
