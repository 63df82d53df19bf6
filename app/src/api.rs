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
    request("GET", url, None).await
}

pub async fn post<T: DeserializeOwned>(url: &str, body: &serde_json::Value) -> Result<T, ApiError> {
    request("POST", url, Some(body.to_string())).await
}

pub async fn delete<T: DeserializeOwned>(url: &str) -> Result<T, ApiError> {
    request("DELETE", url, None).await
}

async fn request<T: DeserializeOwned>(method: &str, url: &str, body: Option<String>) -> Result<T, ApiError> {
    let window = web_sys::window().ok_or_else(|| from_js(JsValue::from_str("no window")))?;
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    if let Some(body) = body {
        let headers = web_sys::Headers::new().map_err(from_js)?;
        headers.set("content-type", "application/json").map_err(from_js)?;
        init.set_headers(&headers);
        init.set_body(&JsValue::from_str(&body));
    }
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
    serde_json::from_str(&text).map_err(|e| ApiError {
        code: "unexpected_response".into(),
        message: e.to_string(),
    })
}
