//! Accessibility of every page state the tests can reach: axe-core (from the npm registry;
//! `scripts/test` fetches it into `target/` and names it in `BIWU_TEST_AXE`) is injected into
//! headless Chromium over WebDriver and run; no serious or critical violation is allowed.

use crate::browser::{Browser, click, fill, login, tap};
use crate::helpers::*;
use std::sync::OnceLock;
use std::time::Duration;

/// The axe-core script, or `None` (checks skipped) when it is not provisioned.
fn axe_source() -> Option<&'static str> {
    static SOURCE: OnceLock<Option<String>> = OnceLock::new();
    SOURCE
        .get_or_init(|| match std::env::var("BIWU_TEST_AXE") {
            Ok(path) if !path.is_empty() => Some(
                std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("BIWU_TEST_AXE={path}: {e}")),
            ),
            _ => {
                crate::helpers::missing("axe-core", "BIWU_TEST_AXE unset: scripts/test fetches it");
                None
            }
        })
        .as_deref()
}

/// Runs axe-core on the page as it is now and fails with every serious or critical
/// violation: its rule, impact, help text and the elements it found.
pub async fn assert_accessible(b: &Browser, state: &str) {
    let Some(axe) = axe_source() else {
        return;
    };
    // Let the page's scripts settle (fetches, renders) before judging it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let loaded = b
        .client
        .execute(
            &format!("if (!window.axe) {{ {axe}\n }} return typeof window.axe;"),
            vec![],
        )
        .await
        .unwrap_or_else(|e| panic!("{state}: injecting axe-core failed: {e}"));
    assert_eq!(loaded, "object", "{state}: axe-core did not load");
    let found = b
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { resultTypes: ['violations'] })
               .then((r) => done(r.violations
                 .filter((v) => v.impact === 'serious' || v.impact === 'critical')
                 .map((v) => `${v.id} (${v.impact}): ${v.help}\n` + v.nodes.slice(0, 8)
                   .map((n) => `    ${n.target.join(' ')}  ${(n.failureSummary || '').split('\\n').slice(1, 2).join('')}`)
                   .join('\\n'))))
               .catch((e) => done([`axe failed: ${e}`]));",
            vec![],
        )
        .await
        .unwrap_or_else(|e| panic!("{state}: running axe-core failed: {e}"));
    let violations: Vec<String> = serde_json::from_value(found).unwrap();
    assert!(
        violations.is_empty(),
        "{state}: {} serious or critical accessibility violation(s):\n  {}",
        violations.len(),
        violations.join("\n  ")
    );
}

/// Goes to a page and waits until `css` holds `needle` (the page's scripts have run).
async fn visit(b: &Browser, app: &TestApp, path: &str, css: &str, needle: &str) {
    b.client.goto(&app.url(path)).await.unwrap();
    b.wait_for_text(css, needle).await;
}

#[tokio::test]
async fn public_and_member_pages_pass_axe_on_a_phone() {
    let Some(b) = Browser::start(360, 740).await else {
        return;
    };
    let app = spawn_app().await;
    visit(&b, &app, "/", "main", "岗位练兵").await;
    assert_accessible(&b, "home, logged out").await;
    visit(&b, &app, "/login", "h1", "登录").await;
    assert_accessible(&b, "login").await;
    visit(&b, &app, "/play", "h1", "加入").await;
    assert_accessible(&b, "phone join").await;

    // A member: home, drill start, question, explanation, notebook, me, honours.
    login(&b, &app, MEMBER, "/").await;
    b.wait_for_text("main", "岗位练兵").await;
    assert_accessible(&b, "home, member").await;
    visit(&b, &app, "/drill", "#start-form", "按专题练习").await;
    assert_accessible(&b, "drill start").await;
    click(&b, "#start").await;
    b.wait_for_any("#pos", &["第"]).await;
    assert_accessible(&b, "drill question").await;
    let stem = b.wait_for_any("#stem", &[""]).await;
    let bank = biwu::bank::load(&bank_dir());
    let mut q = bank.questions().find(|q| q.stem == stem).cloned();
    for _ in 0..50 {
        if q.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let stem = b.wait_for_any("#stem", &[""]).await;
        q = bank.questions().find(|q| q.stem == stem).cloned();
    }
    crate::browser::answer_drill_question(
        &b,
        &q.expect("the drill's question is in the bank"),
        false,
    )
    .await;
    b.wait_for_text("#feedback", "回答").await;
    assert_accessible(&b, "drill explanation").await;
    visit(&b, &app, "/notebook", "h1", "错题本").await;
    b.wait_for_any("#list-info", &["题", "空"]).await;
    b.client
        .execute(
            "for (const d of document.querySelectorAll('#entries details')) d.open = true;",
            vec![],
        )
        .await
        .unwrap();
    assert_accessible(&b, "notebook").await;
    visit(&b, &app, "/me", "main", "我的").await;
    assert_accessible(&b, "me").await;
    visit(&b, &app, "/honors", "main", "光荣榜").await;
    assert_accessible(&b, "honours").await;
    visit(&b, &app, "/account", "h1", "密码").await;
    assert_accessible(&b, "account").await;
    b.close().await;
}

