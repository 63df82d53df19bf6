//! The town hall's morning in three real Chromium windows: a clerk signs in at the desk, the
//! kiosk issues a walk-in ticket and checks in a booked citizen, the clerk calls the next
//! ticket, the hall screen shows its number at the counter, the clerk finishes. axe-core finds
//! no serious or critical violation on kiosk, desk, display and ticket status pages.

use std::time::Duration;

use fantoccini::Locator;
use schalter_tests::app::{add_device, add_user, spawn_app};
use schalter_tests::browser::Browser;
use schalter_tests::{eventually, when, TestDb};

const NAME: &str = "Zacharias Quellenbrunner-Oyelaran";
const EMAIL: &str = "zq-xylophon-4471@example.org";
const CODE: &str = "QQQQ-RRRR-SSSS-TTTT";

async fn check_a11y(browser: &Browser, page: &str) {
    if let Some(violations) = browser.accessibility_violations().await {
        assert!(violations.is_empty(), "{page}: {violations:#?}");
    }
}

/// The text of `css` once it equals `expected` (the pages update live), or a failure.
async fn wait_text(browser: &Browser, css: &str, expected: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let mut last = String::new();
    while tokio::time::Instant::now() < deadline {
        if let Ok(el) = browser.client.find(Locator::Css(css)).await {
            last = el.text().await.unwrap_or_default();
            if last.trim() == expected {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css} shows {last:?}, expected {expected:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn clerk_kiosk_and_hall_screen_work_together() {
    let Some(app) = spawn_app(TestDb::sqlite().await).start_with_ui().await else {
        return;
    };
    let kiosk_token = add_device(&app.db.url, "buergerbuero", "kiosk");
    let display_token = add_device(&app.db.url, "buergerbuero", "display");
    add_user(&app.db.url, "anna", "desk", "counter-one-2026");
    // Booked for five minutes ago: due, so it is called before the walk-in.
    app.booking_near_now(CODE, -5, NAME, EMAIL).await;
    let Some(desk) = Browser::launch(1280, 900).await else {
        return;
    };
    let Some(kiosk) = Browser::launch(1024, 900).await else {
        return;
    };
    let Some(screen) = Browser::launch(1280, 720).await else {
        return;
    };

    // The clerk signs in, picks the office and counter, opens it.
    desk.client.goto(&format!("{}/desk", app.url)).await.unwrap();
    desk.wait("form.login").await;
    check_a11y(&desk, "desk sign-in").await;
    desk.wait("#username").await.send_keys("anna").await.unwrap();
    desk.wait("#password")
        .await
        .send_keys("counter-one-2026")
        .await
        .unwrap();
    desk.click("form.login button[type=submit]").await;
    // Before an office is chosen the waiting line asks for one (it used to say "loading" forever).
    wait_text(
        &desk,
        ".desk-line tbody td",
        "Bitte wählen Sie zuerst eine Dienststelle.",
    )
    .await;
    wait_text(&desk, ".desk-user", "anna (Schalterdienst)").await;
    desk.wait(".desk-pick select")
        .await
        .select_by_value("buergerbuero")
        .await
        .unwrap();
    desk.wait("[data-testid=counter-select] option[value=buergerbuero-1]")
        .await;
    desk.wait("[data-testid=counter-select]")
        .await
        .select_by_value("buergerbuero-1")
        .await
        .unwrap();
    desk.click(".desk-counter button.primary").await;
    desk.wait(".desk-call").await;
    check_a11y(&desk, "desk, counter open").await;
    desk.screenshot("desk-1-open").await;

    // The hall screen connects.
    screen
        .client
        .goto(&format!("{}/display/buergerbuero?token={display_token}", app.url))
        .await
        .unwrap();
    wait_text(&screen, "#display-h", "Bürgerbüro im Rathaus").await;
    let address = screen.client.current_url().await.unwrap();
    assert!(
        !address.as_str().contains("token"),
        "the token leaves the address bar: {address}"
    );
    check_a11y(&screen, "display").await;
    let shift = screen.layout_shift().await;
    assert!(
        shift < 0.1,
        "the hall screen's layout shifted by {shift:.3} as it loaded"
    );
    // Each page names its tab, so staff with several open tell them apart.
    assert_eq!(desk.client.title().await.unwrap(), "Schalterplatz – Bürgerservice");
    assert_eq!(screen.client.title().await.unwrap(), "Aufrufanzeige – Bürgerservice");
    // The citizens' "book by phone on 115" is not the clerk's business.
    let footer = desk.wait(".site-footer").await.text().await.unwrap();
    assert!(!footer.contains("115"), "{footer}");

    // A walk-in takes a ticket at the kiosk.
    kiosk
        .client
        .goto(&format!("{}/kiosk/buergerbuero?token={kiosk_token}", app.url))
        .await
        .unwrap();
    kiosk.wait(".kiosk-choices").await;
    assert_eq!(kiosk.client.title().await.unwrap(), "Wartemarke ziehen – Bürgerservice");
    check_a11y(&kiosk, "kiosk start").await;
    kiosk.screenshot("kiosk-1-start").await;
    // This visitor reads English.
    kiosk.click(".kiosk-lang").await;
    wait_text(&kiosk, "#kiosk-h", "Welcome! Do you have an appointment?").await;
    let choices = kiosk
        .client
        .find_all(Locator::Css(".kiosk-choices .kiosk-button"))
        .await
        .unwrap();
    choices[1].click().await.unwrap();
    kiosk.wait(".kiosk-services .kiosk-button").await;
    check_a11y(&kiosk, "kiosk services").await;
    kiosk.screenshot("kiosk-2-services").await;
    kiosk.click(".kiosk-services .kiosk-button").await;
    let walk_in = kiosk.wait("[data-testid=ticket-number]").await.text().await.unwrap();
    assert!(walk_in.ends_with("-001"), "{walk_in}");
    let qr = kiosk.wait(".ticket-qr img").await.attr("src").await.unwrap().unwrap();
    let ticket_token = qr
        .trim_start_matches("/api/tickets/status/")
        .trim_end_matches("/qr.svg")
        .to_owned();
    check_a11y(&kiosk, "kiosk ticket").await;
    kiosk.screenshot("kiosk-3-ticket").await;
    kiosk.click(".kiosk-primary").await;
    // The next person finds the kiosk in German again.
    wait_text(&kiosk, "#kiosk-h", "Willkommen! Haben Sie einen Termin?").await;

    // The booked citizen checks in with the code.
    let choices = kiosk
        .client
        .find_all(Locator::Css(".kiosk-choices .kiosk-button"))
        .await
        .unwrap();
    choices[0].click().await.unwrap();
    // A mistyped code first: the kiosk says it does not know it (not "try again shortly").
    let input = kiosk.wait("#kiosk-code-input").await;
    input.send_keys("AAAA-BBBB-CCCC-DDDD").await.unwrap();
    kiosk.click(".kiosk-code button[type=submit]").await;
    wait_text(
        &kiosk,
        ".kiosk-error",
        "Diesen Code kennen wir nicht. Bitte prüfen Sie ihn oder fragen Sie am Empfang.",
    )
    .await;
    // Typing sixteen characters on a touch screen is what the short number spares: back to the
    // start, then the five digits from the confirmation on the kiosk's own keypad.
    kiosk.click(".kiosk-code .kiosk-secondary").await;
    let hash = schalter_server::features::bookings::code_hash(CODE).unwrap();
    let number = schalter_server::features::bookings::check_in_number(&hash);
    let mut touches = 0;
    kiosk.click(".kiosk-choices .kiosk-button:first-child").await;
    touches += 1;
    for digit in number.chars() {
        kiosk.click(&format!(".kiosk-key[data-key='{digit}']")).await;
        touches += 1;
    }
    let typed = kiosk.wait("#kiosk-code-input").await.prop("value").await.unwrap();
    assert_eq!(typed.as_deref(), Some(number.as_str()));
    check_a11y(&kiosk, "kiosk code").await;
    kiosk.screenshot("kiosk-3b-number").await;
    kiosk.click(".kiosk-code button[type=submit]").await;
    touches += 1;
    assert!(touches <= 8, "{touches} touches to check in");
    wait_text(&kiosk, "[data-testid=ticket-number]", "T-001").await;
    kiosk.screenshot("kiosk-4-checked-in").await;

    // The clerk calls: the due appointment comes first; the screen shows it at counter 1.
    desk.click(".desk-call").await;
    wait_text(&desk, ".current-number", "T-001").await;
    wait_text(&screen, "[data-testid=latest-number]", "T-001").await;
    wait_text(&screen, "[data-testid=latest-counter]", "1").await;
    screen.screenshot("display-1-called").await;
    check_a11y(&screen, "display with a call").await;
    let shown = screen.client.source().await.unwrap();
    for secret in [NAME, "Quellenbrunner", EMAIL, CODE] {
        assert!(!shown.contains(secret), "the hall screen shows {secret:?}");
    }
    check_a11y(&desk, "desk, ticket called").await;
    desk.screenshot("desk-2-called").await;

    // The walk-in follows the line on a phone: one ahead of them is done, they are next.
    kiosk
        .client
        .goto(&format!("{}/ticket/{ticket_token}", app.url))
        .await
        .unwrap();
    wait_text(&kiosk, "[data-testid=ticket-number]", &walk_in).await;
    check_a11y(&kiosk, "ticket status").await;
    kiosk.screenshot("ticket-1-waiting").await;

    // Finished; the next call brings the walk-in to the screen.
    desk.click(".desk-actions button.primary").await;
    desk.wait(".desk-call").await;
    desk.click(".desk-call").await;
    wait_text(&desk, ".current-number", &walk_in).await;
    wait_text(&screen, "[data-testid=latest-number]", &walk_in).await;
    // Both are called: the waiting box says the hall is empty instead of showing nothing.
    wait_text(&screen, ".display-waiting li", "Zurzeit wartet niemand.").await;
    screen.screenshot("display-2-next").await;
    let (_, status) = app.get_json(&format!("/api/tickets/status/{ticket_token}")).await;
    assert_eq!(status["state"], "called");

    // A stray "X" (no-show) only asks; Escape keeps the citizen called.
    let page = desk.client.find(Locator::Css("body")).await.unwrap();
    page.send_keys("x").await.unwrap();
    desk.wait("[data-testid=confirm-no-show]").await;
    let focused = desk.client.active_element().await.unwrap().text().await.unwrap();
    assert!(
        focused.starts_with("Abbrechen"),
        "the safe answer has the focus: {focused:?}"
    );
    check_a11y(&desk, "desk, no-show asked").await;
    desk.screenshot("desk-3-no-show-asked").await;
    page.send_keys(&fantoccini::key::Key::Escape.to_string()).await.unwrap();
    eventually("the question closed by Escape", Duration::from_secs(5), async || {
        let open = desk
            .client
            .find(Locator::Css("[data-testid=confirm-no-show]"))
            .await
            .is_ok();
        when("still open", !open)
    })
    .await;
    let (_, status) = app.get_json(&format!("/api/tickets/status/{ticket_token}")).await;
    assert_eq!(status["state"], "called", "nobody was marked absent");

    // Marked absent after all, then taken back by keyboard ("U"): a mis-tap costs nothing.
    page.send_keys("x").await.unwrap();
    desk.click("[data-testid=confirm-no-show] .danger").await;
    desk.wait("[data-testid=undo-no-show]").await;
    // The focus moves once the counter's state is read again, a moment after the undo offer.
    eventually("focus on the next step", Duration::from_secs(5), async || {
        let focused = desk.client.active_element().await.unwrap().text().await.unwrap();
        let next = focused.starts_with("Nächste");
        when(focused, next)
    })
    .await;
    check_a11y(&desk, "desk, no-show with undo").await;
    desk.screenshot("desk-3b-no-show-undo").await;
    page.send_keys("u").await.unwrap();
    wait_text(
        &desk,
        "[data-testid=desk-message]",
        &format!("{walk_in}: wieder aufgerufen (nicht erschienen zurückgenommen)"),
    )
    .await;
    wait_text(&desk, ".current-number", &walk_in).await;
    let (_, status) = app.get_json(&format!("/api/tickets/status/{ticket_token}")).await;
    assert_eq!(status["state"], "called", "the no-show is taken back");

    // Set aside ("P"): the hall screen stops showing the number as called.
    page.send_keys("p").await.unwrap();
    wait_text(&screen, "[data-testid=latest-number]", "T-001").await;
    let shown = screen
        .client
        .find(Locator::Css(".display-calls"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !shown.contains(&walk_in),
        "a parked number is not shown as called: {shown}"
    );
    // The clerk calls that ticket again on purpose, out of the line's order.
    desk.click(&format!("[data-testid=call-{walk_in}]")).await;
    wait_text(&desk, ".current-number", &walk_in).await;
    wait_text(&screen, "[data-testid=latest-number]", &walk_in).await;
    let focused = desk.client.active_element().await.unwrap().text().await.unwrap();
    assert!(
        focused.starts_with("Erneut"),
        "focus on the called ticket's first action: {focused:?}"
    );

    // The walk-in lacks a document: the clerk sends them away, and it is counted.
    desk.click("[data-testid=sent-away]").await;
    wait_text(
        &desk,
        "[data-testid=desk-message]",
        &format!("{walk_in}: ohne Unterlagen weggeschickt, gezählt"),
    )
    .await;
    desk.screenshot("desk-4-sent-away").await;
    let (_, status) = app.get_json(&format!("/api/tickets/status/{ticket_token}")).await;
    assert_eq!(status["state"], "finished");

    desk.close().await;
    kiosk.close().await;
    screen.close().await;
    app.stop().await;
}

/// Where every button of the kiosk is: (label, top, bottom) in CSS pixels.
async fn kiosk_buttons(kiosk: &Browser) -> Vec<(String, f64, f64)> {
    let rects = kiosk
        .client
        .execute(
            "return [...document.querySelectorAll('.kiosk button')].map(b => { \
               const r = b.getBoundingClientRect(); return [b.innerText, r.top, r.bottom]; })",
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(rects).unwrap()
}

/// A portrait kiosk (1080×1920): every control in the lower two thirds, in reach from a
/// wheelchair, and "Zurück" well apart from the service buttons.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_portrait_kiosk_keeps_its_controls_within_reach() {
    let Some(app) = spawn_app(TestDb::sqlite().await).start_with_ui().await else {
        return;
    };
    let token = add_device(&app.db.url, "buergerbuero", "kiosk");
    let Some(kiosk) = Browser::launch(1080, 1920).await else {
        return;
    };
    kiosk
        .client
        .goto(&format!("{}/kiosk/buergerbuero?token={token}", app.url))
        .await
        .unwrap();
    kiosk.wait(".kiosk-choices").await;
    let height: f64 =
        serde_json::from_value(kiosk.client.execute("return window.innerHeight", vec![]).await.unwrap()).unwrap();
    kiosk.screenshot("kiosk-portrait-1-start").await;
    for (label, top, _) in kiosk_buttons(&kiosk).await {
        assert!(top >= height / 3.0, "{label:?} starts at {top} of {height}");
    }
    kiosk.click(".kiosk-choices .kiosk-button:nth-of-type(2)").await;
    kiosk.wait(".kiosk-services .kiosk-button").await;
    kiosk.screenshot("kiosk-portrait-2-services").await;
    let buttons = kiosk_buttons(&kiosk).await;
    for (label, top, _) in &buttons {
        assert!(*top >= height / 3.0, "{label:?} starts at {top} of {height}");
    }
    let (back, back_top, _) = buttons.last().unwrap().clone();
    let services_end = buttons[..buttons.len() - 1].iter().map(|b| b.2).fold(0.0, f64::max);
    assert!(
        back_top - services_end >= 44.0,
        "{back:?} is {} px below the last service button",
        back_top - services_end
    );
    // The check-in keypad: in reach, keys large and apart.
    kiosk.click(".kiosk-secondary").await;
    kiosk.click(".kiosk-choices .kiosk-button:first-child").await;
    kiosk.wait(".kiosk-keypad").await;
    kiosk.screenshot("kiosk-portrait-3-keypad").await;
    for (label, top, _) in kiosk_buttons(&kiosk).await {
        assert!(top >= height / 3.0, "{label:?} starts at {top} of {height}");
    }
    let keys: Vec<(f64, f64, f64, f64)> = serde_json::from_value(
        kiosk
            .client
            .execute(
                "return [...document.querySelectorAll('.kiosk-key')].map(b => { \
                   const r = b.getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })",
                vec![],
            )
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(keys.len(), 11, "ten digits and delete");
    for (i, a) in keys.iter().enumerate() {
        assert!(a.2 >= 44.0 && a.3 >= 44.0, "key {i} is {}×{} px", a.2, a.3);
        for b in &keys[i + 1..] {
            let apart_x = (b.0 - (a.0 + a.2)).max(a.0 - (b.0 + b.2));
            let apart_y = (b.1 - (a.1 + a.3)).max(a.1 - (b.1 + b.3));
            assert!(apart_x.max(apart_y) >= 8.0, "keys {a:?} and {b:?} touch");
        }
    }
    kiosk.close().await;
    app.stop().await;
}

/// A clerk's morning with the keyboard alone: open the counter, call, start, finish, mark a
/// no-show (asked first) and take it back, park, call one chosen ticket. After each step the
/// focus is on the next step's first control.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clerks_morning_by_keyboard() {
    use fantoccini::key::Key;
    use schalter_tests::keyboard::{focus_is_on, press, tab_to};

    let Some(app) = spawn_app(TestDb::sqlite().await).start_with_ui().await else {
        return;
    };
    let kiosk = add_device(&app.db.url, "buergerbuero", "kiosk");
    add_user(&app.db.url, "anna", "desk", "counter-one-2026");
    let mut numbers = vec![];
    let bearer = format!("Bearer {kiosk}");
    for _ in 0..3 {
        let (status, ticket) = app
            .post_as(
                "/api/locations/buergerbuero/tickets",
                ("authorization", &bearer),
                &serde_json::json!({"service": "personalausweis"}),
            )
            .await;
        assert_eq!(status, 201);
        numbers.push(ticket["number"].as_str().unwrap().to_owned());
    }
    let Some(desk) = Browser::launch(1280, 900).await else {
        return;
    };
    let c = &desk.client;
    // The workstation remembers its office and counter from yesterday.
    c.goto(&format!("{}/desk", app.url)).await.unwrap();
    c.execute(
        "localStorage.setItem('schalter.desk.location', 'buergerbuero'); \
         localStorage.setItem('schalter.desk.counter', 'buergerbuero-1');",
        vec![],
    )
    .await
    .unwrap();
    c.refresh().await.unwrap();
    desk.wait("#username").await.send_keys("anna").await.unwrap();
    press(c, Key::Tab).await;
    c.active_element()
        .await
        .unwrap()
        .send_keys("counter-one-2026")
        .await
        .unwrap();
    press(c, Key::Enter).await;
    desk.wait(".desk-counter button.primary").await;
    tab_to(c, ".desk-counter button.primary").await;
    press(c, Key::Enter).await;
    focus_is_on(c, ".desk-call").await;

    // N calls, S starts, F finishes; the focus follows.
    press(c, Key::Enter).await;
    wait_text(&desk, ".current-number", &numbers[0]).await;
    focus_is_on(c, ".desk-actions button").await;
    c.active_element().await.unwrap().send_keys("s").await.unwrap();
    wait_text(
        &desk,
        "[data-testid=desk-message]",
        &format!("{}: in Bedienung", numbers[0]),
    )
    .await;
    c.active_element().await.unwrap().send_keys("f").await.unwrap();
    focus_is_on(c, ".desk-call").await;

    // X asks; the safe answer has the focus; Shift+Tab reaches "yes".
    c.active_element().await.unwrap().send_keys("n").await.unwrap();
    wait_text(&desk, ".current-number", &numbers[1]).await;
    c.active_element().await.unwrap().send_keys("x").await.unwrap();
    focus_is_on(c, "[data-testid=confirm-no-show] button:not(.danger)").await;
    c.active_element()
        .await
        .unwrap()
        .send_keys(&format!("{}{}", Key::Shift, Key::Tab))
        .await
        .unwrap();
    focus_is_on(c, "[data-testid=confirm-no-show] button.danger").await;
    press(c, Key::Enter).await;
    desk.wait("[data-testid=undo-no-show]").await;
    // U takes it back: called again at this counter.
    c.active_element().await.unwrap().send_keys("u").await.unwrap();
    wait_text(&desk, ".current-number", &numbers[1]).await;
    // P parks it; then the third ticket is called out of order from the line.
    c.active_element().await.unwrap().send_keys("p").await.unwrap();
    desk.wait(&format!("[data-testid=call-{}]", numbers[2])).await;
    tab_to(c, &format!("[data-testid=call-{}]", numbers[2])).await;
    press(c, Key::Enter).await;
    wait_text(&desk, ".current-number", &numbers[2]).await;
    focus_is_on(c, ".desk-actions button").await;
    desk.screenshot("desk-5-keyboard-morning").await;

    let cookie = app.sign_in("anna", "counter-one-2026").await;
    let line = app
        .staff_ok(&cookie, reqwest::Method::GET, "/api/locations/buergerbuero/queue")
        .await;
    assert_eq!(
        (line["finished"].as_u64(), line["no_shows"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(line["waiting"][0]["number"], numbers[1].as_str());
    assert_eq!(line["waiting"][0]["parked"], true);
    desk.close().await;
    app.stop().await;
}
