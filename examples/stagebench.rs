//! The stage final's buzzer under load: starts a biwu server in this process (fresh SQLite,
//! demo organisation, the bank), sets up a final of `--teams` teams (10) and one 抢答 round of
//! `--questions` questions with the audience playing along, connects `--audience` phones
//! (2,000) to the audience, `--watchers` screens (4) that receive every frame of the final as
//! the projector does, the host console and one socket per team device. Then, per question:
//! the host shows it and opens the buzzers; every phone answers at a random moment within
//! `--answer-ms` (600) of the question being shown, so the answers fall around the buzzes; once
//! every screen has seen the opening, the team devices buzz in a shuffled order, `--spread-us`
//! apart (1 ms), all within a few milliseconds; the time from the first buzz sent to each
//! screen's receipt of the winner is measured; the host rules and moves on.
//!
//! Reported: buzz → winner on every screen (p50 / p99 / max over all screens and questions);
//! whether the order the server recorded (`stage_buzzes`, by receive sequence) equals the
//! order the generator sent the buzzes in, question by question; the phones' answer → ack
//! (p50 / p99) and the answers in the records. `--audience 0 --watchers 2000` is the stress
//! case of 2,000 sockets that each get every state frame of the final.
//!
//!     cargo run --release --example stagebench
//!     cargo run --release --example stagebench -- --audience 0 --watchers 2000

