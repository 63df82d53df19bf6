//! Evaluation for managers (`/api/stats/...`) and open data for everyone (`/api/open-data/...`).
//! The figures come from the statistics projection (`schalter_events::stats`); nothing here is
//! grouped by member of staff or counter (works-council rule), and open data suppresses every
//! cell of fewer than five cases.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{Datelike, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use schalter_events::catalogue::Catalogue;
use schalter_events::stats::{Context, DayRow, Figures, Filter, Stats, Summary};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::engine::state::AppState;
use crate::http::auth;
use crate::http::error::ApiError;
use crate::http::ApiQuery;

/// The longest period one request may cover.
const MAX_DAYS: i64 = 3 * 366;
/// Open data: cells with fewer cases than this are withheld.
pub const MIN_CELL: u32 = 5;
pub const LICENCE: &str = "Datenlizenz Deutschland – Namensnennung – Version 2.0 (dl-de/by-2-0)";
pub const LICENCE_URL: &str = "https://www.govdata.de/dl-de/by-2-0";

pub fn router(state: &AppState) -> OpenApiRouter<AppState> {
    let managers = OpenApiRouter::new()
        .routes(routes!(summary))
        .routes(routes!(cases))
        .routes(routes!(export_csv))
        .routes(routes!(export_json));
    let managers = auth::staff_only(managers, state, auth::Staff::Managers);
    OpenApiRouter::new()
        .merge(managers)
        // Published for everyone where the municipality switched it on.
        .routes(routes!(open_data_index))
        .routes(routes!(open_data_json))
        .routes(routes!(open_data_csv))
        .routes(routes!(cases_monthly_json))
        .routes(routes!(cases_monthly_csv))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// First local day, `YYYY-MM-DD` (default: 27 days before `to`).
    from: Option<NaiveDate>,
    /// Last local day, inclusive (default: today).
    to: Option<NaiveDate>,
    location: Option<String>,
    service: Option<String>,
}

/// What the figures need from the catalogue, copied so no two projection locks are held at once.
struct Offer {
    zones: BTreeMap<String, Tz>,
    schedules: BTreeMap<String, schalter_events::slots::Schedule>,
}

impl Offer {
    fn of(catalogue: &Catalogue) -> Offer {
        Offer {
            zones: catalogue
                .locations
                .keys()
                .map(|id| (id.clone(), catalogue.time_zone(id)))
                .collect(),
            schedules: catalogue.schedules.clone(),
        }
    }

    fn tz(&self, location: &str) -> Tz {
        self.zones.get(location).copied().unwrap_or(chrono_tz::Europe::Berlin)
    }

    fn places(&self, location: Option<&str>, day: NaiveDate) -> Option<u32> {
        let mut known = false;
        let mut sum = 0;
        for (_, schedule) in self
            .schedules
            .iter()
            .filter(|(id, _)| location.is_none_or(|l| l == *id))
        {
            if let Ok(units) = schedule.units(day) {
                known = true;
                sum += units.iter().map(|u| u.capacity).sum::<u32>();
            }
        }
        known.then_some(sum)
    }
}

/// Runs `f` with the statistics and a context for now.
fn with_stats<T>(state: &AppState, f: impl FnOnce(&Stats, &Context) -> T) -> T {
    let offer = Offer::of(&state.catalogue());
    let stats = state.stats();
    with_context(&offer, Utc::now(), |cx| f(&stats, cx))
}

fn with_context<T>(offer: &Offer, now: chrono::DateTime<Utc>, f: impl FnOnce(&Context) -> T) -> T {
    let tz_of = |l: &str| offer.tz(l);
    let offered = |l: Option<&str>, d: NaiveDate| offer.places(l, d);
    let cx = Context {
        now,
        tz_of: &tz_of,
        offered: &offered,
    };
    f(&cx)
}

/// The dashboard's summary from a rebuilt projection (`schalter rebuild-projections`).
pub fn summary_of(stats: &Stats, catalogue: &Catalogue, filter: &Filter) -> Summary {
    with_context(&Offer::of(catalogue), Utc::now(), |cx| stats.summarise(filter, cx))
}

