//! The roster (人员名册): members imported from a spreadsheet with columns
//! 姓名, 工号, 司室, 处室, 角色.
//!
//! Re-importing updates members by 工号 and never duplicates them. Members missing from a
//! new roster are deactivated (history kept); admins are never deactivated by a roster, so
//! an import cannot lock everyone out. New members get a one-time password.

use crate::accounts::valid_staff_no;
use crate::auth::{hash_password, one_time_password};
use crate::bank::sheet::RowError;
use crate::domain::Role;
use crate::records::members::{self, NewMember};
use crate::records::{Db, audit, now_ms};
use crate::table;
use std::collections::HashMap;
use std::path::Path;

pub const COLUMNS: [&str; 5] = ["姓名", "工号", "司室", "处室", "角色"];

#[derive(Debug, Clone)]
pub struct Entry {
    pub row: usize,
    pub name: String,
    pub staff_no: String,
    pub department: String,
    /// One section, or for a head several separated by 、
    pub sections: Vec<String>,
    pub role: Role,
}

/// Parses and checks every row; all bad rows are returned, each with its number.
pub fn parse(path: &Path) -> anyhow::Result<(Vec<Entry>, Vec<RowError>)> {
    let t = table::read(path)?;
    let missing = t.missing_columns(&COLUMNS);
    anyhow::ensure!(
        missing.is_empty(),
        "{}：缺少列 {}（名册列：{}）",
        path.display(),
        missing.join("、"),
        COLUMNS.join("、")
    );
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for row in &t.rows {
        let mut problems = Vec::new();
        let name = t.get(row, "姓名").to_string();
        let staff_no = t.get(row, "工号").to_string();
        let department = t.get(row, "司室").to_string();
        let sections: Vec<String> = t
            .get(row, "处室")
            .split(['、', ',', '，', ';', '；'])
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        let role_text = t.get(row, "角色");
        if name.is_empty() {
            problems.push("姓名为空".to_string());
        }
        if !valid_staff_no(&staff_no) {
            problems.push(format!(
                "工号「{staff_no}」无效（字母、数字、- 或 _，最长 32 位）"
            ));
        } else if let Some(first) = seen.insert(staff_no.clone(), row.number) {
            problems.push(format!("工号 {staff_no} 与第 {first} 行重复"));
        }
        let role = if role_text.is_empty() {
            Some(Role::Member)
        } else {
            Role::parse(role_text)
        };
        if role.is_none() {
            problems.push(format!(
                "未知角色「{role_text}」（党员、处长、主持人、管理员）"
            ));
        }
        let needs_section = matches!(role, Some(Role::Member | Role::SectionHead));
        if needs_section && (department.is_empty() || sections.is_empty()) {
            problems.push("党员和处室负责人须填写司室和处室".to_string());
        }
        if !sections.is_empty() && department.is_empty() {
            problems.push("填写了处室却没有司室".to_string());
        }
        if sections.len() > 1 && role != Some(Role::SectionHead) {
            problems.push("只有处室负责人可以对应多个处室".to_string());
        }
        if problems.is_empty() {
            entries.push(Entry {
                row: row.number,
                name,
                staff_no,
                department,
                sections,
                role: role.expect("checked"),
            });
        } else {
            errors.extend(problems.into_iter().map(|message| RowError {
                row: row.number,
                message,
            }));
        }
    }
    Ok((entries, errors))
}

#[derive(Debug, Default)]
pub struct Outcome {
    pub added: usize,
    pub updated: usize,
    pub deactivated: usize,
    /// (staff_no, name, one-time password) of new members.
    pub passwords: Vec<(String, String, String)>,
}

/// Applies a parsed roster in one transaction.
pub async fn apply(db: &Db, entries: &[Entry]) -> anyhow::Result<Outcome> {
    let mut out = Outcome::default();
    // Hash new passwords before the transaction: argon2 is slow on purpose.
    let mut fresh = HashMap::new();
    for e in entries {
        if members::by_staff_no(db, &e.staff_no).await?.is_none() {
            let p = one_time_password();
            fresh.insert(e.staff_no.clone(), (hash_password(&p)?, p));
        }
    }
    let now = now_ms();
    let mut tx = db.pool.begin().await?;
    for e in entries {
        let mut section_ids = Vec::new();
        if !e.department.is_empty() {
            let dept = members::department_id(&mut tx, &e.department).await?;
            for s in &e.sections {
                section_ids.push(members::section_id(&mut tx, &dept, s).await?);
            }
        }
        let home = section_ids.first().map(String::as_str);
        let existing: Option<String> =
            sqlx::query_scalar("SELECT id FROM members WHERE staff_no = $1")
                .bind(&e.staff_no)
                .fetch_optional(&mut *tx)
                .await?;
        let member_id = match existing {
            Some(id) => {
                sqlx::query(
                    "UPDATE members SET name = $1, section_id = $2, role = $3, active = 1, updated_at = $4 WHERE id = $5",
                )
                .bind(&e.name)
                .bind(home)
                .bind(e.role.id())
                .bind(now)
                .bind(&id)
                .execute(&mut *tx)
                .await?;
                out.updated += 1;
                id
            }
            None => {
                let (hash, password) = &fresh[&e.staff_no];
                let id = members::insert(
                    &mut tx,
                    NewMember {
                        staff_no: &e.staff_no,
                        name: &e.name,
                        section_id: home,
                        role: e.role,
                        password_hash: Some(hash),
                        must_change_password: true,
                    },
                )
                .await?;
                out.added += 1;
                out.passwords
                    .push((e.staff_no.clone(), e.name.clone(), password.clone()));
                id
            }
        };
        let heads = if e.role == Role::SectionHead {
            section_ids
        } else {
            vec![]
        };
        members::set_head_sections(&mut tx, &member_id, &heads).await?;
    }
    // Deactivate whoever the roster no longer lists (never admins).
    let listed: std::collections::HashSet<&str> =
        entries.iter().map(|e| e.staff_no.as_str()).collect();
    let active: Vec<(String, String)> =
        sqlx::query_as("SELECT id, staff_no FROM members WHERE active = 1 AND role <> 'admin'")
            .fetch_all(&mut *tx)
            .await?;
    for (id, staff_no) in active {
        if !listed.contains(staff_no.as_str()) {
            sqlx::query("UPDATE members SET active = 0, updated_at = $1 WHERE id = $2")
                .bind(now)
                .bind(&id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM sessions WHERE member_id = $1")
                .bind(&id)
                .execute(&mut *tx)
                .await?;
            out.deactivated += 1;
        }
    }
    tx.commit().await?;
    audit::record(
        db,
        None,
        "roster.import",
        "members",
        serde_json::json!({ "added": out.added, "updated": out.updated, "deactivated": out.deactivated }),
    )
    .await?;
    Ok(out)
}
