//! A stage final run over real WebSockets: the host console, the projector, three team
//! devices and three judges through a round of each kind (必答, 抢答 with a false start and a
//! wrong answer passed on, 风险, judged with a correction) to the podium; scores against an
//! independent computation; every buzz in the records; a restart in the middle of a 抢答
//! question resumes it.

use crate::helpers::*;
use crate::ws::Ws;
use serde_json::{Value, json};
use std::collections::HashMap;

pub(crate) fn set_up(rounds: Value) -> Value {
    json!({
        "title": "信访业务知识决赛",
        "teams": [
            {"name": "一队", "members": ["d102"]},
            {"name": "二队", "members": ["d202"]},
            {"name": "三队", "members": ["d302"]},
        ],
        "judges": ["d104", "d204", "d304"],
        "rounds": rounds,
        "seed": 9,
    })
}

fn all_rounds() -> Value {
    json!([
        {"kind": "compulsory", "count": 3, "right": 10},
        {"kind": "buzzer", "count": 2, "right": 20, "wrong": 10, "false_start": 5, "pass_on_wrong": true},
        {"kind": "risk", "count": 1, "stakes": [10, 20, 30]},
        {"kind": "judged", "criteria": [
            {"name": "政策把握", "max": 10, "weight": 60},
            {"name": "沟通表达", "max": 10, "weight": 40},
        ], "contestants": ["d102", "d202", "d302"]},
    ])
}

