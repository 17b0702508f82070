//! The protocol document against the server: every frame of a real game, received over real
//! sockets, has exactly the fields `docs/protocol.md` lists for its type; and the rules the
//! document states (timing, rulings, awards, guest names, what a player receives) hold.

use crate::helpers::*;
use crate::helpers::{right_answer as right, wrong_answer as wrong};
use crate::live::create;
use crate::ws::Ws;
use biwu::domain::{Kind, Question};
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

/// Field lists of the document: server message types and the objects inside frames.
pub(crate) struct Spec {
    messages: HashMap<String, BTreeSet<String>>,
    objects: HashMap<String, BTreeSet<String>>,
}

/// The backticked words of a table cell.
fn backticked(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// The rows of the first table after `heading` in `doc`, as cells.
fn table_after(doc: &str, heading: &str) -> Vec<Vec<String>> {
    let start = doc
        .find(heading)
        .unwrap_or_else(|| panic!("docs/protocol.md has no heading {heading:?}"));
    doc[start..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2) // the header and the |---| line
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

/// Reads the field lists from the document: the table under "Server → client" (`type | to |
/// fields | notes`, several types in a row share its fields) and the one under "Objects
/// inside frames" (`object | in | fields`).
pub(crate) fn spec() -> Spec {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/protocol.md");
    let doc = std::fs::read_to_string(path).expect("docs/protocol.md is readable");
    let mut messages = HashMap::new();
    for row in table_after(&doc, "## Server → client") {
        assert_eq!(row.len(), 4, "a server message row has 4 cells: {row:?}");
        let fields: BTreeSet<String> = backticked(&row[2]).into_iter().collect();
        for ty in backticked(&row[0]) {
            messages.insert(ty, fields.clone());
        }
    }
    let mut objects = HashMap::new();
    for row in table_after(&doc, "### Objects inside frames") {
        assert_eq!(row.len(), 3, "an object row has 3 cells: {row:?}");
        objects.insert(row[0].clone(), backticked(&row[2]).into_iter().collect());
    }
    assert!(messages.len() >= 18, "server messages found: {messages:?}");
    assert_eq!(objects.len(), 5, "objects found: {objects:?}");
    Spec { messages, objects }
}

/// Compares one object's keys with a documented field list; `what` names it in the problems.
fn compare(what: &str, object: &Value, fields: &BTreeSet<String>, problems: &mut Vec<String>) {
    let Some(map) = object.as_object() else {
        problems.push(format!("{what}: not an object: {object}"));
        return;
    };
    let keys: BTreeSet<String> = map.keys().filter(|k| *k != "type").cloned().collect();
    for missing in fields.difference(&keys) {
        problems.push(format!(
            "{what}: documented field `{missing}` missing in {object}"
        ));
    }
    for extra in keys.difference(fields) {
        problems.push(format!("{what}: undocumented field `{extra}` in {object}"));
    }
}

impl Spec {
    /// Checks a server frame, and the objects inside it, against the document.
    pub(crate) fn check(&self, frame: &Value, problems: &mut Vec<String>) {
        let ty = frame["type"].as_str().unwrap_or_default();
        let Some(fields) = self.messages.get(ty) else {
            problems.push(format!("undocumented message type in {frame}"));
            return;
        };
        compare(&format!("`{ty}`"), frame, fields, problems);
        let object = |name: &str, v: &Value, problems: &mut Vec<String>| {
            compare(
                &format!("{name} in `{ty}`"),
                v,
                &self.objects[name],
                problems,
            )
        };
        match ty {
            "welcome" if !frame["you"].is_null() => object("you", &frame["you"], problems),
            "question" if !frame["case"].is_null() => object("case", &frame["case"], problems),
            "leaderboard" | "podium" => {
                for key in ["top", "proposed"] {
                    for line in frame[key].as_array().into_iter().flatten() {
                        object("line", line, problems);
                    }
                }
                for team in frame["teams"].as_array().into_iter().flatten() {
                    object("team", team, problems);
                }
            }
            "players" => {
                for p in frame["players"].as_array().into_iter().flatten() {
                    object("player", p, problems);
                }
            }
            "result" => {
                if frame["reveal"]["type"] == "reveal" {
                    self.check(&frame["reveal"], problems);
                } else {
                    problems.push(format!("`result` without its `reveal`: {frame}"));
                }
            }
            _ => {}
        }
    }
}

/// Questions of the given kinds from the shipped bank, in that order.
fn questions_of(kinds: &[Kind]) -> Vec<Question> {
    let bank = biwu::bank::load(&bank_dir());
    kinds
        .iter()
        .map(|k| {
            bank.questions()
                .find(|q| q.kind == *k)
                .unwrap_or_else(|| panic!("the bank has a {k:?} question"))
                .clone()
        })
        .collect()
}

/// Reads whatever a socket still has coming, so its log is complete.
async fn drain(ws: &mut Ws) {
    while ws.next_within(Duration::from_millis(400)).await.is_some() {}
}

on_both_databases!(
    every_server_frame_has_exactly_the_documented_fields,
    documented_fields_on_postgres_and_redis,
    every_frame_against_the_document
);

/// A whole game that makes the server send every message type, to host, screen and players;
/// every frame received is then held against the document's field lists.
async fn every_frame_against_the_document(app: TestApp) {
    let spec = spec();
    let qs = questions_of(&[Kind::Single, Kind::TrueFalse, Kind::Fill]);
    let host = app.session(HOST).await;
    let (cid, pin) = create(&app, &host, &qs, json!({"time_limit_s": 30})).await;
    let host_cookie = app.cookie(HOST).await;

    // The host's lobby before anyone joined still lists `names`, as [].
    let (mut console, w) = Ws::hello_staff(&app, &host_cookie, "host", &cid).await;
    assert!(w["you"].is_null() && w.get("you").is_some(), "{w}");
    let lobby = console.until("lobby").await;
    assert_eq!(lobby["names"], json!([]), "{lobby}");
    let (mut screen, _) = Ws::hello_staff(&app, &host_cookie, "screen", &cid).await;
    let (mut a, _) =
        Ws::hello_player(&app, Some(&app.cookie(MEMBER).await), &pin, None, None).await;
    let (mut b, wb) = Ws::hello_player(&app, None, &pin, Some("访客乙"), None).await;
    let (mut c, wc) = Ws::hello_player(&app, None, &pin, Some("访客丙"), None).await;
    let b_token = wb["you"]["token"].as_str().unwrap().to_string();
    let player_lobby = a.until("lobby").await;
    assert_eq!(
        (
            &player_lobby["names"],
            &player_lobby["pin"],
            &player_lobby["join_url"]
        ),
        (&json!([]), &Value::Null, &Value::Null),
        "{player_lobby}"
    );
    console.until("players").await;
    a.send(json!({"type":"ping"})).await;
    assert_eq!(a.next().await["type"], "pong");
    let refused = a.command(json!({"type":"start"})).await.unwrap();
    assert_eq!(refused["code"], "not_allowed");

    // Question 1 (single): pause, resume, extend; C is removed; A and B answer.
    assert_eq!(console.command(json!({"type":"start"})).await, None);
    let q0 = a.until("question").await;
    assert!(q0["unit"].is_null() && q0["answered"].is_null(), "{q0}");
    for cmd in [
        json!({"type":"pause"}),
        json!({"type":"resume"}),
        json!({"type":"extend","seconds":5}),
    ] {
        assert_eq!(console.command(cmd).await, None);
    }
    a.until("time").await;
    let c_id = wc["you"]["participant"].as_str().unwrap();
    assert_eq!(
        console
            .command(json!({"type":"remove","participant":c_id}))
            .await,
        None
    );
    c.until("removed").await;
    assert_eq!(a.answer(0, right(&qs[0])).await["type"], "ack");
    b.until("time").await;
    assert_eq!(b.answer(0, wrong(&qs[0])).await["type"], "ack");
    a.until("result").await;
    screen.until("reveal").await;
    assert_eq!(console.command(json!({"type":"next"})).await, None);
    screen.until("leaderboard").await;

    // Question 2 (true/false): no options, sent as []; B drops and rejoins mid-question.
    assert_eq!(console.command(json!({"type":"next"})).await, None);
    let q1 = a.until("question").await;
    assert_eq!(q1["options"], json!([]), "{q1}");
    b.until("question").await;
    drain(&mut b).await;
    let mut b_log = std::mem::take(&mut b.log);
    drop(b);
    let (mut b, _) = Ws::hello_player(&app, None, &pin, None, Some(&b_token)).await;
    let again = b.until("question").await;
    assert_eq!(again["answered"], false, "{again}");
    assert_eq!(a.answer(1, right(&qs[1])).await["type"], "ack");
    assert_eq!(console.command(json!({"type":"skip"})).await, None);
    let r1 = b.until("result").await;
    assert_eq!(
        (&r1["reveal"]["options"], &r1["reveal"]["also_accepted"]),
        (&json!([]), &json!([])),
        "{r1}"
    );
    let reveal = screen.until("reveal").await;
    assert_eq!(reveal["options"], json!([]), "{reveal}");

    // A ruling, question 3 (fill) and the end; the host confirms the awards.
    assert_eq!(
        console
            .command(
                json!({"type":"accept","position":0,"answer":wrong(&qs[0]),"reason":"表述等价"})
            )
            .await,
        None
    );
    b.until("standing").await;
    assert_eq!(console.command(json!({"type":"next"})).await, None);
    assert_eq!(console.command(json!({"type":"next"})).await, None);
    let q2 = a.until("question").await;
    assert_eq!(q2["options"], json!([]), "{q2}");
    assert_eq!(a.answer(2, right(&qs[2])).await["type"], "ack");
    b.until("question").await;
    assert_eq!(b.answer(2, wrong(&qs[2])).await["type"], "ack");
    a.until("result").await;
    assert_eq!(console.command(json!({"type":"end"})).await, None);
    a.until("podium").await;
    assert_eq!(
        console.command(json!({"type":"confirm_awards"})).await,
        None
    );

    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    b_log.append(&mut b.log);
    for ws in [&mut console, &mut screen, &mut a, &mut c] {
        drain(ws).await;
    }
    drain(&mut b).await;
    b_log.append(&mut b.log);
    let logs = [&console.log, &screen.log, &a.log, &b_log, &c.log];
    for frame in logs.into_iter().flatten() {
        seen.insert(frame["type"].as_str().unwrap_or_default().to_string());
        spec.check(frame, &mut problems);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let documented: BTreeSet<String> = spec.messages.keys().cloned().collect();
    let never: Vec<&String> = documented.difference(&seen).collect();
    assert!(
        never.is_empty(),
        "the game should produce every documented message; never received: {never:?}"
    );
}

/// The frame types one socket received after its `welcome`.
fn types(ws: &Ws) -> Vec<String> {
    ws.log
        .iter()
        .skip(1)
        .map(|f| f["type"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn a_player_gets_three_frames_for_an_answered_question_and_two_for_a_missed_one() {
    let app = spawn_app().await;
    let qs = questions_of(&[Kind::Single, Kind::TrueFalse, Kind::Multiple]);
    let host = app.session(HOST).await;
    let (cid, pin) = create(&app, &host, &qs, json!({"time_limit_s": 30})).await;
    let (mut console, _) = Ws::hello_staff(&app, &app.cookie(HOST).await, "host", &cid).await;
    let (mut p, _) =
        Ws::hello_player(&app, Some(&app.cookie(MEMBER).await), &pin, None, None).await;
    p.until("lobby").await;

    console.command(json!({"type":"start"})).await;
    p.until("question").await;
    assert_eq!(p.answer(0, right(&qs[0])).await["type"], "ack");
    p.until("result").await;
    console.command(json!({"type":"next"})).await;
    console.command(json!({"type":"next"})).await;
    p.until("question").await;
    console.command(json!({"type":"skip"})).await;
    p.until("result").await;
    console.command(json!({"type":"next"})).await;
    console.command(json!({"type":"next"})).await;
    p.until("question").await;
    for cmd in ["pause", "resume"] {
        console.command(json!({ "type": cmd })).await;
    }
    console.command(json!({"type":"extend","seconds":10})).await;
    p.until("time").await;
    assert_eq!(p.answer(2, right(&qs[2])).await["type"], "ack");
    p.until("result").await;
    p.send(json!({"type":"ping"})).await;
    p.until("pong").await;
    console.command(json!({"type":"end"})).await;
    p.until("podium").await;
    console
        .command(json!({"type":"void","position":1,"reason":"题目有误"}))
        .await;
    drain(&mut p).await;
    assert_eq!(
        types(&p),
        [
            "lobby", // on joining
            "question", "ack", "result", // answered: 3
            "question", "result", // missed: 2
            "question", "paused", "resumed", "time", "ack", "result", // 3 + 3 host actions
            "pong", "podium", // end
            "ruling", "podium", "standing", // a ruling at the podium
        ],
        "the leaderboard, reveal and counts go to host and screen only"
    );
}

#[tokio::test]
async fn answers_in_the_grace_or_the_extension_are_timed_as_the_set_limit() {
    // Speed bonus on, 5 s a question, 1000 points: an answer timed at the limit scores 500.
    let app = spawn_app().await;
    let qs = questions_of(&[Kind::Single, Kind::TrueFalse]);
    let host = app.session(HOST).await;
    let (cid, pin) = create(&app, &host, &qs, json!({})).await;
    let (mut console, _) = Ws::hello_staff(&app, &app.cookie(HOST).await, "host", &cid).await;
    let (mut a, _) = Ws::hello_player(&app, None, &pin, Some("踩点"), None).await;
    let (mut b, _) = Ws::hello_player(&app, None, &pin, Some("未答"), None).await;

    // Question 1: A answers about 5.15 s in, inside the 500 ms grace; B never answers.
    // (`send`, not `command`: the clock starts now, not after waiting for an error.)
    console.send(json!({"type":"start"})).await;
    a.until("question").await;
    tokio::time::sleep(Duration::from_millis(5150)).await;
    assert_eq!(a.answer(0, right(&qs[0])).await["type"], "ack");
    let r = a.until("result").await;
    assert_eq!(r["points"], 500, "timed as the limit: P/2 — {r}");
    b.until("result").await;
    console.command(json!({"type":"next"})).await;
    let board = console.until("leaderboard").await;
    let ms = |board: &Value, name: &str| {
        board["top"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["name"] == name)
            .unwrap_or_else(|| panic!("{name} on {board}"))["total_ms"]
            .as_i64()
    };
    assert_eq!(ms(&board, "踩点"), Some(5000), "{board}");
    assert_eq!(ms(&board, "未答"), Some(5000), "a missing answer counts T");

    // Question 2: the host extends by 10 s; A answers 6 s in (in the extra time); B misses.
    console.command(json!({"type":"next"})).await;
    a.until("question").await;
    console.command(json!({"type":"extend","seconds":10})).await;
    a.until("time").await;
    tokio::time::sleep(Duration::from_millis(6000)).await;
    assert_eq!(a.answer(1, right(&qs[1])).await["type"], "ack");
    console.command(json!({"type":"skip"})).await;
    let r = a.until("result").await;
    assert_eq!(r["points"], 500, "T is not extended in the formula — {r}");
    console.command(json!({"type":"next"})).await;
    let board = console.until("leaderboard").await;
    assert_eq!(ms(&board, "踩点"), Some(10_000), "{board}");
    assert_eq!(
        ms(&board, "未答"),
        Some(10_000),
        "a missing answer is charged T, not T plus the extension"
    );
    let stored: Vec<i64> = sqlx::query_scalar("SELECT elapsed_ms FROM answers ORDER BY position")
        .fetch_all(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(
        stored,
        [5000, 5000],
        "the records time them as the limit too"
    );
}

#[tokio::test]
async fn voiding_re_tallies_streaks_and_min_points_means_at_least() {
    // Streak bonus on, speed bonus off: right, wrong, right is 1000 + 0 + 1000. Voiding the
    // wrong one makes the last answer the second right one in a row: 1000 + 1100 = 2100,
    // which is exactly the award threshold.
    let app = spawn_app().await;
    let qs = questions_of(&[Kind::Single, Kind::TrueFalse, Kind::Multiple]);
    let host = app.session(HOST).await;
    let settings =
        json!({"speed_bonus": false, "streak_bonus": true, "award_rule": {"min_points": 2100}});
    let (cid, pin) = create(&app, &host, &qs, settings).await;
    let (mut console, _) = Ws::hello_staff(&app, &app.cookie(HOST).await, "host", &cid).await;
    let (mut a, _) =
        Ws::hello_player(&app, Some(&app.cookie(MEMBER).await), &pin, None, None).await;
    let (mut g, _) = Ws::hello_player(&app, None, &pin, Some("访客"), None).await;
    console.command(json!({"type":"start"})).await;
    for (i, q) in qs.iter().enumerate() {
        a.until("question").await;
        g.until("question").await;
        let mine = if i == 1 { wrong(q) } else { right(q) };
        assert_eq!(a.answer(i as u64, mine).await["type"], "ack");
        assert_eq!(g.answer(i as u64, wrong(q)).await["type"], "ack");
        let r = a.until("result").await;
        if i == 2 {
            assert_eq!(
                r["total"], 2000,
                "no streak bonus after a wrong answer: {r}"
            );
            // The multiple-choice bars count each letter a player chose.
            let bars = r["reveal"]["distribution"].as_array().unwrap().clone();
            let key = q.answer.display();
            for l in key.chars() {
                let at = (l as u8 - b'A') as usize;
                assert!(bars[at].as_u64().unwrap() >= 1, "{l} chosen: {bars:?}");
            }
            let sum: u64 = bars.iter().map(|b| b.as_u64().unwrap()).sum();
            assert_eq!(
                sum as usize,
                key.len() + 1,
                "A's letters and the guest's one"
            );
        } else {
            console.command(json!({"type":"next"})).await;
            console.command(json!({"type":"next"})).await;
        }
    }
    console.command(json!({"type":"end"})).await;
    let podium = console.until("podium").await;
    assert_eq!(podium["proposed"], json!([]), "2000 < 2100: {podium}");

    console
        .command(json!({"type":"void","position":1,"reason":"题干有歧义"}))
        .await;
    a.until("ruling").await;
    assert_eq!(a.until("standing").await["total"], 2100);
    let podium = console.until("podium").await;
    let proposed: Vec<&str> = podium["proposed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(proposed, ["李晓雯"], "2100 ≥ 2100: {podium}");
}

#[tokio::test]
async fn guest_names_follow_the_documented_rule() {
    let app = spawn_app().await;
    let host = app.session(HOST).await;
    let qs = questions_of(&[Kind::Single]);
    let (_, pin) = create(&app, &host, &qs, json!({})).await;
    for (name, code) in [
        ("   ", "not_allowed"),
        ("", "not_allowed"),
        (&*"长".repeat(21), "bad_frame"),
        ("零\u{200B}宽", "bad_frame"),
    ] {
        let (_, e) = Ws::hello_player(&app, None, &pin, Some(name), None).await;
        assert_eq!(e["code"], code, "{name:?}: {e}");
    }
    let twenty = "长".repeat(20);
    let (_, w) = Ws::hello_player(&app, None, &pin, Some(&twenty), None).await;
    assert_eq!(w["you"]["name"], twenty.as_str(), "20 characters fit");
    let (_, w) = Ws::hello_player(&app, None, &pin, Some("  访客小王 "), None).await;
    assert_eq!(w["you"]["name"], "访客小王", "trimmed");
}
