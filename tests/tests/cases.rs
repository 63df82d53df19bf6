//! Applications after the visit: the clerk opens a case, staff move it on, the citizen follows
//! it with the tracking code and no login. Refused input stores nothing.

use reqwest::Method;
use schalter_tests::app::{add_device, add_user, cli, status_and_json};
use schalter_tests::smtp::{decoded, SmtpSink};
use schalter_tests::sse::SseStream;
use schalter_tests::{eventually, on_both_backends, spawn_app, when, TestApp, TestDb};
use serde_json::{json, Value};
use std::time::Duration;

on_both_backends!(
    a_case_moves_step_by_step_and_the_citizen_follows_it,
    refused_cases_and_steps_store_nothing,
    ready_is_told_once_also_across_a_restart,
    a_procedure_reports_steps_once_and_refused_ones_store_nothing,
    a_late_case_is_listed_for_admins_and_counted,
    a_closed_cases_contact_is_erased_and_an_open_ones_kept,
    a_ready_document_is_collected_with_its_own_ticket,
    a_silent_procedure_is_flagged_until_it_reports_again,
    a_step_file_is_imported_row_by_row,
    open_data_counts_applications_by_month_and_withholds_small_numbers,
    a_renewal_reminder_goes_once_on_its_day_and_its_address_is_erased,
    an_office_defines_its_own_kinds_of_application
);

async fn send(app: &TestApp, cookie: Option<&str>, method: Method, path: &str, body: &Value) -> (u16, Value) {
    let mut request = app.client.request(method, format!("{}{path}", app.url)).json(body);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    status_and_json(request).await
}

async fn clerk(app: &TestApp) -> String {
    add_user(&app.db.url, "anna", "desk", "counter-one-2026");
    app.sign_in("anna", "counter-one-2026").await
}

fn in_days(n: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(n)).to_string()
}

fn identity_card() -> Value {
    json!({
        "kind": "personalausweis", "location": "buergerbuero", "expected_ready": in_days(21),
        "reference": "PA-2026-4711", "email": "erika@example.org", "language": "en"
    })
}

async fn a_case_moves_step_by_step_and_the_citizen_follows_it(db: TestDb) {
    let app = spawn_app(db).start().await;
    let anna = clerk(&app).await;
    let (status, opened) = send(&app, Some(&anna), Method::POST, "/api/desk/cases", &identity_card()).await;
    assert_eq!(status, 201, "{opened}");
    let code = opened["code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 19, "80 bits in four groups: {code}");
    assert_eq!(opened["case"]["step"], "received");
    assert_eq!(opened["case"]["kind_name"]["en"], "Identity card");

    // The citizen's view: no login, no name, no contact; the code typed in any case.
    let track = format!("/api/cases/{}", code.to_lowercase());
    let (status, seen) = app.get_json(&track).await;
    assert_eq!(status, 200, "{seen}");
    assert!(!seen.to_string().contains("erika"), "{seen}");
    assert_eq!(seen["history"].as_array().unwrap().len(), 1);
    // The log keeps the contact sealed.
    let events = app.store().read_all(0, 100_000).await.unwrap();
    let opening = events
        .iter()
        .find(|e| e.event_type == "CaseOpened")
        .expect("the opening is recorded");
    assert!(!opening.data.to_string().contains("erika@"), "{}", opening.data);
    assert_eq!(opening.metadata.actor.as_deref(), Some("staff:anna"));

    let step = |to: &str| json!({ "step": to });
    let path = format!("/api/desk/cases/{code}/step");
    let (status, moved) = send(&app, Some(&anna), Method::POST, &path, &step("in-production")).await;
    assert_eq!(
        (status, moved["step"].as_str()),
        (200, Some("in-production")),
        "{moved}"
    );
    // The same step again records nothing.
    let head = app.store().head().await.unwrap();
    let (status, _) = send(&app, Some(&anna), Method::POST, &path, &step("in-production")).await;
    assert_eq!(status, 200);
    assert_eq!(app.store().head().await.unwrap(), head);
    // Picked up before it is ready: refused, nothing stored.
    let (status, refused) = send(&app, Some(&anna), Method::POST, &path, &step("picked-up")).await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (409, Some("step_not_allowed")),
        "{refused}"
    );
    assert_eq!(app.store().head().await.unwrap(), head);
    for to in ["ready", "picked-up"] {
        let (status, moved) = send(&app, Some(&anna), Method::POST, &path, &step(to)).await;
        assert_eq!((status, moved["step"].as_str()), (200, Some(to)), "{moved}");
    }
    let (_, seen) = app.get_json(&track).await;
    let steps: Vec<&str> = seen["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["step"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["received", "in-production", "ready", "picked-up"]);

    // The manager's figures: one identity card, picked up, ready the same day.
    add_user(&app.db.url, "boss", "manager", "statistics-2026");
    let boss = app.sign_in("boss", "statistics-2026").await;
    // The office's day, not UTC's: the figures count by local days (they differ after 23:00 UTC).
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Berlin)
        .date_naive();
    let period = |from: chrono::NaiveDate| {
        format!(
            "/api/stats/cases?from={from}&to={}&location=buergerbuero",
            today + chrono::Duration::days(1)
        )
    };
    let figures = app
        .staff_ok(&boss, Method::GET, &period(today - chrono::Duration::days(1)))
        .await;
    assert_eq!(figures["opened"], 1, "{figures}");
    assert_eq!(
        figures["by_kind"],
        json!([{"kind": "personalausweis", "name": {"de": "Personalausweis", "en": "Identity card"}, "count": 1}])
    );
    assert_eq!(figures["by_step"], json!([{"step": "picked-up", "count": 1}]));
    assert_eq!(
        (
            figures["days_to_ready"]["n"].as_u64(),
            figures["days_to_ready"]["median"].as_f64()
        ),
        (Some(1), Some(0.0))
    );
    assert_eq!(figures["days_to_pick_up"]["n"], 1);
    assert!(!figures.to_string().contains("anna"), "never who handled it: {figures}");
    let later = app
        .staff_ok(&boss, Method::GET, &period(today + chrono::Duration::days(1)))
        .await;
    assert_eq!(later["opened"], 0, "{later}");
    assert_eq!(app.get_json_as(&period(today), &anna).await.0, 403, "managers only");
    app.stop().await;
}

