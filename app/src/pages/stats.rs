//! `/stats`: the manager's evaluation. A period with the previous one beside it, office and
//! service filters, the key figures, four charts (each an SVG with a title and description and
//! a data table beside it for screen readers and spreadsheets), exports, and a printable report
//! with one page per office. No figure is ever about one member of staff.

use chrono::{Datelike, Duration, NaiveDate};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use schalter_events::case::CaseFigures;
use schalter_events::catalogue::{Location, Service};
use schalter_events::stats::{Figures, Spread, Summary};

use super::login::StaffPage;
use crate::api;
use crate::i18n::{local, t, text, use_lang, Lang};
use schalter_events::staff::Role;

#[derive(Clone, Debug, Default, PartialEq)]
struct Query {
    from: String,
    to: String,
    location: String,
    service: String,
}

impl Query {
    fn string(&self) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("from", &self.from),
            ("to", &self.to),
            ("location", &self.location),
            ("service", &self.service),
        ] {
            if !v.is_empty() {
                parts.push(format!("{k}={v}"));
            }
        }
        parts.join("&")
    }
}

#[component]
pub fn Stats() -> impl IntoView {
    crate::i18n::title("stats_title");
    view! {
        <StaffPage class="page stats" title="stats_title" heading="stats-h"
            allowed=|role| matches!(role, Role::Manager | Role::Admin)
            page=|_, _| view! { <Dashboard/> }.into_any()/>
    }
}

#[component]
fn Dashboard() -> impl IntoView {
    let lang = use_lang();
    let query = RwSignal::new(Query::default());
    let draft = RwSignal::new(Query::default());
    let report = RwSignal::new(false);
    let locations = api::load(|| async { api::get::<Vec<Location>>("/api/locations").await.unwrap_or_default() });
    let services = api::load(|| async { api::get::<Vec<Service>>("/api/services").await.unwrap_or_default() });
    let summary = api::load(move || fetch_summary(query.get()));
    // The server picks the default period; show it in the form.
    Effect::new(move |_| {
        if let Some(Ok(s)) = summary.get() {
            draft.update(|d| {
                d.from = s.filter.from.to_string();
                d.to = s.filter.to.to_string();
            });
        }
    });
    let apply = move |ev: SubmitEvent| {
        ev.prevent_default();
        query.set(draft.get_untracked());
    };
    let preset = move |days: i64| {
        let to = parse_day(&draft.get_untracked().to);
        if let Some(to) = to {
            let q = Query {
                from: (to - Duration::days(days - 1)).to_string(),
                to: to.to_string(),
                ..draft.get_untracked()
            };
            draft.set(q.clone());
            query.set(q);
        }
    };
    let export = move |kind: &str| format!("/api/stats/export.{kind}?{}", query.get().string());
    view! {
        <h1 id="stats-h">{t("stats_title")}</h1>
        <form class="stats-filter no-print" on:submit=apply aria-label=t("stats_filter")>
            <label>{t("stats_from")}
                <input type="date" name="from" prop:value=move || draft.get().from
                    on:change=move |ev| draft.update(|d| d.from = event_target_value(&ev))/>
            </label>
            <label>{t("stats_to")}
                <input type="date" name="to" prop:value=move || draft.get().to
                    on:change=move |ev| draft.update(|d| d.to = event_target_value(&ev))/>
            </label>
            <label>{t("stats_location")}
                <select name="location" on:change=move |ev| draft.update(|d| d.location = event_target_value(&ev))>
                    <option value="">{t("stats_all")}</option>
                    {move || locations.get().unwrap_or_default().into_iter().map(|l| {
                        let name = l.name.clone();
                        view! { <option value=l.id.clone()>{local(name)}</option> }
                    }).collect_view()}
                </select>
            </label>
            <label>{t("stats_service")}
                <select name="service" on:change=move |ev| draft.update(|d| d.service = event_target_value(&ev))>
                    <option value="">{t("stats_all")}</option>
                    {move || {
                        let here = draft.get().location;
                        services.get().unwrap_or_default().into_iter()
                            .filter(|s| here.is_empty() || s.locations.contains(&here))
                            .map(|s| {
                                let name = s.name.clone();
                                view! { <option value=s.id.clone()>{local(name)}</option> }
                            }).collect_view()
                    }}
                </select>
            </label>
            <button type="submit" class="button primary">{t("stats_show")}</button>
            <div class="stats-presets" role="group" aria-label=t("stats_presets")>
                <button type="button" class="button" on:click=move |_| preset(28)>{t("stats_4_weeks")}</button>
                <button type="button" class="button" on:click=move |_| preset(91)>{t("stats_quarter")}</button>
                <button type="button" class="button" on:click=move |_| preset(365)>{t("stats_year")}</button>
            </div>
        </form>
        <p class="stats-actions no-print">
            <a class="button" href=move || export("csv") download="">{t("stats_csv")}</a>
            <a class="button" href=move || export("json")>{t("stats_json")}</a>
            <button type="button" class="button" on:click=move |_| report.update(|r| *r = !*r)>
                {move || if report.get() { text(lang.get(), "stats_dashboard") } else { text(lang.get(), "stats_report") }}
            </button>
        </p>
        {move || if report.get() {
            view! { <Report query=query.get() locations=locations.get().unwrap_or_default()/> }.into_any()
        } else {
            summary_view(summary, "all".to_owned()).into_any()
        }}
        <Applications query/>
        <details class="stats-help">
            <summary>{t("stats_help_title")}</summary>
            <p>{t("stats_help_staff")}</p>
            <p>{t("stats_help_definitions")}</p>
        </details>
    }
}

