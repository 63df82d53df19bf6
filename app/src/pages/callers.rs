//! On the desk page: booking for a caller who has no internet (on the phone or at the counter).
//! The clerk picks a service and one of the next free times, types the caller's name (and an
//! address or mobile number only where given), books, and reads out the code and the kiosk
//! number, or prints them.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use schalter_events::api::{Availability, BookingView, CallerBookingRequest, CallerChannel, LocalTime};
use schalter_events::catalogue::{Location, Service};

use crate::api;
use crate::i18n::{clock, error_text, long_date, short_date, t, use_lang};

/// How far ahead the desk looks for free times.
const DAYS_AHEAD: u32 = 28;

#[derive(Clone, Default)]
struct CallerForm {
    /// Search every office offering the service, not only the workstation's.
    everywhere: bool,
    service: String,
    /// The office of the chosen time.
    at: String,
    start: String,
    name: String,
    email: String,
    phone: String,
    at_the_counter: bool,
}

/// Booking for a caller at `location`, folded away until the clerk needs it.
#[component]
pub fn CallerBooking(location: Signal<Option<String>>, services: api::Answer<Vec<Service>>) -> impl IntoView {
    let lang = use_lang();
    let form = RwSignal::new(CallerForm::default());
    let booked = RwSignal::new(None::<BookingView>);
    let error: api::FormError = RwSignal::new(None);
    let sending = RwSignal::new(false);
    // Bumped after each booking: the time just taken may be gone.
    let refresh = RwSignal::new(0u32);
    let offices = api::load(|| async { api::get::<Vec<Location>>("/api/locations").await.unwrap_or_default() });
    let here = move || {
        let location = location.get().unwrap_or_default();
        let everywhere = form.with(|f| f.everywhere);
        services
            .get()
            .and_then(Result::ok)
            .unwrap_or_default()
            .into_iter()
            .filter(|s| s.bookable_online && (everywhere || s.locations.contains(&location)))
            .collect::<Vec<_>>()
    };
    // Free times of the chosen service at the workstation's office, or at every office offering
    // it: (office, slot), in time order.
    let times = api::load(move || {
        refresh.track();
        let (location, service, everywhere) = (
            location.get(),
            form.with(|f| f.service.clone()),
            form.with(|f| f.everywhere),
        );
        let places: Vec<String> = match (&location, everywhere) {
            (_, true) => services
                .get_untracked()
                .and_then(Result::ok)
                .unwrap_or_default()
                .into_iter()
                .find(|s| s.id == service)
                .map(|s| s.locations)
                .unwrap_or_default(),
            (Some(l), false) => vec![l.clone()],
            (None, false) => Vec::new(),
        };
        async move {
            if service.is_empty() {
                return Ok(Vec::new());
            }
            let today = String::from(js_sys::Date::new_0().to_iso_string())
                .chars()
                .take(10)
                .collect::<String>();
            let mut all = Vec::new();
            for l in places {
                let url =
                    format!("/api/desk/availability?location={l}&service={service}&from={today}&days={DAYS_AHEAD}");
                let free = api::get::<Availability>(&url).await?;
                all.extend(free.slots.into_iter().filter(|s| s.free > 0).map(|s| (l.clone(), s)));
            }
            all.sort_by(|a, b| a.1.start.cmp(&b.1.start));
            Ok::<_, api::ApiError>(all)
        }
    });
    let office_name = move |id: &str| {
        offices
            .get()
            .unwrap_or_default()
            .into_iter()
            .find(|o| o.id == id)
            .map(|o| o.name.get(lang.get().code()).to_owned())
            .unwrap_or_default()
    };
    let edit = move |change: fn(&mut CallerForm, String)| {
        move |ev: leptos::ev::Event| {
            let value = event_target_value(&ev);
            form.update(|f| change(f, value));
            error.set(None);
        }
    };
    let wrong = move |field| api::invalid_if(error, field);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if sending.get_untracked() {
            return;
        }
        let f = form.get_untracked();
        let Some(location) = Some(f.at.clone())
            .filter(|a| !a.is_empty())
            .or(location.get_untracked())
        else {
            return;
        };
        for (value, field) in [(&f.service, "service"), (&f.start, "start"), (&f.name, "name")] {
            if value.trim().is_empty() {
                error.set(Some((format!("caller_missing_{field}"), Some(field.to_owned()))));
                crate::nav::focus(&format!("caller-{field}"));
                return;
            }
        }
        let optional = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        let request = CallerBookingRequest {
            location,
            service: f.service.clone(),
            start: LocalTime::from(f.start.clone()),
            name: f.name.trim().to_owned(),
            email: optional(&f.email),
            phone: optional(&f.phone),
            channel: if f.at_the_counter {
                CallerChannel::Desk
            } else {
                CallerChannel::Phone
            },
        };
        sending.set(true);
        spawn_local(async move {
            match api::post::<BookingView>("/api/desk/bookings", &request).await {
                Ok(view) => {
                    booked.set(Some(view));
                    refresh.update(|n| *n += 1);
                    form.update(|f| {
                        *f = CallerForm {
                            service: f.service.clone(),
                            everywhere: f.everywhere,
                            at_the_counter: f.at_the_counter,
                            ..CallerForm::default()
                        }
                    });
                    crate::nav::focus("caller-booked");
                }
                Err(e) => {
                    if let Some(field) = &e.field {
                        crate::nav::focus(&format!("caller-{field}"));
                    }
                    let code = match e.field.as_deref() {
                        Some(f @ ("name" | "email" | "phone")) => format!("{}_{f}", e.code),
                        _ => e.code,
                    };
                    error.set(Some((code, e.field)));
                }
            }
            sending.set(false);
        });
    };
    view! {
        <details class="caller-booking">
            <summary><h2 id="caller-h">{t("caller_title")}</h2></summary>
            <p class="hint">{t("caller_hint")}</p>
            {move || location.get().is_none().then(|| view! { <p class="hint">{t("caller_pick_office")}</p> })}
            {move || booked.get().map(|b| {
                let (day, start) = (b.start.as_str().to_owned(), b.start.as_str().to_owned());
                view! {
                    <div class="caller-booked" id="caller-booked" tabindex="-1" data-testid="caller-booked">
                        <p><strong>{t("caller_booked")}</strong>" "{move || long_date(lang.get(), &day)}", "{move || clock(lang.get(), &start)}</p>
                        <p>{t("caller_code")}" "<span class="code" data-testid="caller-code">{b.code.clone().unwrap_or_default()}</span></p>
                        <p>{t("caller_number")}" "<strong data-testid="caller-number">{b.check_in_number.clone().unwrap_or_default()}</strong></p>
                        <button type="button" class="button no-print" on:click=move |_| { let _ = window().print(); }>{t("caller_print")}</button>
                    </div>
                }
            })}
            <form class="caller-form" on:submit=submit novalidate>
                <div class="field check">
                    <input id="caller-everywhere" type="checkbox" prop:checked=move || form.with(|f| f.everywhere)
                        on:change=move |ev| { let on = event_target_checked(&ev); form.update(|f| { f.everywhere = on; f.start.clear(); f.at.clear(); }); }/>
                    <label for="caller-everywhere">{t("caller_everywhere")}</label>
                </div>
                <div class="field">
                    <label for="caller-service">{t("stats_service")}</label>
                    <select id="caller-service" aria-invalid=wrong("service") on:change=edit(|f, v| { f.service = v; f.start.clear(); })>
                        <option value="">{t("caller_choose")}</option>
                        {move || here().into_iter().map(|s| {
                            let id = s.id.clone();
                            let selected = move || form.with(|f| f.service == id);
                            view! { <option value=s.id.clone() selected=selected>{s.name.get(lang.get().code()).to_owned()}</option> }
                        }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="caller-start">{t("caller_time")}</label>
                    <select id="caller-start" aria-invalid=wrong("start")
                        prop:value=move || form.with(|f| if f.start.is_empty() { String::new() } else { format!("{}|{}", f.at, f.start) })
                        on:change=edit(|f, v| {
                            let (at, start) = v.split_once('|').unwrap_or(("", ""));
                            f.at = at.to_owned();
                            f.start = start.to_owned();
                        })>
                        <option value="">{t("caller_choose")}</option>
                        {move || {
                            let everywhere = form.with(|f| f.everywhere);
                            times.get().and_then(Result::ok).unwrap_or_default().into_iter().map(|(at, slot)| {
                                let start = slot.start.as_str().to_owned();
                                let (weekday, date) = short_date(lang.get(), &start);
                                let when = format!("{weekday} {date}, {}", clock(lang.get(), &start));
                                let label = if everywhere { format!("{}: {when}", office_name(&at)) } else { when };
                                let selected = form.with(|f| f.start == start && f.at == at);
                                view! { <option value=format!("{at}|{start}") selected=selected>{label}</option> }
                            }).collect_view()
                        }}
                    </select>
                </div>
                <div class="field">
                    <label for="caller-name">{t("name")}</label>
                    <input id="caller-name" type="text" maxlength="100" autocomplete="off" aria-invalid=wrong("name")
                        prop:value=move || form.with(|f| f.name.clone()) on:input=edit(|f, v| f.name = v)/>
                </div>
                <div class="field">
                    <label for="caller-email">{t("caller_email")}</label>
                    <input id="caller-email" type="email" autocomplete="off" aria-invalid=wrong("email")
                        prop:value=move || form.with(|f| f.email.clone()) on:input=edit(|f, v| f.email = v)/>
                </div>
                <div class="field">
                    <label for="caller-phone">{t("caller_phone")}</label>
                    <input id="caller-phone" type="tel" autocomplete="off" aria-invalid=wrong("phone")
                        prop:value=move || form.with(|f| f.phone.clone()) on:input=edit(|f, v| f.phone = v)/>
                </div>
                <fieldset class="caller-channel">
                    <legend>{t("caller_how")}</legend>
                    <div class="field check">
                        <input id="caller-by-phone" type="radio" name="caller-channel" prop:checked=move || form.with(|f| !f.at_the_counter)
                            on:change=move |_| form.update(|f| f.at_the_counter = false)/>
                        <label for="caller-by-phone">{t("caller_by_phone")}</label>
                    </div>
                    <div class="field check">
                        <input id="caller-at-counter" type="radio" name="caller-channel" prop:checked=move || form.with(|f| f.at_the_counter)
                            on:change=move |_| form.update(|f| f.at_the_counter = true)/>
                        <label for="caller-at-counter">{t("caller_at_counter")}</label>
                    </div>
                </fieldset>
                <div role="alert" class="error">
                    {move || error.get().map(|(code, _)| view! { <p>{move || error_text(lang.get(), &code)}</p> })}
                </div>
                <button type="submit" class="button primary" prop:disabled=sending>{t("caller_book")}</button>
            </form>
        </details>
    }
}

/// Moving or cancelling a caller's booking: the caller reads out the code, the clerk finds the
/// booking, then picks another free time (the staff view) or cancels it.
#[component]
pub fn CallerChange() -> impl IntoView {
    let lang = use_lang();
    let code = RwSignal::new(String::new());
    let found = RwSignal::new(None::<BookingView>);
    let new_start = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let notice = RwSignal::new(None::<&'static str>);
    let times = api::load(move || {
        let booking = found.get();
        async move {
            match booking.filter(|b| b.status == schalter_events::booking::Status::Confirmed) {
                Some(b) => {
                    let url = format!(
                        "/api/desk/availability?location={}&service={}&days={DAYS_AHEAD}",
                        b.location, b.service
                    );
                    api::get::<Availability>(&url)
                        .await
                        .map(|a| a.slots.into_iter().filter(|s| s.free > 0).collect())
                }
                None => Ok(Vec::new()),
            }
        }
    });
    let path = move || format!("/api/desk/bookings/{}", code.get_untracked().trim());
    let answer = move |result: Result<BookingView, api::ApiError>, done: &'static str| match result {
        Ok(b) => {
            found.set(Some(b));
            error.set(None);
            notice.set(Some(done));
        }
        Err(e) => {
            notice.set(None);
            error.set(Some(e.code));
        }
    };
    let find = move |ev: SubmitEvent| {
        ev.prevent_default();
        let url = path();
        spawn_local(async move { answer(api::get::<BookingView>(&url).await, "change_found") });
    };
    let move_it = move |_| {
        let url = format!("{}/reschedule", path());
        let body = schalter_events::api::RescheduleRequest {
            start: LocalTime::from(new_start.get_untracked()),
        };
        spawn_local(async move { answer(api::post::<BookingView>(&url, &body).await, "change_moved") });
    };
    let cancel = move |_| {
        let url = path();
        spawn_local(async move { answer(api::delete::<BookingView>(&url).await, "change_cancelled") });
    };
    view! {
        <details class="caller-booking caller-change">
            <summary><h2 id="change-h">{t("change_title")}</h2></summary>
            <form class="caller-form" on:submit=find novalidate>
                <div class="field">
                    <label for="change-code">{t("change_code")}</label>
                    <input id="change-code" type="text" autocomplete="off" spellcheck="false"
                        prop:value=move || code.get() on:input=move |ev| code.set(event_target_value(&ev))/>
                </div>
                <button type="submit" class="button">{t("change_find")}</button>
            </form>
            <div role="alert" class="error">{move || error.get().map(|c| view! { <p>{move || error_text(lang.get(), &c)}</p> })}</div>
            <p role="status" class="saved" data-testid="change-notice">{move || notice.get().map(|k| crate::i18n::text(lang.get(), k))}</p>
            {move || found.get().map(|b| {
                let (day, start) = (b.start.as_str().to_owned(), b.start.as_str().to_owned());
                let active = b.status == schalter_events::booking::Status::Confirmed;
                view! {
                    <div class="caller-found" data-testid="change-found">
                        <p><strong>{crate::i18n::local(b.service_name.clone())}</strong>", "{move || long_date(lang.get(), &day)}", "
                            {move || clock(lang.get(), &start)}</p>
                        <p>{b.name.clone()}</p>
                        {active.then(|| view! {
                            <div class="field">
                                <label for="change-start">{t("change_new_time")}</label>
                                <select id="change-start" on:change=move |ev| new_start.set(event_target_value(&ev))>
                                    <option value="">{t("caller_choose")}</option>
                                    {move || times.get().and_then(Result::ok).unwrap_or_default().into_iter().map(|slot| {
                                        let start = slot.start.as_str().to_owned();
                                        let (weekday, date) = short_date(lang.get(), &start);
                                        let label = format!("{weekday} {date}, {}", clock(lang.get(), &start));
                                        view! { <option value=start>{label}</option> }
                                    }).collect_view()}
                                </select>
                            </div>
                            <div class="change-actions">
                                <button type="button" class="button primary" on:click=move_it>{t("change_move")}</button>
                                <button type="button" class="button" on:click=cancel>{t("change_cancel")}</button>
                            </div>
                        })}
                    </div>
                }
            })}
        </details>
    }
}
