//! On `/admin`: staff accounts (create, new password, deactivate, reactivate) and the office's
//! devices (a kiosk or hall screen paired by a link and its QR code, shown once; revoke).

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use schalter_events::api::{DeviceAdded, DeviceView, NewDevice, NewPassword, NewUser, UserView};
use schalter_events::catalogue::Location;
use schalter_events::staff::Role;

use crate::api;
use crate::i18n::{error_text, t, text, use_lang};

fn role_key(role: Role) -> &'static str {
    match role {
        Role::Admin => "role_admin",
        Role::Desk => "role_desk",
        Role::Manager => "role_manager",
    }
}

#[component]
pub fn Accounts() -> impl IntoView {
    let lang = use_lang();
    let reload = RwSignal::new(0u32);
    let users = api::load(move || {
        reload.track();
        api::get::<Vec<UserView>>("/api/admin/users")
    });
    let error = RwSignal::new(None::<String>);
    let notice = RwSignal::new(None::<&'static str>);
    let new_user = RwSignal::new(NewUser {
        username: String::new(),
        role: "desk".into(),
        password: String::new(),
    });
    // The account whose new password is being typed, and the password.
    let resetting = RwSignal::new(None::<String>);
    let password = RwSignal::new(String::new());
    let done = move |answer: Result<(), api::ApiError>, ok: &'static str| match answer {
        Ok(()) => {
            error.set(None);
            notice.set(Some(ok));
            reload.update(|n| *n += 1);
        }
        Err(e) => {
            notice.set(None);
            error.set(Some(e.code));
        }
    };
    let create = move |ev: SubmitEvent| {
        ev.prevent_default();
        let body = new_user.get_untracked();
        spawn_local(async move {
            let answer = api::post::<UserView>("/api/admin/users", &body).await.map(|_| ());
            if answer.is_ok() {
                new_user.update(|u| {
                    u.username.clear();
                    u.password.clear();
                });
            }
            done(answer, "accounts_created");
        });
    };
    let act = move |username: String, action: &'static str| {
        spawn_local(async move {
            let path = format!("/api/admin/users/{username}/{action}");
            let answer = api::send::<api::Ignored>(&path).await.map(|_| ());
            done(
                answer,
                if action == "deactivate" {
                    "accounts_deactivated"
                } else {
                    "accounts_reactivated"
                },
            );
        });
    };
    let set_password = move |ev: SubmitEvent| {
        ev.prevent_default();
        let Some(username) = resetting.get_untracked() else {
            return;
        };
        let body = NewPassword {
            password: password.get_untracked(),
        };
        spawn_local(async move {
            let path = format!("/api/admin/users/{username}/password");
            let answer = api::post::<api::Ignored>(&path, &body).await.map(|_| ());
            if answer.is_ok() {
                resetting.set(None);
                password.set(String::new());
            }
            done(answer, "accounts_password_set");
        });
    };
    view! {
        <section class="accounts" aria-labelledby="accounts-h">
            <h2 id="accounts-h">{t("accounts_title")}</h2>
            <div role="alert" class="error">{move || error.get().map(|c| view! { <p>{move || error_text(lang.get(), &c)}</p> })}</div>
            <p role="status" class="saved" data-testid="accounts-notice">{move || notice.get().map(|k| text(lang.get(), k))}</p>
            {move || match users.get() {
                None => api::loading_notice(),
                Some(Err(_)) => api::failed_notice(),
                Some(Ok(list)) => view! {
                    <div class="setup-scroll" tabindex="0" role="region" aria-label=t("accounts_list")>
                        <table class="accounts-table" data-testid="accounts-table">
                            <thead><tr>
                                <th scope="col">{t("accounts_name")}</th>
                                <th scope="col">{t("accounts_role")}</th>
                                <th scope="col">{t("accounts_state")}</th>
                                <th scope="col">{t("accounts_actions")}</th>
                            </tr></thead>
                            <tbody>{list.into_iter().map(|u| {
                                let name = u.username.clone();
                                let toggle = if u.active { "deactivate" } else { "reactivate" };
                                let toggle_key = if u.active { "accounts_deactivate" } else { "accounts_reactivate" };
                                let for_toggle = name.clone();
                                let for_reset = name.clone();
                                view! {
                                    <tr>
                                        <td>{name.clone()}</td>
                                        <td>{t(role_key(u.role))}</td>
                                        <td>{t(if u.active { "accounts_active" } else { "accounts_inactive" })}</td>
                                        <td class="accounts-actions">
                                            <button type="button" class="button small" aria-label=move || format!("{} {}", text(lang.get(), "accounts_new_password"), for_reset)
                                                on:click={let n = name.clone(); move |_| { resetting.set(Some(n.clone())); crate::nav::focus("accounts-password"); }}>
                                                {t("accounts_new_password")}</button>
                                            <button type="button" class="button small" aria-label=move || format!("{} {}", text(lang.get(), toggle_key), for_toggle)
                                                on:click={let n = name.clone(); move |_| act(n.clone(), toggle)}>{t(toggle_key)}</button>
                                        </td>
                                    </tr>
                                }
                            }).collect_view()}</tbody>
                        </table>
                    </div>
                }.into_any(),
            }}
            {move || resetting.get().map(|who| view! {
                <form class="setup-form" on:submit=set_password novalidate>
                    <div class="field">
                        <label for="accounts-password">{move || text(lang.get(), "accounts_password_for").replace("{name}", &who)}</label>
                        <input id="accounts-password" type="password" autocomplete="new-password" minlength="10"
                            prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev))/>
                        <p class="hint">{t("accounts_password_hint")}</p>
                    </div>
                    <button type="submit" class="button primary">{t("setup_save")}</button>
                </form>
            })}
            <form class="setup-form" on:submit=create novalidate aria-labelledby="new-account-h">
                <h3 id="new-account-h">{t("accounts_create")}</h3>
                <div class="field">
                    <label for="account-username">{t("accounts_name")}</label>
                    <input id="account-username" type="text" autocomplete="off" aria-describedby="account-username-hint"
                        prop:value=move || new_user.with(|u| u.username.clone())
                        on:input=move |ev| { let v = event_target_value(&ev); new_user.update(|u| u.username = v); }/>
                    <p class="hint" id="account-username-hint">{t("accounts_name_hint")}</p>
                </div>
                <div class="field">
                    <label for="account-role">{t("accounts_role")}</label>
                    <select id="account-role" on:change=move |ev| { let v = event_target_value(&ev); new_user.update(|u| u.role = v); }>
                        <option value="desk" selected>{t("role_desk")}</option>
                        <option value="manager">{t("role_manager")}</option>
                        <option value="admin">{t("role_admin")}</option>
                    </select>
                </div>
                <div class="field">
                    <label for="account-password">{t("accounts_first_password")}</label>
                    <input id="account-password" type="password" autocomplete="new-password" minlength="10" aria-describedby="account-password-hint"
                        prop:value=move || new_user.with(|u| u.password.clone())
                        on:input=move |ev| { let v = event_target_value(&ev); new_user.update(|u| u.password = v); }/>
                    <p class="hint" id="account-password-hint">{t("accounts_password_hint")}</p>
                </div>
                <button type="submit" class="button primary">{t("accounts_create")}</button>
            </form>
        </section>
    }
}

