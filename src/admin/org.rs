//! Departments (司室) and sections (处室) in the console: the overview with member counts and
//! weekly targets, creating and renaming, and merging one section into another.

use super::{audit_in, clean_name};
use crate::error::AppError;
use crate::records::members;
use crate::records::{Db, new_id, now_ms};
use serde_json::{Value, json};

/// Departments with their sections, member counts (active members) and weekly targets.
pub async fn overview(db: &Db) -> anyhow::Result<Value> {
    let departments: Vec<(String, String)> =
        sqlx::query_as("SELECT id, name FROM departments ORDER BY name")
            .fetch_all(&db.pool)
            .await?;
    let sections = members::sections(db).await?;
    let unplaced: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM members WHERE active = 1 AND section_id IS NULL")
            .fetch_one(&db.pool)
            .await?;
    let list: Vec<Value> = departments
        .into_iter()
        .map(|(id, name)| {
            let mine: Vec<&members::Section> =
                sections.iter().filter(|s| s.department_id == id).collect();
            let count: i64 = mine.iter().map(|s| s.members).sum();
            json!({
                "id": id, "name": name, "members": count,
                "sections": mine.iter().map(|s| json!({
                    "id": s.id, "name": s.name, "members": s.members,
                    "weekly_target": s.weekly_target,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(json!({ "departments": list, "unplaced": unplaced }))
}

fn name(s: &str) -> Result<String, AppError> {
    clean_name(s).map_err(AppError::Unprocessable)
}

async fn department_taken(db: &Db, name: &str, except: &str) -> anyhow::Result<bool> {
    Ok(sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM departments WHERE name = $1 AND id <> $2",
    )
    .bind(name)
    .bind(except)
    .fetch_one(&db.pool)
    .await?
        > 0)
}

async fn section_taken(db: &Db, dept: &str, name: &str, except: &str) -> anyhow::Result<bool> {
    Ok(sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM sections WHERE department_id = $1 AND name = $2 AND id <> $3",
    )
    .bind(dept)
    .bind(name)
    .bind(except)
    .fetch_one(&db.pool)
    .await?
        > 0)
}

pub async fn create_department(db: &Db, actor: &str, raw: &str) -> Result<String, AppError> {
    let n = name(raw)?;
    if department_taken(db, &n, "").await? {
        return Err(AppError::Conflict(format!("已有司室「{n}」")));
    }
    let id = new_id();
    let mut tx = db.pool.begin().await?;
    sqlx::query("INSERT INTO departments (id, name, created_at) VALUES ($1, $2, $3)")
        .bind(&id)
        .bind(&n)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
    audit_in(
        &mut tx,
        Some(actor),
        "department.create",
        &id,
        json!({"name": n}),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn rename_department(db: &Db, actor: &str, id: &str, raw: &str) -> Result<(), AppError> {
    let n = name(raw)?;
    let old = members::department_name(db, id)
        .await?
        .ok_or_else(|| AppError::NotFound("没有这个司室".into()))?;
    if department_taken(db, &n, id).await? {
        return Err(AppError::Conflict(format!("已有司室「{n}」")));
    }
    let mut tx = db.pool.begin().await?;
    sqlx::query("UPDATE departments SET name = $1 WHERE id = $2")
        .bind(&n)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    audit_in(
        &mut tx,
        Some(actor),
        "department.rename",
        id,
        json!({"from": old, "to": n}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn create_section(
    db: &Db,
    actor: &str,
    department_id: &str,
    raw: &str,
) -> Result<String, AppError> {
    let n = name(raw)?;
    members::department_name(db, department_id)
        .await?
        .ok_or_else(|| AppError::Unprocessable("没有这个司室".into()))?;
    if section_taken(db, department_id, &n, "").await? {
        return Err(AppError::Conflict(format!("本司室已有处室「{n}」")));
    }
    let id = new_id();
    let mut tx = db.pool.begin().await?;
    sqlx::query(
        "INSERT INTO sections (id, department_id, name, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(&id)
    .bind(department_id)
    .bind(&n)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    audit_in(
        &mut tx,
        Some(actor),
        "section.create",
        &id,
        json!({"name": n, "department": department_id}),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

async fn section(db: &Db, id: &str) -> Result<members::Section, AppError> {
    members::section(db, id)
        .await?
        .ok_or_else(|| AppError::NotFound("没有这个处室".into()))
}

pub async fn rename_section(db: &Db, actor: &str, id: &str, raw: &str) -> Result<(), AppError> {
    let n = name(raw)?;
    let s = section(db, id).await?;
    if section_taken(db, &s.department_id, &n, id).await? {
        return Err(AppError::Conflict(format!("本司室已有处室「{n}」")));
    }
    let mut tx = db.pool.begin().await?;
    sqlx::query("UPDATE sections SET name = $1 WHERE id = $2")
        .bind(&n)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    audit_in(
        &mut tx,
        Some(actor),
        "section.rename",
        id,
        json!({"from": s.name, "to": n}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn set_target(db: &Db, actor: &str, id: &str, target: i64) -> Result<(), AppError> {
    if !(1..=20).contains(&target) {
        return Err(AppError::Unprocessable("每周练兵目标应为 1–20 次".into()));
    }
    let s = section(db, id).await?;
    let mut tx = db.pool.begin().await?;
    sqlx::query("UPDATE sections SET weekly_target = $1 WHERE id = $2")
        .bind(target)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    audit_in(
        &mut tx,
        Some(actor),
        "section.target",
        id,
        json!({"from": s.weekly_target, "to": target}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Merges section `from` into `into`: its members (active or not), its heads, tasks and
/// reviews move; then `from` is deleted. One transaction. Returns what moved.
pub async fn merge(db: &Db, actor: &str, from: &str, into: &str) -> Result<Value, AppError> {
    if from == into {
        return Err(AppError::Unprocessable("不能把处室合并到它自己".into()));
    }
    let a = section(db, from).await?;
    let b = section(db, into).await?;
    let mut tx = db.pool.begin().await?;
    let moved_members =
        sqlx::query("UPDATE members SET section_id = $1, updated_at = $2 WHERE section_id = $3")
            .bind(into)
            .bind(now_ms())
            .bind(from)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    // A head of both keeps one row.
    sqlx::query(
        "DELETE FROM head_sections WHERE section_id = $1 AND member_id IN \
         (SELECT member_id FROM head_sections WHERE section_id = $2)",
    )
    .bind(from)
    .bind(into)
    .execute(&mut *tx)
    .await?;
    let moved_heads = sqlx::query("UPDATE head_sections SET section_id = $1 WHERE section_id = $2")
        .bind(into)
        .bind(from)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    let moved_tasks = sqlx::query("UPDATE tasks SET section_id = $1 WHERE section_id = $2")
        .bind(into)
        .bind(from)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    let moved_reviews = sqlx::query("UPDATE reviews SET section_id = $1 WHERE section_id = $2")
        .bind(into)
        .bind(from)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    sqlx::query("DELETE FROM sections WHERE id = $1")
        .bind(from)
        .execute(&mut *tx)
        .await?;
    let detail = json!({
        "from": {"id": a.id, "name": a.name, "department": a.department},
        "into": {"id": b.id, "name": b.name, "department": b.department},
        "members": moved_members, "heads": moved_heads,
        "tasks": moved_tasks, "reviews": moved_reviews,
    });
    audit_in(&mut tx, Some(actor), "section.merge", into, detail.clone()).await?;
    tx.commit().await?;
    Ok(detail)
}
