//! The competition report: one row per player with every answer, right or wrong, time and
//! points, then totals and ranks — computed from the records alone.

use crate::domain::competition::{self, Asked as AskedRule, Given};
use crate::domain::scoring::encode;
use crate::records::competitions as rec;
use crate::records::{Db, members};
use std::collections::HashMap;

pub struct Report {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

pub async fn build(db: &Db, competition_id: &str) -> anyhow::Result<Report> {
    let c = rec::by_id(db, competition_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no competition"))?;
    let settings: competition::Settings = serde_json::from_str(&c.settings)?;
    let questions = rec::questions(db, competition_id).await?;
    let answers = rec::answers(db, competition_id).await?;
    let shown = answers
        .iter()
        .map(|a| a.position + 1)
        .max()
        .unwrap_or(0)
        .max(if c.phase == "lobby" {
            0
        } else {
            c.position + 1
        })
        .min(questions.len() as i64) as usize;
    let rules: Vec<AskedRule> = questions[..shown]
        .iter()
        .map(|a| AskedRule {
            limit_ms: a.time_limit_ms,
            voided: a.voided,
        })
        .collect();
    let mut by_player: HashMap<&str, HashMap<i64, &rec::AnswerRow>> = HashMap::new();
    for a in &answers {
        by_player
            .entry(a.participant_id.as_str())
            .or_default()
            .insert(a.position, a);
    }
    let sections: HashMap<String, String> = members::list(db, None)
        .await?
        .into_iter()
        .map(|m| (m.id, m.section.unwrap_or_default()))
        .collect();
    struct Line {
        cells: Vec<String>,
        total: i64,
        ms: i64,
        removed: bool,
    }
    let mut lines = Vec::new();
    for p in rec::participants(db, competition_id).await? {
        let mine = by_player.get(p.id.as_str());
        let given: Vec<Option<Given>> = questions[..shown]
            .iter()
            .map(|q| {
                let a = mine?.get(&i64::from(q.position))?;
                let response: crate::domain::Response = serde_json::from_str(&a.response).ok()?;
                Some(Given {
                    correct: competition::grade_with(&q.question, &q.also_accepted, &response)
                        .unwrap_or(false),
                    elapsed_ms: a.elapsed_ms as u64,
                })
            })
            .collect();
        let t = competition::tally(&settings, &rules, &given);
        let section = p
            .member_id
            .as_ref()
            .and_then(|m| sections.get(m).cloned())
            .unwrap_or_else(|| "访客".into());
        let mut cells = vec![p.nickname.clone(), section];
        for (i, q) in questions[..shown].iter().enumerate() {
            match mine.and_then(|m| m.get(&i64::from(q.position))) {
                Some(a) => {
                    let response: Option<crate::domain::Response> =
                        serde_json::from_str(&a.response).ok();
                    cells.push(response.map(|r| r.display()).unwrap_or_default());
                    cells.push(if q.voided {
                        "作废".into()
                    } else if given[i].is_some_and(|g| g.correct) {
                        "对".into()
                    } else {
                        "错".into()
                    });
                    cells.push(a.elapsed_ms.to_string());
                }
                None => cells.extend([
                    "".into(),
                    if q.voided {
                        "作废".into()
                    } else {
                        "未答".into()
                    },
                    "".into(),
                ]),
            }
            cells.push(t.points[i].to_string());
        }
        lines.push(Line {
            cells,
            total: t.total,
            ms: t.total_ms,
            removed: p.removed_at.is_some(),
        });
    }
    // Ranks as on the board: points, then less time; equal pairs share a rank.
    lines.sort_by(|a, b| encode(b.total, b.ms).total_cmp(&encode(a.total, a.ms)));
    let mut rows = Vec::new();
    let mut rank = 0u64;
    let mut prev: Option<(i64, i64)> = None;
    for (i, l) in lines.into_iter().filter(|l| !l.removed).enumerate() {
        if prev != Some((l.total, l.ms)) {
            rank = i as u64 + 1;
        }
        prev = Some((l.total, l.ms));
        let mut cells = l.cells;
        cells.extend([l.total.to_string(), l.ms.to_string(), rank.to_string()]);
        rows.push(cells);
    }
    let mut header: Vec<String> = vec!["姓名".into(), "处室".into()];
    for i in 1..=shown {
        header.extend([
            format!("第{i}题作答"),
            format!("第{i}题正误"),
            format!("第{i}题用时(毫秒)"),
            format!("第{i}题得分"),
        ]);
    }
    header.extend(["总分".into(), "总用时(毫秒)".into(), "名次".into()]);
    Ok(Report { header, rows })
}

/// A CSV cell as a spreadsheet will not run it: text starting with `=`, `+`, `-`, `@`, a tab
/// or a carriage return is a formula to Excel (a guest named `=HYPERLINK(…)`), so it gets a
/// leading apostrophe; numbers stay numbers.
pub fn csv_safe(cell: &str) -> String {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && cell.parse::<f64>().is_err() {
        format!("'{cell}")
    } else {
        cell.to_string()
    }
}

/// Writes the report as `.xlsx` or `.csv` bytes.
pub fn to_bytes(report: &Report, xlsx: bool) -> anyhow::Result<Vec<u8>> {
    let dir = tempfile_dir()?;
    let path = dir.join(if xlsx { "report.xlsx" } else { "report.csv" });
    let header: Vec<&str> = report.header.iter().map(String::as_str).collect();
    if xlsx {
        // Cells are written as text: nothing in them is ever a formula.
        crate::table::write(&path, &header, &report.rows)?;
    } else {
        let rows: Vec<Vec<String>> = report
            .rows
            .iter()
            .map(|r| r.iter().map(|c| csv_safe(c)).collect())
            .collect();
        crate::table::write(&path, &header, &rows)?;
    }
    let bytes = std::fs::read(&path)?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(bytes)
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("biwu-report-{}", crate::records::new_id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

#[cfg(test)]
mod csv_tests {
    #[test]
    fn formulas_are_defused_and_numbers_kept() {
        use super::csv_safe;
        assert_eq!(
            csv_safe("=HYPERLINK(\"http://x\")"),
            "'=HYPERLINK(\"http://x\")"
        );
        assert_eq!(csv_safe("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_safe("+1+1"), "'+1+1");
        assert_eq!(csv_safe("\tcmd"), "'\tcmd");
        assert_eq!(csv_safe("-5"), "-5");
        assert_eq!(csv_safe("李晓雯"), "李晓雯");
    }
}
