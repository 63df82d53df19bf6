//! The page for addresses that are no page.

use leptos::prelude::*;

use crate::i18n::t;

#[component]
pub fn NotFound() -> impl IntoView {
    crate::i18n::title("not_found_title");
    view! {
        <section class="page narrow">
            <h1>{t("not_found_title")}</h1>
            <p>{t("not_found_text")}</p>
            <p><a href="/">{t("to_overview")}</a></p>
        </section>
    }
}
