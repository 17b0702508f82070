//! The section heads' workspace in real headless Chromium: a head on a desktop and on a phone
//! finds the laggards, sets the target, assigns a task, writes and publishes the week's
//! 小结点评 and prints it; a member then sees the task and the comment on their phone.

use crate::browser::{Browser, click, fill, login, tap};
use crate::helpers::*;
use fantoccini::Locator;
use std::time::Duration;

async fn id_of(app: &TestApp, sql: &str, arg: &str) -> String {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .bind(arg)
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

async fn wait_for_db<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..100 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never happened: {what}");
}

#[tokio::test]
async fn a_section_head_reviews_the_week_and_a_member_reads_it() {
    week_review(spawn_app().await, true).await;
}

/// The same on PostgreSQL (and the Redis board), without new screenshots.
#[tokio::test]
async fn a_section_head_reviews_the_week_on_postgres() {
    if let Some(app) = spawn_on_postgres().await {
        week_review(app, false).await;
    }
}

async fn week_review(app: TestApp, pictures: bool) {
    let Some(desk) = Browser::start(1366, 768).await else {
        return;
    };
    let wenmi = id_of(&app, "SELECT id FROM sections WHERE name = $1", "文秘处").await;
    let d102 = id_of(&app, "SELECT id FROM members WHERE staff_no = $1", MEMBER).await;

    // The section page: laggards first, flagged.
    login(&desk, &app, HEAD, "/section").await;
    desk.wait_for_text("#section-list", "文秘处").await;
    click(&desk, "a.sc-section-link").await;
    desk.wait_for_text("#section-name", "文秘处").await;
    let first_row = desk.wait_for_text("#members-body", "未参练").await;
    assert!(
        first_row.contains("孙丽娜"),
        "the member who never practises is listed"
    );
    let first = desk
        .client
        .find(Locator::Css("#members-body tr"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(first.contains("未参练"), "idle members come first: {first}");
    desk.wait_for_any("#topics-chart", &["党章", "信访业务", "系列讲话"])
        .await;
    if pictures {
        desk.screenshot("section-desktop").await;
    }

    // Set the weekly target.
    fill(&desk, "#target-input", "4").await;
    click(&desk, "#target-save").await;
    let db = app.db.clone();
    wait_for_db("the target is 4", || {
        let db = db.clone();
        let id = wenmi.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT weekly_target FROM sections WHERE id = $1")
                .bind(id)
                .fetch_one(&db.pool)
                .await
                .unwrap()
                == 4
        }
    })
    .await;

    // Assign a task.
    fill(&desk, "#task-title", "信访事项办理时限").await;
    tap(&desk, "#task-topic-petition-work").await;
    click(&desk, "#task-submit").await;
    desk.wait_for_text("#tasks-list", "信访事项办理时限").await;
    let task_id: String = sqlx::query_scalar("SELECT id FROM tasks WHERE title = $1")
        .bind("信访事项办理时限")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();

    // Write the week's review from its draft and publish it.
    tap(&desk, "#create-review").await;
    desk.wait_for_text("#review-status", "草稿").await;
    let body = desk
        .client
        .find(Locator::Css("#review-body"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(
        body.contains("文秘处共有"),
        "the draft is pre-filled: {body}"
    );
    fill(&desk, &format!("#praise-{d102}"), "本周正确率提高明显。").await;
    fill(&desk, &format!("#improve-{d102}"), "时限类题目还需加强。").await;
    click(&desk, "#save-draft").await;
    desk.wait_for_text("#save-status", "已保存").await;
    if pictures {
        desk.screenshot("review-editor-desktop").await;
    }
    click(&desk, "#publish").await;
    desk.client.accept_alert().await.unwrap();
    desk.wait_for_text("#review-status", "已发布").await;
    desk.client
        .find(Locator::Css("#review[data-status=published]"))
        .await
        .expect("the published marker");
    if pictures {
        desk.screenshot("review-published-desktop").await;
    }
    let review_id: String = sqlx::query_scalar(
        "SELECT id FROM reviews WHERE section_id = $1 AND status = 'published' ORDER BY published_at DESC LIMIT 1",
    )
    .bind(&wenmi)
    .fetch_one(&app.db.pool)
    .await
    .unwrap();

    // The print view for the file.
    desk.client
        .goto(&app.url(&format!("/reviews/{review_id}/print")))
        .await
        .unwrap();
    desk.wait_for_text("h1", "文秘处岗位练兵小结点评").await;
    desk.wait_for_text("main", "时限类题目还需加强").await;
    if pictures {
        desk.screenshot("review-print").await;
    }
    desk.close().await;

    // The same page on the head's phone.
    let phone = Browser::start(360, 740).await.unwrap();
    login(&phone, &app, HEAD, &format!("/section/{wenmi}")).await;
    phone.wait_for_text("#members-body", "未参练").await;
    if pictures {
        phone.screenshot("section-phone").await;
    }
    phone.close().await;

    // A member sees the task and the comment addressed to them, and starts the task.
    let phone = Browser::start(360, 740).await.unwrap();
    login(&phone, &app, MEMBER, "/me").await;
    phone.wait_for_text("#my-tasks", "信访事项办理时限").await;
    phone
        .wait_for_text("#my-reviews", "本周正确率提高明显")
        .await;
    if pictures {
        phone.screenshot("me-tasks-reviews-phone").await;
    }
    phone.client.goto(&app.url("/drill")).await.unwrap();
    phone.wait_for_text("#task-list", "信访事项办理时限").await;
    tap(&phone, &format!("#task-go-{task_id}")).await;
    phone.wait_for_any("#stem", &["", "？", "（"]).await;
    let db = app.db.clone();
    wait_for_db("the task's drill exists", || {
        let db = db.clone();
        let t = task_id.clone();
        let m = d102.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM drills WHERE task_id = $1 AND member_id = $2",
            )
            .bind(t)
            .bind(m)
            .fetch_one(&db.pool)
            .await
            .unwrap()
                == 1
        }
    })
    .await;
    if pictures {
        phone.screenshot("drill-task-phone").await;
    }
    phone.close().await;
}

/// A new administrator's first steps from the printed one-time password: the forced change,
/// then the bank browsed and the item statistics opened.
#[tokio::test]
async fn a_new_administrator_changes_the_password_and_opens_the_bank() {
    let Some(b) = Browser::start(1366, 768).await else {
        return;
    };
    let (dir, url) = fresh_sqlite();
    let app = spawn_app_with(Options {
        database_url: Some(url),
        ..Options::default()
    })
    .await;
    let (staff_no, otp) = app.bootstrap_admin.clone().expect("a first admin");
    b.client.goto(&app.url("/login")).await.unwrap();
    fill(&b, "input[name=staff_no]", &staff_no).await;
    fill(&b, "input[name=password]", &otp).await;
    click(&b, "button[type=submit]").await;
    b.wait_for_text("h1", "修改密码").await;
    // Anything else sends the administrator back to the form.
    b.client.goto(&app.url("/admin/bank")).await.unwrap();
    b.wait_for_text("#must-change", "一次性密码").await;
    b.screenshot("admin-first-login").await;
    fill(&b, "input[name=old_password]", &otp).await;
    fill(&b, "input[name=new_password]", "Office-2026-pw").await;
    fill(&b, "input[name=confirm]", "Office-2026-pw").await;
    click(&b, "button[type=submit]").await;
    // Back to the page that was asked for.
    b.wait_for_text("#check-summary", "检查通过").await;
    fill(&b, "#f-q", "信访").await;
    click(&b, "#browse-submit").await;
    let listed = b.wait_for_text("#browse-list", "答案：").await;
    assert!(listed.contains("解析：") && listed.contains("出处："));
    b.screenshot("admin-bank").await;
    b.client.goto(&app.url("/admin/items")).await.unwrap();
    b.wait_for_any("#items-status", &["道题有作答记录"]).await;
    b.close().await;
    drop(dir);
}
