//! 小结点评: reviews, their comments to members and department heads' remarks.
//!
//! A review is a draft until its head publishes it; the statements that change a review all
//! carry `status = 'draft'`, so a published review can never change. A correction is a new
//! draft in the same series (`version + 1`, `supersedes` naming the one it corrects, the
//! pair `(series_id, version)` unique); when it is published, the old version stays as it was
//! and is shown as superseded.

use super::{Db, new_id, now_ms};

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct Review {
    pub id: String,
    pub section_id: String,
    pub author_id: String,
    pub author: String,
    pub period_start: i64,
    pub period_end: i64,
    pub body: String,
    pub facts: String,
    pub series_id: String,
    pub version: i64,
    pub status: String,
    pub supersedes: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub published_at: Option<i64>,
    /// A later version of the series has been published.
    pub superseded: i64,
    pub remarks: i64,
}

impl Review {
    pub fn is_published(&self) -> bool {
        self.status == "published"
    }
}

const SELECT: &str = "SELECT r.id, r.section_id, r.author_id, COALESCE(a.name, '') AS author, r.period_start, \
     r.period_end, r.body, r.facts, r.series_id, r.version, r.status, r.supersedes, r.created_at, r.updated_at, \
     r.published_at, \
     (SELECT COUNT(*) FROM reviews n WHERE n.series_id = r.series_id AND n.status = 'published' AND n.version > r.version) AS superseded, \
     (SELECT COUNT(*) FROM review_remarks k WHERE k.review_id = r.id) AS remarks \
     FROM reviews r LEFT JOIN members a ON a.id = r.author_id";

#[derive(
    Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, sqlx::FromRow,
)]
pub struct Comment {
    pub member_id: String,
    #[serde(default)]
    pub praise: String,
    #[serde(default)]
    pub improve: String,
}

pub struct NewDraft<'a> {
    pub section_id: &'a str,
    pub author_id: &'a str,
    pub period: (i64, i64),
    pub body: &'a str,
    pub facts: &'a str,
}

/// A new draft, the first of its series.
pub async fn create(db: &Db, d: NewDraft<'_>) -> anyhow::Result<String> {
    let id = new_id();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO reviews (id, section_id, author_id, period_start, period_end, body, created_at, \
         series_id, version, status, facts, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, 'draft', $9, $10)",
    )
    .bind(&id)
    .bind(d.section_id)
    .bind(d.author_id)
    .bind(d.period.0)
    .bind(d.period.1)
    .bind(d.body)
    .bind(now)
    .bind(&id)
    .bind(d.facts)
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(id)
}

/// A new draft version of a published review, with its text and comments; an unpublished
/// draft of the series is returned instead of making a second.
pub async fn revise(db: &Db, old: &Review, author_id: &str) -> anyhow::Result<String> {
    let mut tx = db.pool.begin().await?;
    if let Some(open) = sqlx::query_scalar::<_, String>(
        "SELECT id FROM reviews WHERE series_id = $1 AND status = 'draft'",
    )
    .bind(&old.series_id)
    .fetch_optional(&mut *tx)
    .await?
    {
        return Ok(open);
    }
    let version: i64 =
        sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM reviews WHERE series_id = $1")
            .bind(&old.series_id)
            .fetch_one(&mut *tx)
            .await?;
    let id = new_id();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO reviews (id, section_id, author_id, period_start, period_end, body, created_at, \
         series_id, version, status, supersedes, facts, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'draft', $10, $11, $12)",
    )
    .bind(&id)
    .bind(&old.section_id)
    .bind(author_id)
    .bind(old.period_start)
    .bind(old.period_end)
    .bind(&old.body)
    .bind(now)
    .bind(&old.series_id)
    .bind(version + 1)
    .bind(&old.id)
    .bind(&old.facts)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO review_comments (review_id, member_id, praise, improve) \
         SELECT $1, member_id, praise, improve FROM review_comments WHERE review_id = $2",
    )
    .bind(&id)
    .bind(&old.id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn get(db: &Db, id: &str) -> anyhow::Result<Option<Review>> {
    Ok(
        sqlx::query_as::<_, Review>(sqlx::AssertSqlSafe(format!("{SELECT} WHERE r.id = $1")))
            .bind(id)
            .fetch_optional(&db.pool)
            .await?,
    )
}

/// Every review of a section, newest period first, latest version first.
pub async fn of_section(db: &Db, section_id: &str) -> anyhow::Result<Vec<Review>> {
    Ok(sqlx::query_as::<_, Review>(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE r.section_id = $1 ORDER BY r.period_end DESC, r.created_at DESC, r.version DESC"
    )))
    .bind(section_id)
    .fetch_all(&db.pool)
    .await?)
}

