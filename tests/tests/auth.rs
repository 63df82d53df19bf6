//! Staff sign-in and device tokens, on both backends; accounts and devices are made with the
//! real `schalter` CLI, as an operator would.

use schalter_tests::app::{add_device, add_user, cli};
use schalter_tests::{on_both_backends, spawn_app, TestApp, TestDb};
use serde_json::{json, Value};

on_both_backends!(
    staff_sign_in_and_out,
    device_tokens_and_revocation,
    admins_deactivate_accounts_and_set_passwords
);

async fn login(app: &TestApp, username: &str, password: &str) -> (u16, Option<String>, Value) {
    let r = app
        .client
        .post(format!("{}/api/auth/login", app.url))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let cookie = r.headers().get("set-cookie").map(|c| c.to_str().unwrap().to_owned());
    (status, cookie, r.json().await.unwrap_or(Value::Null))
}

async fn me(app: &TestApp, cookie: Option<&str>) -> (u16, Value) {
    let mut r = app.client.get(format!("{}/api/auth/me", app.url));
    if let Some(c) = cookie {
        r = r.header("cookie", c);
    }
    schalter_tests::app::status_and_json(r).await
}

async fn staff_sign_in_and_out(db: TestDb) {
    let app = spawn_app(db).start().await;
    add_user(&app.db.url, "clerk", "desk", "counter-one-2026");

    for (user, password) in [
        ("clerk", "wrong password"),
        ("nobody", "counter-one-2026"),
        ("clerk", ""),
    ] {
        let (status, cookie, err) = login(&app, user, password).await;
        assert_eq!(
            (status, err["error"].as_str()),
            (401, Some("invalid_credentials")),
            "{user}"
        );
        assert!(cookie.is_none());
    }
    let (status, _) = app.post_json("/api/auth/login", &json!({"username": "clerk"})).await;
    assert_eq!(status, 422);

    let (status, cookie, who) = login(&app, "clerk", "counter-one-2026").await;
    assert_eq!(status, 200);
    assert_eq!(who, json!({"username": "clerk", "role": "desk"}));
    let set_cookie = cookie.unwrap();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"),
        "{set_cookie}"
    );
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    assert_eq!(
        me(&app, Some(&cookie)).await,
        (200, json!({"username": "clerk", "role": "desk"}))
    );
    let (status, err) = me(&app, None).await;
    assert_eq!((status, err["error"].as_str()), (401, Some("not_signed_in")));
    assert_eq!(me(&app, Some("schalter_session=forged")).await.0, 401);

    // The sign-in is on the audit trail with its actor.
    let sessions: Vec<_> = app
        .store()
        .read_all(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.stream.starts_with("session-"))
        .collect();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].metadata.actor.as_deref(), Some("staff:clerk"));
    assert!(
        !sessions[0]
            .stream
            .contains(cookie.trim_start_matches("schalter_session=")),
        "token stored only hashed"
    );

    let r = app
        .client
        .post(format!("{}/api/auth/logout", app.url))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(me(&app, Some(&cookie)).await.0, 401, "signed out");
    app.stop().await;
}

