//! Headers every response carries, and a cross-site check for cookie sessions.

use axum::extract::Request;
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::http::error::ApiError;

/// For everything but the app's pages (which get their own policy in `web`): nothing may load,
/// nothing may frame it.
const API_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

pub async fn headers(request: Request, next: Next) -> Response {
    let behind_tls = request
        .headers()
        .get("x-forwarded-proto")
        .is_some_and(|p| p.as_bytes() == b"https");
    if let Err(e) = same_site(&request) {
        return e.into_response();
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // Booking codes are in page addresses (/booking/CODE): never hand them to other sites.
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
    );
    headers.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(API_POLICY));
    if behind_tls {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    response
}

/// CSRF: a state-changing request that carries the staff session cookie must come from a page
/// of this site. SameSite=Strict already keeps the cookie off cross-site requests; this is the
/// second lock, for browsers or proxies that get that wrong.
fn same_site(request: &Request) -> Result<(), ApiError> {
    if matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let headers = request.headers();
    let has_session = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("schalter_session="));
    if !has_session {
        return Ok(());
    }
    let cross_site = headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"cross-site");
    let foreign_origin = match (headers.get(header::ORIGIN), headers.get(header::HOST)) {
        (Some(origin), Some(host)) => {
            let origin = origin.to_str().unwrap_or("");
            let origin_host = origin.split("://").nth(1).unwrap_or(origin);
            origin == "null" || origin_host != host.to_str().unwrap_or("")
        }
        _ => false,
    };
    if cross_site || foreign_origin {
        return Err(ApiError::CrossSite);
    }
    Ok(())
}
