//! The period's workbook (`.xlsx`): member rows, weak points, tasks and reviews of a section,
//! a department (a sheet per section) or the agency (a sheet per department). Numbers are
//! numbers and shares are percentages, so the figures can be summed and sorted in Excel;
//! every sheet has a title row, a frozen header and Chinese column names.

use super::{Row, ratio, task_status, topic_name};
use crate::domain::calendar::{self, Span};
use crate::records::members::Section;
use crate::records::progress::Scope;
use crate::records::{Db, reviews, settings, tasks};
use rust_xlsxwriter::{Format, FormatAlign, Workbook, Worksheet, XlsxError};
use std::collections::{BTreeMap, HashMap, HashSet};

/// One cell of a sheet.
enum Cell {
    Text(String),
    Int(i64),
    Pct(Option<f64>),
}

fn text(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

struct Styles {
    title: Format,
    header: Format,
    pct: Format,
    wrap: Format,
}

impl Styles {
    fn new() -> Styles {
        Styles {
            title: Format::new().set_bold().set_font_size(14),
            header: Format::new()
                .set_bold()
                .set_background_color("#F3E5E5")
                .set_align(FormatAlign::Center),
            pct: Format::new().set_num_format("0.0%"),
            wrap: Format::new().set_text_wrap().set_align(FormatAlign::Top),
        }
    }
}

/// Writes a block: a header row at `row`, then the rows. Returns the next free row.
fn block(
    ws: &mut Worksheet,
    st: &Styles,
    row: u32,
    headers: &[&str],
    rows: &[Vec<Cell>],
) -> Result<u32, XlsxError> {
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(row, c as u16, *h, &st.header)?;
    }
    for (r, cells) in rows.iter().enumerate() {
        let r = row + 1 + r as u32;
        for (c, cell) in cells.iter().enumerate() {
            let c = c as u16;
            match cell {
                Cell::Text(s) if s.chars().count() > 40 => {
                    ws.write_string_with_format(r, c, s, &st.wrap)?
                }
                Cell::Text(s) => ws.write_string(r, c, s)?,
                Cell::Int(n) => ws.write_number(r, c, *n as f64)?,
                Cell::Pct(Some(p)) => ws.write_number_with_format(r, c, *p, &st.pct)?,
                Cell::Pct(None) => ws.write_string(r, c, "—")?,
            };
        }
    }
    Ok(row + 1 + rows.len() as u32)
}

/// A new sheet with a title in row 1, its header frozen in row 2.
fn sheet<'a>(
    wb: &'a mut Workbook,
    names: &mut HashSet<String>,
    name: &str,
    title: &str,
    st: &Styles,
    widths: &[f64],
) -> Result<&'a mut Worksheet, XlsxError> {
    let name = sheet_name(names, name);
    let ws = wb.add_worksheet();
    ws.set_name(&name)?;
    ws.write_string_with_format(0, 0, title, &st.title)?;
    ws.set_freeze_panes(2, 0)?;
    for (c, w) in widths.iter().enumerate() {
        ws.set_column_width(c as u16, *w)?;
    }
    Ok(ws)
}

/// Excel's rules for sheet names: at most 31 characters, none of `[]:*?/\`, unique.
fn sheet_name(taken: &mut HashSet<String>, want: &str) -> String {
    let clean: String = want
        .chars()
        .filter(|c| !"[]:*?/\\".contains(*c))
        .take(28)
        .collect();
    let clean = if clean.trim().is_empty() {
        "表".to_string()
    } else {
        clean
    };
    let mut name = clean.clone();
    let mut n = 2;
    while !taken.insert(name.to_lowercase()) {
        name = format!("{clean}{n}");
        n += 1;
    }
    name
}

