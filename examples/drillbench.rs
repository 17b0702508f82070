//! Drill answer throughput and latency: starts a biwu server in this process (on the given
//! database, or a fresh SQLite file), logs in the demo members, starts drills of 50 questions,
//! and has them answered over real HTTP — right about 70 % of the time, in the shape each
//! question's kind needs.
//!
//! Closed loop (`--concurrency N` requests in flight, as fast as the server takes them), or
//! open loop (`--rate R` answers per second on a fixed schedule; latency is measured from the
//! scheduled time, so a stall is not hidden by fewer requests being sent). `--serve` also
//! fetches each question before answering it, as the phone page does.
//!
//!     cargo run --release --example drillbench -- --concurrency 16
//!     cargo run --release --example drillbench -- --rate 2000 --serve
//!     cargo run --release --example drillbench -- --database-url postgres://postgres@127.0.0.1:5432/bench --rate 2000

use biwu::config::Settings;
use biwu::domain::{AnswerKey, Question};
use biwu::startup::Application;
use clap::Parser;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    /// Records database; a fresh SQLite file in a temporary folder when omitted.
    #[arg(long)]
    database_url: Option<String>,
    /// Drills per member (each of 50 questions).
    #[arg(long, default_value_t = 10)]
    drills: usize,
    /// Requests in flight (closed loop), or workers available to keep the rate (open loop).
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Answers per second on a fixed schedule (open loop).
    #[arg(long)]
    rate: Option<f64>,
    /// Fetch each question (GET the drill) before answering it.
    #[arg(long)]
    serve: bool,
}

struct Drill {
    client: reqwest::Client,
    csrf: String,
    id: String,
    answers: Vec<Value>,
}

fn answer(q: &Question, right: bool) -> Value {
    match (&q.answer, right) {
        (AnswerKey::Choice(_), true) => json!({"type":"choice","value": q.answer.display()}),
        (AnswerKey::Choice(ix), false) => {
            let other = (0..q.options.len()).find(|i| !ix.contains(i)).unwrap_or(0);
            json!({"type":"choice","value": ((b'A' + other as u8) as char).to_string()})
        }
        (AnswerKey::TrueFalse(b), r) => json!({"type":"truefalse","value": *b == r}),
        (AnswerKey::Fill(v), true) => json!({"type":"text","value": v[0]}),
        (AnswerKey::Fill(_), false) => json!({"type":"text","value":"不是这个"}),
        (AnswerKey::Numeric { value, .. }, r) => {
            json!({"type":"number","value": if r { *value } else { value + 1.0 }})
        }
        (AnswerKey::Date(d), true) => json!({"type":"date","value": d}),
        (AnswerKey::Date(_), false) => json!({"type":"date","value":"1999-01-01"}),
    }
}

