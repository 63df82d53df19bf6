//! `/ticket/:token`: a walk-in's place in the line on their phone, refreshed every few seconds,
//! so they can sit down, step out, and come back in time.

use std::time::Duration;

use crate::nav::use_params_map;
use leptos::prelude::*;
use schalter_events::api::TicketStatus;
use schalter_events::queue::State;

use crate::api;
use crate::i18n::{t, text, use_lang};

const REFRESH: Duration = Duration::from_secs(10);

#[component]
pub fn TicketStatus() -> impl IntoView {
    crate::i18n::title("ticket_title");
    let params = use_params_map();
    let lang = use_lang();
    let tick = RwSignal::new(0u32);
    if let Ok(handle) = set_interval_with_handle(move || tick.update(|n| *n += 1), REFRESH) {
        on_cleanup(move || handle.clear());
    }
    // The last answer stays shown while the next one loads, so the page never flickers.
    let status = api::load(move || {
        tick.track();
        let token = params.read().get("token").unwrap_or_default();
        async move { api::get::<TicketStatus>(&format!("/api/tickets/status/{token}")).await }
    });
    view! {
        <section class="page narrow ticket-status">
            <h1>{t("ticket_title")}</h1>
            {move || match status.get() {
                None => api::loading_notice(),
                Some(Err(e)) if e.code == "not_found" => view! {
                    <p class="error" role="alert">{t("ticket_unknown")}</p>
                }.into_any(),
                Some(Err(_)) => view! { <p class="error" role="alert">{t("ticket_offline")}</p> }.into_any(),
                Some(Ok(s)) => {
                    let l = lang.get();
                    let line = match (s.state, &s.counter) {
                        (State::Called | State::InService, Some(c)) => format!("{} {c}", text(l, "ticket_go_to")),
                        (State::Finished, _) => text(l, "ticket_finished").to_owned(),
                        (State::NoShow, _) => text(l, "ticket_missed").to_owned(),
                        _ => match (s.ahead, s.estimate_minutes) {
                            (Some(0), _) => text(l, "ticket_next").to_owned(),
                            (Some(n), Some([from, to])) => format!(
                                "{} {n} · {} {from}–{to} {}",
                                text(l, "ticket_ahead"), text(l, "ticket_about"), text(l, "minutes")
                            ),
                            (Some(n), None) => format!("{} {n} · {}", text(l, "ticket_ahead"), text(l, "ticket_not_open")),
                            _ => text(l, "ticket_waiting").to_owned(),
                        },
                    };
                    let called = matches!(s.state, State::Called | State::InService);
                    view! {
                        <p class="ticket-number" data-testid="ticket-number">{s.number}</p>
                        <p class=if called { "ticket-line called" } else { "ticket-line" } role="status" aria-live="polite"
                            data-testid="ticket-line">{line}</p>
                        <p class="hint">{t("ticket_hint")}</p>
                    }.into_any()
                }
            }}
        </section>
    }
}
