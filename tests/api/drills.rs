//! Drills through the API: every kind right and wrong, time-outs, resume, summaries, the
//! notebook (from drills and live competitions), access rules and leaderboards.

use crate::helpers::*;
use crate::helpers::{right_answer as right, wrong_answer as wrong};
use biwu::board::Leaderboard;
use biwu::domain::{Kind, Question};
use biwu::drill::Period;
use biwu::records::{drills as rec, questions};
use serde_json::{Value, json};

/// A fresh member with no history, logged in.
pub(crate) async fn newcomer(app: &TestApp, staff_no: &str) -> Session {
    app.add_member(staff_no, "newcomer-pass").await;
    app.session_with(staff_no, "newcomer-pass").await
}

/// One question of each kind, twice: the drill answers the first of each right, the second wrong.
pub(crate) fn every_kind() -> Vec<Question> {
    let bank = biwu::bank::load(&bank_dir());
    let mut out = Vec::new();
    for kind in Kind::ALL {
        let mut it = bank.questions().filter(|q| q.kind == kind);
        out.push(it.next().unwrap().clone());
        out.push(it.next().unwrap().clone());
    }
    out
}

pub(crate) async fn drill_of(
    app: &TestApp,
    member_id: &str,
    qs: &[Question],
    limit_ms: Option<i64>,
) -> String {
    let mut items = Vec::new();
    for q in qs {
        let c = questions::current(&app.db, &q.id).await.unwrap().unwrap();
        items.push((q.id.clone(), c.version));
    }
    rec::create(
        &app.db,
        rec::NewDrill {
            member_id,
            mode: "topics",
            settings: "{}",
            seed: 7,
            time_limit_ms: limit_ms,
            items: &items,
            task_id: None,
        },
    )
    .await
    .unwrap()
}

on_both_databases!(
    a_drill_of_every_kind_right_and_wrong_then_the_summary,
    every_kind_right_and_wrong_on_postgres,
    every_kind_right_and_wrong
);

async fn every_kind_right_and_wrong(app: TestApp) {
    let me = newcomer(&app, "n001").await;
    let qs = every_kind();
    let id = drill_of(&app, me.member["id"].as_str().unwrap(), &qs, None).await;
    let mut expected_right = 0;
    for (i, q) in qs.iter().enumerate() {
        let state: Value = me.get_json(&app, &format!("/api/drills/{id}")).await;
        let cur = &state["current"];
        assert_eq!(cur["position"], i as u64);
        assert_eq!(cur["stem"], q.stem.as_str());
        assert!(
            cur.get("answer").is_none() && cur.get("explanation").is_none(),
            "no answer before answering"
        );
        assert!(cur["remaining_ms"].is_null(), "untimed");
        let give_right = i % 2 == 0;
        let body = json!({"position": i, "answer": if give_right { right(q) } else { wrong(q) }});
        let res = me
            .post(&app, &format!("/api/drills/{id}/answers"), body)
            .await;
        assert_eq!(res.status(), 200, "{}", q.id);
        let fb: Value = res.json().await.unwrap();
        assert_eq!(fb["correct"], give_right, "{} {:?}", q.id, q.kind);
        assert_eq!(fb["timed_out"], false);
        assert_eq!(fb["explanation"], q.explanation.as_str());
        assert_eq!(fb["source"], q.source.as_str());
        assert_eq!(fb["answer"], q.answer.display().as_str());
        if give_right {
            expected_right += 1;
            assert!(fb["notebook"].is_null());
        } else {
            assert_eq!(fb["notebook"], "added");
        }
        assert_eq!(fb["finished"], i + 1 == qs.len());
    }
    let s: Value = me
        .get_json(&app, &format!("/api/drills/{id}/summary"))
        .await;
    assert_eq!(s["correct"], expected_right, "{s}");
    assert_eq!(s["answered"], qs.len());
    assert!((s["accuracy"].as_f64().unwrap() - 0.5).abs() < 1e-9);
    let topic_total: u64 = s["by_topic"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["total"].as_u64().unwrap())
        .sum();
    let topic_right: u64 = s["by_topic"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["right"].as_u64().unwrap())
        .sum();
    assert_eq!((topic_total, topic_right), (12, 6));
    assert_eq!(s["notebook_added"].as_array().unwrap().len(), 6);
    assert_eq!(s["previous"]["drills"], 0);
    // Finished: more answers are refused and change nothing.
    let res = me
        .post(
            &app,
            &format!("/api/drills/{id}/answers"),
            json!({"position": 12, "answer": right(&qs[0])}),
        )
        .await;
    assert_eq!(res.status(), 409);
    let book: Value = me.get_json(&app, "/api/notebook").await;
    assert_eq!(book["entries"].as_array().unwrap().len(), 6);
    assert_eq!(book["mastery_streak"], 3);
}

