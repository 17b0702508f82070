//! Several instances on one PostgreSQL and one Redis (`--cluster`): a live room is conducted
//! by the instance holding its lease; the others relay its sockets (players, host and screen
//! may each be on any instance); an instance that loses the lease stops the room at once, and
//! the sockets relayed to it are sent to reconnect; and after kill -9 of the owner another
//! instance takes the room over from the records — every answer acknowledged before the kill
//! counted once, the players back with their tokens.

use crate::crash::{Server, login};
use crate::faults::Cuttable;
use crate::helpers::*;
use crate::live::picks;
use crate::ws::Ws;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// A competition of `qs` created by the demo host on `app`, guests allowed: (id, PIN).
async fn competition(
    app: &TestApp,
    qs: &[biwu::domain::Question],
    title: &str,
    top_n: u32,
) -> (String, String) {
    let host = app.session(HOST).await;
    let c: Value = host
        .post(
            app,
            "/api/competitions",
            json!({
                "title": title, "question_ids": qs.iter().map(|q| q.id.clone()).collect::<Vec<_>>(),
                "time_limit_s": 60, "guests_allowed": true, "award_rule": {"top_n": top_n},
            }),
        )
        .await
        .json()
        .await
        .unwrap();
    (
        c["id"].as_str().unwrap().to_string(),
        c["pin"].as_str().unwrap().to_string(),
    )
}

