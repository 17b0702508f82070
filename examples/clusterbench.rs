//! Load generator for one live room spread over several instances (`--cluster`).
//!
//! ```text
//! scripts/cluster 2 -- --demo                  # two instances on PostgreSQL + Redis
//! ulimit -n 20000
//! cargo run --release --example clusterbench -- \
//!     --servers http://127.0.0.1:18301,http://127.0.0.1:18302 --players 20000 --procs 4
//! ```
//!
//! The coordinator (this process) logs in as the host on the first server, creates a
//! competition and opens the host console there (so the first server conducts the room).
//! It starts `--procs` generator processes (this program with `--role players`), each with
//! its share of the guests, which it spreads over the servers in turn; each process holds at
//! most its share of the sockets (one process may hold only so many open files). When every
//! guest is in the lobby it plays `--questions` questions: `start`/`next`, the players answer
//! after a random delay in `[0, --answer-spread-ms)`, the room reveals once everyone answered.
//!
//! Reported per instance (the server a phone is connected to): failed handshakes, answer →
//! ack latency, and question delivery — from the host's send of `start`/`next` (wall clock)
//! to the kernel's receive time of the `question` frame's bytes on the phone's socket (wall
//! clock too, `SO_TIMESTAMPNS`): all processes share the machine's clock.
//!
//! `--kill-pid PID --kill-at Q`: kill -9 of that process (the room's owner) while question
//! Q is being answered, half way through the answer spread. Phones whose socket closes come
//! back with their tokens on the next server that answers; the host console comes back on the
//! next server too. Reported: the takeover time (kill → another instance conducts the room:
//! it holds the lease and rebuilt the room from the records, as its `/healthz` shows, polled
//! every 20 ms), the time until the host console has its `welcome` again (behind the phones
//! rejoining at the same moment), the phones' rejoin times, and — with `--database-url` — every answer acknowledged to a phone checked against
//! the records (acknowledged but not stored = lost; must be 0).

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

#[path = "common/stamped.rs"]
mod stamped;
use stamped::Stamped;

type Ws = WebSocketStream<Stamped>;

#[derive(Parser, Debug, Clone)]
#[command(about = "one live room over several biwu instances")]
struct Args {
    /// Every instance's base URL, comma-separated; the first conducts the room.
    #[arg(long, value_delimiter = ',', required = true)]
    servers: Vec<String>,
    #[arg(long, default_value_t = 2000)]
    players: usize,
    /// Generator processes (each holds players / procs sockets).
    #[arg(long, default_value_t = 1)]
    procs: usize,
    #[arg(long, default_value_t = 3)]
    questions: usize,
    #[arg(long, default_value_t = 30)]
    time_limit: u32,
    #[arg(long, default_value_t = 2000)]
    answer_spread_ms: u64,
    #[arg(long, default_value_t = 128)]
    connect_concurrency: usize,
    #[arg(long, default_value = "d205")]
    staff_no: String,
    #[arg(long, default_value = "demo-2026")]
    password: String,
    /// kill -9 this process (the owner) during question `--kill-at`.
    #[arg(long)]
    kill_pid: Option<u32>,
    #[arg(long, default_value_t = 1)]
    kill_at: usize,
    /// The records, to check every acknowledged answer is stored.
    #[arg(long)]
    database_url: Option<String>,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    // ---- a generator process ----
    #[arg(long, default_value = "coordinator")]
    role: String,
    #[arg(long, default_value = "")]
    pin: String,
    /// The first player's number (a generator process's share starts there).
    #[arg(long, default_value_t = 0)]
    offset: usize,
}

fn wall_us() -> u64 {
    stamped::wall_ns() / 1000
}

fn ws_addr(server: &str) -> (String, String) {
    let host = server
        .trim_end_matches('/')
        .trim_start_matches("http://")
        .to_string();
    (format!("ws://{host}/ws"), host)
}

async fn connect(server: &str, cookie: Option<&str>) -> anyhow::Result<Ws> {
    let (url, addr) = ws_addr(server);
    let mut req = url.as_str().into_client_request()?;
    if let Some(c) = cookie {
        req.headers_mut().insert("Cookie", c.parse()?);
    }
    let stream = Stamped::connect(&addr).await?;
    let (ws, _) = tokio_tungstenite::client_async(req, stream).await?;
    Ok(ws)
}

