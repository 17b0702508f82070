//! The exam round (初赛) in real headless Chromium: a host publishes an exam, a member takes it
//! on a phone (rules, one question per screen, marking, the palette, a reload mid-way, 交卷
//! and the result with the per-topic breakdown), two colleagues take it through the API, and
//! the host closes it early on a desktop and reads the ranking and statistics.

use crate::a11y::assert_accessible;
use crate::browser::{Browser, fill, login, tap};
use crate::helpers::*;
use biwu::domain::{AnswerKey, Kind, Question};
use fantoccini::Locator;
use serde_json::{Value, json};
use std::time::Duration;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// One question of each kind, from three topics, with short stems (they fit a phone).
fn paper(bank: &biwu::bank::Bank) -> Vec<Question> {
    let mut picked: Vec<Question> = Vec::new();
    for kind in [
        Kind::Single,
        Kind::Multiple,
        Kind::TrueFalse,
        Kind::Fill,
        Kind::Numeric,
        Kind::Date,
    ] {
        let q = bank
            .questions()
            .filter(|q| q.kind == kind && q.stem.chars().count() < 80)
            .find(|q| q.family.is_none() || picked.iter().all(|p| p.family != q.family))
            .unwrap_or_else(|| panic!("a {kind:?} question in the bank"))
            .clone();
        picked.push(q);
    }
    picked
}

/// The right answer in the shape the API takes, in the letters this taker sees (their options
/// come in an order of their own).
fn right_for(q: &Question, shown: &[Value]) -> Value {
    match &q.answer {
        AnswerKey::Choice(ix) => {
            let mut letters: Vec<char> = ix
                .iter()
                .map(|&i| {
                    let p = shown
                        .iter()
                        .position(|o| o.as_str() == Some(q.options[i].as_str()))
                        .expect("the option is shown");
                    (b'A' + p as u8) as char
                })
                .collect();
            letters.sort_unstable();
            json!({"type": "choice", "value": letters.into_iter().collect::<String>()})
        }
        _ => right_answer(q),
    }
}

/// A wrong answer of the right shape, in the letters this taker sees.
fn wrong_for(q: &Question, shown: &[Value]) -> Value {
    match &q.answer {
        AnswerKey::Choice(ix) => {
            let keys: Vec<&str> = ix.iter().map(|&i| q.options[i].as_str()).collect();
            let p = shown
                .iter()
                .position(|o| !keys.contains(&o.as_str().unwrap_or_default()))
                .expect("a wrong option");
            json!({"type": "choice", "value": ((b'A' + p as u8) as char).to_string()})
        }
        _ => wrong_answer(q),
    }
}

