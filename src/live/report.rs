//! The competition report: one row per player with every answer, right or wrong, time and
//! points, then totals and ranks — computed from the records alone. The workbook adds a sheet
//! of per-question statistics and one of the competition's settings and draw seed.
//!
//! Cells are typed ([`Cell`]) so each format writes them as what they are: the workbook has
//! numbers as numbers and times in seconds (one decimal), the CSV keeps whole milliseconds
//! and says so in its header.

use crate::domain::competition::{self, Asked as AskedRule, AwardRule, Given};
use crate::domain::scoring::encode;
use crate::domain::teams::{self, TeamScore, TeamStanding};
use crate::records::competitions as rec;
use crate::records::{Db, members};
use anyhow::Context;
use std::collections::{HashMap, HashSet};

/// One cell of the report.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Int(i64),
    /// A duration in milliseconds: seconds in the workbook, milliseconds in the CSV.
    Millis(i64),
    /// A share from 0 to 1: a percentage in the workbook, a decimal in the CSV.
    Ratio(f64),
    /// A number that need not be whole (a team's mean), as it is.
    Number(f64),
    Empty,
}

impl Cell {
    fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }

    /// The cell as CSV text: times in whole milliseconds.
    fn csv(&self) -> String {
        match self {
            Cell::Text(s) => csv_safe(s),
            Cell::Int(n) | Cell::Millis(n) => n.to_string(),
            Cell::Ratio(r) => format!("{r:.4}"),
            Cell::Number(n) => n.to_string(),
            Cell::Empty => String::new(),
        }
    }
}

/// A column heading; a time column names its unit, which depends on the format.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub millis: bool,
}

impl Column {
    fn plain(name: impl Into<String>) -> Column {
        Column {
            name: name.into(),
            millis: false,
        }
    }

    fn time(name: impl Into<String>) -> Column {
        Column {
            name: name.into(),
            millis: true,
        }
    }

    fn heading(&self, xlsx: bool) -> String {
        match (self.millis, xlsx) {
            (false, _) => self.name.clone(),
            (true, true) => format!("{}(秒)", self.name),
            (true, false) => format!("{}(毫秒)", self.name),
        }
    }
}

/// How one question went, for the statistics sheet.
#[derive(Debug, Clone)]
pub struct QuestionStat {
    pub position: u32,
    pub kind: crate::domain::Kind,
    pub stem: String,
    pub answer: String,
    pub voided: bool,
    /// Players not removed.
    pub players: u32,
    pub answered: u32,
    pub right: u32,
    /// As the reveal showed it (see [`competition::distribution`]).
    pub distribution: Vec<u32>,
}

pub struct Report {
    pub title: String,
    pub header: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
    /// The revealed questions, in order.
    pub questions: Vec<QuestionStat>,
    /// (setting, value) lines: what the competition was set up with, seed included.
    pub settings: Vec<(String, Cell)>,
    /// Team standings (团体成绩), when the competition has a team rule.
    pub teams: Option<Vec<TeamStanding>>,
}

/// Sheet names of the workbook besides the first (named after the competition).
const STATS_SHEET: &str = "各题统计";
const SETTINGS_SHEET: &str = "比赛设置";
const TEAMS_SHEET: &str = "团体成绩";

