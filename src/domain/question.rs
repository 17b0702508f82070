//! A question of the bank, validated, and how a response to it is graded.
//!
//! Bank files (TOML) and spreadsheets both produce a [`Draft`]: loose fields as the
//! author wrote them. [`Draft::validate`] turns it into a [`Question`] or a list of
//! problems in the users' words. Everything after that handles only valid questions.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The six topics of the plan. The ids are stable: they appear in bank files, URLs and records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Topic {
    PartyConstitution,
    PartyRegulations,
    Speeches,
    PetitionWork,
    LearningPlan,
    Skills,
}

impl Topic {
    pub const ALL: [Topic; 6] = [
        Topic::PartyConstitution,
        Topic::PartyRegulations,
        Topic::Speeches,
        Topic::PetitionWork,
        Topic::LearningPlan,
        Topic::Skills,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Topic::PartyConstitution => "party-constitution",
            Topic::PartyRegulations => "party-regulations",
            Topic::Speeches => "speeches",
            Topic::PetitionWork => "petition-work",
            Topic::LearningPlan => "learning-plan",
            Topic::Skills => "skills",
        }
    }

    /// The name used in spreadsheets (分类) and on screen.
    pub fn name_zh(self) -> &'static str {
        match self {
            Topic::PartyConstitution => "党章",
            Topic::PartyRegulations => "党规",
            Topic::Speeches => "系列讲话",
            Topic::PetitionWork => "信访业务",
            Topic::LearningPlan => "学习方案",
            Topic::Skills => "业务技能",
        }
    }

    /// Accepts the id or the Chinese name.
    pub fn parse(s: &str) -> Option<Topic> {
        let s = s.trim();
        Topic::ALL
            .into_iter()
            .find(|t| t.id() == s || t.name_zh() == s)
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Single,
    Multiple,
    TrueFalse,
    Fill,
    Numeric,
    Date,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Single,
        Kind::Multiple,
        Kind::TrueFalse,
        Kind::Fill,
        Kind::Numeric,
        Kind::Date,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Kind::Single => "single",
            Kind::Multiple => "multiple",
            Kind::TrueFalse => "truefalse",
            Kind::Fill => "fill",
            Kind::Numeric => "numeric",
            Kind::Date => "date",
        }
    }

    /// 题型 as written in spreadsheets.
    pub fn name_zh(self) -> &'static str {
        match self {
            Kind::Single => "单选题",
            Kind::Multiple => "多选题",
            Kind::TrueFalse => "判断题",
            Kind::Fill => "填空题",
            Kind::Numeric => "数值题",
            Kind::Date => "日期题",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        let s = s.trim();
        let short = match s {
            "单选" => Some(Kind::Single),
            "多选" => Some(Kind::Multiple),
            "判断" => Some(Kind::TrueFalse),
            "填空" => Some(Kind::Fill),
            _ => None,
        };
        short.or_else(|| {
            Kind::ALL
                .into_iter()
                .find(|k| k.id() == s || k.name_zh() == s)
        })
    }

    pub fn is_choice(self) -> bool {
        matches!(self, Kind::Single | Kind::Multiple)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// Letters of the options, in order. At most eight options (A–H), as in the spreadsheet template.
pub const LETTERS: &[u8; 8] = b"ABCDEFGH";

/// The correct answer, in the shape its kind needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "lowercase")]
pub enum AnswerKey {
    /// Indices into `options`, ascending; one for single choice, two or more for multiple.
    Choice(Vec<usize>),
    TrueFalse(bool),
    /// Accepted answers, the first one canonical.
    Fill(Vec<String>),
    Numeric {
        value: f64,
        tolerance: f64,
    },
    /// `YYYY-MM-DD`.
    Date(String),
}

impl AnswerKey {
    /// The answer as people write it: `A`, `ACD`, `正确`, the first accepted text, a number, a date.
    pub fn display(&self) -> String {
        match self {
            AnswerKey::Choice(ix) => ix.iter().map(|&i| LETTERS[i] as char).collect(),
            AnswerKey::TrueFalse(true) => "正确".into(),
            AnswerKey::TrueFalse(false) => "错误".into(),
            AnswerKey::Fill(v) => v.first().cloned().unwrap_or_default(),
            AnswerKey::Numeric { value, .. } => format_number(*value),
            AnswerKey::Date(d) => d.clone(),
        }
    }
}

/// Whole numbers print without a fraction, so `60` stays `60` through every round trip.
pub fn format_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// A valid question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Question {
    pub id: String,
    pub kind: Kind,
    pub topic: Topic,
    pub difficulty: u8,
    pub tags: Vec<String>,
    pub stem: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    pub answer: AnswerKey,
    pub explanation: String,
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_limit: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Questions on the same fact share a family; no draw puts two of one family in a set.
    /// Last and skipped when absent, so questions without one keep their version hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// The case group (案例题) this question belongs to, with the scenario shown above it.
    /// Last and skipped when absent, so ordinary questions keep their version hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case: Option<CaseRef>,
}