#[tokio::test]
async fn bad_answers_change_nothing_and_drills_are_private() {
    let app = spawn_app().await;
    let me = newcomer(&app, "n002").await;
    let other = app.session(MEMBER).await;
    let qs = every_kind();
    let id = drill_of(&app, me.member["id"].as_str().unwrap(), &qs[..4], None).await;
    let url = format!("/api/drills/{id}/answers");
    // The first question is single choice: a date is the wrong shape.
    let res = me
        .post(
            &app,
            &url,
            json!({"position": 0, "answer": {"type":"date","value":"2022-05-01"}}),
        )
        .await;
    assert_eq!(res.status(), 422);
    let res = me
        .post(
            &app,
            &url,
            json!({"position": 0, "answer": {"type":"choice","value":"Z"}}),
        )
        .await;
    assert_eq!(res.status(), 422);
    let res = me
        .post(&app, &url, json!({"position": 1, "answer": right(&qs[1])}))
        .await;
    assert_eq!(res.status(), 409, "not the current question");
    let res = me.post(&app, &url, json!({"position": 0})).await;
    assert_eq!(res.status(), 400);
    let state: Value = me.get_json(&app, &format!("/api/drills/{id}")).await;
    assert_eq!(state["answered"], 0, "nothing was recorded");
    // Someone else's drill: 403; nobody: 401; unknown: 404.
    assert_eq!(
        other.get(&app, &format!("/api/drills/{id}")).await.status(),
        403
    );
    assert_eq!(
        other
            .post(&app, &url, json!({"position": 0, "answer": right(&qs[0])}))
            .await
            .status(),
        403
    );
    assert_eq!(
        client()
            .get(app.url(&format!("/api/drills/{id}")))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(me.get(&app, "/api/drills/nope").await.status(), 404);
    let res = me
        .post(&app, "/api/drills", json!({"mode":"topics","count":7}))
        .await;
    assert_eq!(res.status(), 422);
    let res = me
        .post(&app, "/api/drills", json!({"mode":"notebook","count":10}))
        .await;
    assert_eq!(res.status(), 422, "an empty notebook has nothing to review");
    let res = me
        .post(&app, "/api/drills", json!({"mode":"sideways"}))
        .await;
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn time_outs_and_resuming_where_the_member_stopped() {
    let app = spawn_app().await;
    let me = newcomer(&app, "n003").await;
    let qs = every_kind();
    let id = drill_of(
        &app,
        me.member["id"].as_str().unwrap(),
        &qs[..4],
        Some(10_000),
    )
    .await;
    let s: Value = me.get_json(&app, &format!("/api/drills/{id}")).await;
    let rem = s["current"]["remaining_ms"].as_i64().unwrap();
    assert!(rem > 9_000 && rem <= 10_000, "{rem}");
    // The phone was locked for 20 s: the server counts the question as timed out and moves on.
    // (The clock is moved back in the records; the server forgets its copy of the drill.)
    sqlx::query(
        "UPDATE drill_items SET shown_at = shown_at - 20000 WHERE drill_id = $1 AND position = 0",
    )
    .bind(&id)
    .execute(&app.db.pool)
    .await
    .unwrap();
    app.drills.forget(&id);
    let s: Value = me.get_json(&app, &format!("/api/drills/{id}")).await;
    assert_eq!(s["answered"], 1);
    assert_eq!(s["current"]["position"], 1, "resumed at the next question");
    // An answer that arrives too late counts as timed out, wrong.
    sqlx::query(
        "UPDATE drill_items SET shown_at = shown_at - 12000 WHERE drill_id = $1 AND position = 1",
    )
    .bind(&id)
    .execute(&app.db.pool)
    .await
    .unwrap();
    app.drills.forget(&id);
    let fb: Value = me
        .post(
            &app,
            &format!("/api/drills/{id}/answers"),
            json!({"position": 1, "answer": right(&qs[1])}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (fb["timed_out"].as_bool(), fb["correct"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(fb["notebook"], "added");
    // In time: counts.
    let fb: Value = me
        .post(
            &app,
            &format!("/api/drills/{id}/answers"),
            json!({"position": 2, "answer": right(&qs[2])}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fb["correct"], true);
    // Leaving and coming back (a new session) resumes at question 4.
    let again = app.session_with("n003", "newcomer-pass").await;
    let s: Value = again.get_json(&app, &format!("/api/drills/{id}")).await;
    assert_eq!(
        (s["answered"].as_u64(), s["current"]["position"].as_u64()),
        (Some(3), Some(3))
    );
    let fin: Value = again
        .post(&app, &format!("/api/drills/{id}/finish"), json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (fin["answered"].as_u64(), fin["correct"].as_u64()),
        (Some(3), Some(1))
    );
    let s: Value = again.get_json(&app, &format!("/api/drills/{id}")).await;
    assert_eq!(s["finished"], true);
    assert!(s["current"].is_null());
}

#[tokio::test]
async fn review_in_notebook_drills_masters_a_question() {
    let app = spawn_app().await;
    let me = newcomer(&app, "n004").await;
    let mid = me.member["id"].as_str().unwrap().to_string();
    let q = every_kind().remove(0);
    let id = drill_of(&app, &mid, std::slice::from_ref(&q), None).await;
    me.post(
        &app,
        &format!("/api/drills/{id}/answers"),
        json!({"position":0,"answer": wrong(&q)}),
    )
    .await;
    let mut last = Value::Null;
    for round in 0..3 {
        let d: Value = me
            .post(&app, "/api/drills", json!({"mode":"notebook","count":10}))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(d["current"]["stem"], q.stem.as_str(), "round {round}");
        let did = d["id"].as_str().unwrap();
        last = me
            .post(
                &app,
                &format!("/api/drills/{did}/answers"),
                json!({"position":0,"answer": right(&q)}),
            )
            .await
            .json()
            .await
            .unwrap();
    }
    assert_eq!(last["notebook"], "mastered");
    let book: Value = me.get_json(&app, "/api/notebook").await;
    let e = &book["entries"][0];
    assert_eq!(
        (e["mastered"].as_bool(), e["right_streak"].as_i64()),
        (Some(true), Some(3))
    );
    let due: Value = me.get_json(&app, "/api/notebook?due=1").await;
    assert!(due["entries"].as_array().unwrap().is_empty());
    let home: Value = me.get_json(&app, "/api/me/home").await;
    assert_eq!(home["notebook"]["mastered"], 1);
    assert_eq!(home["streak_days"], 1, "practised today");
    assert_eq!(home["week"]["drills"], 4);
    assert_eq!(home["section"], "文秘处");
}

#[tokio::test]
async fn a_wrong_answer_in_a_live_competition_enters_the_notebook() {
    use crate::ws::Ws;
    let app = spawn_app().await;
    let me = newcomer(&app, "n005").await;
    let q = every_kind().remove(0);
    let host = app.session(HOST).await;
    let c: Value = host
        .post(&app, "/api/competitions", json!({"title":"小测","question_ids":[q.id],"time_limit_s":20,"award_rule":{"top_n":1}}))
        .await
        .json()
        .await
        .unwrap();
    let (cid, pin) = (c["id"].as_str().unwrap(), c["pin"].as_str().unwrap());
    let cookie = {
        let res = client()
            .post(app.url("/api/login"))
            .json(&json!({"staff_no":"n005","password":"newcomer-pass"}))
            .send()
            .await
            .unwrap();
        res.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string()
    };
    let (mut console, _) = Ws::hello_staff(&app, &app.cookie(HOST).await, "host", cid).await;
    let (mut p, _) = Ws::hello_player(&app, Some(&cookie), pin, None, None).await;
    console.command(json!({"type":"start"})).await;
    p.until("question").await;
    p.answer(0, wrong(&q)).await;
    p.until("result").await;
    let mut entries = Value::Null;
    for _ in 0..50 {
        let book: Value = me.get_json(&app, "/api/notebook").await;
        entries = book["entries"].clone();
        if !entries.as_array().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(entries[0]["question_id"], q.id.as_str());
    assert_eq!(entries[0]["origin"], "competition");
}

/// The documented rule, computed independently from the answers in the records.
async fn expected_month(app: &TestApp) -> Vec<(String, i64)> {
    let now = biwu::records::now_ms();
    let (from, to) = biwu::drill::Period::Month.bounds(now);
    let rows: Vec<(String, i64, i64)> =
        sqlx::query_as("SELECT member_id, answered_at, correct FROM drill_answers WHERE answered_at >= $1 AND answered_at < $2")
            .bind(from)
            .bind(to)
            .fetch_all(&app.db.pool)
            .await
            .unwrap();
    let mut per: std::collections::HashMap<(String, i64), i64> = Default::default();
    for (m, at, c) in rows {
        *per.entry((m, (at + 8 * 3_600_000).div_euclid(86_400_000)))
            .or_default() += c;
    }
    let mut points: std::collections::HashMap<String, i64> = Default::default();
    for ((m, _), right) in per {
        *points.entry(m).or_default() += 10 * right.min(30) + 30;
    }
    let mut v: Vec<(String, i64)> = points.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

async fn leaderboards_match_the_records(opts: Options) {
    let app = spawn_app_with(opts).await;
    let me = app.session(MEMBER).await;
    let board: Value = me
        .get_json(&app, "/api/leaderboards/drills?period=month&scope=agency")
        .await;
    let expected = expected_month(&app).await;
    assert!(
        expected.len() > 10,
        "the demo history has drills this month"
    );
    let top = board["top"].as_array().unwrap();
    for (line, (member, points)) in top.iter().zip(&expected) {
        assert_eq!(line["points"].as_i64(), Some(*points), "{line}");
        let rank_expected = 1 + expected.iter().filter(|(_, p)| p > points).count() as u64;
        assert_eq!(line["rank"].as_u64(), Some(rank_expected));
        let _ = member;
    }
    // My own line agrees too; the section board ranks within the section.
    let mine = expected
        .iter()
        .find(|(m, _)| m == me.member["id"].as_str().unwrap())
        .unwrap()
        .1;
    assert_eq!(board["me"]["points"].as_i64(), Some(mine));
    let section: Value = me
        .get_json(&app, "/api/leaderboards/drills?period=month&scope=section")
        .await;
    assert!(
        section["top"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["section"] == "文秘处")
    );
    assert_eq!(section["top"][0]["rank"], 1);
    // A new right answer moves the board at once.
    let before = board["me"]["points"].as_i64().unwrap();
    let q = every_kind().remove(0);
    let id = drill_of(
        &app,
        me.member["id"].as_str().unwrap(),
        std::slice::from_ref(&q),
        None,
    )
    .await;
    me.post(
        &app,
        &format!("/api/drills/{id}/answers"),
        json!({"position":0,"answer": right(&q)}),
    )
    .await;
    // The answer itself put the member's new points on the board (before any read rebuilt it).
    let now = biwu::records::now_ms();
    let key = biwu::drill::board_key(Period::Month, Period::Month.bounds(now).0);
    let on_board = app
        .board
        .standing(&key, me.member["id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    let recomputed = expected_month(&app).await;
    let mine = recomputed
        .iter()
        .find(|(m, _)| m == me.member["id"].as_str().unwrap())
        .unwrap();
    assert_eq!(on_board.points, mine.1);
    let after: Value = me
        .get_json(&app, "/api/leaderboards/drills?period=month&scope=agency")
        .await;
    let gained = after["me"]["points"].as_i64().unwrap() - before;
    assert!(
        gained == 10 || gained == 40,
        "one right answer: +10 (or +40 on a first day): {gained}"
    );
    assert_eq!(
        me.get(&app, "/api/leaderboards/drills?period=year")
            .await
            .status(),
        400
    );
}

#[tokio::test]
async fn drill_leaderboards_match_an_independent_computation() {
    leaderboards_match_the_records(Options {
        demo: true,
        ..Options::default()
    })
    .await;
}

#[tokio::test]
async fn drill_leaderboards_on_redis_match_too() {
    let Some(redis) = redis_url() else { return };
    leaderboards_match_the_records(Options {
        demo: true,
        redis_url: Some(redis),
        ..Options::default()
    })
    .await;
}

#[tokio::test]
async fn a_double_submit_is_taken_once() {
    let app = spawn_app().await;
    let me = newcomer(&app, "n005").await;
    let qs = every_kind();
    let id = drill_of(&app, me.member["id"].as_str().unwrap(), &qs[..2], None).await;
    let url = format!("/api/drills/{id}/answers");
    let (a, b) = tokio::join!(
        me.post(&app, &url, json!({"position": 0, "answer": right(&qs[0])})),
        me.post(&app, &url, json!({"position": 0, "answer": wrong(&qs[0])})),
    );
    let mut codes = [a.status().as_u16(), b.status().as_u16()];
    codes.sort();
    assert_eq!(codes, [200, 409]);
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM drill_answers WHERE drill_id = $1")
        .bind(&id)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(rows, 1);
    // The metrics count what was stored, and show the commit that stored it.
    let text = app.get_text("/metrics").await;
    assert!(text.contains("biwu_drill_answers_total 1\n"), "{text}");
    assert!(text.contains("biwu_drill_commit_writes_count"), "{text}");
    assert!(text.contains("biwu_drills_active 1\n"), "{text}");
}

on_both_databases!(
    wrong_answers_to_one_question_in_two_drills_make_one_notebook_entry,
    one_question_in_two_drills_on_postgres,
    one_question_in_two_drills
);

async fn one_question_in_two_drills(app: TestApp) {
    let me = newcomer(&app, "n006").await;
    let mid = me.member["id"].as_str().unwrap().to_string();
    let q = every_kind().remove(0);
    let one = drill_of(&app, &mid, std::slice::from_ref(&q), None).await;
    let two = drill_of(&app, &mid, std::slice::from_ref(&q), None).await;
    let body = json!({"position": 0, "answer": wrong(&q)});
    let (url_one, url_two) = (
        format!("/api/drills/{one}/answers"),
        format!("/api/drills/{two}/answers"),
    );
    let (a, b) = tokio::join!(
        me.post(&app, &url_one, body.clone()),
        me.post(&app, &url_two, body),
    );
    assert_eq!((a.status().as_u16(), b.status().as_u16()), (200, 200));
    let mut changes = [
        a.json::<Value>().await.unwrap()["notebook"].clone(),
        b.json::<Value>().await.unwrap()["notebook"].clone(),
    ];
    changes.sort_by_key(|c| c.to_string());
    // The first adds the question, the second is a failed review of the same entry.
    assert_eq!(changes, [json!("added"), json!("reviewed")]);
    let book = rec::notebook(&app.db, &mid).await.unwrap();
    assert_eq!(book.len(), 1);
    assert_eq!(book[0].right_streak, 0);
}

/// Two servers on one database (a rolling restart, or instances without sticky routing): a
/// position answered on one is refused on the other, which then catches up from the records.
#[tokio::test]
async fn two_instances_never_take_a_position_twice() {
    let (_dir, url) = fresh_sqlite();
    two_instances(url).await;
}

#[tokio::test]
async fn two_instances_on_postgres() {
    if let Some(pg) = postgres_url() {
        two_instances(fresh_postgres(&pg).await).await;
    }
}

async fn two_instances(url: String) {
    let spawn = || spawn_demo_on(&url);
    let one = spawn().await;
    let two = spawn().await;
    let me = newcomer(&one, "n007").await;
    let qs = every_kind();
    let id = drill_of(&one, me.member["id"].as_str().unwrap(), &qs[..3], None).await;
    // Both serve the first question.
    for app in [&one, &two] {
        let s: Value = me.get_json(app, &format!("/api/drills/{id}")).await;
        assert_eq!(s["current"]["position"], 0);
    }
    let url = format!("/api/drills/{id}/answers");
    let res = me
        .post(&one, &url, json!({"position": 0, "answer": right(&qs[0])}))
        .await;
    assert_eq!(res.status(), 200);
    let res = me
        .post(&two, &url, json!({"position": 0, "answer": wrong(&qs[0])}))
        .await;
    assert_eq!(res.status(), 409, "answered on the other instance");
    let res = me
        .post(&two, &url, json!({"position": 1, "answer": right(&qs[1])}))
        .await;
    assert_eq!(res.status(), 200, "the second instance caught up");
    let stored = rec::answers(&one.db, &id).await.unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].correct, 1, "the first answer stands");
    let s: Value = me.get_json(&two, &format!("/api/drills/{id}")).await;
    assert_eq!(
        (s["answered"].as_u64(), s["correct"].as_u64()),
        (Some(2), Some(2))
    );
}

#[tokio::test]
async fn a_timed_drill_survives_a_restart_with_its_clock() {
    let (_dir, url) = fresh_sqlite();
    let spawn = || spawn_demo_on(&url);
    let app = spawn().await;
    let me = newcomer(&app, "n008").await;
    let qs = every_kind();
    let id = drill_of(
        &app,
        me.member["id"].as_str().unwrap(),
        &qs[..3],
        Some(60_000),
    )
    .await;
    let res = me
        .post(
            &app,
            &format!("/api/drills/{id}/answers"),
            json!({"position": 0, "answer": right(&qs[0])}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let s: Value = me.get_json(&app, &format!("/api/drills/{id}")).await;
    assert_eq!(s["current"]["position"], 1);
    let shown: i64 =
        sqlx::query_scalar("SELECT shown_at FROM drill_items WHERE drill_id = $1 AND position = 1")
            .bind(&id)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    app.handle.stop(false).await;
    drop(app);
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;

    let app = spawn().await;
    let s: Value = me.get_json(&app, &format!("/api/drills/{id}")).await;
    assert_eq!(
        (s["answered"].as_u64(), s["correct"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(
        s["current"]["position"], 1,
        "resumed at the second question"
    );
    let remaining = s["current"]["remaining_ms"].as_i64().unwrap();
    let elapsed = biwu::records::now_ms() - shown;
    assert!(
        remaining <= 58_500 && remaining >= 60_000 - elapsed,
        "the clock runs from when the question was first shown: {remaining} ms left after {elapsed} ms"
    );
}

/// Each drill shows choice options in an order of its own (`option_order`, a permutation of
/// the bank's indices); answers stay in the bank's letters.
#[tokio::test]
async fn drills_show_choice_options_in_their_own_order() {
    let app = spawn_app().await;
    let me = app.session(MEMBER).await;
    let mut orders = std::collections::HashSet::new();
    for _ in 0..4 {
        let res = me
            .post(&app, "/api/drills", json!({"mode": "topics", "count": 10}))
            .await;
        assert_eq!(res.status(), 201);
        let mut s: Value = res.json().await.unwrap();
        let id = s["id"].as_str().unwrap().to_string();
        while !s["current"].is_null() {
            let c = &s["current"];
            let n = c["options"].as_array().map(Vec::len).unwrap_or(0);
            let order: Vec<u64> = c["option_order"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap())
                .collect();
            let mut sorted = order.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..n as u64).collect::<Vec<_>>(), "a permutation");
            if c["kind"] == "single" || c["kind"] == "multiple" {
                orders.insert(order);
            }
            let pos = c["position"].as_i64().unwrap();
            // Answered in the bank's letters (the right answer): the server agrees.
            let qid: String = sqlx::query_scalar(
                "SELECT question_id FROM drill_items WHERE drill_id = $1 AND position = $2",
            )
            .bind(&id)
            .bind(pos)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
            let q = questions::current(&app.db, &qid)
                .await
                .unwrap()
                .unwrap()
                .question;
            let r: Value = me
                .post(
                    &app,
                    &format!("/api/drills/{id}/answers"),
                    json!({"position": pos, "answer": right_answer(&q)}),
                )
                .await
                .json()
                .await
                .unwrap();
            assert_eq!(r["correct"], true, "{r}");
            s = me.get_json(&app, &format!("/api/drills/{id}")).await;
        }
    }
    assert!(
        orders.len() > 1,
        "choice options are not always in one order: {orders:?}"
    );
}