fn filter(state: &AppState, q: StatsQuery) -> Result<Filter, ApiError> {
    let today = Utc::now().with_timezone(&chrono_tz::Europe::Berlin).date_naive();
    let to = q.to.unwrap_or(today);
    let from = q.from.unwrap_or(to - Duration::days(27));
    if from > to {
        return Err(ApiError::invalid(
            "invalid_period",
            Some("from"),
            "the period starts after it ends",
        ));
    }
    if (to - from).num_days() >= MAX_DAYS {
        return Err(ApiError::invalid(
            "period_too_long",
            Some("to"),
            format!("a period may cover at most {MAX_DAYS} days"),
        ));
    }
    let catalogue = state.catalogue();
    if let Some(l) = &q.location {
        if !catalogue.locations.contains_key(l) {
            return Err(ApiError::invalid(
                "unknown_location",
                Some("location"),
                "there is no such location",
            ));
        }
    }
    if let Some(s) = &q.service {
        if !catalogue.services.contains_key(s) {
            return Err(ApiError::invalid(
                "unknown_service",
                Some("service"),
                "there is no such service",
            ));
        }
    }
    Ok(Filter {
        from,
        to,
        location: q.location,
        service: q.service,
    })
}

/// Key figures, the previous period's beside them, and the dashboard's series.
#[utoipa::path(get, path = "/api/stats/summary", tag = "statistics", params(StatsQuery),
    responses((status = 200, description = "figures (see docs/statistics.md)"), (status = 401, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody), (status = 422, body = crate::http::error::ErrorBody)))]
pub async fn summary(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> Result<Json<Summary>, ApiError> {
    let filter = filter(&state, q)?;
    Ok(Json(with_stats(&state, |stats, cx| stats.summarise(&filter, cx))))
}

/// The applications opened in the period (by the office's local day) at one office or all:
/// counts by kind and by where they stand now, days to ready and to pick-up. `service` is
/// ignored: an application is not a service.
#[utoipa::path(get, path = "/api/stats/cases", tag = "statistics", params(StatsQuery),
    responses((status = 200, description = "figures (see docs/statistics.md)"), (status = 401, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody), (status = 422, body = crate::http::error::ErrorBody)))]
pub async fn cases(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> Result<Json<schalter_events::case::CaseFigures>, ApiError> {
    let filter = filter(&state, q)?;
    let tz = crate::features::office::zones(&state);
    let mut figures = state
        .cases()
        .figures(filter.from, filter.to, filter.location.as_deref(), |location, at| {
            at.with_timezone(&tz(location)).date_naive()
        });
    let catalogue = state.catalogue();
    for k in &mut figures.by_kind {
        k.name = catalogue.case_kind_name(&k.kind);
    }
    Ok(Json(figures))
}

const CSV_HEADER: &str = "day,location,service,bookings,cancellations,no_shows,no_show_rate,walk_ins,\
walk_ins_kiosk,walk_ins_desk,online_share,served,abandoned,sent_away_documents_missing,waiting_median_min,waiting_p90_min,\
service_median_min,throughput_median_min,punctuality,slot_utilisation,pick_ups,refilled,refill_rate";

fn cell(value: Option<f64>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

fn csv_row(out: &mut String, r: &DayRow) {
    let f: &Figures = &r.figures;
    let _ = writeln!(
        out,
        "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
        r.day,
        r.location,
        r.service,
        f.bookings,
        f.cancellations,
        f.no_shows,
        cell(f.no_show_rate),
        f.walk_ins,
        f.walk_ins_kiosk,
        f.walk_ins_desk,
        cell(f.online_share),
        f.served,
        f.abandoned,
        f.sent_away_documents_missing,
        cell(f.waiting_minutes.median),
        cell(f.waiting_minutes.p90),
        cell(f.service_minutes.median),
        cell(f.throughput_minutes.median),
        cell(f.punctuality),
        cell(f.slot_utilisation),
        f.pick_ups,
        f.refilled,
        cell(f.refill_rate),
    );
}

pub(crate) fn csv_response(body: String, name: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        body,
    )
        .into_response()
}

/// One row per day, location and service: comma-separated, `.` as decimal point, ISO dates,
/// empty cells where a figure has no cases.
#[utoipa::path(get, path = "/api/stats/export.csv", tag = "statistics", params(StatsQuery),
    responses((status = 200, content_type = "text/csv", body = String), (status = 401, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody), (status = 422, body = crate::http::error::ErrorBody)))]
