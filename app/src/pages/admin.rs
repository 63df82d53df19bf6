//! `/admin`: the administration: the office's setup (`setup.rs`), closing an office for a time
//! (with what becomes of the appointments booked then), the audit log, and the demo outbox, where a demo without a mail server shows
//! the emails and text messages it would have sent to citizens.

use std::time::Duration;

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use schalter_events::api::{BookingsChoice, BookingsDone, ClosureRequest, Impact, MessageChannel, OutboxMessage};
use schalter_events::audit::Change;
use schalter_events::catalogue::{Location, Text};
use schalter_events::staff::Role;

use super::login::StaffPage;
use crate::api;
use crate::i18n::{clock, error_text, local, t, text, use_lang};

/// New messages arrive while the page is open (a booking on a phone beside it).
const REFRESH: Duration = Duration::from_secs(3);

#[component]
pub fn Admin() -> impl IntoView {
    crate::i18n::title("admin_title");
    view! {
        <StaffPage class="page admin" title="admin_title" heading="admin-h" allowed=|role| role == Role::Admin
            page=|me, _| view! {
                <h1 id="admin-h">{t("admin_title")}</h1>
                <p class="desk-user" data-testid="admin-user">{me.username}</p>
                <super::setup::OfficeSetupPanel/>
                <CloseOffice/>
                <super::cases::OverdueCases/>
                <super::accounts::Accounts/>
                <super::accounts::Devices/>
                <AuditLog/>
                <DemoOutbox/>
            }.into_any()/>
    }
}

/// What the admin typed; checked by the browser as it is typed, and again by the server.
#[derive(Clone, Default)]
struct ClosureForm {
    location: String,
    from: String,
    to: String,
    from_time: String,
    until_time: String,
    reason_de: String,
    reason_en: String,
}

impl ClosureForm {
    /// The request, or the first field the server would refuse.
    /// `choice`: cancel (true) or keep (false) the appointments met, chosen explicitly (no
    /// default), and the message; asked for once the appointments are shown.
    fn request(&self, choose: bool, choice: (Option<bool>, String)) -> Result<ClosureRequest, &'static str> {
        let day = |s: &str| s.parse::<chrono::NaiveDate>().ok();
        let time = |s: &str, field| match s.trim() {
            "" => Ok(None),
            t => t.parse::<chrono::NaiveTime>().map(Some).map_err(|_| field),
        };
        let from = day(&self.from).ok_or("from")?;
        let to = day(&self.to).ok_or("to")?;
        if to < from {
            return Err("to");
        }
        if self.reason_de.trim().is_empty() {
            return Err("reason");
        }
        let message = choice.1.trim();
        let cancel = match (choose, choice.0) {
            (false, _) => false,
            (true, None) => return Err("bookings"),
            (true, Some(cancel)) => cancel,
        };
        if cancel && message.is_empty() {
            return Err("message");
        }
        Ok(ClosureRequest {
            from,
            to,
            from_time: time(&self.from_time, "from_time")?,
            until_time: time(&self.until_time, "until_time")?,
            reason: Text::new(self.reason_de.trim(), self.reason_en.trim()),
            bookings: choose.then_some(if cancel {
                BookingsChoice::Cancel
            } else {
                BookingsChoice::Keep
            }),
            message: cancel.then(|| message.to_owned()),
        })
    }
}

/// The input the server's `field` names.
fn field_id(field: &str) -> &'static str {
    match field {
        "from" => "closure-from",
        "to" => "closure-to",
        "from_time" => "closure-from_time",
        "until_time" => "closure-until_time",
        "reason" => "closure-reason",
        "message" => "closure-message",
        _ => "closure-keep",
    }
}

