//! Serves the built web app: the citizens' bundle (`dist/`, with the info pages' bundle in
//! `dist/info-app/`) and the staff's (`dist-staff/`, under `/staff/`). Debug builds read them from disk on every request; release builds embed
//! them, so one binary is the whole deployment.

use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "../dist"]
#[allow_missing = true]
struct Dist;

#[derive(RustEmbed)]
#[folder = "../dist-staff"]
#[allow_missing = true]
struct StaffDist;

/// Pages of the staff's bundle: office devices and back-office screens.
const STAFF_PAGES: [&str; 5] = ["kiosk", "desk", "display", "stats", "admin"];

/// A page of the staff's bundle: its first segment names one, and its last has no file extension.
fn is_staff_page(path: &str) -> bool {
    let first_segment = path.split('/').next().unwrap_or("");
    let last_segment = path.rsplit('/').next().unwrap_or("");
    STAFF_PAGES.contains(&first_segment) && !last_segment.contains('.')
}

/// App routes have no file extension; anything else that is not a file is a real 404.
/// The citizens' bundle's pages (`app/src/main.rs`): the start page and a booking. Any other
/// address without a file extension is the app's "not found" page, answered 404 so that
/// scanners and search engines see it is no page.
fn is_citizen_page(path: &str) -> bool {
    let segments: Vec<&str> = path.split('/').collect();
    matches!(segments.as_slice(), [""] | ["booking", _])
}

pub async fn app(method: Method, uri: Uri) -> Response {
    if method != Method::GET && method != Method::HEAD {
        let mut refused = crate::http::error::ApiError::MethodNotAllowed.into_response();
        refused
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return refused;
    }
    let path = uri.path().trim_start_matches('/');
    if let Some(rest) = path.strip_prefix("staff/") {
        // `/staff/` is where the staff's bundle keeps its files; its pages live at the top level.
        // Someone who types `/staff/desk` means the desk.
        if is_staff_page(rest) {
            let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
            return Redirect::permanent(&format!("/{rest}{query}")).into_response();
        }
        return match StaffDist::get(rest) {
            Some(file) => asset(file, rest, cache_for(rest)),
            None => (StatusCode::NOT_FOUND, "not found").into_response(),
        };
    }
    if is_staff_page(path) {
        return match StaffDist::get("index.html") {
            Some(index) => asset(index, "index.html", "no-cache"),
            None => not_built(),
        };
    }
    if let Some(file) = (!path.is_empty()).then(|| Dist::get(path)).flatten() {
        return asset(file, path, cache_for(path));
    }
    let last_segment = path.rsplit('/').next().unwrap_or("");
    if last_segment.contains('.') {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    // The ticket status, an application's status and the privacy notice are a bundle of their
    // own (`app/src/info.rs`), built into `dist/info-app/`.
    if matches!(
        path.split('/').collect::<Vec<_>>().as_slice(),
        ["ticket", _] | ["case", _] | ["datenschutz"]
    ) {
        return match Dist::get("info-app/index.html") {
            Some(index) => asset(index, "index.html", "no-cache"),
            None => not_built(),
        };
    }
    match Dist::get("index.html") {
        Some(index) if is_citizen_page(path) => asset(index, "index.html", "no-cache"),
        Some(index) => (StatusCode::NOT_FOUND, asset(index, "index.html", "no-cache")).into_response(),
        None => not_built(),
    }
}

/// Trunk puts a content hash in every asset name but index.html.
fn cache_for(path: &str) -> &'static str {
    if path.ends_with(".html") {
        "no-cache"
    } else {
        "public, max-age=31536000, immutable"
    }
}

fn not_built() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        "<!doctype html><title>Schalter</title><p>The web app has not been built. Run <code>scripts/run</code>, \
         or <code>scripts/build-app</code>.</p>",
    )
        .into_response()
}

fn asset(file: rust_embed::EmbeddedFile, path: &str, cache: &'static str) -> Response {
    let mime = mime_for(path, &file);
    if path.ends_with("index.html") {
        let policy = app_policy(&file.data);
        let mut response = asset_response(file, mime, cache);
        if let Ok(value) = HeaderValue::from_str(&policy) {
            response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, value);
        }
        return response;
    }
    asset_response(file, mime, cache)
}

/// The app's Content-Security-Policy: its own files only, WebAssembly allowed, and Trunk's one
/// inline start-up script admitted by its hash (nothing else inline runs).
pub fn app_policy(index_html: &[u8]) -> String {
    use base64::Engine;
    use sha2::Digest;
    let html = String::from_utf8_lossy(index_html);
    let hashes: Vec<String> = html
        .split("<script type=module>")
        .skip(1)
        .chain(html.split("<script type=\"module\">").skip(1))
        .filter_map(|rest| rest.split("</script>").next())
        .map(|body| {
            let digest = sha2::Sha256::digest(body.as_bytes());
            format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(digest))
        })
        .collect();
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval' {}; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        hashes.join(" ")
    )
}

fn asset_response(file: rust_embed::EmbeddedFile, mime: String, cache: &'static str) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_str(&mime).unwrap_or(HeaderValue::from_static("application/octet-stream")),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        file.data,
    )
        .into_response()
}

fn mime_for(path: &str, file: &rust_embed::EmbeddedFile) -> String {
    // Browsers only stream-compile WebAssembly served with exactly this type.
    if path.ends_with(".wasm") {
        return "application/wasm".into();
    }
    let mime = file.metadata.mimetype();
    if mime.starts_with("text/") || mime == "application/javascript" {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_owned()
    }
}