pub async fn export_csv(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> Result<Response, ApiError> {
    let filter = filter(&state, q)?;
    let rows = with_stats(&state, |stats, cx| stats.day_rows(&filter, cx));
    let mut out = String::with_capacity(64 + rows.len() * 96);
    out.push_str(CSV_HEADER);
    out.push('\n');
    for r in &rows {
        csv_row(&mut out, r);
    }
    Ok(csv_response(
        out,
        &format!("schalter-{}-{}.csv", filter.from, filter.to),
    ))
}

/// The rows of the CSV export as JSON.
#[utoipa::path(get, path = "/api/stats/export.json", tag = "statistics", params(StatsQuery),
    responses((status = 200, description = "day rows"), (status = 401, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody), (status = 422, body = crate::http::error::ErrorBody)))]
pub async fn export_json(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> Result<Json<Vec<DayRow>>, ApiError> {
    let filter = filter(&state, q)?;
    Ok(Json(with_stats(&state, |stats, cx| stats.day_rows(&filter, cx))))
}

/// One open-data cell row: a month at a location for a service.
#[derive(Debug, Clone, Serialize)]
pub struct OpenRow {
    month: String,
    location: String,
    location_name: String,
    service: String,
    service_name: String,
    bookings: Option<u32>,
    cancellations: Option<u32>,
    no_shows: Option<u32>,
    walk_ins: Option<u32>,
    served: Option<u32>,
    waiting_median_min: Option<f64>,
    waiting_p90_min: Option<f64>,
    service_median_min: Option<f64>,
}

/// A count of 1–4 is withheld; zero is safe to show.
fn suppress(n: u32) -> Option<u32> {
    (n == 0 || n >= MIN_CELL).then_some(n)
}

fn suppress_spread(s: &schalter_events::stats::Spread) -> (Option<f64>, Option<f64>) {
    if s.n >= MIN_CELL {
        (s.median, s.p90)
    } else {
        (None, None)
    }
}

fn open_data_enabled(state: &AppState) -> Result<(), ApiError> {
    if state.open_data {
        Ok(())
    } else {
        Err(ApiError::NotFound(
            "this municipality does not publish open data (SCHALTER_OPEN_DATA)".into(),
        ))
    }
}

/// Whole months that are over, per location and service, suppressed.
fn open_rows(state: &AppState) -> Vec<OpenRow> {
    let names = {
        let catalogue = state.catalogue();
        let locations: BTreeMap<String, String> = catalogue
            .locations
            .iter()
            .map(|(id, l)| (id.clone(), l.name.de.clone()))
            .collect();
        let services: BTreeMap<String, String> = catalogue
            .services
            .iter()
            .map(|(id, s)| (id.clone(), s.name.de.clone()))
            .collect();
        (locations, services)
    };
    let today = Utc::now().with_timezone(&chrono_tz::Europe::Berlin).date_naive();
    let this_month = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap_or(today);
    with_stats(state, |stats, cx| {
        let first = stats
            .tickets
            .values()
            .map(|t| t.day)
            .chain(stats.bookings.values().map(|b| b.start.date_naive()))
            .min();
        let Some(first) = first else { return Vec::new() };
        let mut rows = Vec::new();
        let mut month = NaiveDate::from_ymd_opt(first.year(), first.month(), 1).unwrap_or(first);
        while month < this_month {
            let next = month + chrono::Months::new(1);
            for (location, location_name) in &names.0 {
                for (service, service_name) in &names.1 {
                    let f = stats.figures(
                        &Filter {
                            from: month,
                            to: next - Duration::days(1),
                            location: Some(location.clone()),
                            service: Some(service.clone()),
                        },
                        cx,
                    );
                    if f.bookings == 0 && f.walk_ins == 0 {
                        continue;
                    }
                    let (waiting_median_min, waiting_p90_min) = suppress_spread(&f.waiting_minutes);
                    rows.push(OpenRow {
                        month: month.format("%Y-%m").to_string(),
                        location: location.clone(),
                        location_name: location_name.clone(),
                        service: service.clone(),
                        service_name: service_name.clone(),
                        bookings: suppress(f.bookings),
                        cancellations: suppress(f.cancellations),
                        no_shows: suppress(f.no_shows),
                        walk_ins: suppress(f.walk_ins),
                        served: suppress(f.served),
                        waiting_median_min,
                        waiting_p90_min,
                        service_median_min: suppress_spread(&f.service_minutes).0,
                    });
                }
            }
            month = next;
        }
        rows
    })
}

/// The data dictionary: every column of the monthly dataset.
pub const CASE_DICTIONARY: &[(&str, &str, &str)] = &[
    ("month", "string (YYYY-MM)", "calendar month (the office's local time)"),
    ("location", "string", "stable id of the office"),
    (
        "kind",
        "string",
        "kind of application: personalausweis, reisepass, fuehrerschein, fahrzeugpapiere, or an office's own \
         (GET /api/case-kinds names them)",
    ),
    ("opened", "integer or empty", "applications taken in the month"),
    (
        "ready",
        "integer or empty",
        "applications that became ready for pick-up in the month",
    ),
    ("picked_up", "integer or empty", "documents picked up in the month"),
];

/// One published row of the monthly application counts, small counts withheld.
#[derive(serde::Serialize)]
struct CaseMonthRow {
    month: String,
    location: String,
    kind: String,
    opened: Option<u32>,
    ready: Option<u32>,
    picked_up: Option<u32>,
}

fn case_month_rows(state: &AppState) -> Vec<CaseMonthRow> {
    let tz = crate::features::office::zones(state);
    let today = Utc::now().with_timezone(&chrono_tz::Europe::Berlin).date_naive();
    let this_month = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap_or(today);
    let months = state
        .cases()
        .monthly(this_month, |location, at| at.with_timezone(&tz(location)).date_naive());
    months
        .into_iter()
        .map(|m| CaseMonthRow {
            month: m.month,
            location: m.location,
            kind: m.kind,
            opened: suppress(m.opened),
            ready: suppress(m.ready),
            picked_up: suppress(m.picked_up),
        })
        .collect()
}

/// Applications per whole month, office and kind: taken, ready, picked up (counts from 1 to 4
/// withheld).
#[utoipa::path(get, path = "/api/open-data/cases-monthly.json", tag = "open data",
    responses((status = 200, description = "dataset"), (status = 404, body = crate::http::error::ErrorBody)))]
