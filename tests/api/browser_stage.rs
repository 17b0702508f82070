//! A stage final in headless Chromium: the projector, the host console, a team device, a
//! judge's phone and an audience phone (joined by PIN on the play page) through a 抢答
//! question and a judged round to the podium, with screenshots and an accessibility check of
//! every seat.

use crate::a11y::assert_accessible;
use crate::browser::{Browser, click, fill, login, tap};
use crate::helpers::*;
use serde_json::{Value, json};

/// Answers question `q` on a team device's pad, rightly.
async fn answer_on_device(b: &Browser, q: &biwu::domain::Question) {
    use biwu::domain::AnswerKey;
    match &q.answer {
        AnswerKey::Choice(ix) => {
            for &i in ix {
                click(
                    b,
                    &format!(
                        "#dev-options button[data-letter=\"{}\"]",
                        (b'A' + i as u8) as char
                    ),
                )
                .await;
            }
        }
        AnswerKey::TrueFalse(v) => {
            click(
                b,
                if *v {
                    "#dev-options button[data-letter=\"T\"]"
                } else {
                    "#dev-options button[data-letter=\"F\"]"
                },
            )
            .await
        }
        AnswerKey::Fill(v) => fill(b, "#dev-input", &v[0]).await,
        AnswerKey::Numeric { value, .. } => {
            fill(
                b,
                "#dev-input",
                &biwu::domain::question::format_number(*value),
            )
            .await
        }
        AnswerKey::Date(d) => {
            b.client
                .execute(
                    "document.getElementById('dev-input').value = arguments[0];",
                    vec![json!(d)],
                )
                .await
                .unwrap();
        }
    }
    click(b, "#dev-submit").await;
}

