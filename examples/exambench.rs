//! The exam round under load: starts a biwu server in this process (on the given database, or
//! a fresh SQLite file), gives it `--takers` members (10,000) and has a host create an exam of
//! 30 questions (5 of each topic) over HTTP; then, over real HTTP through one client with a
//! bounded pool of `--connections` connections:
//!
//! 0. baseline: `GET /api/me` (an authenticated request doing no exam work) at `--rate` for
//!    `--baseline-seconds`, so that what the machine itself costs can be told apart;
//! 1. starts: every taker opens the exam (`POST /api/exams/{id}/attempts`), spread evenly
//!    over `--start-seconds` (10 s);
//! 2. saves: `PUT /api/exams/{id}/attempt/answers/{n}` at `--rate` (2,000/s) for `--seconds`,
//!    each by a random taker to a random question of theirs, with a response of the shape its
//!    kind needs (read from the taker's start response);
//! 3. closing: the deadline of half the attempts is set to now in the records (as the window
//!    closing does) and the time is taken until the server's closer has submitted them all:
//!    from the deadline plus the closer's grace (`SUBMIT_GRACE_MS`) to the last
//!    `submitted_at`, and separately the closer's own work (from the clock it stamps on the
//!    attempts to the moment they are all seen submitted); then the notebook entries it files
//!    in the background are waited for;
//! 4. results: the other half closes the same way, then the ranking of every result is
//!    computed with the cache cold (`GET /api/exams/{id}/results` after forgetting the exam,
//!    and `Exams::results` called directly).
//!
//! Starts and saves are open loop: each request has its slot on a fixed schedule and its
//! latency is measured from that slot, so a stall is not hidden by fewer requests being sent;
//! waiting for one of the pool's connections counts as latency too.
//!
//! The members and their sessions are written straight into the records: logging 10,000
//! people in over HTTP would measure the argon2 password hash, not the exam.
//!
//!     cargo run --release --example exambench
//!     cargo run --release --example exambench -- --database-url postgres://postgres@127.0.0.1:5432/exambench

use biwu::auth::{CSRF_HEADER, SESSION_COOKIE, hash_token};
use biwu::config::Settings;
use biwu::domain::Role;
use biwu::records::{Backend, Db, members, now_ms};
use biwu::startup::Application;
use clap::Parser;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

#[derive(Parser)]
struct Args {
    /// Records database; a fresh SQLite file in a temporary folder when omitted.
    #[arg(long)]
    database_url: Option<String>,
    /// Members taking the exam.
    #[arg(long, default_value_t = 10_000)]
    takers: usize,
    /// The starts are spread evenly over this many seconds.
    #[arg(long, default_value_t = 10.0)]
    start_seconds: f64,
    /// Saves (and baseline requests) per second.
    #[arg(long, default_value_t = 2000.0)]
    rate: f64,
    /// Seconds of saves.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Seconds of the baseline (0: none).
    #[arg(long, default_value_t = 5.0)]
    baseline_seconds: f64,
    /// Connections of the client's pool (requests in flight at most).
    #[arg(long, default_value_t = 384)]
    connections: usize,
    /// Questions of each of the six topics.
    #[arg(long, default_value_t = 5)]
    per_topic: usize,
}

/// A taker: their session, and per question of their paper (in their order) its kind and
/// how many options it shows.
struct Taker {
    cookie: String,
    csrf: String,
    questions: Vec<(String, usize)>,
}

/// A response of the shape the question's kind needs, chosen by `r`.
fn response(kind: &str, options: usize, r: u64) -> Value {
    let letter = |i: usize| ((b'A' + i as u8) as char).to_string();
    match kind {
        "single" => json!({"type":"choice","value": letter(r as usize % options.max(1))}),
        "multiple" => {
            let n = options.max(2);
            let (a, b) = (r as usize % n, (r as usize / n) % n);
            let (a, b) = if a == b { (a, (a + 1) % n) } else { (a, b) };
            json!({"type":"choice","value": format!("{}{}", letter(a.min(b)), letter(a.max(b)))})
        }
        "truefalse" => json!({"type":"truefalse","value": r.is_multiple_of(2)}),
        "numeric" => json!({"type":"number","value": (r % 100) as f64}),
        "date" => json!({"type":"date","value": "2021-07-01"}),
        _ => json!({"type":"text","value":"依法按程序办理"}),
    }
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn pct(v: &[Duration], p: f64) -> f64 {
    v.get(((v.len() as f64 * p) as usize).min(v.len().saturating_sub(1)))
        .copied()
        .unwrap_or(Duration::ZERO)
        .as_secs_f64()
        * 1e3
}

/// Busy and total jiffies of the whole machine (every core), from /proc/stat.
fn cpu_jiffies() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().next() else {
        return (0, 0);
    };
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    (total - idle, total)
}

