//! On the desk page: today's and tomorrow's appointments at the office, where each stands, and
//! no name until the clerk asks for a contact (to call someone who is late); that look is
//! recorded with the clerk's name.

use leptos::prelude::*;
use leptos::task::spawn_local;
use schalter_events::api::{ContactView, DayEntry};
use schalter_events::booking::{Channel, DayState};

use crate::api;
use crate::i18n::{clock, local, t, text, use_lang};

/// The browser's local date `days` from today, as `YYYY-MM-DD` (the desk PC is at the office).
fn local_day(days: u32) -> String {
    let d = js_sys::Date::new_0();
    d.set_date(d.get_date() + days);
    format!("{:04}-{:02}-{:02}", d.get_full_year(), d.get_month() + 1, d.get_date())
}

fn channel_key(c: Channel) -> &'static str {
    match c {
        Channel::Online => "day_channel_online",
        Channel::Phone => "day_channel_phone",
        Channel::Desk => "day_channel_desk",
        Channel::Kiosk => "day_channel_kiosk",
    }
}

fn state_key(s: DayState) -> &'static str {
    match s {
        DayState::Unconfirmed => "day_state_unconfirmed",
        DayState::Booked => "day_state_booked",
        DayState::CheckedIn => "day_state_checked_in",
        DayState::Called => "day_state_called",
        DayState::InService => "day_state_in_service",
        DayState::Served => "day_state_served",
        DayState::NoShow => "day_state_no_show",
        DayState::Missed => "day_state_missed",
    }
}

#[component]
pub fn DayList(location: Signal<Option<String>>) -> impl IntoView {
    let lang = use_lang();
    let tomorrow = RwSignal::new(false);
    let refresh = RwSignal::new(0u32);
    let entries = api::load(move || {
        refresh.track();
        let day = local_day(u32::from(tomorrow.get()));
        let location = location.get();
        async move {
            match location {
                Some(l) => api::get::<Vec<DayEntry>>(&format!("/api/locations/{l}/appointments?day={day}")).await,
                None => Ok(Vec::new()),
            }
        }
    });
    // Contacts opened on this page, by entry.
    let contacts = RwSignal::new(Vec::<(String, ContactView)>::new());
    let show = move |id: String| {
        let Some(l) = location.get_untracked() else { return };
        spawn_local(async move {
            let path = format!("/api/locations/{l}/appointments/{id}/contact");
            if let Ok(Some(c)) = api::send::<ContactView>(&path).await {
                contacts.update(|all| all.push((id.clone(), c)));
                crate::nav::focus(&format!("contact-{id}"));
            }
        });
    };
    view! {
        // Opened: the list as it is now (a caller may just have been booked).
        <details class="day-list" on:toggle=move |_| refresh.update(|n| *n += 1)>
            <summary><h2 id="day-h">{t("day_title")}</h2></summary>
            <p class="hint">{t("day_hint")}</p>
            <fieldset class="day-pick">
                <legend class="visually-hidden">{t("day_which")}</legend>
                <div class="field check">
                    <input id="day-today" type="radio" name="day" prop:checked=move || !tomorrow.get() on:change=move |_| tomorrow.set(false)/>
                    <label for="day-today">{t("day_today")}</label>
                </div>
                <div class="field check">
                    <input id="day-tomorrow" type="radio" name="day" prop:checked=move || tomorrow.get() on:change=move |_| tomorrow.set(true)/>
                    <label for="day-tomorrow">{t("day_tomorrow")}</label>
                </div>
                <button type="button" class="button small" on:click=move |_| refresh.update(|n| *n += 1)>{t("day_refresh")}</button>
            </fieldset>
            {move || match entries.get() {
                None => api::loading_notice(),
                Some(Err(_)) => api::failed_notice(),
                Some(Ok(list)) if list.is_empty() => view! { <p data-testid="day-empty">{t("day_empty")}</p> }.into_any(),
                Some(Ok(list)) => view! {
                    <div class="day-scroll" tabindex="0" role="region" aria-labelledby="day-h">
                        <table class="day-table" data-testid="day-table">
                            <thead><tr>
                                <th scope="col">{t("day_time")}</th>
                                <th scope="col">{t("stats_service")}</th>
                                <th scope="col">{t("day_channel")}</th>
                                <th scope="col">{t("day_state")}</th>
                                <th scope="col">{t("day_ticket")}</th>
                                <th scope="col">{t("day_contact")}</th>
                            </tr></thead>
                            <tbody>
                                {list.into_iter().map(|e| {
                                    let start = e.start.as_str().to_owned();
                                    let id = e.id.clone();
                                    let shown = move || contacts.with(|all| all.iter().find(|(i, _)| *i == id).map(|(_, c)| c.clone()));
                                    let id = e.id.clone();
                                    let cell_id = format!("contact-{}", e.id);
                                    view! {
                                        <tr data-state=format!("{:?}", e.state)>
                                            <td class="day-time">{move || clock(lang.get(), &start)}</td>
                                            <td>{local(e.service_name.clone())}</td>
                                            <td>{t(channel_key(e.channel))}</td>
                                            <td>{t(state_key(e.state))}</td>
                                            <td class="day-ticket">{e.ticket.clone().unwrap_or_default()}</td>
                                            <td id=cell_id tabindex="-1">{move || match shown() {
                                                Some(c) => view! {
                                                    <span class="day-contact">{c.name}<br/>{c.email}
                                                        {c.phone.map(|p| view! { <br/>{p} })}</span>
                                                }.into_any(),
                                                None => {
                                                    let id = id.clone();
                                                    view! {
                                                        <button type="button" class="button small" on:click=move |_| show(id.clone())>
                                                            {move || text(lang.get(), "day_show_contact")}
                                                        </button>
                                                    }.into_any()
                                                }
                                            }}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any(),
            }}
        </details>
    }
}
