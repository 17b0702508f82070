//! The exam's report: 成绩 (one row per taker), 各题统计 and 团体成绩 as a workbook, or the
//! first sheet as CSV — in the style of the live competitions' report.

use super::{Paper, Results};
use crate::live::report::{csv_safe, sheet_name};
use anyhow::Context;
use rust_xlsxwriter::{Format, Workbook, Worksheet};

/// A typed cell: numbers stay numbers in the workbook.
enum Cell {
    Text(String),
    Int(i64),
    /// Milliseconds: seconds in the workbook, milliseconds in the CSV.
    Millis(i64),
    Ratio(f64),
}

fn text(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

fn scores(r: &Results) -> (Vec<&'static str>, Vec<Vec<Cell>>) {
    let header = vec![
        "名次",
        "姓名",
        "工号",
        "处室",
        "司室",
        "得分",
        "答对题数",
        "用时",
        "作答次数",
        "离开页面次数",
        "晋级",
        "拟表彰",
    ];
    let rows = r
        .ranking
        .iter()
        .map(|row| {
            vec![
                Cell::Int(i64::from(row.rank)),
                text(&row.name),
                text(&row.staff_no),
                text(row.section.clone().unwrap_or_default()),
                text(row.department.clone().unwrap_or_default()),
                Cell::Int(row.score),
                Cell::Int(row.correct),
                Cell::Millis(row.time_used_ms),
                Cell::Int(row.attempts),
                Cell::Int(row.leaves),
                text(if row.finalist { "是" } else { "" }),
                text(if row.proposed { "是" } else { "" }),
            ]
        })
        .collect();
    (header, rows)
}

/// Writes the report as `.xlsx` or `.csv` bytes.
pub fn to_bytes(paper: &Paper, r: &Results, xlsx: bool) -> anyhow::Result<Vec<u8>> {
    if xlsx {
        to_xlsx(paper, r).with_context(|| format!("report workbook of exam «{}»", r.title))
    } else {
        to_csv(r).with_context(|| format!("report CSV of exam «{}»", r.title))
    }
}

fn to_csv(r: &Results) -> anyhow::Result<Vec<u8>> {
    let (header, rows) = scores(r);
    let mut out = "\u{feff}".as_bytes().to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        w.write_record(header.iter().map(|h| {
            if *h == "用时" {
                "用时(毫秒)".to_string()
            } else {
                h.to_string()
            }
        }))?;
        for row in rows {
            w.write_record(row.iter().map(|c| match c {
                Cell::Text(s) => csv_safe(s),
                Cell::Int(n) | Cell::Millis(n) => n.to_string(),
                Cell::Ratio(x) => format!("{x:.4}"),
            }))?;
        }
        w.flush()?;
    }
    Ok(out)
}

struct Formats {
    bold: Format,
    seconds: Format,
    percent: Format,
}

fn write_rows(
    sheet: &mut Worksheet,
    header: &[&str],
    rows: &[Vec<Cell>],
    f: &Formats,
) -> anyhow::Result<()> {
    for (c, h) in header.iter().enumerate() {
        let h = if *h == "用时" { "用时(秒)" } else { h };
        sheet.write_string_with_format(0, c as u16, h, &f.bold)?;
    }
    for (r, row) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, cell) in row.iter().enumerate() {
            let c = c as u16;
            match cell {
                Cell::Text(s) => sheet.write_string(r, c, s)?,
                Cell::Int(n) => sheet.write_number(r, c, *n as f64)?,
                Cell::Millis(ms) => {
                    sheet.write_number_with_format(r, c, *ms as f64 / 1000.0, &f.seconds)?
                }
                Cell::Ratio(x) => sheet.write_number_with_format(r, c, *x, &f.percent)?,
            };
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(())
}

fn to_xlsx(paper: &Paper, r: &Results) -> anyhow::Result<Vec<u8>> {
    let f = Formats {
        bold: Format::new().set_bold(),
        seconds: Format::new().set_num_format("0.0"),
        percent: Format::new().set_num_format("0.0%"),
    };
    let mut book = Workbook::new();
    let (header, rows) = scores(r);
    let sheet = book.add_worksheet();
    sheet.set_name(sheet_name(&r.title))?;
    write_rows(sheet, &header, &rows, &f)?;

    let stats_header = vec![
        "序号",
        "题号",
        "题型",
        "分类",
        "题干",
        "分值",
        "作答人数",
        "答对人数",
        "答对率",
        "各选项人数",
    ];
    let stats: Vec<Vec<Cell>> = r
        .questions
        .iter()
        .map(|q| {
            let picks = q
                .options
                .iter()
                .map(|o| {
                    format!(
                        "{}{}：{}",
                        o.letter,
                        if o.key { "（正确）" } else { "" },
                        o.picked
                    )
                })
                .collect::<Vec<_>>()
                .join("；");
            vec![
                Cell::Int(q.position + 1),
                text(&q.question_id),
                text(q.kind_name),
                text(q.topic_name),
                text(&q.stem),
                Cell::Int(q.points),
                Cell::Int(q.answered),
                Cell::Int(q.right),
                Cell::Ratio(q.share_right),
                text(picks),
            ]
        })
        .collect();
    let sheet = book.add_worksheet();
    sheet.set_name("各题统计")?;
    write_rows(sheet, &stats_header, &stats, &f)?;

    if paper.settings.teams.enabled() {
        let team_header = vec!["名次", "团队", "成绩", "参赛人数", "计分人数", "团队人数"];
        let team_rows: Vec<Vec<Cell>> = r
            .teams
            .iter()
            .map(|t| {
                vec![
                    t.rank
                        .map(|x| Cell::Int(i64::from(x)))
                        .unwrap_or_else(|| text("")),
                    text(&t.name),
                    text(t.score_display()),
                    Cell::Int(i64::from(t.took_part)),
                    Cell::Int(i64::from(t.counted)),
                    Cell::Int(i64::from(t.size)),
                ]
            })
            .collect();
        let sheet = book.add_worksheet();
        sheet.set_name("团体成绩")?;
        write_rows(sheet, &team_header, &team_rows, &f)?;
    }
    Ok(book.save_to_buffer()?)
}
