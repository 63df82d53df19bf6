//! Driving a page with the keyboard alone, as a keyboard or screen-reader user does, and
//! asserting where the focus lands.

use std::time::Duration;

use fantoccini::Client;
use serde_json::Value;

/// Whether the focused element matches `css`.
async fn focused(c: &Client, css: &str) -> bool {
    let matches = c
        .execute(
            "return !!document.activeElement && document.activeElement.matches(arguments[0]);",
            vec![css.into()],
        )
        .await
        .unwrap();
    matches == Value::Bool(true)
}

/// Presses Tab until the focused element matches `css`, proving it is reachable by keyboard.
pub async fn tab_to(c: &Client, css: &str) {
    for _ in 0..250 {
        if focused(c, css).await {
            return;
        }
        c.active_element()
            .await
            .unwrap()
            .send_keys(&fantoccini::key::Key::Tab.to_string())
            .await
            .unwrap();
    }
    panic!("{css} cannot be reached with the Tab key");
}

pub async fn press(c: &Client, key: fantoccini::key::Key) {
    c.active_element()
        .await
        .unwrap()
        .send_keys(&key.to_string())
        .await
        .unwrap();
}

/// Waits (3 s at most) until the focused element matches `css`: after each step the focus
/// lands where the next one starts.
pub async fn focus_is_on(c: &Client, css: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    loop {
        if focused(c, css).await {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            let html = c
                .execute(
                    "return document.activeElement ? document.activeElement.outerHTML.slice(0, 200) : 'none';",
                    vec![],
                )
                .await
                .unwrap();
            panic!("the focus is not on {css} but on {html}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn focused_attr(c: &Client, name: &str) -> Option<String> {
    c.active_element().await.unwrap().attr(name).await.unwrap()
}
