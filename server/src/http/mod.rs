//! HTTP plumbing shared by every feature: extractors whose rejections speak the API's error
//! shape, the idempotency key, error mapping, authentication, abuse limits, security headers,
//! telemetry and the static web app. Nothing here knows a feature.

pub mod abuse;
pub mod auth;
pub mod connections;
pub mod error;
pub mod openapi;
pub mod security;
pub mod telemetry;
pub mod web;
use axum::extract::{FromRequest, Query, Request};
use axum::Json;

use crate::engine::executor::CommandKey;
use crate::http::error::ApiError;

pub use error::BODY_LIMIT;

/// The request body within [`BODY_LIMIT`].
async fn body_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<axum::body::Bytes, ApiError> {
    axum::body::Bytes::from_request(req, state)
        .await
        .map_err(|e| match e.status() {
            axum::http::StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(BODY_LIMIT),
            _ => ApiError::MalformedJson(e.body_text()),
        })
}

/// A UTF-8 text body (a CSV file) within [`BODY_LIMIT`].
pub struct TextBody(pub String);

impl<S: Send + Sync> FromRequest<S> for TextBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = body_bytes(req, state).await?;
        let text = String::from_utf8(bytes.to_vec())
            .map_err(|_| ApiError::invalid("invalid_csv", None, "the file is not UTF-8 text"))?;
        Ok(TextBody(text))
    }
}

/// `axum::Json` with every rejection mapped to the API's error shape.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
            .is_some_and(|m| m == "application/json" || (m.starts_with("application/") && m.ends_with("+json")));
        if !json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let body = body_bytes(req, state).await?;
        // Every request body is an object: serde would also read a struct from an array of its
        // fields' values, which no client means.
        if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
            return Err(ApiError::InvalidBody("the body must be a JSON object".into()));
        }
        let Json(value) = Json::<T>::from_bytes(&body)?;
        Ok(ApiJson(value))
    }
}

/// An optional JSON body (`Option<ApiJson<T>>`): none when the request sends no body or only
/// whitespace, for commands whose body only some variants need (a ticket's transfer).
impl<T, S> axum::extract::OptionalFromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, Self::Rejection> {
        let body = body_bytes(req, state).await?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        serde_json::from_slice(&body)
            .map(|v| Some(ApiJson(v)))
            .map_err(|e| match e.classify() {
                serde_json::error::Category::Data => ApiError::InvalidBody(e.to_string()),
                _ => ApiError::MalformedJson(e.to_string()),
            })
    }
}

/// `axum::extract::Query` with rejections in the API's error shape.
pub struct ApiQuery<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for ApiQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(ApiError::invalid("invalid_query", None, rejection.body_text())),
        }
    }
}

/// `axum::extract::Path` with rejections in the API's error shape. Every path parameter here is a
/// code, token or id; one that does not even decode (say, bytes that are not UTF-8) names nothing.
pub struct ApiPath<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for ApiPath<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(ApiPath(value)),
            Err(rejection) => Err(ApiError::NotFound(format!(
                "there is nothing at this address: {}",
                rejection.body_text()
            ))),
        }
    }
}

/// The stream starting with `prefix` that the first request with this Idempotency-Key wrote;
/// 422 when the key was used for another kind of request.
pub fn repeated_stream<'a>(
    outcome: &'a schalter_events::store::AppendOutcome,
    prefix: &str,
) -> Result<&'a str, ApiError> {
    outcome
        .streams
        .iter()
        .map(|s| s.stream.as_str())
        .find(|s| s.starts_with(prefix))
        .ok_or_else(|| {
            ApiError::invalid(
                "idempotency_key_reused",
                None,
                "this Idempotency-Key was used for another request",
            )
        })
}

/// The digest of a request that carries an Idempotency-Key, left by [`digest_keyed_requests`]
/// for the [`Idempotency`] extractor.
#[derive(Clone)]
struct RequestDigest(String);

/// Middleware for the API: a request with an Idempotency-Key gets the digest of what it asks
/// (method, path and query, and the body, canonical where it is JSON, so a retry that orders
/// its fields differently is still the same request), which binds the key to it.
pub async fn digest_keyed_requests(request: Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::response::IntoResponse;
    use sha2::{Digest, Sha256};
    if !request.headers().contains_key(IDEMPOTENCY_KEY) {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        return ApiError::PayloadTooLarge(BODY_LIMIT).into_response();
    };
    let canonical = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .map(|v| v.to_string());
    let target = parts.uri.path_and_query().map_or("", |p| p.as_str());
    let digest = Sha256::new()
        .chain_update(parts.method.as_str())
        .chain_update(" ")
        .chain_update(target)
        .chain_update("\n")
        .chain_update(canonical.as_ref().map_or(&bytes[..], |c| c.as_bytes()))
        .finalize();
    parts.extensions.insert(RequestDigest(hex::encode(digest)));
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
}

const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The client's idempotency key, if it sent one, bound to its request: a retry of the same
/// request returns the first outcome instead of acting twice.
pub struct Idempotency(pub Option<CommandKey>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Idempotency {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(IDEMPOTENCY_KEY) else {
            return Ok(Idempotency(None));
        };
        let key = value
            .to_str()
            .ok()
            .filter(|k| (8..=128).contains(&k.len()) && k.chars().all(|c| c.is_ascii_graphic()))
            .ok_or_else(|| ApiError::Invalid {
                code: "invalid_idempotency_key",
                message: "Idempotency-Key must be 8 to 128 visible ASCII characters".into(),
                field: None,
            })?;
        let RequestDigest(request) = parts
            .extensions
            .get::<RequestDigest>()
            .cloned()
            .ok_or_else(|| ApiError::Internal("a keyed request reached its handler without a digest".into()))?;
        Ok(Idempotency(Some(CommandKey {
            key: key.to_owned(),
            request,
        })))
    }
}
