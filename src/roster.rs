//! The roster (人员名册): members imported from a spreadsheet with columns
//! 姓名, 工号, 司室, 处室, 角色 — in three steps that never overlap:
//!
//! 1. [`parse`] / [`parse_bytes`] read and check every row: all bad rows come back, each with
//!    the row number Excel shows, the column and what is wrong. A file with no data rows is
//!    refused ("名册为空").
//! 2. [`plan`] compares the rows with the records and says what an import would do: who is
//!    added, renamed, moved to another section, given another role, reactivated, and who is
//!    active but missing from the file. It only reads.
//! 3. [`apply`] carries out a plan in one transaction, with its audit entries.
//!
//! Members are matched by 工号; a re-import never duplicates anyone. Members missing from the
//! file are deactivated (history kept, sessions ended) only when asked (`--deactivate-missing`
//! or the console's box); otherwise they are kept and listed as "不在名册中（保留）". Admins
//! are never deactivated by a roster and an admin cannot take their own admin role away
//! through one, so an import cannot lock everyone out. New members get a one-time password,
//! returned once in the [`Outcome`] and stored only as a hash.

use crate::accounts::valid_staff_no;
use crate::auth::{hash_password, one_time_password};
use crate::domain::Role;
use crate::records::members::{self, NewMember};
use crate::records::{Db, new_id, now_ms};
use crate::table::{self, Table};
use serde::Serialize;
use serde_json::json;
use sqlx::AnyConnection;
use std::collections::{HashMap, HashSet};
use std::path::Path;

pub const COLUMNS: [&str; 5] = ["姓名", "工号", "司室", "处室", "角色"];

/// Largest roster file accepted over HTTP.
pub const MAX_FILE_BYTES: usize = 5 * 1024 * 1024;

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

/// What is wrong with one cell of the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The row number people see in Excel (the header is row 1).
    pub row: usize,
    /// The column's name in the header (姓名, 工号, …).
    pub column: &'static str,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "第 {} 行：{}（{}列）",
            self.row, self.message, self.column
        )
    }
}

/// Reads and checks a roster file (.xlsx or .csv).
pub fn parse(path: &Path) -> anyhow::Result<(Vec<Entry>, Vec<Problem>)> {
    let t = table::read(path)?;
    check(&t, &path.display().to_string())
}

