//! Bank files in TOML: reading with line numbers for every problem, and writing
//! questions back in the layout `question-bank/README.md` documents.

use super::{Located, Problem};
use crate::domain::question::{
    AnswerKey, CaseRef, Draft, DraftAnswer, Kind, Question, TagVocabulary,
};
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
        #[serde(default)]
        case: Vec<Spanned<Table>>,
    }
    let file: File = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(0);
        let msg = e.message().trim();
        if msg.contains("unknown field") {
            (
                line,
                format!("文件顶层只能有 [[question]] 和 [[case]]：{msg}"),
            )
        } else {
            (line, format!("TOML 语法错误：{msg}"))
        }
    })?;

    let mut found = Vec::new();
    let mut problems = Vec::new();
    for spanned in file.question {
        let line = line_of(text, spanned.span().start);
        read_question(spanned.into_inner(), None, line, path, vocabulary)
            .map(|q| found.push(q))
            .unwrap_or_else(|p| problems.extend(p));
    }
    for spanned in file.case {
        let start = spanned.span().start;
        let (questions, case_problems) =
            read_case(spanned.into_inner(), text, start, path, vocabulary);
        found.extend(questions);
        problems.extend(case_problems);
    }
    Ok((found, problems))
}

/// One question table: the valid question, or every problem with its line.
fn read_question(
    table: Table,
    case: Option<CaseRef>,
    line: usize,
    path: &Path,
    vocabulary: &dyn TagVocabulary,
) -> Result<Located, Vec<Problem>> {
    let id = table.get("id").and_then(Value::as_str).map(String::from);
    let report = |message: String| Problem {
        file: path.to_path_buf(),
        line,
        id: id.clone(),
        message,
    };
    let (mut draft, shape_errors) = draft_from_table(&table);
    draft.case = case;
    let mut problems: Vec<Problem> = shape_errors.into_iter().map(report).collect();
    match draft.validate(vocabulary) {
        Ok(question) if problems.is_empty() => {
            return Ok(Located {
                question,
                file: path.to_path_buf(),
                line,
            });
        }
        Ok(_) => {}
        Err(errs) => problems.extend(errs.into_iter().map(report)),
    }
    Err(problems)
}

/// Fields of a `[[case]]` table besides its questions.
const CASE_FIELDS: &[&str] = &["id", "topic", "title", "scenario", "source", "question"];