fn pct(v: &[Duration], p: f64) -> f64 {
    v.get(((v.len() as f64 * p) as usize).min(v.len().saturating_sub(1)))
        .copied()
        .unwrap_or(Duration::ZERO)
        .as_secs_f64()
        * 1e3
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    let database_url = args
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}/biwu.db", dir.path().display()));
    let settings = Settings {
        bind: "127.0.0.1:0".into(),
        database_url,
        redis_url: None,
        redis_prefix: "biwu-bench:".into(),
        bank_dir: Some("question-bank".into()),
        demo: true,
        ..Settings::defaults()
    };
    let app = Application::build(settings).await?;
    let db = app.state.db.clone();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let members: Vec<String> = (1..=4)
        .flat_map(|s| (1..=6).map(move |i| format!("d{s}0{i}")))
        .filter(|n| n != "d406")
        .collect();
    // Log in and start every drill first: the benchmark measures answering only.
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut queue = VecDeque::new();
    for m in &members {
        let client = reqwest::Client::builder().cookie_store(true).build()?;
        let login: Value = client
            .post(format!("{base}/api/login"))
            .json(&json!({"staff_no": m, "password": biwu::demo::DEMO_PASSWORD}))
            .send()
            .await?
            .json()
            .await?;
        let csrf = login["csrf"].as_str().unwrap_or_default().to_string();
        for _ in 0..args.drills {
            let d: Value = client
                .post(format!("{base}/api/drills"))
                .header("X-CSRF-Token", &csrf)
                .json(&json!({"mode":"topics","count":50,"time_limit_s":0}))
                .send()
                .await?
                .json()
                .await?;
            let id = d["id"].as_str().unwrap_or_default().to_string();
            let mut answers = Vec::new();
            for item in biwu::records::drills::items(&db, &id).await? {
                let q: Question = serde_json::from_str(&item.body)?;
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                answers.push(answer(&q, seed % 10 < 7));
            }
            queue.push_back(Drill {
                client: client.clone(),
                csrf: csrf.clone(),
                id,
                answers,
            });
        }
    }
    // Start the measured part from a quiet database: the demo history just written is
    // checkpointed (and analysed, on PostgreSQL) instead of being flushed during the run.
    let quiet: &[&str] = match db.backend {
        biwu::records::Backend::Sqlite => &["PRAGMA wal_checkpoint(TRUNCATE)"],
        biwu::records::Backend::Postgres => &["VACUUM ANALYZE", "CHECKPOINT"],
    };
    for sql in quiet {
        sqlx::query(*sql).execute(&db.pool).await?;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let total: usize = queue.iter().map(|d| d.answers.len()).sum();
    println!(
        "{} members, {} drills, {} answers; {}{}",
        members.len(),
        queue.len(),
        total,
        match args.rate {
            Some(r) => format!("open loop at {r}/s"),
            None => format!("closed loop, {} in flight", args.concurrency),
        },
        if args.serve {
            ", each question fetched first"
        } else {
            ""
        }
    );
    let queue = Arc::new(Mutex::new(queue));
    let ticket = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency {
        let (queue, ticket, base) = (queue.clone(), ticket.clone(), base.clone());
        let (rate, serve) = (args.rate, args.serve);
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut gets, mut errors) = (Vec::new(), Vec::new(), 0u64);
            loop {
                let Some(d) = queue.lock().unwrap().pop_front() else {
                    break;
                };
                for (pos, a) in d.answers.iter().enumerate() {
                    // Open loop: this answer's slot on the schedule; late slots count as latency.
                    let t0 = match rate {
                        Some(r) => {
                            let k = ticket.fetch_add(1, Ordering::Relaxed);
                            let at = started + Duration::from_secs_f64(k as f64 / r);
                            tokio::time::sleep_until(at.into()).await;
                            at
                        }
                        None => Instant::now(),
                    };
                    if serve {
                        let t = Instant::now();
                        match d
                            .client
                            .get(format!("{base}/api/drills/{}", d.id))
                            .send()
                            .await
                        {
                            Ok(r) if r.status().is_success() => gets.push(t.elapsed()),
                            _ => errors += 1,
                        }
                    }
                    let res = d
                        .client
                        .post(format!("{base}/api/drills/{}/answers", d.id))
                        .header("X-CSRF-Token", &d.csrf)
                        .json(&json!({"position": pos, "answer": a}))
                        .send()
                        .await;
                    match res {
                        Ok(r) if r.status().is_success() => lat.push(t0.elapsed()),
                        Ok(r) => {
                            errors += 1;
                            if errors < 5 {
                                eprintln!("{} {}", r.status(), r.text().await.unwrap_or_default());
                            }
                        }
                        Err(e) => {
                            errors += 1;
                            if errors < 5 {
                                eprintln!("{e}");
                            }
                        }
                    }
                }
            }
            (lat, gets, errors)
        }));
    }
    let (mut lat, mut gets, mut errors) = (Vec::new(), Vec::new(), 0);
    for t in tasks {
        let (l, g, e) = t.await?;
        lat.extend(l);
        gets.extend(g);
        errors += e;
    }
    let elapsed = started.elapsed();
    lat.sort();
    gets.sort();
    println!(
        "answers {} in {:.2}s = {:.0}/s; errors {}; answer latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        lat.len(),
        elapsed.as_secs_f64(),
        lat.len() as f64 / elapsed.as_secs_f64(),
        errors,
        pct(&lat, 0.50),
        pct(&lat, 0.99),
        lat.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
    if !gets.is_empty() {
        println!(
            "question fetches {}: p50 {:.1} ms, p99 {:.1} ms",
            gets.len(),
            pct(&gets, 0.50),
            pct(&gets, 0.99)
        );
    }
    Ok(())
}
