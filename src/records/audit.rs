//! The audit log: who did what, when. Append-only.

use super::{Db, new_id, now_ms};

/// Appends one entry. `detail` is JSON for whatever the action needs to explain itself.
pub async fn record(
    db: &Db,
    actor_id: Option<&str>,
    action: &str,
    subject: &str,
    detail: serde_json::Value,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (id, at, actor_id, action, subject, detail) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(new_id())
    .bind(now_ms())
    .bind(actor_id)
    .bind(action)
    .bind(subject)
    .bind(detail.to_string())
    .execute(&db.pool)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct Entry {
    pub id: String,
    pub at: i64,
    pub actor_id: Option<String>,
    pub action: String,
    pub subject: String,
    pub detail: String,
}

/// The newest entries first.
pub async fn recent(db: &Db, limit: i64) -> anyhow::Result<Vec<Entry>> {
    Ok(sqlx::query_as::<_, Entry>(
        "SELECT id, at, actor_id, action, subject, detail FROM audit_log ORDER BY at DESC, id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(&db.pool)
    .await?)
}
