//! The records: the source of truth, in SQL through sqlx.
//!
//! One code path serves SQLite (the embedded default) and PostgreSQL (for scale),
//! chosen by the URL scheme: queries go through sqlx's `Any` driver, use `$1…` placeholders
//! (which both accept), TEXT ids, BIGINT epoch milliseconds and 0/1 integer flags, so no
//! query needs to know which database runs it. Queries are checked at run time and
//! covered by tests on both databases; building needs no database.
//!
//! Each submodule owns one aggregate. Nothing here knows about HTTP.

pub mod audit;
pub mod competitions;
pub mod drills;
pub mod exams;
pub mod items;
pub mod members;
pub mod progress;
pub mod questions;
pub mod reviews;
pub mod settings;
pub mod stages;
pub mod tasks;
pub mod teams;

use anyhow::Context;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::Migrator;
use std::time::{SystemTime, UNIX_EPOCH};

pub use sqlx::AnyPool;

/// SHA-384 of the form of migration 0002 that carried the `members_name` index (identical for
/// both backends; kept in tests/fixtures).
pub const EARLY_0002_WITH_MEMBER_NAMES: &str = "210001be372f5109ec3b5b27103f83347df101724bc5aff13d5ce9a2b65728fd6157bddff69829e57052c4703edd7827";

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// The records database: a pool and which backend it is.
#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
}

/// Milliseconds since the Unix epoch: how every time is stored.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A new record id: a UUID v7 as 32 hex digits. Its first 48 bits are the time in
/// milliseconds, so ids made one after another sort together and an index on them grows at
/// its end (random v4 ids put every insert at a random page); the rest (a counter within
/// the millisecond and random bits) keeps them unique and in the order they were made.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

impl Db {
    /// Connects and migrates. For SQLite the file and its folder are created when missing,
    /// and the database is put in WAL mode so readers never wait for the writer.
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        install_default_drivers();
        let (backend, url) = if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = rest.trim_start_matches("//");
            let path = path.split('?').next().unwrap_or(path);
            if !path.is_empty()
                && path != ":memory:"
                && let Some(parent) = std::path::Path::new(path).parent()
                && !parent.as_os_str().is_empty()
            {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("无法创建数据库目录 {}", parent.display()))?;
            }
            let url = if url.contains("mode=") {
                url.to_string()
            } else if url.contains('?') {
                format!("{url}&mode=rwc")
            } else {
                format!("{url}?mode=rwc")
            };
            (Backend::Sqlite, url)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            (Backend::Postgres, url.to_string())
        } else {
            anyhow::bail!("不支持的数据库地址「{url}」：应以 sqlite: 或 postgres: 开头");
        };
        let max = match backend {
            // One writer at a time anyway; a few readers beside it.
            Backend::Sqlite => 8,
            Backend::Postgres => 16,
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL + NORMAL: a commit is durable once it is in the WAL, which
                        // survives a crash of the process; only a power loss or OS crash can
                        // lose the last transactions. FULL would fsync every commit.
                        sqlx::query("PRAGMA synchronous=NORMAL")
                            .execute(&mut *conn)
                            .await?;
                        // Checkpoints run beside the writers (see `checkpoints`), not inside
                        // whichever commit happens to fill the log.
                        sqlx::query("PRAGMA wal_autocheckpoint=0")
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .with_context(|| format!("无法连接数据库 {}", redact(&url)))?;
        if backend == Backend::Sqlite {
            sqlx::query("PRAGMA journal_mode=WAL")
                .execute(&pool)
                .await
                .context("无法启用 WAL 模式")?;
        }
        let db = Db { pool, backend };
        db.migrate().await?;
        if backend == Backend::Sqlite {
            tokio::spawn(checkpoints(db.pool.clone()));
        }
        Ok(db)
    }

    async fn migrate(&self) -> anyhow::Result<()> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        self.accept_early_0002(migrator).await?;
        migrator.run(&self.pool).await.context("数据库迁移失败")?;
        Ok(())
    }

    /// Migration 0002 shipped in two forms: the second added the `members_name` index, which
    /// now lives in 0003. A database migrated with that form has the same tables and a
    /// different checksum; it is recorded as migrated with the 0002 of this tree (0003 then
    /// finds its index already there). Any other checksum is left for the migrator to refuse.
    async fn accept_early_0002(&self, migrator: &Migrator) -> anyhow::Result<()> {
        let Some(current) = migrator.iter().find(|m| m.version == 2) else {
            return Ok(());
        };
        // A fresh database has no migrations table yet: nothing to reconcile.
        let Ok(applied) = sqlx::query_scalar::<_, Vec<u8>>(
            "SELECT checksum FROM _sqlx_migrations WHERE version = 2",
        )
        .fetch_optional(&self.pool)
        .await
        else {
            return Ok(());
        };
        if applied.is_some_and(|c| hex::encode(c) == EARLY_0002_WITH_MEMBER_NAMES) {
            sqlx::query("UPDATE _sqlx_migrations SET checksum = $1 WHERE version = 2")
                .bind(current.checksum.to_vec())
                .execute(&self.pool)
                .await
                .context("迁移 0002 的校验和更新失败")?;
        }
        Ok(())
    }
}

/// Copies SQLite's write-ahead log back into the database twice a second, on a connection of
/// its own. Left to SQLite, the commit that fills the log would checkpoint it (and wait for
/// the disk) while every answer behind it waits too. PASSIVE never blocks readers or writers.
async fn checkpoints(pool: AnyPool) {
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(500));
    while !pool.is_closed() {
        tick.tick().await;
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            tracing::warn!(error = ?e, "WAL checkpoint failed");
        }
    }
}

