//! Exams in the records: the exam and its paper, attempts (each on its own clock), answers
//! saved as they are given, submission (by the taker, the attempt's clock or the window's
//! close), results and awards.

use super::{Db, new_id, now_ms};
use sqlx::{AnyConnection, AssertSqlSafe};

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct Exam {
    pub id: String,
    pub title: String,
    pub settings: String,
    pub seed: i64,
    pub opens_at: i64,
    pub closes_at: i64,
    pub duration_ms: i64,
    pub max_attempts: i64,
    pub created_by: String,
    pub created_at: i64,
    pub closed_at: Option<i64>,
    pub cancelled_at: Option<i64>,
    pub awards_confirmed: i64,
}

const COLUMNS: &str = "id, title, settings, seed, opens_at, closes_at, duration_ms, max_attempts, \
                       created_by, created_at, closed_at, cancelled_at, awards_confirmed";

pub struct NewExam<'a> {
    pub title: &'a str,
    pub settings: String,
    pub seed: i64,
    pub opens_at: i64,
    pub closes_at: i64,
    pub duration_ms: i64,
    pub max_attempts: i64,
    pub created_by: &'a str,
    /// (question id, version, points), in the paper's order.
    pub questions: Vec<(String, String, i64)>,
}

pub async fn create(db: &Db, e: NewExam<'_>) -> anyhow::Result<String> {
    let id = new_id();
    let mut tx = db.pool.begin().await?;
    sqlx::query(
        "INSERT INTO exams (id, title, settings, seed, opens_at, closes_at, duration_ms, max_attempts, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&id)
    .bind(e.title)
    .bind(&e.settings)
    .bind(e.seed)
    .bind(e.opens_at)
    .bind(e.closes_at)
    .bind(e.duration_ms)
    .bind(e.max_attempts)
    .bind(e.created_by)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    for (position, (qid, version, points)) in e.questions.iter().enumerate() {
        sqlx::query(
            "INSERT INTO exam_questions (exam_id, position, question_id, question_version, points) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&id)
        .bind(position as i64)
        .bind(qid)
        .bind(version)
        .bind(*points)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(id)
}

pub async fn by_id(db: &Db, id: &str) -> anyhow::Result<Option<Exam>> {
    Ok(sqlx::query_as::<_, Exam>(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM exams WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&db.pool)
    .await?)
}

/// Every exam, newest first.
pub async fn list(db: &Db) -> anyhow::Result<Vec<Exam>> {
    Ok(sqlx::query_as::<_, Exam>(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM exams ORDER BY created_at DESC"
    )))
    .fetch_all(&db.pool)
    .await?)
}

/// Exams whose window is open or ahead (not cancelled), soonest closing first.
pub async fn current(db: &Db, now: i64) -> anyhow::Result<Vec<Exam>> {
    Ok(sqlx::query_as::<_, Exam>(AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM exams WHERE closes_at > $1 AND cancelled_at IS NULL ORDER BY closes_at"
    )))
    .bind(now)
    .fetch_all(&db.pool)
    .await?)
}

