//! Drills, their answers, the notebook, and the aggregates members and section heads read.

use super::{Db, new_id, now_ms};
use crate::domain::drill::{Entry, NotebookChange, Schedule};
use chrono::{DateTime, TimeZone, Utc};
use sqlx::AnyConnection;

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct Drill {
    pub id: String,
    pub member_id: String,
    pub mode: String,
    pub settings: String,
    pub seed: i64,
    pub question_count: i64,
    pub time_limit_ms: Option<i64>,
    pub started_at: i64,
    pub finished_at: Option<i64>,
}

pub async fn create(
    db: &Db,
    member_id: &str,
    mode: &str,
    settings: &str,
    seed: i64,
    time_limit_ms: Option<i64>,
    items: &[(String, String)],
) -> anyhow::Result<String> {
    let id = new_id();
    let now = now_ms();
    let mut tx = db.pool.begin().await?;
    sqlx::query(
        "INSERT INTO drills (id, member_id, mode, settings, seed, question_count, time_limit_ms, started_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&id)
    .bind(member_id)
    .bind(mode)
    .bind(settings)
    .bind(seed)
    .bind(items.len() as i64)
    .bind(time_limit_ms)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    for (i, (qid, version)) in items.iter().enumerate() {
        sqlx::query(
            "INSERT INTO drill_items (drill_id, position, question_id, question_version) VALUES ($1, $2, $3, $4)",
        )
        .bind(&id)
        .bind(i as i64)
        .bind(qid)
        .bind(version)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(id)
}

pub async fn get(db: &Db, id: &str) -> anyhow::Result<Option<Drill>> {
    Ok(sqlx::query_as::<_, Drill>(
        "SELECT id, member_id, mode, settings, seed, question_count, time_limit_ms, started_at, finished_at FROM drills WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&db.pool)
    .await?)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Item {
    pub position: i64,
    pub question_id: String,
    pub question_version: String,
    pub body: String,
    pub shown_at: Option<i64>,
}

pub async fn items(db: &Db, drill_id: &str) -> anyhow::Result<Vec<Item>> {
    Ok(sqlx::query_as::<_, Item>(
        "SELECT i.position, i.question_id, i.question_version, v.body, i.shown_at FROM drill_items i \
         JOIN question_versions v ON v.version = i.question_version WHERE i.drill_id = $1 ORDER BY i.position",
    )
    .bind(drill_id)
    .fetch_all(&db.pool)
    .await?)
}

/// The first unanswered item of a drill (answers come in order), in one statement.
pub async fn current_item(db: &Db, drill_id: &str) -> anyhow::Result<Option<Item>> {
    Ok(sqlx::query_as::<_, Item>(
        "SELECT i.position, i.question_id, i.question_version, v.body, i.shown_at FROM drill_items i \
         JOIN question_versions v ON v.version = i.question_version WHERE i.drill_id = $1 \
         AND i.position = (SELECT COUNT(*) FROM drill_answers a WHERE a.drill_id = $1)",
    )
    .bind(drill_id)
    .fetch_optional(&db.pool)
    .await?)
}

/// Starts a question's clock, once.
pub async fn mark_shown(db: &Db, drill_id: &str, position: i64, at: i64) -> anyhow::Result<i64> {
    sqlx::query("UPDATE drill_items SET shown_at = $1 WHERE drill_id = $2 AND position = $3 AND shown_at IS NULL")
        .bind(at)
        .bind(drill_id)
        .bind(position)
        .execute(&db.pool)
        .await?;
    Ok(
        sqlx::query_scalar(
            "SELECT shown_at FROM drill_items WHERE drill_id = $1 AND position = $2",
        )
        .bind(drill_id)
        .bind(position)
        .fetch_one(&db.pool)
        .await?,
    )
}

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct AnswerRow {
    pub position: i64,
    pub question_id: String,
    pub response: String,
    pub correct: i64,
    pub timed_out: i64,
    pub elapsed_ms: i64,
    pub answered_at: i64,
}

pub async fn answers(db: &Db, drill_id: &str) -> anyhow::Result<Vec<AnswerRow>> {
    Ok(sqlx::query_as::<_, AnswerRow>(
        "SELECT position, question_id, response, correct, timed_out, elapsed_ms, answered_at FROM drill_answers \
         WHERE drill_id = $1 ORDER BY position",
    )
    .bind(drill_id)
    .fetch_all(&db.pool)
    .await?)
}

pub struct NewAnswer<'a> {
    pub drill_id: &'a str,
    pub member_id: &'a str,
    pub position: i64,
    pub question_id: &'a str,
    pub question_version: &'a str,
    pub response: String,
    pub correct: bool,
    pub timed_out: bool,
    pub elapsed_ms: i64,
    pub finishes: bool,
}

/// Records a drill answer and its notebook effect in one transaction. `Ok(None)` when that
/// position was answered meanwhile (a double submit): nothing changes.
pub async fn record_answer(
    db: &Db,
    a: NewAnswer<'_>,
) -> anyhow::Result<Option<Option<NotebookChange>>> {
    let now = now_ms();
    let mut tx = db.pool.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO drill_answers (drill_id, position, member_id, question_id, question_version, response, correct, timed_out, elapsed_ms, answered_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (drill_id, position) DO NOTHING",
    )
    .bind(a.drill_id)
    .bind(a.position)
    .bind(a.member_id)
    .bind(a.question_id)
    .bind(a.question_version)
    .bind(&a.response)
    .bind(a.correct as i64)
    .bind(a.timed_out as i64)
    .bind(a.elapsed_ms)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Ok(None);
    }
    let change =
        notebook_review(&mut tx, a.member_id, a.question_id, a.correct, "drill", now).await?;
    if a.finishes {
        sqlx::query("UPDATE drills SET finished_at = $1 WHERE id = $2 AND finished_at IS NULL")
            .bind(now)
            .bind(a.drill_id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(Some(change))
}

pub async fn finish(db: &Db, drill_id: &str) -> anyhow::Result<()> {
    sqlx::query("UPDATE drills SET finished_at = $1 WHERE id = $2 AND finished_at IS NULL")
        .bind(now_ms())
        .bind(drill_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

fn to_utc(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// Applies one answer to the member's notebook: a wrong answer adds the question (or resets
/// its streak), a right one counts as a review of an entry that exists. Returns the change.
pub async fn notebook_review(
    conn: &mut AnyConnection,
    member_id: &str,
    question_id: &str,
    right: bool,
    origin: &str,
    now: i64,
) -> anyhow::Result<Option<NotebookChange>> {
    let row: Option<(String, i64, Option<i64>, i64)> = sqlx::query_as(
        "SELECT schedule, right_streak, mastered_at, due_at FROM notebook WHERE member_id = $1 AND question_id = $2",
    )
    .bind(member_id)
    .bind(question_id)
    .fetch_optional(&mut *conn)
    .await?;
    let (entry, change) = match row {
        None if right => return Ok(None),
        None => (Entry::new(to_utc(now)), NotebookChange::Added),
        Some((schedule, streak, mastered, due)) => {
            let schedule: Schedule = serde_json::from_str(&schedule)?;
            let mut e = Entry {
                schedule,
                due_at: to_utc(due),
                right_streak: streak,
                mastered: mastered.is_some(),
            };
            if e.mastered && right {
                return Ok(None);
            }
            let c = e.review(right, to_utc(now));
            (e, c)
        }
    };
    sqlx::query(
        "INSERT INTO notebook (member_id, question_id, origin, added_at, due_at, right_streak, schedule, mastered_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (member_id, question_id) DO UPDATE SET due_at = $5, right_streak = $6, schedule = $7, mastered_at = $8",
    )
    .bind(member_id)
    .bind(question_id)
    .bind(origin)
    .bind(now)
    .bind(entry.due_at.timestamp_millis())
    .bind(entry.right_streak)
    .bind(serde_json::to_string(&entry.schedule)?)
    .bind(entry.mastered.then_some(now))
    .execute(conn)
    .await?;
    Ok(Some(change))
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NotebookRow {
    pub question_id: String,
    pub origin: String,
    pub added_at: i64,
    pub due_at: i64,
    pub right_streak: i64,
    pub mastered_at: Option<i64>,
    pub body: String,
}

pub async fn notebook(db: &Db, member_id: &str) -> anyhow::Result<Vec<NotebookRow>> {
    Ok(sqlx::query_as::<_, NotebookRow>(
        "SELECT n.question_id, n.origin, n.added_at, n.due_at, n.right_streak, n.mastered_at, v.body \
         FROM notebook n JOIN questions q ON q.id = n.question_id JOIN question_versions v ON v.version = q.current_version \
         WHERE n.member_id = $1 AND q.retired_at IS NULL ORDER BY n.due_at",
    )
    .bind(member_id)
    .fetch_all(&db.pool)
    .await?)
}

/// (question_id, topic, tags JSON, correct) of every drill answer of a member: the input of
/// accuracy per topic and tag.
pub async fn answered_topics(
    db: &Db,
    member_id: &str,
) -> anyhow::Result<Vec<(String, String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT a.question_id, q.topic, a.correct FROM drill_answers a JOIN questions q ON q.id = a.question_id \
         WHERE a.member_id = $1",
    )
    .bind(member_id)
    .fetch_all(&db.pool)
    .await?)
}

pub async fn tags_of_answered(db: &Db, member_id: &str) -> anyhow::Result<Vec<(String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT t.tag, a.correct FROM drill_answers a JOIN question_tags t ON t.question_id = a.question_id \
         WHERE a.member_id = $1",
    )
    .bind(member_id)
    .fetch_all(&db.pool)
    .await?)
}

/// Questions in the member's last `n` drills.
pub async fn recent_questions(db: &Db, member_id: &str, n: i64) -> anyhow::Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT i.question_id FROM drill_items i WHERE i.drill_id IN \
         (SELECT id FROM drills WHERE member_id = $1 ORDER BY started_at DESC LIMIT $2)",
    )
    .bind(member_id)
    .bind(n)
    .fetch_all(&db.pool)
    .await?)
}

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct Listed {
    pub id: String,
    pub mode: String,
    pub count: i64,
    pub answered: i64,
    pub correct: i64,
    pub started_at: i64,
    pub finished_at: Option<i64>,
}

pub async fn list(db: &Db, member_id: &str, limit: i64) -> anyhow::Result<Vec<Listed>> {
    Ok(sqlx::query_as::<_, Listed>(
        "SELECT d.id, d.mode, d.question_count AS count, \
         (SELECT COUNT(*) FROM drill_answers a WHERE a.drill_id = d.id) AS answered, \
         (SELECT COALESCE(SUM(a.correct), 0) FROM drill_answers a WHERE a.drill_id = d.id) AS correct, \
         d.started_at, d.finished_at FROM drills d WHERE d.member_id = $1 ORDER BY d.started_at DESC LIMIT $2",
    )
    .bind(member_id)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?)
}

/// Milliseconds of UTC+8, the users' day boundary.
pub const DAY_OFFSET_MS: i64 = 8 * 3600 * 1000;
pub const DAY_MS: i64 = 24 * 3600 * 1000;

/// Right answers per (member, day) in `[from, to)`; day = days since the epoch in UTC+8.
/// Two statements rather than one with `($5 = '' OR member_id = $5)`: SQLite cannot use the
/// (member, time) index through such an OR, and this runs on every drill answer.
pub async fn right_per_day(
    db: &Db,
    from: i64,
    to: i64,
    member: Option<&str>,
) -> anyhow::Result<Vec<(String, i64, i64)>> {
    const ALL: &str = "SELECT member_id, (answered_at + $1) / $2 AS day, CAST(SUM(correct) AS BIGINT) AS right_answers \
         FROM drill_answers WHERE answered_at >= $3 AND answered_at < $4 GROUP BY member_id, (answered_at + $1) / $2";
    const ONE: &str = "SELECT member_id, (answered_at + $1) / $2 AS day, CAST(SUM(correct) AS BIGINT) AS right_answers \
         FROM drill_answers WHERE member_id = $5 AND answered_at >= $3 AND answered_at < $4 GROUP BY member_id, (answered_at + $1) / $2";
    let q = sqlx::query_as(if member.is_some() { ONE } else { ALL })
        .bind(DAY_OFFSET_MS)
        .bind(DAY_MS)
        .bind(from)
        .bind(to);
    let q = match member {
        Some(m) => q.bind(m.to_string()),
        None => q,
    };
    Ok(q.fetch_all(&db.pool).await?)
}

/// Days (UTC+8) on which the member answered drill questions, newest first.
pub async fn practice_days(db: &Db, member_id: &str) -> anyhow::Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT (answered_at + $1) / $2 AS day FROM drill_answers WHERE member_id = $3 ORDER BY day DESC",
    )
    .bind(DAY_OFFSET_MS)
    .bind(DAY_MS)
    .bind(member_id)
    .fetch_all(&db.pool)
    .await?)
}

pub async fn drills_since(db: &Db, member_id: &str, since: i64) -> anyhow::Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM drills WHERE member_id = $1 AND started_at >= $2")
            .bind(member_id)
            .bind(since)
            .fetch_one(&db.pool)
            .await?,
    )
}
