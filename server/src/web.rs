//! Serves the built web app. Debug builds read `dist/` from disk on every request; release
//! builds embed it, so one binary is the whole deployment.

use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "../dist"]
#[allow_missing = true]
struct Dist;

/// App routes have no file extension; anything else that is not a file is a real 404.
pub async fn app(uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    if let Some(file) = (!path.is_empty()).then(|| Dist::get(path)).flatten() {
        // Trunk puts a content hash in every asset name but index.html.
        let cache = if path.ends_with(".html") {
            "no-cache"
        } else {
            "public, max-age=31536000, immutable"
        };
        return asset(file, path, cache);
    }
    let last_segment = path.rsplit('/').next().unwrap_or("");
    if last_segment.contains('.') {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    match Dist::get("index.html") {
        Some(index) => asset(index, "index.html", "no-cache"),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            "<!doctype html><title>Schalter</title><p>The web app has not been built. Run <code>scripts/run</code>, \
             or <code>trunk build</code> in <code>app/</code>.</p>",
        )
            .into_response(),
    }
}

fn asset(file: rust_embed::EmbeddedFile, path: &str, cache: &'static str) -> Response {
    let mime = mime_for(path, &file);
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