pub async fn build(db: &Db, competition_id: &str) -> anyhow::Result<Report> {
    let c = rec::by_id(db, competition_id)
        .await?
        .with_context(|| format!("report: no competition {competition_id}"))?;
    let settings: competition::Settings = serde_json::from_str(&c.settings)
        .with_context(|| format!("report: settings of competition {competition_id}"))?;
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
        cells: Vec<Cell>,
        member: Option<String>,
        total: i64,
        ms: i64,
        removed: bool,
    }
    let participants = rec::participants(db, competition_id).await?;
    let mut lines = Vec::new();
    for p in &participants {
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
        let mut cells = vec![Cell::text(p.nickname.clone()), Cell::text(section)];
        for (i, q) in questions[..shown].iter().enumerate() {
            match mine.and_then(|m| m.get(&i64::from(q.position))) {
                Some(a) => {
                    let response: Option<crate::domain::Response> =
                        serde_json::from_str(&a.response).ok();
                    cells.push(Cell::text(
                        response.map(|r| r.display()).unwrap_or_default(),
                    ));
                    cells.push(Cell::text(if q.voided {
                        "作废"
                    } else if given[i].is_some_and(|g| g.correct) {
                        "对"
                    } else {
                        "错"
                    }));
                    // The time charged, as in the tally: at most the set limit.
                    cells.push(Cell::Millis(a.elapsed_ms.min(q.time_limit_ms as i64)));
                }
                None => cells.extend([
                    Cell::Empty,
                    Cell::text(if q.voided { "作废" } else { "未答" }),
                    Cell::Empty,
                ]),
            }
            cells.push(Cell::Int(t.points[i]));
        }
        lines.push(Line {
            cells,
            member: p.member_id.clone(),
            total: t.total,
            ms: t.total_ms,
            removed: p.removed_at.is_some(),
        });
    }
    // Members' points for the team standings, as the room counts them (removed players and
    // guests are on no team).
    let scores: HashMap<String, i64> = lines
        .iter()
        .filter(|l| !l.removed)
        .filter_map(|l| Some((l.member.clone()?, l.total)))
        .collect();
    let team_standings = team_standings(db, &settings, competition_id, &scores).await?;
    // Ranks as on the board: points, then less time; equal pairs share a rank.
    lines.sort_by(|a, b| encode(b.total, b.ms).total_cmp(&encode(a.total, a.ms)));
    let mut rows = Vec::new();
    let mut rank = 0i64;
    let mut prev: Option<(i64, i64)> = None;
    for (i, l) in lines.into_iter().filter(|l| !l.removed).enumerate() {
        if prev != Some((l.total, l.ms)) {
            rank = i as i64 + 1;
        }
        prev = Some((l.total, l.ms));
        let mut cells = l.cells;
        cells.extend([Cell::Int(l.total), Cell::Millis(l.ms), Cell::Int(rank)]);
        rows.push(cells);
    }
    let mut header = vec![Column::plain("姓名"), Column::plain("处室")];
    for i in 1..=shown {
        header.extend([
            Column::plain(format!("第{i}题作答")),
            Column::plain(format!("第{i}题正误")),
            Column::time(format!("第{i}题用时")),
            Column::plain(format!("第{i}题得分")),
        ]);
    }
    header.extend([
        Column::plain("总分"),
        Column::time("总用时"),
        Column::plain("名次"),
    ]);
    let active: HashSet<&str> = participants
        .iter()
        .filter(|p| p.removed_at.is_none())
        .map(|p| p.id.as_str())
        .collect();
    let stats = questions[..shown]
        .iter()
        .map(|q| question_stat(q, &answers, &active))
        .collect();
    Ok(Report {
        title: c.title.clone(),
        header,
        rows,
        questions: stats,
        settings: settings_lines(&c, &settings, questions.len(), shown),
        teams: team_standings,
    })
}

/// The team standings of a competition from its members' points; `None` without a team rule.
async fn team_standings(
    db: &Db,
    settings: &competition::Settings,
    competition_id: &str,
    scores: &HashMap<String, i64>,
) -> anyhow::Result<Option<Vec<TeamStanding>>> {
    if !settings.teams.enabled() {
        return Ok(None);
    }
    use crate::records::teams::{Event, of};
    let list = of(db, &settings.teams, Event::Competition, competition_id).await?;
    Ok(Some(teams::standings(&settings.teams, &list, scores)))
}

