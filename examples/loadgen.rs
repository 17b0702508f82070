//! Load generator for a live room: one host and N guest players over real WebSockets.
//!
//! ```text
//! ulimit -n 20000   # one socket per player; check `ulimit -Hn` first
//! cargo run --release --example loadgen -- --server http://127.0.0.1:18200 \
//!     --players 1000 --questions 5 --server-pid $(pgrep -n biwu)
//! ```
//!
//! It logs in as the host over HTTP, creates a competition that allows guests, opens the
//! host console socket, connects N guests (at most `--connect-concurrency` handshakes at a
//! time), then plays `--questions` questions: the host sends `start`/`next`, each player
//! answers after a uniform random delay in `[0, --answer-spread-ms)`, the room reveals once
//! everyone answered. It measures answer→ack latency (also apart for answers sent while the
//! question was still being delivered to other phones), how spread out the delivery of each
//! `question` and `result` frame is over the players, frames per player per question, and
//! (with `--server-pid`) the server's resident memory per idle player: what the second half
//! of the players added, each half joined once the server's memory had settled.
//!
//! Every time is taken twice: when the generator's task for a phone handled the frame, and
//! when the kernel received its bytes (see `common/stamped.rs`). With thousands of phones in
//! one process the first includes the generator's own queueing behind the other phones; the
//! second is when a phone with a CPU of its own would have the frame.
//!
//! The table goes to stdout; with `--json` the table goes to stderr and a JSON summary to
//! stdout. Progress goes to stderr. All traffic goes to `--server` only.

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::Request};

#[path = "common/stamped.rs"]
mod stamped;
use stamped::Stamped;

type Ws = WebSocketStream<Stamped>;

#[derive(Parser, Debug, Clone)]
#[command(about = "WebSocket load generator for a biwu live room")]
struct Args {
    /// Base URL of the server (HTTP); the WebSocket is at /ws on the same address.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    server: String,
    /// Guest players to connect.
    #[arg(long, default_value_t = 1000)]
    players: usize,
    /// Questions to play.
    #[arg(long, default_value_t = 5)]
    questions: usize,
    /// Time limit per question, seconds.
    #[arg(long, default_value_t = 20)]
    time_limit: u32,
    /// Each player answers after a uniform random delay in [0, spread) ms.
    #[arg(long, default_value_t = 1000)]
    answer_spread_ms: u64,
    /// Host account.
    #[arg(long, default_value = "d205")]
    staff_no: String,
    #[arg(long, default_value = "demo-2026")]
    password: String,
    /// The server's process id, to read its VmRSS from /proc/PID/status.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Simultaneous WebSocket handshakes (connect + hello + welcome).
    #[arg(long, default_value_t = 256)]
    connect_concurrency: usize,
    /// How long one player may wait for `welcome`, seconds.
    #[arg(long, default_value_t = 120)]
    welcome_timeout: u64,
    /// Whole run, seconds; the program exits with status 2 when it is exceeded.
    #[arg(long, default_value_t = 600)]
    timeout: u64,
    /// Seed for the answer delays and choices.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print a JSON summary on stdout (the table then goes to stderr).
    #[arg(long)]
    json: bool,
}

/// splitmix64: small, deterministic, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
}

/// What one player saw, per question. Times are µs since the run's epoch; `*_at` when the
/// player's task handled the frame, `*_rx` when the kernel received it.
#[derive(Default, Clone)]
struct PerQ {
    question_at: Option<u64>,
    question_rx: Option<u64>,
    ack_at: Option<u64>,
    ack_latency_us: Option<u64>,
    /// Answer sent → the ack's bytes received by the kernel.
    ack_rx_latency_us: Option<u64>,
    /// When the acked answer was sent.
    answered_at: Option<u64>,
    result_at: Option<u64>,
    result_rx: Option<u64>,
    frames: u64,
    errors: u64,
}

struct PlayerOut {
    per_q: Vec<PerQ>,
    disconnected: bool,
    /// How the socket ended when the server (or the network) ended it.
    close: Option<String>,
}

struct Shared {
    epoch: Instant,
    /// `epoch` on the wall clock the kernel stamps received bytes with, ns.
    epoch_wall_ns: u64,
    /// Players that received `result` for question q.
    results: Vec<AtomicUsize>,
    /// Players whose socket closed early.
    gone: AtomicUsize,
}

impl Shared {
    fn now_us(&self) -> u64 {
        self.epoch.elapsed().as_micros() as u64
    }

    /// When the kernel received the bytes `ws` last read, µs since the epoch.
    fn rx_us(&self, ws: &Ws) -> Option<u64> {
        let ns = ws.get_ref().last_rx_ns()?;
        Some(ns.saturating_sub(self.epoch_wall_ns) / 1000)
    }
}