/// The issue's run: projector, console, three team devices, three judges and an audience
/// phone through a round of each kind (必答 answered on the devices, 抢答, 风险, judged) to the
/// podium.
#[tokio::test]
async fn a_final_on_the_projector_console_team_devices_judges_and_an_audience_phone() {
    let Some(screen) = Browser::start(1920, 1080).await else {
        return;
    };
    let console = Browser::start(1280, 800).await.unwrap();
    let mut teams = Vec::new();
    let mut judges = Vec::new();
    for _ in 0..3 {
        teams.push(Browser::start(360, 740).await.unwrap());
        judges.push(Browser::start(360, 740).await.unwrap());
    }
    let phone = Browser::start(360, 740).await.unwrap();
    let app = spawn_app().await;
    let host = app.session(HOST).await;
    let names = ["文秘处代表队", "研究处代表队", "督查处代表队"];
    let made: Value = host
        .post(
            &app,
            "/api/stages",
            json!({
                "title": "信访业务知识决赛（演示）",
                "teams": [
                    {"name": names[0], "members": ["d102"]},
                    {"name": names[1], "members": ["d202"]},
                    {"name": names[2], "members": ["d302"]},
                ],
                "judges": ["d104", "d204", "d304"],
                "rounds": [
                    {"kind": "compulsory", "count": 3, "right": 10, "on_device": true},
                    {"kind": "buzzer", "count": 1, "right": 20},
                    {"kind": "risk", "count": 1, "stakes": [10, 20, 30]},
                    {"kind": "judged", "criteria": [{"name": "处置规范", "max": 10, "weight": 100}],
                     "contestants": ["d102", "d202", "d302"]},
                ],
                "settings": {"audience": true},
            }),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = made["id"].as_str().unwrap();
    let pin = made["audience_pin"].as_str().unwrap();
    let versions: Vec<String> = sqlx::query_scalar(
        "SELECT question_version FROM stage_questions WHERE stage_id = $1 AND round = 0 ORDER BY position",
    )
    .bind(id)
    .fetch_all(&app.db.pool)
    .await
    .unwrap();
    let mut compulsory = Vec::new();
    for v in &versions {
        compulsory.push(
            biwu::records::questions::at_version(&app.db, v)
                .await
                .unwrap()
                .unwrap(),
        );
    }

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
    for (i, team) in teams.iter().enumerate() {
        team.client
            .goto(&app.url(&format!("/stage/{id}/team")))
            .await
            .unwrap();
        fill(
            team,
            "#code",
            made["teams"][i]["device_code"].as_str().unwrap(),
        )
        .await;
        click(team, "#code-form button[type=submit]").await;
        team.wait_for_text("#me", names[i]).await;
    }
    assert_accessible(&teams[1], "team device, waiting").await;
    for (judge, staff) in judges.iter().zip(["d104", "d204", "d304"]) {
        login(judge, &app, staff, "/").await;
        judge
            .client
            .goto(&app.url(&format!("/stage/{id}/judge")))
            .await
            .unwrap();
    }

    // The audience: a phone types the PIN on the ordinary play page and lands on the final's
    // audience page; the projector shows how to join and how many did.
    phone.client.goto(&app.url("/play")).await.unwrap();
    fill(&phone, "#pin", pin).await;
    fill(&phone, "#name", "观众小王").await;
    click(&phone, "#join").await;
    phone.wait_for_text("#aud-me", "观众小王").await;
    phone
        .wait_for_text("#title", "信访业务知识决赛（演示） · 观众互动")
        .await;
    screen
        .wait_for_text("#audience-join", &format!("PIN {pin}"))
        .await;
    screen.wait_for_text("#audience-join", "已加入 1 人").await;

    // 必答 on the devices: question i is team i's; its tablet shows the pad and the key grades.
    click(&console, "#next").await;
    screen.wait_for_text("#step", "第 1 / 4 轮").await;
    for (i, q) in compulsory.iter().enumerate() {
        click(&console, "#next").await;
        screen
            .wait_for_text("#step", &format!("{} 作答", names[i]))
            .await;
        teams[i].wait_for_text("#dev-answer", "请在本机作答").await;
        if i == 0 {
            teams[0].screenshot("stage-team-answer").await;
            assert_accessible(&teams[0], "team device, the answer pad").await;
        }
        answer_on_device(&teams[i], q).await;
        screen
            .wait_for_text("#step", &format!("{} 答对", names[i]))
            .await;
    }

    // 抢答: the round's card, the question, the buzzers open, the team buzzes.
    click(&console, "#next").await;
    screen.wait_for_text("#step", "第 2 / 4 轮").await;
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
    tap(&teams[1], "#buzz").await;
    screen.wait_for_text("#step", "研究处代表队 作答").await;
    screen.wait_for_text("#buzzes", "研究处代表队").await;
    console.wait_for_text("#answer", "答案").await;
    screen.screenshot("stage-buzz").await;
    teams[1].screenshot("stage-team").await;
    console.screenshot("stage-console").await;
    assert_accessible(&screen, "stage projector, a buzz won").await;
    assert_accessible(&console, "stage console").await;
    click(&console, "#right").await;
    screen.wait_for_text("#step", "研究处代表队 答对").await;
    screen.wait_for_text("#board", "+20").await;
    phone.wait_for_text("#aud-step", "累计").await;
    phone.wait_for_text("#aud-answer", "答案：").await;
    assert_accessible(&phone, "audience phone, the answer").await;

    // 风险: each team picks its stake on its tablet; the host rules (right, wrong, right).
    click(&console, "#next").await;
    screen.wait_for_text("#step", "第 3 / 4 轮").await;
    for (i, (stake, ruling)) in [(10, "#right"), (20, "#wrong"), (30, "#right")]
        .into_iter()
        .enumerate()
    {
        click(&console, "#next").await;
        screen
            .wait_for_text("#step", &format!("{} 选择分值", names[i]))
            .await;
        teams[i]
            .wait_for_text("#stakes", &format!("{stake} 分"))
            .await;
        let buttons = teams[i]
            .client
            .find_all(fantoccini::Locator::Css("#stakes button"))
            .await
            .unwrap();
        for b in buttons {
            if b.text().await.unwrap() == format!("{stake} 分") {
                b.click().await.unwrap();
                break;
            }
        }
        screen
            .wait_for_text("#step", &format!("（{stake} 分）"))
            .await;
        click(&console, ruling).await;
        screen.wait_for_any("#step", &["答对", "答错"]).await;
    }

    // Judged: one contestant per team, marked by the three judges on their phones.
    click(&console, "#next").await;
    screen.wait_for_text("#step", "第 4 / 4 轮").await;
    let marks = ["8", "6", "9"];
    for (i, mark) in marks.iter().enumerate() {
        click(&console, "#next").await;
        screen
            .wait_for_text("#step", &format!("评委评分：{}", names[i]))
            .await;
        for (j, judge) in judges.iter().enumerate() {
            judge.wait_for_text("#marks-for", names[i]).await;
            fill(judge, "#crit-0", mark).await;
            if i == 0 && j == 0 {
                judge.screenshot("stage-judge").await;
                assert_accessible(judge, "judge's phone").await;
            }
            click(judge, "#marks-form button[type=submit]").await;
        }
        // The console sees every judge's marks; the projector each total once all are in.
        console
            .wait_for_text("#judges", &format!("处置规范 {mark}"))
            .await;
        screen
            .wait_for_text("#judges", &format!("✓ {}0", mark))
            .await;
        click(&console, "#next").await;
        // "文秘处代表队 · 李晓雯 得分 80": the team, its contestant, the panel's score.
        let judged = screen.wait_for_text("#step", " 得分 ").await;
        assert!(judged.starts_with(&format!("{} · ", names[i])), "{judged}");
    }
    click(&console, "#next").await;
    // 文秘 100+10+10+80 = 200, 研究 100+10+20−20+60 = 170, 督查 100+10+30+90 = 230.
    let done = screen.wait_for_text("#step", "决赛结束").await;
    assert!(done.contains("冠军：督查处代表队"), "{done}");
    screen.wait_for_text("#board", "230").await;
    screen.wait_for_text("#audience-top", "观众小王").await;
    screen.screenshot("stage-podium").await;
    phone.wait_for_text("#aud-step", "决赛结束").await;
    phone.wait_for_text("#aud-top", "观众小王").await;
    phone.screenshot("stage-audience-podium").await;
    for b in [screen, console, phone] {
        b.close().await;
    }
    for b in teams.into_iter().chain(judges) {
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

/// A final of an exam's finalists, set up on the page: the closed exam is offered, its
/// finalists are listed in their ranking and dealt into the teams in a snake; a member who
/// did not qualify is refused by name.
#[tokio::test]
async fn a_host_carries_an_exams_finalists_into_the_teams() {
    let Some(b) = Browser::start(1280, 900).await else {
        return;
    };
    let app = spawn_app().await;
    let host = app.session(HOST).await;
    let exam = crate::exams::create(
        &app,
        &host,
        json!({
            "title": "年度初赛",
            "scope": {"members": ["d102", "d202", "d302", "d103", "d203"]},
            "qualify": {"min_score": 1},
            "paper": {"mix": [{"topic": "petition-work", "count": 3}]},
        }),
    )
    .await;
    let exam_id = exam["id"].as_str().unwrap().to_string();
    let bank = crate::exams::paper(&app, &exam_id).await;
    // Four qualify with 3, 2, 2 and 1 right; d203 answers nothing right.
    for (staff, right) in [
        ("d102", 3),
        ("d202", 2),
        ("d302", 2),
        ("d103", 1),
        ("d203", 0),
    ] {
        let s = app.session(staff).await;
        let state: Value = s
            .post(&app, &format!("/api/exams/{exam_id}/attempts"), json!({}))
            .await
            .json()
            .await
            .unwrap();
        crate::exams::answer(&app, &s, &exam_id, &state, &bank, |n| Some(n < right)).await;
        s.post(
            &app,
            &format!("/api/exams/{exam_id}/attempt/submit"),
            json!({}),
        )
        .await;
    }
    crate::exams::close_window(&app, &exam_id).await;
    let results: Value = host
        .get_json(&app, &format!("/api/exams/{exam_id}/results"))
        .await;
    let finalists: Vec<String> = results["ranking"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["finalist"] == true)
        .map(|r| r["staff_no"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(finalists.len(), 4);

    login(&b, &app, HOST, "/stages").await;
    b.wait_for_text("#s-exam", "年度初赛").await;
    b.client
        .execute(
            "const s = document.getElementById('s-exam'); s.value = arguments[0]; s.dispatchEvent(new Event('change'));",
            vec![json!(exam_id)],
        )
        .await
        .unwrap();
    b.wait_for_text("#s-finalists", "晋级选手 4 人").await;
    fill(&b, "#s-teams", "一队：\n二队：").await;
    click(&b, "#s-split").await;
    // Snake order: 1st and 4th to 一队, 2nd and 3rd to 二队.
    let teams = b
        .client
        .execute("return document.getElementById('s-teams').value;", vec![])
        .await
        .unwrap();
    assert_eq!(
        teams.as_str().unwrap(),
        format!(
            "一队：{} {}\n二队：{} {}",
            finalists[0], finalists[3], finalists[1], finalists[2]
        )
    );
    fill(&b, "#s-title", "年度决赛").await;
    fill(&b, "#s-judges", "d104 d204 d304").await;
    assert_accessible(&b, "final set-up from an exam").await;
    click(&b, "#setup button[type=submit]").await;
    b.wait_for_text("#codes-body", "二队").await;
    let carried: Option<String> = sqlx::query_scalar("SELECT exam_id FROM stages")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(carried.as_deref(), Some(exam_id.as_str()));

    // d203 did not qualify: the API names them.
    let res = host
        .post(
            &app,
            "/api/stages",
            json!({
                "title": "另一场", "exam_id": exam_id,
                "teams": [{"name": "甲", "members": ["d203"]}, {"name": "乙", "members": [finalists[0]]}],
                "rounds": [{"kind": "buzzer", "count": 1}],
            }),
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("不是这场初赛的晋级选手"));
    b.close().await;
}