/// The 团体成绩 sheet: 名次, 团队, 成绩 (the mean or the sum, as a number), 参赛人数 and
/// 团队人数; a team nobody of which played has no rank and no score.
fn teams_table(standings: &[TeamStanding]) -> (Vec<String>, Vec<Vec<Cell>>) {
    let header = ["名次", "团队", "成绩", "参赛人数", "团队人数"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let rows = standings
        .iter()
        .map(|t| {
            vec![
                t.rank.map_or(Cell::Empty, |r| Cell::Int(i64::from(r))),
                Cell::text(t.name.clone()),
                t.score_milli.map_or(Cell::Empty, |m| {
                    Cell::Number((m as f64 / 10.0).round() / 100.0)
                }),
                Cell::Int(i64::from(t.took_part)),
                Cell::Int(i64::from(t.size)),
            ]
        })
        .collect();
    (header, rows)
}

/// Statistics of one asked question over the answers of the players in `active`.
fn question_stat(
    q: &rec::Asked,
    answers: &[rec::AnswerRow],
    active: &HashSet<&str>,
) -> QuestionStat {
    let responses: Vec<crate::domain::Response> = answers
        .iter()
        .filter(|a| a.position == i64::from(q.position))
        .filter(|a| active.contains(a.participant_id.as_str()))
        .filter_map(|a| serde_json::from_str(&a.response).ok())
        .collect();
    let right = responses
        .iter()
        .filter(|r| competition::grade_with(&q.question, &q.also_accepted, r).unwrap_or(false))
        .count() as u32;
    QuestionStat {
        position: q.position,
        kind: q.question.kind,
        stem: q.question.stem.clone(),
        answer: q.question.answer.display(),
        voided: q.voided,
        players: active.len() as u32,
        answered: responses.len() as u32,
        right,
        distribution: competition::distribution(&q.question, &q.also_accepted, &responses),
    }
}

/// The settings sheet: what the competition was set up with, so a result can be checked
/// against its rules and its draw reproduced from the seed.
fn settings_lines(
    c: &rec::Competition,
    s: &competition::Settings,
    questions: usize,
    shown: usize,
) -> Vec<(String, Cell)> {
    let yes = |b: bool| Cell::text(if b { "是" } else { "否" });
    let list = |v: Vec<String>| {
        Cell::text(if v.is_empty() {
            "全部".into()
        } else {
            v.join("、")
        })
    };
    let rule = match s.award_rule {
        AwardRule::TopN(n) => format!("成绩前 {n} 名（名册内人员，并列者均入选）"),
        AwardRule::MinPoints(p) => format!("得分不低于 {p} 分（名册内人员）"),
    };
    vec![
        ("比赛名称".into(), Cell::text(c.title.clone())),
        ("PIN 码".into(), Cell::text(c.pin.clone())),
        // As text: a seed may exceed the 15 digits a spreadsheet number keeps exactly.
        ("抽题随机种子".into(), Cell::text(c.seed.to_string())),
        ("题目数".into(), Cell::Int(questions as i64)),
        ("已揭晓题数".into(), Cell::Int(shown as i64)),
        ("每题时间(秒)".into(), Cell::Int(i64::from(s.time_limit_s))),
        ("基础分".into(), Cell::Int(s.base_points)),
        ("速度加分".into(), yes(s.speed_bonus)),
        ("连对加分".into(), yes(s.streak_bonus)),
        ("允许访客".into(), yes(s.guests_allowed)),
        ("访客上限".into(), Cell::Int(i64::from(s.max_guests))),
        ("表彰规则".into(), Cell::text(rule)),
        ("团体规则".into(), Cell::text(team_rule(&s.teams))),
        (
            "抽题分类".into(),
            list(s.topics.iter().map(|t| t.name_zh().to_string()).collect()),
        ),
        ("抽题标签".into(), list(s.tags.clone())),
        (
            "抽题难度".into(),
            list(s.difficulty.iter().map(|d| d.to_string()).collect()),
        ),
    ]
}

/// The team rule in words, for the settings sheet.
fn team_rule(rule: &teams::TeamRule) -> String {
    use crate::domain::teams::TeamBy;
    let by = match rule.by {
        TeamBy::None => return "无".into(),
        TeamBy::Section => "按处室",
        TeamBy::Department => "按司室",
        TeamBy::Named => "代表队",
    };
    let score = match rule.score {
        TeamScore::Mean if rule.absent_as_zero => "平均分（未参赛者计 0 分）",
        TeamScore::Mean => "平均分",
        TeamScore::Sum => "总分",
    };
    format!("{by}，{score}，优胜团队 {} 个", rule.winners)
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
    if xlsx {
        to_xlsx(report).with_context(|| format!("report workbook of «{}»", report.title))
    } else {
        to_csv(report).with_context(|| format!("report CSV of «{}»", report.title))
    }
}

/// The players' table only, times in milliseconds (the header says so), every text cell
/// defused against formulas.
fn to_csv(report: &Report) -> anyhow::Result<Vec<u8>> {
    // A BOM makes Excel on Windows open UTF-8 CSV as UTF-8.
    let mut out = "\u{feff}".as_bytes().to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        w.write_record(report.header.iter().map(|c| csv_safe(&c.heading(false))))?;
        for row in &report.rows {
            w.write_record(row.iter().map(Cell::csv))?;
        }
        w.flush()?;
    }
    Ok(out)
}

