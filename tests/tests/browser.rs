//! Journeys in real headless Chromium against the real server.

use fantoccini::Locator;
use schalter_tests::app::spawn_app;
use schalter_tests::browser::Browser;
use schalter_tests::TestDb;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_page_renders_the_service_catalogue_from_the_api() {
    let Some(app) = spawn_app(TestDb::sqlite().await).start_with_ui().await else {
        return;
    };
    for (width, height) in [(360, 800), (1280, 900)] {
        let Some(browser) = Browser::launch(width, height).await else {
            return;
        };
        let c = &browser.client;
        c.goto(&app.url).await.unwrap();
        browser.wait("[data-testid=services] li.service").await;
        let cards = c.find_all(Locator::Css("li.service")).await.unwrap();
        assert_eq!(cards.len(), 10, "every service from /api/services is shown");
        // The footer must not jump down when the services arrive (it did: CLS 0.14).
        let shift = browser.layout_shift().await;
        assert!(shift < 0.1, "layout shift {shift:.3} at {width} px");
        let heading = c.find(Locator::Css("h1")).await.unwrap().text().await.unwrap();
        assert_eq!(heading, "Was möchten Sie erledigen?");
        let body = c.find(Locator::Css("main")).await.unwrap().text().await.unwrap();
        assert!(body.contains("Personalausweis beantragen"));
        assert!(body.contains("Kfz-Zulassungsstelle"));
        assert_eq!(
            c.find(Locator::Css("html"))
                .await
                .unwrap()
                .attr("lang")
                .await
                .unwrap()
                .as_deref(),
            Some("de")
        );
        browser.screenshot(&format!("home-de-{width}")).await;

        // English switch: texts change, the choice is the page language too.
        c.find(Locator::Css("button.lang-switch"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let heading = c.find(Locator::Css("h1")).await.unwrap().text().await.unwrap();
        assert_eq!(heading, "What would you like to do?");
        let body = c.find(Locator::Css("main")).await.unwrap().text().await.unwrap();
        assert!(body.contains("Apply for an ID card"), "{body}");
        assert_eq!(
            c.find(Locator::Css("html"))
                .await
                .unwrap()
                .attr("lang")
                .await
                .unwrap()
                .as_deref(),
            Some("en")
        );
        browser.screenshot(&format!("home-en-{width}")).await;
        browser.close().await;
    }
    app.stop().await;
}
