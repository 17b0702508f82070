//! The organisation and its people: departments (司室), sections (处), members and
//! their sessions. Roles are stored as their ids (`member`, `section_head`, `host`, `admin`).

use super::{Db, new_id, now_ms};
use crate::domain::Role;
use sqlx::AnyConnection;

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct Member {
    pub id: String,
    pub staff_no: String,
    pub name: String,
    pub section_id: Option<String>,
    pub role: String,
    #[serde(skip)]
    pub password_hash: Option<String>,
    pub must_change_password: i64,
    pub active: i64,
}

impl Member {
    pub fn role(&self) -> Role {
        // Stored roles are written only from `Role::id`; an unknown one gets least rights.
        Role::parse(&self.role).unwrap_or(Role::Member)
    }
}

const MEMBER_COLUMNS: &str =
    "id, staff_no, name, section_id, role, password_hash, must_change_password, active";

pub async fn by_id(db: &Db, id: &str) -> anyhow::Result<Option<Member>> {
    Ok(sqlx::query_as::<_, Member>(sqlx::AssertSqlSafe(format!(
        "SELECT {MEMBER_COLUMNS} FROM members WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&db.pool)
    .await?)
}

pub async fn by_staff_no(db: &Db, staff_no: &str) -> anyhow::Result<Option<Member>> {
    Ok(sqlx::query_as::<_, Member>(sqlx::AssertSqlSafe(format!(
        "SELECT {MEMBER_COLUMNS} FROM members WHERE staff_no = $1"
    )))
    .bind(staff_no)
    .fetch_optional(&db.pool)
    .await?)
}

/// A member with the names of their section and department, for lists.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct Listed {
    pub id: String,
    pub staff_no: String,
    pub name: String,
    pub role: String,
    pub active: i64,
    pub section_id: Option<String>,
    pub section: Option<String>,
    pub department: Option<String>,
}

/// Members, optionally only those of one section.
pub async fn list(db: &Db, section_id: Option<&str>) -> anyhow::Result<Vec<Listed>> {
    Ok(sqlx::query_as::<_, Listed>(
        "SELECT m.id, m.staff_no, m.name, m.role, m.active, m.section_id, s.name AS section, d.name AS department \
         FROM members m LEFT JOIN sections s ON s.id = m.section_id \
         LEFT JOIN departments d ON d.id = s.department_id \
         WHERE ($1 = '' OR m.section_id = $1) ORDER BY d.name, s.name, m.staff_no",
    )
    .bind(section_id.unwrap_or(""))
    .fetch_all(&db.pool)
    .await?)
}

pub async fn count_active_admins(db: &Db) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM members WHERE role = 'admin' AND active = 1",
    )
    .fetch_one(&db.pool)
    .await?)
}

pub struct NewMember<'a> {
    pub staff_no: &'a str,
    pub name: &'a str,
    pub section_id: Option<&'a str>,
    pub role: Role,
    pub password_hash: Option<&'a str>,
    pub must_change_password: bool,
}

pub async fn insert(conn: &mut AnyConnection, m: NewMember<'_>) -> anyhow::Result<String> {
    let id = new_id();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO members (id, staff_no, name, section_id, role, password_hash, must_change_password, active, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9)",
    )
    .bind(&id)
    .bind(m.staff_no)
    .bind(m.name)
    .bind(m.section_id)
    .bind(m.role.id())
    .bind(m.password_hash)
    .bind(m.must_change_password as i64)
    .bind(now)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(id)
}