/// The socket's URL and the address to connect to (plain `ws://`: the generator speaks no
/// TLS, it is meant to sit next to the server).
fn ws_url(server: &str) -> anyhow::Result<(String, String)> {
    let base = server.trim_end_matches('/');
    anyhow::ensure!(
        !base.starts_with("https://"),
        "the load generator speaks plain HTTP only; give it the server's http:// address"
    );
    let host = base.strip_prefix("http://").unwrap_or(base);
    let addr = if host.contains(':') {
        host.to_string()
    } else {
        format!("{host}:80")
    };
    Ok((format!("ws://{host}/ws"), addr))
}

/// Opens the WebSocket over a [`Stamped`] stream.
async fn connect(addr: &str, req: Request<()>) -> anyhow::Result<Ws> {
    let stream = Stamped::connect(addr).await?;
    let (ws, _) = tokio_tungstenite::client_async(req, stream).await?;
    Ok(ws)
}

fn rss_kb(pid: Option<u32>) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid?)).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The server's resident memory once it has stopped moving: sampled every half second
/// until two samples in a row are within 64 KB (at most 20 s). The allocator hands memory
/// freed after a burst (start-up, thousands of handshakes) back to the system over a second
/// or so; an idle socket's cost is what stays.
async fn settled_rss_kb(pid: Option<u32>) -> Option<u64> {
    let mut last = rss_kb(pid)?;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = rss_kb(pid)?;
        if now.abs_diff(last) <= 64 {
            return Some(now);
        }
        last = now;
    }
    Some(last)
}

async fn text(ws: &mut Ws, v: &Value) -> anyhow::Result<()> {
    ws.send(Message::Text(v.to_string().into())).await?;
    Ok(())
}

/// The next JSON text frame, skipping control frames; `None` on close or timeout.
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

fn make_answer(q: &Value, rng: &mut Rng) -> Value {
    let kind = q["kind"].as_str().unwrap_or("");
    match kind {
        "single" | "multiple" => {
            let n = q["options"].as_array().map(|a| a.len()).unwrap_or(1).max(1);
            let letter = (b'A' + rng.below(n as u64) as u8) as char;
            json!({"type":"choice","value": letter.to_string()})
        }
        "truefalse" => json!({"type":"truefalse","value": rng.below(2) == 1}),
        "fill" => json!({"type":"text","value":"x"}),
        "numeric" => json!({"type":"number","value":1}),
        "date" => json!({"type":"date","value":"2022-05-01"}),
        _ => json!({"type":"text","value":"x"}),
    }
}

/// Connects one guest; `Err` is a handshake failure.
async fn join(
    url: &str,
    addr: &str,
    pin: &str,
    i: usize,
    welcome_timeout: Duration,
) -> Result<Ws, String> {
    let req = url.into_client_request().map_err(|e| e.to_string())?;
    let mut ws = tokio::time::timeout(welcome_timeout, connect(addr, req))
        .await
        .map_err(|_| "connect timeout".to_string())?
        .map_err(|e| format!("connect: {e:#}"))?;
    text(
        &mut ws,
        &json!({"type":"hello","protocol":1,"role":"player","pin":pin,"name":format!("p{i}")}),
    )
    .await
    .map_err(|e| format!("hello: {e}"))?;
    match next_json(&mut ws, welcome_timeout).await {
        Some(v) if v["type"] == "welcome" => Ok(ws),
        Some(v) => Err(format!("not welcome: {v}")),
        None => Err("closed or timed out before welcome".into()),
    }
}

