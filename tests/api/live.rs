//! Live competitions end to end: real WebSocket clients play whole games.

use crate::helpers::*;
use crate::helpers::{right_answer as right, wrong_answer as wrong};
use crate::ws::Ws;
use biwu::domain::{Kind, Question};
use serde_json::{Value, json};
use std::time::Duration;

/// Three questions of known kinds from the shipped bank: single, true/false, multiple.
pub(crate) fn picks() -> Vec<Question> {
    let bank = biwu::bank::load(&bank_dir());
    let mut out = Vec::new();
    for kind in [Kind::Single, Kind::TrueFalse, Kind::Multiple] {
        out.push(bank.questions().find(|q| q.kind == kind).unwrap().clone());
    }
    out
}

/// A competition of `qs` (5 s a question, speed bonus on, guests allowed, awards for the top
/// 2), with the settings in `extra` replacing those; returns (id, PIN).
pub(crate) async fn create(
    app: &TestApp,
    host: &Session,
    qs: &[Question],
    extra: Value,
) -> (String, String) {
    let mut body = json!({
        "title": "党章党规知识竞赛", "question_ids": qs.iter().map(|q| q.id.clone()).collect::<Vec<_>>(),
        "time_limit_s": 5, "speed_bonus": true, "streak_bonus": false, "guests_allowed": true,
        "award_rule": {"top_n": 2},
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let res = host.post(app, "/api/competitions", body).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let c: Value = res.json().await.unwrap();
    (
        c["id"].as_str().unwrap().to_string(),
        c["pin"].as_str().unwrap().to_string(),
    )
}

/// No frame a player gets before the reveal may carry the answer, the explanation or the source.
fn assert_no_answer_leak(frames: &[Value], q: &Question) {
    for f in frames {
        let text = f.to_string();
        assert!(
            f.get("answer").is_none()
                && f.get("explanation").is_none()
                && f.get("source").is_none(),
            "{f}"
        );
        assert!(!text.contains(&q.explanation), "explanation leaked: {f}");
        assert!(!text.contains(&q.source), "source leaked: {f}");
    }
}

async fn whole_game(opts: Options) {
    let app = spawn_app_with(opts).await;
    let qs = picks();
    let host = app.session(HOST).await;
    let (cid, pin) = create(&app, &host, &qs, json!({})).await;
    let host_cookie = app.cookie(HOST).await;
    let (mut console, welcome) = Ws::hello_staff(&app, &host_cookie, "host", &cid).await;
    assert_eq!(welcome["type"], "welcome");
    assert_eq!(welcome["total_questions"], 3);

    let a_cookie = app.cookie(MEMBER).await;
    let b_cookie = app.cookie("d103").await;
    let (mut a, wa) = Ws::hello_player(&app, Some(&a_cookie), &pin, None, None).await;
    let (mut b, wb) = Ws::hello_player(&app, Some(&b_cookie), &pin, None, None).await;
    let (mut c, wc) = Ws::hello_player(&app, None, &pin, Some("访客小王"), None).await;
    assert_eq!(wa["you"]["name"], "李晓雯");
    assert_eq!(wb["you"]["name"], "王志强");
    assert_eq!(wc["you"]["name"], "访客小王");
    let b_token = wb["you"]["token"].as_str().unwrap().to_string();
    let lobby = console.until("lobby").await;
    assert_eq!(lobby["pin"], pin.as_str());

    // Question 1: A fast and right, C slower and right, B wrong; A tries twice.
    assert_eq!(console.command(json!({"type":"start"})).await, None);
    let q0 = a.until("question").await;
    assert_eq!(q0["position"], 0);
    assert_eq!(q0["time_limit_ms"], 5000);
    assert!(q0["remaining_ms"].as_u64().unwrap() <= 5000);
    b.until("question").await;
    c.until("question").await;
    assert_eq!(a.answer(0, right(&qs[0])).await["type"], "ack");
    let dup = a.answer(0, wrong(&qs[0])).await;
    assert_eq!(dup["code"], "duplicate_answer");
    let bad = b
        .answer(0, json!({"type":"date","value":"2022-05-01"}))
        .await;
    assert_eq!(bad["code"], "bad_answer", "shape checked before acceptance");
    assert_eq!(b.answer(0, wrong(&qs[0])).await["type"], "ack");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(c.answer(0, right(&qs[0])).await["type"], "ack");
    // Everyone answered: the reveal comes at once.
    let ra = a.until("result").await;
    let rb = b.until("result").await;
    let rc = c.until("result").await;
    for p in [&a, &b, &c] {
        let before: Vec<Value> = p
            .log
            .iter()
            .take_while(|f| f["type"] != "result")
            .cloned()
            .collect();
        assert_no_answer_leak(&before, &qs[0]);
    }
    assert_eq!(ra["reveal"]["answer"], qs[0].answer.display().as_str());
    assert_eq!(ra["reveal"]["explanation"], qs[0].explanation.as_str());
    assert_eq!(
        (
            ra["correct"].as_bool(),
            rb["correct"].as_bool(),
            rc["correct"].as_bool()
        ),
        (Some(true), Some(false), Some(true))
    );
    let (pa, pc) = (
        ra["points"].as_i64().unwrap(),
        rc["points"].as_i64().unwrap(),
    );
    assert!(pa > pc && pc >= 500 && pa <= 1000, "{pa} {pc}");
    assert_eq!(rb["points"], 0);
    assert_eq!(
        (
            ra["rank"].as_u64(),
            rc["rank"].as_u64(),
            rb["rank"].as_u64()
        ),
        (Some(1), Some(2), Some(3))
    );
    assert_eq!(ra["players"], 3);
    let reveal = console.until("reveal").await;
    let dist: Vec<u64> = reveal["distribution"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(dist.iter().sum::<u64>(), 3);
    let late = c.answer(0, right(&qs[0])).await;
    assert_eq!(late["code"], "late_answer");

    assert_eq!(console.command(json!({"type":"next"})).await, None);
    let lb = console.until("leaderboard").await;
    assert_eq!(lb["top"][0]["name"], "李晓雯");
    assert_eq!(lb["top"][0]["points"].as_i64(), Some(pa));

    // Question 2: B drops and rejoins with the token; only A answers; the server's clock ends it.
    assert_eq!(console.command(json!({"type":"next"})).await, None);
    a.until("question").await;
    b.until("question").await;
    drop(b);
    let (mut b, wb2) = Ws::hello_player(&app, None, &pin, None, Some(&b_token)).await;
    assert_eq!(wb2["you"]["participant"], wb["you"]["participant"]);
    assert_eq!(wb2["you"]["points"], 0);
    assert_eq!(wb2["phase"], "question");
    let again = b.until("question").await;
    assert_eq!(again["position"], 1);
    assert_eq!(again["answered"], false);
    assert!(again["remaining_ms"].as_u64().unwrap() < 5000);
    assert_eq!(a.answer(1, right(&qs[1])).await["type"], "ack");
    let started = std::time::Instant::now();
    let ra2 = a.until("result").await;
    assert!(
        started.elapsed() > Duration::from_millis(3000),
        "the reveal waited for the time limit"
    );
    assert_eq!(ra2["streak"], 2);
    let rb2 = b.until("result").await;
    assert_eq!(rb2["answered"], false);
    let rc2 = c.until("result").await;
    assert_eq!(rc2["answered"], false);
    let late = c.answer(1, right(&qs[1])).await;
    assert_eq!(late["code"], "late_answer");

    // The host ends early: podium, pacesetters by the rule (members only), confirmation.
    assert_eq!(console.command(json!({"type":"end"})).await, None);
    let podium = console.until("podium").await;
    let proposed: Vec<&str> = podium["proposed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        proposed,
        ["李晓雯"],
        "top 2 are A and the guest; guests are not awarded"
    );
    a.until("podium").await;
    let err = c.command(json!({"type":"confirm_awards"})).await.unwrap();
    assert_eq!(err["code"], "not_allowed");
    assert_eq!(
        console.command(json!({"type":"confirm_awards"})).await,
        None
    );
    let confirmed = console.until("podium").await;
    assert_eq!(confirmed["awards_confirmed"], true);
    let again = console
        .command(json!({"type":"confirm_awards"}))
        .await
        .unwrap();
    assert_eq!(again["code"], "wrong_phase");

    let honors: Value = app
        .client
        .get(app.url(&format!("/api/honors?competition={cid}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let honors = honors.as_array().unwrap();
    assert_eq!(honors.len(), 1);
    assert_eq!(honors[0]["name"], "李晓雯");
    assert_eq!(honors[0]["title"], "业务标兵");
    assert_eq!(honors[0]["standing_rank"], 1);
    let page = app.get_text("/honors").await;
    assert!(page.contains("李晓雯") && page.contains("业务标兵"));

    // The report, read back.
    let res = host
        .get(&app, &format!("/api/competitions/{cid}/report.xlsx"))
        .await;
    assert_eq!(res.status(), 200);
    let bytes = res.bytes().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.xlsx");
    std::fs::write(&path, &bytes).unwrap();
    let table = biwu::table::read(&path).unwrap();
    assert_eq!(table.rows.len(), 3);
    let row_of = |name: &str| {
        table
            .rows
            .iter()
            .find(|r| table.get(r, "姓名") == name)
            .unwrap()
    };
    let ra_row = row_of("李晓雯");
    assert_eq!(table.get(ra_row, "名次"), "1");
    assert_eq!(table.get(ra_row, "第1题正误"), "对");
    assert_eq!(table.get(ra_row, "第1题得分"), pa.to_string());
    assert_eq!(table.get(ra_row, "处室"), "文秘处");
    let rc_row = row_of("访客小王");
    assert_eq!(table.get(rc_row, "处室"), "访客");
    assert_eq!(table.get(rc_row, "第2题正误"), "未答");
    assert_eq!(table.get(row_of("王志强"), "第1题正误"), "错");
    assert_eq!(
        table.get(ra_row, "总分"),
        ra2["total"].as_i64().unwrap().to_string()
    );
}

#[tokio::test]
async fn three_players_play_a_whole_game() {
    whole_game(Options {
        demo: true,
        ..Options::default()
    })
    .await;
}

#[tokio::test]
async fn the_same_game_on_the_redis_board() {
    let Some(redis) = redis_url() else { return };
    whole_game(Options {
        demo: true,
        redis_url: Some(redis),
        ..Options::default()
    })
    .await;
}

#[tokio::test]
async fn bad_frames_get_typed_errors_and_the_socket_stays_open() {
    use tokio_tungstenite::tungstenite::Message;
    let app = spawn_app().await;
    let host = app.session(HOST).await;
    let (_cid, pin) = create(&app, &host, &picks(), json!({})).await;
    let (mut p, w) = Ws::hello_player(&app, None, &pin, Some("测试"), None).await;
    assert_eq!(w["type"], "welcome");
    p.until("lobby").await;
    p.send_raw(Message::Text("not json".into())).await;
    assert_eq!(p.next().await["code"], "bad_frame");
    p.send(json!({"type":"shout"})).await;
    assert_eq!(p.next().await["code"], "bad_frame");
    p.send(json!({"type":"answer","position":0})).await;
    assert_eq!(p.next().await["code"], "bad_frame");
    assert_eq!(
        p.answer(0, json!({"type":"choice","value":"A"})).await["code"],
        "wrong_phase"
    );
    p.send(json!({"type":"start"})).await;
    assert_eq!(p.next().await["code"], "not_allowed");
    p.send_raw(Message::Text(
        format!("{{\"type\":\"ping\",\"x\":\"{}\"}}", "x".repeat(5000)).into(),
    ))
    .await;
    assert_eq!(p.next().await["code"], "too_large");
    p.send_raw(Message::Binary(vec![1, 2, 3].into())).await;
    assert_eq!(p.next().await["code"], "bad_frame");
    p.send(json!({"type":"hello","protocol":1,"role":"player","pin":pin}))
        .await;
    assert_eq!(p.next().await["code"], "wrong_phase");
    // Still open: a ping gets its pong (and nothing else), and the next bad frame is answered.
    p.send(json!({"type":"ping"})).await;
    assert_eq!(p.next().await, json!({"type":"pong"}));
    assert!(p.next_within(Duration::from_millis(300)).await.is_none() && !p.closed);
    // Abuse closes it.
    for _ in 0..30 {
        p.send_raw(Message::Text("garbage".into())).await;
    }
    while p.next_within(Duration::from_secs(2)).await.is_some() {}
    assert!(p.closed, "flooding with garbage closes the socket");

    // Hello problems close at once with a reason.
    let mut q = Ws::connect(&app, None).await;
    q.send(json!({"type":"hello","protocol":2,"role":"player","pin":pin}))
        .await;
    assert_eq!(q.next().await["code"], "version");
    let (mut r, e) = Ws::hello_player(&app, None, "000000", Some("x"), None).await;
    assert_eq!(
        e["code"],
        if pin == "000000" {
            "welcome"
        } else {
            "not_found"
        }
    );
    r.next_within(Duration::from_millis(500)).await;
    let (_, e) = Ws::hello_player(&app, None, &pin, None, Some("forged-token")).await;
    assert_eq!(e["code"], "not_found");
    let (_, e) = Ws::hello_player(&app, None, &pin, None, None).await;
    assert_eq!(e["code"], "not_allowed", "a guest needs a name");
    let member_cookie = app.cookie(MEMBER).await;
    let (_, e) = Ws::hello_staff(&app, &member_cookie, "host", &_cid).await;
    assert_eq!(e["code"], "not_allowed", "members cannot host");
}

/// A competition of `qs` with guests allowed, and its host's console: (PIN, console).
async fn room_with_console(app: &TestApp, qs: &[Question]) -> (String, Ws) {
    let host = app.session(HOST).await;
    let (cid, pin) = create(app, &host, qs, json!({})).await;
    let host_cookie = app.cookie(HOST).await;
    let (console, _) = Ws::hello_staff(app, &host_cookie, "host", &cid).await;
    (pin, console)
}

#[tokio::test]
async fn every_one_of_hundreds_of_phones_gets_each_frame() {
    // The conductor queues a broadcast for every socket in one go: nobody may be taken for
    // a stalled client because the room is large (frames go straight into each socket's
    // session; tokio's cooperative budget once made most of them look full).
    const PHONES: usize = 300;
    let app = spawn_app().await;
    let qs = picks();
    let (pin, mut console) = room_with_console(&app, &qs).await;
    let mut phones = Vec::new();
    for i in 0..PHONES {
        let (ws, w) = Ws::hello_player(&app, None, &pin, Some(&format!("选手{i}")), None).await;
        assert_eq!(w["type"], "welcome");
        phones.push(ws);
    }
    assert_eq!(console.command(json!({"type":"start"})).await, None);
    for p in &mut phones {
        assert_eq!(p.until("question").await["position"], 0);
    }
    for (i, p) in phones.iter_mut().enumerate() {
        let answer = if i % 2 == 0 {
            right(&qs[0])
        } else {
            wrong(&qs[0])
        };
        assert_eq!(p.answer(0, answer).await["type"], "ack", "phone {i}");
    }
    for (i, p) in phones.iter_mut().enumerate() {
        let r = p.until("result").await;
        assert_eq!(r["correct"], i % 2 == 0, "phone {i}");
        assert_eq!(r["players"], PHONES);
        assert!(!p.closed, "phone {i} was dropped");
    }
}

#[tokio::test]
async fn an_answer_the_records_could_not_take_can_be_sent_again() {
    // While the answers table is away, the writer's batch fails: the player is told, the room
    // forgets the answer (it is not a duplicate when sent again), and nothing is revealed on
    // the strength of it.
    let app = spawn_app().await;
    let qs = picks();
    let (pin, mut console) = room_with_console(&app, &qs).await;
    let (mut p, _) = Ws::hello_player(&app, None, &pin, Some("重试"), None).await;
    let (mut q, _) = Ws::hello_player(&app, None, &pin, Some("同场"), None).await;
    assert_eq!(console.command(json!({"type":"start"})).await, None);
    p.until("question").await;
    q.until("question").await;
    let rename = |from: &str, to: &str| format!("ALTER TABLE {from} RENAME TO {to}");
    sqlx::query(sqlx::AssertSqlSafe(rename("answers", "answers_away")))
        .execute(&app.db.pool)
        .await
        .unwrap();
    let lost = p.answer(0, right(&qs[0])).await;
    assert_eq!(lost["code"], "internal", "{lost}");
    assert!(lost["message"].as_str().unwrap().contains("重新提交"));
    sqlx::query(sqlx::AssertSqlSafe(rename("answers_away", "answers")))
        .execute(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(p.answer(0, right(&qs[0])).await["type"], "ack");
    assert_eq!(q.answer(0, wrong(&qs[0])).await["type"], "ack");
    assert_eq!(p.until("result").await["correct"], true);
    let stored: Vec<(String,)> = sqlx::query_as("SELECT participant_id FROM answers")
        .fetch_all(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(
        stored.len(),
        2,
        "one row per player: the lost answer was not stored"
    );
}

#[tokio::test]
async fn refusals_from_the_room_count_as_abuse_too() {
    // A duplicate answer is refused by the conductor, not by the socket's task; both kinds
    // of error count towards closing an abusive socket.
    let app = spawn_app().await;
    let qs = picks();
    let (pin, mut console) = room_with_console(&app, &qs).await;
    let (mut p, _) = Ws::hello_player(&app, None, &pin, Some("重复"), None).await;
    let (mut other, _) = Ws::hello_player(&app, None, &pin, Some("旁观"), None).await;
    assert_eq!(console.command(json!({"type":"start"})).await, None);
    p.until("question").await;
    assert_eq!(p.answer(0, right(&qs[0])).await["type"], "ack");
    let mut refused = 0;
    while refused < 40 {
        let again = json!({"type":"answer","position":0,"answer":right(&qs[0])});
        p.send(again).await;
        match p.next_within(Duration::from_secs(5)).await {
            Some(f) if f["code"] == "duplicate_answer" => refused += 1,
            Some(f) => panic!("unexpected frame {f}"),
            None => break,
        }
    }
    assert!(p.closed, "repeated refused answers close the socket");
    assert!(
        (20..=22).contains(&refused),
        "closed after {refused} refusals"
    );
    // The room goes on for the others.
    other.until("question").await;
    assert_eq!(other.answer(0, wrong(&qs[0])).await["type"], "ack");
}

#[tokio::test]
async fn guests_are_refused_where_the_host_did_not_allow_them() {
    let app = spawn_app().await;
    let host = app.session(HOST).await;
    let (_, pin) = create(&app, &host, &picks(), json!({"guests_allowed": false})).await;
    let (_, e) = Ws::hello_player(&app, None, &pin, Some("访客"), None).await;
    assert_eq!(e["code"], "not_allowed");
    let cookie = app.cookie(MEMBER).await;
    let (_, w) = Ws::hello_player(&app, Some(&cookie), &pin, None, None).await;
    assert_eq!(w["type"], "welcome");
}

#[tokio::test]
async fn host_rulings_recompute_scores_for_everyone() {
    let app = spawn_app().await;
    let qs = picks();
    let host = app.session(HOST).await;
    let (cid, pin) = create(&app, &host, &qs, json!({"speed_bonus": false})).await;
    let (mut console, _) = Ws::hello_staff(&app, &app.cookie(HOST).await, "host", &cid).await;
    let (mut a, _) =
        Ws::hello_player(&app, Some(&app.cookie(MEMBER).await), &pin, None, None).await;
    let (mut b, _) =
        Ws::hello_player(&app, Some(&app.cookie("d103").await), &pin, None, None).await;
    console.command(json!({"type":"start"})).await;
    a.until("question").await;
    b.until("question").await;
    a.answer(0, right(&qs[0])).await;
    let wrong_b = wrong(&qs[0]);
    b.answer(0, wrong_b.clone()).await;
    assert_eq!(a.until("result").await["total"], 1000);
    assert_eq!(b.until("result").await["total"], 0);

    // Accept B's answer too: B now has 1000 as well.
    let err = console
        .command(json!({"type":"accept","position":0,"answer":wrong_b,"reason":""}))
        .await
        .unwrap();
    assert_eq!(err["code"], "bad_frame", "a ruling needs a reason");
    assert_eq!(
        console
            .command(
                json!({"type":"accept","position":0,"answer":wrong_b,"reason":"选项表述存在歧义"})
            )
            .await,
        None
    );
    assert_eq!(b.until("ruling").await["ruling"], "accept");
    let sb = b.until("standing").await;
    // Equal points now; A answered first, so less time keeps A ahead.
    assert_eq!(
        (sb["total"].as_i64(), sb["rank"].as_u64()),
        (Some(1000), Some(2))
    );
    assert_eq!(console.until("leaderboard").await["top"][1]["points"], 1000);

    // Void the question: nobody keeps its points.
    assert_eq!(
        console
            .command(json!({"type":"void","position":0,"reason":"题目出处有误"}))
            .await,
        None
    );
    assert_eq!(a.until("ruling").await["ruling"], "accept");
    assert_eq!(a.until("ruling").await["ruling"], "void");
    let mut sa = a.until("standing").await;
    while sa["total"] != 0 {
        sa = a.until("standing").await;
    }
    let err = console
        .command(json!({"type":"void","position":2,"reason":"尚未揭晓"}))
        .await
        .unwrap();
    assert_eq!(err["code"], "wrong_phase");

    // The records agree, and the audit log has both rulings with their reasons.
    let points: Vec<i64> =
        sqlx::query_scalar("SELECT points FROM answers WHERE competition_id = $1")
            .bind(&cid)
            .fetch_all(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(points, vec![0, 0]);
    let admin = app.session(ADMIN).await;
    let audit: Value = admin
        .get(&app, "/api/admin/audit")
        .await
        .json()
        .await
        .unwrap();
    let reasons: Vec<String> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["action"]
                .as_str()
                .unwrap()
                .starts_with("competition.ruling")
        })
        .map(|e| e["detail"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(reasons.len(), 2);
    assert!(reasons.iter().any(|r| r.contains("选项表述存在歧义")));
    assert!(reasons.iter().any(|r| r.contains("题目出处有误")));
}

#[tokio::test]
async fn a_restarted_server_resumes_the_competition_with_scores_intact() {
    let (_dir, url) = fresh_sqlite();
    let qs = picks();
    let app = spawn_app_with(Options {
        database_url: Some(url.clone()),
        demo: true,
        ..Options::default()
    })
    .await;
    let host = app.session(HOST).await;
    let (cid, pin) = create(&app, &host, &qs, json!({})).await;
    let (mut console, _) = Ws::hello_staff(&app, &app.cookie(HOST).await, "host", &cid).await;
    let (mut a, wa) =
        Ws::hello_player(&app, Some(&app.cookie(MEMBER).await), &pin, None, None).await;
    let token = wa["you"]["token"].as_str().unwrap().to_string();
    console.command(json!({"type":"start"})).await;
    a.until("question").await;
    a.answer(0, right(&qs[0])).await;
    let before = a.until("result").await;
    app.handle.stop(false).await;
    drop(a);
    drop(console);

    let app = spawn_app_with(Options {
        database_url: Some(url),
        demo: true,
        ..Options::default()
    })
    .await;
    let (mut a, wa) = Ws::hello_player(&app, None, &pin, None, Some(&token)).await;
    assert_eq!(wa["you"]["points"], before["total"]);
    assert_eq!(wa["phase"], "reveal");
    let replay = a.until("result").await;
    assert_eq!(replay["total"], before["total"]);
    assert_eq!(replay["rank"], 1);
    let host = app.session(HOST).await;
    let _ = host;
    let (mut console, w) = Ws::hello_staff(&app, &app.cookie(HOST).await, "host", &cid).await;
    assert_eq!(w["phase"], "reveal");
    assert_eq!(console.command(json!({"type":"next"})).await, None);
    assert_eq!(console.command(json!({"type":"next"})).await, None);
    let q = a.until("question").await;
    assert_eq!(q["position"], 1);
    assert_eq!(a.answer(1, right(&qs[1])).await["type"], "ack");
    let r = a.until("result").await;
    assert!(r["total"].as_i64().unwrap() > before["total"].as_i64().unwrap());
}

async fn drawn(app: &TestApp, host: &Session, created: &Value) -> Vec<String> {
    let id = created["id"].as_str().unwrap();
    let d: Value = host
        .get(app, &format!("/api/competitions/{id}"))
        .await
        .json()
        .await
        .unwrap();
    d["question_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn setup_checks_its_input_and_the_draw_is_reproducible() {
    let app = spawn_app().await;
    let host = app.session(HOST).await;
    let body = |extra: Value| {
        let mut b = json!({"title":"信访业务知识竞赛","topics":["petition-work"],"count":5,"time_limit_s":20,"award_rule":{"top_n":3},"seed":12345});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let a: Value = host
        .post(&app, "/api/competitions", body(json!({})))
        .await
        .json()
        .await
        .unwrap();
    let b: Value = host
        .post(&app, "/api/competitions", body(json!({})))
        .await
        .json()
        .await
        .unwrap();
    let (la, lb) = (drawn(&app, &host, &a).await, drawn(&app, &host, &b).await);
    assert_eq!(la.len(), 5);
    assert_eq!(la, lb, "same seed, same questions");
    assert!(la.iter().all(|id| id.starts_with("pw-")));
    assert_ne!(a["pin"], b["pin"]);
    for (extra, needle) in [
        (json!({"time_limit_s": 3}), "5–120"),
        (json!({"topics": ["astrology"]}), "未知分类"),
        (json!({"title": " "}), "标题"),
        (json!({"award_rule": {"top_n": 0}}), "名额"),
        (json!({"question_ids": ["nope"]}), "不存在"),
    ] {
        let res = host.post(&app, "/api/competitions", body(extra)).await;
        assert_eq!(res.status(), 422);
        let e: Value = res.json().await.unwrap();
        assert!(e["message"].as_str().unwrap().contains(needle), "{e}");
    }
    let res = host
        .post(
            &app,
            "/api/competitions",
            json!({"title":"x","time_limit_s":20,"award_rule":{"top_n":1},"colour":"red"}),
        )
        .await;
    assert_eq!(res.status(), 400, "unknown fields are refused");
    let member = app.session(MEMBER).await;
    assert_eq!(
        member
            .post(&app, "/api/competitions", body(json!({})))
            .await
            .status(),
        403
    );
    let other_host = app.session(ADMIN).await;
    let id = a["id"].as_str().unwrap();
    assert_eq!(
        other_host
            .get(&app, &format!("/api/competitions/{id}"))
            .await
            .status(),
        200,
        "admins see all"
    );
    let qr = host
        .get(&app, &format!("/api/competitions/{id}/qr.svg"))
        .await;
    assert_eq!(qr.status(), 200);
    assert!(qr.text().await.unwrap().contains("<svg"));
}

#[tokio::test]
async fn host_controls_pause_extend_skip_and_remove() {
    let app = spawn_app().await;
    let qs = picks();
    let host = app.session(HOST).await;
    let (cid, pin) = create(&app, &host, &qs, json!({"time_limit_s": 30})).await;
    let (mut console, _) = Ws::hello_staff(&app, &app.cookie(HOST).await, "host", &cid).await;
    let (mut screen, w) = Ws::hello_staff(&app, &app.cookie(HOST).await, "screen", &cid).await;
    assert_eq!(w["role"], "screen");
    let (mut a, _) =
        Ws::hello_player(&app, Some(&app.cookie(MEMBER).await), &pin, None, None).await;
    let (mut b, wb) = Ws::hello_player(&app, None, &pin, Some("被移出者"), None).await;
    let b_id = wb["you"]["participant"].as_str().unwrap().to_string();
    let b_token = wb["you"]["token"].as_str().unwrap().to_string();

    let err = console.command(json!({"type":"next"})).await.unwrap();
    assert_eq!(err["code"], "wrong_phase", "next in the lobby");
    console.command(json!({"type":"start"})).await;
    let q = a.until("question").await;
    assert_eq!(q["time_limit_ms"], 30_000);

    // Pause: the clock stops; resume; extend adds time.
    assert_eq!(console.command(json!({"type":"pause"})).await, None);
    let paused = a.until("paused").await["remaining_ms"].as_u64().unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(console.command(json!({"type":"resume"})).await, None);
    let resumed = a.until("resumed").await["remaining_ms"].as_u64().unwrap();
    assert!(
        paused.abs_diff(resumed) < 150,
        "paused time is not counted: {paused} vs {resumed}"
    );
    assert_eq!(
        console.command(json!({"type":"extend","seconds":10})).await,
        None
    );
    let extended = a.until("time").await["remaining_ms"].as_u64().unwrap();
    assert!(extended > resumed + 9_000, "{resumed} → {extended}");
    let err = console
        .command(json!({"type":"extend","seconds":0}))
        .await
        .unwrap();
    assert_eq!(err["code"], "bad_frame");

    // Remove B: B is told and disconnected, cannot come back, and no longer counts.
    assert_eq!(
        console
            .command(json!({"type":"remove","participant":b_id}))
            .await,
        None
    );
    assert_eq!(b.until("removed").await["type"], "removed");
    assert!(b.next_within(Duration::from_secs(2)).await.is_none());
    let (_, again) = Ws::hello_player(&app, None, &pin, None, Some(&b_token)).await;
    assert_eq!(again["code"], "not_allowed");
    let players = console.until("players").await;
    let mut players = players;
    while players["players"].as_array().unwrap().len() != 1 {
        players = console.until("players").await;
    }

    // A answers; with B gone, A is everyone: the reveal comes at once. Skip is for the next one.
    assert_eq!(a.answer(0, right(&qs[0])).await["type"], "ack");
    a.until("result").await;
    let mut count = screen.until("answer_count").await;
    while count["answered"] != 1 {
        count = screen.until("answer_count").await;
    }
    assert_eq!(count["players"], 1, "the removed player no longer counts");
    screen.until("reveal").await;
    console.command(json!({"type":"next"})).await;
    console.command(json!({"type":"next"})).await;
    a.until("question").await;
    assert_eq!(console.command(json!({"type":"skip"})).await, None);
    let r = a.until("result").await;
    assert_eq!(r["answered"], false);
    // The podium stores the final standings even before any award is confirmed.
    assert_eq!(console.command(json!({"type":"end"})).await, None);
    screen.until("podium").await;
    let ranks: Vec<Option<i64>> = sqlx::query_scalar(
        "SELECT final_rank FROM participants WHERE competition_id = $1 AND removed_at IS NULL",
    )
    .bind(&cid)
    .fetch_all(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(ranks, vec![Some(1)]);
}

#[tokio::test]
async fn a_socket_answers_pings_sends_heartbeats_and_closes_on_a_flood() {
    // The socket's own duties, apart from the game: a client's ping gets its pong, the
    // server pings an idle client every 5 s, and a client that floods (well-formed frames,
    // no errors) is closed with a reason, while the others in the room stay.
    use tokio_tungstenite::tungstenite::Message;
    let app = spawn_app().await;
    let qs = picks();
    let (pin, mut console) = room_with_console(&app, &qs).await;
    let (mut p, _) = Ws::hello_player(&app, None, &pin, Some("心跳"), None).await;
    let (mut other, _) = Ws::hello_player(&app, None, &pin, Some("旁观"), None).await;
    p.until("lobby").await;

    p.send_raw(Message::Ping(b"biwu".to_vec().into())).await;
    let mut pong = None;
    while let Some(m) = p.next_raw(Duration::from_secs(2)).await {
        if let Message::Pong(data) = m {
            pong = Some(data);
            break;
        }
    }
    assert_eq!(pong.as_deref(), Some(&b"biwu"[..]), "the ping is answered");

    let mut pinged = false;
    while let Some(m) = p.next_raw(Duration::from_secs(7)).await {
        if m.is_ping() {
            pinged = true;
            break;
        }
    }
    assert!(pinged, "an idle socket gets the server's heartbeat");

    for _ in 0..80 {
        p.send(json!({"type":"ping"})).await;
    }
    while p.next_within(Duration::from_secs(2)).await.is_some() {}
    assert!(p.closed, "a flood closes the socket");
    assert_eq!(
        p.close,
        Some((1008, "发送过于频繁".to_string())),
        "closed for the flood, with the reason"
    );

    // The room carries on without it.
    assert_eq!(console.command(json!({"type":"start"})).await, None);
    assert_eq!(other.until("question").await["position"], 0);
    assert_eq!(other.answer(0, right(&qs[0])).await["type"], "ack");
}

#[tokio::test]
async fn a_phone_that_stops_reading_is_dropped_and_the_room_goes_on() {
    // A phone whose socket stopped draining: its session is never read, so its 32-frame
    // queue fills. The worker's relay that pushes the room's broadcasts finds it full and
    // tells the room, which closes it with 1013 (it may rejoin); the others play on.
    use actix_web::FromRequest;
    use actix_web::http::header;
    use biwu::live::protocol::ClientRole;
    use biwu::live::relay::Relay;
    use biwu::live::room::{Command, Outbox, PlayerAuth};
    let app = spawn_app().await;
    let qs = picks();
    let host = app.session(HOST).await;
    let (cid, pin) = create(&app, &host, &qs, json!({})).await;
    let host_cookie = app.cookie(HOST).await;
    let (mut console, _) = Ws::hello_staff(&app, &host_cookie, "host", &cid).await;
    let (mut other, _) = Ws::hello_player(&app, None, &pin, Some("正常"), None).await;
    // The relay runs on the thread that asked for it, as a worker's does.
    tokio::task::LocalSet::new()
        .run_until(async {
            let (req, mut payload) = actix_web::test::TestRequest::get()
                .insert_header((header::UPGRADE, "websocket"))
                .insert_header((header::CONNECTION, "upgrade"))
                .insert_header((header::SEC_WEBSOCKET_VERSION, "13"))
                .insert_header((header::SEC_WEBSOCKET_KEY, "dGhlIHNhbXBsZSBub25jZQ=="))
                .to_http_parts();
            let body = actix_web::web::Payload::from_request(&req, &mut payload)
                .await
                .unwrap();
            // `_unread` holds the queue's receiving end and is never polled.
            let (_unread, session, _stream) = actix_ws::handle(&req, body).unwrap();
            let room = app.state.rooms.get(&cid).await.unwrap();
            let (kick, kicked) = tokio::sync::oneshot::channel();
            let (reply, joined) = tokio::sync::oneshot::channel();
            let join = Command::Join {
                role: ClientRole::Player,
                player: Some(PlayerAuth::Guest {
                    name: "不读".into(),
                }),
                join_url: None,
                out: Outbox::new(session),
                relay: Relay::current(),
                kick,
                reply,
            };
            assert!(room.send(join).await.is_ok());
            assert!(joined.await.unwrap().is_ok(), "the silent phone joins");

            assert_eq!(console.command(json!({"type":"start"})).await, None);
            // Every extension is a frame for everyone: more than the queue holds.
            for _ in 0..40 {
                console.send(json!({"type":"extend","seconds":1})).await;
            }
            let reason = tokio::time::timeout(Duration::from_secs(10), kicked)
                .await
                .expect("the silent phone is closed")
                .expect("by the room");
            assert_eq!(u16::from(reason.code), 1013, "{reason:?}");
        })
        .await;
    assert_eq!(other.until("question").await["position"], 0);
    for _ in 0..40 {
        other.until("time").await; // the phone that reads gets every frame
    }
    assert_eq!(other.answer(0, right(&qs[0])).await["type"], "ack");
    assert!(!other.closed);
}

#[tokio::test]
async fn guests_are_capped_and_may_not_hide_text_or_pose_as_members() {
    let app = spawn_app().await;
    let host = app.session(HOST).await;
    let (_, pin) = create(&app, &host, &picks(), json!({"max_guests": 2})).await;
    let (_, e) = Ws::hello_player(&app, None, &pin, Some("甲\u{202E}乙"), None).await;
    assert_eq!(e["code"], "bad_frame");
    assert!(e["message"].as_str().unwrap().contains("方向"), "{e}");
    let (_, e) = Ws::hello_player(&app, None, &pin, Some("李晓雯"), None).await;
    assert_eq!(e["code"], "not_allowed");
    assert!(e["message"].as_str().unwrap().contains("名册"), "{e}");
    let (_a, w) = Ws::hello_player(&app, None, &pin, Some("访客一"), None).await;
    assert_eq!(w["type"], "welcome");
    let (_b, w) = Ws::hello_player(&app, None, &pin, Some("访客二"), None).await;
    assert_eq!(w["type"], "welcome");
    let (_, e) = Ws::hello_player(&app, None, &pin, Some("访客三"), None).await;
    assert_eq!(e["code"], "not_allowed");
    assert!(e["message"].as_str().unwrap().contains("访客已满"), "{e}");
    // Members still join a full room.
    let cookie = app.cookie(MEMBER).await;
    let (_, w) = Ws::hello_player(&app, Some(&cookie), &pin, None, None).await;
    assert_eq!(w["type"], "welcome");
    let res = host
        .post(
            &app,
            "/api/competitions",
            json!({"title": "x", "topics": ["petition-work"], "count": 3, "time_limit_s": 20, "award_rule": {"top_n": 3}, "max_guests": 0}),
        )
        .await;
    assert_eq!(res.status(), 422);
}

#[tokio::test]
async fn a_host_keeps_a_bounded_number_of_competitions_open() {
    let app = spawn_app().await;
    let host = app.session(HOST).await;
    let body = json!({"title": "练习赛", "topics": ["petition-work"], "count": 3, "time_limit_s": 20, "award_rule": {"top_n": 3}});
    for _ in 0..biwu::http::live::MAX_OPEN_PER_HOST {
        assert_eq!(
            host.post(&app, "/api/competitions", body.clone())
                .await
                .status(),
            201
        );
    }
    let res = host.post(&app, "/api/competitions", body.clone()).await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("未结束的比武"));
    // An ended one frees its place.
    sqlx::query(
        "UPDATE competitions SET status = 'ended' WHERE id = (SELECT MIN(id) FROM competitions)",
    )
    .execute(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(
        host.post(&app, "/api/competitions", body).await.status(),
        201
    );
}

/// The stems of a competition's draw, in order, as the host's setup page shows them.
async fn draw_stems(app: &TestApp, s: &Session, cid: &str) -> Vec<(String, String)> {
    let d = s.get_json(app, &format!("/api/competitions/{cid}")).await;
    d["question_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| {
            (
                q["id"].as_str().unwrap().to_string(),
                q["stem"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_host_previews_and_swaps_the_draw_until_the_game_starts() {
    previews_and_swaps(spawn_app().await).await;
}

/// The same on PostgreSQL, where the swap and the start's lock meet on the competition's row.
#[tokio::test]
async fn the_draw_is_swapped_and_locked_on_postgres() {
    if let Some(app) = spawn_on_postgres().await {
        previews_and_swaps(app).await;
    }
}

async fn previews_and_swaps(app: TestApp) {
    let host = app.session(HOST).await;
    let res = host
        .post(
            &app,
            "/api/competitions",
            json!({"title":"党章知识竞赛","topics":["party-constitution"],"count":3,
                   "time_limit_s":20,"award_rule":{"top_n":1}}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let cid = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let before = draw_stems(&app, &host, &cid).await;
    assert_eq!(before.len(), 3);
    assert!(before.iter().all(|(_, stem)| !stem.is_empty()));
    let swap = |pos: u32| format!("/api/competitions/{cid}/questions/{pos}");

    // Another random draw for question 2: a new question of the same topic, the rest kept.
    let res = host.post(&app, &swap(1), json!({})).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let after = draw_stems(&app, &host, &cid).await;
    assert_eq!((&after[0], &after[2]), (&before[0], &before[2]));
    assert!(!before.iter().any(|(id, _)| *id == after[1].0));
    let bank = biwu::bank::load(&bank_dir());
    assert_eq!(
        bank.questions().find(|q| q.id == after[1].0).unwrap().topic,
        biwu::domain::Topic::PartyConstitution
    );

    // By id: any active question not already drawn.
    let pick = bank
        .questions()
        .find(|q| !after.iter().any(|(id, _)| *id == q.id))
        .unwrap()
        .clone();
    let res = host
        .post(&app, &swap(0), json!({"question_id": pick.id}))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(draw_stems(&app, &host, &cid).await[0].0, pick.id);
    let dup = host
        .post(&app, &swap(2), json!({"question_id": pick.id}))
        .await;
    assert_eq!(dup.status(), 422, "a question drawn twice");
    let unknown = host
        .post(&app, &swap(2), json!({"question_id": "no-such-question"}))
        .await;
    assert_eq!(unknown.status(), 422);
    assert_eq!(host.post(&app, &swap(7), json!({})).await.status(), 404);

    // Only the creator or an admin: a member is refused, an admin may.
    let member = app.session(MEMBER).await;
    assert_eq!(member.post(&app, &swap(2), json!({})).await.status(), 403);
    let admin = app.session(ADMIN).await;
    assert_eq!(admin.post(&app, &swap(2), json!({})).await.status(), 200);
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'competition.swap_question' AND subject = $1",
    )
    .bind(&cid)
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(audited, 3);

    // A console already open holds the room: a swap made now is still what the game asks.
    let (mut console, _) = Ws::hello_staff(&app, &app.cookie(HOST).await, "host", &cid).await;
    let (mut phone, _) = Ws::hello_player(
        &app,
        Some(&app.cookie(MEMBER).await),
        &{
            let d = host
                .get_json(&app, &format!("/api/competitions/{cid}"))
                .await;
            d["pin"].as_str().unwrap().to_string()
        },
        None,
        None,
    )
    .await;
    let res = host.post(&app, &swap(0), json!({})).await;
    assert_eq!(res.status(), 200);
    let locked_in = draw_stems(&app, &host, &cid).await;
    assert_eq!(console.command(json!({"type":"start"})).await, None);
    let q = phone.until("question").await;
    assert_eq!(q["stem"], locked_in[0].1.as_str());

    // Started: the draw is locked, with a clear reason.
    let res = host.post(&app, &swap(1), json!({})).await;
    assert_eq!(res.status(), 409);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("已锁定"),
        "{body}"
    );
    assert_eq!(draw_stems(&app, &host, &cid).await, locked_in);
}

#[tokio::test]
async fn a_player_gets_their_own_answer_back_in_the_result_and_after_a_rejoin() {
    let app = spawn_app().await;
    let qs = picks();
    let host = app.session(HOST).await;
    let (cid, pin) = create(&app, &host, &qs, json!({"time_limit_s": 60})).await;
    let (mut console, _) = Ws::hello_staff(&app, &app.cookie(HOST).await, "host", &cid).await;
    let (mut a, wa) = Ws::hello_player(&app, None, &pin, Some("答题者"), None).await;
    let token = wa["you"]["token"].as_str().unwrap().to_string();
    let (mut b, wb) = Ws::hello_player(&app, None, &pin, Some("旁观者"), None).await;
    let b_token = wb["you"]["token"].as_str().unwrap().to_string();
    console.command(json!({"type":"start"})).await;
    let q = a.until("question").await;
    assert!(
        q["your_answer"].is_null() && q["answered"].is_null() && q.get("answer").is_none(),
        "the broadcast question carries no player's answer: {q}"
    );
    b.until("question").await;
    let sent = wrong(&qs[0]);
    assert_eq!(a.answer(0, sent.clone()).await["type"], "ack");

    // A refresh: the rejoin question says what was sent, in the shape it was sent.
    drop(a);
    let (mut a, _) = Ws::hello_player(&app, None, &pin, None, Some(&token)).await;
    let q = a.until("question").await;
    assert_eq!(q["answered"], true);
    assert_eq!(q["your_answer"], sent);
    drop(b);
    let (mut b, _) = Ws::hello_player(&app, None, &pin, None, Some(&b_token)).await;
    let q = b.until("question").await;
    assert_eq!(q["answered"], false);
    assert!(
        q["your_answer"].is_null() && q.get("your_answer").is_some(),
        "{q}"
    );

    // At the reveal each result carries the player's own answer, or null.
    assert_eq!(console.command(json!({"type":"skip"})).await, None);
    let ra = a.until("result").await;
    assert_eq!(ra["your_answer"], sent);
    assert_eq!(ra["correct"], false);
    let rb = b.until("result").await;
    assert!(
        rb["your_answer"].is_null() && rb.get("your_answer").is_some(),
        "{rb}"
    );
}