async fn refused_cases_and_steps_store_nothing(db: TestDb) {
    let app = spawn_app(db).start().await;
    let anna = clerk(&app).await;
    let head = app.store().head().await.unwrap();
    let with = |field: &str, value: Value| {
        let mut body = identity_card();
        body[field] = value;
        body
    };
    let cases = [
        (with("kind", json!("angelschein")), "unknown_kind", "kind"),
        (with("location", json!("atlantis")), "unknown_location", "location"),
        (
            with("expected_ready", json!(in_days(-2))),
            "expected_in_past",
            "expected_ready",
        ),
        (
            with("expected_ready", json!(in_days(400))),
            "expected_too_far",
            "expected_ready",
        ),
        (with("email", json!("erika@")), "invalid_contact", "email"),
        (with("phone", json!("call me")), "invalid_contact", "phone"),
        (with("expected_ready", json!("soon")), "invalid_body", "expected_ready"),
    ];
    for (body, code, field) in &cases {
        let (status, answer) = send(&app, Some(&anna), Method::POST, "/api/desk/cases", body).await;
        assert_eq!(
            (status, answer["error"].as_str(), answer["field"].as_str()),
            (422, Some(*code), Some(*field)),
            "{body}: {answer}"
        );
    }
    // No session, no case; a made-up code finds nothing, also for a step.
    let (status, _) = send(&app, None, Method::POST, "/api/desk/cases", &identity_card()).await;
    assert_eq!(status, 401);
    for code in ["K7QM-3XZP-9RTA-WB2C", "not-a-code"] {
        let (status, answer) = app.get_json(&format!("/api/cases/{code}")).await;
        assert_eq!((status, answer["error"].as_str()), (404, Some("not_found")), "{answer}");
        let path = format!("/api/desk/cases/{code}/step");
        let (status, _) = send(&app, Some(&anna), Method::POST, &path, &json!({"step": "ready"})).await;
        assert_eq!(status, 404);
    }
    let (status, answer) = send(
        &app,
        Some(&anna),
        Method::POST,
        "/api/desk/cases/K7QM-3XZP-9RTA-WB2C/step",
        &json!({"step": "lost"}),
    )
    .await;
    assert_eq!((status, answer["field"].as_str()), (422, Some("step")), "{answer}");
    assert_eq!(app.store().head().await.unwrap(), head, "nothing stored");
    app.stop().await;
}

/// "Ready" sends exactly one message, in the language chosen, with the tracking link; a
/// restarted server does not send it again.
async fn ready_is_told_once_also_across_a_restart(db: TestDb) {
    let mail = SmtpSink::start().await;
    let app = spawn_app(db).mailing(&mail.url).start().await;
    let anna = clerk(&app).await;
    let (status, opened) = send(&app, Some(&anna), Method::POST, "/api/desk/cases", &identity_card()).await;
    assert_eq!(status, 201, "{opened}");
    let code = opened["code"].as_str().unwrap().to_owned();
    let path = format!("/api/desk/cases/{code}/step");
    let (status, _) = send(
        &app,
        Some(&anna),
        Method::POST,
        &path,
        &json!({"step": "in-production"}),
    )
    .await;
    assert_eq!(status, 200);
    // Nothing is said before the document is ready.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(mail.messages().is_empty(), "{:?}", mail.messages());
    let (status, _) = send(&app, Some(&anna), Method::POST, &path, &json!({"step": "ready"})).await;
    assert_eq!(status, 200);
    let got = mail.wait_for(1, Duration::from_secs(20)).await;
    let text = decoded(&got[0]);
    assert!(text.contains("Ready for pick-up: Identity card"), "{text}");
    assert!(text.contains(&format!("/case/{code}")), "{text}");
    assert!(text.contains("erika@example.org"), "to the address left");
    let db = app.stop().await;
    let app = spawn_app(db).mailing(&mail.url).start().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(mail.messages().len(), 1, "sent once, not again after the restart");
    app.stop().await;
}