/// The applications opened in the period: how many of each kind, where they stand now, how
/// long they took (never who handled them).
#[component]
fn Applications(query: RwSignal<Query>) -> impl IntoView {
    let lang = use_lang();
    let figures = api::load(move || {
        let q = query.get();
        async move { api::get::<CaseFigures>(&format!("/api/stats/cases?{}", q.string())).await }
    });
    view! {
        <section class="stats-cases" aria-labelledby="stats-cases-h">
            <h2 id="stats-cases-h">{t("stats_cases_title")}</h2>
            {move || match figures.get() {
                None => api::loading_notice(),
                Some(Err(_)) => api::failed_notice(),
                Some(Ok(f)) if f.opened == 0 => view! { <p>{t("stats_cases_none")}</p> }.into_any(),
                Some(Ok(f)) => {
                    let days = |s: &Spread| s.median.map(|d| number(lang.get(), d, 1)).unwrap_or_else(|| "–".into());
                    view! {
                        <table class="stats-cases-table" data-testid="stats-cases">
                            <tbody>
                                <tr><th scope="row">{t("stats_cases_opened")}</th><td>{f.opened}</td></tr>
                                {f.by_kind.into_iter().map(|k| view! {
                                    <tr><th scope="row">{local(k.name)}</th><td>{k.count}</td></tr>
                                }).collect_view()}
                                {f.by_step.into_iter().map(|s| view! {
                                    <tr><th scope="row">{t("stats_cases_now")}" "{t(super::case::step_key(s.step))}</th><td>{s.count}</td></tr>
                                }).collect_view()}
                                <tr><th scope="row">{t("stats_cases_days_ready")}</th><td>{days(&f.days_to_ready)}</td></tr>
                                <tr><th scope="row">{t("stats_cases_days_pick_up")}</th><td>{days(&f.days_to_pick_up)}</td></tr>
                            </tbody>
                        </table>
                    }.into_any()
                }
            }}
        </section>
    }
}

async fn fetch_summary(query: Query) -> Result<Summary, api::ApiError> {
    api::get(&format!("/api/stats/summary?{}", query.string())).await
}

