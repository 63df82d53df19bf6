//! Pages whose routes exist already and whose content arrives with their issues.

use leptos::prelude::*;

use crate::i18n::t;

#[component]
fn Coming(title: &'static str) -> impl IntoView {
    view! {
        <section class="page narrow">
            <h1>{t(title)}</h1>
            <p>{t("coming")}</p>
            <p><a href="/">{t("to_overview")}</a></p>
        </section>
    }
}

#[component]
pub fn Admin() -> impl IntoView {
    view! { <Coming title="admin_title"/> }
}

#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <section class="page narrow">
            <h1>{t("not_found_title")}</h1>
            <p>{t("not_found_text")}</p>
            <p><a href="/">{t("to_overview")}</a></p>
        </section>
    }
}
