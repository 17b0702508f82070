//! The audience of a stage final plays along (观众互动): phones that typed the final's PIN on
//! the play page are sent to the audience page; guests and members join, answer the
//! question the teams are asked, get an `ack` once the answer is in the records and the
//! answer with their standing when the host rules; their board is their own, at the podium
//! and on the projector; a restart keeps their answers.

use crate::helpers::*;
use crate::stage_live::{create, host, seat, set_up, until_step};
use crate::ws::Ws;
use biwu::domain::Question;
use serde_json::{Value, json};

pub(crate) async fn questions_of(app: &TestApp, stage: &str, round: i64) -> Vec<Question> {
    let versions: Vec<String> = sqlx::query_scalar(
        "SELECT question_version FROM stage_questions WHERE stage_id = $1 AND round = $2 \
         ORDER BY position",
    )
    .bind(stage)
    .bind(round)
    .fetch_all(&app.db.pool)
    .await
    .unwrap();
    let mut out = Vec::new();
    for v in versions {
        out.push(
            biwu::records::questions::at_version(&app.db, &v)
                .await
                .unwrap()
                .unwrap(),
        );
    }
    out
}

/// An audience phone: its socket and the `seat` frame (or the refusal).
async fn phone(app: &TestApp, stage: &str, cookie: Option<&str>, hello: Value) -> (Ws, Value) {
    let path = format!("/ws/stage/{stage}");
    let mut ws = match cookie {
        Some(c) => Ws::connect_path(app.port(), &path, &[("Cookie", c)]).await,
        None => Ws::connect_path(app.port(), &path, &[]).await,
    };
    ws.send(hello).await;
    let first = ws.next().await;
    (ws, first)
}

/// The next frame of `kind`, skipping others.
async fn until(ws: &mut Ws, kind: &str) -> Value {
    for _ in 0..50 {
        let v = ws.next().await;
        if v["type"] == kind {
            return v;
        }
    }
    panic!("no {kind} frame: {:#?}", ws.log);
}

async fn answer(ws: &mut Ws, round: u64, index: u64, response: Value) -> Value {
    ws.send(json!({"type": "answer", "round": round, "index": index, "response": response}))
        .await;
    loop {
        let v = ws.next().await;
        if v["type"] == "ack" || v["type"] == "error" {
            return v;
        }
    }
}

fn audience_on() -> Value {
    let mut body = set_up(json!([
        {"kind": "compulsory", "count": 3, "right": 10},
        {"kind": "buzzer", "count": 1, "right": 20},
    ]));
    body["settings"] = json!({"audience": true});
    body
}