/// Published reviews (latest version of each series) whose period overlaps `[from, to)`,
/// of every section (workbooks filter by scope).
pub async fn published_between(db: &Db, from_ms: i64, to_ms: i64) -> anyhow::Result<Vec<Review>> {
    Ok(sqlx::query_as::<_, Review>(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE r.status = 'published' AND r.period_start < $2 AND r.period_end > $1 \
         AND NOT EXISTS (SELECT 1 FROM reviews n WHERE n.series_id = r.series_id AND n.status = 'published' AND n.version > r.version) \
         ORDER BY r.period_start"
    )))
    .bind(from_ms)
    .bind(to_ms)
    .fetch_all(&db.pool)
    .await?)
}

/// What a member may read: the latest published version of each review of their section,
/// and of any review that addresses them, newest first.
pub async fn for_member(
    db: &Db,
    member_id: &str,
    section_id: Option<&str>,
) -> anyhow::Result<Vec<Review>> {
    Ok(sqlx::query_as::<_, Review>(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE r.status = 'published' \
         AND (r.section_id = $1 OR EXISTS (SELECT 1 FROM review_comments c WHERE c.review_id = r.id AND c.member_id = $2)) \
         AND NOT EXISTS (SELECT 1 FROM reviews n WHERE n.series_id = r.series_id AND n.status = 'published' AND n.version > r.version) \
         ORDER BY r.period_end DESC, r.published_at DESC LIMIT 20"
    )))
    .bind(section_id.unwrap_or(""))
    .bind(member_id)
    .fetch_all(&db.pool)
    .await?)
}

/// Replaces a draft's text and comments (comments with no words are dropped). False when the
/// review is not a draft (any more).
pub async fn save_draft(
    db: &Db,
    id: &str,
    body: &str,
    comments: &[Comment],
) -> anyhow::Result<bool> {
    let mut tx = db.pool.begin().await?;
    let changed = sqlx::query(
        "UPDATE reviews SET body = $1, updated_at = $2 WHERE id = $3 AND status = 'draft'",
    )
    .bind(body)
    .bind(now_ms())
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed != 1 {
        return Ok(false);
    }
    sqlx::query("DELETE FROM review_comments WHERE review_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    for c in comments {
        if c.praise.trim().is_empty() && c.improve.trim().is_empty() {
            continue;
        }
        sqlx::query(
            "INSERT INTO review_comments (review_id, member_id, praise, improve) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(&c.member_id)
        .bind(c.praise.trim())
        .bind(c.improve.trim())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// Publishes a draft; false when it was not a draft.
pub async fn publish(db: &Db, id: &str) -> anyhow::Result<bool> {
    let now = now_ms();
    let done = sqlx::query(
        "UPDATE reviews SET status = 'published', published_at = $1, updated_at = $2 WHERE id = $3 AND status = 'draft'",
    )
    .bind(now)
    .bind(now)
    .bind(id)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn comments(db: &Db, review_id: &str) -> anyhow::Result<Vec<Comment>> {
    Ok(sqlx::query_as::<_, Comment>(
        "SELECT member_id, praise, improve FROM review_comments WHERE review_id = $1",
    )
    .bind(review_id)
    .fetch_all(&db.pool)
    .await?)
}

pub async fn comment_to(
    db: &Db,
    review_id: &str,
    member_id: &str,
) -> anyhow::Result<Option<Comment>> {
    Ok(sqlx::query_as::<_, Comment>(
        "SELECT member_id, praise, improve FROM review_comments WHERE review_id = $1 AND member_id = $2",
    )
    .bind(review_id)
    .bind(member_id)
    .fetch_optional(&db.pool)
    .await?)
}

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct Remark {
    pub id: String,
    pub author: String,
    pub body: String,
    pub created_at: i64,
}

pub async fn add_remark(
    db: &Db,
    review_id: &str,
    author_id: &str,
    body: &str,
) -> anyhow::Result<String> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO review_remarks (id, review_id, author_id, body, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&id)
    .bind(review_id)
    .bind(author_id)
    .bind(body)
    .bind(now_ms())
    .execute(&db.pool)
    .await?;
    Ok(id)
}

pub async fn remarks(db: &Db, review_id: &str) -> anyhow::Result<Vec<Remark>> {
    Ok(sqlx::query_as::<_, Remark>(
        "SELECT k.id, COALESCE(m.name, '') AS author, k.body, k.created_at FROM review_remarks k \
         LEFT JOIN members m ON m.id = k.author_id WHERE k.review_id = $1 ORDER BY k.created_at",
    )
    .bind(review_id)
    .fetch_all(&db.pool)
    .await?)
}
