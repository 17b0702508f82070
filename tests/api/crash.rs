//! kill -9 in the middle of work: the server runs as its own process (the real binary), is
//! killed without warning while drills and live answers pour in, and every answer it had
//! acknowledged must be in the records afterwards — on SQLite and on PostgreSQL.

use crate::helpers::*;
use crate::live::picks;
use crate::ws::Ws;
use biwu::domain::Question;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The binary serving the demo organisation on `database_url`, on a free port.
pub(crate) struct Server {
    child: Child,
    pub(crate) port: u16,
}

impl Server {
    pub(crate) async fn start(database_url: &str, port: u16) -> Server {
        Server::start_with(database_url, port, &[]).await
    }

    /// With more environment (Redis, several instances).
    pub(crate) async fn start_with(database_url: &str, port: u16, env: &[(&str, &str)]) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_biwu"));
        command
            .args(["serve", "--demo", "--bind", &format!("127.0.0.1:{port}")])
            .env("DATABASE_URL", database_url)
            .env("BIWU_BANK_DIR", bank_dir())
            .env_remove("REDIS_URL")
            .env_remove("BIWU_PUBLIC_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (k, v) in env {
            command.env(k, v);
        }
        let child = command.spawn().expect("start biwu");
        let server = Server { child, port };
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let ok = client()
                .get(server.url("/healthz"))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200);
            if ok {
                return server;
            }
            assert!(Instant::now() < deadline, "server did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn url(&self, path: &str) -> String {
        at(self.port, path)
    }

    pub(crate) fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn at(port: u16, path: &str) -> String {
    format!("http://127.0.0.1:{port}{path}")
}

/// A logged-in client of a server process: its cookie jar, CSRF token and session cookie.
pub(crate) struct Login {
    client: reqwest::Client,
    csrf: String,
    pub(crate) cookie: String,
}

