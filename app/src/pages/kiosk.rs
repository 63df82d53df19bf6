//! `/kiosk/:location`: the touch kiosk in the hall. Big targets, two questions at most, a
//! ticket number shown large, a print view for the receipt printer and a QR code to follow the
//! line on a phone. A hand scanner that reads the booking's QR code types the code into the
//! code field like a keyboard, so checking in needs no camera.

use std::time::Duration;

use crate::nav::use_params_map;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use schalter_events::api::{CheckInRequest, Health, TicketIssued, TicketRequest};
use schalter_events::catalogue::{Service, Text};
use serde::Serialize;

use crate::api;
use crate::i18n::{error_text, local, t, use_lang};

/// What the kiosk sends: a walk-in ticket, or the check-in of a booking.
#[derive(Serialize)]
#[serde(untagged)]
enum KioskRequest {
    Ticket(TicketRequest),
    CheckIn(CheckInRequest),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    Start,
    Code,
    Services,
    /// The tracking code of a ready document, for a pick-up ticket.
    PickUp,
    Ticket,
}

/// After a ticket, the kiosk returns to the start on its own for the next person.
const RESET_AFTER: Duration = Duration::from_secs(45);
/// A kiosk left mid-way (or in English) goes back to the start after this long untouched.
const IDLE_AFTER: Duration = Duration::from_secs(90);

#[component]
pub fn Kiosk() -> impl IntoView {
    crate::i18n::title("kiosk_title");
    let params = use_params_map();
    let location = move || params.read().get("location").unwrap_or_default();
    let token = StoredValue::new(api::device_token("kiosk"));
    view! {
        <section class="kiosk" aria-labelledby="kiosk-h">
            {move || match token.get_value() {
                Some(token) => view! { <KioskFlow location=location() token/> }.into_any(),
                None => view! {
                    <h1 id="kiosk-h">{t("kiosk_title")}</h1>
                    <p class="error" role="alert">{t("device_not_set_up")}</p>
                }.into_any(),
            }}
        </section>
    }
}

