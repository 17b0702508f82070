//! Bank files in TOML: reading with line numbers for every problem, and writing
//! questions back in the layout `question-bank/README.md` documents.

use super::{Located, Problem};
use crate::domain::question::{AnswerKey, Draft, DraftAnswer, Kind, Question, TagVocabulary};
use std::path::Path;
use toml::{Spanned, Table, Value};

/// Fields a question may have; anything else is a typo worth reporting.
const FIELDS: &[&str] = &[
    "id",
    "kind",
    "topic",
    "difficulty",
    "tags",
    "stem",
    "options",
    "answer",
    "explanation",
    "source",
    "time_limit",
    "tolerance",
    "unit",
    "family",
];

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Reads one bank file: the valid questions and the problems, each with its line.
pub fn read_file(path: &Path, vocabulary: &dyn TagVocabulary) -> (Vec<Located>, Vec<Problem>) {
    let problem = |line, id: Option<String>, message: String| Problem {
        file: path.to_path_buf(),
        line,
        id,
        message,
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return (vec![], vec![problem(0, None, format!("无法读取文件：{e}"))]),
    };
    read_str(&text, path, vocabulary)
        .map_err(|(line, msg)| vec![problem(line, None, msg)])
        .unwrap_or_else(|problems| (vec![], problems))
}

type FileResult = Result<(Vec<Located>, Vec<Problem>), (usize, String)>;

fn read_str(text: &str, path: &Path, vocabulary: &dyn TagVocabulary) -> FileResult {
    // One parse, with spans: the line of each question comes from its table's span.
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        #[serde(default)]
        question: Vec<Spanned<Table>>,
    }
    let file: File = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(0);
        let msg = e.message().trim();
        if msg.contains("unknown field") {
            (line, format!("文件顶层只能有 [[question]]：{msg}"))
        } else {
            (line, format!("TOML 语法错误：{msg}"))
        }
    })?;

    let mut found = Vec::new();
    let mut problems = Vec::new();
    for spanned in file.question {
        let line = line_of(text, spanned.span().start);
        let table = spanned.into_inner();
        let id = table.get("id").and_then(Value::as_str).map(String::from);
        let mut report = |message: String| {
            problems.push(Problem {
                file: path.to_path_buf(),
                line,
                id: id.clone(),
                message,
            })
        };
        let (draft, shape_errors) = draft_from_table(&table);
        for e in &shape_errors {
            report(e.clone());
        }
        match draft.validate(vocabulary) {
            Ok(question) if shape_errors.is_empty() => found.push(Located {
                question,
                file: path.to_path_buf(),
                line,
            }),
            Ok(_) => {}
            Err(errs) => errs.into_iter().for_each(&mut report),
        }
    }
    Ok((found, problems))
}

