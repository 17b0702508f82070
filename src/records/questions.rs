//! Questions in the records, synced from the bank.
//!
//! Sync is idempotent: new questions are added, edited ones get a new version (their
//! content hash), questions no longer in the bank are retired — kept, never drawn again.
//! Old versions stay, so every recorded answer still reads the question as it was asked.

use super::{Db, now_ms};
use crate::domain::Question;
use sqlx::AssertSqlSafe;
use std::collections::{HashMap, HashSet};

#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SyncReport {
    pub added: usize,
    pub updated: usize,
    pub retired: usize,
    pub unchanged: usize,
}

/// Rows per multi-row INSERT: well under both databases' limits on bound parameters.
const CHUNK: usize = 200;

pub async fn sync(db: &Db, bank: &[Question]) -> anyhow::Result<SyncReport> {
    let now = now_ms();
    let existing: HashMap<String, (String, Option<i64>)> =
        sqlx::query_as::<_, (String, String, Option<i64>)>(
            "SELECT id, current_version, retired_at FROM questions",
        )
        .fetch_all(&db.pool)
        .await?
        .into_iter()
        .map(|(id, v, r)| (id, (v, r)))
        .collect();

    let mut report = SyncReport::default();
    let mut new_questions = Vec::new();
    let mut changed = Vec::new();
    let mut revived = Vec::new();
    for q in bank {
        let version = q.version();
        match existing.get(&q.id) {
            None => new_questions.push((q, version)),
            Some((v, _)) if *v != version => changed.push((q, version)),
            Some((_, Some(_))) => revived.push(q.id.as_str()),
            Some(_) => report.unchanged += 1,
        }
    }
    let in_bank: HashSet<&str> = bank.iter().map(|q| q.id.as_str()).collect();
    let to_retire: Vec<&str> = existing
        .iter()
        .filter(|(id, (_, retired))| retired.is_none() && !in_bank.contains(id.as_str()))
        .map(|(id, _)| id.as_str())
        .collect();

    let mut tx = db.pool.begin().await?;
    for chunk in new_questions.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO questions (id, topic, kind, difficulty, current_version, created_at, updated_at) VALUES {}",
            db.placeholders(chunk.len(), 7)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (q, version) in chunk {
            query = query
                .bind(q.id.clone())
                .bind(q.topic.id())
                .bind(q.kind.id())
                .bind(q.difficulty as i64)
                .bind(version.clone())
                .bind(now)
                .bind(now);
        }
        query.execute(&mut *tx).await?;
    }
    let versioned: Vec<&(&Question, String)> = new_questions.iter().chain(changed.iter()).collect();
    for chunk in versioned.chunks(CHUNK) {
        // An edit that returns to an earlier text finds its version already there.
        let sql = format!(
            "INSERT INTO question_versions (version, question_id, body, created_at) VALUES {} \
             ON CONFLICT (version) DO NOTHING",
            db.placeholders(chunk.len(), 4)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (q, version) in chunk {
            query = query
                .bind(version.clone())
                .bind(q.id.clone())
                .bind(serde_json::to_string(q)?)
                .bind(now);
        }
        query.execute(&mut *tx).await?;
    }
    for (q, version) in &changed {
        sqlx::query(
            "UPDATE questions SET topic = $1, kind = $2, difficulty = $3, current_version = $4, \
             retired_at = NULL, updated_at = $5 WHERE id = $6",
        )
        .bind(q.topic.id())
        .bind(q.kind.id())
        .bind(q.difficulty as i64)
        .bind(version.clone())
        .bind(now)
        .bind(q.id.clone())
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM question_tags WHERE question_id = $1")
            .bind(q.id.clone())
            .execute(&mut *tx)
            .await?;
    }
    let tagged: Vec<(&str, &str)> = new_questions
        .iter()
        .chain(changed.iter())
        .flat_map(|(q, _)| {
            let mut seen = HashSet::new();
            q.tags
                .iter()
                .filter(move |t| seen.insert(t.as_str()))
                .map(move |t| (q.id.as_str(), t.as_str()))
        })
        .collect();
    for chunk in tagged.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO question_tags (question_id, tag) VALUES {}",
            db.placeholders(chunk.len(), 2)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (id, tag) in chunk {
            query = query.bind(id.to_string()).bind(tag.to_string());
        }
        query.execute(&mut *tx).await?;
    }
    for id in &revived {
        sqlx::query("UPDATE questions SET retired_at = NULL, updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
    }
    for id in &to_retire {
        sqlx::query("UPDATE questions SET retired_at = $1, updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    report.added = new_questions.len();
    report.updated = changed.len() + revived.len();
    report.retired = to_retire.len();
    Ok(report)
}

/// Questions that may be drawn (not retired).
pub async fn count_active(db: &Db) -> anyhow::Result<i64> {
    Ok(
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM questions WHERE retired_at IS NULL")
            .fetch_one(&db.pool)
            .await?,
    )
}

/// The question as it was at `version`.
pub async fn at_version(db: &Db, version: &str) -> anyhow::Result<Option<Question>> {
    let body: Option<String> =
        sqlx::query_scalar("SELECT body FROM question_versions WHERE version = $1")
            .bind(version)
            .fetch_optional(&db.pool)
            .await?;
    body.map(|b| serde_json::from_str(&b).map_err(Into::into))
        .transpose()
}

/// A question's current text and state.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Current {
    pub question: Question,
    pub version: String,
    pub retired: bool,
}

pub async fn current(db: &Db, id: &str) -> anyhow::Result<Option<Current>> {
    let row: Option<(String, String, Option<i64>)> = sqlx::query_as(
        "SELECT q.current_version, v.body, q.retired_at FROM questions q \
         JOIN question_versions v ON v.version = q.current_version WHERE q.id = $1",
    )
    .bind(id)
    .fetch_optional(&db.pool)
    .await?;
    row.map(|(version, body, retired)| {
        Ok(Current {
            question: serde_json::from_str(&body)?,
            version,
            retired: retired.is_some(),
        })
    })
    .transpose()
}

/// Active questions, optionally of one topic, for pickers and draws.
pub async fn list_active(db: &Db, topic: Option<&str>) -> anyhow::Result<Vec<Current>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT q.current_version, v.body FROM questions q \
         JOIN question_versions v ON v.version = q.current_version \
         WHERE q.retired_at IS NULL AND ($1 = '' OR q.topic = $1) ORDER BY q.id",
    )
    .bind(topic.unwrap_or(""))
    .fetch_all(&db.pool)
    .await?;
    rows.into_iter()
        .map(|(version, body)| {
            Ok(Current {
                question: serde_json::from_str(&body)?,
                version,
                retired: false,
            })
        })
        .collect()
}