/// The figures once they are there (`prefix` keeps the element ids of several apart), or the
/// server's reason why not.
fn summary_view(summary: api::Answer<Summary>, prefix: String) -> impl IntoView {
    move || match summary.get() {
        None => api::loading_notice(),
        Some(Ok(s)) => view! { <Overview summary=s prefix=prefix.clone()/> }.into_any(),
        Some(Err(e)) => view! { <p class="error" role="alert">{e.message}</p> }.into_any(),
    }
}

/// The printable report: one section (one printed page) per office.
#[component]
fn Report(query: Query, locations: Vec<Location>) -> impl IntoView {
    let sections = locations
        .into_iter()
        .filter(|l| query.location.is_empty() || query.location == l.id)
        .map(|l| {
            let q = Query {
                location: l.id.clone(),
                ..query.clone()
            };
            let summary = api::load(move || fetch_summary(q.clone()));
            view! {
                <section class="stats-report-page">
                    <h2>{local(l.name)}</h2>
                    {summary_view(summary, l.id)}
                </section>
            }
        })
        .collect_view();
    view! {
        <p class="no-print"><button type="button" class="button primary" on:click=move |_| {
            if let Some(w) = web_sys::window() { let _ = w.print(); }
        }>{t("stats_print")}</button></p>
        {sections}
    }
}

fn number(lang: Lang, v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    if lang == Lang::De {
        s.replace('.', ",")
    } else {
        s
    }
}

fn percent(lang: Lang, v: Option<f64>) -> String {
    v.map(|v| format!("{} %", number(lang, v * 100.0, 1)))
        .unwrap_or_else(|| "–".into())
}

fn minutes(lang: Lang, v: Option<f64>) -> String {
    v.map(|v| format!("{} min", number(lang, v, 1)))
        .unwrap_or_else(|| "–".into())
}

/// One key figure: (label key, this period, previous period).
fn cards(lang: Lang, f: &Figures, p: &Figures) -> Vec<(&'static str, String, String)> {
    let count = |n: u32| n.to_string();
    let spread = |s: &Spread| minutes(lang, s.median);
    vec![
        ("fig_bookings", count(f.bookings), count(p.bookings)),
        ("fig_walk_ins", count(f.walk_ins), count(p.walk_ins)),
        ("fig_pick_ups", count(f.pick_ups), count(p.pick_ups)),
        (
            "fig_online_share",
            percent(lang, f.online_share),
            percent(lang, p.online_share),
        ),
        (
            "fig_no_show_rate",
            percent(lang, f.no_show_rate),
            percent(lang, p.no_show_rate),
        ),
        ("fig_cancellations", count(f.cancellations), count(p.cancellations)),
        (
            "fig_refill_rate",
            percent(lang, f.refill_rate),
            percent(lang, p.refill_rate),
        ),
        (
            "fig_waiting_median",
            spread(&f.waiting_minutes),
            spread(&p.waiting_minutes),
        ),
        (
            "fig_waiting_p90",
            minutes(lang, f.waiting_minutes.p90),
            minutes(lang, p.waiting_minutes.p90),
        ),
        (
            "fig_service_median",
            spread(&f.service_minutes),
            spread(&p.service_minutes),
        ),
        (
            "fig_throughput_median",
            spread(&f.throughput_minutes),
            spread(&p.throughput_minutes),
        ),
        (
            "fig_punctuality",
            percent(lang, f.punctuality),
            percent(lang, p.punctuality),
        ),
        (
            "fig_utilisation",
            percent(lang, f.slot_utilisation),
            percent(lang, p.slot_utilisation),
        ),
        ("fig_abandoned", count(f.abandoned), count(p.abandoned)),
        (
            "fig_sent_away",
            count(f.sent_away_documents_missing),
            count(p.sent_away_documents_missing),
        ),
    ]
}

const WEEKDAYS_DE: [&str; 7] = ["Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"];
const WEEKDAYS_EN: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

