//! Talking to the server: JSON over fetch, errors turned into the server's human message.
//!
//! JSON is read and written by the browser (`JSON.parse`, `JSON.stringify`) and converted
//! with `serde-wasm-bindgen`: a JSON parser compiled into the app would be one more thing every
//! phone downloads.

use leptos::prelude::*;
use schalter_events::api::{Challenge, ErrorBody, Proof};
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::i18n::t;

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: String,
    pub message: String,
    /// The request's field to blame, where the server names one.
    pub field: Option<String>,
}

/// The answer of a request whose content the page doesn't need.
pub type Ignored = serde::de::IgnoredAny;

fn from_js(e: JsValue) -> ApiError {
    ApiError {
        code: "network".into(),
        message: e.as_string().unwrap_or_else(|| format!("{e:?}")),
        field: None,
    }
}

fn unexpected(e: impl std::fmt::Display) -> ApiError {
    ApiError {
        code: "unexpected_response".into(),
        message: e.to_string(),
        field: None,
    }
}

pub async fn get<T: DeserializeOwned>(url: &str) -> Result<T, ApiError> {
    parse(request("GET", url, None, None).await?)
}

pub async fn post<T: DeserializeOwned>(url: &str, body: &impl Serialize) -> Result<T, ApiError> {
    parse(request("POST", url, Some(to_json(body)?), None).await?)
}

pub async fn put<T: DeserializeOwned>(url: &str, body: &impl Serialize) -> Result<T, ApiError> {
    parse(request("PUT", url, Some(to_json(body)?), None).await?)
}

/// A POST as a device (kiosk): its token goes in the `Authorization` header.
pub async fn post_as<T: DeserializeOwned>(url: &str, body: &impl Serialize, token: &str) -> Result<T, ApiError> {
    parse(request("POST", url, Some(to_json(body)?), Some(token)).await?)
}

pub async fn delete<T: DeserializeOwned>(url: &str) -> Result<T, ApiError> {
    parse(request("DELETE", url, None, None).await?)
}

/// A POST without a body whose answer may be empty (204).
pub async fn send<T: DeserializeOwned>(url: &str) -> Result<Option<T>, ApiError> {
    parse(request("POST", url, None, None).await?)
}

fn to_json(body: &impl Serialize) -> Result<String, ApiError> {
    let value = serde_wasm_bindgen::to_value(body).map_err(|e| ApiError {
        code: "invalid_request".into(),
        message: e.to_string(),
        field: None,
    })?;
    js_sys::JSON::stringify(&value).map(String::from).map_err(from_js)
}

/// A JSON text (an answer, or a server-sent event's data) as `T`; the empty text is `null`.
pub fn parse<T: DeserializeOwned>(text: String) -> Result<T, ApiError> {
    let value = if text.is_empty() {
        JsValue::NULL
    } else {
        js_sys::JSON::parse(&text).map_err(|_| unexpected("not JSON"))?
    };
    serde_wasm_bindgen::from_value(value).map_err(unexpected)
}

/// The body of a successful answer, or the server's error. Not generic, so it is compiled once.
async fn request(method: &str, url: &str, body: Option<String>, token: Option<&str>) -> Result<String, ApiError> {
    let window = web_sys::window().ok_or_else(|| from_js(JsValue::from_str("no window")))?;
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    let headers = web_sys::Headers::new().map_err(from_js)?;
    if let Some(token) = token {
        headers
            .set("authorization", &format!("Bearer {token}"))
            .map_err(from_js)?;
    }
    if let Some(body) = body {
        headers.set("content-type", "application/json").map_err(from_js)?;
        init.set_body(&JsValue::from_str(&body));
    }
    init.set_headers(&headers);
    let request = web_sys::Request::new_with_str_and_init(url, &init).map_err(from_js)?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(from_js)?
        .dyn_into()
        .map_err(from_js)?;
    let text = JsFuture::from(response.text().map_err(from_js)?)
        .await
        .map_err(from_js)?
        .as_string()
        .unwrap_or_default();
    if !response.ok() {
        return Err(match parse::<ErrorBody>(text) {
            Ok(body) => ApiError {
                code: body.error,
                message: body.message,
                field: body.field,
            },
            Err(_) => ApiError {
                code: format!("http_{}", response.status()),
                message: response.status_text(),
                field: None,
            },
        });
    }
    Ok(text)
}

