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
    let window = web_sys::window().ok_or_else(|| from_js(JsValue::from_str("no window")))?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str(url))
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
    serde_json::from_str(&text).map_err(|e| ApiError {
        code: "unexpected_response".into(),
        message: e.to_string(),
    })
}