#[component]
fn Overview(summary: Summary, prefix: String) -> impl IntoView {
    let lang = use_lang();
    let s = StoredValue::new(summary);
    let id = move |chart: &str| format!("{prefix}-{chart}");
    let (hours_id, weeks_id, noshow_id, heat_id) = (id("hours"), id("weeks"), id("noshow"), id("heat"));
    view! {
        <p class="stats-period">{move || {
            let f = &s.get_value().filter;
            let prev = f.previous();
            let d = |day: NaiveDate| format!("{}{}", day_month(day), day.year());
            format!("{} {} – {} · {} {} – {}", text(lang.get(), "stats_period"), d(f.from), d(f.to),
                text(lang.get(), "stats_previous"), d(prev.from), d(prev.to))
        }}</p>
        <ul class="stats-cards">
            {move || cards(lang.get(), &s.get_value().figures, &s.get_value().previous).into_iter().map(|(key, now, before)| view! {
                <li class="stats-card">
                    <span class="stats-card-label">{t(key)}</span>
                    <span class="stats-card-value" data-figure=key>{now}</span>
                    <span class="stats-card-previous">{t("stats_previous")}": "{before}</span>
                </li>
            }).collect_view()}
        </ul>
        <div class="stats-charts">
            <figure class="chart">
                <figcaption>{t("chart_waiting_by_hour")}</figcaption>
                <div inner_html=move || waiting_chart(lang.get(), &s.get_value(), &hours_id)></div>
                <details><summary>{t("stats_table")}</summary>
                    <table><thead><tr><th scope="col">{t("stats_hour")}</th><th scope="col">{t("stats_arrivals")}</th>
                        <th scope="col">{t("fig_waiting_median")}</th></tr></thead>
                    <tbody>{move || s.get_value().by_hour.into_iter().map(|h| view! {
                        <tr><th scope="row">{format!("{:02}:00", h.hour)}</th><td>{h.arrivals}</td>
                            <td>{minutes(lang.get(), h.waiting_minutes.median)}</td></tr>
                    }).collect_view()}</tbody></table>
                </details>
            </figure>
            <figure class="chart">
                <figcaption>{t("chart_bookings_walk_ins")}</figcaption>
                <div inner_html=move || weeks_chart(lang.get(), &s.get_value(), &weeks_id)></div>
                {move || partial_note(&s.get_value())}
                <details><summary>{t("stats_table")}</summary>
                    <table><thead><tr><th scope="col">{t("stats_week")}</th><th scope="col">{t("fig_bookings")}</th>
                        <th scope="col">{t("fig_walk_ins")}</th><th scope="col">{t("fig_no_show_rate")}</th></tr></thead>
                    <tbody>{move || s.get_value().by_week.into_iter().map(|w| view! {
                        <tr><th scope="row">{w.week.to_string()}</th><td>{w.bookings}</td><td>{w.walk_ins}</td>
                            <td>{percent(lang.get(), w.no_show_rate)}</td></tr>
                    }).collect_view()}</tbody></table>
                </details>
            </figure>
            <figure class="chart">
                <figcaption>{t("chart_no_show_trend")}</figcaption>
                <div inner_html=move || no_show_chart(lang.get(), &s.get_value(), &noshow_id)></div>
                {move || partial_note(&s.get_value())}
            </figure>
            <figure class="chart">
                <figcaption>{t("chart_heatmap")}</figcaption>
                <div inner_html=move || heatmap(lang.get(), &s.get_value(), &heat_id)></div>
                <details><summary>{t("stats_table")}</summary>
                    <table><thead><tr><th scope="col">{t("stats_weekday")}</th><th scope="col">{t("stats_hour")}</th>
                        <th scope="col">{t("stats_arrivals")}</th></tr></thead>
                    <tbody>{move || s.get_value().heatmap.into_iter().map(|c| view! {
                        <tr><th scope="row">{weekday(lang.get(), c.weekday)}</th><td>{format!("{:02}:00", c.hour)}</td><td>{c.arrivals}</td></tr>
                    }).collect_view()}</tbody></table>
                </details>
            </figure>
        </div>
    }
}