pub async fn cases_monthly_json(State(state): State<AppState>) -> Result<Response, ApiError> {
    open_data_enabled(&state)?;
    Ok(Json(serde_json::json!({
        "licence": LICENCE,
        "licence_url": LICENCE_URL,
        "rows": case_month_rows(&state),
    }))
    .into_response())
}

/// The same as CSV.
#[utoipa::path(get, path = "/api/open-data/cases-monthly.csv", tag = "open data",
    responses((status = 200, content_type = "text/csv", body = String), (status = 404, body = crate::http::error::ErrorBody)))]
pub async fn cases_monthly_csv(State(state): State<AppState>) -> Result<Response, ApiError> {
    open_data_enabled(&state)?;
    let opt = |v: Option<u32>| v.map(|n| n.to_string()).unwrap_or_default();
    let mut out = CASE_DICTIONARY.iter().map(|(n, _, _)| *n).collect::<Vec<_>>().join(",");
    out.push('\n');
    for r in case_month_rows(&state) {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{}",
            r.month,
            r.location,
            r.kind,
            opt(r.opened),
            opt(r.ready),
            opt(r.picked_up)
        );
    }
    Ok(licensed_csv(out, "schalter-cases-monthly.csv"))
}

pub const DICTIONARY: &[(&str, &str, &str)] = &[
    ("month", "string (YYYY-MM)", "calendar month (Europe/Berlin)"),
    ("location", "string", "stable id of the office"),
    ("location_name", "string", "name of the office"),
    ("service", "string", "stable id of the service"),
    ("service_name", "string", "name of the service (German)"),
    (
        "bookings",
        "integer",
        "appointments in the month, cancelled ones included",
    ),
    ("cancellations", "integer", "appointments cancelled"),
    ("no_shows", "integer", "appointments due that nobody came to"),
    ("walk_ins", "integer", "tickets issued without an appointment"),
    ("served", "integer", "tickets served to the end"),
    (
        "waiting_median_min",
        "number",
        "median minutes from ticket to first call",
    ),
    (
        "waiting_p90_min",
        "number",
        "90th percentile (nearest rank) of the same",
    ),
    (
        "service_median_min",
        "number",
        "median minutes from call (or start) to finish",
    ),
];