/// The clerk opens a case at the desk and hands over the code; later a colleague marks it ready
/// by that code; the citizen follows it on a 390 px phone, in German and in English.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clerk_opens_a_case_and_the_citizen_follows_it_on_a_phone() {
    use fantoccini::Locator;
    use schalter_tests::browser::Browser;

    let Some(app) = spawn_app(TestDb::sqlite().await).start_with_ui().await else {
        return;
    };
    add_user(&app.db.url, "anna", "desk", "counter-one-2026");
    let Some(browser) = Browser::launch(1280, 1000).await else {
        return;
    };
    browser
        .sign_in_at(&format!("{}/desk", app.url), "anna", "counter-one-2026")
        .await;
    browser.wait(".desk-pick select option[value=buergerbuero]").await;
    browser.set_value(".desk-pick select", "buergerbuero", "change").await;
    browser.click(".case-opening summary").await;
    // Without a date the form names what is missing.
    browser.set_value("#case-kind", "reisepass", "change").await;
    browser.click(".case-opening form button[type=submit]").await;
    browser.wait("#case-expected_ready[aria-invalid=true]").await;
    browser.assert_accessible("a case without its date").await;
    browser.set_value("#case-expected_ready", &in_days(21), "change").await;
    browser
        .wait("#case-email")
        .await
        .send_keys("erika@example.org")
        .await
        .unwrap();
    browser.click(".case-opening form button[type=submit]").await;
    let code = browser.wait("[data-testid=case-code]").await.text().await.unwrap();
    assert_eq!(code.len(), 19, "{code}");
    browser.wait("[data-testid=case-opened] .qr svg").await;
    browser.assert_accessible("a case opened").await;
    browser.screenshot("case-desk-1280-opened").await;

    browser.click(".case-step summary").await;
    browser.wait("#case-step-code").await.send_keys(&code).await.unwrap();
    browser
        .set_value("#case-step-to", "case_documents_missing", "change")
        .await;
    browser.click(".case-step form button[type=submit]").await;
    let done = browser
        .wait("[data-testid=case-step-done]:not(:empty)")
        .await
        .text()
        .await
        .unwrap();
    assert!(done.contains("Reisepass: Unterlagen fehlen"), "{done}");
    // Documents missing cannot be picked up: refused, named.
    browser.set_value("#case-step-to", "case_picked_up", "change").await;
    browser.click(".case-step form button[type=submit]").await;
    let refused = browser.wait(".case-step [role=alert] p").await.text().await.unwrap();
    assert!(refused.contains("nicht folgen"), "{refused}");
    for to in ["case_in_production", "case_ready"] {
        browser.set_value("#case-step-to", to, "change").await;
        browser.click(".case-step form button[type=submit]").await;
    }
    eventually("ready", Duration::from_secs(10), async || {
        let (_, seen) = app.get_json(&format!("/api/cases/{code}")).await;
        let ready = seen["step"] == "ready";
        when(seen, ready)
    })
    .await;
    browser.assert_accessible("a case moved on").await;
    browser.close().await;

    let Some(phone) = Browser::launch(390, 844).await else {
        return;
    };
    phone.client.goto(&format!("{}/case/{code}", app.url)).await.unwrap();
    let timeline = phone
        .wait("[data-testid=case-timeline] li.current")
        .await
        .text()
        .await
        .unwrap();
    assert!(timeline.contains("Abholbereit"), "{timeline}");
    let all = phone.wait("[data-testid=case-timeline]").await.text().await.unwrap();
    for step in ["Antrag eingegangen", "Unterlagen fehlen", "In Herstellung", "Abgeholt"] {
        assert!(all.contains(step), "{step} in {all}");
    }
    // How to collect it: a ticket at the kiosk with the code, or a pick-up time online.
    phone.wait("[data-testid=pick-up-kiosk]").await;
    let book = phone
        .wait("[data-testid=book-pick-up]")
        .await
        .attr("href")
        .await
        .unwrap();
    assert_eq!(
        book.as_deref(),
        Some("/?service=ausweis-abholung&location=buergerbuero")
    );
    phone.assert_accessible("the application's status in German").await;
    phone.screenshot("case-390-de").await;
    let fits = phone
        .client
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(fits, json!(true), "no sideways scrolling at 390 px");
    phone.click("button.lang-switch").await;
    let kind = phone.wait("[data-testid=case-kind]").await;
    eventually("switched to English", Duration::from_secs(5), async || {
        let shown = kind.text().await.unwrap();
        let english = shown == "Passport";
        when(shown, english)
    })
    .await;
    let current = phone
        .wait("[data-testid=case-timeline] li.current")
        .await
        .text()
        .await
        .unwrap();
    assert!(current.contains("Ready for pick-up"), "{current}");
    phone.assert_accessible("the application's status in English").await;
    phone.screenshot("case-390-en").await;
    // At pick-up the citizen leaves a reminder before the new passport expires: without a date
    // the form says so; with one it names the day the reminder comes.
    phone.wait("[data-testid=renewal] form").await;
    phone.click("[data-testid=renewal] button[type=submit]").await;
    phone.wait("#renewal-expires[aria-invalid=true]").await;
    let said = phone
        .wait("[data-testid=renewal] [role=alert] p")
        .await
        .text()
        .await
        .unwrap();
    assert!(said.contains("valid until"), "{said}");
    phone.scroll_to("[data-testid=renewal]").await;
    phone.assert_accessible("the renewal form naming what is missing").await;
    phone.screenshot("case-390-en-renewal-form").await;
    phone
        .set_value("#renewal-expires", &in_days(8 * 7 + 30), "change")
        .await;
    phone
        .wait("#renewal-email")
        .await
        .send_keys("erika@example.org")
        .await
        .unwrap();
    phone.click("[data-testid=renewal] button[type=submit]").await;
    let set = phone.wait("[data-testid=renewal-set]").await.text().await.unwrap();
    assert!(set.starts_with("Reminder set. We will write to you on"), "{set}");
    phone.scroll_to("[data-testid=renewal]").await;
    phone.assert_accessible("a renewal reminder set").await;
    phone.screenshot("case-390-en-renewal").await;
    let (_, seen) = app.get_json(&format!("/api/cases/{code}")).await;
    assert_eq!(seen["renewal"]["reminder"]["remind_on"], json!(in_days(30)), "{seen}");
    // A mistyped code says so.
    phone
        .client
        .goto(&format!("{}/case/K7QM-3XZP-9RTA-WB2C", app.url))
        .await
        .unwrap();
    phone.wait(".case-status [role=alert]").await;
    phone.close().await;

    // Collected: a pick-up ticket drawn at the kiosk with the code (a hand scanner types the
    // receipt's whole link), called at the pick-up counter and marked on the hall screen.
    let kiosk_token = add_device(&app.db.url, "buergerbuero", "kiosk");
    let display_token = add_device(&app.db.url, "buergerbuero", "display");
    let Some(kiosk) = Browser::launch(1024, 900).await else {
        return;
    };
    let kiosk_url = format!("{}/kiosk/buergerbuero?token={kiosk_token}", app.url);
    kiosk.client.goto(&kiosk_url).await.unwrap();
    kiosk.wait(".kiosk-choices").await;
    let choices = kiosk
        .client
        .find_all(Locator::Css(".kiosk-choices .kiosk-button"))
        .await
        .unwrap();
    choices[1].click().await.unwrap();
    kiosk.wait(".kiosk-services .kiosk-button").await;
    kiosk
        .client
        .find(Locator::XPath("//button[contains(., 'Ausweis oder Pass abholen')]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let link = format!("{}/case/{code}", app.url);
    kiosk.wait("#kiosk-case-input").await.send_keys(&link).await.unwrap();
    kiosk
        .assert_accessible("the kiosk asks for the application's code")
        .await;
    kiosk.screenshot("kiosk-pick-up-code").await;
    kiosk.click(".kiosk-code button[type=submit]").await;
    let number = kiosk.wait("[data-testid=ticket-number]").await.text().await.unwrap();
    assert_eq!(number, "B-001");
    kiosk.close().await;

    let Some(screen) = Browser::launch(1280, 720).await else {
        return;
    };
    let screen_url = format!("{}/display/buergerbuero?token={display_token}", app.url);
    screen.client.goto(&screen_url).await.unwrap();
    screen.wait(".display-calls").await;
    let anna = app.sign_in("anna", "counter-one-2026").await;
    app.open_counter(&anna, "buergerbuero-4").await;
    let called = app
        .staff_ok(&anna, Method::POST, "/api/counters/buergerbuero-4/call-next")
        .await;
    assert_eq!(called["number"], "B-001", "{called}");
    let mark = screen.wait("tr.latest .display-pick-up").await.text().await.unwrap();
    assert_eq!(mark, "Abholung");
    screen.assert_accessible("a pick-up called on the hall screen").await;
    screen.screenshot("display-pick-up").await;
    screen.close().await;

    // An admin sees which procedure went quiet, beside the overdue applications.
    use schalter_events::case::{procedure_stream, ProcedureEvent, SCHEMA};
    let procedure = add_device(&app.db.url, "buergerbuero", "procedure");
    let id = procedure.split_once('.').unwrap().0.to_owned();
    let arrived = ProcedureEvent::ImportArrived {
        at: chrono::Utc::now() - chrono::Duration::days(5),
    };
    app.store()
        .append(&schalter_events::store::AppendRequest::new(vec![
            schalter_events::encode(procedure_stream(&id), SCHEMA, &arrived),
        ]))
        .await
        .unwrap();
    add_user(&app.db.url, "root", "admin", "administrator-2026");
    let Some(admin) = Browser::launch(1280, 1000).await else {
        return;
    };
    admin
        .sign_in_at(&format!("{}/admin", app.url), "root", "administrator-2026")
        .await;
    let notice = admin
        .wait("[data-testid=silent-procedures]")
        .await
        .text()
        .await
        .unwrap();
    assert!(notice.contains(&id) && notice.contains("zuletzt am"), "{notice}");
    admin.scroll_to(".overdue-cases").await;
    admin.assert_accessible("a silent procedure on the admin page").await;
    admin.screenshot("admin-silent-procedure").await;
    // The kinds of application: a built-in one gets other reminder weeks.
    admin.set_value("#kind-pick", "reisepass", "change").await;
    admin.wait("#kind-id[readonly]").await;
    admin.set_value("#kind-remind_weeks", "12", "input").await;
    admin.click("form[aria-labelledby=kind-h] button[type=submit]").await;
    admin.wait("[data-testid=kind-saved]:not(:empty)").await;
    admin.scroll_to("#kind-h").await;
    admin.assert_accessible("the kinds of application").await;
    admin.screenshot("admin-case-kinds").await;
    let (_, kinds) = app.get_json("/api/case-kinds").await;
    assert_eq!(kinds[1]["remind_weeks"], 12, "{kinds}");
    // The figures count the application (called for pick-up, not yet handed over) by kind and step.
    admin.client.goto(&format!("{}/stats", app.url)).await.unwrap();
    let figures = admin.wait("[data-testid=stats-cases]").await.text().await.unwrap();
    assert!(
        figures.contains("Reisepass 1") && figures.contains("Abholbereit 1"),
        "{figures}"
    );
    admin.scroll_to(".stats-cases").await;
    admin.assert_accessible("application figures").await;
    admin.screenshot("stats-cases").await;
    admin.close().await;
    app.stop().await;
}

async fn import(app: &TestApp, token: &str, body: &Value) -> (u16, Value) {
    status_and_json(
        app.client
            .post(format!("{}/api/import/case-steps", app.url))
            .header("authorization", format!("Bearer {token}"))
            .json(body),
    )
    .await
}

/// The passport procedure reports by the application's number: once changes the case, twice
/// changes nothing; a wrong token, another office's procedure, a kiosk, an unknown number and a
/// step that may not follow are refused and store nothing.
async fn a_procedure_reports_steps_once_and_refused_ones_store_nothing(db: TestDb) {
    let app = spawn_app(db).start().await;
    let anna = clerk(&app).await;
    let procedure = add_device(&app.db.url, "buergerbuero", "procedure");
    let elsewhere = add_device(&app.db.url, "kfz-zulassung", "procedure");
    let kiosk = add_device(&app.db.url, "buergerbuero", "kiosk");
    let (status, opened) = send(&app, Some(&anna), Method::POST, "/api/desk/cases", &identity_card()).await;
    assert_eq!(status, 201, "{opened}");
    let code = opened["code"].as_str().unwrap().to_owned();

    let step = |to: &str| json!({"reference": "PA-2026-4711", "step": to});
    let (status, done) = import(&app, &procedure, &step("in-production")).await;
    assert_eq!((status, done["changed"].as_bool()), (200, Some(true)), "{done}");
    let head = app.store().head().await.unwrap();
    let (status, done) = import(&app, &procedure, &step("in-production")).await;
    assert_eq!((status, done["changed"].as_bool()), (200, Some(false)), "{done}");
    let refusals = [
        (import(&app, "device-x.forged", &step("ready")).await, 401),
        (import(&app, &kiosk, &step("ready")).await, 403),
        (import(&app, &elsewhere, &step("ready")).await, 404),
        (
            import(&app, &procedure, &json!({"reference": "PA-0000", "step": "ready"})).await,
            404,
        ),
        (import(&app, &procedure, &step("picked-up")).await, 409),
        (
            import(&app, &procedure, &json!({"reference": "PA-2026-4711", "step": "lost"})).await,
            422,
        ),
    ];
    // Two different keys in one request: neither is trusted.
    let (status, answer) = status_and_json(
        app.client
            .post(format!("{}/api/import/case-steps?token={kiosk}", app.url))
            .header("authorization", format!("Bearer {procedure}"))
            .json(&step("ready")),
    )
    .await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (401, Some("invalid_token")),
        "{answer}"
    );
    for (i, ((status, answer), expected)) in refusals.iter().enumerate() {
        assert_eq!(status, expected, "refusal {i}: {answer}");
    }
    assert_eq!(app.store().head().await.unwrap(), head, "nothing stored");

    let (status, done) = import(&app, &procedure, &step("ready")).await;
    assert_eq!((status, done["changed"].as_bool()), (200, Some(true)), "{done}");
    let (_, seen) = app.get_json(&format!("/api/cases/{code}")).await;
    assert_eq!(seen["step"], "ready");
    let events = app.store().read_all(0, 100_000).await.unwrap();
    let imported = events.iter().rfind(|e| e.event_type == "StepReached").unwrap();
    assert_eq!(imported.data["source"]["by"], "import", "{}", imported.data);
    assert!(imported
        .metadata
        .actor
        .as_deref()
        .unwrap()
        .starts_with("device:procedure-"));
    app.stop().await;
}

