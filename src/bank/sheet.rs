//! The Chinese 题库 spreadsheet template, in and out.
//!
//! Columns: 编号 (optional), 题型, 题干, 选项A … 选项H, 答案, 解析, 知识点, 难度, 出处, 分类,
//! and the optional 时限, 单位, 误差, 题组 (family) that a round trip needs, and 案例编号, 案例标题,
//! 案例材料, 案例出处 for case groups (案例题): rows with the same 案例编号 are one group's questions, in
//! row order, and the first of them carries the title, scenario and source. Rows become
//! [`Draft`]s and are validated by the same rules as the TOML bank.

use crate::domain::question::{
    AnswerKey, CaseRef, Draft, DraftAnswer, Kind, LETTERS, Question, TagVocabulary, format_number,
};
use crate::table::{self, Table};
use std::collections::HashMap;
use std::path::Path;

pub const OPTION_COLUMNS: [&str; 8] = [
    "选项A", "选项B", "选项C", "选项D", "选项E", "选项F", "选项G", "选项H",
];
const REQUIRED: [&str; 8] = [
    "题型",
    "题干",
    "答案",
    "解析",
    "知识点",
    "难度",
    "出处",
    "分类",
];

/// The template's header, in order.
pub fn header() -> Vec<&'static str> {
    let mut h = vec!["编号", "题型", "题干"];
    h.extend(OPTION_COLUMNS);
    h.extend([
        "答案",
        "解析",
        "知识点",
        "难度",
        "出处",
        "分类",
        "时限",
        "单位",
        "误差",
        "题组",
    ]);
    h.extend(CASE_COLUMNS);
    h
}

/// The case group columns, optional and last.
pub const CASE_COLUMNS: [&str; 4] = ["案例编号", "案例标题", "案例材料", "案例出处"];

/// One bad row: its number as Excel shows it, and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct RowError {
    pub row: usize,
    pub message: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "第 {} 行：{}", self.row, self.message)
    }
}

#[derive(Debug, Default)]
pub struct Import {
    pub questions: Vec<Question>,
    pub errors: Vec<RowError>,
}

/// Reads a spreadsheet. `existing` is the bank the questions go into: an id or stem
/// already there is an error of the row, so a re-import never duplicates.
pub fn import(
    path: &Path,
    vocabulary: &dyn TagVocabulary,
    existing: &[Question],
) -> anyhow::Result<Import> {
    let table = table::read(path)?;
    let missing = table.missing_columns(&REQUIRED);
    if !missing.is_empty() {
        anyhow::bail!(
            "{}：缺少列 {}（模板列：{}）",
            path.display(),
            missing.join("、"),
            header().join("、")
        );
    }
    let mut ids: HashMap<String, String> = existing
        .iter()
        .map(|q| (q.id.clone(), "题库中已有".to_string()))
        .collect();
    let mut stems: HashMap<String, String> = existing
        .iter()
        .map(|q| (stem_key(&q.stem), format!("题库中的 {}", q.id)))
        .collect();
    let mut out = Import::default();
    let mut groups = CaseRows::default();
    for row in &table.rows {
        let mut draft = draft_from_row(&table, row);
        let mut problems = Vec::new();
        let case_id = table.get(row, "案例编号");
        if !case_id.is_empty() {
            let expected = groups.next_id(case_id);
            match table.get(row, "编号") {
                "" => draft.id = Some(expected),
                id if id != expected => {
                    problems.push(format!("案例小题的编号应为 {expected}（或留空）"))
                }
                _ => {}
            }
        }
        let id = draft.id.clone().unwrap_or_default();
        match draft.validate(vocabulary) {
            Ok(q) => {
                if let Some(seen) = ids.get(&q.id) {
                    problems.push(format!("编号 {} 重复（{seen}）", q.id));
                }
                if let Some(seen) = stems.get(&stem_key(&q.stem)) {
                    problems.push(format!("题干重复（{seen}）"));
                }
                if problems.is_empty() {
                    ids.insert(q.id.clone(), format!("第 {} 行", row.number));
                    stems.insert(stem_key(&q.stem), format!("第 {} 行", row.number));
                    if !case_id.is_empty() {
                        groups.add(&table, row, out.questions.len());
                    }
                    out.questions.push(q);
                }
            }
            Err(errs) => problems.extend(errs),
        }
        if !problems.is_empty() && !case_id.is_empty() {
            groups.spoil(case_id);
        }
        for message in problems {
            let message = if id.is_empty() {
                message
            } else {
                format!("[{id}] {message}")
            };
            out.errors.push(RowError {
                row: row.number,
                message,
            });
        }
    }
    groups.settle(&mut out);
    Ok(out)
}