/// A question's place in its case group: the group's scenario travels with each of its
/// questions (every screen that shows the question shows the scenario above it), and a draw
/// takes the group whole, in `position` order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseRef {
    /// The group's id, e.g. `cs-0001`.
    pub id: String,
    pub title: String,
    pub scenario: String,
    /// The articles the whole group rests on (each question cites its own as well).
    pub source: String,
    /// 1-based place of this question in the group.
    pub position: u32,
    /// How many questions the group holds.
    pub size: u32,
}

/// What a player is shown of a question's case group before answering: the scenario and the
/// question's place, not the group's sources (they would name the articles that decide it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseView {
    pub id: String,
    pub title: String,
    pub scenario: String,
    pub position: u32,
    pub size: u32,
}

impl Question {
    /// The case group as players see it, or `None` for an ordinary question.
    pub fn case_view(&self) -> Option<CaseView> {
        self.case.as_ref().map(|c| CaseView {
            id: c.id.clone(),
            title: c.title.clone(),
            scenario: c.scenario.clone(),
            position: c.position,
            size: c.size,
        })
    }

    /// What a draw keeps one of per set: the case group for a case question (whose draw
    /// then brings the rest of the group), else the declared family, else nothing.
    pub fn family_key(&self) -> Option<&str> {
        match &self.case {
            Some(c) => Some(&c.id),
            None => self.family.as_deref(),
        }
    }

    /// Content hash of this question: the version every recorded answer points at.
    pub fn version(&self) -> String {
        use sha2::{Digest, Sha256};
        // serde_json writes struct fields in declaration order, so the bytes are stable.
        let body = serde_json::to_vec(self).expect("a Question always serialises");
        let digest = Sha256::digest(&body);
        hex::encode(&digest[..10])
    }

    /// Grades a response. `Err` means the response has the wrong shape for this kind
    /// (a letter for a date question, an option that does not exist): the caller
    /// rejects it instead of counting it wrong.
    pub fn grade(&self, response: &Response) -> Result<bool, String> {
        match (&self.answer, response) {
            (AnswerKey::Choice(key), Response::Choice(letters)) => {
                let picked = parse_letters(letters, self.options.len())?;
                if self.kind == Kind::Single && picked.len() != 1 {
                    return Err("单选题只能选择一个选项".into());
                }
                Ok(&picked == key)
            }
            (AnswerKey::TrueFalse(key), Response::TrueFalse(b)) => Ok(key == b),
            (AnswerKey::Fill(accepted), Response::Text(t)) => {
                let t = normalize_text(t);
                if t.is_empty() {
                    return Err("答案不能为空".into());
                }
                Ok(accepted.iter().any(|a| normalize_text(a) == t))
            }
            (AnswerKey::Numeric { value, tolerance }, Response::Number(n)) => {
                if !n.is_finite() {
                    return Err("答案必须是数字".into());
                }
                Ok((n - value).abs() <= *tolerance + 1e-9)
            }
            (AnswerKey::Date(key), Response::Date(d)) => {
                let d =
                    parse_date(d).ok_or_else(|| format!("日期格式应为 YYYY-MM-DD，收到 {d}"))?;
                Ok(&d == key)
            }
            _ => Err(format!("答案形式与题型（{}）不符", self.kind.name_zh())),
        }
    }
}

