//! Schalter's web app: every page citizens, staff, kiosks and hall screens see. Two bundles
//! share this library: the citizens' (`schalter-app`: booking, manage, ticket status), which
//! phones download, and the staff's (`schalter-staff`: kiosk, desk, display, statistics,
//! admin), so a phone never loads the office's screens.

pub mod api;
pub mod i18n;
pub mod nav;
pub mod pages;

use leptos::prelude::*;

use crate::i18n::{use_lang, Lang};
use crate::nav::Router;

// Smaller (and faster) in WebAssembly than the default allocator, dlmalloc: every phone
// downloads the allocator.
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// Panics go to the browser console with their message. (The usual crate for this also
/// records a stack trace, which names nothing in a release build; the phone would download it.)
pub fn report_panics() {
    std::panic::set_hook(Box::new(|info| web_sys::console::error_1(&info.to_string().into())));
}

/// Header, skip link, main landmark and footer around one bundle's routes.
#[component]
pub fn Shell(
    /// The office's bundle: its pages are for staff, who need no "book by phone on 115".
    #[prop(optional)]
    staff: bool,
    children: Children,
) -> impl IntoView {
    i18n::provide();
    view! {
        <Router>
            <a class="skip-link" href="#main">{i18n::t("skip_to_content")}</a>
            <Header/>
            <main id="main" tabindex="-1">
                {children()}
            </main>
            <Footer staff/>
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
            <a href="/" class="brand">
                <span class="brand-mark" aria-hidden="true">"S"</span>
                <span class="brand-text">{i18n::t("brand")}</span>
            </a>
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
fn Footer(staff: bool) -> impl IntoView {
    view! {
        <footer class="site-footer">
            {(!staff).then(|| view! { <p>{i18n::t("footer_phone")}</p> })}
            <p><a href="/datenschutz">{i18n::t("privacy_link")}</a></p>
        </footer>
    }
}