/// CPU seconds used by this process (generator and server) so far.
fn own_cpu() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let s = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    s(u.ru_utime) + s(u.ru_stime)
}

/// Where the CPU went during a phase.
struct Cpu {
    at: Instant,
    jiffies: (u64, u64),
    own: f64,
}

impl Cpu {
    fn now() -> Cpu {
        Cpu {
            at: Instant::now(),
            jiffies: cpu_jiffies(),
            own: own_cpu(),
        }
    }

    /// "machine busy %, this process in cores".
    fn since(&self) -> String {
        let (b, t) = cpu_jiffies();
        let busy = (b - self.jiffies.0) as f64 / (t - self.jiffies.1).max(1) as f64;
        let cores = (own_cpu() - self.own) / self.at.elapsed().as_secs_f64();
        format!(
            "machine {:.0} % busy, this process {:.2} cores",
            busy * 100.0,
            cores
        )
    }
}

/// One request's outcome: latency from its slot, or an error (status and body).
type Outcome = Result<Duration, String>;

async fn send(req: reqwest::RequestBuilder) -> Result<Value, String> {
    match req.send().await {
        Ok(r) if r.status().is_success() => r.json::<Value>().await.map_err(|e| e.to_string()),
        Ok(r) => Err(format!(
            "{} {}",
            r.status(),
            r.text().await.unwrap_or_default()
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// Latencies and errors of a phase.
fn report(name: &str, outcomes: &[Outcome], elapsed: Duration, cpu: &Cpu) {
    let mut lat: Vec<Duration> = outcomes.iter().filter_map(|o| o.clone().ok()).collect();
    let errors: Vec<&String> = outcomes.iter().filter_map(|o| o.as_ref().err()).collect();
    lat.sort();
    println!(
        "{name}: {} in {:.2} s = {:.0}/s; errors {}; p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {}",
        lat.len(),
        elapsed.as_secs_f64(),
        outcomes.len() as f64 / elapsed.as_secs_f64(),
        errors.len(),
        pct(&lat, 0.50),
        pct(&lat, 0.99),
        lat.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        cpu.since(),
    );
    for e in errors.iter().take(3) {
        println!("  error: {}", e.chars().take(200).collect::<String>());
    }
}

/// Runs `make(k)` for k in 0..n on a fixed schedule of `rate` per second; each request
/// waits for a connection of the pool (`slots`), and its latency counts from its slot.
async fn open_loop<F, Fut>(n: usize, rate: f64, slots: Arc<Semaphore>, make: F) -> Vec<Outcome>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<Value, String>> + Send + 'static,
{
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    for k in 0..n {
        let at = started + Duration::from_secs_f64(k as f64 / rate);
        tokio::time::sleep_until(at.into()).await;
        let fut = make(k);
        let slots = slots.clone();
        tasks.push(tokio::spawn(async move {
            let _slot = slots.acquire_owned().await.expect("open");
            fut.await.map(|_| at.elapsed())
        }));
    }
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(t.await.unwrap_or_else(|e| Err(e.to_string())));
    }
    out
}

/// Sets the deadline of the attempts in progress of the takers whose staff numbers are in
/// `from..to` to now, then waits until the closer has submitted them all; prints the times.
async fn close(db: &Db, exam_id: &str, from: &str, to: &str, what: &str) -> anyhow::Result<()> {
    let cpu = Cpu::now();
    let deadline = now_ms();
    let moved = sqlx::query(
        "UPDATE exam_attempts SET deadline_at = $1 WHERE exam_id = $2 AND submitted_at IS NULL \
         AND member_id IN (SELECT id FROM members WHERE staff_no >= $3 AND staff_no < $4)",
    )
    .bind(deadline)
    .bind(exam_id)
    .bind(from)
    .bind(to)
    .execute(&db.pool)
    .await?
    .rows_affected();
    let due = deadline + biwu::exam::SUBMIT_GRACE_MS;
    let done = loop {
        tokio::time::sleep(Duration::from_millis(10)).await;
        let left: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM exam_attempts WHERE exam_id = $1 AND deadline_at = $2 \
             AND submitted_at IS NULL",
        )
        .bind(exam_id)
        .bind(deadline)
        .fetch_one(&db.pool)
        .await?;
        if left == 0 {
            break now_ms();
        }
        anyhow::ensure!(now_ms() < due + 120_000, "{left} attempts never submitted");
    };
    let (first, last, ticks): (i64, i64, i64) = sqlx::query_as(
        "SELECT MIN(submitted_at), MAX(submitted_at), COUNT(DISTINCT submitted_at) \
         FROM exam_attempts WHERE exam_id = $1 AND deadline_at = $2",
    )
    .bind(exam_id)
    .bind(deadline)
    .fetch_one(&db.pool)
    .await?;
    println!(
        "{what}: {moved} attempts due at deadline + {} ms grace; all submitted {} ms after that \
         (the closer's tick came {} ms after it, {} tick(s), its work {} ms from its clock to the \
         last one seen submitted; stamps spread {} ms); {}",
        biwu::exam::SUBMIT_GRACE_MS,
        done - due,
        first - due,
        ticks,
        done - first,
        last - first,
        cpu.since(),
    );
    // The closer files wrong and unanswered questions into the takers' notebooks in the
    // background: wait for that to end before going on.
    let t = Instant::now();
    let mut seen = -1i64;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notebook")
            .fetch_one(&db.pool)
            .await?;
        if n == seen || t.elapsed() > Duration::from_secs(120) {
            break;
        }
        seen = n;
    }
    println!(
        "  notebook filing after it: {seen} entries in all, quiet {:.1} s after the closing was seen",
        t.elapsed().as_secs_f64() - 0.5
    );
    Ok(())
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
    let state = app.state.clone();
    let db = state.db.clone();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());

    // The takers, in the demo sections, and a session each (straight into the records).
    let t = Instant::now();
    let sections: Vec<String> = members::sections(&db)
        .await?
        .into_iter()
        .map(|s| s.id)
        .collect();
    let mut ids = Vec::with_capacity(args.takers);
    let mut tx = db.pool.begin().await?;
    for i in 0..args.takers {
        let staff_no = format!("e{i:05}");
        let id = members::insert(
            &mut tx,
            members::NewMember {
                staff_no: &staff_no,
                name: &format!("考生{i}"),
                section_id: Some(&sections[i % sections.len()]),
                role: Role::Member,
                password_hash: None,
                must_change_password: false,
            },
        )
        .await?;
        ids.push(id);
    }
    tx.commit().await?;
    let session = |member_id: String| {
        let db = db.clone();
        async move {
            let token = biwu::records::new_id();
            let csrf = biwu::records::new_id();
            members::create_session(&db, &hash_token(&token), &member_id, &csrf, 86_400_000)
                .await?;
            anyhow::Ok((format!("{SESSION_COOKIE}={token}"), csrf))
        }
    };
    let mut takers = Vec::with_capacity(args.takers);
    for id in ids {
        let (cookie, csrf) = session(id).await?;
        takers.push(Taker {
            cookie,
            csrf,
            questions: Vec::new(),
        });
    }
    let host = members::by_staff_no(&db, "d205")
        .await?
        .ok_or_else(|| anyhow::anyhow!("demo host d205 missing"))?;
    let (host_cookie, host_csrf) = session(host.id).await?;
    println!(
        "{} takers and their sessions written in {:.1} s",
        takers.len(),
        t.elapsed().as_secs_f64()
    );

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.connections)
        .timeout(Duration::from_secs(60))
        .build()?;
    let slots = Arc::new(Semaphore::new(args.connections));
    let now = now_ms();
    let topics = [
        "party-constitution",
        "party-regulations",
        "speeches",
        "petition-work",
        "learning-plan",
        "skills",
    ];
    let created = send(
        client
            .post(format!("{base}/api/exams"))
            .header("Cookie", &host_cookie)
            .header(CSRF_HEADER, &host_csrf)
            .json(&json!({
                "title": "初赛（压力测试）", "opens_at": now, "closes_at": now + 4 * 3_600_000,
                "duration_min": 120, "reveal": "after_close",
                "paper": {"mix": topics.iter().map(|t| json!({"topic": t, "count": args.per_topic})).collect::<Vec<_>>()},
            })),
    )
    .await
    .map_err(|e| anyhow::anyhow!("creating the exam: {e}"))?;
    let exam_id = created["id"].as_str().unwrap_or_default().to_string();
    println!(
        "exam of {} questions (max score {}); {} connections; {}",
        created["questions"],
        created["max_score"],
        args.connections,
        match db.backend {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    );
    // Start the measured part from a quiet database.
    let quiet: &[&str] = match db.backend {
        Backend::Sqlite => &["PRAGMA wal_checkpoint(TRUNCATE)"],
        Backend::Postgres => &["VACUUM ANALYZE", "CHECKPOINT"],
    };
    for sql in quiet {
        sqlx::query(*sql).execute(&db.pool).await?;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let takers = Arc::new(takers);

    // 0. Baseline: an authenticated request that does no exam work, at the save rate.
    if args.baseline_seconds > 0.0 {
        let n = (args.rate * args.baseline_seconds) as usize;
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let picks: Vec<usize> = (0..n).map(|_| rng.next() as usize % takers.len()).collect();
        let (cpu, t) = (Cpu::now(), Instant::now());
        let out = open_loop(n, args.rate, slots.clone(), |k| {
            let req = client
                .get(format!("{base}/api/me"))
                .header("Cookie", &takers[picks[k]].cookie);
            send(req)
        })
        .await;
        report("baseline GET /api/me", &out, t.elapsed(), &cpu);
    }

    // 1. Every taker opens the exam within --start-seconds.
    let rate = takers.len() as f64 / args.start_seconds;
    let (cpu, t) = (Cpu::now(), Instant::now());
    let answers = Arc::new(std::sync::Mutex::new(vec![Vec::new(); takers.len()]));
    let out = open_loop(takers.len(), rate, slots.clone(), |k| {
        let req = client
            .post(format!("{base}/api/exams/{exam_id}/attempts"))
            .header("Cookie", &takers[k].cookie)
            .header(CSRF_HEADER, &takers[k].csrf)
            .json(&json!({}));
        let answers = answers.clone();
        async move {
            let v = send(req).await?;
            let qs: Vec<(String, usize)> = v["questions"]
                .as_array()
                .map(|qs| {
                    qs.iter()
                        .map(|q| {
                            (
                                q["kind"].as_str().unwrap_or_default().to_string(),
                                q["options"].as_array().map_or(0, Vec::len),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            answers.lock().unwrap()[k] = qs;
            Ok(Value::Null)
        }
    })
    .await;
    report(
        &format!("starts ({}/s over {} s)", rate.round(), args.start_seconds),
        &out,
        t.elapsed(),
        &cpu,
    );
    let papers = std::mem::take(&mut *answers.lock().unwrap());
    let mut takers = Arc::try_unwrap(takers).map_err(|_| anyhow::anyhow!("takers shared"))?;
    for (t, qs) in takers.iter_mut().zip(papers) {
        t.questions = qs;
    }
    let takers = Arc::new(takers);
    let started: Vec<usize> = (0..takers.len())
        .filter(|&i| !takers[i].questions.is_empty())
        .collect();
    anyhow::ensure!(!started.is_empty(), "no taker started");

    // 2. Saves by random takers to random questions, at --rate.
    let n = (args.rate * args.seconds) as usize;
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let picks: Vec<(usize, usize, Value)> = (0..n)
        .map(|_| {
            let who = started[rng.next() as usize % started.len()];
            let qs = &takers[who].questions;
            let q = rng.next() as usize % qs.len();
            (who, q, response(&qs[q].0, qs[q].1, rng.next()))
        })
        .collect();
    let (cpu, t) = (Cpu::now(), Instant::now());
    let out = open_loop(n, args.rate, slots.clone(), |k| {
        let (who, q, r) = &picks[k];
        let tk = &takers[*who];
        let req = client
            .put(format!("{base}/api/exams/{exam_id}/attempt/answers/{q}"))
            .header("Cookie", &tk.cookie)
            .header(CSRF_HEADER, &tk.csrf)
            .json(&json!({"response": r, "marked": false}));
        send(req)
    })
    .await;
    report(
        &format!("saves ({}/s for {} s)", args.rate, args.seconds),
        &out,
        t.elapsed(),
        &cpu,
    );

    // 3. Half the attempts reach their deadline at once.
    let half = format!("e{:05}", takers.len() / 2);
    close(&db, &exam_id, "e", &half, "closing, first half").await?;

    // 4. The other half too; then the ranking of every result, cold.
    close(&db, &exam_id, &half, "f", "closing, second half").await?;
    for i in 0..3 {
        state.exams.forget(&exam_id);
        let t = Instant::now();
        let v = send(
            client
                .get(format!("{base}/api/exams/{exam_id}/results"))
                .header("Cookie", &host_cookie),
        )
        .await
        .map_err(|e| anyhow::anyhow!("results: {e}"))?;
        let http = t.elapsed();
        state.exams.forget(&exam_id);
        let t = Instant::now();
        let r = state.exams.results(&exam_id).await?;
        let direct = t.elapsed();
        println!(
            "results {}: GET /results cold {:.0} ms ({} ranked); Exams::results cold {:.0} ms ({} ranked)",
            i + 1,
            http.as_secs_f64() * 1e3,
            v["ranking"].as_array().map_or(0, Vec::len),
            direct.as_secs_f64() * 1e3,
            r.ranking.len(),
        );
    }
    Ok(())
}