/// What a player or member submits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "lowercase")]
pub enum Response {
    /// Letters, e.g. `"B"` or `"ACD"`.
    Choice(String),
    TrueFalse(bool),
    Text(String),
    Number(f64),
    Date(String),
}

impl Response {
    /// The response as people read it: letters, 正确/错误, the text, the number, the date.
    pub fn display(&self) -> String {
        match self {
            Response::Choice(s) | Response::Text(s) | Response::Date(s) => s.clone(),
            Response::TrueFalse(true) => "正确".into(),
            Response::TrueFalse(false) => "错误".into(),
            Response::Number(n) => format_number(*n),
        }
    }
}

fn parse_letters(s: &str, n_options: usize) -> Result<Vec<usize>, String> {
    let mut picked = Vec::new();
    for c in s.chars().filter(|c| !matches!(c, ' ' | ',' | '，' | '、')) {
        let c = c.to_ascii_uppercase();
        let ix = LETTERS
            .iter()
            .position(|&l| l as char == c)
            .filter(|&i| i < n_options)
            .ok_or_else(|| format!("选项 {c} 不存在"))?;
        if !picked.contains(&ix) {
            picked.push(ix);
        }
    }
    if picked.is_empty() {
        return Err("至少选择一个选项".into());
    }
    picked.sort_unstable();
    Ok(picked)
}

/// Folds full-width ASCII to half-width (digits and letters included), drops white space and
/// treats the list separators 、 ， , ； ; as one: `（ 六十 ）` and `(六十)` compare equal, and so
/// do `不敢腐，不能腐` and `不敢腐、不能腐` — members type whichever separator their input
/// method gives, and the key cannot list every combination.
pub fn normalize_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().filter(|c| !c.is_whitespace()) {
        let c = match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        };
        if matches!(c, '、' | ',' | ';') {
            // A run of separators ("，、" from a slip of the keyboard) counts as one.
            if !out.ends_with(SEPARATOR) {
                out.push(SEPARATOR);
            }
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// The one separator fill-in answers are compared with (see [`normalize_text`]).
const SEPARATOR: char = '、';

/// Accepts `2022-05-01`, `2022/5/1`, `2022年5月1日`; returns `YYYY-MM-DD` for a real date.
pub fn parse_date(s: &str) -> Option<String> {
    let cleaned: String = s
        .trim()
        .replace(['年', '月', '/', '.'], "-")
        .replace('日', "");
    let mut parts = cleaned.split('-');
    let y: i32 = parts.next()?.trim().parse().ok()?;
    let m: u8 = parts.next()?.trim().parse().ok()?;
    let d: u8 = parts.next()?.trim().parse().ok()?;
    if parts.next().is_some() {
        return None;
    }
    let month = time::Month::try_from(m).ok()?;
    let date = time::Date::from_calendar_date(y, month, d).ok()?;
    Some(format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        date.month() as u8,
        date.day()
    ))
}

/// A question as written, before validation. Each field is what the author gave, if anything.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    pub id: Option<String>,
    pub kind: Option<String>,
    pub topic: Option<String>,
    pub difficulty: Option<i64>,
    pub tags: Vec<String>,
    pub stem: Option<String>,
    pub options: Vec<String>,
    pub answer: Option<DraftAnswer>,
    pub explanation: Option<String>,
    pub source: Option<String>,
    pub time_limit: Option<i64>,
    pub tolerance: Option<f64>,
    pub unit: Option<String>,
    pub family: Option<String>,
    /// Set by the reader for a question written inside a `[[case]]`.
    pub case: Option<CaseRef>,
}

/// The answer as written: TOML gives typed values, spreadsheets give text.
#[derive(Debug, Clone, PartialEq)]
pub enum DraftAnswer {
    Text(String),
    Bool(bool),
    Number(f64),
    List(Vec<String>),
}

/// Which tags a topic allows (from `topics.toml`).
pub trait TagVocabulary {
    fn allows(&self, topic: Topic, tag: &str) -> bool;
}