use biwu::config::Settings;
use biwu::startup::Application;
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use rand::seq::SliceRandom;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{Mutex, mpsc};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 10)]
    teams: usize,
    /// Screens: sockets that get every state frame of the final.
    #[arg(long, default_value_t = 4)]
    watchers: usize,
    /// Audience phones playing along.
    #[arg(long, default_value_t = 2000)]
    audience: usize,
    /// The phones answer at a random moment within this many milliseconds of the question.
    #[arg(long, default_value_t = 600)]
    answer_ms: u64,
    #[arg(long, default_value_t = 20)]
    questions: usize,
    /// Microseconds between one team's buzz and the next.
    #[arg(long, default_value_t = 1000)]
    spread_us: u64,
    /// Time the buzzes by spinning (exact spacing, but a core burnt) instead of the runtime's
    /// timer (millisecond ticks; the sends stay in order, one task sends them all).
    #[arg(long)]
    spin: bool,
    /// Serve the team devices on a listener of their own (`--buzzer-bind`).
    #[arg(long)]
    buzzer: bool,
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(port: u16, stage: &str, cookie: Option<&str>, hello: Value) -> anyhow::Result<Ws> {
    let mut req = format!("ws://127.0.0.1:{port}/ws/stage/{stage}").into_client_request()?;
    if let Some(c) = cookie {
        req.headers_mut().insert("Cookie", c.parse()?);
    }
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await?;
    ws.send(Message::Text(hello.to_string().into())).await?;
    Ok(ws)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let spread_us = args.spread_us;
    let spin = args.spin;
    let dir = tempfile::tempdir()?;
    let settings = Settings {
        bind: "127.0.0.1:0".into(),
        database_url: format!("sqlite://{}/biwu.db", dir.path().display()),
        redis_url: None,
        redis_prefix: "biwu-bench:".into(),
        bank_dir: Some("question-bank".into()),
        demo: true,
        buzzer_bind: args.buzzer.then(|| "127.0.0.1:0".to_string()),
        ..Settings::defaults()
    };
    let app = Application::build(settings).await?;
    let port = app.port();
    let buzzer_port = app.buzzer_port().unwrap_or(port);
    let db = app.state.db.clone();
    tokio::spawn(app.run_until_stopped());
    let base = format!("http://127.0.0.1:{port}");

    // The demo host logs in (one password check) and sets the final up.
    let http = reqwest::Client::new();
    let res = http
        .post(format!("{base}/api/login"))
        .json(&json!({"staff_no": "d205", "password": biwu::demo::DEMO_PASSWORD}))
        .send()
        .await?;
    let cookie = res.headers()["set-cookie"]
        .to_str()?
        .split(';')
        .next()
        .unwrap_or_default()
        .to_string();
    let login: Value = res.json().await?;
    let csrf = login["csrf"].as_str().unwrap_or_default().to_string();
    let teams: Vec<Value> = (0..args.teams)
        .map(|i| json!({"name": format!("第{}队", i + 1)}))
        .collect();
    let res = http
        .post(format!("{base}/api/stages"))
        .header("Cookie", &cookie)
        .header(biwu::auth::CSRF_HEADER, &csrf)
        .json(&json!({
            "title": "抢答压力测试", "teams": teams,
            "rounds": [{"kind": "buzzer", "count": args.questions, "right": 10}],
            "settings": {"audience": args.audience > 0},
        }))
        .send()
        .await?;
    anyhow::ensure!(res.status() == 201, "set-up: {}", res.text().await?);
    let made: Value = res.json().await?;
    let stage = made["id"].as_str().unwrap().to_string();
    let codes: Vec<String> = made["teams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["device_code"].as_str().unwrap().to_string())
        .collect();

    // Watchers: count the openings they saw; record when each saw each winner.
    let t = Instant::now();
    let opened = Arc::new(AtomicUsize::new(0));
    let seen: Arc<Mutex<Vec<Instant>>> = Arc::new(Mutex::new(Vec::new()));
    let watch_hello = json!({"type": "hello", "role": "screen"});
    for _ in 0..args.watchers {
        let mut ws = connect(port, &stage, Some(&cookie), watch_hello.clone()).await?;
        let opened = opened.clone();
        let seen = seen.clone();
        tokio::spawn(async move {
            while let Some(Ok(m)) = ws.next().await {
                if let Message::Text(t) = m {
                    let now = Instant::now();
                    if t.contains("\"step\":\"open\"") {
                        opened.fetch_add(1, Ordering::Relaxed);
                    } else if t.contains("\"step\":\"answering\"") {
                        seen.lock().await.push(now);
                    }
                }
            }
        });
    }
    println!(
        "{} watchers connected in {:.1} s",
        args.watchers,
        t.elapsed().as_secs_f64()
    );
    // The audience: each phone answers every question at a random moment and times its ack.
    let acks: Arc<Mutex<Vec<f64>>> = Arc::new(Mutex::new(Vec::new()));
    let t = Instant::now();
    for i in 0..args.audience {
        let mut ws = connect(
            port,
            &stage,
            None,
            json!({"type": "hello", "role": "audience", "name": format!("观众{i}")}),
        )
        .await?;
        let acks = acks.clone();
        let answer_ms = args.answer_ms.max(1);
        tokio::spawn(async move {
            let mut sent: Option<Instant> = None;
            while let Some(Ok(m)) = ws.next().await {
                let Message::Text(t) = m else { continue };
                let Ok(v) = serde_json::from_str::<Value>(&t) else {
                    continue;
                };
                match v["type"].as_str() {
                    Some("ask") if v["answered"] == false => {
                        let wait = rand::random_range(0..answer_ms);
                        tokio::time::sleep(Duration::from_millis(wait)).await;
                        let response = match v["kind"].as_str() {
                            Some("truefalse") => json!({"type": "truefalse", "value": true}),
                            Some("fill") => json!({"type": "text", "value": "答"}),
                            Some("numeric") => json!({"type": "number", "value": 1}),
                            Some("date") => json!({"type": "date", "value": "2022-05-01"}),
                            _ => json!({"type": "choice", "value": "A"}),
                        };
                        let frame = json!({"type": "answer", "round": v["round"], "index": v["index"], "response": response});
                        sent = Some(Instant::now());
                        if ws
                            .send(Message::Text(frame.to_string().into()))
                            .await
                            .is_err()
                        {
                            break;
                        }
                    }
                    Some("ack") => {
                        if let Some(at) = sent.take() {
                            acks.lock().await.push(at.elapsed().as_secs_f64() * 1000.0);
                        }
                    }
                    _ => {}
                }
            }
        });
    }
    if args.audience > 0 {
        println!(
            "{} audience phones connected in {:.1} s",
            args.audience,
            t.elapsed().as_secs_f64()
        );
    }
    // The team devices: one task sends every buzz, in order, spread_us apart (timers of
    // separate tasks could fire in one tick and swap neighbours).
    let mut sinks = Vec::new();
    for code in &codes {
        let ws = connect(
            buzzer_port,
            &stage,
            None,
            json!({"type": "hello", "role": "team", "code": code}),
        )
        .await?;
        let (sink, mut stream) = ws.split();
        tokio::spawn(async move { while stream.next().await.is_some() {} });
        sinks.push(sink);
    }
    let (buzz_tx, mut buzz_rx) = mpsc::unbounded_channel::<(Vec<usize>, Instant)>();
    let (sent_tx, mut sent_rx) = mpsc::unbounded_channel::<Instant>();
    tokio::spawn(async move {
        while let Some((order, start)) = buzz_rx.recv().await {
            tokio::time::sleep_until(start.into()).await;
            let mut first = None;
            for (k, team) in order.into_iter().enumerate() {
                let due = start + Duration::from_micros(spread_us * k as u64);
                if spin {
                    while Instant::now() < due {
                        std::hint::spin_loop();
                    }
                } else {
                    tokio::time::sleep_until(due.into()).await;
                }
                let _ = sinks[team]
                    .send(Message::Text("{\"type\":\"buzz\"}".into()))
                    .await;
                first.get_or_insert_with(Instant::now);
            }
            let _ = sent_tx.send(first.expect("at least one team"));
        }
    });
    let console = connect(
        port,
        &stage,
        Some(&cookie),
        json!({"type": "hello", "role": "host"}),
    )
    .await?;
    let (mut host_tx, mut host_rx) = console.split();
    tokio::spawn(async move { while host_rx.next().await.is_some() {} });
    let send = |v: Value| Message::Text(v.to_string().into());
    host_tx.send(send(json!({"type": "next"}))).await?; // the round's card
    tokio::time::sleep(Duration::from_millis(200)).await;

    let mut latencies: Vec<f64> = Vec::new();
    let mut orders_equal = 0;
    let mut winners_equal = 0;
    let mut rng = rand::rng();
    for q in 0..args.questions {
        host_tx.send(send(json!({"type": "next"}))).await?; // the question (ready)
        tokio::time::sleep(Duration::from_millis(100)).await;
        opened.store(0, Ordering::Relaxed);
        seen.lock().await.clear();
        host_tx.send(send(json!({"type": "open"}))).await?;
        let wait = Instant::now();
        while opened.load(Ordering::Relaxed) < args.watchers {
            anyhow::ensure!(
                wait.elapsed() < Duration::from_secs(30),
                "watchers did not see the opening"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        // The teams buzz in a shuffled order, spread_us apart.
        let mut order: Vec<usize> = (0..args.teams).collect();
        order.shuffle(&mut rng);
        let start = Instant::now() + Duration::from_millis(5);
        let _ = buzz_tx.send((order.clone(), start));
        let first_sent = sent_rx.recv().await.expect("the sender runs");
        let wait = Instant::now();
        while seen.lock().await.len() < args.watchers {
            anyhow::ensure!(
                wait.elapsed() < Duration::from_secs(30),
                "watchers did not see the winner"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        for at in seen.lock().await.iter() {
            latencies.push(at.saturating_duration_since(first_sent).as_secs_f64() * 1000.0);
        }
        // Let every buzz land, then compare the recorded order with the sending order.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let recorded: Vec<i64> = sqlx::query_scalar(
            "SELECT team FROM stage_buzzes WHERE stage_id = $1 AND round = 0 AND position = $2 ORDER BY seq",
        )
        .bind(&stage)
        .bind(q as i64)
        .fetch_all(&db.pool)
        .await?;
        let sent: Vec<i64> = order.iter().map(|&t| t as i64).collect();
        if recorded.first() == sent.first() {
            winners_equal += 1;
        }
        if recorded == sent {
            orders_equal += 1;
        } else {
            println!("question {}: sent {sent:?}, recorded {recorded:?}", q + 1);
        }
        // The host rules once the audience has answered (or after 10 s).
        let wait = Instant::now();
        while acks.lock().await.len() < args.audience * (q + 1)
            && wait.elapsed() < Duration::from_secs(10)
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        host_tx
            .send(send(json!({"type": "rule", "ruling": "right"})))
            .await?;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    latencies.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "buzz -> winner on every screen ({} screens x {} questions = {} receipts): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        args.watchers,
        args.questions,
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(f64::NAN)
    );
    println!(
        "recorded order = sending order ({} teams, {} µs apart): {orders_equal} of {} questions; the first sent won {winners_equal} of {}",
        args.teams, args.spread_us, args.questions, args.questions
    );
    if args.audience > 0 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut acks = acks.lock().await.clone();
        acks.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let stored: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM stage_audience_answers WHERE stage_id = $1")
                .bind(&stage)
                .fetch_one(&db.pool)
                .await?;
        println!(
            "audience answer -> ack ({} acks): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; answers in the records: {stored} of {} expected",
            acks.len(),
            percentile(&acks, 0.5),
            percentile(&acks, 0.99),
            acks.last().copied().unwrap_or(f64::NAN),
            args.audience * args.questions,
        );
    }
    Ok(())
}