/// A case whose expected date passed without news is on the admins' list and in the metrics;
/// once it moves, it is not.
async fn a_late_case_is_listed_for_admins_and_counted(db: TestDb) {
    use schalter_events::case::CaseEvent;
    let app = spawn_app(db).start().await;
    add_user(&app.db.url, "root", "admin", "administrator-2026");
    let root = app.sign_in("root", "administrator-2026").await;
    let anna = clerk(&app).await;
    let now = chrono::Utc::now();
    // Opened a month ago, expected two days ago: written as the server would have then.
    let opened = CaseEvent::CaseOpened {
        kind: "reisepass".into(),
        location: "buergerbuero".into(),
        opened_at: now - chrono::Duration::days(30),
        expected_ready: (now - chrono::Duration::days(2)).date_naive(),
        reference: Some("RP-2026-0815".into()),
        contact: None,
        language: "de".into(),
    };
    app.store()
        .append(&schalter_events::store::AppendRequest::new(vec![
            opened.to_new_event("late")
        ]))
        .await
        .unwrap();
    let late = eventually("the late case listed", Duration::from_secs(10), async || {
        let late = app.staff_ok(&root, Method::GET, "/api/admin/cases/overdue").await;
        let listed = late != json!([]);
        when(late, listed)
    })
    .await;
    assert_eq!(late[0]["reference"], "RP-2026-0815", "{late}");
    assert_eq!(late[0]["step"], "received");
    let (status, _) = app.get_json_as("/api/admin/cases/overdue", &anna).await;
    assert_eq!(status, 403, "admins only");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("schalter_cases_overdue 1"), "{metrics}");
    // A step now is news: no longer overdue.
    let moved = CaseEvent::StepReached {
        step: schalter_events::case::Step::InProduction,
        at: now,
        source: schalter_events::case::Source::Staff,
    };
    app.store()
        .append(&schalter_events::store::AppendRequest::new(vec![
            moved.to_new_event("late")
        ]))
        .await
        .unwrap();
    eventually("no longer late", Duration::from_secs(10), async || {
        let late = app.staff_ok(&root, Method::GET, "/api/admin/cases/overdue").await;
        let empty = late == json!([]);
        when(late, empty)
    })
    .await;
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("schalter_cases_overdue 0"), "{metrics}");
    app.stop().await;
}

