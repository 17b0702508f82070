//! The agency's settings: a few named values kept in the records.

use super::Db;

/// The agency's name on print views and workbooks.
pub const AGENCY_NAME: &str = "agency_name";
/// Shown until an administrator sets the name.
pub const DEFAULT_AGENCY_NAME: &str = "国家信访局";

pub async fn get(db: &Db, key: &str) -> anyhow::Result<Option<String>> {
    Ok(
        sqlx::query_scalar::<_, String>("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_optional(&db.pool)
            .await?,
    )
}

pub async fn set(db: &Db, key: &str, value: &str) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(key)
    .bind(value)
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn agency_name(db: &Db) -> anyhow::Result<String> {
    Ok(get(db, AGENCY_NAME)
        .await?
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_AGENCY_NAME.to_string()))
}
