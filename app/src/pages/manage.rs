//! `/booking/:code`: the citizen's appointment: confirmation right after booking, then the
//! place to look it up, add it to a calendar, move it or cancel it.

use crate::nav::{use_params_map, use_query_map};
use leptos::prelude::*;
use leptos::task::spawn_local;
use schalter_events::api::{BookingView, ConfirmRequest, LocalTime, RescheduleRequest};
use schalter_events::booking::Status;

use super::book::{availability_url, DayGrid, TimeGrid};
use crate::api;
use crate::i18n::{date_of, error_text, local, t, time_of, use_lang};
use schalter_events::api::Availability;

#[component]
pub fn ManageBooking() -> impl IntoView {
    crate::i18n::title("manage_title");
    let params = use_params_map();
    let query = use_query_map();
    let code = move || params.read().get("code").unwrap_or_default();
    let is_new = move || query.read().get("neu").is_some();
    let token = move || query.read().get("bestaetigen");
    // The reminder's "I can't come" link: the cancel question opens by itself.
    let cant_come = move || query.read().get("absagen").is_some();
    let refresh = RwSignal::new(0u32);
    // Owned here: the booking below is rebuilt after every change and must not lose the notice.
    let message = RwSignal::new(None::<&'static str>);
    let booking = api::load(move || {
        refresh.track();
        let code = code();
        async move { api::get::<BookingView>(&format!("/api/bookings/{code}")).await }
    });
    view! {
        <section class="page manage">
            {move || match booking.get() {
                None => api::loading_notice(),
                Some(Ok(b)) => view! {
                    <Booking booking=b code=code() is_new=is_new() token=token() cant_come=cant_come() refresh message/>
                }.into_any(),
                Some(Err(e)) if e.code == "not_found" => view! {
                    <h1>{t("manage_title")}</h1>
                    <p class="error" role="alert">{t("not_found_booking")}</p>
                }.into_any(),
                Some(Err(_)) => api::failed_notice(),
            }}
        </section>
    }
}

#[component]
fn Booking(
    booking: BookingView,
    code: String,
    is_new: bool,
    token: Option<String>,
    cant_come: bool,
    refresh: RwSignal<u32>,
    message: RwSignal<Option<&'static str>>,
) -> impl IntoView {
    let lang = use_lang();
    // A notice ("moved", "confirmed") is where the eye and the screen reader go next.
    Effect::new(move |_| {
        if message.get().is_some() {
            crate::nav::focus("notice");
        }
    });
    let BookingView {
        status,
        location,
        location_name,
        address,
        service,
        service_name,
        documents,
        fee,
        start,
        personal_data_erased,
        confirm_by,
        check_in_number,
        ..
    } = booking;
    let day = start.day().to_owned();
    let start = start.as_str().to_owned();
    let confirmed = status == Status::Confirmed;
    let pending = status == Status::Pending;
    let status_key = match status {
        Status::Confirmed => "status_confirmed",
        Status::Pending => "status_pending",
        Status::Expired => "status_expired",
        Status::CheckedIn => "status_checked_in",
        Status::Cancelled => "status_cancelled",
    };
    let has_token = token.is_some();
    let confirm_by = confirm_by
        .map(|by| by.as_str().get(11..16).unwrap_or_default().to_owned())
        .unwrap_or_default();
    let error = RwSignal::new(None::<String>);
    let confirm_code = code.clone();
    let confirm = move |_| {
        let (code, token) = (confirm_code.clone(), token.clone().unwrap_or_default());
        spawn_local(async move {
            let url = format!("/api/bookings/{code}/confirm");
            match api::post::<api::Ignored>(&url, &ConfirmRequest { token }).await {
                Ok(_) => {
                    message.set(Some("confirmed_notice"));
                    refresh.update(|n| *n += 1)
                }
                Err(e) => error.set(Some(e.code)),
            }
        });
    };

    let rescheduling = RwSignal::new(false);
    let ask_cancel = cant_come && confirmed;
    let confirming_cancel = RwSignal::new(ask_cancel);
    if ask_cancel {
        // Brings the question into view on a phone; the safe answer holds the focus.
        Effect::new(|_| crate::nav::focus("cancel-no"));
    }
    let ics = format!("/api/bookings/{code}/calendar.ics");
    let qr = format!("/api/bookings/{code}/qr.svg");
    let origin = web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default();
    let manage_url = format!("{origin}/booking/{code}");
    let cancel_code = code.clone();
    let erase_code = code.clone();
    let cancel = move |_| {
        let code = cancel_code.clone();
        spawn_local(async move {
            match api::delete::<api::Ignored>(&format!("/api/bookings/{code}")).await {
                Ok(_) => {
                    // Replaces an earlier "moved" notice, and takes the focus.
                    message.set(Some("cancel_done"));
                    refresh.update(|n| *n += 1)
                }
                Err(e) => error.set(Some(e.code)),
            }
        });
    };
    let documents = (!documents.is_empty()).then(|| {
        let items = documents
            .into_iter()
            .map(|d| view! { <li>{local(d)}</li> })
            .collect_view();
        view! {
            <h2 class="h3">{t("documents")}</h2>
            <ul class="documents">{items}</ul>
        }
    });
    view! {
        {(is_new && confirmed).then(|| view! {
            <div class="booked" role="status">
                <h1>{t("booked_title")}</h1>
                <p>{t("booked_text")}</p>
                <div class="code-box">
                    <div>
                        <p class="code-label">{t("booking_code")}</p>
                        <p class="code" data-testid="booking-code">{code.clone()}</p>
                    </div>
                    <img class="qr" src=qr alt=t("qr_alt") width="148" height="148"/>
                </div>
            </div>
        })}
        {(!is_new || !confirmed).then(|| view! { <h1>{t("manage_title")}</h1> })}
        {pending.then(|| view! {
            <div class="notice pending" role="status">
                <h2 class="h3">{t("pending_title")}</h2>
                <p>{t("pending_text")}" "{confirm_by.clone()}"."</p>
                {has_token.then(|| view! {
                    <button type="button" class="button primary" data-testid="confirm" on:click=confirm.clone()>{t("confirm_button")}</button>
                })}
            </div>
        })}
        {move || message.get().map(|key| view! { <p class="notice" id="notice" tabindex="-1" role="status">{t(key)}</p> })}
        {move || error.get().map(|code| view! { <p class="error" role="alert">{error_text(lang.get(), &code)}</p> })}
        <dl class="booking-facts">
            <div><dt>{t("status")}</dt><dd data-testid="status">{t(status_key)}</dd></div>
            {check_in_number.map(|n| view! {
                <div><dt>{t("check_in_number")}</dt><dd class="check-in-number" data-testid="check-in-number">{n}</dd></div>
            })}
            <div><dt>{t("summary")}</dt><dd>{local(service_name)}</dd></div>
            <div><dt>{t("when")}</dt><dd data-testid="when">{date_of(day)}", "{time_of(start)}</dd></div>
            <div><dt>{t("where")}</dt><dd>{local(location_name)}<br/>{address}</dd></div>
            {(!fee.is_empty()).then(|| view! { <div><dt>{t("fee")}</dt><dd>{local(fee)}</dd></div> })}
        </dl>
        {documents}
        {(status == Status::Cancelled).then(|| view! { <p class="notice">{t("cancelled_text")}</p> })}
        {(status == Status::Expired).then(|| view! { <p class="notice">{t("expired_text")}</p> })}
        {personal_data_erased.then(|| view! { <p class="notice" data-testid="erased">{t("data_erased")}</p> })}
        {(status == Status::Cancelled && !personal_data_erased).then(|| {
            let code = erase_code.clone();
            view! {
                <div class="erase">
                    <p>{t("erase_data_hint")}</p>
                    <button type="button" class="button danger" on:click=move |_| {
                        let code = code.clone();
                        spawn_local(async move {
                            let url = format!("/api/bookings/{code}/personal-data");
                            match api::delete::<api::Ignored>(&url).await {
                                Ok(_) => refresh.update(|n| *n += 1),
                                Err(e) => error.set(Some(e.code)),
                            }
                        });
                    }>{t("erase_data")}</button>
                </div>
            }
        })}
        {confirmed.then(|| view! {
            <div class="actions">
                <a class="button" href=ics download="termin.ics">{t("add_to_calendar")}</a>
                // One question at a time: moving and cancelling never stand open together, and
                // the focus goes into the panel that opens.
                <button type="button" class="button" id="reschedule-open" aria-expanded=move || rescheduling.get().to_string()
                    on:click=move |_| {
                        confirming_cancel.set(false);
                        rescheduling.update(|r| *r = !*r);
                        if rescheduling.get_untracked() {
                            crate::nav::focus("reschedule-h");
                        }
                    }>{t("reschedule")}</button>
                <button type="button" class="button danger" id="cancel-open" on:click=move |_| {
                    rescheduling.set(false);
                    confirming_cancel.set(true);
                    // The safe answer first: a stray Enter keeps the appointment.
                    crate::nav::focus("cancel-no");
                }>{t("cancel")}</button>
            </div>
            {move || confirming_cancel.get().then(|| view! {
                <div class="confirm" role="alertdialog" aria-labelledby="cancel-q" on:keydown=move |ev| {
                    if ev.key() == "Escape" {
                        confirming_cancel.set(false);
                        crate::nav::focus("cancel-open");
                    }
                }>
                    <p id="cancel-q">{t("cancel_confirm")}</p>
                    <button type="button" class="button danger" on:click=cancel.clone()>{t("cancel_yes")}</button>
                    <button type="button" class="button" id="cancel-no" on:click=move |_| {
                        confirming_cancel.set(false);
                        crate::nav::focus("cancel-open");
                    }>{t("cancel_no")}</button>
                </div>
            })}
            {
                let code = code.clone();
                move || rescheduling.get().then(|| view! {
                    <Reschedule location=location.clone() service=service.clone() code=code.clone() refresh message error rescheduling/>
                })
            }
        })}
        <p class="manage-link">{t("manage_link")}": "<a href=manage_url.clone()>{manage_url.clone()}</a></p>
    }
}

#[component]
fn Reschedule(
    location: String,
    service: String,
    code: String,
    refresh: RwSignal<u32>,
    message: RwSignal<Option<&'static str>>,
    error: RwSignal<Option<String>>,
    rescheduling: RwSignal<bool>,
) -> impl IntoView {
    let url = availability_url(&location, &service);
    let availability = api::load(move || {
        let url = url.clone();
        async move { api::get::<Availability>(&url).await }
    });
    let day = RwSignal::new(None::<String>);
    // A tap on a time only proposes it (another tap proposes another); the move waits for
    // "Verschieben".
    let chosen = RwSignal::new(None::<String>);
    let code = StoredValue::new(code);
    // Choices are in-page here: the hash carries the pick, a click handler acts on it.
    let move_to = move |start: String| {
        let code = code.get_value();
        spawn_local(async move {
            let url = format!("/api/bookings/{code}/reschedule");
            match api::post::<api::Ignored>(
                &url,
                &RescheduleRequest {
                    start: LocalTime::from(start),
                },
            )
            .await
            {
                Ok(_) => {
                    message.set(Some("reschedule_done"));
                    error.set(None);
                    refresh.update(|n| *n += 1);
                }
                Err(e) => error.set(Some(e.code)),
            }
        });
    };
    let on_click = move |ev: leptos::ev::MouseEvent| {
        let Some(target) = ev.target() else { return };
        let Ok(el) = wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(target) else {
            return;
        };
        let Ok(Some(link)) = el.closest("a") else { return };
        ev.prevent_default();
        // The focus follows the choice: from a day to its first time, from a time to the
        // question whether to move there.
        if let Some(d) = link.get_attribute("data-day") {
            day.set(Some(d));
            crate::nav::focus_first(".reschedule .time");
        } else if let Some(start) = link.get_attribute("data-start") {
            chosen.set(Some(start));
            crate::nav::focus("move-yes");
        }
    };
    // Escape steps back: from the question to the times, from the times to the days, from the
    // days out of the panel.
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() != "Escape" {
            return;
        }
        if chosen.get_untracked().is_some() {
            chosen.set(None);
            crate::nav::focus_first(".reschedule .time");
        } else if day.get_untracked().is_some() {
            day.set(None);
            crate::nav::focus_first(".reschedule .day");
        } else {
            rescheduling.set(false);
            crate::nav::focus("reschedule-open");
        }
    };
    view! {
        <section class="reschedule" aria-labelledby="reschedule-h" on:click=on_click on:keydown=on_key>
            <h2 id="reschedule-h" tabindex="-1">{t("reschedule")}</h2>
            {api::loaded(availability, move |a| match day.get() {
                None => view! { <DayGrid slots=a.slots pick=|d: String| format!("#{d}")/> }.into_any(),
                Some(d) => {
                    let heading = d.clone();
                    view! {
                        <p class="chosen-day">{date_of(heading)}</p>
                        <TimeGrid slots=a.slots day=d pick=|s: String| format!("#{s}")/>
                        {move || chosen.get().map(|start| view! {
                            <div class="confirm confirm-move" role="group" aria-labelledby="move-q" data-testid="confirm-move">
                                <p id="move-q">{t("move_question")}" "<strong>{date_of(start.clone())}", "{time_of(start.clone())}</strong></p>
                                <button type="button" class="button primary" id="move-yes" on:click=move |_| move_to(start.clone())>{t("move_yes")}</button>
                            </div>
                        })}
                        <button type="button" class="back link" on:click=move |_| {
                            chosen.set(None);
                            day.set(None);
                            crate::nav::focus_first(".reschedule .day");
                        }>{t("back")}</button>
                    }.into_any()
                }
            })}
        </section>
    }
}