/// The retention run destroys the key of the address a picked-up application left, and keeps
/// the one of an application still waiting for its "ready".
async fn a_closed_cases_contact_is_erased_and_an_open_ones_kept(db: TestDb) {
    use schalter_events::booking::Personal;
    use schalter_events::case::Case;
    let app = spawn_app(db).start().await;
    let anna = clerk(&app).await;
    let mut codes = Vec::new();
    for _ in 0..2 {
        let (status, opened) = send(&app, Some(&anna), Method::POST, "/api/desk/cases", &identity_card()).await;
        assert_eq!(status, 201, "{opened}");
        codes.push(opened["code"].as_str().unwrap().to_owned());
    }
    for to in ["ready", "picked-up"] {
        let path = format!("/api/desk/cases/{}/step", codes[0]);
        let (status, _) = send(&app, Some(&anna), Method::POST, &path, &json!({"step": to})).await;
        assert_eq!(status, 200);
    }
    let out = cli(&["purge", "--database-url", &app.db.url, "--retention-days", "0"]);
    assert!(out.contains("erased the contacts of 1 application(s)"), "{out}");
    let events = app.store().read_all(0, 100_000).await.unwrap();
    let mut by_stream = std::collections::BTreeMap::<String, Vec<_>>::new();
    for e in events.into_iter().filter(|e| e.stream.starts_with("case-")) {
        by_stream.entry(e.stream.clone()).or_default().push(e);
    }
    let vault = app.vault().await;
    let mut kept = 0;
    for events in by_stream.values() {
        let case = Case::fold(events).unwrap().unwrap();
        let Some(Personal::Sealed(sealed)) = &case.contact else {
            panic!("a case's contact is sealed")
        };
        let key = app.store().data_key(&sealed.key).await.unwrap();
        if case.erased {
            assert_eq!(case.step, schalter_events::case::Step::PickedUp);
            assert_eq!(key, None, "the key is gone");
            assert_eq!(vault.open(case.contact.as_ref().unwrap()).await.unwrap(), None);
        } else {
            assert!(key.is_some(), "an open case keeps its address");
            kept += 1;
        }
    }
    assert_eq!(kept, 1);
    let out = cli(&["purge", "--database-url", &app.db.url, "--retention-days", "0"]);
    assert!(out.contains("erased the contacts of 0 application(s)"), "{out}");
    app.stop().await;
}

/// Draws a ticket at the Bürgerbüro's kiosk.
async fn draw(app: &TestApp, kiosk: &str, body: Value) -> (u16, Value) {
    let request = app
        .client
        .post(format!("{}/api/locations/buergerbuero/tickets", app.url))
        .header("authorization", format!("Bearer {kiosk}"))
        .json(&body);
    status_and_json(request).await
}

/// Opens a case at `location` and moves it to ready; returns its tracking code.
async fn ready_case(app: &TestApp, clerk: &str, location: &str) -> String {
    let mut body = identity_card();
    body["location"] = json!(location);
    body["reference"] = json!(format!("PA-{location}"));
    let (status, opened) = send(app, Some(clerk), Method::POST, "/api/desk/cases", &body).await;
    assert_eq!(status, 201, "{opened}");
    let code = opened["code"].as_str().unwrap().to_owned();
    let (status, moved) = send(
        app,
        Some(clerk),
        Method::POST,
        &format!("/api/desk/cases/{code}/step"),
        &json!({ "step": "ready" }),
    )
    .await;
    assert_eq!((status, moved["step"].as_str()), (200, Some("ready")), "{moved}");
    code
}

async fn a_ready_document_is_collected_with_its_own_ticket(db: TestDb) {
    let app = spawn_app(db).start().await;
    let anna = clerk(&app).await;
    let kiosk = add_device(&app.db.url, "buergerbuero", "kiosk");
    let display = add_device(&app.db.url, "buergerbuero", "display");
    let pick_up = |code: &str| json!({ "service": "ausweis-abholung", "case": code });

    // Not ready yet, unknown, at another office, with a service that hands nothing out:
    // refused, and nothing stored.
    let (status, opened) = send(&app, Some(&anna), Method::POST, "/api/desk/cases", &identity_card()).await;
    assert_eq!(status, 201, "{opened}");
    let in_production = opened["code"].as_str().unwrap().to_owned();
    let elsewhere = ready_case(&app, &anna, "kfz-zulassung").await;
    let code = ready_case(&app, &anna, "buergerbuero").await;
    let head = app.store().head().await.unwrap();
    let refusals = [
        (pick_up(&in_production), 409, "case_not_ready"),
        (pick_up("AAAA-BBBB-CCCC-DDDD"), 404, "not_found"),
        (pick_up("not a code"), 404, "not_found"),
        (pick_up(&elsewhere), 409, "collected_elsewhere"),
        (
            json!({ "service": "personalausweis", "case": code }),
            422,
            "not_a_pick_up",
        ),
    ];
    for (body, want_status, want_code) in &refusals {
        let (status, answer) = draw(&app, &kiosk, body.clone()).await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (*want_status, Some(*want_code)),
            "{body}: {answer}"
        );
    }
    assert_eq!(app.store().head().await.unwrap(), head, "refusals store nothing");

    // The citizen's page says how to collect it.
    let (_, seen) = app.get_json(&format!("/api/cases/{code}")).await;
    assert_eq!(
        seen["pick_up"],
        json!({ "service": "ausweis-abholung", "bookable_online": true, "kiosk": true }),
        "{seen}"
    );

    // A registration walk-in comes first, then the pick-up: the hand scanner types the whole
    // tracking link from the receipt's QR code.
    let (status, walk_in) = draw(&app, &kiosk, json!({ "service": "personalausweis" })).await;
    assert_eq!(status, 201, "{walk_in}");
    let link = format!("{}/case/{code}", app.url);
    let (status, ticket) = draw(&app, &kiosk, pick_up(&link)).await;
    assert_eq!((status, ticket["number"].as_str()), (201, Some("B-001")), "{ticket}");
    let (status, again) = draw(&app, &kiosk, pick_up(&code)).await;
    assert_eq!(
        (status, again["error"].as_str()),
        (409, Some("already_in_line")),
        "{again}"
    );

    // Counter 1 serves both: the pick-up is called first, and the hall screen marks it.
    app.open_counter(&anna, "buergerbuero-1").await;
    let call = || app.staff_ok(&anna, Method::POST, "/api/counters/buergerbuero-1/call-next");
    let called = call().await;
    assert_eq!(
        (called["number"].as_str(), called["kind"].as_str()),
        (Some("B-001"), Some("pickup")),
        "{called}"
    );
    let screen = app.client.get(format!(
        "{}/api/locations/buergerbuero/display/stream?token={display}",
        app.url
    ));
    let mut feed = SseStream::open(screen).await;
    let snapshot = feed
        .next(Duration::from_secs(5))
        .await
        .expect("a snapshot first")
        .json();
    assert_eq!(snapshot["calls"][0]["number"], "B-001", "{snapshot}");
    assert_eq!(snapshot["calls"][0]["pick_up"], true, "{snapshot}");

    // The hand-over closes the case; the walk-in is next.
    let id = called["id"].as_str().unwrap();
    app.staff_ok(&anna, Method::POST, &format!("/api/tickets/{id}/finish"))
        .await;
    let (_, seen) = app.get_json(&format!("/api/cases/{code}")).await;
    assert_eq!(seen["step"], "picked-up", "{seen}");
    assert!(seen.get("pick_up").is_none(), "{seen}");
    let closing = app
        .store()
        .read_all(0, 100_000)
        .await
        .unwrap()
        .into_iter()
        .rfind(|e| e.event_type == "StepReached")
        .unwrap();
    assert_eq!(closing.metadata.actor.as_deref(), Some("staff:anna"));
    let next = call().await;
    assert_eq!(next["number"], walk_in["number"], "{next}");
    app.stop().await;
}

