//! A case group (案例题) on the projector and a phone in headless Chromium: the scenario is
//! shown with each question, at a size read from the back of the hall, and the question still
//! fits the screen.

use crate::a11y::assert_accessible;
use crate::browser::{Browser, click, fill};
use crate::helpers::*;
use crate::ws::Ws;
use biwu::domain::Question;
use serde_json::json;

/// The group that is hardest to fit: the longest scenario with its longest question.
fn longest_group() -> Vec<Question> {
    let bank = biwu::bank::load(&bank_dir());
    let mut groups: std::collections::BTreeMap<String, Vec<Question>> = Default::default();
    for q in bank.questions().filter(|q| q.case.is_some()) {
        groups
            .entry(q.case.as_ref().unwrap().id.clone())
            .or_default()
            .push(q.clone());
    }
    let weight = |qs: &Vec<Question>| {
        let c = qs[0].case.as_ref().unwrap();
        c.scenario.chars().count()
            + qs.iter()
                .map(|q| {
                    q.stem.chars().count()
                        + q.options.iter().map(|o| o.chars().count()).sum::<usize>()
                })
                .max()
                .unwrap_or(0)
    };
    let mut group = groups
        .into_values()
        .max_by_key(weight)
        .expect("case groups in the bank");
    group.sort_by_key(|q| q.case.as_ref().unwrap().position);
    group
}

#[tokio::test]
async fn the_projector_and_a_phone_show_a_case_groups_scenario_with_each_question() {
    let Some(screen) = Browser::start(1920, 1080).await else {
        return;
    };
    let phone = Browser::start(360, 740).await.unwrap();
    let app = spawn_app().await;
    let group = longest_group();
    let case = group[0].case.clone().unwrap();
    let host = app.session(HOST).await;
    let created: serde_json::Value = host
        .post(
            &app,
            "/api/competitions",
            json!({
                "title": "信访业务案例竞赛（演示）",
                "question_ids": group.iter().map(|q| q.id.clone()).collect::<Vec<_>>(),
                "time_limit_s": 90, "guests_allowed": true, "award_rule": {"top_n": 1},
            }),
        )
        .await
        .json()
        .await
        .unwrap();
    let (cid, pin) = (
        created["id"].as_str().unwrap(),
        created["pin"].as_str().unwrap(),
    );
    // The projector runs full screen: a viewport of exactly 1920×1080, without the window's
    // own bars.
    let bars = screen
        .client
        .execute("return window.outerHeight - window.innerHeight;", vec![])
        .await
        .unwrap()
        .as_u64()
        .unwrap_or(0);
    screen
        .client
        .set_window_size(1920, 1080 + bars as u32)
        .await
        .unwrap();
    crate::browser::login(&screen, &app, HOST, "/").await;
    screen
        .client
        .goto(&app.url(&format!("/screen/{cid}")))
        .await
        .unwrap();
    screen.wait_for_text("#pin", pin).await;
    phone
        .client
        .goto(&app.url(&format!("/play?pin={pin}")))
        .await
        .unwrap();
    fill(&phone, "#name", "访客小周").await;
    click(&phone, "#join").await;
    screen.wait_for_text("#players-count", "1").await;
    let cookie = app.cookie(HOST).await;
    let (mut console, _) = Ws::hello_staff(&app, &cookie, "host", cid).await;
    assert_eq!(console.command(json!({"type": "start"})).await, None);

    for (i, q) in group.iter().enumerate() {
        screen.wait_for_text("#stem", &q.stem).await;
        let head = format!("第 {} / {} 小题", i + 1, case.size);
        // The title line may step back to make room (the place stays in the top bar), so the
        // box's text is read whole; the scenario itself is always on screen.
        let text = screen
            .client
            .execute(
                "return document.querySelector('#case').textContent;",
                vec![],
            )
            .await
            .unwrap();
        let text = text.as_str().unwrap();
        assert!(text.contains(&head) && text.contains(&case.title), "{text}");
        let start: String = case.scenario.trim().chars().take(10).collect();
        let shown = screen.wait_for_text("#case .case-text", &start).await;
        assert!(
            shown.contains(case.scenario.trim()),
            "the scenario on the projector: {shown}"
        );
        let sizes = screen
            .client
            .execute(
                "const v = document.getElementById('view-question');
                 return [parseFloat(getComputedStyle(document.querySelector('#case .case-text')).fontSize),
                         v.scrollHeight, v.parentElement.clientHeight];",
                vec![],
            )
            .await
            .unwrap();
        let px = sizes[0].as_f64().unwrap();
        assert!(
            px >= 40.0,
            "the scenario is read from the back of the hall: {px} px"
        );
        assert!(
            sizes[1].as_f64().unwrap() <= sizes[2].as_f64().unwrap(),
            "the question with its scenario fits the projector: {sizes}"
        );
        phone.wait_for_text("#stem", &q.stem).await;
        let on_phone = phone.wait_for_text("#case", &head).await;
        assert!(on_phone.contains(case.scenario.trim()));
        if i == 0 {
            screen.screenshot("live-case").await;
            phone.screenshot("phone-case").await;
            assert_accessible(&screen, "projector case question").await;
            assert_accessible(&phone, "phone case question").await;
        }
        assert_eq!(console.command(json!({"type": "skip"})).await, None);
        console.until("reveal").await;
        // At the reveal the scenario is the first thing to step back when room runs short.
        screen.wait_for_text("#reveal", "").await;
        assert_eq!(console.command(json!({"type": "next"})).await, None);
        console.until("leaderboard").await;
        assert_eq!(console.command(json!({"type": "next"})).await, None);
    }
    screen.close().await;
    phone.close().await;
}
