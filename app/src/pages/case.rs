//! `/case/:code`: an application followed like a parcel, from the link in the receipt or the
//! "ready" message. No login: the code is the key, and the page shows no name.

use crate::nav::use_params_map;
use leptos::prelude::*;
use leptos::task::spawn_local;
use schalter_events::api::{CaseView, RenewalOffer, RenewalRequest};
use schalter_events::case::Step;

use crate::api;
use crate::i18n::{clock, error_text, local, long_date, t, text, use_lang};

/// The way an application usually goes; documents missing and withdrawn show only when they
/// happened.
const USUAL: [Step; 4] = [Step::Received, Step::InProduction, Step::Ready, Step::PickedUp];

pub(super) fn step_key(step: Step) -> &'static str {
    match step {
        Step::Received => "case_received",
        Step::InProduction => "case_in_production",
        Step::DocumentsMissing => "case_documents_missing",
        Step::Ready => "case_ready",
        Step::PickedUp => "case_picked_up",
        Step::Withdrawn => "case_withdrawn",
    }
}

#[component]
pub fn CaseStatus() -> impl IntoView {
    crate::i18n::title("case_title");
    let params = use_params_map();
    let case = api::load(move || {
        let code = params.read().get("code").unwrap_or_default();
        async move { api::get::<CaseView>(&format!("/api/cases/{code}")).await }
    });
    view! {
        <section class="page narrow case-status">
            <h1>{t("case_title")}</h1>
            {move || match case.get() {
                None => api::loading_notice(),
                Some(Err(e)) if e.code == "not_found" => view! {
                    <p class="error" role="alert">{t("case_unknown")}</p>
                }.into_any(),
                Some(Err(_)) => view! { <p class="error" role="alert">{t("ticket_offline")}</p> }.into_any(),
                Some(Ok(c)) => {
                    let code = params.read_untracked().get("code").unwrap_or_default().to_ascii_uppercase();
                    let renewal = c.renewal.clone().map(|offer| view! { <Renewal offer code=code.clone()/> });
                    view! { <Timeline case=c code/> {renewal} }.into_any()
                }
            }}
        </section>
    }
}

#[component]
fn Timeline(case: CaseView, code: String) -> impl IntoView {
    let lang = use_lang();
    // The steps reached, then the usual ones still to come (none after a closed case).
    let mut shown: Vec<(Step, Option<String>)> = case
        .history
        .iter()
        .map(|m| (m.step, Some(m.at.as_str().to_owned())))
        .collect();
    if !case.step.is_closed() {
        let reached = USUAL.iter().position(|s| *s == case.step).unwrap_or(0);
        shown.extend(USUAL[reached + 1..].iter().map(|s| (*s, None)));
    }
    let current = case.step;
    let last = case.history.len().saturating_sub(1);
    let hint = match current {
        Step::Ready => Some("case_ready_hint"),
        Step::DocumentsMissing => Some("case_missing_hint"),
        _ => None,
    };
    let expected = case.expected_ready.to_string();
    let location = case.location.clone();
    let pick_up = case.pick_up.clone().map(|way| {
        let book = way.bookable_online.then(|| {
            let href = format!("/?service={}&location={location}", way.service);
            view! { <p><a class="case-book" href=href data-testid="book-pick-up">{t("case_pick_up_book")}</a></p> }
        });
        view! {
            <p>{t("case_your_code")}": "<strong class="case-code" data-testid="case-code">{code}</strong></p>
            {way.kiosk.then(|| view! { <p data-testid="pick-up-kiosk">{t("case_pick_up_kiosk")}</p> })}
            {book}
        }
    });
    view! {
        <p class="case-kind" data-testid="case-kind">{local(case.kind_name)}</p>
        <p>{t("case_where")}": "{local(case.location_name)}</p>
        {(!current.is_closed() && current != Step::Ready).then(|| view! {
            <p>{t("case_expected")}": "{move || long_date(lang.get(), &expected)}</p>
        })}
        <ol class="case-timeline" data-testid="case-timeline">
            {shown.into_iter().enumerate().map(|(i, (step, at))| {
                let class = match (&at, i == last) {
                    (Some(_), true) => "current",
                    (Some(_), false) => "done",
                    (None, _) => "to-come",
                };
                let when = at.map(|at| {
                    let day = at.clone();
                    view! { <span class="when">{move || format!("{}, {}", long_date(lang.get(), &day), clock(lang.get(), &at))}</span> }
                });
                view! {
                    <li class=class aria-current=(class == "current").then_some("step")>
                        <span class="milestone">{t(step_key(step))}</span>
                        {when}
                    </li>
                }
            }).collect_view()}
        </ol>
        {hint.map(|key| view! { <p class="notice" role="status">{move || text(lang.get(), key)}</p> })}
        {pick_up}
    }
}

