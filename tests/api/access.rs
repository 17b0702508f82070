//! What a session may reach: the forced change of a one-time password (API 403, pages sent to
//! the form), the rules for a new password, pages that refuse or do not exist answered as pages,
//! and navigation that offers each role only what it may use.

use crate::helpers::*;
use serde_json::{Value, json};

/// A member whose password an admin has just reset: logged in with the one-time password.
async fn on_one_time_password(app: &TestApp) -> (Session, String) {
    let admin = app.session(ADMIN).await;
    let id: String = sqlx::query_scalar("SELECT id FROM members WHERE staff_no = $1")
        .bind(MEMBER)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    let res = admin
        .post(
            app,
            &format!("/api/admin/members/{id}/password-reset"),
            json!({}),
        )
        .await;
    let otp = res.json::<Value>().await.unwrap()["one_time_password"]
        .as_str()
        .unwrap()
        .to_string();
    (app.session_with(MEMBER, &otp).await, otp)
}

#[tokio::test]
async fn a_one_time_password_must_be_changed_before_anything_else() {
    let app = spawn_app().await;
    let (s, otp) = on_one_time_password(&app).await;

    // The API refuses everything but who-am-I, the change and logging out.
    assert_eq!(s.get(&app, "/api/me").await.status(), 200);
    for path in ["/api/drills", "/api/me/home", "/api/tasks", "/api/notebook"] {
        let res = s.get(&app, path).await;
        assert_eq!(res.status(), 403, "{path}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "must_change_password", "{path}");
    }
    let res = s
        .post(&app, "/api/drills", json!({"mode": "topics", "count": 5}))
        .await;
    assert_eq!(res.status(), 403);
    // Pages send the member to the form, and back afterwards.
    let res = s.get(&app, "/drill?x=1").await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers()["location"].to_str().unwrap(),
        "/account?next=/drill%3Fx%3D1"
    );
    assert_eq!(s.get(&app, "/").await.status(), 303);
    let page = s.get(&app, "/account").await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("must-change"));

    // The new password's rules, each with its reason.
    for (new, reason) in [
        ("short-1", "10"),
        ("my-d102-password", "工号"),
        ("abcdefghijklmn", "两类"),
        ("Password123", "常见"),
    ] {
        let res = s
            .post(
                &app,
                "/api/account/password",
                json!({"old_password": otp, "new_password": new}),
            )
            .await;
        assert_eq!(res.status(), 422, "{new}");
        let body: Value = res.json().await.unwrap();
        assert!(
            body["message"].as_str().unwrap().contains(reason),
            "{new}: {body}"
        );
    }
    let res = s
        .post(
            &app,
            "/api/account/password",
            json!({"old_password": otp, "new_password": "Phone-chosen-7"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(s.get(&app, "/api/drills").await.status(), 200);
    assert_eq!(s.get(&app, "/drill").await.status(), 200);
}

#[tokio::test]
async fn pages_refused_or_missing_are_pages_and_the_api_stays_json() {
    let app = spawn_app().await;
    let member = app.session(MEMBER).await;
    for (path, status, words) in [
        ("/host", 403, "没有权限"),
        ("/questions/pw-0001", 403, "没有权限"),
        ("/admin", 403, "没有权限"),
        ("/admin/items", 403, "没有权限"),
        ("/no-such-page", 404, "页面不存在"),
    ] {
        let res = member.get(&app, path).await;
        assert_eq!(res.status(), status, "{path}");
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{path}"
        );
        let html = res.text().await.unwrap();
        assert!(
            html.contains(words) && html.contains("href=\"/\""),
            "{path}: {html}"
        );
    }
    let res = member.get(&app, "/api/no-such-thing").await;
    assert_eq!(res.status(), 404);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "not_found");
    let res = member.get(&app, "/api/sections").await;
    assert_eq!(res.status(), 403);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "forbidden");
}

#[tokio::test]
async fn navigation_offers_each_role_what_it_may_use() {
    let app = spawn_app().await;
    let links = ["/drill", "/host", "/section", "/admin"];
    for (who, expected) in [
        (MEMBER, [true, false, false, false]),
        (HOST, [true, true, false, false]),
        (HEAD, [true, false, true, false]),
        ("d100", [true, false, true, false]),
        (ADMIN, [true, true, true, true]),
    ] {
        let s = app.session(who).await;
        let html = s.get(&app, "/me").await.text().await.unwrap();
        let nav = &html[html.find("<header").unwrap()..html.find("</header>").unwrap()];
        for (link, shown) in links.iter().zip(expected) {
            assert_eq!(
                nav.contains(&format!("href=\"{link}\"")),
                shown,
                "{who}: {link} in {nav}"
            );
        }
    }
    // Visitors see no member links at all.
    let html = app.get_text("/").await;
    let nav = &html[html.find("<header").unwrap()..html.find("</header>").unwrap()];
    assert!(!nav.contains("href=\"/drill\"") && nav.contains("href=\"/login\""));
}

