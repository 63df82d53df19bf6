//! Staff sign-in, shared by the desk and the statistics page.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use schalter_events::api::{LoginRequest, Me};

use crate::api;
use crate::i18n::{error_text, t, use_lang};

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