impl Draft {
    /// Every problem found, in the users' words; or the valid question.
    pub fn validate(&self, tags: &dyn TagVocabulary) -> Result<Question, Vec<String>> {
        let mut problems = Vec::new();
        let text = |f: &Option<String>| f.as_deref().map(str::trim).unwrap_or("").to_string();

        let id = text(&self.id);
        if id.is_empty() {
            problems.push("缺少 id".to_string());
        } else if !id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            problems.push(format!("id「{id}」只能由小写字母、数字和 - 组成"));
        }

        let kind = match self.kind.as_deref() {
            None => {
                problems.push("缺少题型 kind".into());
                None
            }
            Some(k) => {
                let parsed = Kind::parse(k);
                if parsed.is_none() {
                    problems.push(format!(
                        "未知题型「{k}」（应为 single、multiple、truefalse、fill、numeric、date 或对应中文）"
                    ));
                }
                parsed
            }
        };
        let topic = match self.topic.as_deref() {
            None => {
                problems.push("缺少分类 topic".into());
                None
            }
            Some(t) => {
                let parsed = Topic::parse(t);
                if parsed.is_none() {
                    problems.push(format!("未知分类「{t}」"));
                }
                parsed
            }
        };
        let difficulty = match self.difficulty {
            Some(d @ 1..=3) => d as u8,
            Some(d) => {
                problems.push(format!("难度 {d} 超出范围（1–3）"));
                0
            }
            None => {
                problems.push("缺少难度 difficulty".into());
                0
            }
        };
        let stem = text(&self.stem);
        if stem.is_empty() {
            problems.push("题干 stem 为空".into());
        }
        let explanation = text(&self.explanation);
        if explanation.is_empty() {
            problems.push("缺少解析 explanation".into());
        }
        let source = text(&self.source);
        if source.is_empty() {
            problems.push("缺少出处 source".into());
        }
        let tag_list: Vec<String> = self
            .tags
            .iter()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect();
        if tag_list.is_empty() {
            problems.push("缺少知识点 tags".into());
        }
        if let Some(topic) = topic {
            for t in &tag_list {
                if !tags.allows(topic, t) {
                    problems.push(format!("知识点「{t}」不在分类 {topic} 的知识点列表中"));
                }
            }
        }
        let time_limit = match self.time_limit {
            None => None,
            Some(t @ 5..=120) => Some(t as u32),
            Some(t) => {
                problems.push(format!("答题时限 {t} 秒超出范围（5–120）"));
                None
            }
        };

        let family = self
            .family
            .as_deref()
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(String::from);
        if family
            .as_deref()
            .is_some_and(|f| f.chars().any(char::is_control))
        {
            problems.push("题组 family 不能含控制字符".into());
        }
        if family.is_some() && self.case.is_some() {
            problems.push("案例题不设 family：一个案例本身就是一组".into());
        }

        let options: Vec<String> = self.options.iter().map(|o| o.trim().to_string()).collect();
        let mut answer = None;
        if let Some(kind) = kind {
            if kind.is_choice() {
                if options.len() < 2 || options.len() > 8 {
                    problems.push(format!("选择题需要 2–8 个选项，实有 {}", options.len()));
                }
                if options.iter().any(String::is_empty) {
                    problems.push("选项不能为空".into());
                }
                let mut seen = std::collections::HashSet::new();
                if options.iter().any(|o| !seen.insert(o)) {
                    problems.push("选项有重复".into());
                }
            } else if !options.is_empty() {
                problems.push(format!("{}不应有选项", kind.name_zh()));
            }
            if kind != Kind::Numeric && (self.tolerance.is_some() || self.unit.is_some()) {
                problems.push("tolerance 与 unit 只用于数值题".into());
            }
            match &self.answer {
                None => problems.push("缺少答案 answer".into()),
                Some(a) => match answer_key(kind, a, options.len(), self.tolerance) {
                    Ok(k) => answer = Some(k),
                    Err(e) => problems.push(e),
                },
            }
        }

        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Question {
            id,
            kind: kind.expect("checked above"),
            topic: topic.expect("checked above"),
            difficulty,
            tags: tag_list,
            stem,
            options,
            answer: answer.expect("checked above"),
            explanation,
            source,
            time_limit,
            unit: self
                .unit
                .as_deref()
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .map(String::from),
            family,
            case: self.case.clone(),
        })
    }
}