async fn put(s: &Session, app: &TestApp, path: &str, body: Value) -> reqwest::Response {
    s.client
        .put(app.url(path))
        .header("X-CSRF-Token", &s.csrf)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// A colleague takes the exam through the API and gets the first `right` questions right.
async fn take_by_api(app: &TestApp, staff_no: &str, exam: &str, qs: &[Question], right: usize) {
    let s = app.session(staff_no).await;
    let res = s
        .post(app, &format!("/api/exams/{exam}/attempts"), json!({}))
        .await;
    assert!(res.status().is_success(), "{staff_no} starts");
    let att: Value = res.json().await.unwrap();
    for (done, q) in att["questions"].as_array().unwrap().iter().enumerate() {
        let bank = qs
            .iter()
            .find(|b| b.stem == q["stem"].as_str().unwrap())
            .unwrap();
        let shown = q["options"].as_array().cloned().unwrap_or_default();
        let response = if done < right {
            right_for(bank, &shown)
        } else {
            wrong_for(bank, &shown)
        };
        let n = q["n"].as_u64().unwrap();
        let res = put(
            &s,
            app,
            &format!("/api/exams/{exam}/attempt/answers/{n}"),
            json!({"response": response, "marked": false}),
        )
        .await;
        assert_eq!(res.status(), 200, "{staff_no} saves {n}");
    }
    let res = s
        .post(app, &format!("/api/exams/{exam}/attempt/submit"), json!({}))
        .await;
    assert_eq!(res.status(), 200, "{staff_no} submits");
}

/// Answers the question on screen right, by tapping what a person would tap.
async fn answer_on_screen(b: &Browser, q: &Question) {
    match &q.answer {
        AnswerKey::Choice(ix) => {
            for &i in ix {
                let ok = b
                    .client
                    .execute(
                        "const l = [...document.querySelectorAll('#options label')]
                           .find((l) => l.querySelector('.text').textContent === arguments[0]);
                         if (!l) return false; l.querySelector('input').click(); return true;",
                        vec![json!(q.options[i])],
                    )
                    .await
                    .unwrap();
                assert_eq!(ok, json!(true), "option {} shown", q.options[i]);
            }
        }
        AnswerKey::TrueFalse(v) => {
            tap(b, &format!("#options input[value=\"{v}\"]")).await;
        }
        AnswerKey::Fill(v) => {
            fill(b, "#text-input", &v[0]).await;
            changed(b).await;
        }
        AnswerKey::Numeric { value, .. } => {
            fill(
                b,
                "#text-input",
                &biwu::domain::question::format_number(*value),
            )
            .await;
            changed(b).await;
        }
        AnswerKey::Date(d) => {
            b.client
                .execute(
                    "const e = document.getElementById('text-input'); e.value = arguments[0];
                     e.dispatchEvent(new Event('change'));",
                    vec![json!(d)],
                )
                .await
                .unwrap();
        }
    }
}

/// What leaving the field does: the typed answer is saved at once.
async fn changed(b: &Browser) {
    js(
        b,
        "document.getElementById('text-input').dispatchEvent(new Event('change')); return true;",
    )
    .await;
}

/// The bank question on screen now.
async fn on_screen<'a>(b: &Browser, qs: &'a [Question]) -> &'a Question {
    for _ in 0..50 {
        if let Ok(el) = b.client.find(Locator::Css("#stem")).await
            && let Ok(stem) = el.text().await
            && let Some(q) = qs.iter().find(|q| q.stem.trim() == stem.trim())
        {
            return q;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the stem on screen is none of the paper's");
}

async fn js(b: &Browser, script: &str) -> Value {
    b.client.execute(script, vec![]).await.unwrap()
}

/// Waits until every answer given is stored (nothing pending, 已保存 shown).
async fn saved(b: &Browser) {
    b.wait_for_text("#save-state", "已保存").await;
}

#[tokio::test]
async fn a_member_takes_an_exam_on_a_phone_and_the_host_reads_the_results() {
    let Some(phone) = Browser::start(360, 740).await else {
        return;
    };
    let app = spawn_app().await;
    let bank = biwu::bank::load(&bank_dir());
    let qs = paper(&bank);
    let host = app.session(HOST).await;
    let now = now_ms();
    let res = host
        .post(
            &app,
            "/api/exams",
            json!({
                "title": "2026年度业务知识初赛",
                "opens_at": now - 60_000,
                "closes_at": now + 3_600_000,
                "duration_min": 30,
                "max_attempts": 1,
                "reveal": "at_submit",
                "qualify": {"top_n": 2},
                "award_rule": {"top_n": 1},
                "teams": {"by": "section", "score": "mean", "absent_as_zero": false, "winners": 1},
                "paper": {"question_ids": qs.iter().map(|q| q.id.clone()).collect::<Vec<_>>()},
            }),
        )
        .await;
    assert_eq!(res.status(), 201, "the exam is created");
    let created: Value = res.json().await.unwrap();
    let exam = created["id"].as_str().unwrap().to_string();
    let max_score = created["max_score"].as_i64().unwrap();
    let total = qs.len();

    // The member finds the exam on their phone and reads the rules.
    login(&phone, &app, MEMBER, "/exams").await;
    phone
        .wait_for_text("#mine-list", "2026年度业务知识初赛")
        .await;
    phone.wait_for_text("#mine-list", "开始答题").await;
    phone.screenshot("exam-list-phone").await;
    assert_accessible(&phone, "exam list").await;
    tap(&phone, "#mine-list a.ex-btn").await;
    phone.wait_for_text("#intro", "离开页面会被记录").await;
    let rules = phone.wait_for_text("#intro-rules", "30分钟").await;
    assert!(
        rules.contains(&format!("共 {total} 题")) && rules.contains("交卷后立即显示"),
        "{rules}"
    );
    phone.screenshot("exam-start-phone").await;
    assert_accessible(&phone, "exam rules").await;

    // Start: one question per screen.
    tap(&phone, "#start").await;
    phone
        .wait_for_text("#q-pos", &format!("第 1 / {total} 题"))
        .await;
    for n in 0..total {
        phone
            .wait_for_text("#q-pos", &format!("第 {} / {total} 题", n + 1))
            .await;
        let q = on_screen(&phone, &qs).await;
        if n == 4 {
            // The network fails: the answer waits in the page and is sent again.
            js(
                &phone,
                "window.__offline = true; const f = window.fetch;
                 window.fetch = (...a) => window.__offline ? Promise.reject(new TypeError('offline')) : f(...a);
                 return true;",
            )
            .await;
        }
        answer_on_screen(&phone, q).await;
        if n == 4 {
            phone.wait_for_text("#save-state", "尚未保存").await;
            js(&phone, "window.__offline = false; return true;").await;
            tap(&phone, "#retry").await;
        }
        if n == 1 {
            // Marked for review.
            tap(&phone, "#mark").await;
            phone.wait_for_text("#mark", "已标记").await;
        }
        saved(&phone).await;
        if n == 0 {
            phone.screenshot("exam-question-phone").await;
            assert_accessible(&phone, "exam question").await;
        }
        if n == 2 {
            // A reload mid-way: the same question, the answers and the mark still there.
            phone.client.refresh().await.unwrap();
            phone
                .wait_for_text("#q-pos", &format!("第 3 / {total} 题"))
                .await;
            tap(&phone, "#palette-toggle").await;
            phone.wait_for_text("#palette-list", "1").await;
            let counts = js(
                &phone,
                "return [document.querySelectorAll('#palette-list .answered').length,
                         document.querySelectorAll('#palette-list .marked').length];",
            )
            .await;
            assert_eq!(
                counts,
                json!([3, 1]),
                "answered and marked after the reload"
            );
            phone.screenshot("exam-palette-phone").await;
            assert_accessible(&phone, "exam palette").await;
            // Jump back to the first question: its answer is shown as given.
            tap(&phone, "#palette-list button[data-n=\"0\"]").await;
            phone
                .wait_for_text("#q-pos", &format!("第 1 / {total} 题"))
                .await;
            let first = on_screen(&phone, &qs).await;
            let chosen = js(
                &phone,
                "return document.querySelectorAll('#options input:checked').length
                      + (document.getElementById('text-input').value ? 1 : 0);",
            )
            .await;
            assert!(chosen.as_u64().unwrap() >= 1, "{}: answer kept", first.id);
            // And on to the fourth through the palette.
            tap(&phone, "#palette-toggle").await;
            tap(&phone, "#palette-list button[data-n=\"3\"]").await;
            continue;
        }
        if n + 1 < total {
            tap(&phone, "#next").await;
        }
    }

    // Leaving the page is reported (and counted for the host).
    js(
        &phone,
        "Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
         document.dispatchEvent(new Event('visibilitychange'));
         Object.defineProperty(document, 'visibilityState', { value: 'visible', configurable: true });
         document.dispatchEvent(new Event('visibilitychange'));
         return true;",
    )
    .await;

    // 交卷: the check lists the marked question, nothing unanswered.
    tap(&phone, "#submit").await;
    let summary = phone.wait_for_text("#confirm", "全部作答").await;
    assert!(summary.contains("标记"), "{summary}");
    let marked = js(
        &phone,
        "return document.querySelectorAll('#confirm-marked button').length;",
    )
    .await;
    assert_eq!(marked, json!(1));
    tap(&phone, "#confirm-submit").await;
    phone
        .wait_for_text("#r-score", &format!("{max_score} / {max_score}"))
        .await;
    phone
        .wait_for_text("#r-correct", &format!("{total} / {total}"))
        .await;
    let topics = phone.wait_for_text("#topics-body", "/").await;
    for q in &qs {
        assert!(
            topics.contains(q.topic.name_zh()),
            "{} in the breakdown: {topics}",
            q.topic.name_zh()
        );
    }
    phone.wait_for_text("#review-list", "正确答案").await;
    phone.screenshot("exam-result-phone").await;
    assert_accessible(&phone, "exam result").await;
    phone.close().await;

    // Two colleagues take it too, with fewer right.
    take_by_api(&app, HEAD, &exam, &qs, 3).await;
    take_by_api(&app, ADMIN, &exam, &qs, 1).await;

    let progress = host
        .get_json(&app, &format!("/api/exams/{exam}/progress"))
        .await;
    assert_eq!(progress["submitted"], json!(3), "{progress}");
    let me = progress["takers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["staff_no"] == MEMBER)
        .unwrap();
    assert!(
        me["leaves"].as_i64().unwrap() >= 1,
        "the leaving counted: {me}"
    );

    // The host closes the window early on a desktop and reads the results.
    let Some(desk) = Browser::start(1366, 900).await else {
        return;
    };
    login(&desk, &app, HOST, &format!("/host/exams/{exam}")).await;
    desk.wait_for_text("#exam-title", "2026年度业务知识初赛")
        .await;
    desk.wait_for_text("#p-submitted", "3").await;
    desk.wait_for_text("#takers-body", "李晓雯").await;
    assert_accessible(&desk, "exam host, progress").await;
    tap(&desk, "#cancel").await;
    tap(&desk, "#cancel-yes").await;
    desk.wait_for_text("#ranking-body", "李晓雯").await;
    let first = js(
        &desk,
        "return document.querySelector('#ranking-body tr').textContent;",
    )
    .await;
    assert!(
        first.as_str().unwrap().contains("李晓雯"),
        "the member ranks first: {first}"
    );
    desk.wait_for_text("#ranking-body", "晋级").await;
    desk.wait_for_text("#question-stats", "答对率").await;
    let bars = js(
        &desk,
        "return [...document.querySelectorAll('#histogram li')].map((l) => Number(l.querySelector('.count').textContent)).reduce((a, b) => a + b, 0);",
    )
    .await;
    assert_eq!(bars, json!(3), "every taker in the histogram");
    desk.wait_for_text("#finalists", "李晓雯").await;
    js(
        &desk,
        "document.getElementById('results').scrollIntoView(); return true;",
    )
    .await;
    desk.screenshot("exam-host-results").await;
    assert_accessible(&desk, "exam host, results").await;

    // The host publishes the next round through the form: the default topic mix.
    desk.client.goto(&app.url("/exams")).await.unwrap();
    desk.wait_for_text("#all-body", "2026年度业务知识初赛")
        .await;
    assert_accessible(&desk, "exam list and form, host").await;
    fill(&desk, "#f-title", "2026年度业务知识复赛").await;
    tap(&desk, "#create").await;
    desk.wait_for_text("#created", "已发布").await;
    desk.wait_for_text("#all-body", "2026年度业务知识复赛")
        .await;
    let listed = host.get_json(&app, "/api/exams").await;
    let next = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["title"] == "2026年度业务知识复赛")
        .expect("the new exam is listed");
    assert_eq!(
        next["questions"],
        json!(20),
        "5+5+5+5 from the form: {next}"
    );
    assert_eq!(next["duration_ms"], json!(30 * 60_000));
    desk.close().await;
}

