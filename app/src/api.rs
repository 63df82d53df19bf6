//! Talking to the server: JSON over fetch, errors turned into the server's human message.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: String,
    pub message: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
    message: String,
}

fn from_js(e: JsValue) -> ApiError {
    ApiError {
        code: "network".into(),
        message: e.as_string().unwrap_or_else(|| format!("{e:?}")),
    }
}

pub async fn get<T: DeserializeOwned>(url: &str) -> Result<T, ApiError> {
    request("GET", url, None, None).await
}

pub async fn post<T: DeserializeOwned>(url: &str, body: &serde_json::Value) -> Result<T, ApiError> {
    request("POST", url, Some(body.to_string()), None).await
}

/// A POST as a device (kiosk): its token goes in the `Authorization` header.
pub async fn post_as<T: DeserializeOwned>(url: &str, body: &serde_json::Value, token: &str) -> Result<T, ApiError> {
    request("POST", url, Some(body.to_string()), Some(token)).await
}

pub async fn delete<T: DeserializeOwned>(url: &str) -> Result<T, ApiError> {
    request("DELETE", url, None, None).await
}

/// A POST whose answer may be empty (204) or not interesting.
pub async fn send(url: &str, body: Option<&serde_json::Value>) -> Result<Option<serde_json::Value>, ApiError> {
    request::<Option<serde_json::Value>>("POST", url, body.map(|b| b.to_string()), None).await
}

async fn request<T: DeserializeOwned>(
    method: &str,
    url: &str,
    body: Option<String>,
    token: Option<&str>,
) -> Result<T, ApiError> {
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
        return Err(match serde_json::from_str::<ErrorBody>(&text) {
            Ok(body) => ApiError {
                code: body.error,
                message: body.message,
            },
            Err(_) => ApiError {
                code: format!("http_{}", response.status()),
                message: response.status_text(),
            },
        });
    }
    let text = if text.is_empty() { "null".to_owned() } else { text };
    serde_json::from_str(&text).map_err(|e| ApiError {
        code: "unexpected_response".into(),
        message: e.to_string(),
    })
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

#[derive(Deserialize)]
struct Challenge {
    challenge: String,
    difficulty: u32,
}

/// Solves the server's proof-of-work challenge for a booking (a fraction of a second of
/// hashing; the citizen sees nothing of it).
pub async fn booking_proof() -> Result<serde_json::Value, ApiError> {
    let c: Challenge = get("/api/bookings/challenge").await?;
    let nonce = schalter_events::work::solve(&c.challenge, c.difficulty);
    Ok(serde_json::json!({ "challenge": c.challenge, "nonce": nonce }))
}
