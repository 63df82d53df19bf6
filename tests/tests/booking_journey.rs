//! A citizen books, reschedules and cancels through the real app in Chromium, on a phone and on
//! a desktop; every page passes axe-core without serious or critical violations.

use std::time::Duration;

use fantoccini::Locator;
use schalter_tests::app::spawn_app;
use schalter_tests::browser::Browser;
use schalter_tests::citizen::ID_CARD;
use schalter_tests::keyboard::{focus_is_on, focused_attr, press, tab_to};
use schalter_tests::{TestApp, TestDb};
use serde_json::Value;

async fn check_a11y(browser: &Browser, page: &str) {
    if let Some(violations) = browser.accessibility_violations().await {
        assert!(violations.is_empty(), "{page}: {violations:#?}");
    }
}

async fn journey(app: &TestApp, browser: &Browser, width: u32) {
    let c = &browser.client;
    let shot = |name: &str| format!("booking-{name}-{width}");
    c.goto(&app.url).await.unwrap();
    browser.wait("li.service").await;
    check_a11y(browser, "start page").await;
    browser.click("li[data-service=personalausweis] a.button").await;

    // One office offers it: straight to the days.
    browser.wait("a.day").await;
    check_a11y(browser, "choose day").await;
    browser.screenshot(&shot("1-day")).await;
    let days = c.find_all(Locator::Css("a.day")).await.unwrap();
    // A day a week ahead: never today, whose early slots the lead time may hide.
    days[days.len().min(6) - 1].click().await.unwrap();

    browser.wait("a.time").await;
    check_a11y(browser, "choose time").await;
    browser.screenshot(&shot("2-time")).await;
    let time = c.find(Locator::Css("a.time")).await.unwrap();
    let start = time.attr("data-start").await.unwrap().unwrap();
    let free_before = app.free_at(ID_CARD, &start).await;
    time.click().await.unwrap();

    browser.wait("form.details").await;
    check_a11y(browser, "details").await;
    c.find(Locator::Css("#name"))
        .await
        .unwrap()
        .send_keys("Erika Mustermann")
        .await
        .unwrap();
    // An address without its domain: the message names the email field, which is marked
    // invalid and has the focus (and the missing consent waits its turn).
    let email = c.find(Locator::Css("#email")).await.unwrap();
    email.send_keys("erika@").await.unwrap();
    browser.click("button.primary").await;
    let alert = browser.wait("form.details .error p").await.text().await.unwrap();
    assert!(alert.contains("E-Mail-Adresse"), "{alert}");
    assert_eq!(email.attr("aria-invalid").await.unwrap().as_deref(), Some("true"));
    let focused = c.active_element().await.unwrap().attr("id").await.unwrap();
    assert_eq!(focused.as_deref(), Some("email"));
    email.clear().await.unwrap();
    email.send_keys(&format!("erika{width}@example.org")).await.unwrap();
    // Submitting without consent is refused with a clear message, nothing booked.
    browser.click("button.primary").await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    let alert = loop {
        let alert = browser.wait("form.details .error p").await.text().await.unwrap();
        if alert.contains("Datenschutzhinweise") || tokio::time::Instant::now() > deadline {
            break alert;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(alert.contains("Datenschutzhinweise"), "{alert}");
    assert_eq!(app.free_at(ID_CARD, &start).await, free_before);
    browser.click("#consent").await;
    browser.screenshot(&shot("3-details")).await;
    browser.click("button.primary").await;

    let code = browser.wait("[data-testid=booking-code]").await.text().await.unwrap();
    assert_eq!(code.len(), 19, "{code}");
    // The five digits for the kiosk on the day, beside the code.
    let number = browser
        .wait("[data-testid=check-in-number]")
        .await
        .text()
        .await
        .unwrap();
    let hash = schalter_server::features::bookings::code_hash(&code).unwrap();
    assert_eq!(number, schalter_server::features::bookings::check_in_number(&hash));
    check_a11y(browser, "confirmation").await;
    browser.screenshot(&shot("4-booked")).await;
    // Printed, the confirmation carries the code and the appointment (it once printed blank).
    let (_, all) = browser.printed_text(&shot("4-booked"), 3).await;
    assert!(all.contains(&code), "the code is printed: {all}");
    let (status, booking) = app.get_json(&format!("/api/bookings/{code}")).await;
    assert_eq!((status, booking["status"].as_str()), (200, Some("confirmed")));
    assert_eq!(booking["start"], start.as_str());
    assert_eq!(app.free_at(ID_CARD, &start).await, free_before - 1);
    let calendar = c
        .find(Locator::Css("a[download]"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    assert!(app.get(&calendar).await.text().await.unwrap().contains("BEGIN:VEVENT"));

    // Open the manage link as one would from the email, then move the appointment.
    c.goto(&format!("{}/booking/{code}", app.url)).await.unwrap();
    browser.wait("[data-testid=when]").await;
    let tab = c.title().await.unwrap();
    assert!(
        ["Ihr Termin – Bürgerservice", "Your appointment – Citizen services"].contains(&tab.as_str()),
        "{tab}"
    );
    check_a11y(browser, "manage").await;
    browser.click(".actions button:nth-of-type(1)").await;
    let days = {
        browser.wait(".reschedule a.day").await;
        c.find_all(Locator::Css(".reschedule a.day")).await.unwrap()
    };
    // Each journey moves to its own day: the phone journey cancels its new time later, and
    // that time then stays out of this address's reach for a while (cooling-off).
    let pick = if width < 500 { 8 } else { 9 };
    days[days.len().min(pick) - 1].click().await.unwrap();
    let new_time = browser.wait(".reschedule a.time").await;
    let new_start = new_time.attr("data-start").await.unwrap().unwrap();
    check_a11y(browser, "reschedule").await;
    new_time.click().await.unwrap();
    // A tap on a time only proposes it: nothing moves until "Verschieben".
    browser.wait("[data-testid=confirm-move]").await;
    // Below a long grid of times, the question stays in view at the bottom of the screen.
    let in_view: bool = serde_json::from_value(
        c.execute(
            "const r = document.querySelector('[data-testid=confirm-move]').getBoundingClientRect(); \
             return r.top >= 0 && r.bottom <= window.innerHeight;",
            vec![],
        )
        .await
        .unwrap(),
    )
    .unwrap();
    assert!(in_view, "the move question is on screen");
    let (_, unmoved) = app.get_json(&format!("/api/bookings/{code}")).await;
    assert_eq!(unmoved["start"], start.as_str(), "not moved by the first tap");
    check_a11y(browser, "reschedule, move proposed").await;
    browser.screenshot(&shot("5-move-proposed")).await;
    browser.click("[data-testid=confirm-move] button.primary").await;
    browser.wait("p.notice[role=status]").await;
    // The notice has the focus, so it is on screen and read out.
    let focused = c.active_element().await.unwrap().attr("id").await.unwrap();
    assert_eq!(focused.as_deref(), Some("notice"));
    let (_, moved) = app.get_json(&format!("/api/bookings/{code}")).await;
    assert_eq!(moved["start"], new_start.as_str());
    assert_eq!(
        app.free_at(ID_CARD, &start).await,
        free_before,
        "the old time is free again"
    );
    browser.screenshot(&shot("6-moved")).await;

    // Cancel, confirming the question first.
    browser.click(".actions button.danger").await;
    browser.click(".confirm button.danger").await;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(
            "//dd[@data-testid='status' and (text()='Abgesagt' or text()='Cancelled')]",
        ))
        .await
        .expect("status shows cancelled");
    let (_, cancelled) = app.get_json(&format!("/api/bookings/{code}")).await;
    assert_eq!(cancelled["status"], "cancelled");
    check_a11y(browser, "cancelled").await;
    browser.screenshot(&shot("7-cancelled")).await;

    // Erase the details now instead of in 30 days.
    browser.click(".erase button.danger").await;
    browser.wait("[data-testid=erased]").await;
    let (_, erased) = app.get_json(&format!("/api/bookings/{code}")).await;
    assert_eq!(
        (erased["personal_data_erased"].as_bool(), erased["name"].as_str()),
        (Some(true), Some(""))
    );
    check_a11y(browser, "erased").await;
    browser.screenshot(&shot("7-erased")).await;

    // The privacy notice the citizen agreed to.
    c.goto(&format!("{}/datenschutz", app.url)).await.unwrap();
    browser.wait(".privacy h2").await;
    // It names who is responsible and the data-protection officer (GDPR art. 13), from the
    // municipality's configuration.
    let controller = browser.wait("[data-testid=controller]").await.text().await.unwrap();
    assert!(controller.contains("Demo-Stadtverwaltung"), "{controller}");
    let officer = browser
        .wait("[data-testid=data-protection-officer]")
        .await
        .text()
        .await
        .unwrap();
    assert!(officer.contains("datenschutz@verwaltung.example"), "{officer}");
    check_a11y(browser, "privacy notice").await;
    browser.screenshot(&shot("8-privacy")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn citizen_books_reschedules_and_cancels_in_the_browser() {
    let Some(app) = spawn_app(TestDb::sqlite().await).start_with_ui().await else {
        return;
    };
    for (width, height) in [(360, 800), (1280, 900)] {
        let Some(browser) = Browser::launch(width, height).await else {
            return;
        };
        journey(&app, &browser, width).await;
        browser.close().await;
    }
    let _: Value = app.get_json("/api/health").await.1;
    app.stop().await;
}

/// Booking, moving and cancelling with the keyboard alone: after every step the focus is on
/// the new step's heading or first control, arrow keys move through days and times, Escape
/// steps back out of a question.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn citizen_books_with_the_keyboard_only() {
    use fantoccini::key::Key;
    let Some(app) = spawn_app(TestDb::sqlite().await).start_with_ui().await else {
        return;
    };
    let Some(browser) = Browser::launch(1280, 900).await else {
        return;
    };
    let c = &browser.client;
    c.goto(&app.url).await.unwrap();
    browser.wait("li.service").await;
    tab_to(c, "li[data-service=meldebescheinigung] a.button").await;
    press(c, Key::Enter).await;
    browser.wait("a.day").await;
    focus_is_on(c, "main h1").await;
    tab_to(c, "a.day").await;
    let first_day = focused_attr(c, "data-day").await;
    press(c, Key::Right).await;
    let second_day = focused_attr(c, "data-day").await;
    assert!(
        second_day.is_some() && second_day != first_day,
        "→ moves to the next day"
    );
    press(c, Key::Left).await;
    assert_eq!(focused_attr(c, "data-day").await, first_day, "← moves back");
    press(c, Key::Enter).await;
    browser.wait("a.time").await;
    focus_is_on(c, "main h1").await;
    // The browser's back and forward buttons move between the steps.
    c.back().await.unwrap();
    browser.wait("a.day").await;
    assert!(
        c.find(Locator::Css("a.time")).await.is_err(),
        "back shows the days again"
    );
    c.forward().await.unwrap();
    browser.wait("a.time").await;
    tab_to(c, "a.time").await;
    press(c, Key::Enter).await;
    browser.wait("form.details").await;
    focus_is_on(c, "main h1").await;
    tab_to(c, "#name").await;
    c.active_element()
        .await
        .unwrap()
        .send_keys("Karl Tastatur")
        .await
        .unwrap();
    tab_to(c, "#email").await;
    c.active_element()
        .await
        .unwrap()
        .send_keys("karl@example.org")
        .await
        .unwrap();
    tab_to(c, "#consent").await;
    press(c, Key::Space).await;
    tab_to(c, "button.primary").await;
    press(c, Key::Enter).await;
    let code = browser.wait("[data-testid=booking-code]").await.text().await.unwrap();
    focus_is_on(c, "main h1").await;
    let (status, booking) = app.get_json(&format!("/api/bookings/{code}")).await;
    assert_eq!((status, booking["name"].as_str()), (200, Some("Karl Tastatur")));

    // Moving: the panel takes the focus; a day leads to its first time, a time to the question.
    tab_to(c, "#reschedule-open").await;
    press(c, Key::Enter).await;
    focus_is_on(c, "#reschedule-h").await;
    tab_to(c, ".reschedule a.day").await;
    press(c, Key::Enter).await;
    focus_is_on(c, ".reschedule a.time").await;
    press(c, Key::Right).await;
    let proposed = focused_attr(c, "data-start").await.expect("a time");
    press(c, Key::Enter).await;
    focus_is_on(c, "#move-yes").await;
    // Escape takes the question back, and the time keeps the focus.
    press(c, Key::Escape).await;
    focus_is_on(c, ".reschedule a.time").await;
    assert!(c.find(Locator::Css("[data-testid=confirm-move]")).await.is_err());
    assert_eq!(
        app.get_json(&format!("/api/bookings/{code}")).await.1["start"],
        booking["start"]
    );
    tab_to(c, &format!(".reschedule a[data-start='{proposed}']")).await;
    press(c, Key::Enter).await;
    focus_is_on(c, "#move-yes").await;
    press(c, Key::Enter).await;
    focus_is_on(c, "#notice").await;
    assert_eq!(
        app.get_json(&format!("/api/bookings/{code}")).await.1["start"],
        proposed.as_str()
    );

    // Cancelling: one question at a time, the safe answer focused, Escape keeps the booking.
    tab_to(c, "#reschedule-open").await;
    press(c, Key::Enter).await;
    focus_is_on(c, "#reschedule-h").await;
    tab_to(c, "#cancel-open").await;
    press(c, Key::Enter).await;
    focus_is_on(c, "#cancel-no").await;
    assert!(
        c.find(Locator::Css(".reschedule")).await.is_err(),
        "asking to cancel closes the move panel"
    );
    press(c, Key::Escape).await;
    focus_is_on(c, "#cancel-open").await;
    assert!(
        c.find(Locator::Css(".confirm")).await.is_err(),
        "Escape closes the question"
    );
    press(c, Key::Enter).await;
    focus_is_on(c, "#cancel-no").await;
    tab_to(c, ".confirm button.danger").await;
    press(c, Key::Enter).await;
    focus_is_on(c, "#notice").await;
    assert_eq!(
        app.get_json(&format!("/api/bookings/{code}")).await.1["status"],
        "cancelled"
    );
    browser.screenshot("booking-keyboard-cancelled").await;
    browser.close().await;
    app.stop().await;
}
