//! A stage final in headless Chromium: the projector, the host console, a team device, a
//! judge's phone and an audience phone (joined by PIN on the play page) through a 抢答
//! question and a judged round to the podium, with screenshots and an accessibility check of
//! every seat.

use crate::a11y::assert_accessible;
use crate::browser::{Browser, click, fill, login, tap};
use crate::helpers::*;
use serde_json::{Value, json};

#[tokio::test]
async fn a_final_on_the_projector_console_team_device_and_judges_phone() {
    let Some(screen) = Browser::start(1920, 1080).await else {
        return;
    };
    let console = Browser::start(1280, 800).await.unwrap();
    let team = Browser::start(360, 740).await.unwrap();
    let judge = Browser::start(360, 740).await.unwrap();
    let phone = Browser::start(360, 740).await.unwrap();
    let app = spawn_app().await;
    let host = app.session(HOST).await;
    let made: Value = host
        .post(
            &app,
            "/api/stages",
            json!({
                "title": "信访业务知识决赛（演示）",
                "teams": [{"name": "文秘处代表队", "members": ["d102"]}, {"name": "研究处代表队", "members": ["d202"]}],
                "judges": ["d104"],
                "rounds": [
                    {"kind": "buzzer", "count": 1, "right": 20},
                    {"kind": "judged", "criteria": [{"name": "处置规范", "max": 10, "weight": 100}]},
                ],
                "settings": {"audience": true},
            }),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = made["id"].as_str().unwrap();
    let code = made["teams"][1]["device_code"].as_str().unwrap();
    let pin = made["audience_pin"].as_str().unwrap();

    login(&screen, &app, HOST, "/").await;
    screen
        .client
        .goto(&app.url(&format!("/stage/{id}/screen")))
        .await
        .unwrap();
    screen.wait_for_text("#step", "决赛即将开始").await;
    login(&console, &app, HOST, "/").await;
    console
        .client
        .goto(&app.url(&format!("/stage/{id}/host")))
        .await
        .unwrap();
    console.wait_for_text("#step", "决赛即将开始").await;
    team.client
        .goto(&app.url(&format!("/stage/{id}/team")))
        .await
        .unwrap();
    fill(&team, "#code", code).await;
    click(&team, "#code-form button[type=submit]").await;
    team.wait_for_text("#me", "研究处代表队").await;
    assert_accessible(&team, "team device, waiting").await;

    // The audience: a phone types the PIN on the ordinary play page and lands on the final's
    // audience page; the projector shows how to join and how many did.
    phone.client.goto(&app.url("/play")).await.unwrap();
    fill(&phone, "#pin", pin).await;
    fill(&phone, "#name", "观众小王").await;
    click(&phone, "#join").await;
    phone.wait_for_text("#aud-me", "观众小王").await;
    screen
        .wait_for_text("#audience-join", &format!("PIN {pin}"))
        .await;
    screen.wait_for_text("#audience-join", "已加入 1 人").await;

    // 抢答: the round's card, the question, the buzzers open, the team buzzes.
    click(&console, "#next").await;
    screen.wait_for_text("#step", "第 1 / 2 轮").await;
    click(&console, "#next").await;
    screen.wait_for_text("#step", "请准备抢答").await;
    // The audience answers the question on stage, whatever its kind.
    phone.wait_for_text("#aud-step", "请作答").await;
    phone.screenshot("stage-audience-question").await;
    assert_accessible(&phone, "audience phone, a question").await;
    phone
        .client
        .execute(
            r##"const vis = (id) => !document.getElementById(id).hidden;
               if (vis("options")) { document.querySelector("#options button").click(); document.getElementById("submit").click(); }
               else if (vis("tf-row")) { document.getElementById("tf-true").click(); }
               else if (vis("text-row")) { document.getElementById("text-answer").value = "答"; document.getElementById("submit").click(); }
               else if (vis("number-row")) { document.getElementById("number-answer").value = "1"; document.getElementById("submit").click(); }
               else { document.getElementById("date-answer").value = "2022-05-01"; document.getElementById("submit").click(); }"##,
            vec![],
        )
        .await
        .unwrap();
    phone.wait_for_text("#aud-step", "已提交").await;
    click(&console, "#open").await;
    screen.wait_for_text("#step", "抢答开始").await;
    tap(&team, "#buzz").await;
    screen.wait_for_text("#step", "研究处代表队 作答").await;
    screen.wait_for_text("#buzzes", "研究处代表队").await;
    console.wait_for_text("#answer", "答案").await;
    screen.screenshot("stage-buzz").await;
    team.screenshot("stage-team").await;
    console.screenshot("stage-console").await;
    assert_accessible(&screen, "stage projector, a buzz won").await;
    assert_accessible(&console, "stage console").await;
    click(&console, "#right").await;
    screen.wait_for_text("#step", "研究处代表队 答对").await;
    phone.wait_for_text("#aud-step", "累计").await;
    phone.wait_for_text("#aud-answer", "答案：").await;
    assert_accessible(&phone, "audience phone, the answer").await;
    screen.wait_for_text("#board", "+20").await;

    // Judged: the judge marks each team on the phone; the panel's score goes on the board.
    login(&judge, &app, "d104", "/").await;
    judge
        .client
        .goto(&app.url(&format!("/stage/{id}/judge")))
        .await
        .unwrap();
    click(&console, "#next").await;
    screen.wait_for_text("#step", "第 2 / 2 轮").await;
    for (team_name, mark) in [("文秘处代表队", "8"), ("研究处代表队", "6")] {
        click(&console, "#next").await;
        screen
            .wait_for_text("#step", &format!("评委评分：{team_name}"))
            .await;
        judge.wait_for_text("#marks-for", team_name).await;
        fill(&judge, "#crit-0", mark).await;
        if team_name == "文秘处代表队" {
            judge.screenshot("stage-judge").await;
            assert_accessible(&judge, "judge's phone").await;
        }
        click(&judge, "#marks-form button[type=submit]").await;
        screen.wait_for_text("#judges", "✓").await;
        click(&console, "#next").await;
        screen
            .wait_for_text("#step", &format!("{team_name} 得分"))
            .await;
    }
    click(&console, "#next").await;
    let done = screen.wait_for_text("#step", "决赛结束").await;
    // 研究处: 100 + 20 + 60 = 180; 文秘处: 100 + 80 = 180: both first.
    assert!(
        done.contains("文秘处代表队") && done.contains("研究处代表队"),
        "{done}"
    );
    screen.wait_for_text("#audience-top", "观众小王").await;
    screen.screenshot("stage-podium").await;
    phone.wait_for_text("#aud-step", "决赛结束").await;
    phone.wait_for_text("#aud-top", "观众小王").await;
    phone.screenshot("stage-audience-podium").await;
    for b in [screen, console, team, judge, phone] {
        b.close().await;
    }
}

#[tokio::test]
async fn a_host_sets_up_a_final_on_the_page_and_gets_the_team_codes_once() {
    let Some(b) = Browser::start(1280, 900).await else {
        return;
    };
    let app = spawn_app().await;
    login(&b, &app, HOST, "/stages").await;
    b.wait_for_text("#setup-title", "设置决赛").await;
    fill(&b, "#s-title", "年度业务知识决赛").await;
    fill(
        &b,
        "#s-teams",
        "文秘处代表队：d102 d103\n研究处代表队：d202 d203",
    )
    .await;
    fill(&b, "#s-judges", "d104 d204 d304").await;
    click(&b, "#s-audience").await;
    assert_accessible(&b, "final set-up").await;
    click(&b, "#setup button[type=submit]").await;
    b.wait_for_text("#codes-body", "研究处代表队").await;
    // The audience plays along: its PIN is shown with the codes and kept with the final.
    let shown = b.wait_for_text("#audience-pin", "观众互动 PIN").await;
    let pin: String = sqlx::query_scalar("SELECT audience_pin FROM stages")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert!(shown.contains(&pin), "{shown}");
    b.wait_for_text("#list", "年度业务知识决赛").await;
    b.screenshot("stage-setup").await;
    // The codes on the page are the ones the records hold, as hashes.
    let codes = b
        .client
        .execute(
            "return [...document.querySelectorAll('#codes-body .st-code-text')].map(e => e.textContent);",
            vec![],
        )
        .await
        .unwrap();
    let codes: Vec<String> = serde_json::from_value(codes).unwrap();
    assert_eq!(codes.len(), 2);
    let hashes: Vec<String> =
        sqlx::query_scalar("SELECT device_hash FROM stage_teams ORDER BY position")
            .fetch_all(&app.db.pool)
            .await
            .unwrap();
    let want: Vec<String> = codes.iter().map(|c| biwu::auth::hash_token(c)).collect();
    assert_eq!(hashes, want);
    // Four rounds as the form offered them, with the judges.
    let rounds: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM stage_rounds")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(rounds, 4);
    b.close().await;
}
