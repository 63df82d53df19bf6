//! `/datenschutz`: the privacy notice citizens agree to when they book (GDPR art. 13).

use leptos::prelude::*;
use schalter_events::catalogue::Municipality;

use crate::api;
use crate::i18n::t;

const SECTIONS: [(&str, &str); 7] = [
    ("privacy_h_what", "privacy_p_what"),
    ("privacy_h_why", "privacy_p_why"),
    ("privacy_h_protect", "privacy_p_protect"),
    ("privacy_h_keep", "privacy_p_keep"),
    ("privacy_h_who", "privacy_p_who"),
    ("privacy_h_screen", "privacy_p_screen"),
    ("privacy_h_rights", "privacy_p_rights"),
];

#[component]
pub fn Privacy() -> impl IntoView {
    crate::i18n::title("privacy_link");
    // Who is responsible and whom to ask (GDPR art. 13(1)(a), (b)): the municipality's own
    // entries from its configuration, so every town's notice names its own.
    let municipality = api::load(|| async { api::get::<Municipality>("/api/municipality").await.ok() });
    // The sections appear together once the contacts have arrived, so nothing already on the
    // screen is pushed down by them (layout shift).
    let body = move || {
        municipality.get().map(|m| {
            let contacts = m.map(|m| {
                view! {
                    <h2 class="h3">{t("privacy_h_controller")}</h2>
                    <p class="contact" data-testid="controller">{m.controller}</p>
                    <h2 class="h3">{t("privacy_h_officer")}</h2>
                    <p class="contact" data-testid="data-protection-officer">{m.data_protection_officer}</p>
                }
            });
            let sections = SECTIONS
                .iter()
                .map(|(heading, text)| {
                    view! {
                        <h2 class="h3">{t(heading)}</h2>
                        <p>{t(text)}</p>
                    }
                })
                .collect_view();
            view! { {contacts} {sections} }
        })
    };
    view! {
        <section class="page narrow privacy" aria-labelledby="privacy-h">
            <h1 id="privacy-h">{t("privacy_link")}</h1>
            <p class="lead">{t("privacy_intro")}</p>
            {body}
        </section>
    }
}