pub(crate) async fn create(app: &TestApp, host: &Session, body: Value) -> (String, Vec<String>) {
    let res = host.post(app, "/api/stages", body).await;
    assert_eq!(res.status(), 201);
    let v: Value = res.json().await.unwrap();
    let codes = v["teams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["device_code"].as_str().unwrap().to_string())
        .collect();
    (v["id"].as_str().unwrap().to_string(), codes)
}

pub(crate) async fn seat(
    app: &TestApp,
    id: &str,
    cookie: Option<&str>,
    hello: Value,
) -> (Ws, Value) {
    let path = format!("/ws/stage/{id}");
    let mut ws = match cookie {
        Some(c) => Ws::connect_path(app.port(), &path, &[("Cookie", c)]).await,
        None => Ws::connect_path(app.port(), &path, &[]).await,
    };
    ws.send(hello).await;
    let mut first = ws.next().await;
    if first["type"] == "seat" {
        // Who the socket is, then the state.
        first = ws.next().await;
    }
    (ws, first)
}

/// Waits for a state frame whose step is `step` (and, when given, round `round`).
pub(crate) async fn until_step(ws: &mut Ws, step: &str, round: Option<u64>) -> Value {
    for _ in 0..100 {
        let v = ws.next().await;
        if v["type"] == "state"
            && v["step"]["step"] == step
            && round.is_none_or(|r| v["round"]["index"] == r)
        {
            return v;
        }
    }
    panic!("no state at step {step}: {:#?}", ws.log.last());
}

pub(crate) async fn host(ws: &mut Ws, cmd: Value) {
    ws.send(cmd).await;
}

fn scores(state: &Value) -> HashMap<u64, i64> {
    state["standings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["team"].as_u64().unwrap(),
                s["score_milli"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_final_through_a_round_of_each_kind_to_the_podium() {
    let app = spawn_app().await;
    let h = app.session(HOST).await;
    let (id, codes) = create(&app, &h, set_up(all_rounds())).await;
    let host_cookie = app.cookie(HOST).await;
    let (mut console, first) = seat(
        &app,
        &id,
        Some(&host_cookie),
        json!({"type": "hello", "role": "host"}),
    )
    .await;
    assert_eq!(first["step"]["step"], "waiting");
    let (mut screen, _) = seat(
        &app,
        &id,
        Some(&host_cookie),
        json!({"type": "hello", "role": "screen"}),
    )
    .await;
    let mut teams = Vec::new();
    for code in &codes {
        let (ws, first) = seat(
            &app,
            &id,
            None,
            json!({"type": "hello", "role": "team", "code": code}),
        )
        .await;
        assert_eq!(first["type"], "state");
        teams.push(ws);
    }
    let mut judges = Vec::new();
    for staff in ["d104", "d204", "d304"] {
        let c = app.cookie(staff).await;
        let (ws, first) = seat(
            &app,
            &id,
            Some(&c),
            json!({"type": "hello", "role": "judge"}),
        )
        .await;
        assert_eq!(first["type"], "state");
        judges.push(ws);
    }
    // Wrong seats are refused: a bad code, a member who is no judge, a member at the console.
    let (mut w, e) = seat(
        &app,
        &id,
        None,
        json!({"type": "hello", "role": "team", "code": "nope"}),
    )
    .await;
    assert_eq!(e["code"], "bad_code");
    assert!(
        w.next_within(std::time::Duration::from_secs(2))
            .await
            .is_none()
    );
    let m = app.cookie(MEMBER).await;
    let (_, e) = seat(
        &app,
        &id,
        Some(&m),
        json!({"type": "hello", "role": "judge"}),
    )
    .await;
    assert_eq!(e["code"], "not_allowed");
    let (_, e) = seat(
        &app,
        &id,
        Some(&m),
        json!({"type": "hello", "role": "host"}),
    )
    .await;
    assert_eq!(e["code"], "not_allowed");

    let mut expected: [i64; 3] = [100, 100, 100];

    // 必答: question i to team i; right +10, wrong and timeout nothing.
    host(&mut console, json!({"type": "next"})).await;
    let intro = until_step(&mut screen, "intro", Some(0)).await;
    assert_eq!(intro["round"]["kind_name"], "必答题");
    for (i, ruling) in ["right", "wrong", "timeout"].iter().enumerate() {
        host(&mut console, json!({"type": "next"})).await;
        let s = until_step(&mut screen, "answering", Some(0)).await;
        assert_eq!(s["step"]["team"], i as u64, "question {i} is team {i}'s");
        assert!(
            s["question"]["answer"].is_null(),
            "no answer on the projector while asked"
        );
        let hs = until_step(&mut console, "answering", Some(0)).await;
        assert!(
            hs["question"]["answer"].is_string(),
            "the host sees the key"
        );
        host(&mut console, json!({"type": "rule", "ruling": ruling})).await;
        let r = until_step(&mut screen, "ruled", Some(0)).await;
        assert!(
            r["question"]["answer"].is_string(),
            "the answer shown after the ruling"
        );
        if *ruling == "right" {
            expected[i] += 10;
        }
    }

    // 抢答 1: team 2 buzzes early (a false start: −5); the buzzers open; team 1 then team 0
    // buzz; team 1 answers wrong (−10) and it passes to team 0, right (+20).
    host(&mut console, json!({"type": "next"})).await;
    until_step(&mut screen, "intro", Some(1)).await;
    host(&mut console, json!({"type": "next"})).await;
    until_step(&mut screen, "ready", Some(1)).await;
    teams[2].send(json!({"type": "buzz"})).await;
    // The early buzz reaches the conductor before the opening (a round trip in between).
    teams[2].send(json!({"type": "stake", "stake": 10})).await;
    let err = teams[2].until("error").await;
    assert_eq!(err["code"], "wrong_step");
    host(&mut console, json!({"type": "open"})).await;
    until_step(&mut screen, "open", Some(1)).await;
    expected[2] -= 5;
    teams[1].send(json!({"type": "buzz"})).await;
    let won = until_step(&mut screen, "answering", Some(1)).await;
    assert_eq!(
        won["step"]["team"], 1,
        "the first buzz after the opening wins"
    );
    teams[0].send(json!({"type": "buzz"})).await;
    teams[1].send(json!({"type": "buzz"})).await; // a second buzz changes nothing
    // Let the later buzzes land before the ruling.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    host(&mut console, json!({"type": "rule", "ruling": "wrong"})).await;
    expected[1] -= 10;
    let passed = until_step(&mut screen, "answering", Some(1)).await;
    assert_eq!(passed["step"]["team"], 0, "passed on in the race's order");
    host(&mut console, json!({"type": "rule", "ruling": "right"})).await;
    expected[0] += 20;
    until_step(&mut screen, "ruled", Some(1)).await;
    // 抢答 2: nobody buzzes; the host closes it.
    host(&mut console, json!({"type": "next"})).await;
    until_step(&mut screen, "ready", Some(1)).await;
    host(&mut console, json!({"type": "open"})).await;
    until_step(&mut screen, "open", Some(1)).await;
    host(&mut console, json!({"type": "rule", "ruling": "timeout"})).await;
    until_step(&mut screen, "ruled", Some(1)).await;

    // 风险: each team in turn picks a stake on its device (or the host sets it).
    host(&mut console, json!({"type": "next"})).await;
    until_step(&mut screen, "intro", Some(2)).await;
    host(&mut console, json!({"type": "next"})).await;
    until_step(&mut screen, "choosing", Some(2)).await;
    teams[1].send(json!({"type": "stake", "stake": 20})).await;
    assert_eq!(
        teams[1].until("error").await["code"],
        "wrong_step",
        "not team 1's turn"
    );
    teams[0].send(json!({"type": "stake", "stake": 30})).await;
    let s = until_step(&mut screen, "answering", Some(2)).await;
    assert_eq!(s["question"]["stake"], 30);
    host(&mut console, json!({"type": "rule", "ruling": "right"})).await;
    expected[0] += 30;
    until_step(&mut screen, "ruled", Some(2)).await;
    host(&mut console, json!({"type": "next"})).await;
    until_step(&mut screen, "choosing", Some(2)).await;
    teams[1].send(json!({"type": "stake", "stake": 20})).await;
    until_step(&mut screen, "answering", Some(2)).await;
    host(&mut console, json!({"type": "rule", "ruling": "wrong"})).await;
    expected[1] -= 20;
    until_step(&mut screen, "ruled", Some(2)).await;
    host(&mut console, json!({"type": "next"})).await;
    until_step(&mut screen, "choosing", Some(2)).await;
    host(&mut console, json!({"type": "stake", "stake": 10})).await;
    until_step(&mut screen, "answering", Some(2)).await;
    host(&mut console, json!({"type": "rule", "ruling": "right"})).await;
    expected[2] += 10;
    until_step(&mut screen, "ruled", Some(2)).await;

    // Judged: three judges mark each team (weights 60/40 of marks out of 10); fewer than five
    // judges, so the mean of all three. One judge corrects a mark, with a reason.
    host(&mut console, json!({"type": "next"})).await;
    until_step(&mut screen, "intro", Some(3)).await;
    let marks: [[[u32; 2]; 3]; 3] = [
        [[8, 7], [9, 9], [7, 6]],
        [[6, 6], [5, 8], [7, 7]],
        [[10, 9], [9, 8], [8, 10]],
    ];
    // From here in thousandths of a point: a panel's mean need not be whole.
    let mut expected: [i64; 3] = expected.map(|points| points * 1000);
    for team in 0..3usize {
        host(&mut console, json!({"type": "next"})).await;
        until_step(&mut screen, "judging", Some(3)).await;
        for (j, judge) in judges.iter_mut().enumerate() {
            judge
                .send(json!({"type": "marks", "team": team, "marks": marks[team][j]}))
                .await;
        }
        // Totals hidden from the projector until every judge has marked, then shown.
        let mut shown = Value::Null;
        for _ in 0..20 {
            let s = screen.until("state").await;
            if s["judges"]
                .as_array()
                .unwrap()
                .iter()
                .all(|j| j["marked"] == true)
            {
                shown = s;
                break;
            }
            assert!(
                s["judges"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|j| j["total"].is_null())
            );
        }
        assert!(shown["judges"][0]["total"].is_number(), "{shown}");
        // A judge's total: mark / 10 × weight, in thousandths.
        let mut totals: Vec<i64> = marks[team]
            .iter()
            .map(|m| (m[0] as i64 * 60 + m[1] as i64 * 40) * 1000 / 10)
            .collect();
        if team == 1 {
            // A correction needs a reason; with one it replaces the judge's total.
            judges[0]
                .send(json!({"type": "marks", "team": 1, "marks": [9, 9]}))
                .await;
            assert_eq!(judges[0].until("error").await["code"], "bad_marks");
            judges[0]
                .send(json!({"type": "marks", "team": 1, "marks": [9, 9], "reason": "误录"}))
                .await;
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            totals[0] = 90_000;
        }
        // Three judges (fewer than five): the mean of all, to the nearest thousandth.
        let sum: i64 = totals.iter().sum();
        let panel = (2 * sum + 3) / 6;
        // The console sees every judge's latest marks, criterion by criterion; the
        // projector never does.
        let mut want: Vec<Vec<u32>> = marks[team].iter().map(|m| m.to_vec()).collect();
        if team == 1 {
            want[0] = vec![9, 9];
        }
        let mut seen = Value::Null;
        // (The console's socket has not been read since the rounds before.)
        for _ in 0..300 {
            let c = console.until("state").await;
            let got: Vec<Value> = c["judges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|j| j["marks"].clone())
                .collect();
            if got == want.iter().map(|m| json!(m)).collect::<Vec<_>>() {
                seen = c;
                break;
            }
        }
        assert!(
            !seen.is_null(),
            "the console never showed the marks {want:?}: {:#?}",
            console.log.last()
        );
        assert!(shown["judges"][0].get("marks").is_none());
        // The round judges one contestant per team, named on every seat.
        let contestant: String = sqlx::query_scalar("SELECT name FROM members WHERE staff_no = $1")
            .bind(["d102", "d202", "d302"][team])
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
        assert_eq!(shown["contestant"], contestant.as_str());
        host(&mut console, json!({"type": "next"})).await;
        let judged = until_step(&mut screen, "judged", Some(3)).await;
        assert_eq!(judged["step"]["panel_milli"], panel, "team {team}");
        expected[team] += panel;
        assert_eq!(
            scores(&judged)[&(team as u64)],
            expected[team],
            "team {team}"
        );
    }
    host(&mut console, json!({"type": "next"})).await;
    let podium = until_step(&mut screen, "podium", None).await;
    let s = scores(&podium);
    for team in 0..3u64 {
        assert_eq!(s[&team], expected[team as usize], "team {team}");
    }
    assert_eq!(podium["status"], "ended");
    // The podium proposes the top team as 优胜团队 and its member as 业务标兵.
    let top_name = podium["standings"][0]["name"].as_str().unwrap();
    assert_eq!(podium["proposed"]["teams"], json!([top_name]));
    assert_eq!(
        podium["proposed"]["pacesetters"].as_array().unwrap().len(),
        1
    );

    // The records: every change and every buzz; the standings from them alone.
    let d: Value = h.get_json(&app, &format!("/api/stages/{id}")).await;
    let from_records: HashMap<u64, i64> = d["standings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["team"].as_u64().unwrap(),
                s["score_milli"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(from_records, s);
    let buzzes: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT team, at_us, seq FROM stage_buzzes WHERE stage_id = $1 AND round = 1 ORDER BY seq",
    )
    .bind(&id)
    .fetch_all(&app.db.pool)
    .await
    .unwrap();
    let teams_in_order: Vec<i64> = buzzes.iter().map(|b| b.0).collect();
    // Every buzz is stored: the false start, the winner, then team 0's and team 1's second
    // (sent from two sockets at once: either may arrive first).
    assert_eq!(teams_in_order[..2], [2, 1], "{teams_in_order:?}");
    let mut rest = teams_in_order[2..].to_vec();
    rest.sort_unstable();
    assert_eq!(rest, [0, 1]);
    // Receive order and time agree.
    assert!(buzzes.windows(2).all(|w| w[0].1 <= w[1].1), "{buzzes:?}");
    assert!(
        buzzes[0].1 < 0,
        "the false start is timed before the opening"
    );
    assert!(buzzes[1..].iter().all(|b| b.1 >= 0));
    let marks_rows: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM stage_marks WHERE stage_id = $1 AND corrects IS NOT NULL",
    )
    .bind(&id)
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(
        marks_rows, 1,
        "the correction is a new row naming the old one"
    );

    // Awards: the top team is 优胜团队 and its members 业务标兵, once; they are on the honour
    // roll with the final's title.
    let top = podium["standings"][0]["team"].as_u64().unwrap();
    assert_eq!(podium["standings"][1]["rank"], 2, "no tie for first here");
    let res = h
        .post(&app, &format!("/api/stages/{id}/awards"), json!({}))
        .await;
    assert_eq!(res.status(), 200);
    let a: Value = res.json().await.unwrap();
    assert_eq!(a["team_awards"].as_array().unwrap().len(), 1);
    assert_eq!(
        a["awards"].as_array().unwrap().len(),
        1,
        "the top team has one member"
    );
    let again = h
        .post(&app, &format!("/api/stages/{id}/awards"), json!({}))
        .await;
    assert_eq!(again.status(), 409);
    let honors = h.get(&app, "/honors").await.text().await.unwrap();
    let team_name = ["一队", "二队", "三队"][top as usize];
    assert!(
        honors.contains(team_name) && honors.contains("决赛"),
        "{honors}"
    );
    let member: String = sqlx::query_scalar(
        "SELECT m.staff_no FROM awards a JOIN members m ON m.id = a.member_id WHERE a.stage_id = $1",
    )
    .bind(&id)
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(member, ["d102", "d202", "d302"][top as usize]);

    // The report: every change and every buzz, from the records.
    let res = h.get(&app, &format!("/api/stages/{id}/report.xlsx")).await;
    assert_eq!(res.status(), 200);
    let bytes = res.bytes().await.unwrap();
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    assert_eq!(
        book.sheet_names(),
        ["比分", "计分过程", "抢答记录", "评委评分"]
    );
    let changes: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM stage_changes WHERE stage_id = $1")
        .bind(&id)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    let process = book.worksheet_range("计分过程").unwrap();
    assert_eq!(process.height() as i64, changes + 1);
    let buzz_sheet = book.worksheet_range("抢答记录").unwrap();
    assert_eq!(buzz_sheet.height(), 5);
    // 比分: base, one column per round, the score; the rounds add up to the score.
    let board = book.worksheet_range("比分").unwrap();
    assert_eq!(board.get((0, 3)).unwrap().to_string(), "第1轮 必答题");
    assert_eq!(board.get((0, 7)).unwrap().to_string(), "得分");
    let number = |r: usize, c: usize| {
        board
            .get((r, c))
            .unwrap()
            .to_string()
            .parse::<f64>()
            .unwrap()
    };
    let expected_top = expected[top as usize] as f64 / 1000.0;
    assert!(
        (number(1, 7) - expected_top).abs() < 1e-6,
        "{}",
        number(1, 7)
    );
    for row in 1..=3 {
        let rounds: f64 = (3..7).map(|c| number(row, c)).sum();
        assert!(
            (number(row, 2) + rounds - number(row, 7)).abs() < 1e-6,
            "row {row}"
        );
    }
    let marks_sheet = book.worksheet_range("评委评分").unwrap();
    assert_eq!(
        marks_sheet.height(),
        1 + 9 + 1,
        "nine marks and one correction"
    );
    let first_contestant: String =
        sqlx::query_scalar("SELECT name FROM members WHERE staff_no = 'd102'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(marks_sheet.get((0, 2)).unwrap().to_string(), "上场选手");
    assert_eq!(
        marks_sheet.get((1, 2)).unwrap().to_string(),
        first_contestant
    );
}

#[tokio::test]
async fn a_restart_in_the_middle_of_a_buzzer_question_resumes_it() {
    let (_dir, url) = fresh_sqlite();
    let app = spawn_demo_on(&url).await;
    let h = app.session(HOST).await;
    let (id, codes) = create(
        &app,
        &h,
        set_up(json!([{"kind": "buzzer", "count": 1, "right": 20}])),
    )
    .await;
    let cookie = app.cookie(HOST).await;
    let (mut console, _) = seat(
        &app,
        &id,
        Some(&cookie),
        json!({"type": "hello", "role": "host"}),
    )
    .await;
    host(&mut console, json!({"type": "next"})).await;
    until_step(&mut console, "intro", Some(0)).await;
    host(&mut console, json!({"type": "next"})).await;
    until_step(&mut console, "ready", Some(0)).await;
    host(&mut console, json!({"type": "open"})).await;
    until_step(&mut console, "open", Some(0)).await;
    drop(console);
    app.handle.stop(true).await;
    drop(app);

    // The same records, a new server: the question is still open and a buzz wins it.
    let app = spawn_demo_on(&url).await;
    let cookie = app.cookie(HOST).await;
    let (mut console, first) = seat(
        &app,
        &id,
        Some(&cookie),
        json!({"type": "hello", "role": "host"}),
    )
    .await;
    assert_eq!(first["step"]["step"], "open", "{first}");
    let (mut team, _) = seat(
        &app,
        &id,
        None,
        json!({"type": "hello", "role": "team", "code": codes[2]}),
    )
    .await;
    team.send(json!({"type": "buzz"})).await;
    let s = until_step(&mut console, "answering", Some(0)).await;
    assert_eq!(s["step"]["team"], 2);
    host(&mut console, json!({"type": "rule", "ruling": "right"})).await;
    let r = until_step(&mut console, "ruled", Some(0)).await;
    assert_eq!(scores(&r)[&2], 120_000);
}

/// With `--buzzer-bind`, team devices buzz through a listener of their own: the team page
/// points its socket there, a buzz on it wins the question, and nothing but a team seat is
/// served on it.
#[tokio::test]
async fn team_devices_buzz_through_a_listener_of_their_own() {
    let app = spawn_app_edited(
        Options {
            demo: true,
            ..Options::default()
        },
        |s| s.buzzer_bind = Some("127.0.0.1:0".into()),
    )
    .await;
    let buzzer = app.state.buzzer_port.expect("a buzzer listener");
    assert_ne!(buzzer, app.port());
    let h = app.session(HOST).await;
    let (id, codes) = create(
        &app,
        &h,
        set_up(json!([{"kind": "buzzer", "count": 1, "right": 20}])),
    )
    .await;
    let page = reqwest::get(format!("{}/stage/{id}/team", app.address))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("data-buzzer=\"{buzzer}\"")),
        "{page}"
    );
    let screen_page = h
        .get(&app, &format!("/stage/{id}/screen"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !screen_page.contains("data-buzzer"),
        "only team devices go there"
    );

    let cookie = app.cookie(HOST).await;
    let path = format!("/ws/stage/{id}");
    // The console on the buzzer listener is refused, cookie or not.
    let mut wrong = Ws::connect_path(buzzer, &path, &[("Cookie", &cookie)]).await;
    wrong.send(json!({"type": "hello", "role": "host"})).await;
    assert_eq!(wrong.next().await["code"], "not_allowed");

    let (mut console, _) = seat(
        &app,
        &id,
        Some(&cookie),
        json!({"type": "hello", "role": "host"}),
    )
    .await;
    let mut team = Ws::connect_path(buzzer, &path, &[]).await;
    team.send(json!({"type": "hello", "role": "team", "code": codes[1]}))
        .await;
    assert_eq!(team.next().await["type"], "seat");
    host(&mut console, json!({"type": "next"})).await;
    host(&mut console, json!({"type": "next"})).await;
    until_step(&mut console, "ready", Some(0)).await;
    host(&mut console, json!({"type": "open"})).await;
    until_step(&mut console, "open", Some(0)).await;
    team.send(json!({"type": "buzz"})).await;
    let s = until_step(&mut console, "answering", Some(0)).await;
    assert_eq!(s["step"]["team"], 1);
    let recorded: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM stage_buzzes WHERE stage_id = $1")
        .bind(&id)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(recorded, 1);
}

/// In a round that answers on the device, the team whose turn it is answers on its tablet and
/// the key grades it (the answer given is in the records); another team, a wrong shape and a
/// spoken round are refused; the host may still rule.
#[tokio::test]
async fn a_team_answers_on_its_device_where_the_round_says_so() {
    let app = spawn_app().await;
    let h = app.session(HOST).await;
    let (id, codes) = create(
        &app,
        &h,
        set_up(json!([
            {"kind": "compulsory", "count": 3, "right": 10, "wrong": 5, "on_device": true},
            {"kind": "risk", "count": 1, "stakes": [10, 20, 30], "on_device": true},
            {"kind": "buzzer", "count": 1, "right": 20},
        ])),
    )
    .await;
    let versions: Vec<(i64, i64, String)> = sqlx::query_as(
        "SELECT round, position, question_version FROM stage_questions WHERE stage_id = $1 ORDER BY round, position",
    )
    .bind(&id)
    .fetch_all(&app.db.pool)
    .await
    .unwrap();
    let mut questions: HashMap<(i64, i64), biwu::domain::Question> = HashMap::new();
    for (r, p, v) in versions {
        let q = biwu::records::questions::at_version(&app.db, &v)
            .await
            .unwrap()
            .unwrap();
        questions.insert((r, p), q);
    }
    let cookie = app.cookie(HOST).await;
    let (mut console, _) = seat(
        &app,
        &id,
        Some(&cookie),
        json!({"type": "hello", "role": "host"}),
    )
    .await;
    let mut teams = Vec::new();
    for code in &codes {
        let (ws, _) = seat(
            &app,
            &id,
            None,
            json!({"type": "hello", "role": "team", "code": code}),
        )
        .await;
        teams.push(ws);
    }
    host(&mut console, json!({"type": "next"})).await;
    host(&mut console, json!({"type": "next"})).await;
    until_step(&mut console, "answering", Some(0)).await;
    // Not this team's turn.
    teams[1]
        .send(json!({"type": "answer", "response": right_answer(&questions[&(0, 0)])}))
        .await;
    assert_eq!(teams[1].until("error").await["code"], "wrong_step");
    teams[0]
        .send(json!({"type": "answer", "response": right_answer(&questions[&(0, 0)])}))
        .await;
    let r = until_step(&mut console, "ruled", Some(0)).await;
    assert_eq!(r["step"]["ruling"], "right");
    assert_eq!(scores(&r)[&0], 110_000);

    host(&mut console, json!({"type": "next"})).await;
    until_step(&mut console, "answering", Some(0)).await;
    teams[1]
        .send(json!({"type": "answer", "response": wrong_answer(&questions[&(0, 1)])}))
        .await;
    let r = until_step(&mut console, "ruled", Some(0)).await;
    assert_eq!(r["step"]["ruling"], "wrong");
    assert_eq!(scores(&r)[&1], 95_000);

    // A response of the wrong shape is refused; the host rules instead (a device that fails).
    host(&mut console, json!({"type": "next"})).await;
    until_step(&mut console, "answering", Some(0)).await;
    let shape = match &questions[&(0, 2)].answer {
        biwu::domain::AnswerKey::Date(_) => json!({"type": "truefalse", "value": true}),
        _ => json!({"type": "date", "value": "2022-05-01"}),
    };
    teams[2]
        .send(json!({"type": "answer", "response": shape}))
        .await;
    assert_eq!(teams[2].until("error").await["code"], "wrong_step");
    host(&mut console, json!({"type": "rule", "ruling": "timeout"})).await;
    let r = until_step(&mut console, "ruled", Some(0)).await;
    assert_eq!(scores(&r)[&2], 95_000);

    // 风险 on the device: the stake, then the answer.
    host(&mut console, json!({"type": "next"})).await;
    until_step(&mut console, "intro", Some(1)).await;
    host(&mut console, json!({"type": "next"})).await;
    until_step(&mut console, "choosing", Some(1)).await;
    teams[0].send(json!({"type": "stake", "stake": 20})).await;
    let s = until_step(&mut console, "answering", Some(1)).await;
    let q = s["step"]["q"].as_i64().unwrap();
    teams[0]
        .send(json!({"type": "answer", "response": right_answer(&questions[&(1, q)])}))
        .await;
    let r = until_step(&mut console, "ruled", Some(1)).await;
    assert_eq!(scores(&r)[&0], 130_000);

    // What the device sent is in the records with the change it made; the host's ruling has
    // its actor and no answer.
    let whys: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT why, actor FROM stage_changes WHERE stage_id = $1 ORDER BY seq")
            .bind(&id)
            .fetch_all(&app.db.pool)
            .await
            .unwrap();
    let first: Value = serde_json::from_str(&whys[0].0).unwrap();
    let sent: biwu::domain::Response =
        serde_json::from_value(right_answer(&questions[&(0, 0)])).unwrap();
    assert_eq!(first["given"], sent.display().as_str(), "{first}");
    assert!(whys[0].1.is_none(), "graded by the key, not by a member");
    let third: Value = serde_json::from_str(&whys[2].0).unwrap();
    assert!(
        third.get("given").is_none() && whys[2].1.is_some(),
        "{third}"
    );

    // The other teams' turns: the host sets the stake and rules for them.
    for _ in 1..3 {
        host(&mut console, json!({"type": "next"})).await;
        until_step(&mut console, "choosing", Some(1)).await;
        host(&mut console, json!({"type": "stake", "stake": 10})).await;
        until_step(&mut console, "answering", Some(1)).await;
        host(&mut console, json!({"type": "rule", "ruling": "wrong"})).await;
        until_step(&mut console, "ruled", Some(1)).await;
    }
    // The host's rulings and stakes are in the audit log, the key's gradings are not.
    let rulings: Vec<String> = sqlx::query_scalar(
        "SELECT detail FROM audit_log WHERE action = 'stage.ruling' AND subject = $1",
    )
    .bind(&id)
    .fetch_all(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(rulings.len(), 3, "{rulings:?}");
    assert!(rulings.iter().all(|d| d.contains("\"ruling\"")));
    let stakes: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'stage.stake' AND subject = $1",
    )
    .bind(&id)
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(stakes, 2);

    // A spoken round: the device may not answer.
    host(&mut console, json!({"type": "next"})).await;
    let s = until_step(&mut console, "intro", Some(2)).await;
    assert_eq!(s["round"]["kind"], "buzzer");
    host(&mut console, json!({"type": "next"})).await;
    host(&mut console, json!({"type": "open"})).await;
    until_step(&mut console, "open", Some(2)).await;
    teams[1].send(json!({"type": "buzz"})).await;
    until_step(&mut console, "answering", Some(2)).await;
    teams[1]
        .send(json!({"type": "answer", "response": right_answer(&questions[&(2, 0)])}))
        .await;
    let e = teams[1].until("error").await;
    assert!(e["message"].as_str().unwrap().contains("口头作答"), "{e}");
}