/// Cancels an exam: its window closes now, and so do the attempts in progress.
pub async fn cancel(db: &Db, id: &str) -> anyhow::Result<bool> {
    let now = now_ms();
    let mut tx = db.pool.begin().await?;
    let r = sqlx::query(
        "UPDATE exams SET cancelled_at = $2, closes_at = CASE WHEN closes_at > $2 THEN $2 ELSE closes_at END \
         WHERE id = $1 AND cancelled_at IS NULL",
    )
    .bind(id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    // Attempts in progress end now too: the clock submits them.
    sqlx::query(
        "UPDATE exam_attempts SET deadline_at = $2 WHERE exam_id = $1 AND submitted_at IS NULL AND deadline_at > $2",
    )
    .bind(id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(r.rows_affected() == 1)
}

/// One question of the paper with the text that is asked.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PaperRow {
    pub position: i64,
    pub question_id: String,
    pub question_version: String,
    pub points: i64,
    pub body: String,
}

pub async fn paper(db: &Db, exam_id: &str) -> anyhow::Result<Vec<PaperRow>> {
    Ok(sqlx::query_as::<_, PaperRow>(
        "SELECT q.position, q.question_id, q.question_version, q.points, v.body \
         FROM exam_questions q JOIN question_versions v ON v.version = q.question_version \
         WHERE q.exam_id = $1 ORDER BY q.position",
    )
    .bind(exam_id)
    .fetch_all(&db.pool)
    .await?)
}

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct Attempt {
    pub id: String,
    pub exam_id: String,
    pub member_id: String,
    pub number: i64,
    pub seed: i64,
    pub started_at: i64,
    pub deadline_at: i64,
    pub last_saved_at: Option<i64>,
    pub leaves: i64,
    pub submitted_at: Option<i64>,
    pub submitted_by: Option<String>,
    pub score: Option<i64>,
    pub correct: Option<i64>,
    pub time_used_ms: Option<i64>,
}

const ATTEMPT_COLUMNS: &str = "id, exam_id, member_id, number, seed, started_at, deadline_at, last_saved_at, \
                               leaves, submitted_at, submitted_by, score, correct, time_used_ms";

pub async fn attempt(db: &Db, id: &str) -> anyhow::Result<Option<Attempt>> {
    Ok(sqlx::query_as::<_, Attempt>(AssertSqlSafe(format!(
        "SELECT {ATTEMPT_COLUMNS} FROM exam_attempts WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&db.pool)
    .await?)
}

/// A member's attempts at an exam, first first.
pub async fn attempts_of(db: &Db, exam_id: &str, member_id: &str) -> anyhow::Result<Vec<Attempt>> {
    Ok(sqlx::query_as::<_, Attempt>(AssertSqlSafe(format!(
        "SELECT {ATTEMPT_COLUMNS} FROM exam_attempts WHERE exam_id = $1 AND member_id = $2 ORDER BY number"
    )))
    .bind(exam_id)
    .bind(member_id)
    .fetch_all(&db.pool)
    .await?)
}

/// Every attempt at an exam.
pub async fn attempts(db: &Db, exam_id: &str) -> anyhow::Result<Vec<Attempt>> {
    Ok(sqlx::query_as::<_, Attempt>(AssertSqlSafe(format!(
        "SELECT {ATTEMPT_COLUMNS} FROM exam_attempts WHERE exam_id = $1 ORDER BY started_at"
    )))
    .bind(exam_id)
    .fetch_all(&db.pool)
    .await?)
}

/// Starts attempt `number` of a member. `None` when that attempt exists already (two starts
/// at once: the caller reads the one that won).
pub async fn start(
    db: &Db,
    exam_id: &str,
    member_id: &str,
    number: i64,
    seed: i64,
    started_at: i64,
    deadline_at: i64,
) -> anyhow::Result<Option<Attempt>> {
    let id = new_id();
    let r = sqlx::query(
        "INSERT INTO exam_attempts (id, exam_id, member_id, number, seed, started_at, deadline_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (exam_id, member_id, number) DO NOTHING",
    )
    .bind(&id)
    .bind(exam_id)
    .bind(member_id)
    .bind(number)
    .bind(seed)
    .bind(started_at)
    .bind(deadline_at)
    .execute(&db.pool)
    .await?;
    // The row as written: nothing else has touched it yet, so it need not be read back.
    Ok((r.rows_affected() == 1).then(|| Attempt {
        id,
        exam_id: exam_id.to_string(),
        member_id: member_id.to_string(),
        number,
        seed,
        started_at,
        deadline_at,
        last_saved_at: None,
        leaves: 0,
        submitted_at: None,
        submitted_by: None,
        score: None,
        correct: None,
        time_used_ms: None,
    }))
}

/// One saved answer.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Saved {
    pub attempt_id: String,
    pub position: i64,
    /// JSON of the response in the bank's letters; `None` once cleared.
    pub response: Option<String>,
    pub marked: i64,
    pub saved_at: i64,
}

pub async fn answers(db: &Db, attempt_id: &str) -> anyhow::Result<Vec<Saved>> {
    Ok(sqlx::query_as::<_, Saved>(
        "SELECT attempt_id, position, response, marked, saved_at FROM exam_answers \
         WHERE attempt_id = $1 ORDER BY position",
    )
    .bind(attempt_id)
    .fetch_all(&db.pool)
    .await?)
}

/// Every saved answer of an exam's submitted attempts (for statistics and reports).
pub async fn submitted_answers(db: &Db, exam_id: &str) -> anyhow::Result<Vec<Saved>> {
    Ok(sqlx::query_as::<_, Saved>(
        "SELECT a.attempt_id, a.position, a.response, a.marked, a.saved_at FROM exam_answers a \
         JOIN exam_attempts t ON t.id = a.attempt_id \
         WHERE t.exam_id = $1 AND t.submitted_at IS NOT NULL",
    )
    .bind(exam_id)
    .fetch_all(&db.pool)
    .await?)
}

/// An answer to save. Saved only while the attempt is not submitted and its deadline plus
/// `grace_ms` has not passed at `at`.
#[derive(Debug, Clone)]
pub struct Save {
    pub attempt_id: String,
    pub position: i64,
    pub response: Option<String>,
    pub marked: bool,
    pub at: i64,
    pub grace_ms: i64,
}

/// Applies saves in the caller's transaction or connection; says for each whether it went in.
/// The attempt's row is written first (its `last_saved_at`), which takes its lock on
/// PostgreSQL: a submission in progress is waited for, and the save then finds it submitted.
pub async fn apply_saves(conn: &mut AnyConnection, saves: &[Save]) -> anyhow::Result<Vec<bool>> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    let mut out = Vec::with_capacity(saves.len());
    for s in saves {
        let open = sqlx::query(
            "UPDATE exam_attempts SET last_saved_at = $2 \
             WHERE id = $1 AND submitted_at IS NULL AND deadline_at + $3 >= $2",
        )
        .bind(&s.attempt_id)
        .bind(s.at)
        .bind(s.grace_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if open {
            sqlx::query(
                "INSERT INTO exam_answers (attempt_id, position, response, marked, saved_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (attempt_id, position) DO UPDATE SET \
                 response = excluded.response, marked = excluded.marked, saved_at = excluded.saved_at",
            )
            .bind(&s.attempt_id)
            .bind(s.position)
            .bind(s.response.as_deref())
            .bind(i64::from(s.marked))
            .bind(s.at)
            .execute(&mut *tx)
            .await?;
        }
        out.push(open);
    }
    tx.commit().await?;
    Ok(out)
}

/// Counts the taker leaving the page (not after submission).
pub async fn left_page(db: &Db, attempt_id: &str) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE exam_attempts SET leaves = leaves + 1 WHERE id = $1 AND submitted_at IS NULL",
    )
    .bind(attempt_id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Which attempts a submission takes.
#[derive(Debug, Clone, Copy)]
pub enum Which<'a> {
    /// This attempt, submitted by its taker (`by`: "taker") or late by the clock ("clock").
    One { id: &'a str, by: &'static str },
    /// Every attempt at this exam not submitted whose deadline plus `grace_ms` has passed at
    /// the time of submission (time ran out, or the window closed): by the clock.
    Due { exam_id: &'a str, grace_ms: i64 },
}

/// A score as the caller's grading made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scored {
    pub score: i64,
    pub correct: i64,
}

/// An attempt this submission ended, with its score.
#[derive(Debug, Clone)]
pub struct Submitted {
    pub attempt: Attempt,
    pub answers: Vec<Saved>,
    pub scored: Scored,
}

/// Exams with attempts due for submission (time plus `grace_ms` passed at `now`).
pub async fn exams_due(db: &Db, now: i64, grace_ms: i64) -> anyhow::Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT exam_id FROM exam_attempts WHERE submitted_at IS NULL AND deadline_at + $2 <= $1",
    )
    .bind(now)
    .bind(grace_ms)
    .fetch_all(&db.pool)
    .await?)
}

