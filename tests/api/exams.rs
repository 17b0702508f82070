//! The exam round over HTTP: window and attempt rules, the server's clock, resuming, each
//! taker's own order mapped back to the bank, results and teams against an independent
//! computation, the report, awards, finalists carried into a live competition, and scope.

use crate::helpers::*;
use biwu::domain::question::LETTERS;
use biwu::domain::{AnswerKey, Question};
use biwu::records::now_ms;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;

pub(crate) async fn put(s: &Session, app: &TestApp, path: &str, body: Value) -> reqwest::Response {
    s.client
        .put(app.url(path))
        .header("X-CSRF-Token", &s.csrf)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// An exam open now for an hour, 30 minutes per attempt, with `extra` merged in.
pub(crate) async fn create(app: &TestApp, host: &Session, extra: Value) -> Value {
    let now = now_ms();
    let mut body = json!({
        "title": "信访业务知识初赛",
        "opens_at": now - 1_000,
        "closes_at": now + 3_600_000,
        "duration_min": 30,
        "paper": {"mix": [{"topic": "petition-work", "count": 6}, {"topic": "party-constitution", "count": 4}]},
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let res = host.post(app, "/api/exams", body).await;
    let status = res.status();
    let v: Value = res.json().await.unwrap();
    assert_eq!(status, 201, "{v}");
    v
}

/// The paper in the bank's order: (question, points).
pub(crate) async fn paper(app: &TestApp, exam_id: &str) -> Vec<(Question, i64)> {
    biwu::records::exams::paper(&app.db, exam_id)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (serde_json::from_str(&r.body).unwrap(), r.points))
        .collect()
}

/// The response a taker gives to the question shown as `shown` (their options, their
/// letters): right or wrong, found through the bank's question with the same stem.
pub(crate) fn response_to(shown: &Value, bank: &[(Question, i64)], right: bool) -> Value {
    let stem = shown["stem"].as_str().unwrap();
    let (q, _) = bank
        .iter()
        .find(|(q, _)| q.stem == stem)
        .expect("a question of the paper");
    match &q.answer {
        AnswerKey::Choice(key) => {
            let options: Vec<&str> = shown["options"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o.as_str().unwrap())
                .collect();
            let right_texts: Vec<&str> = key.iter().map(|&i| q.options[i].as_str()).collect();
            let letters: String = if right {
                options
                    .iter()
                    .enumerate()
                    .filter(|(_, o)| right_texts.contains(o))
                    .map(|(i, _)| LETTERS[i] as char)
                    .collect()
            } else {
                // A wrong option, or (every option right) only the first: incomplete is wrong.
                let i = options
                    .iter()
                    .position(|o| !right_texts.contains(o))
                    .unwrap_or(0);
                (LETTERS[i] as char).to_string()
            };
            json!({"type": "choice", "value": letters})
        }
        _ if right => right_answer(q),
        _ => wrong_answer(q),
    }
}

/// Saves answers to the questions at these indices of the taker's order.
pub(crate) async fn answer(
    app: &TestApp,
    s: &Session,
    exam_id: &str,
    state: &Value,
    bank: &[(Question, i64)],
    right: impl Fn(usize) -> Option<bool>,
) -> i64 {
    let mut expected = 0;
    for (n, shown) in state["questions"].as_array().unwrap().iter().enumerate() {
        let Some(r) = right(n) else { continue };
        let res = put(
            s,
            app,
            &format!("/api/exams/{exam_id}/attempt/answers/{n}"),
            json!({"response": response_to(shown, bank, r), "marked": false}),
        )
        .await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
        if r {
            let stem = shown["stem"].as_str().unwrap();
            expected += bank.iter().find(|(q, _)| q.stem == stem).unwrap().1;
        }
    }
    expected
}

fn stems(state: &Value) -> Vec<String> {
    state["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["stem"].as_str().unwrap().to_string())
        .collect()
}

/// No key, explanation or source anywhere in a frame a taker gets before the results.
fn assert_no_key(v: &Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                assert!(
                    ![
                        "answer",
                        "explanation",
                        "source",
                        "correct",
                        "score",
                        "review"
                    ]
                    .contains(&k.as_str()),
                    "the key {k} reached the phone: {v}"
                );
                assert_no_key(x);
            }
        }
        Value::Array(a) => a.iter().for_each(assert_no_key),
        _ => {}
    }
}