/// Plays until `stop` fires or the socket closes.
async fn play(
    mut ws: Ws,
    shared: Arc<Shared>,
    questions: usize,
    spread_ms: u64,
    mut rng: Rng,
    mut stop: watch::Receiver<bool>,
) -> PlayerOut {
    let mut per_q = vec![PerQ::default(); questions];
    let mut current: Option<usize> = None;
    // (position, when to send, the answer)
    let mut pending: Option<(usize, tokio::time::Instant, Value)> = None;
    // (position, µs since the epoch)
    let mut sent_at: Option<(usize, u64)> = None;
    let mut disconnected = false;
    let mut close = None;
    loop {
        let wake = pending.as_ref().map(|p| p.1);
        tokio::select! {
            biased;
            _ = stop.changed() => break,
            _ = tokio::time::sleep_until(wake.unwrap_or_else(tokio::time::Instant::now)), if wake.is_some() => {
                let (pos, _, answer) = pending.take().expect("pending");
                sent_at = Some((pos, shared.now_us()));
                if let Err(e) = text(&mut ws, &json!({"type":"answer","position":pos,"answer":answer})).await {
                    close = Some(format!("send error: {e}"));
                    disconnected = true;
                    break;
                }
            }
            msg = ws.next() => {
                let t = match msg {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(cf))) => {
                        close = Some(match cf {
                            Some(cf) => format!("close {} {}", u16::from(cf.code), cf.reason),
                            None => "close (no code)".into(),
                        });
                        disconnected = true;
                        break;
                    }
                    None => { close = Some("eof".into()); disconnected = true; break; }
                    Some(Err(e)) => { close = Some(format!("error: {e}")); disconnected = true; break; }
                    Some(Ok(_)) => continue,
                };
                let now = shared.now_us();
                let rx = shared.rx_us(&ws);
                let Ok(v) = serde_json::from_str::<Value>(&t) else { continue };
                let kind = v["type"].as_str().unwrap_or("");
                if kind == "question" {
                    let pos = v["position"].as_u64().unwrap_or(0) as usize;
                    if pos < questions {
                        current = Some(pos);
                        if per_q[pos].question_at.is_none() {
                            per_q[pos].question_at = Some(now);
                            per_q[pos].question_rx = rx;
                            let delay = Duration::from_millis(rng.below(spread_ms));
                            let answer = make_answer(&v, &mut rng);
                            pending = Some((pos, tokio::time::Instant::now() + delay, answer));
                        }
                    }
                }
                let Some(pos) = current else { continue };
                per_q[pos].frames += 1;
                match kind {
                    "ack" => {
                        per_q[pos].ack_at = Some(now);
                        if let Some((p, at)) = sent_at.take() && p == pos {
                            per_q[pos].ack_latency_us = Some(now.saturating_sub(at));
                            per_q[pos].ack_rx_latency_us = rx.map(|r| r.saturating_sub(at));
                            per_q[pos].answered_at = Some(at);
                        }
                    }
                    "result" => {
                        let rpos = v["position"].as_u64().unwrap_or(0) as usize;
                        if rpos < questions && per_q[rpos].result_at.is_none() {
                            per_q[rpos].result_at = Some(now);
                            per_q[rpos].result_rx = rx;
                            shared.results[rpos].fetch_add(1, Ordering::Relaxed);
                        }
                        // A result before our answer went out: the answer is moot.
                        if pending.as_ref().is_some_and(|p| p.0 == rpos) {
                            pending = None;
                        }
                    }
                    "error" => per_q[pos].errors += 1,
                    _ => {}
                }
            }
        }
    }
    if disconnected {
        shared.gone.fetch_add(1, Ordering::Relaxed);
    } else {
        let _ = tokio::time::timeout(Duration::from_secs(2), ws.close(None)).await;
    }
    PlayerOut {
        per_q,
        disconnected,
        close,
    }
}

/// The host console: drains every frame (it must keep reading, or the room drops it) and
/// forwards the phase frames the controller waits for.
async fn host_reader(
    mut ws: Ws,
    tx: mpsc::UnboundedSender<Value>,
    mut cmds: mpsc::UnboundedReceiver<Value>,
) {
    loop {
        tokio::select! {
            cmd = cmds.recv() => match cmd {
                Some(c) => { if text(&mut ws, &c).await.is_err() { break; } }
                None => { let _ = ws.close(None).await; break; }
            },
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(t))) => {
                    // Cheap peek: the players list can be large; only parse small frames fully.
                    let head = String::from_utf8_lossy(&t.as_bytes()[..t.len().min(40)]).into_owned();
                    let ty = head.split('"').nth(3).unwrap_or("");
                    if matches!(ty, "question" | "reveal" | "leaderboard" | "podium" | "error" | "welcome")
                        && let Ok(v) = serde_json::from_str::<Value>(&t)
                    {
                        let _ = tx.send(v);
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                    let _ = tx.send(json!({"type":"host_closed"}));
                    break;
                }
                Some(Ok(_)) => {}
            }
        }
    }
}

async fn host_wait(
    rx: &mut mpsc::UnboundedReceiver<Value>,
    kind: &str,
    wait: Duration,
) -> anyhow::Result<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(v)) if v["type"] == kind => return Ok(v),
            Ok(Some(v)) if v["type"] == "error" || v["type"] == "host_closed" => {
                anyhow::bail!("host got {v} while waiting for {kind}")
            }
            Ok(Some(_)) => continue,
            Ok(None) => anyhow::bail!("host socket gone"),
            Err(_) => anyhow::bail!("no {kind} for the host within {wait:?}"),
        }
    }
}

