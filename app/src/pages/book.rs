//! Booking in four short steps, each its own URL so the browser's back button works:
//! `/?service=S` → `&location=L` → `&day=D` → `&time=T` → details → `/booking/CODE?neu=1`.

use crate::nav::{use_navigate, use_query_map};
use leptos::prelude::*;
use leptos::task::spawn_local;
use schalter_events::api::{Availability, BookingRequest, BookingView, LocalTime, SlotView};
use schalter_events::catalogue::{Location, Service};

use super::catalogue::load_offices;
use crate::api;
use crate::i18n::{date_of, error_text, local, short_date, t, time_of, use_lang};

/// Query values may contain `+` (UTC offsets), which a query string would turn into a space.
fn enc(s: &str) -> String {
    s.replace('%', "%25")
        .replace('+', "%2B")
        .replace(' ', "%20")
        .replace('&', "%26")
        .replace('#', "%23")
}

fn flow_href(parts: &[(&str, &str)]) -> String {
    let query: Vec<String> = parts.iter().map(|(k, v)| format!("{k}={}", enc(v))).collect();
    format!("/?{}", query.join("&"))
}

/// Days that have slots, in order, with how many times are still free on each.
pub fn days_with_free(slots: &[SlotView]) -> Vec<(String, usize)> {
    let mut days: Vec<(String, usize)> = Vec::new();
    for s in slots {
        let day = s.start.day().to_owned();
        let free = usize::from(s.free > 0);
        match days.last_mut() {
            Some((d, n)) if *d == day => *n += free,
            _ => days.push((day, free)),
        }
    }
    days
}

pub fn availability_url(location: &str, service: &str) -> String {
    format!("/api/availability?location={location}&service={service}&days=62")
}

#[component]
pub fn BookingFlow() -> impl IntoView {
    crate::i18n::title("book_page_title");
    let query = use_query_map();
    let offices = load_offices();
    view! {
        <section class="page booking-flow">
            {api::loaded(offices, move |(locations, services)| {
                let q = query.read();
                let service_id = q.get("service").unwrap_or_default();
                match services.into_iter().find(|s| s.id == service_id && s.bookable_online) {
                    Some(service) => view! {
                        <Flow
                            service
                            locations
                            location=q.get("location")
                            day=q.get("day")
                            time=q.get("time")
                        />
                    }.into_any(),
                    None => view! {
                        <h1>{t("not_found_title")}</h1>
                        <p><a href="/">{t("to_overview")}</a></p>
                    }.into_any(),
                }
            })}
        </section>
    }
}

#[component]
fn Flow(
    service: Service,
    locations: Vec<Location>,
    location: Option<String>,
    day: Option<String>,
    time: Option<String>,
) -> impl IntoView {
    let offered: Vec<Location> = locations
        .into_iter()
        .filter(|l| service.locations.contains(&l.id))
        .collect();
    let single = offered.len() == 1;
    let location = location.or_else(|| single.then(|| offered[0].id.clone()));
    let chosen = location
        .as_ref()
        .and_then(|id| offered.iter().find(|l| &l.id == id).cloned());
    let steps = if single { 3 } else { 4 };
    let step = match (&chosen, &day, &time) {
        (None, _, _) => 1,
        (Some(_), None, _) => 2,
        (Some(_), Some(_), None) => 3,
        _ => 4,
    } - usize::from(single);
    let service_name = service.name.clone();
    let header = view! {
        <p class="step" aria-live="polite">{t("step")}" "{step}" "{t("of")}" "{steps}</p>
        <p class="flow-service">{local(service_name)}</p>
    };
    let body = match chosen {
        None => {
            let sid = service.id.clone();
            view! {
                <h1>{t("choose_location")}</h1>
                <ul class="choices">
                    {offered.into_iter().map(|l| {
                        let href = flow_href(&[("service", &sid), ("location", &l.id)]);
                        let name = l.name.clone();
                        view! { <li><a href=href class="choice">
                            <strong>{local(name)}</strong>
                            <span>{l.address.clone()}</span>
                        </a></li> }
                    }).collect_view()}
                </ul>
            }
            .into_any()
        }
        Some(location) => view! {
            <Schedule service=service.clone() location=location day time/>
        }
        .into_any(),
    };
    view! { {header} {body} }
}

