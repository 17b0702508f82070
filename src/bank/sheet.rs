//! The Chinese 题库 spreadsheet template, in and out.
//!
//! Columns: 编号 (optional), 题型, 题干, 选项A … 选项H, 答案, 解析, 知识点, 难度, 出处, 分类,
//! and the optional 时限, 单位, 误差, 题组 (family) that a round trip needs. Rows become [`Draft`]s and
//! are validated by the same rules as the TOML bank.

use crate::domain::question::{
    AnswerKey, Draft, DraftAnswer, Kind, LETTERS, Question, TagVocabulary, format_number,
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
    h
}

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
    for row in &table.rows {
        let draft = draft_from_row(&table, row);
        let mut problems = Vec::new();
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
                    out.questions.push(q);
                }
            }
            Err(errs) => problems = errs,
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
    Ok(out)
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
