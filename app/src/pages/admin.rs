//! `/admin`: the administration. So far: the demo outbox, where a demo without a mail server
//! shows the emails and text messages it would have sent to citizens.

use std::time::Duration;

use leptos::prelude::*;
use schalter_events::api::{MessageChannel, OutboxMessage};
use schalter_events::staff::Role;

use super::login::StaffPage;
use crate::api;
use crate::i18n::{clock, t, text, use_lang};

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
                <DemoOutbox/>
                <p>{t("admin_more")}</p>
            }.into_any()/>
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
