//! Drills, their answers, the notebook, and the aggregates members and section heads read.

use super::{Db, new_id, now_ms, pow2_chunks};
use crate::domain::drill::{Entry, NotebookChange, Schedule};
use chrono::{DateTime, TimeZone, Utc};
use sqlx::{AnyConnection, AssertSqlSafe};
use std::collections::{HashMap, HashSet};

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

/// A drill to store: who, how it was drawn, its questions `(id, version)` in order, and the
/// task it is taken for, if any.
pub struct NewDrill<'a> {
    pub member_id: &'a str,
    pub mode: &'a str,
    pub settings: &'a str,
    pub seed: i64,
    pub time_limit_ms: Option<i64>,
    pub items: &'a [(String, String)],
    pub task_id: Option<&'a str>,
}

pub async fn create(db: &Db, d: NewDrill<'_>) -> anyhow::Result<String> {
    let NewDrill {
        member_id,
        mode,
        settings,
        seed,
        time_limit_ms,
        items,
        task_id,
    } = d;
    let id = new_id();
    let now = now_ms();
    let mut tx = db.pool.begin().await?;
    sqlx::query(
        "INSERT INTO drills (id, member_id, mode, settings, seed, question_count, time_limit_ms, started_at, task_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&id)
    .bind(member_id)
    .bind(mode)
    .bind(settings)
    .bind(seed)
    .bind(items.len() as i64)
    .bind(time_limit_ms)
    .bind(now)
    .bind(task_id)
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

fn to_utc(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// One notebook entry as stored: its schedule plus where and when it came from.
#[derive(Debug, Clone)]
struct Stored {
    entry: Entry,
    origin: String,
    added_at: i64,
}

/// The effect of one answer on a notebook entry: a wrong answer adds the question (or resets
/// its streak), a right one counts as a review of an entry that exists; a right answer to a
/// question not in the notebook, or already mastered, changes nothing (`None`).
fn review(
    existing: Option<&Stored>,
    right: bool,
    origin: &str,
    now: i64,
) -> Option<(Stored, NotebookChange)> {
    match existing {
        None if right => None,
        None => Some((
            Stored {
                entry: Entry::new(to_utc(now)),
                origin: origin.to_string(),
                added_at: now,
            },
            NotebookChange::Added,
        )),
        Some(s) if s.entry.mastered && right => None,
        Some(s) => {
            let mut next = s.clone();
            let change = next.entry.review(right, to_utc(now));
            Some((next, change))
        }
    }
}

type StoredRow = (String, String, String, i64, String, i64, Option<i64>, i64);

fn stored_of(row: StoredRow) -> anyhow::Result<((String, String), Stored)> {
    let (member, question, origin, added_at, schedule, streak, mastered, due) = row;
    let schedule: Schedule = serde_json::from_str(&schedule)?;
    Ok((
        (member, question),
        Stored {
            entry: Entry {
                schedule,
                due_at: to_utc(due),
                right_streak: streak,
                mastered: mastered.is_some(),
            },
            origin,
            added_at,
        },
    ))
}

const STORED_COLUMNS: &str =
    "member_id, question_id, origin, added_at, schedule, right_streak, mastered_at, due_at";

/// Writes notebook entries (one statement per 100): new ones are inserted, existing ones get
/// their schedule, streak and mastery replaced.
async fn upsert_entries(
    conn: &mut AnyConnection,
    entries: &[(&(String, String), &Stored)],
    now: i64,
) -> anyhow::Result<()> {
    for chunk in pow2_chunks(entries, 64) {
        let sql = format!(
            "INSERT INTO notebook (member_id, question_id, origin, added_at, due_at, right_streak, schedule, mastered_at) \
             VALUES {} ON CONFLICT (member_id, question_id) DO UPDATE SET due_at = excluded.due_at, \
             right_streak = excluded.right_streak, schedule = excluded.schedule, mastered_at = excluded.mastered_at",
            super::placeholders(super::Backend::of(conn), chunk.len(), 8)
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for ((member, question), s) in chunk {
            q = q
                .bind(member.as_str())
                .bind(question.as_str())
                .bind(s.origin.as_str())
                .bind(s.added_at)
                .bind(s.entry.due_at.timestamp_millis())
                .bind(s.entry.right_streak)
                .bind(serde_json::to_string(&s.entry.schedule)?)
                .bind(s.entry.mastered.then_some(now));
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Applies one answer to the member's notebook (see [`review`]) and returns the change.
/// Live competitions and the demo history use it; drills go through [`apply`].
pub async fn notebook_review(
    conn: &mut AnyConnection,
    member_id: &str,
    question_id: &str,
    right: bool,
    origin: &str,
    now: i64,
) -> anyhow::Result<Option<NotebookChange>> {
    let row: Option<StoredRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {STORED_COLUMNS} FROM notebook WHERE member_id = $1 AND question_id = $2"
    )))
    .bind(member_id)
    .bind(question_id)
    .fetch_optional(&mut *conn)
    .await?;
    let existing = row.map(stored_of).transpose()?;
    let Some((next, change)) = review(existing.as_ref().map(|(_, s)| s), right, origin, now) else {
        return Ok(None);
    };
    let key = (member_id.to_string(), question_id.to_string());
    upsert_entries(conn, &[(&key, &next)], now).await?;
    Ok(Some(change))
}

/// Applies a member's answers to their notebook in one transaction: the entries read in one
/// statement, the changes written in a few (an exam's paper at its submission). Answers to one
/// question apply in order. Returns how many entries changed.
pub async fn notebook_reviews(
    db: &Db,
    member_id: &str,
    answers: &[(String, bool)],
    origin: &str,
    now: i64,
) -> anyhow::Result<usize> {
    if answers.is_empty() {
        return Ok(0);
    }
    let mut conn = db.pool.acquire().await?;
    let backend = super::Backend::of(&conn);
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let questions = padded(unique(answers.iter().map(|(q, _)| q.as_str())));
    let sql = format!(
        "SELECT {STORED_COLUMNS} FROM notebook WHERE member_id = $1 AND question_id IN ({})",
        super::params(backend, 2, questions.len()),
    );
    let mut q = sqlx::query_as::<_, StoredRow>(AssertSqlSafe(sql)).bind(member_id);
    for qid in &questions {
        q = q.bind(*qid);
    }
    let mut book: HashMap<(String, String), Stored> = HashMap::new();
    for row in q.fetch_all(&mut *tx).await? {
        let (key, s) = stored_of(row)?;
        book.insert(key, s);
    }
    let mut dirty: Vec<(String, String)> = Vec::new();
    for (question, right) in answers {
        let key = (member_id.to_string(), question.clone());
        if let Some((next, _)) = review(book.get(&key), *right, origin, now) {
            book.insert(key.clone(), next);
            if !dirty.contains(&key) {
                dirty.push(key);
            }
        }
    }
    let entries: Vec<(&(String, String), &Stored)> = dirty
        .iter()
        .filter_map(|k| book.get(k).map(|s| (k, s)))
        .collect();
    upsert_entries(&mut tx, &entries, now).await?;
    tx.commit().await?;
    Ok(dirty.len())
}

/// One write of the drill engine, applied with others in one transaction by [`apply`].
#[derive(Debug, Clone)]
pub enum Write {
    /// An answer (or a time-out: `response` is `"null"`), with its notebook effect; `finishes`
    /// closes the drill.
    Answer(NewAnswer),
    /// A question was served: its clock starts now, unless it had started already.
    Shown {
        drill_id: String,
        position: i64,
        question_id: String,
        question_version: String,
        at: i64,
    },
    /// The member ended the drill (or it ran out of questions).
    Finish { drill_id: String, at: i64 },
}

#[derive(Debug, Clone)]
pub struct NewAnswer {
    pub drill_id: String,
    pub member_id: String,
    pub position: i64,
    pub question_id: String,
    pub question_version: String,
    pub response: String,
    pub correct: bool,
    pub timed_out: bool,
    pub elapsed_ms: i64,
    pub answered_at: i64,
    pub finishes: bool,
}

/// What a [`Write`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The answer is stored, with its effect on the notebook.
    Answered(Option<NotebookChange>),
    /// That position was answered already (by another request or another instance):
    /// nothing changed.
    Duplicate,
    /// The question's clock: when it was first shown.
    Shown(i64),
    Finished,
}

/// Applies writes in one transaction, in a handful of statements whatever their number:
/// the answers in multi-row inserts that skip positions answered already, the notebook read
/// once and written once, clocks and finishes in one statement each. Answers to the same
/// notebook entry are applied in order. All or nothing: on error no write took effect.
///
/// The caller gives the connection: the drill writer keeps one, so the statements it prepares
/// stay prepared.
pub async fn apply(conn: &mut AnyConnection, writes: &[Write]) -> anyhow::Result<Vec<Outcome>> {
    let backend = super::Backend::of(conn);
    let mut tx = sqlx::Connection::begin(conn).await?;
    let mut outcomes: Vec<Option<Outcome>> = vec![None; writes.len()];

    // Answers: inserted unless their position is taken; RETURNING says which went in.
    let answers: Vec<(usize, &NewAnswer)> = writes
        .iter()
        .enumerate()
        .filter_map(|(i, w)| match w {
            Write::Answer(a) => Some((i, a)),
            _ => None,
        })
        .collect();
    let mut inserted: HashSet<(String, i64)> = HashSet::new();
    for chunk in pow2_chunks(&answers, 64) {
        let sql = format!(
            "INSERT INTO drill_answers (drill_id, position, member_id, question_id, question_version, response, correct, timed_out, elapsed_ms, answered_at) \
             VALUES {} ON CONFLICT (drill_id, position) DO NOTHING RETURNING drill_id, position",
            super::placeholders(backend, chunk.len(), 10)
        );
        let mut q = sqlx::query_as::<_, (String, i64)>(AssertSqlSafe(sql));
        for (_, a) in chunk {
            q = q
                .bind(a.drill_id.as_str())
                .bind(a.position)
                .bind(a.member_id.as_str())
                .bind(a.question_id.as_str())
                .bind(a.question_version.as_str())
                .bind(a.response.as_str())
                .bind(a.correct as i64)
                .bind(a.timed_out as i64)
                .bind(a.elapsed_ms)
                .bind(a.answered_at);
        }
        inserted.extend(q.fetch_all(&mut *tx).await?);
    }
    // The same position twice in one batch: the insert kept the first, the rest are duplicates.
    let mut first: HashSet<(&str, i64)> = HashSet::new();
    let stored: Vec<(usize, &NewAnswer)> = answers
        .into_iter()
        .filter(|(i, a)| {
            let went_in = inserted.contains(&(a.drill_id.clone(), a.position))
                && first.insert((a.drill_id.as_str(), a.position));
            if !went_in {
                outcomes[*i] = Some(Outcome::Duplicate);
            }
            went_in
        })
        .collect();

    // The daily rollup, in this transaction: it counts exactly the answers that went in, each
    // on its own day, however late it arrives.
    let mut days: std::collections::BTreeMap<(&str, i64), super::progress::DayRow> =
        Default::default();
    for (_, a) in &stored {
        let day = crate::domain::calendar::day_of(a.answered_at);
        let e = days.entry((a.member_id.as_str(), day)).or_default();
        e.drills += (a.position == 0) as i64;
        e.answers += 1;
        e.correct += a.correct as i64;
    }
    let days: Vec<super::progress::DayRow> = days
        .into_iter()
        .map(|((m, day), r)| super::progress::DayRow {
            member_id: m.to_string(),
            day,
            ..r
        })
        .collect();
    super::progress::add_days(&mut tx, &days).await?;

    // The notebook: the entries these answers touch, read in one statement.
    let mut book: HashMap<(String, String), Stored> = HashMap::new();
    if !stored.is_empty() {
        let members = padded(unique(stored.iter().map(|(_, a)| a.member_id.as_str())));
        let questions = padded(unique(stored.iter().map(|(_, a)| a.question_id.as_str())));
        let sql = format!(
            "SELECT {STORED_COLUMNS} FROM notebook WHERE member_id IN ({}) AND question_id IN ({})",
            super::params(backend, 1, members.len()),
            super::params(backend, members.len() + 1, questions.len()),
        );
        let mut q = sqlx::query_as::<_, StoredRow>(AssertSqlSafe(sql));
        for m in &members {
            q = q.bind(*m);
        }
        for qid in &questions {
            q = q.bind(*qid);
        }
        for row in q.fetch_all(&mut *tx).await? {
            let (key, s) = stored_of(row)?;
            book.insert(key, s);
        }
    }
    let mut dirty: Vec<(String, String)> = Vec::new();
    for (i, a) in &stored {
        let key = (a.member_id.clone(), a.question_id.clone());
        let change = match review(book.get(&key), a.correct, "drill", a.answered_at) {
            Some((next, change)) => {
                book.insert(key.clone(), next);
                if !dirty.contains(&key) {
                    dirty.push(key);
                }
                Some(change)
            }
            None => None,
        };
        outcomes[*i] = Some(Outcome::Answered(change));
    }
    let now = now_ms();
    let entries: Vec<(&(String, String), &Stored)> = dirty
        .iter()
        .filter_map(|k| book.get(k).map(|s| (k, s)))
        .collect();
    upsert_entries(&mut tx, &entries, now).await?;

    // Clocks: set where not set yet; RETURNING gives the one that holds.
    let shown: Vec<(usize, &str, i64, &str, &str, i64)> = writes
        .iter()
        .enumerate()
        .filter_map(|(i, w)| match w {
            Write::Shown {
                drill_id,
                position,
                question_id,
                question_version,
                at,
            } => Some((
                i,
                drill_id.as_str(),
                *position,
                question_id.as_str(),
                question_version.as_str(),
                *at,
            )),
            _ => None,
        })
        .collect();
    let mut clocks: HashMap<(String, i64), i64> = HashMap::new();
    // One row per item: an upsert may not touch a row twice in one statement.
    let mut once = HashSet::new();
    let distinct: Vec<_> = shown.iter().filter(|s| once.insert((s.1, s.2))).collect();
    for chunk in pow2_chunks(&distinct, 64) {
        let sql = format!(
            "INSERT INTO drill_items (drill_id, position, question_id, question_version, shown_at) VALUES {} \
             ON CONFLICT (drill_id, position) DO UPDATE SET shown_at = COALESCE(drill_items.shown_at, excluded.shown_at) \
             RETURNING drill_id, position, shown_at",
            super::placeholders(backend, chunk.len(), 5)
        );
        let mut q = sqlx::query_as::<_, (String, i64, i64)>(AssertSqlSafe(sql));
        for (_, d, p, qid, v, at) in chunk {
            q = q.bind(*d).bind(*p).bind(*qid).bind(*v).bind(*at);
        }
        for (d, p, at) in q.fetch_all(&mut *tx).await? {
            clocks.insert((d, p), at);
        }
    }
    for (i, d, p, _, _, at) in &shown {
        let held = clocks.get(&(d.to_string(), *p)).copied().unwrap_or(*at);
        outcomes[*i] = Some(Outcome::Shown(held));
    }

    // Finishes: the last answer of a drill, or the member's own end.
    let finishing: Vec<(usize, &str, i64)> = writes
        .iter()
        .enumerate()
        .filter_map(|(i, w)| match w {
            Write::Finish { drill_id, at } => Some((i, drill_id.as_str(), *at)),
            Write::Answer(a) if a.finishes && matches!(outcomes[i], Some(Outcome::Answered(_))) => {
                Some((i, a.drill_id.as_str(), a.answered_at))
            }
            _ => None,
        })
        .collect();
    for chunk in finishing.chunks(128) {
        let ids = padded(chunk.iter().map(|(_, d, _)| *d).collect());
        let sql = format!(
            "UPDATE drills SET finished_at = {} WHERE finished_at IS NULL AND id IN ({})",
            super::params(backend, 1, 1),
            super::params(backend, 2, ids.len()),
        );
        let at = chunk.iter().map(|(_, _, at)| *at).max().unwrap_or(now);
        let mut q = sqlx::query(AssertSqlSafe(sql)).bind(at);
        for d in ids {
            q = q.bind(d);
        }
        q.execute(&mut *tx).await?;
    }
    for (i, _, _) in &finishing {
        if outcomes[*i].is_none() {
            outcomes[*i] = Some(Outcome::Finished);
        }
    }
    tx.commit().await?;
    Ok(outcomes
        .into_iter()
        .map(|o| o.unwrap_or(Outcome::Finished))
        .collect())
}

/// Statements are prepared once per text and kept per connection, so generated statements
/// come in few shapes: rows in chunks of a power of two (13 rows: 8 + 4 + 1, see
/// [`pow2_chunks`]), `IN` lists padded to a power of two by repeating their last value.
fn padded<T: Copy>(mut items: Vec<T>) -> Vec<T> {
    if let Some(&last) = items.last() {
        items.resize(items.len().next_power_of_two(), last);
    }
    items
}

fn unique<'a>(items: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen = HashSet::new();
    items.filter(|s| seen.insert(*s)).collect()
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
         (SELECT CAST(COALESCE(SUM(a.correct), 0) AS BIGINT) FROM drill_answers a WHERE a.drill_id = d.id) AS correct, \
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

/// Drills whose first question was answered since `since`: what the weekly target counts, as
/// the section page counts it (from the daily rollup).
pub async fn drills_since(db: &Db, member_id: &str, since: i64) -> anyhow::Result<i64> {
    let since = crate::domain::calendar::day_of(since);
    Ok(sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(drills), 0) AS BIGINT) FROM drill_days WHERE member_id = $1 AND day >= $2",
    )
    .bind(member_id)
    .bind(since)
    .fetch_one(&db.pool)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::{padded, pow2_chunks};

    #[test]
    fn generated_statements_come_in_few_shapes() {
        let rows: Vec<u32> = (0..100).collect();
        let sizes: Vec<usize> = pow2_chunks(&rows, 64).iter().map(|c| c.len()).collect();
        assert_eq!(sizes, [64, 32, 4]);
        let joined: Vec<u32> = pow2_chunks(&rows, 64).concat();
        assert_eq!(joined, rows, "every row once, in order");
        assert_eq!(
            pow2_chunks(&rows[..13], 64)
                .iter()
                .map(|c| c.len())
                .collect::<Vec<_>>(),
            [8, 4, 1]
        );
        assert!(pow2_chunks::<u32>(&[], 64).is_empty());
        assert_eq!(padded(vec![1, 2, 3]), [1, 2, 3, 3]);
        assert_eq!(padded(vec![1, 2]), [1, 2]);
        assert!(padded(Vec::<u8>::new()).is_empty());
    }
}
