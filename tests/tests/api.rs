//! The public HTTP contract against the real router on port 0, on both backends.

use std::collections::BTreeSet;
use std::path::Path;

use schalter_tests::{on_both_backends, spawn_app, TestDb};
use serde_json::{json, Value};

on_both_backends!(
    health_names_the_store,
    catalogue_lists_demo_services,
    feedback_is_stored_once_per_idempotency_key,
    bad_input_gets_json_errors_and_stores_nothing,
    unknown_api_routes_are_json_404,
    openapi_and_metrics_are_served,
    every_route_is_documented_and_every_documented_route_is_served,
    app_routes_fall_back_to_index,
    shutdown_is_graceful,
);

async fn health_names_the_store(db: TestDb) {
    let kind = db.kind;
    let app = spawn_app(db).start().await;
    let (status, body) = app.get_json("/api/health").await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");
    assert_eq!(
        body["store"],
        if kind == schalter_tests::Kind::Sqlite {
            "sqlite"
        } else {
            "postgres"
        }
    );
    assert_eq!(
        body["head"], 23,
        "demo seeds 2 locations, 10 services, 2 schedules, 8 counters, the municipality"
    );
    app.stop().await;
}

async fn catalogue_lists_demo_services(db: TestDb) {
    let app = spawn_app(db).start().await;
    let (_, locations) = app.get_json("/api/locations").await;
    let ids: Vec<&str> = locations
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["buergerbuero", "kfz-zulassung"]);
    let (_, all) = app.get_json("/api/services").await;
    assert_eq!(all.as_array().unwrap().len(), 10);
    let (_, kfz) = app.get_json("/api/services?location=kfz-zulassung").await;
    let kfz = kfz.as_array().unwrap();
    assert_eq!(kfz.len(), 4);
    assert!(kfz.iter().all(|s| s["locations"] == json!(["kfz-zulassung"])));
    let plate = kfz.iter().find(|s| s["id"] == "wunschkennzeichen").unwrap();
    assert_eq!(plate["bookable_online"], false);
    assert!(plate["online_elsewhere"].as_str().unwrap().starts_with("https://"));
    let (status, err) = app.get_json("/api/services?location=atlantis").await;
    assert_eq!((status, err["error"].as_str()), (404, Some("not_found")));
    // The privacy notice names who is responsible and the data-protection officer.
    let (status, municipality) = app.get_json("/api/municipality").await;
    assert_eq!(status, 200);
    assert!(municipality["controller"].as_str().unwrap().contains("Rathausplatz"));
    assert!(municipality["data_protection_officer"]
        .as_str()
        .unwrap()
        .contains("datenschutz@"));
    // A second start on the same store does not seed twice.
    let db = app.stop().await;
    let app = spawn_app(db).start().await;
    let (_, all) = app.get_json("/api/services").await;
    assert_eq!(all.as_array().unwrap().len(), 10);
    assert_eq!(app.store().head().await.unwrap(), 23);
    app.stop().await;
}

async fn feedback_is_stored_once_per_idempotency_key(db: TestDb) {
    let app = spawn_app(db).start().await;
    let send = |key: &'static str| {
        app.client
            .post(format!("{}/api/feedback", app.url))
            .header("Idempotency-Key", key)
            .json(&json!({"rating": 5, "service": "reisepass"}))
            .send()
    };
    let head = app.store().head().await.unwrap();
    assert_eq!(send("retry-key-0001").await.unwrap().status(), 201);
    assert_eq!(
        send("retry-key-0001").await.unwrap().status(),
        201,
        "a retry is answered like the first"
    );
    assert_eq!(app.store().head().await.unwrap(), head + 1, "but stored once");
    assert_eq!(send("retry-key-0002").await.unwrap().status(), 201);
    assert_eq!(app.store().head().await.unwrap(), head + 2);
    let events = app.store().read_stream("feedback", 0).await.unwrap();
    assert_eq!(events[0].data, json!({"rating": 5, "service": "reisepass"}));
    assert_eq!(events[0].metadata.actor.as_deref(), Some("citizen"));
    assert_eq!(events[0].metadata.command_id.as_deref(), Some("retry-key-0001"));
    app.stop().await;
}

