//! Members in the console: search, and one change form (role, section, what a head heads,
//! active). Each aspect that changes gets its own audit entry; the last active admin can be
//! neither demoted nor deactivated.

use super::audit_in;
use crate::domain::Role;
use crate::error::AppError;
use crate::records::members;
use crate::records::{Db, now_ms};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Debug, Default, Deserialize)]
pub struct Search {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub department: String,
    #[serde(default)]
    pub section: String,
    #[serde(default)]
    pub role: String,
    /// "1" active only, "0" inactive only, anything else both.
    #[serde(default)]
    pub active: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Found {
    pub id: String,
    pub staff_no: String,
    pub name: String,
    pub role: String,
    pub active: i64,
    pub must_change_password: i64,
    pub section_id: Option<String>,
    pub section: Option<String>,
    pub department_id: Option<String>,
    pub department: Option<String>,
}

const FOUND: &str = "SELECT m.id, m.staff_no, m.name, m.role, m.active, m.must_change_password, m.section_id, \
     s.name AS section, s.department_id, d.name AS department \
     FROM members m LEFT JOIN sections s ON s.id = m.section_id \
     LEFT JOIN departments d ON d.id = s.department_id";

/// At most this many members per search.
pub const LIMIT: i64 = 300;

/// Members by name or 工号 (part of either), department, section, role and state.
pub async fn search(db: &Db, s: &Search) -> anyhow::Result<Vec<Found>> {
    let q = s.q.trim();
    let pattern = format!(
        "%{}%",
        q.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    let active: i64 = match s.active.as_str() {
        "1" | "true" => 1,
        "0" | "false" => 0,
        _ => -1,
    };
    Ok(sqlx::query_as::<_, Found>(sqlx::AssertSqlSafe(format!(
        "{FOUND} WHERE ($1 = '' OR m.name LIKE $2 ESCAPE '\\' OR m.staff_no LIKE $2 ESCAPE '\\') \
         AND ($3 = '' OR s.department_id = $3) AND ($4 = '' OR m.section_id = $4) \
         AND ($5 = '' OR m.role = $5) AND ($6 < 0 OR m.active = $6) \
         ORDER BY d.name, s.name, m.staff_no LIMIT {LIMIT}"
    )))
    .bind(q)
    .bind(pattern)
    .bind(s.department.trim())
    .bind(s.section.trim())
    .bind(s.role.trim())
    .bind(active)
    .fetch_all(&db.pool)
    .await?)
}

pub async fn found(db: &Db, id: &str) -> anyhow::Result<Option<Found>> {
    Ok(
        sqlx::query_as::<_, Found>(sqlx::AssertSqlSafe(format!("{FOUND} WHERE m.id = $1")))
            .bind(id)
            .fetch_optional(&db.pool)
            .await?,
    )
}

/// One member with what they head, for the edit form.
pub async fn detail(db: &Db, id: &str) -> Result<serde_json::Value, AppError> {
    let m = found(db, id)
        .await?
        .ok_or_else(|| AppError::NotFound("没有这个成员".into()))?;
    let sections = members::head_sections(db, id).await?;
    let departments = members::head_departments(db, id).await?;
    Ok(json!({ "member": m, "head_sections": sections, "head_departments": departments }))
}

/// The change form; an absent field stays as it is.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Edit {
    pub role: Option<String>,
    /// `Some(None)` (JSON null) takes the member out of every section (admins only).
    #[serde(default, with = "double_option")]
    pub section_id: Option<Option<String>>,
    pub head_sections: Option<Vec<String>>,
    pub head_departments: Option<Vec<String>>,
    pub active: Option<bool>,
}

mod double_option {
    use serde::{Deserialize, Deserializer};
    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<String>>, D::Error> {
        Option::<String>::deserialize(d).map(Some)
    }
}

/// What an edit changed.
#[derive(Debug, Default, Serialize)]
pub struct Edited {
    pub changes: Vec<String>,
    /// Sessions must be forgotten (role or state changed).
    #[serde(skip)]
    pub rights_changed: bool,
}

async fn exists(db: &Db, table: &str, id: &str) -> anyhow::Result<bool> {
    Ok(sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM {table} WHERE id = $1"
    )))
    .bind(id)
    .fetch_one(&db.pool)
    .await?
        > 0)
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    v.iter_mut().for_each(|s| *s = s.trim().to_string());
    v.retain(|s| !s.is_empty());
    v.sort();
    v.dedup();
    v
}