/// `YYYY-MM-DD`, by hand: chrono's format parser would cost the bundle tens of kilobytes.
fn parse_day(s: &str) -> Option<NaiveDate> {
    let mut parts = s.splitn(3, '-').map(|p| p.parse::<u32>().ok());
    let (y, m, d) = (parts.next()??, parts.next()??, parts.next()??);
    NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d)
}

fn day_month(d: NaiveDate) -> String {
    format!("{:02}.{:02}.", d.day(), d.month())
}

fn weekday(lang: Lang, n: u32) -> &'static str {
    let i = (n.clamp(1, 7) - 1) as usize;
    if lang == Lang::De {
        WEEKDAYS_DE[i]
    } else {
        WEEKDAYS_EN[i]
    }
}

const W: f64 = 640.0;
const H: f64 = 240.0;
const LEFT: f64 = 48.0;
const BOTTOM: f64 = 28.0;
/// Room above the top grid line for the legend's row (15 px text).
const TOP: f64 = 26.0;

/// The top of the y axis: four steps of 1, 2 or 5 × 10ⁿ, so the grid lines read well.
fn nice_max(max: f64) -> f64 {
    let raw = (max / 4.0).max(0.25);
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    step * 4.0
}

/// The frame every chart shares: accessible name and description, axis, and a y scale.
fn frame(id: &str, title: &str, desc: &str, max: f64, unit: &str, body: &str) -> String {
    let mut grid = String::new();
    for i in 0..=4 {
        let v = max * f64::from(i) / 4.0;
        let y = H - BOTTOM - (H - BOTTOM - TOP) * f64::from(i) / 4.0;
        grid.push_str(&format!(
            r#"<line class="grid" x1="{LEFT}" x2="{W}" y1="{y:.1}" y2="{y:.1}"/><text class="axis" x="{:.1}" y="{:.1}" text-anchor="end">{}{unit}</text>"#,
            LEFT - 6.0,
            y + 4.0,
            if max >= 10.0 { format!("{v:.0}") } else { format!("{v:.1}") }
        ));
    }
    format!(
        r#"<svg viewBox="0 0 {W} {H}" role="img" aria-labelledby="{id}-t {id}-d" class="chart-svg"><title id="{id}-t">{title}</title><desc id="{id}-d">{desc}</desc>{grid}{body}</svg>"#
    )
}

fn waiting_chart(lang: Lang, s: &Summary, id: &str) -> String {
    // Every hour from the first to the last with arrivals, empty ones too: an axis that skips
    // an hour draws 10:00 next to 12:00 as if they followed each other.
    let (first, last) = s
        .by_hour
        .iter()
        .fold((23, 0), |(a, b), h| (a.min(h.hour), b.max(h.hour)));
    let rows: Vec<_> = (first..=last)
        .map(|hour| {
            s.by_hour
                .iter()
                .find(|h| h.hour == hour)
                .cloned()
                .unwrap_or(schalter_events::stats::HourRow {
                    hour,
                    ..Default::default()
                })
        })
        .collect();
    let max = rows
        .iter()
        .filter_map(|h| h.waiting_minutes.median)
        .fold(5.0_f64, f64::max);
    let max = nice_max(max);
    let slot = (W - LEFT) / rows.len().max(1) as f64;
    let mut body = String::new();
    let mut desc = Vec::new();
    for (i, h) in rows.iter().enumerate() {
        let x = LEFT + slot * i as f64;
        let value = h.waiting_minutes.median.unwrap_or(0.0);
        let height = (H - BOTTOM - TOP) * value / max;
        body.push_str(&format!(
            r#"<rect class="bar" x="{:.1}" y="{:.1}" width="{:.1}" height="{height:.1}"/><text class="axis" x="{:.1}" y="{:.1}" text-anchor="middle">{:02}</text>"#,
            x + slot * 0.15,
            H - BOTTOM - height,
            slot * 0.7,
            x + slot / 2.0,
            H - 8.0,
            h.hour
        ));
        desc.push(format!("{:02}:00 {}", h.hour, minutes(lang, h.waiting_minutes.median)));
    }
    frame(
        id,
        text(lang, "chart_waiting_by_hour"),
        &desc.join(", "),
        max,
        "",
        &body,
    )
}

