//! What section heads read: each member's practice in a period, a scope's weak points, trends
//! and averages — SQL aggregations over the records, never bookkeeping by hand.
//!
//! Two sources:
//! - `drill_days`, a rollup of drill answers per member and users' day, for counts over many
//!   members and days (a member's answers, accuracy and days practised; participation and
//!   averages of a section, a department, the agency; weekly trends). It is written in the
//!   same transaction as the answers it counts ([`add_days`], called by
//!   `records::drills::apply`) and keyed by the answer's own day, so it is exact at every
//!   commit, also for an answer that arrives late; [`rebuild_days`] recomputes it from the
//!   answers (after bulk loads).
//! - `drill_answers` itself, through its `(member_id, answered_at)` index, for what needs the
//!   question (accuracy per topic and tag, the questions most often answered wrong): those
//!   reads cover one scope's members in one period.
//!
//! Every figure is restricted by a [`Scope`]: a section, a department or the agency, and only
//! active members count. Nothing here decides who may read what.

use super::{Db, pow2_chunks};
use crate::domain::calendar::Span;
use sqlx::{AnyConnection, AssertSqlSafe};
use std::collections::{BTreeMap, HashMap};

/// Whose figures: the active members of a section, of a department's sections, or all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    Section(&'a str),
    Department(&'a str),
    Agency,
}

impl<'a> Scope<'a> {
    /// The condition on `members m`, its parameter numbered `$n`.
    fn filter(self, n: usize) -> String {
        match self {
            Scope::Section(_) => format!("m.active = 1 AND m.section_id = ${n}"),
            Scope::Department(_) => format!(
                "m.active = 1 AND m.section_id IN (SELECT id FROM sections WHERE department_id = ${n})"
            ),
            // `$n = ''` keeps the parameter count the same for every scope.
            Scope::Agency => format!("m.active = 1 AND m.section_id IS NOT NULL AND ${n} = ''"),
        }
    }

    fn param(self) -> &'a str {
        match self {
            Scope::Section(id) | Scope::Department(id) => id,
            Scope::Agency => "",
        }
    }
}

/// A member of the scope, as the rows of the section page list them.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct Person {
    pub id: String,
    pub staff_no: String,
    pub name: String,
    pub role: String,
    pub section_id: String,
    pub section: String,
    pub department_id: String,
    pub department: String,
}

pub async fn people(db: &Db, scope: Scope<'_>) -> anyhow::Result<Vec<Person>> {
    let sql = format!(
        "SELECT m.id, m.staff_no, m.name, m.role, s.id AS section_id, s.name AS section, \
         d.id AS department_id, d.name AS department FROM members m \
         JOIN sections s ON s.id = m.section_id JOIN departments d ON d.id = s.department_id \
         WHERE {} ORDER BY d.name, s.name, m.staff_no",
        scope.filter(1)
    );
    Ok(sqlx::query_as::<_, Person>(AssertSqlSafe(sql))
        .bind(scope.param())
        .fetch_all(&db.pool)
        .await?)
}

/// One member's practice in a period.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Practice {
    /// Drills whose first question was answered in the period.
    pub drills: i64,
    pub answers: i64,
    pub correct: i64,
    /// Days with at least one answer.
    pub days: i64,
    /// The last day with an answer, ever (users' day number).
    pub last_day: Option<i64>,
    pub notebook_open: i64,
    pub notebook_mastered: i64,
    /// Competitions that started in the period in which the member played.
    pub competitions: i64,
    /// Awards confirmed in the period and not revoked.
    pub awards: i64,
}

type Counted = (String, i64);