/// Submits attempts in one transaction: they are marked submitted first (so a save that
/// arrives meanwhile waits for this and is then refused), then their answers are read and
/// graded by `grade` and the scores written. Time used is from the start to the submission,
/// at most to the deadline. Returns what was submitted (nothing if it was already).
pub async fn submit(
    db: &Db,
    which: Which<'_>,
    at: i64,
    grade: impl Fn(&Attempt, &[Saved]) -> Scored,
) -> anyhow::Result<Vec<Submitted>> {
    let mut tx = db.pool.begin().await?;
    // A mark no other submission uses, so the rows this one took can be read back.
    let mark = new_id();
    match which {
        Which::One { id, .. } => {
            sqlx::query(
                "UPDATE exam_attempts SET submitted_at = $2, submitted_by = $3 \
                 WHERE id = $1 AND submitted_at IS NULL",
            )
            .bind(id)
            .bind(at)
            .bind(&mark)
            .execute(&mut *tx)
            .await?;
        }
        Which::Due { exam_id, grace_ms } => {
            sqlx::query(
                "UPDATE exam_attempts SET submitted_at = $1, submitted_by = $2 \
                 WHERE exam_id = $4 AND submitted_at IS NULL AND deadline_at + $3 <= $1",
            )
            .bind(at)
            .bind(&mark)
            .bind(grace_ms)
            .bind(exam_id)
            .execute(&mut *tx)
            .await?;
        }
    }
    let attempts: Vec<Attempt> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {ATTEMPT_COLUMNS} FROM exam_attempts WHERE submitted_by = $1"
    )))
    .bind(&mark)
    .fetch_all(&mut *tx)
    .await?;
    if attempts.is_empty() {
        return Ok(Vec::new());
    }
    let answers: Vec<Saved> = sqlx::query_as(
        "SELECT a.attempt_id, a.position, a.response, a.marked, a.saved_at FROM exam_answers a \
         JOIN exam_attempts t ON t.id = a.attempt_id WHERE t.submitted_by = $1 \
         ORDER BY a.attempt_id, a.position",
    )
    .bind(&mark)
    .fetch_all(&mut *tx)
    .await?;
    let mut by_attempt: std::collections::HashMap<&str, Vec<Saved>> = Default::default();
    for a in &answers {
        by_attempt
            .entry(a.attempt_id.as_str())
            .or_default()
            .push(a.clone());
    }
    let mut out = Vec::with_capacity(attempts.len());
    for mut attempt in attempts {
        let saved = by_attempt.remove(attempt.id.as_str()).unwrap_or_default();
        let scored = grade(&attempt, &saved);
        let by = match which {
            Which::One { by, .. } => by,
            Which::Due { .. } => "clock",
        };
        attempt.submitted_by = Some(by.into());
        attempt.score = Some(scored.score);
        attempt.correct = Some(scored.correct);
        attempt.time_used_ms = Some(at.min(attempt.deadline_at) - attempt.started_at);
        out.push(Submitted {
            attempt,
            answers: saved,
            scored,
        });
    }
    // Scores in a few statements, whatever the number of attempts (one row of VALUES each:
    // both databases name their columns column1, column2, …).
    for chunk in super::pow2_chunks(&out, 256) {
        let sql = format!(
            "UPDATE exam_attempts SET submitted_by = v.column2, score = v.column3, correct = v.column4, \
             time_used_ms = v.column5 FROM (VALUES {}) AS v WHERE exam_attempts.id = v.column1",
            db.placeholders(chunk.len(), 5)
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for s in chunk {
            let a = &s.attempt;
            q = q
                .bind(a.id.as_str())
                .bind(a.submitted_by.clone())
                .bind(a.score)
                .bind(a.correct)
                .bind(a.time_used_ms);
        }
        q.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(out)
}

/// Marks exams whose window has closed and which have nothing left in progress as closed.
pub async fn mark_closed(db: &Db, now: i64) -> anyhow::Result<u64> {
    Ok(sqlx::query(
        "UPDATE exams SET closed_at = $1 WHERE closed_at IS NULL AND closes_at <= $1 \
         AND NOT EXISTS (SELECT 1 FROM exam_attempts t WHERE t.exam_id = exams.id AND t.submitted_at IS NULL)",
    )
    .bind(now)
    .execute(&db.pool)
    .await?
    .rows_affected())
}

/// A taker of the exam with where they sit in the roster.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct Taker {
    pub member_id: String,
    pub name: String,
    pub staff_no: String,
    pub section_id: Option<String>,
    pub section: Option<String>,
    pub department: Option<String>,
}

