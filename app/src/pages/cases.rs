//! On the desk page: at the end of a visit the clerk opens a case for what was applied for and
//! hands over the tracking code (printed with a QR code); later staff move cases on by code.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use schalter_events::api::{CaseOpened, CaseRequest, CaseView, OverdueCase, SilentProcedure, StepRequest};
use schalter_events::case::Step;
use schalter_events::catalogue::CaseKind;

use super::case::step_key;
use crate::api;
use crate::i18n::{clock, error_text, local, long_date, t, text, use_lang};

#[derive(Clone, Default)]
struct CaseForm {
    kind: String,
    expected_ready: String,
    reference: String,
    email: String,
    phone: String,
    english: bool,
}

/// Opening a case at `location`, folded away until the clerk needs it.
#[component]
pub fn CaseOpening(location: Signal<Option<String>>) -> impl IntoView {
    let lang = use_lang();
    let form = RwSignal::new(CaseForm::default());
    let kinds = api::load(|| api::get::<Vec<CaseKind>>("/api/case-kinds"));
    let opened = RwSignal::new(None::<CaseOpened>);
    let error: api::FormError = RwSignal::new(None);
    let sending = RwSignal::new(false);
    let edit = move |change: fn(&mut CaseForm, String)| {
        move |ev: leptos::ev::Event| {
            let value = event_target_value(&ev);
            form.update(|f| change(f, value));
            error.set(None);
        }
    };
    let wrong = move |field| api::invalid_if(error, field);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let Some(location) = location.get_untracked() else {
            return;
        };
        if sending.get_untracked() {
            return;
        }
        let f = form.get_untracked();
        for (value, field) in [(&f.kind, "kind"), (&f.expected_ready, "expected_ready")] {
            if value.trim().is_empty() {
                error.set(Some((format!("case_missing_{field}"), Some(field.to_owned()))));
                crate::nav::focus(&format!("case-{field}"));
                return;
            }
        }
        let Ok(expected_ready) = f.expected_ready.parse() else {
            return;
        };
        let optional = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        let request = CaseRequest {
            kind: f.kind.clone(),
            location,
            expected_ready,
            reference: optional(&f.reference),
            email: f.email.trim().to_owned(),
            phone: optional(&f.phone),
            language: Some(if f.english { "en" } else { "de" }.to_owned()),
        };
        sending.set(true);
        spawn_local(async move {
            match api::post::<CaseOpened>("/api/desk/cases", &request).await {
                Ok(case) => {
                    opened.set(Some(case));
                    form.set(CaseForm::default());
                    crate::nav::focus("case-opened");
                }
                Err(e) => {
                    if let Some(field) = &e.field {
                        crate::nav::focus(&format!("case-{field}"));
                    }
                    let code = match e.field.as_deref() {
                        Some(f @ ("email" | "phone")) => format!("{}_{f}", e.code),
                        _ => e.code,
                    };
                    error.set(Some((code, e.field)));
                }
            }
            sending.set(false);
        });
    };
    view! {
        <details class="caller-booking case-opening">
            <summary><h2 id="case-h">{t("case_open_title")}</h2></summary>
            <p class="hint">{t("case_open_hint")}</p>
            {move || opened.get().map(|c| {
                let origin = window().location().origin().unwrap_or_default();
                let link = format!("{origin}/case/{}", c.code);
                let qr = super::accounts::qr_svg(&link);
                view! {
                    <div class="caller-booked case-receipt" id="case-opened" tabindex="-1" data-testid="case-opened">
                        <p><strong>{t("case_opened")}</strong>" "{move || c.case.kind_name.get(lang.get().code()).to_owned()}</p>
                        <p>{t("case_code")}" "<span class="code" data-testid="case-code">{c.code.clone()}</span></p>
                        <div class="qr" inner_html=qr></div>
                        <p class="link">{link}</p>
                        <button type="button" class="button no-print" on:click=move |_| { let _ = window().print(); }>{t("caller_print")}</button>
                    </div>
                }
            })}
            <form class="caller-form" on:submit=submit novalidate>
                <div class="field">
                    <label for="case-kind">{t("case_kind")}</label>
                    <select id="case-kind" aria-invalid=wrong("kind") on:change=edit(|f, v| f.kind = v)>
                        <option value="" selected=move || form.with(|f| f.kind.is_empty())>{t("caller_choose")}</option>
                        {move || kinds.get().and_then(|r| r.ok()).unwrap_or_default().into_iter().map(|k| {
                            let id = k.id.clone();
                            let selected = move || form.with(|f| f.kind == id);
                            view! { <option value=k.id.clone() selected=selected>{local(k.name)}</option> }
                        }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="case-expected_ready">{t("case_expected")}</label>
                    <input id="case-expected_ready" type="date" aria-invalid=wrong("expected_ready")
                        prop:value=move || form.with(|f| f.expected_ready.clone()) on:change=edit(|f, v| f.expected_ready = v)/>
                </div>
                <div class="field">
                    <label for="case-reference">{t("case_reference")}</label>
                    <input id="case-reference" type="text" maxlength="60" autocomplete="off"
                        prop:value=move || form.with(|f| f.reference.clone()) on:input=edit(|f, v| f.reference = v)/>
                </div>
                <div class="field">
                    <label for="case-email">{t("caller_email")}</label>
                    <input id="case-email" type="email" autocomplete="off" aria-invalid=wrong("email")
                        prop:value=move || form.with(|f| f.email.clone()) on:input=edit(|f, v| f.email = v)/>
                </div>
                <div class="field">
                    <label for="case-phone">{t("caller_phone")}</label>
                    <input id="case-phone" type="tel" autocomplete="off" aria-invalid=wrong("phone")
                        prop:value=move || form.with(|f| f.phone.clone()) on:input=edit(|f, v| f.phone = v)/>
                </div>
                <div class="field check">
                    <input id="case-english" type="checkbox" prop:checked=move || form.with(|f| f.english)
                        on:change=move |ev| { let on = event_target_checked(&ev); form.update(|f| f.english = on); }/>
                    <label for="case-english">{t("case_english")}</label>
                </div>
                <div role="alert" class="error">
                    {move || error.get().map(|(code, _)| view! { <p>{move || error_text(lang.get(), &code)}</p> })}
                </div>
                <button type="submit" class="button primary" prop:disabled=sending>{t("case_open")}</button>
            </form>
        </details>
    }
}

/// Moving a case on by its code: what the citizen shows at pick-up, or what the back office
/// reads off the delivery.
#[component]
pub fn CaseStep() -> impl IntoView {
    let lang = use_lang();
    let code = RwSignal::new(String::new());
    let step = RwSignal::new(Step::Ready);
    let done = RwSignal::new(None::<CaseView>);
    let error = RwSignal::new(None::<String>);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let (c, s) = (code.get_untracked(), step.get_untracked());
        spawn_local(async move {
            let url = format!("/api/desk/cases/{}/step", c.trim());
            match api::post::<CaseView>(&url, &StepRequest { step: s }).await {
                Ok(view) => {
                    error.set(None);
                    done.set(Some(view));
                }
                Err(e) => {
                    done.set(None);
                    error.set(Some(e.code));
                }
            }
        });
    };
    view! {
        <details class="caller-booking case-step">
            <summary><h2 id="case-step-h">{t("case_step_title")}</h2></summary>
            <form class="caller-form" on:submit=submit novalidate>
                <div class="field">
                    <label for="case-step-code">{t("case_code")}</label>
                    <input id="case-step-code" type="text" autocomplete="off" prop:value=code
                        on:input=move |ev| code.set(event_target_value(&ev))/>
                </div>
                <div class="field">
                    <label for="case-step-to">{t("case_step_to")}</label>
                    <select id="case-step-to" on:change=move |ev| {
                        let v = event_target_value(&ev);
                        if let Some(s) = Step::ALL.into_iter().find(|s| step_key(*s) == v) {
                            step.set(s);
                        }
                    }>
                        {Step::ALL.into_iter().filter(|s| *s != Step::Received).map(|s| view! {
                            <option value=step_key(s) selected=move || step.get() == s>{t(step_key(s))}</option>
                        }).collect_view()}
                    </select>
                </div>
                <div role="alert" class="error">
                    {move || error.get().map(|code| view! { <p>{move || error_text(lang.get(), &code)}</p> })}
                </div>
                <p role="status" data-testid="case-step-done">
                    {move || done.get().map(|c| format!("{}: {}", c.kind_name.get(lang.get().code()), text(lang.get(), step_key(c.step))))}
                </p>
                <button type="submit" class="button primary">{t("case_step_save")}</button>
            </form>
        </details>
    }
}