const MEMBER_HEADERS: &[&str] = &[
    "姓名",
    "工号",
    "处室",
    "练兵次数",
    "目标次数",
    "答题数",
    "答对数",
    "正确率",
    "练习天数",
    "最近练习",
    "错题未掌握",
    "错题已掌握",
    "参加比武",
    "获奖",
    "情况",
];
const MEMBER_WIDTHS: &[f64] = &[
    10.0, 10.0, 12.0, 9.0, 9.0, 8.0, 8.0, 8.0, 9.0, 12.0, 10.0, 10.0, 9.0, 6.0, 8.0,
];

fn member_cells(r: &Row) -> Vec<Cell> {
    let p = &r.practice;
    vec![
        text(&r.name),
        text(&r.staff_no),
        text(&r.section),
        Cell::Int(p.drills),
        Cell::Int(r.target),
        Cell::Int(p.answers),
        Cell::Int(p.correct),
        Cell::Pct(r.accuracy),
        Cell::Int(p.days),
        text(r.last_active.clone().unwrap_or_default()),
        Cell::Int(p.notebook_open),
        Cell::Int(p.notebook_mastered),
        Cell::Int(p.competitions),
        Cell::Int(p.awards),
        text(if r.idle {
            "未参练"
        } else if p.drills < r.target {
            "未达标"
        } else {
            "达标"
        }),
    ]
}

/// What the workbook covers.
pub struct Subject<'a> {
    pub scope: Scope<'a>,
    /// Its sections (one for a section's workbook).
    pub sections: Vec<Section>,
    /// "文秘处", "综合司", or the agency's name.
    pub name: String,
}