/// Reads and checks an uploaded roster; `file_name`'s extension says .xlsx or .csv.
pub fn parse_bytes(bytes: &[u8], file_name: &str) -> anyhow::Result<(Vec<Entry>, Vec<Problem>)> {
    let ext = Path::new(file_name)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    anyhow::ensure!(
        ext == "xlsx" || ext == "csv",
        "不支持的文件类型「{file_name}」：请上传 .xlsx 或 .csv"
    );
    anyhow::ensure!(!bytes.is_empty(), "名册为空");
    // `table` reads from paths (calamine picks the format by extension); a private temporary
    // file, removed right after, keeps one reader for the CLI and the console.
    let tmp = std::env::temp_dir().join(format!(
        "biwu-roster-{}.{ext}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::write(&tmp, bytes)?;
    let read = table::read(&tmp);
    let _ = std::fs::remove_file(&tmp);
    // Messages name the file people uploaded, not the temporary one.
    let read = read.map_err(|e| {
        anyhow::anyhow!(format!("{e:#}").replace(&tmp.display().to_string(), file_name))
    })?;
    check(&read, file_name)
}

/// Control characters and the bidi overrides/isolates that can make a name display as
/// something else than it is.
pub(crate) fn hidden_char(s: &str) -> Option<char> {
    s.chars().find(|&c| {
        c.is_control()
            || ('\u{202A}'..='\u{202E}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c)
    })
}

fn check(t: &Table, what: &str) -> anyhow::Result<(Vec<Entry>, Vec<Problem>)> {
    let missing = t.missing_columns(&COLUMNS);
    anyhow::ensure!(
        missing.is_empty(),
        "{what}：缺少列 {}（名册列：{}）",
        missing.join("、"),
        COLUMNS.join("、")
    );
    anyhow::ensure!(!t.rows.is_empty(), "名册为空：{what} 没有数据行");
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for row in &t.rows {
        let mut problems: Vec<(&'static str, String)> = Vec::new();
        // Cells untrimmed first, so a hidden character at either end is still seen.
        let raw = |c: &str| -> String {
            t.columns
                .get(c)
                .and_then(|&i| row.cells.get(i))
                .cloned()
                .unwrap_or_default()
        };
        for column in ["姓名", "司室", "处室"] {
            if let Some(c) = hidden_char(&raw(column)) {
                problems.push((
                    column,
                    format!("含有不可见的控制字符 U+{:04X}，请删除后重新上传", c as u32),
                ));
            }
        }
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
            problems.push(("姓名", "姓名为空".to_string()));
        }
        if staff_no.is_empty() {
            problems.push(("工号", "工号为空".to_string()));
        } else if !valid_staff_no(&staff_no) {
            problems.push((
                "工号",
                format!("工号「{staff_no}」无效（字母、数字、- 或 _，最长 32 位）"),
            ));
        } else if let Some(first) = seen.get(&staff_no) {
            problems.push((
                "工号",
                format!(
                    "工号 {staff_no} 与第 {first} 行重复（第 {first} 行和第 {} 行）",
                    row.number
                ),
            ));
        } else {
            seen.insert(staff_no.clone(), row.number);
        }
        let role = if role_text.is_empty() {
            Some(Role::Member)
        } else {
            Role::parse(role_text)
        };
        if role.is_none() {
            problems.push((
                "角色",
                format!("未知角色「{role_text}」（党员、处长、主持人、管理员）"),
            ));
        }
        let needs_section = role.is_some_and(|r| r != Role::Admin);
        if needs_section && sections.is_empty() {
            problems.push(("处室", "处室为空（管理员以外的成员须填写处室）".to_string()));
        }
        if needs_section && department.is_empty() {
            problems.push(("司室", "司室为空（管理员以外的成员须填写司室）".to_string()));
        } else if !sections.is_empty() && department.is_empty() {
            problems.push(("司室", "填写了处室却没有司室".to_string()));
        }
        if sections.len() > 1 && role != Some(Role::SectionHead) {
            problems.push(("处室", "只有处室负责人可以对应多个处室".to_string()));
        }
        match role {
            Some(role) if problems.is_empty() => entries.push(Entry {
                row: row.number,
                name,
                staff_no,
                department,
                sections,
                role,
            }),
            _ => errors.extend(problems.into_iter().map(|(column, message)| Problem {
                row: row.number,
                column,
                message,
            })),
        }
    }
    Ok((entries, errors))
}

/// One line of a plan: a member and what changes for them.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    /// The member's id; empty for someone new.
    pub id: String,
    pub staff_no: String,
    pub name: String,
    /// The row in the file; `None` for someone missing from it.
    pub row: Option<usize>,
    pub from: String,
    pub to: String,
}

/// What an import would do. Computed from the file and the records, writing nothing.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Plan {
    /// The good rows, applied as a whole.
    #[serde(skip)]
    pub entries: Vec<Entry>,
    pub added: Vec<Change>,
    /// Name changes.
    pub updated: Vec<Change>,
    /// Moves to another 司室/处室.
    pub moved: Vec<Change>,
    pub roles: Vec<Change>,
    /// Inactive members the file lists again.
    pub reactivated: Vec<Change>,
    /// Active members (not admins) the file does not list.
    pub missing: Vec<Change>,
    pub errors: Vec<Problem>,
}

impl Plan {
    pub fn can_apply(&self) -> bool {
        self.errors.is_empty() && !self.entries.is_empty()
    }
}

fn place(department: Option<&str>, sections: &[String]) -> String {
    match department {
        Some(d) if !d.is_empty() => format!("{d} / {}", sections.join("、")),
        _ => "（无处室）".to_string(),
    }
}

fn role_name(id: &str) -> &'static str {
    Role::parse(id).map(Role::name_zh).unwrap_or("未知")
}

/// Compares checked rows with the records. `actor` is the admin importing (an admin cannot
/// take their own admin role away through a roster); `None` from the command line.
pub async fn plan(
    db: &Db,
    entries: Vec<Entry>,
    errors: Vec<Problem>,
    actor: Option<&str>,
) -> anyhow::Result<Plan> {
    let people = members::list(db, None).await?;
    let by_no: HashMap<&str, &members::Listed> =
        people.iter().map(|m| (m.staff_no.as_str(), m)).collect();
    let mut p = Plan {
        errors,
        ..Plan::default()
    };
    for e in &entries {
        let change = |id: &str, from: String, to: String| Change {
            id: id.to_string(),
            staff_no: e.staff_no.clone(),
            name: e.name.clone(),
            row: Some(e.row),
            from,
            to,
        };
        let to_place = place(Some(&e.department), &e.sections);
        let Some(m) = by_no.get(e.staff_no.as_str()) else {
            p.added.push(change("", String::new(), to_place));
            continue;
        };
        if m.name != e.name {
            p.updated
                .push(change(&m.id, m.name.clone(), e.name.clone()));
        }
        let home = e.sections.first().map(String::as_str);
        let same_place = if e.department.is_empty() {
            m.section_id.is_none()
        } else {
            m.department.as_deref() == Some(e.department.as_str()) && m.section.as_deref() == home
        };
        if !same_place {
            let from = place(
                m.department.as_deref(),
                &m.section.iter().cloned().collect::<Vec<_>>(),
            );
            p.moved.push(change(&m.id, from, to_place));
        }
        if m.role != e.role.id() {
            if actor == Some(m.id.as_str()) && m.role == Role::Admin.id() {
                p.errors.push(Problem {
                    row: e.row,
                    column: "角色",
                    message: "不能通过名册取消自己的管理员角色".to_string(),
                });
            }
            p.roles.push(change(
                &m.id,
                role_name(&m.role).to_string(),
                e.role.name_zh().to_string(),
            ));
        }
        if m.active == 0 {
            p.reactivated
                .push(change(&m.id, "已停用".to_string(), "恢复".to_string()));
        }
    }
    let listed: HashSet<&str> = entries.iter().map(|e| e.staff_no.as_str()).collect();
    for m in &people {
        if m.active == 1 && m.role != Role::Admin.id() && !listed.contains(m.staff_no.as_str()) {
            p.missing.push(Change {
                id: m.id.clone(),
                staff_no: m.staff_no.clone(),
                name: m.name.clone(),
                row: None,
                from: place(
                    m.department.as_deref(),
                    &m.section.iter().cloned().collect::<Vec<_>>(),
                ),
                to: String::new(),
            });
        }
    }
    p.errors.sort_by_key(|e| e.row);
    p.entries = entries;
    Ok(p)
}