#[component]
fn Schedule(service: Service, location: Location, day: Option<String>, time: Option<String>) -> impl IntoView {
    let url = availability_url(&location.id, &service.id);
    let availability = api::load(move || {
        let url = url.clone();
        async move { api::get::<Availability>(&url).await }
    });
    api::loaded(availability, move |a| {
        let (service, location, day, time) = (service.clone(), location.clone(), day.clone(), time.clone());
        match (day, time) {
            (None, _) => view! { <ChooseDay service location slots=a.slots/> }.into_any(),
            (Some(day), None) => view! { <ChooseTime service location day slots=a.slots/> }.into_any(),
            (Some(day), Some(time)) => view! { <Details service location day time/> }.into_any(),
        }
    })
}

/// Day chips; `href` or `on_pick` decides what choosing does.
#[component]
pub fn DayGrid(slots: Vec<SlotView>, #[prop(into)] pick: Callback<String, String>) -> impl IntoView {
    let lang = use_lang();
    let days = days_with_free(&slots);
    if days.iter().all(|(_, n)| *n == 0) {
        return view! { <p class="notice">{t("no_days")}</p> }.into_any();
    }
    view! {
        <ul class="days" on:keydown=crate::nav::arrows>
            {days.into_iter().map(|(day, free)| {
                let d = StoredValue::new(day.clone());
                let label = move || d.with_value(|d| short_date(lang.get(), d));
                if free == 0 {
                    view! { <li><span class="day full" aria-disabled="true">
                        <span class="wd">{move || label().0}</span><span class="dt">{move || label().1}</span>
                    </span></li> }.into_any()
                } else {
                    let href = pick.run(day.clone());
                    view! { <li><a href=href class="day" data-day=day.clone()>
                        <span class="wd">{move || label().0}</span>
                        <span class="dt">{move || label().1}</span>
                        <span class="nfree">{free}" "{t("times_free")}</span>
                    </a></li> }.into_any()
                }
            }).collect_view()}
        </ul>
    }
    .into_any()
}

#[component]
pub fn TimeGrid(slots: Vec<SlotView>, day: String, #[prop(into)] pick: Callback<String, String>) -> impl IntoView {
    view! {
        <ul class="times" on:keydown=crate::nav::arrows>
            {slots.into_iter().filter(|s| s.start.day() == day && s.free > 0).map(|s| {
                let start = s.start.as_str().to_owned();
                let href = pick.run(start.clone());
                view! { <li><a href=href class="time" data-start=start.clone()>
                    {time_of(s.start.as_str().to_owned())}
                </a></li> }
            }).collect_view()}
        </ul>
    }
}

#[component]
fn ChooseDay(service: Service, location: Location, slots: Vec<SlotView>) -> impl IntoView {
    let (sid, lid) = (service.id.clone(), location.id.clone());
    let pick = move |day: String| flow_href(&[("service", &sid), ("location", &lid), ("day", &day)]);
    view! {
        <h1>{t("choose_day")}</h1>
        <LocationLine location/>
        <DayGrid slots pick/>
    }
}

#[component]
fn ChooseTime(service: Service, location: Location, day: String, slots: Vec<SlotView>) -> impl IntoView {
    let (sid, lid, d) = (service.id.clone(), location.id.clone(), day.clone());
    let pick = move |start: String| flow_href(&[("service", &sid), ("location", &lid), ("day", &d), ("time", &start)]);
    let back = flow_href(&[("service", &service.id), ("location", &location.id)]);
    let heading_day = day.clone();
    view! {
        <h1>{t("choose_time")}</h1>
        <p class="chosen-day">{date_of(heading_day)}</p>
        <TimeGrid slots day pick/>
        <p><a href=back class="back">{t("back")}</a></p>
    }
}

#[component]
fn LocationLine(location: Location) -> impl IntoView {
    view! { <p class="location-line">{local(location.name)}", "{location.address}</p> }
}