async fn device_tokens_and_revocation(db: TestDb) {
    let app = spawn_app(db).start().await;
    let url = app.db.url.clone();
    let kiosk = add_device(&url, "buergerbuero", "kiosk");
    let display = add_device(&url, "kfz-zulassung", "display");
    let device_me = |header: Option<String>, query: Option<String>| {
        let mut r = app.client.get(format!(
            "{}/api/devices/me{}",
            app.url,
            query.map(|t| format!("?token={t}")).unwrap_or_default()
        ));
        if let Some(h) = header {
            r = r.header("authorization", h);
        }
        async move {
            let r = r.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (status, who) = device_me(Some(format!("Bearer {kiosk}")), None).await;
    assert_eq!(
        (status, who["role"].as_str(), who["location"].as_str()),
        (200, Some("kiosk"), Some("buergerbuero"))
    );
    let (status, who) = device_me(None, Some(display.clone())).await;
    assert_eq!(
        (status, who["role"].as_str()),
        (200, Some("display")),
        "EventSource-style ?token="
    );
    let (id, secret) = kiosk.split_once('.').unwrap();
    let forged = format!("{id}.{}", secret.chars().rev().collect::<String>());
    assert_eq!(device_me(Some(format!("Bearer {forged}")), None).await.0, 401);
    let (status, err) = device_me(None, None).await;
    assert_eq!((status, err["error"].as_str()), (401, Some("device_token_required")));
    // A device token is not a staff session.
    let r = app
        .client
        .get(format!("{}/api/auth/me", app.url))
        .header("authorization", format!("Bearer {display}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    let out = cli(&["device", "revoke", "--database-url", &url, "--id", id]);
    assert!(out.contains("revoked"), "{out}");
    let (status, err) = device_me(Some(format!("Bearer {kiosk}")), None).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (401, Some("invalid_token")),
        "a revoked token stops working"
    );
    assert_eq!(
        device_me(None, Some(display)).await.0,
        200,
        "other devices are unaffected"
    );
    app.stop().await;
}

/// An admin in the browser's API: a new account, a new password, a deactivation that ends the
/// person's session at once and refuses their sign-in, and a reactivation; each in the audit.
async fn admins_deactivate_accounts_and_set_passwords(db: TestDb) {
    let app = spawn_app(db).start().await;
    add_user(&app.db.url, "root", "admin", "administrator-2026");
    let root = app.sign_in("root", "administrator-2026").await;
    let body = json!({"username": "berta", "role": "desk", "password": "first-password-1"});
    let (status, answer) = app.post_as("/api/admin/users", ("cookie", &root), &body).await;
    assert_eq!(status, 201, "{answer}");
    let (status, berta, _) = login(&app, "berta", "first-password-1").await;
    assert_eq!(status, 200);
    let berta = berta.unwrap();

    let password = |p: &str| json!({ "password": p });
    let (status, answer) = app
        .post_as("/api/admin/users/berta/password", ("cookie", &root), &password("short"))
        .await;
    assert_eq!((status, answer["field"].as_str()), (422, Some("password")), "{answer}");
    let (status, _) = app
        .post_as(
            "/api/admin/users/berta/password",
            ("cookie", &root),
            &password("second-password-2"),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        login(&app, "berta", "first-password-1").await.0,
        401,
        "the old password is gone"
    );
    assert_eq!(login(&app, "berta", "second-password-2").await.0, 200);

    assert_eq!(me(&app, Some(&berta)).await.0, 200);
    let (status, _) = app
        .post_as("/api/admin/users/berta/deactivate", ("cookie", &root), &json!(null))
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        me(&app, Some(&berta)).await.0,
        401,
        "her session ended with the account"
    );
    assert_eq!(login(&app, "berta", "second-password-2").await.0, 401);
    let (_, users) = app.get_json_as("/api/admin/users", &root).await;
    let listed = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "berta")
        .cloned();
    assert_eq!(listed.unwrap()["active"], false);

    let (status, answer) = app
        .post_as("/api/admin/users/root/deactivate", ("cookie", &root), &json!(null))
        .await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (409, Some("own_account")),
        "{answer}"
    );
    let (status, _) = app
        .post_as("/api/admin/users/nobody/deactivate", ("cookie", &root), &json!(null))
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .post_as("/api/admin/users/berta/reactivate", ("cookie", &root), &json!(null))
        .await;
    assert_eq!(status, 204);
    assert_eq!(login(&app, "berta", "second-password-2").await.0, 200);

    let (_, audit) = app
        .get_json_as("/api/admin/audit?area=accounts&actor=staff:root", &root)
        .await;
    let after: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["after"].as_str().unwrap())
        .collect();
    assert_eq!(
        after,
        ["active", "deactivated", "new password set", "role desk"],
        "{audit:#}"
    );
    assert!(!audit.to_string().contains("argon2"), "no hash in the audit");
    app.stop().await;
}
