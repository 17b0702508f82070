//! The audit log in the console: filtered by actor (工号), action (a prefix: `member.` finds
//! every member change) and a date range on the users' clock; exported as .xlsx.

use crate::domain::calendar;
use crate::records::Db;
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Deserialize)]
pub struct Filter {
    #[serde(default)]
    pub actor: String,
    #[serde(default)]
    pub action: String,
    /// YYYY-MM-DD, inclusive.
    #[serde(default)]
    pub from: String,
    /// YYYY-MM-DD, inclusive.
    #[serde(default)]
    pub to: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Line {
    pub id: String,
    pub at: i64,
    pub actor_id: Option<String>,
    pub actor_staff_no: Option<String>,
    pub actor_name: Option<String>,
    pub action: String,
    pub subject: String,
    pub detail: String,
}

/// At most this many entries per query (newest first).
pub const LIMIT: i64 = 2000;

/// The entries that match, newest first. A date that is not YYYY-MM-DD is an error.
pub async fn query(db: &Db, f: &Filter) -> Result<Vec<Line>, crate::error::AppError> {
    let day = |s: &str, what: &str| -> Result<Option<i64>, crate::error::AppError> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(None);
        }
        calendar::parse_day(s).map(Some).ok_or_else(|| {
            crate::error::AppError::BadRequest(format!("{what}「{s}」应为 YYYY-MM-DD"))
        })
    };
    let from = day(&f.from, "开始日期")?
        .map(calendar::start_of)
        .unwrap_or(0);
    let to = day(&f.to, "结束日期")?
        .map(|d| calendar::start_of(d + 1))
        .unwrap_or(i64::MAX);
    let action = f.action.trim();
    let pattern = format!(
        "{}%",
        action
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    Ok(sqlx::query_as::<_, Line>(sqlx::AssertSqlSafe(format!(
        "SELECT a.id, a.at, a.actor_id, m.staff_no AS actor_staff_no, m.name AS actor_name, \
         a.action, a.subject, a.detail FROM audit_log a LEFT JOIN members m ON m.id = a.actor_id \
         WHERE ($1 = '' OR m.staff_no = $1) AND ($2 = '' OR a.action LIKE $3 ESCAPE '\\') \
         AND a.at >= $4 AND a.at < $5 ORDER BY a.at DESC, a.id DESC LIMIT {LIMIT}"
    )))
    .bind(f.actor.trim())
    .bind(action)
    .bind(pattern)
    .bind(from)
    .bind(to)
    .fetch_all(&db.pool)
    .await?)
}

/// Time as people read it, on the users' clock: 2026-12-03 14:05:09.
pub fn when(ms: i64) -> String {
    let local = ms + 8 * 3600 * 1000;
    let secs = local.rem_euclid(86_400_000) / 1000;
    format!(
        "{} {:02}:{:02}:{:02}",
        calendar::date_of(ms),
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// The entries as a workbook.
pub fn workbook(lines: &[Line]) -> anyhow::Result<Vec<u8>> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("审计日志")?;
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let header = ["时间", "操作人工号", "操作人", "操作", "对象", "详情"];
    let widths = [20, 12, 12, 22, 34, 80];
    for (c, (h, w)) in header.iter().zip(widths).enumerate() {
        sheet.write_string_with_format(0, c as u16, *h, &bold)?;
        sheet.set_column_width(c as u16, w)?;
    }
    for (r, l) in lines.iter().enumerate() {
        let r = (r + 1) as u32;
        sheet.write_string(r, 0, when(l.at))?;
        sheet.write_string(r, 1, l.actor_staff_no.as_deref().unwrap_or("（系统）"))?;
        sheet.write_string(r, 2, l.actor_name.as_deref().unwrap_or(""))?;
        sheet.write_string(r, 3, &l.action)?;
        sheet.write_string(r, 4, &l.subject)?;
        sheet.write_string(r, 5, &l.detail)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(book.save_to_buffer()?)
}