/// A procedure that sent nothing for three days is flagged to admins and counted; its next
/// import clears it. Arrivals are noted at most hourly, so a repeated import stores nothing.
async fn a_silent_procedure_is_flagged_until_it_reports_again(db: TestDb) {
    use schalter_events::case::{procedure_stream, ProcedureEvent, SCHEMA};
    let app = spawn_app(db).start().await;
    add_user(&app.db.url, "root", "admin", "administrator-2026");
    let root = app.sign_in("root", "administrator-2026").await;
    let anna = clerk(&app).await;
    let procedure = add_device(&app.db.url, "buergerbuero", "procedure");
    let id = procedure.split_once('.').unwrap().0.to_owned();
    let path = "/api/admin/cases/silent-procedures";
    assert_eq!(
        app.staff_ok(&root, Method::GET, path).await,
        json!([]),
        "a new key is not missed yet"
    );

    // Its last import four days ago, written as the server would have then.
    let arrived = ProcedureEvent::ImportArrived {
        at: chrono::Utc::now() - chrono::Duration::days(4),
    };
    app.store()
        .append(&schalter_events::store::AppendRequest::new(vec![
            schalter_events::encode(procedure_stream(&id), SCHEMA, &arrived),
        ]))
        .await
        .unwrap();
    let silent = eventually("the quiet procedure listed", Duration::from_secs(10), async || {
        let silent = app.staff_ok(&root, Method::GET, path).await;
        let listed = silent != json!([]);
        when(silent, listed)
    })
    .await;
    assert_eq!(
        (
            silent[0]["device"].as_str(),
            silent[0]["location"].as_str(),
            silent[0]["never_imported"].as_bool()
        ),
        (Some(id.as_str()), Some("buergerbuero"), Some(false)),
        "{silent}"
    );
    assert_eq!(app.get_json_as(path, &anna).await.0, 403, "admins only");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("schalter_procedures_silent 1"), "{metrics}");

    // It reports again: the case moves and the arrival is noted.
    let (status, _) = send(&app, Some(&anna), Method::POST, "/api/desk/cases", &identity_card()).await;
    assert_eq!(status, 201);
    let step = json!({"reference": "PA-2026-4711", "step": "in-production"});
    let (status, done) = import(&app, &procedure, &step).await;
    assert_eq!((status, done["changed"].as_bool()), (200, Some(true)), "{done}");
    eventually("heard from again", Duration::from_secs(10), async || {
        let silent = app.staff_ok(&root, Method::GET, path).await;
        let empty = silent == json!([]);
        when(silent, empty)
    })
    .await;
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("schalter_procedures_silent 0"), "{metrics}");
    // The same report within the hour: nothing stored at all.
    let head = app.store().head().await.unwrap();
    let (status, done) = import(&app, &procedure, &step).await;
    assert_eq!((status, done["changed"].as_bool()), (200, Some(false)), "{done}");
    assert_eq!(app.store().head().await.unwrap(), head);
    let arrivals = app.store().read_stream(&procedure_stream(&id), 0).await.unwrap();
    assert_eq!(arrivals.len(), 2, "the old arrival and today's one");
    app.stop().await;
}

/// A procedure that can only export files sends them as CSV: every row counts on its own, and
/// the answer names each refused row by line and code.
async fn a_step_file_is_imported_row_by_row(db: TestDb) {
    let app = spawn_app(db).start().await;
    let anna = clerk(&app).await;
    let procedure = add_device(&app.db.url, "buergerbuero", "procedure");
    let kiosk = add_device(&app.db.url, "buergerbuero", "kiosk");
    let mut codes = Vec::new();
    for reference in ["PA-A", "PA-B"] {
        let mut body = identity_card();
        body["reference"] = json!(reference);
        let (status, opened) = send(&app, Some(&anna), Method::POST, "/api/desk/cases", &body).await;
        assert_eq!(status, 201, "{opened}");
        codes.push(opened["code"].as_str().unwrap().to_owned());
    }
    let upload = |token: &str, file: &str| {
        status_and_json(
            app.client
                .post(format!("{}/api/import/case-steps.csv", app.url))
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", "text/csv")
                .body(file.to_owned()),
        )
    };
    // Refused whole: nothing stored.
    let head = app.store().head().await.unwrap();
    let (status, answer) = upload(&procedure, "number;status\nPA-A;ready\n").await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (422, Some("invalid_csv")),
        "{answer}"
    );
    let (status, _) = upload(&kiosk, "reference;step\nPA-A;ready\n").await;
    assert_eq!(status, 403);
    let (status, _) = upload("device-x.forged", "reference;step\nPA-A;ready\n").await;
    assert_eq!(status, 401);
    assert_eq!(app.store().head().await.unwrap(), head);

    let file = "Reference;Step\r\nPA-A;in-production\r\nPA-A;Ready\r\nPA-B;picked-up\r\nPA-X;ready\r\nPA-B;lost\r\nPA-A;ready\r\n";
    let (status, outcome) = upload(&procedure, file).await;
    assert_eq!(status, 200, "{outcome}");
    assert_eq!(
        (outcome["changed"].as_u64(), outcome["unchanged"].as_u64()),
        (Some(2), Some(1)),
        "{outcome}"
    );
    let refused: Vec<(u64, &str, &str)> = outcome["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap(),
                r["reference"].as_str().unwrap(),
                r["error"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        refused,
        [
            (4, "PA-B", "step_not_allowed"),
            (5, "PA-X", "not_found"),
            (6, "PA-B", "unknown_step")
        ]
    );
    for (code, step) in codes.iter().zip(["ready", "received"]) {
        let (_, seen) = app.get_json(&format!("/api/cases/{code}")).await;
        assert_eq!(seen["step"], step, "refused rows stored nothing: {seen}");
    }
    app.stop().await;
}