pub async fn set_password(
    db: &Db,
    member_id: &str,
    hash: &str,
    must_change: bool,
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE members SET password_hash = $1, must_change_password = $2, updated_at = $3 WHERE id = $4",
    )
    .bind(hash)
    .bind(must_change as i64)
    .bind(now_ms())
    .bind(member_id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// The id of the department named `name`, created when missing.
pub async fn department_id(conn: &mut AnyConnection, name: &str) -> anyhow::Result<String> {
    if let Some(id) = sqlx::query_scalar::<_, String>("SELECT id FROM departments WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?
    {
        return Ok(id);
    }
    let id = new_id();
    sqlx::query("INSERT INTO departments (id, name, created_at) VALUES ($1, $2, $3)")
        .bind(&id)
        .bind(name)
        .bind(now_ms())
        .execute(conn)
        .await?;
    Ok(id)
}

/// The id of section `name` of a department, created when missing.
pub async fn section_id(
    conn: &mut AnyConnection,
    department_id: &str,
    name: &str,
) -> anyhow::Result<String> {
    if let Some(id) = sqlx::query_scalar::<_, String>(
        "SELECT id FROM sections WHERE department_id = $1 AND name = $2",
    )
    .bind(department_id)
    .bind(name)
    .fetch_optional(&mut *conn)
    .await?
    {
        return Ok(id);
    }
    let id = new_id();
    sqlx::query(
        "INSERT INTO sections (id, department_id, name, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(&id)
    .bind(department_id)
    .bind(name)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(id)
}

/// Replaces the sections a head reviews.
pub async fn set_head_sections(
    conn: &mut AnyConnection,
    member_id: &str,
    section_ids: &[String],
) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM head_sections WHERE member_id = $1")
        .bind(member_id)
        .execute(&mut *conn)
        .await?;
    for s in section_ids {
        sqlx::query("INSERT INTO head_sections (member_id, section_id) VALUES ($1, $2)")
            .bind(member_id)
            .bind(s)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

pub async fn head_sections(db: &Db, member_id: &str) -> anyhow::Result<Vec<String>> {
    Ok(sqlx::query_scalar::<_, String>(
        "SELECT section_id FROM head_sections WHERE member_id = $1 ORDER BY section_id",
    )
    .bind(member_id)
    .fetch_all(&db.pool)
    .await?)
}

/// The departments whose every section a head reviews (司室负责同志).
pub async fn head_departments(db: &Db, member_id: &str) -> anyhow::Result<Vec<String>> {
    Ok(sqlx::query_scalar::<_, String>(
        "SELECT department_id FROM head_departments WHERE member_id = $1 ORDER BY department_id",
    )
    .bind(member_id)
    .fetch_all(&db.pool)
    .await?)
}

/// Replaces the departments a head reviews.
pub async fn set_head_departments(
    conn: &mut AnyConnection,
    member_id: &str,
    department_ids: &[String],
) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM head_departments WHERE member_id = $1")
        .bind(member_id)
        .execute(&mut *conn)
        .await?;
    for d in department_ids {
        sqlx::query("INSERT INTO head_departments (member_id, department_id) VALUES ($1, $2)")
            .bind(member_id)
            .bind(d)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct Section {
    pub id: String,
    pub name: String,
    pub department_id: String,
    pub department: String,
    /// Drills each member is asked to do per week.
    pub weekly_target: i64,
    /// Active members.
    pub members: i64,
}

const SECTION: &str = "SELECT s.id, s.name, s.department_id, d.name AS department, s.weekly_target, \
     (SELECT COUNT(*) FROM members m WHERE m.section_id = s.id AND m.active = 1) AS members \
     FROM sections s JOIN departments d ON d.id = s.department_id";

pub async fn sections(db: &Db) -> anyhow::Result<Vec<Section>> {
    Ok(sqlx::query_as::<_, Section>(sqlx::AssertSqlSafe(format!(
        "{SECTION} ORDER BY d.name, s.name"
    )))
    .fetch_all(&db.pool)
    .await?)
}

pub async fn section(db: &Db, id: &str) -> anyhow::Result<Option<Section>> {
    Ok(
        sqlx::query_as::<_, Section>(sqlx::AssertSqlSafe(format!("{SECTION} WHERE s.id = $1")))
            .bind(id)
            .fetch_optional(&db.pool)
            .await?,
    )
}

pub async fn set_weekly_target(db: &Db, section_id: &str, target: i64) -> anyhow::Result<()> {
    sqlx::query("UPDATE sections SET weekly_target = $1 WHERE id = $2")
        .bind(target)
        .bind(section_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// A department's name.
pub async fn department_name(db: &Db, id: &str) -> anyhow::Result<Option<String>> {
    Ok(
        sqlx::query_scalar::<_, String>("SELECT name FROM departments WHERE id = $1")
            .bind(id)
            .fetch_optional(&db.pool)
            .await?,
    )
}

// ---- sessions ----

pub async fn create_session(
    db: &Db,
    token_hash: &str,
    member_id: &str,
    csrf_token: &str,
    ttl_ms: i64,
) -> anyhow::Result<()> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO sessions (token_hash, member_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash)
    .bind(member_id)
    .bind(csrf_token)
    .bind(now)
    .bind(now + ttl_ms)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// The active member of a live session, and the session's CSRF token (one statement: this
/// runs on every authenticated request).
/// Returns the member, the CSRF token and when the session expires.
pub async fn session(db: &Db, token_hash: &str) -> anyhow::Result<Option<(Member, String, i64)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        member: Member,
        csrf_token: String,
        expires_at: i64,
    }
    let row: Option<Row> = sqlx::query_as(
        "SELECT m.id, m.staff_no, m.name, m.section_id, m.role, m.password_hash, m.must_change_password, \
         m.active, s.csrf_token, s.expires_at FROM sessions s JOIN members m ON m.id = s.member_id \
         WHERE s.token_hash = $1 AND s.expires_at > $2 AND m.active = 1",
    )
    .bind(token_hash)
    .bind(now_ms())
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.map(|r| (r.member, r.csrf_token, r.expires_at)))
}

pub async fn delete_session(db: &Db, token_hash: &str) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Ends every session of a member except `keep` (after a password change).
pub async fn delete_other_sessions(db: &Db, member_id: &str, keep: &str) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM sessions WHERE member_id = $1 AND token_hash <> $2")
        .bind(member_id)
        .bind(keep)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Ends every session of a member (after an administrator reset their password).
pub async fn delete_sessions(db: &Db, member_id: &str) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM sessions WHERE member_id = $1")
        .bind(member_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}