fn device_kind(role: schalter_events::staff::access::DeviceRole) -> &'static str {
    use schalter_events::staff::access::DeviceRole;
    match role {
        DeviceRole::Kiosk => "devices_kiosk",
        DeviceRole::Display => "devices_display",
        DeviceRole::Procedure => "devices_procedure",
    }
}

/// `text` as a QR code in SVG markup.
pub(super) fn qr_svg(text: &str) -> String {
    qrcode::QrCode::new(text.as_bytes())
        .map(|q| {
            q.render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(200, 200)
                .quiet_zone(true)
                .build()
        })
        .unwrap_or_default()
}

#[component]
pub fn Devices() -> impl IntoView {
    let lang = use_lang();
    let reload = RwSignal::new(0u32);
    let devices = api::load(move || {
        reload.track();
        api::get::<Vec<DeviceView>>("/api/admin/devices")
    });
    let locations = api::load(|| async { api::get::<Vec<Location>>("/api/locations").await.unwrap_or_default() });
    let new_device = RwSignal::new(NewDevice {
        location: String::new(),
        role: "kiosk".into(),
    });
    // The new device's id and what to hand it: the pairing address, or a procedure's token.
    let added = RwSignal::new(None::<(String, String, bool)>);
    let error = RwSignal::new(None::<String>);
    let create = move |ev: SubmitEvent| {
        ev.prevent_default();
        let mut body = new_device.get_untracked();
        if body.location.is_empty() {
            body.location = locations
                .get_untracked()
                .and_then(|l| l.first().map(|l| l.id.clone()))
                .unwrap_or_default();
        }
        spawn_local(async move {
            match api::post::<DeviceAdded>("/api/admin/devices", &body).await {
                Ok(d) => {
                    let origin = web_sys::window()
                        .and_then(|w| w.location().origin().ok())
                        .unwrap_or_default();
                    let procedure = body.role == "procedure";
                    let link = if procedure {
                        d.token
                    } else {
                        format!("{origin}{}", d.path)
                    };
                    added.set(Some((d.id, link, procedure)));
                    error.set(None);
                    reload.update(|n| *n += 1);
                    crate::nav::focus("device-link");
                }
                Err(e) => error.set(Some(e.code)),
            }
        });
    };
    let revoke = move |id: String| {
        spawn_local(async move {
            match api::send::<api::Ignored>(&format!("/api/admin/devices/{id}/revoke")).await {
                Ok(_) => reload.update(|n| *n += 1),
                Err(e) => error.set(Some(e.code)),
            }
        });
    };
    view! {
        <section class="devices" aria-labelledby="devices-h">
            <h2 id="devices-h">{t("devices_title")}</h2>
            <div role="alert" class="error">{move || error.get().map(|c| view! { <p>{move || error_text(lang.get(), &c)}</p> })}</div>
            {move || added.get().map(|(id, link, procedure)| {
                let svg = (!procedure).then(|| qr_svg(&link));
                view! {
                    <div class="device-added" data-testid="device-added">
                        <p><strong>{move || text(lang.get(), "devices_added").replace("{id}", &id)}</strong></p>
                        <p class="hint">{t(if procedure { "devices_token_once" } else { "devices_once" })}</p>
                        <label for="device-link">{t(if procedure { "devices_token" } else { "devices_link" })}</label>
                        <input id="device-link" type="text" readonly prop:value=link.clone()/>
                        {svg.map(|svg| view! { <div class="device-qr" role="img" aria-label=t("devices_qr") inner_html=svg></div> })}
                    </div>
                }
            })}
            {move || match devices.get() {
                None => api::loading_notice(),
                Some(Err(_)) => api::failed_notice(),
                Some(Ok(list)) => view! {
                    <div class="setup-scroll" tabindex="0" role="region" aria-label=t("devices_list")>
                        <table class="accounts-table" data-testid="devices-table">
                            <thead><tr>
                                <th scope="col">{t("devices_id")}</th>
                                <th scope="col">{t("stats_location")}</th>
                                <th scope="col">{t("devices_kind")}</th>
                                <th scope="col">{t("accounts_state")}</th>
                                <th scope="col">{t("accounts_actions")}</th>
                            </tr></thead>
                            <tbody>{list.into_iter().map(|d| {
                                let id = d.id.clone();
                                let label = d.id.clone();
                                view! {
                                    <tr>
                                        <td>{d.id.clone()}</td>
                                        <td>{d.location.clone()}</td>
                                        <td>{t(device_kind(d.role))}</td>
                                        <td>{t(if d.revoked { "devices_revoked" } else { "accounts_active" })}</td>
                                        <td>{(!d.revoked).then(|| view! {
                                            <button type="button" class="button small" aria-label=move || format!("{} {}", text(lang.get(), "devices_revoke"), label)
                                                on:click=move |_| revoke(id.clone())>{t("devices_revoke")}</button>
                                        })}</td>
                                    </tr>
                                }
                            }).collect_view()}</tbody>
                        </table>
                    </div>
                }.into_any(),
            }}
            <form class="setup-form" on:submit=create novalidate aria-labelledby="new-device-h">
                <h3 id="new-device-h">{t("devices_create")}</h3>
                <div class="field">
                    <label for="device-location">{t("stats_location")}</label>
                    <select id="device-location" on:change=move |ev| { let v = event_target_value(&ev); new_device.update(|d| d.location = v); }>
                        {move || locations.get().unwrap_or_default().into_iter().map(|l| {
                            view! { <option value=l.id.clone()>{crate::i18n::local(l.name.clone())}</option> }
                        }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="device-role">{t("devices_kind")}</label>
                    <select id="device-role" on:change=move |ev| { let v = event_target_value(&ev); new_device.update(|d| d.role = v); }>
                        <option value="kiosk" selected>{t("devices_kiosk")}</option>
                        <option value="display">{t("devices_display")}</option>
                        <option value="procedure">{t("devices_procedure")}</option>
                    </select>
                </div>
                <button type="submit" class="button primary">{t("devices_create")}</button>
            </form>
        </section>
    }
}
