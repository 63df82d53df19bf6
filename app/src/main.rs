//! Schalter's web app: every page citizens, staff, kiosks and hall screens see.

mod api;
mod i18n;
mod pages;

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes, A};
use leptos_router::path;

use crate::i18n::{use_lang, Lang};

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}

#[component]
fn App() -> impl IntoView {
    i18n::provide();
    view! {
        <Router>
            <a class="skip-link" href="#main">{i18n::t("skip_to_content")}</a>
            <Header/>
            <main id="main" tabindex="-1">
                <Routes fallback=pages::NotFound>
                    <Route path=path!("/") view=pages::Home/>
                    <Route path=path!("/booking/:code") view=pages::ManageBooking/>
                    <Route path=path!("/kiosk/:location") view=pages::Kiosk/>
                    <Route path=path!("/desk") view=pages::Desk/>
                    <Route path=path!("/display/:location") view=pages::Display/>
                    <Route path=path!("/ticket/:token") view=pages::TicketStatus/>
                    <Route path=path!("/stats") view=pages::Stats/>
                    <Route path=path!("/admin") view=pages::Admin/>
                </Routes>
            </main>
            <Footer/>
        </Router>
    }
}

#[component]
fn Header() -> impl IntoView {
    let lang = use_lang();
    let other = move || match lang.get() {
        Lang::De => ("English", "en"),
        Lang::En => ("Deutsch", "de"),
    };
    view! {
        <header class="site-header">
            <A href="/" attr:class="brand">
                <span class="brand-mark" aria-hidden="true">"S"</span>
                <span class="brand-text">{i18n::t("brand")}</span>
            </A>
            <button
                type="button"
                class="lang-switch"
                lang=move || other().1
                on:click=move |_| lang.update(|l| *l = l.other())
            >
                {move || other().0}
            </button>
        </header>
    }
}

#[component]
fn Footer() -> impl IntoView {
    view! {
        <footer class="site-footer">
            <p>{i18n::t("footer_phone")}</p>
        </footer>
    }
}