/// A sheet name Excel accepts made of `title`: at most 31 characters (UTF-16 units), none of
/// `[]:*?/\` (each becomes `_`),
/// not starting or ending with an apostrophe, not `History`, and not one of the report's
/// other sheets. Falls back to 成绩 when nothing is left.
pub fn sheet_name(title: &str) -> String {
    let cleaned: String = title
        .chars()
        .map(|c| {
            if matches!(c, '[' | ']' | ':' | '*' | '?' | '/' | '\\') || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    // Excel counts UTF-16 units: a character beyond the basic plane (an emoji) takes two.
    let mut units = 0;
    let cut: String = cleaned
        .trim()
        .chars()
        .take_while(|c| {
            units += c.len_utf16();
            units <= 31
        })
        .collect();
    let name = cut.trim().trim_matches('\'').trim();
    let taken = [STATS_SHEET, SETTINGS_SHEET, TEAMS_SHEET];
    if name.is_empty() || name.eq_ignore_ascii_case("history") || taken.contains(&name) {
        "成绩".to_string()
    } else {
        name.to_string()
    }
}

/// Number formats of the workbook: bold headings, seconds with one decimal, percentages.
struct Formats {
    bold: rust_xlsxwriter::Format,
    seconds: rust_xlsxwriter::Format,
    percent: rust_xlsxwriter::Format,
}

/// Writes one cell as what it is; text is written as text, so nothing in it is ever a formula.
fn write_cell(
    sheet: &mut rust_xlsxwriter::Worksheet,
    (row, col): (u32, u16),
    cell: &Cell,
    formats: &Formats,
) -> anyhow::Result<()> {
    let written = match cell {
        Cell::Text(s) => sheet.write_string(row, col, s),
        Cell::Int(n) => sheet.write_number(row, col, *n as f64),
        Cell::Millis(ms) => {
            sheet.write_number_with_format(row, col, *ms as f64 / 1000.0, &formats.seconds)
        }
        Cell::Ratio(r) => sheet.write_number_with_format(row, col, *r, &formats.percent),
        Cell::Number(n) => sheet.write_number(row, col, *n),
        Cell::Empty => return Ok(()),
    };
    written
        .map(|_| ())
        .with_context(|| format!("cell at row {}, column {}", row + 1, col + 1))
}

/// A sheet named `name`: a bold heading row, then the rows.
fn write_sheet(
    book: &mut rust_xlsxwriter::Workbook,
    name: &str,
    header: &[String],
    rows: &[Vec<Cell>],
    formats: &Formats,
) -> anyhow::Result<()> {
    let sheet = book.add_worksheet();
    sheet
        .set_name(name)
        .with_context(|| format!("sheet name «{name}»"))?;
    for (c, h) in header.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, h, &formats.bold)?;
        sheet.set_column_width(c as u16, 14)?;
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            write_cell(sheet, ((r + 1) as u32, c as u16), cell, formats)
                .with_context(|| format!("sheet «{name}»"))?;
        }
    }
    Ok(())
}

