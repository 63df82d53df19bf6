//! The audit view (admins only, the one place staff names are listed): who changed how the
//! offices run, when, and what it was before and after; as JSON for the page and as CSV for
//! the records.

use axum::extract::State;
use axum::response::Response;
use axum::Json;
use chrono::NaiveDate;
use schalter_events::audit::{Area, Change, Filter};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::engine::state::AppState;
use crate::http::auth;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::ApiQuery;

pub fn router(state: &AppState) -> OpenApiRouter<AppState> {
    let admins = OpenApiRouter::new()
        .routes(routes!(changes))
        .routes(routes!(changes_csv));
    auth::staff_only(admins, state, auth::Staff::Admins)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// `offices`, `hours`, `closures`, `accounts` or `devices`.
    #[param(inline, value_type = Option<Area>)]
    area: Option<String>,
    /// Part of the actor, e.g. a user name.
    actor: Option<String>,
    /// First day (UTC), `YYYY-MM-DD`.
    from: Option<NaiveDate>,
    /// Last day (UTC), inclusive.
    to: Option<NaiveDate>,
}

impl TryFrom<AuditQuery> for Filter {
    type Error = ApiError;

    fn try_from(q: AuditQuery) -> Result<Filter, ApiError> {
        let area = match q.area.as_deref().filter(|a| !a.is_empty()) {
            None => None,
            Some(a) => Some(Area::parse(a).ok_or_else(|| {
                ApiError::invalid(
                    "unknown_area",
                    Some("area"),
                    format!("{a:?} is no area: offices, hours, closures, accounts or devices"),
                )
            })?),
        };
        Ok(Filter {
            area,
            actor: q.actor.filter(|a| !a.trim().is_empty()),
            from: q.from,
            to: q.to,
        })
    }
}

/// Changes to the offices, accounts and devices, newest first.
#[utoipa::path(get, path = "/api/admin/audit", tag = "staff", params(AuditQuery),
    responses((status = 200, body = [Change]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn changes(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<Vec<Change>>, ApiError> {
    let filter = Filter::try_from(q)?;
    Ok(Json(state.audit().list(&filter)))
}

/// The same as CSV (RFC 4180: fields quoted, before and after with their line breaks).
#[utoipa::path(get, path = "/api/admin/audit.csv", tag = "staff", params(AuditQuery),
    responses((status = 200, content_type = "text/csv", body = String), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn changes_csv(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Response, ApiError> {
    let filter = Filter::try_from(q)?;
    let mut out = String::from("position,at,actor,area,subject,what,before,after\r\n");
    for c in state.audit().list(&filter) {
        let fields = [
            c.position.to_string(),
            c.at.to_rfc3339(),
            c.actor,
            c.area.name().to_owned(),
            c.subject,
            c.what,
            c.before,
            c.after,
        ];
        let quoted: Vec<String> = fields.iter().map(|f| quote(f)).collect();
        out.push_str(&quoted.join(","));
        out.push_str("\r\n");
    }
    Ok(crate::features::stats::csv_response(out, "schalter-audit.csv"))
}

/// A CSV field: quoted, inner quotes doubled; a leading `=`, `+`, `-` or `@` gets a `'` so a
/// spreadsheet does not run it as a formula.
fn quote(field: &str) -> String {
    let guarded = if field.starts_with(['=', '+', '-', '@']) {
        format!("'{field}")
    } else {
        field.to_owned()
    };
    format!("\"{}\"", guarded.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    #[test]
    fn fields_are_quoted_and_formulas_defused() {
        assert_eq!(super::quote("a \"b\"\nc"), "\"a \"\"b\"\"\nc\"");
        assert_eq!(super::quote("=1+1"), "\"'=1+1\"");
    }
}