/// Applies an edit in one transaction with its audit entries.
pub async fn edit(db: &Db, actor: &str, id: &str, e: Edit) -> Result<Edited, AppError> {
    let m = found(db, id)
        .await?
        .ok_or_else(|| AppError::NotFound("没有这个成员".into()))?;
    let old_role = m.role.clone();
    let role = match &e.role {
        Some(r) => {
            Role::parse(r).ok_or_else(|| AppError::Unprocessable(format!("未知角色「{r}」")))?
        }
        None => Role::parse(&old_role).unwrap_or(Role::Member),
    };
    let section = match &e.section_id {
        Some(s) => s.clone().filter(|s| !s.trim().is_empty()),
        None => m.section_id.clone(),
    };
    if let Some(s) = &section
        && !exists(db, "sections", s).await?
    {
        return Err(AppError::Unprocessable(format!("没有处室「{s}」")));
    }
    if section.is_none() && role != Role::Admin {
        return Err(AppError::Unprocessable(
            "管理员以外的成员须属于一个处室".into(),
        ));
    }
    let active = e.active.unwrap_or(m.active == 1);
    let old_heads = members::head_sections(db, id).await?;
    let old_depts = members::head_departments(db, id).await?;
    let (heads, depts) = if role == Role::SectionHead {
        (
            dedup(e.head_sections.clone().unwrap_or(old_heads.clone())),
            dedup(e.head_departments.clone().unwrap_or(old_depts.clone())),
        )
    } else {
        // Only section heads head anything.
        (Vec::new(), Vec::new())
    };
    for s in &heads {
        if !exists(db, "sections", s).await? {
            return Err(AppError::Unprocessable(format!("没有处室「{s}」")));
        }
    }
    for d in &depts {
        if !exists(db, "departments", d).await? {
            return Err(AppError::Unprocessable(format!("没有司室「{d}」")));
        }
    }
    let was_admin = old_role == Role::Admin.id() && m.active == 1;
    let stays_admin = role == Role::Admin && active;
    if was_admin && !stays_admin && members::count_active_admins(db).await? <= 1 {
        return Err(AppError::Conflict(
            "这是最后一名在用的管理员，不能取消其管理员角色或停用".into(),
        ));
    }
    let mut out = Edited::default();
    let mut tx = db.pool.begin().await?;
    sqlx::query(
        "UPDATE members SET role = $1, section_id = $2, active = $3, updated_at = $4 WHERE id = $5",
    )
    .bind(role.id())
    .bind(section.as_deref())
    .bind(active as i64)
    .bind(now_ms())
    .bind(id)
    .execute(&mut *tx)
    .await?;
    if role.id() != old_role {
        audit_in(
            &mut tx,
            Some(actor),
            "member.role",
            id,
            json!({"staff_no": m.staff_no, "from": old_role, "to": role.id()}),
        )
        .await?;
        out.changes.push("role".into());
        out.rights_changed = true;
    }
    if section != m.section_id {
        audit_in(
            &mut tx,
            Some(actor),
            "member.section",
            id,
            json!({"staff_no": m.staff_no, "from": m.section_id, "to": section}),
        )
        .await?;
        out.changes.push("section".into());
    }
    if heads != old_heads || depts != old_depts {
        members::set_head_sections(&mut tx, id, &heads).await?;
        members::set_head_departments(&mut tx, id, &depts).await?;
        audit_in(
            &mut tx,
            Some(actor),
            "member.heads",
            id,
            json!({"staff_no": m.staff_no, "sections": heads, "departments": depts,
                   "from_sections": old_heads, "from_departments": old_depts}),
        )
        .await?;
        out.changes.push("heads".into());
        out.rights_changed = true;
    }
    if active != (m.active == 1) {
        if !active {
            sqlx::query("DELETE FROM sessions WHERE member_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        audit_in(
            &mut tx,
            Some(actor),
            if active {
                "member.reactivate"
            } else {
                "member.deactivate"
            },
            id,
            json!({"staff_no": m.staff_no, "name": m.name, "via": "console"}),
        )
        .await?;
        out.changes.push("active".into());
        out.rights_changed = true;
    }
    tx.commit().await?;
    Ok(out)
}