fn weeks_chart(lang: Lang, s: &Summary, id: &str) -> String {
    let rows = &s.by_week;
    let max = rows
        .iter()
        .map(|w| w.bookings.max(w.walk_ins))
        .max()
        .unwrap_or(0)
        .max(5) as f64;
    let max = nice_max(max);
    let slot = (W - LEFT) / rows.len().max(1) as f64;
    let mut body = String::new();
    let mut desc = Vec::new();
    for (i, w) in rows.iter().enumerate() {
        let x = LEFT + slot * i as f64;
        let partial = partial_week(s, w.week);
        for (j, (value, class)) in [(w.bookings, "bar"), (w.walk_ins, "bar second")].iter().enumerate() {
            let height = (H - BOTTOM - TOP) * f64::from(*value) / max;
            body.push_str(&format!(
                r#"<rect class="{class}{}" x="{:.1}" y="{:.1}" width="{:.1}" height="{height:.1}"/>"#,
                if partial { " partial" } else { "" },
                x + slot * (0.1 + 0.4 * j as f64),
                H - BOTTOM - height,
                slot * 0.38,
            ));
        }
        body.push_str(&format!(
            r#"<text class="axis" x="{:.1}" y="{:.1}" text-anchor="middle">{}{}</text>"#,
            x + slot / 2.0,
            H - 8.0,
            day_month(w.week),
            if partial { "*" } else { "" }
        ));
        desc.push(format!(
            "{}: {} {}, {} {}",
            w.week,
            w.bookings,
            text(lang, "fig_bookings"),
            w.walk_ins,
            text(lang, "fig_walk_ins")
        ));
    }
    let legend = format!(
        r#"<rect class="bar" x="{LEFT}" y="2" width="12" height="12"/><text class="axis" x="{}" y="13">{}</text><rect class="bar second" x="{}" y="2" width="12" height="12"/><text class="axis" x="{}" y="13">{}</text>"#,
        LEFT + 16.0,
        text(lang, "fig_bookings"),
        LEFT + 160.0,
        LEFT + 176.0,
        text(lang, "fig_walk_ins")
    );
    frame(
        id,
        text(lang, "chart_bookings_walk_ins"),
        &desc.join("; "),
        max,
        "",
        &(legend + &body),
    )
}

/// A week the period covers only in part (its start or the current week): marked, so a short
/// week does not look like a collapse in demand.
fn partial_week(s: &Summary, monday: NaiveDate) -> bool {
    monday < s.filter.from || monday + Duration::days(6) > s.filter.to
}

/// The note under a weekly chart when one of its weeks is partial.
fn partial_note(s: &Summary) -> Option<impl IntoView> {
    s.by_week
        .iter()
        .any(|w| partial_week(s, w.week))
        .then(|| view! { <p class="chart-note">{t("chart_partial_week")}</p> })
}