/// Converts a TOML table to a draft; wrong value types and unknown fields are reported.
fn draft_from_table(t: &Table) -> (Draft, Vec<String>) {
    let mut errors = Vec::new();
    for key in t.keys() {
        if !FIELDS.contains(&key.as_str()) {
            errors.push(format!("未知字段「{key}」"));
        }
    }
    let mut string = |key: &str| -> Option<String> {
        match t.get(key) {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                errors.push(format!("字段 {key} 应为字符串，实为 {}", other.type_str()));
                None
            }
        }
    };
    let id = string("id");
    let kind = string("kind");
    let topic = string("topic");
    let stem = string("stem");
    let explanation = string("explanation");
    let source = string("source");
    let unit = string("unit");
    let family = string("family");
    let mut int = |key: &str| match t.get(key) {
        None => None,
        Some(Value::Integer(i)) => Some(*i),
        Some(other) => {
            errors.push(format!("字段 {key} 应为整数，实为 {}", other.type_str()));
            None
        }
    };
    let difficulty = int("difficulty");
    let time_limit = int("time_limit");
    let mut list = |key: &str| match t.get(key) {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s.clone()),
                other => {
                    errors.push(format!(
                        "字段 {key} 的元素应为字符串，实为 {}",
                        other.type_str()
                    ));
                    None
                }
            })
            .collect(),
        Some(other) => {
            errors.push(format!(
                "字段 {key} 应为字符串数组，实为 {}",
                other.type_str()
            ));
            Vec::new()
        }
    };
    let tags = list("tags");
    let options = list("options");
    let tolerance = match t.get("tolerance") {
        None => None,
        Some(Value::Integer(i)) => Some(*i as f64),
        Some(Value::Float(f)) => Some(*f),
        Some(other) => {
            errors.push(format!(
                "字段 tolerance 应为数字，实为 {}",
                other.type_str()
            ));
            None
        }
    };
    let answer = match t.get("answer") {
        None => None,
        Some(Value::String(s)) => Some(DraftAnswer::Text(s.clone())),
        Some(Value::Boolean(b)) => Some(DraftAnswer::Bool(*b)),
        Some(Value::Integer(i)) => Some(DraftAnswer::Number(*i as f64)),
        Some(Value::Float(f)) => Some(DraftAnswer::Number(*f)),
        Some(Value::Datetime(d)) => Some(DraftAnswer::Text(d.to_string())),
        Some(Value::Array(items)) => Some(DraftAnswer::List(
            items
                .iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect(),
        )),
        Some(Value::Table(_)) => {
            errors.push("字段 answer 不能是表".into());
            None
        }
    };
    let draft = Draft {
        id,
        kind,
        topic,
        difficulty,
        tags,
        stem,
        options,
        answer,
        explanation,
        source,
        time_limit,
        tolerance,
        unit,
        family,
    };
    (draft, errors)
}

/// `retired.toml`: ids withdrawn for good.
pub fn read_retired(path: &Path) -> Result<Vec<String>, Problem> {
    #[derive(serde::Deserialize)]
    struct Retired {
        #[serde(default)]
        retired: Vec<Entry>,
    }
    #[derive(serde::Deserialize)]
    struct Entry {
        id: String,
    }
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(vec![]);
    };
    let parsed: Retired = toml::from_str(&text).map_err(|e| Problem {
        file: path.to_path_buf(),
        line: e.span().map(|s| line_of(&text, s.start)).unwrap_or(0),
        id: None,
        message: format!("TOML 语法错误：{}", e.message().trim()),
    })?;
    Ok(parsed.retired.into_iter().map(|e| e.id).collect())
}