async fn healthz(app: &TestApp) -> Value {
    app.client
        .get(app.url("/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Two instances (in this process) on one fresh PostgreSQL database and one Redis prefix.
async fn two_instances() -> Option<(TestApp, TestApp, String)> {
    let redis = redis_url()?;
    instances_through([redis.clone(), redis]).await
}

/// Two instances on one fresh PostgreSQL database and one Redis prefix, each reaching Redis
/// through its own URL (a forwarder that can be cut, say).
async fn instances_through(redis: [String; 2]) -> Option<(TestApp, TestApp, String)> {
    let (mut apps, prefix) = instances_on(redis.to_vec()).await?;
    let b = apps.pop().unwrap();
    let a = apps.pop().unwrap();
    Some((a, b, prefix))
}

/// One instance per Redis URL, on one fresh PostgreSQL database and one Redis prefix.
async fn instances_on(redis: Vec<String>) -> Option<(Vec<TestApp>, String)> {
    let pg = postgres_url()?;
    let db = fresh_postgres(&pg).await;
    let prefix = format!("biwu-test:{}:", uuid::Uuid::new_v4().simple());
    let mut apps = Vec::new();
    for url in redis {
        let (db, prefix) = (db.clone(), prefix.clone());
        apps.push(
            spawn_app_edited(
                Options {
                    database_url: Some(db),
                    redis_url: Some(url),
                    demo: true,
                },
                move |s| {
                    s.redis_prefix = prefix;
                    s.cluster = true;
                    s.lease_ms = 1000;
                },
            )
            .await,
        );
    }
    Some((apps, prefix))
}

#[tokio::test]
async fn a_room_is_conducted_by_the_lease_holder_and_stops_when_the_lease_is_lost() {
    let Some((a, b, prefix)) = two_instances().await else {
        return;
    };
    let host = a.session(HOST).await;
    let c: Value = host
        .post(&a, "/api/competitions", json!({"title": "两台服务器", "count": 3, "time_limit_s": 30, "guests_allowed": true, "award_rule": {"top_n": 1}}))
        .await
        .json()
        .await
        .unwrap();
    let cid = c["id"].as_str().unwrap();
    let cookie_a = a.cookie(HOST).await;
    let (mut console, welcome) = Ws::hello_staff(&a, &cookie_a, "host", cid).await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    let health: Value = healthz(&a).await;
    assert_eq!(health["rooms"], 1);

    // The other instance relays the room's sockets to a while a holds the lease.
    let cookie_b = b.cookie(HOST).await;
    let (mut console_b, relayed) = Ws::hello_staff(&b, &cookie_b, "host", cid).await;
    assert_eq!(relayed["type"], "welcome", "{relayed}");
    assert_eq!(console_b.until("lobby").await["pin"], c["pin"]);
    let health_b: Value = healthz(&b).await;
    assert_eq!(
        (
            health_b["rooms"].as_u64(),
            health_b["relayed_rooms"].as_u64()
        ),
        (Some(0), Some(1))
    );

    // The lease taken from a (as when it expired while a was cut off and another instance
    // took it): a stops the room and sends its sockets away at once.
    let redis = redis::Client::open(redis_url().unwrap()).unwrap();
    let mut con = redis.get_multiplexed_async_connection().await.unwrap();
    let key = format!("{prefix}lease:room:{cid}");
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg("someone-else:999999")
        .arg("PX")
        .arg(300)
        .query_async(&mut con)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !console.closed {
        assert!(Instant::now() < deadline, "the room did not stop");
        let _ = console.next_within(Duration::from_millis(200)).await;
    }
    assert_eq!(
        console.close.as_ref().map(|c| c.0),
        Some(1012),
        "{:?}",
        console.close
    );
    // The socket relayed through b is sent to reconnect as well.
    while !console_b.closed {
        assert!(Instant::now() < deadline, "the relayed socket stayed");
        let _ = console_b.next_within(Duration::from_millis(200)).await;
    }
    assert_eq!(console_b.close.as_ref().map(|c| c.0), Some(1012));

    // Once that lease expired, b takes the room over from the records.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (_, welcome) = Ws::hello_staff(&b, &cookie_b, "host", cid).await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    let health: Value = healthz(&b).await;
    assert_eq!(health["rooms"], 1);
}

/// Three instances (real binaries): the host on a (the owner), phones on a and c (relayed).
/// kill -9 of a mid-question: c's relayed sockets are sent to reconnect, the room is taken
/// over from the records, and everyone comes back through b and c with their tokens; each
/// answer acknowledged before the kill counts once. The lease lasts 30 s, longer than any wait
/// below: the takeover comes from Redis seeing the dead owner's connections close (its
/// presence), not from the lease running out.
#[tokio::test]
async fn after_kill_9_of_the_owner_another_instance_takes_the_room_over() {
    let (Some(pg), Some(redis)) = (postgres_url(), redis_url()) else {
        return;
    };
    let url = fresh_postgres(&pg).await;
    let prefix = format!("biwu-test:{}:", uuid::Uuid::new_v4().simple());
    let env = [
        ("REDIS_URL", redis.as_str()),
        ("BIWU_REDIS_PREFIX", prefix.as_str()),
        ("BIWU_CLUSTER", "true"),
        ("BIWU_LEASE_MS", "30000"),
    ];
    let mut ports = Vec::new();
    while ports.len() < 3 {
        let p = free_port();
        if !ports.contains(&p) {
            ports.push(p);
        }
    }
    let (pa, pb, pc) = (ports[0], ports[1], ports[2]);
    let mut a = Server::start_with(&url, pa, &env).await;
    let _b = Server::start_with(&url, pb, &env).await;
    let _c = Server::start_with(&url, pc, &env).await;
    let host = login(pa, HOST).await;
    let qs = picks();
    let res = host
        .post(
            pa,
            "/api/competitions",
            json!({
                "title": "接管演练", "question_ids": qs.iter().map(|q| q.id.clone()).collect::<Vec<_>>(),
                "time_limit_s": 60, "guests_allowed": true, "award_rule": {"top_n": 3},
            }),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let c: Value = res.json().await.unwrap();
    let (cid, pin) = (c["id"].as_str().unwrap(), c["pin"].as_str().unwrap());
    let mut console = Ws::connect_to(pa, &[("Cookie", host.cookie.as_str())]).await;
    console
        .send(json!({"type":"hello","protocol":1,"role":"host","competition":cid}))
        .await;
    assert_eq!(console.next().await["type"], "welcome");
    let mut phones = Vec::new();
    for i in 0..6 {
        let mut ws = Ws::connect_to(if i % 2 == 0 { pa } else { pc }, &[]).await;
        ws.send(json!({"type":"hello","protocol":1,"role":"player","pin":pin,"name":format!("选手{i}")}))
            .await;
        let w = ws.next().await;
        assert_eq!(w["type"], "welcome", "{w}");
        phones.push((
            ws,
            w["you"]["token"].as_str().unwrap().to_string(),
            w["you"]["participant"].as_str().unwrap().to_string(),
        ));
    }
    assert_eq!(console.command(json!({"type":"start"})).await, None);
    for (ws, _, _) in phones.iter_mut() {
        ws.until("question").await;
        ws.send(json!({"type":"answer","position":0,"answer":right_answer(&qs[0])}))
            .await;
        assert_eq!(ws.until("ack").await["position"], 0);
    }
    a.kill9();
    let killed = Instant::now();

    // c relays for a dead owner: once it sees the owner gone its sockets are sent to reconnect.
    for (i, (ws, _, _)) in phones.iter_mut().enumerate().filter(|(i, _)| i % 2 == 1) {
        while !ws.closed {
            assert!(
                killed.elapsed() < Duration::from_secs(10),
                "relayed socket {i} stayed open"
            );
            let _ = ws.next_within(Duration::from_millis(200)).await;
        }
        assert_eq!(ws.close.as_ref().map(|c| c.0), Some(1012), "{:?}", ws.close);
    }

    // The host comes back on b, which takes the dead owner's lease over.
    let mut console = loop {
        let mut console = Ws::connect_to(pb, &[("Cookie", host.cookie.as_str())]).await;
        console
            .send(json!({"type":"hello","protocol":1,"role":"host","competition":cid}))
            .await;
        let w = console.next().await;
        if w["type"] == "welcome" {
            break console;
        }
        // Not yet: b has not seen the owner gone (a busy machine).
        assert_eq!(w["code"], "elsewhere", "{w}");
        assert!(
            killed.elapsed() < Duration::from_secs(10),
            "no takeover: {w}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // The players come back anywhere: on b and on c.
    let mut in_question = false;
    for (i, (ws, token, _)) in phones.iter_mut().enumerate() {
        *ws = Ws::connect_to(if i % 2 == 0 { pb } else { pc }, &[]).await;
        ws.send(json!({"type":"hello","protocol":1,"role":"player","pin":pin,"token":token}))
            .await;
        let w = ws.next().await;
        assert_eq!(w["type"], "welcome", "player {i}: {w}");
        let f = loop {
            let f = ws.next().await;
            if f["type"] == "question" || f["type"] == "result" {
                break f;
            }
        };
        assert_eq!(
            f["answered"], true,
            "the answer before the kill counts: {f}"
        );
        // Once per question, across the takeover.
        if f["type"] == "question" {
            in_question = true;
            ws.send(json!({"type":"answer","position":0,"answer":right_answer(&qs[0])}))
                .await;
            assert_eq!(ws.until("error").await["code"], "duplicate_answer");
        } else {
            ws.pending.push_front(f);
        }
    }
    // The game goes on on the new owner (the reveal may have been written before the kill):
    // the reveal counts each answer once.
    if in_question {
        assert_eq!(console.command(json!({"type":"skip"})).await, None);
    }
    for (ws, _, _) in phones.iter_mut() {
        let r = ws.until("result").await;
        assert_eq!(r["correct"], true, "{r}");
        assert_eq!(r["players"], 6, "{r}");
    }
    let db = biwu::records::Db::connect(&url).await.unwrap();
    for (_, _, participant) in &phones {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM answers WHERE competition_id = $1 AND participant_id = $2 AND position = 0",
        )
        .bind(cid)
        .bind(participant)
        .fetch_one(&db.pool)
        .await
        .unwrap();
        assert_eq!(n, 1, "{participant}");
    }
}

/// A conductor that still believes it holds the lease (a process paused past its expiry) is
/// fenced out by the records once a newer one claimed the competition: its answers and its
/// phase writes are refused, and it stands down.
#[tokio::test]
async fn a_conductor_fenced_out_by_a_newer_claim_writes_nothing_and_stands_down() {
    let Some((a, _b, _)) = two_instances().await else {
        return;
    };
    let qs = picks();
    let (cid, pin) = competition(&a, &qs, "围栏", 1).await;
    let (cid, pin) = (cid.as_str(), pin.as_str());
    let cookie = a.cookie(HOST).await;
    let (mut console, _) = Ws::hello_staff(&a, &cookie, "host", cid).await;
    let (mut phone, w) = Ws::hello_player(&a, None, pin, Some("甲"), None).await;
    assert_eq!(w["type"], "welcome");
    let (mut other, _) = Ws::hello_player(&a, None, pin, Some("乙"), None).await;
    assert_eq!(console.command(json!({"type":"start"})).await, None);
    phone.until("question").await;
    other.until("question").await;
    assert_eq!(phone.answer(0, right_answer(&qs[0])).await["type"], "ack");

    // A newer conductor claims the competition (its fence is greater).
    sqlx::query("UPDATE competitions SET owner_fence = owner_fence + 1000 WHERE id = $1")
        .bind(cid)
        .execute(&a.db.pool)
        .await
        .unwrap();
    let refused = other.answer(0, right_answer(&qs[0])).await;
    assert_eq!(refused["code"], "elsewhere", "{refused}");
    let (phase, answers): (String, i64) = sqlx::query_as(
        "SELECT phase, (SELECT COUNT(*) FROM answers WHERE competition_id = $1) FROM competitions WHERE id = $1",
    )
    .bind(cid)
    .fetch_one(&a.db.pool)
    .await
    .unwrap();
    assert_eq!(
        (phase.as_str(), answers),
        ("question", 1),
        "only the answer before the claim"
    );
    // The reveal's phase write is refused too: the room stands down, the records unchanged.
    console.send(json!({"type":"skip"})).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while !console.closed {
        assert!(
            Instant::now() < deadline,
            "the fenced room did not stand down"
        );
        let _ = console.next_within(Duration::from_millis(200)).await;
    }
    assert_eq!(console.close.as_ref().map(|c| c.0), Some(1012));
    let phase: String = sqlx::query_scalar("SELECT phase FROM competitions WHERE id = $1")
        .bind(cid)
        .fetch_one(&a.db.pool)
        .await
        .unwrap();
    assert_eq!(phase, "question");
}

/// Players, host console and screen spread over three instances play one game: the owner
/// conducts it, the other two relay their sockets' answers and host commands and push the
/// owner's frames into them.
#[tokio::test]
async fn players_on_three_instances_play_a_whole_game() {
    let Some(redis) = redis_url() else {
        return;
    };
    let Some((apps, _)) = instances_on(vec![redis; 3]).await else {
        return;
    };
    let (a, b, c) = (&apps[0], &apps[1], &apps[2]);
    let qs = picks();
    let (cid, pin) = competition(a, &qs, "跨服务器", 2).await;
    let (cid, pin) = (cid.as_str(), pin.as_str());
    // The console on a makes a the owner; the screen and a second console are on b, and
    // the players on a, b and c in turn.
    let (mut console, _) = Ws::hello_staff(a, &a.cookie(HOST).await, "host", cid).await;
    let (mut screen, w) = Ws::hello_staff(b, &b.cookie(HOST).await, "screen", cid).await;
    assert_eq!(w["type"], "welcome", "{w}");
    let (mut console_b, _) = Ws::hello_staff(b, &b.cookie(HOST).await, "host", cid).await;
    let mut players = Vec::new();
    for i in 0..6 {
        let app = [a, b, c][i % 3];
        let (ws, w) = Ws::hello_player(app, None, pin, Some(&format!("选手{i}")), None).await;
        assert_eq!(w["type"], "welcome", "{w}");
        players.push((ws, w["you"]["participant"].as_str().unwrap().to_string()));
    }
    let lobby = loop {
        let l = screen.until("lobby").await;
        if l["players"] == 6 {
            break l;
        }
    };
    assert_eq!(lobby["names"].as_array().unwrap().len(), 6);

    assert_eq!(console.command(json!({"type":"start"})).await, None);
    // Players 0..4 right, 5 (on b) wrong; an answer again is refused across the relay.
    for (i, (ws, _)) in players.iter_mut().enumerate() {
        assert_eq!(ws.until("question").await["position"], 0);
        if i == 5 {
            continue;
        }
        assert_eq!(
            ws.answer(0, right_answer(&qs[0])).await["type"],
            "ack",
            "player {i}"
        );
    }
    let dup = players[1].0.answer(0, right_answer(&qs[0])).await;
    assert_eq!(dup["code"], "duplicate_answer", "{dup}");
    let last = players[5].0.answer(0, wrong_answer(&qs[0])).await;
    assert_eq!(last["type"], "ack", "{last}");
    for (i, (ws, _)) in players.iter_mut().enumerate() {
        let r = ws.until("result").await;
        assert_eq!(r["correct"], i != 5, "player {i}: {r}");
        assert_eq!(r["players"], 6);
    }
    let reveal = screen.until("reveal").await;
    let dist: u64 = reveal["distribution"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(dist, 6, "{reveal}");
    // A host command from b's console reaches the owner and its reply comes back.
    assert_eq!(console_b.command(json!({"type":"next"})).await, None);
    let lb = screen.until("leaderboard").await;
    assert_eq!(lb["top"][0]["name"], "选手0", "{lb}");
    console.until("leaderboard").await;
    let refused = console_b.command(json!({"type":"resume"})).await;
    assert!(refused.is_some_and(|e| e["code"] == "wrong_phase"));
    assert_eq!(console_b.command(json!({"type":"end"})).await, None);
    let podium = screen.until("podium").await;
    assert_eq!(podium["top"][0]["name"], "选手0", "{podium}");
    for (ws, _) in players.iter_mut() {
        ws.until("podium").await;
    }
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM answers WHERE competition_id = $1")
        .bind(cid)
        .fetch_one(&a.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 6, "each answer once");
    let health: Value = healthz(b).await;
    assert_eq!(
        (health["rooms"].as_u64(), health["relayed_rooms"].as_u64()),
        (Some(0), Some(1))
    );
    let metrics = b
        .client
        .get(b.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let id = health["instance"].as_str().unwrap();
    for line in [
        "biwu_live_rooms{kind=\"relayed\"} 1".to_string(),
        "biwu_live_rooms{kind=\"conducted\"} 0".to_string(),
        format!("biwu_instance{{id=\"{id}\"}} 1"),
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
    }
}

/// The owner cut off from Redis (a partition): its lease keeper cannot renew, so the owner
/// counts the lease lost before it expires and stops the room (its sockets closed, 1012;
/// nothing more written); the other instance's relayed socket is sent to reconnect, and that
/// instance takes the room over from the records.
#[tokio::test]
async fn a_partitioned_owner_loses_the_lease_and_stops_writing() {
    let Some(redis) = redis_url() else {
        return;
    };
    let target = redis
        .trim_start_matches("redis://")
        .trim_end_matches('/')
        .to_string();
    let wire = Cuttable::to(&target).await;
    let Some((a, b, _)) =
        instances_through([format!("redis://127.0.0.1:{}", wire.port), redis.clone()]).await
    else {
        return;
    };
    let qs = picks();
    let (cid, pin) = competition(&a, &qs, "断网", 1).await;
    let (cid, pin) = (cid.as_str(), pin.as_str());
    let (mut console, _) = Ws::hello_staff(&a, &a.cookie(HOST).await, "host", cid).await;
    let (mut here, w) = Ws::hello_player(&a, None, pin, Some("甲"), None).await;
    assert_eq!(w["type"], "welcome");
    let (mut there, w) = Ws::hello_player(&b, None, pin, Some("乙"), None).await;
    assert_eq!(w["type"], "welcome", "{w}");
    let token = w["you"]["token"].as_str().unwrap().to_string();
    assert_eq!(console.command(json!({"type":"start"})).await, None);
    here.until("question").await;
    there.until("question").await;
    assert_eq!(here.answer(0, right_answer(&qs[0])).await["type"], "ack");

    wire.cut();
    let deadline = Instant::now() + Duration::from_secs(10);
    for ws in [&mut console, &mut here, &mut there] {
        while !ws.closed {
            assert!(Instant::now() < deadline, "a socket stayed open");
            let _ = ws.next_within(Duration::from_millis(200)).await;
        }
        assert_eq!(ws.close.as_ref().map(|c| c.0), Some(1012), "{:?}", ws.close);
    }
    let health: Value = healthz(&a).await;
    assert_eq!(health["rooms"], 0, "the cut-off owner conducts nothing");
    assert_eq!(
        (
            health["sees"]["database"].as_bool(),
            health["sees"]["redis"].as_bool()
        ),
        (Some(true), Some(false)),
        "{health}"
    );
    assert_eq!(health["status"], "degraded");
    assert_eq!(healthz(&b).await["sees"]["redis"], true);

    // b takes the room over once the lease expired; the answer before the cut counts once,
    // the other player answers now.
    let (mut console, mut w) = Ws::hello_staff(&b, &b.cookie(HOST).await, "host", cid).await;
    while w["type"] != "welcome" {
        assert_eq!(w["code"], "elsewhere", "{w}");
        assert!(Instant::now() < deadline, "no takeover: {w}");
        tokio::time::sleep(Duration::from_millis(200)).await;
        (console, w) = Ws::hello_staff(&b, &b.cookie(HOST).await, "host", cid).await;
    }
    let (mut there, w) = Ws::hello_player(&b, None, pin, None, Some(&token)).await;
    assert_eq!(w["type"], "welcome", "{w}");
    assert_eq!(there.until("question").await["answered"], false);
    assert_eq!(there.answer(0, right_answer(&qs[0])).await["type"], "ack");
    let r = there.until("result").await;
    assert_eq!(
        (r["correct"].as_bool(), r["players"].as_u64()),
        (Some(true), Some(2)),
        "{r}"
    );
    console.until("reveal").await;
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM answers WHERE competition_id = $1")
        .bind(cid)
        .fetch_one(&b.db.pool)
        .await
        .unwrap();
    assert_eq!(n, 2);
}

/// A drill and an exam attempt served by both instances in turn (a round-robin proxy sends a
/// member's requests anywhere): each answer counts once and the results are the records'.
#[tokio::test]
async fn drills_and_exams_go_on_across_instances() {
    let Some((a, b, _)) = two_instances().await else {
        return;
    };
    // A drill: started on a, answered on a and b in turn; an answer again on the other
    // instance is refused and changes nothing.
    let me = crate::drills::newcomer(&a, "n001").await;
    let qs = crate::drills::every_kind();
    let id = crate::drills::drill_of(&a, me.member["id"].as_str().unwrap(), &qs, None).await;
    let mut right = 0;
    for (i, q) in qs.iter().enumerate() {
        let app = if i % 2 == 0 { &a } else { &b };
        let state: Value = me.get_json(app, &format!("/api/drills/{id}")).await;
        assert_eq!(state["current"]["position"], i as u64, "{state}");
        let give_right = i % 3 != 0;
        let body = json!({"position": i, "answer": if give_right { right_answer(q) } else { wrong_answer(q) }});
        let res = me
            .post(app, &format!("/api/drills/{id}/answers"), body.clone())
            .await;
        assert_eq!(res.status(), 200, "question {i}");
        let fb: Value = res.json().await.unwrap();
        assert_eq!(fb["correct"], give_right);
        right += give_right as u64;
        let other = if i % 2 == 0 { &b } else { &a };
        let again = me
            .post(other, &format!("/api/drills/{id}/answers"), body)
            .await;
        assert_eq!(
            again.status(),
            409,
            "question {i} again, on the other instance"
        );
    }
    let s: Value = me.get_json(&b, &format!("/api/drills/{id}/summary")).await;
    assert_eq!(
        (s["answered"].as_u64(), s["correct"].as_u64()),
        (Some(qs.len() as u64), Some(right)),
        "{s}"
    );

    // An exam attempt: started on a, half answered on each, resumed and submitted on b.
    let host = a.session(HOST).await;
    let exam = crate::exams::create(&a, &host, json!({})).await;
    let eid = exam["id"].as_str().unwrap();
    let bank = crate::exams::paper(&a, eid).await;
    let taker = a.session("d102").await;
    let state: Value = taker
        .post(&a, &format!("/api/exams/{eid}/attempts"), json!({}))
        .await
        .json()
        .await
        .unwrap();
    let first =
        crate::exams::answer(&a, &taker, eid, &state, &bank, |n| (n < 5).then_some(true)).await;
    let again: Value = taker
        .post(&b, &format!("/api/exams/{eid}/attempts"), json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        again["attempt_id"], state["attempt_id"],
        "the same attempt on b"
    );
    let answered = again["questions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|q| !q["response"].is_null())
        .count();
    assert_eq!(answered, 5, "b sees the answers saved through a");
    let second = crate::exams::answer(&b, &taker, eid, &again, &bank, |n| {
        (n >= 5).then_some(n % 2 == 0)
    })
    .await;
    let result: Value = taker
        .post(&b, &format!("/api/exams/{eid}/attempt/submit"), json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(result["score"], first + second, "{result}");
}

/// The host's rulings and removals are the conductor's writes too: once a newer conductor
/// claimed the competition, a removal is refused (`elsewhere`), the player stays, and the
/// room stands down.
#[tokio::test]
async fn a_fenced_conductor_cannot_remove_a_player_or_rule() {
    let Some((a, _b, _)) = two_instances().await else {
        return;
    };
    let qs = picks();
    let (cid, pin) = competition(&a, &qs, "围栏二", 1).await;
    let (cid, pin) = (cid.as_str(), pin.as_str());
    let (mut console, _) = Ws::hello_staff(&a, &a.cookie(HOST).await, "host", cid).await;
    let (_phone, w) = Ws::hello_player(&a, None, pin, Some("丙"), None).await;
    let participant = w["you"]["participant"].as_str().unwrap().to_string();
    sqlx::query("UPDATE competitions SET owner_fence = owner_fence + 1000 WHERE id = $1")
        .bind(cid)
        .execute(&a.db.pool)
        .await
        .unwrap();
    let refused = console
        .command(json!({"type":"remove","participant":participant}))
        .await;
    assert!(
        refused.as_ref().is_some_and(|e| e["code"] == "elsewhere"),
        "{refused:?}"
    );
    let removed: Option<i64> =
        sqlx::query_scalar("SELECT removed_at FROM participants WHERE id = $1")
            .bind(&participant)
            .fetch_one(&a.db.pool)
            .await
            .unwrap();
    assert_eq!(removed, None);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !console.closed {
        assert!(
            Instant::now() < deadline,
            "the fenced room did not stand down"
        );
        let _ = console.next_within(Duration::from_millis(200)).await;
    }
    assert_eq!(console.close.as_ref().map(|c| c.0), Some(1012));
}

/// In Chromium: the projector on one instance, a phone on the other, the console (a socket) on
/// the owner. The relayed projector shows the lobby, the question, the reveal and the podium;
/// the phone answers through the owner.
#[tokio::test]
async fn the_projector_on_one_instance_and_a_phone_on_another() {
    use crate::browser::{Browser, answer_on_phone, click, fill, login};
    let Some((a, b, _)) = two_instances().await else {
        return;
    };
    let Some(screen) = Browser::start(1920, 1080).await else {
        return;
    };
    let phone = Browser::start(360, 740).await.unwrap();
    let qs: Vec<_> = picks().into_iter().take(1).collect();
    let (cid, pin) = competition(&a, &qs, "跨服务器投影", 1).await;
    let (mut console, _) = Ws::hello_staff(&a, &a.cookie(HOST).await, "host", &cid).await;

    // The projector on b (relayed to a), logged in as the host.
    login(&screen, &b, HOST, "/").await;
    screen
        .client
        .goto(&b.url(&format!("/screen/{cid}")))
        .await
        .unwrap();
    screen.wait_for_text("#pin", &pin).await;
    // A guest's phone on a.
    phone
        .client
        .goto(&a.url(&format!("/play?pin={pin}")))
        .await
        .unwrap();
    fill(&phone, "#name", "访客小李").await;
    click(&phone, "#join").await;
    screen.wait_for_text("#players-count", "1").await;

    assert_eq!(console.command(json!({"type":"start"})).await, None);
    screen.wait_for_text("#stem", &qs[0].stem).await;
    answer_on_phone(&phone, &qs[0], true).await;
    phone.wait_for_text("#result", "回答正确").await;
    screen
        .wait_for_text("#reveal", &qs[0].answer.display())
        .await;
    assert_eq!(console.command(json!({"type":"end"})).await, None);
    screen.wait_for_text("#podium", "访客小李").await;
    let relayed = healthz(&b).await;
    assert_eq!(relayed["relayed_rooms"], 1);
    screen.close().await;
    phone.close().await;
}

/// A stage final is conducted by one instance too: the first to take its lease; the other
/// refuses the final's sockets with `elsewhere`, naming the instance, until that lease is
/// gone — then it takes the final over from the records.
/// Reads a socket until it closes; its close code.
async fn close_code(ws: &mut Ws, what: &str) -> Option<u16> {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !ws.closed {
        assert!(Instant::now() < deadline, "{what} stayed open");
        let _ = ws.next_within(Duration::from_millis(200)).await;
    }
    ws.close.as_ref().map(|c| c.0)
}

/// A stage final's sockets on either instance: the console and a team device on the owner,
/// the projector, another team device and an audience phone relayed from the other. A buzz
/// through the relay wins against a later one on the owner (both recorded in that order); the
/// audience's answer is acknowledged through the relay. When the owner loses the lease, every
/// socket is sent to reconnect (1012), and the other instance takes the final over from the
/// records, where it was.
#[tokio::test]
async fn a_stage_final_spans_instances_and_moves_when_its_owner_loses_the_lease() {
    use crate::stage_audience::questions_of;
    use crate::stage_live::{create, host, seat, set_up, until_step};
    let Some((a, b, prefix)) = two_instances().await else {
        return;
    };
    let h = a.session(HOST).await;
    let mut body = set_up(json!([{"kind": "buzzer", "count": 2, "right": 20}]));
    body["settings"] = json!({"audience": true});
    let (id, codes) = create(&a, &h, body).await;
    let hello = |role: &str| json!({"type": "hello", "role": role});
    let team = |i: usize| json!({"type": "hello", "role": "team", "code": codes[i]});
    let (mut console, first) = seat(&a, &id, Some(&a.cookie(HOST).await), hello("host")).await;
    assert_eq!(first["type"], "state", "{first}");
    let (mut screen, first) = seat(&b, &id, Some(&b.cookie(HOST).await), hello("screen")).await;
    assert_eq!(first["type"], "state", "the projector is relayed: {first}");
    let (mut team_a, _) = seat(&a, &id, None, team(0)).await;
    let (mut team_b, first) = seat(&b, &id, None, team(1)).await;
    assert_eq!(first["type"], "state", "{first}");
    let path = format!("/ws/stage/{id}");
    let mut phone = Ws::connect_path(b.port(), &path, &[]).await;
    phone
        .send(json!({"type": "hello", "role": "audience", "name": "甲"}))
        .await;
    assert_eq!(phone.until("seat").await["name"], "甲");
    assert_eq!(healthz(&a).await["rooms"], 0, "finals are not live rooms");

    host(&mut console, json!({"type": "next"})).await;
    until_step(&mut console, "intro", Some(0)).await;
    host(&mut console, json!({"type": "next"})).await;
    until_step(&mut console, "ready", Some(0)).await;
    let asked = phone.until("ask").await;
    assert_eq!(
        (asked["round"].as_u64(), asked["index"].as_u64()),
        (Some(0), Some(0))
    );
    let question = &questions_of(&a, &id, 0).await[0];
    phone
        .send(json!({"type": "answer", "round": 0, "index": 0, "response": right_answer(question)}))
        .await;
    assert_eq!(phone.until("ack").await["index"], 0);
    host(&mut console, json!({"type": "open"})).await;
    until_step(&mut screen, "open", Some(0)).await;
    // The relayed team buzzes first and wins; the owner's team buzzes after.
    team_b.send(json!({"type": "buzz"})).await;
    let s = until_step(&mut screen, "answering", Some(0)).await;
    assert_eq!(s["step"]["team"], 1, "{s}");
    team_a.send(json!({"type": "buzz"})).await;
    let buzzes = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT team FROM stage_buzzes WHERE stage_id = $1 AND round = 0 AND position = 0 \
             ORDER BY seq",
        )
        .bind(&id)
        .fetch_all(&a.db.pool)
        .await
        .unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while buzzes().await.len() < 2 {
        assert!(Instant::now() < deadline, "the later buzz was not recorded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        buzzes().await,
        [1, 0],
        "recorded in the order the owner received them"
    );
    host(&mut console, json!({"type": "rule", "ruling": "right"})).await;
    let ruled = until_step(&mut screen, "ruled", Some(0)).await;
    let score = |s: &Value, team: u64| {
        s["standings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["team"] == team)
            .unwrap()["score_milli"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(score(&ruled, 1), 120_000, "{ruled}");
    let answers: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM stage_audience_answers WHERE stage_id = $1")
            .bind(&id)
            .fetch_one(&a.db.pool)
            .await
            .unwrap();
    assert_eq!(answers, 1);

    // a loses the lease (taken away, as after a partition): its final stops, the sockets on
    // both instances are sent to reconnect.
    let redis = redis::Client::open(redis_url().unwrap()).unwrap();
    let mut con = redis.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("SET")
        .arg(format!("{prefix}lease:stage:{id}"))
        .arg("someone-else:999999")
        .arg("PX")
        .arg(300)
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(
        close_code(&mut console, "the owner's console").await,
        Some(1012)
    );
    assert_eq!(
        close_code(&mut screen, "the relayed projector").await,
        Some(1012)
    );
    assert_eq!(
        close_code(&mut phone, "the relayed audience phone").await,
        Some(1012)
    );

    // Once that lease expired, the console comes back through b, which now conducts the
    // final from the records: the question ruled, the score kept; the projector comes back
    // through a, relayed.
    let deadline = Instant::now() + Duration::from_secs(10);
    let (mut console, first) = loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (ws, first) = seat(&b, &id, Some(&b.cookie(HOST).await), hello("host")).await;
        if first["type"] == "state" {
            break (ws, first);
        }
        assert!(
            Instant::now() < deadline,
            "b never took the final over: {first}"
        );
    };
    assert_eq!(first["step"]["step"], "ruled", "{first}");
    assert_eq!(score(&first, 1), 120_000, "{first}");
    let (mut screen, first) = seat(&a, &id, Some(&a.cookie(HOST).await), hello("screen")).await;
    assert_eq!(first["step"]["step"], "ruled", "{first}");
    host(&mut console, json!({"type": "next"})).await;
    let s = until_step(&mut screen, "ready", Some(0)).await;
    assert_eq!(s["step"]["q"], 1, "{s}");
}

/// A final's conductor whose claim a newer one raised (its lease lost without its knowing)
/// writes nothing more: the host's next step is refused by the records, the conductor stands
/// down and its sockets are sent to reconnect.
#[tokio::test]
async fn a_fenced_stage_conductor_writes_nothing_and_stands_down() {
    use crate::stage_live::{create, host, seat, set_up, until_step};
    let Some((a, _b, _prefix)) = two_instances().await else {
        return;
    };
    let h = a.session(HOST).await;
    let (id, _) = create(&a, &h, set_up(json!([{"kind": "compulsory", "count": 3}]))).await;
    let hello = json!({"type": "hello", "role": "host"});
    let (mut console, _) = seat(&a, &id, Some(&a.cookie(HOST).await), hello).await;
    host(&mut console, json!({"type": "next"})).await;
    until_step(&mut console, "intro", Some(0)).await;
    let state = |db: biwu::records::Db| {
        let id = id.clone();
        async move {
            sqlx::query_as::<_, (String, i64)>(
                "SELECT state, owner_fence FROM stages WHERE id = $1",
            )
            .bind(&id)
            .fetch_one(&db.pool)
            .await
            .unwrap()
        }
    };
    let (before, fence) = state(a.db.clone()).await;
    assert!(fence > 0, "the conductor claimed the final under its lease");
    sqlx::query("UPDATE stages SET owner_fence = owner_fence + 1000 WHERE id = $1")
        .bind(&id)
        .execute(&a.db.pool)
        .await
        .unwrap();
    host(&mut console, json!({"type": "next"})).await;
    assert_eq!(
        close_code(&mut console, "the fenced console").await,
        Some(1012)
    );
    assert_eq!(state(a.db.clone()).await.0, before, "nothing written");
}

/// Commands on a room's bus are addressed to the conductor by its lease fence: a batch meant
/// for an earlier owner (a proxy still relaying for an owner that died, whose ids for the
/// sockets are not the new owner's) is ignored; the same batch addressed to the owner counts.
#[tokio::test]
async fn a_bridge_takes_only_commands_addressed_to_its_fence() {
    let Some((a, _b, prefix)) = two_instances().await else {
        return;
    };
    let qs = picks();
    let (cid, pin) = competition(&a, &qs, "围栏地址", 1).await;
    let (cid, pin) = (cid.as_str(), pin.as_str());
    let (mut console, _) = Ws::hello_staff(&a, &a.cookie(HOST).await, "host", cid).await;
    let (mut phone, w) = Ws::hello_player(&a, None, pin, Some("甲"), None).await;
    assert_eq!(w["type"], "welcome", "{w}");
    let (mut other, w) = Ws::hello_player(&a, None, pin, Some("乙"), None).await;
    assert_eq!(w["type"], "welcome", "{w}");
    assert_eq!(console.command(json!({"type":"start"})).await, None);
    phone.until("question").await;
    other.until("question").await;

    let redis = redis::Client::open(redis_url().unwrap()).unwrap();
    let mut con = redis.get_multiplexed_async_connection().await.unwrap();
    let token: String = redis::cmd("GET")
        .arg(format!("{prefix}lease:room:{cid}"))
        .query_async(&mut con)
        .await
        .unwrap();
    let fence: u64 = token.rsplit_once(':').unwrap().1.parse().unwrap();
    let stored = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM answers WHERE competition_id = $1")
            .bind(cid)
            .fetch_one(&a.db.pool)
            .await
            .unwrap()
    };
    // An answer for each of the room's first ids (the phone's among them), from an instance
    // that does not exist, addressed first to an earlier fence, then to the owner's.
    let batch = |fence: u64| {
        let items: Vec<Value> = (0..10)
            .map(|client| json!({"Answer": {"client": client, "position": 0, "response": right_answer(&qs[0])}}))
            .collect();
        json!({"from": "gone-instance", "fence": fence, "items": items}).to_string()
    };
    let topic = format!("{prefix}bus:room:{cid}:in");
    let _: () = redis::cmd("PUBLISH")
        .arg(&topic)
        .arg(batch(fence - 1))
        .query_async(&mut con)
        .await
        .unwrap();
    // The phone's own answer afterwards is taken: the stale batch answered nothing for it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(stored().await, 0, "a batch for an earlier owner was taken");
    assert_eq!(phone.answer(0, right_answer(&qs[0])).await["type"], "ack");
    assert_eq!(stored().await, 1);

    // The same batch addressed to the owner is taken: the first phone has answered already,
    // the second phone's answer is stored and acknowledged to it.
    let _: () = redis::cmd("PUBLISH")
        .arg(&topic)
        .arg(batch(fence))
        .query_async(&mut con)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while stored().await < 2 {
        assert!(Instant::now() < deadline, "the owner's batch was not taken");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(other.until("ack").await["position"], 0);
    assert_eq!(stored().await, 2);
}