async fn send(ws: &mut Ws, v: &Value) -> anyhow::Result<()> {
    ws.send(Message::Text(v.to_string().into())).await?;
    Ok(())
}

async fn next_json(ws: &mut Ws, wait: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => return serde_json::from_str(&t).ok(),
            Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) | Err(_) => return None,
            Ok(Some(Ok(_))) => continue,
        }
    }
}

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n.max(1)
    }
}

fn answer_for(q: &Value, rng: &mut Rng) -> Value {
    match q["kind"].as_str().unwrap_or("") {
        "single" | "multiple" => {
            let n = q["options"].as_array().map_or(1, |a| a.len());
            json!({"type":"choice","value": ((b'A' + rng.below(n as u64) as u8) as char).to_string()})
        }
        "truefalse" => json!({"type":"truefalse","value": rng.below(2) == 1}),
        "numeric" => json!({"type":"number","value":1}),
        "date" => json!({"type":"date","value":"2022-05-01"}),
        _ => json!({"type":"text","value":"x"}),
    }
}

/// What one phone saw.
#[derive(Default, serde::Serialize, serde::Deserialize)]
struct Phone {
    server: usize,
    participant: String,
    failed: Option<String>,
    /// Kernel receive time (wall µs) of each question frame, by position.
    question_rx: BTreeMap<usize, u64>,
    /// Answer → ack, µs, by position.
    ack_us: BTreeMap<usize, u64>,
    /// Reconnections (its socket closed under it) and how long each took to a welcome, µs.
    rejoins: Vec<u64>,
}

async fn hello(
    server: &str,
    pin: &str,
    name: &str,
    token: Option<&str>,
) -> Result<(Ws, Value), String> {
    let mut ws = tokio::time::timeout(Duration::from_secs(60), connect(server, None))
        .await
        .map_err(|_| "connect timeout".to_string())?
        .map_err(|e| format!("connect: {e:#}"))?;
    let mut h = json!({"type":"hello","protocol":1,"role":"player","pin":pin});
    match token {
        Some(t) => h["token"] = json!(t),
        None => h["name"] = json!(name),
    }
    send(&mut ws, &h).await.map_err(|e| e.to_string())?;
    match next_json(&mut ws, Duration::from_secs(60)).await {
        Some(w) if w["type"] == "welcome" => Ok((ws, w)),
        Some(w) => Err(format!("not welcome: {w}")),
        None => Err("closed before welcome".into()),
    }
}