fn quoted(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

fn quoted_list(items: &[String]) -> String {
    let parts: Vec<String> = items.iter().map(|s| quoted(s)).collect();
    format!("[{}]", parts.join(", "))
}

/// Writes questions as a bank file, fields in the documented order.
pub fn write_questions(questions: &[Question]) -> String {
    let mut out = String::new();
    for (i, q) in questions.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out += "[[question]]\n";
        out += &format!("id = {}\n", quoted(&q.id));
        out += &format!("kind = {}\n", quoted(q.kind.id()));
        out += &format!("topic = {}\n", quoted(q.topic.id()));
        out += &format!("difficulty = {}\n", q.difficulty);
        out += &format!("tags = {}\n", quoted_list(&q.tags));
        out += &format!("stem = {}\n", quoted(&q.stem));
        if q.kind.is_choice() {
            out += &format!("options = {}\n", quoted_list(&q.options));
        }
        let answer = match &q.answer {
            AnswerKey::Choice(_) | AnswerKey::Date(_) => quoted(&q.answer.display()),
            AnswerKey::TrueFalse(b) => b.to_string(),
            AnswerKey::Fill(v) => quoted_list(v),
            AnswerKey::Numeric { value, .. } => {
                let s = crate::domain::question::format_number(*value);
                if value.fract() == 0.0 || s.contains('.') || s.contains('e') {
                    s
                } else {
                    format!("{s}.0")
                }
            }
        };
        out += &format!("answer = {answer}\n");
        if let AnswerKey::Numeric { tolerance, .. } = q.answer
            && tolerance != 0.0
        {
            out += &format!("tolerance = {tolerance:?}\n");
        }
        if q.kind == Kind::Numeric
            && let Some(unit) = &q.unit
        {
            out += &format!("unit = {}\n", quoted(unit));
        }
        out += &format!("explanation = {}\n", quoted(&q.explanation));
        out += &format!("source = {}\n", quoted(&q.source));
        if let Some(t) = q.time_limit {
            out += &format!("time_limit = {t}\n");
        }
        if let Some(f) = &q.family {
            out += &format!("family = {}\n", quoted(f));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bank::Vocabulary;

    const GOOD: &str = r#"
[[question]]
id = "pw-9001"
kind = "single"
topic = "petition-work"
difficulty = 1
tags = ["总则"]
stem = "《信访工作条例》自何时起施行？"
options = ["2022年5月1日", "2022年1月1日"]
answer = "A"
explanation = "第五十条。"
source = "《信访工作条例》第五十条"

[[question]]
id = "pw-9002"
kind = "single"
topic = "petition-work"
difficulty = 1
tags = ["总则"]
stem = "第二题"
options = ["甲", "乙", "丙", "丁"]
answer = "E"
explanation = "解析"
source = "出处"
"#;

    #[test]
    fn problems_carry_the_line_of_their_question() {
        let (found, problems) =
            read_str(GOOD, Path::new("x.toml"), &Vocabulary::builtin()).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].line, 2);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].line, 14);
        assert_eq!(problems[0].id.as_deref(), Some("pw-9002"));
        assert!(problems[0].message.contains("不在选项之中"));
    }

    #[test]
    fn syntax_errors_name_their_line() {
        let broken = "[[question]]\nid = \"a\"\nstem = \"unterminated\n";
        let (line, msg) =
            read_str(broken, Path::new("x.toml"), &Vocabulary::builtin()).unwrap_err();
        assert_eq!(line, 3);
        assert!(msg.contains("TOML"));
    }

    #[test]
    fn unknown_fields_and_wrong_types_are_reported() {
        let text = "[[question]]\nid = \"a-1\"\ndifficulty = \"2\"\nanwser = \"A\"\n";
        let (_, problems) = read_str(text, Path::new("x.toml"), &Vocabulary::builtin()).unwrap();
        let all: Vec<_> = problems.iter().map(|p| p.message.as_str()).collect();
        assert!(
            all.iter().any(|m| m.contains("未知字段「anwser」")),
            "{all:?}"
        );
        assert!(
            all.iter().any(|m| m.contains("difficulty 应为整数")),
            "{all:?}"
        );
    }

    #[test]
    fn written_questions_read_back_equal() {
        let (found, _) = read_str(GOOD, Path::new("x.toml"), &Vocabulary::builtin()).unwrap();
        let mut qs: Vec<Question> = found.into_iter().map(|l| l.question).collect();
        let mut numeric = qs[0].clone();
        numeric.id = "sk-1".into();
        numeric.kind = Kind::Numeric;
        numeric.options.clear();
        numeric.answer = AnswerKey::Numeric {
            value: 2.5,
            tolerance: 0.5,
        };
        numeric.unit = Some("日".into());
        numeric.stem = "含\"引号\"与\\反斜杠".into();
        numeric.time_limit = Some(45);
        numeric.family = Some("期限".into());
        qs.push(numeric);
        let text = write_questions(&qs);
        let (back, problems) =
            read_str(&text, Path::new("y.toml"), &Vocabulary::builtin()).unwrap();
        assert!(problems.is_empty(), "{problems:?}\n{text}");
        let back: Vec<Question> = back.into_iter().map(|l| l.question).collect();
        assert_eq!(back, qs);
    }
}