async fn bad_input_gets_json_errors_and_stores_nothing(db: TestDb) {
    let app = spawn_app(db).start().await;
    let head = app.store().head().await.unwrap();
    let raw = |body: Vec<u8>, content_type: &'static str| {
        app.client
            .post(format!("{}/api/feedback", app.url))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let cases: Vec<(Vec<u8>, &str, u16, &str)> = vec![
        (b"{\"rating\":".to_vec(), "application/json", 400, "malformed_json"),
        (b"not json at all".to_vec(), "application/json", 400, "malformed_json"),
        (
            b"{\"rating\":\"five\"}".to_vec(),
            "application/json",
            422,
            "invalid_body",
        ),
        (b"{\"rating\":-1}".to_vec(), "application/json", 422, "invalid_body"),
        (b"{}".to_vec(), "application/json", 422, "invalid_body"),
        (
            b"{\"rating\":3,\"name\":\"Erika\"}".to_vec(),
            "application/json",
            422,
            "invalid_body",
        ),
        (
            b"{\"rating\":0}".to_vec(),
            "application/json",
            422,
            "rating_out_of_range",
        ),
        (
            b"{\"rating\":4,\"service\":\"mondflug\"}".to_vec(),
            "application/json",
            422,
            "unknown_service",
        ),
        (b"{\"rating\":4}".to_vec(), "text/plain", 415, "unsupported_media_type"),
        (vec![b' '; 70_000], "application/json", 413, "payload_too_large"),
    ];
    for (body, content_type, status, code) in cases {
        let shown = String::from_utf8_lossy(&body[..body.len().min(40)]).into_owned();
        let r = raw(body, content_type).await.unwrap();
        assert_eq!(r.status().as_u16(), status, "{shown}");
        assert_eq!(r.headers()["content-type"], "application/json", "{shown}");
        let err: serde_json::Value = r.json().await.unwrap();
        assert_eq!(err["error"], code, "{shown}");
        assert!(!err["message"].as_str().unwrap().is_empty());
    }
    let r = app
        .client
        .post(format!("{}/api/feedback", app.url))
        .header("Idempotency-Key", "bad")
        .json(&json!({"rating": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(
        app.store().head().await.unwrap(),
        head,
        "nothing stored by any bad request"
    );
    app.stop().await;
}

async fn unknown_api_routes_are_json_404(db: TestDb) {
    let app = spawn_app(db).without_demo().start().await;
    let (status, _) = app.get_json("/api/municipality").await;
    assert_eq!(status, 404, "no controller configured yet");
    // The last ones carry bytes that are not UTF-8 where a booking code or ticket token goes.
    for path in [
        "/api/nothing",
        "/api",
        "/api/bookings/x/y/z",
        "/api/bookings/%FF%FE",
        "/api/bookings/%C3/calendar.ics",
        "/api/tickets/status/%80",
    ] {
        let (status, body) = app.get_json(path).await;
        assert_eq!((status, body["error"].as_str()), (404, Some("not_found")), "{path}");
    }
    let r = app
        .client
        .delete(format!("{}/api/health", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "method_not_allowed");
    app.stop().await;
}

async fn openapi_and_metrics_are_served(db: TestDb) {
    let app = spawn_app(db).start().await;
    let (status, doc) = app.get_json("/api/openapi.json").await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in ["/api/health", "/api/locations", "/api/services", "/api/feedback"] {
        assert!(doc["paths"][path].is_object(), "{path} missing from OpenAPI");
    }
    app.get("/api/services").await;
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("http_requests_total"), "{metrics}");
    assert!(metrics.contains("route=\"/api/services\""));
    assert!(metrics.contains("schalter_event_log_head"));
    app.stop().await;
}

/// `/metrics` counts logins, admin actions and bookings: for this machine, or with the token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_for_this_machine_or_the_token() {
    let app = spawn_app(TestDb::sqlite().await)
        .metrics_token("scrape-2026")
        .start()
        .await;
    // Through a proxy on this machine, from a citizen's address.
    let from_outside = |token: Option<&str>| {
        let request = app
            .client
            .get(format!("{}/metrics", app.url))
            .header("x-forwarded-for", "203.0.113.9");
        match token {
            Some(t) => request.bearer_auth(t),
            None => request,
        }
        .send()
    };
    let r = from_outside(None).await.unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "metrics_token_required", "{body}");
    assert_eq!(from_outside(Some("scrape-2025")).await.unwrap().status(), 401);
    let r = from_outside(Some("scrape-2026")).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("schalter_event_log_head"));
    assert_eq!(app.get("/metrics").await.status(), 200, "this machine itself");
    app.stop().await;
}

/// The `/api` paths registered with a plain `.route("/api…", …)` anywhere in the server's
/// source: routes that bypass `routes!`, which registers each handler with its OpenAPI entry.
fn plain_api_routes_in_source() -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut folders = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/src")];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for call in text.split(".route(").skip(1) {
                let Some(rest) = call.trim_start().strip_prefix('"') else {
                    continue;
                };
                let (route, _) = rest.split_once('"').unwrap();
                if route.starts_with("/api") {
                    found.insert(route.to_owned());
                }
            }
        }
    }
    found
}

