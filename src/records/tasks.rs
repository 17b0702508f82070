//! 练兵任务: drills a section head sets for the section, and the drills members take for them.
//! A task's questions are drawn once, when it is set; each member takes them in one drill of
//! their own (`drills.task_id`, unique per member and task), through the ordinary drill engine.

use super::{Db, new_id, now_ms};

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct Task {
    pub id: String,
    pub section_id: String,
    pub title: String,
    pub settings: String,
    /// JSON list of question ids, in the order they are asked.
    pub questions: String,
    pub time_limit_ms: Option<i64>,
    /// The end of the due day (exclusive).
    pub due_at: i64,
    pub created_by: String,
    pub created_at: i64,
    pub closed_at: Option<i64>,
}

impl Task {
    pub fn question_ids(&self) -> Vec<String> {
        serde_json::from_str(&self.questions).unwrap_or_default()
    }
}

const COLUMNS: &str = "id, section_id, title, settings, questions, time_limit_ms, due_at, created_by, created_at, closed_at";

pub struct NewTask<'a> {
    pub section_id: &'a str,
    pub title: &'a str,
    pub settings: &'a str,
    pub questions: &'a [String],
    pub time_limit_ms: Option<i64>,
    pub due_at: i64,
    pub created_by: &'a str,
}

pub async fn insert(db: &Db, t: NewTask<'_>) -> anyhow::Result<String> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO tasks (id, section_id, title, settings, questions, time_limit_ms, due_at, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&id)
    .bind(t.section_id)
    .bind(t.title)
    .bind(t.settings)
    .bind(serde_json::to_string(t.questions)?)
    .bind(t.time_limit_ms)
    .bind(t.due_at)
    .bind(t.created_by)
    .bind(now_ms())
    .execute(&db.pool)
    .await?;
    Ok(id)
}

pub async fn get(db: &Db, id: &str) -> anyhow::Result<Option<Task>> {
    Ok(sqlx::query_as::<_, Task>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM tasks WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&db.pool)
    .await?)
}

/// A section's tasks, newest first; `open_only` leaves out closed ones.
pub async fn of_section(db: &Db, section_id: &str, open_only: bool) -> anyhow::Result<Vec<Task>> {
    Ok(sqlx::query_as::<_, Task>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM tasks WHERE section_id = $1 AND ($2 = 0 OR closed_at IS NULL) \
         ORDER BY created_at DESC LIMIT 200"
    )))
    .bind(section_id)
    .bind(open_only as i64)
    .fetch_all(&db.pool)
    .await?)
}

/// Tasks of a scope's sections set in a span (for workbooks): `section_ids` empty means all.
pub async fn created_between(db: &Db, from_ms: i64, to_ms: i64) -> anyhow::Result<Vec<Task>> {
    Ok(sqlx::query_as::<_, Task>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM tasks WHERE created_at < $2 AND due_at > $1 ORDER BY created_at"
    )))
    .bind(from_ms)
    .bind(to_ms)
    .fetch_all(&db.pool)
    .await?)
}

/// Closes an open task; false when it was closed already.
pub async fn close(db: &Db, id: &str) -> anyhow::Result<bool> {
    let done = sqlx::query("UPDATE tasks SET closed_at = $1 WHERE id = $2 AND closed_at IS NULL")
        .bind(now_ms())
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// A member's drill for a task, with how far it got.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct TaskDrill {
    pub task_id: String,
    pub member_id: String,
    pub drill_id: String,
    pub finished_at: Option<i64>,
    pub answered: i64,
    pub correct: i64,
}

const TASK_DRILL: &str = "SELECT d.task_id, d.member_id, d.id AS drill_id, d.finished_at, \
     (SELECT COUNT(*) FROM drill_answers a WHERE a.drill_id = d.id) AS answered, \
     (SELECT CAST(COALESCE(SUM(a.correct), 0) AS BIGINT) FROM drill_answers a WHERE a.drill_id = d.id) AS correct \
     FROM drills d";

/// The drills taken for the tasks of a section.
pub async fn drills_of_section(db: &Db, section_id: &str) -> anyhow::Result<Vec<TaskDrill>> {
    Ok(sqlx::query_as::<_, TaskDrill>(sqlx::AssertSqlSafe(format!(
        "{TASK_DRILL} WHERE d.task_id IN (SELECT id FROM tasks WHERE section_id = $1)"
    )))
    .bind(section_id)
    .fetch_all(&db.pool)
    .await?)
}

/// The drills taken for tasks set in a span (workbooks).
pub async fn drills_between(db: &Db, from_ms: i64, to_ms: i64) -> anyhow::Result<Vec<TaskDrill>> {
    Ok(sqlx::query_as::<_, TaskDrill>(sqlx::AssertSqlSafe(format!(
        "{TASK_DRILL} WHERE d.task_id IN (SELECT id FROM tasks WHERE created_at < $2 AND due_at > $1)"
    )))
    .bind(from_ms)
    .bind(to_ms)
    .fetch_all(&db.pool)
    .await?)
}

/// The member's drills for the given tasks.
pub async fn drills_of_member(db: &Db, member_id: &str) -> anyhow::Result<Vec<TaskDrill>> {
    Ok(sqlx::query_as::<_, TaskDrill>(sqlx::AssertSqlSafe(format!(
        "{TASK_DRILL} WHERE d.member_id = $1 AND d.task_id IS NOT NULL"
    )))
    .bind(member_id)
    .fetch_all(&db.pool)
    .await?)
}