/// Ends the window now (as if time had passed) and waits for the closer to submit what is
/// left and mark the exam closed.
pub(crate) async fn close_window(app: &TestApp, exam_id: &str) {
    let now = now_ms();
    sqlx::query("UPDATE exams SET closes_at = $2, opens_at = $2 - 10000 WHERE id = $1")
        .bind(exam_id)
        .bind(now)
        .execute(&app.db.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE exam_attempts SET deadline_at = $2 - 5000 WHERE exam_id = $1 AND submitted_at IS NULL")
        .bind(exam_id)
        .bind(now)
        .execute(&app.db.pool)
        .await
        .unwrap();
    app.state.exams.forget(exam_id);
    for _ in 0..100 {
        let closed: Option<i64> = sqlx::query_scalar("SELECT closed_at FROM exams WHERE id = $1")
            .bind(exam_id)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
        if closed.is_some() {
            app.state.exams.forget(exam_id);
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the closer did not close the exam");
}

on_both_databases!(
    an_exam_through_results_teams_report_and_awards_on_sqlite,
    an_exam_through_results_teams_report_and_awards_on_postgres,
    exam_flow
);

async fn exam_flow(app: TestApp) {
    let host = app.session(HOST).await;
    let exam = create(
        &app,
        &host,
        json!({
            "qualify": {"top_n": 2}, "award_rule": {"top_n": 1},
            "teams": {"by": "section", "score": "mean", "absent_as_zero": true, "winners": 1},
        }),
    )
    .await;
    let id = exam["id"].as_str().unwrap();
    assert_eq!(exam["questions"], 10);
    let bank = paper(&app, id).await;
    let max: i64 = bank.iter().map(|(_, p)| p).sum();
    assert_eq!(exam["max_score"], max);

    // Three takers: two of 文秘处, one of 研究处.
    let takers = ["d102", "d103", "d202"];
    let mut expected: HashMap<&str, i64> = HashMap::new();
    let mut orders = Vec::new();
    for (i, staff) in takers.iter().enumerate() {
        let s = app.session(staff).await;
        let listed: Value = s.get_json(&app, "/api/exams").await;
        let mine = listed
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["id"] == id)
            .expect("listed");
        assert_eq!(mine["my_status"], "not_started");
        let res = s
            .post(&app, &format!("/api/exams/{id}/attempts"), json!({}))
            .await;
        assert_eq!(res.status(), 200);
        let state: Value = res.json().await.unwrap();
        assert_no_key(&state);
        assert_eq!(state["total"], 10);
        assert!(state["remaining_ms"].as_i64().unwrap() > 29 * 60_000);
        orders.push(stems(&state));
        // d102 all right, d103 the first half right and the rest wrong, d202 every third right.
        let score = answer(&app, &s, id, &state, &bank, |n| match i {
            0 => Some(true),
            1 => Some(n < 5),
            _ => (n % 3 == 0).then_some(true),
        })
        .await;
        expected.insert(staff, score);
        // Starting again returns the same attempt, answers in the taker's letters.
        let again: Value = s
            .post(&app, &format!("/api/exams/{id}/attempts"), json!({}))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(again["attempt_id"], state["attempt_id"]);
        assert_no_key(&again);
        for (n, q) in again["questions"].as_array().unwrap().iter().enumerate() {
            let answered = match i {
                0 | 1 => true,
                _ => n % 3 == 0,
            };
            assert_eq!(
                q["response"].is_null(),
                !answered,
                "question {n} of {staff}"
            );
        }
        let result: Value = s
            .post(&app, &format!("/api/exams/{id}/attempt/submit"), json!({}))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(result["revealed"], true);
        assert_eq!(result["score"], expected[staff], "{staff}: {result}");
        // The per-topic breakdown adds up.
        let by_topic: i64 = result["by_topic"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["score"].as_i64().unwrap())
            .sum();
        assert_eq!(by_topic, expected[staff]);
        assert_eq!(result["review"].as_array().unwrap().len(), 10);
    }
    assert_ne!(orders[0], orders[1], "each taker has an order of their own");
    assert_eq!(expected["d102"], max);

    // Stored responses are in the bank's letters: each choice answer of d102 is the key.
    let d102 = member_id(&app, "d102").await;
    let rows: Vec<(i64, Option<String>)> = sqlx::query_as(
        "SELECT a.position, a.response FROM exam_answers a JOIN exam_attempts t ON t.id = a.attempt_id \
         WHERE t.exam_id = $1 AND t.member_id = $2",
    )
    .bind(id)
    .bind(&d102)
    .fetch_all(&app.db.pool)
    .await
    .unwrap();
    for (p, r) in rows {
        let (q, _) = &bank[p as usize];
        if let AnswerKey::Choice(_) = q.answer {
            let r: Value = serde_json::from_str(&r.unwrap()).unwrap();
            assert_eq!(r["value"], q.answer.display(), "{}", q.id);
        }
    }

    close_window(&app, id).await;
    let results: Value = host
        .get_json(&app, &format!("/api/exams/{id}/results"))
        .await;
    let ranking = results["ranking"].as_array().unwrap();
    assert_eq!(ranking.len(), 3);
    assert_eq!(ranking[0]["staff_no"], "d102");
    assert_eq!(ranking[0]["rank"], 1);
    assert_eq!(ranking[0]["proposed"], true);
    for r in ranking {
        assert_eq!(r["score"], expected[r["staff_no"].as_str().unwrap()]);
    }
    let finalists: Vec<&str> = ranking
        .iter()
        .filter(|r| r["finalist"] == true)
        .map(|r| r["staff_no"].as_str().unwrap())
        .collect();
    assert_eq!(finalists.len(), 2);
    let counted: usize = results["histogram"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_u64().unwrap() as usize)
        .sum();
    assert_eq!(counted, 3);
    // Per question: right answers counted from what each taker did.
    let stats = results["questions"].as_array().unwrap();
    let rights: i64 = stats.iter().map(|q| q["right"].as_i64().unwrap()).sum();
    let correct: i64 = ranking.iter().map(|r| r["correct"].as_i64().unwrap()).sum();
    assert_eq!(rights, correct);

    // Teams: sections, mean with absent members as 0 — computed here from the roster.
    let section_size = |name: &'static str| {
        let db = app.db.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM members m JOIN sections s ON s.id = m.section_id WHERE s.name = $1 AND m.active = 1",
            )
            .bind(name)
            .fetch_one(&db.pool)
            .await
            .unwrap()
        }
    };
    let wenmi = (expected["d102"] + expected["d103"]) as f64 / section_size("文秘处").await as f64;
    let yanjiu = expected["d202"] as f64 / section_size("研究处").await as f64;
    let teams = results["teams"].as_array().unwrap();
    let score_of = |name: &str| {
        teams.iter().find(|t| t["name"] == name).unwrap()["score_milli"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(score_of("文秘处"), (wenmi * 1000.0).round() as i64);
    assert_eq!(score_of("研究处"), (yanjiu * 1000.0).round() as i64);
    assert_eq!(teams[0]["rank"], 1);

    // The report: the scores sheet in the ranking's order, statistics and teams.
    let bytes = host
        .get(&app, &format!("/api/exams/{id}/report.xlsx"))
        .await
        .bytes()
        .await
        .unwrap();
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    use calamine::Reader;
    let names = book.sheet_names();
    assert_eq!(names[1..], ["各题统计".to_string(), "团体成绩".to_string()]);
    let sheet = book.worksheet_range(&names[0]).unwrap();
    let cell = |r: usize, c: usize| sheet.get((r, c)).map(|d| d.to_string()).unwrap_or_default();
    assert_eq!(cell(0, 5), "得分");
    assert_eq!(cell(1, 2), "d102");
    assert_eq!(cell(1, 5), expected["d102"].to_string());
    let csv = host
        .get(&app, &format!("/api/exams/{id}/report.csv"))
        .await
        .text()
        .await
        .unwrap();
    assert!(csv.lines().nth(1).unwrap().contains("d102"), "{csv}");

    // Awards: once, 业务标兵 for the first and 优胜团队 for the best section.
    let res = host
        .post(&app, &format!("/api/exams/{id}/awards"), json!({}))
        .await;
    let status = res.status();
    let awarded: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{awarded}");
    assert_eq!(awarded["awards"].as_array().unwrap().len(), 1);
    assert_eq!(awarded["team_awards"].as_array().unwrap().len(), 1);
    assert_eq!(
        host.post_status(&app, &format!("/api/exams/{id}/awards"), json!({}))
            .await,
        409
    );
    let honors: Value = app
        .client
        .get(app.url("/api/honors"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let h = honors
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["member_id"] == d102.as_str())
        .expect("an honor");
    assert_eq!(h["competition"], "信访业务知识初赛");
    let team_awards =
        biwu::records::teams::awards(&app.db, Some((biwu::records::teams::Event::Exam, id)))
            .await
            .unwrap();
    assert_eq!(team_awards.len(), 1);
    assert_eq!(team_awards[0].team_name, teams[0]["name"].as_str().unwrap());

    // The wrong answers are in the takers' notebooks.
    let d103 = member_id(&app, "d103").await;
    let mut found = 0;
    for _ in 0..50 {
        found = sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM notebook WHERE member_id = $1 AND origin = 'exam'",
        )
        .bind(&d103)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        if found > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(found > 0, "wrong answers of an exam go into the notebook");
}

#[tokio::test]
async fn window_and_attempt_rules() {
    let app = spawn_app().await;
    let host = app.session(HOST).await;
    let me = app.session(MEMBER).await;
    let later = create(
        &app,
        &host,
        json!({"opens_at": now_ms() + 3_600_000, "closes_at": now_ms() + 7_200_000}),
    )
    .await;
    let res = me
        .post(
            &app,
            &format!("/api/exams/{}/attempts", later["id"].as_str().unwrap()),
            json!({}),
        )
        .await;
    assert_eq!(res.status(), 409);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "not_open");

    let exam = create(
        &app,
        &host,
        json!({"max_attempts": 2, "paper": {"mix": [{"topic": "petition-work", "count": 4}]}}),
    )
    .await;
    let id = exam["id"].as_str().unwrap();
    let bank = paper(&app, id).await;
    let mut scores = Vec::new();
    for attempt in 1..=2 {
        let state: Value = me
            .post(&app, &format!("/api/exams/{id}/attempts"), json!({}))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(state["number"], attempt);
        let score = answer(&app, &me, id, &state, &bank, |n| {
            Some(attempt == 2 || n == 0)
        })
        .await;
        scores.push(score);
        let r: Value = me
            .post(&app, &format!("/api/exams/{id}/attempt/submit"), json!({}))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            r["score"],
            scores.iter().max().copied().unwrap(),
            "the best attempt counts"
        );
        // Saving after submitting is refused.
        let res = put(
            &me,
            &app,
            &format!("/api/exams/{id}/attempt/answers/0"),
            json!({"response": null}),
        )
        .await;
        assert_eq!(res.status(), 409);
    }
    let res = me
        .post(&app, &format!("/api/exams/{id}/attempts"), json!({}))
        .await;
    assert_eq!(res.status(), 409);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"],
        "no_attempts_left"
    );

    // After the window: closed, for someone who never started too.
    let other = app.session("d103").await;
    close_window(&app, id).await;
    let res = other
        .post(&app, &format!("/api/exams/{id}/attempts"), json!({}))
        .await;
    assert_eq!(res.status(), 409);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "closed");

    // Bad input is named and changes nothing.
    let res = host.post(&app, "/api/exams", json!({"title": "x", "opens_at": now_ms(), "closes_at": now_ms() + 60_000, "duration_min": 10, "paper": {"mix": [{"topic": "天文", "count": 3}]}})).await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("天文"));
    let res = host.post(&app, "/api/exams", json!({"title": "x", "opens_at": 0, "closes_at": now_ms() + 1000, "duration_min": 0, "paper": {"mix": []}})).await;
    assert_eq!(res.status(), 422);
}