/// For admins: applications past their expected date with no news since, so someone asks the
/// procedure or the manufacturer before the citizen does. No name, no code.
#[component]
pub fn OverdueCases() -> impl IntoView {
    let lang = use_lang();
    let late = api::load(|| api::get::<Vec<OverdueCase>>("/api/admin/cases/overdue"));
    let silent = api::load(|| api::get::<Vec<SilentProcedure>>("/api/admin/cases/silent-procedures"));
    // Named only when there is one: an empty warning would teach admins to skip the box.
    let silent_view = move || {
        let list = silent.get().and_then(|r| r.ok()).unwrap_or_default();
        (!list.is_empty()).then(|| view! {
            <div class="notice" role="status" data-testid="silent-procedures">
                <p>{t("silent_title")}</p>
                <ul>{list.into_iter().map(|p| {
                    let heard = p.heard_at.as_str().to_owned();
                    let heard_day = heard.clone();
                    let key = if p.never_imported { "silent_never" } else { "silent_last" };
                    view! {
                        <li>{format!("{} ({}): ", p.device, p.location)}
                            {move || format!("{} {}, {}", text(lang.get(), key), long_date(lang.get(), &heard_day), clock(lang.get(), &heard))}</li>
                    }
                }).collect_view()}</ul>
            </div>
        })
    };
    view! {
        <section class="overdue-cases" aria-labelledby="overdue-h">
            <h2 id="overdue-h">{t("overdue_title")}</h2>
            <p class="hint">{t("overdue_hint")}</p>
            {silent_view}
            {move || match late.get() {
                None => api::loading_notice(),
                Some(Err(_)) => api::failed_notice(),
                Some(Ok(list)) if list.is_empty() => view! { <p data-testid="overdue-none">{t("overdue_none")}</p> }.into_any(),
                Some(Ok(list)) => view! {
                    <div class="setup-scroll" tabindex="0" role="region" aria-label=t("overdue_title")>
                        <table class="accounts-table" data-testid="overdue-table">
                            <thead><tr>
                                <th scope="col">{t("case_kind")}</th>
                                <th scope="col">{t("stats_location")}</th>
                                <th scope="col">{t("case_reference")}</th>
                                <th scope="col">{t("case_expected")}</th>
                                <th scope="col">{t("overdue_last_news")}</th>
                            </tr></thead>
                            <tbody>{list.into_iter().map(|c| {
                                let expected = c.expected_ready.to_string();
                                let moved = c.updated_at.as_str().to_owned();
                                let moved_day = moved.clone();
                                view! {
                                    <tr>
                                        <td>{local(c.kind_name)}</td>
                                        <td>{c.location}</td>
                                        <td>{c.reference.unwrap_or_default()}</td>
                                        <td>{move || long_date(lang.get(), &expected)}</td>
                                        <td>{move || format!("{}, {}: {}", long_date(lang.get(), &moved_day), clock(lang.get(), &moved),
                                            text(lang.get(), step_key(c.step)))}</td>
                                    </tr>
                                }
                            }).collect_view()}</tbody>
                        </table>
                    </div>
                }.into_any(),
            }}
        </section>
    }
}