#[tokio::test]
async fn the_desktop_pages_of_heads_hosts_and_admins_pass_axe() {
    let Some(b) = Browser::start(1366, 900).await else {
        return;
    };
    let app = spawn_app().await;

    // A section head: the section list, a section, its reviews.
    login(&b, &app, HEAD, "/section").await;
    b.wait_for_text("#section-list", "文秘处").await;
    assert_accessible(&b, "section list").await;
    let wenmi = section_id(&app, "文秘处").await;
    visit(
        &b,
        &app,
        &format!("/section/{wenmi}"),
        "#section-name",
        "文秘处",
    )
    .await;
    assert_accessible(&b, "section page").await;
    visit(
        &b,
        &app,
        &format!("/section/{wenmi}/reviews"),
        "main",
        "点评",
    )
    .await;
    assert_accessible(&b, "section reviews").await;
    b.client.delete_all_cookies().await.unwrap();

    // A host: the setup page with the draw shown.
    login(&b, &app, HOST, "/host").await;
    b.wait_for_text("#create-form", "新建比赛").await;
    assert_accessible(&b, "host setup").await;
    fill(&b, "#f-title", "无障碍检查用比赛").await;
    click(&b, "#create").await;
    b.wait_for_text("#draw-list", "换一题").await;
    assert_accessible(&b, "host setup with the draw").await;

    // An admin: every console page.
    b.client.delete_all_cookies().await.unwrap();
    login(&b, &app, ADMIN, "/admin").await;
    for (path, text) in [
        ("/admin", "管理"),
        ("/admin/members", "名册"),
        ("/admin/org", "处室"),
        ("/admin/bank", "题库"),
        ("/admin/items", "题"),
        ("/admin/awards", "表彰"),
        ("/admin/audit", "日志"),
        ("/admin/settings", "设置"),
    ] {
        visit(&b, &app, path, "main", text).await;
        assert_accessible(&b, path).await;
    }
    b.close().await;
}

/// A long notebook comes 40 entries a page, and the pager passes axe too.
#[tokio::test]
async fn a_long_notebook_is_paged_forty_entries_at_a_time() {
    let Some(b) = Browser::start(360, 740).await else {
        return;
    };
    let app = spawn_app().await;
    let member = app.add_member("n902", biwu::demo::DEMO_PASSWORD).await;
    let bank = biwu::bank::load(&bank_dir());
    for (i, q) in bank.questions().take(45).enumerate() {
        sqlx::query(
            "INSERT INTO notebook (member_id, question_id, origin, added_at, due_at, right_streak, schedule) \
             VALUES ($1, $2, 'drill', $3, $3, 0, '{}')",
        )
        .bind(&member)
        .bind(&q.id)
        .bind(1_700_000_000_000_i64 + i as i64)
        .execute(&app.db.pool)
        .await
        .unwrap();
    }
    login(&b, &app, "n902", "/notebook").await;
    b.wait_for_text("#list-info", "45").await;
    b.wait_for_text("#page-info", "第 1 / 2 页").await;
    let shown = || async {
        b.client
            .execute(
                "return document.querySelectorAll('#entries > li').length;",
                vec![],
            )
            .await
            .unwrap()
            .as_u64()
    };
    assert_eq!(shown().await, Some(40));
    assert_accessible(&b, "notebook, paged").await;
    tap(&b, "#page-next").await;
    b.wait_for_text("#page-info", "第 2 / 2 页").await;
    assert_eq!(shown().await, Some(5));
    b.close().await;
}