/// Closing an office for a time: first the appointments it meets (no names), then the choice.
#[component]
fn CloseOffice() -> impl IntoView {
    let lang = use_lang();
    let locations = api::load(|| async { api::get::<Vec<Location>>("/api/locations").await.unwrap_or_default() });
    let form = RwSignal::new(ClosureForm::default());
    // The appointments met, once checked, and the choice; any change to the form asks again.
    let ask = super::setup::BookingsAsk::new();
    let impact = ask.met;
    let error: api::FormError = RwSignal::new(None);
    let done = RwSignal::new(None::<BookingsDone>);
    let sending = RwSignal::new(false);
    Effect::new(move |_| {
        if form.with(|f| f.location.is_empty()) {
            if let Some(first) = locations.get().and_then(|l| l.first().cloned()) {
                form.update(|f| f.location = first.id);
            }
        }
    });
    let edit = move |change: fn(&mut ClosureForm, String)| {
        move |ev: leptos::ev::Event| {
            let value = event_target_value(&ev);
            form.update(|f| change(f, value));
            ask.reset();
            done.set(None);
            error.set(None);
        }
    };
    let wrong = move |field| api::invalid_if(error, field);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if sending.get_untracked() {
            return;
        }
        let choose = impact.with_untracked(|i| i.as_ref().is_some_and(|list| !list.is_empty()));
        let checked = impact.with_untracked(Option::is_some);
        let current = form.get_untracked();
        let choice = (ask.cancel.get_untracked(), ask.message.get_untracked());
        let request = match current.request(choose, choice) {
            Ok(r) => r,
            Err(field) => {
                error.set(Some((format!("invalid_closure_{field}"), Some(field.to_owned()))));
                crate::nav::focus(if field == "bookings" {
                    "closure-keep"
                } else {
                    field_id(field)
                });
                return;
            }
        };
        let base = format!("/api/admin/locations/{}/closures", current.location);
        sending.set(true);
        spawn_local(async move {
            let answer = if checked {
                api::post::<BookingsDone>(&base, &request).await.map(|d| {
                    done.set(Some(d));
                    impact.set(None);
                })
            } else {
                api::post::<Impact>(&format!("{base}/impact"), &request)
                    .await
                    .map(|i| impact.set(Some(i.bookings)))
            };
            if let Err(e) = answer {
                if let Some(field) = &e.field {
                    crate::nav::focus(field_id(field));
                }
                let code = match &e.field {
                    Some(f) if e.code == "invalid_closure" => format!("invalid_closure_{f}"),
                    _ => e.code,
                };
                error.set(Some((code, e.field)));
            }
            sending.set(false);
        });
    };
    view! {
        <section class="close-office" aria-labelledby="close-h">
            <h2 id="close-h">{t("closure_title")}</h2>
            <p class="hint">{t("closure_hint")}</p>
            <form class="closure-form" on:submit=submit novalidate>
                <div class="field">
                    <label for="closure-location">{t("stats_location")}</label>
                    <select id="closure-location" on:change=edit(|f, v| f.location = v)>
                        {move || locations.get().unwrap_or_default().into_iter().map(|l| {
                            let id = l.id.clone();
                            let selected = move || form.with(|f| f.location == id);
                            view! { <option value=l.id.clone() selected=selected>{local(l.name.clone())}</option> }
                        }).collect_view()}
                    </select>
                </div>
                <div class="closure-times">
                    <div class="field">
                        <label for="closure-from">{t("closure_from")}</label>
                        <input id="closure-from" type="date" required aria-invalid=wrong("from")
                            prop:value=move || form.with(|f| f.from.clone()) on:input=edit(|f, v| {
                                if f.to.is_empty() || f.to < v { f.to = v.clone(); }
                                f.from = v;
                            })/>
                    </div>
                    <div class="field">
                        <label for="closure-from_time">{t("closure_from_time")}</label>
                        <input id="closure-from_time" type="time" aria-invalid=wrong("from_time") aria-describedby="closure-time-hint"
                            prop:value=move || form.with(|f| f.from_time.clone()) on:input=edit(|f, v| f.from_time = v)/>
                    </div>
                    <div class="field">
                        <label for="closure-to">{t("closure_to")}</label>
                        <input id="closure-to" type="date" required aria-invalid=wrong("to")
                            prop:value=move || form.with(|f| f.to.clone()) on:input=edit(|f, v| f.to = v)/>
                    </div>
                    <div class="field">
                        <label for="closure-until_time">{t("closure_until_time")}</label>
                        <input id="closure-until_time" type="time" aria-invalid=wrong("until_time") aria-describedby="closure-time-hint"
                            prop:value=move || form.with(|f| f.until_time.clone()) on:input=edit(|f, v| f.until_time = v)/>
                    </div>
                </div>
                <p class="hint" id="closure-time-hint">{t("closure_time_hint")}</p>
                <div class="field">
                    <label for="closure-reason">{t("closure_reason_de")}</label>
                    <input id="closure-reason" type="text" required maxlength="200" aria-invalid=wrong("reason")
                        prop:value=move || form.with(|f| f.reason_de.clone()) on:input=edit(|f, v| f.reason_de = v)/>
                </div>
                <div class="field">
                    <label for="closure-reason-en">{t("closure_reason_en")}</label>
                    <input id="closure-reason-en" type="text" maxlength="200" lang="en"
                        prop:value=move || form.with(|f| f.reason_en.clone()) on:input=edit(|f, v| f.reason_en = v)/>
                </div>
                {move || impact.with(|m| m.as_ref().is_some_and(Vec::is_empty)).then(|| view! {
                    <p data-testid="closure-none">{t("closure_none")}</p>
                })}
                {ask.view("closure", "closure_met")}
                <div role="alert" class="error">
                    {move || error.get().map(|(code, _)| view! { <p>{error_text(lang.get(), &code)}</p> })}
                </div>
                <div role="status" class="closure-done">
                    {move || done.get().map(|d| view! {
                        <p data-testid="closure-done">{move || text(lang.get(), "closure_done")}" "
                            {move || text(lang.get(), "closure_cancelled").replace("{n}", &d.cancelled.to_string())}" "
                            {move || text(lang.get(), "closure_kept").replace("{n}", &d.kept.to_string())}</p>
                    })}
                </div>
                <button type="submit" class="button primary" prop:disabled=sending>
                    {move || if impact.with(Option::is_some) { t("closure_save")() } else { t("closure_check")() }}
                </button>
            </form>
        </section>
    }
}