async fn every_route_is_documented_and_every_documented_route_is_served(db: TestDb) {
    let app = spawn_app(db).start().await;
    let (_, doc) = app.get_json("/api/openapi.json").await;
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert((method.clone(), path.clone()));
        }
    }
    assert!(documented.len() > 40, "the document lists the routes: {documented:?}");
    // Served means registered, and every registration but these goes through `routes!`, whose
    // path and method are the document's: the document itself, the bare `/api` and the
    // catch-all that answer "no such endpoint".
    let own: BTreeSet<String> = ["/api/openapi.json", "/api", "/api/{*rest}"].map(String::from).into();
    assert_eq!(
        plain_api_routes_in_source(),
        own,
        "an /api route registered without its OpenAPI entry"
    );
    // Every schema the document refers to is in it.
    let text = doc.to_string();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for reference in text.split("\"#/components/schemas/").skip(1) {
        let name = reference.split('"').next().unwrap();
        assert!(schemas.contains_key(name), "{name} is referred to but not described");
    }
    // And the server really answers each documented route: never the catch-all 404 or a 405.
    for (method, path) in &documented {
        let url = format!("{}{}", app.url, path.replace('{', "x").replace('}', ""));
        let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let r = app.client.request(method.clone(), &url).send().await.unwrap();
        let status = r.status().as_u16();
        let body = r.text().await.unwrap_or_default();
        assert_ne!(status, 405, "{method} {path}: {body}");
        assert!(
            !body.contains("there is no such API endpoint"),
            "{method} {path}: {body}"
        );
    }
    app.stop().await;
}

async fn app_routes_fall_back_to_index(db: TestDb) {
    let app = spawn_app(db).without_demo().start().await;
    let index = app.get("/").await;
    if index.status() == 503 {
        schalter_tests::missing(
            "the built web app (dist/)",
            "run trunk build --release first; scripts/test does",
        );
        return;
    }
    assert_eq!(index.status(), 200);
    let html = index.text().await.unwrap();
    assert!(html.contains("lang=de") || html.contains("lang=\"de\""), "{html}");
    // Citizens' pages come from the citizens' bundle; office pages from the staff's bundle, so
    // a phone never downloads the desk or the hall screen.
    for route in ["/booking/ABCD"] {
        let r = app.get(route).await;
        assert_eq!(r.status(), 200, "{route}");
        assert_eq!(r.text().await.unwrap(), html, "{route} serves the citizens' app");
    }
    // The ticket page (opened from a kiosk ticket's QR code) and the privacy notice are a
    // bundle of their own.
    for route in ["/ticket/some-token", "/datenschutz"] {
        let r = app.get(route).await;
        assert_eq!(r.status(), 200, "{route}");
        let page = r.text().await.unwrap();
        assert!(page.contains("/info-app/schalter-info-"), "{route}: the info bundle");
        assert!(!page.contains("/schalter-app-"), "{route}: not the booking bundle");
    }
    // Addresses that are no page: 404 with the app, which shows its "not found" page.
    for route in [
        "/no-such-page",
        "/.git/config",
        "/booking/ABCD/extra",
        "/wp-admin/setup",
    ] {
        let r = app.get(route).await;
        assert_eq!(r.status(), 404, "{route}");
        assert_eq!(r.text().await.unwrap(), html, "{route} shows the app's not-found page");
    }
    for route in ["/", "/booking/ABCD", "/desk"] {
        let r = app.client.post(format!("{}{route}", app.url)).send().await.unwrap();
        assert_eq!(r.status(), 405, "POST {route}");
        assert_eq!(r.headers()["allow"], "GET, HEAD");
    }
    assert!(!html.contains("/staff/"), "{html}");
    let staff = app.get("/desk").await.text().await.unwrap();
    assert!(staff.contains("/staff/schalter-staff"), "{staff}");
    for route in ["/kiosk/buergerbuero", "/display/buergerbuero", "/stats", "/admin"] {
        let r = app.get(route).await;
        assert_eq!(r.status(), 200, "{route}");
        assert_eq!(r.text().await.unwrap(), staff, "{route} serves the staff's app");
    }
    let staff_wasm_end = staff.find(".wasm").expect("names the wasm file") + ".wasm".len();
    let staff_wasm = &staff[staff[..staff_wasm_end].rfind("/staff/").unwrap()..staff_wasm_end];
    let r = app.get(staff_wasm).await;
    assert_eq!(r.status(), 200, "{staff_wasm}");
    assert_eq!(r.headers()["content-type"], "application/wasm");
    assert_eq!(app.get("/staff/missing.js").await.status(), 404);
    // `/staff/` holds the staff's files; someone who types `/staff/desk` is sent to the desk.
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = no_redirects
        .get(format!("{}/staff/display/buergerbuero?sound=off", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 308);
    assert_eq!(r.headers()["location"], "/display/buergerbuero?sound=off");
    let wasm_end = html.find(".wasm").expect("index names the wasm file") + ".wasm".len();
    let wasm_name = &html[html[..wasm_end].rfind('/').unwrap() + 1..wasm_end];
    let wasm = app
        .client
        .get(format!("{}/{wasm_name}", app.url))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(wasm.headers()["content-type"], "application/wasm");
    assert_eq!(wasm.headers()["content-encoding"], "gzip");
    assert_eq!(app.get("/missing-file.js").await.status(), 404);
    app.stop().await;
}

async fn shutdown_is_graceful(db: TestDb) {
    let app = spawn_app(db).without_demo().start().await;
    let url = app.url.clone();
    assert_eq!(app.get("/api/health").await.status(), 200);
    let started = std::time::Instant::now();
    app.stop().await;
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert!(
        reqwest::get(format!("{url}/api/health")).await.is_err(),
        "no longer accepting"
    );
}
