//! Health, metrics, errors as JSON, login, sessions, CSRF and the role matrix.

use crate::helpers::*;
use serde_json::{Value, json};

#[tokio::test]
async fn healthz_reports_backends_and_question_count() {
    let app = spawn_app().await;
    let res = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], "sqlite");
    assert_eq!(body["board"], "memory");
    let shipped = biwu::bank::load(&bank_dir()).questions.len() as i64;
    assert!(shipped > 0);
    assert_eq!(body["questions"].as_i64(), Some(shipped));
    // Which instance answered, and the live rooms it holds in memory (none yet).
    assert_eq!(body["instance"].as_str().map(str::len), Some(12));
    assert_eq!(body["rooms"], 0);
    // Another process is another instance.
    let other = spawn_app().await;
    let theirs: Value = other
        .client
        .get(other.url("/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_ne!(theirs["instance"], body["instance"]);
}

#[tokio::test]
async fn metrics_are_prometheus_text() {
    let app = spawn_app().await;
    app.client.get(app.url("/healthz")).send().await.unwrap();
    let res = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = res.text().await.unwrap();
    assert!(
        text.contains("# TYPE biwu_http_requests_total counter"),
        "{text}"
    );
    assert!(
        text.contains("biwu_http_requests_total{method=\"GET\",status=\"200\"}"),
        "{text}"
    );
    assert!(text.contains("biwu_questions_active"), "{text}");
}

async fn json_error(res: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(res.status().as_u16(), status);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("json")
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    body
}

#[tokio::test]
async fn framework_errors_are_json() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(app.url("/api/login"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    json_error(res, 400, "bad_request").await;
    let res = app
        .client
        .get(app.url("/api/no/such/thing"))
        .send()
        .await
        .unwrap();
    json_error(res, 404, "not_found").await;
    let admin = app.session(ADMIN).await;
    let res = admin.get(&app, "/api/admin/audit?limit=many").await;
    json_error(res, 400, "bad_request").await;
}

const MEMBER_ENDPOINTS: &[&str] = &["/api/me"];
const HOST_ENDPOINTS: &[&str] = &["/api/questions"];
const HEAD_ENDPOINTS: &[&str] = &["/api/sections"];
const ADMIN_ENDPOINTS: &[&str] = &["/api/admin/members", "/api/admin/audit"];

#[tokio::test]
async fn anonymous_gets_401_everywhere_but_public_pages() {
    let app = spawn_app().await;
    for path in MEMBER_ENDPOINTS
        .iter()
        .chain(HOST_ENDPOINTS)
        .chain(HEAD_ENDPOINTS)
        .chain(ADMIN_ENDPOINTS)
    {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        json_error(res, 401, "unauthorized").await;
    }
    let res = app
        .client
        .post(app.url("/api/account/password"))
        .json(&json!({"old_password": "x", "new_password": "yyyyyyyy"}))
        .send()
        .await
        .unwrap();
    json_error(res, 401, "unauthorized").await;
}

#[tokio::test]
async fn role_matrix() {
    let app = spawn_app().await;
    // (endpoints, who may) — an admin may everything.
    let matrix: &[(&[&str], &[&str])] = &[
        (MEMBER_ENDPOINTS, &[MEMBER, HEAD, HOST, ADMIN]),
        (HOST_ENDPOINTS, &[HOST, ADMIN]),
        (HEAD_ENDPOINTS, &[HEAD, ADMIN]),
        (ADMIN_ENDPOINTS, &[ADMIN]),
    ];
    for who in [MEMBER, HEAD, HOST, ADMIN] {
        let s = app.session(who).await;
        for (paths, allowed) in matrix {
            for path in *paths {
                let res = s.get(&app, path).await;
                if allowed.contains(&who) {
                    assert_eq!(res.status(), 200, "{who} {path}");
                } else {
                    json_error(res, 403, "forbidden").await;
                }
            }
        }
    }
}

#[tokio::test]
async fn section_heads_see_only_their_own_sections() {
    let app = spawn_app().await;
    let head = app.session(HEAD).await;
    let mine: Value = head.get(&app, "/api/sections").await.json().await.unwrap();
    assert_eq!(mine.as_array().unwrap().len(), 1);
    let own = mine[0]["id"].as_str().unwrap();
    let members: Value = head
        .get(&app, &format!("/api/sections/{own}/members"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(members.as_array().unwrap().len(), 6);
    assert!(
        members
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["section_id"] == own)
    );

    let admin = app.session(ADMIN).await;
    let all: Value = admin.get(&app, "/api/sections").await.json().await.unwrap();
    assert_eq!(all.as_array().unwrap().len(), 4);
    let other = all
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] != own)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let res = head
        .get(&app, &format!("/api/sections/{other}/members"))
        .await;
    json_error(res, 403, "forbidden").await;
    let member = app.session(MEMBER).await;
    let res = member
        .get(&app, &format!("/api/sections/{own}/members"))
        .await;
    json_error(res, 403, "forbidden").await;
}

#[tokio::test]
async fn questions_for_hosts_carry_no_answers() {
    let app = spawn_app().await;
    let host = app.session(HOST).await;
    let list: Value = host
        .get(&app, "/api/questions?topic=petition-work")
        .await
        .json()
        .await
        .unwrap();
    let list = list.as_array().unwrap();
    assert!(!list.is_empty());
    for q in list {
        assert_eq!(q["topic"], "petition-work");
        assert!(q.get("answer").is_none() && q.get("explanation").is_none());
    }
    let res = host.get(&app, "/api/questions?topic=astrology").await;
    json_error(res, 400, "bad_request").await;
}

#[tokio::test]
async fn session_cookie_is_httponly_and_samesite() {
    let app = spawn_app().await;
    let res = app.login(MEMBER, biwu::demo::DEMO_PASSWORD).await;
    assert_eq!(res.status(), 200);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("biwu_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    let me: Value = app
        .client
        .get(app.url("/api/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["staff_no"], MEMBER);
    assert_eq!(me["role"], "member");
}

#[tokio::test]
async fn state_changes_need_the_csrf_token() {
    let app = spawn_app().await;
    let s = app.session(MEMBER).await;
    let body = json!({"old_password": biwu::demo::DEMO_PASSWORD, "new_password": "a-new-password"});
    let res = s
        .client
        .post(app.url("/api/account/password"))
        .json(&body)
        .send()
        .await
        .unwrap();
    json_error(res, 403, "forbidden").await;
    let res = s
        .client
        .post(app.url("/api/account/password"))
        .header("X-CSRF-Token", "forged")
        .json(&body)
        .send()
        .await
        .unwrap();
    json_error(res, 403, "forbidden").await;
    let res = s.post(&app, "/api/account/password", body).await;
    assert_eq!(res.status(), 200);
}

/// A login attempt as if from `client` behind a proxy (the header is only believed when
/// the server trusts the connecting address).
async fn login_from(
    app: &TestApp,
    client: &str,
    staff_no: &str,
    password: &str,
) -> reqwest::Response {
    app.client
        .post(app.url("/api/login"))
        .header("X-Forwarded-For", format!("203.0.113.9, {client}"))
        .json(&json!({ "staff_no": staff_no, "password": password }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn wrong_passwords_slow_that_account_from_that_address_only() {
    let app = spawn_app().await;
    for _ in 0..4 {
        let res = app.login(ADMIN, "wrong-password").await;
        json_error(res, 422, "unprocessable").await;
    }
    let res = app.login(ADMIN, biwu::demo::DEMO_PASSWORD).await;
    let wait: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&wait), "first wait is short: {wait}");
    json_error(res, 429, "too_many_requests").await;
    // Other accounts from the same address are not held up.
    assert_eq!(
        app.login(HEAD, biwu::demo::DEMO_PASSWORD).await.status(),
        200
    );
    let res = app.login("nobody", "whatever").await;
    json_error(res, 422, "unprocessable").await;
    // Without a trusted proxy, a forged X-Forwarded-For does not make a new address.
    let res = login_from(&app, "10.0.0.2", ADMIN, biwu::demo::DEMO_PASSWORD).await;
    json_error(res, 429, "too_many_requests").await;
    // The wait passes by itself: no lockout.
    tokio::time::sleep(std::time::Duration::from_millis(wait * 1000 + 100)).await;
    assert_eq!(
        app.login(ADMIN, biwu::demo::DEMO_PASSWORD).await.status(),
        200
    );
}

#[tokio::test]
async fn behind_a_trusted_proxy_a_guesser_cannot_lock_the_admin_out() {
    let app = spawn_app_behind_proxy().await;
    for _ in 0..6 {
        let _ = login_from(&app, "10.0.0.1", ADMIN, "wrong-password").await;
    }
    let res = login_from(&app, "10.0.0.1", ADMIN, biwu::demo::DEMO_PASSWORD).await;
    json_error(res, 429, "too_many_requests").await;
    // The admin at their own desk (another client address, same proxy) logs in at once.
    let res = login_from(&app, "10.0.0.7", ADMIN, biwu::demo::DEMO_PASSWORD).await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn an_unknown_staff_number_costs_what_a_wrong_password_costs() {
    let app = spawn_app().await;
    // Warm both paths (the stand-in hash is made on first use).
    let _ = app.login("no-such-number", "wrong-password").await;
    let _ = app.login(MEMBER, "wrong-password").await;
    let mut unknown = Vec::new();
    let mut wrong = Vec::new();
    // Alternate so that both see the same machine load; three of each stay within the free
    // tries of each (account, address) pair.
    for i in 0..3 {
        let t = std::time::Instant::now();
        let _ = app.login(&format!("no-such-{i}"), "wrong-password").await;
        unknown.push(t.elapsed());
        let t = std::time::Instant::now();
        let _ = app.login(HEAD, "wrong-password").await;
        wrong.push(t.elapsed());
    }
    unknown.sort();
    wrong.sort();
    // Before the stand-in hash an unknown number answered in a tenth of the time. A ratio of
    // medians, measured side by side, not an absolute time.
    let ratio = unknown[1].as_secs_f64() / wrong[1].as_secs_f64();
    assert!(
        ratio > 0.4,
        "unknown {unknown:?} vs wrong password {wrong:?}"
    );
}

#[tokio::test]
async fn password_change_rules_and_effect() {
    let app = spawn_app().await;
    let s = app.session(MEMBER).await;
    let res = s
        .post(
            &app,
            "/api/account/password",
            json!({"old_password": "not-it", "new_password": "another-one"}),
        )
        .await;
    json_error(res, 422, "unprocessable").await;
    let res = s
        .post(
            &app,
            "/api/account/password",
            json!({"old_password": biwu::demo::DEMO_PASSWORD, "new_password": "short"}),
        )
        .await;
    json_error(res, 422, "unprocessable").await;
    let other = app.session(MEMBER).await;
    // Used once, so the server remembers it.
    assert_eq!(other.get(&app, "/api/me").await.status(), 200);
    let res = s
        .post(
            &app,
            "/api/account/password",
            json!({"old_password": biwu::demo::DEMO_PASSWORD, "new_password": "brand-new-pass"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        app.login(MEMBER, biwu::demo::DEMO_PASSWORD).await.status(),
        422
    );
    assert_eq!(app.login(MEMBER, "brand-new-pass").await.status(), 200);
    // The other session of the same member was ended; this one lives on.
    assert_eq!(other.get(&app, "/api/me").await.status(), 401);
    assert_eq!(s.get(&app, "/api/me").await.status(), 200);
}

#[tokio::test]
async fn first_start_creates_one_admin_with_a_one_time_password() {
    let (_dir, url) = fresh_sqlite();
    let app = spawn_app_with(Options {
        database_url: Some(url.clone()),
        ..Options::default()
    })
    .await;
    let (staff_no, password) = app.bootstrap_admin.clone().expect("bootstrap admin");
    let s = app.session_with(&staff_no, &password).await;
    assert_eq!(s.member["role"], "admin");
    assert_eq!(s.member["must_change_password"], true);
    let res = s
        .post(
            &app,
            "/api/account/password",
            json!({"old_password": password, "new_password": "Chosen-pw-2026"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let me: Value = s.get(&app, "/api/me").await.json().await.unwrap();
    assert_eq!(me["must_change_password"], false);
    // A second start on the same records prints no new password.
    let again = spawn_app_with(Options {
        database_url: Some(url),
        ..Options::default()
    })
    .await;
    assert!(again.bootstrap_admin.is_none());
    let audit: Value = s.get(&app, "/api/admin/audit").await.json().await.unwrap();
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "admin.bootstrap")
    );
}

#[tokio::test]
async fn admin_resets_a_password_to_a_one_time_one() {
    let app = spawn_app().await;
    let admin = app.session(ADMIN).await;
    let members: Value = admin
        .get(&app, "/api/admin/members")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(members.as_array().unwrap().len(), biwu::demo::size().2);
    let target = members
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["staff_no"] == MEMBER)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let res = admin
        .post(
            &app,
            &format!("/api/admin/members/{target}/password-reset"),
            json!({}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let otp = body["one_time_password"].as_str().unwrap();
    let s = app.session_with(MEMBER, otp).await;
    assert_eq!(s.member["must_change_password"], true);
    let res = admin
        .post(&app, "/api/admin/members/nope/password-reset", json!({}))
        .await;
    json_error(res, 404, "not_found").await;
}

#[tokio::test]
async fn pages_speak_chinese_by_default_and_english_on_request() {
    let app = spawn_app().await;
    let html = app.get_text("/").await;
    assert!(html.contains("lang=\"zh-CN\""));
    assert!(html.contains("业务比武") && html.contains("岗位练兵") && html.contains("光荣榜"));
    let html = app.get_text("/?lang=en").await;
    assert!(html.contains("lang=\"en\"") && html.contains("Competitions"));
    // The choice is remembered.
    let html = app.get_text("/login").await;
    assert!(html.contains("Staff number"));
    // Anonymous visitors are sent to log in before changing a password.
    let res = client().get(app.url("/account")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let css = app
        .client
        .get(app.url("/static/css/app.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), 200);
    assert!(
        css.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
}

#[tokio::test]
async fn user_text_is_escaped_in_pages() {
    let app = spawn_app().await;
    sqlx::query("UPDATE members SET name = '<script>x</script>' WHERE staff_no = $1")
        .bind(MEMBER)
        .execute(&app.db.pool)
        .await
        .unwrap();
    let s = app.session(MEMBER).await;
    let html = s.get(&app, "/").await.text().await.unwrap();
    assert!(!html.contains("<script>x</script>"));
    assert!(
        html.contains("&#60;script&#62;x") || html.contains("&lt;script&gt;x"),
        "{html}"
    );
}

/// A logged-out cookie is refused at once; a session ended behind the server's back (another
/// instance, the command line) stops working within the time sessions are remembered.
#[tokio::test]
async fn ended_sessions_stop_working() {
    let app = spawn_app().await;
    // `/api/me` with a bare cookie (no jar): the status, and the CSRF token when logged in.
    let me = |cookie: String| {
        let app = &app;
        async move {
            let res = client()
                .get(app.url("/api/me"))
                .header("cookie", cookie)
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            let body: Value = res.json().await.unwrap_or_default();
            (
                status,
                body["csrf"].as_str().unwrap_or_default().to_string(),
            )
        }
    };
    let cookie = app.cookie(MEMBER).await;
    let (status, csrf) = me(cookie.clone()).await;
    assert_eq!(status, 200);
    let res = client()
        .post(app.url("/api/logout"))
        .header("cookie", &cookie)
        .header("X-CSRF-Token", csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(me(cookie).await.0, 401, "logged out: refused at once");

    let cookie = app.cookie(MEMBER).await;
    assert_eq!(me(cookie.clone()).await.0, 200);
    sqlx::query("DELETE FROM sessions")
        .execute(&app.db.pool)
        .await
        .unwrap();
    tokio::time::sleep(biwu::auth::sessions::FRESH + std::time::Duration::from_millis(200)).await;
    assert_eq!(me(cookie).await.0, 401, "ended in the records: refused");
}