#[tokio::test]
async fn the_clock_submits_a_taker_who_never_comes_back() {
    let app = spawn_app().await;
    let host = app.session(HOST).await;
    let me = app.session(MEMBER).await;
    // A seed whose paper (the default mix) holds a single-choice question, for the bad
    // answers below.
    use biwu::domain::exam::{PaperSpec, TopicCount, draw_paper};
    use biwu::domain::{Kind, Topic};
    let pool: Vec<Question> = biwu::bank::load(&bank_dir()).questions().cloned().collect();
    let spec = PaperSpec {
        mix: vec![
            TopicCount {
                topic: Topic::PetitionWork,
                count: 6,
            },
            TopicCount {
                topic: Topic::PartyConstitution,
                count: 4,
            },
        ],
        ..PaperSpec::default()
    };
    let seed = (0..100u64)
        .find(|&s| {
            draw_paper(&pool, &spec, s)
                .0
                .iter()
                .any(|q| q.kind == Kind::Single)
        })
        .unwrap();
    let exam = create(&app, &host, json!({"reveal": "after_close", "seed": seed})).await;
    let id = exam["id"].as_str().unwrap();
    let bank = paper(&app, id).await;
    let state: Value = me
        .post(&app, &format!("/api/exams/{id}/attempts"), json!({}))
        .await
        .json()
        .await
        .unwrap();
    let expected = answer(&app, &me, id, &state, &bank, |n| (n < 3).then_some(true)).await;
    // Bad answers are refused by name and change nothing.
    let res = put(
        &me,
        &app,
        &format!("/api/exams/{id}/attempt/answers/99"),
        json!({"response": null}),
    )
    .await;
    assert_eq!(res.status(), 404);
    let first_choice = state["questions"]
        .as_array()
        .unwrap()
        .iter()
        .position(|q| q["kind"] == "single")
        .unwrap();
    let res = put(
        &me,
        &app,
        &format!("/api/exams/{id}/attempt/answers/{first_choice}"),
        json!({"response": {"type": "choice", "value": "H"}}),
    )
    .await;
    assert_eq!(res.status(), 422);
    let res = put(
        &me,
        &app,
        &format!("/api/exams/{id}/attempt/answers/{first_choice}"),
        json!({"response": {"type": "date", "value": "2022-05-01"}}),
    )
    .await;
    assert_eq!(res.status(), 422);

    // The taker goes away; their time runs out.
    sqlx::query("UPDATE exam_attempts SET deadline_at = $1 WHERE id = $2")
        .bind(now_ms() - 3_000)
        .bind(state["attempt_id"].as_str().unwrap())
        .execute(&app.db.pool)
        .await
        .unwrap();
    let mut row = (None, None, None);
    for _ in 0..50 {
        row = sqlx::query_as::<_, (Option<i64>, Option<String>, Option<i64>)>(
            "SELECT submitted_at, submitted_by, score FROM exam_attempts WHERE id = $1",
        )
        .bind(state["attempt_id"].as_str().unwrap())
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
        if row.0.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(row.0.is_some(), "submitted by the clock");
    assert_eq!(row.1.as_deref(), Some("clock"));
    assert_eq!(row.2, Some(expected));
    let res = put(
        &me,
        &app,
        &format!("/api/exams/{id}/attempt/answers/4"),
        json!({"response": null}),
    )
    .await;
    assert_eq!(res.status(), 409);
    // Results wait for the window to close.
    let r: Value = me.get_json(&app, &format!("/api/exams/{id}/result")).await;
    assert_eq!(r["revealed"], false);
    assert_no_key(&r);
    close_window(&app, id).await;
    let r: Value = me.get_json(&app, &format!("/api/exams/{id}/result")).await;
    assert_eq!(r["revealed"], true);
    assert_eq!(r["score"], expected);
    assert_eq!(r["rank"], 1);
}

#[tokio::test]
async fn an_attempt_resumes_after_a_restart_with_the_servers_clock() {
    let (_dir, url) = fresh_sqlite();
    let app = spawn_demo_on(&url).await;
    let host = app.session(HOST).await;
    let me = app.session(MEMBER).await;
    let exam = create(&app, &host, json!({})).await;
    let id = exam["id"].as_str().unwrap().to_string();
    let bank = paper(&app, &id).await;
    let state: Value = me
        .post(&app, &format!("/api/exams/{id}/attempts"), json!({}))
        .await
        .json()
        .await
        .unwrap();
    answer(&app, &me, &id, &state, &bank, |n| (n < 2).then_some(true)).await;
    let res = put(
        &me,
        &app,
        &format!("/api/exams/{id}/attempt/answers/5"),
        json!({"response": null, "marked": true}),
    )
    .await;
    assert_eq!(res.status(), 200);
    app.handle.stop(false).await;
    drop(app);

    let app = spawn_demo_on(&url).await;
    let again: Value = me.get_json(&app, &format!("/api/exams/{id}/attempt")).await;
    assert_eq!(stems(&again), stems(&state), "the same order");
    for (n, (q, before)) in again["questions"]
        .as_array()
        .unwrap()
        .iter()
        .zip(state["questions"].as_array().unwrap())
        .enumerate()
    {
        assert_eq!(q["options"], before["options"], "the same option order");
        assert_eq!(q["response"].is_null(), n >= 2, "question {n}");
        assert_eq!(q["marked"], n == 5);
    }
    assert_eq!(again["deadline_at"], state["deadline_at"]);
    assert!(again["remaining_ms"].as_i64().unwrap() <= state["remaining_ms"].as_i64().unwrap());
}

#[tokio::test]
async fn scope_teams_and_finalists_into_a_live_competition() {
    let app = spawn_app().await;
    let host = app.session(HOST).await;
    let wenmi = section_id(&app, "文秘处").await;
    let outsider = app.session("d202").await;
    let exam = create(
        &app,
        &host,
        json!({
            "scope": {"sections": [wenmi], "members": ["d302"]},
            "qualify": {"min_score": 1},
            "teams": {"by": "named", "score": "sum"},
            "paper": {"mix": [{"topic": "petition-work", "count": 3}]},
        }),
    )
    .await;
    let id = exam["id"].as_str().unwrap();
    assert_eq!(
        outsider
            .post_status(&app, &format!("/api/exams/{id}/attempts"), json!({}))
            .await,
        403
    );
    assert_eq!(
        outsider
            .get(&app, &format!("/api/exams/{id}"))
            .await
            .status(),
        403
    );
    let listed: Value = outsider.get_json(&app, "/api/exams").await;
    assert!(listed.as_array().unwrap().iter().all(|e| e["id"] != id));
    // Named teams: a member on two teams, or unknown, is refused by name.
    let res = put(&host, &app, &format!("/api/exams/{id}/teams"), json!({"teams": [{"name": "一队", "members": ["d102"]}, {"name": "二队", "members": ["d102"]}]})).await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("d102"));
    let res = put(&host, &app, &format!("/api/exams/{id}/teams"), json!({"teams": [{"name": "一队", "members": ["d102", "d103"]}, {"name": "二队", "members": ["d302", "d104"]}]})).await;
    assert_eq!(res.status(), 200);

    let bank = paper(&app, id).await;
    let mut score = HashMap::new();
    for (staff, right) in [("d102", 3), ("d103", 1), ("d302", 2)] {
        let s = app.session(staff).await;
        let state: Value = s
            .post(&app, &format!("/api/exams/{id}/attempts"), json!({}))
            .await
            .json()
            .await
            .unwrap();
        let got = answer(&app, &s, id, &state, &bank, |n| Some(n < right)).await;
        s.post(&app, &format!("/api/exams/{id}/attempt/submit"), json!({}))
            .await;
        score.insert(staff, got);
    }
    let progress: Value = host
        .get_json(&app, &format!("/api/exams/{id}/progress"))
        .await;
    assert_eq!(progress["eligible"], 7, "文秘处's six and d302");
    assert_eq!(progress["submitted"], 3);
    // Finalists are carried only once the window has closed.
    let comp: Value = host
        .post(&app, "/api/competitions", json!({"title": "决赛", "count": 3, "time_limit_s": 20, "award_rule": {"top_n": 1}, "guests_allowed": true}))
        .await
        .json()
        .await
        .unwrap();
    let carry = format!("/api/exams/{id}/finalists/carry");
    assert_eq!(
        host.post_status(&app, &carry, json!({"competition_id": comp["id"]}))
            .await,
        409
    );
    close_window(&app, id).await;
    let results: Value = host
        .get_json(&app, &format!("/api/exams/{id}/results"))
        .await;
    let teams = results["teams"].as_array().unwrap();
    assert_eq!(teams[0]["name"], "一队");
    assert_eq!(
        teams[0]["score_milli"],
        (score["d102"] + score["d103"]) * 1000
    );
    assert_eq!(teams[1]["score_milli"], score["d302"] * 1000);
    assert_eq!(teams[1]["took_part"], 1);
    assert_eq!(teams[1]["size"], 2);
    let res = host
        .post(&app, &carry, json!({"competition_id": comp["id"]}))
        .await;
    assert_eq!(res.status(), 200);
    let settings: String = sqlx::query_scalar("SELECT settings FROM competitions WHERE id = $1")
        .bind(comp["id"].as_str().unwrap())
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    let settings: Value = serde_json::from_str(&settings).unwrap();
    let mut entrants: Vec<String> = settings["entrants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    entrants.sort();
    let mut want = Vec::new();
    for (staff, s) in &score {
        if *s >= 1 {
            want.push(member_id(&app, staff).await);
        }
    }
    want.sort();
    assert_eq!(entrants, want);
    assert_eq!(settings["guests_allowed"], false);
}
