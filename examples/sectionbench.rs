//! The section heads' reads at agency scale: an agency of 2,000 members in 12 departments and
//! 60 sections with two years of drill history (5 million drill answers by default), then the
//! section page's data for random sections and the agency's workbook, timed while drill
//! answers keep arriving through the records' group-commit writer at 500 a second.
//!
//! Generate once, then measure (the history is kept in the database):
//!
//!     cargo run --release --example sectionbench -- --database-url sqlite:///tmp/agency.db --generate
//!     cargo run --release --example sectionbench -- --database-url sqlite:///tmp/agency.db
//!     cargo run --release --example sectionbench -- --database-url postgres://postgres@127.0.0.1:5432/agency --generate
//!
//! (For PostgreSQL, create the database first: `createdb agency`.)

use biwu::domain::calendar::{self, Period};
use biwu::records::drills::{NewAnswer, Write, apply};
use biwu::records::members::{self, Section};
use biwu::records::progress::{self, Scope};
use biwu::records::{Backend, Db, new_id, now_ms, questions};
use biwu::section::{self, Viewer, workbook};
use clap::Parser;
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    #[arg(long)]
    database_url: String,
    /// Make the agency and its history (refused when the database already has members).
    #[arg(long)]
    generate: bool,
    #[arg(long, default_value_t = 2000)]
    members: usize,
    #[arg(long, default_value_t = 12)]
    departments: usize,
    #[arg(long, default_value_t = 5)]
    sections_per_department: usize,
    /// Drill answers in the history (10 per drill, over the last 730 days).
    #[arg(long, default_value_t = 5_000_000)]
    answers: usize,
    /// Section page reads per period.
    #[arg(long, default_value_t = 200)]
    reads: usize,
    /// Agency workbooks per period.
    #[arg(long, default_value_t = 5)]
    workbooks: usize,
    /// Drill answers per second arriving while the reads run (0: none).
    #[arg(long, default_value_t = 500.0)]
    rate: f64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let db = Db::connect(&args.database_url).await?;
    if args.generate {
        generate(&db, &args).await?;
    }
    measure(&db, &args).await
}