fn pct(sorted: &[u64], p: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

fn ms(us: Option<u64>) -> Value {
    us.map(|u| json!((u as f64 / 1000.0 * 10.0).round() / 10.0))
        .unwrap_or(Value::Null)
}

/// One clock's figures for the JSON summary: answer→ack (all, during a fan-out, after it)
/// and the spreads of questions and results, all sorted µs.
fn clock(ack: &[u64], during: &[u64], after: &[u64], questions: &[u64], results: &[u64]) -> Value {
    json!({
        "ack_ms": percentiles(ack),
        "ack_during_fan_out_ms": {"answers": during.len(), "p99": ms(pct(during, 99.0))},
        "ack_after_fan_out_ms": {"answers": after.len(), "p99": ms(pct(after, 99.0))},
        "question_spread_ms": percentiles(questions),
        "result_spread_ms": percentiles(results),
    })
}

/// p50, p99 and max of sorted µs values, in ms.
fn percentiles(sorted: &[u64]) -> Value {
    json!({"p50": ms(pct(sorted, 50.0)), "p99": ms(pct(sorted, 99.0)), "max": ms(sorted.last().copied())})
}

fn fmt_ms(us: Option<u64>) -> String {
    us.map(|u| format!("{:.1}", u as f64 / 1000.0))
        .unwrap_or_else(|| "-".into())
}

struct QStats {
    received_question: usize,
    acks: usize,
    results: usize,
    errors: u64,
    ack_p50: Option<u64>,
    ack_p99: Option<u64>,
    ack_max: Option<u64>,
    question_spread: Option<u64>,
    result_spread: Option<u64>,
    /// The same spreads over the kernel's receive times.
    question_spread_rx: Option<u64>,
    result_spread_rx: Option<u64>,
    /// By kernel receive time, how long after the first phone 99 % of the phones had the
    /// question, and the result.
    question_lag_p99_rx: Option<u64>,
    result_lag_p99_rx: Option<u64>,
    last_ack_to_last_result: Option<i64>,
    host_send_to_last_question: Option<u64>,
    frames_per_player: f64,
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args = Args::parse();
    let limit = Duration::from_secs(args.timeout);
    match tokio::time::timeout(limit, run(args)).await {
        Ok(Ok(())) => std::process::exit(0),
        Ok(Err(e)) => {
            eprintln!("loadgen: {e:#}");
            std::process::exit(1);
        }
        Err(_) => {
            eprintln!("loadgen: overall timeout of {}s exceeded", limit.as_secs());
            std::process::exit(2);
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let n = args.players;
    let nq = args.questions;
    let base = args.server.trim_end_matches('/').to_string();
    let (url, addr) = ws_url(&base)?;

    // ---- host: login, competition, console socket ----
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
        .ok_or_else(|| anyhow::anyhow!("login set no cookie"))?
        .to_string();
    let login: Value = res.json().await?;
    let csrf = login["csrf"].as_str().unwrap_or_default().to_string();
    let res = http
        .post(format!("{base}/api/competitions"))
        .header("X-CSRF-Token", &csrf)
        .json(&json!({
            "title": format!("loadgen {n} players"),
            "topics": ["party-constitution","party-regulations","speeches","petition-work","learning-plan","skills"],
            "count": nq, "time_limit_s": args.time_limit, "guests_allowed": true,
            "max_guests": n.max(1),
            "award_rule": {"top_n": 3}, "streak_bonus": false,
            "seed": args.seed,
        }))
        .send()
        .await?;
    let status = res.status();
    let comp: Value = res.json().await?;
    anyhow::ensure!(status == 201, "create competition: {status} {comp}");
    let cid = comp["id"].as_str().unwrap_or_default().to_string();
    let pin = comp["pin"].as_str().unwrap_or_default().to_string();
    eprintln!("competition {cid} pin {pin}");

    let mut req = url.as_str().into_client_request()?;
    req.headers_mut().insert("Cookie", cookie.parse()?);
    let mut hws = connect(&addr, req).await?;
    text(
        &mut hws,
        &json!({"type":"hello","protocol":1,"role":"host","competition":cid}),
    )
    .await?;
    let w = next_json(&mut hws, Duration::from_secs(10)).await;
    anyhow::ensure!(
        w.as_ref().is_some_and(|v| v["type"] == "welcome"),
        "host hello: {w:?}"
    );
    let total_q = w
        .as_ref()
        .and_then(|v| v["total_questions"].as_u64())
        .unwrap_or(0) as usize;
    anyhow::ensure!(
        total_q >= nq,
        "competition has {total_q} questions, asked for {nq}"
    );
    let (host_tx, mut host_rx) = mpsc::unbounded_channel();
    let (host_cmd, host_cmd_rx) = mpsc::unbounded_channel();
    let host_task = tokio::spawn(host_reader(hws, host_tx, host_cmd_rx));

    // ---- players join ----
    let rss_before = settled_rss_kb(args.server_pid).await;
    let shared = Arc::new(Shared {
        epoch: Instant::now(),
        epoch_wall_ns: stamped::wall_ns(),
        results: (0..nq).map(|_| AtomicUsize::new(0)).collect(),
        gone: AtomicUsize::new(0),
    });
    let sem = Arc::new(Semaphore::new(args.connect_concurrency.max(1)));
    let (stop_tx, stop_rx) = watch::channel(false);
    let join_started = Instant::now();
    // Each task joins, reports the outcome, then plays at once: a joined socket must keep
    // reading (and so answering the server's pings) while the others are still joining.
    // The second half waits until the server's memory with the first half has settled: the
    // memory the second half adds is the cost of an idle player, whatever the server's
    // allocator kept from before.
    let half = n / 2;
    let (half_tx, half_rx) = watch::channel(false);
    let (joined_tx, mut joined_rx) = mpsc::unbounded_channel::<Result<(), String>>();
    let mut players = Vec::with_capacity(n);
    for i in 0..n {
        let sem = sem.clone();
        let url = url.clone();
        let addr = addr.clone();
        let pin = pin.clone();
        let wt = Duration::from_secs(args.welcome_timeout);
        let joined_tx = joined_tx.clone();
        let shared = shared.clone();
        let stop_rx = stop_rx.clone();
        let rng = Rng(args.seed.wrapping_mul(0x1000_0001).wrapping_add(i as u64));
        let spread = args.answer_spread_ms;
        let mut half_rx = half_rx.clone();
        players.push(tokio::spawn(async move {
            if i >= half {
                let _ = half_rx.wait_for(|go| *go).await;
            }
            let permit = sem.acquire_owned().await.expect("semaphore");
            let ws = join(&url, &addr, &pin, i, wt).await;
            drop(permit);
            match ws {
                Ok(ws) => {
                    let _ = joined_tx.send(Ok(()));
                    Some(play(ws, shared, nq, spread, rng, stop_rx).await)
                }
                Err(e) => {
                    let _ = joined_tx.send(Err(e));
                    None
                }
            }
        }));
    }
    drop(joined_tx);
    let mut joined = 0usize;
    let mut failures: Vec<String> = Vec::new();
    let mut last_report = Instant::now();
    let mut rss_half: Option<(usize, Option<u64>)> = None;
    let mut paused = Duration::ZERO;
    if half == 0 {
        let _ = half_tx.send(true);
    }
    while let Some(r) = joined_rx.recv().await {
        match r {
            Ok(()) => joined += 1,
            Err(e) => failures.push(e),
        }
        if joined + failures.len() == half && rss_half.is_none() {
            let t = Instant::now();
            rss_half = Some((joined, settled_rss_kb(args.server_pid).await));
            paused = t.elapsed();
            let _ = half_tx.send(true);
        }
        if last_report.elapsed() > Duration::from_secs(5) {
            last_report = Instant::now();
            eprintln!(
                "  {joined} joined, {} failed, {:.1}s",
                failures.len(),
                join_started.elapsed().as_secs_f64()
            );
        }
        if joined + failures.len() == n {
            break;
        }
    }
    let join_elapsed = join_started.elapsed().saturating_sub(paused);
    let gone_while_joining = shared.gone.load(Ordering::Relaxed);
    eprintln!(
        "{joined}/{n} joined in {:.1}s, {} handshake failures, {gone_while_joining} already disconnected",
        join_elapsed.as_secs_f64(),
        failures.len()
    );
    for f in failures.iter().take(5) {
        eprintln!("  failure: {f}");
    }
    let rss_after = settled_rss_kb(args.server_pid).await;

    // ---- questions ----
    let phase_wait = Duration::from_secs(args.time_limit as u64 + 60);
    let mut host_sent_at = Vec::new();
    let mut aborted: Option<String> = None;
    for q in 0..nq {
        let step: anyhow::Result<()> = async {
            if q > 0 {
                host_cmd.send(json!({"type":"next"}))?;
                host_wait(&mut host_rx, "leaderboard", phase_wait).await?;
            }
            host_sent_at.push(shared.now_us());
            host_cmd.send(json!({"type": if q == 0 { "start" } else { "next" }}))?;
            host_wait(&mut host_rx, "question", phase_wait).await?;
            host_wait(&mut host_rx, "reveal", phase_wait).await?;
            // Every connected player gets its result.
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let got = shared.results[q].load(Ordering::Relaxed);
                let gone = shared.gone.load(Ordering::Relaxed);
                if got + gone >= joined {
                    break;
                }
                if Instant::now() > deadline {
                    anyhow::bail!("only {got} of {joined} results for question {} ({gone} players disconnected)", q + 1);
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Ok(())
        }
        .await;
        eprintln!("question {} done", q + 1);
        if let Err(e) = step {
            eprintln!("question {}: {e:#}", q + 1);
            aborted = Some(format!("question {}: {e:#}", q + 1));
            break;
        }
    }

    // ---- wind down ----
    let _ = stop_tx.send(true);
    let mut outs = Vec::with_capacity(joined);
    for p in players {
        if let Ok(Some(o)) = p.await {
            outs.push(o);
        }
    }
    let _ = host_cmd.send(json!({"type":"end"}));
    let _ = host_wait(&mut host_rx, "podium", Duration::from_secs(10)).await;
    drop(host_cmd);
    let _ = tokio::time::timeout(Duration::from_secs(5), host_task).await;

    // ---- statistics ----
    let mut qstats = Vec::new();
    let mut all_ack: Vec<u64> = Vec::new();
    let mut all_ack_rx: Vec<u64> = Vec::new();
    // Answer→ack split by whether the answer went out while the question was still being
    // delivered to other phones (it then competes with that fan-out) or after.
    let (mut ack_during, mut ack_after): (Vec<u64>, Vec<u64>) = (Vec::new(), Vec::new());
    let (mut ack_rx_during, mut ack_rx_after): (Vec<u64>, Vec<u64>) = (Vec::new(), Vec::new());
    let mut total_frames = 0u64;
    for q in 0..nq {
        let col: Vec<&PerQ> = outs.iter().map(|o| &o.per_q[q]).collect();
        let qa: Vec<u64> = col.iter().filter_map(|p| p.question_at).collect();
        let ra: Vec<u64> = col.iter().filter_map(|p| p.result_at).collect();
        let qrx: Vec<u64> = col.iter().filter_map(|p| p.question_rx).collect();
        let rrx: Vec<u64> = col.iter().filter_map(|p| p.result_rx).collect();
        let aa: Vec<u64> = col.iter().filter_map(|p| p.ack_at).collect();
        let mut lat: Vec<u64> = col.iter().filter_map(|p| p.ack_latency_us).collect();
        lat.sort_unstable();
        all_ack.extend(&lat);
        all_ack_rx.extend(col.iter().filter_map(|p| p.ack_rx_latency_us));
        if let Some(&last_question) = qa.iter().max() {
            for p in &col {
                let Some(sent) = p.answered_at else { continue };
                let (during, rx_during) = if sent <= last_question {
                    (&mut ack_during, &mut ack_rx_during)
                } else {
                    (&mut ack_after, &mut ack_rx_after)
                };
                during.extend(p.ack_latency_us);
                rx_during.extend(p.ack_rx_latency_us);
            }
        }
        let frames: u64 = col.iter().map(|p| p.frames).sum();
        total_frames += frames;
        let spread = |v: &[u64]| Some(v.iter().max()? - v.iter().min()?);
        let lag_p99 = |v: &[u64]| {
            let first = *v.iter().min()?;
            let mut lags: Vec<u64> = v.iter().map(|t| t - first).collect();
            lags.sort_unstable();
            pct(&lags, 99.0)
        };
        qstats.push(QStats {
            received_question: qa.len(),
            acks: lat.len(),
            results: ra.len(),
            errors: col.iter().map(|p| p.errors).sum(),
            ack_p50: pct(&lat, 50.0),
            ack_p99: pct(&lat, 99.0),
            ack_max: lat.last().copied(),
            question_spread: spread(&qa),
            result_spread: spread(&ra),
            question_spread_rx: spread(&qrx),
            result_spread_rx: spread(&rrx),
            question_lag_p99_rx: lag_p99(&qrx),
            result_lag_p99_rx: lag_p99(&rrx),
            last_ack_to_last_result: match (aa.iter().max(), ra.iter().max()) {
                (Some(a), Some(r)) => Some(*r as i64 - *a as i64),
                _ => None,
            },
            host_send_to_last_question: match (host_sent_at.get(q), qa.iter().max()) {
                (Some(h), Some(m)) => Some(m.saturating_sub(*h)),
                _ => None,
            },
            frames_per_player: if joined > 0 {
                frames as f64 / joined as f64
            } else {
                0.0
            },
        });
    }
    for v in [
        &mut all_ack,
        &mut all_ack_rx,
        &mut ack_during,
        &mut ack_after,
        &mut ack_rx_during,
        &mut ack_rx_after,
    ] {
        v.sort_unstable();
    }
    let played = qstats
        .iter()
        .filter(|s| s.received_question > 0)
        .count()
        .max(1);
    let mut qspreads: Vec<u64> = qstats.iter().filter_map(|s| s.question_spread).collect();
    qspreads.sort_unstable();
    let mut rspreads: Vec<u64> = qstats.iter().filter_map(|s| s.result_spread).collect();
    rspreads.sort_unstable();
    let mut qspreads_rx: Vec<u64> = qstats.iter().filter_map(|s| s.question_spread_rx).collect();
    qspreads_rx.sort_unstable();
    let mut rspreads_rx: Vec<u64> = qstats.iter().filter_map(|s| s.result_spread_rx).collect();
    rspreads_rx.sort_unstable();
    let mut qlags_rx: Vec<u64> = qstats
        .iter()
        .filter_map(|s| s.question_lag_p99_rx)
        .collect();
    qlags_rx.sort_unstable();
    let mut rlags_rx: Vec<u64> = qstats.iter().filter_map(|s| s.result_lag_p99_rx).collect();
    rlags_rx.sort_unstable();
    let mut ack2res: Vec<u64> = qstats
        .iter()
        .filter_map(|s| s.last_ack_to_last_result.map(|v| v.max(0) as u64))
        .collect();
    ack2res.sort_unstable();
    let frames_pp_pq = if joined > 0 {
        total_frames as f64 / joined as f64 / played as f64
    } else {
        0.0
    };
    // Memory per idle player: what the second half of the players added, per player. (The
    // whole run's growth over all players is less telling: the allocator may keep memory
    // from start-up that the first players then take without the RSS moving.)
    let rss_half_kb = rss_half.and_then(|(_, h)| h);
    let mem_per_player_kb = match (rss_half, rss_after) {
        (Some((j, Some(h))), Some(a)) if joined > j => {
            Some((a as f64 - h as f64) / (joined - j) as f64)
        }
        _ => None,
    };
    let disconnected = outs.iter().filter(|o| o.disconnected).count();
    let mut closes: std::collections::BTreeMap<String, usize> = Default::default();
    for c in outs.iter().filter_map(|o| o.close.clone()) {
        *closes.entry(c).or_default() += 1;
    }

    // ---- report ----
    let mut t = String::new();
    use std::fmt::Write;
    let _ = writeln!(
        t,
        "players {n}  joined {joined}  handshake failures {}  join time {:.1}s  disconnected during play {disconnected}",
        failures.len(),
        join_elapsed.as_secs_f64()
    );
    let _ = writeln!(
        t,
        "{:>3} {:>6} {:>6} {:>6} {:>4} | {:>8} {:>8} {:>8} | {:>9} {:>9} {:>9} | {:>9} {:>9} {:>11} | {:>6}",
        "q",
        "asked",
        "acks",
        "result",
        "err",
        "ack p50",
        "ack p99",
        "ack max",
        "q spread",
        "q rx",
        "host→last",
        "r spread",
        "r rx",
        "lastack→res",
        "fr/pl"
    );
    for (q, s) in qstats.iter().enumerate() {
        let _ = writeln!(
            t,
            "{:>3} {:>6} {:>6} {:>6} {:>4} | {:>8} {:>8} {:>8} | {:>9} {:>9} {:>9} | {:>9} {:>9} {:>11} | {:>6.2}",
            q + 1,
            s.received_question,
            s.acks,
            s.results,
            s.errors,
            fmt_ms(s.ack_p50),
            fmt_ms(s.ack_p99),
            fmt_ms(s.ack_max),
            fmt_ms(s.question_spread),
            fmt_ms(s.question_spread_rx),
            fmt_ms(s.host_send_to_last_question),
            fmt_ms(s.result_spread),
            fmt_ms(s.result_spread_rx),
            s.last_ack_to_last_result
                .map(|v| format!("{:.1}", v as f64 / 1000.0))
                .unwrap_or_else(|| "-".into()),
            s.frames_per_player
        );
    }
    let _ = writeln!(
        t,
        "all | answer→ack p50 {} p99 {} max {} ms | question spread p50 {} p99 {} ms | result spread p50 {} p99 {} ms | last ack→last result p99 {} ms | frames/player/question {:.2} | memory/idle player {} KB (RSS {} → {} → {} KB, before / half / all joined)",
        fmt_ms(pct(&all_ack, 50.0)),
        fmt_ms(pct(&all_ack, 99.0)),
        fmt_ms(all_ack.last().copied()),
        fmt_ms(pct(&qspreads, 50.0)),
        fmt_ms(pct(&qspreads, 99.0)),
        fmt_ms(pct(&rspreads, 50.0)),
        fmt_ms(pct(&rspreads, 99.0)),
        fmt_ms(pct(&ack2res, 99.0)),
        frames_pp_pq,
        mem_per_player_kb
            .map(|m| format!("{m:.1}"))
            .unwrap_or_else(|| "-".into()),
        rss_before
            .map(|v| v.to_string())
            .unwrap_or_else(|| "-".into()),
        rss_half_kb
            .map(|v| v.to_string())
            .unwrap_or_else(|| "-".into()),
        rss_after
            .map(|v| v.to_string())
            .unwrap_or_else(|| "-".into()),
    );
    let _ = writeln!(
        t,
        "answer→ack p99 for answers sent during a question's fan-out {} ms ({} answers), after it {} ms ({} answers)",
        fmt_ms(pct(&ack_during, 99.0)),
        ack_during.len(),
        fmt_ms(pct(&ack_after, 99.0)),
        ack_after.len(),
    );
    let _ = writeln!(
        t,
        "at the phones' TCP stack (kernel receive time) | answer→ack p50 {} p99 {} ms (during fan-out p99 {}, after {}) | question spread p50 {} p99 {} ms | result spread p50 {} p99 {} ms",
        fmt_ms(pct(&all_ack_rx, 50.0)),
        fmt_ms(pct(&all_ack_rx, 99.0)),
        fmt_ms(pct(&ack_rx_during, 99.0)),
        fmt_ms(pct(&ack_rx_after, 99.0)),
        fmt_ms(pct(&qspreads_rx, 50.0)),
        fmt_ms(pct(&qspreads_rx, 99.0)),
        fmt_ms(pct(&rspreads_rx, 50.0)),
        fmt_ms(pct(&rspreads_rx, 99.0)),
    );
    let _ = writeln!(
        t,
        "99 % of the phones had it within (kernel receive time, after the first phone; median / worst question) | question {} / {} ms | result {} / {} ms",
        fmt_ms(pct(&qlags_rx, 50.0)),
        qlags_rx
            .last()
            .map_or_else(|| "-".into(), |v| fmt_ms(Some(*v))),
        fmt_ms(pct(&rlags_rx, 50.0)),
        rlags_rx
            .last()
            .map_or_else(|| "-".into(), |v| fmt_ms(Some(*v))),
    );
    for (why, count) in &closes {
        let _ = writeln!(t, "closed by server/network: {count} × {why}");
    }
    if let Some(a) = &aborted {
        let _ = writeln!(t, "ABORTED: {a}");
    }
    if args.json {
        eprint!("{t}");
        let mut kernel = clock(
            &all_ack_rx,
            &ack_rx_during,
            &ack_rx_after,
            &qspreads_rx,
            &rspreads_rx,
        );
        kernel["question_lag_p99_ms"] = json!({"median_question": ms(pct(&qlags_rx, 50.0)), "worst_question": ms(qlags_rx.last().copied())});
        kernel["result_lag_p99_ms"] = json!({"median_question": ms(pct(&rlags_rx, 50.0)), "worst_question": ms(rlags_rx.last().copied())});
        let summary = json!({
            "players": n, "joined": joined, "handshake_failures": failures.len(),
            "handshake_failure_samples": failures.iter().take(5).collect::<Vec<_>>(),
            "join_time_s": join_elapsed.as_secs_f64(),
            "disconnected_during_play": disconnected,
            "close_reasons": closes,
            "questions": qstats.iter().enumerate().map(|(q, s)| json!({
                "position": q, "received_question": s.received_question, "acks": s.acks,
                "results": s.results, "errors": s.errors,
                "ack_ms": {"p50": ms(s.ack_p50), "p99": ms(s.ack_p99), "max": ms(s.ack_max)},
                "question_spread_ms": ms(s.question_spread),
                "host_send_to_last_question_ms": ms(s.host_send_to_last_question),
                "result_spread_ms": ms(s.result_spread),
                "kernel_rx": {
                    "question_spread_ms": ms(s.question_spread_rx), "result_spread_ms": ms(s.result_spread_rx),
                    "question_lag_p99_ms": ms(s.question_lag_p99_rx), "result_lag_p99_ms": ms(s.result_lag_p99_rx),
                },
                "last_ack_to_last_result_ms": s.last_ack_to_last_result.map(|v| v as f64 / 1000.0),
                "frames_per_player": s.frames_per_player,
            })).collect::<Vec<_>>(),
            "overall": {
                "last_ack_to_last_result_ms": percentiles(&ack2res),
                "task": clock(&all_ack, &ack_during, &ack_after, &qspreads, &rspreads),
                "kernel_rx": kernel,
                "frames_per_player_per_question": frames_pp_pq,
                "memory_per_idle_player_kb": mem_per_player_kb,
                "rss_before_kb": rss_before, "rss_half_kb": rss_half_kb, "rss_after_kb": rss_after,
            },
            "aborted": aborted,
        });
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print!("{t}");
    }
    if aborted.is_some() {
        anyhow::bail!("run aborted");
    }
    Ok(())
}