#[component]
fn KioskFlow(location: String, token: String) -> impl IntoView {
    let lang = use_lang();
    let step = RwSignal::new(Step::Start);
    let issued = RwSignal::new(None::<TicketIssued>);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let code = RwSignal::new(String::new());
    let phone = RwSignal::new(String::new());
    // The pick-up service chosen, while its tracking code is asked for.
    let pick_up = RwSignal::new(String::new());
    // Only where an SMS gateway is configured may a walk-in leave a number.
    let sms = api::load(|| async { api::get::<Health>("/api/health").await.map(|h| h.sms).unwrap_or(false) });
    let (location, token) = (StoredValue::new(location), StoredValue::new(token));
    let services = api::load(move || async move {
        let here = location.get_value();
        api::get::<Vec<Service>>("/api/services").await.map(|all| {
            // Collecting a finished document comes after the matters people come to apply for.
            let mut here: Vec<Service> = all
                .into_iter()
                .filter(|s| s.walk_in && s.locations.contains(&here))
                .collect();
            here.sort_by_key(|s| s.pick_up);
            here
        })
    });
    let service_name = move |id: &str| -> String {
        services
            .get()
            .and_then(|r| r.ok())
            .and_then(|all| all.into_iter().find(|s| s.id == id))
            .map(|s| s.name.get(lang.get().code()).to_owned())
            .unwrap_or_default()
    };
    let reset = move || {
        step.set(Step::Start);
        issued.set(None);
        error.set(None);
        code.set(String::new());
        phone.set(String::new());
        pick_up.set(String::new());
    };
    // The next person at the kiosk starts in German, whatever the last one chose.
    let next_person = move || {
        reset();
        lang.set(crate::i18n::Lang::De);
    };
    // Someone who walks away mid-way leaves the kiosk to the next person after a while: every
    // touch or key restarts the wait.
    let touched = RwSignal::new(0u32);
    Effect::new(move |_| {
        let at = touched.get();
        if step.get() == Step::Start && lang.get() == crate::i18n::Lang::De {
            return;
        }
        set_timeout(
            move || {
                if touched.get_untracked() == at {
                    next_person();
                }
            },
            IDLE_AFTER,
        );
    });
    let touch = move || touched.update(|n| *n = n.wrapping_add(1));
    let pointer = window_event_listener(leptos::ev::pointerdown, move |_| touch());
    let keys = window_event_listener(leptos::ev::keydown, move |_| touch());
    on_cleanup(move || {
        pointer.remove();
        keys.remove();
    });
    let submit = move |url: String, body: KioskRequest| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let result = api::post_as::<TicketIssued>(&url, &body, &token.get_value()).await;
            busy.set(false);
            match result {
                Ok(ticket) => {
                    issued.set(Some(ticket));
                    step.set(Step::Ticket);
                    let shown = issued.get_untracked().map(|t| t.token);
                    set_timeout(
                        move || {
                            // Only if nobody started over in the meantime.
                            if issued.get_untracked().map(|t| t.token) == shown {
                                next_person();
                            }
                        },
                        RESET_AFTER,
                    );
                }
                Err(e) => error.set(Some(e.code)),
            }
        });
    };
    let draw = move |service: String, case: Option<String>| {
        submit(format!("/api/locations/{}/tickets", location.get_value()), {
            let number = phone.get_untracked().trim().to_owned();
            KioskRequest::Ticket(TicketRequest {
                service,
                phone: (!number.is_empty()).then_some(number),
                case,
            })
        })
    };
    let is_pick_up = move |id: &str| {
        services
            .get_untracked()
            .and_then(|r| r.ok())
            .is_some_and(|all| all.iter().any(|s| s.id == id && s.pick_up))
    };
    // A pick-up service asks for the tracking code first.
    let take = move |service: String| {
        if is_pick_up(&service) {
            pick_up.set(service);
            error.set(None);
            step.set(Step::PickUp);
        } else {
            draw(service, None);
        }
    };
    let collect = move |ev: SubmitEvent| {
        ev.prevent_default();
        let typed = code.get_untracked().trim().to_owned();
        draw(pick_up.get_untracked(), (!typed.is_empty()).then_some(typed));
    };
    let check_in = move |ev: SubmitEvent| {
        ev.prevent_default();
        submit(
            format!("/api/locations/{}/check-in", location.get_value()),
            KioskRequest::CheckIn(CheckInRequest {
                code: code.get_untracked().trim().to_owned(),
            }),
        )
    };
    let error_view = move || {
        error.get().map(|c| {
            // The server says only "nothing at this address"; here that means the code.
            let key = if c == "not_found" { "unknown_code".to_owned() } else { c };
            view! { <p class="error kiosk-error" role="alert">{move || error_text(lang.get(), &key)}</p> }
        })
    };
    view! {
        {move || match step.get() {
            Step::Start => view! {
                <button type="button" class="kiosk-lang" lang=move || lang.get().other().code()
                    on:click=move |_| lang.update(|l| *l = l.other())>
                    {move || if lang.get() == crate::i18n::Lang::De { "English" } else { "Deutsch" }}
                </button>
                <h1 id="kiosk-h">{t("kiosk_welcome")}</h1>
                <div class="kiosk-choices">
                    <button type="button" class="kiosk-button" on:click=move |_| step.set(Step::Code)>
                        <span class="kiosk-button-title">{t("kiosk_have_appointment")}</span>
                        <span class="kiosk-button-hint">{t("kiosk_have_appointment_hint")}</span>
                    </button>
                    <button type="button" class="kiosk-button" on:click=move |_| step.set(Step::Services)>
                        <span class="kiosk-button-title">{t("kiosk_no_appointment")}</span>
                        <span class="kiosk-button-hint">{t("kiosk_no_appointment_hint")}</span>
                    </button>
                </div>
            }.into_any(),
            Step::Code => view! {
                <h1 id="kiosk-h">{t("kiosk_have_appointment")}</h1>
                <form class="kiosk-code" on:submit=check_in>
                    <label for="kiosk-code-input">{t("kiosk_code_label")}</label>
                    <input id="kiosk-code-input" name="code" autocomplete="off" autocapitalize="characters"
                        spellcheck="false" autofocus=true prop:value=move || code.get()
                        on:input=move |ev| code.set(event_target_value(&ev))/>
                    // Digits on the screen: the five-digit check-in number in five touches,
                    // whatever keyboard the kiosk's system would show (a scanner types the code).
                    <div class="kiosk-keypad" role="group" aria-label=t("kiosk_keypad")>
                        {["1", "2", "3", "4", "5", "6", "7", "8", "9", "0"].into_iter().map(|digit| view! {
                            <button type="button" class="kiosk-key" data-key=digit
                                on:click=move |_| code.update(|c| c.push_str(digit))>{digit}</button>
                        }).collect_view()}
                        <button type="button" class="kiosk-key kiosk-key-wide" aria-label=t("kiosk_delete")
                            on:click=move |_| code.update(|c| { c.pop(); })>"⌫"</button>
                    </div>
                    {error_view}
                    <div class="kiosk-row">
                        <button type="button" class="kiosk-secondary" on:click=move |_| reset()>{t("back")}</button>
                        <button type="submit" class="kiosk-primary" disabled=move || busy.get()>{t("kiosk_check_in")}</button>
                    </div>
                </form>
            }.into_any(),
            Step::PickUp => view! {
                <h1 id="kiosk-h">{move || service_name(&pick_up.get())}</h1>
                <form class="kiosk-code" on:submit=collect>
                    <label for="kiosk-case-input">{t("kiosk_case_label")}</label>
                    <input id="kiosk-case-input" name="case" autocomplete="off" autocapitalize="characters"
                        spellcheck="false" autofocus=true aria-describedby="kiosk-case-hint"
                        prop:value=move || code.get() on:input=move |ev| code.set(event_target_value(&ev))/>
                    <p id="kiosk-case-hint" class="kiosk-button-hint">{t("kiosk_case_hint")}</p>
                    {error_view}
                    <div class="kiosk-row">
                        <button type="button" class="kiosk-secondary" on:click=move |_| reset()>{t("back")}</button>
                        <button type="submit" class="kiosk-primary" disabled=move || busy.get()>{t("kiosk_case_draw")}</button>
                    </div>
                </form>
            }.into_any(),
            Step::Services => view! {
                <h1 id="kiosk-h">{t("kiosk_pick_service")}</h1>
                {error_view}
                {move || (sms.get() == Some(true)).then(|| view! {
                    <div class="kiosk-phone">
                        <label for="kiosk-phone-input">{t("kiosk_phone_label")}</label>
                        <input id="kiosk-phone-input" name="phone" type="tel" inputmode="tel" autocomplete="off"
                            aria-describedby="kiosk-phone-hint" prop:value=move || phone.get()
                            on:input=move |ev| phone.set(event_target_value(&ev))/>
                        <p id="kiosk-phone-hint" class="kiosk-button-hint">{t("kiosk_phone_hint")}</p>
                    </div>
                })}
                {api::loaded(services, move |list| view! {
                    <div class="kiosk-services">
                        {list.into_iter().map(|s| {
                            let id = s.id.clone();
                            let name: Text = s.name.clone();
                            view! {
                                <button type="button" class="kiosk-button" disabled=move || busy.get()
                                    on:click=move |_| take(id.clone())>
                                    <span class="kiosk-button-title">{local(name)}</span>
                                </button>
                            }
                        }).collect_view()}
                    </div>
                })}
                <button type="button" class="kiosk-secondary" on:click=move |_| reset()>{t("back")}</button>
            }.into_any(),
            Step::Ticket => {
                let ticket = issued.get_untracked();
                let number = ticket.as_ref().map(|t| t.number.clone()).unwrap_or_default();
                let service = ticket.as_ref().map(|t| t.service.clone()).unwrap_or_default();
                let notify = ticket.as_ref().is_some_and(|t| t.notify);
                let token = ticket.map(|t| t.token).unwrap_or_default();
                let qr = format!("/api/tickets/status/{token}/qr.svg");
                view! {
                    <div class="kiosk-ticket" role="status">
                        <h1 id="kiosk-h">{t("kiosk_your_number")}</h1>
                        <p class="ticket-number" data-testid="ticket-number">{number}</p>
                        <p class="ticket-service">{move || service_name(&service)}</p>
                        <p>{t("kiosk_wait_for_call")}</p>
                        {notify.then(|| view! { <p class="kiosk-sms" data-testid="sms-promise">{t("kiosk_sms_promise")}</p> })}
                        <figure class="ticket-qr">
                            <img src=qr alt=t("kiosk_qr_alt") width="148" height="148"/>
                            <figcaption>{t("kiosk_qr_caption")}</figcaption>
                        </figure>
                    </div>
                    <div class="kiosk-row no-print">
                        <button type="button" class="kiosk-secondary" on:click=move |_| {
                            if let Some(w) = web_sys::window() { let _ = w.print(); }
                        }>{t("kiosk_print")}</button>
                        <button type="button" class="kiosk-primary" on:click=move |_| next_person()>{t("kiosk_done")}</button>
                    </div>
                }.into_any()
            }
        }}
    }
}