/// Every question's topic and the tags (知识点) of its current version, by id: what section
/// figures sum answers under.
pub async fn topics_and_tags(
    db: &Db,
) -> anyhow::Result<std::collections::HashMap<String, (String, Vec<String>)>> {
    let mut out: std::collections::HashMap<String, (String, Vec<String>)> =
        sqlx::query_as::<_, (String, String)>("SELECT id, topic FROM questions")
            .fetch_all(&db.pool)
            .await?
            .into_iter()
            .map(|(id, topic)| (id, (topic, Vec::new())))
            .collect();
    let tags: Vec<(String, String)> =
        sqlx::query_as("SELECT question_id, tag FROM question_tags ORDER BY question_id, tag")
            .fetch_all(&db.pool)
            .await?;
    for (q, tag) in tags {
        if let Some(e) = out.get_mut(&q) {
            e.1.push(tag);
        }
    }
    Ok(out)
}

/// The current version of each of `ids` that exists, in one statement.
pub async fn current_of(
    db: &Db,
    ids: &[&str],
) -> anyhow::Result<std::collections::HashMap<String, Question>> {
    let mut out = std::collections::HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let sql = format!(
        "SELECT q.id, v.body FROM questions q JOIN question_versions v ON v.version = q.current_version \
         WHERE q.id IN ({})",
        super::params(db.backend, 1, ids.len())
    );
    let mut q = sqlx::query_as::<_, (String, String)>(sqlx::AssertSqlSafe(sql));
    for id in ids {
        q = q.bind(*id);
    }
    for (id, body) in q.fetch_all(&db.pool).await? {
        out.insert(id, serde_json::from_str(&body)?);
    }
    Ok(out)
}