pub(crate) async fn login(port: u16, staff_no: &str) -> Login {
    let client = client();
    let res = client
        .post(at(port, "/api/login"))
        .json(&json!({"staff_no": staff_no, "password": biwu::demo::DEMO_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{staff_no} logs in");
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("biwu_session="))
        .map(|v| v.split(';').next().unwrap().to_string())
        .unwrap();
    let body: Value = res.json().await.unwrap();
    Login {
        client,
        csrf: body["csrf"].as_str().unwrap().to_string(),
        cookie,
    }
}

impl Login {
    pub(crate) async fn post(
        &self,
        port: u16,
        path: &str,
        body: Value,
    ) -> reqwest::Result<reqwest::Response> {
        self.client
            .post(at(port, path))
            .header("X-CSRF-Token", &self.csrf)
            .json(&body)
            .send()
            .await
    }
}

/// The bank's questions by stem (drill states show the stem, not the answer).
fn by_stem() -> HashMap<String, Question> {
    biwu::bank::load(&bank_dir())
        .questions()
        .map(|q| (q.stem.clone(), q.clone()))
        .collect()
}

/// One member drilling as fast as the server answers; every acknowledged answer is noted.
async fn drill_until_gone(port: u16, staff_no: String, acked: Arc<Mutex<Vec<(String, i64)>>>) {
    let me = login(port, &staff_no).await;
    let bank = by_stem();
    let Ok(res) = me
        .post(port, "/api/drills", json!({"mode": "topics", "count": 20}))
        .await
    else {
        return;
    };
    let mut state: Value = match res.json().await {
        Ok(v) => v,
        Err(_) => return,
    };
    let id = state["id"].as_str().unwrap_or_default().to_string();
    while let Some(stem) = state["current"]["stem"].as_str() {
        let position = state["current"]["position"].as_i64().unwrap();
        let answer = right_answer(&bank[stem]);
        let body = json!({"position": position, "answer": answer});
        match me
            .post(port, &format!("/api/drills/{id}/answers"), body)
            .await
        {
            Ok(r) if r.status() == 200 => acked.lock().unwrap().push((id.clone(), position)),
            _ => return,
        }
        state = match me
            .client
            .get(at(port, &format!("/api/drills/{id}")))
            .send()
            .await
        {
            Ok(r) => match r.json().await {
                Ok(v) => v,
                Err(_) => return,
            },
            Err(_) => return,
        };
    }
}

async fn drills_killed_mid_burst(url: String) {
    let port = free_port();
    let mut server = Server::start(&url, port).await;
    let acked = Arc::new(Mutex::new(Vec::new()));
    let staff = [
        "d102", "d103", "d104", "d105", "d202", "d203", "d302", "d303",
    ];
    let tasks: Vec<_> = staff
        .iter()
        .map(|s| tokio::spawn(drill_until_gone(port, s.to_string(), acked.clone())))
        .collect();
    // Kill while the burst is on: after some answers were acknowledged, before all were.
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.lock().unwrap().len() < 40 {
        assert!(Instant::now() < deadline, "the burst never got going");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill9();
    for t in tasks {
        let _ = t.await;
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() < 8 * 20,
        "killed mid-burst ({} answers)",
        acked.len()
    );

    let db = biwu::records::Db::connect(&url).await.unwrap();
    let mut lost = Vec::new();
    for (drill, position) in &acked {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM drill_answers WHERE drill_id = $1 AND position = $2",
        )
        .bind(drill)
        .bind(position)
        .fetch_one(&db.pool)
        .await
        .unwrap();
        if n != 1 {
            lost.push((drill.clone(), *position));
        }
    }
    assert!(
        lost.is_empty(),
        "acknowledged answers lost: {lost:?} of {}",
        acked.len()
    );

    // The restarted server picks every drill up where its records left it.
    let server = Server::start(&url, free_port()).await;
    let me = login(server.port, "d102").await;
    let mine = fetch_json(&me.client, &server.url("/api/drills")).await;
    assert!(mine.to_string().contains("answered"), "{mine}");
}

async fn live_answers_killed(url: String) {
    let port = free_port();
    let mut server = Server::start(&url, port).await;
    let host = login(port, HOST).await;
    let qs = picks();
    let res = host
        .post(
            port,
            "/api/competitions",
            json!({
                "title": "断电演练", "question_ids": qs.iter().map(|q| q.id.clone()).collect::<Vec<_>>(),
                "time_limit_s": 60, "guests_allowed": true, "award_rule": {"top_n": 3},
            }),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let c: Value = res.json().await.unwrap();
    let (cid, pin) = (c["id"].as_str().unwrap(), c["pin"].as_str().unwrap());
    let mut console = Ws::connect_to(port, &[("Cookie", host.cookie.as_str())]).await;
    console
        .send(json!({"type":"hello","protocol":1,"role":"host","competition":cid}))
        .await;
    assert_eq!(console.next().await["type"], "welcome");
    let mut phones = Vec::new();
    for i in 0..20 {
        let mut ws = Ws::connect_to(port, &[]).await;
        ws.send(json!({"type":"hello","protocol":1,"role":"player","pin":pin,"name":format!("选手{i}")}))
            .await;
        let w = ws.next().await;
        let token = w["you"]["token"].as_str().unwrap().to_string();
        let participant = w["you"]["participant"].as_str().unwrap().to_string();
        phones.push((ws, token, participant));
    }
    assert_eq!(console.command(json!({"type":"start"})).await, None);
    for (ws, _, _) in phones.iter_mut() {
        ws.until("question").await;
    }
    for (ws, _, _) in phones.iter_mut() {
        ws.send(json!({"type":"answer","position":0,"answer":right_answer(&qs[0])}))
            .await;
    }
    // The first acknowledgements in, then the power goes.
    let mut acked = Vec::new();
    for (ws, token, participant) in phones.iter_mut().take(10) {
        let f = ws.until("ack").await;
        assert_eq!(f["position"], 0);
        acked.push((token.clone(), participant.clone()));
    }
    server.kill9();

    let db = biwu::records::Db::connect(&url).await.unwrap();
    for (_, participant) in &acked {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM answers WHERE competition_id = $1 AND participant_id = $2 AND position = 0",
        )
        .bind(cid)
        .bind(participant)
        .fetch_one(&db.pool)
        .await
        .unwrap();
        assert_eq!(n, 1, "acknowledged live answer of {participant} lost");
    }
    // Back up: an acknowledged player rejoins and the room knows the answer is in.
    let port = free_port();
    let _server = Server::start(&url, port).await;
    let (token, _) = &acked[0];
    let mut ws = Ws::connect_to(port, &[]).await;
    ws.send(json!({"type":"hello","protocol":1,"role":"player","pin":pin,"token":token}))
        .await;
    let w = ws.next().await;
    assert_eq!(w["type"], "welcome", "{w}");
    // Still in the question (`answered`), or — when the restart outlasted the clock — at its
    // reveal (`result.answered`): either way the answer counts.
    let f = loop {
        let f = ws.next().await;
        if f["type"] == "question" || f["type"] == "result" {
            break f;
        }
    };
    assert_eq!(f["answered"], true, "{f}");
}

#[tokio::test]
async fn drills_killed_mid_burst_lose_no_acknowledged_answer_on_sqlite() {
    let (_dir, url) = fresh_sqlite();
    drills_killed_mid_burst(url).await;
}

#[tokio::test]
async fn drills_killed_mid_burst_lose_no_acknowledged_answer_on_postgres() {
    let Some(base) = postgres_url() else {
        return;
    };
    drills_killed_mid_burst(fresh_postgres(&base).await).await;
}

#[tokio::test]
async fn live_answers_killed_lose_no_acknowledged_answer_on_sqlite() {
    let (_dir, url) = fresh_sqlite();
    live_answers_killed(url).await;
}

#[tokio::test]
async fn live_answers_killed_lose_no_acknowledged_answer_on_postgres() {
    let Some(base) = postgres_url() else {
        return;
    };
    live_answers_killed(fresh_postgres(&base).await).await;
}