fn params(backend: Backend, first: usize, rows: usize, cols: usize) -> String {
    (0..rows)
        .map(|r| {
            let cells: Vec<String> = (0..cols)
                .map(|c| match backend {
                    Backend::Sqlite => "?".to_string(),
                    Backend::Postgres => format!("${}", first + r * cols + c),
                })
                .collect();
            format!("({})", cells.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

async fn generate(db: &Db, args: &Args) -> anyhow::Result<()> {
    let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM members")
        .fetch_one(&db.pool)
        .await?;
    anyhow::ensure!(existing == 0, "the database has members already");
    let started = Instant::now();
    let bank = biwu::bank::load(std::path::Path::new("question-bank"));
    let list: Vec<_> = bank.questions().cloned().collect();
    questions::sync(db, &list).await?;
    let pool = questions::list_active(db, None).await?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(2026);

    // The organisation.
    let mut tx = db.pool.begin().await?;
    let mut sections = Vec::new();
    for d in 0..args.departments {
        let dept = members::department_id(&mut tx, &format!("第{}司", d + 1)).await?;
        for s in 0..args.sections_per_department {
            sections.push(members::section_id(&mut tx, &dept, &format!("第{}处", s + 1)).await?);
        }
    }
    let mut people = Vec::new();
    for i in 0..args.members {
        let section = &sections[i % sections.len()];
        let id = members::insert(
            &mut tx,
            members::NewMember {
                staff_no: &format!("b{i:05}"),
                name: &format!("成员{i}"),
                section_id: Some(section),
                role: biwu::domain::Role::Member,
                password_hash: None,
                must_change_password: true,
            },
        )
        .await?;
        // Diligence 0 (a tenth never practise) to 1, accuracy 0.5 to 0.95.
        let diligence = if i % 10 == 0 {
            0.0
        } else {
            rng.random_range(0.2..1.0)
        };
        people.push((id, diligence, rng.random_range(0.5..0.95)));
    }
    tx.commit().await?;
    println!(
        "organisation: {} departments, {} sections, {} members",
        args.departments,
        sections.len(),
        people.len()
    );

    // Drills: spread over 730 days in proportion to each member's diligence.
    let drills_total = args.answers / 10;
    let weight: f64 = people.iter().map(|p| p.1).sum();
    let now = now_ms();
    let day = 24 * 3600 * 1000;
    let backend = db.backend;
    let mut answers_written = 0usize;
    let mut batch_drills: Vec<(String, String, i64)> = Vec::new();
    let mut batch_answers: Vec<(String, i64, String, String, String, i64, i64)> = Vec::new();
    let mut conn = db.pool.acquire().await?;
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    for (member, diligence, accuracy) in &people {
        let n = (drills_total as f64 * diligence / weight).round() as usize;
        for _ in 0..n {
            let start = now - rng.random_range(1..730) * day + rng.random_range(0..day);
            let drill = new_id();
            batch_drills.push((drill.clone(), member.clone(), start));
            for (pos, q) in pool.sample(&mut rng, 10).enumerate() {
                batch_answers.push((
                    drill.clone(),
                    pos as i64,
                    member.clone(),
                    q.question.id.clone(),
                    q.version.clone(),
                    (rng.random::<f64>() < *accuracy) as i64,
                    start + (pos as i64 + 1) * 30_000,
                ));
            }
            if batch_answers.len() >= 6400 {
                answers_written +=
                    flush(&mut tx, backend, &mut batch_drills, &mut batch_answers).await?;
                if answers_written % 500_000 < 6400 {
                    tx.commit().await?;
                    tx = sqlx::Connection::begin(&mut *conn).await?;
                    println!(
                        "  {answers_written} answers ({:.0} s)",
                        started.elapsed().as_secs_f64()
                    );
                }
            }
        }
    }
    answers_written += flush(&mut tx, backend, &mut batch_drills, &mut batch_answers).await?;
    tx.commit().await?;
    drop(conn);
    println!("answers: {answers_written}");

    // Notebooks: 150 entries a member who practises, a third of them mastered.
    let mut conn = db.pool.acquire().await?;
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let mut rows: Vec<(String, String, Option<i64>)> = Vec::new();
    for (member, diligence, _) in &people {
        if *diligence == 0.0 {
            continue;
        }
        for q in pool.sample(&mut rng, 150) {
            rows.push((
                member.clone(),
                q.question.id.clone(),
                rng.random_bool(0.33).then_some(now),
            ));
        }
    }
    let schedule =
        serde_json::to_string(&biwu::domain::drill::Entry::new(chrono::Utc::now()).schedule)?;
    for chunk in rows.chunks(100) {
        let sql = format!(
            "INSERT INTO notebook (member_id, question_id, origin, added_at, due_at, right_streak, schedule, mastered_at) VALUES {}",
            params(backend, 1, chunk.len(), 8)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (m, qid, mastered) in chunk {
            q = q
                .bind(m)
                .bind(qid)
                .bind("drill")
                .bind(now)
                .bind(now)
                .bind(0i64)
                .bind(&schedule)
                .bind(*mastered);
        }
        q.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    drop(conn);
    progress::rebuild_days(db).await?;
    println!("generated in {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

type AnswerRow = (String, i64, String, String, String, i64, i64);

async fn flush(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    drills: &mut Vec<(String, String, i64)>,
    answers: &mut Vec<AnswerRow>,
) -> anyhow::Result<usize> {
    for chunk in drills.chunks(100) {
        let sql = format!(
            "INSERT INTO drills (id, member_id, mode, settings, seed, question_count, started_at, finished_at) VALUES {}",
            params(backend, 1, chunk.len(), 8)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (id, m, start) in chunk {
            q = q
                .bind(id)
                .bind(m)
                .bind("topics")
                .bind("{}")
                .bind(0i64)
                .bind(10i64)
                .bind(*start)
                .bind(start + 300_000);
        }
        q.execute(&mut *conn).await?;
    }
    for chunk in answers.chunks(100) {
        let sql = format!(
            "INSERT INTO drill_answers (drill_id, position, member_id, question_id, question_version, response, correct, timed_out, elapsed_ms, answered_at) VALUES {}",
            params(backend, 1, chunk.len(), 10)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (d, pos, m, qid, v, correct, at) in chunk {
            q = q
                .bind(d)
                .bind(*pos)
                .bind(m)
                .bind(qid)
                .bind(v)
                .bind("null")
                .bind(*correct)
                .bind(0i64)
                .bind(20_000i64)
                .bind(*at);
        }
        q.execute(&mut *conn).await?;
    }
    let n = answers.len();
    drills.clear();
    answers.clear();
    Ok(n)
}

/// Drill answers at `rate` per second through `records::drills::apply`, in batches every
/// 20 ms as the drill engine's writer commits them, on a connection of its own.
async fn answers_arriving(
    db: Db,
    rate: f64,
    stop: Arc<AtomicBool>,
    written: Arc<AtomicU64>,
) -> anyhow::Result<()> {
    let members: Vec<String> = sqlx::query_scalar("SELECT id FROM members ORDER BY staff_no")
        .fetch_all(&db.pool)
        .await?;
    let pool = questions::list_active(&db, None).await?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut conn = db.pool.acquire().await?;
    let per_tick = rate / 50.0;
    let mut owed = 0.0;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        owed += per_tick;
        let mut writes = Vec::new();
        while owed >= 1.0 {
            owed -= 1.0;
            let member = members.choose(&mut rng).unwrap().clone();
            let q = pool.choose(&mut rng).unwrap();
            let drill = new_id();
            sqlx::query("INSERT INTO drills (id, member_id, mode, settings, seed, question_count, started_at) VALUES ($1, $2, 'topics', '{}', 0, 1, $3)")
                .bind(&drill)
                .bind(&member)
                .bind(now_ms())
                .execute(&mut *conn)
                .await?;
            writes.push(Write::Answer(NewAnswer {
                drill_id: drill,
                member_id: member,
                position: 0,
                question_id: q.question.id.clone(),
                question_version: q.version.clone(),
                response: "null".into(),
                correct: rng.random_bool(0.7),
                timed_out: false,
                elapsed_ms: 10_000,
                answered_at: now_ms(),
                finishes: false,
            }));
        }
        if !writes.is_empty() {
            apply(&mut conn, &writes).await?;
            written.fetch_add(writes.len() as u64, Ordering::Relaxed);
        }
    }
    Ok(())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

async fn measure(db: &Db, args: &Args) -> anyhow::Result<()> {
    let answers: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM drill_answers")
        .fetch_one(&db.pool)
        .await?;
    let sections: Vec<Section> = members::sections(db).await?;
    println!(
        "{} on {}: {} sections, {} drill answers",
        args.database_url,
        db.backend.name(),
        sections.len(),
        answers
    );
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let writer = (args.rate > 0.0).then(|| {
        tokio::spawn(answers_arriving(
            db.clone(),
            args.rate,
            stop.clone(),
            written.clone(),
        ))
    });
    let clock = Instant::now();
    let viewer = Viewer::everything();
    let averages = section::Averages::default();
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let today = calendar::day_of(now_ms());
    println!(
        "\nsection page data (section::report), {} reads per period:",
        args.reads
    );
    println!("  period      p50 ms   p99 ms   max ms");
    for period in [Period::Week, Period::Month, Period::Quarter] {
        let mut times = Vec::new();
        for _ in 0..args.reads {
            let s = sections.choose(&mut rng).unwrap();
            let t = Instant::now();
            let r = section::report(db, &averages, &viewer, s, period).await?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            assert!(r["members"].as_array().is_some_and(|m| !m.is_empty()));
        }
        times.sort_by(f64::total_cmp);
        println!(
            "  {:<10} {:>7.1} {:>8.1} {:>8.1}",
            period.key(),
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            times.last().copied().unwrap_or(0.0)
        );
    }
    println!(
        "\nagency workbook (section::workbook::build), {} builds per period:",
        args.workbooks
    );
    println!("  period      median s   max s   bytes");
    let name = biwu::records::settings::agency_name(db).await?;
    for period in [Period::Week, Period::Month] {
        let mut times = Vec::new();
        let mut size = 0;
        for _ in 0..args.workbooks {
            let t = Instant::now();
            let bytes = workbook::build(
                db,
                workbook::Subject {
                    scope: Scope::Agency,
                    sections: sections.clone(),
                    name: name.clone(),
                },
                period.span(today),
            )
            .await?;
            times.push(t.elapsed().as_secs_f64());
            size = bytes.len();
        }
        times.sort_by(f64::total_cmp);
        println!(
            "  {:<10} {:>9.2} {:>7.2} {:>7}",
            period.key(),
            percentile(&times, 0.5),
            times.last().copied().unwrap_or(0.0),
            size
        );
    }
    stop.store(true, Ordering::Relaxed);
    if let Some(w) = writer {
        w.await??;
    }
    let secs = clock.elapsed().as_secs_f64();
    println!(
        "\ndrill answers committed meanwhile: {} in {:.1} s ({:.0}/s)",
        written.load(Ordering::Relaxed),
        secs,
        written.load(Ordering::Relaxed) as f64 / secs
    );
    Ok(())
}