async fn plays_along(app: TestApp) {
    let h = app.session(HOST).await;
    let (id, codes) = create(&app, &h, audience_on()).await;
    let detail: Value = h
        .get(&app, &format!("/api/stages/{id}"))
        .await
        .json()
        .await
        .unwrap();
    let pin = detail["audience_pin"].as_str().unwrap().to_string();
    assert!(
        pin.len() == 6 && pin.chars().all(|c| c.is_ascii_digit()),
        "{pin}"
    );

    // The play page's socket sends a phone with the final's PIN to the audience page.
    let (_, moved) = Ws::hello_player(&app, None, &pin, Some("甲"), None).await;
    assert_eq!(moved["code"], "moved", "{moved}");
    assert_eq!(moved["message"], format!("/stage/{id}/audience"));
    let page = reqwest::get(format!("{}/stage/{id}/audience", app.address))
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("stage_audience.js"));

    // Guests by nickname, a member under their own name; a taken or empty nickname is refused.
    let (mut jia, seat_jia) = phone(
        &app,
        &id,
        None,
        json!({"type": "hello", "role": "audience", "name": "甲"}),
    )
    .await;
    assert_eq!(seat_jia["type"], "seat", "{seat_jia}");
    let token_jia = seat_jia["token"].as_str().unwrap().to_string();
    assert_eq!(seat_jia["title"], "信访业务知识决赛");
    let (yi, _) = phone(
        &app,
        &id,
        None,
        json!({"type": "hello", "role": "audience", "name": "乙"}),
    )
    .await;
    let member_cookie = app.cookie(MEMBER).await;
    let (mem, seat_mem) = phone(
        &app,
        &id,
        Some(&member_cookie),
        json!({"type": "hello", "role": "audience"}),
    )
    .await;
    let member_name: String = sqlx::query_scalar("SELECT name FROM members WHERE staff_no = $1")
        .bind(MEMBER)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(seat_mem["name"], member_name.as_str());
    let (_, taken) = phone(
        &app,
        &id,
        None,
        json!({"type": "hello", "role": "audience", "name": "甲"}),
    )
    .await;
    assert_eq!(taken["code"], "name_taken", "{taken}");
    let (_, empty) = phone(
        &app,
        &id,
        None,
        json!({"type": "hello", "role": "audience", "name": "  "}),
    )
    .await;
    assert_eq!(empty["code"], "bad_frame", "{empty}");
    assert_eq!(until(&mut jia, "idle").await["type"], "idle");

    let cookie = app.cookie(HOST).await;
    let (mut console, _) = seat(
        &app,
        &id,
        Some(&cookie),
        json!({"type": "hello", "role": "host"}),
    )
    .await;
    let (mut screen, _) = seat(
        &app,
        &id,
        Some(&cookie),
        json!({"type": "hello", "role": "screen"}),
    )
    .await;
    let (mut team2, _) = seat(
        &app,
        &id,
        None,
        json!({"type": "hello", "role": "team", "code": codes[1]}),
    )
    .await;

    let compulsory = questions_of(&app, &id, 0).await;
    let buzzer = questions_of(&app, &id, 1).await;
    host(&mut console, json!({"type": "next"})).await; // the round's card
    until_step(&mut console, "intro", Some(0)).await;

    // Who answers what: (甲, 乙, member) per question; None: no answer.
    let plan: [[Option<bool>; 3]; 3] = [
        [Some(true), Some(false), None],
        [Some(true), Some(true), Some(false)],
        [None, None, None],
    ];
    let mut phones = [jia, yi, mem];
    for (q, who) in plan.iter().enumerate() {
        host(&mut console, json!({"type": "next"})).await;
        until_step(&mut console, "answering", Some(0)).await;
        for (p, ws) in phones.iter_mut().enumerate() {
            let ask = until(ws, "ask").await;
            assert_eq!(
                (ask["round"].as_u64(), ask["index"].as_u64()),
                (Some(0), Some(q as u64))
            );
            assert!(
                ask.get("answer").is_none(),
                "no key before the ruling: {ask}"
            );
            assert_eq!(ask["stem"], compulsory[q].stem.as_str());
            if let Some(right) = who[p] {
                let r = if right {
                    right_answer(&compulsory[q])
                } else {
                    wrong_answer(&compulsory[q])
                };
                let ack = answer(ws, 0, q as u64, r.clone()).await;
                assert_eq!(ack["type"], "ack", "{ack}");
                // Once per question; only the question on stage.
                let again = answer(ws, 0, q as u64, r).await;
                assert_eq!(again["code"], "bad_answer", "{again}");
            }
        }
        let other = answer(
            &mut phones[2],
            0,
            (q as u64 + 1) % 3,
            right_answer(&compulsory[(q + 1) % 3]),
        )
        .await;
        assert_eq!(
            other["code"], "bad_answer",
            "an answer to another question: {other}"
        );
        host(&mut console, json!({"type": "rule", "ruling": "right"})).await;
        until_step(&mut console, "ruled", Some(0)).await;
        for (p, ws) in phones.iter_mut().enumerate() {
            let r = until(ws, "result").await;
            assert_eq!(r["index"], q as u64);
            assert_eq!(r["answer"], compulsory[q].answer.display());
            assert_eq!(r["correct"], json!(who[p]), "phone {p}, question {q}: {r}");
        }
    }
    // 抢答: the audience answers from the moment the question is shown.
    host(&mut console, json!({"type": "next"})).await; // past the last 必答 question: round 2's card
    until_step(&mut console, "intro", Some(1)).await;
    host(&mut console, json!({"type": "next"})).await;
    until_step(&mut console, "ready", Some(1)).await;
    let ask = until(&mut phones[1], "ask").await;
    assert_eq!(ask["round"], 1);
    assert_eq!(
        answer(&mut phones[1], 1, 0, right_answer(&buzzer[0])).await["type"],
        "ack"
    );
    host(&mut console, json!({"type": "open"})).await;
    until_step(&mut console, "open", Some(1)).await;
    team2.send(json!({"type": "buzz"})).await;
    until_step(&mut console, "answering", Some(1)).await;
    host(&mut console, json!({"type": "rule", "ruling": "right"})).await;
    until_step(&mut console, "ruled", Some(1)).await;
    let r = until(&mut phones[1], "result").await;
    assert_eq!(
        (r["correct"].as_bool(), r["points"].as_i64()),
        (Some(true), Some(2))
    );

    // The podium: the audience's board, independent of the teams'.
    host(&mut console, json!({"type": "next"})).await;
    let podium = until_step(&mut screen, "podium", None).await;
    let mut expected = [("甲", 2), ("乙", 2), (member_name.as_str(), 0)];
    // Equal points: the smaller total time of the right answers first (from the records).
    let times: Vec<(String, i64)> = sqlx::query_as(
        "SELECT a.name, CAST(SUM(x.elapsed_ms) AS BIGINT) FROM stage_audience_answers x \
         JOIN stage_audience a ON a.stage_id = x.stage_id AND a.id = x.player_id \
         WHERE x.stage_id = $1 AND ((x.round = 0 AND x.position IN (0, 1) AND a.name = '甲') \
         OR (a.name = '乙' AND ((x.round = 0 AND x.position = 1) OR x.round = 1))) GROUP BY a.name",
    )
    .bind(&id)
    .fetch_all(&app.db.pool)
    .await
    .unwrap();
    let t = |n: &str| times.iter().find(|x| x.0 == n).map_or(0, |x| x.1);
    if t("乙") < t("甲") {
        expected.swap(0, 1);
    }
    for ws in phones.iter_mut() {
        let p = until(ws, "podium").await;
        let top: Vec<(String, i64)> = p["top"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["name"].as_str().unwrap().to_string(),
                    r["points"].as_i64().unwrap(),
                )
            })
            .collect();
        let want: Vec<(String, i64)> = expected.iter().map(|(n, p)| (n.to_string(), *p)).collect();
        assert_eq!(top, want);
        assert_eq!(p["players"], 3);
    }
    // The projector's corner: the PIN, the count and the same board.
    let mut s = podium;
    for _ in 0..20 {
        if s["audience"]["top"]
            .as_array()
            .is_some_and(|t| t.len() == 3 && t[0]["points"] == 2)
        {
            break;
        }
        s = screen.next().await;
    }
    assert_eq!(s["audience"]["pin"], pin.as_str());
    assert_eq!(s["audience"]["players"], 3);
    assert_eq!(s["audience"]["top"][0]["name"], expected[0].0);
    // The teams' board does not count the audience.
    let team_total: i64 = s["standings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["score_milli"].as_i64().unwrap())
        .sum();
    assert_eq!(team_total, 300_000 + 3 * 10_000 + 20_000);

    // Records: three players, six answers; a phone rejoins with its token as the same player.
    let players: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM stage_audience WHERE stage_id = $1")
            .bind(&id)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    let answers: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM stage_audience_answers WHERE stage_id = $1")
            .bind(&id)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!((players, answers), (3, 6));
    let (mut again, seat_again) = phone(
        &app,
        &id,
        None,
        json!({"type": "hello", "role": "audience", "token": token_jia}),
    )
    .await;
    assert_eq!(seat_again["name"], "甲");
    assert!(seat_again["token"].is_null(), "no new token for a rejoin");
    let p = until(&mut again, "podium").await;
    assert_eq!(p["you"]["points"], 2);
}

