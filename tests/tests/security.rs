//! Security headers on every response, a CSP the app runs under, and the cross-site check for
//! staff sessions. (The browser journeys run the real app under this CSP in Chromium.)

use schalter_tests::app::{add_device, add_user};
use schalter_tests::{spawn_app, TestDb};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_security_headers() {
    let app = spawn_app(TestDb::sqlite().await).start().await;
    for path in ["/api/health", "/api/nope", "/", "/desk"] {
        let r = app.get(path).await;
        let h = r.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert!(h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'"));
        assert!(h.get("strict-transport-security").is_none(), "no HSTS over plain HTTP");
    }
    let api = app.get("/api/health").await;
    assert_eq!(
        api.headers()["content-security-policy"],
        "default-src 'none'; frame-ancestors 'none'"
    );
    let page = app.get("/").await;
    if page.status() == 200 {
        let policy = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
        assert!(
            policy.contains("script-src 'self' 'wasm-unsafe-eval' 'sha256-"),
            "{policy}"
        );
        assert!(!policy.contains("unsafe-inline"), "{policy}");
    }
    let tls = app
        .client
        .get(format!("{}/api/health", app.url))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert_eq!(
        tls.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_sessions_only_act_from_this_site() {
    let app = spawn_app(TestDb::sqlite().await).start().await;
    add_user(&app.db.url, "anna", "desk", "counter-one-2026");
    let kiosk = add_device(&app.db.url, "buergerbuero", "kiosk");
    let anna = app.sign_in("anna", "counter-one-2026").await;
    let open = |origin: Option<&str>, fetch_site: Option<&str>| {
        let mut r = app
            .client
            .post(format!("{}/api/counters/buergerbuero-1/open", app.url))
            .header("cookie", &anna);
        if let Some(o) = origin {
            r = r.header("origin", o);
        }
        if let Some(s) = fetch_site {
            r = r.header("sec-fetch-site", s);
        }
        r.send()
    };
    for (origin, site) in [
        (Some("http://evil.example"), None),
        (None, Some("cross-site")),
        (Some("null"), None),
    ] {
        let r = open(origin, site).await.unwrap();
        assert_eq!(r.status(), 403, "{origin:?} {site:?}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"], "cross_site_request");
    }
    assert_eq!(open(Some(&app.url), Some("same-origin")).await.unwrap().status(), 200);
    assert_eq!(
        open(None, None).await.unwrap().status(),
        200,
        "non-browser clients send no Origin"
    );
    // Devices carry no cookie: their token is the proof, wherever the request comes from.
    let r = app
        .client
        .post(format!("{}/api/locations/buergerbuero/tickets", app.url))
        .header("authorization", format!("Bearer {kiosk}"))
        .header("origin", "http://elsewhere.example")
        .json(&serde_json::json!({"service": "meldebescheinigung"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    app.stop().await;
}
