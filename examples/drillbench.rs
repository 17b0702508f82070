//! Drill answer throughput: starts a biwu server in this process (on the given database),
//! logs in the demo members, and has them answer drills over real HTTP as fast as the server
//! takes it. Prints answers per second and latency percentiles.
//!
//!     cargo run --release --example drillbench -- --database-url sqlite://bench/biwu.db
//!     cargo run --release --example drillbench -- --database-url postgres://postgres@127.0.0.1:5432/bench

use biwu::config::Settings;
use biwu::startup::Application;
use clap::Parser;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    #[arg(long)]
    database_url: String,
    /// Drills per member (each of 50 questions).
    #[arg(long, default_value_t = 10)]
    drills: usize,
    /// Drills answered at once per member.
    #[arg(long, default_value_t = 4)]
    parallel: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let settings = Settings {
        bind: "127.0.0.1:0".into(),
        database_url: args.database_url.clone(),
        redis_url: None,
        redis_prefix: "biwu-bench:".into(),
        bank_dir: "question-bank".into(),
        demo: true,
        secure_cookies: false,
    };
    let app = Application::build(settings).await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let members: Vec<String> = (1..=4)
        .flat_map(|s| (1..=6).map(move |i| format!("d{s}0{i}")))
        .filter(|n| n != "d406")
        .collect();
    // Log in and start every drill first: the benchmark measures answering only.
    let mut work = Vec::new();
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
            work.push((
                client.clone(),
                csrf.clone(),
                d["id"].as_str().unwrap_or_default().to_string(),
            ));
        }
    }
    let total_answers = work.len() * 50;
    println!(
        "{} members, {} drills, {} answers to send",
        members.len(),
        work.len(),
        total_answers
    );
    let started = Instant::now();
    let mut tasks = Vec::new();
    let chunks: Vec<Vec<_>> = work
        .chunks(args.drills.div_ceil(args.parallel).max(1))
        .map(|c| c.to_vec())
        .collect();
    for chunk in chunks {
        let base = base.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0;
            for (client, csrf, id) in chunk {
                for pos in 0..50 {
                    let t = Instant::now();
                    let res = client
                        .post(format!("{base}/api/drills/{id}/answers"))
                        .header("X-CSRF-Token", &csrf)
                        .json(&json!({"position": pos, "answer": {"type":"choice","value":"A"}}))
                        .send()
                        .await;
                    match res {
                        Ok(r) if r.status().is_success() || r.status().as_u16() == 422 => {
                            // 422: a non-choice question got a letter; send its own shape.
                            if r.status().as_u16() == 422 {
                                let fixed = [
                                    json!({"type":"truefalse","value":true}),
                                    json!({"type":"text","value":"x"}),
                                    json!({"type":"number","value":1}),
                                    json!({"type":"date","value":"2022-05-01"}),
                                ];
                                for a in fixed {
                                    let r = client
                                        .post(format!("{base}/api/drills/{id}/answers"))
                                        .header("X-CSRF-Token", &csrf)
                                        .json(&json!({"position": pos, "answer": a}))
                                        .send()
                                        .await;
                                    if r.is_ok_and(|r| r.status().is_success()) {
                                        break;
                                    }
                                }
                            }
                            lat.push(t.elapsed());
                        }
                        _ => errors += 1,
                    }
                }
            }
            (lat, errors)
        }));
    }
    let mut lat = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await?;
        lat.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed();
    lat.sort();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or(Duration::ZERO)
    };
    println!(
        "answers {} in {:.2}s = {:.0}/s; errors {}; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        lat.len(),
        elapsed.as_secs_f64(),
        lat.len() as f64 / elapsed.as_secs_f64(),
        errors,
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        lat.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
    Ok(())
}