/// What an import did.
#[derive(Debug, Default, Serialize)]
pub struct Outcome {
    pub added: usize,
    /// Members the file listed who were already in the records.
    pub updated: usize,
    pub renamed: usize,
    pub moved: usize,
    pub roles: usize,
    pub reactivated: usize,
    pub deactivated: usize,
    /// Missing from the file and kept active (deactivation not asked for).
    pub kept: usize,
    /// (staff_no, name, one-time password) of new members: shown once, never stored.
    #[serde(skip)]
    pub passwords: Vec<(String, String, String)>,
    /// Ids of the members deactivated (their remembered sessions must be forgotten).
    #[serde(skip)]
    pub deactivated_ids: Vec<String>,
}

pub(crate) async fn audit_in(
    conn: &mut AnyConnection,
    actor: Option<&str>,
    action: &str,
    subject: &str,
    detail: serde_json::Value,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (id, at, actor_id, action, subject, detail) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(new_id())
    .bind(now_ms())
    .bind(actor)
    .bind(action)
    .bind(subject)
    .bind(detail.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

/// Carries out a plan in one transaction, with its audit entries: one per kind of change
/// (with the count and the 工号 concerned), one per deactivation, and a summary.
pub async fn apply(
    db: &Db,
    plan: &Plan,
    actor: Option<&str>,
    deactivate_missing: bool,
) -> anyhow::Result<Outcome> {
    anyhow::ensure!(!plan.entries.is_empty(), "名册为空");
    anyhow::ensure!(
        plan.errors.is_empty(),
        "名册还有 {} 处问题，修正后重新上传",
        plan.errors.len()
    );
    let mut out = Outcome::default();
    // Hash new passwords before the transaction, off the async workers: argon2 is slow on
    // purpose.
    let new_nos: Vec<String> = plan.added.iter().map(|c| c.staff_no.clone()).collect();
    let fresh: HashMap<String, (String, String)> = tokio::task::spawn_blocking(move || {
        new_nos
            .into_iter()
            .map(|no| {
                let p = one_time_password();
                Ok((no, (hash_password(&p)?, p)))
            })
            .collect::<anyhow::Result<_>>()
    })
    .await??;
    let now = now_ms();
    let mut tx = db.pool.begin().await?;
    for e in &plan.entries {
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
                let Some((hash, password)) = fresh.get(&e.staff_no) else {
                    anyhow::bail!(
                        "名册预览已过时（工号 {} 的记录已变化），请重新上传",
                        e.staff_no
                    );
                };
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
    out.renamed = plan.updated.len();
    out.moved = plan.moved.len();
    out.roles = plan.roles.len();
    out.reactivated = plan.reactivated.len();
    for (action, list) in [
        ("roster.added", &plan.added),
        ("roster.renamed", &plan.updated),
        ("roster.moved", &plan.moved),
        ("roster.roles", &plan.roles),
        ("roster.reactivated", &plan.reactivated),
    ] {
        if !list.is_empty() {
            let nos: Vec<&str> = list.iter().map(|c| c.staff_no.as_str()).collect();
            audit_in(
                &mut tx,
                actor,
                action,
                "members",
                json!({ "count": list.len(), "staff_nos": nos }),
            )
            .await?;
        }
    }
    for m in &plan.missing {
        // Never the importing admin (the plan already leaves admins out).
        if !deactivate_missing || actor == Some(m.id.as_str()) {
            out.kept += 1;
            continue;
        }
        let done = sqlx::query(
            "UPDATE members SET active = 0, updated_at = $1 WHERE id = $2 AND active = 1 AND role <> 'admin'",
        )
        .bind(now)
        .bind(&m.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if done == 0 {
            continue;
        }
        sqlx::query("DELETE FROM sessions WHERE member_id = $1")
            .bind(&m.id)
            .execute(&mut *tx)
            .await?;
        audit_in(
            &mut tx,
            actor,
            "member.deactivate",
            &m.id,
            json!({ "staff_no": m.staff_no, "name": m.name, "via": "roster" }),
        )
        .await?;
        out.deactivated += 1;
        out.deactivated_ids.push(m.id.clone());
    }
    audit_in(
        &mut tx,
        actor,
        "roster.import",
        "members",
        serde_json::to_value(&out)?,
    )
    .await?;
    tx.commit().await?;
    Ok(out)
}