/// Parameters `first ..= first + n - 1` as a comma-separated list, for generated statements
/// (multi-row inserts, `IN` lists). PostgreSQL gets `$n`; SQLite gets anonymous `?`, bound in
/// order — with numbered ones sqlx looks up each parameter's name, which SQLite finds by a
/// linear scan, so a statement of n parameters cost n² steps (a thousand-parameter insert
/// spent more time there than inserting).
pub(crate) fn params(backend: Backend, first: usize, n: usize) -> String {
    let cells: Vec<String> = match backend {
        Backend::Sqlite => vec!["?".to_string(); n],
        Backend::Postgres => (first..first + n).map(|i| format!("${i}")).collect(),
    };
    cells.join(", ")
}

/// `($1, $2), ($3, $4)…` (or `(?, ?), (?, ?)…`) for a multi-row INSERT of `rows` rows of
/// `cols` columns. Written out by hand: `QueryBuilder` under `Any` writes `?`, which
/// PostgreSQL rejects.
pub(crate) fn placeholders(backend: Backend, rows: usize, cols: usize) -> String {
    (0..rows)
        .map(|r| format!("({})", params(backend, r * cols + 1, cols)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `items` in chunks of powers of two (at most `max`): a batch of any size is written with
/// few distinct statements, so they stay prepared (PostgreSQL) and cached (both).
pub(crate) fn pow2_chunks<T>(items: &[T], max: usize) -> Vec<&[T]> {
    let mut out = Vec::new();
    let mut rest = items;
    while !rest.is_empty() {
        let n = max.min(1 << rest.len().ilog2());
        let (head, tail) = rest.split_at(n);
        out.push(head);
        rest = tail;
    }
    out
}

impl Db {
    pub(crate) fn placeholders(&self, rows: usize, cols: usize) -> String {
        placeholders(self.backend, rows, cols)
    }
}

impl Backend {
    /// The backend of a connection.
    pub fn of(conn: &sqlx::AnyConnection) -> Backend {
        if conn.backend_name().eq_ignore_ascii_case("sqlite") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        }
    }
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Whether an error is a unique index refusing a second row (one that a concurrent
/// transaction wrote first).
pub fn is_unique_violation(e: &anyhow::Error) -> bool {
    e.downcast_ref::<sqlx::Error>().is_some_and(|e| match e {
        sqlx::Error::Database(d) => d.is_unique_violation(),
        _ => false,
    })
}

/// A record conducted by one instance at a time under a lease: a live room's competition, a
/// stage final. Its row carries `owner_fence`, the fence of the lease it was last claimed under.
#[derive(Debug, Clone, Copy)]
pub enum Owned {
    Competition,
    Stage,
}

impl Owned {
    /// Raises the fence to a newer one.
    fn claim_sql(self) -> &'static str {
        match self {
            Owned::Competition => {
                "UPDATE competitions SET owner_fence = $2 WHERE id = $1 AND owner_fence < $2"
            }
            Owned::Stage => "UPDATE stages SET owner_fence = $2 WHERE id = $1 AND owner_fence < $2",
        }
    }

    /// Locks the row while the fence is the conductor's.
    fn hold_sql(self) -> &'static str {
        match self {
            Owned::Competition => {
                "UPDATE competitions SET owner_fence = owner_fence WHERE id = $1 AND owner_fence = $2"
            }
            Owned::Stage => {
                "UPDATE stages SET owner_fence = owner_fence WHERE id = $1 AND owner_fence = $2"
            }
        }
    }
}

/// The conductor is no longer the record's owner: a newer one raised the fence.
#[derive(Debug, thiserror::Error)]
#[error("fenced: a newer conductor claimed the record")]
pub struct Fenced;

/// An instance taking a record over under lease fence `fence` (fences only grow): `false`
/// when a conductor with the same or a newer fence has claimed it already.
pub async fn claim_owned(db: &Db, what: Owned, id: &str, fence: i64) -> anyhow::Result<bool> {
    let done = sqlx::query(what.claim_sql())
        .bind(id)
        .bind(fence)
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Within a transaction: holds the record's row under the conductor's fence (0: a single
/// instance, nothing to hold) until the commit, so a takeover's claim comes before or after
/// the write; [`Fenced`] once a newer conductor claimed it.
pub async fn hold_owned(
    conn: &mut sqlx::AnyConnection,
    what: Owned,
    id: &str,
    fence: i64,
) -> anyhow::Result<()> {
    if fence == 0 {
        return Ok(());
    }
    let held = sqlx::query(what.hold_sql())
        .bind(id)
        .bind(fence)
        .execute(&mut *conn)
        .await?;
    if held.rows_affected() == 0 {
        return Err(Fenced.into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            super::redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(
            super::redact("sqlite://data/biwu.db"),
            "sqlite://data/biwu.db"
        );
    }

    #[test]
    fn ids_are_hex_and_sort_in_the_order_they_were_made() {
        let ids: Vec<String> = (0..2000).map(|_| super::new_id()).collect();
        assert!(
            ids.iter()
                .all(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()))
        );
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, ids, "made one after another, stored in index order");
    }

    #[test]
    fn generated_parameters_suit_each_database() {
        use super::{Backend, params, placeholders};
        assert_eq!(placeholders(Backend::Postgres, 2, 2), "($1, $2), ($3, $4)");
        assert_eq!(placeholders(Backend::Sqlite, 2, 2), "(?, ?), (?, ?)");
        assert_eq!(params(Backend::Postgres, 3, 2), "$3, $4");
        assert_eq!(params(Backend::Sqlite, 3, 2), "?, ?");
    }
}