fn answer_key(
    kind: Kind,
    a: &DraftAnswer,
    n_options: usize,
    tolerance: Option<f64>,
) -> Result<AnswerKey, String> {
    match kind {
        Kind::Single | Kind::Multiple => {
            let DraftAnswer::Text(s) = a else {
                return Err("选择题的答案应写作选项字母，如 \"B\" 或 \"ACD\"".into());
            };
            let letters: String = s.chars().filter(|c| !c.is_whitespace()).collect();
            if letters.is_empty() {
                return Err("答案为空".into());
            }
            let mut ix = Vec::new();
            for c in letters.chars() {
                let c_up = c.to_ascii_uppercase();
                match LETTERS.iter().position(|&l| l as char == c_up) {
                    Some(i) if i < n_options => {
                        if ix.contains(&i) {
                            return Err(format!("答案「{s}」中选项 {c_up} 重复"));
                        }
                        ix.push(i)
                    }
                    _ => {
                        return Err(format!(
                            "答案「{s}」不在选项之中（共 {n_options} 个选项：A–{}）",
                            LETTERS[n_options.clamp(1, 8) - 1] as char
                        ));
                    }
                }
            }
            ix.sort_unstable();
            if kind == Kind::Single && ix.len() != 1 {
                return Err(format!("单选题只能有一个答案，却给了「{s}」"));
            }
            if kind == Kind::Multiple && ix.len() < 2 {
                return Err(format!("多选题至少有两个正确选项，却只给了「{s}」"));
            }
            Ok(AnswerKey::Choice(ix))
        }
        Kind::TrueFalse => match a {
            DraftAnswer::Bool(b) => Ok(AnswerKey::TrueFalse(*b)),
            DraftAnswer::Text(s) => match s.trim() {
                "正确" | "对" | "是" | "√" | "true" | "TRUE" | "True" => {
                    Ok(AnswerKey::TrueFalse(true))
                }
                "错误" | "错" | "否" | "×" | "false" | "FALSE" | "False" => {
                    Ok(AnswerKey::TrueFalse(false))
                }
                other => Err(format!("判断题答案应为 正确/错误，收到「{other}」")),
            },
            _ => Err("判断题答案应为 true/false（正确/错误）".into()),
        },
        Kind::Fill => {
            let list: Vec<String> = match a {
                DraftAnswer::List(v) => v.clone(),
                DraftAnswer::Text(s) => s.split(['|', '｜']).map(String::from).collect(),
                DraftAnswer::Number(n) => vec![format_number(*n)],
                DraftAnswer::Bool(_) => return Err("填空题答案应为文字".into()),
            };
            let list: Vec<String> = list
                .into_iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
            if list.is_empty() {
                return Err("填空题缺少可接受的答案".into());
            }
            Ok(AnswerKey::Fill(list))
        }
        Kind::Numeric => {
            let value = match a {
                DraftAnswer::Number(n) => *n,
                DraftAnswer::Text(s) => s
                    .trim()
                    .parse::<f64>()
                    .map_err(|_| format!("数值题答案应为数字，收到「{s}」"))?,
                _ => return Err("数值题答案应为数字".into()),
            };
            let tolerance = tolerance.unwrap_or(0.0);
            if !value.is_finite() || !tolerance.is_finite() || tolerance < 0.0 {
                return Err("数值题答案或容差无效".into());
            }
            Ok(AnswerKey::Numeric { value, tolerance })
        }
        Kind::Date => {
            let DraftAnswer::Text(s) = a else {
                return Err("日期题答案应写作 \"YYYY-MM-DD\"".into());
            };
            parse_date(s)
                .map(AnswerKey::Date)
                .ok_or_else(|| format!("日期题答案「{s}」不是有效日期（YYYY-MM-DD）"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct AnyTag;
    impl TagVocabulary for AnyTag {
        fn allows(&self, _: Topic, tag: &str) -> bool {
            tag != "禁用"
        }
    }

    fn draft(kind: &str, options: &[&str], answer: DraftAnswer) -> Draft {
        Draft {
            id: Some("t-1".into()),
            kind: Some(kind.into()),
            topic: Some("petition-work".into()),
            difficulty: Some(2),
            tags: vec!["总则".into()],
            stem: Some("题干".into()),
            options: options.iter().map(|s| s.to_string()).collect(),
            answer: Some(answer),
            explanation: Some("解析".into()),
            source: Some("出处".into()),
            ..Draft::default()
        }
    }

    #[test]
    fn single_choice_answer_must_be_one_existing_letter() {
        let ok = draft("single", &["甲", "乙", "丙"], DraftAnswer::Text("B".into()));
        assert_eq!(
            ok.validate(&AnyTag).unwrap().answer,
            AnswerKey::Choice(vec![1])
        );
        let outside = draft(
            "single",
            &["甲", "乙", "丙", "丁"],
            DraftAnswer::Text("E".into()),
        );
        let errs = outside.validate(&AnyTag).unwrap_err();
        assert!(errs[0].contains("不在选项之中"), "{errs:?}");
        let several = draft("single", &["甲", "乙"], DraftAnswer::Text("AB".into()));
        assert!(several.validate(&AnyTag).unwrap_err()[0].contains("只能有一个答案"));
    }

    #[test]
    fn multiple_choice_needs_two_letters_and_sorts_them() {
        let q = draft(
            "multiple",
            &["a", "b", "c", "d"],
            DraftAnswer::Text("DA".into()),
        )
        .validate(&AnyTag)
        .unwrap();
        assert_eq!(q.answer, AnswerKey::Choice(vec![0, 3]));
        assert_eq!(q.answer.display(), "AD");
        assert!(q.grade(&Response::Choice("ad".into())).unwrap());
        assert!(!q.grade(&Response::Choice("A".into())).unwrap());
        assert!(q.grade(&Response::Choice("E".into())).is_err());
        assert!(
            draft("multiple", &["a", "b"], DraftAnswer::Text("A".into()))
                .validate(&AnyTag)
                .is_err()
        );
    }

    #[test]
    fn missing_fields_are_all_reported() {
        let d = Draft {
            id: Some("x-1".into()),
            kind: Some("essay".into()),
            ..Draft::default()
        };
        let errs = d.validate(&AnyTag).unwrap_err();
        for needle in [
            "未知题型",
            "缺少分类",
            "缺少难度",
            "题干",
            "解析",
            "出处",
            "知识点",
        ] {
            assert!(
                errs.iter().any(|e| e.contains(needle)),
                "{needle}: {errs:?}"
            );
        }
    }

    #[test]
    fn tags_outside_the_vocabulary_are_rejected() {
        let mut d = draft("truefalse", &[], DraftAnswer::Bool(true));
        d.tags = vec!["禁用".into()];
        assert!(d.validate(&AnyTag).unwrap_err()[0].contains("知识点「禁用」"));
    }

    #[test]
    fn fill_in_accepts_variants_after_width_folding() {
        let q = draft(
            "fill",
            &[],
            DraftAnswer::Text("群众路线|党的群众路线".into()),
        )
        .validate(&AnyTag)
        .unwrap();
        assert!(q.grade(&Response::Text(" 党的群众路线 ".into())).unwrap());
        assert!(!q.grade(&Response::Text("群众".into())).unwrap());
        assert!(q.grade(&Response::Text("  ".into())).is_err());
        let q = draft("fill", &[], DraftAnswer::Text("ABC".into()))
            .validate(&AnyTag)
            .unwrap();
        assert!(q.grade(&Response::Text("ＡＢＣ".into())).unwrap());
    }

    fn fill(accepted: &[&str]) -> Question {
        let list = accepted.iter().map(|s| s.to_string()).collect();
        draft("fill", &[], DraftAnswer::List(list))
            .validate(&AnyTag)
            .unwrap()
    }

    #[test]
    fn fill_in_separators_are_all_one() {
        // The keys of pc-0067 and pr-0168 in the shipped bank.
        let q = fill(&["不敢腐、不能腐、不想腐", "不敢腐不能腐不想腐"]);
        for typed in [
            "不敢腐，不能腐，不想腐",
            "不敢腐,不能腐,不想腐",
            "不敢腐；不能腐；不想腐",
            "不敢腐;不能腐;不想腐",
            "不敢腐、不能腐，不想腐",
            "不敢腐， 不能腐， 不想腐",
            "不敢腐，、不能腐、不想腐",
        ] {
            assert!(q.grade(&Response::Text(typed.into())).unwrap(), "{typed}");
        }
        assert!(!q.grade(&Response::Text("不敢腐、不能腐".into())).unwrap());
        let q = fill(&["空话、套话", "空话套话"]);
        assert!(q.grade(&Response::Text("空话，套话".into())).unwrap());
        assert!(q.grade(&Response::Text("空话; 套话".into())).unwrap());
        assert!(!q.grade(&Response::Text("空话".into())).unwrap());
    }

    #[test]
    fn fill_in_digits_and_letters_compare_in_either_width() {
        let q = fill(&["2022年5月1日"]);
        assert!(
            q.grade(&Response::Text("２０２２年５月１日".into()))
                .unwrap()
        );
        assert!(!q.grade(&Response::Text("2022年5月2日".into())).unwrap());
        let q = fill(&["ＡＢＣ１２３"]);
        assert!(q.grade(&Response::Text("abc123".into())).unwrap());
        assert!(q.grade(&Response::Text("ＡＢＣ１２３".into())).unwrap());
        assert_eq!(normalize_text("Ａ，ｂ；Ｃ、d"), normalize_text("a,B;c、D"));
    }

    #[test]
    fn family_is_trimmed_and_kept_out_of_the_version_when_absent() {
        let mut d = draft("truefalse", &[], DraftAnswer::Bool(true));
        let plain = d.validate(&AnyTag).unwrap();
        assert_eq!(plain.family, None);
        let body = serde_json::to_string(&plain).unwrap();
        assert!(!body.contains("family"), "{body}");
        d.family = Some("  施行日期 ".into());
        let q = d.validate(&AnyTag).unwrap();
        assert_eq!(q.family.as_deref(), Some("施行日期"));
        assert_ne!(q.version(), plain.version());
        d.family = Some("   ".into());
        assert_eq!(d.validate(&AnyTag).unwrap().family, None);
    }

    #[test]
    fn numeric_and_date_answers() {
        let mut d = draft("numeric", &[], DraftAnswer::Number(60.0));
        d.unit = Some("日".into());
        let q = d.validate(&AnyTag).unwrap();
        assert!(q.grade(&Response::Number(60.0)).unwrap());
        assert!(!q.grade(&Response::Number(59.0)).unwrap());
        assert!(q.grade(&Response::Choice("A".into())).is_err());
        assert_eq!(q.answer.display(), "60");

        let q = draft("date", &[], DraftAnswer::Text("2022/5/1".into()))
            .validate(&AnyTag)
            .unwrap();
        assert_eq!(q.answer, AnswerKey::Date("2022-05-01".into()));
        assert!(q.grade(&Response::Date("2022年5月1日".into())).unwrap());
        assert!(!q.grade(&Response::Date("2022-05-02".into())).unwrap());
        assert!(q.grade(&Response::Date("2022-02-30".into())).is_err());
    }

    #[test]
    fn truefalse_from_spreadsheet_words() {
        let q = draft("判断题", &[], DraftAnswer::Text("错误".into()))
            .validate(&AnyTag)
            .unwrap();
        assert_eq!(q.answer, AnswerKey::TrueFalse(false));
        assert!(q.grade(&Response::TrueFalse(false)).unwrap());
    }

    #[test]
    fn version_changes_with_content_only() {
        let a = draft("single", &["甲", "乙"], DraftAnswer::Text("A".into()))
            .validate(&AnyTag)
            .unwrap();
        let mut b = a.clone();
        assert_eq!(a.version(), b.version());
        b.explanation.push('。');
        assert_ne!(a.version(), b.version());
    }
}
