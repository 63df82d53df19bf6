//! The audit view: who changed the opening hours and who closed a day, with before and after,
//! filtered and as CSV; admins only.

use schalter_tests::app::{add_device, add_user, import_demo_config};
use schalter_tests::{on_both_backends, spawn_app, TestApp, TestDb};
use serde_json::{json, Value};

on_both_backends!(the_audit_names_who_changed_the_hours_and_who_closed_a_day);

async fn audit(app: &TestApp, cookie: &str, query: &str) -> Vec<Value> {
    let list = app
        .staff_ok(cookie, reqwest::Method::GET, &format!("/api/admin/audit{query}"))
        .await;
    list.as_array().expect("a list").clone()
}

async fn the_audit_names_who_changed_the_hours_and_who_closed_a_day(db: TestDb) {
    // The operator imports the catalogue, then shortens Monday morning by half an hour.
    import_demo_config(&db.url, |config| config);
    import_demo_config(&db.url, |config| {
        let edited = config.replacen("close = \"12:30:00\"", "close = \"12:00:00\"", 1);
        assert_ne!(edited, config);
        edited
    });
    let app = spawn_app(db).start().await;
    add_user(&app.db.url, "root", "admin", "administrator-2026");
    add_user(&app.db.url, "anna", "desk", "counter-one-2026");
    add_user(&app.db.url, "boss", "manager", "statistics-2026");
    let kiosk = add_device(&app.db.url, "buergerbuero", "kiosk");
    let root = app.sign_in("root", "administrator-2026").await;
    let day = (chrono::Utc::now() + chrono::Duration::days(20))
        .date_naive()
        .to_string();
    let closure = json!({"from": day, "to": day, "reason": {"de": "Betriebsausflug", "en": "Staff outing"}});
    let (status, answer) = app
        .post_as(
            "/api/admin/locations/buergerbuero/closures",
            ("cookie", &root),
            &closure,
        )
        .await;
    assert_eq!(status, 201, "{answer}");

    let hours = audit(&app, &root, "?area=hours").await;
    let shorter = hours
        .iter()
        .find(|c| c["after"].as_str().unwrap().contains("Mo 08:00–12:00"))
        .unwrap_or_else(|| panic!("the shorter Monday: {hours:#?}"));
    assert_eq!(shorter["actor"], "system:import-config");
    assert_eq!(shorter["subject"], "buergerbuero");
    assert!(
        shorter["before"].as_str().unwrap().contains("Mo 08:00–12:30"),
        "{shorter}"
    );

    let closures = audit(&app, &root, "?area=closures").await;
    assert_eq!(closures.len(), 1, "{closures:#?}");
    assert_eq!(closures[0]["actor"], "staff:root");
    assert_eq!(closures[0]["before"], "");
    assert!(closures[0]["after"].as_str().unwrap().ends_with(": Betriebsausflug"));
    let by_root = audit(&app, &root, "?actor=root").await;
    assert_eq!(by_root.len(), 1, "only the closure: {by_root:#?}");
    let accounts = audit(&app, &root, "?area=accounts").await;
    assert_eq!(accounts.len(), 3, "root, anna, boss: {accounts:#?}");
    let later = (chrono::Utc::now() + chrono::Duration::days(2)).date_naive();
    assert!(audit(&app, &root, &format!("?from={later}")).await.is_empty());

    let csv = app
        .client
        .get(format!("{}/api/admin/audit.csv?area=closures", app.url))
        .header("cookie", &root)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "position,at,actor,area,subject,what,before,after");
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[1].contains("\"staff:root\",\"closures\",\"buergerbuero\",\"ClosureAdded\""),
        "{text}"
    );

    let (status, answer) = app
        .client
        .get(format!("{}/api/admin/audit?area=bookings", app.url))
        .header("cookie", &root)
        .send()
        .await
        .map(|r| (r.status().as_u16(), r))
        .unwrap();
    let body: Value = answer.json().await.unwrap();
    assert_eq!((status, body["field"].as_str()), (422, Some("area")), "{body}");

    // Admins only: the one page where staff names are listed.
    for (who, password) in [("anna", "counter-one-2026"), ("boss", "statistics-2026")] {
        let cookie = app.sign_in(who, password).await;
        for path in ["/api/admin/audit", "/api/admin/audit.csv"] {
            let r = app
                .client
                .get(format!("{}{path}", app.url))
                .header("cookie", &cookie)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 403, "{who} {path}");
        }
    }
    for auth in [("authorization", format!("Bearer {kiosk}")), ("x-none", String::new())] {
        let r = app
            .client
            .get(format!("{}/api/admin/audit", app.url))
            .header(auth.0, &auth.1)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{}", auth.0);
    }
    app.stop().await;
}