/// The pages without a browser: visitors are sent to log in, members never get the host's
/// page or the publishing form, an unknown exam is the 404 page, and 考试 is in the navigation.
#[tokio::test]
async fn the_exam_pages_answer_by_role() {
    let app = spawn_app().await;
    let host = app.session(HOST).await;
    let member = app.session(MEMBER).await;
    let now = now_ms();
    let res = host
        .post(
            &app,
            "/api/exams",
            json!({
                "title": "页面权限检查", "opens_at": now, "closes_at": now + 3_600_000,
                "duration_min": 10,
                "paper": {"mix": [{"topic": "party-constitution", "count": 2}]},
            }),
        )
        .await;
    assert_eq!(res.status(), 201);
    let exam = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    let visitor = client();
    for path in [
        "/exams",
        &format!("/exam/{exam}"),
        &format!("/host/exams/{exam}"),
    ] {
        let res = visitor.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 303, "{path}");
        assert!(
            res.headers()["location"]
                .to_str()
                .unwrap()
                .starts_with("/login?next="),
            "{path}"
        );
    }

    let list = member.get(&app, "/exams").await.text().await.unwrap();
    assert!(list.contains("href=\"/exams\"") && list.contains("id=\"mine-list\""));
    assert!(
        !list.contains("id=\"create-form\""),
        "no publishing form for members"
    );
    let page = member.get(&app, &format!("/exam/{exam}")).await;
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains(&format!("data-exam=\"{exam}\""))
    );
    let res = member.get(&app, &format!("/host/exams/{exam}")).await;
    assert_eq!(res.status(), 403);
    assert!(res.text().await.unwrap().contains("没有权限"));
    let res = member.get(&app, "/exam/no-such-exam").await;
    assert_eq!(res.status(), 404);
    assert!(res.text().await.unwrap().contains("页面不存在"));

    let list = host.get(&app, "/exams").await.text().await.unwrap();
    assert!(list.contains("id=\"create-form\"") && list.contains("id=\"all-table\""));
    let res = host.get(&app, &format!("/host/exams/{exam}")).await;
    assert_eq!(res.status(), 200);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains(&format!("data-exam=\"{exam}\""))
    );
}

