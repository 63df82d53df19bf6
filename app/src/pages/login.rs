//! Staff sign-in, and the frame every staff page shares: who is signed in decides what shows.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use schalter_events::api::{LoginRequest, Me};
use schalter_events::staff::Role;

use crate::api;
use crate::i18n::{error_text, t, use_lang};

/// A staff page (`class`, labelled by the heading with id `heading`): the sign-in form until
/// someone is signed in, a refusal for a role `allowed` rejects, else `page`, given who is
/// signed in and the signal to bump when they sign out.
#[component]
pub fn StaffPage(
    class: &'static str,
    title: &'static str,
    heading: &'static str,
    allowed: fn(Role) -> bool,
    page: fn(Me, RwSignal<u32>) -> AnyView,
) -> impl IntoView {
    let signed_in = RwSignal::new(0u32);
    let me = api::load(move || {
        signed_in.track();
        async move { api::get::<Me>("/api/auth/me").await }
    });
    view! {
        <section class=class aria-labelledby=heading>
            {move || match me.get() {
                None => api::loading_notice(),
                Some(Ok(me)) if allowed(me.role) => page(me, signed_in),
                Some(Ok(_)) => view! {
                    <h1 id=heading>{t(title)}</h1>
                    <p class="error" role="alert">{t("err_forbidden")}</p>
                }.into_any(),
                Some(Err(_)) => view! { <Login title heading signed_in/> }.into_any(),
            }}
        </section>
    }
}

/// The sign-in form under the page's heading `title` (with id `heading`); bumps `signed_in`.
#[component]
pub fn Login(title: &'static str, heading: &'static str, signed_in: RwSignal<u32>) -> impl IntoView {
    let lang = use_lang();
    let (username, password) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    let error = RwSignal::new(None::<String>);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let body = LoginRequest {
            username: username.get_untracked(),
            password: password.get_untracked(),
        };
        spawn_local(async move {
            match api::post::<Me>("/api/auth/login", &body).await {
                Ok(_) => signed_in.update(|n| *n += 1),
                Err(e) => error.set(Some(e.code)),
            }
        });
    };
    view! {
        <h1 id=heading>{t(title)}</h1>
        <form class="login" on:submit=submit>
            <label for="username">{t("username")}</label>
            <input id="username" name="username" autocomplete="username" required=true
                on:input=move |ev| username.set(event_target_value(&ev))/>
            <label for="password">{t("password")}</label>
            <input id="password" name="password" type="password" autocomplete="current-password" required=true
                on:input=move |ev| password.set(event_target_value(&ev))/>
            {move || error.get().map(|c| view! { <p class="error" role="alert">{move || error_text(lang.get(), &c)}</p> })}
            <button type="submit" class="button primary">{t("sign_in")}</button>
        </form>
    }
}
