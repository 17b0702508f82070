//! Competitions and awards in the console: every competition with its status, and every award
//! with its revocation, if any (revoking goes through `POST /api/awards/{id}/revoke`).

use crate::records::Db;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AwardLine {
    pub id: String,
    pub member_id: String,
    pub staff_no: String,
    pub name: String,
    pub title: String,
    pub competition_id: Option<String>,
    pub competition: Option<String>,
    pub standing_rank: Option<i64>,
    pub standing_points: Option<i64>,
    pub confirmed_at: i64,
    /// The revocation record, when revoked.
    pub revoked_by: Option<String>,
    pub revoked_reason: Option<String>,
    pub revoked_at: Option<i64>,
}

/// Awards (not revocation records), newest first, each with its first revocation.
pub async fn list(db: &Db) -> anyhow::Result<Vec<AwardLine>> {
    Ok(sqlx::query_as::<_, AwardLine>(
        "SELECT a.id, a.member_id, m.staff_no, m.name, a.title, a.competition_id, c.title AS competition, \
         a.standing_rank, a.standing_points, a.confirmed_at, \
         r.id AS revoked_by, r.reason AS revoked_reason, r.confirmed_at AS revoked_at \
         FROM awards a JOIN members m ON m.id = a.member_id \
         LEFT JOIN competitions c ON c.id = a.competition_id \
         LEFT JOIN awards r ON r.id = (SELECT MIN(x.id) FROM awards x WHERE x.revokes = a.id) \
         WHERE a.revokes IS NULL ORDER BY a.confirmed_at DESC, a.standing_rank, a.id",
    )
    .fetch_all(&db.pool)
    .await?)
}