on_both_databases!(
    the_audience_plays_along_with_a_board_of_its_own_on_sqlite,
    the_audience_plays_along_with_a_board_of_its_own_on_postgres,
    plays_along
);

#[tokio::test]
async fn a_final_without_audience_refuses_phones_and_has_no_pin() {
    let app = spawn_app().await;
    let h = app.session(HOST).await;
    let (id, _) = create(&app, &h, set_up(json!([{"kind": "buzzer", "count": 1}]))).await;
    let detail: Value = h
        .get(&app, &format!("/api/stages/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(detail["audience_pin"].is_null());
    let (_, e) = phone(
        &app,
        &id,
        None,
        json!({"type": "hello", "role": "audience", "name": "甲"}),
    )
    .await;
    assert_eq!(e["code"], "not_allowed", "{e}");
    assert_eq!(
        h.get(&app, &format!("/api/stages/{id}/qr.svg"))
            .await
            .status(),
        404
    );
    let (with, _) = create(&app, &h, audience_on()).await;
    let qr = h.get(&app, &format!("/api/stages/{with}/qr.svg")).await;
    assert_eq!(qr.status(), 200);
    assert!(qr.text().await.unwrap().contains("<svg"));
}

#[tokio::test]
async fn a_restart_keeps_the_audiences_answers() {
    let (_dir, url) = fresh_sqlite();
    let app = spawn_demo_on(&url).await;
    let h = app.session(HOST).await;
    let (id, _) = create(&app, &h, audience_on()).await;
    let questions = questions_of(&app, &id, 0).await;
    let cookie = app.cookie(HOST).await;
    let (mut console, _) = seat(
        &app,
        &id,
        Some(&cookie),
        json!({"type": "hello", "role": "host"}),
    )
    .await;
    let (mut jia, seat_jia) = phone(
        &app,
        &id,
        None,
        json!({"type": "hello", "role": "audience", "name": "甲"}),
    )
    .await;
    let token = seat_jia["token"].as_str().unwrap().to_string();
    host(&mut console, json!({"type": "next"})).await;
    host(&mut console, json!({"type": "next"})).await;
    until_step(&mut console, "answering", Some(0)).await;
    until(&mut jia, "ask").await;
    assert_eq!(
        answer(&mut jia, 0, 0, right_answer(&questions[0])).await["type"],
        "ack"
    );
    drop((console, jia));
    app.handle.stop(true).await;
    drop(app);

    let app = spawn_demo_on(&url).await;
    let (mut jia, _) = phone(
        &app,
        &id,
        None,
        json!({"type": "hello", "role": "audience", "token": token}),
    )
    .await;
    let ask = until(&mut jia, "ask").await;
    assert_eq!(
        ask["answered"], true,
        "the answer before the restart counts: {ask}"
    );
    let again = answer(&mut jia, 0, 0, right_answer(&questions[0])).await;
    assert_eq!(again["code"], "bad_answer");
    // Not counted before the host rules: the console's audience board still says 0.
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let cookie = app.cookie(HOST).await;
    let (mut console, first) = seat(
        &app,
        &id,
        Some(&cookie),
        json!({"type": "hello", "role": "host"}),
    )
    .await;
    assert_eq!(
        first["audience"]["top"][0]["points"], 0,
        "{}",
        first["audience"]
    );
    host(&mut console, json!({"type": "rule", "ruling": "right"})).await;
    let r = until(&mut jia, "result").await;
    assert_eq!(
        (r["correct"].as_bool(), r["points"].as_i64()),
        (Some(true), Some(1))
    );
}
