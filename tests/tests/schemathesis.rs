//! Schemathesis (property-based tests generated from `/api/openapi.json`) with every check over
//! every operation: no server error, every answer's status, content type, headers and body as
//! documented, invalid input refused, valid input accepted (except what tests/schemathesis.toml
//! lists, with why), authentication enforced where the document says it is. The test command
//! installs schemathesis (scripts/setup --for-tests).

use std::path::PathBuf;
use std::time::Duration;

use schalter_server::http::connections::ConnectionLimits;
use schalter_tests::app::{add_device, add_user};
use schalter_tests::citizen::booking;
use schalter_tests::{spawn_app, TestDb};
use serde_json::{json, Value};

/// The pinned schemathesis the setup script installs (or `SCHEMATHESIS`).
fn schemathesis() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("SCHEMATHESIS") {
        return Some(path.into());
    }
    let tools = std::env::var("SCHALTER_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/schalter-tools"));
    Some(tools.join("schemathesis/bin/st")).filter(|p| p.exists())
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_answers_as_documented() {
    let Some(st) = schemathesis() else {
        schalter_tests::missing("schemathesis", "run scripts/setup --for-tests or set SCHEMATHESIS");
        return;
    };
    // Hall-screen streams end after a moment, or each would hold a request for half an hour.
    let app = spawn_app(TestDb::sqlite().await)
        .connections(ConnectionLimits {
            stream_lifetime: Duration::from_millis(200),
            ..ConnectionLimits::default()
        })
        .start()
        .await;
    add_user(&app.db.url, "pruefer", "admin", "schemathesis-2026");
    let cookie = app.sign_in("pruefer", "schemathesis-2026").await;
    let session = cookie.trim_start_matches("schalter_session=").to_owned();
    let display = add_device(&app.db.url, "buergerbuero", "display");
    let kiosk = add_device(&app.db.url, "buergerbuero", "kiosk");
    let start = app.free_starts(1).await.remove(0);
    let code = app
        .booked(&booking(&start, "pruefung@example.org"))
        .await
        .code
        .expect("a new booking's code");
    let ticket: Value = app
        .client
        .post(format!("{}/api/locations/buergerbuero/tickets", app.url))
        .header("authorization", format!("Bearer {kiosk}"))
        .json(&json!({"service": "personalausweis"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let (_, document) = app.get_json("/api/openapi.json").await;
    let operations: usize = document["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();

    let config = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schemathesis.toml");
    let output = tokio::process::Command::new(&st)
        .arg("--config-file")
        .arg(&config)
        .args(["run", &format!("{}/api/openapi.json", app.url)])
        // One worker: with two threads, hypothesis's `ast.parse` calls race on CPython 3.11's
        // shared AST recursion counter and crash the tool now and then ("AST constructor
        // recursion depth mismatch", python/cpython#106905), failing runs that found nothing.
        .args(["--checks", "all", "--workers", "1"])
        // The suite's size and a fixed seed; a longer hunt: SCHEMATHESIS_EXAMPLES=500, another seed.
        .args(["--max-examples", &env_or("SCHEMATHESIS_EXAMPLES", "25")])
        .args(["--seed", &env_or("SCHEMATHESIS_SEED", "20261130")])
        .args(["--request-timeout", "10", "--no-color"])
        .env("SCHALTER_ST_SESSION", &session)
        .env("SCHALTER_ST_DEVICE", &display)
        .env("SCHALTER_ST_BOOKING", &code)
        .env("SCHALTER_ST_TICKET", ticket["id"].as_str().unwrap())
        .env("SCHALTER_ST_TICKET_TOKEN", ticket["token"].as_str().unwrap())
        .output()
        .await
        .expect("schemathesis runs");
    let report = String::from_utf8_lossy(&output.stdout);
    let summary = report.find("SUMMARY").map_or(&report[..], |i| &report[i..]);
    println!("{summary}");
    assert!(
        output.status.success(),
        "schemathesis found failures:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        summary.contains(&format!("Tested: {operations}")),
        "every one of the {operations} operations was tested: {summary}"
    );
    app.stop().await;
}