#[tokio::test]
async fn a_pacesetter_prints_a_certificate_with_the_agency_s_name() {
    let app = spawn_app().await;
    let admin = app.session(ADMIN).await;
    let member = app.session(MEMBER).await;
    // The agency's name is a setting of the admin's.
    assert_eq!(
        member
            .post(
                &app,
                "/api/admin/settings",
                json!({"agency_name": "某某局"})
            )
            .await
            .status(),
        403
    );
    assert_eq!(
        admin
            .post(&app, "/api/admin/settings", json!({"agency_name": " "}))
            .await
            .status(),
        422
    );
    let res = admin
        .post(
            &app,
            "/api/admin/settings",
            json!({"agency_name": "国家信访局机关党委"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        admin.get_json(&app, "/api/admin/settings").await["agency_name"],
        "国家信访局机关党委"
    );

    let (me, by): (String, String) = (
        sqlx::query_scalar("SELECT id FROM members WHERE staff_no = $1")
            .bind(MEMBER)
            .fetch_one(&app.db.pool)
            .await
            .unwrap(),
        sqlx::query_scalar("SELECT id FROM members WHERE staff_no = $1")
            .bind(ADMIN)
            .fetch_one(&app.db.pool)
            .await
            .unwrap(),
    );
    sqlx::query("INSERT INTO competitions (id, title, pin, status, settings, seed, created_by, created_at) VALUES ('c9', '第一季度业务比武', '654321', 'finished', '{}', 1, $1, 0)")
        .bind(&by)
        .execute(&app.db.pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO awards (id, member_id, title, competition_id, standing_rank, standing_points, confirmed_by, confirmed_at) VALUES ('0123456789abcdef0123456789abcdef', $1, '业务标兵', 'c9', 2, 3000, $2, 1764547200000)")
        .bind(&me)
        .bind(&by)
        .execute(&app.db.pool)
        .await
        .unwrap();
    let award = "0123456789abcdef0123456789abcdef";
    let home = member.get_json(&app, "/api/me/home").await;
    assert_eq!(
        home["awards"][0]["certificate"],
        format!("/awards/{award}/certificate")
    );
    assert!(
        app.get_text("/honors")
            .await
            .contains(&format!("/awards/{award}/certificate"))
    );
    let html = member
        .get(&app, &format!("/awards/{award}/certificate"))
        .await
        .text()
        .await
        .unwrap();
    for needle in [
        "荣誉证书",
        "李晓雯",
        "“第一季度业务比武”",
        "第 2 名",
        "业务标兵",
        "国家信访局机关党委",
        "2025年12月1日",
        "证书编号：BW20251201-89ABCDEF",
    ] {
        assert!(html.contains(needle), "{needle} in {html}");
    }
    // A revoked award has no certificate.
    let res = admin
        .post(
            &app,
            &format!("/api/awards/{award}/revoke"),
            json!({"reason": "成绩更正"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = member
        .get(&app, &format!("/awards/{award}/certificate"))
        .await;
    assert_eq!(res.status(), 404);
    assert!(res.text().await.unwrap().contains("已撤销"));
}

#[tokio::test]
async fn a_reset_password_ends_every_session_of_the_member() {
    let app = spawn_app().await;
    let phone = app.session(MEMBER).await;
    assert_eq!(phone.get(&app, "/api/me/home").await.status(), 200);
    let (_fresh, _otp) = on_one_time_password(&app).await;
    // The session opened with the old password is gone at once on this instance.
    assert_eq!(phone.get(&app, "/api/me/home").await.status(), 401);
}

#[tokio::test]
async fn only_known_languages_are_remembered() {
    let app = spawn_app().await;
    let res = client()
        .get(app.url("/?lang=%0d%0aSet-Cookie:%20evil=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()
            .get_all("set-cookie")
            .iter()
            .all(|c| !c.to_str().unwrap_or("").contains("evil"))
    );
    assert!(res.text().await.unwrap().contains("lang=\"zh-CN\""));
    let res = client().get(app.url("/?lang=en")).send().await.unwrap();
    assert!(
        res.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .starts_with("lang=en")
    );
}

#[tokio::test]
async fn after_login_only_paths_of_this_site_are_followed() {
    use crate::browser::{Browser, login};
    let Some(b) = Browser::start(360, 740).await else {
        return;
    };
    let app = spawn_app().await;
    for next in [
        "//evil.example/x",
        "/%5Cevil.example",
        "https://evil.example/",
    ] {
        b.client.delete_all_cookies().await.unwrap();
        login(&b, &app, MEMBER, next).await;
        let url = b.client.current_url().await.unwrap();
        assert_eq!(url.host_str(), Some("127.0.0.1"), "{next} → {url}");
        assert_eq!(url.path(), "/", "{next} → {url}");
    }
    b.client.delete_all_cookies().await.unwrap();
    login(&b, &app, MEMBER, "/notebook").await;
    assert_eq!(b.client.current_url().await.unwrap().path(), "/notebook");
    b.close().await;
}

#[tokio::test]
async fn pages_forbid_inline_script_and_framing() {
    let app = spawn_app().await;
    let res = client().get(app.url("/")).send().await.unwrap();
    let h = res.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"));
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "same-origin");
    // The projector may be framed by this site's own pages.
    let res = client()
        .get(app.url("/screen/anything"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-frame-options"], "SAMEORIGIN");
    // And no page of ours carries an inline script or style attribute.
    let member = app.session(MEMBER).await;
    for path in [
        "/",
        "/drill",
        "/me",
        "/notebook",
        "/section",
        "/honors",
        "/account",
    ] {
        let html = member.get(&app, path).await.text().await.unwrap();
        assert!(!html.contains(" style=\""), "{path}");
        for tag in html.split("<script").skip(1) {
            assert!(
                tag.trim_start().starts_with("type=\"module\" src="),
                "{path}: <script{tag}"
            );
        }
    }
}

#[tokio::test]
async fn a_socket_from_another_site_s_page_is_refused() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let app = spawn_app().await;
    let cookie = app.cookie(MEMBER).await;
    let attempt = |origin: &'static str| {
        let cookie = cookie.clone();
        let url = format!("ws://127.0.0.1:{}/ws", app.port());
        async move {
            let mut req = url.into_client_request().unwrap();
            req.headers_mut().insert("Cookie", cookie.parse().unwrap());
            req.headers_mut().insert("Origin", origin.parse().unwrap());
            tokio_tungstenite::connect_async(req).await
        }
    };
    match attempt("http://evil.example").await {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => assert_eq!(res.status(), 403),
        other => panic!("a foreign origin connected: {:?}", other.map(|_| ())),
    }
    let own: &'static str = Box::leak(format!("http://127.0.0.1:{}", app.port()).into_boxed_str());
    assert!(attempt(own).await.is_ok(), "this site's own pages connect");
}

#[tokio::test]
async fn metrics_can_be_kept_to_an_address_list() {
    let app = spawn_app_edited(Options::default(), |s| {
        s.metrics_allow = Some(vec!["10.9.9.9".parse().unwrap()]);
    })
    .await;
    let base = app.address.clone();
    let res = client()
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let open = spawn_app().await;
    assert_eq!(
        client()
            .get(open.url("/metrics"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

/// The English switch is offered only where the page is translated; every other page stays
/// Chinese (and says so) whatever language was chosen. Every page links the icon, and the
/// browsers' default `/favicon.ico` is served too (no 404 on every load).
#[tokio::test]
async fn english_only_where_translated_and_an_icon_on_every_page() {
    let app = spawn_app().await;
    let s = app.session(MEMBER).await;
    let home = s.get(&app, "/?lang=en").await.text().await.unwrap();
    assert!(
        home.contains("lang=\"en\"") && home.contains("?lang=zh-CN"),
        "{home}"
    );
    // The choice is remembered in the cookie, yet these pages stay Chinese without a switch.
    for path in ["/drill", "/notebook", "/me", "/honors", "/play"] {
        let page = s.get(&app, path).await.text().await.unwrap();
        assert!(page.contains("<html lang=\"zh-CN\">"), "{path}");
        assert!(
            !page.contains("?lang="),
            "{path} offers a switch it does not honour"
        );
        assert!(page.contains("/static/favicon.svg"), "{path} has no icon");
    }
    let host = app.session(HOST).await;
    let page = host.get(&app, "/host?lang=en").await.text().await.unwrap();
    assert!(page.contains("<html lang=\"zh-CN\">") && !page.contains("?lang="));
    assert!(
        page.contains("我的") || page.contains("岗位练兵"),
        "Chinese navigation"
    );
    let account = s.get(&app, "/account").await.text().await.unwrap();
    assert!(account.contains("lang=\"en\"") && account.contains("?lang=zh-CN"));
    for icon in ["/favicon.ico", "/static/favicon.svg"] {
        let res = client().get(app.url(icon)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{icon}");
        assert_eq!(res.headers()["content-type"], "image/svg+xml");
    }
}