#[component]
fn Details(service: Service, location: Location, day: String, time: String) -> impl IntoView {
    let lang = use_lang();
    let navigate = use_navigate();
    let name = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let phone = RwSignal::new(String::new());
    let consent = RwSignal::new(false);
    let sending = RwSignal::new(false);
    let error = RwSignal::new(None::<(String, Option<String>)>);
    let back = flow_href(&[("service", &service.id), ("location", &location.id), ("day", &day)]);
    let is_wrong = move |field: &'static str| {
        error
            .with(|e| e.as_ref().is_some_and(|(_, f)| f.as_deref() == Some(field)))
            .then_some("true")
    };
    let (sid, lid, start) = (service.id.clone(), location.id.clone(), time.clone());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if sending.get_untracked() {
            return;
        }
        sending.set(true);
        error.set(None);
        let mut request = BookingRequest {
            location: lid.clone(),
            service: sid.clone(),
            start: LocalTime::from(start.clone()),
            name: name.get_untracked(),
            email: email.get_untracked(),
            phone: Some(phone.get_untracked()).filter(|p| !p.trim().is_empty()),
            privacy_accepted: consent.get_untracked(),
            proof: None,
        };
        let navigate = navigate.clone();
        spawn_local(async move {
            let booked = match api::booking_proof().await {
                Ok(proof) => {
                    request.proof = Some(proof);
                    api::post::<BookingView>("/api/bookings", &request).await
                }
                Err(e) => Err(e),
            };
            match booked {
                Ok(booked) => navigate(&format!("/booking/{}?neu=1", booked.code.unwrap_or_default())),
                Err(e) => {
                    // The field to blame gets the focus, so it is the next thing read and typed.
                    match e.field.as_deref() {
                        Some("privacy_accepted") => crate::nav::focus("consent"),
                        Some(field) => crate::nav::focus(field),
                        None => {}
                    }
                    error.set(Some((e.code, e.field)));
                    sending.set(false);
                }
            }
        });
    };
    let service_name = service.name.clone();
    let location_name = location.name.clone();
    let (summary_day, summary_time) = (day.clone(), time.clone());
    view! {
        <h1>{t("your_details")}</h1>
        <div class="summary" aria-label=t("summary")>
            <p><strong>{local(service_name)}</strong></p>
            <p>{date_of(summary_day)}", "{time_of(summary_time)}</p>
            <p>{local(location_name)}", "{location.address.clone()}</p>
        </div>
        <form class="details" on:submit=submit novalidate>
            <div class="field">
                <label for="name">{t("name")}</label>
                <input id="name" name="name" type="text" autocomplete="name" required maxlength="100" aria-invalid=move || is_wrong("name")
                    prop:value=name on:input=move |ev| name.set(event_target_value(&ev))/>
            </div>
            <div class="field">
                <label for="email">{t("email")}</label>
                <input id="email" name="email" type="email" autocomplete="email" inputmode="email" required aria-invalid=move || is_wrong("email")
                    aria-describedby="email-hint" prop:value=email on:input=move |ev| email.set(event_target_value(&ev))/>
                <p class="hint" id="email-hint">{t("email_hint")}</p>
            </div>
            <div class="field">
                <label for="phone">{t("phone")}</label>
                <input id="phone" name="phone" type="tel" autocomplete="tel" inputmode="tel" maxlength="30" aria-invalid=move || is_wrong("phone")
                    aria-describedby="phone-hint" prop:value=phone on:input=move |ev| phone.set(event_target_value(&ev))/>
                <p class="hint" id="phone-hint">{t("phone_hint")}</p>
            </div>
            <div class="field check">
                <input id="consent" name="consent" type="checkbox" required
                    prop:checked=consent on:change=move |ev| {
                        consent.set(event_target_checked(&ev));
                        error.set(None);
                    }/>
                <label for="consent">{t("consent")}" "<a href="/datenschutz" target="_blank">{t("privacy_link")}</a></label>
            </div>
            <div role="alert" class="error">
                {move || error.get().map(|(code, field)| {
                    // A wrong field is named: "Bitte geben Sie eine gültige E-Mail-Adresse ein."
                    let key = match field.as_deref() {
                        Some(f @ ("name" | "email" | "phone")) => code + "_" + f,
                        _ => code,
                    };
                    view! { <p>{error_text(lang.get(), &key)}</p> }
                })}
            </div>
            <button type="submit" class="primary" prop:disabled=sending>
                {move || if sending.get() { t("booking")() } else { t("confirm_booking")() }}
            </button>
        </form>
        <p><a href=back class="back">{t("back")}</a></p>
    }
}