/// Every member's practice in `span`, by member id (members with nothing are absent).
///
/// The scope's members come first in every statement (`members m CROSS JOIN …`: SQLite keeps
/// that order, PostgreSQL plans it as the inner join it is), so each member's rows are read
/// through the primary key instead of the whole period being scanned and filtered.
pub async fn practice(
    db: &Db,
    scope: Scope<'_>,
    span: Span,
) -> anyhow::Result<HashMap<String, Practice>> {
    let (from_ms, to_ms) = span.ms();
    let mut out: HashMap<String, Practice> = HashMap::new();
    let f3 = scope.filter(3);

    let days_sql = format!(
        "SELECT dd.member_id, CAST(SUM(dd.drills) AS BIGINT), CAST(SUM(dd.answers) AS BIGINT), \
         CAST(SUM(dd.correct) AS BIGINT), COUNT(*) FROM members m CROSS JOIN drill_days dd \
         WHERE dd.member_id = m.id AND dd.day >= $1 AND dd.day < $2 AND {f3} GROUP BY dd.member_id"
    );
    // One look-up per member in indexes: the last day practised, open and mastered entries.
    let per_member_sql = format!(
        "SELECT m.id, (SELECT MAX(dd.day) FROM drill_days dd WHERE dd.member_id = m.id), \
         (SELECT COUNT(*) FROM notebook n WHERE n.member_id = m.id AND n.mastered_at IS NULL), \
         (SELECT COUNT(*) FROM notebook n WHERE n.member_id = m.id AND n.mastered_at IS NOT NULL) \
         FROM members m WHERE {}",
        scope.filter(1)
    );
    let played_sql = format!(
        "SELECT p.member_id, COUNT(*) FROM participants p JOIN competitions c ON c.id = p.competition_id \
         JOIN members m ON m.id = p.member_id \
         WHERE c.started_at >= $1 AND c.started_at < $2 AND {f3} GROUP BY p.member_id"
    );
    let awards_sql = format!(
        "SELECT a.member_id, COUNT(*) FROM awards a JOIN members m ON m.id = a.member_id \
         WHERE a.confirmed_at >= $1 AND a.confirmed_at < $2 AND {f3} AND a.revokes IS NULL \
         AND NOT EXISTS (SELECT 1 FROM awards r WHERE r.revokes = a.id) GROUP BY a.member_id"
    );
    // Independent reads: at once, on the pool's connections.
    let (days, per_member, played, awards) = tokio::try_join!(
        sqlx::query_as::<_, (String, i64, i64, i64, i64)>(AssertSqlSafe(days_sql))
            .bind(span.from)
            .bind(span.to)
            .bind(scope.param())
            .fetch_all(&db.pool),
        sqlx::query_as::<_, (String, Option<i64>, i64, i64)>(AssertSqlSafe(per_member_sql))
            .bind(scope.param())
            .fetch_all(&db.pool),
        sqlx::query_as::<_, Counted>(AssertSqlSafe(played_sql))
            .bind(from_ms)
            .bind(to_ms)
            .bind(scope.param())
            .fetch_all(&db.pool),
        sqlx::query_as::<_, Counted>(AssertSqlSafe(awards_sql))
            .bind(from_ms)
            .bind(to_ms)
            .bind(scope.param())
            .fetch_all(&db.pool),
    )?;
    for (m, drills, answers, correct, n) in days {
        let p = out.entry(m).or_default();
        p.drills = drills;
        p.answers = answers;
        p.correct = correct;
        p.days = n;
    }
    for (m, last, open, mastered) in per_member {
        if last.is_none() && open == 0 && mastered == 0 {
            continue;
        }
        let p = out.entry(m).or_default();
        p.last_day = last;
        p.notebook_open = open;
        p.notebook_mastered = mastered;
    }
    for (m, n) in played {
        out.entry(m).or_default().competitions = n;
    }
    for (m, n) in awards {
        out.entry(m).or_default().awards = n;
    }
    Ok(out)
}

/// Answers and right answers under one heading (a topic, a tag, a question).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Tally {
    pub key: String,
    pub answers: i64,
    pub correct: i64,
}

/// Drill answers of the scope in the period per question: one pass over the answers, from
/// which topics, tags (知识点) and the questions most often wrong are all summed.
pub async fn by_question(db: &Db, scope: Scope<'_>, span: Span) -> anyhow::Result<Vec<Tally>> {
    let (from_ms, to_ms) = span.ms();
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT a.question_id, COUNT(*), CAST(SUM(a.correct) AS BIGINT) FROM members m CROSS JOIN drill_answers a \
         WHERE a.member_id = m.id AND a.answered_at >= $1 AND a.answered_at < $2 AND {} GROUP BY a.question_id",
        scope.filter(3)
    )))
    .bind(from_ms)
    .bind(to_ms)
    .bind(scope.param())
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(key, answers, correct)| Tally {
            key,
            answers,
            correct,
        })
        .collect())
}