/// The workbook of a section, a department or the agency for a span.
pub async fn build(db: &Db, subject: Subject<'_>, span: Span) -> anyhow::Result<Vec<u8>> {
    let agency = settings::agency_name(db).await?;
    let targets: HashMap<String, i64> = subject
        .sections
        .iter()
        .map(|s| (s.id.clone(), s.weekly_target))
        .collect();
    let in_scope: HashSet<&str> = subject.sections.iter().map(|s| s.id.as_str()).collect();
    let rows = super::rows(db, subject.scope, span, &targets).await?;
    let super::Breakdown {
        topics,
        tags,
        wrong,
    } = super::breakdown(db, subject.scope, span, 20).await?;
    let (from_ms, to_ms) = span.ms();
    let task_list: Vec<tasks::Task> = tasks::created_between(db, from_ms, to_ms)
        .await?
        .into_iter()
        .filter(|t| in_scope.contains(t.section_id.as_str()))
        .collect();
    let task_drills = tasks::drills_between(db, from_ms, to_ms).await?;
    let review_list: Vec<reviews::Review> = reviews::published_between(db, from_ms, to_ms)
        .await?
        .into_iter()
        .filter(|r| in_scope.contains(r.section_id.as_str()))
        .collect();
    let mut review_details = Vec::new();
    for r in &review_list {
        review_details.push((
            reviews::comments(db, &r.id).await?,
            reviews::remarks(db, &r.id).await?,
        ));
    }

    let period = format!(
        "{} 至 {}",
        calendar::iso(span.from),
        calendar::iso(span.last())
    );
    let st = Styles::new();
    let mut wb = Workbook::new();
    let mut names = HashSet::new();
    let by_id: HashMap<&str, &Row> = rows.iter().map(|r| (r.id.as_str(), r)).collect();
    let section_of: HashMap<&str, &Section> = subject
        .sections
        .iter()
        .map(|s| (s.id.as_str(), s))
        .collect();

    // An overview per section, for more than one section.
    if subject.sections.len() > 1 {
        let ws = sheet(
            &mut wb,
            &mut names,
            "概况",
            &format!("{agency} {} 岗位练兵概况（{period}）", subject.name),
            &st,
            &[12.0, 12.0, 8.0, 9.0, 9.0, 9.0, 9.0, 9.0],
        )?;
        let mut lines = Vec::new();
        for s in &subject.sections {
            let mine: Vec<&Row> = rows.iter().filter(|r| r.section_id == s.id).collect();
            let active = mine.iter().filter(|r| r.practice.answers > 0).count() as i64;
            let met = mine
                .iter()
                .filter(|r| r.practice.drills >= r.target)
                .count() as i64;
            let answers: i64 = mine.iter().map(|r| r.practice.answers).sum();
            let correct: i64 = mine.iter().map(|r| r.practice.correct).sum();
            lines.push(vec![
                text(&s.department),
                text(&s.name),
                Cell::Int(mine.len() as i64),
                Cell::Int(active),
                Cell::Pct(ratio(active, mine.len() as i64)),
                Cell::Int(met),
                Cell::Int(answers),
                Cell::Pct(ratio(correct, answers)),
            ]);
        }
        block(
            ws,
            &st,
            1,
            &[
                "司室",
                "处室",
                "人数",
                "参练人数",
                "参与率",
                "达标人数",
                "答题数",
                "正确率",
            ],
            &lines,
        )?;
    }

    // Member rows: a sheet per department for the agency, else a sheet per section.
    let mut groups: BTreeMap<(String, String), Vec<&Row>> = BTreeMap::new();
    for r in &rows {
        let key = match subject.scope {
            Scope::Agency => (r.department.clone(), String::new()),
            _ => (r.department.clone(), r.section.clone()),
        };
        groups.entry(key).or_default().push(r);
    }
    if groups.is_empty() {
        groups.insert((subject.name.clone(), String::new()), Vec::new());
    }
    for ((department, section), members) in &groups {
        let name = if section.is_empty() {
            department
        } else {
            section
        };
        let ws = sheet(
            &mut wb,
            &mut names,
            name,
            &format!("{agency} {department} {section} 岗位练兵情况（{period}）"),
            &st,
            MEMBER_WIDTHS,
        )?;
        let lines: Vec<Vec<Cell>> = members.iter().map(|r| member_cells(r)).collect();
        block(ws, &st, 1, MEMBER_HEADERS, &lines)?;
    }

    // Weak points.
    let ws = sheet(
        &mut wb,
        &mut names,
        "薄弱环节",
        &format!("{agency} {} 薄弱环节（{period}）", subject.name),
        &st,
        &[16.0, 60.0, 12.0, 9.0, 9.0, 9.0],
    )?;
    let topic_lines: Vec<Vec<Cell>> = topics
        .iter()
        .map(|t| {
            vec![
                text(topic_name(&t.key)),
                text(""),
                text(""),
                Cell::Int(t.answers),
                Cell::Int(t.correct),
                Cell::Pct(ratio(t.correct, t.answers)),
            ]
        })
        .collect();
    let next = block(
        ws,
        &st,
        1,
        &["专题", "", "", "答题数", "答对数", "正确率"],
        &topic_lines,
    )?;
    let tag_lines: Vec<Vec<Cell>> = tags
        .iter()
        .map(|t| {
            vec![
                text(&t.key),
                text(""),
                text(""),
                Cell::Int(t.answers),
                Cell::Int(t.correct),
                Cell::Pct(ratio(t.correct, t.answers)),
            ]
        })
        .collect();
    let next = block(
        ws,
        &st,
        next + 1,
        &["知识点", "", "", "答题数", "答对数", "正确率"],
        &tag_lines,
    )?;
    let wrong_lines: Vec<Vec<Cell>> = wrong
        .iter()
        .map(|w| {
            vec![
                text(w["question_id"].as_str().unwrap_or_default()),
                text(w["stem"].as_str().unwrap_or_default()),
                text(w["topic_name"].as_str().unwrap_or_default()),
                Cell::Int(w["answers"].as_i64().unwrap_or(0)),
                Cell::Int(w["wrong"].as_i64().unwrap_or(0)),
                Cell::Pct(w["accuracy"].as_f64()),
            ]
        })
        .collect();
    block(
        ws,
        &st,
        next + 1,
        &["易错题", "题干", "专题", "答题数", "答错数", "正确率"],
        &wrong_lines,
    )?;

    // Tasks: a row per task and member.
    let ws = sheet(
        &mut wb,
        &mut names,
        "练兵任务",
        &format!("{agency} {} 练兵任务（{period}）", subject.name),
        &st,
        &[12.0, 24.0, 12.0, 7.0, 8.0, 10.0, 9.0, 7.0, 7.0, 8.0],
    )?;
    let drills: HashMap<(&str, &str), &tasks::TaskDrill> = task_drills
        .iter()
        .map(|d| ((d.task_id.as_str(), d.member_id.as_str()), d))
        .collect();
    let mut lines = Vec::new();
    for t in &task_list {
        let count = t.question_ids().len() as i64;
        let section = section_of
            .get(t.section_id.as_str())
            .map(|s| s.name.clone())
            .unwrap_or_default();
        for r in rows.iter().filter(|r| r.section_id == t.section_id) {
            let d = drills.get(&(t.id.as_str(), r.id.as_str())).copied();
            let status = match task_status(d, count) {
                "done" => "已完成",
                "started" => "进行中",
                _ => "未开始",
            };
            let (answered, correct) = d.map(|d| (d.answered, d.correct)).unwrap_or((0, 0));
            lines.push(vec![
                text(&section),
                text(&t.title),
                text(calendar::date_of(t.due_at - 1)),
                Cell::Int(count),
                text(if t.closed_at.is_some() {
                    "已结束"
                } else {
                    "进行中"
                }),
                text(
                    by_id
                        .get(r.id.as_str())
                        .map(|r| r.name.clone())
                        .unwrap_or_default(),
                ),
                text(status),
                Cell::Int(answered),
                Cell::Int(correct),
                Cell::Pct(ratio(correct, answered)),
            ]);
        }
    }
    block(
        ws,
        &st,
        1,
        &[
            "处室",
            "任务",
            "截止日期",
            "题量",
            "任务状态",
            "姓名",
            "完成情况",
            "答题",
            "答对",
            "正确率",
        ],
        &lines,
    )?;

    // Reviews: text, comments to members, remarks.
    let ws = sheet(
        &mut wb,
        &mut names,
        "小结点评",
        &format!("{agency} {} 小结点评（{period}）", subject.name),
        &st,
        &[12.0, 24.0, 8.0, 12.0, 90.0],
    )?;
    let mut lines = Vec::new();
    let member_name: HashMap<&str, &str> = rows
        .iter()
        .map(|r| (r.id.as_str(), r.name.as_str()))
        .collect();
    for (r, (comments, remarks)) in review_list.iter().zip(&review_details) {
        let section = section_of
            .get(r.section_id.as_str())
            .map(|s| s.name.clone())
            .unwrap_or_default();
        let when = format!(
            "{} 至 {}",
            calendar::date_of(r.period_start),
            calendar::date_of(r.period_end - 1)
        );
        let published = r.published_at.map(calendar::date_of).unwrap_or_default();
        lines.push(vec![
            text(&section),
            text(&when),
            text(format!("第{}版", r.version)),
            text(&published),
            text(&r.body),
        ]);
        for c in comments {
            let who = member_name
                .get(c.member_id.as_str())
                .copied()
                .unwrap_or_default();
            let mut words = Vec::new();
            if !c.praise.is_empty() {
                words.push(format!("肯定成绩：{}", c.praise));
            }
            if !c.improve.is_empty() {
                words.push(format!("指出不足：{}", c.improve));
            }
            lines.push(vec![
                text(&section),
                text(&when),
                text("对个人"),
                text(who),
                text(words.join("\n")),
            ]);
        }
        for k in remarks {
            lines.push(vec![
                text(&section),
                text(&when),
                text("司室点评"),
                text(&k.author),
                text(&k.body),
            ]);
        }
    }
    block(
        ws,
        &st,
        1,
        &["处室", "时段", "类别", "日期/姓名", "内容"],
        &lines,
    )?;
    Ok(wb.save_to_buffer()?)
}