/// Everyone who started the exam at least once.
pub async fn takers(db: &Db, exam_id: &str) -> anyhow::Result<Vec<Taker>> {
    Ok(sqlx::query_as::<_, Taker>(
        "SELECT m.id AS member_id, m.name, m.staff_no, m.section_id, s.name AS section, d.name AS department \
         FROM members m LEFT JOIN sections s ON s.id = m.section_id \
         LEFT JOIN departments d ON d.id = s.department_id \
         WHERE m.id IN (SELECT member_id FROM exam_attempts WHERE exam_id = $1) ORDER BY m.staff_no",
    )
    .bind(exam_id)
    .fetch_all(&db.pool)
    .await?)
}

/// Writes 业务标兵 awards of an exam and the team awards, once, in one transaction.
pub async fn confirm_awards(
    db: &Db,
    exam_id: &str,
    confirmed_by: &str,
    awards: &[(String, String, u32, i64)],
    team_awards: Option<(
        &crate::domain::teams::TeamRule,
        Vec<&crate::domain::teams::TeamStanding>,
    )>,
) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let now = now_ms();
    let mut tx = db.pool.begin().await?;
    let done =
        sqlx::query("UPDATE exams SET awards_confirmed = 1 WHERE id = $1 AND awards_confirmed = 0")
            .bind(exam_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    anyhow::ensure!(done == 1, "本场考试的表彰已经确认过");
    let mut ids = Vec::new();
    for (member_id, title, rank, score) in awards {
        let id = new_id();
        sqlx::query(
            "INSERT INTO awards (id, member_id, title, exam_id, standing_rank, standing_points, confirmed_by, confirmed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&id)
        .bind(member_id)
        .bind(title)
        .bind(exam_id)
        .bind(i64::from(*rank))
        .bind(*score)
        .bind(confirmed_by)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        ids.push(id);
    }
    let team_ids = match team_awards {
        Some((rule, winners)) => {
            super::teams::insert_awards(
                &mut tx,
                super::teams::Event::Exam,
                exam_id,
                rule,
                &winners,
                "优胜团队",
                confirmed_by,
            )
            .await?
        }
        None => Vec::new(),
    };
    tx.commit().await?;
    Ok((ids, team_ids))
}

/// Answers given (not cleared) per attempt of an exam.
pub async fn answered_counts(
    db: &Db,
    exam_id: &str,
) -> anyhow::Result<std::collections::HashMap<String, i64>> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT a.attempt_id, COUNT(*) FROM exam_answers a JOIN exam_attempts t ON t.id = a.attempt_id \
         WHERE t.exam_id = $1 AND a.response IS NOT NULL GROUP BY a.attempt_id",
    )
    .bind(exam_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.into_iter().collect())
}

/// Active members the scope allows.
pub async fn eligible(db: &Db, scope: &crate::domain::exam::Scope) -> anyhow::Result<i64> {
    let rows: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT m.id, m.section_id, s.department_id FROM members m \
         LEFT JOIN sections s ON s.id = m.section_id WHERE m.active = 1",
    )
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .iter()
        .filter(|(m, s, d)| scope.allows(m, s.as_deref(), d.as_deref()))
        .count() as i64)
}
