//! Headless Chromium through chromedriver (fantoccini). One chromedriver per browser.

use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder};
use tokio::process::{Child, Command};

pub struct Browser {
    pub client: Client,
    _driver: Child,
    _profile: tempfile::TempDir,
}

fn find(names: &[&str], env: &str) -> Option<String> {
    if let Ok(p) = std::env::var(env) {
        return std::path::Path::new(&p).exists().then_some(p);
    }
    let path = std::env::var("PATH").unwrap_or_default();
    names.iter().find_map(|n| {
        std::env::split_paths(&path)
            .map(|d| d.join(n))
            .find(|p| p.exists())
            .map(|p| p.display().to_string())
    })
}

impl Browser {
    /// `None` (after printing why) when Chromium or chromedriver is missing outside CI.
    pub async fn launch(width: u32, height: u32) -> Option<Browser> {
        let Some(chromium) = find(&["chromium", "chromium-browser", "google-chrome"], "CHROME_BIN") else {
            crate::missing("Chromium", "no chromium on PATH and CHROME_BIN unset");
            return None;
        };
        let Some(driver) = find(&["chromedriver"], "CHROMEDRIVER") else {
            crate::missing("chromedriver", "no chromedriver on PATH and CHROMEDRIVER unset");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(driver)
            .arg(format!("--port={port}"))
            // The office's clock, as on a desk PC in the town hall: pages that go by the
            // browser's date (the desk's day list) agree with the server's local day.
            .env("TZ", "Europe/Berlin")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start chromedriver");
        let profile = tempfile::tempdir().unwrap();
        let caps = serde_json::json!({
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", format!("--window-size={width},{height}"),
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }
        });
        let mut caps: serde_json::Map<String, serde_json::Value> = caps.as_object().unwrap().clone();
        if width < 500 {
            // Desktop windows cannot be narrower than ~500 px; emulate a phone instead.
            caps["goog:chromeOptions"]["mobileEmulation"] =
                serde_json::json!({ "deviceMetrics": { "width": width, "height": height, "pixelRatio": 1.0 } });
        }
        let mut last_err = None;
        for _ in 0..50 {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(client) => {
                    return Some(Browser {
                        client,
                        _driver: driver,
                        _profile: profile,
                    })
                }
                Err(e) => {
                    last_err = Some(e);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        panic!("chromedriver did not accept a session: {last_err:?}");
    }

    /// The element matching `css`, waiting up to 20 s for the app to render it.
    pub async fn wait(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(fantoccini::Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css} did not appear: {e}"))
    }

    /// Waits until the element matching `css` reads `expected`. The app may replace the element
    /// when an answer arrives, so each look finds it again.
    pub async fn wait_for_text(&self, css: &str, expected: &str) {
        crate::eventually(
            &format!("{css} reading {expected:?}"),
            Duration::from_secs(10),
            async || {
                let text = self.wait(css).await.text().await.unwrap_or_default();
                let done = text == expected;
                crate::when(text, done)
            },
        )
        .await;
    }

    /// Sets a control's value as a person choosing in it would, firing `event` (`input` for date
    /// and time inputs, `change` for selects), whatever the browser's locale shows.
    pub async fn set_value(&self, css: &str, value: &str, event: &str) {
        self.wait(css).await;
        self.client
            .execute(
                "const el = document.querySelector(arguments[0]); el.value = arguments[1];
                 el.dispatchEvent(new Event(arguments[2], { bubbles: true }));",
                vec![
                    serde_json::json!(css),
                    serde_json::json!(value),
                    serde_json::json!(event),
                ],
            )
            .await
            .unwrap_or_else(|e| panic!("set {css}: {e}"));
    }

    /// Scrolls the first element matching `css` into view, for a screenshot of it.
    pub async fn scroll_to(&self, css: &str) {
        self.wait(css).await;
        self.client
            .execute(
                "document.querySelector(arguments[0]).scrollIntoView();",
                vec![serde_json::json!(css)],
            )
            .await
            .unwrap_or_else(|e| panic!("scroll to {css}: {e}"));
    }

    /// Opens `url` (a staff page) and signs in on its form.
    pub async fn sign_in_at(&self, url: &str, username: &str, password: &str) {
        self.client.goto(url).await.unwrap();
        self.wait("#username").await.send_keys(username).await.unwrap();
        self.wait("#password").await.send_keys(password).await.unwrap();
        self.click("form.login button[type=submit]").await;
    }

    /// Fails the test with axe-core's serious and critical findings in the page's `state`.
    pub async fn assert_accessible(&self, state: &str) {
        if let Some(violations) = self.accessibility_violations().await {
            assert!(violations.is_empty(), "{state}: {violations:#?}");
        }
    }

    pub async fn click(&self, css: &str) {
        self.wait(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Saves a PNG under `target/screenshots/` for a person to look at.
    pub async fn screenshot(&self, name: &str) -> std::path::PathBuf {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    /// Prints the page (see [`Browser::printed_pages`]), asserts that every printed page
    /// carries more than `words` words, and returns the number of pages and the whole text
    /// without whitespace (kerning splits words in extracted text).
    pub async fn printed_text(&self, name: &str, words: usize) -> (usize, String) {
        let printed = self.printed_pages(name).await;
        assert!(!printed.is_empty(), "{name}: nothing printed");
        for (i, page) in printed.iter().enumerate() {
            assert!(
                page.split_whitespace().count() > words,
                "{name}: printed page {} is blank: {page:?}",
                i + 1
            );
        }
        (printed.len(), printed.concat().split_whitespace().collect())
    }

    /// Prints the page as Chromium's print dialog would (A4, print CSS), keeps the PDF under
    /// `target/screenshots/` for a person to open, and returns the text of each printed page.
    pub async fn printed_pages(&self, name: &str) -> Vec<String> {
        let pdf = self
            .client
            .print(fantoccini::wd::PrintConfiguration::default())
            .await
            .expect("printed");
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.pdf")), &pdf).unwrap();
        pdf_extract::extract_text_from_mem_by_pages(&pdf).expect("the PDF's text")
    }

    /// Runs axe-core with every rule it enables by default (WCAG 2.x A and AA, best practices)
    /// and the AAA enhanced contrast (7:1) on the current page and returns every violation,
    /// whatever its impact, as "rule: help (n nodes)". Missing axe-core is a failure in CI.
    pub async fn accessibility_violations(&self) -> Option<Vec<String>> {
        let path = std::env::var("AXE_JS").unwrap_or_else(|_| {
            format!(
                "{}/.cache/schalter-tools/npm/node_modules/axe-core/axe.min.js",
                std::env::var("HOME").unwrap_or_default()
            )
        });
        let Ok(source) = std::fs::read_to_string(&path) else {
            crate::missing(
                "axe-core",
                &format!("{path} not found; scripts/setup --for-tests installs it"),
            );
            return None;
        };
        self.client.execute(&source, vec![]).await.expect("inject axe-core");
        let result = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { rules: { 'color-contrast-enhanced': { enabled: true } } })
                    .then(r => done(r.violations
                        .map(v => v.id + ': ' + v.help + ' (' + v.nodes.length + ' nodes: ' + v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(', ') + ')')))
                    .catch(e => done(['axe failed: ' + e]));",
                vec![],
            )
            .await
            .expect("run axe-core");
        Some(serde_json::from_value(result).expect("a list of strings"))
    }

    /// The page's layout shift so far: every layout-shift entry Chromium recorded since it
    /// loaded, except shifts right after input (at least Lighthouse's CLS, which takes the worst
    /// window of them).
    pub async fn layout_shift(&self) -> f64 {
        let sum = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 let sum = 0;
                 const po = new PerformanceObserver(list => {
                     for (const e of list.getEntries()) if (!e.hadRecentInput) sum += e.value;
                 });
                 po.observe({ type: 'layout-shift', buffered: true });
                 setTimeout(() => { po.disconnect(); done(sum); }, 300);",
                vec![],
            )
            .await
            .expect("layout shift measured");
        sum.as_f64().expect("a number")
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}