fn no_show_chart(lang: Lang, s: &Summary, id: &str) -> String {
    let rows = &s.by_week;
    let max = rows.iter().filter_map(|w| w.no_show_rate).fold(0.1_f64, f64::max) * 100.0;
    let max = nice_max(max);
    let slot = (W - LEFT) / rows.len().max(1) as f64;
    let mut points = Vec::new();
    let mut body = String::new();
    let mut desc = Vec::new();
    for (i, w) in rows.iter().enumerate() {
        let x = LEFT + slot * i as f64 + slot / 2.0;
        if let Some(rate) = w.no_show_rate {
            let y = H - BOTTOM - (H - BOTTOM - TOP) * rate * 100.0 / max;
            points.push(format!("{x:.1},{y:.1}"));
            body.push_str(&format!(r#"<circle class="dot" cx="{x:.1}" cy="{y:.1}" r="4"/>"#));
        }
        body.push_str(&format!(
            r#"<text class="axis" x="{x:.1}" y="{:.1}" text-anchor="middle">{}{}</text>"#,
            H - 8.0,
            day_month(w.week),
            if partial_week(s, w.week) { "*" } else { "" }
        ));
        desc.push(format!("{}: {}", w.week, percent(lang, w.no_show_rate)));
    }
    let line = format!(r#"<polyline class="line" points="{}"/>"#, points.join(" "));
    frame(
        id,
        text(lang, "chart_no_show_trend"),
        &desc.join(", "),
        max,
        "%",
        &(line + &body),
    )
}

fn heatmap(lang: Lang, s: &Summary, id: &str) -> String {
    let cells = &s.heatmap;
    let (first, last) = cells.iter().fold((23, 0), |(a, b), c| (a.min(c.hour), b.max(c.hour)));
    let (first, last) = if cells.is_empty() { (7, 18) } else { (first, last) };
    let hours = (last - first + 1) as f64;
    let max = cells.iter().map(|c| c.arrivals).max().unwrap_or(1).max(1) as f64;
    let (cw, ch) = ((W - LEFT) / hours, (H - BOTTOM - TOP) / 7.0);
    let mut body = String::new();
    for day in 1..=7u32 {
        body.push_str(&format!(
            r#"<text class="axis" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            LEFT - 6.0,
            TOP + ch * (day as f64 - 0.5) + 4.0,
            weekday(lang, day)
        ));
    }
    for h in first..=last {
        body.push_str(&format!(
            r#"<text class="axis" x="{:.1}" y="{:.1}" text-anchor="middle">{h:02}</text>"#,
            LEFT + cw * (f64::from(h - first) + 0.5),
            H - 8.0
        ));
    }
    let mut busiest = None;
    for c in cells {
        let opacity = 0.12 + 0.88 * f64::from(c.arrivals) / max;
        body.push_str(&format!(
            r#"<rect class="heat" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill-opacity="{opacity:.2}"/>"#,
            LEFT + cw * f64::from(c.hour - first) + 1.0,
            TOP + ch * (c.weekday as f64 - 1.0) + 1.0,
            cw - 2.0,
            ch - 2.0,
        ));
        if busiest.is_none_or(|(n, _, _)| c.arrivals > n) {
            busiest = Some((c.arrivals, c.weekday, c.hour));
        }
    }
    let desc = busiest
        .map(|(n, d, h)| format!("{} {} {h:02}:00 ({n})", text(lang, "chart_busiest"), weekday(lang, d)))
        .unwrap_or_default();
    // The legend: from the palest cell (few arrivals) to the darkest (the busiest hour's count).
    let legend_y = H + 8.0;
    body.push_str(&format!(
        r#"<text class="axis" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
        LEFT + 92.0,
        legend_y + 13.0,
        text(lang, "chart_fewer")
    ));
    for i in 0..5 {
        body.push_str(&format!(
            r#"<rect class="heat" x="{:.1}" y="{legend_y:.1}" width="22" height="16" fill-opacity="{:.2}"/>"#,
            LEFT + 100.0 + 24.0 * f64::from(i),
            0.12 + 0.22 * f64::from(i)
        ));
    }
    body.push_str(&format!(
        r#"<text class="axis" x="{:.1}" y="{:.1}">{} ({max:.0})</text>"#,
        LEFT + 228.0,
        legend_y + 13.0,
        text(lang, "chart_more")
    ));
    format!(
        r#"<svg viewBox="0 0 {W} {}" role="img" aria-labelledby="{id}-t {id}-d" class="chart-svg"><title id="{id}-t">{}</title><desc id="{id}-d">{desc}</desc>{body}</svg>"#,
        H + 30.0,
        text(lang, "chart_heatmap")
    )
}