/// The published monthly counts: whole months only, by office and kind, counts from 1 to 4
/// withheld.
async fn open_data_counts_applications_by_month_and_withholds_small_numbers(db: TestDb) {
    use chrono::Datelike;
    use schalter_events::case::{CaseEvent, Source, Step};
    let app = spawn_app(db).publishing().start().await;
    let today = chrono::Utc::now().date_naive();
    let this_month = today.with_day(1).unwrap();
    // Ten days before this month began, at noon: last month, in any time zone.
    let at = (this_month - chrono::Duration::days(10))
        .and_hms_opt(12, 0, 0)
        .unwrap()
        .and_utc();
    let mut events = Vec::new();
    for i in 0..5 {
        let opened = CaseEvent::CaseOpened {
            kind: "reisepass".into(),
            location: "buergerbuero".into(),
            opened_at: at,
            expected_ready: at.date_naive() + chrono::Duration::days(14),
            reference: Some(format!("RP-{i}")),
            contact: None,
            language: "de".into(),
        };
        events.push(opened.to_new_event(&format!("month-{i}")));
    }
    for i in 0..2 {
        let ready = CaseEvent::StepReached {
            step: Step::Ready,
            at: at + chrono::Duration::days(1),
            source: Source::Staff,
        };
        events.push(ready.to_new_event(&format!("month-{i}")));
    }
    app.store()
        .append(&schalter_events::store::AppendRequest::new(events))
        .await
        .unwrap();
    // A case of this month is not published while the month runs.
    let (status, opened) = send(
        &app,
        Some(&clerk(&app).await),
        Method::POST,
        "/api/desk/cases",
        &identity_card(),
    )
    .await;
    assert_eq!(status, 201, "{opened}");

    let rows = eventually("the month published", Duration::from_secs(10), async || {
        let (status, data) = app.get_json("/api/open-data/cases-monthly.json").await;
        assert_eq!(status, 200, "{data}");
        let published = data["rows"] != json!([]);
        when(data["rows"].clone(), published)
    })
    .await;
    let month = format!("{:04}-{:02}", at.year(), at.month());
    assert_eq!(
        rows,
        json!([{"month": month, "location": "buergerbuero", "kind": "reisepass", "opened": 5, "ready": null, "picked_up": 0}])
    );
    let csv = app.get("/api/open-data/cases-monthly.csv").await.text().await.unwrap();
    assert_eq!(
        csv.lines().collect::<Vec<_>>(),
        [
            "month,location,kind,opened,ready,picked_up",
            &format!("{month},buergerbuero,reisepass,5,,0")
        ]
    );
    let (_, index) = app.get_json("/api/open-data").await;
    assert_eq!(index["datasets"][1]["id"], "cases-monthly", "{index}");
    app.stop().await;
}

/// A case of `kind` without a contact, moved on to `step` by the clerk; its tracking code.
async fn case_at(app: &TestApp, clerk: &str, kind: &str, steps: &[&str]) -> String {
    let body = json!({ "kind": kind, "location": "buergerbuero", "expected_ready": in_days(14) });
    let (status, opened) = send(app, Some(clerk), Method::POST, "/api/desk/cases", &body).await;
    assert_eq!(status, 201, "{opened}");
    let code = opened["code"].as_str().unwrap().to_owned();
    for step in steps {
        let path = format!("/api/desk/cases/{code}/step");
        let (status, moved) = send(app, Some(clerk), Method::POST, &path, &json!({ "step": step })).await;
        assert_eq!(status, 200, "{moved}");
    }
    code
}