#[derive(Serialize)]
struct OpenDataset {
    licence: &'static str,
    licence_url: &'static str,
    suppression: String,
    definitions: BTreeMap<&'static str, String>,
    rows: Vec<OpenRow>,
}

fn dataset(state: &AppState) -> OpenDataset {
    OpenDataset {
        licence: LICENCE,
        licence_url: LICENCE_URL,
        suppression: format!(
            "counts from 1 to {} and medians of fewer than {MIN_CELL} cases are withheld (null / empty)",
            MIN_CELL - 1
        ),
        definitions: DICTIONARY
            .iter()
            .map(|(name, kind, meaning)| (*name, format!("{kind}: {meaning}")))
            .collect(),
        rows: open_rows(state),
    }
}

/// What is published, under which licence, with the data dictionary.
#[utoipa::path(get, path = "/api/open-data", tag = "open data",
    responses((status = 200, description = "index"), (status = 404, body = crate::http::error::ErrorBody)))]
pub async fn open_data_index(State(state): State<AppState>) -> Result<Response, ApiError> {
    open_data_enabled(&state)?;
    Ok(Json(serde_json::json!({
        "licence": LICENCE,
        "licence_url": LICENCE_URL,
        "datasets": [{
            "id": "monthly",
            "title": "Termine und Wartemarken je Monat, Standort und Anliegen",
            "json": "/api/open-data/monthly.json",
            "csv": "/api/open-data/monthly.csv",
            "columns": DICTIONARY.iter().map(|(n, k, m)| serde_json::json!({"name": n, "type": k, "meaning": m})).collect::<Vec<_>>(),
        }, {
            "id": "cases-monthly",
            "title": "Anträge (Ausweise, Pässe, …) je Monat, Standort und Art: angenommen, fertig, abgeholt",
            "json": "/api/open-data/cases-monthly.json",
            "csv": "/api/open-data/cases-monthly.csv",
            "columns": CASE_DICTIONARY.iter().map(|(n, k, m)| serde_json::json!({"name": n, "type": k, "meaning": m})).collect::<Vec<_>>(),
        }],
        "suppression_min_cases": MIN_CELL,
    }))
    .into_response())
}

/// Monthly figures per office and service, anonymous and suppressed.
#[utoipa::path(get, path = "/api/open-data/monthly.json", tag = "open data",
    responses((status = 200, description = "dataset"), (status = 404, body = crate::http::error::ErrorBody)))]
pub async fn open_data_json(State(state): State<AppState>) -> Result<Response, ApiError> {
    open_data_enabled(&state)?;
    Ok(Json(dataset(&state)).into_response())
}

/// The same as CSV (the licence is in the index and in a `Link` header).
#[utoipa::path(get, path = "/api/open-data/monthly.csv", tag = "open data",
    responses((status = 200, content_type = "text/csv", body = String), (status = 404, body = crate::http::error::ErrorBody)))]
pub async fn open_data_csv(State(state): State<AppState>) -> Result<Response, ApiError> {
    open_data_enabled(&state)?;
    let rows = open_rows(&state);
    let opt = |v: Option<u32>| v.map(|n| n.to_string()).unwrap_or_default();
    let mut out = DICTIONARY.iter().map(|(n, _, _)| *n).collect::<Vec<_>>().join(",");
    out.push('\n');
    for r in rows {
        let quoted = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{}",
            r.month,
            r.location,
            quoted(&r.location_name),
            r.service,
            quoted(&r.service_name),
            opt(r.bookings),
            opt(r.cancellations),
            opt(r.no_shows),
            opt(r.walk_ins),
            opt(r.served),
            cell(r.waiting_median_min),
            cell(r.waiting_p90_min),
            cell(r.service_median_min),
        );
    }
    Ok(licensed_csv(out, "schalter-monthly.csv"))
}

/// An open-data CSV file, its licence named in a `Link` header (a CSV has no place for it).
fn licensed_csv(body: String, name: &str) -> Response {
    let mut response = csv_response(body, name);
    if let Ok(value) = format!("<{LICENCE_URL}>; rel=\"license\"").parse() {
        response.headers_mut().insert(header::LINK, value);
    }
    response
}