/// Waits up to `secs` seconds for `needle` in `css` (the clock's own pace, not a page load).
async fn wait_long(b: &Browser, css: &str, needle: &str, secs: u64) {
    for _ in 0..secs * 5 {
        if let Ok(el) = b.client.find(Locator::Css(css)).await
            && let Ok(t) = el.text().await
            && t.contains(needle)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let html = b.client.source().await.unwrap_or_default();
    panic!("no {needle} in {css} after {secs} s:\n{html}");
}

/// Results shown only after the close wait for it; at the server's deadline the page hands in
/// by itself and shows the result.
#[tokio::test]
async fn results_after_the_close_and_the_clock_handing_in_on_a_phone() {
    let Some(phone) = Browser::start(360, 740).await else {
        return;
    };
    let app = spawn_app().await;
    let host = app.session(HOST).await;
    let create = |title: &str, closes_in: i64, reveal: &str| {
        let now = now_ms();
        json!({
            "title": title, "opens_at": now - 60_000, "closes_at": now + closes_in,
            "duration_min": 10, "reveal": reveal,
            "paper": {"mix": [{"topic": "petition-work", "count": 2}], "kinds": ["single", "truefalse"]},
        })
    };
    let later: Value = host
        .post(
            &app,
            "/api/exams",
            create("截止后公布成绩", 3_600_000, "after_close"),
        )
        .await
        .json()
        .await
        .unwrap();
    let later = later["id"].as_str().unwrap().to_string();

    login(&phone, &app, MEMBER, &format!("/exam/{later}")).await;
    phone
        .wait_for_text("#intro-rules", "考试截止后统一公布")
        .await;
    tap(&phone, "#start").await;
    phone.wait_for_text("#q-pos", "第 1 / 2 题").await;
    tap(&phone, "#submit").await;
    phone.wait_for_text("#confirm", "2 题未作答").await;
    tap(&phone, "#confirm-submit").await;
    phone
        .wait_for_text("#result-hidden-text", "成绩将在考试截止后公布")
        .await;
    let shown = js(
        &phone,
        "return document.getElementById('result-shown').hidden && document.getElementById('review-card').hidden;",
    )
    .await;
    assert_eq!(shown, json!(true), "no score, no answers before the close");

    // A window closing in a few seconds: the attempt's deadline is the close.
    let soon: Value = host
        .post(
            &app,
            "/api/exams",
            create("限时自动交卷", 9_000, "at_submit"),
        )
        .await
        .json()
        .await
        .unwrap();
    let soon = soon["id"].as_str().unwrap().to_string();
    phone
        .client
        .goto(&app.url(&format!("/exam/{soon}")))
        .await
        .unwrap();
    tap(&phone, "#start").await;
    phone.wait_for_text("#q-pos", "第 1 / 2 题").await;
    tap(&phone, "#options input").await;
    saved(&phone).await;
    wait_long(&phone, "#timeup-note", "时间到，已自动交卷", 30).await;
    wait_long(&phone, "#r-score", "/", 10).await;
    let by = phone.wait_for_text("#r-submitted", "自动交卷").await;
    assert!(by.contains("到时"), "{by}");
    phone.close().await;
}