/// A scope's totals over a span: members who answered, answers, right answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Totals {
    pub active: i64,
    pub answers: i64,
    pub correct: i64,
}

pub async fn totals(db: &Db, scope: Scope<'_>, span: Span) -> anyhow::Result<Totals> {
    let (active, answers, correct): (i64, Option<i64>, Option<i64>) =
        sqlx::query_as(AssertSqlSafe(format!(
            "SELECT COUNT(DISTINCT dd.member_id), CAST(SUM(dd.answers) AS BIGINT), CAST(SUM(dd.correct) AS BIGINT) \
             FROM members m CROSS JOIN drill_days dd \
             WHERE dd.member_id = m.id AND dd.day >= $1 AND dd.day < $2 AND {}",
            scope.filter(3)
        )))
        .bind(span.from)
        .bind(span.to)
        .bind(scope.param())
        .fetch_one(&db.pool)
        .await?;
    Ok(Totals {
        active,
        answers: answers.unwrap_or(0),
        correct: correct.unwrap_or(0),
    })
}

/// Active members of a scope.
pub async fn headcount(db: &Db, scope: Scope<'_>) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM members m WHERE {}",
        scope.filter(1)
    )))
    .bind(scope.param())
    .fetch_one(&db.pool)
    .await?)
}

/// Totals per week (by the week's Monday) over a span of whole weeks.
pub async fn weekly(
    db: &Db,
    scope: Scope<'_>,
    span: Span,
) -> anyhow::Result<BTreeMap<i64, Totals>> {
    // Day 4 (1970-01-05) was a Monday: (day - 4) / 7 numbers the weeks.
    let rows: Vec<(i64, i64, i64, i64)> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT (dd.day - 4) / 7 AS week, COUNT(DISTINCT dd.member_id), CAST(SUM(dd.answers) AS BIGINT), \
         CAST(SUM(dd.correct) AS BIGINT) FROM members m CROSS JOIN drill_days dd \
         WHERE dd.member_id = m.id AND dd.day >= $1 AND dd.day < $2 AND {} GROUP BY (dd.day - 4) / 7",
        scope.filter(3)
    )))
    .bind(span.from)
    .bind(span.to)
    .bind(scope.param())
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(week, active, answers, correct)| {
            (
                week * 7 + 4,
                Totals {
                    active,
                    answers,
                    correct,
                },
            )
        })
        .collect())
}

/// Adds answers to the daily rollup: `(member, day, drills begun, answers, right answers)`,
/// one row per member and day. Runs inside the transaction that stores the answers.
pub async fn add_days(conn: &mut AnyConnection, rows: &[DayRow]) -> anyhow::Result<()> {
    let backend = super::Backend::of(conn);
    for chunk in pow2_chunks(rows, 64) {
        let sql = format!(
            "INSERT INTO drill_days (member_id, day, drills, answers, correct) VALUES {} \
             ON CONFLICT (member_id, day) DO UPDATE SET drills = drill_days.drills + excluded.drills, \
             answers = drill_days.answers + excluded.answers, correct = drill_days.correct + excluded.correct",
            super::placeholders(backend, chunk.len(), 5)
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for r in chunk {
            q = q
                .bind(r.member_id.as_str())
                .bind(r.day)
                .bind(r.drills)
                .bind(r.answers)
                .bind(r.correct);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// What some answers add to one member's day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayRow {
    pub member_id: String,
    pub day: i64,
    /// Drills whose first question (position 0) was answered: a drill counts on that day.
    pub drills: i64,
    pub answers: i64,
    pub correct: i64,
}

/// Recomputes the daily rollup from the answers (after answers were loaded in bulk).
pub async fn rebuild_days(db: &Db) -> anyhow::Result<()> {
    let mut tx = db.pool.begin().await?;
    sqlx::query("DELETE FROM drill_days")
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO drill_days (member_id, day, drills, answers, correct) \
         SELECT member_id, (answered_at + 28800000) / 86400000, \
         CAST(SUM(CASE WHEN position = 0 THEN 1 ELSE 0 END) AS BIGINT), COUNT(*), CAST(SUM(correct) AS BIGINT) \
         FROM drill_answers GROUP BY member_id, (answered_at + 28800000) / 86400000",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}
