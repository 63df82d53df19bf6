//! `/datenschutz`: the privacy notice citizens agree to when they book (GDPR art. 13).

use leptos::prelude::*;

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
    view! {
        <section class="page narrow privacy" aria-labelledby="privacy-h">
            <h1 id="privacy-h">{t("privacy_link")}</h1>
            <p class="lead">{t("privacy_intro")}</p>
            {SECTIONS
                .iter()
                .map(|(heading, text)| view! {
                    <h2 class="h3">{t(heading)}</h2>
                    <p>{t(text)}</p>
                })
                .collect_view()}
        </section>
    }
}