/// One row of a case group: its number, the title, scenario and source it gives, and the
/// index of its question in the import.
type CaseRow = (usize, String, String, String, usize);

/// The rows of each case group as they are read, in order of first appearance.
#[derive(Default)]
struct CaseRows {
    order: Vec<String>,
    /// Per group: (row number, title, scenario, source, index of its question in the import).
    rows: HashMap<String, Vec<CaseRow>>,
    /// Rows read per group, valid or not (so ids keep their places).
    seen: HashMap<String, usize>,
    spoiled: std::collections::HashSet<String>,
}

impl CaseRows {
    /// The id the next row of group `case` must have: `{case}-{n}`.
    fn next_id(&mut self, case: &str) -> String {
        let n = self.seen.entry(case.to_string()).or_default();
        *n += 1;
        format!("{case}-{n}")
    }

    fn add(&mut self, t: &Table, row: &table::Row, index: usize) {
        let case = t.get(row, "案例编号").to_string();
        if !self.rows.contains_key(&case) {
            self.order.push(case.clone());
        }
        self.rows.entry(case).or_default().push((
            row.number,
            t.get(row, "案例标题").to_string(),
            t.get(row, "案例材料").to_string(),
            t.get(row, "案例出处").to_string(),
            index,
        ));
    }

    fn spoil(&mut self, case: &str) {
        self.spoiled.insert(case.to_string());
    }

    /// Gives each group's questions their place, or turns the whole group into row errors: a
    /// group is imported whole or not at all.
    fn settle(self, out: &mut Import) {
        let mut dropped = std::collections::HashSet::new();
        for case in &self.order {
            let rows = &self.rows[case];
            let first = rows[0].0;
            let pick = |f: fn(&CaseRow) -> &String| {
                rows.iter()
                    .map(f)
                    .find(|v| !v.is_empty())
                    .cloned()
                    .unwrap_or_default()
            };
            let (title, scenario, source) = (pick(|r| &r.1), pick(|r| &r.2), pick(|r| &r.3));
            let mut problems = Vec::new();
            if self.spoiled.contains(case) {
                problems.push("本案例有小题出错，整组未导入".to_string());
            }
            if title.is_empty() || scenario.is_empty() || source.is_empty() {
                problems.push("案例的第一行应填写案例标题、案例材料和案例出处".into());
            }
            for r in rows {
                if (!r.1.is_empty() && r.1 != title)
                    || (!r.2.is_empty() && r.2 != scenario)
                    || (!r.3.is_empty() && r.3 != source)
                {
                    problems.push(format!("第 {} 行的案例标题、材料或出处与第一行不同", r.0));
                }
            }
            let size = self.seen.get(case).copied().unwrap_or(0);
            if !super::toml_io::CASE_SIZE.contains(&size) {
                problems.push(format!(
                    "案例应有 {}–{} 道小题，实有 {size}",
                    super::toml_io::CASE_SIZE.start(),
                    super::toml_io::CASE_SIZE.end()
                ));
            }
            if problems.is_empty() {
                for (i, r) in rows.iter().enumerate() {
                    out.questions[r.4].case = Some(CaseRef {
                        id: case.clone(),
                        title: title.clone(),
                        scenario: scenario.clone(),
                        source: source.clone(),
                        position: i as u32 + 1,
                        size: size as u32,
                    });
                }
            } else {
                dropped.extend(rows.iter().map(|r| r.4));
                for message in problems {
                    out.errors.push(RowError {
                        row: first,
                        message: format!("[案例 {case}] {message}"),
                    });
                }
            }
        }
        if !dropped.is_empty() {
            let mut i = 0;
            out.questions.retain(|_| {
                i += 1;
                !dropped.contains(&(i - 1))
            });
            out.errors.sort_by_key(|e| e.row);
        }
    }
}

fn stem_key(stem: &str) -> String {
    stem.chars().filter(|c| !c.is_whitespace()).collect()
}