/// The renewal reminder a citizen may leave once the document is in hand: its expiry date and
/// an email address; or, when one is set, when it will come and a way to delete it.
#[component]
fn Renewal(offer: RenewalOffer, code: String) -> impl IntoView {
    let lang = use_lang();
    let offer = RwSignal::new(offer);
    let expires = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let error: api::FormError = RwSignal::new(None);
    let sending = RwSignal::new(false);
    let cancelled = RwSignal::new(false);
    let url = StoredValue::new(format!("/api/cases/{code}/renewal"));
    let done = move |result: Result<CaseView, api::ApiError>| match result {
        Ok(c) => {
            offer.set(c.renewal.unwrap_or_else(|| offer.get_untracked()));
            error.set(None);
        }
        Err(e) => error.set(Some((e.code, e.field))),
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if sending.get_untracked() {
            return;
        }
        let Ok(expires_on) = expires.get_untracked().parse() else {
            error.set(Some(("renewal_missing_date".into(), Some("expires_on".into()))));
            crate::nav::focus("renewal-expires");
            return;
        };
        let request = RenewalRequest {
            expires_on,
            email: email.get_untracked().trim().to_owned(),
            phone: None,
            language: Some(lang.get_untracked().code().to_owned()),
        };
        sending.set(true);
        cancelled.set(false);
        spawn_local(async move {
            done(api::post::<CaseView>(&url.get_value(), &request).await);
            sending.set(false);
        });
    };
    let cancel = move |_| {
        spawn_local(async move {
            let result = api::delete::<CaseView>(&url.get_value()).await;
            cancelled.set(result.is_ok());
            done(result);
        });
    };
    let wrong = move |field| api::invalid_if(error, field);
    view! {
        <section class="renewal" aria-labelledby="renewal-h" data-testid="renewal">
            <h2 id="renewal-h">{t("renewal_title")}</h2>
            {move || match offer.get().reminder {
                Some(r) => {
                    let (remind, expires) = (r.remind_on.to_string(), r.expires_on.to_string());
                    view! {
                        <p role="status" data-testid="renewal-set">
                            {t("renewal_set")}" "{move || long_date(lang.get(), &remind)}". "
                            {t("renewal_expires_on")}" "{move || long_date(lang.get(), &expires)}"."
                        </p>
                        <button type="button" class="button" on:click=cancel data-testid="renewal-cancel">{t("renewal_cancel")}</button>
                    }.into_any()
                }
                None => view! {
                    {move || cancelled.get().then(|| view! { <p role="status">{t("renewal_cancelled")}</p> })}
                    <p class="hint">{t("renewal_hint_1")}" "{offer.get().remind_weeks}" "{t("renewal_hint_2")}</p>
                    <form class="details" on:submit=submit novalidate>
                        <div class="field">
                            <label for="renewal-expires">{t("renewal_valid_until")}</label>
                            <input id="renewal-expires" type="date" required aria-invalid=wrong("expires_on")
                                prop:value=expires on:change=move |ev| { expires.set(event_target_value(&ev)); error.set(None); }/>
                        </div>
                        <div class="field">
                            <label for="renewal-email">{t("email")}</label>
                            <input id="renewal-email" type="email" autocomplete="email" inputmode="email" required aria-invalid=wrong("email")
                                prop:value=email on:input=move |ev| { email.set(event_target_value(&ev)); error.set(None); }/>
                        </div>
                        <div role="alert" class="error">
                            {move || error.get().map(|(code, field)| {
                                let key = match field.as_deref() {
                                    Some(f @ ("email" | "phone")) if code == "invalid_contact" => code + "_" + f,
                                    _ => code,
                                };
                                view! { <p>{error_text(lang.get(), &key)}</p> }
                            })}
                        </div>
                        <button type="submit" class="primary" prop:disabled=sending>{t("renewal_submit")}</button>
                    </form>
                }.into_any(),
            }}
        </section>
    }
}