/// The audit filter as typed: each field may stay empty.
#[derive(Clone, Default, PartialEq)]
struct AuditQuery {
    area: String,
    actor: String,
    from: String,
    to: String,
}

impl AuditQuery {
    fn string(&self) -> String {
        let encode = |s: &str| String::from(js_sys::encode_uri_component(s));
        [
            ("area", &self.area),
            ("actor", &self.actor),
            ("from", &self.from),
            ("to", &self.to),
        ]
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| format!("{k}={}", encode(v.trim())))
        .collect::<Vec<_>>()
        .join("&")
    }
}

const AREAS: [(&str, &str); 6] = [
    ("offices", "audit_area_offices"),
    ("hours", "audit_area_hours"),
    ("closures", "audit_area_closures"),
    ("accounts", "audit_area_accounts"),
    ("devices", "audit_area_devices"),
    ("contacts", "audit_area_contacts"),
];

/// Who changed how the offices run: filters, the changes with before and after, CSV.
#[component]
fn AuditLog() -> impl IntoView {
    let lang = use_lang();
    let draft = RwSignal::new(AuditQuery::default());
    let query = RwSignal::new(AuditQuery::default());
    let changes = api::load(move || {
        let q = query.get().string();
        async move { api::get::<Vec<Change>>(&format!("/api/admin/audit?{q}")).await }
    });
    let apply = move |ev: SubmitEvent| {
        ev.prevent_default();
        query.set(draft.get_untracked());
    };
    let set = move |change: fn(&mut AuditQuery, String)| {
        move |ev: leptos::ev::Event| {
            let value = event_target_value(&ev);
            draft.update(|q| change(q, value));
        }
    };
    view! {
        <section class="audit" aria-labelledby="audit-h">
            <h2 id="audit-h">{t("audit_title")}</h2>
            <p class="hint">{t("audit_hint")}</p>
            <form class="audit-filter" on:submit=apply aria-label=t("audit_filter")>
                <label>{t("audit_area")}
                    <select name="area" on:change=set(|q, v| q.area = v)>
                        <option value="">{t("stats_all")}</option>
                        {AREAS.into_iter().map(|(id, key)| view! { <option value=id>{t(key)}</option> }).collect_view()}
                    </select>
                </label>
                <label>{t("audit_actor")}
                    <input type="text" name="actor" prop:value=move || draft.with(|q| q.actor.clone()) on:input=set(|q, v| q.actor = v)/>
                </label>
                <label>{t("stats_from")}
                    <input type="date" name="from" prop:value=move || draft.with(|q| q.from.clone()) on:change=set(|q, v| q.from = v)/>
                </label>
                <label>{t("stats_to")}
                    <input type="date" name="to" prop:value=move || draft.with(|q| q.to.clone()) on:change=set(|q, v| q.to = v)/>
                </label>
                <button type="submit" class="button primary">{t("stats_show")}</button>
                <a class="button" href=move || format!("/api/admin/audit.csv?{}", query.get().string()) download="">{t("audit_csv")}</a>
            </form>
            {move || match changes.get() {
                None => api::loading_notice(),
                Some(Err(_)) => api::failed_notice(),
                Some(Ok(list)) if list.is_empty() => view! { <p data-testid="audit-empty">{t("audit_empty")}</p> }.into_any(),
                Some(Ok(list)) => view! {
                    <div class="audit-scroll" tabindex="0" role="region" aria-label=t("audit_table")>
                        <table class="audit-table" data-testid="audit-table">
                            <thead><tr>
                                <th scope="col">{t("audit_when")}</th>
                                <th scope="col">{t("audit_actor")}</th>
                                <th scope="col">{t("audit_area")}</th>
                                <th scope="col">{t("audit_subject")}</th>
                                <th scope="col">{t("audit_before")}</th>
                                <th scope="col">{t("audit_after")}</th>
                            </tr></thead>
                            <tbody>
                                {list.into_iter().map(|c| {
                                    let at = c.at.to_rfc3339();
                                    let area = AREAS.iter().find(|(id, _)| *id == c.area.name()).map(|(_, k)| *k).unwrap_or("audit_area_offices");
                                    view! {
                                        <tr>
                                            <td class="audit-when">{move || {
                                                // The browser's clock: the admin reads it where they are.
                                                let locale = if lang.get() == crate::i18n::Lang::En { "en-GB" } else { "de-DE" };
                                                let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(&at));
                                                String::from(date.to_locale_string(locale, &wasm_bindgen::JsValue::UNDEFINED))
                                            }}</td>
                                            <td>{c.actor.clone()}</td>
                                            <td>{t(area)}</td>
                                            <td>{c.subject.clone()}</td>
                                            <td class="audit-text">{c.before.clone()}</td>
                                            <td class="audit-text">{c.after.clone()}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any(),
            }}
        </section>
    }
}

/// The demo's messages, newest first; nothing at all outside demo mode (the server answers 404).
#[component]
fn DemoOutbox() -> impl IntoView {
    let tick = RwSignal::new(0u32);
    if let Ok(handle) = set_interval_with_handle(move || tick.update(|n| *n += 1), REFRESH) {
        on_cleanup(move || handle.clear());
    }
    let messages = api::load(move || {
        tick.track();
        async move { api::get::<Vec<OutboxMessage>>("/api/admin/demo-outbox").await }
    });
    move || {
        match messages.get() {
        Some(Ok(list)) => view! {
            <section class="demo-outbox" aria-labelledby="outbox-h">
                <h2 id="outbox-h">{t("admin_outbox_title")}</h2>
                <p class="hint">{t("admin_outbox_hint")}</p>
                {if list.is_empty() {
                    view! { <p data-testid="outbox-empty">{t("admin_outbox_empty")}</p> }.into_any()
                } else {
                    view! { <ul class="outbox-list">{list.into_iter().map(|m| view! { <Message message=m/> }).collect_view()}</ul> }
                        .into_any()
                }}
            </section>
        }
        .into_any(),
        // Not demo mode, or not (yet) answered: the page shows what else it has.
        _ => ().into_any(),
    }
    }
}

#[component]
fn Message(message: OutboxMessage) -> impl IntoView {
    let lang = use_lang();
    let OutboxMessage {
        id,
        channel,
        at,
        to,
        subject,
        text: body,
        calendar,
    } = message;
    let how = match channel {
        MessageChannel::Mail => "admin_outbox_mail",
        MessageChannel::Sms => "admin_outbox_sms",
    };
    let title = if subject.is_empty() { body.clone() } else { subject };
    let calendar = calendar.then(|| {
        let href = format!("/api/admin/demo-outbox/{id}/calendar.ics");
        view! { <p><a href=href download="termin.ics" data-testid="outbox-calendar">{t("admin_outbox_calendar")}</a></p> }
    });
    view! {
        <li class="outbox-message" data-testid="outbox-message">
            <details>
                <summary>
                    <span class="outbox-time">{move || clock(lang.get(), at.as_str())}</span>" "
                    <span class="outbox-to">{move || text(lang.get(), how)}" "{to.clone()}</span>": "
                    <span class="outbox-subject">{title}</span>
                </summary>
                <pre class="outbox-text">{with_links(&body)}</pre>
                {calendar}
            </details>
        </li>
    }
}

/// The message's text with its addresses (the manage link) as links, as a mail program shows it.
fn with_links(body: &str) -> Vec<AnyView> {
    let mut parts = Vec::new();
    for line in body.lines() {
        for (i, word) in line.split(' ').enumerate() {
            if i > 0 {
                parts.push(" ".into_any());
            }
            let word = word.to_owned();
            parts.push(if word.starts_with("http://") || word.starts_with("https://") {
                let href = word.clone();
                view! { <a href=href>{word}</a> }.into_any()
            } else {
                word.into_any()
            });
        }
        parts.push("\n".into_any());
    }
    parts
}