/// One phone until the podium (or its last question's result).
async fn phone(
    args: Args,
    i: usize,
    mut ws: Ws,
    token: String,
    mut out: Phone,
    mut rng: Rng,
) -> Phone {
    let mut server = out.server;
    let mut pending: Option<(usize, tokio::time::Instant, Value)> = None;
    let mut sent: Option<(usize, Instant)> = None;
    let mut results = 0;
    loop {
        let wake = pending.as_ref().map(|p| p.1);
        tokio::select! {
            _ = tokio::time::sleep_until(wake.unwrap_or_else(tokio::time::Instant::now)), if wake.is_some() => {
                let (pos, _, answer) = pending.take().expect("pending");
                sent = Some((pos, Instant::now()));
                let _ = send(&mut ws, &json!({"type":"answer","position":pos,"answer":answer})).await;
            }
            msg = ws.next() => {
                let t = match msg {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Binary(_) | Message::Frame(_))) => continue,
                    _ => {
                        // Closed under it: back with the token, on the next server that answers.
                        let lost = Instant::now();
                        let mut tries = 0;
                        loop {
                            tries += 1;
                            server = (server + 1) % args.servers.len();
                            match hello(&args.servers[server], &args.pin, "", Some(&token)).await {
                                Ok((w, _)) => { ws = w; break; }
                                Err(_) if lost.elapsed() < Duration::from_secs(30) => {
                                    tokio::time::sleep(Duration::from_millis(100 * tries.min(5))).await;
                                }
                                Err(e) => { out.failed = Some(format!("rejoin: {e}")); return out; }
                            }
                        }
                        out.rejoins.push(lost.elapsed().as_micros() as u64);
                        continue;
                    }
                };
                let rx = ws.get_ref().last_rx_ns().map(|n| n / 1000).unwrap_or_else(wall_us);
                let head = &t.as_str()[..t.len().min(24)];
                if head.contains("\"ack\"") {
                    if let Some((pos, at)) = sent.take() {
                        out.ack_us.insert(pos, at.elapsed().as_micros() as u64);
                    }
                    continue;
                }
                let Ok(v) = serde_json::from_str::<Value>(&t) else { continue };
                match v["type"].as_str().unwrap_or("") {
                    "question" => {
                        let pos = v["position"].as_u64().unwrap_or(0) as usize;
                        if let std::collections::btree_map::Entry::Vacant(e) = out.question_rx.entry(pos) {
                            e.insert(rx);
                        }
                        if v["answered"] != true && !out.ack_us.contains_key(&pos) {
                            let delay = Duration::from_millis(rng.below(args.answer_spread_ms));
                            pending = Some((pos, tokio::time::Instant::now() + delay, answer_for(&v, &mut rng)));
                        }
                    }
                    "result" => {
                        pending = None;
                        results += 1;
                        if results >= args.questions { break; }
                    }
                    "podium" => break,
                    "error" if v["code"] == "duplicate_answer" => {
                        // Answered before its socket moved: the records have it.
                        if let Some((pos, _)) = sent.take() {
                            out.ack_us.entry(pos).or_insert(0);
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    let _ = i;
    let _ = ws.close(None).await;
    out
}

/// A generator process: joins its share of the guests, plays, prints every phone as JSON.
async fn players(args: Args) -> anyhow::Result<()> {
    let per = args.players / args.procs.max(1);
    let gate = std::sync::Arc::new(Semaphore::new(args.connect_concurrency));
    let mut joins = Vec::new();
    for i in args.offset..args.offset + per {
        let (args, gate) = (args.clone(), gate.clone());
        joins.push(tokio::spawn(async move {
            let server = i % args.servers.len();
            let permit = gate.acquire_owned().await.expect("gate");
            let got = hello(&args.servers[server], &args.pin, &format!("p{i}"), None).await;
            drop(permit);
            let mut out = Phone {
                server,
                ..Phone::default()
            };
            match got {
                Ok((ws, w)) => {
                    out.participant = w["you"]["participant"].as_str().unwrap_or("").into();
                    let token = w["you"]["token"].as_str().unwrap_or("").to_string();
                    let rng = Rng(args.seed ^ (i as u64 + 1).wrapping_mul(0x9E37_79B9));
                    phone(args, i, ws, token, out, rng).await
                }
                Err(e) => {
                    out.failed = Some(e);
                    out
                }
            }
        }));
    }
    let mut phones = Vec::new();
    for j in joins {
        phones.push(j.await?);
    }
    println!("{}", serde_json::to_string(&phones)?);
    Ok(())
}

fn pct(v: &mut [u64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_unstable();
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1] as f64 / 1000.0
}

struct Console {
    ws: Ws,
}

impl Console {
    async fn open(server: &str, cookie: &str, cid: &str) -> anyhow::Result<(Console, Value)> {
        let mut ws = connect(server, Some(cookie)).await?;
        send(
            &mut ws,
            &json!({"type":"hello","protocol":1,"role":"host","competition":cid}),
        )
        .await?;
        let w = next_json(&mut ws, Duration::from_secs(30))
            .await
            .ok_or_else(|| anyhow::anyhow!("no welcome"))?;
        Ok((Console { ws }, w))
    }

    /// Waits for a frame of `kind` (the console drains everything else).
    async fn until(&mut self, kind: &str, wait: Duration) -> anyhow::Result<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Ok(Some(Ok(Message::Text(t)))) => {
                    let head = &t.as_str()[..t.len().min(30)];
                    if head.contains(&format!("\"{kind}\"")) || head.contains("\"error\"") {
                        let v: Value = serde_json::from_str(&t)?;
                        anyhow::ensure!(v["type"] == kind, "waiting for {kind}: {v}");
                        return Ok(v);
                    }
                }
                Ok(Some(Ok(_))) => {}
                _ => anyhow::bail!("console closed or timed out waiting for {kind}"),
            }
        }
    }
}

async fn coordinator(args: Args) -> anyhow::Result<()> {
    let base = args.servers[0].trim_end_matches('/').to_string();
    let http = reqwest::Client::builder().cookie_store(true).build()?;
    let res = http
        .post(format!("{base}/api/login"))
        .json(&json!({"staff_no": args.staff_no, "password": args.password}))
        .send()
        .await?;
    anyhow::ensure!(res.status() == 200, "login: {}", res.status());
    let cookie = res
        .headers()
        .get("set-cookie")
        .and_then(|h| h.to_str().ok())
        .and_then(|s| s.split(';').next())
        .ok_or_else(|| anyhow::anyhow!("no cookie"))?
        .to_string();
    let csrf = res.json::<Value>().await?["csrf"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let res = http
        .post(format!("{base}/api/competitions"))
        .header("X-CSRF-Token", &csrf)
        .json(&json!({
            "title": format!("clusterbench {} players", args.players),
            "topics": ["party-constitution","party-regulations","speeches","petition-work","learning-plan","skills"],
            "count": args.questions, "time_limit_s": args.time_limit, "guests_allowed": true,
            "max_guests": args.players.max(1), "award_rule": {"top_n": 3}, "streak_bonus": false,
            "seed": args.seed,
        }))
        .send()
        .await?;
    let comp: Value = res.json().await?;
    let cid = comp["id"].as_str().unwrap_or_default().to_string();
    let pin = comp["pin"].as_str().unwrap_or_default().to_string();
    anyhow::ensure!(!cid.is_empty(), "create: {comp}");
    let (mut console, _) = Console::open(&base, &cookie, &cid).await?;
    eprintln!(
        "competition {cid} pin {pin}, {} servers, {} processes",
        args.servers.len(),
        args.procs
    );

    let exe = std::env::current_exe()?;
    let per = args.players / args.procs.max(1);
    let mut children = Vec::new();
    for p in 0..args.procs {
        let mut c = std::process::Command::new(&exe);
        c.args([
            "--role",
            "players",
            "--servers",
            &args.servers.join(","),
            "--players",
            &args.players.to_string(),
            "--procs",
            &args.procs.to_string(),
            "--offset",
            &(p * per).to_string(),
            "--pin",
            &pin,
            "--questions",
            &args.questions.to_string(),
            "--answer-spread-ms",
            &args.answer_spread_ms.to_string(),
            "--connect-concurrency",
            &args.connect_concurrency.to_string(),
            "--seed",
            &(args.seed + p as u64).to_string(),
        ])
        .stdout(Stdio::piped());
        children.push(c.spawn()?);
    }
    let total = per * args.procs;
    let joined_at = Instant::now();
    loop {
        let l = console.until("lobby", Duration::from_secs(300)).await?;
        let n = l["players"].as_u64().unwrap_or(0) as usize;
        if n >= total {
            break;
        }
        if joined_at.elapsed() > Duration::from_secs(600) {
            anyhow::bail!("only {n} of {total} joined");
        }
    }
    eprintln!(
        "{total} players in the lobby after {:.1} s",
        joined_at.elapsed().as_secs_f64()
    );
    // Let the handshake burst settle before the clock starts.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let mut sent_at = Vec::new();
    let mut takeover_ms = None;
    let mut console_ms = None;
    let mut owner = 0;
    for q in 0..args.questions {
        let cmd = if q == 0 { "start" } else { "next" };
        sent_at.push(wall_us());
        send(&mut console.ws, &json!({"type": cmd})).await?;
        console.until("question", Duration::from_secs(60)).await?;
        if let (Some(pid), true) = (args.kill_pid, q == args.kill_at) {
            tokio::time::sleep(Duration::from_millis(args.answer_spread_ms / 2)).await;
            let killed = Instant::now();
            // SAFETY: kill(2) with a pid and a signal number.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            eprintln!(
                "killed {pid} during question {q} at {} µs since the epoch",
                wall_us()
            );
            // The takeover: until another instance conducts the room (its /healthz counts it).
            let others: Vec<String> = args.servers[1..].to_vec();
            let probe = http.clone();
            let conducted = tokio::spawn(async move {
                loop {
                    for s in &others {
                        let h = probe.get(format!("{s}/healthz")).send().await;
                        if let Ok(r) = h
                            && let Ok(v) = r.json::<Value>().await
                            && v["rooms"].as_u64().unwrap_or(0) > 0
                        {
                            return killed.elapsed();
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            });
            // The console comes back on the next server once another instance holds the room.
            loop {
                owner = (owner + 1) % args.servers.len();
                if let Ok((c, w)) = Console::open(&args.servers[owner], &cookie, &cid).await
                    && w["type"] == "welcome"
                {
                    console = c;
                    break;
                }
                anyhow::ensure!(killed.elapsed() < Duration::from_secs(60), "no takeover");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            console_ms = Some(killed.elapsed().as_secs_f64() * 1000.0);
            takeover_ms = Some(conducted.await?.as_secs_f64() * 1000.0);
            eprintln!(
                "conducted elsewhere after {:.0} ms, console back after {:.0} ms",
                takeover_ms.unwrap(),
                console_ms.unwrap()
            );
        }
        console
            .until("reveal", Duration::from_secs(args.time_limit as u64 + 60))
            .await?;
        if q + 1 < args.questions {
            send(&mut console.ws, &json!({"type":"next"})).await?;
            console
                .until("leaderboard", Duration::from_secs(60))
                .await?;
        }
    }
    send(&mut console.ws, &json!({"type":"end"})).await?;

    let mut phones: Vec<Phone> = Vec::new();
    for c in children {
        let out = tokio::task::spawn_blocking(move || c.wait_with_output()).await??;
        anyhow::ensure!(out.status.success(), "a generator failed: {}", out.status);
        phones.extend(serde_json::from_slice::<Vec<Phone>>(&out.stdout)?);
    }

    // ---- per instance ----
    let mut report = Vec::new();
    for (s, server) in args.servers.iter().enumerate() {
        let mine: Vec<&Phone> = phones.iter().filter(|p| p.server == s).collect();
        let failed = mine.iter().filter(|p| p.failed.is_some()).count();
        let mut ack: Vec<u64> = mine
            .iter()
            .flat_map(|p| p.ack_us.values().copied().filter(|&u| u > 0))
            .collect();
        let mut delivery: Vec<u64> = mine
            .iter()
            .flat_map(|p| {
                p.question_rx
                    .iter()
                    .filter(|(q, _)| Some(**q) != args.kill_pid.map(|_| args.kill_at))
                    .map(|(q, rx)| rx.saturating_sub(sent_at[*q]))
            })
            .collect();
        let row = json!({
            "server": server, "phones": mine.len(), "failed_handshakes": failed,
            "ack_ms": {"p50": pct(&mut ack, 50.0), "p99": pct(&mut ack, 99.0), "n": ack.len()},
            "question_delivery_ms": {"p50": pct(&mut delivery, 50.0), "p99": pct(&mut delivery, 99.0), "max": pct(&mut delivery, 100.0)},
        });
        eprintln!("{row}");
        report.push(row);
    }
    let mut rejoins: Vec<u64> = phones.iter().flat_map(|p| p.rejoins.clone()).collect();
    let mut summary = json!({
        "players": total, "servers": args.servers.len(), "procs": args.procs, "questions": args.questions,
        "instances": report,
        "failed": phones.iter().filter(|p| p.failed.is_some()).count(),
    });
    if let Some(t) = takeover_ms {
        summary["takeover_ms"] = json!(t);
        summary["console_back_ms"] = json!(console_ms);
        summary["rejoined"] = json!(rejoins.len());
        summary["rejoin_ms"] = json!({"p50": pct(&mut rejoins, 50.0), "p99": pct(&mut rejoins, 99.0), "max": pct(&mut rejoins, 100.0)});
    }
    if let Some(url) = &args.database_url {
        let db = biwu::records::Db::connect(url).await?;
        let stored: Vec<(String, i64)> = sqlx::query_as(
            "SELECT participant_id, position FROM answers WHERE competition_id = $1",
        )
        .bind(&cid)
        .fetch_all(&db.pool)
        .await?;
        let stored: std::collections::HashSet<(String, i64)> = stored.into_iter().collect();
        let acked: Vec<(String, i64)> = phones
            .iter()
            .flat_map(|p| p.ack_us.keys().map(|q| (p.participant.clone(), *q as i64)))
            .collect();
        let lost = acked.iter().filter(|a| !stored.contains(a)).count();
        summary["acknowledged"] = json!(acked.len());
        summary["stored"] = json!(stored.len());
        summary["acknowledged_lost"] = json!(lost);
    }
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.role == "players" {
        players(args).await
    } else {
        coordinator(args).await
    }
}