fn draft_from_row(t: &Table, row: &table::Row) -> Draft {
    let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_string());
    let stem = t.get(row, "题干");
    let id = non_empty(t.get(row, "编号")).or_else(|| {
        (!stem.is_empty()).then(|| {
            use sha2::{Digest, Sha256};
            format!(
                "im-{}",
                &hex::encode(Sha256::digest(stem_key(stem).as_bytes()))[..10]
            )
        })
    });
    let kind = non_empty(t.get(row, "题型"));
    let mut options: Vec<String> = OPTION_COLUMNS
        .iter()
        .map(|c| t.get(row, c).to_string())
        .collect();
    while options.last().is_some_and(String::is_empty) {
        options.pop();
    }
    let difficulty = match t.get(row, "难度") {
        "" => None,
        "易" | "简单" => Some(1),
        "中" | "中等" => Some(2),
        "难" | "困难" => Some(3),
        s => Some(s.parse::<i64>().unwrap_or(-1)),
    };
    let answer = non_empty(t.get(row, "答案")).map(DraftAnswer::Text);
    let tags = t
        .get(row, "知识点")
        .split(['、', ',', '，', ';', '；'])
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let time_limit = match t.get(row, "时限") {
        "" => None,
        s => Some(s.parse::<i64>().unwrap_or(-1)),
    };
    let tolerance = match t.get(row, "误差") {
        "" => None,
        s => Some(s.parse::<f64>().unwrap_or(f64::NAN)),
    };
    Draft {
        id,
        kind,
        topic: non_empty(t.get(row, "分类")),
        difficulty,
        tags,
        stem: non_empty(stem),
        options,
        answer,
        explanation: non_empty(t.get(row, "解析")),
        source: non_empty(t.get(row, "出处")),
        time_limit,
        tolerance,
        unit: non_empty(t.get(row, "单位")),
        family: non_empty(t.get(row, "题组")),
        case: None,
    }
}

/// One template row for a question.
pub fn row_of(q: &Question) -> Vec<String> {
    let mut row = vec![q.id.clone(), q.kind.name_zh().to_string(), q.stem.clone()];
    for i in 0..OPTION_COLUMNS.len() {
        row.push(q.options.get(i).cloned().unwrap_or_default());
    }
    let answer = match &q.answer {
        AnswerKey::Fill(v) => v.join("|"),
        other => other.display(),
    };
    let tolerance = match q.answer {
        AnswerKey::Numeric { tolerance, .. } if tolerance != 0.0 => format_number(tolerance),
        _ => String::new(),
    };
    row.extend([
        answer,
        q.explanation.clone(),
        q.tags.join("、"),
        q.difficulty.to_string(),
        q.source.clone(),
        q.topic.name_zh().to_string(),
        q.time_limit.map(|t| t.to_string()).unwrap_or_default(),
        if q.kind == Kind::Numeric {
            q.unit.clone().unwrap_or_default()
        } else {
            String::new()
        },
        tolerance,
        q.family.clone().unwrap_or_default(),
    ]);
    match &q.case {
        // The group's title, scenario and source on its first row only.
        Some(c) if c.position == 1 => row.extend([
            c.id.clone(),
            c.title.clone(),
            c.scenario.clone(),
            c.source.clone(),
        ]),
        Some(c) => row.extend([c.id.clone(), String::new(), String::new(), String::new()]),
        None => row.extend([String::new(), String::new(), String::new(), String::new()]),
    }
    row
}

/// Writes questions in the template; `.xlsx` or `.csv` by the extension of `path`.
pub fn export(path: &Path, questions: &[Question]) -> anyhow::Result<()> {
    let rows: Vec<Vec<String>> = questions.iter().map(row_of).collect();
    table::write(path, &header(), &rows)
}

/// Letters used by the template, exposed for tests and docs.
pub fn option_letter(i: usize) -> char {
    LETTERS[i] as char
}

/// Writes imported questions into a bank folder: one new file per topic,
/// `{topic}/imported-{stem}.toml` (numbered when taken). Returns each file and its count.
pub fn write_into(
    into: &Path,
    stem: &str,
    questions: &[Question],
) -> anyhow::Result<Vec<(std::path::PathBuf, usize)>> {
    use anyhow::Context;
    let mut by_topic: std::collections::BTreeMap<&str, Vec<Question>> = Default::default();
    for q in questions {
        by_topic.entry(q.topic.id()).or_default().push(q.clone());
    }
    let stem: String = stem
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let mut written = Vec::new();
    for (topic, qs) in by_topic {
        let dir = into.join(topic);
        std::fs::create_dir_all(&dir)?;
        let mut path = dir.join(format!("imported-{stem}.toml"));
        let mut n = 2;
        while path.exists() {
            path = dir.join(format!("imported-{stem}-{n}.toml"));
            n += 1;
        }
        std::fs::write(&path, super::toml_io::write_questions(&qs))
            .with_context(|| format!("无法写入 {}", path.display()))?;
        written.push((path, qs.len()));
    }
    Ok(written)
}