/// Left at pick-up, a renewal reminder goes once, on its day (weeks before expiry), with a
/// booking link; then its address is erased. One withdrawn before goes never. Refused requests
/// store nothing.
async fn a_renewal_reminder_goes_once_on_its_day_and_its_address_is_erased(db: TestDb) {
    use schalter_server::engine::clock::Clock;
    let mail = SmtpSink::start().await;
    let (clock, hand) = Clock::with_hand();
    let app = spawn_app(db).mailing(&mail.url).message_clock(clock).start().await;
    let anna = clerk(&app).await;
    let kept = case_at(&app, &anna, "personalausweis", &["ready", "picked-up"]).await;
    let withdrawn = case_at(&app, &anna, "reisepass", &["ready"]).await;
    let received = case_at(&app, &anna, "personalausweis", &[]).await;
    let papers = case_at(&app, &anna, "fahrzeugpapiere", &["ready"]).await;

    let (_, seen) = app.get_json(&format!("/api/cases/{kept}")).await;
    assert_eq!(
        seen["renewal"],
        json!({ "remind_weeks": 8 }),
        "offered, none set: {seen}"
    );
    let (_, seen) = app.get_json(&format!("/api/cases/{received}")).await;
    assert!(
        seen.get("renewal").is_none(),
        "not before the document is there: {seen}"
    );

    // Eight weeks before expiry, ten days from now.
    let expires = in_days(8 * 7 + 10);
    let owned = app;
    let app = &owned;
    let ask = |code: &str, body: Value| {
        let path = format!("/api/cases/{code}/renewal");
        async move { send(app, None, Method::POST, &path, &body).await }
    };
    let head = app.store().head().await.unwrap();
    for (code, body, status, error) in [
        (
            &kept,
            json!({ "expires_on": in_days(30), "email": "erika@example.org" }),
            422,
            "expires_too_soon",
        ),
        (
            &kept,
            json!({ "expires_on": in_days(6000), "email": "erika@example.org" }),
            422,
            "expires_too_far",
        ),
        (&kept, json!({ "expires_on": expires }), 422, "missing_contact"),
        (
            &kept,
            json!({ "expires_on": expires, "email": "not-an-address" }),
            422,
            "invalid_contact",
        ),
        (
            &kept,
            json!({ "expires_on": "2036-02-30", "email": "erika@example.org" }),
            422,
            "invalid_body",
        ),
        (
            &kept,
            json!({ "expires_on": expires, "email": "erika@example.org", "name": "Erika" }),
            422,
            "invalid_body",
        ),
        (
            &received,
            json!({ "expires_on": expires, "email": "erika@example.org" }),
            409,
            "case_not_ready",
        ),
        (
            &papers,
            json!({ "expires_on": expires, "email": "erika@example.org" }),
            422,
            "renewal_not_offered",
        ),
        (
            &"AAAA-BBBB-CCCC-DDDD".to_owned(),
            json!({ "expires_on": expires, "email": "erika@example.org" }),
            404,
            "not_found",
        ),
    ] {
        let (got, answer) = ask(code, body.clone()).await;
        assert_eq!(
            (got, answer["error"].as_str()),
            (status, Some(error)),
            "{body}: {answer}"
        );
    }
    assert_eq!(
        app.store().head().await.unwrap(),
        head,
        "refused requests store nothing"
    );

    let (status, set) = ask(
        &kept,
        json!({ "expires_on": expires, "email": "erika@example.org", "language": "en" }),
    )
    .await;
    assert_eq!(status, 201, "{set}");
    assert_eq!(set["renewal"]["reminder"]["remind_on"], json!(in_days(10)), "{set}");
    let (status, again) = ask(&kept, json!({ "expires_on": expires, "email": "erika@example.org" })).await;
    assert_eq!(
        (status, again["error"].as_str()),
        (409, Some("reminder_exists")),
        "{again}"
    );
    let (status, _) = ask(
        &withdrawn,
        json!({ "expires_on": expires, "email": "bert@example.org" }),
    )
    .await;
    assert_eq!(status, 201);
    let events = app.store().read_all(0, 100_000).await.unwrap();
    let requested = events
        .iter()
        .filter(|e| e.event_type == "ReminderRequested")
        .collect::<Vec<_>>();
    assert_eq!(requested.len(), 2);
    assert!(
        requested.iter().all(|e| !e.data.to_string().contains("@example.org")),
        "sealed"
    );
    // Withdrawn: the address goes at once; withdrawing twice is no error.
    let path = format!("/api/cases/{withdrawn}/renewal");
    for _ in 0..2 {
        let (status, seen) = send(app, None, Method::DELETE, &path, &json!({})).await;
        assert_eq!(status, 200, "{seen}");
        assert!(seen["renewal"].get("reminder").is_none(), "{seen}");
    }

    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        mail.messages().is_empty(),
        "nothing before its day: {:?}",
        mail.messages()
    );
    hand.advance(chrono::Duration::days(11));
    let got = mail.wait_for(1, Duration::from_secs(20)).await;
    let text = decoded(&got[0]);
    assert!(text.contains("Expires on"), "{text}");
    assert!(text.contains("Identity card"), "{text}");
    assert!(
        text.contains("/?service=personalausweis&location=buergerbuero"),
        "{text}"
    );
    assert!(text.contains("erika@example.org"));
    // Then the address is erased: the reminder is gone from the citizen's view, its key too.
    let track = format!("/api/cases/{kept}");
    eventually("erased", Duration::from_secs(20), async || {
        let (_, seen) = app.get_json(&track).await;
        let erased = seen["renewal"].get("reminder").is_none();
        when(seen, erased)
    })
    .await;
    let events = app.store().read_all(0, 100_000).await.unwrap();
    let erased: Vec<&str> = events
        .iter()
        .filter(|e| e.stream.starts_with("renewal-"))
        .map(|e| e.event_type.as_str())
        .collect();
    assert_eq!(
        erased,
        [
            "ReminderRequested",
            "ReminderRequested",
            "ReminderCancelled",
            "ContactErased"
        ]
    );

    let db = owned.stop().await;
    let (clock, hand) = Clock::with_hand();
    hand.advance(chrono::Duration::days(11));
    let app = spawn_app(db).mailing(&mail.url).message_clock(clock).start().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        mail.messages().len(),
        1,
        "once, and never for the withdrawn one: {:?}",
        mail.messages()
    );
    app.stop().await;
}

/// Admins add a kind of application and change a built-in one; the desk then opens cases of
/// it; the rules refuse what does not fit, for admins only.
async fn an_office_defines_its_own_kinds_of_application(db: TestDb) {
    let app = spawn_app(db).start().await;
    let anna = clerk(&app).await;
    add_user(&app.db.url, "root", "admin", "administrator-2026");
    let root = app.sign_in("root", "administrator-2026").await;
    let permit = json!({
        "id": "bewohnerparkausweis",
        "name": { "de": "Bewohnerparkausweis", "en": "Resident parking permit" },
        "remind_weeks": 4
    });
    let (status, _) = send(&app, Some(&anna), Method::POST, "/api/admin/case-kinds", &permit).await;
    assert_eq!(status, 403, "admins only");
    let (status, saved) = send(&app, Some(&root), Method::POST, "/api/admin/case-kinds", &permit).await;
    assert_eq!(status, 201, "{saved}");
    let (status, saved) = send(&app, Some(&root), Method::POST, "/api/admin/case-kinds", &permit).await;
    assert_eq!(status, 200, "the same again replaces: {saved}");
    let passport = json!({ "id": "reisepass", "name": { "de": "Reisepass", "en": "Passport" }, "remind_weeks": 12 });
    let (status, _) = send(&app, Some(&root), Method::POST, "/api/admin/case-kinds", &passport).await;
    assert_eq!(status, 200, "a built-in kind is changed, not created");
    let head = app.store().head().await.unwrap();
    for (body, error) in [
        (
            json!({ "id": "Kein Slug", "name": { "de": "X", "en": "" } }),
            "invalid_id",
        ),
        (json!({ "id": "x", "name": { "de": "", "en": "" } }), "missing"),
        (
            json!({ "id": "x", "name": { "de": "X", "en": "" }, "remind_weeks": 53 }),
            "invalid_remind_weeks",
        ),
        (
            json!({ "id": "x", "name": { "de": "X", "en": "" }, "remind_weeks": -1 }),
            "invalid_body",
        ),
    ] {
        let (status, answer) = send(&app, Some(&root), Method::POST, "/api/admin/case-kinds", &body).await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (422, Some(error)),
            "{body}: {answer}"
        );
    }
    assert_eq!(app.store().head().await.unwrap(), head);

    let (status, kinds) = app.get_json("/api/case-kinds").await;
    assert_eq!(status, 200);
    let listed: Vec<(&str, u64)> = kinds
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (k["id"].as_str().unwrap(), k["remind_weeks"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        listed,
        [
            ("personalausweis", 8),
            ("reisepass", 12),
            ("fuehrerschein", 8),
            ("fahrzeugpapiere", 0),
            ("bewohnerparkausweis", 4)
        ]
    );
    let code = case_at(&app, &anna, "bewohnerparkausweis", &["ready"]).await;
    let (_, seen) = app.get_json(&format!("/api/cases/{code}")).await;
    assert_eq!(seen["kind_name"]["en"], "Resident parking permit");
    assert_eq!(seen["renewal"]["remind_weeks"], 4);
    let body = json!({ "kind": "hundesteuermarke", "location": "buergerbuero", "expected_ready": in_days(3) });
    let (status, refused) = send(&app, Some(&anna), Method::POST, "/api/desk/cases", &body).await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (422, Some("unknown_kind")),
        "{refused}"
    );
    app.stop().await;
}