fn to_xlsx(report: &Report) -> anyhow::Result<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook};
    let formats = Formats {
        bold: Format::new().set_bold(),
        seconds: Format::new().set_num_format("0.0"),
        percent: Format::new().set_num_format("0.0%"),
    };
    let mut book = Workbook::new();
    let header: Vec<String> = report.header.iter().map(|c| c.heading(true)).collect();
    let first = sheet_name(&report.title);
    write_sheet(&mut book, &first, &header, &report.rows, &formats)?;

    let (header, rows) = stats_table(&report.questions);
    write_sheet(&mut book, STATS_SHEET, &header, &rows, &formats)?;

    if let Some(standings) = &report.teams {
        let (header, rows) = teams_table(standings);
        write_sheet(&mut book, TEAMS_SHEET, &header, &rows, &formats)?;
    }

    let rows: Vec<Vec<Cell>> = report
        .settings
        .iter()
        .map(|(k, v)| vec![Cell::text(k.clone()), v.clone()])
        .collect();
    let header = ["项目".to_string(), "设置".to_string()];
    write_sheet(&mut book, SETTINGS_SHEET, &header, &rows, &formats)?;

    // Wider columns where the text is long: stems, and the settings' values.
    book.worksheet_from_name(STATS_SHEET)?
        .set_column_width(2, 48)?;
    book.worksheet_from_name(SETTINGS_SHEET)?
        .set_column_width(1, 40)?;
    Ok(book.save_to_buffer()?)
}

/// The statistics sheet: one row per question; the distribution in one column per option
/// letter (choice questions) and 选正确 / 选错误 (true/false). Fill, numeric and date
/// questions have only right and wrong, which 答对人数 already says.
fn stats_table(questions: &[QuestionStat]) -> (Vec<String>, Vec<Vec<Cell>>) {
    use crate::domain::Kind;
    let letters = questions
        .iter()
        .filter(|q| q.kind.is_choice())
        .map(|q| q.distribution.len())
        .max()
        .unwrap_or(0);
    let truefalse = questions.iter().any(|q| q.kind == Kind::TrueFalse);
    let mut header: Vec<String> = [
        "题号",
        "题型",
        "题干",
        "正确答案",
        "状态",
        "参赛人数",
        "作答人数",
        "答对人数",
        "答对率",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    header.extend(
        crate::domain::question::LETTERS[..letters]
            .iter()
            .map(|&l| format!("选{}", l as char)),
    );
    if truefalse {
        header.extend(["选正确".to_string(), "选错误".to_string()]);
    }
    let rows = questions
        .iter()
        .map(|q| {
            let share = if q.players == 0 {
                Cell::Empty
            } else {
                Cell::Ratio(f64::from(q.right) / f64::from(q.players))
            };
            let mut row = vec![
                Cell::Int(i64::from(q.position) + 1),
                Cell::text(q.kind.name_zh()),
                Cell::text(q.stem.clone()),
                Cell::text(q.answer.clone()),
                Cell::text(if q.voided { "作废" } else { "有效" }),
                Cell::Int(i64::from(q.players)),
                Cell::Int(i64::from(q.answered)),
                Cell::Int(i64::from(q.right)),
                share,
            ];
            for i in 0..letters {
                row.push(match q.distribution.get(i) {
                    Some(&n) if q.kind.is_choice() => Cell::Int(i64::from(n)),
                    _ => Cell::Empty,
                });
            }
            if truefalse {
                for i in 0..2 {
                    row.push(match q.distribution.get(i) {
                        Some(&n) if q.kind == Kind::TrueFalse => Cell::Int(i64::from(n)),
                        _ => Cell::Empty,
                    });
                }
            }
            row
        })
        .collect();
    (header, rows)
}

#[cfg(test)]
mod sheet_name_tests {
    use super::sheet_name;

    #[test]
    fn sheet_names_are_cleaned_cut_and_never_clash() {
        assert_eq!(
            sheet_name("党章[2026]:知识*竞赛?/\\"),
            "党章_2026__知识_竞赛___"
        );
        assert_eq!(sheet_name(&"长".repeat(40)), "长".repeat(31));
        // A character beyond the basic plane counts twice, as in Excel.
        assert_eq!(sheet_name(&"😀".repeat(20)), "😀".repeat(15));
        assert_eq!(sheet_name("'引号'"), "引号");
        for clash in ["", "  ", "'", "History", "比赛设置", "各题统计", "团体成绩"] {
            assert_eq!(sheet_name(clash), "成绩", "{clash:?}");
        }
    }
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