/// One `[[case]]` table: its questions, each carrying the group's scenario, or the problems.
/// A group with any problem yields no question at all: it is never loaded in part.
fn read_case(
    table: Table,
    text: &str,
    start: usize,
    path: &Path,
    vocabulary: &dyn TagVocabulary,
) -> (Vec<Located>, Vec<Problem>) {
    let line = line_of(text, start);
    let case_id = table.get("id").and_then(Value::as_str).map(str::trim);
    let mut problems = Vec::new();
    let mut report = |message: String| {
        problems.push(Problem {
            file: path.to_path_buf(),
            line,
            id: case_id.map(String::from),
            message,
        })
    };
    for key in table.keys() {
        if !CASE_FIELDS.contains(&key.as_str()) {
            report(format!("案例的未知字段「{key}」"));
        }
    }
    let mut text_field = |key: &str, name: &str| -> String {
        match table.get(key) {
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
            Some(Value::String(_)) | None => {
                report(format!("案例缺少{name} {key}"));
                String::new()
            }
            Some(other) => {
                report(format!(
                    "案例字段 {key} 应为字符串，实为 {}",
                    other.type_str()
                ));
                String::new()
            }
        }
    };
    let id = text_field("id", "编号");
    let title = text_field("title", "标题");
    let scenario = text_field("scenario", "案情");
    let source = text_field("source", "出处");
    let topic = text_field("topic", "分类");
    if !id.is_empty()
        && !id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        report(format!("案例编号「{id}」只能由小写字母、数字和 - 组成"));
    }
    if title.chars().count() > 40 {
        report(format!(
            "案例标题过长（{} 字，最多 40 字）",
            title.chars().count()
        ));
    }
    let questions: Vec<Table> = match table.get("question") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| match v {
                Value::Table(t) => Some(t.clone()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    if !(CASE_SIZE.contains(&questions.len())) {
        report(format!(
            "案例应有 {}–{} 道小题（[[case.question]]），实有 {}",
            CASE_SIZE.start(),
            CASE_SIZE.end(),
            questions.len()
        ));
    }
    let mut found = Vec::new();
    for (i, mut q) in questions.into_iter().enumerate() {
        let qid = q
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        // The line of a question: the `[[case.question]]` header before its id.
        let qline = text[start..]
            .find(&format!("\"{qid}\""))
            .filter(|_| !qid.is_empty())
            .map(|at| {
                text[start..start + at]
                    .rfind("[[case.question]]")
                    .unwrap_or(at)
            })
            .map_or(line, |at| line_of(text, start + at));
        let expected = format!("{id}-{}", i + 1);
        if qid != expected {
            problems.push(Problem {
                file: path.to_path_buf(),
                line: qline,
                id: Some(qid.clone()),
                message: format!("案例的第 {} 小题编号应为「{expected}」", i + 1),
            });
        }
        match q.get("topic").and_then(Value::as_str) {
            Some(t) if t != topic => problems.push(Problem {
                file: path.to_path_buf(),
                line: qline,
                id: Some(qid.clone()),
                message: format!("小题的分类「{t}」与案例的分类「{topic}」不同"),
            }),
            _ => {}
        }
        q.insert("topic".into(), Value::String(topic.clone()));
        let case = CaseRef {
            id: id.clone(),
            title: title.clone(),
            scenario: scenario.clone(),
            source: source.clone(),
            position: i as u32 + 1,
            size: table
                .get("question")
                .and_then(Value::as_array)
                .map_or(0, |a| a.len() as u32),
        };
        match read_question(q, Some(case), qline, path, vocabulary) {
            Ok(located) => found.push(located),
            Err(p) => problems.extend(p),
        }
    }
    if !problems.is_empty() {
        return (Vec::new(), problems);
    }
    (found, problems)
}

/// How many questions a case group holds.
pub const CASE_SIZE: std::ops::RangeInclusive<usize> = 3..=5;

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
        case: None,
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

/// Writes questions as a bank file, fields in the documented order. The questions of a case
/// group (consecutive, in order) go under one `[[case]]` table.
pub fn write_questions(questions: &[Question]) -> String {
    // Plain questions first, then each group whole, in order of first appearance.
    let mut first_seen: Vec<&str> = Vec::new();
    for q in questions {
        if let Some(c) = &q.case
            && !first_seen.contains(&c.id.as_str())
        {
            first_seen.push(&c.id);
        }
    }
    let mut questions: Vec<&Question> = questions.iter().collect();
    questions.sort_by_key(|q| match &q.case {
        None => (0, 0),
        Some(c) => (
            1 + first_seen.iter().position(|f| *f == c.id).unwrap_or(0),
            c.position,
        ),
    });
    let mut out = String::new();
    let mut open_case: Option<&str> = None;
    for (i, q) in questions.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        match &q.case {
            Some(c) => {
                if open_case != Some(c.id.as_str()) {
                    out += "[[case]]\n";
                    out += &format!("id = {}\n", quoted(&c.id));
                    out += &format!("topic = {}\n", quoted(q.topic.id()));
                    out += &format!("title = {}\n", quoted(&c.title));
                    out += &format!("scenario = {}\n", quoted(&c.scenario));
                    out += &format!("source = {}\n\n", quoted(&c.source));
                    open_case = Some(c.id.as_str());
                }
                out += "[[case.question]]\n";
                out += &format!("id = {}\n", quoted(&q.id));
                out += &format!("kind = {}\n", quoted(q.kind.id()));
            }
            None => {
                open_case = None;
                out += "[[question]]\n";
                out += &format!("id = {}\n", quoted(&q.id));
                out += &format!("kind = {}\n", quoted(q.kind.id()));
                out += &format!("topic = {}\n", quoted(q.topic.id()));
            }
        }
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

    const CASE: &str = r#"
[[case]]
id = "cs-9001"
topic = "skills"
title = "一封联名信"
scenario = "2025年3月3日（星期一），县信访局收到一封来信。"
source = "《信访工作条例》（2022年）第二十二条"

[[case.question]]
id = "cs-9001-1"
kind = "truefalse"
difficulty = 2
tags = ["登记"]
stem = "县信访局应当对这封来信予以登记。"
answer = true
explanation = "第二十二条。"
source = "《信访工作条例》（2022年）第二十二条"

[[case.question]]
id = "cs-9001-2"
kind = "date"
difficulty = 2
tags = ["期日计算"]
stem = "区分情况处理的期限最后一日？"
answer = "2025-03-18"
explanation = "15日。"
source = "《信访工作条例》（2022年）第二十二条"

[[case.question]]
id = "cs-9001-3"
kind = "single"
difficulty = 2
tags = ["受理"]
stem = "第三问"
options = ["甲", "乙"]
answer = "B"
explanation = "解析"
source = "出处"
"#;

    #[test]
    fn a_case_group_reads_with_its_scenario_on_every_question() {
        let (found, problems) =
            read_str(CASE, Path::new("c.toml"), &Vocabulary::builtin()).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        let ids: Vec<&str> = found.iter().map(|l| l.question.id.as_str()).collect();
        assert_eq!(ids, ["cs-9001-1", "cs-9001-2", "cs-9001-3"]);
        for (i, l) in found.iter().enumerate() {
            let c = l.question.case.as_ref().expect("a case question");
            assert_eq!(
                (c.id.as_str(), c.position, c.size),
                ("cs-9001", i as u32 + 1, 3)
            );
            assert!(c.scenario.starts_with("2025年3月3日"));
            assert_eq!(l.question.topic, crate::domain::Topic::Skills);
            assert_eq!(l.question.family_key(), Some("cs-9001"));
        }
        // Each question's line is where its id is written.
        assert_eq!(found[1].line, 19);
        // Written back and read again, the group is the same.
        let qs: Vec<Question> = found.into_iter().map(|l| l.question).collect();
        let text = write_questions(&qs);
        let (back, problems) =
            read_str(&text, Path::new("d.toml"), &Vocabulary::builtin()).unwrap();
        assert!(problems.is_empty(), "{problems:?}\n{text}");
        let back: Vec<Question> = back.into_iter().map(|l| l.question).collect();
        assert_eq!(back, qs);
    }

    #[test]
    fn a_bad_case_group_is_reported_and_loads_nothing() {
        let bad = CASE
            .replace("id = \"cs-9001-2\"", "id = \"cs-9001-9\"")
            .replace(
                "tags = [\"受理\"]",
                "tags = [\"受理\"]\nfamily = \"x\"\ntopic = \"petition-work\"",
            )
            .replace(
                "title = \"一封联名信\"",
                "title = \"一封联名信\"\nsummary = \"?\"",
            );
        let (found, problems) =
            read_str(&bad, Path::new("c.toml"), &Vocabulary::builtin()).unwrap();
        assert!(found.is_empty(), "a group with a problem loads no question");
        let all: Vec<String> = problems
            .iter()
            .map(|p| format!("{}:{}", p.line, p.message))
            .collect();
        let has = |s: &str| all.iter().any(|m| m.contains(s));
        assert!(has("案例的未知字段「summary」"), "{all:?}");
        assert!(has("20:案例的第 2 小题编号应为「cs-9001-2」"), "{all:?}");
        assert!(has("与案例的分类「skills」不同"), "{all:?}");
        assert!(has("案例题不设 family"), "{all:?}");
        // Too few questions.
        let short = &CASE[..CASE.find("[[case.question]]\nid = \"cs-9001-3\"").unwrap()];
        let (found, problems) =
            read_str(short, Path::new("c.toml"), &Vocabulary::builtin()).unwrap();
        assert!(found.is_empty());
        assert!(
            problems[0].message.contains("案例应有 3–5 道小题"),
            "{problems:?}"
        );
        assert_eq!(problems[0].line, 2);
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