/// A kiosk's or hall screen's token: taken once from `?token=` when the device is set up (and
/// removed from the address bar), then remembered on the device.
pub fn device_token(kind: &str) -> Option<String> {
    let window = web_sys::window()?;
    let storage = window.local_storage().ok()??;
    let key = format!("schalter.{kind}.token");
    let search = window.location().search().ok().unwrap_or_default();
    let given = search
        .trim_start_matches('?')
        .split('&')
        .find_map(|p| p.strip_prefix("token="))
        .map(str::to_owned);
    if let Some(token) = given {
        let _ = storage.set_item(&key, &token);
        if let (Ok(history), Ok(path)) = (window.history(), window.location().pathname()) {
            let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&path));
        }
        return Some(token);
    }
    storage.get_item(&key).ok()?
}

/// Solves the server's proof-of-work challenge for a booking (a fraction of a second of
/// hashing; the citizen sees nothing of it).
pub async fn booking_proof() -> Result<Proof, ApiError> {
    let c: Challenge = get("/api/bookings/challenge").await?;
    let nonce = schalter_events::work::solve(&c.challenge, c.difficulty);
    Ok(Proof {
        challenge: c.challenge,
        nonce,
    })
}

/// What a page waits for (usually a `Result` from [`get`]): `None` until the first answer.
/// `fetch` runs again whenever a signal it reads changes; the previous answer stays shown until
/// the next arrives, and an answer to a request that has since been superseded (or whose page
/// is gone) is dropped.
///
/// Leptos' resources with `<Suspense>` do the same and more (server rendering, transitions),
/// which the citizens' pages don't use but every phone would download.
pub fn load<T, Fut>(fetch: impl Fn() -> Fut + 'static) -> ReadSignal<Option<T>>
where
    T: Send + Sync + 'static,
    Fut: std::future::Future<Output = T> + 'static,
{
    let (answer, set_answer) = signal(None);
    let latest = StoredValue::new(0u32);
    Effect::new(move |_| {
        let request = fetch();
        latest.update_value(|n| *n += 1);
        let this = latest.get_value();
        leptos::task::spawn_local(async move {
            let result = request.await;
            if latest.try_get_value() == Some(this) {
                set_answer.set(Some(result));
            }
        });
    });
    answer
}

/// A request's answer as [`load`] gives it.
pub type Answer<T> = ReadSignal<Option<Result<T, ApiError>>>;

/// A form's refusal as it shows it: the text key of the message and the field to mark.
pub type FormError = RwSignal<Option<(String, Option<String>)>>;

/// `aria-invalid` for the input of `field`: "true" while the refusal names it.
pub fn invalid_if(error: FormError, field: &'static str) -> impl Fn() -> String + Copy + Send + Sync + 'static {
    move || {
        error
            .with(|e| e.as_ref().and_then(|(_, f)| f.as_deref()) == Some(field))
            .to_string()
    }
}

/// The loading notice, or the error notice, or what `ready` makes of the answer.
pub fn loaded<T: Clone + Send + Sync + 'static, V: IntoView + 'static>(
    answer: Answer<T>,
    ready: impl Fn(T) -> V + Send + Sync + 'static,
) -> impl IntoView {
    move || match answer.get() {
        None => loading_notice(),
        Some(Ok(value)) => ready(value).into_any(),
        Some(Err(_)) => failed_notice(),
    }
}

pub fn loading_notice() -> AnyView {
    view! { <p class="loading" role="status">{t("loading")}</p> }.into_any()
}

pub fn failed_notice() -> AnyView {
    view! { <p class="error" role="alert">{t("load_failed")}</p> }.into_any()
}
